# Invariants of this module:
# - Pure: stdlib and pymcd.config only; no I/O, no clock reads, no trio, no store/protocol import.
#   Every time-dependent value (pid, uptime, unix time, rusage, "now") is passed in.
# - The stat lists mirror memcached 1.6.18 as Debian builds it (libevent 2.1.12, TLS and
#   extstore compiled in, no proxy): same names, same order, same value formats, same
#   conditional lines. A name/format change here is a wire change; tests/test_stats.py pins
#   them and compares them with the real binary.
# - Values are rendered as ``str`` (protocol.responses.stats_block makes the reply); the only
#   bytes produced here are ``DetailStats.dump``/``DetailStats.command``'s complete replies.
# - Settings fields pymcd lacks are read with ``getattr(settings, name, memcached_default)`` so a
#   field added later under memcached's ``stats settings`` name is picked up automatically.
"""memcached's ``stats`` family: counters, the stat lists, and ``stats detail`` prefix stats.

Who owns which number:

* :class:`ServerCounters` holds what the dispatcher and the server count (commands, misses,
  bytes in/out, connections). ``stats reset`` calls :meth:`ServerCounters.reset`.
* The store hands :func:`general_stats` a ``dict[str, int]`` keyed by memcached's stat names.
  A name present in that dict always wins over the counter of the same name, so hits, cmd_set,
  get_expired, ... may be counted by either side without double counting.
* :class:`DetailStats` is memcached's ``stats_prefix.c`` (``stats detail on|off|dump``).
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterable, Mapping
from typing import TypeVar

from pymcd.config import MEMCACHED_VERSION, Settings

__all__ = [
    "CONN_LISTENING",
    "CONN_NEW_CMD",
    "CONN_NREAD",
    "CONN_PARSE_CMD",
    "CONN_READ",
    "CONN_SWALLOW",
    "CONN_WRITE",
    "DEFAULT_PREFIX_DELIMITER",
    "DETAIL_USAGE",
    "LIBEVENT_VERSION",
    "STORE_STAT_NAMES",
    "UNIX_PEER_ADDR",
    "ConnInfo",
    "DetailStats",
    "ServerCounters",
    "conns_stats",
    "format_rusage",
    "general_stats",
    "inet_addr_text",
    "murmur3_32",
    "settings_stats",
    "sizes_stats",
    "unix_addr_text",
]

LIBEVENT_VERSION = "2.1.12-stable"  # what Debian's memcached 1.6.18 prints
POINTER_SIZE = 64
DEFAULT_PREFIX_DELIMITER = ":"  # memcached -D default
DEFAULT_HASH_POWER = 16  # memcached's HASHPOWER_DEFAULT
RESERVED_FDS_PER_THREAD = 5  # memcached reports reserved_fds = 5 * threads

_T = TypeVar("_T")


def _opt(settings: Settings, name: str, default: _T) -> _T:
    """``settings.<name>`` if pymcd's Settings has that field, else memcached's default."""
    value: _T = getattr(settings, name, default)
    return value


# --------------------------------------------------------------------------------------------
# Counters


@dataclasses.dataclass(slots=True, kw_only=True)
class ServerCounters:
    """Counters of memcached's plain ``stats`` that the dispatcher and the server own.

    Plain ints, bumped in place (``counters.cmd_get += 1``). The first group is cleared by
    :meth:`reset` (``stats reset``: memcached's per-thread stats plus its global ``struct stats``);
    the last group is state (``curr_connections``, buffers, ``accepting_conns``) that survives it.
    Hit counters, ``cmd_set``, ``get_expired`` and ``get_flushed`` are here as a fallback: when the
    store's stats dict has the same name, the store's number is printed instead.
    """

    # per-thread stats in memcached (THREAD_STATS_FIELDS + slab_stats); cleared by reset()
    cmd_get: int = 0
    cmd_set: int = 0
    cmd_flush: int = 0
    cmd_touch: int = 0
    cmd_meta: int = 0
    get_hits: int = 0
    get_misses: int = 0
    get_expired: int = 0
    get_flushed: int = 0
    delete_misses: int = 0
    delete_hits: int = 0
    incr_misses: int = 0
    incr_hits: int = 0
    decr_misses: int = 0
    decr_hits: int = 0
    cas_misses: int = 0
    cas_hits: int = 0
    cas_badval: int = 0
    touch_hits: int = 0
    touch_misses: int = 0
    store_too_large: int = 0
    store_no_memory: int = 0
    auth_cmds: int = 0
    auth_errors: int = 0
    idle_kicks: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    conn_yields: int = 0
    response_obj_oom: int = 0
    response_obj_count: int = 0
    response_obj_bytes: int = 0
    read_buf_oom: int = 0
    # memcached's global struct stats; also cleared by reset()
    total_connections: int = 0
    rejected_connections: int = 0
    listen_disabled_num: int = 0
    time_in_listen_disabled_us: int = 0
    malloc_fails: int = 0
    log_worker_dropped: int = 0
    log_worker_written: int = 0
    log_watcher_skipped: int = 0
    log_watcher_sent: int = 0
    unexpected_napi_ids: int = 0
    round_robin_fallback: int = 0
    # state, not cleared by reset()
    curr_connections: int = 0
    connection_structures: int = 0
    accepting_conns: int = 1
    read_buf_count: int = 0
    read_buf_bytes: int = 0
    read_buf_bytes_free: int = 0
    log_watchers: int = 0

    def reset(self) -> None:
        """Clear what memcached's ``stats reset`` clears (not connection/buffer state).

        The caller also resets the store's counters (``total_items``, evictions, ...) and calls
        :meth:`DetailStats.clear`, as memcached's ``stats_reset`` does.
        """
        for name in _RESET_FIELDS:
            setattr(self, name, 0)


_STATE_FIELDS = frozenset(
    {
        "curr_connections",
        "connection_structures",
        "accepting_conns",
        "read_buf_count",
        "read_buf_bytes",
        "read_buf_bytes_free",
        "log_watchers",
    }
)
_RESET_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(ServerCounters) if f.name not in _STATE_FIELDS
)
_COUNTER_FIELDS = frozenset(f.name for f in dataclasses.fields(ServerCounters))


# --------------------------------------------------------------------------------------------
# Plain `stats`

# Names general_stats reads from store_stats (absent → the counter of that name, else the
# default shown in _STORE_DEFAULTS, else 0). Any other key of store_stats is ignored.
STORE_STAT_NAMES: frozenset[str] = frozenset(
    {
        "cmd_set",
        "get_hits",
        "get_expired",
        "get_flushed",
        "delete_hits",
        "incr_hits",
        "decr_hits",
        "cas_hits",
        "cas_badval",
        "touch_hits",
        "hash_power_level",
        "hash_bytes",
        "hash_is_expanding",
        "slab_reassign_rescues",
        "slab_reassign_chunk_rescues",
        "slab_reassign_evictions_nomem",
        "slab_reassign_inline_reclaim",
        "slab_reassign_busy_items",
        "slab_reassign_busy_deletes",
        "slab_reassign_running",
        "slabs_moved",
        "lru_crawler_running",
        "lru_crawler_starts",
        "lru_maintainer_juggles",
        "malloc_fails",
        "bytes",
        "curr_items",
        "total_items",
        "slab_global_page_pool",
        "expired_unfetched",
        "evicted_unfetched",
        "evicted_active",
        "evictions",
        "reclaimed",
        "crawler_reclaimed",
        "crawler_items_checked",
        "lrutail_reflocked",
        "moves_to_cold",
        "moves_to_warm",
        "moves_within_lru",
        "direct_reclaims",
        "lru_bumps_dropped",
    }
)

# The order of memcached 1.6.18's `stats` (memcached.c server_stats + threadlocal/slab/item
# totals). A "?cond" tag marks a line printed only when that condition holds.
_GENERAL_ORDER: tuple[tuple[str, str], ...] = (
    ("pid", ""),
    ("uptime", ""),
    ("time", ""),
    ("version", ""),
    ("libevent", ""),
    ("pointer_size", ""),
    ("rusage_user", ""),
    ("rusage_system", ""),
    ("max_connections", ""),
    ("curr_connections", ""),
    ("total_connections", ""),
    ("rejected_connections", "maxconns_fast"),
    ("connection_structures", ""),
    ("response_obj_oom", ""),
    ("response_obj_count", ""),
    ("response_obj_bytes", ""),
    ("read_buf_count", ""),
    ("read_buf_bytes", ""),
    ("read_buf_bytes_free", ""),
    ("read_buf_oom", ""),
    ("reserved_fds", ""),
    ("cmd_get", ""),
    ("cmd_set", ""),
    ("cmd_flush", ""),
    ("cmd_touch", ""),
    ("cmd_meta", ""),
    ("get_hits", ""),
    ("get_misses", ""),
    ("get_expired", ""),
    ("get_flushed", ""),
    ("delete_misses", ""),
    ("delete_hits", ""),
    ("incr_misses", ""),
    ("incr_hits", ""),
    ("decr_misses", ""),
    ("decr_hits", ""),
    ("cas_misses", ""),
    ("cas_hits", ""),
    ("cas_badval", ""),
    ("touch_hits", ""),
    ("touch_misses", ""),
    ("store_too_large", ""),
    ("store_no_memory", ""),
    ("auth_cmds", ""),
    ("auth_errors", ""),
    ("idle_kicks", "idle_timeout"),
    ("bytes_read", ""),
    ("bytes_written", ""),
    ("limit_maxbytes", ""),
    ("accepting_conns", ""),
    ("listen_disabled_num", ""),
    ("time_in_listen_disabled_us", ""),
    ("threads", ""),
    ("conn_yields", ""),
    ("hash_power_level", ""),
    ("hash_bytes", ""),
    ("hash_is_expanding", ""),
    ("slab_reassign_rescues", "slab_reassign"),
    ("slab_reassign_chunk_rescues", "slab_reassign"),
    ("slab_reassign_evictions_nomem", "slab_reassign"),
    ("slab_reassign_inline_reclaim", "slab_reassign"),
    ("slab_reassign_busy_items", "slab_reassign"),
    ("slab_reassign_busy_deletes", "slab_reassign"),
    ("slab_reassign_running", "slab_reassign"),
    ("slabs_moved", "slab_reassign"),
    ("lru_crawler_running", "lru_crawler"),
    ("lru_crawler_starts", "lru_crawler"),
    ("lru_maintainer_juggles", "lru_maintainer_thread"),
    ("malloc_fails", ""),
    ("log_worker_dropped", ""),
    ("log_worker_written", ""),
    ("log_watcher_skipped", ""),
    ("log_watcher_sent", ""),
    ("log_watchers", ""),
    ("unexpected_napi_ids", ""),
    ("round_robin_fallback", ""),
    ("bytes", ""),
    ("curr_items", ""),
    ("total_items", ""),
    ("slab_global_page_pool", ""),
    ("expired_unfetched", ""),
    ("evicted_unfetched", ""),
    ("evicted_active", "lru_segmented"),
    ("evictions", ""),
    ("reclaimed", ""),
    ("crawler_reclaimed", ""),
    ("crawler_items_checked", ""),
    ("lrutail_reflocked", ""),
    ("moves_to_cold", "lru_segmented"),
    ("moves_to_warm", "lru_segmented"),
    ("moves_within_lru", "lru_segmented"),
    ("direct_reclaims", "lru_segmented"),
    ("lru_bumps_dropped", "lru_segmented"),
)


def format_rusage(seconds: float) -> str:
    """CPU seconds as memcached prints rusage: ``"%ld.%06ld"`` (``0.004797``)."""
    micros = max(0, round(seconds * 1_000_000))
    whole, frac = divmod(micros, 1_000_000)
    return f"{whole}.{frac:06d}"


def _conditions(settings: Settings) -> dict[str, bool]:
    return {
        "": True,
        "maxconns_fast": bool(settings.maxconns_fast),
        "idle_timeout": settings.idle_timeout != 0,
        "slab_reassign": bool(_opt(settings, "slab_reassign", True)),
        "lru_crawler": bool(_opt(settings, "lru_crawler", True)),
        "lru_maintainer_thread": bool(_opt(settings, "lru_maintainer_thread", True)),
        "lru_segmented": bool(_opt(settings, "lru_segmented", True)),
    }


def general_stats(
    *,
    settings: Settings,
    counters: ServerCounters,
    store_stats: Mapping[str, int],
    pid: int,
    uptime: int,
    now_unix: int,
    rusage_user: float,
    rusage_system: float,
    max_connections: int | None = None,
    version: str = MEMCACHED_VERSION,
    limit_maxbytes: int | None = None,
    threads: int | None = None,
    libevent: str = LIBEVENT_VERSION,
) -> list[tuple[str, str]]:
    """Every line of memcached 1.6.18's plain ``stats``, in order, as ``(name, value)`` strings.

    ``uptime`` is seconds since the (emulated) process start, ``now_unix`` memcached's ``time``.
    ``max_connections``, ``limit_maxbytes`` (which ``cache_memlimit`` changes at run time) and
    ``threads`` default to ``settings.max_connections``, ``settings.memory_limit`` and
    ``settings.num_threads``. ``reserved_fds`` is ``5 * threads`` as in memcached.

    Each name in :data:`STORE_STAT_NAMES` is taken from ``store_stats`` when present, else from
    the counter of that name, else memcached's idle value (``hash_power_level`` 16,
    ``hash_bytes`` ``8 << hash_power_level``, otherwise 0). Lines memcached prints conditionally
    follow the same conditions: ``rejected_connections`` only with ``maxconns_fast``,
    ``idle_kicks`` only with a non-zero ``idle_timeout``.
    """
    if max_connections is None:
        max_connections = settings.max_connections
    if limit_maxbytes is None:
        limit_maxbytes = settings.memory_limit
    if threads is None:
        threads = settings.num_threads
    hash_power = store_stats.get("hash_power_level", DEFAULT_HASH_POWER)
    fixed: dict[str, str] = {
        "pid": str(pid),
        "uptime": str(uptime),
        "time": str(now_unix),
        "version": version,
        "libevent": libevent,
        "pointer_size": str(POINTER_SIZE),
        "rusage_user": format_rusage(rusage_user),
        "rusage_system": format_rusage(rusage_system),
        "max_connections": str(max_connections),
        "reserved_fds": str(RESERVED_FDS_PER_THREAD * threads),
        "limit_maxbytes": str(limit_maxbytes),
        "threads": str(threads),
        "hash_power_level": str(hash_power),
        "hash_bytes": str(store_stats.get("hash_bytes", 8 << hash_power)),
    }
    conditions = _conditions(settings)
    out: list[tuple[str, str]] = []
    for name, cond in _GENERAL_ORDER:
        if not conditions[cond]:
            continue
        if name in fixed:
            value = fixed[name]
        elif name in STORE_STAT_NAMES and name in store_stats:
            value = str(store_stats[name])
        elif name in _COUNTER_FIELDS:
            value = str(getattr(counters, name))
        else:
            value = "0"
        out.append((name, value))
    return out


# --------------------------------------------------------------------------------------------
# `stats settings`


def _yes_no(flag: object) -> str:
    return "yes" if flag else "no"


_PROTOCOL_TEXT = {"auto": "auto-negotiate", "ascii": "ascii", "binary": "binary"}


def settings_stats(
    settings: Settings,
    *,
    verbosity: int | None = None,
    maxbytes: int | None = None,
    oldest: int = 0,
    detail_enabled: bool = False,
    tcpport: int | None = None,
) -> list[tuple[str, str]]:
    """Every line of memcached 1.6.18's ``stats settings``, in order, as ``(name, value)``.

    Run-time values are arguments: ``verbosity`` (``verbosity`` command; default
    ``settings.verbose``), ``maxbytes`` (``cache_memlimit``; default ``settings.memory_limit``),
    ``oldest`` (memcached's ``oldest_live``: the relative time of the last ``flush_all``, 0 if
    none), ``detail_enabled`` (``stats detail on|off``). ``tcpport`` defaults to
    ``settings.port``; like memcached, ``-p 0`` prints 0 unless the caller passes the bound port.
    Settings pymcd lacks print memcached's defaults (extstore, TLS, LRU tuning, ...).
    """
    s = settings
    return [
        ("maxbytes", str(s.memory_limit if maxbytes is None else maxbytes)),
        ("maxconns", str(s.max_connections)),
        ("tcpport", str(s.port if tcpport is None else tcpport)),
        ("udpport", str(s.udp_port)),
        ("inter", s.interface or "NULL"),
        ("verbosity", str(s.verbose if verbosity is None else verbosity)),
        ("oldest", str(oldest)),
        ("evictions", "on" if s.evictions else "off"),
        ("domain_socket", s.unix_socket or "NULL"),
        ("umask", format(s.unix_mask, "o")),
        ("shutdown_command", _yes_no(s.enable_shutdown)),
        ("growth_factor", f"{s.factor:.2f}"),
        ("chunk_size", str(s.chunk_size)),
        ("num_threads", str(s.num_threads)),
        ("num_threads_per_udp", str(s.num_threads)),
        ("stat_key_prefix", _opt(s, "prefix_delimiter", DEFAULT_PREFIX_DELIMITER)),
        ("detail_enabled", _yes_no(detail_enabled)),
        ("reqs_per_event", str(s.reqs_per_event)),
        ("cas_enabled", _yes_no(s.use_cas)),
        ("tcp_backlog", str(s.backlog)),
        ("binding_protocol", _PROTOCOL_TEXT.get(s.binding_protocol, "unknown")),
        ("auth_enabled_sasl", "no"),
        ("auth_enabled_ascii", "no"),
        ("item_size_max", str(s.item_size_max)),
        ("maxconns_fast", _yes_no(s.maxconns_fast)),
        ("hashpower_init", str(_opt(s, "hashpower_init", 0))),
        ("slab_reassign", _yes_no(_opt(s, "slab_reassign", True))),
        ("slab_automove", str(_opt(s, "slab_automove", 1))),
        ("slab_automove_ratio", f"{_opt(s, 'slab_automove_ratio', 0.8):.2f}"),
        ("slab_automove_window", str(_opt(s, "slab_automove_window", 30))),
        ("slab_chunk_max", str(s.slab_chunk_size_max)),
        ("lru_crawler", _yes_no(_opt(s, "lru_crawler", True))),
        ("lru_crawler_sleep", str(_opt(s, "lru_crawler_sleep", 100))),
        ("lru_crawler_tocrawl", str(_opt(s, "lru_crawler_tocrawl", 0))),
        ("tail_repair_time", str(_opt(s, "tail_repair_time", 0))),
        ("flush_enabled", _yes_no(s.flush_enabled)),
        ("dump_enabled", _yes_no(s.dump_enabled)),
        ("hash_algorithm", "murmur3"),
        ("lru_maintainer_thread", _yes_no(_opt(s, "lru_maintainer_thread", True))),
        ("lru_segmented", _yes_no(_opt(s, "lru_segmented", True))),
        ("hot_lru_pct", str(_opt(s, "hot_lru_pct", 20))),
        ("warm_lru_pct", str(_opt(s, "warm_lru_pct", 40))),
        ("hot_max_factor", f"{_opt(s, 'hot_max_factor', 0.2):.2f}"),
        ("warm_max_factor", f"{_opt(s, 'warm_max_factor', 2.0):.2f}"),
        ("temp_lru", _yes_no(_opt(s, "temp_lru", False))),
        ("temporary_ttl", str(_opt(s, "temporary_ttl", 61))),
        ("idle_timeout", str(s.idle_timeout)),
        ("watcher_logbuf_size", str(_opt(s, "watcher_logbuf_size", 262144))),
        ("worker_logbuf_size", str(_opt(s, "worker_logbuf_size", 65536))),
        ("read_buf_mem_limit", str(_opt(s, "read_buf_mem_limit", 0))),
        ("track_sizes", "no"),
        ("inline_ascii_response", "no"),
        ("ext_item_size", "512"),
        ("ext_item_age", "4294967295"),
        ("ext_low_ttl", "0"),
        ("ext_recache_rate", "2000"),
        ("ext_wbuf_size", "4194304"),
        ("ext_compact_under", "0"),
        ("ext_drop_under", "0"),
        ("ext_max_sleep", "1000000"),
        ("ext_max_frag", "0.80"),
        ("slab_automove_freeratio", f"{_opt(s, 'slab_automove_freeratio', 0.01):.3f}"),
        ("ext_drop_unread", "no"),
        ("ssl_enabled", "no"),
        ("ssl_chain_cert", "(null)"),
        ("ssl_key", "(null)"),
        ("ssl_verify_mode", "0"),
        ("ssl_keyformat", "1"),
        ("ssl_ciphers", "NULL"),
        ("ssl_ca_cert", "NULL"),
        ("ssl_wbuf_size", "16384"),
        ("ssl_session_cache", "no"),
        ("ssl_kernel_tls", "no"),
        ("ssl_min_version", "tlsv1.2"),
        ("num_napi_ids", "(null)"),
        ("memory_file", "(null)"),
    ]


# --------------------------------------------------------------------------------------------
# `stats sizes`


def sizes_stats() -> list[tuple[str, str]]:
    """``stats sizes`` of memcached 1.6.18 without ``-o track_sizes``: one line, disabled."""
    return [("sizes_status", "disabled")]


# --------------------------------------------------------------------------------------------
# `stats conns`

# memcached's state_text() names (the ones a pymcd connection can be in).
CONN_LISTENING = "conn_listening"  # a listening socket
CONN_NEW_CMD = "conn_new_cmd"  # accepted, nothing read yet
CONN_READ = "conn_read"  # idle between commands, or holding a partial command line
CONN_PARSE_CMD = "conn_parse_cmd"  # running a command (the connection asking `stats conns`)
CONN_NREAD = "conn_nread"  # reading a storage command's data block
CONN_SWALLOW = "conn_swallow"  # discarding a too-large data block
CONN_WRITE = "conn_write"  # writing a reply
UNIX_PEER_ADDR = "?:<AF 0>"  # how memcached prints a unix-socket client's address


def inet_addr_text(host: str, port: int, *, udp: bool = False) -> str:
    """memcached's address text: ``tcp:127.0.0.1:11211``, ``tcp6:[::1]:11211`` (no ``:0``)."""
    if ":" in host:
        proto, text = ("udp6" if udp else "tcp6"), f"[{host}]"
    else:
        proto, text = ("udp" if udp else "tcp"), host
    return f"{proto}:{text}:{port}" if port else f"{proto}:{text}"


def unix_addr_text(path: str) -> str:
    """memcached's text for a unix socket path: ``unix:/tmp/mc.sock``."""
    return f"unix:{path}" if len(path) >= 2 else "unix:<AF 1>"


@dataclasses.dataclass(slots=True, frozen=True, kw_only=True)
class ConnInfo:
    """One socket as ``stats conns`` shows it.

    ``addr`` is the peer (for a listener, its own bound address), ``listen_addr`` the local
    address of an accepted connection (ignored for a listener), ``last_cmd_time`` the
    server-relative second of the last command (for a listener or a fresh connection: when it
    was created). Build the texts with :func:`inet_addr_text` / :func:`unix_addr_text` /
    :data:`UNIX_PEER_ADDR`.
    """

    fd: int
    addr: str
    state: str
    last_cmd_time: int
    listen_addr: str = ""


def conns_stats(conns: Iterable[ConnInfo], now_rel: int) -> list[tuple[str, str]]:
    """``stats conns``: per socket, ascending fd, ``<fd>:addr``, ``<fd>:listen_addr`` (not for
    listeners), ``<fd>:state``, ``<fd>:secs_since_last_cmd`` (``now_rel - last_cmd_time``)."""
    out: list[tuple[str, str]] = []
    for c in sorted(conns, key=lambda c: c.fd):
        out.append((f"{c.fd}:addr", c.addr))
        if c.state != CONN_LISTENING:
            out.append((f"{c.fd}:listen_addr", c.listen_addr))
        out.append((f"{c.fd}:state", c.state))
        out.append((f"{c.fd}:secs_since_last_cmd", str(now_rel - c.last_cmd_time)))
    return out


# --------------------------------------------------------------------------------------------
# `stats detail` (memcached stats_prefix.c)

DETAIL_USAGE = b"CLIENT_ERROR usage: stats detail on|off|dump\r\n"
_OK = b"OK\r\n"
_END = b"END\r\n"
PREFIX_HASH_SIZE = 256
MAX_PREFIX_COUNT = 1 << 16
_M32 = 0xFFFFFFFF


def murmur3_32(data: bytes) -> int:
    """MurmurHash3_x86_32 with seed 0, memcached's default ``hash()`` (little-endian blocks)."""
    h = 0
    nblocks = len(data) // 4
    for (k,) in struct.iter_unpack("<I", data[: nblocks * 4]):
        k = (k * 0xCC9E2D51) & _M32
        k = ((k << 15) | (k >> 17)) & _M32
        h ^= (k * 0x1B873593) & _M32
        h = ((h << 13) | (h >> 19)) & _M32
        h = (h * 5 + 0xE6546B64) & _M32
    tail = data[nblocks * 4 :]
    if tail:
        k = 0
        for i in reversed(range(len(tail))):
            k = (k << 8) | tail[i]
        k = (k * 0xCC9E2D51) & _M32
        k = ((k << 15) | (k >> 17)) & _M32
        h ^= (k * 0x1B873593) & _M32
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    h ^= h >> 16
    return h


class _Prefix:
    __slots__ = ("dels", "gets", "hits", "prefix", "sets")

    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix
        self.gets = 0
        self.hits = 0
        self.sets = 0
        self.dels = 0


class DetailStats:
    """Per-prefix get/hit/set/delete counts, exactly as memcached's ``stats_prefix.c``.

    The prefix of a key is everything before its first delimiter byte; a key without one (or
    with a NUL byte before it) is not counted. At most 65536 prefixes are kept; later ones are
    silently not counted. ``dump`` lists prefixes in memcached's hash-table order (bucket
    ``murmur3(prefix) % 256``, newest first within a bucket), and reproduces memcached's lookup
    quirk: within a bucket, a prefix is credited to the newest stored prefix that *starts with*
    it (memcached compares with ``strncmp(stored, key, len(prefix))``).

    ``record_*`` do nothing while ``enabled`` is false (memcached's ``detail_enabled``, off by
    default); ``stats reset`` calls :meth:`clear`, ``stats detail off`` keeps the counts. Keys may
    be ``bytes`` or ``str`` (UTF-8 encoded).
    """

    __slots__ = ("_buckets", "_cache", "_cached_in_bucket", "_count", "_delim", "enabled")

    def __init__(self, *, delimiter: bytes | str = DEFAULT_PREFIX_DELIMITER, enabled: bool = False):
        delim = delimiter.encode() if isinstance(delimiter, str) else delimiter
        if len(delim) != 1:
            raise ValueError("the prefix delimiter is a single byte")
        self._delim = delim
        self.enabled = enabled
        self._buckets: dict[int, list[_Prefix]] = {}  # bucket -> entries, oldest first
        self._cache: dict[bytes, _Prefix] = {}  # prefix -> entry memcached's scan finds
        self._cached_in_bucket: dict[int, list[bytes]] = {}
        self._count = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> DetailStats:
        """Disabled, with ``settings.prefix_delimiter`` if Settings has it, else ``:``."""
        return cls(delimiter=_opt(settings, "prefix_delimiter", DEFAULT_PREFIX_DELIMITER))

    def _find(self, key: bytes | str) -> _Prefix | None:
        if isinstance(key, str):
            key = key.encode()
        end = key.find(self._delim)
        if end < 0:
            return None
        prefix = key[:end]
        entry = self._cache.get(prefix)
        if entry is not None:
            return entry
        if b"\0" in prefix:
            return None
        bucket = murmur3_32(prefix) % PREFIX_HASH_SIZE
        entries = self._buckets.setdefault(bucket, [])
        for candidate in reversed(entries):  # memcached prepends: newest first
            if candidate.prefix.startswith(prefix):
                entry = candidate
                break
        else:
            if self._count >= MAX_PREFIX_COUNT:
                return None
            entry = _Prefix(prefix)
            entries.append(entry)
            self._count += 1
            # a newer entry may now shadow what cached lookups in this bucket found
            for stale in self._cached_in_bucket.pop(bucket, ()):
                del self._cache[stale]
        self._cache[prefix] = entry
        self._cached_in_bucket.setdefault(bucket, []).append(prefix)
        return entry

    def record_get(self, key: bytes | str, hit: bool) -> None:
        """One key of a get/gets/gat (memcached counts each key of a multi-get)."""
        if self.enabled and (entry := self._find(key)) is not None:
            entry.gets += 1
            if hit:
                entry.hits += 1

    def record_set(self, key: bytes | str) -> None:
        """A storage command for ``key`` (memcached counts it before storing, stored or not)."""
        if self.enabled and (entry := self._find(key)) is not None:
            entry.sets += 1

    def record_delete(self, key: bytes | str) -> None:
        """A delete of ``key``, found or not."""
        if self.enabled and (entry := self._find(key)) is not None:
            entry.dels += 1

    def clear(self) -> None:
        """Forget every prefix (``stats reset``); ``enabled`` is unchanged."""
        self._buckets.clear()
        self._cache.clear()
        self._cached_in_bucket.clear()
        self._count = 0

    def dump(self) -> bytes:
        """The full ``stats detail dump`` reply: ``PREFIX <p> get <n> hit <n> set <n> del <n>``
        lines in memcached's order, then ``END``."""
        lines = [
            b"PREFIX %s get %d hit %d set %d del %d\r\n"
            % (e.prefix, e.gets, e.hits, e.sets, e.dels)
            for bucket in sorted(self._buckets)
            for e in reversed(self._buckets[bucket])
        ]
        lines.append(_END)
        return b"".join(lines)

    def command(self, subcommand: bytes | str | None) -> bytes:
        """The full reply to ``stats detail <subcommand>`` (tokens after it are ignored, as in
        memcached): ``on``/``off`` → ``OK``, ``dump`` → :meth:`dump`, anything else or nothing
        → ``CLIENT_ERROR usage: stats detail on|off|dump``."""
        if isinstance(subcommand, str):
            subcommand = subcommand.encode()
        if subcommand == b"on":
            self.enabled = True
            return _OK
        if subcommand == b"off":
            self.enabled = False
            return _OK
        if subcommand == b"dump":
            return self.dump()
        return DETAIL_USAGE
