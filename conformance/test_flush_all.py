"""flush_all: forms, argument errors, noreply, and its effect (the delayed form is in expiry)."""

from __future__ import annotations

import pytest

CASES = [
    ("plain", b"flush_all\r\n", b"OK\r\n"),
    ("zero", b"flush_all 0\r\n", b"OK\r\n"),
    # libmemcached sends a trailing space
    ("trailing-space", b"flush_all \r\n", b"OK\r\n"),
    ("noreply", b"flush_all noreply\r\n", b""),
    ("zero-noreply", b"flush_all 0 noreply\r\n", b""),
    ("negative", b"flush_all -1\r\n", b"OK\r\n"),
    # a second argument that is not noreply is ignored
    ("two-args", b"flush_all 0 junk\r\n", b"OK\r\n"),
    ("junk", b"flush_all junk\r\n", b"CLIENT_ERROR invalid exptime argument\r\n"),
    ("junk-noreply", b"flush_all junk noreply\r\n", b""),
    ("too-many", b"flush_all 0 noreply x\r\n", b"ERROR\r\n"),
]
EFFECTIVE = {"plain", "zero", "trailing-space", "noreply", "zero-noreply", "negative", "two-args"}


@pytest.mark.parametrize(("case", "request_", "reply"), CASES, ids=[c[0] for c in CASES])
def test_flush_all_table(conn, case: str, request_: bytes, reply: bytes) -> None:
    conn.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    conn.request(request_ + b"version\r\n", reply + b"VERSION 1.6.18\r\n")
    flushed = case in EFFECTIVE
    conn.request(b"get {k}a\r\n", b"END\r\n" if flushed else b"VALUE {k}a 0 1\r\nx\r\nEND\r\n")


def test_flush_all_then_store_again(conn) -> None:
    conn.request(
        b"set {k}a 0 0 1\r\nx\r\nset {k}b 0 0 1\r\ny\r\nflush_all\r\n"
        b"get {k}a {k}b\r\nadd {k}a 0 0 1\r\nz\r\nincr {k}b 1\r\nget {k}a\r\n",
        b"STORED\r\nSTORED\r\nOK\r\nEND\r\nSTORED\r\nNOT_FOUND\r\nVALUE {k}a 0 1\r\nz\r\nEND\r\n",
    )


@pytest.mark.server_flags("-F")
def test_flush_all_disabled(conn) -> None:
    conn.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    conn.request(b"flush_all\r\n", b"CLIENT_ERROR flush_all not allowed\r\n")
    conn.request(b"flush_all noreply\r\nversion\r\n", b"VERSION 1.6.18\r\n")
    conn.request(b"get {k}a\r\n", b"VALUE {k}a 0 1\r\nx\r\nEND\r\n")
