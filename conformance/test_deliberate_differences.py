"""Where pymcd deliberately answers differently from memcached 1.6.18 (see README.md here).

Each test carries ``target_only`` with the reason, so it runs only against the named targets.
Differences that no wire test can pin (one thread, the simpler LRU behind ``stats items``,
the per-item memory overhead) are listed in README.md only.
"""

from __future__ import annotations

import pytest

DEBUGTIME = (
    "memcached has debugtime only in debug builds (Debian's answers ERROR); pymcd offers it "
    "behind --debugtime so a test can expire items without sleeping"
)
FLUSH = (
    "pymcd removes flushed items at once, memcached's background maintainer within about "
    "0.1 s, so curr_items drops at once only on pymcd"
)


@pytest.mark.target_only("pymcd", reason=DEBUGTIME)
@pytest.mark.server_flags("--debugtime")
def test_debugtime_moves_the_clock(conn) -> None:
    conn.request(
        b"set {k}a 0 10 1\r\nx\r\nset {k}b 0 0 1\r\ny\r\ndebugtime 9\r\nget {k}a\r\n",
        b"STORED\r\nSTORED\r\nOK\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    )
    conn.request(b"debugtime 1\r\nget {k}a {k}b\r\n", b"OK\r\nVALUE {k}b 0 1\r\ny\r\nEND\r\n")
    before = int(conn.stats()["time"])
    conn.request(b"debugtime 3600\r\n", b"OK\r\n")
    assert int(conn.stats()["time"]) - before in (3600, 3601)


@pytest.mark.target_only("pymcd", reason=DEBUGTIME)
@pytest.mark.server_flags("--debugtime")
@pytest.mark.parametrize(
    ("request_", "reply"),
    [
        pytest.param(b"debugtime\r\n", b"ERROR\r\n", id="no-arg"),
        pytest.param(b"debugtime x\r\n", b"ERROR\r\n", id="junk"),
        pytest.param(b"debugtime 0\r\n", b"OK\r\n", id="zero"),
    ],
)
def test_debugtime_arguments(conn, request_: bytes, reply: bytes) -> None:
    conn.request(request_ + b"version\r\n", reply + b"VERSION 1.6.18\r\n")


@pytest.mark.target_only("pymcd", reason=FLUSH)
@pytest.mark.server_flags()
def test_flush_all_removes_items_at_once(conn) -> None:
    conn.request(b"set {k}a 0 0 1\r\nx\r\nset {k}b 0 0 1\r\ny\r\n", b"STORED\r\nSTORED\r\n")
    assert conn.stats()["curr_items"] == "2"
    conn.request(b"flush_all\r\n", b"OK\r\n")
    assert conn.stats()["curr_items"] == "0"
