"""Benchmark pymcd against Debian's memcached with the same verified load, in alternating rounds.

Usage: python scripts/bench.py [--quick] [--rounds N] [--seconds S] [--workloads rr-32,mget-4k]
                               [--servers pymcd,memcached-t1,memcached-t4] [--no-memory]
                               [--no-fixture]

Starts pymcd (``python -m pymcd``), ``memcached -t 1`` and ``memcached -t 4`` (the default, for
reference) on free ports with ``-m 1024``, preloads every key, then for each round runs every
workload against every server back to back (the server order flips each round), so machine
noise lands on all of them. The load comes from ``scripts/loadgen.c``, compiled once with the
machine's gcc (cached by source hash under ``$PYMCD_BENCH_BUILD`` or the temp dir); it checks
every byte of every reply and fails the run on any wrong value, miss, missing END or error line.

Figures are medians over the rounds: ops/s, p50/p99 latency (per request; per 16-request batch
for ``pipe``), server CPU per op (utime+stime of all its threads over the window / ops) and
the loadgen's own CPU share (so a saturated client shows). An op is one command: for ``mget``
one ``get`` of 100 keys. Then memory: RSS growth per item after 100,000 sets of 100 B over the
empty server, and pymcd's RSS after filling ``-m 64`` to steady eviction
(``scripts/memory_fill.py``), and the pytest fixture server's start-up and reset times
(``scripts/bench_fixture.py``). Last come markdown tables for the README, as ratios to
memcached ``-t 1``.

Not a test: a measurement. Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import importlib
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPTS = Path(__file__).resolve().parent
LOADGEN_SRC = SCRIPTS / "loadgen.c"
CFLAGS = ["-O2", "-Wall", "-pthread"]
KEYS = 10_000  # per value size; every get hits one of these
BENCH_MEMORY_MB = 1024  # no eviction during the throughput runs (a miss fails the loadgen)


# ---- the load generator ------------------------------------------------------------------


class LoadgenError(RuntimeError):
    """The load generator failed: a verification failure (exit 2) or a usage/connect error."""


def build_loadgen(cc: str | None = None, build_dir: str | os.PathLike[str] | None = None) -> Path:
    """Compile scripts/loadgen.c once per (source, compiler, flags); return the binary's path.

    The binary is cached as ``loadgen-<hash>`` in ``build_dir`` (default ``$PYMCD_BENCH_BUILD``
    or ``<tempdir>/pymcd-bench-build``); a concurrent build is harmless (atomic rename).
    """
    cc = cc or os.environ.get("CC") or "gcc"
    if shutil.which(cc) is None:
        raise LoadgenError(f"C compiler {cc!r} not found (set CC)")
    source = LOADGEN_SRC.read_bytes()
    digest = hashlib.sha256(source + repr((cc, CFLAGS)).encode()).hexdigest()[:16]
    default_dir = os.environ.get("PYMCD_BENCH_BUILD") or Path(tempfile.gettempdir()) / (
        f"pymcd-bench-build-{os.getuid()}"
    )
    out_dir = Path(build_dir or default_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / f"loadgen-{digest}"
    if binary.exists():
        return binary
    tmp = out_dir / f".loadgen-{digest}.{os.getpid()}"
    proc = subprocess.run(
        [cc, *CFLAGS, "-o", str(tmp), str(LOADGEN_SRC)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise LoadgenError(f"compiling {LOADGEN_SRC} failed:\n{proc.stderr}")
    os.replace(tmp, binary)
    return binary


def run_loadgen(
    binary: Path,
    port: int,
    mode: str,
    *,
    host: str = "127.0.0.1",
    conns: int = 20,
    value_size: int = 32,
    keys: int = KEYS,
    seconds: float = 3.0,
    warmup: float = 0.5,
    set_percent: int = 10,
    depth: int = 16,
    mget_keys: int = 100,
    server_pid: int | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Run the load generator once; return its JSON report (raise LoadgenError on failure)."""
    cmd = [str(binary), "-h", host, "-p", str(port), "-w", mode, "-c", str(conns)]
    cmd += ["-T", str(threads), "-v", str(value_size), "-k", str(keys), "-d", str(seconds)]
    cmd += ["-W", str(warmup), "-s", str(set_percent), "-P", str(depth), "-M", str(mget_keys)]
    if server_pid:
        cmd += ["-S", str(server_pid)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + warmup + 60)
    if proc.returncode != 0:
        raise LoadgenError(
            f"loadgen {mode} (value {value_size} B) against port {port} exited "
            f"{proc.returncode}: {proc.stderr.strip() or proc.stdout.strip()}"
        )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def preload(binary: Path, port: int, value_size: int, keys: int = KEYS) -> dict[str, Any]:
    """Set every key of this value size once (pipelined, each STORED checked)."""
    return run_loadgen(
        binary, port, "preload", conns=4, value_size=value_size, keys=keys, depth=100
    )


# ---- workloads and servers ---------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    name: str
    mode: str
    value_size: int
    conns: int
    set_percent: int = 10
    depth: int = 16
    mget_keys: int = 100

    @property
    def describe(self) -> str:
        size = f"{self.value_size} B" if self.value_size < 1024 else f"{self.value_size >> 10} KB"
        if self.mode == "rr":
            return f"get/set 90/10, {self.conns} conns, {size}"
        if self.mode == "pipe":
            return f"pipelined {self.depth}/write, 90/10, {self.conns} conns, {size}"
        return f"multi-get {self.mget_keys} keys, {self.conns} conns, {size}"


WORKLOADS = {
    w.name: w
    for size, tag in ((32, "32"), (4096, "4k"))
    for w in (
        Workload(name=f"rr-{tag}", mode="rr", value_size=size, conns=50),
        Workload(name=f"pipe-{tag}", mode="pipe", value_size=size, conns=20),
        Workload(name=f"mget-{tag}", mode="mget", value_size=size, conns=20, set_percent=0),
    )
}
SERVERS = ("pymcd", "memcached-t1", "memcached-t4")
BASELINE = "memcached-t1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command(kind: str, port: int, memory_mb: int) -> list[str]:
    root = os.geteuid() == 0
    if kind == "pymcd":
        cmd = [sys.executable, "-m", "pymcd", "-l", "127.0.0.1", "-p", str(port)]
        return [*cmd, "-m", str(memory_mb), "-c", "4096", *(["-u", "root"] if root else [])]
    threads = kind.removeprefix("memcached-t")
    memcached = shutil.which("memcached") or "/usr/bin/memcached"
    cmd = [memcached, "-l", "127.0.0.1", "-p", str(port), "-m", str(memory_mb), "-c", "4096"]
    return [*cmd, "-t", threads, *(["-u", "nobody"] if root else [])]


@dataclass(slots=True)
class Running:
    kind: str
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid


def wait_ready(proc: subprocess.Popen[bytes], port: int, what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"version\r\n")
                if s.recv(100).startswith(b"VERSION "):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer on port {port}")


@contextlib.contextmanager
def started(kind: str, memory_mb: int = BENCH_MEMORY_MB) -> Iterator[Running]:
    """Run one server on a free port for the duration of the block, then stop it."""
    port = free_port()
    proc = subprocess.Popen(server_command(kind, port, memory_mb), stderr=subprocess.DEVNULL)
    try:
        wait_ready(proc, port, kind)
        yield Running(kind, port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def rss_bytes(pid: int) -> int:
    return int(_script("memory_fill").rss_bytes(pid))


def server_stats(port: int) -> dict[str, str]:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed during stats")
            data += chunk
    pairs = (line.split(" ", 2) for line in data.decode().splitlines()[:-1])
    return {p[1]: p[2] for p in pairs if len(p) == 3}


# ---- throughput rounds -------------------------------------------------------------------


@dataclass(slots=True)
class Samples:
    ops_per_s: list[float] = field(default_factory=list)
    p50_us: list[float] = field(default_factory=list)
    p99_us: list[float] = field(default_factory=list)
    cpu_us_per_op: list[float] = field(default_factory=list)
    client_cpu: list[float] = field(default_factory=list)

    def add(self, r: dict[str, Any]) -> None:
        ops = max(int(r["ops"]), 1)
        self.ops_per_s.append(float(r["ops_per_s"]))
        self.p50_us.append(float(r["p50_us"]))
        self.p99_us.append(float(r["p99_us"]))
        if r["server_cpu_s"] >= 0:
            self.cpu_us_per_op.append(r["server_cpu_s"] * 1e6 / ops)
        self.client_cpu.append(r["client_cpu_s"] / r["seconds"])


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


def paired(p: Sequence[float], b: Sequence[float]) -> list[float]:
    """Per-round ratios p/b: each round runs both servers back to back, so a ratio within a
    round cancels the machine's slow drifts that a ratio of medians keeps."""
    return [x / y for x, y in zip(p, b, strict=True) if y]


def fmt_paired(ratios: Sequence[float]) -> str:
    if not ratios:
        return "-"
    return f"{med(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def run_rounds(
    binary: Path,
    servers: Sequence[Running],
    workloads: Sequence[Workload],
    rounds: int,
    seconds: float,
    warmup: float,
    threads: int,
) -> dict[tuple[str, str], Samples]:
    samples = {(w.name, s.kind): Samples() for w in workloads for s in servers}
    for rnd in range(rounds):
        order = list(servers) if rnd % 2 == 0 else list(reversed(servers))
        t0 = time.monotonic()
        for w in workloads:
            for srv in order:
                r = run_loadgen(
                    binary,
                    srv.port,
                    w.mode,
                    conns=w.conns,
                    value_size=w.value_size,
                    seconds=seconds,
                    warmup=warmup,
                    set_percent=w.set_percent,
                    depth=w.depth,
                    mget_keys=w.mget_keys,
                    server_pid=srv.pid,
                    threads=threads,
                )
                samples[w.name, srv.kind].add(r)
        line = "  ".join(
            f"{w.name}:" + "/".join(f"{samples[w.name, s.kind].ops_per_s[-1]:.0f}" for s in servers)
            for w in workloads
        )
        print(f"round {rnd + 1}/{rounds} ({time.monotonic() - t0:.0f} s)  ops/s {line}", flush=True)
    return samples


# ---- memory ------------------------------------------------------------------------------


def bytes_per_item(binary: Path, kind: str, items: int = 100_000, value_size: int = 100) -> float:
    """RSS growth over the empty server after storing ``items`` values, per item."""
    with started(kind) as srv:
        server_stats(srv.port)  # one connection served: buffers and code paths warmed
        before = rss_bytes(srv.pid)
        preload(binary, srv.port, value_size, keys=items)
        time.sleep(0.3)  # memcached grows its hash table in a background thread
        after = rss_bytes(srv.pid)
        st = server_stats(srv.port)
        if int(st["curr_items"]) != items or int(st.get("evictions", "0")):
            raise RuntimeError(f"{kind}: expected {items} items and no evictions, got {st}")
    return (after - before) / items


def _script(name: str) -> Any:
    """A module of scripts/ (memory_fill: RSS reading and the -m 64 fill, one implementation;
    bench_fixture: the testing layer's start-up and reset times)."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(SCRIPTS))


def eviction_fill(kinds: Sequence[str]) -> dict[str, dict[str, float]]:
    fill = _script("memory_fill").fill
    return {kind: fill(kind, 100) for kind in kinds}


def fixture_times(runs: int) -> dict[str, dict[str, Any]]:
    """Median and p90 in ms, the name and target of each figure of scripts/bench_fixture.py."""
    module = _script("bench_fixture")
    out = {}
    for key, samples in module.measure(runs).items():
        name, target_ms = module.FIGURES[key]
        out[key] = {
            "name": name,
            "target_ms": target_ms,
            "median_ms": statistics.median(samples) * 1000,
            "p90_ms": statistics.quantiles(samples, n=10)[-1] * 1000,
        }
    return out


# ---- report ------------------------------------------------------------------------------


def fmt_ops(v: float) -> str:
    return f"{v:,.0f}" if v == v else "-"


def fmt_ratio(a: float, b: float) -> str:
    if not (a == a and b == b) or b == 0:
        return "-"
    r = a / b
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), {cpu}"


def memcached_version() -> str:
    try:
        out = subprocess.run(
            [*server_command("memcached-t1", 0, 64)[:1], "-V"], capture_output=True, text=True
        )
        return out.stdout.strip() or "memcached ?"
    except OSError:
        return "memcached (not found)"


def pymcd_revision() -> str:
    """The commit the benchmarked pymcd was run from (``-dirty`` with local changes)."""
    try:
        out = subprocess.run(
            ["git", "-C", str(SCRIPTS.parent), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
        )
    except OSError:
        return "?"
    return out.stdout.strip() or "?"


def report(
    samples: dict[tuple[str, str], Samples],
    workloads: Sequence[Workload],
    kinds: Sequence[str],
    args: argparse.Namespace,
    memory: dict[str, Any],
    fixture: dict[str, dict[str, Any]],
) -> None:
    print()
    hdr = (
        f"{'workload':9} {'server':13} {'ops/s (min-max)':>28} {'p50 us':>8} {'p99 us':>8} "
        f"{'CPU us/op':>9} {'client CPU':>10}"
    )
    print(hdr)
    print("-" * len(hdr))
    base_kind = BASELINE if BASELINE in kinds else None
    throughput_ratios = []
    for w in workloads:
        for kind in kinds:
            s = samples[w.name, kind]
            lo, hi = min(s.ops_per_s), max(s.ops_per_s)
            spread = f"{fmt_ops(med(s.ops_per_s))} ({lo:,.0f}-{hi:,.0f})"
            print(
                f"{w.name:9} {kind:13} {spread:>28} {med(s.p50_us):8.0f} {med(s.p99_us):8.0f} "
                f"{med(s.cpu_us_per_op):9.1f} {med(s.client_cpu):9.0%}"
            )
        if base_kind and "pymcd" in kinds:
            p, b = samples[w.name, "pymcd"], samples[w.name, base_kind]
            throughput_ratios.append(med(p.ops_per_s) / med(b.ops_per_s))
            print(
                f"{w.name:9} {'pymcd/' + base_kind.removeprefix('memcached-'):13} "
                f"{fmt_ratio(med(p.ops_per_s), med(b.ops_per_s)):>28} "
                f"{fmt_ratio(med(p.p50_us), med(b.p50_us)):>8} "
                f"{fmt_ratio(med(p.p99_us), med(b.p99_us)):>8} "
                f"{fmt_ratio(med(p.cpu_us_per_op), med(b.cpu_us_per_op)):>9}"
            )
            print(
                f"{w.name:9} {'paired':13} {fmt_paired(paired(p.ops_per_s, b.ops_per_s)):>28}"
                "  (median of per-round ratios, min-max)"
            )
        print(f"{'':9} ({w.describe})")
    print(
        "\nop = one command (mget: one get of 100 keys); latency per request (pipe: per batch "
        "of 16);\nCPU = server utime+stime (all threads) per op; client CPU = loadgen's share "
        "of one core."
    )
    if memory:
        print("\nmemory (RSS, 100 B values):")
        for kind, bpi in memory.get("per_item", {}).items():
            print(f"  {kind:13} {bpi:7.0f} B/item after 100,000 sets, over the empty server")
        for kind, r in memory.get("fill", {}).items():
            print(
                f"  {kind:13} -m 64 filled to eviction: RSS +{r['rss_growth_mb']:.1f} MB "
                f"({r['ratio_to_limit']:.2f}x the limit), {r['items']:,.0f} items, "
                f"{r['bytes_per_item']:.0f} B/item"
            )

    if fixture:
        print("\nfixture (pymcd.testing: an in-process server, as the pytest fixtures use it):")
        for f in fixture.values():
            target = "" if f["target_ms"] is None else f"   target {f['target_ms']:g} ms"
            print(
                f"  {f['name']:38} median {f['median_ms']:7.3f} ms   p90 {f['p90_ms']:7.3f} ms"
                + target
            )

    # the paste-ready table
    date = datetime.date.today().isoformat()
    print("\n<!-- scripts/bench.py output: paste into README -->")
    print(
        f"Measured {date} on {machine()}; pymcd {pymcd_revision()} on Python "
        f"{platform.python_version()}, {memcached_version()}; medians of {args.rounds} "
        f"alternating rounds of {args.seconds:g} s; load from scripts/loadgen.c "
        "(every reply verified).\n"
    )
    if base_kind and "pymcd" in kinds:
        t4 = "memcached-t4" in kinds
        print(
            "| workload | pymcd ops/s | memcached -t 1 ops/s | pymcd / memcached | "
            "per-round ratio, median (min-max) | "
            "p99 pymcd / memcached | CPU per op pymcd / memcached |"
            + (" memcached -t 4 ops/s |" if t4 else "")
        )
        print("|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if t4 else ""))
        for w in workloads:
            p, b = samples[w.name, "pymcd"], samples[w.name, base_kind]
            row = (
                f"| {w.describe} | {fmt_ops(med(p.ops_per_s))} | {fmt_ops(med(b.ops_per_s))} | "
                f"{fmt_ratio(med(p.ops_per_s), med(b.ops_per_s))} | "
                f"{fmt_paired(paired(p.ops_per_s, b.ops_per_s))} | "
                f"{med(p.p99_us) / 1000:.2f} / {med(b.p99_us) / 1000:.2f} ms "
                f"({fmt_ratio(med(p.p99_us), med(b.p99_us))}) | "
                f"{med(p.cpu_us_per_op):.1f} / {med(b.cpu_us_per_op):.1f} us "
                f"({fmt_ratio(med(p.cpu_us_per_op), med(b.cpu_us_per_op))}) |"
            )
            if t4:
                row += f" {fmt_ops(med(samples[w.name, 'memcached-t4'].ops_per_s))} |"
            print(row)
    if memory.get("per_item"):
        per_item = memory["per_item"]
        print("\n| memory (100 B values) | pymcd | memcached -t 1 | pymcd / memcached |")
        print("|---|---:|---:|---:|")
        pi, mi = per_item.get("pymcd", math.nan), per_item.get("memcached-t1", math.nan)
        print(f"| RSS per item, 100,000 items | {pi:.0f} B | {mi:.0f} B | {fmt_ratio(pi, mi)} |")
        fill = memory.get("fill", {})
        if "pymcd" in fill:
            pf, mf = fill["pymcd"], fill.get("memcached")
            mtxt = f"{mf['rss_growth_mb']:.0f} MB" if mf else "-"
            ratio = fmt_ratio(pf["rss_growth_mb"], mf["rss_growth_mb"]) if mf else "-"
            print(
                f"| RSS growth, `-m 64` filled to eviction | {pf['rss_growth_mb']:.0f} MB "
                f"({pf['ratio_to_limit']:.2f}x limit) | {mtxt} | {ratio} |"
            )
    if fixture:
        print("\n| fixture server (`pymcd.testing`) | median | p90 | target |")
        print("|---|---:|---:|---:|")
        for f in fixture.values():
            target = "-" if f["target_ms"] is None else f"≤ {f['target_ms']:g} ms"
            print(f"| {f['name']} | {f['median_ms']:.2f} ms | {f['p90_ms']:.2f} ms | {target} |")
    if throughput_ratios:
        geo = math.exp(sum(math.log(r) for r in throughput_ratios) / len(throughput_ratios))
        print(
            f"\nsummary: pymcd throughput is {min(throughput_ratios):.2f}x-"
            f"{max(throughput_ratios):.2f}x of memcached -t 1 (geometric mean {geo:.2f}x) "
            f"over {len(throughput_ratios)} workloads"
            + (
                f"; {memory['per_item']['pymcd'] / memory['per_item']['memcached-t1']:.1f}x "
                "its memory per 100 B item"
                if {"pymcd", "memcached-t1"} <= set(memory.get("per_item", {}))
                else ""
            )
        )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        description=doc.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 rounds of 1 s (~1 min)")
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 5; quick 2)")
    parser.add_argument("--seconds", type=float, help="measured seconds per run (default 3)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds per run (default 0.5)")
    parser.add_argument(
        "--workloads", default=",".join(WORKLOADS), help=f"comma list of {', '.join(WORKLOADS)}"
    )
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma list")
    parser.add_argument("--client-threads", type=int, default=1, help="loadgen threads")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory figures")
    parser.add_argument(
        "--no-fixture", action="store_true", help="skip the fixture start-up and reset times"
    )
    parser.add_argument("--json", metavar="FILE", help="also write every sample as JSON")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.seconds = args.seconds or (1.0 if args.quick else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (0.25 if args.quick else 0.5)
    unknown = set(args.workloads.split(",")) - set(WORKLOADS)
    unknown_servers = set(args.servers.split(",")) - set(SERVERS)
    if unknown or unknown_servers:
        parser.error(f"unknown: {', '.join(sorted(unknown | unknown_servers))}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    workloads = [WORKLOADS[n] for n in args.workloads.split(",")]
    kinds = [k for k in SERVERS if k in args.servers.split(",")]
    binary = build_loadgen()
    print(f"loadgen: {binary}; machine: {machine()}", flush=True)
    started_at = time.monotonic()
    try:
        with contextlib.ExitStack() as stack:
            servers = [stack.enter_context(started(kind)) for kind in kinds]
            for srv in servers:
                for size in sorted({w.value_size for w in workloads}):
                    preload(binary, srv.port, size)
            samples = run_rounds(
                binary,
                servers,
                workloads,
                args.rounds,
                args.seconds,
                args.warmup,
                args.client_threads,
            )
        memory: dict[str, Any] = {}
        if not args.no_memory:
            print("memory: 100,000 items of 100 B, then pymcd -m 64 to eviction ...", flush=True)
            mem_kinds = [k for k in ("pymcd", "memcached-t1") if k in kinds]
            memory["per_item"] = {k: bytes_per_item(binary, k) for k in mem_kinds}
            memory["fill"] = eviction_fill(
                [k.removesuffix("-t1") for k in mem_kinds]  # memory_fill's names
            )
    except LoadgenError as exc:
        print(f"\nFAIL: {exc}", file=sys.stderr)
        return 2
    fixture = {} if args.no_fixture else fixture_times(50 if args.quick else 200)
    report(samples, workloads, kinds, args, memory, fixture)
    print(f"\n(total {time.monotonic() - started_at:.0f} s)")
    if args.json:
        dump = {f"{w}/{k}": dataclasses.asdict(s) for (w, k), s in samples.items()}
        Path(args.json).write_text(
            json.dumps({"samples": dump, "memory": memory, "fixture": fixture}, indent=1)
        )
    return 0


if __name__ == "__main__":
    if not sys.platform.startswith("linux"):
        sys.exit("needs /proc (Linux)")
    sys.exit(main())
