"""cas: EXISTS / NOT_FOUND / STORED, unique parsing, noreply, and -C (cas disabled)."""

from __future__ import annotations

import re

import pytest

BAD_FORMAT = b"CLIENT_ERROR bad command line format\r\n"


def _gets_unique(conn, key: bytes = b"{k}a") -> int:
    conn.send(b"gets " + key + b"\r\n")
    reply = conn.read_until(b"END\r\n")
    m = re.match(rb"VALUE \S+ \d+ \d+ (\d+)\r\n", reply)
    assert m, reply
    return int(m[1])


def test_cas_success_and_stale(conn) -> None:
    conn.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    unique = _gets_unique(conn)
    conn.request(b"cas {k}a 3 0 1 %d\r\ny\r\n" % unique, b"STORED\r\n")
    conn.request(b"cas {k}a 0 0 1 %d\r\nz\r\n" % unique, b"EXISTS\r\n")
    conn.request(b"get {k}a\r\n", b"VALUE {k}a 3 1\r\ny\r\nEND\r\n")
    assert _gets_unique(conn) > unique


def test_cas_missing_key(conn) -> None:
    conn.request(b"cas {k}none 0 0 1 1\r\nx\r\n", b"NOT_FOUND\r\n")


def test_every_write_changes_the_unique(conn) -> None:
    conn.request(b"set {k}a 0 0 1\r\n1\r\n", b"STORED\r\n")
    seen = [_gets_unique(conn)]
    for cmd, reply in [
        (b"append {k}a 0 0 1\r\n2\r\n", b"STORED\r\n"),
        (b"prepend {k}a 0 0 1\r\n3\r\n", b"STORED\r\n"),
        (b"incr {k}a 1\r\n", b"313\r\n"),
        (b"decr {k}a 1\r\n", b"312\r\n"),
        (b"replace {k}a 0 0 1\r\n4\r\n", b"STORED\r\n"),
    ]:
        conn.request(cmd, reply)
        seen.append(_gets_unique(conn))
    assert seen == sorted(set(seen)), seen
    # touch does not change it
    conn.request(b"touch {k}a 0\r\n", b"TOUCHED\r\n")
    assert _gets_unique(conn) == seen[-1]


CASES = [
    ("unique-alpha", b"cas {k}a 0 0 1 x\r\ny\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("unique-negative", b"cas {k}a 0 0 1 -1\r\ny\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("unique-2^64", b"cas {k}a 0 0 1 18446744073709551616\r\ny\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("unique-2^64-1", b"cas {k}a 0 0 1 18446744073709551615\r\ny\r\n", b"EXISTS\r\n"),
    ("unique-trailing-junk", b"cas {k}a 0 0 1 5x\r\ny\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("unique-missing", b"cas {k}a 0 0 1\r\ny\r\n", b"ERROR\r\nERROR\r\n"),
    ("too-many-tokens", b"cas {k}a 0 0 1 1 noreply x\r\ny\r\n", b"ERROR\r\nERROR\r\n"),
    ("bad-flags", b"cas {k}a x 0 1 1\r\ny\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("bad-bytes", b"cas {k}a 0 0 -1 1\r\ny\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("noreply-exists", b"cas {k}a 0 0 1 1 noreply\r\ny\r\n", b""),
    ("noreply-not-found", b"cas {k}none 0 0 1 1 noreply\r\ny\r\n", b""),
    ("bad-chunk", b"cas {k}a 0 0 1 1\r\nyy\r\n", b"CLIENT_ERROR bad data chunk\r\nERROR\r\n"),
]


@pytest.mark.parametrize(("request_", "reply"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cas_table(conn, request_: bytes, reply: bytes) -> None:
    conn.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    conn.request(request_ + b"get {k}a\r\n", reply + b"VALUE {k}a 0 1\r\nx\r\nEND\r\n")


def test_cas_noreply_success(conn) -> None:
    conn.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    unique = _gets_unique(conn)
    conn.request(
        b"cas {k}a 0 0 1 %d noreply\r\ny\r\nget {k}a\r\n" % unique,
        b"VALUE {k}a 0 1\r\ny\r\nEND\r\n",
    )


@pytest.mark.server_flags("-C")
def test_cas_disabled(conn) -> None:
    """With -C every unique is 0 and every cas answers EXISTS, even with unique 0."""
    conn.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    conn.request(b"gets {k}a\r\n", b"VALUE {k}a 0 1 0\r\nx\r\nEND\r\n")
    conn.request(b"cas {k}a 0 0 1 0\r\ny\r\n", b"EXISTS\r\n")
    conn.request(b"cas {k}a 0 0 1 1\r\ny\r\n", b"EXISTS\r\n")
    conn.request(b"cas {k}none 0 0 1 0\r\ny\r\n", b"NOT_FOUND\r\n")
    conn.request(b"gats 0 {k}a\r\n", b"VALUE {k}a 0 1 0\r\nx\r\nEND\r\n")
