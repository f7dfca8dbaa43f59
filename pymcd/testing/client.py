"""A tiny blocking raw-protocol client: send bytes, read memcached's replies.

For tests that need the exact bytes (and for talking to an external server). ``request``
knows where a reply ends: retrieval and ``stats`` replies end with ``END`` (or an error line),
everything else is one line.
"""

from __future__ import annotations

import contextlib
import socket
from types import TracebackType

__all__ = ["RawClient"]

_MULTI_LINE = (b"get", b"gets", b"gat", b"gats", b"stats")
_BLOCK_LINES = (b"VALUE ", b"STAT ", b"ITEM ", b"PREFIX ")


def split_address(address: str) -> tuple[str, int]:
    """``"host:port"`` (or ``"[v6]:port"``) as a (host, port) pair."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {address!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class RawClient:
    """``with RawClient("127.0.0.1:11211") as c: c.request("version")`` → ``b"VERSION …"``."""

    def __init__(self, address: str | tuple[str, int], *, timeout: float = 2.0) -> None:
        host, port = split_address(address) if isinstance(address, str) else address
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = b""

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def request(self, data: bytes | str) -> bytes:
        """Send ``data`` (CRLF added when missing) and return the complete reply (``b""`` at
        once for a ``noreply`` command)."""
        raw = data.encode() if isinstance(data, str) else data
        if not raw.endswith(b"\r\n"):
            raw += b"\r\n"
        self.send(raw)
        first = raw.split(b"\r\n", 1)[0]
        if first.endswith(b" noreply"):
            return b""
        if first.split(b" ", 1)[0] in _MULTI_LINE:
            return self.read_reply_block()
        return self.read_line()

    def read_line(self) -> bytes:
        """One reply line, CRLF included."""
        return self.read_until(b"\r\n")

    def read_reply_block(self) -> bytes:
        """Lines up to and including ``END``; a one-line reply (an error, ``RESET``, ``OK``)
        when the first line is not part of a block."""
        out = b""
        while True:
            line = self.read_line()
            out += line
            if line == b"END\r\n" or (out == line and not line.startswith(_BLOCK_LINES)):
                return out
            if line.startswith(b"VALUE "):
                size = int(line.split()[3])
                out += self.read_exactly(size + 2)

    def read_exactly(self, n: int) -> bytes:
        while len(self._buf) < n:
            self._fill()
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def read_until(self, marker: bytes) -> bytes:
        while (idx := self._buf.find(marker)) < 0:
            self._fill()
        end = idx + len(marker)
        out, self._buf = self._buf[:end], self._buf[end:]
        return out

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed by the server (after {self._buf!r})")
        self._buf += chunk

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
