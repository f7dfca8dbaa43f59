"""libmemcached's command-line tools (Debian: libmemcached-tools) on the target.

Each tool is checked by what it did on the server (values, flags, the server's own counters),
not only by its exit status. ``memccapable -a`` runs libmemcached's ASCII protocol test.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ..conftest import Server
from .conftest import raw_get, raw_set, require, stats

Tool = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def tool(server: Server, tmp_path: Path) -> Tool:
    """``tool("memcrm", "key")``: run a libmemcached tool against the target, in tmp_path."""

    def run(name: str, *args: str) -> subprocess.CompletedProcess[str]:
        binary = require(shutil.which(name), name, "apt-get install libmemcached-tools")
        return subprocess.run(
            [binary, f"--servers={server.host}:{server.port}", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


def counters(server: Server, *names: str) -> dict[str, int]:
    current = stats(server)
    return {name: int(current[name]) for name in names}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in before}


def test_memcping(tool: Tool) -> None:
    result = tool("memcping")
    assert result.returncode == 0, result.stderr


def test_memccp_stores_files(server: Server, tool: Tool, tmp_path: Path, key_prefix: bytes) -> None:
    name = key_prefix.decode() + "file.txt"
    (tmp_path / name).write_bytes(b"line 1\r\nline 2\x00\xff")
    result = tool("memccp", "--flags=7", "--expire=100", name)
    assert result.returncode == 0, result.stderr
    assert raw_get(server, name.encode()) == (7, b"line 1\r\nline 2\x00\xff")
    (tmp_path / name).write_bytes(b"replaced")
    assert tool("memccp", "--add", name).returncode != 0  # exists: not stored
    assert raw_get(server, name.encode()) == (7, b"line 1\r\nline 2\x00\xff")
    assert tool("memccp", "--replace", name).returncode == 0
    assert raw_get(server, name.encode()) == (0, b"replaced")


def test_memccat(server: Server, tool: Tool, key_prefix: bytes) -> None:
    key = key_prefix + b"cat"
    raw_set(server, key, b"some value", flags=42)
    result = tool("memccat", key.decode())
    assert (result.returncode, result.stdout) == (0, "some value\n")
    with_flags = tool("memccat", "--flags", key.decode())
    assert with_flags.stdout.split() == ["42", "some", "value"]
    missing = tool("memccat", (key_prefix + b"missing").decode())
    assert missing.returncode != 0
    assert missing.stdout == ""


def test_memcexist(server: Server, tool: Tool, key_prefix: bytes) -> None:
    raw_set(server, key_prefix + b"here", b"v")
    assert tool("memcexist", (key_prefix + b"here").decode()).returncode == 0
    assert tool("memcexist", (key_prefix + b"absent").decode()).returncode == 1


def test_memctouch(server: Server, tool: Tool, key_prefix: bytes) -> None:
    raw_set(server, key_prefix + b"t", b"v")
    before = counters(server, "cmd_touch", "touch_hits", "touch_misses")
    assert tool("memctouch", "--expire=100", (key_prefix + b"t").decode()).returncode == 0
    assert tool("memctouch", "--expire=100", (key_prefix + b"absent").decode()).returncode == 1
    after = counters(server, "cmd_touch", "touch_hits", "touch_misses")
    assert delta(before, after) == {"cmd_touch": 2, "touch_hits": 1, "touch_misses": 1}


def test_memcrm(server: Server, tool: Tool, key_prefix: bytes) -> None:
    raw_set(server, key_prefix + b"rm", b"v")
    before = counters(server, "delete_hits", "delete_misses")
    assert tool("memcrm", (key_prefix + b"rm").decode()).returncode == 0
    assert raw_get(server, key_prefix + b"rm") is None
    assert tool("memcrm", (key_prefix + b"rm").decode()).returncode == 1
    after = counters(server, "delete_hits", "delete_misses")
    assert delta(before, after) == {"delete_hits": 1, "delete_misses": 1}


def test_memcstat(server: Server, tool: Tool) -> None:
    result = tool("memcstat")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Server: {server.host} ({server.port})\n")
    reported = dict(
        line.strip().split(": ", 1) for line in result.stdout.splitlines()[1:] if ": " in line
    )
    actual = stats(server)
    for name in ("pid", "version", "limit_maxbytes", "threads", "pointer_size"):
        assert reported[name] == actual[name], name
    assert reported["version"] == "1.6.18"
    assert set(reported) >= {"uptime", "curr_items", "total_items", "bytes", "cmd_get"}
    version = tool("memcstat", "--server-version")  # printed on stderr
    assert (version.stdout + version.stderr).strip() == f"{server.host}:{server.port} 1.6.18"
    settings = tool("memcstat", "--args=settings")
    assert f"\ttcpport: {server.port}\n" in settings.stdout, settings.stdout


def test_memcflush(server: Server, tool: Tool, key_prefix: bytes) -> None:
    raw_set(server, key_prefix + b"a", b"v")
    before = counters(server, "cmd_flush")
    assert tool("memcflush").returncode == 0
    assert counters(server, "cmd_flush")["cmd_flush"] == before["cmd_flush"] + 1
    assert raw_get(server, key_prefix + b"a") is None


def test_memcslap(server: Server, tool: Tool) -> None:
    """2 threads, 500 each: the set test stores 1000 times; the get test loads 500 keys and then
    reads 1000 times, every read a hit."""
    names = ("cmd_set", "cmd_get", "get_hits", "get_misses")
    before = counters(server, *names)
    result = tool("memcslap", "--concurrency=2", "--execute-number=500", "--test=set")
    assert result.returncode == 0, result.stderr
    after_set = counters(server, *names)
    assert delta(before, after_set) == {
        "cmd_set": 1000,
        "cmd_get": 0,
        "get_hits": 0,
        "get_misses": 0,
    }
    result = tool("memcslap", "--concurrency=2", "--execute-number=500", "--test=get")
    assert result.returncode == 0, result.stderr
    assert "Time to get            1000 keys by    2 threads" in result.stdout
    after_get = counters(server, *names)
    assert delta(after_set, after_get) == {
        "cmd_set": 500,
        "cmd_get": 1000,
        "get_hits": 1000,
        "get_misses": 0,
    }


def test_memccapable_ascii(server: Server) -> None:
    """Every ASCII test of libmemcached's protocol checker passes (it flushes the server)."""
    binary = require(
        shutil.which("memccapable"), "memccapable", "apt-get install libmemcached-tools"
    )
    proc = subprocess.run(
        [binary, "-h", server.host, "-p", str(server.port), "-a", "-t", "5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report
    assert "All tests passed" in report, report
    assert "[fail]" not in report, report
