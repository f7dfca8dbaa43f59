"""The pytest plugin in fresh projects (pytester): fixtures, xdist, options, external servers."""

from __future__ import annotations

import json
import os
import pwd
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from pymcd.testing.plugin import flags_to_settings, resolve_config

pytest_plugins = ["pytester"]

MEMCACHED_BIN = "/usr/bin/memcached"

# pytest-rerunfailures (installed for the real-memcached conformance run) keeps a socket of
# its own open; the leak check is about pymcd's sockets only.
NO_FOREIGN_SOCKETS = ("-p", "no:rerunfailures")

# Records what is left running when the inner pytest ends (after every fixture teardown).
LEAK_CHECK_CONFTEST = """
import json, os, threading

def _sockets():
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            n += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n

def pytest_configure(config):
    config._sockets_before = _sockets()

def pytest_unconfigure(config):
    with open("leftovers.json", "w") as f:
        json.dump({
            "threads": [t.name for t in threading.enumerate() if "pymcd" in t.name],
            "sockets": _sockets() - config._sockets_before,
        }, f)
"""

FRESH_PROJECT_TESTS = """
import pytest
import trio
from pymemcache.client.base import Client

PORTS = []

def client(server):
    return Client((server.host, server.port), default_noreply=False)

def test_first(memcached_server):
    PORTS.append(memcached_server.port)
    c = client(memcached_server)
    c.set("k", b"v")
    memcached_server.faults.fail("get")
    memcached_server.advance_clock(100)

def test_second_sees_a_fresh_server(memcached_server):
    PORTS.append(memcached_server.port)
    assert PORTS[0] == PORTS[1]  # one server per session
    assert memcached_server.keys() == [] and memcached_server.commands() == []
    assert client(memcached_server).get("k") is None  # no fault left
    assert int(memcached_server.stats()["uptime"]) < 5

def test_factory(memcached_factory, memcached_server):
    small = memcached_factory(evictions=False)
    assert small.port != memcached_server.port
    assert small.stats("settings")["evictions"] == "off"
    assert small.stats("settings")["maxbytes"] == str(2 * 1024 * 1024)  # from ini

@pytest.mark.memcached_cluster(size=2)
def test_cluster(memcached_cluster):
    assert len(memcached_cluster) == 2 and len(set(memcached_cluster.addresses)) == 2
    memcached_cluster[1].stop()

def test_stopped_session_server_comes_back(memcached_server):
    memcached_server.stop()

def test_after_stop(memcached_server):
    assert client(memcached_server).set("k", b"v")

@pytest.mark.trio
async def test_trio(memcached_trio_server, memcached_trio_factory, autojump_clock):
    other = await memcached_trio_factory(use_cas=False)
    assert other.port != memcached_trio_server.port
    stream = await trio.open_tcp_stream(memcached_trio_server.host, memcached_trio_server.port)
    await stream.send_all(b"set k 0 5 1\\r\\nv\\r\\n")
    assert await stream.receive_some() == b"STORED\\r\\n"
    await trio.sleep(6)
    assert memcached_trio_server.keys() == []
    await stream.aclose()
"""


def leftovers(pytester: pytest.Pytester) -> dict[str, object]:
    data: dict[str, object] = json.loads((pytester.path / "leftovers.json").read_text())
    return data


def test_fresh_project(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nmemcached_args = -m 2\n")
    pytester.makeconftest(LEAK_CHECK_CONFTEST)
    pytester.makepyfile(test_fresh=FRESH_PROJECT_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *NO_FOREIGN_SOCKETS)
    result.assert_outcomes(passed=7)
    assert leftovers(pytester) == {"threads": [], "sockets": 0}


def test_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(LEAK_CHECK_CONFTEST)
    pytester.makepyfile(
        test_x="""
        import os
        import pytest

        @pytest.mark.parametrize("i", range(8))
        def test_worker_server(memcached_server, i):
            worker = os.environ["PYTEST_XDIST_WORKER"]
            with open(f"port-{worker}-{memcached_server.port}", "w"):
                pass
            memcached_server.flush()
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "xdist", "-n", "2", "-p", "no:cacheprovider", *NO_FOREIGN_SOCKETS
    )
    result.assert_outcomes(passed=8)
    marks = {p.name.split("-")[1]: p.name.split("-")[2] for p in pytester.path.glob("port-*")}
    assert sorted(marks) == ["gw0", "gw1"] and len(set(marks.values())) == 2
    assert leftovers(pytester) == {"threads": [], "sockets": 0}


# -------------------------------------------------------------------------------- options


def test_flags_to_settings() -> None:
    assert flags_to_settings("-m 1 -M -I 512k") == {
        "memory_limit": 1024 * 1024,
        "evictions": False,
        "item_size_max": 512 * 1024,
    }
    assert flags_to_settings("  ") == {}
    assert flags_to_settings("-p 1234 -l 10.0.0.1") == {}  # the fixtures own the address
    with pytest.raises(pytest.UsageError, match="-I"):
        flags_to_settings("-I 1")


def test_option_precedence() -> None:
    def config(**given: str | None) -> object:
        args = {
            "cli_external": None,
            "ini_external": "",
            "env_external": "",
            "cli_args": None,
            "ini_args": "",
            "env_args": "",
        }
        args.update(given)
        return resolve_config(**args)  # type: ignore[arg-type]

    c = config(env_args="-m 2 -C -c 100", ini_args="-m 4 -M", cli_args="-m 8")
    assert c.settings == {  # type: ignore[attr-defined]
        "memory_limit": 8 * 1024 * 1024,
        "use_cas": False,
        "max_connections": 100,
        "evictions": False,
    }
    assert c.merged(memory_limit=5) == {**c.settings, "memory_limit": 5}  # type: ignore[attr-defined]
    assert config(env_external="e:1").external == ("e:1",)  # type: ignore[attr-defined]
    assert config(env_external="e:1", ini_external="i:1,i:2").external == ("i:1", "i:2")  # type: ignore[attr-defined]
    assert config(ini_external="i:1", cli_external="c:1").external == ("c:1",)  # type: ignore[attr-defined]
    assert config(ini_external="i:1", cli_external="").external == ()  # type: ignore[attr-defined]


def test_options_reach_the_fixtures(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYMCD_MEMCACHED_ARGS", "-c 500 -m 2")
    pytester.makeini("[pytest]\nmemcached_args = -m 4 -C\n")
    pytester.makepyfile(
        """
        def test_settings(memcached_server, memcached_factory):
            s = memcached_server.stats("settings")
            assert (s["maxconns"], s["maxbytes"], s["cas_enabled"]) == ("500", "8388608", "no")
            other = memcached_factory(memory_limit=16 * 1024 * 1024)
            assert other.stats("settings")["maxbytes"] == "16777216"
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--memcached-args=-m 8")
    result.assert_outcomes(passed=1)


# -------------------------------------------------------------------------------- external


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def real_memcached() -> Iterator[str]:
    if not os.access(MEMCACHED_BIN, os.X_OK):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{MEMCACHED_BIN} is required under CI (apt-get install memcached)")
        pytest.skip(f"{MEMCACHED_BIN} not installed (apt-get install memcached)")
    port = _free_port()
    argv = [MEMCACHED_BIN, "-l", "127.0.0.1", "-p", str(port)]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
        pwd.getpwnam("nobody")
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("memcached did not start") from None
                time.sleep(0.01)
        yield f"127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait()


def test_external_memcached(pytester: pytest.Pytester, real_memcached: str) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pymemcache.client.base import Client

        def test_plain_use(memcached_server):
            client = Client((memcached_server.host, memcached_server.port), default_noreply=False)
            assert client.get("left-over") is None  # reset by flush_all
            client.set("left-over", b"v")
            assert memcached_server.stats()["version"] != ""

        def test_plain_use_again(memcached_server, memcached_factory):
            client = Client((memcached_server.host, memcached_server.port), default_noreply=False)
            assert client.get("left-over") is None
            assert memcached_factory().address == memcached_server.address

        def test_clock(memcached_server):
            memcached_server.advance_clock(10)

        def test_faults(memcached_server):
            memcached_server.faults.fail("set")

        def test_inspection(memcached_server):
            memcached_server.keys()

        def test_factory_settings(memcached_factory):
            memcached_factory(memory_limit=1024 * 1024)

        def test_cluster(memcached_cluster):
            pass
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-rs", f"--memcached-external={real_memcached}"
    )
    result.assert_outcomes(passed=2, skipped=5)
    out = result.stdout.str()
    assert "advance_clock (or a server that accepts debugtime) needs pymcd's in-process" in out
    assert f"external memcached at {real_memcached}" in out
    assert "faults.fail needs pymcd" in out
    assert "memcached_cluster needs 3 servers; --memcached-external gives 1" in out
