"""Settings: memcached's tunables with memcached 1.6.18's defaults.

One object per server. The CLI fills it from memcached's flags; the testing layer from keyword
arguments. A few fields change at run time exactly where memcached lets them change
(``verbosity``, ``cache_memlimit``); everything else is fixed once the server starts.
Sizes are bytes, times are seconds.
"""

from __future__ import annotations

import dataclasses

MEMCACHED_VERSION = "1.6.18"  # the version pymcd emulates and `version` answers
KEY_MAX_LENGTH = 250
ITEM_UPDATE_INTERVAL = 60  # memcached bumps an item in its LRU at most once a minute
SLAB_PAGE_SIZE = 1024 * 1024
MAX_LINE_LENGTH = 2048  # memcached drops a client whose line exceeds this (not get/gets)


@dataclasses.dataclass(slots=True, kw_only=True)
class Settings:
    """Server settings; field names follow memcached's ``stats settings`` where one exists."""

    port: int = 11211  # -p; 0 picks a free port
    udp_port: int = 0  # -U; only 0 is supported
    interface: str = "127.0.0.1"  # -l; memcached listens on all interfaces, pymcd on loopback
    unix_socket: str | None = None  # -s
    unix_mask: int = 0o700  # -a
    enable_shutdown: bool = False  # -A
    memory_limit: int = 64 * 1024 * 1024  # -m (given in MB on the command line)
    evictions: bool = True  # -M turns them off: SERVER_ERROR out of memory instead
    max_connections: int = 1024  # -c
    verbose: int = 0  # -v / -vv / -vvv
    daemonize: bool = False  # -d
    pid_file: str | None = None  # -P
    user: str | None = None  # -u
    factor: float = 1.25  # -f
    chunk_size: int = 48  # -n: minimum space for key + value + flags
    num_threads: int = 4  # -t: accepted; pymcd serves from one thread
    reqs_per_event: int = 20  # -R: commands run before yielding to other connections
    use_cas: bool = True  # -C turns it off
    backlog: int = 1024  # -b
    binding_protocol: str = "auto"  # -B: ascii or auto (binary is not supported)
    item_size_max: int = 1024 * 1024  # -I
    flush_enabled: bool = True  # -F turns flush_all off
    dump_enabled: bool = True  # -X turns stats cachedump off
    idle_timeout: int = 0  # -o idle_timeout=N: close connections idle that long (0 = never)
    slab_page_size: int = SLAB_PAGE_SIZE
    slab_chunk_size_max: int = SLAB_PAGE_SIZE // 2  # -o slab_chunk_max
    debugtime: bool = False  # pymcd extension: allow the `debugtime <seconds>` command
    lock_memory: bool = False  # -k: accepted, a no-op in Python
    maxconns_fast: bool = True  # memcached's default
    tcp_nodelay: bool = True
    # Added for the CLI (pymcd/cli.py):
    prefix_delimiter: str = ":"  # -D: key prefix delimiter for `stats detail`
    detail_enabled: bool = False  # -D also turns on `stats detail` collection, as in memcached
    watch_enabled: bool = True  # -W turns the `watch` command off
    hashpower_init: int = 0  # -o hashpower=N (accepted; informational)
    lru_crawler: bool = True  # -o lru_crawler / no_lru_crawler (informational)
    lru_maintainer_thread: bool = True  # -o lru_maintainer / no_lru_maintainer (informational)
    # -l/-p resolved into (host, port) pairs, one listener each; host None = all interfaces.
    # Empty means one listener on (interface, port). Ignored when unix_socket is set
    # (memcached: -s disables network support).
    listen_addresses: tuple[tuple[str | None, int], ...] = ()
