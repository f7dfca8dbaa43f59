"""The conformance suite: one table of bytes, any memcached-compatible server.

Every test talks to one target over a real socket with raw protocol bytes. The target is chosen
on the command line (see README.md in this directory):

``--target pymcd`` (default)
    ``pymcd.testing.MemcachedServer`` run in a background thread on 127.0.0.1 port 0. Its clock
    is moved, never waited for.

``--target memcached``
    The oracle: Debian's ``/usr/bin/memcached`` (1.6.18), started on 127.0.0.1 and a free
    port. Every expected byte in this directory was recorded from it; a test that fails against
    memcached is a wrong test. A missing binary skips the run (fails it when ``CI=true``).

``--target pymcd-daemon``
    pymcd as deployed: ``python -m pymcd --debugtime`` as a child process, given the same
    memcached flags, its clock moved by ``debugtime n``. The in-process target runs with the
    testing layer's hooks, which take the server's general path; this one takes its hot paths
    (the parser's shortcuts, the single-get path), so both must pass. ``target_only("pymcd")``
    covers it too.

``--target HOST:PORT``
    A server that is already running (your own implementation, a remote memcached). Tests that
    need a server started with particular flags skip, saying so; expiry waits real seconds.

Servers
    Tests without a ``server_flags`` mark share one server per session; before each test the
    fixture sends ``flush_all`` on a fresh connection. ``flush_all`` in memcached only
    invalidates items (and some state, e.g. counters, survives), so every test also gets a
    unique key prefix: write ``{k}`` in any byte string given to the client helper and it is
    replaced by that prefix (``b"set {k}a 0 0 1\\r\\n"``).

    ``@pytest.mark.server_flags("-m", "1", "-I", "512k")`` starts a dedicated server for that
    test: memcached with those command-line flags, pymcd with the equivalent
    ``pymcd.config.Settings`` keyword arguments (``FLAG_TO_SETTINGS`` below is the mapping).

    As root, memcached is started as user ``nobody`` by the launcher (``Popen(user=...)``)
    rather than with ``-u nobody``: with a small ``-c`` memcached lowers its file-descriptor
    limit before it looks the user up and then fails with "can't find the user nobody".

Deliberate differences
    ``@pytest.mark.target_only("pymcd", reason="...")`` runs a test only against the named
    targets; every use is listed in README.md. A test without it must pass everywhere.

Time
    ``server.advance(n)`` / the ``advance`` fixture moves the server clock by ``n`` seconds:
    pymcd through ``advance_clock(n)``; a server that accepts ``debugtime 0`` (pymcd started
    with ``--debugtime``, a memcached debug build) through ``debugtime n``; otherwise by really
    waiting until its own clock (``STAT time``, which ticks once a second) has moved by ``n``.
    Each real advance returns just after a tick, so the test has almost a full second before
    the next one. Call ``server.align()`` before storing items whose expiry a test checks.
    Tests that may wait are marked ``slow``.

Client (``server.connect()`` / the ``conn`` fixture)
    ``send`` (all at once), ``send_bytewise`` (one ``sendall`` per byte, TCP_NODELAY),
    ``send_split`` (at given offsets, with a pause so the server sees separate reads),
    ``expect`` (read exactly as many bytes as expected, 2 s timeout, diff on mismatch),
    ``read_until``, ``assert_nothing`` (no reply within a short wait), ``assert_closed``.
    Expected bytes may say ``VERSION 1.6.18``; against an external server reporting another
    version the client expects that server's own version line instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import pwd
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

MEMCACHED_BIN = "/usr/bin/memcached"
PROCESS_KINDS = ("memcached", "pymcd-daemon")  # targets run as a child process per server


def server_command(kind: str) -> tuple[list[str], dict[str, Any]]:
    """The command line (before its flags) and ``Popen`` options of a server of ``kind``."""
    root = os.geteuid() == 0
    if kind == "pymcd-daemon":  # as root it needs -u, as memcached does
        return [sys.executable, "-m", "pymcd", "--debugtime", *(["-u", "root"] if root else [])], {}
    # memcached refuses to run as root; see the module docstring
    return [MEMCACHED_BIN], {"user": pwd.getpwnam("nobody").pw_uid} if root else {}


TIMEOUT = 2.0
VERSION_LINE = b"VERSION 1.6.18\r\n"


# ---------------------------------------------------------------------------------------------
# memcached command-line flags -> pymcd.config.Settings keyword arguments


def _size(text: str) -> int:
    """memcached's -I syntax: bytes, or a k/m suffix."""
    m = re.fullmatch(r"(\d+)([kKmM]?)", text)
    assert m, text
    mult = {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]
    return int(m.group(1)) * mult


def _opt(text: str) -> dict[str, Any]:
    name, _, value = text.partition("=")
    if name == "slab_chunk_max":
        return {"slab_chunk_size_max": int(value)}
    raise AssertionError(f"no Settings mapping for -o {text}")


# flag -> (takes an argument?, function from the argument to Settings kwargs)
FLAG_TO_SETTINGS: dict[str, tuple[bool, Callable[[str], dict[str, Any]]]] = {
    "-m": (True, lambda v: {"memory_limit": int(v) * 1024 * 1024}),
    "-M": (False, lambda _: {"evictions": False}),
    "-c": (True, lambda v: {"max_connections": int(v)}),
    "-t": (True, lambda v: {"num_threads": int(v)}),
    "-I": (True, lambda v: {"item_size_max": _size(v)}),
    "-C": (False, lambda _: {"use_cas": False}),
    "-A": (False, lambda _: {"enable_shutdown": True}),
    "-F": (False, lambda _: {"flush_enabled": False}),
    "-X": (False, lambda _: {"dump_enabled": False}),
    "-o": (True, _opt),
    "--debugtime": (False, lambda _: {"debugtime": True}),  # pymcd only
}


def flags_to_settings(flags: tuple[str, ...]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    it = iter(flags)
    for flag in it:
        takes_arg, convert = FLAG_TO_SETTINGS[flag]
        settings.update(convert(next(it) if takes_arg else ""))
    return settings


# ---------------------------------------------------------------------------------------------
# the raw client


def _show(data: bytes, limit: int = 400) -> str:
    text = repr(data)
    if len(text) > limit:
        text = text[: limit // 2] + f" ...({len(data)} bytes)... " + text[-limit // 2 :]
    return text


class Client:
    """A blocking raw-socket client; every byte string may contain ``{k}`` (the key prefix)."""

    def __init__(
        self, host: str, port: int, prefix: bytes, version_line: bytes = VERSION_LINE
    ) -> None:
        self.prefix = prefix
        self.version_line = version_line
        self.sock = socket.create_connection((host, port), timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(TIMEOUT)
        self.buf = b""

    def k(self, data: bytes) -> bytes:
        return data.replace(b"{k}", self.prefix)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    # sending -------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        self.sock.sendall(self.k(data))

    def send_bytewise(self, data: bytes) -> None:
        for i in range(len(data := self.k(data))):
            self.sock.sendall(data[i : i + 1])

    def send_split(self, data: bytes, *offsets: int, pause: float = 0.02) -> None:
        """Send ``data`` in pieces cut at ``offsets`` (after ``{k}`` substitution)."""
        data = self.k(data)
        cuts = [0, *offsets, len(data)]
        for a, b in itertools.pairwise(cuts):
            self.sock.sendall(data[a:b])
            time.sleep(pause)

    # receiving -----------------------------------------------------------------------------
    def _fill(self, deadline: float) -> bool:
        """Read once more into the buffer; False on EOF."""
        self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            chunk = self.sock.recv(1 << 20)
        except ConnectionResetError:
            return False
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_exactly(self, n: int, timeout: float = TIMEOUT) -> bytes:
        deadline = time.monotonic() + timeout
        with contextlib.suppress(TimeoutError):
            while len(self.buf) < n and self._fill(deadline):
                pass
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def expect(self, expected: bytes, timeout: float = TIMEOUT) -> None:
        expected = self.k(expected)
        if self.version_line != VERSION_LINE:  # an external server with its own version
            expected = expected.replace(VERSION_LINE, self.version_line)
        got = self.read_exactly(len(expected), timeout)
        if got != expected:
            at = next(
                (i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
                min(len(got), len(expected)),
            )
            raise AssertionError(
                f"reply differs at byte {at}:\n"
                f"  expected {_show(expected[at : at + 200])}\n"
                f"  got      {_show(got[at : at + 200])}\n"
                f"  (full expected {_show(expected)}\n   full got      {_show(got)})"
            )

    def request(self, data: bytes, reply: bytes) -> None:
        self.send(data)
        self.expect(reply)

    def read_until(self, marker: bytes, timeout: float = TIMEOUT) -> bytes:
        deadline = time.monotonic() + timeout
        with contextlib.suppress(TimeoutError):
            while marker not in self.buf and self._fill(deadline):
                pass
        idx = self.buf.find(marker)
        assert idx >= 0, f"no {marker!r} within {timeout}s; got {_show(self.buf)}"
        out, self.buf = self.buf[: idx + len(marker)], self.buf[idx + len(marker) :]
        return out

    def assert_nothing(self, wait: float = 0.15) -> None:
        """No reply bytes arrive within ``wait`` seconds (and the connection stays open)."""
        deadline = time.monotonic() + wait
        with contextlib.suppress(TimeoutError):
            assert self._fill(deadline), "connection closed, expected it to stay open"
        assert not self.buf, f"unexpected reply {_show(self.buf)}"

    def assert_closed(self, timeout: float = TIMEOUT) -> None:
        """The server closes the connection without sending anything (more)."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
        except TimeoutError:
            raise AssertionError(
                f"connection still open after {timeout}s; got {_show(self.buf)}"
            ) from None
        assert not self.buf, f"unexpected bytes before close: {_show(self.buf)}"

    # helpers -------------------------------------------------------------------------------
    def stats(self, sub: bytes = b"") -> dict[str, str]:
        self.send(b"stats" + (b" " + sub if sub else b"") + b"\r\n")
        body = self.read_until(b"END\r\n")
        out = {}
        for line in body.split(b"\r\n")[:-2]:
            tag, name, value = line.decode().split(" ", 2)
            assert tag == "STAT", line
            out[name] = value
        return out


# ---------------------------------------------------------------------------------------------
# targets


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _RealClock:
    """Clock control for a server whose clock we cannot move: wait for it.

    memcached's clock is ``STAT time`` = process_started + current_time, updated once a second.
    If the server accepts ``debugtime 0`` (a memcached debug build, pymcd with ``--debugtime``)
    it is moved with ``debugtime n`` instead.
    """

    host: str
    port: int
    _clock: Client | None = None
    _debugtime: bool | None = None

    def _clock_client(self) -> Client:
        if self._clock is None:
            self._clock = Client(self.host, self.port, b"")
        return self._clock

    def _now(self) -> int:
        return int(self._clock_client().stats()["time"])

    def has_debugtime(self) -> bool:
        if self._debugtime is None:
            c = self._clock_client()
            c.send(b"debugtime 0\r\n")
            self._debugtime = c.read_until(b"\r\n") == b"OK\r\n"
        return self._debugtime

    def align(self) -> None:
        if self.has_debugtime():
            return
        start = self._now()
        while self._now() == start:
            time.sleep(0.005)

    def advance(self, seconds: int) -> None:
        if self.has_debugtime():
            self._clock_client().request(b"debugtime %d\r\n" % seconds, b"OK\r\n")
            return
        target = self._now() + seconds
        while self._now() < target:
            time.sleep(0.005)

    def _close_clock(self) -> None:
        if self._clock is not None:
            self._clock.close()
            self._clock = None


class MemcachedProcess(_RealClock):
    """A server child process: real memcached, or pymcd as a daemon (``kind``)."""

    def __init__(self, flags: tuple[str, ...], kind: str = "memcached") -> None:
        self.kind = kind
        self.host = "127.0.0.1"
        self.flags = flags
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        # Debian's memcached is not a debug build; the daemon is started with --debugtime
        self._debugtime = kind == "pymcd-daemon"

    def start(self) -> None:
        command, kwargs = server_command(self.kind)
        for _ in range(5):
            port = _free_port()
            proc = subprocess.Popen(
                [*command, "-l", self.host, "-p", str(port), *self.flags],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                **kwargs,
            )
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    socket.create_connection((self.host, port), timeout=0.2).close()
                except OSError:
                    time.sleep(0.01)
                    continue
                self.proc, self.port = proc, port
                return
            err = proc.stderr.read().decode() if proc.poll() is not None and proc.stderr else ""
            proc.kill()
            proc.wait()
            if "Address already in use" not in err:
                raise RuntimeError(f"{self.kind} {self.flags} did not start: {err}")
        raise RuntimeError(f"{self.kind}: no free port")

    def stop(self) -> None:
        self._close_clock()
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
            if self.proc.stderr:
                self.proc.stderr.close()


class PymcdServer:
    """pymcd in a background thread of this process; its clock is moved, never waited for."""

    kind = "pymcd"

    def __init__(self, flags: tuple[str, ...]) -> None:
        self.flags = flags
        self._cm: Any = None
        self.srv: Any = None

    def start(self) -> None:
        from pymcd.testing import MemcachedServer

        self._cm = MemcachedServer(**flags_to_settings(self.flags))
        self.srv = self._cm.__enter__()
        self.host, self.port = self.srv.host, self.srv.port

    def stop(self) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)

    def has_debugtime(self) -> bool:
        return "--debugtime" in self.flags

    def align(self) -> None:
        pass

    def advance(self, seconds: int) -> None:
        self.srv.advance_clock(seconds)


class ExternalServer(_RealClock):
    """``--target HOST:PORT``: a server someone else started; never started or stopped here."""

    kind = "external"

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port

    def start(self) -> None:
        try:
            socket.create_connection((self.host, self.port), timeout=TIMEOUT).close()
        except OSError as exc:
            pytest.fail(f"--target {self.host}:{self.port}: cannot connect: {exc}")

    def stop(self) -> None:
        self._close_clock()


Backend = MemcachedProcess | PymcdServer | ExternalServer


class Target:
    """The parsed ``--target``: which kind of server, and how to make one."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        if spec in ("pymcd", *PROCESS_KINDS):
            self.kind = spec
            self.address: tuple[str, int] | None = None
            return
        m = re.fullmatch(r"\[?([^\[\]]+?)\]?:(\d+)", spec)
        if m is None:
            raise pytest.UsageError(
                f"--target {spec!r}: expected pymcd, pymcd-daemon, memcached or HOST:PORT"
            )
        self.kind = "external"
        self.address = (m.group(1), int(m.group(2)))

    def check(self) -> None:
        """Skip (or, under CI=true, fail) when the target cannot run here."""
        if self.kind == "memcached" and not os.access(MEMCACHED_BIN, os.X_OK):
            if os.environ.get("CI") == "true":
                pytest.fail(f"{MEMCACHED_BIN} is missing (CI=true)")
            pytest.skip(f"{MEMCACHED_BIN} not installed")
        if self.kind in ("pymcd", "pymcd-daemon"):
            try:
                import pymcd.testing  # noqa: F401
            except ImportError as exc:
                pytest.fail(f"pymcd.testing does not import: {exc}")

    def backend(self, flags: tuple[str, ...] | None) -> Backend:
        """A new server with these flags, or (``None``) the session's shared one."""
        if self.kind in PROCESS_KINDS:
            return MemcachedProcess(flags or (), self.kind)
        if self.kind == "pymcd":
            return PymcdServer(flags or ())
        assert self.address is not None
        return ExternalServer(*self.address)


class Server:
    """What a test sees: the target's address, a client factory and its clock."""

    def __init__(self, backend: Backend, prefix: bytes, version_line: bytes) -> None:
        self.backend = backend
        self.kind = backend.kind
        self.host, self.port = backend.host, backend.port
        self.prefix = prefix
        self.version_line = version_line
        self._clients: list[Client] = []

    def connect(self) -> Client:
        c = Client(self.host, self.port, self.prefix, self.version_line)
        self._clients.append(c)
        return c

    def has_debugtime(self) -> bool:
        """Whether ``debugtime <n>`` moves this server's clock."""
        return self.backend.has_debugtime()

    def align(self) -> None:
        """Real clocks: wait for the next clock tick; a movable clock: nothing."""
        self.backend.align()

    def advance(self, seconds: int) -> None:
        self.backend.advance(seconds)

    def close_clients(self) -> None:
        for c in self._clients:
            c.close()


def _version_line(backend: Backend) -> bytes:
    if backend.kind != "external":
        return VERSION_LINE
    c = Client(backend.host, backend.port, b"")
    try:
        c.send(b"version\r\n")
        return c.read_until(b"\r\n")
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# options, markers, fixtures


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "memcached conformance suite (conformance/)")
    group.addoption(
        "--target",
        default="pymcd",
        metavar="pymcd|memcached|HOST:PORT",
        help="server under test: pymcd (default, started in-process), memcached (Debian's "
        "binary, started on a free port) or HOST:PORT (a running server)",
    )
    group.addoption(
        "--fuzz-examples",
        type=int,
        default=None,
        metavar="N",
        help="test_differential.py: run N Hypothesis examples (default: the CI budget)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "server_flags(*flags): run this test on its own server started with memcached's flags",
        "target_only(*kinds, reason): a deliberate difference; runs only against these targets",
        "slow: may wait real seconds (expiry against memcached or an external server)",
    ):
        config.addinivalue_line("markers", line)
    Target(config.getoption("--target"))  # a malformed --target is a usage error, at once


def pytest_report_header(config: pytest.Config) -> str:
    return f"conformance target: {config.getoption('--target')}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kind = Target(config.getoption("--target")).kind
    kinds = {kind, "pymcd"} if kind == "pymcd-daemon" else {kind}
    for item in items:
        marker = item.get_closest_marker("target_only")
        if marker is not None and not kinds & set(marker.args):
            reason = marker.kwargs.get("reason", "")
            item.add_marker(
                pytest.mark.skip(
                    reason=f"deliberate difference, runs only against {'/'.join(marker.args)}: "
                    f"{reason}"
                )
            )


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    return Target(request.config.getoption("--target"))


@pytest.fixture(scope="session")
def _shared_server(target: Target) -> Iterator[list[Backend]]:
    """Started lazily by the first test that needs it; stopped at the end of the session."""
    holder: list[Backend] = []
    yield holder
    for backend in holder:
        backend.stop()


@pytest.fixture
def key_prefix(request: pytest.FixtureRequest) -> bytes:
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:10]
    return f"w{digest}:".encode()


@pytest.fixture
def server(
    request: pytest.FixtureRequest,
    target: Target,
    _shared_server: list[Backend],
    key_prefix: bytes,
) -> Iterator[Server]:
    target.check()
    marker = request.node.get_closest_marker("server_flags")
    if marker is not None:
        if target.kind == "external":
            flags = " ".join(marker.args) or "(none)"
            pytest.skip(
                f"needs a server of its own started with flags {flags}; "
                f"--target {target.spec} is a running server"
            )
        backend = target.backend(tuple(marker.args))
        backend.start()
        srv = Server(backend, key_prefix, VERSION_LINE)
        try:
            yield srv
        finally:
            srv.close_clients()
            backend.stop()
        return
    if not _shared_server:
        backend = target.backend(None)
        backend.start()
        _shared_server.append(backend)
    backend = _shared_server[0]
    srv = Server(backend, key_prefix, _version_line(backend))
    reset = srv.connect()
    reset.request(b"flush_all\r\n", b"OK\r\n")
    reset.close()
    try:
        yield srv
    finally:
        srv.close_clients()


@pytest.fixture
def conn(server: Server) -> Client:
    return server.connect()


@pytest.fixture
def advance(server: Server) -> Callable[[int], None]:
    return server.advance
