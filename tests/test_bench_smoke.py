"""Smoke test of the benchmark harness: scripts/loadgen.c compiles, drives a pymcd, verifies.

Skipped without a C compiler, except on CI (CI=true), where a missing gcc is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pymcd.testing import MemcachedServer

BENCH = Path(__file__).resolve().parent.parent / "scripts" / "bench.py"

pytestmark = pytest.mark.skipif(
    shutil.which(os.environ.get("CC") or "gcc") is None and os.environ.get("CI") != "true",
    reason="needs gcc to build scripts/loadgen.c",
)


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pymcd_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def loadgen(bench: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary: Path = bench.build_loadgen(build_dir=tmp_path_factory.mktemp("loadgen"))
    return binary


def _send(port: int, payload: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        return s.recv(1024)


def test_loadgen_drives_pymcd_and_verifies(bench: ModuleType, loadgen: Path) -> None:
    with MemcachedServer() as server:
        pre = bench.preload(loadgen, server.port, 32, keys=1000)
        assert pre["ops"] == 1000
        r = bench.run_loadgen(
            loadgen, server.port, "pipe", conns=4, keys=1000, seconds=0.7, warmup=0.1
        )
        assert r["ops"] > 0 and r["p99_us"] >= r["p50_us"] > 0
        r = bench.run_loadgen(
            loadgen, server.port, "mget", conns=2, keys=1000, seconds=0.2, warmup=0, set_percent=0
        )
        assert r["keys_read_or_written"] == 100 * r["ops"] > 0

        # a wrong value of the right length and flags (loadgen.c's key_flags) is caught
        flags = (7 * 2654435761 & 0xFFFFFFFF) >> 16
        wrong = b"set v32:00000007 %d 0 32\r\n00000007:%s\r\n" % (flags, b"x" * 23)
        assert _send(server.port, wrong) == b"STORED\r\n"
        with pytest.raises(bench.LoadgenError, match=r"v32:00000007: wrong value"):
            bench.run_loadgen(
                loadgen, server.port, "mget", conns=1, keys=10, mget_keys=10, seconds=0.2, warmup=0
            )


def test_paired_ratios_are_taken_within_each_round(bench: ModuleType) -> None:
    ratios = bench.paired([100.0, 300.0, 50.0], [50.0, 100.0, 100.0])
    assert ratios == [2.0, 3.0, 0.5]
    assert bench.fmt_paired(ratios) == "2.00x (0.50-3.00)"
    assert bench.fmt_paired([]) == "-"


def test_fixture_times_measure_the_testing_layer(bench: ModuleType) -> None:
    times = bench.fixture_times(runs=3)
    assert list(times) == ["start", "stop", "reset", "reset_idle"]
    for figure in times.values():
        assert 0 < figure["median_ms"] <= figure["p90_ms"] < 5000
    assert times["start"]["target_ms"] == 50 and times["reset"]["target_ms"] == 1
