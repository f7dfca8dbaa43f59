"""Expiry on the server's clock: relative and absolute exptimes, touch/gat, delayed flush_all.

Against memcached these wait real seconds (``server.align()`` waits for memcached's once-a-second
clock tick, ``advance(n)`` until the clock moved by n); against pymcd they move its clock.
"""

from __future__ import annotations

import time

import pytest

VALUE = b"VALUE {k}%s 0 1\r\nx\r\n"


def _get(conn, *names: bytes) -> set[bytes]:
    """The subset of ``names`` that are alive."""
    conn.send(b"get " + b" ".join(b"{k}" + n for n in names) + b"\r\n")
    reply = conn.k(conn.read_until(b"END\r\n"))
    prefix = conn.k(b"{k}")
    return {n for n in names if b"VALUE " + prefix + n + b" " in reply}


@pytest.mark.slow
def test_relative_exptime(server, conn, advance) -> None:
    server.align()
    conn.request(
        b"set {k}e1 0 1 1\r\nx\r\nset {k}e2 0 2 1\r\nx\r\nset {k}e0 0 0 1\r\nx\r\n"
        b"set {k}month 0 2592000 1\r\nx\r\nadd {k}neg 0 -1 1\r\nx\r\n",
        b"STORED\r\n" * 5,
    )
    assert _get(conn, b"e1", b"e2", b"e0", b"month", b"neg") == {b"e1", b"e2", b"e0", b"month"}
    advance(1)
    assert _get(conn, b"e1", b"e2", b"e0") == {b"e2", b"e0"}
    # an expired key behaves as missing for every command
    conn.request(
        b"add {k}e1 0 0 1\r\ny\r\nincr {k}neg 1\r\ntouch {k}neg 0\r\nappend {k}neg 0 0 1\r\nx\r\n"
        b"delete {k}neg\r\n",
        b"STORED\r\nNOT_FOUND\r\nNOT_FOUND\r\nNOT_STORED\r\nNOT_FOUND\r\n",
    )
    advance(1)
    assert _get(conn, b"e1", b"e2", b"e0", b"month") == {b"e1", b"e0", b"month"}


@pytest.mark.slow
def test_touch_and_gat_change_exptime(server, conn, advance) -> None:
    server.align()
    conn.request(
        b"set {k}t 0 1 1\r\nx\r\nset {k}g 0 1 1\r\nx\r\nset {k}gs 0 1 1\r\nx\r\n"
        b"set {k}short 0 100 1\r\nx\r\nset {k}forever 0 1 1\r\nx\r\n",
        b"STORED\r\n" * 5,
    )
    conn.request(b"touch {k}t 2\r\n", b"TOUCHED\r\n")
    conn.request(b"gat 2 {k}g\r\n", b"VALUE {k}g 0 1\r\nx\r\nEND\r\n")
    conn.send(b"gats 2 {k}gs\r\n")
    conn.read_until(b"END\r\n")
    conn.request(b"touch {k}short 1\r\ntouch {k}forever 0\r\n", b"TOUCHED\r\nTOUCHED\r\n")
    advance(1)
    assert _get(conn, b"t", b"g", b"gs", b"short", b"forever") == {
        b"t",
        b"g",
        b"gs",
        b"forever",
    }
    advance(1)
    assert _get(conn, b"t", b"g", b"gs", b"forever") == {b"forever"}


@pytest.mark.slow
def test_flush_all_with_delay(server, conn, advance) -> None:
    """``flush_all N`` invalidates everything stored up to N-1 seconds later.

    memcached sets oldest_live = now + N - 1: so ``flush_all 1`` acts at once, ``flush_all 2``
    after one tick (taking items stored in between with it), and items stored after that live.
    """
    server.align()
    conn.request(b"set {k}a 0 0 1\r\nx\r\nflush_all 2\r\n", b"STORED\r\nOK\r\n")
    conn.request(b"set {k}b 0 0 1\r\nx\r\n", b"STORED\r\n")
    assert _get(conn, b"a", b"b") == {b"a", b"b"}
    advance(1)
    assert _get(conn, b"a", b"b") == set()
    advance(1)
    conn.request(b"set {k}c 0 0 1\r\nx\r\n", b"STORED\r\n")
    assert _get(conn, b"c") == {b"c"}
    conn.request(b"set {k}d 0 0 1\r\nx\r\nflush_all 1\r\n", b"STORED\r\nOK\r\n")
    assert _get(conn, b"c", b"d") == set()


def test_absolute_exptime(conn) -> None:
    """An exptime above 30 days (2592000 s) is a unix timestamp."""
    future = int(time.time()) + 3600
    conn.request(
        b"set {k}future 0 %d 1\r\nx\r\nset {k}past 0 2592001 1\r\nx\r\n"
        b"set {k}epoch1 0 %d 1\r\nx\r\n" % (future, int(time.time()) - 10),
        b"STORED\r\n" * 3,
    )
    assert _get(conn, b"future", b"past", b"epoch1") == {b"future"}
    conn.request(b"touch {k}future 2592001\r\n", b"TOUCHED\r\n")
    assert _get(conn, b"future") == set()
