"""pymcd.clock: the manual clock, memcached's realtime() and ServerTime."""

from __future__ import annotations

import pytest

from pymcd.clock import REALTIME_MAXDELTA, ManualClock, ServerTime, realtime

UNIX_NOW = 1_700_000_000.0
PROCESS_STARTED = 1_700_000_000 - 62


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock(5.0)
    clock.advance(1.5)
    assert clock() == 6.5
    with pytest.raises(ValueError):
        clock.advance(-1)


@pytest.mark.parametrize(
    ("exptime", "expected"),
    [
        (0, 0),  # never
        (1, 101),  # relative
        (REALTIME_MAXDELTA, REALTIME_MAXDELTA + 100),  # 30 days is still relative
        (REALTIME_MAXDELTA + 1, 1),  # absolute, before the process started: expired
        (PROCESS_STARTED, 1),
        (PROCESS_STARTED + 500, 500),  # absolute, after the start
    ],
)
def test_realtime(exptime: int, expected: int) -> None:
    assert realtime(exptime, 100, PROCESS_STARTED) == expected


def test_server_time_mirrors_memcached_start() -> None:
    clock = ManualClock(1000.0)
    t = ServerTime(clock, unix_now=UNIX_NOW)
    assert t.process_started == PROCESS_STARTED
    assert t.current_time == 62
    clock.advance(10.9)
    assert t.current_time == 62  # only update() moves it
    assert t.update() == 72
    assert t.realtime(-1) == 1  # negative: expired at once
    assert t.realtime(30) == 102
    assert t.unix_time() == pytest.approx(UNIX_NOW + 10.9)
