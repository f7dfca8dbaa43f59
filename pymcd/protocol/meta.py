"""memcached 1.6.18's meta commands (mg, ms, md, ma, me) as parser functions.

Each ``parse_*`` takes the line's tokens (command first, empty tokens removed) and memcached's
``ntokens`` (the terminal token included) and returns a command of
:mod:`pymcd.protocol.commands`, an error :class:`Reply`, or for ``ms`` a :class:`DataFollows`
telling the text parser what to do with the data block. The checks run in the order of
``proto_text.c`` so that a line with several faults gets memcached's error. Errors that
memcached only finds while it renders a reply (an opaque over 32 bytes in mg and ma) are left
to the dispatcher, after the side effects that precede them.

Quirks kept on purpose (they are memcached's):
- The 250-byte key limit applies to the key as sent, before base64 decoding.
- base64 keys are decoded by memcached's own decoder: characters outside the alphabet are
  skipped, decoding stops at the first padded block, and an empty result is an error.
- ``me`` ignores every token but the key and a ``b`` right after it.
"""

from __future__ import annotations

import base64
import dataclasses
from typing import Final

from pymcd.config import KEY_MAX_LENGTH
from pymcd.protocol import responses as R
from pymcd.protocol.commands import (
    Command,
    MetaArithmetic,
    MetaDebug,
    MetaDelete,
    MetaGet,
    MetaSet,
    Reply,
)
from pymcd.protocol.numbers import strtol, strtoul, strtoull
from pymcd.results import StoreMode

MAX_TOKENS_WITH_FLAGS = 20  # MFLAG_MAX_OPT_LENGTH: ntokens above this is refused
MAX_OPAQUE_LENGTH = 32  # MFLAG_MAX_OPAQUE_LENGTH, the O token including its letter
INT_MAX = 0x7FFFFFFF

_ERROR: Final = Reply(data=R.ERROR)
_BAD_FORMAT: Final = Reply(data=R.BAD_FORMAT)

_SET_MODES: Final = {
    0: StoreMode.SET,
    ord("E"): StoreMode.ADD,
    ord("A"): StoreMode.APPEND,
    ord("P"): StoreMode.PREPEND,
    ord("R"): StoreMode.REPLACE,
    ord("S"): StoreMode.SET,
}
_INCR_MODES: Final = {0: True, ord("I"): True, ord("+"): True, ord("D"): False, ord("-"): False}


@dataclasses.dataclass(frozen=True, slots=True)
class DataFollows:
    """An ms line: ``size`` bytes (the value and its CRLF) follow it.

    ``swallow``: discard them; ``command`` is then the error to answer or a ``MetaSet`` with
    ``too_large``, answered once the block is gone. Otherwise the block becomes ``command``'s
    data.
    """

    command: MetaSet | Reply
    size: int
    swallow: bool


class _Flags:
    """memcached's ``struct _meta_flags``: what ``_meta_flag_preparse`` learned."""

    __slots__ = (
        "cas",
        "client_flags",
        "delta",
        "error",
        "initial",
        "invalidate",
        "key",
        "key_binary",
        "locked",
        "mode",
        "no_update",
        "quiet",
        "recache_ttl",
        "ttl",
        "value",
        "vivify_ttl",
    )

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.key_binary = False
        self.error: bytes | None = None  # set: the command fails with this line
        self.locked = self.value = self.no_update = self.quiet = self.invalidate = False
        self.mode = 0
        self.ttl: int | None = None
        self.vivify_ttl: int | None = None
        self.recache_ttl: int | None = None
        self.client_flags = 0
        self.cas: int | None = None
        self.delta = 1
        self.initial = 0


def _preparse(tokens: list[bytes], start: int) -> _Flags:
    """``_meta_flag_preparse``: check every flag token from ``start`` on.

    An unknown or repeated flag stops at once; other faults are noted and parsing goes on,
    the last fault's message winning (a bad F keeps the generic message).
    """
    flags = _Flags(tokens[1])
    seen: set[int] = set()
    failed = False
    message = R.BAD_FORMAT
    for token in tokens[start:]:
        letter = token[0]
        if letter >= 127 or letter in seen:
            flags.error = R.META_DUPLICATE_FLAG
            return flags
        seen.add(letter)
        argument = token[1:]
        if letter == 98:  # b
            decoded = decode_key(flags.key)
            if decoded is None:
                message, failed = R.META_KEY_DECODE, True
                decoded = b""
            flags.key = decoded
            flags.key_binary = True
        elif letter in _TTL_FLAGS:  # N, T, R
            flags.locked = True
            ttl = strtol(argument)
            if ttl is None:
                message, failed = R.META_BAD_TOKEN, True
            elif letter == 78:
                flags.vivify_ttl = ttl
            elif letter == 84:
                flags.ttl = ttl
            else:
                flags.recache_ttl = ttl
        elif letter == 108 or letter == 104:  # l, h: the bump waits for the reply
            flags.locked = True
        elif letter == 118:  # v
            flags.value = True
        elif letter == 117:  # u
            flags.no_update = True
        elif letter == 113:  # q
            flags.quiet = True
        elif letter == 70:  # F
            client_flags = strtoul(argument)
            if client_flags is None:
                failed = True
            else:
                flags.client_flags = client_flags
        elif letter == 67:  # C
            cas = strtoull(argument)
            if cas is None:
                message, failed = R.META_BAD_TOKEN, True
            else:
                flags.cas = cas
        elif letter == 77:  # M
            if len(token) != 2:
                message, failed = R.META_M_LENGTH, True
            else:
                flags.mode = token[1]
        elif letter == 74 or letter == 68:  # J, D
            number = strtoull(argument)
            if number is None:
                message = R.META_BAD_INITIAL if letter == 74 else R.META_BAD_DELTA
                failed = True
            elif letter == 74:
                flags.initial = number
            else:
                flags.delta = number
        elif letter == 73:  # I
            flags.invalidate = True
        elif letter not in _INERT_FLAGS:
            flags.error = R.META_INVALID_FLAG
            return flags
    if failed:
        flags.error = message
    return flags


_TTL_FLAGS: Final = frozenset(b"NTR")
_INERT_FLAGS: Final = frozenset(b"OPLkstcf")  # known; only the reply looks at them


def _opaque_too_long(flag_tokens: list[bytes]) -> bool:
    return any(t[0] == 79 and len(t) > MAX_OPAQUE_LENGTH for t in flag_tokens)


def _common_checks(tokens: list[bytes], ntokens: int, too_many: bytes) -> Reply | None:
    if ntokens < 3:
        return _ERROR
    if len(tokens[1]) > KEY_MAX_LENGTH:
        return _BAD_FORMAT
    if ntokens > MAX_TOKENS_WITH_FLAGS:
        return Reply(data=too_many)
    return None


def parse_mg(tokens: list[bytes], ntokens: int) -> Command:
    refused = _common_checks(tokens, ntokens, R.META_FLAGS_TOO_LONG_MG)
    if refused is not None:
        return refused
    flags = _preparse(tokens, 2)
    if flags.error is not None:
        return Reply(data=flags.error)
    return MetaGet(
        key=flags.key,
        key_binary=flags.key_binary,
        flags=tuple(tokens[2:]),
        value=flags.value,
        no_update=flags.no_update,
        locked=flags.locked,
        quiet=flags.quiet,
        ttl=flags.ttl,
        vivify_ttl=flags.vivify_ttl,
        recache_ttl=flags.recache_ttl,
    )


def parse_ms(tokens: list[bytes], ntokens: int, item_size_max: int) -> Command | DataFollows:
    if ntokens < 3:
        return _ERROR
    if len(tokens[1]) > KEY_MAX_LENGTH or ntokens == 3:
        return _BAD_FORMAT
    if ntokens > MAX_TOKENS_WITH_FLAGS:
        return Reply(data=R.META_FLAGS_TOO_LONG)
    length = strtol(tokens[2])
    if length is None or length < 0 or length > INT_MAX - 2:
        return _BAD_FORMAT
    size = length + 2
    flags = _preparse(tokens, 3)
    error = flags.error
    if error is None:
        mode = _SET_MODES.get(flags.mode)
        if mode is None:
            error = R.META_SET_BAD_MODE
        elif _opaque_too_long(tokens[2:]):
            error = R.META_OPAQUE_TOO_LONG
    if error is not None:
        return DataFollows(Reply(data=error), size, swallow=True)
    assert mode is not None
    if flags.cas is not None and (mode is StoreMode.SET or mode is StoreMode.REPLACE):
        mode = StoreMode.CAS
    command = MetaSet(
        key=flags.key,
        key_binary=flags.key_binary,
        flags=tuple(tokens[3:]),
        mode=mode,
        client_flags=flags.client_flags,
        ttl=flags.ttl or 0,
        cas=flags.cas or 0,
        invalidate=flags.invalidate and mode is StoreMode.CAS,
        quiet=flags.quiet,
        too_large=length > item_size_max,
    )
    return DataFollows(command, size, swallow=command.too_large)


def parse_md(tokens: list[bytes], ntokens: int) -> Command:
    refused = _common_checks(tokens, ntokens, R.META_FLAGS_TOO_LONG)
    if refused is not None:
        return refused
    flags = _preparse(tokens, 2)
    if flags.error is not None:
        return Reply(data=R.META_INVALID_OR_DUPLICATE)
    if _opaque_too_long(tokens[2:]):
        return Reply(data=R.META_OPAQUE_TOO_LONG)
    return MetaDelete(
        key=flags.key,
        key_binary=flags.key_binary,
        flags=tuple(tokens[2:]),
        cas=flags.cas,
        invalidate=flags.invalidate,
        ttl=flags.ttl,
        quiet=flags.quiet,
    )


def parse_ma(tokens: list[bytes], ntokens: int) -> Command:
    refused = _common_checks(tokens, ntokens, R.META_FLAGS_TOO_LONG)
    if refused is not None:
        return refused
    flags = _preparse(tokens, 2)
    if flags.error is not None:
        return Reply(data=R.META_INVALID_OR_DUPLICATE)
    incr = _INCR_MODES.get(flags.mode)
    if incr is None:
        return Reply(data=R.META_ARITHMETIC_BAD_MODE)
    return MetaArithmetic(
        key=flags.key,
        key_binary=flags.key_binary,
        flags=tuple(tokens[2:]),
        incr=incr,
        delta=flags.delta,
        initial=flags.initial,
        vivify_ttl=flags.vivify_ttl,
        ttl=flags.ttl,
        cas=flags.cas or 0,
        quiet=flags.quiet,
        value=flags.value,
    )


def parse_me(tokens: list[bytes], ntokens: int) -> Command:
    if ntokens < 3 or len(tokens[1]) > KEY_MAX_LENGTH:
        return _BAD_FORMAT
    key = tokens[1]
    if ntokens >= 4 and tokens[2] == b"b":
        decoded = decode_key(key)
        if decoded is None:
            return _BAD_FORMAT
        key = decoded
    return MetaDebug(key=key)


# -- base64, exactly as memcached's base64.c -----------------------------------------------

_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_DECODE: Final = {c: i for i, c in enumerate(_ALPHABET)} | {ord("="): 0}


def decode_key(text: bytes) -> bytes | None:
    """memcached's ``base64_decode``; None where it returns 0 (an error, or nothing decoded)."""
    table = _DECODE
    count = sum(1 for c in text if c in table)
    if count == 0 or count % 4:
        return None
    out = bytearray()
    block: list[int] = []
    pad = 0
    for c in text:
        value = table.get(c)
        if value is None:
            continue
        if c == 61:  # '='
            pad += 1
        block.append(value)
        if len(block) == 4:
            a, b, c2, d = block
            out += bytes(((a << 2 | b >> 4) & 255, (b << 4 | c2 >> 2) & 255, (c2 << 6 | d) & 255))
            block.clear()
            if pad:
                if pad > 2:
                    return None  # invalid padding
                del out[-pad:]
                break
    return bytes(out) or None


def encode_key(key: bytes) -> bytes:
    """memcached's ``base64_encode`` (standard base64 with padding)."""
    return base64.b64encode(key)
