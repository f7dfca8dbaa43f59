"""How fast the pytest fixtures are: server start-up (target ≤ 50 ms) and per-test reset
(target ≤ 1 ms), as the median of many runs.

    python scripts/bench_fixture.py [--runs 200]

Start-up is ``MemcachedServer().start()`` until the port is bound and a client can connect
(what ``memcached_server`` and ``memcached_factory`` pay); reset is ``server.reset()`` after a
test that stored a few items and left a connection open (what every test using
``memcached_server`` pays).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import time

from pymcd.testing import MemcachedServer, RawClient


def bench_start(runs: int) -> tuple[list[float], list[float]]:
    starts, stops = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        server = MemcachedServer().start()
        socket.create_connection((server.host, server.port)).close()
        t1 = time.perf_counter()
        server.stop()
        t2 = time.perf_counter()
        starts.append(t1 - t0)
        stops.append(t2 - t1)
    return starts, stops


def bench_reset(runs: int) -> tuple[list[float], list[float]]:
    with_client, idle = [], []
    with MemcachedServer() as server:
        for _ in range(runs):
            client = RawClient(server.address)
            for i in range(10):
                client.request(f"set k{i} 0 0 1\r\nv")
            t0 = time.perf_counter()
            server.reset()
            with_client.append(time.perf_counter() - t0)
            client.close()
            t0 = time.perf_counter()
            server.reset()
            idle.append(time.perf_counter() - t0)
    return with_client, idle


# What each figure is, and its target in ms (None: no target), in report order.
FIGURES: dict[str, tuple[str, float | None]] = {
    "start": ("start-up (bound, accepting)", 50),
    "stop": ("stop (thread joined)", None),
    "reset": ("reset (10 items, 1 open connection)", 1),
    "reset_idle": ("reset (idle server)", 1),
}


def measure(runs: int) -> dict[str, list[float]]:
    """Seconds per run of each figure in :data:`FIGURES`."""
    starts, stops = bench_start(runs)
    with_client, idle = bench_reset(runs)
    return {"start": starts, "stop": stops, "reset": with_client, "reset_idle": idle}


def show(name: str, samples: list[float], target_ms: float | None = None) -> None:
    med = statistics.median(samples) * 1000
    p90 = statistics.quantiles(samples, n=10)[-1] * 1000
    verdict = "" if target_ms is None else ("  ok" if med <= target_ms else "  OVER TARGET")
    print(f"{name:<38} median {med:7.3f} ms   p90 {p90:7.3f} ms{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    samples = measure(parser.parse_args().runs)
    for key, (name, target_ms) in FIGURES.items():
        show(name, samples[key], target_ms)


if __name__ == "__main__":
    main()
