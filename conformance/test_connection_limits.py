"""-c: how many clients memcached really accepts, and what the rejected one receives.

memcached counts its own file descriptors against -c. Measured with memcached 1.6.18 on
127.0.0.1 (one listener): with ``-c N -t T`` it accepts exactly ``N - 4*T - 8`` clients
(default -t 4: ``N - 24``; so -c 30 allows 6, -c 100 allows 76, -c 20 -t 1 allows 8;
``stats`` shows reserved_fds = 5*T). -c below about 25 with 4 threads does not even start
(file descriptors run out). The next client gets ``ERROR Too many open connections\\r\\n``
at once, without sending anything, and is closed; rejected_connections counts it.
pymcd must reproduce the same number for the same flags.
"""

from __future__ import annotations

import time

import pytest

REJECTED = b"ERROR Too many open connections\r\n"


def _fill(server, allowed: int) -> list:
    clients = []
    for _ in range(allowed):
        c = server.connect()
        c.request(b"version\r\n", b"VERSION 1.6.18\r\n")
        clients.append(c)
    return clients


def _check_limit(server, allowed: int) -> None:
    clients = _fill(server, allowed)
    rejected = server.connect()
    rejected.expect(REJECTED)
    rejected.assert_closed()
    # the accepted clients still work
    clients[0].request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    clients[-1].request(b"get {k}a\r\n", b"VALUE {k}a 0 1\r\nx\r\nEND\r\n")
    stats = clients[0].stats()
    assert stats["curr_connections"] == str(allowed)
    assert stats["rejected_connections"] == "1"
    # a slot frees up when a client leaves
    clients.pop().send(b"quit\r\n")
    deadline = time.monotonic() + 2
    while True:
        c = server.connect()
        c.send(b"version\r\n")
        reply = c.read_until(b"\r\n")
        if reply == b"VERSION 1.6.18\r\n":
            break
        assert reply == REJECTED, reply
        assert time.monotonic() < deadline, "no slot freed after quit"
        time.sleep(0.05)


@pytest.mark.server_flags("-c", "30")
def test_c30_accepts_6(server) -> None:
    _check_limit(server, 6)


@pytest.mark.server_flags("-c", "20", "-t", "1")
def test_c20_t1_accepts_8(server) -> None:
    _check_limit(server, 8)


@pytest.mark.server_flags("-c", "30")
def test_max_connections_in_stats(server, conn) -> None:
    assert conn.stats()["max_connections"] == "30"
    assert conn.stats(b"settings")["maxconns"] == "30"
