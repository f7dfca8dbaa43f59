"""noreply: every command that takes it stays silent on success and on most errors."""

from __future__ import annotations

import pytest

# (id, setup, command with noreply, state afterwards checked with get {k}a)
CASES = [
    ("set", b"", b"set {k}a 0 0 1 noreply\r\ny\r\n", b"y"),
    ("add-stored", b"", b"add {k}a 0 0 1 noreply\r\ny\r\n", b"y"),
    ("add-not-stored", b"x", b"add {k}a 0 0 1 noreply\r\ny\r\n", b"x"),
    ("replace-stored", b"x", b"replace {k}a 0 0 1 noreply\r\ny\r\n", b"y"),
    ("replace-not-stored", b"", b"replace {k}a 0 0 1 noreply\r\ny\r\n", None),
    ("append", b"x", b"append {k}a 0 0 1 noreply\r\ny\r\n", b"xy"),
    ("prepend", b"x", b"prepend {k}a 0 0 1 noreply\r\ny\r\n", b"yx"),
    ("cas-not-found", b"", b"cas {k}a 0 0 1 1 noreply\r\ny\r\n", None),
    ("incr", b"1", b"incr {k}a 5 noreply\r\n", b"6"),
    ("decr", b"9", b"decr {k}a 5 noreply\r\n", b"4"),
    ("incr-not-found", b"", b"incr {k}a 5 noreply\r\n", None),
    ("incr-non-numeric", b"x", b"incr {k}a 5 noreply\r\n", b"x"),
    ("incr-bad-delta", b"1", b"incr {k}a x noreply\r\n", b"1"),
    ("delete", b"x", b"delete {k}a noreply\r\n", None),
    ("delete-not-found", b"", b"delete {k}a noreply\r\n", None),
    ("touch", b"x", b"touch {k}a 0 noreply\r\n", b"x"),
    ("flush_all", b"x", b"flush_all noreply\r\n", None),
    ("verbosity", b"x", b"verbosity 0 noreply\r\n", b"x"),
    # the CLIENT_ERROR is suppressed, but the data line is then parsed as a command
    ("set-bad-flags", b"x", b"set {k}a x 0 1 noreply\r\ny\r\n", b"x"),
    ("set-bad-chunk", b"x", b"set {k}a 0 0 1 noreply\r\nyy\r\n", b"x"),
    ("set-too-large", b"x", b"set {k}a 0 0 2000000 noreply\r\n" + b"y" * 2000000 + b"\r\n", None),
]
# replies that noreply does not suppress: the following data line read as a command
LEAKS = {"set-bad-flags": b"ERROR\r\n", "set-bad-chunk": b"ERROR\r\n"}


@pytest.mark.parametrize(("case", "setup", "command", "after"), CASES, ids=[c[0] for c in CASES])
def test_noreply_table(conn, case: str, setup: bytes, command: bytes, after) -> None:
    if setup:
        conn.request(b"set {k}a 0 0 %d\r\n%s\r\n" % (len(setup), setup), b"STORED\r\n")
    conn.send(command)
    conn.expect(LEAKS.get(case, b""))
    expected = (
        b"END\r\n"
        if after is None
        else b"VALUE {k}a 0 %d\r\n%s\r\nEND\r\n"
        % (
            len(after),
            after,
        )
    )
    conn.request(b"get {k}a\r\n", expected)


def test_noreply_is_exact_token(conn) -> None:
    """Only the exact word, in the last position, counts; NOREPLY is an ignored junk token."""
    conn.request(b"set {k}a 0 0 1 NOREPLY\r\nx\r\n", b"STORED\r\n")
    conn.request(b"set {k}a 0 0 1 noreplyx\r\nx\r\n", b"STORED\r\n")


def test_many_noreply_then_one_reply(conn) -> None:
    conn.send(b"".join(b"set {k}%d 0 0 1 noreply\r\n%d\r\n" % (i, i % 10) for i in range(200)))
    conn.request(b"get {k}0 {k}199\r\n", b"VALUE {k}0 0 1\r\n0\r\nVALUE {k}199 0 1\r\n9\r\nEND\r\n")
