"""touch / gat / gats: replies and argument errors (expiry effects are in test_wire_expiry)."""

from __future__ import annotations

import pytest

CASES = [
    ("touch-hit", b"touch {k}a 100\r\n", b"TOUCHED\r\n"),
    ("touch-miss", b"touch {k}none 100\r\n", b"NOT_FOUND\r\n"),
    ("touch-noreply", b"touch {k}a 100 noreply\r\n", b""),
    ("touch-miss-noreply", b"touch {k}none 100 noreply\r\n", b""),
    ("touch-bad-exptime", b"touch {k}a x\r\n", b"CLIENT_ERROR invalid exptime argument\r\n"),
    ("touch-exptime-junk", b"touch {k}a 1x\r\n", b"CLIENT_ERROR invalid exptime argument\r\n"),
    ("touch-no-exptime", b"touch {k}a\r\n", b"ERROR\r\n"),
    ("touch-too-many", b"touch {k}a 0 1 2\r\n", b"ERROR\r\n"),
    ("touch-extra-token-ignored", b"touch {k}a 0 junk\r\n", b"TOUCHED\r\n"),
    ("gat", b"gat 100 {k}a\r\n", b"VALUE {k}a 9 1\r\nx\r\nEND\r\n"),
    (
        "gat-multi",
        b"gat 100 {k}a {k}none {k}a\r\n",
        b"VALUE {k}a 9 1\r\nx\r\nVALUE {k}a 9 1\r\nx\r\nEND\r\n",
    ),
    ("gat-plus-exptime", b"gat +100 {k}a\r\n", b"VALUE {k}a 9 1\r\nx\r\nEND\r\n"),
    ("gat-bad-exptime", b"gat - {k}a\r\n", b"CLIENT_ERROR invalid exptime argument\r\n"),
]


@pytest.mark.parametrize(("request_", "reply"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_touch_gat_table(conn, request_: bytes, reply: bytes) -> None:
    conn.request(b"set {k}a 9 0 1\r\nx\r\n", b"STORED\r\n")
    conn.request(request_, reply)
    conn.request(b"get {k}a\r\n", b"VALUE {k}a 9 1\r\nx\r\nEND\r\n")


@pytest.mark.parametrize("cmd", [b"touch {k}a -1\r\n", b"gat -1 {k}a\r\n", b"gats -1 {k}a\r\n"])
def test_negative_exptime_expires_now(conn, cmd: bytes) -> None:
    conn.request(b"set {k}a 0 0 1\r\nx\r\n", b"STORED\r\n")
    conn.send(cmd)
    conn.read_until(b"\r\n")  # TOUCHED, or the VALUE line (the value is still returned)
    if cmd.startswith(b"ga"):
        conn.read_until(b"END\r\n")
    conn.request(b"get {k}a\r\n", b"END\r\n")
    conn.request(b"touch {k}a 0\r\n", b"NOT_FOUND\r\n")
