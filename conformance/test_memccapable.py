"""libmemcached's ``memccapable -a`` (package libmemcached-tools) passes every ASCII test.

memccapable flushes the server and checks each text command's replies. It runs against the
target's shared server; a missing binary skips, or fails under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


def test_memccapable_ascii(server) -> None:
    binary = shutil.which("memccapable")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("memccapable is missing (CI=true): apt-get install libmemcached-tools")
        pytest.skip("memccapable not installed (apt-get install libmemcached-tools)")
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
