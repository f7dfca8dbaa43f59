"""pymcd's public testing layer: a real memcached-compatible server inside your test process.

``MemcachedServer`` runs a pymcd server in a background thread on 127.0.0.1 (port 0 by
default) and stops it cleanly (no leaked threads or sockets). Its clock is real time plus an
offset that :meth:`MemcachedServer.advance_clock` moves, so expiry tests never sleep.
"""

from __future__ import annotations

import contextlib
import threading
from types import TracebackType
from typing import Any

import trio

from pymcd.clock import AdjustableClock
from pymcd.config import Settings
from pymcd.server import Server

__all__ = ["MemcachedServer"]


class MemcachedServer:
    """A pymcd server in a background thread: ``with MemcachedServer(**settings) as server:``.

    Keyword arguments are :class:`pymcd.config.Settings` fields (``memory_limit``,
    ``item_size_max``, ``evictions``, ``max_connections``, ``use_cas``, …); ``host`` and
    ``port`` default to 127.0.0.1 and 0 (a free port, read back into ``port``).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **settings: Any) -> None:
        self.settings = Settings(interface=host, port=port, **settings)
        self.clock = AdjustableClock()
        self.host = host
        self.port = 0
        self.server: Server | None = None
        self._thread: threading.Thread | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> MemcachedServer:
        """Start serving; returns once the port is bound (raises what the server raised)."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        self._thread = threading.Thread(target=self._run, name="pymcd-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def stop(self) -> None:
        """Stop the server and join its thread (within about a second)."""
        if self._thread is None:
            return
        if self._token is not None and self.server is not None:
            with contextlib.suppress(trio.RunFinishedError):
                trio.from_thread.run_sync(self.server.request_shutdown, trio_token=self._token)
        self._thread.join(timeout=5)
        self._thread = None

    def advance_clock(self, seconds: float) -> None:
        """Move the server's clock forward: items expire without sleeping."""
        self.clock.advance(seconds)

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # surfaced to start() or lost after stop
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self.server = Server(self.settings, clock=self.clock)
        async with trio.open_nursery() as nursery:
            await nursery.start(self.server.serve)
            self.port = self.server.port
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
