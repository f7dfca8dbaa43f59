"""pymcd inside the caller's own trio loop: for pytest-trio and other trio test suites.

Invariants:
- The server runs as tasks of the caller's nursery and reads ``trio.current_time`` (unless a
  clock is given), so ``trio.testing.MockClock`` / pytest-trio's ``autojump_clock`` drive
  expiry and reply delays without real waiting.
- Every method of the handle is synchronous and must be called from that same trio thread;
  connections closed by ``reset``/``restart``/``faults.close_connections`` are gone once their
  tasks next run (the next checkpoint).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import trio

from pymcd.clock import Clock
from pymcd.config import Settings
from pymcd.server import Server
from pymcd.testing.control import ServerControl
from pymcd.testing.faults import Instrumentation

__all__ = ["TrioMemcachedServer", "open_memcached_server", "serve_memcached"]

T = TypeVar("T")


class TrioMemcachedServer(ServerControl):
    """The handle of a server running in the current trio loop (same API as
    :class:`~pymcd.testing.MemcachedServer`, minus ``start``)."""

    def __init__(self, server: Server, hooks: Instrumentation) -> None:
        self.server = server
        self.host = str(server.settings.interface.split(",")[0])
        self.port = server.port
        self._hooks = hooks
        self._memory_limit = server.settings.memory_limit
        assert server.dispatcher is not None
        self._pid = server.dispatcher.pid

    def _call(self, fn: Callable[[], T]) -> T:
        return fn()

    def advance_clock(self, seconds: float) -> None:
        """Move this server's clock forward (trio's own clock is untouched)."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        time = self._live().time
        assert time is not None
        time.shift(seconds)
        time.update()

    def stop(self) -> None:
        """Ask the server to stop; :func:`serve_memcached` returns once it has."""
        if self.server is not None:
            self.server.request_shutdown()

    def __repr__(self) -> str:
        return f"<TrioMemcachedServer {self.address}>"


async def serve_memcached(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Clock | None = None,
    task_status: Any = trio.TASK_STATUS_IGNORED,
    **settings: Any,
) -> None:
    """Serve until :meth:`TrioMemcachedServer.stop` or cancellation; ``nursery.start``-able.

    ``task_status.started()`` receives the :class:`TrioMemcachedServer` once the port is
    bound. Keyword arguments are :class:`pymcd.config.Settings` fields; pass them with
    ``functools.partial`` to ``nursery.start``.
    """
    hooks = Instrumentation()
    server = Server(Settings(interface=host, port=port, **settings), clock=clock, hooks=hooks)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        task_status.started(TrioMemcachedServer(server, hooks))


@asynccontextmanager
async def open_memcached_server(
    host: str = "127.0.0.1", port: int = 0, *, clock: Clock | None = None, **settings: Any
) -> AsyncIterator[TrioMemcachedServer]:
    """``async with open_memcached_server(**settings) as server:`` — stopped on exit
    (connections get the server's one-second grace, then are cancelled)."""
    async with trio.open_nursery() as nursery:
        handle: TrioMemcachedServer = await nursery.start(
            functools.partial(serve_memcached, host, port, clock=clock, **settings)
        )
        try:
            yield handle
        finally:
            handle.stop()
