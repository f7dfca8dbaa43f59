"""The commands the text parser produces: frozen, slotted, keyword-only dataclasses.

Every field is already validated and converted (numbers parsed the way memcached parses them),
so the dispatcher never sees raw tokens. Malformed input does not raise: it becomes a
:class:`Reply` carrying memcached's exact error line, so pipelined replies stay in order.
``noreply`` is carried on each command that accepts it; the dispatcher drops the reply.
"""

from __future__ import annotations

import dataclasses

from pymcd.results import StoreMode


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Get:
    """get / gets / bget.

    ``key_too_long``: the key after ``keys`` exceeded 250 bytes. memcached looks up the keys
    before it (counting them in stats), then discards those hits and answers
    ``CLIENT_ERROR bad command line format``.
    """

    keys: list[bytes]
    with_cas: bool = False
    key_too_long: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class GetAndTouch:
    """gat / gats: ``exptime`` is the raw protocol value (negative means already expired)."""

    exptime: int
    keys: list[bytes]
    with_cas: bool = False
    key_too_long: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Store:
    """set / add / replace / append / prepend / cas with its data block (``data`` ends in CRLF).

    ``bad_chunk`` is set when the block was not followed by CRLF: memcached still tries the
    allocation first (so a too-large item answers SERVER_ERROR), otherwise it answers
    ``CLIENT_ERROR bad data chunk``.
    """

    mode: StoreMode
    key: bytes
    flags: int
    exptime: int
    data: bytes
    cas_unique: int = 0
    noreply: bool = False
    bad_chunk: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StoreTooLarge:
    """A storage command whose declared length alone exceeds -I: its data is swallowed unread."""

    mode: StoreMode
    key: bytes
    noreply: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Delete:
    key: bytes
    noreply: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Arithmetic:
    """incr / decr: ``delta`` is a uint64."""

    key: bytes
    delta: int
    incr: bool
    noreply: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Touch:
    key: bytes
    exptime: int
    noreply: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FlushAll:
    """``bad_delay``: the delay was not a number (checked after -F, as memcached does)."""

    delay: int = 0
    noreply: bool = False
    bad_delay: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Version:
    pass


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Verbosity:
    level: int
    noreply: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Quit:
    pass


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Shutdown:
    """``valid`` is False for an unknown mode (checked after -A, as memcached does)."""

    graceful: bool = False
    valid: bool = True


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CacheMemlimit:
    megabytes: int
    noreply: bool = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    """stats [subcommand [args…]]: ``args`` are the raw tokens after ``stats``."""

    args: tuple[bytes, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DebugTime:
    """pymcd's opt-in ``debugtime <seconds>``: memcached debug builds' clock control."""

    seconds: int


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Admin:
    """lru_crawler / slabs / lru / watch / extstore: raw tokens, run by :mod:`pymcd.admin`."""

    tokens: tuple[bytes, ...]
    ntokens: int  # memcached's token count, terminal token included (capped at 24)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """A command answered by the protocol layer alone: an error, or a fixed answer.

    ``data`` is the complete reply (with CRLF), empty when noreply suppressed it.
    """

    data: bytes


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Close:
    """Unrecoverable input (a line too long, an HTTP request): drop this read's replies, close."""

    reason: str


Command = (
    Get
    | GetAndTouch
    | Store
    | StoreTooLarge
    | Delete
    | Arithmetic
    | Touch
    | FlushAll
    | Version
    | Verbosity
    | Quit
    | Shutdown
    | CacheMemlimit
    | Stats
    | DebugTime
    | Admin
    | Reply
    | Close
)
