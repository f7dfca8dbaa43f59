"""Delivery: many commands in one send, byte-by-byte, splits at CR|LF and inside data blocks."""

from __future__ import annotations

import pytest

SCRIPT = (
    b"set {k}a 1 0 5\r\nhello\r\n"
    b"get {k}a {k}none\r\n"
    b"append {k}a 0 0 6\r\n world\r\n"
    b"gets {k}none\r\n"
    b"set {k}n 0 0 2\r\n10\r\n"
    b"incr {k}n 5\r\n"
    b"decr {k}n 100\r\n"
    b"touch {k}n 0\r\n"
    b"delete {k}n\r\n"
    b"delete {k}n\r\n"
    b"bogus\r\n"
    b"set {k}b 0 0 1 noreply\r\nb\r\n"
    b"get {k}a {k}b\r\n"
    b"version\n"
)
REPLY = (
    b"STORED\r\n"
    b"VALUE {k}a 1 5\r\nhello\r\nEND\r\n"
    b"STORED\r\n"
    b"END\r\n"
    b"STORED\r\n"
    b"15\r\n"
    b"0\r\n"
    b"TOUCHED\r\n"
    b"DELETED\r\n"
    b"NOT_FOUND\r\n"
    b"ERROR\r\n"
    b"VALUE {k}a 1 11\r\nhello world\r\nVALUE {k}b 0 1\r\nb\r\nEND\r\n"
    b"VERSION 1.6.18\r\n"
)


def test_pipelined_in_one_send(conn) -> None:
    conn.request(SCRIPT, REPLY)


def test_byte_by_byte(conn) -> None:
    conn.send_bytewise(SCRIPT)
    conn.expect(REPLY)


def test_pipelined_many_rounds(conn) -> None:
    """200 rounds in one send; each round resets the keys so every reply is the same."""
    script = b"delete {k}a\r\ndelete {k}b\r\n" + SCRIPT
    conn.send(script * 200)
    for _ in range(200):
        conn.expect(b"NOT_FOUND\r\nNOT_FOUND\r\n" if _ == 0 else b"DELETED\r\nDELETED\r\n")
        conn.expect(REPLY)


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(b"set {k}a 0 0 2\r", id="between-CR-and-LF-of-command"),
        pytest.param(b"set {k}a 0 0 2\r\nx", id="inside-data"),
        pytest.param(b"set {k}a 0 0 2\r\nxy", id="before-data-CRLF"),
        pytest.param(b"set {k}a 0 0 2\r\nxy\r", id="between-data-CR-and-LF"),
        pytest.param(b"set {k}a 0 0 2\r\nxy\r\nget {k}", id="inside-key"),
        pytest.param(b"set {k}a 0 0 2\r\nxy\r\nget {k}a\r", id="get-CR|LF"),
        pytest.param(b"se", id="inside-command-name"),
    ],
)
def test_split_points(conn, cut: bytes) -> None:
    data = b"set {k}a 0 0 2\r\nxy\r\nget {k}a\r\n"
    at = len(conn.k(cut))
    conn.send_split(data, at)
    conn.expect(b"STORED\r\nVALUE {k}a 0 2\r\nxy\r\nEND\r\n")


def test_large_value_in_many_pieces(conn) -> None:
    value = bytes(range(256)) * 2000  # 512000 bytes, contains CR LF pairs
    data = b"set {k}big 0 0 %d\r\n" % len(value) + value + b"\r\nget {k}big\r\n"
    conn.send_split(data, *range(7, len(data), 65521), pause=0.001)
    conn.expect(b"STORED\r\nVALUE {k}big 0 %d\r\n" % len(value) + value + b"\r\nEND\r\n")


def test_reply_order_across_two_connections(server) -> None:
    a, b = server.connect(), server.connect()
    a.send(b"set {k}x 0 0 1\r\n")
    b.request(b"get {k}x\r\n", b"END\r\n")  # a's half-sent set is invisible
    a.send(b"1\r\n")
    a.expect(b"STORED\r\n")
    b.request(b"get {k}x\r\n", b"VALUE {k}x 0 1\r\n1\r\nEND\r\n")
