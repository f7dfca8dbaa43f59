"""pymemcache on the target: its own integration tests, a round trip, and HashClient.

pymemcache ships its integration tests inside the package (``pymemcache/test``); they take
the server from ``--server``/``--port``. They run here in a child pytest (its own rootdir, so
neither this suite's configuration nor its fixtures apply) against the target's shared
server, and must all pass. Excluded, each with its reason:

- ``test_tls``: marked ``skip`` upstream (pymemcache issue #39); it needs a TLS server.
- the gevent variants: pymemcache parametrizes with gevent's socket only when gevent is
  installed; it is not a test dependency here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pymemcache.test
import pytest
from pymemcache.client.base import Client
from pymemcache.client.hash import HashClient

from ..conftest import Backend, Server
from .conftest import raw_get

UPSTREAM_SKIPS = {"test_tls": "https://github.com/pinterest/pymemcache/issues/39"}


# A server of its own: the suite runs `cache_memlimit 50`, which would outlive the shared
# server's per-test flush_all and change what later tests see in `stats`.
@pytest.mark.server_flags("-m", "64")
def test_pymemcache_integration_suite(server: Server, tmp_path: Path) -> None:
    suite = Path(pymemcache.test.__file__).with_name("test_integration.py")
    report = tmp_path / "junit.xml"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(suite),
            "-m",
            "integration",
            "--server",
            server.host,
            "--port",
            str(server.port),
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,  # not this repository's pytest settings
            "-p",
            "no:cacheprovider",
            "-W",
            "ignore::pytest.PytestUnknownMarkWarning",  # pymemcache registers them in setup.cfg
            f"--junitxml={report}",
            "-q",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = proc.stdout[-4000:] + proc.stderr[-2000:]
    cases = ET.parse(report).getroot().iter("testcase")
    outcomes: dict[str, list[str]] = {"passed": [], "failed": [], "skipped": []}
    for case in cases:
        name = case.get("name", "")
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes["failed"].append(name)
        elif (skipped := case.find("skipped")) is not None:
            base = name.split("[")[0]
            assert UPSTREAM_SKIPS.get(base, "?") in skipped.get("message", ""), (name, output)
            outcomes["skipped"].append(name)
        else:
            outcomes["passed"].append(name)
    assert not outcomes["failed"], output
    assert proc.returncode == 0, output
    assert len(outcomes["passed"]) >= 100, output  # pymemcache 4.0: 100 with the socket module


def test_round_trip(server: Server) -> None:
    client = Client((server.host, server.port), default_noreply=False)
    try:
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
        assert client.stats()[b"cmd_get"] >= 5
    finally:
        client.close()


@pytest.mark.slow
def test_expiry(server: Server) -> None:
    """Against pymcd the server's clock moves; against memcached this waits."""
    client = Client((server.host, server.port), default_noreply=False)
    try:
        server.align()
        assert client.set("k", b"v", expire=2)
        assert client.set("touched", b"v", expire=100)
        assert client.touch("touched", 2)
        assert client.get("k") == b"v"
        server.advance(3)
        assert client.get("k") is None
        assert client.get("touched") is None
    finally:
        client.close()


def test_hash_client_over_a_cluster(target_cluster: list[Backend]) -> None:
    """Keys spread over three servers; one server down: its keys miss, the rest still hit."""
    servers = [(b.host, b.port) for b in target_cluster]
    client = HashClient(
        servers, default_noreply=False, ignore_exc=True, retry_attempts=1, dead_timeout=60
    )
    try:
        keys = [f"key{i}" for i in range(60)]
        for k in keys:
            assert client.set(k, k.encode())
        assert client.get_many(keys) == {k: k.encode() for k in keys}
        addresses = [f"{host}:{port}" for host, port in servers]
        owner = {k: addresses.index(client.hasher.get_node(k)) for k in keys}
        for index, backend in enumerate(target_cluster):
            direct = Server(backend, b"", b"VERSION 1.6.18\r\n")
            mine = [k for k in keys if owner[k] == index]
            assert mine, "a server got no keys"
            assert all(raw_get(direct, k.encode()) == (0, k.encode()) for k in mine)
            direct.close_clients()
        assert client.delete_many(keys[:10])
        assert client.get_many(keys[:10]) == {}

        target_cluster[0].stop()
        found = client.get_many(keys[10:])
        assert set(found) == {k for k in keys[10:] if owner[k] != 0}
    finally:
        client.close()
