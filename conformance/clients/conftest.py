"""Fixtures for real clients against the conformance target (``--target``, see ../conftest.py).

- :func:`require`: a missing client (binary, library, module) skips the test with the reason,
  or fails it under ``CI=true``.
- :class:`RecordingProxy`: a TCP proxy in front of the target that records every byte the
  client sends, per connection, to check which wire commands a client makes.
- ``restartable_server``: a server of the target's kind of its own, which a test may stop and
  start again on the same port (pymcd: ``MemcachedServer.stop``/``start``; memcached: the
  process killed and started again).
- ``target_cluster``: three servers of the target's kind, for clients that shard.
- ``key``: ``key("name")`` is the name under the test's unique key prefix.

Every process started here is stopped by its pid in the fixture's teardown. ``raw_get``,
``raw_set`` and ``stats`` read and write the target directly, independently of the client
under test.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ..conftest import Backend, Server, Target, server_command


def require(found: Any, what: str, install: str) -> Any:
    """``found`` if truthy; else skip (fail under ``CI=true``) saying how to install it."""
    if found:
        return found
    message = f"{what} is missing ({install})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI=true requires every client")
    pytest.skip(message)


@pytest.fixture
def key(key_prefix: bytes) -> Callable[[str], str]:
    """``key("name")``: the name under this test's unique key prefix."""
    return lambda name: key_prefix.decode() + name


# ---------------------------------------------------------------------------------------------
# recording proxy


class RecordingProxy:
    """127.0.0.1:port → target; ``connections`` holds what each client connection sent.

    ``before_forward(data)``, if given, runs on every chunk a client sends before the chunk
    goes on to the server (to make something happen between two client commands).
    """

    def __init__(
        self,
        upstream: tuple[str, int],
        before_forward: Callable[[bytes], None] | None = None,
    ) -> None:
        self.upstream = upstream
        self.before_forward = before_forward
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = "127.0.0.1", self.listener.getsockname()[1]
        self.address = f"{self.host}:{self.port}"
        self.connections: list[bytearray] = []
        self.closed_by_client = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, name="recording-proxy", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            record = bytearray()
            with self._lock:
                self.connections.append(record)
                self._sockets += [client, upstream]
            for source, sink, log in ((client, upstream, record), (upstream, client, None)):
                threading.Thread(target=self._pipe, args=(source, sink, log), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, log: bytearray | None) -> None:
        while True:
            try:
                data = source.recv(262144)
            except OSError:
                data = b""
            if not data:
                break
            if log is not None:
                with self._lock:
                    log += data  # recorded before forwarding: complete once the reply is back
                if self.before_forward is not None:
                    self.before_forward(data)
            try:
                sink.sendall(data)
            except OSError:
                break
        if log is not None:
            with self._lock:
                self.closed_by_client += 1
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def wait_closed(self, count: int, timeout: float = 5.0) -> None:
        """Wait until ``count`` client connections have been closed (all they sent is in)."""
        wait_until(lambda: self.closed_by_client >= count, timeout, f"{count} closed connections")

    def sent(self) -> bytes:
        """Everything sent so far, all connections in the order they were opened."""
        with self._lock:
            return b"".join(bytes(c) for c in self.connections)

    def take(self) -> bytes:
        """What was sent since the last ``take``."""
        with self._lock:
            data = b"".join(bytes(c) for c in self.connections)
            for c in self.connections:
                c.clear()
        return data

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()


# ---------------------------------------------------------------------------------------------
# a server to stop and start again


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_connectable(host: str, port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class RestartableServer:
    """A server of the target's kind on a fixed port: ``stop()``, then ``start()`` again."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.host = "127.0.0.1"
        self.port = 0
        self._pymcd: Any = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        if self.kind == "pymcd":
            from pymcd.testing import MemcachedServer

            if self._pymcd is None:
                self._pymcd = MemcachedServer()
            self._pymcd.start()  # after stop(): the same port, no data
            self.port = self._pymcd.port
            return
        self.port = self.port or _free_tcp_port()
        command, kwargs = server_command(self.kind)
        self._proc = subprocess.Popen(
            [*command, "-l", self.host, "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **kwargs,
        )
        wait_connectable(self.host, self.port)

    def stop(self) -> None:
        if self._pymcd is not None and self._pymcd.running:
            self._pymcd.stop()
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()


@pytest.fixture
def restartable_server(target: Target) -> Iterator[RestartableServer]:
    target.check()
    if target.kind == "external":
        pytest.skip(f"needs a server it can stop and start; --target {target.spec} is running")
    srv = RestartableServer(target.kind)
    srv.start()
    yield srv
    srv.stop()


# ---------------------------------------------------------------------------------------------
# several servers


@pytest.fixture
def target_cluster(target: Target) -> Iterator[list[Backend]]:
    """Three fresh servers of the target's kind (each a backend with host, port, stop())."""
    target.check()
    if target.kind == "external":
        pytest.skip(f"needs three servers of its own; --target {target.spec} is one server")
    backends: list[Backend] = []
    try:
        for _ in range(3):
            backend = target.backend(())
            backend.start()
            backends.append(backend)
        yield backends
    finally:
        for backend in backends:
            backend.stop()


# ---------------------------------------------------------------------------------------------
# raw access to the target, for checks independent of the client under test


def raw_get(server: Server, key: bytes) -> tuple[int, bytes] | None:
    """(flags, value) of ``key`` on the target, read with a plain ``get``."""
    client = server.connect()
    client.sock.sendall(b"get " + key + b"\r\n")  # not client.send: no {k} substitution
    header = client.read_until(b"\r\n")
    if header == b"END\r\n":
        return None
    _value, _key, flags, length = header.split()
    data = client.read_exactly(int(length) + 2, timeout=10)
    assert client.read_until(b"END\r\n") == b"END\r\n"
    return int(flags), data[:-2]


def raw_set(server: Server, key: bytes, value: bytes, flags: int = 0, exptime: int = 0) -> None:
    client = server.connect()
    client.sock.sendall(b"set %s %d %d %d\r\n%s\r\n" % (key, flags, exptime, len(value), value))
    assert client.read_until(b"\r\n") == b"STORED\r\n"


def stats(server: Server) -> dict[str, str]:
    return server.connect().stats()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``condition`` (clients that reconnect on their own schedule) until true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {what}")
        time.sleep(0.05)
