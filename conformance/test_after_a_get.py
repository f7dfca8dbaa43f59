"""An item that has been read by a get behaves in every later command as one never read.

pymcd keeps a small value that a get has read in its reply form (header and data block in one
object); these are the commands that must see through it: they answer here exactly as
memcached does.
"""

from __future__ import annotations

import re

import pytest

BIG = 10_000  # over the size that takes the reply form
READERS = [b"get {k}a\r\n", b"get {k}a {k}a\r\n", b"get {k}none {k}a\r\nget {k}a\r\n"]


@pytest.fixture(params=[3, BIG], ids=["small", "big"])
def size(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def _read(conn, value: bytes, flags: int = 5) -> None:
    """Each reader once: single, repeated and mixed keys, pipelined lines."""
    hit = b"VALUE {k}a %d %d\r\n%s\r\n" % (flags, len(value), value)
    conn.request(READERS[0], hit + b"END\r\n")
    conn.request(READERS[1], hit + hit + b"END\r\n")
    conn.request(READERS[2], hit + b"END\r\n" + hit + b"END\r\n")


def test_decr_in_place_and_incr_that_grows(server, conn) -> None:
    conn.request(b"set {k}a 5 0 3\r\n100\r\n", b"STORED\r\n")
    _read(conn, b"100")
    # memcached rewrites in place only an item no reply of this connection still holds
    other = server.connect()
    other.request(b"decr {k}a 1\r\n", b"99\r\n")
    _read(other, b"99 ")  # rewritten in place, space padded
    other = server.connect()
    other.request(b"incr {k}a 1\r\n", b"100\r\n")
    _read(other, b"100")  # in place again, after being read in place
    conn.request(b"incr {k}a 900\r\n", b"1000\r\n")
    _read(conn, b"1000")  # longer: a new item


def test_append_and_prepend(conn, size: int) -> None:
    value = b"m" * size
    conn.request(b"set {k}a 5 0 %d\r\n%s\r\n" % (size, value), b"STORED\r\n")
    _read(conn, value)
    conn.request(b"append {k}a 0 0 3\r\nend\r\n", b"STORED\r\n")
    conn.request(b"prepend {k}a 0 0 3\r\npre\r\n", b"STORED\r\n")
    _read(conn, b"pre" + value + b"end")


def test_gets_and_gat_carry_the_same_value_and_flags(conn, size: int) -> None:
    value = b"v" * size
    conn.request(b"set {k}a 5 0 %d\r\n%s\r\n" % (size, value), b"STORED\r\n")
    _read(conn, value)
    conn.send(b"gets {k}a\r\n")
    reply = conn.read_until(b"END\r\n")
    header = re.escape(b"VALUE " + conn.k(b"{k}a") + b" 5 %d " % size)
    assert re.fullmatch(header + rb"\d+\r\n" + value + rb"\r\nEND\r\n", reply), reply[:80]
    conn.request(b"gat 100 {k}a\r\n", b"VALUE {k}a 5 %d\r\n%s\r\nEND\r\n" % (size, value))
    _read(conn, value)


def test_meta_get_reads_value_size_and_flags(conn, size: int) -> None:
    value = b"w" * size
    conn.request(b"set {k}a 4294967295 0 %d\r\n%s\r\n" % (size, value), b"STORED\r\n")
    _read(conn, value, flags=4294967295)
    conn.request(
        b"mg {k}a v s f t\r\n", b"VA %d s%d f4294967295 t-1\r\n%s\r\n" % (size, size, value)
    )


@pytest.mark.server_flags("-m", "64")  # its own server: no other test's items come and go
def test_the_item_is_charged_the_same_bytes(conn, size: int) -> None:
    before = int(conn.stats()["bytes"])
    value = b"c" * size
    conn.request(b"set {k}a 0 0 %d\r\n%s\r\n" % (size, value), b"STORED\r\n")
    stored = int(conn.stats()["bytes"])
    assert stored > before
    _read(conn, value, flags=0)
    assert int(conn.stats()["bytes"]) == stored
    conn.request(b"delete {k}a\r\n", b"DELETED\r\n")
    assert int(conn.stats()["bytes"]) == before
