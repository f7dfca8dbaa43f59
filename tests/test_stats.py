"""pymcd.stats: names, order and formats of memcached 1.6.18's stats lists.

Unit tests pin the lists; tests marked ``memcached`` compare them with the real binary.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from pymcd import stats
from pymcd.config import Settings
from pymcd.protocol.responses import stats_block as render_stats
from pymcd.stats import (
    CONN_LISTENING,
    CONN_PARSE_CMD,
    CONN_READ,
    DETAIL_USAGE,
    UNIX_PEER_ADDR,
    ConnInfo,
    DetailStats,
    ServerCounters,
    conns_stats,
    format_rusage,
    general_stats,
    inet_addr_text,
    murmur3_32,
    settings_stats,
    sizes_stats,
    unix_addr_text,
)

# `stats` names of an idle memcached 1.6.18 (Debian build, default flags), in order.
DEFAULT_STATS_NAMES = """
pid uptime time version libevent pointer_size rusage_user rusage_system max_connections
curr_connections total_connections rejected_connections connection_structures response_obj_oom
response_obj_count response_obj_bytes read_buf_count read_buf_bytes read_buf_bytes_free
read_buf_oom reserved_fds cmd_get cmd_set cmd_flush cmd_touch cmd_meta get_hits get_misses
get_expired get_flushed delete_misses delete_hits incr_misses incr_hits decr_misses decr_hits
cas_misses cas_hits cas_badval touch_hits touch_misses store_too_large store_no_memory auth_cmds
auth_errors bytes_read bytes_written limit_maxbytes accepting_conns listen_disabled_num
time_in_listen_disabled_us threads conn_yields hash_power_level hash_bytes hash_is_expanding
slab_reassign_rescues slab_reassign_chunk_rescues slab_reassign_evictions_nomem
slab_reassign_inline_reclaim slab_reassign_busy_items slab_reassign_busy_deletes
slab_reassign_running slabs_moved lru_crawler_running lru_crawler_starts lru_maintainer_juggles
malloc_fails log_worker_dropped log_worker_written log_watcher_skipped log_watcher_sent
log_watchers unexpected_napi_ids round_robin_fallback bytes curr_items total_items
slab_global_page_pool expired_unfetched evicted_unfetched evicted_active evictions reclaimed
crawler_reclaimed crawler_items_checked lrutail_reflocked moves_to_cold moves_to_warm
moves_within_lru direct_reclaims lru_bumps_dropped
""".split()  # noqa: SIM905

# `stats settings` of memcached 1.6.18 started as `memcached -l 127.0.0.1 -p 11211`.
DEFAULT_SETTINGS_TEXT = """\
maxbytes 67108864
maxconns 1024
tcpport 11211
udpport 0
inter 127.0.0.1
verbosity 0
oldest 0
evictions on
domain_socket NULL
umask 700
shutdown_command no
growth_factor 1.25
chunk_size 48
num_threads 4
num_threads_per_udp 4
stat_key_prefix :
detail_enabled no
reqs_per_event 20
cas_enabled yes
tcp_backlog 1024
binding_protocol auto-negotiate
auth_enabled_sasl no
auth_enabled_ascii no
item_size_max 1048576
maxconns_fast yes
hashpower_init 0
slab_reassign yes
slab_automove 1
slab_automove_ratio 0.80
slab_automove_window 30
slab_chunk_max 524288
lru_crawler yes
lru_crawler_sleep 100
lru_crawler_tocrawl 0
tail_repair_time 0
flush_enabled yes
dump_enabled yes
hash_algorithm murmur3
lru_maintainer_thread yes
lru_segmented yes
hot_lru_pct 20
warm_lru_pct 40
hot_max_factor 0.20
warm_max_factor 2.00
temp_lru no
temporary_ttl 61
idle_timeout 0
watcher_logbuf_size 262144
worker_logbuf_size 65536
read_buf_mem_limit 0
track_sizes no
inline_ascii_response no
ext_item_size 512
ext_item_age 4294967295
ext_low_ttl 0
ext_recache_rate 2000
ext_wbuf_size 4194304
ext_compact_under 0
ext_drop_under 0
ext_max_sleep 1000000
ext_max_frag 0.80
slab_automove_freeratio 0.010
ext_drop_unread no
ssl_enabled no
ssl_chain_cert (null)
ssl_key (null)
ssl_verify_mode 0
ssl_keyformat 1
ssl_ciphers NULL
ssl_ca_cert NULL
ssl_wbuf_size 16384
ssl_session_cache no
ssl_kernel_tls no
ssl_min_version tlsv1.2
num_napi_ids (null)
memory_file (null)
"""

# A non-default flag set and the Settings that mean the same.
VARIANT_FLAGS = [
    *("-M", "-C", "-A", "-a", "755", "-t", "2", "-f", "1.5", "-c", "100", "-R", "5"),
    *("-b", "50", "-I", "2m", "-F", "-X", "-n", "64"),
    *("-o", "idle_timeout=10,no_maxconns_fast"),
]
VARIANT_SETTINGS = {
    "evictions": False,
    "use_cas": False,
    "enable_shutdown": True,
    "unix_mask": 0o755,
    "num_threads": 2,
    "factor": 1.5,
    "max_connections": 100,
    "reqs_per_event": 5,
    "backlog": 50,
    "item_size_max": 2 * 1024 * 1024,
    "flush_enabled": False,
    "dump_enabled": False,
    "chunk_size": 64,
    "idle_timeout": 10,
    "maxconns_fast": False,
}


def _general(settings: Settings | None = None, **kw: object) -> list[tuple[str, str]]:
    args: dict[str, object] = {
        "settings": settings or Settings(),
        "counters": ServerCounters(),
        "store_stats": {},
        "pid": 42,
        "uptime": 3,
        "now_unix": 1_700_000_000,
        "rusage_user": 0.25,
        "rusage_system": 0.004797,
    }
    args.update(kw)
    return general_stats(**args)  # type: ignore[arg-type]


def _names(pairs: list[tuple[str, str]]) -> list[str]:
    return [name for name, _ in pairs]


# ------------------------------------------------------------------------------------------
# general_stats


def test_general_stats_default_names_and_order() -> None:
    assert _names(_general()) == DEFAULT_STATS_NAMES


def test_general_stats_values() -> None:
    d = dict(_general())
    assert d["pid"] == "42"
    assert d["uptime"] == "3"
    assert d["time"] == "1700000000"
    assert d["version"] == "1.6.18"
    assert d["libevent"] == "2.1.12-stable"
    assert d["pointer_size"] == "64"
    assert d["rusage_user"] == "0.250000"
    assert d["rusage_system"] == "0.004797"
    assert d["max_connections"] == "1024"
    assert d["limit_maxbytes"] == "67108864"
    assert d["threads"] == "4"
    assert d["reserved_fds"] == "20"
    assert d["hash_power_level"] == "16"
    assert d["hash_bytes"] == "524288"
    assert d["accepting_conns"] == "1"
    assert d["cmd_get"] == "0"
    assert d["bytes"] == "0"
    assert all(
        re.fullmatch(r"\d+", v)
        for k, v in d.items()
        if k not in {"version", "libevent", "rusage_user", "rusage_system"}
    )


def test_general_stats_overrides_and_sources() -> None:
    counters = ServerCounters(cmd_get=7, get_hits=1, cmd_set=2, curr_connections=3)
    store = {"get_hits": 5, "curr_items": 9, "bytes": 100, "hash_power_level": 17, "junk": 1}
    d = dict(
        _general(
            counters=counters,
            store_stats=store,
            max_connections=10,
            limit_maxbytes=5,
            threads=1,
            version="9.9.9",
        )
    )
    assert d["cmd_get"] == "7"  # counter
    assert d["get_hits"] == "5"  # the store wins over the counter of the same name
    assert d["cmd_set"] == "2"  # counter fallback when the store does not report it
    assert d["curr_items"] == "9"
    assert d["bytes"] == "100"
    assert d["curr_connections"] == "3"
    assert d["hash_power_level"] == "17"
    assert d["hash_bytes"] == str(8 << 17)
    assert (d["max_connections"], d["limit_maxbytes"], d["threads"]) == ("10", "5", "1")
    assert d["reserved_fds"] == "5"
    assert d["version"] == "9.9.9"
    assert "junk" not in d


def test_general_stats_conditional_lines() -> None:
    names = _names(_general(Settings(idle_timeout=5, maxconns_fast=False)))
    assert "rejected_connections" not in names
    assert names.index("idle_kicks") == names.index("auth_errors") + 1
    assert names.index("bytes_read") == names.index("idle_kicks") + 1


def test_server_counters_reset_keeps_state() -> None:
    c = ServerCounters()
    for f in dataclasses.fields(c):
        setattr(c, f.name, 5)
    c.reset()
    assert c.cmd_get == c.get_misses == c.bytes_read == c.total_connections == 0
    assert c.rejected_connections == c.response_obj_count == c.conn_yields == 0
    assert c.curr_connections == c.connection_structures == c.accepting_conns == 5
    assert c.read_buf_count == c.read_buf_bytes == c.read_buf_bytes_free == 5


def test_server_counters_is_slotted() -> None:
    with pytest.raises(AttributeError):
        ServerCounters().nonexistent = 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0.000000"), (0.004797, "0.004797"), (1.5, "1.500000"), (2.9999999, "3.000000")],
)
def test_format_rusage(seconds: float, text: str) -> None:
    assert format_rusage(seconds) == text


# ------------------------------------------------------------------------------------------
# settings_stats, sizes_stats, and their rendering (protocol.responses.stats_block)


def _text(pairs: list[tuple[str, str]]) -> str:
    return "".join(f"{k} {v}\n" for k, v in pairs)


def test_settings_stats_default() -> None:
    assert _text(settings_stats(Settings())) == DEFAULT_SETTINGS_TEXT


def test_settings_stats_variant() -> None:
    s = Settings(**VARIANT_SETTINGS, unix_socket="/tmp/x.sock", interface="")  # type: ignore[arg-type]
    d = dict(settings_stats(s, verbosity=2, maxbytes=1024, oldest=33, detail_enabled=True))
    assert d["umask"] == "755"
    assert d["growth_factor"] == "1.50"
    assert d["evictions"] == "off"
    assert d["cas_enabled"] == "no"
    assert d["shutdown_command"] == "yes"
    assert d["maxconns_fast"] == "no"
    assert d["domain_socket"] == "/tmp/x.sock"
    assert d["inter"] == "NULL"
    assert (d["verbosity"], d["maxbytes"], d["oldest"]) == ("2", "1024", "33")
    assert d["detail_enabled"] == "yes"
    assert d["num_threads_per_udp"] == "2"
    assert d["idle_timeout"] == "10"
    assert dict(settings_stats(Settings(binding_protocol="ascii")))["binding_protocol"] == "ascii"
    assert dict(settings_stats(Settings(port=0), tcpport=4242))["tcpport"] == "4242"


def test_sizes_stats() -> None:
    assert render_stats(sizes_stats()) == b"STAT sizes_status disabled\r\nEND\r\n"


def test_render_stats() -> None:
    assert render_stats([]) == b"END\r\n"
    assert render_stats([("a", "1"), ("b", "x y")]) == b"STAT a 1\r\nSTAT b x y\r\nEND\r\n"


# ------------------------------------------------------------------------------------------
# conns_stats


def test_addr_texts() -> None:
    assert inet_addr_text("127.0.0.1", 11211) == "tcp:127.0.0.1:11211"
    assert inet_addr_text("::1", 11211) == "tcp6:[::1]:11211"
    assert inet_addr_text("127.0.0.1", 11211, udp=True) == "udp:127.0.0.1:11211"
    assert inet_addr_text("127.0.0.1", 0) == "tcp:127.0.0.1"
    assert unix_addr_text("/tmp/mc.sock") == "unix:/tmp/mc.sock"
    assert UNIX_PEER_ADDR == "?:<AF 0>"


def test_conns_stats() -> None:
    listen = inet_addr_text("127.0.0.1", 11211)
    conns = [
        ConnInfo(
            fd=24,
            addr="tcp:127.0.0.1:5000",
            listen_addr=listen,
            state=CONN_PARSE_CMD,
            last_cmd_time=10,
        ),
        ConnInfo(fd=22, addr=listen, state=CONN_LISTENING, last_cmd_time=0),
        ConnInfo(
            fd=23, addr="tcp:127.0.0.1:4999", listen_addr=listen, state=CONN_READ, last_cmd_time=7
        ),
    ]
    assert render_stats(conns_stats(conns, now_rel=10)) == (
        b"STAT 22:addr tcp:127.0.0.1:11211\r\n"
        b"STAT 22:state conn_listening\r\n"
        b"STAT 22:secs_since_last_cmd 10\r\n"
        b"STAT 23:addr tcp:127.0.0.1:4999\r\n"
        b"STAT 23:listen_addr tcp:127.0.0.1:11211\r\n"
        b"STAT 23:state conn_read\r\n"
        b"STAT 23:secs_since_last_cmd 3\r\n"
        b"STAT 24:addr tcp:127.0.0.1:5000\r\n"
        b"STAT 24:listen_addr tcp:127.0.0.1:11211\r\n"
        b"STAT 24:state conn_parse_cmd\r\n"
        b"STAT 24:secs_since_last_cmd 0\r\n"
        b"END\r\n"
    )


# ------------------------------------------------------------------------------------------
# DetailStats


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 0),
        (b"a", 0x3C2569B2),
        (b"abcd", 0x43ED676A),
        (b"hello", 0x248BFA47),
        (b"The quick brown fox jumps over the lazy dog", 0x2E4FF723),
    ],
)
def test_murmur3(data: bytes, expected: int) -> None:
    assert murmur3_32(data) == expected


def test_detail_counts_and_dump() -> None:
    d = DetailStats()
    d.record_get(b"a:1", True)  # disabled: not counted
    assert d.dump() == b"END\r\n"
    assert d.command(b"on") == b"OK\r\n"
    assert d.enabled
    d.record_set(b"a:1")
    d.record_get(b"a:1", True)
    d.record_get("a:2", False)  # str keys work too
    d.record_get(b"nodelim", True)  # no delimiter: not counted
    d.record_delete(b"a:b:c")
    d.record_get(b":x", False)  # empty prefix
    d.record_get(b"x\0y:z", False)  # NUL before the delimiter: not counted
    assert d.dump() == (
        b"PREFIX  get 1 hit 0 set 0 del 0\r\n"  # bucket 0
        b"PREFIX a get 2 hit 1 set 1 del 1\r\n"
        b"END\r\n"
    )
    assert d.command("off") == b"OK\r\n"
    d.record_get(b"a:1", True)
    assert b"get 2 hit 1" in d.command(b"dump")
    d.clear()
    assert d.dump() == b"END\r\n"


def test_detail_bad_subcommand() -> None:
    d = DetailStats()
    for sub in (None, b"", b"foo", "ON"):
        assert d.command(sub) == DETAIL_USAGE
    assert DETAIL_USAGE == b"CLIENT_ERROR usage: stats detail on|off|dump\r\n"


def test_detail_delimiter() -> None:
    d = DetailStats(delimiter="/", enabled=True)
    d.record_set(b"a:b/c")
    assert d.dump() == b"PREFIX a:b get 0 hit 0 set 1 del 0\r\nEND\r\n"
    assert DetailStats.from_settings(Settings())._delim == b":"
    with pytest.raises(ValueError):
        DetailStats(delimiter="::")


def _same_bucket_longer(prefix: bytes) -> bytes:
    bucket = murmur3_32(prefix) % stats.PREFIX_HASH_SIZE
    return next(
        p
        for i in range(100_000)
        if murmur3_32(p := prefix + str(i).encode()) % stats.PREFIX_HASH_SIZE == bucket
    )


def test_detail_strncmp_quirk() -> None:
    # memcached credits a prefix to the newest prefix of its bucket that starts with it
    longer = _same_bucket_longer(b"q")
    d = DetailStats(enabled=True)
    d.record_get(b"q:1", False)
    d.record_get(longer + b":1", False)
    d.record_get(b"q:2", False)
    assert d.dump() == (
        b"PREFIX %s get 2 hit 0 set 0 del 0\r\nPREFIX q get 1 hit 0 set 0 del 0\r\nEND\r\n" % longer
    )


def test_detail_max_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "MAX_PREFIX_COUNT", 2)
    d = DetailStats(enabled=True)
    for p in (b"a", b"b", b"c", b"a"):
        d.record_set(p + b":k")
    assert d.dump().count(b"PREFIX") == 2
    assert b"PREFIX c " not in d.dump()


# ------------------------------------------------------------------------------------------
# Against the real memcached

MEMCACHED = "/usr/bin/memcached"


class _Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)

    def ask(self, command: bytes, ends: tuple[bytes, ...] = (b"END\r\n",)) -> bytes:
        self.sock.sendall(command)
        buf = b""
        while not buf.endswith((*ends, b"ERROR\r\n", b"OK\r\n", DETAIL_USAGE)):
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        return buf

    def close(self) -> None:
        self.sock.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_memcached(*flags: str) -> tuple[subprocess.Popen[bytes], int]:
    if not os.path.exists(MEMCACHED) and shutil.which("memcached") is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{MEMCACHED} is missing and CI=true")
        pytest.skip(f"{MEMCACHED} is not installed (apt-get install memcached)")
    exe = MEMCACHED if os.path.exists(MEMCACHED) else "memcached"
    port = _free_port()
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([exe, *user, "-l", "127.0.0.1", "-p", str(port), *flags])
    deadline = time.monotonic() + 3
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"memcached {' '.join(flags)} did not start")
            time.sleep(0.01)


@pytest.fixture(scope="module")
def memcached() -> Iterator[int]:
    proc, port = _start_memcached()
    try:
        yield port
    finally:
        proc.kill()
        proc.wait(5)


@pytest.fixture
def client(memcached: int) -> Iterator[_Client]:
    c = _Client(memcached)
    try:
        yield c
    finally:
        c.close()


def _parse(reply: bytes) -> list[tuple[str, str]]:
    lines = reply.decode().split("\r\n")
    assert lines[-2:] == ["END", ""], reply
    return [tuple(line.split(" ", 2)[1:]) for line in lines[:-2]]  # type: ignore[misc]


def _shape(value: str) -> str:
    return re.sub(r"\d+", "9", value)


_DETERMINISTIC = {
    "version",
    "libevent",
    "pointer_size",
    "max_connections",
    "limit_maxbytes",
    "threads",
    "reserved_fds",
    "hash_power_level",
    "hash_bytes",
    "hash_is_expanding",
    "accepting_conns",
}


def _check_general(real: list[tuple[str, str]], settings: Settings) -> None:
    mine = _general(settings)
    assert _names(mine) == _names(real)
    for (name, mine_value), (_, real_value) in zip(mine, real, strict=True):
        assert _shape(mine_value) == _shape(real_value), name
        if name in _DETERMINISTIC:
            assert mine_value == real_value, name


@pytest.mark.memcached
def test_real_stats(client: _Client, memcached: int) -> None:
    _check_general(_parse(client.ask(b"stats\r\n")), Settings(port=memcached))


@pytest.mark.memcached
def test_real_stats_settings(client: _Client, memcached: int) -> None:
    real = client.ask(b"stats settings\r\n")
    assert render_stats(settings_stats(Settings(port=memcached))) == real


@pytest.mark.memcached
def test_real_variant_flags() -> None:
    proc, port = _start_memcached(*VARIANT_FLAGS)
    try:
        c = _Client(port)
        settings = Settings(port=port, **VARIANT_SETTINGS)  # type: ignore[arg-type]
        _check_general(_parse(c.ask(b"stats\r\n")), settings)
        assert render_stats(settings_stats(settings)) == c.ask(b"stats settings\r\n")
        c.close()
    finally:
        proc.kill()
        proc.wait(5)


@pytest.mark.memcached
def test_real_stats_sizes(client: _Client) -> None:
    assert render_stats(sizes_stats()) == client.ask(b"stats sizes\r\n")


@pytest.mark.memcached
def test_real_stats_conns(client: _Client, memcached: int) -> None:
    listen = inet_addr_text("127.0.0.1", memcached)
    mine_addr = inet_addr_text(*client.sock.getsockname())
    real = _parse(client.ask(b"stats conns\r\n"))
    by_fd: dict[int, dict[str, str]] = {}
    for key, value in real:
        fd, field = key.split(":", 1)
        by_fd.setdefault(int(fd), {})[field] = value
    listener_fd = next(fd for fd, f in by_fd.items() if f["state"] == CONN_LISTENING)
    my_fd = next(fd for fd, f in by_fd.items() if f["addr"] == mine_addr)
    ours = [
        ConnInfo(fd=listener_fd, addr=listen, state=CONN_LISTENING, last_cmd_time=0),
        ConnInfo(
            fd=my_fd, addr=mine_addr, listen_addr=listen, state=CONN_PARSE_CMD, last_cmd_time=0
        ),
    ]
    relevant = [(k, v) for k, v in real if int(k.split(":")[0]) in (listener_fd, my_fd)]
    mine = conns_stats(ours, now_rel=0)
    assert _names(mine) == _names(relevant)
    for (name, mine_value), (_, real_value) in zip(mine, relevant, strict=True):
        if name.endswith("secs_since_last_cmd"):
            assert re.fullmatch(r"\d+", real_value)
        else:
            assert mine_value == real_value, name


@pytest.mark.memcached
def test_real_stats_detail(client: _Client) -> None:
    longer = _same_bucket_longer(b"q")
    d = DetailStats()
    assert client.ask(b"stats detail dump\r\n") == d.command(b"dump")
    for sub in (b"", b" foo", b" on"):
        assert client.ask(b"stats detail" + sub + b"\r\n") == d.command(sub.strip() or None)
    stored = (b"STORED\r\n",)
    client.ask(b"set a:1 0 0 1\r\nx\r\n", stored)
    d.record_set(b"a:1")
    client.ask(b"set user:1 0 0 1\r\nx\r\n", stored)
    d.record_set(b"user:1")
    client.ask(b"get a:1 a:2 plain user:1 :e\r\n")
    for key, hit in ((b"a:1", True), (b"a:2", False), (b"user:1", True), (b":e", False)):
        d.record_get(key, hit)
    for key in (b"a:1", b"zz:9"):
        client.ask(b"delete " + key + b"\r\n", (b"DELETED\r\n", b"NOT_FOUND\r\n"))
        d.record_delete(key)
    for key in (b"q:1", longer + b":1", b"q:2"):
        client.ask(b"get " + key + b"\r\n")
        d.record_get(key, False)
    for i in range(30):
        client.ask(b"get p%d:k\r\n" % i)
        d.record_get(b"p%d:k" % i, False)
    assert client.ask(b"stats detail dump\r\n") == d.command(b"dump")
    assert client.ask(b"stats detail off\r\n") == d.command(b"off")
    client.ask(b"get a:1\r\n")
    d.record_get(b"a:1", False)
    assert client.ask(b"stats detail dump\r\n") == d.dump()
    client.ask(b"stats reset\r\n", (b"RESET\r\n",))
    d.clear()
    assert client.ask(b"stats detail dump\r\n") == d.dump() == b"END\r\n"
