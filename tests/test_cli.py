"""Tests for pymcd.cli: memcached's flags → Settings, refusals, process behaviour.

Unit tests call ``main()`` with a fake ``pymcd.server`` module; subprocess tests run
``python -m pymcd``; live tests (skipped while ``pymcd.server`` cannot be imported) start a real
server; ``@pytest.mark.memcached`` tests compare refusals with /usr/bin/memcached.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pymcd import cli, logging_setup
from pymcd.config import Settings

MEMCACHED = "/usr/bin/memcached"


class FakeServer:
    """Records the Settings ``run`` was called with; reports ``addresses`` as bound."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.addresses: list[Any] = [("127.0.0.1", 11211)]
        self.error: BaseException | None = None
        self.code = 0

    def run(
        self, settings: Settings, *, on_ready: Callable[[list[Any]], None] | None = None
    ) -> int:
        self.settings = settings
        if self.error is not None:
            raise self.error
        if on_ready is not None:
            on_ready(self.addresses)
        return self.code


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    server = FakeServer()
    module = types.ModuleType("pymcd.server")
    module.run = server.run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pymcd.server", module)
    monkeypatch.setattr(cli, "_is_root", lambda: False)
    monkeypatch.setattr(cli, "_set_limits", lambda opts: None)
    monkeypatch.setattr(cli, "_daemonize", lambda verbose: None)  # never fork pytest
    return server


def run_main(fake: FakeServer, argv: list[str]) -> Settings:
    assert cli.main(argv) == 0
    assert fake.settings is not None
    return fake.settings


# ------------------------------------------------------------------------ accepted flags

ACCEPTED: list[tuple[list[str], dict[str, Any]]] = [
    ([], {"port": 11211, "interface": "127.0.0.1", "verbose": 0, "memory_limit": 64 << 20}),
    (["-p", "11212"], {"port": 11212}),
    (["-p11212"], {"port": 11212}),
    (["--port=11212"], {"port": 11212}),
    (["--port", "11212"], {"port": 11212}),
    (["--po=11212"], {"port": 11212}),  # unique prefix, as getopt_long
    (["-p", "0"], {"port": 0, "listen_addresses": (("127.0.0.1", 0),)}),
    (["-p", "abc"], {"port": 0}),  # atoi, as memcached
    (["-U", "0"], {"udp_port": 0}),
    (["-U", "abc"], {"udp_port": 0}),
    (["-vv"], {"verbose": 2}),
    (["-vvv"], {"verbose": 3}),
    (["-v", "-v", "--verbose"], {"verbose": 3}),
    (["--verbose=2"], {"verbose": 1}),  # memcached ignores the value
    (["-dA"], {"daemonize": True, "enable_shutdown": True}),
    (
        ["-A", "-M", "-C", "-F", "-X", "-W", "-k", "-L", "-r"],
        {
            "enable_shutdown": True,
            "evictions": False,
            "use_cas": False,
            "flush_enabled": False,
            "dump_enabled": False,
            "watch_enabled": False,
            "lock_memory": True,
        },
    ),
    (["-m", "128"], {"memory_limit": 128 << 20}),
    (["-m", "10k"], {"memory_limit": 10 << 20}),  # no suffixes for -m: atoi
    (["-c", "10"], {"max_connections": 10}),
    (["-t", "1"], {"num_threads": 1}),
    (
        ["-R", "5", "-b", "7", "-n", "64", "-f", "1.5"],
        {
            "reqs_per_event": 5,
            "backlog": 7,
            "chunk_size": 64,
            "factor": 1.5,
        },
    ),
    (["-f", "2x"], {"factor": 2.0}),
    (["-I", "2m"], {"item_size_max": 2 << 20, "slab_chunk_size_max": 512 << 10}),
    (["-I", "1536k"], {"item_size_max": 1536 << 10}),
    (["-I", "2M", "-m", "5"], {"item_size_max": 2 << 20}),
    (["-I", "1k", "-o", "slab_chunk_max=512"], {"item_size_max": 1024}),
    (["-I", "1024m", "-m", "4096"], {"item_size_max": 1 << 30}),
    (["-B", "ascii"], {"binding_protocol": "ascii"}),
    (["-B", "auto"], {"binding_protocol": "auto"}),
    (["-D", "#"], {"prefix_delimiter": "#", "detail_enabled": True}),
    (["-D", "ab"], {"prefix_delimiter": "a"}),
    (["-a", "755", "-s", "/tmp/x.sock"], {"unix_mask": 0o755, "unix_socket": "/tmp/x.sock"}),
    (["-a", "abc"], {"unix_mask": 0}),
    (["-P", "/tmp/p", "-u", "nobody"], {"pid_file": "/tmp/p", "user": "nobody"}),
    (["-o", "idle_timeout=5"], {"idle_timeout": 5}),
    (["-o", "idle_timeout=abc"], {"idle_timeout": 0}),
    (["-o", "hashpower=16,no_maxconns_fast"], {"hashpower_init": 16, "maxconns_fast": False}),
    (["-o", "modern,lru_crawler,lru_maintainer,track_sizes,hash_algorithm=xxh3"], {}),
    (
        ["-o", "no_lru_crawler,no_lru_maintainer"],
        {
            "lru_crawler": False,
            "lru_maintainer_thread": False,
        },
    ),
    (["-o", "no_modern"], {"slab_chunk_size_max": 1 << 20, "maxconns_fast": False}),
    (["-o", "slab_chunk_max=16384"], {"slab_chunk_size_max": 16384}),
    (["-o", ""], {}),
    (["-o", "idle_timeout=5,"], {"idle_timeout": 5}),
    (["--debugtime"], {"debugtime": True}),
    (["-N", "2"], {}),
    (
        ["-l", "127.0.0.1,::1"],
        {
            "interface": "127.0.0.1,::1",
            "listen_addresses": (("127.0.0.1", 11211), ("::1", 11211)),
        },
    ),
    (
        ["-l", "127.0.0.1", "-l", "::1", "-l", "127.0.0.1"],
        {
            "listen_addresses": (("127.0.0.1", 11211), ("::1", 11211)),
        },
    ),
    (
        ["-p", "5", "-l", "127.0.0.1:7;[::1]:8"],
        {
            "listen_addresses": (("127.0.0.1", 7), ("::1", 8)),
        },
    ),
    (["-l", "*"], {"interface": "0.0.0.0", "listen_addresses": ((None, 11211),)}),
    (["-p", "1", "extra", "args", "--", "-c", "0"], {"port": 1}),  # ignored, as memcached
]


@pytest.mark.parametrize(("argv", "fields"), ACCEPTED, ids=[" ".join(a) for a, _ in ACCEPTED])
def test_accepted(fake: FakeServer, argv: list[str], fields: dict[str, Any]) -> None:
    settings = run_main(fake, argv)
    for name, value in fields.items():
        assert getattr(settings, name) == value, name


# ----------------------------------------------------------------------------- refusals

GETOPT = 'Illegal argument "?"'
REFUSED: list[tuple[list[str], int, str]] = [
    (["-Q"], 1, f"pymcd: invalid option -- 'Q'\n{GETOPT}"),
    (["-v2"], 1, f"pymcd: invalid option -- '2'\n{GETOPT}"),
    (["--bogus=1"], 1, f"pymcd: unrecognized option '--bogus=1'\n{GETOPT}"),
    (["-p"], 1, f"pymcd: option requires an argument -- 'p'\n{GETOPT}"),
    (["--port"], 1, f"pymcd: option '--port' requires an argument\n{GETOPT}"),
    (["--help=3"], 1, f"pymcd: option '--help' doesn't allow an argument\n{GETOPT}"),
    (
        ["--ver"],
        1,
        f"pymcd: option '--ver' is ambiguous; possibilities: '--version' '--verbose'\n{GETOPT}",
    ),
    (["-c", "0"], 1, "Maximum connections must be greater than 0"),
    (["-c", "abc"], 1, "Maximum connections must be greater than 0"),
    (["-t", "0"], 1, "Number of threads must be greater than 0"),
    (["--threads=-1"], 1, "Number of threads must be greater than 0"),
    (["-R", "0"], 1, "Number of requests per event must be greater than 0"),
    (["-f", "1"], 1, "Factor must be greater than 1"),
    (["-n", "0"], 1, "Chunk size must be greater than 0"),
    (["-D", ""], 1, "No delimiter specified"),
    (["-N", "0"], 1, "Maximum number of NAPI IDs must be greater than 0"),
    (["-N", "9"], 64, "Number of napi_ids(9) cannot be greater than number of threads(4)"),
    (["-I", "1000"], 64, "Item max size cannot be less than 1024 bytes."),
    (["-I", "1g", "-m", "9000"], 64, "Item max size cannot be less than 1024 bytes."),
    (["-I", "2048m", "-m", "9000"], 64, "Item max size cannot be less than 1024 bytes."),
    (["-I", "64m"], 64, "Cannot set item size limit higher than 1/2 of memory max."),
    (["-m", "0"], 64, "Cannot set item size limit higher than 1/2 of memory max."),
    (["-I", "1025m", "-m", "9000"], 64, "Cannot set item size limit higher than a gigabyte."),
    (
        ["-I", "1k"],
        64,
        "slab_chunk_max (bytes: 524288) cannot be larger than -I (item_size_max 1024)",
    ),
    (
        ["-I", "1100k"],
        64,
        "-I (item_size_max: 1126400) must be evenly divisible by slab_chunk_max (bytes: 524288)",
    ),
    (
        ["-o", "slab_chunk_max=1000"],
        64,
        "-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max (bytes: 1000)",
    ),
    (
        ["-B", "bogus"],
        64,
        "Invalid value for binding protocol: bogus\n -- should be one of auto, binary, or ascii",
    ),
    (["-p", "65536"], 64, "ERROR: Invalid port number 65536."),
    (["-o", "bogus"], 1, 'Illegal suboption "bogus"'),
    (["-o", "modern,no_bogus"], 1, 'Illegal suboption "no_bogus"'),
    (["-o", ","], 1, 'Illegal suboption ""'),
    (["-o", "idle_timeout"], 1, "Missing numeric argument for idle_timeout"),
    (["-o", "hashpower=5"], 1, "Initial hashtable multiplier of 5 is too low"),
    (["-o", "slab_chunk_max=abc"], 1, "could not parse argument to slab_chunk_max"),
    (["-o", "hash_algorithm=md5"], 1, "Unknown hash_algorithm option (jenkins, murmur3, xxh3)"),
    (["-o", "hot_lru_pct=90"], 1, "hot_lru_pct must be > 1 and < 80"),
    (["-U", "11211"], 64, "pymcd: UDP is not supported by pymcd (-U 11211; use -U 0)"),
    (["-B", "binary"], 64, "pymcd: the binary protocol (-B binary) is not supported by pymcd"),
    (["-S"], 64, "pymcd: SASL authentication (-S) is not supported by pymcd"),
    (["-Y", "/etc/passwd"], 64, "pymcd: ASCII authentication (-Y) is not supported by pymcd"),
    (
        ["-e", "/tmp/m"],
        64,
        "pymcd: a memory file (-e, restartable cache) is not supported by pymcd",
    ),
    (["-Z"], 64, "pymcd: TLS (-Z) is not supported by pymcd"),
    (["-o", "ext_path=/tmp/x:1m"], 64, "pymcd: extstore (-o ext_path) is not supported by pymcd"),
    (["-l", "no.such.host.invalid"], 71, "getaddrinfo(): "),
    (
        ["-l", "127.0.0.1:abc"],
        71,
        'Invalid port number: "abc"\n'
        "failed to listen on one of interface(s) 127.0.0.1:abc: Invalid argument",
    ),
    (["-l", "[::1"], 71, 'Invalid IPV6 address: "[::1"'),
]


@pytest.mark.parametrize(
    ("argv", "code", "message"), REFUSED, ids=[" ".join(a) for a, _, _ in REFUSED]
)
def test_refused(
    fake: FakeServer, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    assert cli.main(argv) == code
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(message)
    assert fake.settings is None


def test_high_thread_count_warns(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_main(fake, ["-t", "100"]).num_threads == 100
    assert "WARNING: Setting a high number of workerthreads" in capsys.readouterr().err


def test_options_act_in_order(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-h", "-c", "0"]) == 0
    assert capsys.readouterr().out.startswith("pymcd ")
    assert cli.main(["-c", "0", "-h"]) == 1
    assert cli.main(["-vhp"]) == 0  # -h acts before -p misses its value


def test_help_and_version(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-V"]) == 0
    out, err = capsys.readouterr()
    assert out == f"pymcd {cli.__version__} (memcached 1.6.18 compatible)\n"
    assert err == ""
    assert cli.main(["--help"]) == 0
    out, err = capsys.readouterr()
    for flag in ("-p, --port", "-l, --listen", "-I, --max-item-size", "--debugtime", "-o"):
        assert flag in out
    assert err == ""
    assert cli.main(["-i"]) == 0
    assert "MIT" in capsys.readouterr().out


# -------------------------------------------------------------------- process behaviour


def test_root_without_user_is_refused(
    fake: FakeServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_is_root", lambda: True)
    assert cli.main(["-p", "0"]) == 64
    assert capsys.readouterr().err == "can't run as root without the -u switch\n"
    assert cli.main(["-u", "no-such-user-pymcd"]) == 67
    assert capsys.readouterr().err == "can't find the user no-such-user-pymcd to switch to\n"
    assert fake.settings is None


def test_listening_line(fake: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    fake.addresses = [("127.0.0.1", 40000), ("::1", 40001)]
    run_main(fake, ["-p", "0"])
    assert capsys.readouterr() == (
        "",
        "pymcd: listening on 127.0.0.1:40000\npymcd: listening on [::1]:40001\n",
    )
    run_main(fake, ["-p", "40000"])  # a fixed port: quiet unless -v
    assert capsys.readouterr() == ("", "")
    fake.addresses = ["/tmp/pymcd.sock"]
    run_main(fake, ["-v", "-s", "/tmp/pymcd.sock"])
    assert capsys.readouterr().err == "pymcd: listening on unix:/tmp/pymcd.sock\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "failed to listen on TCP port 11211: Address already in use"),
        (
            ["-l", "127.0.0.1"],
            "failed to listen on one of interface(s) 127.0.0.1: Address already in use",
        ),
        (["-s", "/x"], "failed to listen on UNIX socket: /x: Address already in use"),
    ],
)
def test_listen_failure(
    fake: FakeServer, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    fake.error = ExceptionGroup("x", [OSError(98, "Address already in use")])
    assert cli.main(argv) == 71
    assert capsys.readouterr() == ("", message + "\n")


def test_pid_file_written_when_ready_and_removed(fake: FakeServer, tmp_path: Path) -> None:
    pid_file = tmp_path / "pymcd.pid"
    seen: list[str] = []
    original = fake.addresses

    def on_ready_probe(settings: Settings, *, on_ready: Any = None) -> int:
        on_ready(original)
        seen.append(pid_file.read_text())
        return 0

    sys.modules["pymcd.server"].run = on_ready_probe  # type: ignore[attr-defined]
    assert cli.main(["-P", str(pid_file)]) == 0
    assert seen == [f"{os.getpid()}\n"]
    assert not pid_file.exists()


def test_exit_code_is_the_servers(fake: FakeServer) -> None:
    fake.code = 3
    assert cli.main([]) == 3


def test_c_number_helpers() -> None:
    assert cli.c_atoi("  42abc") == 42
    assert cli.c_atoi("x") == 0
    assert cli.c_atoi("99999999999") == 1215752191  # (int) of a 64-bit long, as glibc
    assert cli.c_strtol("0755", 8) == 0o755
    assert cli.c_atof("1.5e1x") == 15.0
    assert cli.safe_strtol("12 ") == 12
    assert cli.safe_strtol("12x") is None
    assert cli.safe_strtol("") is None


# ---------------------------------------------------------------------------- logging


@pytest.mark.parametrize(
    ("verbose", "level"),
    [(0, logging.WARNING), (1, logging.INFO), (2, logging.DEBUG), (3, 5), (9, 5)],
)
def test_logging_levels(verbose: int, level: int) -> None:
    assert logging_setup.level_for_verbosity(verbose) == level


def test_logging_writes_bare_messages_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging_setup.configure_logging(2)
    logging_setup.configure_logging(2)  # configuring twice keeps one handler
    logger.log(logging_setup.VERBOSE_COMMANDS, "<27 get foo")
    logger.log(logging_setup.VERBOSE_INTERNALS, "hidden at -vv")
    assert capsys.readouterr() == ("", "<27 get foo\n")
    logging_setup.set_verbosity(0)
    logger.info("hidden at -v0")
    assert capsys.readouterr() == ("", "")


# ------------------------------------------------------------------------- subprocesses


def pymcd(*args: str, timeout: float = 5) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pymcd", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_subprocess_help_and_version() -> None:
    result = pymcd("-V")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("pymcd ") and "(memcached 1.6.18 compatible)" in result.stdout
    result = pymcd("-h")
    assert (result.returncode, result.stderr) == (0, "")
    assert "-p, --port=<num>" in result.stdout


@pytest.mark.parametrize("argv", [["-Q"], ["-c", "0"], ["-I", "1000"], ["-U", "5"], ["-S"]])
def test_subprocess_bad_flags(argv: list[str]) -> None:
    start = time.monotonic()
    result = pymcd(*argv)
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.strip()
    assert time.monotonic() - start < 2


def _server_importable() -> str | None:
    try:
        import pymcd.server  # noqa: F401
    except Exception as exc:  # the server is written in parallel
        return f"pymcd.server cannot be imported yet: {exc!r}"
    return None


_SKIP_LIVE = _server_importable()
live = pytest.mark.skipif(_SKIP_LIVE is not None, reason=_SKIP_LIVE or "")


def _user_args() -> list[str]:
    """As root, memcached (and pymcd) insist on -u; stay root so tmp files stay writable."""
    return ["-u", "root"] if os.geteuid() == 0 else []


def _version(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"version\r\n")
        return sock.recv(100)


@live
def test_live_port_zero_prints_the_port() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pymcd", "-p", "0", *_user_args()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("pymcd: listening on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        assert _version(port).startswith(b"VERSION ")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert proc.stdout is not None and proc.stdout.read() == ""
    finally:
        proc.kill()
        proc.wait()


@live
def test_live_daemon_and_pid_file(tmp_path: Path) -> None:
    pid_file = tmp_path / "pymcd.pid"
    result = pymcd("-d", "-P", str(pid_file), "-p", "0", *_user_args())
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    port = int(result.stderr.splitlines()[-1].rsplit(":", 1)[1])
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 0)  # alive
        assert pid != os.getpid()
        assert _version(port).startswith(b"VERSION ")
    finally:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the daemon did not stop on SIGTERM")


@live
def test_live_daemon_reports_a_listen_failure() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = pymcd("-d", "-p", str(port), "-l", "127.0.0.1", *_user_args())
    assert result.returncode == 71
    assert "failed to listen on one of interface(s) 127.0.0.1: " in result.stderr


# -------------------------------------------------------------- against real memcached

_HAVE_MEMCACHED = shutil.which(MEMCACHED) is not None or os.path.exists(MEMCACHED)
needs_memcached = pytest.mark.skipif(
    not _HAVE_MEMCACHED and os.environ.get("CI") != "true",
    reason=f"{MEMCACHED} is not installed",
)

SAME_AS_MEMCACHED = [
    ["-Q"],
    ["--bogus"],
    ["-p"],
    ["--port"],
    ["--ver"],
    ["--p=5"],
    ["--help=3"],
    ["-c", "0"],
    ["-t", "0"],
    ["-R", "0"],
    ["-f", "1"],
    ["-n", "0"],
    ["-I", "1000"],
    ["-I", "64m"],
    ["-I", "2m", "-m", "3"],
    ["-I", "1k"],
    ["-I", "1100k"],
    ["-I", "1025m", "-m", "9000"],
    ["-I", "1g", "-m", "9000"],
    ["-B", "bogus"],
    ["-p", "65536"],
    ["-o", "bogus"],
    ["-o", "hashpower=70"],
    ["-o", "idle_timeout"],
    ["-N", "9"],
]


@pytest.mark.memcached
@needs_memcached
@pytest.mark.parametrize("argv", SAME_AS_MEMCACHED, ids=[" ".join(a) for a in SAME_AS_MEMCACHED])
def test_refusals_match_memcached(
    fake: FakeServer, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    real = subprocess.run(
        ["memcached", "-U", "0", *_memcached_user(), *argv],
        executable=MEMCACHED,
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert (code, out) == (real.returncode, real.stdout)
    assert err == real.stderr.replace("memcached: ", "pymcd: ")


def _memcached_user() -> list[str]:
    return ["-u", "nobody"] if os.geteuid() == 0 else []


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_serves_after_dropping_privileges_to_nobody() -> None:
    """The server and its lazy imports load before setuid: a root-only Python still works."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pymcd", "-u", "nobody", "-p", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        port = int(line.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"version\r\n")
            assert conn.recv(100) == b"VERSION 1.6.18\r\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
