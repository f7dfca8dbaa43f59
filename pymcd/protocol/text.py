"""memcached's classic text protocol as a sans-IO parser (model: h11's receive_data/next_event).

Invariants:
- ``receive_data(b"")`` means EOF: the complete commands already buffered are still returned,
  then one ``Close("eof")``; a partial command at EOF is dropped, as memcached drops it.
- A line ends at LF; one CR before it is stripped (not when the line is a lone CR), and the
  command stops at a NUL byte, because memcached works on C strings.
- Tokens are separated by spaces only. After 23 tokens memcached stops splitting (MAX_TOKENS 24);
  get-family commands keep reading keys past that, every other command then has "too many
  tokens" and answers ERROR.
- Without a newline, more than 2048 buffered bytes close the connection unless the line is a
  get/gets (memcached lets multigets grow); a get line is capped at ``max_get_line`` bytes.
- A data block is exactly ``<bytes> + 2`` bytes; if its last two are not CRLF the command becomes
  a bad chunk and parsing resumes right after those bytes, exactly as memcached does. A block
  whose declared size alone exceeds -I is swallowed as it arrives, never buffered.
- The parser never raises on client input: errors become ``Reply`` commands in order.
- ``commands()`` gives consecutive ``get <key>`` lines as one ``GetRun`` (a lone one too);
  ``next_command()`` gives one ``Get`` per line. ``commands.unfold`` turns the first into the
  second, so both describe the same requests.
- Meta commands (``m`` plus one letter) are parsed by :mod:`pymcd.protocol.meta`; an ``ms``
  data block follows the same rules as a storage command's.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final

from pymcd.config import KEY_MAX_LENGTH, MAX_LINE_LENGTH
from pymcd.protocol import meta
from pymcd.protocol import responses as R
from pymcd.protocol.commands import (
    Admin,
    Arithmetic,
    CacheMemlimit,
    Close,
    Command,
    DebugTime,
    Delete,
    Flush,
    FlushAll,
    Get,
    GetAndTouch,
    GetRun,
    MetaSet,
    Quit,
    Reply,
    Shutdown,
    Stats,
    Store,
    StoreTooLarge,
    Touch,
    Verbosity,
    Version,
)
from pymcd.protocol.numbers import strtol, strtoul, strtoull
from pymcd.results import StoreMode


class _NeedData:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = _NeedData()
"""Returned by :meth:`TextParser.next_command` when no complete command is buffered."""

MAX_TOKENS = 24  # memcached's token array, including the terminal token
MAX_GET_LINE = 16 * 1024 * 1024  # memcached grows multiget lines without bound; we cap them

# Whole "get <key>" lines (the key: 1 to 250 bytes, no space, CR, LF or NUL; then CRLF or
# LF), so a run of them is read in C. Rarer get lines take the general path.
_PLAIN_KEY = rb"[^ \r\n\x00]{1,%d}" % KEY_MAX_LENGTH
_GET_LINE = rb"get (%s)\r?\n" % _PLAIN_KEY
_GET_RUN: Final = re.compile(rb"(?:%s)+" % _GET_LINE.replace(b"(", b"(?:", 1))
_GET_KEYS: Final = re.compile(_GET_LINE)
# The bytes a plain key cannot hold: one of each per whole "get <key>\r\n" line.
_NOT_IN_PLAIN_KEYS: Final = b" \r\n\x00"
# The most a cut of a get run (_crlf_get_keys) looks at; a longer run is read by _GET_RUN.
_SPLIT_RUN_MAX: Final = 64 * 1024
# A whole "set <key> <flags> <exptime> <bytes> [noreply]" line in its plain form: numbers of
# 1 to 9 decimal digits (none of strtol's quirks), the key as in a get line.
_PLAIN_SET: Final = re.compile(
    rb"set (%s) (\d{1,9}) (\d{1,9}) (\d{1,9})( noreply)?\r?\n" % _PLAIN_KEY
)
_ERROR: Final = Reply(data=R.ERROR)
_BAD_FORMAT: Final = Reply(data=R.BAD_FORMAT)
_SILENT: Final = Reply(data=b"")
_VERSION: Final = Version()
_QUIT: Final = Quit()
_FLUSH: Final = Flush()

_SET: Final = StoreMode.SET  # read per plain set: a module constant is the faster read
_STORAGE_MODES: Final = {
    b"set": StoreMode.SET,
    b"add": StoreMode.ADD,
    b"replace": StoreMode.REPLACE,
    b"append": StoreMode.APPEND,
    b"prepend": StoreMode.PREPEND,
    b"cas": StoreMode.CAS,
}


class _PendingStore:
    """A storage command line whose data block has not fully arrived yet."""

    __slots__ = ("cas_unique", "exptime", "flags", "key", "mode", "noreply", "size")

    def __init__(
        self,
        mode: StoreMode,
        key: bytes,
        flags: int,
        exptime: int,
        size: int,
        cas_unique: int,
        noreply: bool,
    ) -> None:
        self.mode = mode
        self.key = key
        self.flags = flags
        self.exptime = exptime
        self.size = size  # data length including the trailing CRLF
        self.cas_unique = cas_unique
        self.noreply = noreply


def _first_too_long(keys: list[bytes]) -> int:
    """Index of the first key over 250 bytes, or -1 (the common case, checked at C speed)."""
    if not keys or max(map(len, keys)) <= KEY_MAX_LENGTH:
        return -1
    return next(i for i, key in enumerate(keys) if len(key) > KEY_MAX_LENGTH)


def _crlf_get_keys(buf: bytes, start: int, stop: int) -> list[bytes] | None:
    """The keys of ``buf[start:stop]``, which starts with ``get `` and ends in LF, if it is
    whole ``get <key>\\r\\n`` lines with plain keys (what :data:`_GET_RUN` matches, minus LF-only
    line ends), else None.

    Half the cost of the regex (measured): cut the span of the keys at the separators; then,
    as each separator holds one space, CR and LF, the keys hold none (nor a NUL) iff deleting
    those bytes from the span removes exactly three per separator.
    """
    if buf[stop - 2] != 13:  # the last line ends in LF alone
        return None
    span = buf[start + 4 : stop - 2]
    keys = span.split(b"\r\nget ")
    separators = len(keys) - 1
    if (
        len(span.translate(None, _NOT_IN_PLAIN_KEYS)) != len(span) - 3 * separators
        or not all(keys)  # an empty key
        # the keys' total length bounds the longest
        or (len(span) - 6 * separators > KEY_MAX_LENGTH and max(map(len, keys)) > KEY_MAX_LENGTH)
    ):
        return None
    return keys


def _reply(data: bytes, noreply: bool) -> Reply:
    """An error or answer, suppressed by noreply exactly where memcached's out_string is."""
    return _SILENT if noreply else Reply(data=data)


class TextParser:
    """Turns a byte stream into :mod:`pymcd.protocol.commands` objects.

    Feed bytes with :meth:`receive_data`, then call :meth:`next_command` (or :meth:`commands`
    for everything complete) until it returns ``NEED_DATA``. After a ``Close`` command the
    parser returns ``NEED_DATA`` forever.
    """

    __slots__ = (
        "_block_waited",
        "_buf",
        "_chunks",
        "_chunks_size",
        "_closed",
        "_eof",
        "_pending",
        "_pos",
        "_queued",
        "_search_from",
        "_swallow",
        "_swallowed",
        "debugtime_enabled",
        "folded_gets",
        "item_size_max",
        "lines",
        "max_get_line",
    )

    def __init__(
        self,
        *,
        item_size_max: int = 1024 * 1024,
        debugtime_enabled: bool = False,
        max_get_line: int = MAX_GET_LINE,
    ) -> None:
        self.item_size_max = item_size_max
        self.debugtime_enabled = debugtime_enabled
        self.max_get_line = max_get_line
        self._buf = b""
        self._pos = 0
        self._search_from = 0  # where the newline search resumes (linear time on long lines)
        self._chunks: list[bytes] = []  # received but not yet joined into _buf
        self._chunks_size = 0
        self._pending: _PendingStore | meta.DataFollows | None = None
        self.lines: list[bytes] | None = None  # when a list, every command line is appended
        # Requests in the last commands() beyond its length: each GetRun of n lines adds n - 1.
        self.folded_gets = 0
        self._swallow = 0
        self._swallowed: StoreTooLarge | MetaSet | Reply | None = None  # answered once swallowed
        self._eof = False
        self._closed = False
        self._block_waited = False  # the data block being read or swallowed needed more reads
        self._queued: Command | None = None  # returned before anything else (a Flush)

    # -- input ---------------------------------------------------------------------------

    def single_get(self, data: bytes) -> bytes | None:
        """The key, if ``data`` (a read, not yet received) is one plain ``get <key>\\r\\n``
        line and the parser holds nothing else: the request/response hot path, taken whole
        for a fraction of the work of :meth:`receive_data` and :meth:`commands` (which would
        give ``[GetRun([key])]``). Else None, and nothing has changed.
        """
        if (
            data.startswith(b"get ")
            and data.endswith(b"\r\n")
            and 6 < len(data) <= 6 + KEY_MAX_LENGTH  # before slicing: a pipelined read is long
            and (key := data[4:-2])
            # int needles (space, LF, NUL): a bytes needle first fails as an int, and that
            # TypeError, made and dropped inside `in`, cost 230 ns per test (measured)
            and 32 not in key
            and 10 not in key
            and 0 not in key
            and self._pos == len(self._buf)
            and not self._chunks
            and self._pending is None
            and not self._swallow
            and self._queued is None
            and not self._closed
            and not self._eof
            and self.lines is None
        ):
            self._buf = data
            self._pos = self._search_from = len(data)
            self.folded_gets = 0
            return key
        return None

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the peer; ``b""`` means the peer closed its side."""
        if not data:
            self._eof = True
        elif self._pos == len(self._buf) and not self._chunks:
            # All consumed (the usual case between requests): the new bytes are the buffer.
            self._buf = data
            self._pos = self._search_from = 0
        else:
            self._chunks.append(data)
            self._chunks_size += len(data)

    @property
    def buffered(self) -> int:
        """Bytes received and not yet consumed by a command."""
        return len(self._buf) - self._pos + self._chunks_size

    def _join(self) -> None:
        if self._chunks:
            rest = self._buf[self._pos :] if self._pos < len(self._buf) else b""
            self._search_from -= self._pos
            self._buf = rest + b"".join(self._chunks) if rest else b"".join(self._chunks)
            self._pos = 0
            self._chunks.clear()
            self._chunks_size = 0

    # -- output --------------------------------------------------------------------------

    def commands(self) -> list[Command]:
        """Every complete command buffered so far (possibly none), in order.

        Consecutive ``get <key>`` lines come as one :class:`GetRun`; ``len(result) +
        folded_gets`` is the number of requests (command lines) they stand for.
        """
        out: list[Command] = []
        append = out.append
        self.folded_gets = 0
        while True:
            if (
                not self._swallow
                and self._pending is None
                and self._queued is None
                and not self._closed
                and self._scan_lines(out)
            ):
                return out
            command = self.next_command()
            if command is NEED_DATA:
                return out
            append(command)  # type: ignore[arg-type]

    def _scan_lines(self, out: list[Command]) -> bool:
        """The hot loop between commands: parse every complete line buffered, with locals.

        Does what :meth:`next_command` does for lines, minus its per-command state changes.
        True when the buffer ends in an ordinary partial line (or the parser closed); False
        when :meth:`next_command` must go on: a data block to read or swallow, an
        unterminated line too long, EOF.
        """
        buf = self._buf
        if self._chunks:
            self._join()
            buf = self._buf
        find = buf.find
        parse_line = self._parse_line
        append = out.append
        lines = self.lines
        pos = self._pos
        run: list[bytes] = []  # keys of the consecutive "get <key>" lines just read
        # Until a cut of a get run fails in this read: then only the regex, which stops at the
        # run's end (each failed cut may have scanned to _SPLIT_RUN_MAX, so once per read).
        cut = True
        nl = find(b"\n", self._search_from)
        while nl >= 0:
            if lines is None and buf.startswith(b"get ", pos):
                # A pipeline's gets run to its next set line, or to the read's last line (not
                # a multi-get's line: cut, it would be copied for nothing).
                if cut and find(b" ", pos + 4, nl) < 0:
                    limit = pos + _SPLIT_RUN_MAX
                    stop = find(b"\nset ", pos, limit) + 1 or buf.rfind(b"\n", pos, limit) + 1
                    keys = _crlf_get_keys(buf, pos, stop) if stop > pos else None
                    if keys is not None:
                        run += keys
                        pos = stop
                        nl = find(b"\n", pos)
                        continue
                    cut = False
                gets = _GET_RUN.match(buf, pos)
                if gets is not None:  # one or more plain gets, their keys found in C
                    end = gets.end()
                    if end == nl + 1:  # just one line: "get <key>" and CRLF or LF
                        run.append(buf[pos + 4 : nl - 1 if buf[nl - 1] == 13 else nl])
                    else:
                        # Each line is "get <key>" and CRLF or LF, a key holds neither: when
                        # the run ends in CRLF and cutting at CRLF "get " gives one piece per
                        # line, the pieces are the keys (three times faster than findall).
                        keys = buf[pos + 4 : end - 2].split(b"\r\nget ")
                        if buf[end - 2] != 13 or len(keys) != buf.count(b"\n", pos, end):
                            keys = _GET_KEYS.findall(buf, pos, end)
                        run += keys
                    pos = end
                    nl = find(b"\n", pos)
                    continue
            elif lines is None and buf.startswith(b"set ", pos):
                stored = self._plain_set(buf, pos, nl + 1)
                if stored is not None:
                    if run:
                        self._end_run(run, out)
                        run = []
                    append(stored)
                    pos = nl + 1 + len(stored.data)
                    nl = find(b"\n", pos)
                    continue
            end = nl - 1 if nl - pos > 1 and buf[nl - 1] == 13 else nl
            line = buf[pos:end]
            pos = nl + 1
            if 0 in line:  # NUL ends a C string (an int needle: no TypeError made and dropped)
                line = line[: line.index(0)]
            if lines is not None:
                lines.append(line)
            if (
                line.startswith(b"get ")
                and line.find(b" ", 4) < 0
                and 4 < len(line) <= 4 + KEY_MAX_LENGTH
            ):
                # The hottest line, "get <key>": no splitting, counting tokens or state to
                # check; consecutive ones become one GetRun.
                run.append(line[4:])
                nl = find(b"\n", pos)
                continue
            if run:
                self._end_run(run, out)
                run = []
            command = parse_line(line)
            if command is None:
                # A storage header: its data block comes next, usually in this same read.
                self._pos = self._search_from = pos
                pending = self._pending
                if pending is None or self._swallow:
                    return False
                command = self._maybe_finish_store(pending)
                if command is None:
                    return False
                pos = self._pos
            append(command)
            if type(command) is Close:
                self._pos = self._search_from = pos
                self._closed = True
                return True
            nl = find(b"\n", pos)
        if run:
            self._end_run(run, out)
        self._pos = pos
        self._search_from = len(buf)
        return len(buf) - pos <= MAX_LINE_LENGTH and not self._eof

    def _end_run(self, keys: list[bytes], out: list[Command]) -> None:
        out.append(GetRun(keys))  # a run of one too: a GetRun costs half a Get to make
        self.folded_gets += len(keys) - 1

    def _plain_set(self, buf: bytes, pos: int, start: int) -> Store | None:
        """The ``set`` line at ``pos`` in its plain form (:data:`_PLAIN_SET`, ending just
        before ``start``) whose data block is buffered from ``start``: its command, without the
        general path's pending state. None for anything else, which the general path parses."""
        line = _PLAIN_SET.match(buf, pos, start)
        if line is None:
            return None
        key, flags, exptime, size, noreply = line.groups()
        nbytes = int(size)
        end = start + nbytes + 2
        if nbytes > self.item_size_max or end > len(buf):
            return None
        block = buf[start:end]
        bad_chunk = not block.endswith(b"\r\n")
        # positionally: the hot path's command (see pymcd.protocol.commands)
        return Store(_SET, key, int(flags), int(exptime), block, 0, noreply is not None, bad_chunk)

    def next_command(self) -> Command | _NeedData:
        """The next complete command, or ``NEED_DATA``."""
        if self._closed:
            return NEED_DATA
        queued = self._queued
        if queued is not None:
            self._queued = None
            return queued
        while True:
            if self._swallow:
                if not self._consume_swallowed():
                    self._block_waited = True
                    return self._at_end()
                swallowed, self._swallowed = self._swallowed, None
                if swallowed is None:
                    continue
                return self._after_block(swallowed)
            if self._pending is not None:
                command = self._maybe_finish_store(self._pending)
                if command is None:
                    self._block_waited = True
                    return self._at_end()
                return self._after_block(command)
            buf = self._buf
            nl = buf.find(b"\n", self._search_from)
            if nl < 0:
                if self._chunks:
                    self._join()
                    continue
                self._search_from = len(buf)
                too_long = self._check_unterminated()
                if too_long is not None:
                    return too_long
                return self._at_end()
            start = self._pos
            self._pos = self._search_from = nl + 1
            end = nl - 1 if nl - start > 1 and buf[nl - 1] == 13 else nl
            line = buf[start:end]
            if 0 in line:  # NUL ends a C string (an int needle: no TypeError made and dropped)
                line = line[: line.index(0)]
            if self.lines is not None:
                self.lines.append(line)
            command = self._parse_line(line)
            if command is None:
                continue  # a storage header: its data block comes next
            if type(command) is Close:
                self._closed = True
            return command

    def _after_block(self, command: Command) -> Command:
        """The command of a finished data block, followed by a Flush if it needed more reads."""
        if self._block_waited:
            self._block_waited = False
            self._queued = _FLUSH
        return command

    def _at_end(self) -> Command | _NeedData:
        if self._eof:
            self._closed = True
            return Close(reason="eof")
        return NEED_DATA

    def _check_unterminated(self) -> Close | None:
        """memcached's rule for a partial line longer than 2048 bytes (try_read_command_ascii)."""
        size = len(self._buf) - self._pos
        if size <= MAX_LINE_LENGTH:
            return None
        head = self._buf[self._pos : self._pos + 110]
        stripped = head.lstrip(b" ")
        if (
            len(head) - len(stripped) <= 100
            and (stripped.startswith(b"get ") or stripped.startswith(b"gets "))
            and size <= self.max_get_line
        ):
            return None
        self._closed = True
        return Close(reason="line too long")

    def _consume_swallowed(self) -> bool:
        """Discard bytes of a too-large data block; True once all of it is gone."""
        self._join()
        available = len(self._buf) - self._pos
        take = min(available, self._swallow)
        self._pos += take
        self._search_from = self._pos
        self._swallow -= take
        return self._swallow == 0

    def _maybe_finish_store(self, pending: _PendingStore | meta.DataFollows) -> Command | None:
        if self.buffered < pending.size:
            return None
        self._join()
        start = self._pos
        end = start + pending.size
        block = self._buf[start:end]
        self._pos = self._search_from = end
        self._pending = None
        if type(pending) is meta.DataFollows:
            template = pending.command
            assert type(template) is MetaSet
            return dataclasses.replace(template, data=block, bad_chunk=not block.endswith(b"\r\n"))
        assert type(pending) is _PendingStore
        return Store(
            mode=pending.mode,
            key=pending.key,
            flags=pending.flags,
            exptime=pending.exptime,
            data=block,
            cas_unique=pending.cas_unique,
            noreply=pending.noreply,
            bad_chunk=not block.endswith(b"\r\n"),
        )

    # -- lines ---------------------------------------------------------------------------

    def _parse_line(self, line: bytes) -> Command | None:
        tokens = line.split(b" ")
        if b"" in tokens:
            tokens = [t for t in tokens if t]
        # memcached's ntokens counts the terminal token; after 23 real ones it stops splitting.
        ntokens = len(tokens) + 1
        if ntokens > MAX_TOKENS:
            ntokens = MAX_TOKENS
        if ntokens < 2 or len(tokens[0]) < 2:
            return _ERROR
        name = tokens[0]
        first = name[0]
        if first == 103:  # 'g'
            if name == b"get":
                return self._get(tokens, False)
            if name == b"gets":
                return self._get(tokens, True)
            if name == b"gat" or name == b"gats":
                return self._gat(tokens, name == b"gats")
            return _ERROR
        mode = _STORAGE_MODES.get(name)
        if mode is not None:
            return self._storage(mode, tokens, ntokens)
        handler = _SIMPLE.get(name)
        if handler is not None:
            return handler(self, tokens, ntokens)
        if first == 109 and len(name) == 2:  # memcached's meta commands are all "m?"
            return self._meta(name[1], tokens, ntokens)
        if first in _BRANCHED_LETTERS:
            # memcached switches on the first letter first: an unknown command under one of
            # these letters is a plain ERROR.
            return _ERROR
        if tokens[ntokens - 2].startswith(b"HTTP/"):
            return Close(reason="http request")
        return _ERROR

    def _get(self, tokens: list[bytes], with_cas: bool) -> Command:
        if len(tokens) < 2:
            return _ERROR
        keys = tokens[1:]
        if max(map(len, keys)) <= KEY_MAX_LENGTH:  # the common case, at C speed
            return Get(keys=keys, with_cas=with_cas)
        too_long = _first_too_long(keys)
        return Get(keys=keys[:too_long], with_cas=with_cas, key_too_long=True)

    def _gat(self, tokens: list[bytes], with_cas: bool) -> Command:
        if len(tokens) < 2:
            return _ERROR
        exptime = strtol(tokens[1])
        if exptime is None:
            return Reply(data=R.INVALID_EXPTIME)
        keys = tokens[2:]
        too_long = _first_too_long(keys)
        if too_long >= 0:
            return GetAndTouch(
                exptime=exptime, keys=keys[:too_long], with_cas=with_cas, key_too_long=True
            )
        return GetAndTouch(exptime=exptime, keys=keys, with_cas=with_cas)

    def _storage(self, mode: StoreMode, tokens: list[bytes], ntokens: int) -> Command | None:
        has_cas = mode is StoreMode.CAS
        base = 7 if has_cas else 6
        if ntokens != base and ntokens != base + 1:
            return _ERROR
        noreply = tokens[-1] == b"noreply"
        key = tokens[1]
        if len(key) > KEY_MAX_LENGTH:
            return _reply(R.BAD_FORMAT, noreply)
        flags = strtoul(tokens[2])
        exptime = strtol(tokens[3])
        size = strtol(tokens[4])
        if flags is None or exptime is None or size is None:
            return _reply(R.BAD_FORMAT, noreply)
        cas_unique = 0
        if has_cas:
            parsed_cas = strtoull(tokens[5])
            if parsed_cas is None:
                return _reply(R.BAD_FORMAT, noreply)
            cas_unique = parsed_cas
        if size < 0 or size > 0x7FFFFFFF - 2:
            return _reply(R.BAD_FORMAT, noreply)
        if size > self.item_size_max:
            # Certainly too large: discard the block as it streams in, never buffering it;
            # memcached answers once the whole block has been swallowed.
            self._swallow = size + 2
            self._swallowed = StoreTooLarge(mode=mode, key=key, noreply=noreply)
            return None
        self._pending = _PendingStore(mode, key, flags, exptime, size + 2, cas_unique, noreply)
        return None

    def _meta(self, letter: int, tokens: list[bytes], ntokens: int) -> Command | None:
        if letter == 103:  # mg
            return meta.parse_mg(tokens, ntokens)
        if letter == 115:  # ms: a data block follows
            follows = meta.parse_ms(tokens, ntokens, self.item_size_max)
            if type(follows) is not meta.DataFollows:
                return follows  # type: ignore[return-value]
            if not follows.swallow:
                self._pending = follows
                return None
            # An error or a too-large set: memcached answers once the block is swallowed (it
            # writes nothing while it reads a block).
            self._swallow = follows.size
            self._swallowed = follows.command
            return None
        if letter == 100:  # md
            return meta.parse_md(tokens, ntokens)
        if letter == 110:  # mn
            return Reply(data=R.MN)
        if letter == 97:  # ma
            return meta.parse_ma(tokens, ntokens)
        if letter == 101:  # me
            return meta.parse_me(tokens, ntokens)
        return _ERROR

    # -- the other commands, each (self, tokens, ntokens) -> Command ----------------------

    def _delete(self, tokens: list[bytes], ntokens: int) -> Command:
        if not 3 <= ntokens <= 5:
            return _ERROR
        noreply = False
        if ntokens > 3:
            hold_is_zero = tokens[2] == b"0"
            noreply = tokens[ntokens - 2] == b"noreply"
            valid = (ntokens == 4 and (hold_is_zero or noreply)) or (
                ntokens == 5 and hold_is_zero and noreply
            )
            if not valid:
                return _reply(R.DELETE_USAGE, noreply)
        if len(tokens[1]) > KEY_MAX_LENGTH:
            return _reply(R.BAD_FORMAT, noreply)
        return Delete(key=tokens[1], noreply=noreply)

    def _arithmetic(self, tokens: list[bytes], ntokens: int) -> Command:
        if ntokens != 4 and ntokens != 5:
            return _ERROR
        noreply = tokens[ntokens - 2] == b"noreply"
        if len(tokens[1]) > KEY_MAX_LENGTH:
            return _reply(R.BAD_FORMAT, noreply)
        delta = strtoull(tokens[2])
        if delta is None:
            return _reply(R.INVALID_DELTA, noreply)
        return Arithmetic(key=tokens[1], delta=delta, incr=tokens[0] == b"incr", noreply=noreply)

    def _touch(self, tokens: list[bytes], ntokens: int) -> Command:
        if ntokens != 4 and ntokens != 5:
            return _ERROR
        noreply = tokens[ntokens - 2] == b"noreply"
        if len(tokens[1]) > KEY_MAX_LENGTH:
            return _reply(R.BAD_FORMAT, noreply)
        exptime = strtol(tokens[2])
        if exptime is None:
            return _reply(R.INVALID_EXPTIME, noreply)
        return Touch(key=tokens[1], exptime=exptime, noreply=noreply)

    def _flush_all(self, tokens: list[bytes], ntokens: int) -> Command:
        if not 2 <= ntokens <= 4:
            return _ERROR
        noreply = tokens[ntokens - 2] == b"noreply"
        delay = 0
        if ntokens != (3 if noreply else 2):
            parsed = strtol(tokens[1])
            if parsed is None:
                return FlushAll(noreply=noreply, bad_delay=True)
            delay = parsed
        return FlushAll(delay=delay, noreply=noreply)

    def _version(self, tokens: list[bytes], ntokens: int) -> Command:
        return _VERSION

    def _quit(self, tokens: list[bytes], ntokens: int) -> Command:
        return _QUIT

    def _verbosity(self, tokens: list[bytes], ntokens: int) -> Command:
        if ntokens != 3 and ntokens != 4:
            return _ERROR
        noreply = tokens[ntokens - 2] == b"noreply"
        level = strtoul(tokens[1])
        if level is None:
            return _reply(R.BAD_FORMAT, noreply)
        return Verbosity(level=level, noreply=noreply)

    def _shutdown(self, tokens: list[bytes], ntokens: int) -> Command:
        if ntokens == 2:
            return Shutdown(graceful=False)
        if ntokens == 3 and tokens[1] == b"graceful":
            return Shutdown(graceful=True)
        return Shutdown(valid=False)

    def _cache_memlimit(self, tokens: list[bytes], ntokens: int) -> Command:
        if ntokens != 3 and ntokens != 4:
            return _ERROR
        noreply = tokens[ntokens - 2] == b"noreply"
        megabytes = strtoul(tokens[1])
        if megabytes is None:
            return _reply(R.ERROR, noreply)
        return CacheMemlimit(megabytes=megabytes, noreply=noreply)

    def _stats(self, tokens: list[bytes], ntokens: int) -> Command:
        return Stats(args=tuple(tokens[1 : ntokens - 1]))

    def _bget(self, tokens: list[bytes], ntokens: int) -> Command:
        return self._get(tokens, False)

    def _debugtime(self, tokens: list[bytes], ntokens: int) -> Command:
        if not self.debugtime_enabled:
            return _ERROR
        if ntokens < 3:
            return _ERROR
        seconds = strtol(tokens[1])
        if seconds is None:
            return _ERROR
        return DebugTime(seconds=seconds)

    def _admin(self, tokens: list[bytes], ntokens: int) -> Command:
        return Admin(tokens=tuple(tokens[: ntokens - 1]), ntokens=ntokens)

    def _refresh_certs(self, tokens: list[bytes], ntokens: int) -> Command:
        return Reply(data=b"Error TLS not enabled\r\n")


_BRANCHED_LETTERS: Final = frozenset(b"gsacidt")

_SIMPLE: Final = {
    b"delete": TextParser._delete,
    b"incr": TextParser._arithmetic,
    b"decr": TextParser._arithmetic,
    b"touch": TextParser._touch,
    b"flush_all": TextParser._flush_all,
    b"version": TextParser._version,
    b"quit": TextParser._quit,
    b"verbosity": TextParser._verbosity,
    b"shutdown": TextParser._shutdown,
    b"cache_memlimit": TextParser._cache_memlimit,
    b"stats": TextParser._stats,
    b"bget": TextParser._bget,
    b"debugtime": TextParser._debugtime,
    b"lru_crawler": TextParser._admin,
    b"slabs": TextParser._admin,
    b"watch": TextParser._admin,
    b"lru": TextParser._admin,
    b"extstore": TextParser._admin,
    b"refresh_certs": TextParser._refresh_certs,
}
