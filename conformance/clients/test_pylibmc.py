"""pylibmc (libmemcached's Python binding, text protocol) on the target."""

from __future__ import annotations

from collections.abc import Iterator

import pylibmc
import pytest

from ..conftest import Server
from .conftest import raw_get, stats

BINARY = (
    bytes(range(256)) + b"\r\nEND\r\n\x00 VALUE x 0 1\r\n"
)  # every byte and protocol lookalikes


@pytest.fixture
def mc(server: Server) -> Iterator[pylibmc.Client]:
    client = pylibmc.Client([f"{server.host}:{server.port}"], behaviors={"cas": True})
    yield client
    client.disconnect_all()


def test_set_get_delete(server: Server, mc: pylibmc.Client, key) -> None:
    assert mc.set(key("k"), b"value")
    assert mc.get(key("k")) == b"value"
    assert raw_get(server, key("k").encode()) == (0, b"value")  # bytes: stored raw
    assert mc.get(key("missing")) is None
    assert mc.delete(key("k"))
    assert not mc.delete(key("k"))
    assert mc.get(key("k")) is None


def test_python_values_round_trip(mc: pylibmc.Client, key) -> None:
    values = {"str": "text ✓", "int": 42, "big": 2**70, "bool": True, "list": [1, "a", None]}
    for name, value in values.items():
        assert mc.set(key(name), value)
    assert {name: mc.get(key(name)) for name in values} == values


def test_binary_safe_values(server: Server, mc: pylibmc.Client, key) -> None:
    assert mc.set(key("bin"), BINARY)
    assert mc.get(key("bin")) == BINARY
    assert raw_get(server, key("bin").encode()) == (0, BINARY)
    large = bytes(range(256)) * 4000  # 1,024,000 bytes
    assert mc.set(key("large"), large)
    assert mc.get(key("large")) == large
    assert mc.set(key("empty"), b"")
    assert mc.get(key("empty")) == b""


def test_add_replace_append_prepend(mc: pylibmc.Client, key) -> None:
    assert not mc.replace(key("k"), b"x")
    assert mc.add(key("k"), b"b")
    assert not mc.add(key("k"), b"again")
    assert mc.replace(key("k"), b"c")
    assert mc.append(key("k"), b"d")
    assert mc.prepend(key("k"), b"a")
    assert mc.get(key("k")) == b"acd"
    assert not mc.append(key("missing"), b"x")
    assert not mc.prepend(key("missing"), b"x")


def test_cas(mc: pylibmc.Client, key) -> None:
    mc.set(key("k"), b"v1")
    value, cas = mc.gets(key("k"))
    assert value == b"v1"
    assert mc.cas(key("k"), b"v2", cas)
    assert not mc.cas(key("k"), b"v3", cas)  # EXISTS: the unique changed
    assert mc.get(key("k")) == b"v2"
    assert mc.gets(key("missing")) == (None, None)


def test_incr_decr(server: Server, mc: pylibmc.Client, key) -> None:
    mc.set(key("n"), 10)
    assert mc.incr(key("n")) == 11
    assert mc.incr(key("n"), 9) == 20
    assert mc.decr(key("n"), 11) == 9
    assert mc.decr(key("n"), 100) == 0
    assert raw_get(server, key("n").encode())[1] == b"0 "
    mc.set(key("max"), b"18446744073709551615")
    assert mc.incr(key("max")) == 0  # wraps at 2**64
    with pytest.raises(pylibmc.NotFound):
        mc.incr(key("missing"))
    mc.set(key("text"), b"abc")
    with pytest.raises(pylibmc.ClientError):
        mc.incr(key("text"))


def test_touch(mc: pylibmc.Client, key) -> None:
    mc.set(key("k"), b"v")
    assert mc.touch(key("k"), 100)
    assert not mc.touch(key("missing"), 100)


@pytest.mark.slow
def test_expiry_and_touch(server: Server, mc: pylibmc.Client, key) -> None:
    server.align()
    mc.set(key("short"), b"v", time=2)
    mc.set(key("touched"), b"v", time=100)
    assert mc.touch(key("touched"), 2)
    mc.set(key("kept"), b"v", time=100)
    server.advance(3)
    assert mc.get_multi([key("short"), key("touched"), key("kept")]) == {key("kept"): b"v"}


def test_multi_get_set_delete(mc: pylibmc.Client, key) -> None:
    data = {key(f"m{i}"): f"value{i}".encode() for i in range(50)}
    assert mc.set_multi(data) == []
    assert mc.get_multi([*data, key("missing")]) == data
    assert mc.get_multi(["a", "b"], key_prefix=key("")) == {}
    assert mc.delete_multi(list(data)[:10])
    assert len(mc.get_multi(list(data))) == 40


def test_flush_all(mc: pylibmc.Client, key) -> None:
    mc.set(key("k"), b"v")
    assert mc.flush_all()
    assert mc.get(key("k")) is None


def test_stats(server: Server, mc: pylibmc.Client) -> None:
    ((name, stats),) = mc.get_stats()
    assert name.startswith(f"{server.host}:{server.port}".encode())
    assert stats["version"] == b"1.6.18"
    assert int(stats["pid"]) > 0


def test_buffered_noreply_pipeline(server: Server, key) -> None:
    """libmemcached queues noreply sets (buffer_requests) and writes them in one go."""
    behaviors = {"_noreply": True, "buffer_requests": True, "no_block": True, "tcp_nodelay": True}
    client = pylibmc.Client([f"{server.host}:{server.port}"], behaviors=behaviors)
    try:
        before = int(stats(server)["cmd_set"])
        for i in range(200):
            client.set(key(f"p{i}"), f"v{i}".encode())
        assert client.get(key("p1")) == b"v1"  # needs a reply: the buffered sets go first
        assert int(stats(server)["cmd_set"]) - before == 200
        other = pylibmc.Client([f"{server.host}:{server.port}"])
        found = other.get_multi([key(f"p{i}") for i in range(200)])
        assert found == {key(f"p{i}"): f"v{i}".encode() for i in range(200)}
    finally:
        client.disconnect_all()


def test_ketama_over_a_cluster(target_cluster) -> None:
    addresses = [f"{b.host}:{b.port}" for b in target_cluster]
    client = pylibmc.Client(addresses, behaviors={"ketama": True})
    data = {f"key{i}": f"value{i}".encode() for i in range(90)}
    assert client.set_multi(data) == []
    assert client.get_multi(list(data)) == data
    per_server = [int(Server(b, b"", b"").connect().stats()["curr_items"]) for b in target_cluster]
    assert sum(per_server) == 90
    assert all(per_server), per_server
    client.disconnect_all()
