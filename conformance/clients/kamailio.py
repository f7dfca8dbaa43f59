"""A real Kamailio, run in the foreground with ``kamailio.cfg``, and a SIP-over-UDP client.

:class:`Kamailio` starts ``kamailio -DD -E`` (no daemon; its workers are its children; logs on
stderr, kept in a file) listening on 127.0.0.1 on a free UDP port, with the memcached module
pointed at a given server and the other module parameters passed as ``-A`` defines. It is
ready once it answers an ``X-Op: ping``; :meth:`Kamailio.stop` ends it by its pid (SIGTERM,
which also ends its workers; SIGKILL to its process group if it hangs).

:meth:`Kamailio.request` sends one OPTIONS request carrying ``X-Op`` / ``X-Key`` / ``X-Value``
headers and returns the reply; :meth:`Kamailio.request_many` sends many at once, so that
several Kamailio workers handle them concurrently.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

CONFIG = Path(__file__).with_name("kamailio.cfg")
MODULE_DIRS = (
    "/usr/lib/*/kamailio/modules",  # Debian, Ubuntu (multiarch)
    "/usr/lib64/kamailio/modules",
    "/usr/lib/kamailio/modules",
    "/usr/local/lib*/kamailio/modules",
)
REPLY_TIMEOUT = 10.0


def find_binary() -> str | None:
    return shutil.which("kamailio") or next(
        (p for p in ("/usr/sbin/kamailio", "/usr/local/sbin/kamailio") if os.access(p, os.X_OK)),
        None,
    )


def find_module_dir() -> str | None:
    """The directory that holds memcached.so (package kamailio-memcached-modules)."""
    for pattern in MODULE_DIRS:
        for directory in sorted(glob.glob(pattern)):
            if os.path.exists(os.path.join(directory, "memcached.so")):
                return directory
    return None


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SipReply:
    status: int
    reason: str
    headers: dict[str, str]  # lower-cased names

    def get(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def result_type(self) -> str | None:
        return self.get("X-Result-Type")

    @property
    def result(self) -> str | None:
        return self.get("X-Result")


def parse_reply(data: bytes) -> SipReply:
    head = data.split(b"\r\n\r\n", 1)[0].decode(errors="replace")
    status_line, *lines = head.split("\r\n")
    _version, status, reason = status_line.split(" ", 2)
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return SipReply(int(status), reason, headers)


class Kamailio:
    """One Kamailio process running ``kamailio.cfg`` against ``memcached_address``."""

    def __init__(
        self,
        binary: str,
        module_dir: str,
        workdir: Path,
        memcached_address: str,
        defines: dict[str, int] | None = None,
    ) -> None:
        self.binary = binary
        self.module_dir = module_dir
        self.workdir = workdir
        self.memcached_address = memcached_address
        self.defines = dict(defines or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log_path = workdir / "kamailio.log"
        self._sock: socket.socket | None = None

    # -- process -------------------------------------------------------------------------

    def command(self) -> list[str]:
        args = [
            self.binary,
            "-f",
            str(CONFIG),
            "-L",
            self.module_dir,
            "-Y",
            str(self.workdir),
            "-DD",
            "-E",
            "-M",  # private memory per process, MB: setbig concatenates 1 MB values
            "64",
            "-A",
            f"SIP_LISTEN=udp:127.0.0.1:{self.port}",
            "-A",
            f'MEMCACHED_SERVERS="{self.memcached_address}"',
        ]
        for name, value in self.defines.items():
            args += ["-A", f"{name}={value}"]
        return args

    def start(self) -> Kamailio:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        for _ in range(3):  # the free port may be taken before Kamailio binds it
            self.port = free_udp_port()
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,  # its own process group, for the SIGKILL fallback
                )
            if self._wait_ready():
                return self
            self._end_process()
        raise RuntimeError(f"kamailio did not start:\n{self.log_tail()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return False
            with contextlib.suppress(TimeoutError):
                if self.request("ping", timeout=0.2).status == 200:
                    return True
        return False

    def _end_process(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)  # the main process stops its workers
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the group we created at start
                proc.wait()

    def stop(self) -> None:
        self._end_process()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # -- SIP -----------------------------------------------------------------------------

    def _message(self, headers: dict[str, str]) -> tuple[str, bytes]:
        assert self._sock is not None
        local_port = self._sock.getsockname()[1]
        call_id = uuid.uuid4().hex
        extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        text = (
            f"OPTIONS sip:memcached@127.0.0.1:{self.port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local_port};branch=z9hG4bK{call_id}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:pytest@127.0.0.1>;tag={call_id[:8]}\r\n"
            f"To: <sip:memcached@127.0.0.1:{self.port}>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            f"{extra}"
            "Content-Length: 0\r\n\r\n"
        )
        return call_id, text.encode()

    @staticmethod
    def _headers(
        op: str, key: str | None, value: str | int | None, extra: dict[str, str]
    ) -> dict[str, str]:
        headers = {"X-Op": op}
        if key is not None:
            headers["X-Key"] = key
        if value is not None:
            headers["X-Value"] = str(value)
            headers["X-Type"] = "int" if isinstance(value, int) else "str"
        headers.update(extra)
        return headers

    def request(
        self,
        op: str,
        key: str | None = None,
        value: str | int | None = None,
        *,
        timeout: float = REPLY_TIMEOUT,
        **extra: str,
    ) -> SipReply:
        """One operation; ``value`` as int is assigned as an integer (X-Type: int)."""
        headers = self._headers(op, key, value, {k.replace("_", "-"): v for k, v in extra.items()})
        return self.request_many([headers], timeout=timeout)[0]

    def request_many(
        self, requests: list[dict[str, str]], timeout: float = REPLY_TIMEOUT
    ) -> list[SipReply]:
        """Send every request at once, then collect the replies (in request order)."""
        assert self._sock is not None
        pending: dict[str, int] = {}
        for index, headers in enumerate(requests):
            call_id, data = self._message(headers)
            pending[call_id] = index
            self._sock.sendto(data, ("127.0.0.1", self.port))
        replies: list[SipReply | None] = [None] * len(requests)
        deadline = time.monotonic() + timeout
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{len(pending)} of {len(requests)} SIP requests unanswered")
            self._sock.settimeout(remaining)
            try:
                data = self._sock.recv(65535)
            except TimeoutError:
                continue
            call_id = next(
                (
                    line.split(b":", 1)[1].strip().decode()
                    for line in data.split(b"\r\n")
                    if line.lower().startswith(b"call-id:")
                ),
                "",
            )
            if call_id in pending:
                replies[pending.pop(call_id)] = parse_reply(data)
        return [reply for reply in replies if reply is not None]
