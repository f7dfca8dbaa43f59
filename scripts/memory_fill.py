"""Fill a server started with -m 64 until it evicts, then report its RSS and bytes per item.

Usage: python scripts/memory_fill.py [--value-sizes 10,100,1000] [--memcached]

Starts ``python -m pymcd -m 64`` (and, with --memcached, Debian's memcached -m 64 -t 1) on a
free port, pipelines distinct sets until `evictions` has grown well past zero (so the cache is
full and steady), and prints RSS growth over the empty server, items held and bytes per item.
Not a test: a measurement to quote in notes and the README.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stats(sock: socket.socket) -> dict[str, str]:
    sock.sendall(b"stats\r\n")
    data = b""
    while not data.endswith(b"END\r\n"):
        data += sock.recv(65536)
    return dict(line.split(" ", 2)[1:] for line in data.decode().splitlines()[:-1])  # type: ignore[misc]


def start(kind: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    if kind == "pymcd":
        cmd = [sys.executable, "-m", "pymcd", "-p", str(port), "-m", "64"]
    else:
        cmd = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-m", "64", "-t", "1"]
    if os.geteuid() == 0:
        cmd += ["-u", "nobody" if kind == "memcached" else "root"]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{kind} did not start")


def fill(kind: str, value_size: int) -> dict[str, float]:
    proc, port = start(kind)
    try:
        sock = socket.create_connection(("127.0.0.1", port))
        baseline = rss_bytes(proc.pid)
        value = b"v" * value_size
        i = 0
        batch = 500
        target_evictions = None
        while True:
            payload = b"".join(
                b"set key:%010d 0 0 %d noreply\r\n%b\r\n" % (n, value_size, value)
                for n in range(i, i + batch)
            )
            sock.sendall(payload)
            i += batch
            if i % 20000 == 0:
                s = stats(sock)
                evictions = int(s["evictions"])
                if evictions and target_evictions is None:
                    target_evictions = evictions + int(s["curr_items"])  # one full turnover
                if target_evictions is not None and evictions >= target_evictions:
                    break
        s = stats(sock)
        rss = rss_bytes(proc.pid)
        items = int(s["curr_items"])
        return {
            "items": items,
            "rss_growth_mb": (rss - baseline) / 1e6,
            "bytes_per_item": (rss - baseline) / items,
            "ratio_to_limit": (rss - baseline) / (64 * 1024 * 1024),
        }
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--value-sizes", default="10,100,1000")
    parser.add_argument("--memcached", action="store_true", help="also measure memcached")
    args = parser.parse_args()
    kinds = ["pymcd"] + (["memcached"] if args.memcached else [])
    header = ("server", "value", "items", "RSS growth MB", "B/item", "x -m")
    print("{:10} {:>6} {:>9} {:>14} {:>7} {:>5}".format(*header))
    for size in (int(v) for v in args.value_sizes.split(",")):
        for kind in kinds:
            r = fill(kind, size)
            print(
                f"{kind:10} {size:6d} {r['items']:9.0f} {r['rss_growth_mb']:14.1f} "
                f"{r['bytes_per_item']:7.0f} {r['ratio_to_limit']:5.2f}"
            )


if __name__ == "__main__":
    if not re.match(r"linux", sys.platform):
        sys.exit("needs /proc (Linux)")
    main()
