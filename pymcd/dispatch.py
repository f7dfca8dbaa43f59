"""Commands in, reply bytes out: memcached's proto_text.c command switch, minus the parsing.

Invariants:
- The store's clock is read once per batch (``execute``), never per key.
- Every handler appends complete replies to ``out``; a noreply command appends nothing.
- Counters are memcached's: the store keeps those only it can know (hits per slab class,
  expired/flushed gets, evictions, item and byte counts); this module counts commands and
  misses. Nothing here does I/O; the server owns sockets, the dispatcher owns semantics.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any, Final

from pymcd import admin
from pymcd.config import MEMCACHED_VERSION, Settings
from pymcd.dispatch_meta import MetaHandlers
from pymcd.protocol import commands as C
from pymcd.protocol import responses as R
from pymcd.protocol.numbers import strtoul
from pymcd.results import DeltaResult, StoreMode, StoreResult
from pymcd.stats import (
    ConnInfo,
    DetailStats,
    ServerCounters,
    conns_stats,
    general_stats,
    settings_stats,
    sizes_stats,
)
from pymcd.store import Item, Store
from pymcd.store.item import REPLY_FORM_MAX, reply_header

MAX_VERBOSITY_LEVEL = 2
MAX_NUMBER_OF_SLAB_CLASSES = 64
_VERSION_REPLY = f"VERSION {MEMCACHED_VERSION}\r\n".encode()

_STORE_REPLIES = {
    StoreResult.STORED: R.STORED,
    StoreResult.NOT_STORED: R.NOT_STORED,
    StoreResult.EXISTS: R.EXISTS,
    StoreResult.NOT_FOUND: R.NOT_FOUND,
    StoreResult.TOO_LARGE: R.TOO_LARGE,
    StoreResult.NO_MEMORY: R.OUT_OF_MEMORY_STORING,
}


_STORED: Final = StoreResult.STORED  # read per set: a module constant is the faster read


def _first_hit(item: Item, out: list[bytes]) -> None:
    """A get hit on an item not in reply form (``item.head`` is its flags): its reply parts,
    giving it the reply form when small enough (the hot path appends ``item.data`` itself
    once ``item.head is None``)."""
    flags = item.head
    assert flags is not None
    data = item.data
    header = reply_header(item.key, flags, len(data))
    if len(data) <= REPLY_FORM_MAX:
        out.append(item.take_reply_form(header))
    else:
        out += (header, data)


def _hit(item: Item, out: list[bytes]) -> None:
    """A get hit's reply parts, outside the hot loops."""
    if item.head is None:
        out.append(item.data)
    else:
        _first_hit(item, out)


def _cas_hit(item: Item, out: list[bytes]) -> None:
    """A gets hit: the header with the cas unique, then the data block."""
    block = item.block
    header = b"VALUE %b %d %d %d\r\n" % (item.key, item.flags, len(block) - 2, item.cas)
    out += (header, block)


class Session:
    """One client connection as the dispatcher sees it; the server owns the socket."""

    __slots__ = (
        "address",
        "close_after_write",
        "closing",
        "fd",
        "flushed",
        "fresh",
        "last_cmd_time",
        "listen_address",
        "pins",
        "watching",
    )

    def __init__(self, fd: int, address: str, listen_address: str = "") -> None:
        self.fd = fd  # memcached reports connections by file descriptor
        self.address = address  # "tcp:127.0.0.1:54321", as memcached's stats conns prints it
        self.listen_address = listen_address
        self.last_cmd_time = 0  # relative time of the last batch (the server sets the start)
        self.fresh = True  # has not sent a command yet (memcached's conn_new_cmd)
        self.watching = False  # after `watch`: a log stream, its input is ignored
        self.close_after_write = False  # quit: send what is queued, then close
        self.closing = False  # close now and drop what is queued (bad input, shutdown)
        # Replies of the current batch before this index count as written: memcached transmits
        # what is queued after every completed retrieval command and after `mn`, so a later
        # failing get (conn_release_items) or a close drops only the replies queued since.
        self.flushed = 0
        # (index in the batch's replies, item) for each mg hit: memcached's reply holds a
        # reference to the item until it is written, and incr/decr rewrite an item in place
        # only when nobody else holds it.
        self.pins: list[tuple[int, Item]] = []

    def pinned(self, out: list[bytes]) -> list[Item]:
        """Items held by replies queued and not yet flushed (see ``pins``)."""
        if not self.pins:
            return []
        flushed, queued = self.flushed, len(out)
        return [item for at, item in self.pins if flushed <= at < queued]


class Dispatcher:
    """Runs commands against a :class:`~pymcd.store.Store` and renders memcached's replies.

    ``on_shutdown(graceful)`` is called for an allowed ``shutdown`` command; ``connections``
    describes listeners and clients for ``stats conns`` (given the session that asks).
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        counters: ServerCounters | None = None,
        on_shutdown: Callable[[bool], None] | None = None,
        connections: Callable[[Session], Iterable[ConnInfo]] | None = None,
        on_verbosity: Callable[[int], None] | None = None,
        pid: int | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.counters = counters if counters is not None else ServerCounters()
        self.detail = DetailStats.from_settings(settings)
        self.verbosity = settings.verbose
        self.pid = os.getpid() if pid is None else pid
        self.tcpport = settings.port  # the server sets the bound port once listening (-p 0)
        self._on_shutdown = on_shutdown
        self._connections = connections
        self._on_verbosity = on_verbosity
        self._handlers: dict[type[Any], Callable[[Any, list[bytes], Session], None]] = {
            C.Get: self._get,
            C.GetRun: self._get_run,
            C.GetAndTouch: self._get_and_touch,
            C.Store: self._store,
            C.StoreTooLarge: self._store_too_large,
            C.Delete: self._delete,
            C.Arithmetic: self._arithmetic,
            C.Touch: self._touch,
            C.FlushAll: self._flush_all,
            C.Version: self._version,
            C.Verbosity: self._verbosity,
            C.Quit: self._quit,
            C.Shutdown: self._shutdown,
            C.CacheMemlimit: self._cache_memlimit,
            C.Stats: self._stats,
            C.DebugTime: self._debugtime,
            C.Admin: self._admin,
            C.Reply: self._reply,
            C.Flush: self._flush_mark,
            C.Close: self._close,
        }
        self._handlers.update(MetaHandlers(store, self.counters).handlers())

    def execute(
        self, commands: Iterable[C.Command], session: Session, time_updated: bool = False
    ) -> list[bytes]:
        """Run a batch (one read's complete commands); returns the reply parts in order.

        The store's time is updated first, unless the caller just did (``time_updated``: the
        server does once per round of reads). Stops early when a command closes the
        connection: after ``quit`` the parts so far are still to be sent; after a ``Close`` (or
        an allowed ``shutdown``) they are dropped.
        """
        out: list[bytes] = []
        if not self._begin_batch(session, time_updated):
            return out
        handlers = self._handlers
        for command in commands:
            handlers[type(command)](command, out, session)
            if session.close_after_write or session.watching:
                break
            if session.closing:
                del out[session.flushed :]
                break
        return out

    def get_one(self, key: bytes, session: Session, time_updated: bool = False) -> list[bytes]:
        """``execute([GetRun([key])], ...)``, a read that is one plain ``get <key>`` (the
        request/response hot path), without the command objects and the dispatch."""
        out: list[bytes] = []
        if not self._begin_batch(session, time_updated):
            return out
        if self.detail.enabled:
            self._get_run(C.GetRun([key]), out, session)
        else:
            self._get_one(key, out, session)
        return out

    def _begin_batch(self, session: Session, time_updated: bool) -> bool:
        """What every read does before its commands; False when the session watches logs
        (``watch``), which leaves its commands unanswered."""
        time = self.store.time
        session.last_cmd_time = time.current_time if time_updated else time.update()
        session.fresh = False
        session.flushed = 0
        if session.pins:
            session.pins.clear()
        return not session.watching

    # -- retrieval -----------------------------------------------------------------------

    def _get(self, command: C.Get, out: list[bytes], session: Session) -> None:
        """get/gets: :meth:`_retrieve`'s replies, with one store call for all the keys (a lone
        plain ``get <key>`` arrives as a :class:`GetRun`, whose handler has its fast path)."""
        if command.key_too_long or self.detail.enabled:
            self._retrieve(command, self.store.get, False, out, session)
            return
        keys = command.keys
        counters = self.counters
        counters.cmd_get += len(keys)
        if command.with_cas:
            counters.get_misses += self.store.get_each(keys, out, _cas_hit, replies=False)
        else:
            counters.get_misses += self.store.get_each(keys, out, _first_hit)
        out.append(R.END)
        session.flushed = len(out)

    def _get_run(self, command: C.GetRun, out: list[bytes], session: Session) -> None:
        """Consecutive single-key gets: exactly their replies and counts, one store call."""
        if self.detail.enabled:
            for get in command.unfold():
                self._get(get, out, session)
            return
        keys = command.keys
        if len(keys) == 1:
            self._get_one(keys[0], out, session)
            return
        counters = self.counters
        counters.cmd_get += len(keys)
        counters.get_misses += self.store.get_each(keys, out, _first_hit, end=R.END)
        session.flushed = len(out)

    def _get_one(self, key: bytes, out: list[bytes], session: Session) -> None:
        """A lone plain ``get <key>``, the most common request (no detail stats to record)."""
        counters = self.counters
        counters.cmd_get += 1
        item = self.store.get(key)
        if item is None:
            counters.get_misses += 1
        elif item.head is None:  # _hit, inline
            out.append(item.data)
        else:
            _first_hit(item, out)
        out.append(R.END)
        session.flushed = len(out)

    def _get_and_touch(self, command: C.GetAndTouch, out: list[bytes], session: Session) -> None:
        touch = self.store.touch
        exptime = command.exptime
        self._retrieve(command, lambda key: touch(key, exptime), True, out, session)

    def _retrieve(
        self,
        command: C.Get | C.GetAndTouch,
        lookup: Callable[[bytes], Item | None],
        touching: bool,
        out: list[bytes],
        session: Session,
    ) -> None:
        """VALUE lines for the hits, then END; a gat counts cmd_touch where a get counts cmd_get.

        The per-key loop is the multi-get hot path: counters are added once per command. A key
        over 250 bytes ends the command: memcached drops the replies queued since its last
        flush too (conn_release_items) and answers only CLIENT_ERROR.
        """
        keys = command.keys
        with_cas = command.with_cas
        append = out.append
        hits = 0
        found = [(key, lookup(key)) for key in keys]
        if self.detail.enabled:
            record = self.detail.record_get
            for key, item in found:
                record(key, item is not None)
        for _, item in found:
            if item is None:
                continue
            hits += 1
            if with_cas:
                _cas_hit(item, out)
            else:
                _hit(item, out)
        counters = self.counters
        if touching:
            counters.cmd_touch += len(keys)
            counters.touch_misses += len(keys) - hits
        else:
            counters.cmd_get += len(keys)
            counters.get_misses += len(keys) - hits
        if command.key_too_long:
            del out[session.flushed :]
            append(R.BAD_FORMAT)
        else:
            append(R.END)
            session.flushed = len(out)

    # -- storage -------------------------------------------------------------------------

    def _store(self, command: C.Store, out: list[bytes], session: Session) -> None:
        if self.detail.enabled:
            self.detail.record_set(command.key)
        if command.bad_chunk:
            # memcached allocates before reading the block: a too-large item answers
            # SERVER_ERROR even when its terminator is wrong; otherwise "bad data chunk".
            if not self.store.item_size_ok(command.key, command.flags, len(command.data)):
                self._too_large(command.mode, command.key, command.noreply, out)
                return
            if not self.store.count_set(command.key, command.flags, len(command.data)):
                self.counters.store_no_memory += 1
                if command.mode is StoreMode.SET:
                    self.store.discard(command.key)
                if not command.noreply:
                    out.append(R.OUT_OF_MEMORY_STORING)
                return
            if not command.noreply:
                out.append(R.BAD_DATA_CHUNK)
            return
        result = self.store.store(
            command.mode,
            command.key,
            command.flags,
            command.exptime,
            command.data,
            command.cas_unique,
        )
        if result is _STORED:
            if not command.noreply:
                out.append(R.STORED)
            return
        if result is StoreResult.TOO_LARGE:
            self.counters.store_too_large += 1
        elif result is StoreResult.NO_MEMORY:
            self.counters.store_no_memory += 1
        elif result is StoreResult.NOT_FOUND and command.mode is StoreMode.CAS:
            self.counters.cas_misses += 1
        if not command.noreply:
            out.append(_STORE_REPLIES[result])

    def _store_too_large(self, command: C.StoreTooLarge, out: list[bytes], _: Session) -> None:
        if self.detail.enabled:
            self.detail.record_set(command.key)
        self._too_large(command.mode, command.key, command.noreply, out)

    def _too_large(self, mode: StoreMode, key: bytes, noreply: bool, out: list[bytes]) -> None:
        self.counters.store_too_large += 1
        if mode is StoreMode.SET:
            self.store.discard(key)  # memcached: no stale data after a failed set
        if not noreply:
            out.append(R.TOO_LARGE)

    def _delete(self, command: C.Delete, out: list[bytes], session: Session) -> None:
        if self.detail.enabled:
            self.detail.record_delete(command.key)
        if self.store.delete(command.key):
            reply = R.DELETED
        else:
            self.counters.delete_misses += 1
            reply = R.NOT_FOUND
        if not command.noreply:
            out.append(reply)

    def _arithmetic(self, command: C.Arithmetic, out: list[bytes], session: Session) -> None:
        result = self.store.incr_decr(command.key, command.incr, command.delta, session.pinned(out))
        if type(result) is int:
            reply = b"%d\r\n" % result
        elif result is DeltaResult.NOT_FOUND:
            if command.incr:
                self.counters.incr_misses += 1
            else:
                self.counters.decr_misses += 1
            reply = R.NOT_FOUND
        elif result is DeltaResult.NON_NUMERIC:
            reply = R.NON_NUMERIC
        else:
            reply = R.OUT_OF_MEMORY
        if not command.noreply:
            out.append(reply)

    def _touch(self, command: C.Touch, out: list[bytes], session: Session) -> None:
        self.counters.cmd_touch += 1
        if self.store.touch(command.key, command.exptime) is not None:
            reply = R.TOUCHED
        else:
            self.counters.touch_misses += 1
            reply = R.NOT_FOUND
        if not command.noreply:
            out.append(reply)

    # -- administration ------------------------------------------------------------------

    def _flush_all(self, command: C.FlushAll, out: list[bytes], session: Session) -> None:
        self.counters.cmd_flush += 1
        if not self.settings.flush_enabled:
            reply = R.FLUSH_DISABLED
        elif command.bad_delay:
            reply = R.INVALID_EXPTIME
        else:
            self.store.flush_all(command.delay)
            reply = R.OK
        if not command.noreply:
            out.append(reply)

    def _version(self, command: C.Version, out: list[bytes], session: Session) -> None:
        out.append(_VERSION_REPLY)

    def _verbosity(self, command: C.Verbosity, out: list[bytes], session: Session) -> None:
        self.verbosity = min(command.level, MAX_VERBOSITY_LEVEL)
        if self._on_verbosity is not None:
            self._on_verbosity(self.verbosity)
        if not command.noreply:
            out.append(R.OK)

    def _quit(self, command: C.Quit, out: list[bytes], session: Session) -> None:
        session.close_after_write = True

    def _shutdown(self, command: C.Shutdown, out: list[bytes], session: Session) -> None:
        if not self.settings.enable_shutdown:
            out.append(R.SHUTDOWN_DISABLED)
        elif not command.valid:
            out.append(R.SHUTDOWN_BAD_MODE)
        else:
            session.closing = True
            if self._on_shutdown is not None:
                self._on_shutdown(command.graceful)

    def _cache_memlimit(self, command: C.CacheMemlimit, out: list[bytes], _: Session) -> None:
        megabytes = command.megabytes
        if megabytes < 8:
            reply = R.MEMLIMIT_TOO_SMALL
        elif megabytes > 1000000000:
            reply = R.MEMLIMIT_NOT_BYTES
        elif self.store.set_memory_limit(megabytes * 1024 * 1024):
            self.settings.memory_limit = megabytes * 1024 * 1024
            reply = R.OK
        else:
            reply = R.MEMLIMIT_FAILED
        if not command.noreply:
            out.append(reply)

    def _debugtime(self, command: C.DebugTime, out: list[bytes], session: Session) -> None:
        self.store.time.shift(command.seconds)
        self.store.time.update()
        out.append(R.OK)

    def _admin(self, command: C.Admin, out: list[bytes], session: Session) -> None:
        tokens = list(command.tokens)
        ntokens = command.ntokens
        # memcached's resp_has_stack: replies queued since its last write (session.flushed)
        stacked = len(out) > session.flushed
        name = tokens[0]
        if name == b"lru_crawler":
            reply = admin.lru_crawler(tokens, ntokens, self.store, self.settings, stacked)
        elif name == b"slabs":
            reply = admin.slabs(tokens, ntokens, self.store)
        elif name == b"lru":
            reply = admin.lru(tokens, ntokens)
        elif name == b"extstore":
            reply = admin.extstore(tokens, ntokens)
        else:  # watch
            refusal = admin.watch_reply(tokens, ntokens, self.settings, stacked)
            if refusal is None:
                session.watching = True
                reply = R.OK
            else:
                reply = refusal
        if reply:
            out.append(reply)

    def _reply(self, command: C.Reply, out: list[bytes], session: Session) -> None:
        if command.data:
            out.append(command.data)
            if command.data is R.MN:  # "mn command forces immediate writeback flush"
                session.flushed = len(out)

    def _flush_mark(self, command: C.Flush, out: list[bytes], session: Session) -> None:
        session.flushed = len(out)

    def _close(self, command: C.Close, out: list[bytes], session: Session) -> None:
        session.closing = True

    # -- stats ---------------------------------------------------------------------------

    def _stats(self, command: C.Stats, out: list[bytes], session: Session) -> None:
        args = command.args
        if not args:
            out.append(R.stats_block(self.general_stats()))
            return
        sub = args[0]
        if sub == b"reset":
            self.counters.reset()
            self.store.reset_stats()
            self.detail.clear()
            out.append(R.RESET)
        elif sub == b"detail":
            out.append(self.detail.command(args[1] if len(args) >= 2 else None))
        elif sub == b"settings":
            out.append(R.stats_block(self.settings_stats()))
        elif sub == b"cachedump":
            out.append(self._cachedump(args))
        elif sub == b"conns":
            out.append(R.stats_block(self.conns_stats(session)))
        elif sub == b"items":
            out.append(R.stats_block(self.store.item_stats()))
        elif sub == b"slabs":
            out.append(R.stats_block(self.store.slab_stats()))
        elif sub == b"sizes":
            out.append(R.stats_block(sizes_stats()))
        elif sub == b"extstore":
            out.append(R.END)  # memcached built with extstore, none configured
        else:
            out.append(R.ERROR)

    def _cachedump(self, args: tuple[bytes, ...]) -> bytes:
        if not self.settings.dump_enabled:
            return R.CACHEDUMP_DISABLED
        if len(args) < 3:
            return R.BAD_COMMAND_LINE
        clsid = strtoul(args[1])
        limit = strtoul(args[2])
        if clsid is None or limit is None:
            return R.BAD_FORMAT
        if clsid >= MAX_NUMBER_OF_SLAB_CLASSES:
            return R.ILLEGAL_SLAB_ID
        lines = [
            b"ITEM %b [%d b; %d s]\r\n" % (key, size, when)
            for key, size, when in self.store.cachedump(clsid, limit)
        ]
        lines.append(R.END)
        return b"".join(lines)

    def general_stats(self) -> list[tuple[str, str]]:
        times = os.times()
        time = self.store.time
        return general_stats(
            settings=self.settings,
            counters=self.counters,
            store_stats=self.store.global_stats(),
            pid=self.pid,
            uptime=time.current_time - 60,
            now_unix=time.process_started + time.current_time,
            rusage_user=times.user,
            rusage_system=times.system,
            max_connections=self.settings.max_connections,
            version=MEMCACHED_VERSION,
            limit_maxbytes=self.store.limit_maxbytes,
            threads=self.settings.num_threads,
        )

    def settings_stats(self) -> list[tuple[str, str]]:
        return settings_stats(
            self.settings,
            verbosity=self.verbosity,
            maxbytes=self.store.limit_maxbytes,
            detail_enabled=self.detail.enabled,
            oldest=self.store.oldest_live,
            tcpport=self.tcpport,
        )

    def conns_stats(self, session: Session) -> list[tuple[str, str]]:
        if self._connections is None:
            return []
        return conns_stats(self._connections(session), now_rel=self.store.time.current_time)
