"""Fault injection and the command log: the :class:`pymcd.server.ServerHooks` of a test server.

Invariants:
- :class:`Instrumentation` lives in the server's trio thread; every mutation goes through the
  owning handle's ``_call`` (``trio.from_thread.run_sync`` for the thread server), so the
  server never sees a half-made change.
- With no fault on, a read costs one ``extend`` of the command log and one flag test.
- Faults act on commands the parser produced, named as on the wire (``set``, ``gets``,
  ``flush_all``, ``lru_crawler``…); malformed input (answered by the parser) is never faulted.
- ``noreply`` commands stay silent even when an error reply is injected, as memcached's
  ``out_string`` drops any reply for them.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any

from pymcd.dispatch import Session
from pymcd.protocol import commands as C

__all__ = [
    "OUT_OF_MEMORY",
    "Fault",
    "FaultControl",
    "Instrumentation",
    "LoggedCommand",
    "command_name",
]

OUT_OF_MEMORY = b"SERVER_ERROR out of memory storing object\r\n"
COMMAND_LOG_LIMIT = 100_000  # oldest lines are dropped beyond this (a runaway test loop)


def command_name(command: Any) -> str | None:
    """The wire name of a parsed command (``"gets"``, ``"cas"``…); None for parser answers."""
    kind = type(command)
    name = _NAMES.get(kind)
    if name is not None:
        return name
    if kind is C.Get:
        return "gets" if command.with_cas else "get"
    if kind is C.GetRun:
        return "get"
    if kind is C.GetAndTouch:
        return "gats" if command.with_cas else "gat"
    if kind is C.Store or kind is C.StoreTooLarge:
        return str(command.mode.value)
    if kind is C.Arithmetic:
        return "incr" if command.incr else "decr"
    if kind is C.Admin:
        return bytes(command.tokens[0]).decode("latin-1")
    return None


_NAMES: dict[type[Any], str] = {
    C.Delete: "delete",
    C.Touch: "touch",
    C.FlushAll: "flush_all",
    C.Version: "version",
    C.Verbosity: "verbosity",
    C.Quit: "quit",
    C.Shutdown: "shutdown",
    C.CacheMemlimit: "cache_memlimit",
    C.Stats: "stats",
    C.DebugTime: "debugtime",
    C.MetaGet: "mg",
    C.MetaSet: "ms",
    C.MetaDelete: "md",
    C.MetaArithmetic: "ma",
    C.MetaDebug: "me",
}


@dataclasses.dataclass(frozen=True, slots=True)
class LoggedCommand:
    """One command line a client sent (a storage command's data block is not included).

    ``client`` numbers connections from 1 in the order they were accepted (per server).
    """

    client: int
    line: bytes

    @property
    def name(self) -> str:
        """The command word, e.g. ``"set"`` (empty for an empty line)."""
        return self.line.split(b" ", 1)[0].decode("latin-1")

    @property
    def args(self) -> list[str]:
        """The tokens after the command word."""
        return [t.decode("latin-1") for t in self.line.split()[1:]]

    @property
    def noreply(self) -> bool:
        """Whether the client asked for no reply (last token ``noreply``)."""
        return self.line.rstrip().endswith(b" noreply")


@dataclasses.dataclass(slots=True)
class _ErrorRule:
    names: frozenset[str] | None  # None: every command
    reply: bytes
    remaining: int | None  # None: until switched off


class Instrumentation:
    """Fault state plus the command log, consulted by :class:`pymcd.server.Server`."""

    def __init__(self) -> None:
        self.refuse_connections = False
        self.reply_delay = 0.0
        self.log: deque[LoggedCommand] = deque(maxlen=COMMAND_LOG_LIMIT)
        self._close_after: int | None = None
        self._counts: dict[int, int] = {}  # id(session) -> commands since close_after was set
        self._errors: list[_ErrorRule] = []
        self._active = False  # any per-command fault on
        self._clients: dict[int, int] = {}  # id(session) -> client number
        self._serial = itertools.count(1)

    # -- ServerHooks ---------------------------------------------------------------------

    def connected(self, session: Session) -> None:
        self._clients[id(session)] = next(self._serial)

    def disconnected(self, session: Session) -> None:
        self._clients.pop(id(session), None)
        self._counts.pop(id(session), None)

    def batch(self, session: Session, lines: list[bytes], commands: list[Any]) -> list[Any]:
        if lines:
            client = self._clients.get(id(session), 0)
            self.log.extend([LoggedCommand(client, line) for line in lines])
        if not self._active or not commands:
            return commands
        return self._apply(session, commands)

    def _apply(self, session: Session, commands: list[Any]) -> list[Any]:
        out: list[Any] = []
        close_after = self._close_after
        count = self._counts.get(id(session), 0)
        for command in commands:
            name = command_name(command)
            if name is None:
                out.append(command)
                continue
            rule = self._matching_rule(name)
            if rule is None:
                out.append(command)
            else:
                noreply = getattr(command, "noreply", False)
                out.append(C.Reply(data=b"" if noreply else rule.reply))
            if close_after is not None:
                count += 1
                if count >= close_after:
                    out.append(C.Quit())
                    break
        self._counts[id(session)] = count
        return out

    def _matching_rule(self, name: str) -> _ErrorRule | None:
        for rule in self._errors:
            if rule.names is None or name in rule.names:
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._errors.remove(rule)
                        self._update()
                return rule
        return None

    # -- switches (server thread) --------------------------------------------------------

    def _update(self) -> None:
        self._active = bool(self._errors) or self._close_after is not None

    def set_close_after(self, n: int | None) -> None:
        self._close_after = n
        self._counts.clear()
        self._update()

    def add_error(self, rule: _ErrorRule) -> None:
        self._errors.append(rule)
        self._update()

    def remove_error(self, rule: _ErrorRule) -> None:
        if rule in self._errors:
            self._errors.remove(rule)
        self._update()

    def clear_faults(self) -> None:
        self.refuse_connections = False
        self.reply_delay = 0.0
        self._close_after = None
        self._counts.clear()
        self._errors.clear()
        self._update()

    def reset(self) -> None:
        """Faults off, log empty, client numbering from 1 again."""
        self.clear_faults()
        self.log.clear()
        self._clients.clear()
        self._serial = itertools.count(1)


class Fault:
    """A fault that is on: ``fault.off()`` switches it off; also a context manager."""

    def __init__(self, off: Callable[[], None]) -> None:
        self._off: Callable[[], None] | None = off

    def off(self) -> None:
        """Switch the fault off (idempotent)."""
        if self._off is not None:
            off, self._off = self._off, None
            off()

    def __enter__(self) -> Fault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.off()


Call = Callable[[Callable[[], Any]], Any]


class FaultControl:
    """``server.faults``: switch faults on (each returns a :class:`Fault`) or act once.

    Every change takes effect for the next read a connection makes.
    """

    def __init__(
        self,
        instrumentation: Instrumentation,
        call: Call,
        *,
        close_connections: Callable[[], None],
        restart: Callable[[], None],
    ) -> None:
        self._hooks = instrumentation
        self._call = call
        self._close_connections = close_connections
        self._restart = restart

    def delay_replies(self, seconds: float) -> Fault:
        """Wait ``seconds`` before answering each read (with trio's MockClock: virtual time)."""
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        hooks = self._hooks

        def on() -> None:
            hooks.reply_delay = seconds

        def off() -> None:
            hooks.reply_delay = 0.0

        self._call(on)
        return Fault(lambda: self._call(off))

    def refuse_connections(self) -> Fault:
        """Reset every new connection as soon as it is accepted; open ones are kept (a
        connect the server has not accepted yet counts as new)."""
        hooks = self._hooks

        def set_to(value: bool) -> Callable[[], None]:
            def change() -> None:
                hooks.refuse_connections = value

            return change

        self._call(set_to(True))
        return Fault(lambda: self._call(set_to(False)))

    def close_after(self, commands: int) -> Fault:
        """Close each connection once it has sent ``commands`` more commands (counted from
        now): the last one is run and answered, then the server closes the connection."""
        if commands < 1:
            raise ValueError("close_after needs at least one command")
        hooks = self._hooks
        self._call(lambda: hooks.set_close_after(commands))
        return Fault(lambda: self._call(lambda: hooks.set_close_after(None)))

    def fail(
        self,
        *commands: str,
        reply: bytes | str = OUT_OF_MEMORY,
        times: int | None = None,
    ) -> Fault:
        """Answer the named commands (all commands when none is named) with ``reply`` without
        running them; default ``SERVER_ERROR out of memory storing object``. ``times``: only
        the next N matching commands. CRLF is added when missing."""
        data = reply.encode() if isinstance(reply, str) else bytes(reply)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        if times is not None and times < 1:
            raise ValueError("times must be at least 1")
        rule = _ErrorRule(frozenset(commands) if commands else None, data, times)
        hooks = self._hooks
        self._call(lambda: hooks.add_error(rule))
        return Fault(lambda: self._call(lambda: hooks.remove_error(rule)))

    def close_connections(self) -> None:
        """Close every client connection now (listeners stay open)."""
        self._close_connections()

    def restart(self) -> None:
        """Simulate a restart: connections closed, all data lost, stats reset, a new pid,
        uptime back to zero. Faults and the command log are kept."""
        self._restart()

    def clear(self) -> None:
        """Switch every fault off."""
        self._call(self._hooks.clear_faults)
