"""README's "Using pymcd in your tests" examples run as a user's test suite would run them.

Every fenced python block of that section becomes one test module of a fresh pytester project
(the plugin comes from its ``pytest11`` entry point); a block without tests runs at import.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## Using pymcd in your tests"


def readme_blocks() -> list[str]:
    text = README.read_text()
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start : end if end >= 0 else len(text)]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_section_has_examples_for_each_client_and_power() -> None:
    code = "\n".join(readme_blocks())
    for needle in (
        "pymemcache",
        "pylibmc",
        "aiomcache",
        "advance_clock",
        ".keys()",
        ".item(",
        "command_names()",
        "faults.fail(",
        "faults.delay_replies(",
        "faults.close_connections()",
        "faults.close_after(",
        "faults.refuse_connections()",
        "faults.restart()",
        "memcached_factory(",
        "memcached_cluster",
        "memcached_trio_server",
        "MemcachedServer(",
        "open_memcached_server",
    ):
        assert needle in code, needle


def test_readme_examples_pass(pytester: pytest.Pytester) -> None:
    blocks = readme_blocks()
    expected = 0
    for i, block in enumerate(blocks):
        tests = len(re.findall(r"^(?:async )?def test_", block, flags=re.M))
        if not tests:
            block += "\n\ndef test_block_ran():\n    pass\n"
            tests = 1
        expected += tests
        pytester.makepyfile(**{f"test_readme_{i}": block})
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=expected)
