"""version, verbosity, cache_memlimit, shutdown while not enabled, and the admin commands a
default build answers (lru_crawler, slabs, watch, lru, debugtime, misbehave, extstore, mn)."""

from __future__ import annotations

import pytest

CASES = [
    ("version", b"version\r\n", b"VERSION 1.6.18\r\n"),
    ("verbosity", b"verbosity 0\r\n", b"OK\r\n"),
    ("verbosity-no-arg", b"verbosity\r\n", b"ERROR\r\n"),
    ("verbosity-junk", b"verbosity x\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    ("verbosity-extra-arg", b"verbosity 0 2\r\n", b"OK\r\n"),
    ("verbosity-too-many", b"verbosity 0 2 3\r\n", b"ERROR\r\n"),
    ("verbosity-noreply", b"verbosity 0 noreply\r\n", b""),
    ("verbosity-only-noreply", b"verbosity noreply\r\n", b""),
    ("shutdown-not-enabled", b"shutdown\r\n", b"ERROR: shutdown not enabled\r\n"),
    ("shutdown-graceful-not-enabled", b"shutdown graceful\r\n", b"ERROR: shutdown not enabled\r\n"),
    ("shutdown-junk-not-enabled", b"shutdown x\r\n", b"ERROR: shutdown not enabled\r\n"),
    ("cache_memlimit-no-arg", b"cache_memlimit\r\n", b"ERROR\r\n"),
    ("cache_memlimit-junk", b"cache_memlimit x\r\n", b"ERROR\r\n"),
    ("cache_memlimit-negative", b"cache_memlimit -1\r\n", b"ERROR\r\n"),
    (
        "cache_memlimit-0",
        b"cache_memlimit 0\r\n",
        b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n",
    ),
    (
        "cache_memlimit-7",
        b"cache_memlimit 7\r\n",
        b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n",
    ),
    ("cache_memlimit-too-many", b"cache_memlimit 64 1 2\r\n", b"ERROR\r\n"),
    ("debugtime-not-built", b"debugtime 1\r\n", b"ERROR\r\n"),
    ("misbehave-not-built", b"misbehave\r\n", b"ERROR\r\n"),
    ("extstore-not-built", b"extstore x\r\n", b"ERROR\r\n"),
    ("lru-no-arg", b"lru\r\n", b"ERROR\r\n"),
    ("lru-junk", b"lru x\r\n", b"ERROR\r\n"),
    ("lru_crawler-no-arg", b"lru_crawler\r\n", b"ERROR\r\n"),
    ("lru_crawler-junk", b"lru_crawler foo\r\n", b"ERROR\r\n"),
    ("lru_crawler-metadump-no-class", b"lru_crawler metadump\r\n", b"ERROR\r\n"),
    ("slabs-no-arg", b"slabs\r\n", b"ERROR\r\n"),
    ("slabs-reassign-same", b"slabs reassign 1 1\r\n", b"SAME src and dst class are identical\r\n"),
    (
        "slabs-reassign-bad-class",
        b"slabs reassign 0 99\r\n",
        b"BADCLASS invalid src or dst class id\r\n",
    ),
    ("slabs-reassign-junk", b"slabs reassign x 1\r\n", b"CLIENT_ERROR bad command line format\r\n"),
    ("slabs-automove-no-arg", b"slabs automove\r\n", b"ERROR\r\n"),
    ("slabs-automove-out-of-range", b"slabs automove 5\r\n", b"ERROR\r\n"),
    ("watch-junk", b"watch foo\r\n", b"ERROR\r\n"),
    ("mn", b"mn\r\n", b"MN\r\n"),
]


@pytest.mark.parametrize(("request_", "reply"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_misc_table(server, conn, request_: bytes, reply: bytes) -> None:
    if request_.startswith(b"debugtime") and server.has_debugtime():
        pytest.skip("this server was started with debugtime enabled")
    conn.request(request_, reply)
    conn.request(b"version\r\n", b"VERSION 1.6.18\r\n")


@pytest.mark.server_flags()
@pytest.mark.parametrize(
    ("request_", "reply"),
    [
        pytest.param(b"cache_memlimit 8\r\n", b"OK\r\n", id="cache_memlimit-8"),
        pytest.param(b"cache_memlimit 100\r\n", b"OK\r\n", id="cache_memlimit-100"),
        pytest.param(b"cache_memlimit 64 junk\r\n", b"OK\r\n", id="cache_memlimit-extra"),
        pytest.param(b"cache_memlimit 64 noreply\r\n", b"", id="cache_memlimit-noreply"),
        pytest.param(b"verbosity 1\r\n", b"OK\r\n", id="verbosity-1"),
        pytest.param(b"slabs automove 0\r\n", b"OK\r\n", id="slabs-automove-0"),
        pytest.param(b"slabs automove 1\r\n", b"OK\r\n", id="slabs-automove-1"),
        pytest.param(
            b"slabs reassign 1 2\r\n",
            b"NOSPARE source class has no spare pages\r\n",
            id="slabs-reassign-nospare",
        ),
        pytest.param(b"lru_crawler crawl all\r\n", b"OK\r\n", id="lru_crawler-crawl"),
        pytest.param(b"lru mode flat\r\n", b"OK\r\n", id="lru-mode"),
    ],
)
def test_admin_commands_on_a_private_server(conn, request_: bytes, reply: bytes) -> None:
    """Commands that change server-wide state run on their own server."""
    conn.request(request_, reply)
    conn.request(b"version\r\n", b"VERSION 1.6.18\r\n")


@pytest.mark.server_flags()
def test_cache_memlimit_shows_in_stats(conn) -> None:
    conn.request(b"cache_memlimit 100\r\n", b"OK\r\n")
    assert conn.stats()["limit_maxbytes"] == str(100 * 1024 * 1024)
    assert conn.stats(b"settings")["maxbytes"] == str(100 * 1024 * 1024)


@pytest.mark.server_flags()
def test_verbosity_shows_in_stats_settings(conn) -> None:
    conn.request(b"verbosity 2\r\n", b"OK\r\n")
    assert conn.stats(b"settings")["verbosity"] == "2"


@pytest.mark.server_flags()
def test_lru_crawler_metadump_empty(conn) -> None:
    conn.request(b"lru_crawler metadump all\r\n", b"END\r\n")


@pytest.mark.server_flags()
def test_watch_turns_the_connection_into_a_log_stream(server, conn) -> None:
    """After OK the connection only streams logs: later commands get no reply."""
    conn.request(b"watch\r\n", b"OK\r\n")
    conn.send(b"version\r\n")
    conn.assert_nothing()
    other = server.connect()
    other.request(b"version\r\n", b"VERSION 1.6.18\r\n")


@pytest.mark.server_flags()
@pytest.mark.parametrize(
    ("batch", "reply"),
    [
        (b"get {k}zz\r\nwatch\r\n", b"END\r\nOK\r\n"),
        (b"version\r\nget {k}zz\r\nwatch\r\n", b"VERSION 1.6.18\r\nEND\r\nOK\r\n"),
        (b"version\r\nmn\r\nwatch\r\n", b"VERSION 1.6.18\r\nMN\r\nOK\r\n"),
        (
            b"get {k}zz\r\nversion\r\nwatch\r\n",
            b"END\r\nVERSION 1.6.18\r\nERROR cannot pipeline other commands before watch\r\n",
        ),
        (
            b"version\r\nget {k}zz\r\nlru_crawler metadump 1\r\n",
            b"VERSION 1.6.18\r\nEND\r\nEND\r\n",
        ),
    ],
)
def test_watch_and_metadump_refuse_only_unwritten_replies(conn, batch: bytes, reply: bytes) -> None:
    """memcached refuses only when replies are queued since its last write; a completed get
    or mn writes everything queued before it (resp_has_stack)."""
    conn.request(batch, reply)
