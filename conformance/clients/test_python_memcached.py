"""python-memcached (``import memcache``) on the target: the basic operations."""

from __future__ import annotations

from collections.abc import Iterator

import memcache
import pytest

from ..conftest import Server


@pytest.fixture
def mc(server: Server) -> Iterator[memcache.Client]:
    client = memcache.Client([f"{server.host}:{server.port}"], cache_cas=True)
    yield client
    client.disconnect_all()


def test_set_get_delete(mc: memcache.Client, key) -> None:
    assert mc.set(key("k"), b"value")
    assert mc.get(key("k")) == b"value"
    assert mc.set(key("s"), "text ✓")
    assert mc.get(key("s")) == "text ✓"
    assert mc.set(key("obj"), {"a": [1, 2]})
    assert mc.get(key("obj")) == {"a": [1, 2]}
    assert mc.get(key("missing")) is None
    assert mc.delete(key("k"))
    assert mc.get(key("k")) is None


def test_add_replace_append_prepend(mc: memcache.Client, key) -> None:
    assert not mc.replace(key("k"), b"x")
    assert mc.add(key("k"), b"b")
    assert not mc.add(key("k"), b"again")
    assert mc.replace(key("k"), b"c")
    assert mc.append(key("k"), b"d")
    assert mc.prepend(key("k"), b"a")
    assert mc.get(key("k")) == b"acd"


def test_gets_cas(mc: memcache.Client, key) -> None:
    mc.set(key("k"), b"v1")
    assert mc.gets(key("k")) == b"v1"
    assert mc.cas(key("k"), b"v2")
    mc.set(key("k"), b"changed")  # a plain set forgets the cas unique
    assert mc.gets(key("k")) == b"changed"
    other = memcache.Client(mc.servers and [f"{s.ip}:{s.port}" for s in mc.servers])
    other.set(key("k"), b"by another client")
    assert not mc.cas(key("k"), b"v3")
    assert mc.get(key("k")) == b"by another client"


def test_incr_decr_touch(mc: memcache.Client, key) -> None:
    mc.set(key("n"), 10)
    assert mc.incr(key("n")) == 11
    assert mc.incr(key("n"), 9) == 20
    assert mc.decr(key("n"), 25) == 0
    assert mc.incr(key("missing")) is None
    assert mc.touch(key("n"), 100)
    assert not mc.touch(key("missing"), 100)


def test_multi_and_flush(mc: memcache.Client, key) -> None:
    data = {f"m{i}": f"value{i}".encode() for i in range(20)}
    assert mc.set_multi(data, key_prefix=key("")) == []
    assert mc.get_multi([*data, "missing"], key_prefix=key("")) == data
    assert mc.delete_multi(list(data)[:5], key_prefix=key(""))
    assert len(mc.get_multi(list(data), key_prefix=key(""))) == 15
    assert mc.flush_all() is None
    assert mc.get(key("m10")) is None


def test_stats(server: Server, mc: memcache.Client) -> None:
    ((name, stats),) = mc.get_stats()
    assert name.startswith(f"{server.host}:{server.port}")
    assert stats["version"] == "1.6.18"
    assert int(stats["curr_connections"]) >= 1
