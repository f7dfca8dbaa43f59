"""meta-memcache (PyPI ``meta-memcache``) on the target: a client that speaks only the meta
protocol (mg, ms, md, ma, mn).

Its own operations (set/get/delete/touch/counters/multi-get, pipelined quiet writes) and its
two herd-control flows, written as a service would use them:

- stale-while-revalidate: ``delete`` with a ``StalePolicy`` marks the item stale (``md I T``);
  the first reader gets the stale value with the win token (``X W``; the client's ``get``
  then answers None so the caller recomputes), later readers get the stale value without it
  (``X Z``); the winner's write with its cas clears the stale state.
- leases: ``get_or_lease`` on a miss vivifies an empty placeholder (``mg N<ttl>``); one client
  wins (``W``), the others lose (``Z``) and wait, retrying until the winner fills the value.

The client's waits go through its ``lease_wait_fn``, which records them instead of sleeping;
expiry uses ``server.advance`` (instant on pymcd, real seconds on memcached).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .conftest import Server

try:
    import meta_memcache as mm
    from meta_memcache import Key, RequestFlags, SetMode, StalePolicy, Value
    from meta_memcache.protocol import ValueContainer
except ImportError:  # a `test` extra; the fixture below skips, or fails under CI=true
    mm = None

Client = Any  # meta_memcache.CacheClient; its API is typed by Protocols


@pytest.fixture
def connect(server: Server) -> Iterator[Callable[[], Client]]:
    """``connect()``: a new meta-memcache client, with its own connection pool, to the target."""
    if mm is None:
        message = "meta-memcache is missing (pip install -e '.[test]')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true requires every client")
        pytest.skip(message)
    sockets: list[socket.socket] = []
    new_socket = mm.socket_factory_builder(server.host, server.port, 5, 5, True)

    def tracked_socket() -> socket.socket:  # closed at teardown: the pool has no close()
        sockets.append(new_socket())
        return sockets[-1]

    def make() -> Client:
        pool = mm.ConnectionPool(
            server=f"{server.host}:{server.port}",
            socket_factory_fn=tracked_socket,
            initial_pool_size=0,
            max_pool_size=2,
        )
        return mm.CacheClient.cache_client_from_servers(
            servers=[mm.ServerAddress(server.host, server.port)],
            connection_pool_factory_fn=lambda _address: pool,
        )

    yield make
    for s in sockets:
        s.close()


@pytest.fixture
def k(key_prefix: bytes) -> Callable[[str], str]:
    """``k("name")``: the name under this test's unique key prefix."""
    return lambda name: key_prefix.decode() + name


def read(client: Client, key: str, **flags: Any) -> Any:
    """The raw mg response (Value, Success or Miss) with the flags the client's get() sends
    (``mg <key> f c v t l h``), plus ``flags``."""
    every = RequestFlags(
        return_value=True,
        return_cas_token=True,
        return_ttl=True,
        return_client_flag=True,
        return_last_access=True,
        return_fetched=True,
    )
    return client.meta_get(Key(key), flags=every.replace(**flags))


# ---------------------------------------------------------------------------------------------
# basic operations


def test_set_get_round_trips_every_serialized_type(connect: Callable[[], Client], k) -> None:
    c = connect()
    values = {
        "str": "héllo wörld",
        "bytes": b"\x00\r\n\xff binary",
        "int": 12345678901234567890,
        "pickled": {"a": [1, 2.5, None], "b": ("x", b"y")},
        "compressed": "z" * 10_000,  # over the client's 128-byte zlib threshold
        "large": os.urandom(300_000),  # incompressible: a 300 KB value
        "empty": b"",
    }
    for name, value in values.items():
        assert c.set(k(name), value, ttl=0) is True
    for name, value in values.items():
        assert c.get(k(name)) == value, name
    assert c.get(k("never-set")) is None


def test_keys_the_client_sends_base64_encoded(connect: Callable[[], Client], k) -> None:
    """Spaces, control characters, non-ASCII and long keys go as base64 with the b flag."""
    c = connect()
    names = [k("with space"), k("tab\there"), k("ключ"), k("x" * 300), k("plain")]
    for i, name in enumerate(names):
        assert c.set(name, i, ttl=0)
    assert c.multi_get(names) == {Key(name): i for i, name in enumerate(names)}
    assert c.delete(names[0]) is True
    assert c.get(names[0]) is None
    assert c.get(names[1]) == 1


def test_delete_and_invalidate(connect: Callable[[], Client], k) -> None:
    c = connect()
    assert c.set(k("a"), "v", ttl=0)
    assert c.delete(k("a")) is True  # md: HD
    assert c.delete(k("a")) is False  # NF
    assert c.invalidate(k("a")) is True  # NF counts as gone
    assert c.set(k("b"), "v", ttl=0)
    _, cas = c.get_cas(k("b"))
    assert c.delete(k("b"), cas_token=cas + 1) is False  # EX: another cas
    assert c.get(k("b")) == "v"
    assert c.delete(k("b"), cas_token=cas) is True
    assert c.get(k("b")) is None


def test_set_modes(connect: Callable[[], Client], k) -> None:
    c = connect()
    assert c.set(k("r"), "v", ttl=0, set_mode=SetMode.REPLACE) is False  # NS: no item
    assert c.refill(k("r"), "first", ttl=0) is True  # ms ME: add
    assert c.refill(k("r"), "second", ttl=0) is False  # NS: exists
    assert c.set(k("r"), "third", ttl=0, set_mode=SetMode.REPLACE) is True
    assert c.get(k("r")) == "third"
    # append/prepend keep the stored item's client flags (BINARY here), whatever F they send
    assert c.set(k("ap"), b"mid", ttl=0)
    assert c.set(k("ap"), "<", ttl=0, set_mode=SetMode.PREPEND) is True
    assert c.set(k("ap"), ">", ttl=0, set_mode=SetMode.APPEND) is True
    assert c.get(k("ap")) == b"<mid>"
    assert c.set(k("none"), b"x", ttl=0, set_mode=SetMode.APPEND) is False


def test_cas_tokens(connect: Callable[[], Client], k) -> None:
    c = connect()
    assert c.get_cas(k("a")) == (None, None)
    cas = c.set_cas(k("a"), "v1", ttl=0)  # ms c: the new item's cas
    assert isinstance(cas, int) and cas > 0
    assert c.get_cas(k("a")) == ("v1", cas)
    assert c.set(k("a"), "v2", ttl=0, cas_token=cas + 1000) is False  # EX
    new_cas = c.set_cas(k("a"), "v2", ttl=0, cas_token=cas)
    assert new_cas is not None and new_cas != cas
    assert c.set(k("a"), "v3", ttl=0, cas_token=cas) is False  # the old cas is spent
    assert c.set(k("missing"), "v", ttl=0, cas_token=cas) is False  # NF
    assert c.multi_get_cas([k("a"), k("missing")]) == {
        Key(k("a")): ("v2", new_cas),
        Key(k("missing")): (None, None),
    }


def test_counters(connect: Callable[[], Client], k) -> None:
    c = connect()
    assert c.delta(k("n"), 1) is False  # NF
    assert c.delta_and_get(k("n"), 1) is None
    # autovivified: the initial value as it is, the delta not applied
    assert c.delta_initialize_and_get(k("n"), 5, initial_value=10, initial_ttl=0) == 10
    assert c.delta_initialize_and_get(k("n"), 5, initial_value=10, initial_ttl=0) == 15
    assert c.delta_and_get(k("n"), -3) == 12  # ma M-
    assert c.delta_and_get(k("n"), -100) == 0  # decrement stops at 0
    assert c.delta(k("n"), 7) is True
    # rewritten in place: the old length, space-padded; client flags 0: the serializer's str
    assert c.get(k("n")) == "7 "
    assert c.delta_initialize(k("m"), 1, initial_value=3, initial_ttl=0) is True
    assert c.get(k("m")) == "3"
    _, cas = c.get_cas(k("m"))
    assert c.delta(k("m"), 1, cas_token=cas + 1) is False  # EX
    assert c.delta(k("m"), 1, cas_token=cas) is True
    assert c.delta_and_get(k("m"), 0) == 4
    assert c.set(k("s"), "not a number", ttl=0)
    with pytest.raises(mm.MemcacheServerError):  # CLIENT_ERROR: the client gives up
        c.delta(k("s"), 1)


def test_touch_and_ttl(connect: Callable[[], Client], server: Server, k) -> None:
    c = connect()
    server.align()
    assert c.set(k("a"), "v", ttl=0)
    assert read(c, k("a")).flags.ttl == -1
    assert c.touch(k("a"), 1000) is True  # mg T1000: HD
    assert c.touch(k("missing"), 1000) is False  # EN
    assert read(c, k("a")).flags.ttl in (999, 1000)
    assert c.get(k("a"), touch_ttl=5000) == "v"
    assert read(c, k("a")).flags.ttl in (4999, 5000)
    fetched = read(c, k("a"))
    assert fetched.flags.fetched is True and fetched.flags.client_flag == 0


@pytest.mark.slow
def test_expiry(connect: Callable[[], Client], server: Server, k) -> None:
    c = connect()
    server.align()
    assert c.set(k("short"), "v", ttl=2)
    assert c.set(k("long"), "v", ttl=100)
    assert c.get(k("short")) == "v"
    server.advance(3)
    assert c.get(k("short")) is None
    assert c.get(k("long")) == "v"


def test_pipelined_quiet_writes(connect: Callable[[], Client], k) -> None:
    """exec_multi with no_reply: quiet ms/md/ma each followed by mn, read back in one go."""
    c = connect()
    keys = [Key(k(f"p{i}")) for i in range(20)]
    values = [ValueContainer(f"value {i}") for i in range(20)]
    quiet = RequestFlags(no_reply=True, cache_ttl=0)
    c.router.exec_multi(mm.MetaCommand.META_SET, keys, values, quiet)
    assert c.multi_get(keys) == {key: f"value {i}" for i, key in enumerate(keys)}
    c.router.exec_multi(mm.MetaCommand.META_DELETE, keys[:10], None, RequestFlags(no_reply=True))
    got = c.multi_get(keys)
    assert [got[key] for key in keys] == [None] * 10 + [f"value {i}" for i in range(10, 20)]
    # quiet ma that autovivifies still answers HD (memcached's rule); the client copes
    counters = [Key(k("c1")), Key(k("c2"))]
    vivify = RequestFlags(no_reply=True, vivify_on_miss_ttl=0, ma_initial_value=5)
    c.router.exec_multi(mm.MetaCommand.META_ARITHMETIC, counters, None, vivify)
    c.router.exec_multi(mm.MetaCommand.META_ARITHMETIC, counters, None, vivify)
    assert c.multi_get(counters) == {counters[0]: "6", counters[1]: "6"}


def test_meta_get_return_flags(connect: Callable[[], Client], k) -> None:
    c = connect()
    assert c.set(k("a"), b"abc", ttl=0)
    got = c.meta_get(
        Key(k("a")),
        flags=RequestFlags(return_value=True, return_size=True, return_key=True, opaque=b"op7"),
    )
    assert isinstance(got, Value)  # without f the client decodes with encoding 0, str
    assert (got.value, got.flags.size, got.flags.opaque) == ("abc", 3, b"op7")
    assert isinstance(c.meta_get(Key(k("a")), flags=RequestFlags()), mm.Success)  # HD
    assert isinstance(c.meta_get(Key(k("b")), flags=RequestFlags()), mm.Miss)  # EN


# ---------------------------------------------------------------------------------------------
# stale-while-revalidate


def test_stale_while_revalidate(connect: Callable[[], Client], server: Server, k) -> None:
    writer, first, second = connect(), connect(), connect()
    server.align()
    assert writer.set(k("a"), "v1", ttl=300)
    stale = StalePolicy(mark_stale_on_deletion_ttl=30)
    assert writer.delete(k("a"), stale_policy=stale) is True  # md I T30: HD, item kept

    won = read(first, k("a"))  # the first reader of a stale item gets the token
    assert isinstance(won, Value) and won.value == "v1"
    assert won.flags.stale is True and won.flags.win is True
    assert won.flags.ttl in (29, 30)  # md's T replaced the TTL
    lost = read(second, k("a"))  # later readers: the stale value, token already sent
    assert lost.value == "v1" and lost.flags.stale is True and lost.flags.win is False
    assert lost.flags.cas_token == won.flags.cas_token
    assert second.get(k("a")) == "v1"  # get() serves the stale value to a loser

    # the winner recaches with the cas it read: a fresh item, no longer stale
    assert first.set(k("a"), "v2", ttl=300, cas_token=won.flags.cas_token) is True
    fresh = read(second, k("a"))
    assert fresh.value == "v2" and fresh.flags.stale is False and fresh.flags.win is None

    # again, through get(): the winner sees a miss (it must recompute), the others the value
    assert writer.delete(k("a"), stale_policy=stale) is True
    assert first.get(k("a")) is None
    assert second.get(k("a")) == "v2"
    assert writer.get(k("a")) == "v2"


def test_stale_write_on_cas_mismatch(connect: Callable[[], Client], k) -> None:
    """A write with an outdated cas is refused, or kept as a stale value under a StalePolicy."""
    slow, fast, reader = connect(), connect(), connect()
    assert fast.set(k("a"), "v1", ttl=300)
    _, old_cas = slow.get_cas(k("a"))
    assert fast.set(k("a"), "v2", ttl=300)  # the cas moves on
    assert slow.set(k("a"), "late", ttl=300, cas_token=old_cas) is False  # EX
    policy = StalePolicy(mark_stale_on_cas_mismatch=True)
    assert slow.set(k("a"), "late", ttl=300, cas_token=old_cas, stale_policy=policy) is True
    got = read(reader, k("a"))  # stored, but stale: the next reader must revalidate
    assert got.value == "late" and got.flags.stale is True and got.flags.win is True
    assert reader.get(k("a")) == "late"  # token sent: the others use the stale value


def test_recache_policy(connect: Callable[[], Client], k) -> None:
    """R<ttl>: the first reader of an item with less TTL left than that wins the recache."""
    a, b = connect(), connect()
    assert a.set(k("a"), "v", ttl=100)
    recache = mm.RecachePolicy(ttl=200)
    assert a.get(k("a"), recache_policy=recache) is None  # 100 < 200: won, recompute
    assert b.get(k("a"), recache_policy=recache) == "v"  # Z: someone is on it
    assert read(b, k("a"), recache_ttl=200).flags.win is False
    assert b.get(k("b"), recache_policy=recache) is None  # a plain miss
    assert a.set(k("c"), "v", ttl=1000)
    assert a.get(k("c"), recache_policy=recache) == "v"  # 1000 > 200: no token
    assert a.set(k("d"), "v", ttl=0)
    assert a.get(k("d"), recache_policy=recache) == "v"  # never expires: no token


# ---------------------------------------------------------------------------------------------
# leases


def test_lease_one_winner_others_wait_for_its_value(connect: Callable[[], Client], k) -> None:
    winner, loser = connect(), connect()
    policy = mm.LeasePolicy(ttl=30, miss_retries=3, miss_retry_wait=1.0)
    value, cas = winner.get_or_lease_cas(k("a"), policy)  # mg N30 on a miss: W
    assert value is None and cas is not None

    waits: list[float] = []

    def wait(seconds: float) -> None:  # the loser waits; meanwhile the winner recaches
        waits.append(seconds)
        assert winner.set(k("a"), "computed", ttl=300, cas_token=cas) is True

    assert loser.get_or_lease(k("a"), policy, lease_wait_fn=wait) == "computed"
    assert waits == [1.0]
    assert winner.get_or_lease(k("a"), policy) == "computed"


def test_lease_losers_give_up_after_their_retries(connect: Callable[[], Client], k) -> None:
    winner, loser = connect(), connect()
    policy = mm.LeasePolicy(ttl=30, miss_retries=3, miss_retry_wait=1.0, wait_backoff_factor=2)
    assert winner.get_or_lease(k("a"), policy) is None
    placeholder = read(loser, k("a"), vivify_on_miss_ttl=30)
    assert isinstance(placeholder, Value) and placeholder.size == 0
    assert placeholder.flags.win is False  # Z: the lease is taken
    waits: list[float] = []
    assert loser.get_or_lease(k("a"), policy, lease_wait_fn=waits.append) is None
    assert waits == [1.0, 2.0]  # three reads, backing off between them
    # a refill (add) cannot replace the placeholder; a plain set can
    assert winner.refill(k("a"), "v", ttl=300) is False
    assert winner.set(k("a"), "v", ttl=300) is True
    assert loser.get_or_lease(k("a"), policy, lease_wait_fn=waits.append) == "v"


@pytest.mark.slow
def test_lease_expires_with_its_ttl(connect: Callable[[], Client], server: Server, k) -> None:
    """A winner that never recaches: once the placeholder's TTL passes, a new client wins."""
    first, second = connect(), connect()
    policy = mm.LeasePolicy(ttl=2, miss_retries=1)
    server.align()
    assert first.get_or_lease(k("a"), policy) is None
    assert read(second, k("a"), vivify_on_miss_ttl=2).flags.win is False
    server.advance(3)
    renewed = read(second, k("a"), vivify_on_miss_ttl=2)
    assert renewed.size == 0 and renewed.flags.win is True
