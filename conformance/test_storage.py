"""set / add / replace / append / prepend: results, number parsing, bad data chunks."""

from __future__ import annotations

import pytest

BAD_FORMAT = b"CLIENT_ERROR bad command line format\r\n"

# Each row: (id, request, reply). After a rejected command line memcached reads the data line
# as the next command, which answers ERROR.
CASES = [
    ("set", b"set {k}a 0 0 1\r\nx\r\nget {k}a\r\n", b"STORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n"),
    (
        "set-overwrites",
        b"set {k}a 1 0 1\r\nx\r\nset {k}a 2 0 2\r\nyy\r\nget {k}a\r\n",
        b"STORED\r\nSTORED\r\nVALUE {k}a 2 2\r\nyy\r\nEND\r\n",
    ),
    (
        "add-new-then-existing",
        b"add {k}a 0 0 1\r\nx\r\nadd {k}a 0 0 1\r\ny\r\nget {k}a\r\n",
        b"STORED\r\nNOT_STORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    ),
    (
        "replace-missing-then-existing",
        b"replace {k}a 0 0 1\r\nx\r\nset {k}a 0 0 1\r\nx\r\nreplace {k}a 7 0 1\r\ny\r\n"
        b"get {k}a\r\n",
        b"NOT_STORED\r\nSTORED\r\nSTORED\r\nVALUE {k}a 7 1\r\ny\r\nEND\r\n",
    ),
    (
        "append-prepend-missing",
        b"append {k}a 0 0 1\r\nx\r\nprepend {k}a 0 0 1\r\nx\r\nget {k}a\r\n",
        b"NOT_STORED\r\nNOT_STORED\r\nEND\r\n",
    ),
    (
        "append-prepend-keep-flags",
        b"set {k}a 5 0 2\r\nbc\r\nappend {k}a 9 0 2\r\nde\r\nprepend {k}a 9 0 1\r\na\r\n"
        b"get {k}a\r\n",
        b"STORED\r\nSTORED\r\nSTORED\r\nVALUE {k}a 5 5\r\nabcde\r\nEND\r\n",
    ),
    (
        "append-empty",
        b"set {k}a 0 0 1\r\nx\r\nappend {k}a 0 0 0\r\n\r\nget {k}a\r\n",
        b"STORED\r\nSTORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    ),
    # flags: a 32-bit unsigned, parsed with strtoul and truncated to 32 bits
    (
        "flags-max",
        b"set {k}a 4294967295 0 1\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 4294967295 1\r\nx\r\nEND\r\n",
    ),
    (
        "flags-2^32-wraps-to-0",
        b"set {k}a 4294967296 0 1\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    ),
    (
        "flags-2^32+1-wraps-to-1",
        b"set {k}a 4294967297 0 1\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 1 1\r\nx\r\nEND\r\n",
    ),
    (
        "flags-2^64-1-truncated",
        b"set {k}a 18446744073709551615 0 1\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 4294967295 1\r\nx\r\nEND\r\n",
    ),
    ("flags-2^64", b"set {k}a 18446744073709551616 0 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    (
        "flags-plus",
        b"set {k}a +5 0 1\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 5 1\r\nx\r\nEND\r\n",
    ),
    (
        "flags-leading-zeros",
        b"set {k}a 007 0 1\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 7 1\r\nx\r\nEND\r\n",
    ),
    ("flags-minus-one", b"set {k}a -1 0 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    (
        "flags-minus-zero",
        b"set {k}a -0 0 1\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    ),
    ("flags-alpha", b"set {k}a x 0 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("flags-trailing-junk", b"set {k}a 1a 0 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("flags-hex", b"set {k}a 0x1 0 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    # exptime: strtol into 32 bits
    (
        "exptime-plus",
        b"set {k}a 0 +100 1\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    ),
    ("exptime-negative-is-expired", b"set {k}a 0 -1 1\r\nx\r\nget {k}a\r\n", b"STORED\r\nEND\r\n"),
    (
        "exptime-2^31-is-negative",
        b"set {k}a 0 2147483648 1\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nEND\r\n",
    ),
    (
        "exptime-2^32-is-zero",
        b"set {k}a 0 4294967296 1\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    ),
    ("exptime-2^63", b"set {k}a 0 9223372036854775808 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("exptime-alpha", b"set {k}a 0 x 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("exptime-trailing-junk", b"set {k}a 0 1a 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    # bytes: strtol into 32 bits, then 0 <= n <= INT_MAX - 2
    (
        "bytes-plus",
        b"set {k}a 0 0 +1\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    ),
    ("bytes-leading-zero", b"set {k}a 0 0 01\r\nx\r\n", b"STORED\r\n"),
    ("bytes-negative", b"set {k}a 0 0 -1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("bytes-alpha", b"set {k}a 0 0 x\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("bytes-trailing-junk", b"set {k}a 0 0 1a\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("bytes-int-max", b"set {k}a 0 0 2147483647\r\n", BAD_FORMAT),
    ("bytes-2^31", b"set {k}a 0 0 2147483648\r\n", BAD_FORMAT),
    ("bytes-2^64-1", b"set {k}a 0 0 18446744073709551615\r\n", BAD_FORMAT),
    # 2^32 + 1 truncates to a length of 1
    (
        "bytes-2^32+1-is-1",
        b"set {k}a 0 0 4294967297\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    ),
    # 2^32 truncates to 0: "x\r\n" is not "\r\n"
    (
        "bytes-2^32-is-0",
        b"set {k}a 0 0 4294967296\r\nx\r\n",
        b"CLIENT_ERROR bad data chunk\r\nERROR\r\n",
    ),
    # token counts: set wants exactly 5 or 6 tokens
    ("set-too-few", b"set {k}a 0 0\r\n", b"ERROR\r\n"),
    ("set-no-args", b"set\r\n", b"ERROR\r\n"),
    ("set-too-many", b"set {k}a 0 0 1 noreply extra\r\nx\r\n", b"ERROR\r\nERROR\r\n"),
    ("set-way-too-many", b"set {k}a 0 0 1 2 3 4 5 6 7 8\r\nx\r\n", b"ERROR\r\nERROR\r\n"),
    # a sixth token that is not "noreply" is ignored
    ("set-junk-sixth-token", b"set {k}a 0 0 1 junk\r\nx\r\n", b"STORED\r\n"),
    ("set-trailing-space", b"set {k}a 0 0 1 \r\nx\r\n", b"STORED\r\n"),
    (
        "set-double-spaces",
        b"set  {k}a  0  0  1\r\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    ),
    ("add-too-few", b"add {k}a 0\r\n", b"ERROR\r\n"),
    ("replace-bad-flags", b"replace {k}a x 0 1\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("append-bad-bytes", b"append {k}a 0 0 -5\r\nx\r\n", BAD_FORMAT + b"ERROR\r\n"),
    ("prepend-too-many", b"prepend {k}a 0 0 1 x y\r\nx\r\n", b"ERROR\r\nERROR\r\n"),
    ("Set-uppercase", b"SET {k}a 0 0 1\r\nx\r\n", b"ERROR\r\nERROR\r\n"),
    # a bare LF ends the command line (the data block still needs CRLF)
    (
        "set-line-ends-with-lf",
        b"set {k}a 0 0 1\nx\r\nget {k}a\r\n",
        b"STORED\r\nVALUE {k}a 0 1\r\nx\r\nEND\r\n",
    ),
]


@pytest.mark.parametrize(("request_", "reply"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_storage_table(conn, request_: bytes, reply: bytes) -> None:
    conn.request(request_, reply)
    conn.request(b"version\r\n", b"VERSION 1.6.18\r\n")


# Bad data chunks: memcached reads exactly <bytes>+2 bytes; if they do not end in CRLF it
# answers CLIENT_ERROR bad data chunk, keeps the old value, and parses whatever follows as
# commands.
BAD_CHUNKS = [
    # "abc" + "de" consumed; "\r\n" is an empty command line -> ERROR
    ("too-long", b"set {k}a 0 0 3\r\nabcde\r\n", b"CLIENT_ERROR bad data chunk\r\nERROR\r\n"),
    # "abcd\r" consumed; "\n" is an empty command line -> ERROR
    ("one-too-long", b"set {k}a 0 0 3\r\nabcd\r\n", b"CLIENT_ERROR bad data chunk\r\nERROR\r\n"),
    # "abc\ng" consumed; "et {k}a" is an unknown command
    (
        "bare-lf-terminator",
        b"set {k}a 0 0 3\r\nabc\nget {k}a\r\n",
        b"CLIENT_ERROR bad data chunk\r\nERROR\r\n",
    ),
    # "a\nge" consumed
    (
        "short-with-lf",
        b"set {k}a 0 0 1\r\na\nget {k}a\r\n",
        b"CLIENT_ERROR bad data chunk\r\nERROR\r\n",
    ),
    ("cr-cr", b"set {k}a 0 0 1\r\na\r\r\n", b"CLIENT_ERROR bad data chunk\r\nERROR\r\n"),
]


@pytest.mark.parametrize(
    ("request_", "reply"), [c[1:] for c in BAD_CHUNKS], ids=[c[0] for c in BAD_CHUNKS]
)
def test_bad_data_chunk(conn, request_: bytes, reply: bytes) -> None:
    conn.request(b"set {k}a 0 0 3\r\nold\r\n", b"STORED\r\n")
    conn.request(request_, reply)
    conn.request(b"get {k}a\r\n", b"VALUE {k}a 0 3\r\nold\r\nEND\r\n")


def test_bad_data_chunk_then_valid_command(conn) -> None:
    conn.request(
        b"set {k}a 0 0 3\r\nabcd\r\nget {k}a\r\n",
        b"CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n",
    )


def test_data_block_waits_for_all_bytes(conn) -> None:
    conn.send(b"set {k}a 0 0 10\r\n01234")
    conn.assert_nothing()
    conn.send(b"56789\r\n")
    conn.expect(b"STORED\r\n")


def test_data_block_may_contain_crlf_and_command_text(conn) -> None:
    value = b"get x\r\nset y 0 0 1\r\n"
    conn.request(b"set {k}a 0 0 %d\r\n" % len(value) + value + b"\r\n", b"STORED\r\n")
    conn.request(b"get {k}a\r\n", b"VALUE {k}a 0 %d\r\n" % len(value) + value + b"\r\nEND\r\n")
