"""FreeSWITCH's mod_memcache, call for call, through the real libmemcached.

FreeSWITCH is not packaged for Debian, but ``src/mod/applications/mod_memcache/mod_memcache.c``
is a thin layer over libmemcached: this module repeats its ``memcache`` API command line by
line (same libmemcached calls, same arguments, same casts, same output strings) through
ctypes, so a test can drive the real client library exactly as FreeSWITCH does.

- :class:`ModMemcache` ``(servers)`` is the module after ``config_callback_memcached``:
  ``memcached_servers_parse`` → ``memcached_create`` → ``memcached_server_push``.
- :meth:`ModMemcache.api` is ``memcache_function``: split the command with FreeSWITCH's
  ``switch_separate_string`` (at most 5 arguments, single quotes and backslash escapes),
  ``memcached_clone`` the global handle (so every command opens its own connection), run the
  sub-command, then ``memcached_quit`` + ``memcached_free``. It returns what the module writes
  to the API stream (``+OK\\n``, the value, ``-ERR NOT FOUND\\n``, …).

Where the C code reads ``argv[3]`` although only ``argc > 1`` or ``argc > 2`` was checked
(``delete <key> <x>``, ``flush <x>`` and ``flush <x> <y>``) it passes NULL to ``strtol`` and
FreeSWITCH crashes; :class:`ModuleCrash` is raised there instead. ``decrement`` of a missing
key ``add``\\ s the literal ``"0"`` with the *offset's* length: C then sends ``"0"`` followed by
the literal's NUL and, past two bytes, whatever follows it in memory; this copy pads with NULs.
``status`` prints server names through ``memcached_server_instance_by_position`` (libmemcached
1.x dropped the two-argument ``memcached_server_name`` the module was written against).
"""

from __future__ import annotations

import ctypes
import re

try:
    from . import libmemcached as lm
except ImportError:  # copied next to a test suite as plain modules
    import libmemcached as lm  # type: ignore[no-redef]

SYNTAX = (
    "memcache <set|replace|add> <key> <value> [expiration [flags]]\n"
    "memcache <get|getflags> <key>\n"
    "memcache <delete> <key>\n"
    "memcache <increment|decrement> <key> [offset [expires [flags]]]\n"
    "memcache <flush>\n"
    "memcache <status> [verbose]\n"
)
ESCAPE_META = "\\"
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "s": " "}


class ModuleCrash(RuntimeError):
    """The C module would dereference NULL here (FreeSWITCH segfaults)."""


def _cleanup_separated_string(text: str) -> str:
    """switch_utils.c ``cleanup_separated_string(str, 0)``: unquote, unescape, trim."""
    ptr = len(text) - len(text.lstrip(" "))
    out: list[str] = []
    end: int | None = None
    inside_quotes = False
    while ptr < len(text):
        char = text[ptr]
        escaped = False
        if char == ESCAPE_META and ptr + 1 < len(text):
            following = text[ptr + 1]
            if following in "'\"\\" or following in _UNESCAPE:
                ptr += 1
                out.append(_UNESCAPE.get(following, following))
                end = len(out)
                escaped = True
        if not escaped:
            if char == "'" and (inside_quotes or "'" in text[ptr + 1 :]):
                inside_quotes = not inside_quotes
                if inside_quotes:
                    end = len(out)
            else:
                out.append(char)
                if char != " " or inside_quotes:
                    end = len(out)
        ptr += 1
    return "".join(out if end is None else out[:end])


def separate_string(buf: str, arraylen: int) -> list[str]:
    """``switch_separate_string(buf, ' ', argv, arraylen)`` (``separate_string_blank_delim``):
    the last argument takes the rest of the line."""
    pieces: list[str] = []
    ptr = 0
    while ptr < len(buf) and len(pieces) < arraylen:
        start = ptr
        while ptr < len(buf) and buf[ptr] == " ":  # SKIP_INITIAL_SPACE
            ptr += 1
        inside_quotes = False
        while ptr < len(buf):  # FIND_DELIM
            if buf[ptr] == ESCAPE_META:
                ptr += 1
            elif buf[ptr] == "'":
                inside_quotes = not inside_quotes
            elif buf[ptr] == " " and not inside_quotes:
                break
            ptr += 1
        if len(pieces) == arraylen - 1:
            ptr = len(buf)  # the last slot is never cut
        pieces.append(buf[start:ptr])
        while ptr < len(buf) and buf[ptr] == " ":  # SKIP_ENDING_SPACE
            ptr += 1
    return [_cleanup_separated_string(piece) for piece in pieces]


def strtol(text: str, base: int) -> int:
    """C ``strtol(text, NULL, base)``: leading blanks and sign, longest valid prefix, clamped
    to a 64-bit long, 0 when nothing parses."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:base]
    m = re.match(r"[ \t\n\v\f\r]*([+-]?)", text)
    assert m is not None
    rest = text[m.end() :]
    if base == 16 and rest[:2].lower() == "0x" and rest[2:3] and rest[2].lower() in digits:
        rest = rest[2:]
    count = 0
    while count < len(rest) and rest[count].lower() in digits:
        count += 1
    if count == 0:
        return 0
    value = int(rest[:count], base) * (-1 if m.group(1) == "-" else 1)
    return max(-(2**63), min(2**63 - 1, value))


def _uint32(value: int) -> int:
    return value & 0xFFFFFFFF


def _signed64(value: int) -> int:
    """``printf("%ld", uint64)``."""
    return value - 2**64 if value >= 2**63 else value


class ModMemcache:
    """mod_memcache loaded with ``<param name="memcache-servers" value="..."/>``."""

    def __init__(self, servers: str) -> None:
        self.lib = lm.load()
        server_list = self.lib.memcached_servers_parse(servers.encode())
        if not server_list:
            raise ValueError(f"Unable to initialize memcached data structure: {servers!r}")
        try:
            self.server_count = self.lib.memcached_server_list_count(server_list)
            self.memcached = self.lib.memcached_create(None)
            rc = self.lib.memcached_server_push(self.memcached, server_list)
            if rc != lm.MEMCACHED_SUCCESS:
                raise RuntimeError(f"Memcache error adding server list: {self._strerror(rc)}")
        finally:
            self.lib.memcached_server_list_free(server_list)

    def close(self) -> None:
        """``mod_memcache_shutdown``."""
        if self.memcached:
            self.lib.memcached_free(self.memcached)
            self.memcached = None

    def _strerror(self, rc: int, memcached: int | None = None) -> str:
        text: bytes = self.lib.memcached_strerror(memcached or self.memcached, rc)
        return text.decode()

    def api(self, cmd: str) -> str:
        """``memcache <cmd>``: the text the module writes to the API stream."""
        out: list[str] = []
        if not cmd:
            return f"-ERR\n{SYNTAX}\n"
        argv = separate_string(cmd, 5)
        argc = len(argv)
        if argc < 1:
            return f"-ERR\n{SYNTAX}\n"
        lib = self.lib
        memcached = lib.memcached_clone(None, self.memcached)  # thread safety: one per command
        if not memcached:
            out.append("-ERR Error cloning memcached object\n")
        to_free: list[int] = []
        try:
            rc = self._run(memcached, argv, out, to_free)
            if rc is not None:  # mcache_error:
                out.append(f"-ERR {self._strerror(rc, memcached)}\n")
            return "".join(out)
        finally:  # done:
            if memcached:
                lib.memcached_quit(memcached)
                lib.memcached_free(memcached)
            for pointer in to_free:
                lm.free(pointer)

    def _run(
        self, memcached: int, argv: list[str], out: list[str], to_free: list[int]
    ) -> int | None:
        """The sub-commands: None when done, else the code that ``mcache_error`` reports."""
        lib = self.lib
        argc = len(argv)
        subcmd = argv[0].lower()
        expires = 0
        flags = 0
        if subcmd in ("set", "replace", "add") and argc > 2:
            key, val = argv[1].encode(), argv[2].encode()
            if argc > 3:
                expires = strtol(argv[3], 10)
            if argc > 4:
                flags = _uint32(strtol(argv[4], 16))
            store = {"set": lib.memcached_set, "replace": lib.memcached_replace}.get(
                subcmd, lib.memcached_add
            )
            rc = store(memcached, key, len(key), val, len(val), expires, flags)
            if rc == lm.MEMCACHED_SUCCESS:
                out.append("+OK\n")
                return None
            return rc
        if subcmd in ("get", "getflags") and argc > 1:
            key = argv[1].encode()
            length = ctypes.c_size_t(0)
            c_flags = ctypes.c_uint32(0)
            c_rc = ctypes.c_int(0)
            val = lib.memcached_get(
                memcached, key, len(key), ctypes.byref(length), ctypes.byref(c_flags), c_rc
            )
            try:
                if c_rc.value != lm.MEMCACHED_SUCCESS:
                    return c_rc.value
                if subcmd == "get":
                    # "%.*s": at most string_length bytes, and not past a NUL
                    data = ctypes.string_at(val, length.value) if val else b""
                    out.append(data.split(b"\0", 1)[0].decode(errors="surrogateescape"))
                else:
                    out.append(f"{c_flags.value:x}")
                return None
            finally:
                lm.free(val)
        if subcmd in ("increment", "decrement") and argc > 1:
            key = argv[1].encode()
            offset = 1
            svalue = b"1"
            if argc > 2:
                offset = _uint32(strtol(argv[2], 10))
                svalue = argv[2].encode()
            if argc > 3:
                expires = strtol(argv[3], 10)
            if argc > 4:
                flags = _uint32(strtol(argv[4], 16))
            increment = subcmd == "increment"
            step = lib.memcached_increment if increment else lib.memcached_decrement
            ivalue = ctypes.c_uint64(0)
            rc = step(memcached, key, len(key), offset, ctypes.byref(ivalue))
            if rc == lm.MEMCACHED_NOTFOUND:
                # missing: add an initial value; if someone else beat us to it, redo incr/decr
                initial = svalue if increment else b"0".ljust(len(svalue), b"\0")
                rc = lib.memcached_add(
                    memcached, key, len(key), initial, len(svalue), expires, flags
                )
                if rc == lm.MEMCACHED_SUCCESS:
                    ivalue.value = offset if increment else 0
                else:
                    rc = step(memcached, key, len(key), offset, ctypes.byref(ivalue))
            if rc == lm.MEMCACHED_SUCCESS:
                out.append(f"{_signed64(ivalue.value)}")
                return None
            return rc
        if subcmd == "delete" and argc > 1:
            key = argv[1].encode()
            if argc > 2:
                if argc < 4:
                    raise ModuleCrash("delete: strtol(argv[3] == NULL)")
                expires = strtol(argv[3], 10)
            rc = lib.memcached_delete(memcached, key, len(key), expires)
            if rc == lm.MEMCACHED_SUCCESS:
                out.append("+OK\n")
                return None
            return rc
        if subcmd == "flush":
            if argc > 1:
                if argc < 4:
                    raise ModuleCrash("flush: strtol(argv[3] == NULL)")
                expires = strtol(argv[3], 10)
            rc = lib.memcached_flush(memcached, expires)
            if rc == lm.MEMCACHED_SUCCESS:
                out.append("+OK\n")
                return None
            return rc
        if subcmd == "status":
            verbose = argc > 1 and argv[1].lower() == "verbose"
            out.append(f"Lib version: {lib.memcached_lib_version().decode()}\n")
            c_rc = ctypes.c_int(0)
            stat = lib.memcached_stat(memcached, None, ctypes.byref(c_rc))
            if stat:
                to_free.append(ctypes.cast(stat, ctypes.c_void_p).value)
            if c_rc.value not in (lm.MEMCACHED_SUCCESS, lm.MEMCACHED_SOME_ERRORS):
                out.append(
                    "-ERR Error communicating with servers "
                    f"({self._strerror(c_rc.value, memcached)})\n"
                )
            server_count = lib.memcached_server_count(memcached)
            out.append(f"Servers: {server_count}\n")
            for x in range(server_count):
                instance = lib.memcached_server_instance_by_position(memcached, x)
                name = lib.memcached_server_name(instance).decode()
                out.append(f"  {name} ({lib.memcached_server_port(instance)})\n")
                if verbose:
                    if not stat:
                        raise ModuleCrash("status verbose: &stat[x] with stat == NULL")
                    entry = ctypes.pointer(stat[x])
                    keys = lib.memcached_stat_get_keys(memcached, entry, ctypes.byref(c_rc))
                    i = 0
                    while keys[i]:
                        rc2 = ctypes.c_int(0)
                        value = lib.memcached_stat_get_value(
                            memcached, entry, keys[i], ctypes.byref(rc2)
                        )
                        text = ctypes.string_at(value).decode() if value else "(null)"
                        out.append(f"    {keys[i].decode()}: {text}\n")
                        lm.free(value)
                        i += 1
                    lm.free(ctypes.cast(keys, ctypes.c_void_p).value)
                    out.append("\n")
            return None
        out.append(f"-ERR\n{SYNTAX}\n")
        return None
