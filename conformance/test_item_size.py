"""The item size limit (-I, default 1m): the exact boundary for short and 250-byte keys, with and
without flags; too-large values for every storage command (payload swallowed, old item kept
or, for set, removed); append/prepend past the cap; a 3 MB announced value; -I 2k."""

from __future__ import annotations

import pytest

TOO_LARGE = b"SERVER_ERROR object too large for cache\r\n"


# The item size cap, default -I 1m: a value of N bytes is stored iff
# N <= 1048576 - 59 - len(key) - (4 if flags else 0)
@pytest.mark.parametrize("flags", [0, 7])
@pytest.mark.parametrize("keylen", [1, 250])
def test_item_size_boundary(conn, flags: int, keylen: int) -> None:
    # a 1-byte key cannot carry the per-test prefix; the per-test flush_all covers it
    key = b"s" if keylen == 1 else conn.prefix.ljust(keylen, b"s")
    limit = 1048517 - keylen - (4 if flags else 0)
    ok = b"set %s %d 0 %d\r\n" % (key, flags, limit) + b"v" * limit + b"\r\n"
    conn.request(ok, b"STORED\r\n")
    conn.send(b"get %s\r\n" % key)
    assert len(conn.read_until(b"END\r\n")) > limit
    big = b"set %s %d 0 %d\r\n" % (key, flags, limit + 1) + b"v" * (limit + 1) + b"\r\n"
    # too large: the payload is swallowed and the old item removed
    conn.request(big + b"get %s\r\n" % key, TOO_LARGE + b"END\r\n")


@pytest.mark.parametrize("cmd", [b"add", b"replace", b"append", b"prepend", b"cas"])
def test_too_large_other_commands_keep_old_item(conn, cmd: bytes) -> None:
    n = 1048517
    extra = b" 1" if cmd == b"cas" else b""
    conn.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    conn.request(
        cmd + b" {k}a 0 0 %d%s\r\n" % (n, extra) + b"v" * n + b"\r\nget {k}a\r\n",
        TOO_LARGE + b"VALUE {k}a 0 1\r\nx\r\nEND\r\n",
    )


def test_append_past_the_cap_is_not_stored(conn) -> None:
    """Each piece fits, the result does not: NOT_STORED, the old value stays."""
    conn.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    limit = 1048517 - len(conn.k(b"{k}a"))
    conn.request(
        b"append {k}a 0 0 %d\r\n" % limit + b"v" * limit + b"\r\n"
        b"prepend {k}a 0 0 %d\r\n" % limit + b"v" * limit + b"\r\nget {k}a\r\n",
        b"NOT_STORED\r\nNOT_STORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    )
    conn.request(
        b"append {k}a 0 0 %d\r\n" % (limit - 1) + b"v" * (limit - 1) + b"\r\n", b"STORED\r\n"
    )


def test_huge_set_is_swallowed(conn) -> None:
    """3 MB announced: the SERVER_ERROR comes only once the payload has been swallowed."""
    n = 3_000_000
    conn.send(b"set {k}a 0 0 %d\r\n" % n + b"v" * 1000)
    conn.assert_nothing()
    conn.send(b"v" * (n - 1000) + b"\r\nversion\r\n")
    conn.expect(TOO_LARGE + b"VERSION 1.6.18\r\n")


@pytest.mark.server_flags("-I", "2k", "-o", "slab_chunk_max=2048")
@pytest.mark.parametrize("flags", [0, 1])
def test_item_size_boundary_with_small_I(conn, flags: int) -> None:
    """-I 2k (memcached also needs slab_chunk_max <= -I; -I below 1024 is refused at start)."""
    limit = 2048 - 59 - len(conn.k(b"{k}a")) - (4 if flags else 0)
    conn.request(b"set {k}a %d 0 %d\r\n" % (flags, limit) + b"v" * limit + b"\r\n", b"STORED\r\n")
    conn.request(
        b"set {k}a %d 0 %d\r\n" % (flags, limit + 1) + b"v" * (limit + 1) + b"\r\n", TOO_LARGE
    )
