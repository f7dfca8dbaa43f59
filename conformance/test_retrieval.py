"""get / gets / gat / gats: hits, misses, multi-key, the 2000-key line, bad keys."""

from __future__ import annotations

import re

import pytest

CASES = [
    # (id, setup, request, reply)
    ("get-miss", b"", b"get {k}none\r\n", b"END\r\n"),
    (
        "get-hit",
        b"set {k}a 5 0 3\r\nabc\r\n",
        b"get {k}a\r\n",
        b"VALUE {k}a 5 3\r\nabc\r\nEND\r\n",
    ),
    (
        "get-empty-value",
        b"set {k}a 0 0 0\r\n\r\n",
        b"get {k}a\r\n",
        b"VALUE {k}a 0 0\r\n\r\nEND\r\n",
    ),
    (
        "get-binary-value",
        b"set {k}a 0 0 6\r\n\r\n\x00\xff \n\r\n",
        b"get {k}a\r\n",
        b"VALUE {k}a 0 6\r\n\r\n\x00\xff \n\r\nEND\r\n",
    ),
    (
        "get-multi-order-and-duplicates",
        b"set {k}a 0 0 1\r\n1\r\nset {k}b 0 0 1\r\n2\r\n",
        b"get {k}b {k}none {k}a {k}b\r\n",
        b"VALUE {k}b 0 1\r\n2\r\nVALUE {k}a 0 1\r\n1\r\nVALUE {k}b 0 1\r\n2\r\nEND\r\n",
    ),
    (
        "get-extra-spaces",
        b"set {k}a 0 0 1\r\n1\r\n",
        b"get   {k}a   {k}a  \r\n",
        b"VALUE {k}a 0 1\r\n1\r\nVALUE {k}a 0 1\r\n1\r\nEND\r\n",
    ),
    ("get-no-key", b"", b"get\r\n", b"ERROR\r\n"),
    ("get-only-spaces", b"", b"get   \r\n", b"ERROR\r\n"),
    ("gets-no-key", b"", b"gets\r\n", b"ERROR\r\n"),
    ("gat-no-key", b"", b"gat\r\n", b"ERROR\r\n"),
    ("gat-exptime-only", b"", b"gat 0\r\n", b"END\r\n"),
    ("gats-exptime-only", b"", b"gats 0\r\n", b"END\r\n"),
    ("gat-bad-exptime", b"", b"gat x {k}a\r\n", b"CLIENT_ERROR invalid exptime argument\r\n"),
    ("gats-bad-exptime", b"", b"gats 1x {k}a\r\n", b"CLIENT_ERROR invalid exptime argument\r\n"),
    ("gat-miss", b"", b"gat 0 {k}none\r\n", b"END\r\n"),
    (
        "gat-hit",
        b"set {k}a 3 0 1\r\n1\r\n",
        b"gat 100 {k}a {k}none\r\n",
        b"VALUE {k}a 3 1\r\n1\r\nEND\r\n",
    ),
    # 'bget' is an ancient alias of get that memcached still accepts
    ("bget", b"set {k}a 0 0 1\r\n1\r\n", b"bget {k}a\r\n", b"VALUE {k}a 0 1\r\n1\r\nEND\r\n"),
    # the command name is case sensitive
    ("GET-uppercase", b"", b"GET {k}a\r\n", b"ERROR\r\n"),
    ("g-prefix-unknown", b"", b"gett {k}a\r\n", b"ERROR\r\n"),
    # a tab is part of a key, not a separator
    ("tab-in-key-miss", b"set {k}a 0 0 1\r\n1\r\n", b"get {k}a\t{k}a\r\n", b"END\r\n"),
    (
        "tab-in-key-stored",
        b"set {k}a\tb 0 0 1\r\n1\r\n",
        b"get {k}a\tb\r\n",
        b"VALUE {k}a\tb 0 1\r\n1\r\nEND\r\n",
    ),
    (
        "control-char-in-key",
        b"set {k}\x01\x7f 0 0 1\r\n1\r\n",
        b"get {k}\x01\x7f\r\n",
        b"VALUE {k}\x01\x7f 0 1\r\n1\r\nEND\r\n",
    ),
    (
        "utf8-key",
        "set {k}\u00e9 0 0 1\r\n1\r\n".encode(),
        "get {k}\u00e9\r\n".encode(),
        "VALUE {k}\u00e9 0 1\r\n1\r\nEND\r\n".encode(),
    ),
    # a lone CR inside the line belongs to the key
    ("cr-inside-key", b"set {k}a 0 0 1\r\n1\r\n", b"get {k}a\rx\r\n", b"END\r\n"),
]


def _setup(conn, setup: bytes) -> None:
    if setup:
        conn.send(setup)
        n = len(re.findall(rb"^(?:set|add) ", setup, flags=re.M))
        conn.expect(b"STORED\r\n" * n)


@pytest.mark.parametrize(
    ("setup", "request_", "reply"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_retrieval_table(conn, setup: bytes, request_: bytes, reply: bytes) -> None:
    _setup(conn, setup)
    conn.request(request_, reply)


def test_gets_returns_unique_cas(conn) -> None:
    conn.request(b"set {k}a 0 0 1\r\n1\r\nset {k}b 0 0 1\r\n2\r\n", b"STORED\r\nSTORED\r\n")
    conn.send(b"gets {k}a {k}b {k}none\r\n")
    reply = conn.k(conn.read_until(b"END\r\n"))
    m = re.fullmatch(rb"VALUE (\S+) 0 1 (\d+)\r\n1\r\nVALUE (\S+) 0 1 (\d+)\r\n2\r\nEND\r\n", reply)
    assert m, reply
    assert m[1] == conn.k(b"{k}a") and m[3] == conn.k(b"{k}b")
    assert 0 < int(m[2]) < int(m[4])
    # gats answers the same cas as gets
    conn.request(b"gats 0 {k}a\r\n", b"VALUE {k}a 0 1 " + m[2] + b"\r\n1\r\nEND\r\n")


def test_get_2000_keys_line_over_2048_bytes(conn) -> None:
    """get/gets are exempt from the 2048-byte line limit (memcached grows its buffer)."""
    conn.request(b"set {k}x 0 0 1\r\n1\r\n", b"STORED\r\n")
    keys = [b"{k}%d" % i for i in range(2000)]
    keys[1234] = b"{k}x"
    line = b"get " + b" ".join(keys) + b"\r\n"
    assert len(conn.k(line)) > 2048
    conn.send_split(line, 1000, 2100, 9000)  # several reads, no newline in the first 2048
    conn.expect(b"VALUE {k}x 0 1\r\n1\r\nEND\r\n")
    conn.send(b"gets " + b" ".join(keys[1230:]) + b"\r\n")
    reply = conn.read_until(b"END\r\n")
    assert re.fullmatch(rb"VALUE \S+ 0 1 \d+\r\n1\r\nEND\r\n", reply), reply


def test_get_over_2048_with_leading_spaces(conn) -> None:
    """Up to 100 leading spaces are skipped when memcached decides a long line is a get."""
    keys = b" ".join(b"{k}%d" % i for i in range(300))
    conn.send_split(b" " * 100 + b"get " + keys + b"\r\n", 2500)
    conn.expect(b"END\r\n")


def test_get_over_2048_too_many_leading_spaces_closes(conn) -> None:
    keys = b" ".join(b"{k}%d" % i for i in range(300))
    conn.send(b" " * 101 + b"get " + keys)  # no newline yet: the line is judged unterminated
    conn.assert_closed()


@pytest.mark.parametrize("cmd", [b"get", b"gets", b"gat 0", b"gats 0", b"bget"])
def test_too_long_key_fails_whole_multiget(conn, cmd: bytes) -> None:
    """A 251-byte key anywhere in the list: no VALUE lines at all, one CLIENT_ERROR, no END."""
    conn.request(b"set {k}a 0 0 1\r\n1\r\n", b"STORED\r\n")
    long_key = b"x" * 251
    conn.request(
        cmd + b" {k}a " + long_key + b" {k}a\r\n", b"CLIENT_ERROR bad command line format\r\n"
    )
    conn.request(cmd + b" " + long_key + b"\r\n", b"CLIENT_ERROR bad command line format\r\n")
    # the connection is fine afterwards
    conn.request(b"get {k}a\r\n", b"VALUE {k}a 0 1\r\n1\r\nEND\r\n")


def test_too_long_key_drops_pending_replies_of_the_same_read(conn) -> None:
    """memcached quirk: the failing get releases every reply still queued on the connection.

    Replies of earlier commands that arrived in the same read (not yet written) are discarded;
    a reply already sent is not affected.
    """
    conn.request(b"set {k}a 0 0 1\r\n1\r\n", b"STORED\r\n")
    conn.request(
        b"version\r\nget {k}a " + b"x" * 251 + b"\r\n", b"CLIENT_ERROR bad command line format\r\n"
    )
    conn.request(b"version\r\n", b"VERSION 1.6.18\r\n")


@pytest.mark.parametrize("cmd", [b"get", b"gets", b"gat 0", b"gats 0", b"bget", b"mn"])
def test_retrieval_and_mn_flush_pending_replies(conn, cmd: bytes) -> None:
    """A completed retrieval command (or mn) writes what is queued: a later failing get in the
    same read drops only the replies queued after it (found by test_differential.py)."""
    long_key = b"x" * 251
    conn.request(b"set {k}a 0 0 1\r\n1\r\n", b"STORED\r\n")
    reply = b"MN\r\n" if cmd == b"mn" else b"END\r\n"
    conn.request(
        b"version\r\n" + cmd + b" {k}none\r\nversion\r\nget {k}a " + long_key + b"\r\n",
        b"VERSION 1.6.18\r\n" + reply + b"CLIENT_ERROR bad command line format\r\n",
    )


def test_get_keys_of_250_bytes(conn) -> None:
    key = conn.k(b"{k}").ljust(250, b"z")
    conn.request(b"set " + key + b" 0 0 2\r\nhi\r\n", b"STORED\r\n")
    conn.request(
        b"get " + key + b" " + key + b"\r\n",
        (b"VALUE " + key + b" 0 2\r\nhi\r\n") * 2 + b"END\r\n",
    )
