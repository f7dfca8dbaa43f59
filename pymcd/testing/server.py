"""``MemcachedServer``: a pymcd server in a background thread, for any test suite.

Invariants:
- One daemon thread runs one ``trio.run``; ``start`` returns once the port is bound, ``stop``
  joins the thread (within about a second) and leaves no socket open.
- The clock is real monotonic time plus an offset (:class:`~pymcd.clock.AdjustableClock`) that
  :meth:`MemcachedServer.advance_clock` moves; :meth:`MemcachedServer.reset` sets it back.
- After ``stop``, ``start`` serves again on the same port with empty data.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import trio

from pymcd.clock import AdjustableClock
from pymcd.config import Settings
from pymcd.server import Server
from pymcd.testing.control import ServerControl
from pymcd.testing.faults import Instrumentation

__all__ = ["MemcachedServer"]

T = TypeVar("T")
CLOSE_WAIT = 1.0  # how long reset() waits for closed connections to be gone


class MemcachedServer(ServerControl):
    """A pymcd server in a background thread: ``with MemcachedServer(**settings) as server:``.

    Keyword arguments are :class:`pymcd.config.Settings` fields (``memory_limit`` in bytes,
    ``item_size_max``, ``evictions``, ``max_connections``, ``use_cas``, ``debugtime``, …);
    ``host`` and ``port`` default to 127.0.0.1 and 0 (a free port, read back into ``port``).
    Inspection, the command log, :attr:`faults`, :meth:`reset` and :meth:`restart` come from
    :class:`~pymcd.testing.control.ServerControl`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **settings: Any) -> None:
        self.settings = Settings(interface=host, port=port, **settings)
        self.clock = AdjustableClock()
        self.host = host
        self.port = 0
        self.server: Server | None = None
        self._hooks = Instrumentation()
        self._memory_limit = self.settings.memory_limit
        self._thread: threading.Thread | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> MemcachedServer:
        """Start serving; returns once the port is bound (raises what the server raised)."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        if self.port:  # started before: come back on the same address
            self.settings.port = self.port
        self._ready = threading.Event()
        self._error = None
        self._hooks.reset()
        self.clock.offset = 0.0
        self._thread = threading.Thread(target=self._run, name="pymcd-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def stop(self) -> None:
        """Stop the server and join its thread (within about a second). Idempotent."""
        thread = self._thread
        if thread is None:
            return
        if self._token is not None and self.server is not None:
            with contextlib.suppress(trio.RunFinishedError):
                trio.from_thread.run_sync(self.server.request_shutdown, trio_token=self._token)
        thread.join(timeout=5)
        self._thread = None
        self._token = None

    def advance_clock(self, seconds: float) -> None:
        """Move the server's clock forward: items expire without sleeping."""
        self.clock.advance(seconds)

    def reset(self) -> None:
        """Back to a fresh server (see :meth:`ServerControl.reset`); returns once the closed
        connections are gone, so ``curr_connections`` is settled."""
        self._call_async(self._reset_and_settle)

    def restart(self) -> None:
        """Simulate a restart (see :meth:`ServerControl.restart`) and wait for the
        connections to be gone."""
        self._call_async(self._restart_and_settle)

    # -- plumbing ------------------------------------------------------------------------

    def _reset_clock(self) -> None:
        self.clock.offset = 0.0

    def _close_connections(self) -> None:
        async def close() -> None:
            self._live().close_connections()
            await self._settle()

        self._call_async(close)

    async def _reset_and_settle(self) -> None:
        self._reset_now()
        await self._settle()

    async def _restart_and_settle(self) -> None:
        self._wipe(new_pid=True)
        await self._settle()

    async def _settle(self) -> None:
        server = self._live()
        with trio.move_on_after(CLOSE_WAIT):
            while server.sessions:
                await trio.sleep(0)

    def _call(self, fn: Callable[[], T]) -> T:
        token = self._token
        if token is None:
            raise RuntimeError("the memcached server is not running")
        return trio.from_thread.run_sync(fn, trio_token=token)

    def _call_async(self, fn: Callable[[], Any]) -> None:
        token = self._token
        if token is None:
            raise RuntimeError("the memcached server is not running")
        trio.from_thread.run(fn, trio_token=token)

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # surfaced to start() or lost after stop
            while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
                exc = exc.exceptions[0]  # trio's nursery wraps the bind error
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self.server = Server(self.settings, clock=self.clock, hooks=self._hooks)
        async with trio.open_nursery() as nursery:
            await nursery.start(self.server.serve)
            self.port = self.server.port
            assert self.server.dispatcher is not None
            self._pid = self.server.dispatcher.pid
            self._token = trio.lowlevel.current_trio_token()
            self._ready.set()

    def __enter__(self) -> MemcachedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<MemcachedServer {self.address} {state}>"
