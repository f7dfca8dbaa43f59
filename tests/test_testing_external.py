"""ExternalMemcached: the wire-only part of the test API (here against pymcd in a thread)."""

from __future__ import annotations

import re

import pytest

from pymcd.testing import ExternalMemcached, MemcachedServer, PowerUnavailable, RawClient


def test_wire_powers_and_missing_powers() -> None:
    with MemcachedServer() as daemon:
        external = ExternalMemcached(daemon.address)
        assert external.address == daemon.address and external.running
        with RawClient(daemon.address) as c:
            c.request("set k 0 10 1\r\nv")
        assert external.stats()["curr_items"] == "1"
        assert external.pid == daemon.pid
        external.reset()
        assert external.stats()["cmd_set"] == "0"
        assert daemon.keys() == []
        with pytest.raises(PowerUnavailable, match="advance_clock"):
            external.advance_clock(5)  # no --debugtime
        for power in (external.keys, external.commands, external.restart, external.stop):
            with pytest.raises(PowerUnavailable, match=re.escape(daemon.address)):
                power()
        with pytest.raises(PowerUnavailable, match=r"faults\.fail"):
            external.faults.fail("set")
        external.close()


def test_advance_clock_over_the_wire_with_debugtime() -> None:
    with MemcachedServer(debugtime=True) as daemon:
        external = ExternalMemcached(daemon.address)
        with RawClient(daemon.address) as c:
            c.request("set k 0 10 1\r\nv")
            external.advance_clock(11)
            assert c.request("get k") == b"END\r\n"
        daemon.faults.close_connections()  # the external handle reconnects
        external.flush()
        external.close()


def test_unavailable_callback_is_used() -> None:
    seen: list[str] = []

    def unavailable(reason: str) -> None:
        seen.append(reason)
        raise KeyError(reason)

    external = ExternalMemcached("127.0.0.1:1", unavailable=unavailable)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        external.item("k")
    assert "item()" in seen[0] and "--memcached-external" in seen[0]
