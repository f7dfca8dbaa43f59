"""What every in-process test server offers: inspection, the command log, resets and faults.

Invariants:
- Every read and every change runs in the server's trio thread through ``self._call`` (for
  the thread server ``trio.from_thread.run_sync``), so a test sees a consistent state and never
  races the server. Reads refresh the server's clock first, so an item the clock has moved
  past reads as gone, as a ``get`` would find it.
- Keys are given as ``str`` (UTF-8) or ``bytes`` and returned as ``str`` (UTF-8, undecodable
  bytes kept as surrogate escapes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeVar

from pymcd.dispatch import Dispatcher
from pymcd.server import Server
from pymcd.store import Item, Store
from pymcd.testing.faults import FaultControl, Instrumentation, LoggedCommand

__all__ = ["ServerControl", "StoredItem"]

T = TypeVar("T")
_STATS_GROUPS = ("", "settings", "items", "slabs")


@dataclasses.dataclass(frozen=True, slots=True)
class StoredItem:
    """A snapshot of one live item.

    ``exptime`` is the expiry as a unix time in the server's clock (0 = never), ``ttl`` the
    seconds left (None = never expires), ``cas`` the cas unique (0 with ``use_cas=False``).
    """

    key: str
    value: bytes
    flags: int
    exptime: int
    ttl: int | None
    cas: int


def encode_key(key: str | bytes) -> bytes:
    return key if isinstance(key, bytes) else key.encode("utf-8", "surrogateescape")


def decode_key(key: bytes) -> str:
    return key.decode("utf-8", "surrogateescape")


class ServerControl:
    """Base of :class:`~pymcd.testing.MemcachedServer` and the trio handle."""

    host: str
    port: int
    server: Server | None
    _hooks: Instrumentation
    _faults: FaultControl | None = None

    # -- subclass duties -----------------------------------------------------------------

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in the server's trio thread and return its result."""
        raise NotImplementedError

    def _reset_clock(self) -> None:
        """Undo ``advance_clock`` (called in the server's thread, before ``time.restart``)."""

    def _close_connections(self) -> None:
        self._call(self._live().close_connections)

    def advance_clock(self, seconds: float) -> None:
        """Move the server's clock forward: items expire without sleeping."""
        raise NotImplementedError

    # -- basics --------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """``"host:port"``, as clients such as pylibmc and aiomcache want it."""
        return f"{self.host}:{self.port}"

    def _live(self) -> Server:
        if self.server is None or self.server.store is None:
            raise RuntimeError("the memcached server is not running")
        return self.server

    def _read(self, fn: Callable[[Server], T]) -> T:
        def run() -> T:
            server = self._live()
            assert server.time is not None
            server.time.update()
            return fn(server)

        return self._call(run)

    # -- inspection ----------------------------------------------------------------------

    def keys(self) -> list[str]:
        """Keys of the live items, sorted."""
        return self._read(lambda s: sorted(decode_key(k) for k in _store(s).keys()))  # noqa: SIM118

    def item(self, key: str | bytes) -> StoredItem | None:
        """The live item under ``key`` (no LRU bump, no stats), or None."""
        raw = encode_key(key)

        def read(server: Server) -> StoredItem | None:
            item = _store(server).peek(raw)
            return None if item is None else _snapshot(server, item)

        return self._read(read)

    def items(self) -> dict[str, StoredItem]:
        """Every live item, by key."""

        def read(server: Server) -> dict[str, StoredItem]:
            store = _store(server)
            found = (store.peek(k) for k in store.keys())  # noqa: SIM118
            return {decode_key(i.key): _snapshot(server, i) for i in found if i is not None}

        return self._read(read)

    def item_count(self) -> int:
        """Number of live items (``curr_items`` also counts expired ones not yet reaped)."""
        return self._read(lambda s: len(_store(s)))

    def byte_count(self) -> int:
        """memcached's ``bytes`` stat: the size of the stored items, headers included."""
        return self._read(lambda s: _store(s).global_stats()["bytes"])

    def stats(self, group: str = "") -> dict[str, str]:
        """``stats`` (or ``stats settings|items|slabs``) as the wire shows it, as a dict."""
        if group not in _STATS_GROUPS:
            raise ValueError(f"stats group must be one of {_STATS_GROUPS}")

        def read(server: Server) -> dict[str, str]:
            dispatcher = server.dispatcher
            assert dispatcher is not None
            if group == "":
                return dict(dispatcher.general_stats())
            if group == "settings":
                return dict(dispatcher.settings_stats())
            store = _store(server)
            lines = store.item_stats() if group == "items" else store.slab_stats()
            return {name: str(value) for name, value in lines}

        return self._read(read)

    @property
    def pid(self) -> int:
        """The pid the server reports in ``stats`` (a new one after a simulated restart)."""
        return self._read(lambda s: _dispatcher(s).pid)

    def flush(self) -> None:
        """Drop every item at once (like a restart's data loss; counters are kept)."""
        self._call(lambda: _store(self._live()).flush_everything())

    # -- command log ---------------------------------------------------------------------

    def commands(self) -> list[LoggedCommand]:
        """Every command line received since the last reset, in arrival order.

        A ``noreply`` command may still be in flight when the client returns: send a
        command with a reply after it before looking.
        """
        return self._call(lambda: list(self._hooks.log))

    def command_names(self) -> list[str]:
        """The command words of :meth:`commands`: ``["set", "get", "get"]``."""
        return [entry.name for entry in self.commands()]

    def clear_command_log(self) -> None:
        self._call(self._hooks.log.clear)

    # -- faults and resets ---------------------------------------------------------------

    @property
    def faults(self) -> FaultControl:
        """Fault injection: ``server.faults.fail("set")``, ``.delay_replies(0.5)``, …"""
        if self._faults is None:
            self._faults = FaultControl(
                self._hooks,
                self._call,
                close_connections=self._close_connections,
                restart=self.restart,
            )
        return self._faults

    def restart(self) -> None:
        """Simulate a restart: connections closed, all data lost, stats reset, a new pid,
        uptime back to zero. Faults and the command log are kept."""
        self._call(lambda: self._wipe(new_pid=True))

    def reset(self) -> None:
        """Back to a fresh server: no items, zeroed stats, no faults, an empty command log,
        the clock undone, every client connection closed."""
        self._call(self._reset_now)

    def _reset_now(self) -> None:
        self._hooks.reset()
        self._wipe(new_pid=False)
        dispatcher = _dispatcher(self._live())
        dispatcher.verbosity = dispatcher.settings.verbose

    def _wipe(self, *, new_pid: bool) -> None:
        server = self._live()
        store = _store(server)
        dispatcher = _dispatcher(server)
        server.close_connections()
        store.flush_everything()
        store.reset_stats()
        server.counters.reset()
        dispatcher.detail.clear()
        settings = server.settings
        if store.limit_maxbytes != self._memory_limit:  # undo a cache_memlimit
            settings.memory_limit = self._memory_limit
            store.set_memory_limit(self._memory_limit)
        self._reset_clock()
        assert server.time is not None
        server.time.restart()
        dispatcher.pid = dispatcher.pid % 4_000_000 + 1 if new_pid else self._pid

    _memory_limit = 0  # the configured -m, restored after a cache_memlimit (set by __init__)
    _pid = 0  # the pid reported before any simulated restart (set once serving)


def _store(server: Server) -> Store:
    assert server.store is not None
    return server.store


def _dispatcher(server: Server) -> Dispatcher:
    assert server.dispatcher is not None
    return server.dispatcher


def _snapshot(server: Server, item: Item) -> StoredItem:
    time = server.time
    assert time is not None
    if item.exptime:
        exptime = time.process_started + item.exptime
        ttl: int | None = item.exptime - time.current_time
    else:
        exptime, ttl = 0, None
    return StoredItem(
        key=decode_key(item.key),
        value=item.block[:-2],
        flags=item.flags,
        exptime=exptime,
        ttl=ttl,
        cas=item.cas,
    )
