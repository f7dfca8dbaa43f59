"""An out-of-process memcached (real memcached, or a pymcd daemon) behind the test API.

Only what the wire allows works: ``address``, ``stats``, ``flush``, ``reset`` (``flush_all``
then ``stats reset``) and ``advance_clock`` when the server accepts ``debugtime`` (a pymcd
daemon started with ``--debugtime``). Every other power calls ``unavailable(reason)``, which
raises :class:`PowerUnavailable` by default; the pytest plugin passes ``pytest.skip`` so such
tests skip with the reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, NoReturn

from pymcd.testing.client import RawClient, split_address

__all__ = ["ExternalMemcached", "PowerUnavailable"]


class PowerUnavailable(RuntimeError):
    """A test power that an external server does not have."""


def _raise(reason: str) -> NoReturn:
    raise PowerUnavailable(reason)


class _NoFaults:
    def __init__(self, owner: ExternalMemcached) -> None:
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return self._owner._power(f"faults.{name}")


class ExternalMemcached:
    """A running memcached at ``address`` (``"host:port"``), with the test API's wire part."""

    def __init__(self, address: str, *, unavailable: Callable[[str], NoReturn] = _raise) -> None:
        self.host, self.port = split_address(address)
        self._unavailable = unavailable
        self._client: RawClient | None = None
        self._debugtime: bool | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return True

    def _power(self, name: str) -> NoReturn:
        self._unavailable(
            f"{name} needs pymcd's in-process server; this run uses the external memcached "
            f"at {self.address} (--memcached-external)"
        )

    def _request(self, line: str) -> bytes:
        for attempt in (1, 2):  # the server may have dropped an idle connection
            if self._client is None:
                self._client = RawClient((self.host, self.port))
            try:
                return self._client.request(line)
            except OSError:
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def stats(self, group: str = "") -> dict[str, str]:
        reply = self._request(f"stats {group}".strip())
        out: dict[str, str] = {}
        for line in reply.split(b"\r\n"):
            if line.startswith(b"STAT "):
                _, name, value = line.decode("latin-1").split(" ", 2)
                out[name] = value
        return out

    @property
    def pid(self) -> int:
        return int(self.stats()["pid"])

    def flush(self) -> None:
        reply = self._request("flush_all")
        if reply != b"OK\r\n":
            raise RuntimeError(f"flush_all answered {reply!r}")

    def reset(self) -> None:
        """``flush_all`` and ``stats reset``: what the wire can undo between tests."""
        self.flush()
        self._request("stats reset")

    def advance_clock(self, seconds: float) -> None:
        """Works when the server accepts ``debugtime`` (``pymcd --debugtime``)."""
        if self._debugtime is not False:
            reply = self._request(f"debugtime {int(seconds)}")
            self._debugtime = reply == b"OK\r\n"
        if not self._debugtime:
            self._power("advance_clock (or a server that accepts debugtime)")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- powers only an in-process pymcd has ---------------------------------------------

    @property
    def faults(self) -> Any:
        return _NoFaults(self)

    def keys(self) -> NoReturn:
        self._power("keys()")

    def item(self, key: str | bytes) -> NoReturn:
        self._power("item()")

    def items(self) -> NoReturn:
        self._power("items()")

    def item_count(self) -> NoReturn:
        self._power("item_count()")

    def byte_count(self) -> NoReturn:
        self._power("byte_count()")

    def commands(self) -> NoReturn:
        self._power("the command log")

    def command_names(self) -> NoReturn:
        self._power("the command log")

    def clear_command_log(self) -> NoReturn:
        self._power("the command log")

    def restart(self) -> NoReturn:
        self._power("restart()")

    def start(self) -> NoReturn:
        self._power("start()")

    def stop(self) -> NoReturn:
        self._power("stop()")

    def __repr__(self) -> str:
        return f"<ExternalMemcached {self.address}>"

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
