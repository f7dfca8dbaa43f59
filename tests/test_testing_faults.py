"""Fault injection of pymcd.testing: each fault on, observed by a raw client, then off."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from pymcd.protocol import TextParser
from pymcd.testing import MemcachedServer, RawClient
from pymcd.testing.faults import command_name


@pytest.fixture
def server() -> Iterator[MemcachedServer]:
    with MemcachedServer() as srv:
        yield srv


@pytest.fixture
def client(server: MemcachedServer) -> Iterator[RawClient]:
    with RawClient(server.address) as c:
        yield c


def test_fail_answers_the_named_commands_without_running_them(
    server: MemcachedServer, client: RawClient
) -> None:
    fault = server.faults.fail("set", "add")
    assert client.request("set k 0 0 1\r\nv") == b"SERVER_ERROR out of memory storing object\r\n"
    assert client.request("add k 0 0 1\r\nv") == b"SERVER_ERROR out of memory storing object\r\n"
    assert client.request("set k 0 0 1 noreply\r\nv") == b""  # noreply stays silent
    assert client.request("get k") == b"END\r\n"
    assert server.keys() == []
    fault.off()
    fault.off()  # idempotent
    assert client.request("set k 0 0 1\r\nv") == b"STORED\r\n"


def test_fail_meta_commands_by_name(server: MemcachedServer, client: RawClient) -> None:
    server.faults.fail("ms", "mg", reply="SERVER_ERROR busy", times=2)
    assert client.request("ms k 1\r\nv") == b"SERVER_ERROR busy\r\n"
    assert client.request("mg k v") == b"SERVER_ERROR busy\r\n"
    assert client.request("mg k v") == b"EN\r\n"


def test_fail_with_a_reply_and_a_count(server: MemcachedServer, client: RawClient) -> None:
    server.faults.fail("get", "gets", reply="SERVER_ERROR busy", times=2)
    assert client.request("get k") == b"SERVER_ERROR busy\r\n"
    assert client.request("gets k") == b"SERVER_ERROR busy\r\n"
    assert client.request("get k") == b"END\r\n"


def test_fail_every_command_in_a_pipeline(server: MemcachedServer, client: RawClient) -> None:
    with server.faults.fail(reply=b"ERROR\r\n"):
        client.send(b"version\r\nbogus\r\nget a\r\n")
        assert client.read_exactly(21) == b"ERROR\r\nERROR\r\nERROR\r\n"
    assert client.request("version") == b"VERSION 1.6.18\r\n"


def test_delay_replies(server: MemcachedServer, client: RawClient) -> None:
    with server.faults.delay_replies(0.2):
        t0 = time.monotonic()
        assert client.request("version") == b"VERSION 1.6.18\r\n"
        assert time.monotonic() - t0 >= 0.2
    t0 = time.monotonic()
    client.request("version")
    assert time.monotonic() - t0 < 0.1
    with pytest.raises(ValueError):
        server.faults.delay_replies(-1)


def test_close_after(server: MemcachedServer, client: RawClient) -> None:
    fault = server.faults.close_after(2)
    client.send(b"version\r\nversion\r\nversion\r\n")  # answered twice, then closed
    assert client.read_exactly(32) == b"VERSION 1.6.18\r\n" * 2
    with pytest.raises(ConnectionError):
        client.read_line()
    fault.off()
    with RawClient(server.address) as again:
        for _ in range(3):
            assert again.request("version") == b"VERSION 1.6.18\r\n"
    with pytest.raises(ValueError):
        server.faults.close_after(0)


def test_close_connections_now(server: MemcachedServer, client: RawClient) -> None:
    client.request("version")
    server.faults.close_connections()
    assert server.stats()["curr_connections"] == "0"
    with pytest.raises(ConnectionError):
        client.request("version")
    with RawClient(server.address) as fresh:
        assert fresh.request("version") == b"VERSION 1.6.18\r\n"


def test_refuse_connections(server: MemcachedServer, client: RawClient) -> None:
    client.request("version")  # accepted before the fault (a pending connect counts as new)
    with server.faults.refuse_connections():
        with pytest.raises(OSError):
            RawClient(server.address).request("version")
        assert client.request("version") == b"VERSION 1.6.18\r\n"  # open ones stay
    with RawClient(server.address) as fresh:
        assert fresh.request("version") == b"VERSION 1.6.18\r\n"


def test_clear_switches_everything_off(server: MemcachedServer, client: RawClient) -> None:
    server.faults.fail("version")
    server.faults.close_after(1)
    server.faults.delay_replies(5)
    server.faults.refuse_connections()
    server.faults.clear()
    assert client.request("version") == b"VERSION 1.6.18\r\n"
    assert client.request("version") == b"VERSION 1.6.18\r\n"
    socket.create_connection((server.host, server.port)).close()


def test_command_names() -> None:
    parser = TextParser(debugtime_enabled=True)
    parser.receive_data(
        b"get a\r\ngets a\r\ngat 1 a\r\ngats 1 a\r\nset a 0 0 1\r\nv\r\ncas a 0 0 1 5\r\nv\r\n"
        b"incr a 1\r\ndecr a 1\r\ndelete a\r\ntouch a 1\r\nflush_all\r\nstats\r\n"
        b"lru_crawler metadump all\r\ndebugtime 5\r\nversion\r\nverbosity 1\r\n"
        b"cache_memlimit 100\r\nshutdown\r\nbogus\r\nquit\r\n"
    )
    names = [command_name(c) for c in parser.commands()]
    assert names == [
        "get", "gets", "gat", "gats", "set", "cas", "incr", "decr", "delete", "touch",
        "flush_all", "stats", "lru_crawler", "debugtime", "version", "verbosity",
        "cache_memlimit", "shutdown", None, "quit",
    ]  # fmt: skip
