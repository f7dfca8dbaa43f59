"""The commands the text parser produces: slotted, keyword-only dataclasses.

But for :class:`Store` and :class:`GetRun`, which the parser's hot path builds per line: they
take their fields positionally too, because a keyword call costs twice as much (0.42 against
0.21 us for a ``Store``, measured). Everywhere else they are built with keywords as well.

Commands are values: nothing assigns to a field once a command is made. They are not declared
frozen because a frozen dataclass sets each field through ``object.__setattr__`` on every
construction, which made a ``set`` command cost 1.3 us to build instead of 0.3 (measured), and
the pipelined hot path builds one per line.

Every field is already validated and converted (numbers parsed the way memcached parses them),
so the dispatcher never sees raw tokens. Malformed input does not raise: it becomes a
:class:`Reply` carrying memcached's exact error line, so pipelined replies stay in order.
``noreply`` is carried on each command that accepts it; the dispatcher drops the reply.
"""

from __future__ import annotations

import dataclasses

from pymcd.results import StoreMode


@dataclasses.dataclass(slots=True, kw_only=True)
class Get:
    """get / gets / bget.

    ``key_too_long``: the key after ``keys`` exceeded 250 bytes. memcached looks up the keys
    before it (counting them in stats), then discards those hits and answers
    ``CLIENT_ERROR bad command line format``.
    """

    keys: list[bytes]
    with_cas: bool = False
    key_too_long: bool = False


@dataclasses.dataclass(slots=True)
class GetRun:
    """Consecutive ``get <key>`` lines of one read (one or more), each answered on its own:
    the replies are those of ``Get(keys=[key])`` for each key in turn.

    Why: the pipelined hot path. One command for the run spares a command object and a
    dispatch per line; :func:`unfold` gives back the single gets for code that wants them.
    """

    keys: list[bytes]

    def unfold(self) -> list[Get]:
        return [Get(keys=[key]) for key in self.keys]


def unfold(commands: list[Command]) -> list[Command]:
    """``commands`` with every :class:`GetRun` replaced by its single gets (one per line)."""
    if not any(type(command) is GetRun for command in commands):
        return commands
    out: list[Command] = []
    for command in commands:
        if type(command) is GetRun:
            out.extend(command.unfold())
        else:
            out.append(command)
    return out


@dataclasses.dataclass(slots=True, kw_only=True)
class GetAndTouch:
    """gat / gats: ``exptime`` is the raw protocol value (negative means already expired)."""

    exptime: int
    keys: list[bytes]
    with_cas: bool = False
    key_too_long: bool = False


@dataclasses.dataclass(slots=True)
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


@dataclasses.dataclass(slots=True, kw_only=True)
class StoreTooLarge:
    """A storage command whose declared length alone exceeds -I: its data is swallowed unread."""

    mode: StoreMode
    key: bytes
    noreply: bool = False


@dataclasses.dataclass(slots=True, kw_only=True)
class Delete:
    key: bytes
    noreply: bool = False


@dataclasses.dataclass(slots=True, kw_only=True)
class Arithmetic:
    """incr / decr: ``delta`` is a uint64."""

    key: bytes
    delta: int
    incr: bool
    noreply: bool = False


@dataclasses.dataclass(slots=True, kw_only=True)
class Touch:
    key: bytes
    exptime: int
    noreply: bool = False


@dataclasses.dataclass(slots=True, kw_only=True)
class FlushAll:
    """``bad_delay``: the delay was not a number (checked after -F, as memcached does)."""

    delay: int = 0
    noreply: bool = False
    bad_delay: bool = False


@dataclasses.dataclass(slots=True, kw_only=True)
class Version:
    pass


@dataclasses.dataclass(slots=True, kw_only=True)
class Verbosity:
    level: int
    noreply: bool = False


@dataclasses.dataclass(slots=True, kw_only=True)
class Quit:
    pass


@dataclasses.dataclass(slots=True, kw_only=True)
class Shutdown:
    """``valid`` is False for an unknown mode (checked after -A, as memcached does)."""

    graceful: bool = False
    valid: bool = True


@dataclasses.dataclass(slots=True, kw_only=True)
class CacheMemlimit:
    megabytes: int
    noreply: bool = False


@dataclasses.dataclass(slots=True, kw_only=True)
class Stats:
    """stats [subcommand [args…]]: ``args`` are the raw tokens after ``stats``."""

    args: tuple[bytes, ...] = ()


@dataclasses.dataclass(slots=True, kw_only=True)
class DebugTime:
    """pymcd's opt-in ``debugtime <seconds>``: memcached debug builds' clock control."""

    seconds: int


@dataclasses.dataclass(slots=True, kw_only=True)
class Admin:
    """lru_crawler / slabs / lru / watch / extstore: raw tokens, run by :mod:`pymcd.admin`."""

    tokens: tuple[bytes, ...]
    ntokens: int  # memcached's token count, terminal token included (capped at 24)


# -- meta commands (pymcd.protocol.meta parses them) -----------------------------------------
#
# ``key`` is the key as stored (base64-decoded when ``key_binary``); ``flags`` are the raw flag
# tokens after the key (after the data length for ms) in the client's order, because memcached
# renders a meta reply by walking them in that order. TTLs are raw protocol values, ``None``
# when the flag was absent. ``quiet`` is the q flag.


@dataclasses.dataclass(slots=True, kw_only=True)
class MetaGet:
    """mg. ``locked``: h, l, T, N or R was given, so the LRU bump waits until the reply is
    made (memcached fetches the item locked and bumps it afterwards)."""

    key: bytes
    key_binary: bool
    flags: tuple[bytes, ...]
    value: bool
    no_update: bool
    locked: bool
    quiet: bool
    ttl: int | None
    vivify_ttl: int | None
    recache_ttl: int | None


@dataclasses.dataclass(slots=True, kw_only=True)
class MetaSet:
    """ms with its data block. ``mode`` already folds a C cas into CAS mode for set/replace.

    ``too_large``: the declared length alone exceeds -I (the block was swallowed unread).
    """

    key: bytes
    key_binary: bool
    flags: tuple[bytes, ...]
    mode: StoreMode
    client_flags: int
    ttl: int
    cas: int
    invalidate: bool
    quiet: bool
    data: bytes = b""
    bad_chunk: bool = False
    too_large: bool = False


@dataclasses.dataclass(slots=True, kw_only=True)
class MetaDelete:
    """md. ``cas`` is None without C; ``invalidate`` (I) marks the item stale instead."""

    key: bytes
    key_binary: bool
    flags: tuple[bytes, ...]
    cas: int | None
    invalidate: bool
    ttl: int | None
    quiet: bool


@dataclasses.dataclass(slots=True, kw_only=True)
class MetaArithmetic:
    """ma. ``cas`` 0 means no check (as C0 does in memcached)."""

    key: bytes
    key_binary: bool
    flags: tuple[bytes, ...]
    incr: bool
    delta: int
    initial: int
    vivify_ttl: int | None
    ttl: int | None
    cas: int
    quiet: bool
    value: bool


@dataclasses.dataclass(slots=True, kw_only=True)
class MetaDebug:
    """me: the item's internals as one ``ME`` line."""

    key: bytes


@dataclasses.dataclass(slots=True, kw_only=True)
class Reply:
    """A command answered by the protocol layer alone: an error, or a fixed answer.

    ``data`` is the complete reply (with CRLF), empty when noreply suppressed it.
    """

    data: bytes


@dataclasses.dataclass(slots=True, kw_only=True)
class Flush:
    """The replies queued so far count as written: memcached sends them once a data block that
    needed more reads is complete (it read that block straight from the socket, so nothing
    after it is buffered yet). Follows the command of that block."""


@dataclasses.dataclass(slots=True, kw_only=True)
class Close:
    """Unrecoverable input (a line too long, an HTTP request): drop this read's replies, close."""

    reason: str


Command = (
    Get
    | GetRun
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
    | MetaGet
    | MetaSet
    | MetaDelete
    | MetaArithmetic
    | MetaDebug
    | Reply
    | Flush
    | Close
)
