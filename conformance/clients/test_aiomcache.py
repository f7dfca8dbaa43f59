"""aiomcache (asyncio) on the target: the basic operations.

The repository runs pytest in trio mode, so each test drives its own asyncio loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiomcache
import pytest

from ..conftest import Server

Scenario = Callable[[aiomcache.Client, Callable[[str], bytes]], Awaitable[None]]


@pytest.fixture
def run(server: Server, key_prefix: bytes) -> Callable[[Scenario], None]:
    def run(scenario: Scenario) -> None:
        async def main() -> None:
            client = aiomcache.Client(server.host, server.port)
            try:
                await scenario(client, lambda name: key_prefix + name.encode())
            finally:
                await client.close()

        asyncio.run(main())

    return run


def test_set_get_delete(run) -> None:
    async def scenario(mc: aiomcache.Client, key) -> None:
        assert await mc.set(key("k"), b"value")
        assert await mc.get(key("k")) == b"value"
        assert await mc.get(key("missing")) is None
        assert await mc.get(key("missing"), b"default") == b"default"
        binary = bytes(range(256)) + b"\r\nEND\r\n"
        assert await mc.set(key("bin"), binary)
        assert await mc.get(key("bin")) == binary
        assert await mc.delete(key("k"))
        assert not await mc.delete(key("k"))

    run(scenario)


def test_add_replace_append_prepend(run) -> None:
    async def scenario(mc: aiomcache.Client, key) -> None:
        assert not await mc.replace(key("k"), b"x")
        assert await mc.add(key("k"), b"b")
        assert not await mc.add(key("k"), b"again")
        assert await mc.replace(key("k"), b"c")
        assert await mc.append(key("k"), b"d")
        assert await mc.prepend(key("k"), b"a")
        assert await mc.get(key("k")) == b"acd"

    run(scenario)


def test_gets_cas(run) -> None:
    async def scenario(mc: aiomcache.Client, key) -> None:
        await mc.set(key("k"), b"v1")
        value, cas = await mc.gets(key("k"))
        assert value == b"v1"
        assert await mc.cas(key("k"), b"v2", cas)
        assert not await mc.cas(key("k"), b"v3", cas)
        assert await mc.get(key("k")) == b"v2"

    run(scenario)


def test_incr_decr_touch(run) -> None:
    async def scenario(mc: aiomcache.Client, key) -> None:
        await mc.set(key("n"), b"10")
        assert await mc.incr(key("n"), 5) == 15
        assert await mc.decr(key("n"), 20) == 0
        with pytest.raises(aiomcache.exceptions.ClientException, match="NOT_FOUND"):
            await mc.incr(key("missing"))
        assert await mc.touch(key("n"), 100)
        assert not await mc.touch(key("missing"), 100)

    run(scenario)


def test_multi_get_flush_version_stats(run) -> None:
    async def scenario(mc: aiomcache.Client, key) -> None:
        await mc.set(key("a"), b"1")
        await mc.set(key("b"), b"2")
        assert await mc.multi_get(key("a"), key("missing"), key("b")) == (b"1", None, b"2")
        assert await mc.version() == b"1.6.18"
        stats = await mc.stats()
        assert stats[b"version"] == b"1.6.18"
        assert int(stats[b"curr_items"]) >= 2
        await mc.flush_all()
        assert await mc.get(key("a")) is None

    run(scenario)
