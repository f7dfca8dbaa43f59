"""quit (closes without a reply, after the replies pipelined before it; other connections and
the data survive) and shutdown with -A (plain and graceful: every connection closes, the
listener goes away). shutdown without -A is in test_admin.py."""

from __future__ import annotations

import socket
import time

import pytest


@pytest.mark.parametrize("data", [b"quit\r\n", b"quit\n", b"quit now\r\n", b"quit\r\nversion\r\n"])
def test_quit_closes_without_reply(conn, data: bytes) -> None:
    conn.send(data)
    conn.assert_closed()


def test_quit_after_pipelined_commands(conn) -> None:
    conn.send(b"set {k}a 0 0 1\r\nx\r\nversion\r\nquit\r\nget {k}a\r\n")
    conn.expect(b"STORED\r\nVERSION 1.6.18\r\n")
    conn.assert_closed()


def test_quit_leaves_other_connections_and_data(server, conn) -> None:
    conn.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    other = server.connect()
    conn.send(b"quit\r\n")
    conn.assert_closed()
    other.request(b"get {k}a\r\n", b"VALUE {k}a 0 1\r\nx\r\nEND\r\n")


def _wait_until_refused(server, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((server.host, server.port), timeout=0.5).close()
        except OSError:
            return
        time.sleep(0.05)
    raise AssertionError("the server still accepts connections after shutdown")


@pytest.mark.server_flags("-A")
def test_shutdown_enabled(server, conn) -> None:
    other = server.connect()
    other.request(b"version\r\n", b"VERSION 1.6.18\r\n")
    conn.request(b"shutdown x\r\n", b"CLIENT_ERROR invalid shutdown mode\r\n")
    conn.send(b"shutdown\r\n")
    conn.assert_closed()
    other.assert_closed(timeout=5)
    _wait_until_refused(server)


@pytest.mark.server_flags("-A")
def test_shutdown_graceful(server, conn) -> None:
    conn.send(b"shutdown graceful\r\n")
    conn.assert_closed(timeout=5)
    _wait_until_refused(server)
