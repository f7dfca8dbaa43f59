"""One trio task that serves every idle client socket through a private epoll (kqueue elsewhere).

Why: a trio task per connection pays, per request, a task switch and an ``epoll_ctl`` to re-arm
trio's one-shot registration. Here each socket is registered once, level-triggered, and one
task asks the poller which are readable and serves them all synchronously, so a round costs one
``epoll_wait`` however many connections it serves. It knows nothing of memcached.

Invariants:
- A connection is *attached* (registered here, served by the reactor) or *detached* (owned by
  someone else, e.g. a task finishing work that must await); :meth:`add` and :meth:`remove`
  move it. ``serve(conn)`` must not await; it may remove its own connection (to detach or
  close it) but no other. ``after_round()`` runs once every ready connection of a round was
  served (the server's ``serve`` only reads; it runs the reads' commands and sends their
  replies there), and may remove any connection.
- The reactor suspends only between rounds (a checkpoint once ``max_events`` connections were
  served since the last one, or waiting for the poller's own fd when nothing is ready), so
  other trio tasks never see a round half done and may add or remove connections freely.
- A round serves each ready connection once (at most ``max_events``); level triggering brings
  back whatever is still readable in the next round.
- With an idle timeout, a connection with no readable event for that long is handed to
  ``on_idle`` (which must remove it), checked every round and by a deadline when all is quiet.
"""

from __future__ import annotations

import select
import selectors
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import trio

C = TypeVar("C")

MAX_EVENTS = 256  # ready connections served per round before other trio tasks run
_READABLE = getattr(select, "EPOLLIN", 1)  # level-triggered: no re-arming after each event


class _Poller(Protocol):
    def register(self, fd: int, eventmask: int = ...) -> None: ...

    def unregister(self, fd: int) -> None: ...

    def poll(self, timeout: float | None = None, maxevents: int = -1) -> list[tuple[int, int]]: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...


class _SelectorPoller:
    """epoll's interface over ``selectors`` (kqueue on macOS/BSD), for systems without epoll."""

    def __init__(self, selector: selectors.BaseSelector | None = None) -> None:
        self._selector = selector or selectors.DefaultSelector()
        if not hasattr(self._selector, "fileno"):  # select() and poll() have no fd to wait on
            raise RuntimeError("pymcd needs epoll (Linux) or kqueue (macOS, BSD)")

    def register(self, fd: int, eventmask: int = 0) -> None:
        self._selector.register(fd, selectors.EVENT_READ)

    def unregister(self, fd: int) -> None:
        self._selector.unregister(fd)

    def poll(self, timeout: float | None = None, maxevents: int = -1) -> list[tuple[int, int]]:
        # Everything ready, whatever maxevents: select() lists fds in a fixed order, so a cut
        # could starve the last ones (epoll rotates its ready list instead).
        return [(key.fd, events) for key, events in self._selector.select(timeout)]

    def fileno(self) -> int:
        fileno: Callable[[], int] = getattr(self._selector, "fileno")  # noqa: B009
        return fileno()

    def close(self) -> None:
        self._selector.close()


def _new_poller() -> _Poller:
    if hasattr(select, "epoll"):
        return select.epoll()
    return _SelectorPoller()


class Reactor(Generic[C]):
    """Serves attached connections from :meth:`run`; see the module docstring."""

    def __init__(
        self,
        serve: Callable[[C], None],
        *,
        after_round: Callable[[], None] | None = None,
        idle_timeout: float = 0,
        on_idle: Callable[[C], None] | None = None,
        max_events: int = MAX_EVENTS,
        poller: _Poller | None = None,
    ) -> None:
        self._serve = serve
        self._after_round = after_round
        self._idle_timeout = idle_timeout if on_idle is not None else 0
        self._on_idle = on_idle
        self._max_events = max_events
        self._poller = poller if poller is not None else _new_poller()
        self._conns: dict[int, C] = {}
        # fd -> trio time of its last readable event, oldest first (only with an idle timeout)
        self._seen: dict[int, float] = {}
        self.closed = False

    def get(self, fd: int) -> C | None:
        """The connection attached under ``fd``, if any."""
        return self._conns.get(fd)

    def connections(self) -> list[C]:
        """The attached connections."""
        return list(self._conns.values())

    def add(self, fd: int, conn: C) -> None:
        """Attach: serve ``conn`` whenever ``fd`` is readable. Not after :meth:`close`."""
        if self.closed:
            raise RuntimeError("the reactor is closed")
        self._poller.register(fd, _READABLE)
        self._conns[fd] = conn
        if self._idle_timeout:
            self._seen[fd] = trio.current_time()

    def remove(self, fd: int) -> None:
        """Detach the connection of ``fd`` (before closing it or handing it to a task)."""
        del self._conns[fd]
        self._seen.pop(fd, None)
        self._poller.unregister(fd)

    def close(self) -> None:
        """Release the poller; attached connections are the caller's to close first."""
        if not self.closed:
            self.closed = True
            trio.lowlevel.notify_closing(self._poller.fileno())
            self._poller.close()

    async def run(self) -> None:
        """Serve until cancelled; the poller stays open (see :meth:`close`)."""
        poll = self._poller.poll
        conns = self._conns
        serve = self._serve
        after_round = self._after_round
        max_events = self._max_events
        checkpoint = trio.lowlevel.checkpoint
        served = 0  # since other trio tasks last ran
        while True:
            events = poll(0, max_events)
            if not events:
                served = 0
                await self._wait_readable()
                continue
            if self._idle_timeout:
                self._note_activity(events)
            for fd, _ in events:
                conn = conns.get(fd)
                if conn is not None:  # None: removed earlier in this round
                    serve(conn)
            if after_round is not None:
                after_round()
            served += len(events)
            if served >= max_events:
                served = 0
                await checkpoint()

    async def _wait_readable(self) -> None:
        if not self._idle_timeout:
            await trio.lowlevel.wait_readable(self._poller.fileno())
            return
        deadline = self._expire(trio.current_time())
        with trio.move_on_at(deadline):
            await trio.lowlevel.wait_readable(self._poller.fileno())

    def _note_activity(self, events: list[tuple[int, int]]) -> None:
        now = trio.current_time()
        seen = self._seen
        for fd, _ in events:
            if seen.pop(fd, None) is not None:
                seen[fd] = now  # to the end: the dict stays ordered oldest first
        self._expire(now)

    def _expire(self, now: float) -> float:
        """Hand every connection idle for the timeout to ``on_idle``; the next deadline."""
        seen = self._seen
        timeout = self._idle_timeout
        assert self._on_idle is not None
        while seen:
            fd = next(iter(seen))
            deadline = seen[fd] + timeout
            if deadline > now:
                return deadline
            self._on_idle(self._conns[fd])
            if fd in seen:
                raise RuntimeError("on_idle must remove its connection")
        return float("inf")
