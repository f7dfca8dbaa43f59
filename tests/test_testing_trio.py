"""pymcd.testing in the caller's trio loop: trio's MockClock drives expiry and delays."""

from __future__ import annotations

import functools

import pytest
import trio
import trio.testing

from pymcd.testing import TrioMemcachedServer, open_memcached_server, serve_memcached


async def request(stream: trio.SocketStream, data: bytes, size: int) -> bytes:
    got = b""
    try:
        await stream.send_all(data)
        while len(got) < size:
            chunk = await stream.receive_some()
            if not chunk:
                break
            got += chunk
    except trio.BrokenResourceError:  # reset by the server
        pass
    return got


async def test_autojump_clock_expires_items(autojump_clock: trio.testing.MockClock) -> None:
    async with open_memcached_server(memory_limit=8 * 1024 * 1024) as server:
        stream = await trio.open_tcp_stream(server.host, server.port)
        assert await request(stream, b"set k 0 10 1\r\nv\r\n", 8) == b"STORED\r\n"
        assert server.item("k") is not None
        await trio.sleep(11)
        assert server.keys() == []
        assert await request(stream, b"get k\r\n", 5) == b"END\r\n"
        await stream.aclose()


async def test_advance_clock_and_inspection() -> None:
    async with open_memcached_server() as server:
        stream = await trio.open_tcp_stream(server.host, server.port)
        await request(stream, b"set k 3 10 1\r\nv\r\n", 8)
        item = server.item("k")
        assert item is not None and item.flags == 3 and item.ttl == 10
        server.advance_clock(11)
        assert server.item_count() == 0
        assert server.command_names() == ["set"]
        await stream.aclose()


async def test_faults_in_virtual_time(autojump_clock: trio.testing.MockClock) -> None:
    async with open_memcached_server() as server:
        stream = await trio.open_tcp_stream(server.host, server.port)
        with server.faults.delay_replies(30):
            start = trio.current_time()
            assert await request(stream, b"version\r\n", 16) == b"VERSION 1.6.18\r\n"
            assert trio.current_time() - start >= 30
        with server.faults.fail("get"):
            reply = await request(stream, b"get k\r\n", 43)
            assert reply == b"SERVER_ERROR out of memory storing object\r\n"
        pid = server.pid
        server.restart()
        assert server.pid != pid
        assert await request(stream, b"version\r\n", 1) == b""  # closed by the restart
        await stream.aclose()


async def test_nursery_start_and_stop() -> None:
    async with trio.open_nursery() as nursery:
        server: TrioMemcachedServer = await nursery.start(
            functools.partial(serve_memcached, use_cas=False)
        )
        assert server.port and server.stats("settings")["cas_enabled"] == "no"
        server.reset()
        server.stop()
    with pytest.raises(OSError):
        await trio.open_tcp_stream(server.host, server.port)
