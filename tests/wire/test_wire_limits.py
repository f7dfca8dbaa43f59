"""Limits: key length 250, the 2048-byte line limit, the item size cap (default and -I 2k)."""

from __future__ import annotations

import pytest

BAD_FORMAT = b"CLIENT_ERROR bad command line format\r\n"
TOO_LARGE = b"SERVER_ERROR object too large for cache\r\n"

# Every command that takes a key, with a 251-byte key: (id, command, reply)
LONG = b"L" * 251
LONG_KEY_CASES = [
    ("get", b"get " + LONG + b"\r\n", BAD_FORMAT),
    ("gets", b"gets " + LONG + b"\r\n", BAD_FORMAT),
    ("gat", b"gat 0 " + LONG + b"\r\n", BAD_FORMAT),
    ("gats", b"gats 0 " + LONG + b"\r\n", BAD_FORMAT),
    ("set", b"set " + LONG + b" 0 0 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("add", b"add " + LONG + b" 0 0 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("replace", b"replace " + LONG + b" 0 0 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("append", b"append " + LONG + b" 0 0 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("prepend", b"prepend " + LONG + b" 0 0 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("cas", b"cas " + LONG + b" 0 0 1 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("set-noreply", b"set " + LONG + b" 0 0 1 noreply\r\nx\r\n", b"ERROR\r\n"),
    ("incr", b"incr " + LONG + b" 1\r\n", BAD_FORMAT),
    ("decr", b"decr " + LONG + b" 1\r\n", BAD_FORMAT),
    ("delete", b"delete " + LONG + b"\r\n", BAD_FORMAT),
    ("delete-noreply", b"delete " + LONG + b" noreply\r\n", b""),
    ("touch", b"touch " + LONG + b" 0\r\n", BAD_FORMAT),
]


@pytest.mark.parametrize(
    ("request_", "reply"), [c[1:] for c in LONG_KEY_CASES], ids=[c[0] for c in LONG_KEY_CASES]
)
def test_key_of_251_bytes(conn, request_: bytes, reply: bytes) -> None:
    conn.request(request_, reply)
    conn.request(b"version\r\n", b"VERSION 1.6.18\r\n")


def test_key_of_250_bytes_everywhere(conn) -> None:
    key = conn.k(b"{k}").ljust(250, b"K")
    conn.request(
        b"set %s 0 0 1\r\n1\r\nadd %s 0 0 1\r\n1\r\nappend %s 0 0 1\r\n2\r\nincr %s 1\r\n"
        b"touch %s 0\r\ngat 0 %s\r\ndelete %s\r\n" % ((key,) * 7),
        b"STORED\r\nNOT_STORED\r\nSTORED\r\n13\r\nTOUCHED\r\n"
        b"VALUE %s 0 2\r\n13\r\nEND\r\nDELETED\r\n" % key,
    )


def test_line_of_2048_bytes_without_newline_waits(conn) -> None:
    conn.send(b"x" * 2048)
    conn.assert_nothing()
    conn.request(b"\r\n", b"ERROR\r\n")


def test_line_over_2048_bytes_without_newline_closes(server, conn) -> None:
    """Nothing is sent before the close; a neighbour connection and the data are unaffected."""
    neighbour = server.connect()
    neighbour.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    conn.send(b"x" * 2049)
    conn.assert_closed()
    neighbour.request(b"get {k}a\r\n", b"VALUE {k}a 0 1\r\nx\r\nEND\r\n")


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b"set {k}a 0 0 1" + b" " * 3000, id="set-with-padding"),
        pytest.param(b"version " + b"v" * 3000, id="version-junk"),
        pytest.param(b"gat 0 " + b"{k}a " * 600, id="gat-is-not-exempt"),
        pytest.param(b"  get " + b"x" * 3000, id="get-after-two-spaces"),
    ],
)
def test_long_unterminated_lines(conn, line: bytes) -> None:
    conn.send(line)
    if b"get " in line:
        conn.assert_nothing()  # a get line may grow without limit
        conn.request(b"\r\n", BAD_FORMAT)  # ... but its 3000-byte key is too long
    else:
        conn.assert_closed()


def test_long_line_with_newline_in_the_same_read_is_processed(conn) -> None:
    """The limit only applies while no newline has arrived: 3000 bytes + CRLF in one send."""
    conn.request(b"x" * 3000 + b"\r\n", b"ERROR\r\n")


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
