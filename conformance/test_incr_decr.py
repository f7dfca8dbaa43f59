"""incr / decr: 64-bit arithmetic, wrap and floor, padding, parsing, errors."""

from __future__ import annotations

import pytest

NON_NUMERIC = b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
BAD_DELTA = b"CLIENT_ERROR invalid numeric delta argument\r\n"

# (id, stored value, command (without key), reply, value afterwards or None for unchanged)
CASES = [
    ("incr", b"5", b"incr {k}n 1", b"6\r\n", b"6"),
    ("decr", b"5", b"decr {k}n 2", b"3\r\n", b"3"),
    ("incr-grows-length", b"99", b"incr {k}n 1", b"100\r\n", b"100"),
    # decr keeps the length and pads with spaces
    ("decr-pads-with-spaces", b"100", b"decr {k}n 1", b"99\r\n", b"99 "),
    ("incr-on-zero-padded-value", b"007", b"incr {k}n 1", b"8\r\n", b"8  "),
    (
        "incr-wraps-at-2^64",
        b"18446744073709551615",
        b"incr {k}n 1",
        b"0\r\n",
        b"0                   ",
    ),
    ("incr-wraps-by-2", b"18446744073709551615", b"incr {k}n 2", b"1\r\n", b"1                   "),
    ("decr-floors-at-0", b"5", b"decr {k}n 10", b"0\r\n", b"0"),
    ("decr-zero", b"0", b"decr {k}n 1", b"0\r\n", b"0"),
    ("incr-max-delta", b"1", b"incr {k}n 18446744073709551615", b"0\r\n", b"0"),
    ("delta-plus", b"1", b"incr {k}n +1", b"2\r\n", b"2"),
    ("delta-leading-zero", b"1", b"incr {k}n 01", b"2\r\n", b"2"),
    ("delta-zero", b"7", b"incr {k}n 0", b"7\r\n", b"7"),
    # the stored value: strtoull accepts leading spaces and a "+" sign, ignores trailing spaces
    ("value-leading-space", b" 5", b"incr {k}n 1", b"6\r\n", b"6 "),
    ("value-trailing-space", b"5 ", b"incr {k}n 1", b"6\r\n", b"6 "),
    ("value-plus-sign", b"+5", b"incr {k}n 1", b"6\r\n", b"6 "),
    ("value-negative", b"-5", b"incr {k}n 1", NON_NUMERIC, None),
    ("value-alpha", b"x", b"incr {k}n 1", NON_NUMERIC, None),
    ("value-trailing-junk", b"1a", b"incr {k}n 1", NON_NUMERIC, None),
    ("value-empty", b"", b"incr {k}n 1", NON_NUMERIC, None),
    ("value-2^64", b"18446744073709551616", b"decr {k}n 1", NON_NUMERIC, None),
    ("delta-alpha", b"5", b"incr {k}n x", BAD_DELTA, None),
    ("delta-negative", b"5", b"incr {k}n -1", BAD_DELTA, None),
    ("delta-2^64", b"5", b"decr {k}n 18446744073709551616", BAD_DELTA, None),
    ("delta-trailing-junk", b"5", b"decr {k}n 1x", BAD_DELTA, None),
    # a third argument that is not noreply is ignored
    ("extra-token-ignored", b"5", b"incr {k}n 1 2", b"6\r\n", b"6"),
    ("too-many-tokens", b"5", b"incr {k}n 1 noreply 2", b"ERROR\r\n", None),
    ("no-delta", b"5", b"incr {k}n", b"ERROR\r\n", None),
    ("decr-no-delta", b"5", b"decr {k}n", b"ERROR\r\n", None),
    ("noreply", b"5", b"incr {k}n 3 noreply", b"", b"8"),
    ("decr-noreply", b"5", b"decr {k}n 3 noreply", b"", b"2"),
    ("noreply-error-suppressed", b"x", b"incr {k}n 1 noreply", b"", None),
]


@pytest.mark.parametrize(
    ("value", "command", "reply", "after"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_incr_decr_table(conn, value: bytes, command: bytes, reply: bytes, after) -> None:
    conn.request(b"set {k}n 3 0 %d\r\n%s\r\n" % (len(value), value), b"STORED\r\n")
    conn.request(command + b"\r\n", reply)
    after = value if after is None else after
    conn.request(b"get {k}n\r\n", b"VALUE {k}n 3 %d\r\n%s\r\nEND\r\n" % (len(after), after))


@pytest.mark.parametrize("cmd", [b"incr", b"decr"])
def test_missing_key(conn, cmd: bytes) -> None:
    conn.request(cmd + b" {k}none 1\r\n", b"NOT_FOUND\r\n")
    conn.request(cmd + b" {k}none 1 noreply\r\nversion\r\n", b"VERSION 1.6.18\r\n")
    # the delta is checked before the key is looked up
    conn.request(cmd + b" {k}none x\r\n", BAD_DELTA)


def test_incr_length_growth_then_get(conn) -> None:
    conn.request(b"set {k}n 0 0 1\r\n9\r\n", b"STORED\r\n")
    conn.request(b"incr {k}n 18446744073709551600\r\n", b"18446744073709551609\r\n")
    conn.request(b"get {k}n\r\n", b"VALUE {k}n 0 20\r\n18446744073709551609\r\nEND\r\n")
