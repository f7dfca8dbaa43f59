"""memcached's safe_strto* quirks, each checked against real memcached in conformance."""

import pytest

from pymcd.protocol.numbers import strtol, strtoul, strtoull


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (b"0", 0),
        (b"007", 7),
        (b"+5", 5),
        (b"-0", 0),
        (b"4294967295", 4294967295),
        (b"4294967296", 0),  # stored into a uint32: wraps
        (b"4294967297", 1),
        (b"-1", None),  # looks negative as int64 and has a minus sign
        (b"-9223372036854775809", 0xFFFFFFFF),  # negated modulo 2**64 into int64 range: allowed
        (b"18446744073709551615", 0xFFFFFFFF),
        (b"18446744073709551616", None),  # ERANGE
        (b"5\t", 5),  # trailing whitespace is fine
        (b"\t5", 5),  # so is leading whitespace
        (b"5a", None),
        (b"0x10", None),
        (b"", None),
        (b"-", None),
        (b"abc", None),
    ],
)
def test_strtoul(token: bytes, expected: int | None) -> None:
    assert strtoul(token) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (b"0", 0),
        (b"-1", -1),
        (b"+10", 10),
        (b"2147483647", 2147483647),
        (b"2147483648", -2147483648),  # int32 wrap: an exptime that is already past
        (b"4294967296", 0),  # wraps to 0: never expires
        (b"9223372036854775807", -1),
        (b"9223372036854775808", None),  # ERANGE for long
        (b"-9223372036854775808", 0),
        (b"1.5", None),
        (b"", None),
    ],
)
def test_strtol(token: bytes, expected: int | None) -> None:
    assert strtol(token) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (b"1", 1),
        (b"18446744073709551615", 2**64 - 1),
        (b"18446744073709551616", None),
        (b"-1", None),
        (b"-9223372036854775809", 2**63 - 1),
        (b"12 ", 12),
        (b"1x", None),
    ],
)
def test_strtoull(token: bytes, expected: int | None) -> None:
    assert strtoull(token) == expected
