"""The layers of DESIGN.md: protocol, store and dispatch import without trio."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["pymcd.protocol", "pymcd.store", "pymcd.dispatch", "pymcd.clock", "pymcd.stats"]
)
def test_imports_without_trio(module: str) -> None:
    code = f"import sys, {module}; print('trio' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_protocol_does_not_import_the_store_engine() -> None:
    code = (
        "import sys, pymcd.protocol; "
        "print(sorted(m for m in sys.modules if m.startswith('pymcd.store')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
