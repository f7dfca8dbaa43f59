"""pymcd.testing.MemcachedServer: lifecycle, inspection, the command log, reset and restart."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from pymcd.testing import MemcachedServer, RawClient


@pytest.fixture
def server() -> Iterator[MemcachedServer]:
    with MemcachedServer() as srv:
        yield srv


def test_start_stop_leaves_nothing_running() -> None:
    before = set(threading.enumerate())
    srv = MemcachedServer(memory_limit=2 * 1024 * 1024).start()
    assert srv.port and srv.address == f"127.0.0.1:{srv.port}"
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < 1
    assert set(threading.enumerate()) == before
    with pytest.raises(OSError):
        socket.create_connection((srv.host, srv.port), timeout=0.5)
    srv.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not running"):
        srv.keys()


def test_stop_with_an_idle_client_connected(server: MemcachedServer) -> None:
    client = RawClient(server.address)
    assert client.request("version").startswith(b"VERSION")
    t0 = time.monotonic()
    server.stop()
    assert time.monotonic() - t0 < 1
    client.close()


def test_restart_after_stop_keeps_the_address(server: MemcachedServer) -> None:
    port = server.port
    RawClient(server.address).request("set k 0 0 1\r\nv")
    server.stop()
    server.start()
    assert server.port == port
    assert server.keys() == []


def test_bind_error_surfaces_from_start(server: MemcachedServer) -> None:
    with pytest.raises(OSError):
        MemcachedServer(port=server.port).start()


def test_inspection(server: MemcachedServer) -> None:
    with RawClient(server.address) as c:
        assert c.request("set a 7 100 3\r\nabc") == b"STORED\r\n"
        assert c.request("set b 0 0 1\r\nx") == b"STORED\r\n"
        assert c.request("set \xc3\xa9 0 0 1\r\ny".encode("latin-1")) == b"STORED\r\n"
    assert server.keys() == ["a", "b", "é"]
    item = server.item("a")
    assert item is not None
    assert (item.key, item.value, item.flags, item.ttl, item.cas) == ("a", b"abc", 7, 100, 1)
    assert item.exptime == int(server.stats()["time"]) + 100
    b = server.item(b"b")
    assert b is not None and b.exptime == 0 and b.ttl is None
    assert server.item("missing") is None
    assert set(server.items()) == {"a", "b", "é"}
    assert server.item_count() == 3
    assert server.byte_count() == int(server.stats()["bytes"]) > 0
    assert server.stats("settings")["maxbytes"] == str(64 * 1024 * 1024)
    assert "items:1:number" in server.stats("items")
    assert "active_slabs" in server.stats("slabs")
    with pytest.raises(ValueError):
        server.stats("conns")
    server.flush()
    assert server.item_count() == 0
    assert server.stats()["cmd_set"] == "3"  # flush keeps counters


def test_advance_clock_expires_items(server: MemcachedServer) -> None:
    with RawClient(server.address) as c:
        c.request("set k 0 10 1\r\nv")
        server.advance_clock(9)
        assert server.item("k") is not None
        server.advance_clock(2)
        assert server.item("k") is None
        assert c.request("get k") == b"END\r\n"


def test_command_log(server: MemcachedServer) -> None:
    with RawClient(server.address) as c1, RawClient(server.address) as c2:
        c1.request("set k 0 0 1 noreply\r\nv")
        c1.request("get k")
        c2.request("add k 0 0 1\r\nw")
    log = server.commands()
    assert [(e.client, e.name) for e in log] == [(1, "set"), (1, "get"), (2, "add")]
    assert log[0].noreply and not log[1].noreply
    assert log[0].args == ["k", "0", "0", "1", "noreply"]
    assert log[2].line == b"add k 0 0 1"
    assert server.command_names() == ["set", "get", "add"]
    server.clear_command_log()
    assert server.commands() == []


def test_reset_makes_the_server_fresh(server: MemcachedServer) -> None:
    pid = server.pid
    c = RawClient(server.address)
    c.request("set k 0 0 1\r\nv")
    c.request("cache_memlimit 8")
    c.request("watch")  # the connection turns into a log stream
    server.faults.fail("get")
    server.advance_clock(1000)
    server.reset()
    assert server.keys() == [] and server.commands() == []
    stats = server.stats()
    assert stats["cmd_set"] == "0" and stats["curr_connections"] == "0"
    assert stats["total_connections"] == "0"
    assert int(stats["uptime"]) < 5
    assert stats["limit_maxbytes"] == str(64 * 1024 * 1024)
    assert server.pid == pid
    with pytest.raises(ConnectionError):  # old connections are closed
        c.request("version")
    with RawClient(server.address) as fresh:
        assert fresh.request("get k") == b"END\r\n"  # the fault is gone
    assert [e.client for e in server.commands()] == [1]


def test_restart_simulates_a_new_process(server: MemcachedServer) -> None:
    c = RawClient(server.address)
    c.request("set k 0 0 1\r\nv")
    server.advance_clock(500)
    pid = server.pid
    server.restart()
    assert server.pid != pid
    assert server.keys() == []
    stats = server.stats()
    assert int(stats["uptime"]) < 5 and stats["cmd_set"] == "0"
    with pytest.raises(ConnectionError):
        c.request("version")
    assert server.command_names() == ["set"]  # the log is kept


def test_settings_are_passed_through() -> None:
    with MemcachedServer(use_cas=False, item_size_max=1024 * 1024 * 2) as srv:
        stats = srv.stats("settings")
        assert stats["cas_enabled"] == "no"
        assert stats["item_size_max"] == str(2 * 1024 * 1024)
