"""delete: hit, miss, the legacy time argument, noreply, token counts."""

from __future__ import annotations

import pytest

USAGE = b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"

# (id, request, reply, item still there afterwards?)
CASES = [
    ("hit", b"delete {k}a\r\n", b"DELETED\r\n", False),
    ("legacy-zero", b"delete {k}a 0\r\n", b"DELETED\r\n", False),
    ("noreply", b"delete {k}a noreply\r\n", b"", False),
    ("legacy-zero-noreply", b"delete {k}a 0 noreply\r\n", b"", False),
    ("trailing-space", b"delete {k}a \r\n", b"DELETED\r\n", False),
    ("legacy-nonzero", b"delete {k}a 1\r\n", USAGE, True),
    ("legacy-double-zero", b"delete {k}a 00\r\n", USAGE, True),
    ("junk-arg", b"delete {k}a x\r\n", USAGE, True),
    ("two-args", b"delete {k}a 0 0\r\n", USAGE, True),
    # noreply also hides the usage error
    ("legacy-nonzero-noreply", b"delete {k}a 1 noreply\r\n", b"", True),
    ("too-many-tokens", b"delete {k}a 0 noreply x\r\n", b"ERROR\r\n", True),
    ("no-key", b"delete\r\n", b"ERROR\r\n", True),
    ("Delete-uppercase", b"DELETE {k}a\r\n", b"ERROR\r\n", True),
]


@pytest.mark.parametrize(
    ("request_", "reply", "kept"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_delete_table(conn, request_: bytes, reply: bytes, kept: bool) -> None:
    conn.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    conn.request(request_, reply)
    conn.request(b"get {k}a\r\n", b"VALUE {k}a 0 1\r\nx\r\nEND\r\n" if kept else b"END\r\n")


def test_delete_missing(conn) -> None:
    conn.request(b"delete {k}none\r\n", b"NOT_FOUND\r\n")
    conn.request(b"delete {k}none 0\r\n", b"NOT_FOUND\r\n")
    conn.request(b"delete {k}none noreply\r\nversion\r\n", b"VERSION 1.6.18\r\n")


def test_delete_then_add(conn) -> None:
    conn.request(
        b"set {k}a 0 0 1\r\nx\r\ndelete {k}a\r\ndelete {k}a\r\nadd {k}a 0 0 1\r\ny\r\n",
        b"STORED\r\nDELETED\r\nNOT_FOUND\r\nSTORED\r\n",
    )
