"""Memory limits: LRU eviction with -m, SERVER_ERROR out of memory with -M.

memcached refuses -m 1 with the default -I 1m ("Cannot set item size limit higher than
1/2 of memory max"), so these run with ``-m 1 -I 512k``: a single 1 MB slab page, which
holds exactly ten 100 000-byte items (the chunk size of their slab class).
"""

from __future__ import annotations

import pytest

SIZE = 100_000
COUNT = 30


def _store_many(conn) -> list[bytes]:
    value = b"v" * SIZE
    conn.send(b"".join(b"set {k}%d 0 0 %d\r\n" % (i, SIZE) + value + b"\r\n" for i in range(COUNT)))
    return [conn.read_until(b"\r\n") for _ in range(COUNT)]


def _alive(conn) -> list[int]:
    alive = []
    for i in range(COUNT):
        conn.send(b"get {k}%d\r\n" % i)
        if conn.read_until(b"END\r\n") != b"END\r\n":
            alive.append(i)
    return alive


@pytest.mark.server_flags("-m", "1", "-I", "512k")
def test_lru_eviction(conn) -> None:
    assert _store_many(conn) == [b"STORED\r\n"] * COUNT
    assert _alive(conn) == list(range(COUNT - 10, COUNT))  # the newest ten survive
    stats = conn.stats()
    assert (stats["curr_items"], stats["total_items"], stats["evictions"]) == ("10", "30", "20")
    items = conn.stats(b"items")
    evicted = {k: v for k, v in items.items() if k.endswith(":evicted")}
    assert list(evicted.values()) == ["20"]


@pytest.mark.server_flags("-m", "1", "-I", "512k")
def test_early_read_does_not_protect_from_eviction(conn) -> None:
    """A get bumps an item in the LRU only when its last bump is 60 s old (memcached's
    ITEM_UPDATE_INTERVAL), so an item read right after being stored is still evicted first."""
    value = b"v" * SIZE
    conn.request(b"set {k}0 0 0 %d\r\n" % SIZE + value + b"\r\n", b"STORED\r\n")
    conn.send(b"get {k}0\r\n")
    conn.read_until(b"END\r\n")
    for i in range(1, 15):
        conn.request(b"set {k}%d 0 0 %d\r\n" % (i, SIZE) + value + b"\r\n", b"STORED\r\n")
    conn.request(b"get {k}0\r\n", b"END\r\n")


@pytest.mark.server_flags("-m", "1", "-I", "512k", "-M")
def test_out_of_memory_without_evictions(conn) -> None:
    replies = _store_many(conn)
    assert replies == [b"STORED\r\n"] * 10 + [b"SERVER_ERROR out of memory storing object\r\n"] * 20
    assert _alive(conn) == list(range(10))
    stats = conn.stats()
    assert (stats["curr_items"], stats["evictions"], stats["total_items"]) == ("10", "0", "10")
    items = conn.stats(b"items")
    assert [v for k, v in items.items() if k.endswith(":outofmemory")] == ["20"]
    # a slab class without a page always gets its first page, even over the limit
    conn.request(b"set {k}small 0 0 1\r\nx\r\n", b"STORED\r\n")
    # deleting frees a chunk of that class
    conn.request(b"delete {k}0\r\n", b"DELETED\r\n")
    conn.request(b"set {k}new 0 0 %d\r\n" % SIZE + b"v" * SIZE + b"\r\n", b"STORED\r\n")


@pytest.mark.server_flags("-m", "1", "-I", "512k", "-M")
def test_out_of_memory_noreply_and_old_value(conn) -> None:
    replies = _store_many(conn)
    assert replies.count(b"STORED\r\n") == 10
    # a failed set removes the old item (as for too-large); noreply hides the error
    conn.request(b"set {k}29 0 0 1 noreply\r\nx\r\nversion\r\n", b"VERSION 1.6.18\r\n")
