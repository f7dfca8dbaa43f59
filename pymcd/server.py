"""The trio server: listeners, the reactor that serves the clients, limits, graceful shutdown.

This is the only module on the data path that does I/O (with :mod:`pymcd.reactor`, which only
multiplexes). One reactor task serves every client between batches: per readable socket it
reads once, feeds the parser and runs every complete command, without awaiting; the replies of
a round go out together after it, one send per connection (back to back, a send finds the
client already awake more often). Work that must await (a reply the socket cannot take whole,
a pipeline longer than ``-R``, which yields every R commands as memcached's
``reqs_per_event``, a test's reply delay) moves the connection to a task of its own until that
read is done.

Conventions:
- :meth:`Server.serve` is ``nursery.start``-able: ``task_status.started()`` receives the server
  once every listener is bound, with the real addresses in ``server.addresses`` (port 0 works).
- A connection over ``-c`` is answered ``ERROR Too many open connections`` and closed.
- Shutdown (``request_shutdown``, SIGTERM/SIGINT via :func:`run`, or ``shutdown`` with -A)
  stops accepting at once; connections finish the batch in flight, then close; whatever is
  still running after ``grace`` seconds is cancelled.
- Test-time instrumentation (:class:`ServerHooks`, supplied by :mod:`pymcd.testing`; a daemon
  has none) is consulted once per accepted connection and once per read, never per command.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import socket as stdsocket
import struct
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import trio

from pymcd.clock import Clock, ServerTime
from pymcd.config import Settings
from pymcd.dispatch import Dispatcher, Session
from pymcd.logging_setup import handler_installed, set_verbosity
from pymcd.protocol import TextParser
from pymcd.protocol import commands as C
from pymcd.protocol.responses import TOO_MANY_CONNECTIONS
from pymcd.reactor import Reactor
from pymcd.stats import (
    CONN_LISTENING,
    CONN_NEW_CMD,
    CONN_PARSE_CMD,
    CONN_READ,
    UNIX_PEER_ADDR,
    ConnInfo,
    ServerCounters,
    inet_addr_text,
    unix_addr_text,
)
from pymcd.store import Store

log = logging.getLogger("pymcd")

READ_SIZE = 65536
MAX_PENDING_OUTPUT = 1024 * 1024  # send early rather than buffer a huge pipelined reply
VERBOSE_COMMANDS = 2  # memcached prints commands and replies at -vv
# A reply of large values goes out with sendmsg, saving the copy a join makes; the kernel's
# cost per buffer makes that a loss below about this many bytes per part (measured).
SCATTER_MIN_PART = 1536
IOV_MAX = 1024  # sendmsg's buffer limit on Linux; longer replies are joined

Address = tuple[str, int] | str
Data = bytes | memoryview


class ServerHooks(Protocol):
    """Test-time instrumentation of a :class:`Server` (fault injection, command log).

    Every method runs in the server's trio thread. ``refuse_connections`` is read per accepted
    connection (True: reset it at once); ``batch`` is called once per read with the raw command
    lines that read completed and its parsed commands, and returns the commands to run instead
    (it may replace some by a ``Reply`` or end with a ``Quit``); then, if ``reply_delay`` is
    positive, the connection sleeps that long before running them.
    """

    refuse_connections: bool
    reply_delay: float

    def connected(self, session: Session) -> None: ...

    def batch(self, session: Session, lines: list[bytes], commands: list[Any]) -> list[Any]: ...

    def disconnected(self, session: Session) -> None: ...


class Server:
    """One pymcd instance: settings, store, dispatcher, and the connections it serves."""

    def __init__(
        self, settings: Settings, *, clock: Clock | None = None, hooks: ServerHooks | None = None
    ) -> None:
        self.settings = settings
        self.hooks = hooks  # fixed before serve(); see ServerHooks
        self._clock = clock
        self.time: ServerTime | None = None
        self.store: Store | None = None
        self.dispatcher: Dispatcher | None = None
        self.counters = ServerCounters()
        self.sessions: dict[int, Session] = {}
        self.addresses: list[Address] = []
        self._listen_fds: list[tuple[int, str]] = []
        self._started_at = 0
        self._shutdown = trio.Event()
        self._grace = 1.0
        self._stopped = trio.Event()
        self._reactor: Reactor[_Connection] | None = None
        self._reactor_scope = trio.CancelScope()  # cancelled at shutdown
        self._handlers: trio.Nursery | None = None  # runs the slow paths
        self._batches: set[trio.CancelScope] = set()
        self._reads: list[tuple[_Connection, bytes]] = []  # the reactor round's reads
        # The round's replies: (connection, reply parts, whether to close it once they are sent)
        self._replies: list[tuple[_Connection, list[bytes], bool]] = []
        self._reqs_per_event = max(settings.reqs_per_event, 1)
        if clock is not None:
            self._build(clock)

    def _build(self, clock: Clock) -> None:
        self.time = ServerTime(clock)
        self.store = Store(self.settings, self.time)
        self.dispatcher = Dispatcher(
            self.settings,
            self.store,
            counters=self.counters,
            on_shutdown=self._shutdown_command,
            connections=self._conn_infos,
            # `verbosity` moves the logger's level only when the CLI configured pymcd's logging
            on_verbosity=set_verbosity if handler_installed() else None,
        )

    def _conn_infos(self, asking: Session) -> list[ConnInfo]:
        """Listeners and clients for ``stats conns``, in memcached's states."""
        infos = [
            ConnInfo(fd=fd, addr=name, state=CONN_LISTENING, last_cmd_time=self._started_at)
            for fd, name in self._listen_fds
        ]
        for session in self.sessions.values():
            if session is asking:
                state = CONN_PARSE_CMD
            else:
                state = CONN_NEW_CMD if session.fresh else CONN_READ
            infos.append(
                ConnInfo(
                    fd=session.fd,
                    addr=session.address,
                    state=state,
                    last_cmd_time=session.last_cmd_time,
                    listen_addr=session.listen_address,
                )
            )
        return infos

    @property
    def port(self) -> int:
        """The first TCP port listened on (0 when serving only a unix socket)."""
        for address in self.addresses:
            if isinstance(address, tuple):
                return address[1]
        return 0

    # -- lifecycle -----------------------------------------------------------------------

    def request_shutdown(self, graceful: bool = True) -> None:
        """Stop accepting; connections finish their batch in flight. Safe to call twice.

        Must be called from the server's trio thread (the testing layer wraps it).
        """
        self._shutdown.set()
        self._reactor_scope.cancel()  # at its next turn it closes the idle connections
        deadline = trio.current_time() + self._grace
        for batch in list(self._batches):
            batch.deadline = min(batch.deadline, deadline)

    def close_connections(self) -> None:
        """Close every client connection now; listeners stay open. Safe to call any time.

        Must be called from the server's trio thread, not from a command. A connection between
        batches closes at once; one in the middle of a batch that had to await is cancelled, so
        its replies may be lost, and is gone once its task next runs.
        """
        self._close_attached()
        for batch in list(self._batches):
            batch.cancel()

    async def wait_stopped(self) -> None:
        """Return once :meth:`serve` has closed every connection and listener."""
        await self._stopped.wait()

    def _shutdown_command(self, graceful: bool) -> None:
        log.info("shutdown requested by a client (%s)", "graceful" if graceful else "now")
        self.request_shutdown(graceful)

    async def serve(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Listen and serve until :meth:`request_shutdown`; see the module docstring."""
        if self.store is None:
            # trio.current_time without its per-call lookup of the run's clock (read per batch)
            clock = self._clock
            if clock is None:
                clock = trio.lowlevel.current_clock().current_time
            self._build(clock)
        listeners = await self._open_listeners()
        if self.settings.verbose >= VERBOSE_COMMANDS:
            assert self.store is not None
            for clsid, chunk_size, per_page in self.store.slab_classes():
                log.debug("slab class %3d: chunk size %9d perslab %7d", clsid, chunk_size, per_page)
            for name in self._listen_fds:
                log.debug("<%d server listening (auto-negotiate)", name[0])
        assert self.time is not None and self.dispatcher is not None
        self._started_at = self.time.current_time
        if not self.settings.unix_socket:
            self.dispatcher.tcpport = self.port
        reactor: Reactor[_Connection] = Reactor(
            self._serve,
            after_round=self._finish_round,
            idle_timeout=self.settings.idle_timeout,
            on_idle=self._close_idle,
        )
        self._reactor = reactor
        try:
            async with trio.open_nursery() as handlers:
                self._handlers = handlers
                handlers.start_soon(self._run_reactor, reactor)
                async with trio.open_nursery() as acceptors:
                    for listener in listeners:
                        acceptors.start_soon(self._accept_loop, listener, handlers)
                    task_status.started(self)
                    await self._shutdown.wait()
                    acceptors.cancel_scope.cancel()
                handlers.cancel_scope.deadline = trio.current_time() + self._grace
        finally:
            self._close_attached()
            reactor.close()
            for listener in listeners:
                with trio.CancelScope(shield=True):
                    await listener.aclose()
            if self.settings.unix_socket:
                _unlink_quietly(self.settings.unix_socket)
            self._stopped.set()

    async def _run_reactor(self, reactor: Reactor[_Connection]) -> None:
        with self._reactor_scope:
            await reactor.run()
        # Shutdown: connections between batches close now, the others when their batch is done.
        self._close_attached()

    def _close_attached(self) -> None:
        if self._reactor is not None:
            for conn in self._reactor.connections():
                self._close(conn)

    async def _open_listeners(self) -> list[trio.SocketListener]:
        settings = self.settings
        listeners: list[trio.SocketListener] = []
        if settings.unix_socket:
            listeners.append(await _open_unix_listener(settings))
        else:
            pairs: list[tuple[str | None, int]] = list(settings.listen_addresses)
            if not pairs:
                hosts = [h.strip() for h in settings.interface.split(",") if h.strip()]
                pairs = [(host, settings.port) for host in hosts or ["127.0.0.1"]]
            chosen = 0  # with port 0, every interface shares the first free port picked
            for host, port in pairs:
                opened = await trio.open_tcp_listeners(
                    port or chosen, host=host, backlog=settings.backlog
                )
                listeners.extend(opened)
                if port == 0 and not chosen and opened:
                    chosen = opened[0].socket.getsockname()[1]
        for listener in listeners:
            sock = listener.socket
            name = sock.getsockname()
            if sock.family == stdsocket.AF_UNIX:
                self.addresses.append(name)
                self._listen_fds.append((sock.fileno(), unix_addr_text(name)))
            else:
                self.addresses.append((name[0], name[1]))
                self._listen_fds.append((sock.fileno(), inet_addr_text(name[0], name[1])))
        return listeners

    # -- connections ---------------------------------------------------------------------

    async def _accept_loop(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        counters = self.counters
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    counters.listen_disabled_num += 1
                    log.warning("Too many open connections")
                    await trio.sleep(0.01)
                    continue
                raise
            hooks = self.hooks
            if hooks is not None and hooks.refuse_connections:
                nursery.start_soon(_reset_connection, stream)
                continue
            counters.total_connections += 1
            if counters.curr_connections >= self.connection_limit():
                counters.rejected_connections += 1
                nursery.start_soon(self._reject, stream)
                continue
            counters.curr_connections += 1
            self._open(stream)

    def connection_limit(self) -> int:
        """How many clients memcached 1.6.18 admits under ``-c N -t T``: N - 4*T - 8.

        memcached counts its own descriptors (stdio, listeners, per-thread pipes and event
        fds) against -c; measured on the real binary (conformance/test_connection_limits.py).
        """
        settings = self.settings
        return max(settings.max_connections - 4 * settings.num_threads - 8, 0)

    async def _reject(self, stream: trio.SocketStream) -> None:
        with trio.move_on_after(1):
            with contextlib.suppress(trio.BrokenResourceError):
                await stream.send_all(TOO_MANY_CONNECTIONS)
        await trio.aclose_forcefully(stream)

    def _open(self, stream: trio.SocketStream) -> None:
        """Take an accepted client off trio's stream wrapper and attach it to the reactor."""
        tsock = stream.socket
        fd = tsock.fileno()
        session = Session(fd, _peer_name(tsock), _local_name(tsock))
        if self.settings.tcp_nodelay and tsock.family != stdsocket.AF_UNIX:
            _set_nodelay(tsock)
        sock = stdsocket.socket(fileno=tsock.detach())
        sock.setblocking(False)
        assert self.time is not None and self.dispatcher is not None
        session.last_cmd_time = self.time.update()
        parser = TextParser(
            item_size_max=self.settings.item_size_max, debugtime_enabled=self.settings.debugtime
        )
        conn = _Connection(sock, session, parser)
        self.sessions[fd] = session
        if self.hooks is not None:
            parser.lines = []
            self.hooks.connected(session)
        if self.dispatcher.verbosity >= VERBOSE_COMMANDS:
            log.debug("<%d new auto-negotiating client connection", fd)
        assert self._reactor is not None
        self._reactor.add(fd, conn)

    def _serve(self, conn: _Connection) -> None:
        """The reactor's callback for a readable client: one read, queued for
        :meth:`_finish_round`."""
        try:
            data = conn.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            self._close(conn)  # reset by the peer
            return
        self._reads.append((conn, data))

    def _finish_round(self) -> None:
        """The reactor's round is read: run every read's commands, then send the replies.

        Why reads, then commands, then sends: each phase runs back to back, with its code and
        data still in the CPU's caches (the kernel's network path evicts the interpreter's).
        """
        reads = self._reads
        if reads:
            self._reads = []
            assert self.time is not None
            self.time.update()  # once a round, not per read: memcached's clock ticks each second
            for conn, data in reads:
                self._handle(conn, data)
        self._send_replies()

    def _handle(self, conn: _Connection, data: bytes) -> None:
        """One read's commands; the reply is queued for :meth:`_send_replies`.

        No await: whatever must wait (a pipeline longer than -R, a test's reply delay) is
        finished by a task of its own, :meth:`_slow_path`.
        """
        self.counters.bytes_read += len(data)
        dispatcher = self.dispatcher
        assert dispatcher is not None
        if self.hooks is None and dispatcher.verbosity < VERBOSE_COMMANDS:
            parser = conn.parser
            if parser.lines is not None:  # kept for -vv's log, which is off again
                parser.lines = None
            key = parser.single_get(data)
            if key is not None:  # the read is one plain get: the request/response hot path
                out = dispatcher.get_one(key, conn.session, time_updated=True)
                if out:  # else a watcher's
                    self._replies.append((conn, out, False))
                return
            parser.receive_data(data)
            commands = parser.commands()
            requests = len(commands) + parser.folded_gets
        else:
            commands = self._instrumented_commands(conn, data)
            requests = len(commands)
            if commands and self.hooks is not None and self.hooks.reply_delay > 0:
                self._detach(conn, commands, b"", eof=not data)
                return
        session = conn.session
        if commands:
            if requests > self._reqs_per_event:
                self._detach(conn, commands, b"", eof=not data)
                return
            out = dispatcher.execute(commands, session, time_updated=True)
            # On a close the dispatcher has already dropped what memcached drops.
            if out:
                close = not data or session.closing or session.close_after_write
                self._replies.append((conn, out, close))
                return
            if session.closing or session.close_after_write:
                self._close(conn)
                return
        if not data:
            self._close(conn)

    def _send_replies(self) -> None:
        """The replies of the reactor's round, back to back; a reply the socket cannot take
        whole is finished by :meth:`_slow_path`."""
        replies = self._replies
        if not replies:
            return
        self._replies = []
        for conn, out, close in replies:
            rest = self._write(conn, out)
            if rest is None:
                self._close(conn)
            elif rest:
                self._detach(conn, [], rest, eof=close)  # the slow path closes it once sent
            elif close:
                self._close(conn)

    def _instrumented_commands(self, conn: _Connection, data: bytes) -> list[Any]:
        """The parser's commands for one read, as -vv logs them and the test hooks see them."""
        parser = conn.parser
        assert self.dispatcher is not None
        verbose = self.dispatcher.verbosity >= VERBOSE_COMMANDS
        if verbose and parser.lines is None:
            parser.lines = []
        parser.receive_data(data)
        commands = C.unfold(parser.commands())  # the hooks see one command per line
        lines = parser.lines
        hooks = self.hooks
        if hooks is not None:
            commands = hooks.batch(conn.session, lines or [], commands)
        if lines:
            if verbose:
                for line in lines:
                    log.debug("<%d %s", conn.fd, line.decode("latin-1"))
            lines.clear()
        return commands

    def _detach(self, conn: _Connection, commands: list[Any], unsent: Data, *, eof: bool) -> None:
        assert self._reactor is not None and self._handlers is not None
        self._reactor.remove(conn.fd)
        self._handlers.start_soon(self._slow_path, conn, commands, unsent, eof)

    async def _slow_path(
        self, conn: _Connection, commands: list[Any], unsent: Data, eof: bool
    ) -> None:
        """Finish a read's work that must await: send ``unsent``, or run ``commands``. Then
        the connection goes back to the reactor, or closes. At shutdown the work in flight
        still finishes, within the grace time."""
        session = conn.session
        keep_open = False  # unless the work completes
        with self._in_flight() as batch:
            if unsent:
                sent = await self._flush(conn.sock, unsent)
                keep_open = sent and not (session.closing or session.close_after_write)
            else:
                hooks = self.hooks
                if hooks is not None and hooks.reply_delay > 0:
                    await trio.sleep(hooks.reply_delay)
                keep_open = await self._run(commands, conn)
        reactor = self._reactor
        if (
            keep_open
            and not eof
            and not batch.cancelled_caught
            and not self._shutdown.is_set()
            and reactor is not None
            and not reactor.closed
        ):
            reactor.add(conn.fd, conn)
        else:
            self._close(conn)

    def _close(self, conn: _Connection) -> None:
        """Close a client, attached or not (no-op if already closed)."""
        sock = conn.sock
        if sock.fileno() < 0:
            return
        fd = conn.fd
        reactor = self._reactor
        if reactor is not None and reactor.get(fd) is conn:
            reactor.remove(fd)
        self.sessions.pop(fd, None)
        self.counters.curr_connections -= 1
        if self.hooks is not None:
            self.hooks.disconnected(conn.session)
        assert self.dispatcher is not None
        if self.dispatcher.verbosity >= VERBOSE_COMMANDS:
            log.debug("<%d connection closed.", fd)
        sock.close()

    def _close_idle(self, conn: _Connection) -> None:
        log.info("<%d idle timeout: connection closed", conn.fd)
        self.counters.idle_kicks += 1
        self._close(conn)

    @contextlib.contextmanager
    def _in_flight(self) -> Iterator[trio.CancelScope]:
        """A shielded scope for work that must finish at shutdown, bounded by the grace time.

        request_shutdown sets the deadline of every scope registered here; one opened after
        shutdown started gets it at once. close_connections cancels them.
        """
        with trio.CancelScope(shield=True) as scope:
            self._batches.add(scope)
            if self._shutdown.is_set():
                scope.deadline = trio.current_time() + self._grace
            try:
                yield scope
            finally:
                self._batches.discard(scope)

    async def _run(self, commands: list[Any], conn: _Connection) -> bool:
        """Run a long pipeline in slices of -R commands, yielding between them (memcached's
        conn_yields); False when the connection must close."""
        dispatcher = self.dispatcher
        assert dispatcher is not None
        counters = self.counters
        session = conn.session
        reqs_per_event = self._reqs_per_event
        commands = C.unfold(commands)  # -R counts requests: one per line
        pending: list[bytes] = []
        pending_size = 0
        for start in range(0, len(commands), reqs_per_event):
            if start:
                counters.conn_yields += 1
                await trio.lowlevel.checkpoint()
            out = dispatcher.execute(commands[start : start + reqs_per_event], session)
            if out:
                pending.extend(out)
                pending_size += sum(map(len, out))
            if session.closing:
                # The dispatcher has dropped what memcached drops; send what it kept.
                if pending:
                    await self._send(conn, pending)
                return False
            if session.close_after_write:
                break
            if pending_size > MAX_PENDING_OUTPUT:
                if not await self._send(conn, pending):
                    return False
                pending, pending_size = [], 0
        if pending and not await self._send(conn, pending):
            return False
        return not session.close_after_write

    def _write(self, conn: _Connection, parts: list[bytes]) -> Data | None:
        """Send the replies as far as the socket takes them now: what is left (empty once all
        went), or None when the peer is gone."""
        assert self.dispatcher is not None
        if self.dispatcher.verbosity >= VERBOSE_COMMANDS:
            _log_replies(conn.fd, parts)
        nparts = len(parts)
        if (
            1 < nparts <= IOV_MAX
            # a value is among the first three parts of a reply that starts with a hit (its
            # reply form, or header and block) or with one other reply
            and (
                len(parts[0]) >= SCATTER_MIN_PART
                or len(parts[1]) >= SCATTER_MIN_PART
                or (nparts > 2 and len(parts[2]) >= SCATTER_MIN_PART)
            )
            and (total := sum(map(len, parts))) >= SCATTER_MIN_PART * nparts
        ):
            return self._write_scattered(conn, parts, total)
        data = parts[0] if nparts == 1 else b"".join(parts)
        self.counters.bytes_written += len(data)
        try:
            sent = conn.send(data)
        except BlockingIOError:
            return data
        except OSError:
            return None
        return memoryview(data)[sent:] if sent < len(data) else b""

    def _write_scattered(self, conn: _Connection, parts: list[bytes], total: int) -> Data | None:
        """:meth:`_write` with one ``sendmsg`` of the parts as they are."""
        self.counters.bytes_written += total
        try:
            sent = conn.sock.sendmsg(parts)
        except BlockingIOError:
            return b"".join(parts)
        except OSError:
            return None
        if sent == total:
            return b""
        for i, part in enumerate(parts):  # the rest, from the part the kernel stopped in
            if sent < len(part):
                return b"".join([memoryview(part)[sent:], *parts[i + 1 :]])
            sent -= len(part)
        raise AssertionError("sendmsg reported more bytes than it was given")

    async def _flush(self, sock: stdsocket.socket, unsent: Data) -> bool:
        """Send the rest of a reply as the socket drains; False when the peer is gone."""
        view = memoryview(unsent)
        while view:
            await trio.lowlevel.wait_writable(sock)
            try:
                view = view[sock.send(view) :]
            except BlockingIOError:
                continue
            except OSError:
                return False
        return True

    async def _send(self, conn: _Connection, parts: list[bytes]) -> bool:
        """Send the replies, awaiting only if the socket is full; False when the peer is gone."""
        rest = self._write(conn, parts)
        if rest is None:
            return False
        return not rest or await self._flush(conn.sock, rest)


class _Connection:
    """One client: socket, parser and session; attached to the reactor or owned by a task."""

    __slots__ = ("fd", "parser", "recv", "send", "session", "sock")

    def __init__(self, sock: stdsocket.socket, session: Session, parser: TextParser) -> None:
        self.sock = sock
        self.recv = sock.recv  # bound once: the hot path calls them per read
        self.send = sock.send
        self.fd = session.fd
        self.session = session
        self.parser = parser


def _log_replies(fd: int, parts: list[bytes]) -> None:
    """memcached's -vv reply lines: ``>fd sending key K`` per hit, ``>fd REPLY`` otherwise."""
    after_header = False
    for part in parts:
        if after_header:  # a value's data block
            after_header = False
            continue
        if part.startswith(b"VALUE "):
            log.debug(">%d sending key %s", fd, part.split(b" ", 2)[1].decode("latin-1"))
            after_header = part.index(b"\n") == len(part) - 1  # else the block is in this part
        elif part.startswith(b"STAT "):
            continue
        else:
            for line in part.split(b"\r\n"):
                if line and not line.startswith(b"STAT "):
                    log.debug(">%d %s", fd, line.decode("latin-1"))


async def _reset_connection(stream: trio.SocketStream) -> None:
    """Close an accepted connection with a TCP reset (SO_LINGER 0), as a refusal looks."""
    with contextlib.suppress(OSError):
        stream.socket.setsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_LINGER, struct.pack("ii", 1, 0))
    await trio.aclose_forcefully(stream)


def _set_nodelay(sock: trio.socket.SocketType) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(stdsocket.IPPROTO_TCP, stdsocket.TCP_NODELAY, 1)


def _peer_name(sock: trio.socket.SocketType) -> str:
    if sock.family == stdsocket.AF_UNIX:
        return UNIX_PEER_ADDR  # what memcached prints for a unix-socket client
    try:
        host, port = sock.getpeername()[:2]
    except OSError:
        return "tcp:unknown"
    return inet_addr_text(host, port)


def _local_name(sock: trio.socket.SocketType) -> str:
    name = sock.getsockname()
    if sock.family == stdsocket.AF_UNIX:
        return unix_addr_text(name)
    return inet_addr_text(name[0], name[1])


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


async def _open_unix_listener(settings: Settings) -> trio.SocketListener:
    path = settings.unix_socket
    assert path is not None
    _unlink_quietly(path)  # memcached removes a stale socket file too
    sock = trio.socket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_STREAM)
    old_mask = os.umask(~settings.unix_mask & 0o777)
    try:
        await sock.bind(path)
    finally:
        os.umask(old_mask)
    sock.listen(settings.backlog)
    return trio.SocketListener(sock)


def run(
    settings: Settings,
    *,
    on_ready: Callable[[list[Address]], None] | None = None,
) -> int:
    """Serve until SIGTERM/SIGINT or an allowed ``shutdown``; returns the exit code (0).

    ``on_ready`` is called once with the bound addresses when every listener is up.
    """

    async def main() -> None:
        server = Server(settings)
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async with trio.open_nursery() as nursery:
                await nursery.start(server.serve)
                if on_ready is not None:
                    on_ready(server.addresses)

                async def watch_signals() -> None:
                    async for signum in signals:
                        log.info("Signal handled: %s.", signal.strsignal(signum))
                        server.request_shutdown()

                nursery.start_soon(watch_signals)
                await server.wait_stopped()
                nursery.cancel_scope.cancel()

    trio.run(main)
    return 0
