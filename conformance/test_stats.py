"""stats and its subcommands: names, line shape, deterministic counter deltas, errors.

Values differ between servers; only names, shapes, settings fixed by the flags, and counter
deltas caused by the test's own commands are compared.
"""

from __future__ import annotations

import re

import pytest

STAT_LINE = re.compile(rb"STAT [^ \r\n]+ [^\r\n]*\r\n")

# `stats` of memcached 1.6.18 (Debian build, no extstore/TLS/proxy), in order
GENERAL_NAMES = [
    "pid",
    "uptime",
    "time",
    "version",
    "libevent",
    "pointer_size",
    "rusage_user",
    "rusage_system",
    "max_connections",
    "curr_connections",
    "total_connections",
    "rejected_connections",
    "connection_structures",
    "response_obj_oom",
    "response_obj_count",
    "response_obj_bytes",
    "read_buf_count",
    "read_buf_bytes",
    "read_buf_bytes_free",
    "read_buf_oom",
    "reserved_fds",
    "cmd_get",
    "cmd_set",
    "cmd_flush",
    "cmd_touch",
    "cmd_meta",
    "get_hits",
    "get_misses",
    "get_expired",
    "get_flushed",
    "delete_misses",
    "delete_hits",
    "incr_misses",
    "incr_hits",
    "decr_misses",
    "decr_hits",
    "cas_misses",
    "cas_hits",
    "cas_badval",
    "touch_hits",
    "touch_misses",
    "store_too_large",
    "store_no_memory",
    "auth_cmds",
    "auth_errors",
    "bytes_read",
    "bytes_written",
    "limit_maxbytes",
    "accepting_conns",
    "listen_disabled_num",
    "time_in_listen_disabled_us",
    "threads",
    "conn_yields",
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
    "log_worker_dropped",
    "log_worker_written",
    "log_watcher_skipped",
    "log_watcher_sent",
    "log_watchers",
    "unexpected_napi_ids",
    "round_robin_fallback",
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
]

SETTINGS_NAMES = [
    "maxbytes",
    "maxconns",
    "tcpport",
    "udpport",
    "inter",
    "verbosity",
    "oldest",
    "evictions",
    "domain_socket",
    "umask",
    "shutdown_command",
    "growth_factor",
    "chunk_size",
    "num_threads",
    "num_threads_per_udp",
    "stat_key_prefix",
    "detail_enabled",
    "reqs_per_event",
    "cas_enabled",
    "tcp_backlog",
    "binding_protocol",
    "auth_enabled_sasl",
    "auth_enabled_ascii",
    "item_size_max",
    "maxconns_fast",
    "hashpower_init",
    "slab_reassign",
    "slab_automove",
    "slab_automove_ratio",
    "slab_automove_window",
    "slab_chunk_max",
    "lru_crawler",
    "lru_crawler_sleep",
    "lru_crawler_tocrawl",
    "tail_repair_time",
    "flush_enabled",
    "dump_enabled",
    "hash_algorithm",
    "lru_maintainer_thread",
    "lru_segmented",
    "hot_lru_pct",
    "warm_lru_pct",
    "hot_max_factor",
    "warm_max_factor",
    "temp_lru",
    "temporary_ttl",
    "idle_timeout",
    "watcher_logbuf_size",
    "worker_logbuf_size",
    "read_buf_mem_limit",
    "track_sizes",
    "inline_ascii_response",
    "ext_item_size",
    "ext_item_age",
    "ext_low_ttl",
    "ext_recache_rate",
    "ext_wbuf_size",
    "ext_compact_under",
    "ext_drop_under",
    "ext_max_sleep",
    "ext_max_frag",
    "slab_automove_freeratio",
    "ext_drop_unread",
    "ssl_enabled",
    "ssl_chain_cert",
    "ssl_key",
    "ssl_verify_mode",
    "ssl_keyformat",
    "ssl_ciphers",
    "ssl_ca_cert",
    "ssl_wbuf_size",
    "ssl_session_cache",
    "ssl_kernel_tls",
    "ssl_min_version",
    "num_napi_ids",
    "memory_file",
]


def _lines(conn, command: bytes) -> list[bytes]:
    conn.send(command)
    body = conn.read_until(b"END\r\n")
    lines = STAT_LINE.findall(body)
    assert b"".join(lines) + b"END\r\n" == body, body
    return lines


def _names(lines: list[bytes]) -> list[str]:
    return [line.split(b" ")[1].decode() for line in lines]


def test_stats_shape_and_names(conn) -> None:
    names = _names(_lines(conn, b"stats\r\n"))
    assert names == GENERAL_NAMES


def test_stats_trailing_space(conn) -> None:
    assert _names(_lines(conn, b"stats \r\n")) == GENERAL_NAMES


def test_stats_fixed_values(server, conn) -> None:
    stats = conn.stats()
    assert stats["version"] == "1.6.18"
    assert stats["pointer_size"] == "64"
    assert stats["limit_maxbytes"] == "67108864"
    assert stats["max_connections"] == "1024"
    assert stats["threads"] == "4"
    assert stats["accepting_conns"] == "1"
    assert re.fullmatch(r"\d+\.\d{6}", stats["rusage_user"])
    assert int(stats["curr_connections"]) >= 1


def test_stats_settings(server, conn) -> None:
    lines = _lines(conn, b"stats settings\r\n")
    assert _names(lines) == SETTINGS_NAMES
    settings = conn.stats(b"settings")
    expected = {
        "maxbytes": "67108864",
        "maxconns": "1024",
        "tcpport": str(server.port),
        "udpport": "0",
        "inter": "127.0.0.1",
        "verbosity": "0",
        "evictions": "on",
        "domain_socket": "NULL",
        "umask": "700",
        "shutdown_command": "no",
        "growth_factor": "1.25",
        "chunk_size": "48",
        "num_threads": "4",
        "stat_key_prefix": ":",
        "cas_enabled": "yes",
        "binding_protocol": "auto-negotiate",
        "item_size_max": "1048576",
        "slab_chunk_max": "524288",
        "flush_enabled": "yes",
        "dump_enabled": "yes",
        "idle_timeout": "0",
    }
    assert {k: settings[k] for k in expected} == expected


def test_counter_deltas(conn) -> None:
    before = conn.stats()
    conn.request(
        b"set {k}a 0 0 1\r\n1\r\nget {k}a {k}b {k}a\r\ngets {k}c\r\n"
        b"delete {k}b\r\nincr {k}a 1\r\nincr {k}b 1\r\ndecr {k}a 1\r\ndecr {k}b 1\r\n"
        b"touch {k}a 0\r\ntouch {k}b 0\r\ngat 0 {k}a {k}b\r\ncas {k}b 0 0 1 1\r\nx\r\n"
        b"delete {k}a\r\n",
        b"STORED\r\nVALUE {k}a 0 1\r\n1\r\nVALUE {k}a 0 1\r\n1\r\nEND\r\nEND\r\n"
        b"NOT_FOUND\r\n2\r\nNOT_FOUND\r\n1\r\nNOT_FOUND\r\n"
        b"TOUCHED\r\nNOT_FOUND\r\nVALUE {k}a 0 1\r\n1\r\nEND\r\nNOT_FOUND\r\nDELETED\r\n",
    )
    after = conn.stats()
    delta = {
        name: int(after[name]) - int(before[name])
        for name in [
            "cmd_get",
            "cmd_set",
            "cmd_touch",
            "get_hits",
            "get_misses",
            "delete_hits",
            "delete_misses",
            "incr_hits",
            "incr_misses",
            "decr_hits",
            "decr_misses",
            "touch_hits",
            "touch_misses",
            "cas_misses",
            "cas_hits",
            "cas_badval",
            "cmd_flush",
        ]
    }
    assert delta == {
        "cmd_get": 4,  # per key
        "cmd_set": 2,  # set and cas
        "cmd_touch": 4,  # touch and gat, per key
        "get_hits": 2,
        "get_misses": 2,
        "delete_hits": 1,
        "delete_misses": 1,
        "incr_hits": 1,
        "incr_misses": 1,
        "decr_hits": 1,
        "decr_misses": 1,
        "touch_hits": 2,
        "touch_misses": 2,
        "cas_misses": 1,
        "cas_hits": 0,
        "cas_badval": 0,
        "cmd_flush": 0,
    }


def test_flush_and_too_large_counters(conn) -> None:
    before = conn.stats()
    conn.request(b"flush_all noreply\r\nflush_all 0\r\n", b"OK\r\n")
    conn.request(
        b"set {k}a 0 0 2000000\r\n" + b"x" * 2000000 + b"\r\n",
        b"SERVER_ERROR object too large for cache\r\n",
    )
    after = conn.stats()
    assert int(after["cmd_flush"]) - int(before["cmd_flush"]) == 2
    assert int(after["store_too_large"]) - int(before["store_too_large"]) == 1


@pytest.mark.server_flags()
def test_item_counts_on_a_fresh_server(conn) -> None:
    stats = conn.stats()
    assert (stats["curr_items"], stats["total_items"], stats["evictions"]) == ("0", "0", "0")
    conn.request(
        b"set {k}a 0 0 1\r\n1\r\nset {k}b 0 0 1\r\n1\r\nset {k}a 0 0 1\r\n2\r\n", b"STORED\r\n" * 3
    )
    stats = conn.stats()
    assert (stats["curr_items"], stats["total_items"]) == ("2", "3")
    conn.request(b"stats reset\r\n", b"RESET\r\n")
    stats = conn.stats()
    assert (stats["curr_items"], stats["total_items"], stats["cmd_set"]) == ("2", "0", "0")


@pytest.mark.server_flags()
def test_stats_items_and_slabs_shape(conn) -> None:
    conn.request(b"set {k}a 0 0 1\r\n1\r\n", b"STORED\r\n")
    items = _lines(conn, b"stats items\r\n")
    assert all(re.fullmatch(rb"STAT items:\d+:[a-z_]+ \d+\r\n", line) for line in items)
    assert items[0] == b"STAT items:1:number 1\r\n"
    slabs = _lines(conn, b"stats slabs\r\n")
    assert slabs[0] == b"STAT 1:chunk_size 96\r\n"
    assert _names(slabs[-2:]) == ["active_slabs", "total_malloced"]
    assert slabs[-2] == b"STAT active_slabs 1\r\n"
    assert all(re.fullmatch(rb"STAT \d+:[a-z_]+ \d+\r\n", line) for line in slabs[:-2])


@pytest.mark.server_flags()
def test_stats_cachedump(conn) -> None:
    """memcached dumps only the COLD LRU of a class; a fresh item sits in HOT until the LRU
    maintainer moves it, so whether it is listed yet is timing: check the shape only."""
    conn.request(b"set {k}a 0 0 3\r\nabc\r\n", b"STORED\r\n")
    conn.send(b"stats cachedump 1 0\r\n")
    reply = conn.k(conn.read_until(b"END\r\n"))
    assert reply in (b"END\r\n", conn.k(b"ITEM {k}a [3 b; 0 s]\r\nEND\r\n")), reply
    conn.request(b"stats cachedump 2 0\r\n", b"END\r\n")


@pytest.mark.server_flags("-X")
def test_stats_cachedump_disabled(conn) -> None:
    conn.request(b"stats cachedump 1 0\r\n", b"CLIENT_ERROR stats cachedump not allowed\r\n")


CASES = [
    ("reset", b"stats reset\r\n", b"RESET\r\n"),
    ("sizes", b"stats sizes\r\n", b"STAT sizes_status disabled\r\nEND\r\n"),
    ("detail-no-arg", b"stats detail\r\n", b"CLIENT_ERROR usage: stats detail on|off|dump\r\n"),
    ("detail-bad", b"stats detail x\r\n", b"CLIENT_ERROR usage: stats detail on|off|dump\r\n"),
    ("detail-off", b"stats detail off\r\n", b"OK\r\n"),
    ("detail-dump-empty", b"stats detail dump\r\n", b"END\r\n"),
    ("cachedump-missing-limit", b"stats cachedump 1\r\n", b"CLIENT_ERROR bad command line\r\n"),
    ("cachedump-bad-id", b"stats cachedump x 0\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    (
        "cachedump-bad-limit",
        b"stats cachedump 1 -1\r\n",
        b"CLIENT_ERROR bad command line format\r\n",
    ),
    ("cachedump-illegal-id", b"stats cachedump 999 0\r\n", b"CLIENT_ERROR Illegal slab id\r\n"),
    ("unknown", b"stats foo\r\n", b"ERROR\r\n"),
    ("unknown-two-args", b"stats foo bar\r\n", b"ERROR\r\n"),
    ("extstore-not-built", b"stats extstore\r\n", b"END\r\n"),
    ("Stats-uppercase", b"STATS\r\n", b"ERROR\r\n"),
]


@pytest.mark.parametrize(("request_", "reply"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_stats_table(conn, request_: bytes, reply: bytes) -> None:
    conn.request(request_, reply)


@pytest.mark.server_flags()
def test_stats_detail(conn) -> None:
    conn.request(b"stats detail on\r\n", b"OK\r\n")
    conn.request(
        b"get {k}a\r\nset {k}a 0 0 1\r\n1\r\nget {k}a\r\ndelete {k}a\r\n",
        b"END\r\nSTORED\r\nVALUE {k}a 0 1\r\n1\r\nEND\r\nDELETED\r\n",
    )
    prefix = conn.prefix[:-1]  # the default delimiter is ':'
    conn.request(
        b"stats detail dump\r\n",
        b"PREFIX %s get 2 hit 1 set 1 del 1\r\nEND\r\n" % prefix,
    )
    conn.request(b"stats detail off\r\n", b"OK\r\n")


def test_stats_conns_shape(server, conn) -> None:
    lines = _lines(conn, b"stats conns\r\n")
    for line in lines:
        assert re.fullmatch(
            rb"STAT \d+:(addr|listen_addr|state|secs_since_last_cmd) \S+\r\n", line
        ), line
    assert (
        b"STAT %s:addr tcp:127.0.0.1:%d\r\n"
        % (
            lines[0].split(b":")[0][5:],
            server.port,
        )
        in lines
    )
    assert any(b":state conn_parse_cmd" in line for line in lines)
