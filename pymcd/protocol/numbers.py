"""memcached's number parsing (util.c safe_strtoul / safe_strtol / safe_strtoull), exactly.

memcached parses with C's strtoul/strtol/strtoull and then checks what follows. The quirks a
client can observe, all reproduced here:
- leading whitespace and a ``+`` or ``-`` sign are accepted; trailing whitespace too;
- unsigned parsing negates a ``-`` number modulo 2**64 and only rejects it when the result
  looks negative as a signed 64-bit number (so ``-1`` fails but ``-0`` is 0);
- ``safe_strtoul`` stores into a uint32: values wrap at 2**32 (flags 4294967297 become 1);
- ``safe_strtol`` stores into an int32 without a range check: exptime 2147483648 wraps to
  -2147483648 (already expired) and 4294967296 to 0 (never expires);
- anything beyond the 64-bit range is ERANGE, i.e. invalid.
Each function returns ``None`` for invalid input.
"""

from __future__ import annotations

_SPACE = b" \t\n\v\f\r"
_U64 = 1 << 64
_I64_MAX = (1 << 63) - 1


def _c_parse(token: bytes) -> tuple[int, bool, bytes] | None:
    """strto*l's scan: (magnitude, negative, rest) or None when no digits were read."""
    text = token.lstrip(_SPACE)
    negative = False
    if text[:1] in (b"+", b"-"):
        negative = text[:1] == b"-"
        text = text[1:]
    end = 0
    while end < len(text) and 48 <= text[end] <= 57:
        end += 1
    if end == 0:
        return None
    rest = text[end:]
    if rest and rest[0] not in _SPACE:
        return None
    return int(text[:end]), negative, rest


def _unsigned64(token: bytes) -> int | None:
    parsed = _c_parse(token)
    if parsed is None:
        return None
    magnitude, negative, _ = parsed
    if magnitude >= _U64:
        return None  # ERANGE
    value = (-magnitude) % _U64 if negative else magnitude
    if value > _I64_MAX and negative:
        return None  # "only check for negative signs in the uncommon case ..."
    return value


def strtoull(token: bytes) -> int | None:
    """memcached's safe_strtoull: a uint64 (cas uniques, incr/decr deltas)."""
    if token.isdigit() and len(token) < 20:
        return int(token)
    return _unsigned64(token)


def strtoul(token: bytes) -> int | None:
    """memcached's safe_strtoul: a uint32 that wraps (flags, verbosity, cache_memlimit)."""
    if token.isdigit() and len(token) < 10:
        return int(token)
    value = _unsigned64(token)
    return None if value is None else value & 0xFFFFFFFF


def strtol(token: bytes) -> int | None:
    """memcached's safe_strtol: an int32 that wraps (exptimes, data lengths, flush delays)."""
    if token.isdigit() and len(token) < 10:
        return int(token)
    parsed = _c_parse(token)
    if parsed is None:
        return None
    magnitude, negative, _ = parsed
    value = -magnitude if negative else magnitude
    if not -(1 << 63) <= value <= _I64_MAX:
        return None  # ERANGE
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value
