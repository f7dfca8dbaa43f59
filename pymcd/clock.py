"""Time, injected: a clock is any zero-argument callable returning seconds as a float.

The server passes ``trio.current_time`` (so ``trio.testing.MockClock`` drives expiry), sync code
and tests pass a :class:`ManualClock`. Nothing below the server reads the wall clock on its own
except :class:`ServerTime`, once, to anchor the emulated unix time.

memcached keeps time as whole seconds since a ``process_started`` that it sets 62 seconds
(ITEM_UPDATE_INTERVAL + 2) before its real start; :class:`ServerTime` reproduces that so
``uptime``, ``time`` and absolute exptimes read exactly as in memcached.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from pymcd.config import ITEM_UPDATE_INTERVAL

Clock = Callable[[], float]

REALTIME_MAXDELTA = 60 * 60 * 24 * 30  # exptimes above 30 days are absolute unix times


class ManualClock:
    """A clock that moves only when told to: ``clock.advance(61)``."""

    __slots__ = ("now",)

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self.now += seconds


class AdjustableClock:
    """Real monotonic time plus an offset that only grows: tests advance it to expire items."""

    __slots__ = ("offset",)

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self.offset += seconds


def realtime(exptime: int, current_time: int, process_started: int) -> int:
    """Convert a protocol exptime to memcached's relative time (``memcached.c: realtime``).

    0 means never (returns 0). Up to 30 days is relative to now; above that it is an absolute
    unix time, and one at or before the process start becomes 1 (already expired, since 0 would
    mean never). Callers turn a negative exptime into ``REALTIME_MAXDELTA + 1`` first, as
    memcached does, so it too lands on 1.
    """
    if exptime == 0:
        return 0
    if exptime > REALTIME_MAXDELTA:
        if exptime <= process_started:
            return 1
        return exptime - process_started
    return exptime + current_time


class ServerTime:
    """memcached's ``current_time`` / ``process_started`` pair, driven by an injected clock.

    ``current_time`` is whole seconds; it is recomputed only by :meth:`update`, which the
    dispatcher calls once per batch of commands (memcached's own clock ticks once a second on a
    timer, so reading it once per batch is as faithful as reading it per command).
    """

    __slots__ = ("_clock", "_clock_origin", "_unix_origin", "current_time", "process_started")

    def __init__(self, clock: Clock, *, unix_now: float | None = None) -> None:
        self._clock = clock
        self._clock_origin = clock()
        self._unix_origin = time.time() if unix_now is None else unix_now
        self.process_started = int(self._unix_origin) - ITEM_UPDATE_INTERVAL - 2
        self.current_time = 0
        self.update()

    def unix_time(self) -> float:
        """The emulated wall-clock time: real start time plus however far the clock moved."""
        return self._unix_origin + (self._clock() - self._clock_origin)

    def update(self) -> int:
        # unix_time(), inline: called once per read
        unix_time = self._unix_origin + (self._clock() - self._clock_origin)
        now = math.floor(unix_time) - self.process_started
        if now != self.current_time:
            # A new int object only when the second changes: items stored within one second
            # share it as their time (an int above 256 is 32 bytes of its own per item).
            self.current_time = now
        return self.current_time

    def realtime(self, exptime: int) -> int:
        """A protocol exptime (negative allowed) as relative time, like memcached."""
        if exptime < 0:
            exptime = REALTIME_MAXDELTA + 1
        return realtime(exptime, self.current_time, self.process_started)

    def shift(self, seconds: float) -> None:
        """Move the emulated time by ``seconds`` (``debugtime``); the clock itself is untouched."""
        self._unix_origin += seconds

    def restart(self) -> None:
        """Forget the past: a new process_started, as after a daemon restart."""
        self._clock_origin = self._clock()
        self._unix_origin = time.time()
        self.process_started = int(self._unix_origin) - ITEM_UPDATE_INTERVAL - 2
        self.update()
