"""Real clients against pymcd: libmemcached's memccapable and memcstat, and pymemcache."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from pymemcache.client.base import Client

from pymcd.testing import MemcachedServer


def _require(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{binary} is required under CI (apt-get install libmemcached-tools)")
        pytest.skip(f"{binary} not installed (apt-get install libmemcached-tools)")
    return path


@pytest.fixture
def server() -> Iterator[MemcachedServer]:
    with MemcachedServer() as srv:
        yield srv


def test_memccapable_ascii_passes(server: MemcachedServer) -> None:
    binary = _require("memccapable")
    result = subprocess.run(
        [binary, "-h", server.host, "-p", str(server.port), "-a", "-t", "5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All tests passed" in result.stdout
    assert "[fail]" not in result.stdout


def test_memcstat_reads_stats(server: MemcachedServer) -> None:
    binary = _require("memcstat")
    result = subprocess.run(
        [binary, f"--servers={server.host}:{server.port}"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    for name in ("pid", "uptime", "version", "curr_items", "limit_maxbytes", "threads"):
        assert f"\t{name}:" in result.stdout, result.stdout
    assert "1.6.18" in result.stdout


def test_pymemcache_round_trip(server: MemcachedServer) -> None:
    client = Client((server.host, server.port), default_noreply=False)
    assert client.set("a", b"1", expire=100)
    assert client.get("a") == b"1"
    assert client.add("a", b"2") is False
    assert client.replace("a", b"3")
    assert client.append("a", b"4")
    assert client.prepend("a", b"5")
    assert client.get("a") == b"534"
    value, cas = client.gets("a")
    assert value == b"534"
    assert client.cas("a", b"6", cas) is True
    assert client.cas("a", b"7", cas) is False
    assert client.incr("a", 10) == 16
    assert client.decr("a", 100) == 0
    assert client.get_many(["a", "missing"]) == {"a": b"0 "}
    assert client.touch("a", 10)
    assert client.delete("a")
    assert client.delete("a") is False
    assert client.set_many({"x": b"1", "y": b"2"}) == []
    assert client.flush_all()
    assert client.get("x") is None
    assert client.version() == b"1.6.18"
    stats = client.stats()
    assert stats[b"cmd_get"] >= 5
    client.close()


def test_pymemcache_expiry_without_sleeping(server: MemcachedServer) -> None:
    client = Client((server.host, server.port), default_noreply=False)  # no race with the clock
    assert client.set("k", b"v", expire=10)
    server.advance_clock(9)
    assert client.get("k") == b"v"
    server.advance_clock(2)
    assert client.get("k") is None
    client.close()
