"""The trio server over real sockets: batching, limits, shutdown, clocks (pytest-trio)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

from pymcd.config import Settings
from pymcd.reactor import Reactor, _SelectorPoller
from pymcd.server import Server, _log_replies


async def _start(nursery: trio.Nursery, **settings: Any) -> Server:
    server = Server(Settings(port=0, **settings))
    await nursery.start(server.serve)
    return server


class Conn:
    """A raw client: send bytes, read an exact reply."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = bytearray()

    @classmethod
    async def open(cls, server: Server) -> Conn:
        return cls(await trio.open_tcp_stream("127.0.0.1", server.port))

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def read(self, size: int) -> bytes:
        with trio.fail_after(5):
            while len(self.buffer) < size:
                chunk = await self.stream.receive_some(65536)
                if not chunk:
                    break
                self.buffer += chunk
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    async def expect(self, reply: bytes) -> None:
        assert await self.read(len(reply)) == reply

    async def closed(self) -> bool:
        with trio.fail_after(5):
            try:
                return await self.stream.receive_some(1) == b""
            except trio.BrokenResourceError:
                return True

    async def stats(self) -> dict[str, str]:
        await self.send(b"stats\r\n")
        text = b""
        with trio.fail_after(5):
            while not text.endswith(b"END\r\n"):
                text += await self.stream.receive_some(65536)
        return dict(line.split(" ", 2)[1:] for line in text.decode().splitlines()[:-1])  # type: ignore[misc]


@pytest.fixture
async def server(nursery: trio.Nursery) -> AsyncIterator[Server]:
    srv = await _start(nursery)
    yield srv
    srv.request_shutdown()


async def test_set_get_roundtrip(server: Server) -> None:
    conn = await Conn.open(server)
    await conn.send(b"set k 3 0 2\r\nhi\r\nget k\r\n")
    await conn.expect(b"STORED\r\nVALUE k 3 2\r\nhi\r\nEND\r\n")


async def test_pipelined_commands_are_answered_in_order(server: Server) -> None:
    conn = await Conn.open(server)
    batch = b"".join(b"set k%d 0 0 1\r\n%d\r\n" % (i, i % 10) for i in range(200))
    batch += b"".join(b"get k%d\r\n" % i for i in range(200))
    await conn.send(batch)
    await conn.expect(b"STORED\r\n" * 200)
    await conn.expect(b"".join(b"VALUE k%d 0 1\r\n%d\r\nEND\r\n" % (i, i % 10) for i in range(200)))
    assert server.counters.conn_yields >= 400 // 20 - 1  # -R 20: yields between slices


async def test_byte_by_byte_delivery(server: Server) -> None:
    conn = await Conn.open(server)
    for byte in b"set k 0 0 5\r\nhello\r\nget k\r\n":
        await conn.send(bytes([byte]))
    await conn.expect(b"STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n")


async def test_mock_clock_drives_expiry(nursery: trio.Nursery, mock_clock: Any) -> None:
    server = await _start(nursery)
    conn = await Conn.open(server)
    await conn.send(b"set k 0 10 1\r\nx\r\n")
    await conn.expect(b"STORED\r\n")
    await trio.testing.wait_all_tasks_blocked()
    mock_clock.jump(9)
    await conn.send(b"get k\r\n")
    await conn.expect(b"VALUE k 0 1\r\nx\r\nEND\r\n")
    mock_clock.jump(2)
    await conn.send(b"get k\r\n")
    await conn.expect(b"END\r\n")
    server.request_shutdown()


async def test_quit_sends_earlier_replies_then_closes(server: Server) -> None:
    conn = await Conn.open(server)
    await conn.send(b"version\r\nquit\r\nversion\r\n")
    await conn.expect(b"VERSION 1.6.18\r\n")
    assert await conn.closed()


async def test_http_request_closes_only_that_connection(server: Server) -> None:
    neighbour = await Conn.open(server)
    await neighbour.send(b"set k 0 0 1\r\nx\r\n")
    await neighbour.expect(b"STORED\r\n")
    bad = await Conn.open(server)
    await bad.send(b"version\r\nGET / HTTP/1.1\r\n")
    assert await bad.closed()  # and the VERSION reply of that read was dropped, as memcached
    await neighbour.send(b"get k\r\n")
    await neighbour.expect(b"VALUE k 0 1\r\nx\r\nEND\r\n")


async def test_overlong_line_closes_connection(server: Server) -> None:
    conn = await Conn.open(server)
    await conn.send(b"set " + b"k" * 3000)
    assert await conn.closed()


async def test_connection_limit(nursery: trio.Nursery) -> None:
    server = await _start(nursery, max_connections=30)  # memcached admits 30 - 4*4 - 8 = 6
    allowed = server.connection_limit()
    conns = [await Conn.open(server) for _ in range(allowed)]
    for conn in conns:
        await conn.send(b"version\r\n")
        await conn.expect(b"VERSION 1.6.18\r\n")
    extra = await Conn.open(server)
    await extra.expect(b"ERROR Too many open connections\r\n")
    assert await extra.closed()
    assert server.counters.rejected_connections == 1
    await conns[0].stream.aclose()
    await trio.sleep(0.05)
    again = await Conn.open(server)
    await again.send(b"version\r\n")
    await again.expect(b"VERSION 1.6.18\r\n")
    server.request_shutdown()


async def test_request_shutdown_closes_connections_and_returns(nursery: trio.Nursery) -> None:
    server = Server(Settings(port=0))
    done = trio.Event()

    async def serve(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        await server.serve(task_status=task_status)
        done.set()

    await nursery.start(serve)
    conn = await Conn.open(server)
    await conn.send(b"version\r\n")
    await conn.expect(b"VERSION 1.6.18\r\n")
    server.request_shutdown()
    with trio.fail_after(2):
        await done.wait()
    assert await conn.closed()


async def test_shutdown_command_needs_dash_a(nursery: trio.Nursery) -> None:
    refused = await _start(nursery)
    conn = await Conn.open(refused)
    await conn.send(b"shutdown\r\n")
    await conn.expect(b"ERROR: shutdown not enabled\r\n")
    refused.request_shutdown()

    allowed = await _start(nursery, enable_shutdown=True)
    conn = await Conn.open(allowed)
    await conn.send(b"shutdown bogus\r\n")
    await conn.expect(b"CLIENT_ERROR invalid shutdown mode\r\n")
    await conn.send(b"shutdown\r\n")
    assert await conn.closed()
    with trio.fail_after(2):
        await allowed.wait_stopped()


async def test_idle_timeout(nursery: trio.Nursery, mock_clock: Any) -> None:
    server = await _start(nursery, idle_timeout=30)
    conn = await Conn.open(server)
    await conn.send(b"version\r\n")
    await conn.expect(b"VERSION 1.6.18\r\n")
    await trio.testing.wait_all_tasks_blocked()  # the server is back in its idle wait
    mock_clock.jump(31)
    assert await conn.closed()
    server.request_shutdown()


async def test_unix_socket(nursery: trio.Nursery, tmp_path: Any) -> None:
    path = str(tmp_path / "mc.sock")
    server = await _start(nursery, unix_socket=path)
    assert server.addresses == [path]
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o700)
    stream = await trio.open_unix_socket(path)
    conn = Conn(stream)  # type: ignore[arg-type]
    await conn.send(b"version\r\n")
    await conn.expect(b"VERSION 1.6.18\r\n")
    server.request_shutdown()
    await server.wait_stopped()
    assert not os.path.exists(path)


async def test_counters_for_connections_and_bytes(server: Server) -> None:
    conn = await Conn.open(server)
    stats = await conn.stats()
    assert stats["curr_connections"] == "1"
    assert int(stats["total_connections"]) >= 1
    before = int(stats["bytes_read"])
    await conn.send(b"get nope\r\n")
    await conn.expect(b"END\r\n")
    assert int((await conn.stats())["bytes_read"]) == before + len(b"get nope\r\n") + len(
        b"stats\r\n"
    )


async def test_large_pipelined_reply_is_sent_in_parts(server: Server) -> None:
    conn = await Conn.open(server)
    value = b"v" * 500_000
    await conn.send(b"set big 0 0 %d\r\n%b\r\n" % (len(value), value))
    await conn.expect(b"STORED\r\n")
    await conn.send(b"get big\r\n" * 6)
    reply = b"VALUE big 0 %d\r\n%b\r\nEND\r\n" % (len(value), value)
    for _ in range(6):
        await conn.expect(reply)


# -- the reactor and the slow path ------------------------------------------------------------


async def test_reads_of_one_round_that_close_detach_or_answer(server: Server) -> None:
    """Requests that arrive together are read in one reactor round, then run: a client that
    quits, one closed for a bad request and one whose pipeline exceeds -R leave the round, and
    the others in it are answered all the same."""
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
    conns = [Conn(trio.SocketStream(trio.socket.from_stdlib_socket(sock))) for sock in socks]
    for conn in conns:  # each attached to the reactor
        await conn.send(b"version\r\n")
        await conn.expect(b"VERSION 1.6.18\r\n")
    requests = [
        b"set a 0 0 1\r\nx\r\nget a\r\n",
        b"quit\r\n",
        b"version\r\n" * 50,
        b"GET / HTTP/1.1\r\n",
        b"get nope\r\nversion\r\n",
    ]
    for sock, request in zip(socks, requests, strict=True):
        sock.send(request)  # no checkpoint in between: the server sees them all at once
    await conns[0].expect(b"STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n")
    assert await conns[1].closed()
    await conns[2].expect(b"VERSION 1.6.18\r\n" * 50)
    assert await conns[3].closed()
    await conns[4].expect(b"END\r\nVERSION 1.6.18\r\n")
    for conn in (conns[0], conns[2], conns[4]):  # and served again afterwards
        await conn.send(b"get a\r\n")
        await conn.expect(b"VALUE a 0 1\r\nx\r\nEND\r\n")
    for conn in conns:
        await conn.stream.aclose()


async def _open_slow_reader(server: Server) -> Conn:
    """A client with a tiny receive buffer, so a big reply cannot be sent at once."""
    sock = trio.socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await sock.connect(("127.0.0.1", server.port))
    return Conn(trio.SocketStream(sock))


async def _store_big_values(server: Server, count: int) -> bytes:
    """Store ``count`` values of 1 MB; the multi-get of them all, and its whole reply."""
    loader = await Conn.open(server)
    value = b"v" * 1_000_000
    for i in range(count):
        await loader.send(b"set big%d 0 0 %d\r\n%b\r\n" % (i, len(value), value))
        await loader.expect(b"STORED\r\n")
    await loader.stream.aclose()
    keys = [b"big%d" % i for i in range(count)]
    request = b"get " + b" ".join(keys) + b"\r\n"
    reply = b"".join(b"VALUE %b 0 %d\r\n%b\r\n" % (k, len(value), value) for k in keys)
    return request, reply + b"END\r\n"  # type: ignore[return-value]


async def test_a_client_that_does_not_read_does_not_stall_the_others(server: Server) -> None:
    request, reply = await _store_big_values(server, 12)  # type: ignore[misc]
    slow = await _open_slow_reader(server)
    await slow.send(request)  # one command, a 12 MB reply: its send must wait for the reader
    await trio.testing.wait_all_tasks_blocked()
    other = await Conn.open(server)
    for _ in range(3):
        await other.send(b"get big0 nope\r\nversion\r\n")
        await other.expect(b"VALUE big0 0 1000000\r\n" + b"v" * 1_000_000 + b"\r\n")
        await other.expect(b"END\r\nVERSION 1.6.18\r\n")
    await slow.expect(reply)  # all of it, in order, once the client reads
    await slow.send(b"version\r\n")  # and the connection is served again afterwards
    await slow.expect(b"VERSION 1.6.18\r\n")


async def test_a_scattered_reply_cut_anywhere_arrives_whole(server: Server) -> None:
    """Values large enough for sendmsg, a reader too slow to take them at once: whatever part
    the kernel stops in, the rest follows in order."""
    loader = await Conn.open(server)
    values = {b"k%d" % i: bytes([65 + i % 26]) * (1536 + 97 * i) for i in range(300)}
    for key, value in values.items():
        await loader.send(b"set %b 3 0 %d noreply\r\n%b\r\n" % (key, len(value), value))
    await loader.send(b"mn\r\n")
    await loader.expect(b"MN\r\n")
    slow = await _open_slow_reader(server)
    await slow.send(b"get " + b" ".join(values) + b"\r\n")
    await trio.testing.wait_all_tasks_blocked()
    for key, value in values.items():
        await slow.expect(b"VALUE %b 3 %d\r\n%b\r\n" % (key, len(value), value))
    await slow.expect(b"END\r\n")
    sent = int((await loader.stats())["bytes_written"])
    assert sent > sum(map(len, values.values()))


async def test_shutdown_finishes_a_reply_in_flight_then_closes(nursery: trio.Nursery) -> None:
    server = await _start(nursery)
    request, reply = await _store_big_values(server, 12)  # type: ignore[misc]
    slow = await _open_slow_reader(server)
    idle = await Conn.open(server)
    await slow.send(request)
    await trio.testing.wait_all_tasks_blocked()  # the reply is stuck in the socket
    server.request_shutdown()
    assert await idle.closed()  # between batches: closed at once
    await slow.expect(reply)  # in flight: finished within the grace time
    assert await slow.closed()
    with trio.fail_after(5):
        await server.wait_stopped()
    assert server.sessions == {}
    assert server.counters.curr_connections == 0


async def test_close_connections_closes_idle_and_blocked_ones(server: Server) -> None:
    request, _ = await _store_big_values(server, 12)  # type: ignore[misc]
    slow = await _open_slow_reader(server)
    idle = await Conn.open(server)
    await idle.send(b"version\r\n")
    await idle.expect(b"VERSION 1.6.18\r\n")
    await slow.send(request)
    await trio.testing.wait_all_tasks_blocked()
    server.close_connections()
    assert await idle.closed()
    with trio.fail_after(5):
        while await slow.stream.receive_some(1 << 20):  # part of the reply, then the end
            pass
    await trio.testing.wait_all_tasks_blocked()
    assert server.sessions == {}
    assert server.counters.curr_connections == 0
    fresh = await Conn.open(server)  # the listener stays open
    await fresh.send(b"version\r\n")
    await fresh.expect(b"VERSION 1.6.18\r\n")


async def test_idle_timeout_spares_active_connections(
    nursery: trio.Nursery, mock_clock: Any
) -> None:
    server = await _start(nursery, idle_timeout=30)
    idle = await Conn.open(server)
    active = await Conn.open(server)
    for conn in (idle, active):
        await conn.send(b"version\r\n")
        await conn.expect(b"VERSION 1.6.18\r\n")
    await trio.testing.wait_all_tasks_blocked()
    mock_clock.jump(20)
    await active.send(b"version\r\n")
    await active.expect(b"VERSION 1.6.18\r\n")
    await trio.testing.wait_all_tasks_blocked()
    mock_clock.jump(15)  # idle: 35 s without a command; active: 15 s
    assert await idle.closed()
    await active.send(b"version\r\n")
    await active.expect(b"VERSION 1.6.18\r\n")
    assert server.counters.idle_kicks == 1
    assert (await active.stats())["idle_kicks"] == "1"
    server.request_shutdown()


async def test_pipeline_over_r_then_quit_sends_everything_before_closing(server: Server) -> None:
    conn = await Conn.open(server)
    await conn.send(b"version\r\n" * 50 + b"quit\r\nversion\r\n")
    await conn.expect(b"VERSION 1.6.18\r\n" * 50)
    assert await conn.closed()


@pytest.mark.parametrize("poller", ["epoll", "selectors"])
async def test_reactor_serves_ready_connections_in_turn_and_lets_other_tasks_run(
    poller: str,
) -> None:
    served: list[str] = []
    pairs = [socket.socketpair() for _ in range(2)]
    for writer, _ in pairs:
        writer.send(b"x")  # never read: level-triggered, both stay readable
    reactor: Reactor[str] = Reactor(
        served.append,
        max_events=1,
        poller=_SelectorPoller() if poller == "selectors" else None,
    )
    reactor.add(pairs[0][1].fileno(), "a")
    reactor.add(pairs[1][1].fileno(), "b")
    ticks = 0
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(reactor.run)
            while len(served) < 40:
                ticks += 1  # this task runs between the reactor's rounds
                await trio.sleep(0)
            nursery.cancel_scope.cancel()
    reactor.remove(pairs[0][1].fileno())
    reactor.remove(pairs[1][1].fileno())
    reactor.close()
    for pair in pairs:
        for sock in pair:
            sock.close()
    assert served.count("a") >= 19 and served.count("b") >= 19
    assert ticks >= 19


async def test_reactor_hands_idle_connections_to_on_idle(mock_clock: Any) -> None:
    writer, reader = socket.socketpair()
    expired: list[str] = []
    reactor: Reactor[str] = Reactor(
        lambda name: None,
        idle_timeout=10,
        on_idle=lambda name: (expired.append(name), reactor.remove(reader.fileno())),
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(reactor.run)
        reactor.add(reader.fileno(), "r")
        await trio.testing.wait_all_tasks_blocked()
        mock_clock.jump(9)
        await trio.testing.wait_all_tasks_blocked()
        assert expired == []
        mock_clock.jump(2)
        await trio.testing.wait_all_tasks_blocked()
        assert expired == ["r"]
        nursery.cancel_scope.cancel()
    reactor.close()
    writer.close()
    reader.close()


def test_verbose_reply_lines_name_each_key_sent(caplog: pytest.LogCaptureFixture) -> None:
    """memcached -vv: ``>fd sending key K`` per hit, whether the header and data block are one
    part (an item in reply form) or two, and a block that looks like a header is not one."""
    parts = [
        b"VALUE small 0 1\r\nx\r\n",
        b"VALUE big 0 14\r\n",
        b"VALUE fake 0 1\r\n",  # the data block of "big"
        b"END\r\nSTORED\r\n",
    ]
    with caplog.at_level(logging.DEBUG, logger="pymcd"):
        _log_replies(5, parts)
    assert [r.getMessage() for r in caplog.records] == [
        ">5 sending key small",
        ">5 sending key big",
        ">5 END",
        ">5 STORED",
    ]


async def test_lines_logged_at_vv_stop_being_kept_once_verbosity_drops(server: Server) -> None:
    """At -vv the parser keeps each command line for the log; after ``verbosity 0`` it must
    keep none (they were never cleared again: a leak, and the parser's fast paths off)."""
    conn = await Conn.open(server)
    await conn.send(b"verbosity 2\r\n")
    await conn.expect(b"OK\r\n")
    await conn.send(b"get a\r\n")
    await conn.expect(b"END\r\n")
    await conn.send(b"verbosity 0\r\n")
    await conn.expect(b"OK\r\n")
    for _ in range(3):
        await conn.send(b"get a\r\nget b\r\n")
        await conn.expect(b"END\r\nEND\r\n")
    assert server._reactor is not None
    (served,) = server._reactor.connections()
    assert not served.parser.lines
    await conn.stream.aclose()
