"""Bogus input: unknown commands, empty lines, separators, HTTP requests, binary junk."""

from __future__ import annotations

import pytest

CASES = [
    ("unknown", b"foo\r\n", b"ERROR\r\n"),
    ("unknown-with-args", b"foo bar baz\r\n", b"ERROR\r\n"),
    ("empty-line", b"\r\n", b"ERROR\r\n"),
    ("bare-lf", b"\n", b"ERROR\r\n"),
    ("only-spaces", b"   \r\n", b"ERROR\r\n"),
    ("one-char-command", b"g\r\n", b"ERROR\r\n"),
    ("leading-spaces-ok", b"   version\r\n", b"VERSION 1.6.18\r\n"),
    ("trailing-space-ok", b"version \r\n", b"VERSION 1.6.18\r\n"),
    ("lf-only-terminator", b"version\n", b"VERSION 1.6.18\r\n"),
    # only one CR before the LF is stripped; the other is part of the token
    ("cr-cr-lf", b"version\r\r\n", b"ERROR\r\n"),
    # a tab is not a separator
    ("tab-separator", b"version\t\r\n", b"ERROR\r\n"),
    ("tab-before-key", b"get\t{k}a\r\n", b"ERROR\r\n"),
    ("nul-byte", b"ver\x00sion\r\n", b"ERROR\r\n"),
    ("high-bytes", b"\xff\xfe\xfd\r\n", b"ERROR\r\n"),
    # tokens after a known command's arguments are often ignored
    ("version-args-ignored", b"version x y\r\n", b"VERSION 1.6.18\r\n"),
    ("VERSION-uppercase", b"VERSION\r\n", b"ERROR\r\n"),
    # binary protocol magic byte: memcached -B auto takes 0x80 as binary; we only check ascii
    ("meta-unknown-mz", b"mz\r\n", b"ERROR\r\n"),
    ("m-alone", b"m\r\n", b"ERROR\r\n"),
    ("meta-noop", b"mn\r\n", b"MN\r\n"),
    ("meta-noop-args", b"mn x\r\n", b"MN\r\n"),
    # HTTP/ as last token closes only for unknown commands: known ones parse normally
    ("get-HTTP-key", b"get HTTP/1.1\r\n", b"END\r\n"),
    ("lowercase-get-slash", b"get / HTTP/1.1\r\n", b"END\r\n"),
    ("HTTP-inside-token", b"foo xHTTP/1.1\r\n", b"ERROR\r\n"),
]


@pytest.mark.parametrize(("request_", "reply"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bogus_table(conn, request_: bytes, reply: bytes) -> None:
    conn.request(request_, reply)
    conn.request(b"version\r\n", b"VERSION 1.6.18\r\n")


@pytest.mark.parametrize(
    "line",
    [
        b"GET / HTTP/1.1\r\n",
        b"GET / HTTP/1.0\r\n",
        b"POST /x HTTP/2\r\n",
        b"HEAD / HTTP/1.1 \r\n",
        b"HTTP/1.1\r\n",
        b"foo HTTP/\n",
    ],
)
def test_http_request_line_closes(server, conn, line: bytes) -> None:
    """An unknown command whose last token starts with "HTTP/": closed, nothing sent."""
    neighbour = server.connect()
    neighbour.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    conn.request(b"version\r\n", b"VERSION 1.6.18\r\n")
    conn.send(line + b"Host: x\r\n\r\n")
    conn.assert_closed()
    neighbour.request(b"get {k}a\r\n", b"VALUE {k}a 0 1\r\nx\r\nEND\r\n")


def test_http_drops_replies_of_the_same_read(conn) -> None:
    """memcached quirk: replies still queued from the same read are lost with the close."""
    conn.send(b"version\r\nGET / HTTP/1.1\r\nversion\r\n")
    conn.assert_closed()


def test_http_keeps_replies_flushed_by_a_get(conn) -> None:
    """memcached writes what is queued after each retrieval command and after mn."""
    conn.send(b"get {k}a\r\nversion\r\nmn\r\nversion\r\nGET / HTTP/1.1\r\n")
    conn.expect(b"END\r\nVERSION 1.6.18\r\nMN\r\n")
    conn.assert_closed()


def test_errors_do_not_break_the_connection(conn) -> None:
    conn.request(
        b"foo\r\n\r\nset {k}a x 0 1\r\nx\r\nget\r\nset {k}a 0 0 1\r\nx\r\nget {k}a\r\n",
        b"ERROR\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nERROR\r\nERROR\r\n"
        b"STORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    )


def test_many_tokens(conn) -> None:
    """memcached tokenises at most 24 tokens per pass; get keeps going, others see junk."""
    keys = b" ".join(b"{k}%d" % i for i in range(100))
    conn.request(b"set {k}99 0 0 1\r\nx\r\n", b"STORED\r\n")
    conn.request(b"get " + keys + b"\r\n", b"VALUE {k}99 0 1\r\nx\r\nEND\r\n")
    conn.request(b"delete {k}99 " + keys + b"\r\n", b"ERROR\r\n")
    conn.request(b"version " + keys + b"\r\n", b"VERSION 1.6.18\r\n")
