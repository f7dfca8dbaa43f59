"""Key and line limits: keys of 250 bytes, not 251, for every command; the 2048-byte limit on an
unterminated line (get lines exempt), and long lines that do end in a newline."""

from __future__ import annotations

import pytest

BAD_FORMAT = b"CLIENT_ERROR bad command line format\r\n"

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
