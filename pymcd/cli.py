"""The ``pymcd`` command: memcached 1.6.18's flags → :class:`Settings` → ``server.run``.

Invariants:

* Flags are parsed exactly as memcached's ``getopt_long`` does (GNU permutation, clustered
  short flags, ``--long=value`` / ``--long value``, unique-prefix abbreviations, ``--``), and
  option values are read with C's ``atoi`` / ``atof`` / ``strtol`` semantics, so the same command
  line is accepted or refused as by memcached, with memcached's message and exit code
  (1 for getopt and most value errors, 64 = EX_USAGE, 67 = EX_NOUSER, 71 = EX_OSERR).
* ``-h``, ``-V`` and ``-i`` act when reached, as in memcached, and are the only things ever
  printed on stdout. Everything else goes to stderr.
* Deliberate differences from memcached: ``-l`` defaults to 127.0.0.1, ``-p 0`` picks a free
  port (memcached: no TCP), and UDP, the binary protocol, SASL, ``-Y``, ``-e`` and TLS are
  refused with a clear "not supported by pymcd" message (exit 64).
* When a listener's port was 0, or at ``-v``, each bound address is reported on stderr on one
  line: ``pymcd: listening on <host>:<port>`` (IPv6 hosts in brackets) or
  ``pymcd: listening on unix:<path>``.
* Process effects happen in memcached's order, after all checks: core/file rlimits, dropping
  root (``-u``), daemonizing (``-d``), then ``server.run``; the pid file (``-P``) is written
  once listening and removed on a clean exit. Signal handling belongs to ``server.run``.
"""

from __future__ import annotations

import dataclasses
import errno
import importlib
import os
import re
import resource
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TextIO

from pymcd import __version__
from pymcd.config import MEMCACHED_VERSION, Settings
from pymcd.logging_setup import configure_logging

PROG = "pymcd"
EX_USAGE = 64
EX_NOUSER = 67
EX_OSERR = 71

Address = tuple[str, int] | str
OnReady = Callable[[list[Address]], None]


class _RunServer(Protocol):
    def __call__(self, settings: Settings, *, on_ready: OnReady | None = None) -> int: ...


class CliExit(Exception):
    """Stop the command: print ``message`` (stderr, or stdout when ``stdout``) and exit ``code``."""

    def __init__(self, code: int, message: str = "", *, stdout: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.stdout = stdout


# --------------------------------------------------------------------------- getopt_long

# memcached 1.6.18's optstring and longopts table (same order: it decides ambiguity messages).
SHORTOPTS = "a:AZp:s:U:m:Mc:khiVrvdl:u:P:f:n:t:D:LR:Cb:B:I:SFXWY:e:o:N:"
NO_ARG, REQUIRED_ARG, OPTIONAL_ARG = 0, 1, 2
LONGOPTS: tuple[tuple[str, int, str], ...] = (
    ("unix-mask", REQUIRED_ARG, "a"),
    ("enable-shutdown", NO_ARG, "A"),
    ("enable-ssl", NO_ARG, "Z"),
    ("port", REQUIRED_ARG, "p"),
    ("unix-socket", REQUIRED_ARG, "s"),
    ("udp-port", REQUIRED_ARG, "U"),
    ("memory-limit", REQUIRED_ARG, "m"),
    ("disable-evictions", NO_ARG, "M"),
    ("conn-limit", REQUIRED_ARG, "c"),
    ("lock-memory", NO_ARG, "k"),
    ("help", NO_ARG, "h"),
    ("license", NO_ARG, "i"),
    ("version", NO_ARG, "V"),
    ("enable-coredumps", NO_ARG, "r"),
    ("verbose", OPTIONAL_ARG, "v"),
    ("daemon", NO_ARG, "d"),
    ("listen", REQUIRED_ARG, "l"),
    ("user", REQUIRED_ARG, "u"),
    ("pidfile", REQUIRED_ARG, "P"),
    ("slab-growth-factor", REQUIRED_ARG, "f"),
    ("slab-min-size", REQUIRED_ARG, "n"),
    ("threads", REQUIRED_ARG, "t"),
    ("enable-largepages", NO_ARG, "L"),
    ("max-reqs-per-event", REQUIRED_ARG, "R"),
    ("disable-cas", NO_ARG, "C"),
    ("listen-backlog", REQUIRED_ARG, "b"),
    ("protocol", REQUIRED_ARG, "B"),
    ("max-item-size", REQUIRED_ARG, "I"),
    ("enable-sasl", NO_ARG, "S"),
    ("disable-flush-all", NO_ARG, "F"),
    ("disable-dumping", NO_ARG, "X"),
    ("disable-watch", NO_ARG, "W"),
    ("auth-file", REQUIRED_ARG, "Y"),
    ("memory-file", REQUIRED_ARG, "e"),
    ("extended", REQUIRED_ARG, "o"),
    ("napi-ids", REQUIRED_ARG, "N"),
    ("debugtime", NO_ARG, "debugtime"),  # pymcd extension, long form only
)


def _getopt_error(message: str) -> CliExit:
    # glibc prints the first line; memcached's `default:` case the second, then exits 1.
    return CliExit(1, f'{PROG}: {message}\nIllegal argument "?"')


def getopt_long(argv: Sequence[str]) -> Iterator[tuple[str, str | None]]:
    """Yield ``(option, value)`` like glibc's ``getopt_long`` with memcached's tables.

    ``option`` is the short letter (or ``"debugtime"``). Non-option arguments are skipped (GNU
    permutation; memcached ignores them), ``--`` ends the options. Raises :class:`CliExit`
    (exit 1, glibc's message + memcached's ``Illegal argument "?"``) when a bad option is
    reached, so options before it have already been acted on, as in memcached.
    """
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            return
        if not arg.startswith("-") or arg == "-":
            continue
        if arg.startswith("--"):
            body = arg[2:]
            name, eq, value = body.partition("=")
            exact = [o for o in LONGOPTS if o[0] == name]
            matches = exact or [o for o in LONGOPTS if o[0].startswith(name)]
            if not matches:
                raise _getopt_error(f"unrecognized option '{arg}'")
            if len(matches) > 1:
                names = " ".join(f"'--{o[0]}'" for o in matches)
                raise _getopt_error(f"option '{arg}' is ambiguous; possibilities: {names}")
            full, has_arg, key = matches[0]
            if has_arg == NO_ARG:
                if eq:
                    raise _getopt_error(f"option '--{full}' doesn't allow an argument")
                yield key, None
            elif has_arg == OPTIONAL_ARG:
                yield key, value if eq else None
            elif eq:
                yield key, value
            elif i < len(argv):
                yield key, argv[i]
                i += 1
            else:
                raise _getopt_error(f"option '--{full}' requires an argument")
            continue
        j = 1
        while j < len(arg):
            ch = arg[j]
            j += 1
            pos = SHORTOPTS.find(ch)
            if ch == ":" or pos < 0:
                raise _getopt_error(f"invalid option -- '{ch}'")
            if pos + 1 < len(SHORTOPTS) and SHORTOPTS[pos + 1] == ":":
                if j < len(arg):
                    yield ch, arg[j:]
                elif i < len(argv):
                    yield ch, argv[i]
                    i += 1
                else:
                    raise _getopt_error(f"option requires an argument -- '{ch}'")
                break
            yield ch, None


# --------------------------------------------------------------- C number parsing helpers

_INT_RE = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_OCT_RE = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-7]+)")
_FLOAT_RE = re.compile(r"[ \t\n\v\f\r]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _wrap_int32(value: int) -> int:
    return (value + 2**31) % 2**32 - 2**31


def c_strtol(text: str, base: int = 10) -> int:
    """C ``strtol(text, NULL, base)`` for base 10 or 8: leading digits, 0 if none, clamped."""
    m = (_OCT_RE if base == 8 else _INT_RE).match(text)
    if m is None:
        return 0
    return max(_LONG_MIN, min(_LONG_MAX, int(m.group(1), base)))


def c_atoi(text: str) -> int:
    """C ``atoi`` as glibc does it: ``(int) strtol(text, NULL, 10)`` (wraps to 32 bits)."""
    return _wrap_int32(c_strtol(text))


def c_atof(text: str) -> float:
    """C ``atof`` for decimal numbers: the longest leading number, 0.0 if none."""
    m = _FLOAT_RE.match(text)
    return float(m.group(1)) if m else 0.0


def safe_strtol(text: str) -> int | None:
    """memcached's ``safe_strtol``: the whole string (trailing space allowed) must be an int."""
    m = _INT_RE.match(text)
    if m is None or (text[m.end() :] and not text[m.end()].isspace()):
        return None
    value = int(m.group(1))
    return value if -(2**31) <= value < 2**31 else None


# ------------------------------------------------------------------------------ parsing

# memcached 1.6.18's -o suboptions that pymcd accepts without using them.
_IGNORED_SUBOPTS = frozenset(
    [
        "slab_reassign",
        "no_slab_reassign",
        "slab_automove_ratio",
        "slab_automove_window",
        "no_slab_automove",
        "lru_crawler_tocrawl",
        "hot_max_factor",
        "warm_max_factor",
        "watcher_logbuf_size",
        "worker_logbuf_size",
        "read_buf_mem_limit",
        "resp_obj_mem_limit",
        "slab_sizes",
        "no_inline_ascii_resp",
        "no_chunked_items",
        "no_hashexpand",
        "drop_privileges",
        "no_drop_privileges",
        "sock_cookie_id",
        "lru_segmented",
        "no_lru_segmented",
        "slab_automove_freeratio",
        "ssl_chain_cert",
        "ssl_key",
        "ssl_verify_mode",
        "ssl_keyformat",
        "ssl_ciphers",
        "ssl_ca_cert",
        "ssl_wbuf_size",
        "ssl_session_cache",
        "ssl_kernel_tls",
        "ssl_min_version",
        "ext_page_size",
        "ext_wbuf_size",
        "ext_threads",
        "ext_io_depth",
        "ext_item_size",
        "ext_item_age",
        "ext_low_ttl",
        "ext_recache_rate",
        "ext_compact_under",
        "ext_drop_under",
        "ext_max_frag",
        "ext_max_sleep",
        "ext_drop_unread",
        "track_sizes",
    ]
)
_PARSED_SUBOPTS = {  # need a value that memcached parses with safe_strto*
    "read_buf_mem_limit",
    "watcher_logbuf_size",
    "worker_logbuf_size",
}


@dataclasses.dataclass(slots=True)
class Options:
    """The parsed command line: the Settings plus what only the CLI acts on."""

    settings: Settings = dataclasses.field(default_factory=Settings)
    listen: list[str] = dataclasses.field(default_factory=list)  # -l items, memcached's order
    maxcore: bool = False  # -r
    napi_ids: int = 0  # -N
    slab_chunk_changed: bool = False
    hot_lru_pct: int = 20
    warm_lru_pct: int = 40
    temporary_ttl: bool = False
    unsupported: list[str] = dataclasses.field(default_factory=list)  # refusals, in order


def _suboptions(opts: Options, text: str) -> None:
    """Apply one ``-o`` argument (memcached's ``getsubopt`` loop)."""
    s = opts.settings
    if text == "":
        return
    items = text.split(",")
    if items[-1] == "":  # getsubopt stops at the end: a trailing comma is harmless
        items.pop()
    for item in items:
        name, eq, value = item.partition("=")
        val: str | None = value if eq else None
        if name == "maxconns_fast":
            s.maxconns_fast = True
        elif name == "no_maxconns_fast":
            s.maxconns_fast = False
        elif name == "hashpower":
            if val is None:
                raise CliExit(1, "Missing numeric argument for hashpower")
            hp = c_atoi(val)
            if hp < 12:
                raise CliExit(1, f"Initial hashtable multiplier of {hp} is too low")
            if hp > 64:
                raise CliExit(
                    1,
                    f"Initial hashtable multiplier of {hp} is too high\n"
                    'Choose a value based on "STAT hash_power_level" from a running instance',
                )
            s.hashpower_init = hp
        elif name == "idle_timeout":
            if val is None:
                raise CliExit(1, "Missing numeric argument for idle_timeout")
            s.idle_timeout = c_atoi(val)
        elif name == "slab_chunk_max":
            if val is None:
                raise CliExit(1, "Missing slab_chunk_max argument")
            chunk = safe_strtol(val)
            if chunk is None or chunk <= 0:  # memcached crashes on <= 0 later; refuse here
                raise CliExit(1, "could not parse argument to slab_chunk_max")
            s.slab_chunk_size_max = chunk
            opts.slab_chunk_changed = True
        elif name == "modern":
            pass  # memcached 1.6.18: "currently: nothing"
        elif name == "lru_crawler":
            s.lru_crawler = True
        elif name == "lru_maintainer":
            s.lru_maintainer_thread = True
        elif name == "no_modern":
            if not opts.slab_chunk_changed:
                s.slab_chunk_size_max = s.slab_page_size
            s.maxconns_fast = False
            s.lru_crawler = False
            s.lru_maintainer_thread = False
        elif name == "no_lru_crawler":
            s.lru_crawler = False
        elif name == "no_lru_maintainer":
            s.lru_maintainer_thread = False
        elif name == "hash_algorithm":
            if val is None:
                raise CliExit(1, "Missing hash_algorithm argument")
            if val not in ("jenkins", "murmur3", "xxh3"):
                raise CliExit(1, "Unknown hash_algorithm option (jenkins, murmur3, xxh3)")
        elif name == "tail_repair_time":
            if val is None:
                raise CliExit(1, "Missing numeric argument for tail_repair_time")
            if 0 < c_atoi(val) < 10:  # memcached: 0 disables, otherwise at least 10 s
                raise CliExit(1, "Cannot set tail_repair_time to less than 10 seconds")
        elif name == "lru_crawler_sleep":
            if val is None:
                raise CliExit(1, "Missing lru_crawler_sleep value")
            if not 0 <= c_atoi(val) <= 1000000:
                raise CliExit(1, "LRU crawler sleep must be between 0 and 1 second")
        elif name in ("hot_lru_pct", "warm_lru_pct"):
            if val is None:
                raise CliExit(1, f"Missing {name} argument")
            pct = c_atoi(val)
            if not 1 < pct < 80:
                raise CliExit(1, f"{name} must be > 1 and < 80")
            setattr(opts, name, pct)
        elif name == "slab_automove":
            if val is not None and not 0 <= c_atoi(val) <= 2:
                raise CliExit(1, "slab_automove must be between 0 and 2")
        elif name == "temporary_ttl":
            if val is None:
                raise CliExit(1, "Missing temporary_ttl argument")
            opts.temporary_ttl = True
        elif name == "ext_path":
            opts.unsupported.append("extstore (-o ext_path) is not supported by pymcd")
        elif name in _IGNORED_SUBOPTS:
            if name in _PARSED_SUBOPTS:
                if val is None:
                    raise CliExit(1, f"Missing {name} argument")
                if safe_strtol(val) is None:
                    raise CliExit(1, f"could not parse argument to {name}")
        else:
            raise CliExit(1, f'Illegal suboption "{item}"')


def _item_size(text: str) -> int:
    """memcached's ``-I`` value: an optional k/m suffix, ``atoi``, in 32-bit int arithmetic."""
    if text and text[-1] in "kmKM":
        size = c_atoi(text[:-1])
        size *= 1024 if text[-1] in "kK" else 1024 * 1024
        return _wrap_int32(size)
    return c_atoi(text)


def _apply(opts: Options, key: str, value: str | None) -> None:
    """Act on one option as memcached's ``switch (c)`` does."""
    s = opts.settings
    v = value if value is not None else ""
    if key == "a":
        s.unix_mask = c_strtol(v, 8)
    elif key == "A":
        s.enable_shutdown = True
    elif key == "Z":
        opts.unsupported.append("TLS (-Z) is not supported by pymcd")
    elif key == "p":
        s.port = c_atoi(v)
    elif key == "s":
        s.unix_socket = v
    elif key == "U":
        s.udp_port = c_atoi(v)
    elif key == "m":
        s.memory_limit = (c_atoi(v) % 2**64) * 1024 * 1024 % 2**64  # (size_t)atoi * 1MB
    elif key == "M":
        s.evictions = False
    elif key == "c":
        s.max_connections = c_atoi(v)
        if s.max_connections <= 0:
            raise CliExit(1, "Maximum connections must be greater than 0")
    elif key == "h":
        raise CliExit(0, usage(), stdout=True)
    elif key == "i":
        raise CliExit(0, LICENSE, stdout=True)
    elif key == "V":
        raise CliExit(0, version_line(), stdout=True)
    elif key == "k":
        s.lock_memory = True
    elif key == "v":
        s.verbose += 1
    elif key == "d":
        s.daemonize = True
    elif key == "l":
        for item in v.split(","):  # repeated -l: memcached skips one it already has
            if item not in opts.listen:
                opts.listen.append(item)
    elif key == "r":
        opts.maxcore = True
    elif key == "R":
        s.reqs_per_event = c_atoi(v)
        if s.reqs_per_event <= 0:  # memcached only refuses 0; a negative count is meaningless
            raise CliExit(1, "Number of requests per event must be greater than 0")
    elif key == "u":
        s.user = v
    elif key == "P":
        s.pid_file = v
    elif key == "f":
        s.factor = c_atof(v)
        if s.factor <= 1.0:
            raise CliExit(1, "Factor must be greater than 1")
    elif key == "n":
        s.chunk_size = c_atoi(v)
        if s.chunk_size <= 0:  # memcached only refuses 0
            raise CliExit(1, "Chunk size must be greater than 0")
    elif key == "t":
        s.num_threads = c_atoi(v)
        if s.num_threads <= 0:
            raise CliExit(1, "Number of threads must be greater than 0")
        if s.num_threads > 64:
            print(
                "WARNING: Setting a high number of workerthreads is not recommended.\n"
                " Set this value to the number of cores in your machine or less.",
                file=sys.stderr,
            )
    elif key == "D":
        if not v:
            raise CliExit(1, "No delimiter specified")
        s.prefix_delimiter = v[0]
        s.detail_enabled = True
    elif key == "L":
        pass  # large pages: nothing to do in Python
    elif key == "C":
        s.use_cas = False
    elif key == "b":
        s.backlog = c_atoi(v)
    elif key == "B":
        if v not in ("auto", "binary", "ascii"):
            raise CliExit(
                EX_USAGE,
                f"Invalid value for binding protocol: {v}\n"
                " -- should be one of auto, binary, or ascii",
            )
        if v == "binary":
            opts.unsupported.append("the binary protocol (-B binary) is not supported by pymcd")
        else:
            s.binding_protocol = v
    elif key == "I":
        s.item_size_max = _item_size(v)
    elif key == "S":
        opts.unsupported.append("SASL authentication (-S) is not supported by pymcd")
    elif key == "F":
        s.flush_enabled = False
    elif key == "X":
        s.dump_enabled = False
    elif key == "W":
        s.watch_enabled = False
    elif key == "Y":
        opts.unsupported.append("ASCII authentication (-Y) is not supported by pymcd")
    elif key == "e":
        opts.unsupported.append("a memory file (-e, restartable cache) is not supported by pymcd")
    elif key == "o":
        _suboptions(opts, v)
    elif key == "N":
        opts.napi_ids = c_atoi(v)
        if opts.napi_ids <= 0:
            raise CliExit(1, "Maximum number of NAPI IDs must be greater than 0")
    elif key == "debugtime":
        s.debugtime = True
    else:  # pragma: no cover - getopt_long only yields known keys
        raise AssertionError(key)


def _check(opts: Options) -> None:
    """memcached's checks after the option loop, in its order, then pymcd's refusals."""
    s = opts.settings
    if opts.napi_ids > s.num_threads:
        raise CliExit(
            EX_USAGE,
            f"Number of napi_ids({opts.napi_ids}) cannot be greater than "
            f"number of threads({s.num_threads})",
        )
    if s.item_size_max < 1024:
        raise CliExit(EX_USAGE, "Item max size cannot be less than 1024 bytes.")
    if s.item_size_max > s.memory_limit // 2:
        raise CliExit(EX_USAGE, "Cannot set item size limit higher than 1/2 of memory max.")
    if s.item_size_max > 1024 * 1024 * 1024:
        raise CliExit(EX_USAGE, "Cannot set item size limit higher than a gigabyte.")
    if s.item_size_max > 1024 * 1024 and not opts.slab_chunk_changed:
        s.slab_chunk_size_max = s.slab_page_size // 2
    chunk = s.slab_chunk_size_max
    if chunk > s.item_size_max:
        raise CliExit(
            EX_USAGE,
            f"slab_chunk_max (bytes: {chunk}) cannot be larger than "
            f"-I (item_size_max {s.item_size_max})",
        )
    if s.item_size_max % chunk:
        raise CliExit(
            EX_USAGE,
            f"-I (item_size_max: {s.item_size_max}) must be evenly divisible by "
            f"slab_chunk_max (bytes: {chunk})",
        )
    if s.slab_page_size % chunk:
        raise CliExit(
            EX_USAGE,
            f"slab_chunk_max (bytes: {chunk}) must divide evenly into "
            f"{s.slab_page_size} (slab_page_size)",
        )
    if opts.hot_lru_pct + opts.warm_lru_pct > 80:
        raise CliExit(EX_USAGE, "hot_lru_pct + warm_lru_pct cannot be more than 80% combined")
    if opts.temporary_ttl and not s.lru_maintainer_thread:
        raise CliExit(EX_USAGE, "temporary_ttl requires lru_maintainer to be enabled")
    if s.port > 65535:
        raise CliExit(EX_USAGE, f"ERROR: Invalid port number {s.port}.")
    if s.udp_port != 0:
        opts.unsupported.append(f"UDP is not supported by pymcd (-U {s.udp_port}; use -U 0)")
    if opts.unsupported:
        raise CliExit(EX_USAGE, f"{PROG}: {opts.unsupported[0]}")


def _resolve_listeners(opts: Options) -> None:
    """Fill ``Settings.interface`` / ``listen_addresses`` from ``-l`` and ``-p`` as memcached.

    Items are ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``, separated by ``,`` or ``;``;
    ``*`` is every interface. Hosts are resolved now so a bad name fails before anything else
    happens (memcached: ``getaddrinfo(): ...`` and exit 71).
    """
    s = opts.settings
    if s.port < 0:  # memcached: getaddrinfo() refuses the service name
        raise CliExit(
            EX_OSERR,
            "getaddrinfo(): Servname not supported for ai_socktype\n"
            f"failed to listen on TCP port {s.port}: Invalid argument",
        )
    if not opts.listen:
        s.listen_addresses = ((s.interface, s.port),)
        return
    failed = f"failed to listen on one of interface(s) {','.join(opts.listen)}"
    addresses: list[tuple[str | None, int]] = []
    for raw in re.split(r"[,;]", ",".join(opts.listen)):
        if not raw:
            continue
        p, host, port = raw, None, s.port
        if p.startswith("["):
            end = p.find("]")
            if end < 0:
                raise CliExit(EX_OSERR, f'Invalid IPV6 address: "{p}"\n{failed}: Invalid argument')
            host, p = p[1:end], p[end + 1 :]
        colon = p.find(":")
        if colon >= 0 and (":" not in p[colon + 1 :] or host is not None):
            port_text = p[colon + 1 :]
            parsed = safe_strtol(port_text)
            if parsed is None or not 0 <= parsed <= 65535:
                raise CliExit(
                    EX_OSERR, f'Invalid port number: "{port_text}"\n{failed}: Invalid argument'
                )
            port, p = parsed, p[:colon]
        if host is None:
            host = p
        final = None if host == "*" else host
        if final is not None:
            try:
                socket.getaddrinfo(final, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            except socket.gaierror as exc:
                raise CliExit(
                    EX_OSERR, f"getaddrinfo(): {exc.strerror}\n{failed}: Invalid argument"
                ) from None
        addresses.append((final, port))
    s.listen_addresses = tuple(addresses)
    # The hosts alone, for a server that reads only `interface` ("*" = every IPv4 address).
    s.interface = ",".join(dict.fromkeys(h or "0.0.0.0" for h, _ in addresses))


def parse_args(argv: Sequence[str]) -> Options:
    """Parse memcached's flags into :class:`Options` and run memcached's checks.

    Raises :class:`CliExit` for ``-h``/``-V``/``-i`` (code 0, text for stdout) and for every
    refusal (memcached's message and exit code). Resolves ``-l`` host names (no other I/O).
    """
    opts = Options()
    for key, value in getopt_long(argv):
        _apply(opts, key, value)
    _check(opts)
    if opts.settings.unix_socket is None:
        _resolve_listeners(opts)
    return opts


# ------------------------------------------------------------------------- text output


def version_line() -> str:
    """What ``-V`` prints: ``pymcd <version> (memcached <version> compatible)``."""
    return f"{PROG} {__version__} (memcached {MEMCACHED_VERSION} compatible)"


LICENSE = f"""{PROG} is distributed under the MIT License.
It reimplements the behaviour of memcached (BSD licensed, Copyright 2003 Danga Interactive,
Inc.) in Python; it contains no memcached code."""


def usage() -> str:
    """``-h``: memcached's usage text for the flags pymcd supports, with pymcd's defaults."""
    d = Settings()
    return f"""{version_line()}
-p, --port=<num>          TCP port to listen on (default: {d.port}; 0: pick a free port)
-U, --udp-port=<num>      UDP port (default: 0, off; UDP is not supported)
-s, --unix-socket=<file>  UNIX socket to listen on (disables network support)
-a, --unix-mask=<mask>    access mask for UNIX socket, in octal (default: {d.unix_mask:o})
-A, --enable-shutdown     enable ascii "shutdown" command
-l, --listen=<addr>       interface to listen on (default: {d.interface})
                          <addr> may be host, host:port or [ipv6]:port; separate several
                          with commas or repeat -l; '*' means all interfaces
-d, --daemon              run as a daemon
-r, --enable-coredumps    maximize core file limit
-u, --user=<user>         assume identity of <username> (only when run as root)
-m, --memory-limit=<num>  item memory in megabytes (default: {d.memory_limit // 1024 // 1024})
-M, --disable-evictions   return error on memory exhausted instead of evicting
-c, --conn-limit=<num>    max simultaneous connections (default: {d.max_connections})
-k, --lock-memory         lock down all paged memory (accepted, no effect)
-v, --verbose             verbose (print errors/warnings while in event loop)
-vv                       very verbose (also print client commands/responses)
-vvv                      extremely verbose (internal state transitions)
-h, --help                print this help and exit
-i, --license             print the license and exit
-V, --version             print version and exit
-P, --pidfile=<file>      save PID in <file>
-f, --slab-growth-factor=<num> chunk size growth factor (default: {d.factor})
-n, --slab-min-size=<bytes> min space used for key+value+flags (default: {d.chunk_size})
-L, --enable-largepages  try to use large memory pages (accepted, no effect)
-D <char>     Use <char> as the delimiter between key prefixes and IDs.
              This is used for per-prefix stats reporting. The default is
              "{d.prefix_delimiter}" (colon). If this option is specified, stats collection
              is turned on automatically; if not, then it may be turned on
              by sending the "stats detail on" command to the server.
-t, --threads=<num>       number of threads (default: {d.num_threads}; accepted, pymcd uses one)
-R, --max-reqs-per-event  maximum number of requests per event, limits the
                          requests processed per connection to prevent
                          starvation (default: {d.reqs_per_event})
-C, --disable-cas         disable use of CAS
-b, --listen-backlog=<num> set the backlog queue limit (default: {d.backlog})
-B, --protocol=<name>     protocol - ascii or auto (default: auto; binary is not supported)
-I, --max-item-size=<num> adjusts max item size
                          (default: 1m, min: 1k, max: 1024m)
-F, --disable-flush-all   disable flush_all command
-X, --disable-dumping     disable stats cachedump and lru_crawler metadump
-W  --disable-watch       disable watch commands (live logging)
-N, --napi_ids            number of napi ids (accepted, no effect)
-o, --extended            comma separated list of extended options
                          most options have a 'no_' prefix to disable
   - maxconns_fast:       immediately close new connections after limit (default: enabled)
   - hashpower:           an integer multiplier for how large the hash
                          table should be (accepted, no effect)
   - idle_timeout:        timeout for idle connections. (default: 0, no timeout)
   - slab_chunk_max:      (EXPERIMENTAL) maximum slab chunk size in bytes (default: 524288)
   - modern, no_modern, lru_crawler, lru_maintainer, track_sizes, hash_algorithm and
     memcached's other tuning options are accepted and have no effect
   --debugtime            (pymcd) enable the "debugtime <seconds>" command that moves
                          the server's clock, for tests
Not supported (refused): -S (SASL), -Y (auth file), -e (memory file), -Z (TLS),
-B binary, -U other than 0, -o ext_path."""


# ----------------------------------------------------------------------- process effects


def _is_root() -> bool:
    return os.getuid() == 0 or os.geteuid() == 0


def _set_limits(opts: Options) -> None:
    """``-r`` (core files as large as allowed) and enough file descriptors for ``-c``."""
    if opts.maxcore:
        try:
            _, hard = resource.getrlimit(resource.RLIMIT_CORE)
            resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
        except (OSError, ValueError):
            raise CliExit(EX_OSERR, "failed to ensure corefile creation") from None
    want = opts.settings.max_connections + 32  # listeners, trio's wakeup pipes, stdio
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= want:
        return
    try:
        new_hard = hard if hard == resource.RLIM_INFINITY or hard >= want else want
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, new_hard))
    except (OSError, ValueError):
        raise CliExit(
            EX_OSERR,
            "failed to set rlimit for open files. "
            "Try starting as root or requesting smaller maxconns value.",
        ) from None


def _drop_privileges(user: str | None) -> None:
    """memcached's root handling: refuse without ``-u``, else become that user for good."""
    if not _is_root():
        return
    if not user:
        raise CliExit(EX_USAGE, "can't run as root without the -u switch")
    import pwd

    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        raise CliExit(EX_NOUSER, f"can't find the user {user} to switch to") from None
    try:
        os.setgroups([])
    except OSError as exc:
        raise CliExit(EX_OSERR, f"failed to drop supplementary groups: {exc.strerror}") from None
    try:
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
    except OSError:
        raise CliExit(EX_OSERR, f"failed to assume identity of user {user}") from None


_STATUS = "\x00"  # starts the last line the daemon sends: its startup exit status


def _daemonize(verbose: int) -> int:
    """Double fork and ``setsid``; returns, in the daemon, a pipe to report startup on.

    The original process stays until the daemon reports (``on_ready`` or a startup failure)
    through the pipe: it copies the daemon's startup lines to its own stderr and exits with
    the daemon's startup status, so ``pymcd -d`` returns once the server listens (or fails).
    In the daemon: cwd ``/``, stdin/stdout on /dev/null, stderr too unless ``-v`` (as
    memcached keeps its descriptors when verbose). Signals are left at their defaults.
    """
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid > 0:  # the original process
        os.close(write_fd)
        os.waitpid(pid, 0)
        raise _wait_for_daemon(read_fd)
    os.close(read_fd)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    if verbose == 0:
        os.dup2(devnull, 2)
    if devnull > 2:
        os.close(devnull)
    return write_fd


def _wait_for_daemon(read_fd: int) -> CliExit:
    """In the original process: relay the daemon's report; the CliExit to leave with."""
    chunks = []
    with os.fdopen(read_fd, "rb") as pipe:
        while data := pipe.read(4096):
            chunks.append(data)
    lines = b"".join(chunks).decode("utf-8", "replace").splitlines()
    if lines and lines[-1].startswith(_STATUS):
        status = int(lines.pop()[1:])
    else:
        status = 1
        lines.append(f"{PROG}: the daemon exited during startup")
    return CliExit(status, "\n".join(lines))


def _write_pid_file(path: str) -> None:
    """memcached's ``save_pid``: warn about a live pid in the way; write via ``<path>.tmp``."""
    try:
        with open(path) as f:
            old = int(f.read().strip() or "0")
        if old > 0:
            os.kill(old, 0)
            print(
                f"WARNING: The pid file contained the following (running) pid: {old}",
                file=sys.stderr,
            )
    except (OSError, ValueError):
        pass
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w") as f:
            f.write(f"{os.getpid()}\n")
    except OSError as exc:
        print(f"Could not open the pid file {tmp} for writing: {exc.strerror}", file=sys.stderr)
        return
    try:
        os.rename(tmp, path)
    except OSError as exc:
        print(
            f"Could not rename the pid file from {tmp} to {path}: {exc.strerror}", file=sys.stderr
        )


def _remove_pid_file(path: str) -> None:
    try:
        os.unlink(path)
    except OSError as exc:
        print(f"Could not remove the pid file {path}: {exc.strerror}", file=sys.stderr)


def format_address(address: Address) -> str:
    """The listening line: ``pymcd: listening on host:port`` / ``[v6]:port`` / ``unix:path``."""
    if isinstance(address, str):
        return f"{PROG}: listening on unix:{address}"
    host, port = address[0], address[1]
    if ":" in host:
        host = f"[{host}]"
    return f"{PROG}: listening on {host}:{port}"


def _listen_failure(settings: Settings, opts: Options, exc: OSError) -> str:
    reason = exc.strerror or os.strerror(exc.errno or errno.EINVAL)
    if settings.unix_socket is not None:
        return f"failed to listen on UNIX socket: {settings.unix_socket}: {reason}"
    if opts.listen:
        return f"failed to listen on one of interface(s) {','.join(opts.listen)}: {reason}"
    return f"failed to listen on TCP port {settings.port}: {reason}"


def _first_oserror(exc: BaseException) -> OSError | None:
    if isinstance(exc, OSError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _first_oserror(inner)
            if found is not None:
                return found
    return None


def _preload_codecs() -> None:
    """Codecs the server and its logging use lazily (host names, log lines)."""
    for name in ("encodings.idna", "encodings.latin_1", "encodings.ascii", "stringprep"):
        importlib.import_module(name)


def _server_run() -> _RunServer:
    try:
        module = importlib.import_module("pymcd.server")
    except ModuleNotFoundError as exc:
        if exc.name != "pymcd.server":
            raise
        raise CliExit(1, f"{PROG}: pymcd.server is not available") from None
    run: _RunServer = module.run
    return run


def _serve(opts: Options) -> int:
    """Apply the process effects in memcached's order, then run the server."""
    s = opts.settings
    _set_limits(opts)
    # Import everything the server needs while still root: after the privilege drop the
    # interpreter's own files may be unreadable (a Python installed under /root).
    run = _server_run()
    _preload_codecs()
    _drop_privileges(s.user)
    report_fd = _daemonize(s.verbose) if s.daemonize else None
    out: TextIO = sys.stderr if report_fd is None else os.fdopen(report_fd, "w", buffering=1)
    configure_logging(s.verbose)
    requested_zero = s.unix_socket is None and any(p == 0 for _, p in s.listen_addresses)
    ready = False

    def on_ready(addresses: list[Address]) -> None:
        nonlocal ready
        ready = True
        if s.pid_file is not None:
            _write_pid_file(s.pid_file)
        if requested_zero or s.verbose > 0:
            for address in addresses:
                print(format_address(address), file=out, flush=True)
        if report_fd is not None:
            out.write(f"{_STATUS}0\n")
            out.close()

    try:
        code = run(s, on_ready=on_ready)
    except BaseException as exc:
        oserror = _first_oserror(exc)
        if ready or oserror is None:
            raise
        message = _listen_failure(s, opts, oserror)
        if report_fd is None:
            raise CliExit(EX_OSERR, message) from None
        out.write(f"{message}\n{_STATUS}{EX_OSERR}\n")
        out.close()
        os._exit(EX_OSERR)
    if ready and s.pid_file is not None:
        _remove_pid_file(s.pid_file)
    if report_fd is not None and not ready:
        out.write(f"{_STATUS}{code or 1}\n")
        out.close()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """The ``pymcd`` console script: parse memcached's flags and serve; the exit code.

    ``argv`` excludes the program name (defaults to ``sys.argv[1:]``). Returns 0 after
    ``-h``/``-V``/``-i`` and after a clean stop, memcached's exit code for a refusal (message
    on stderr, nothing on stdout), and whatever ``server.run`` returns otherwise.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        opts = parse_args(args)
        return _serve(opts)
    except CliExit as exc:
        if exc.message:
            print(exc.message, file=sys.stdout if exc.stdout else sys.stderr, flush=True)
        return exc.code
