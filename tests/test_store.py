"""Store semantics, each rule checked against memcached 1.6.18 behaviour (probed on the real
binary where noted). Time is a ManualClock; nothing sleeps."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pymcd.clock import ManualClock, ServerTime
from pymcd.config import Settings
from pymcd.store import DeltaResult, Store, StoreMode, StoreResult, parse_counter
from pymcd.store.item import ACTIVE, STALE, Item

UNIX_NOW = 1_700_000_000.0
SET, ADD, REPLACE, APPEND, PREPEND, CAS = (
    StoreMode.SET,
    StoreMode.ADD,
    StoreMode.REPLACE,
    StoreMode.APPEND,
    StoreMode.PREPEND,
    StoreMode.CAS,
)
STORED, NOT_STORED, EXISTS, NOT_FOUND, TOO_LARGE, NO_MEMORY = (
    StoreResult.STORED,
    StoreResult.NOT_STORED,
    StoreResult.EXISTS,
    StoreResult.NOT_FOUND,
    StoreResult.TOO_LARGE,
    StoreResult.NO_MEMORY,
)


SLAB_STAT_NAMES = (
    "chunk_size",
    "chunks_per_page",
    "total_pages",
    "total_chunks",
    "used_chunks",
    "free_chunks",
    "free_chunks_end",
    "get_hits",
    "cmd_set",
    "delete_hits",
    "incr_hits",
    "decr_hits",
    "cas_hits",
    "cas_badval",
    "touch_hits",
)
ITEM_STAT_NAMES = (
    "number",
    "number_hot",
    "number_warm",
    "number_cold",
    "age_hot",
    "age_warm",
    "age",
    "mem_requested",
    "evicted",
    "evicted_nonzero",
    "evicted_time",
    "outofmemory",
    "tailrepairs",
    "reclaimed",
    "expired_unfetched",
    "evicted_unfetched",
    "evicted_active",
    "crawler_reclaimed",
    "crawler_items_checked",
    "lrutail_reflocked",
    "moves_to_cold",
    "moves_to_warm",
    "moves_within_lru",
    "direct_reclaims",
    "hits_to_hot",
    "hits_to_warm",
    "hits_to_cold",
    "hits_to_temp",
)


class Harness:
    def __init__(self, **settings: object) -> None:
        self.clock = ManualClock()
        self.store = Store(Settings(**settings), ServerTime(self.clock, unix_now=UNIX_NOW))  # type: ignore[arg-type]

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.store.time.update()

    def set(self, key: bytes, value: bytes, exptime: int = 0, flags: int = 0) -> StoreResult:
        return self.store.store(SET, key, flags, exptime, value + b"\r\n")

    def value(self, key: bytes) -> bytes | None:
        item = self.store.peek(key)
        return None if item is None else item.block[:-2]

    def stat(self, name: str) -> int:
        return self.store.global_stats()[name]


@pytest.fixture
def h() -> Harness:
    return Harness()


# ------------------------------------------------------------------ store modes


@pytest.mark.parametrize(
    ("existing", "mode", "cas", "result", "after"),
    [
        (None, SET, 0, STORED, b"new"),
        (b"old", SET, 0, STORED, b"new"),
        (None, ADD, 0, STORED, b"new"),
        (b"old", ADD, 0, NOT_STORED, b"old"),
        (None, REPLACE, 0, NOT_STORED, None),
        (b"old", REPLACE, 0, STORED, b"new"),
        (None, APPEND, 0, NOT_STORED, None),
        (b"old", APPEND, 0, STORED, b"oldnew"),
        (None, PREPEND, 0, NOT_STORED, None),
        (b"old", PREPEND, 0, STORED, b"newold"),
        (None, CAS, 1, NOT_FOUND, None),
        (b"old", CAS, 1, STORED, b"new"),  # the first item gets cas unique 1
        (b"old", CAS, 2, EXISTS, b"old"),
        (b"old", CAS, 0, EXISTS, b"old"),  # cas 0 never matches
    ],
)
def test_store_modes(
    h: Harness,
    existing: bytes | None,
    mode: StoreMode,
    cas: int,
    result: StoreResult,
    after: bytes | None,
) -> None:
    if existing is not None:
        h.set(b"k", existing)
    assert h.store.store(mode, b"k", 0, 0, b"new\r\n", cas) is result
    assert h.value(b"k") == after


def test_append_keeps_old_flags_and_exptime_with_new_cas(h: Harness) -> None:
    h.store.store(SET, b"k", 7, 100, b"a\r\n")
    old = h.store.peek(b"k")
    assert old is not None
    assert h.store.store(APPEND, b"k", 9, 5, b"b\r\n") is STORED
    new = h.store.peek(b"k")
    assert new is not None
    assert (new.data, new.flags, new.exptime) == (b"ab\r\n", 7, old.exptime)
    assert new.cas == old.cas + 1


def test_cas_uniques_follow_memcached(h: Harness) -> None:
    # probed: set=1.. each link takes one; touch keeps it; flush_all (now) takes one;
    # a delayed flush takes none; in-place incr takes one.
    def cas(key: bytes) -> int:
        item = h.store.peek(key)
        assert item is not None
        return item.cas

    h.set(b"a", b"1")
    assert cas(b"a") == 1
    h.store.touch(b"a", 100)
    assert cas(b"a") == 1
    h.store.flush_all(0)
    h.set(b"b", b"1")
    assert cas(b"b") == 3
    h.store.flush_all(100)
    h.set(b"c", b"1")
    assert cas(b"c") == 4
    assert h.store.incr_decr(b"c", True, 1) == 2
    assert cas(b"c") == 5


def test_without_cas_uniques_are_zero() -> None:
    h = Harness(use_cas=False)
    h.set(b"a", b"1")
    item = h.store.peek(b"a")
    assert item is not None and item.cas == 0
    assert h.store.store(CAS, b"a", 0, 0, b"2\r\n", 0) is EXISTS


# ------------------------------------------------------------------ sizes


@pytest.mark.parametrize(
    ("key", "flags", "length", "result"),
    [
        (b"k", 0, 1048517 - 1, STORED),
        (b"k", 0, 1048517 - 1 + 1, TOO_LARGE),
        (b"k", 5, 1048517 - 1 - 4, STORED),
        (b"k", 5, 1048517 - 1 - 3, TOO_LARGE),
        (b"x" * 250, 0, 1048517 - 250, STORED),
        (b"x" * 250, 0, 1048517 - 249, TOO_LARGE),
    ],
)
def test_item_size_boundary(
    h: Harness, key: bytes, flags: int, length: int, result: object
) -> None:
    assert h.store.store(SET, key, flags, 0, b"v" * length + b"\r\n") is result


@pytest.mark.parametrize(
    ("mode", "survives"),
    [(SET, False), (ADD, True), (REPLACE, True), (APPEND, True), (PREPEND, True), (CAS, True)],
)
def test_too_large_removes_the_old_item_only_for_set(
    h: Harness, mode: StoreMode, survives: bool
) -> None:
    h.set(b"k", b"x")
    assert h.store.store(mode, b"k", 0, 0, b"v" * 1048517 + b"\r\n", 1) is TOO_LARGE
    assert (h.value(b"k") == b"x") is survives


def test_append_beyond_the_limit_is_not_stored(h: Harness) -> None:
    assert h.set(b"big", b"x" * (1048517 - 3)) is STORED
    assert h.store.store(APPEND, b"big", 0, 0, b"y\r\n") is NOT_STORED
    assert h.value(b"big") == b"x" * (1048517 - 3)


def test_chunked_item_accounting_matches_memcached(h: Harness) -> None:
    # probed: after these, stats slabs shows classes 1 (2 used), 2 (1 used), 39 (2 used)
    h.set(b"k", b"x")
    h.set(b"big", b"x" * 1048514)
    slabs = dict(h.store.slab_stats())
    assert slabs["1:used_chunks"] == 2
    assert slabs["2:used_chunks"] == 1
    assert slabs["39:used_chunks"] == 2
    assert slabs["active_slabs"] == 3
    assert slabs["total_malloced"] == 3 * 1048576
    items = dict(h.store.item_stats())
    assert items["items:39:number"] == 1
    assert items["items:39:mem_requested"] == 1048576
    assert h.stat("bytes") == 1048576 + 61


# ------------------------------------------------------------------ expiry and flush


@pytest.mark.parametrize(
    ("exptime", "alive_at", "dead_at"),
    [
        (0, 10**6, None),
        (10, 9, 10),  # relative: gone once 10 whole seconds passed
        (1, 0, 1),
        (-1, None, 0),  # negative: expired at once
        (int(UNIX_NOW) + 20, 19, 20),  # absolute unix time
        (int(UNIX_NOW) - 1000, None, 0),  # absolute in the past
    ],
)
def test_expiry(h: Harness, exptime: int, alive_at: int | None, dead_at: int | None) -> None:
    h.set(b"k", b"v", exptime)
    if alive_at is not None:
        h.advance(alive_at)
        assert h.store.get(b"k") is not None
    if dead_at is not None:
        h.advance(dead_at - (alive_at or 0))
        assert h.store.get(b"k") is None
        assert h.stat("get_expired") == 1
        assert h.stat("curr_items") == 0


def test_fractional_seconds_do_not_expire_early(h: Harness) -> None:
    h.advance(0.5)
    h.set(b"k", b"v", 1)
    h.advance(0.49)
    assert h.store.get(b"k") is not None
    h.advance(0.01)
    assert h.store.get(b"k") is None


def test_flush_now_removes_everything_and_later_sets_survive(h: Harness) -> None:
    h.set(b"a", b"1")
    h.set(b"b", b"1")
    assert h.store.get(b"a") is not None
    h.store.flush_all(0)
    assert h.stat("curr_items") == 0
    assert h.stat("reclaimed") == 2 and h.stat("expired_unfetched") == 1  # probed
    h.set(b"c", b"1")  # same second, but a newer cas: survives
    assert h.store.get(b"c") is not None


def test_flush_without_cas_also_flushes_the_same_second() -> None:
    h = Harness(use_cas=False)
    h.store.flush_all(0)
    h.set(b"c", b"1")
    assert h.store.get(b"c") is None
    assert h.stat("get_flushed") == 1
    h.advance(1)
    h.set(b"c", b"1")
    assert h.store.get(b"c") is not None


def test_delayed_flush(h: Harness) -> None:
    h.set(b"a", b"1")
    h.store.flush_all(10)
    h.advance(5)
    h.set(b"b", b"1")  # before the moment: flushed too
    assert h.store.get(b"a") is not None
    h.advance(4)  # oldest_live = now + 10 - 1
    assert h.store.get(b"a") is None
    assert h.store.get(b"b") is None
    h.set(b"c", b"1")  # linked in the flush's second: time <= oldest_live
    assert h.store.get(b"c") is None
    h.advance(1)
    h.set(b"d", b"1")
    assert h.store.get(b"d") is not None


def test_touch(h: Harness) -> None:
    h.set(b"k", b"v", 10)
    h.advance(5)
    item = h.store.touch(b"k", 100)
    assert item is not None and item.fetched
    h.advance(50)
    assert h.store.get(b"k") is not None
    assert h.store.touch(b"k", -1) is not None
    assert h.store.get(b"k") is None
    assert h.store.touch(b"missing", 10) is None
    assert h.stat("touch_hits") == 2 and h.stat("get_hits") == 1


# ------------------------------------------------------------------ incr / decr


@pytest.mark.parametrize(
    ("stored", "expected"),
    [  # probed on memcached 1.6.18
        (b"100", 100),
        (b" 12", 12),
        (b"\t12", 12),
        (b"\r5", 5),
        (b"+5", 5),
        (b"-0", 0),
        (b"-1", None),
        (b"-9223372036854775809", 9223372036854775807),
        (b"12abc", None),
        (b"12 abc", 12),
        (b"12\x00z", 12),
        (b"0x10", None),
        (b"1.5", None),
        (b"18446744073709551615", 18446744073709551615),
        (b"18446744073709551616", None),
        (b"000000000000000000000000000005", 5),
        (b" ", None),
        (b"5 ", 5),
        (b"18446744073709551615 -", None),  # strchr finds the '-' after the number
        (b"18446744073709551615 \x00-", 18446744073709551615),  # but not past a NUL
        (b"5 -", 5),  # the check only runs above 2**63-1
    ],
)
def test_parse_counter(stored: bytes, expected: int | None) -> None:
    assert parse_counter(stored + b"\r\n") == expected


@pytest.mark.parametrize(
    ("stored", "incr", "delta", "answer", "after"),
    [
        (b"100", True, 1, 101, b"101"),
        (b"100", False, 1, 99, b"99 "),
        (b"100", False, 1000, 0, b"0  "),
        (b" 12", True, 1, 13, b"13 "),
        (b"12 abc", True, 1, 13, b"13    "),
        (b"18446744073709551615", True, 1, 0, b"0" + b" " * 19),
        (b"18446744073709551615", True, 2, 1, b"1" + b" " * 19),
        (b"0", True, 18446744073709551615, 18446744073709551615, b"18446744073709551615"),
        (b"9", True, 1, 10, b"10"),  # grows: a new item
        (b"abc", True, 1, DeltaResult.NON_NUMERIC, b"abc"),
        (b"", True, 1, DeltaResult.NON_NUMERIC, b""),
    ],
)
def test_incr_decr(
    h: Harness, stored: bytes, incr: bool, delta: int, answer: object, after: bytes
) -> None:
    h.store.store(SET, b"n", 3, 100, stored + b"\r\n")
    before = h.store.peek(b"n")
    assert before is not None
    cas_before, exptime_before = before.cas, before.exptime
    assert h.store.incr_decr(b"n", incr, delta) == answer
    item = h.store.peek(b"n")
    assert item is not None
    assert item.data == after + b"\r\n"
    assert (item.flags, item.exptime) == (3, exptime_before)
    assert item.cas == (cas_before if isinstance(answer, DeltaResult) else cas_before + 1)


def test_incr_missing_and_counters(h: Harness) -> None:
    assert h.store.incr_decr(b"nope", True, 1) is DeltaResult.NOT_FOUND
    h.set(b"n", b"5")
    h.store.incr_decr(b"n", True, 1)
    h.store.incr_decr(b"n", False, 1)
    h.store.incr_decr(b"n", False, 1)
    assert (h.stat("incr_hits"), h.stat("decr_hits")) == (1, 2)


# ------------------------------------------------------------------ delete, peek, keys


def test_delete_peek_keys(h: Harness) -> None:
    h.set(b"a", b"1")
    h.set(b"b", b"1", 5)
    assert sorted(h.store.keys()) == [b"a", b"b"] and len(h.store) == 2
    h.advance(5)
    assert h.store.keys() == [b"a"] and len(h.store) == 1 and h.store.peek(b"b") is None
    assert h.stat("curr_items") == 2  # peek has no side effects
    assert h.store.delete(b"a") is True
    assert h.store.delete(b"a") is False
    assert h.store.delete(b"b") is False
    assert (h.stat("delete_hits"), h.stat("get_expired")) == (1, 1)


# ------------------------------------------------------------------ LRU, eviction, memory


def small_cache(**settings: object) -> Harness:
    # -m 2: class 4 (192-byte chunks, 5461 a page) gets the two pages
    return Harness(memory_limit=2 * 1024 * 1024, **settings)


def fill(h: Harness, count: int, exptime: Callable[[int], int] = lambda i: 0) -> None:
    for i in range(count):
        assert h.set(b"key%d" % i, b"x" * 100, exptime(i)) is STORED


def test_no_evictions_gives_no_memory() -> None:
    h = small_cache(evictions=False)
    fill(h, 10922)  # probed: the 10923rd set fails
    assert h.set(b"more", b"x" * 100) is NO_MEMORY
    assert h.set(b"key0", b"x" * 100) is NO_MEMORY
    assert h.store.peek(b"key0") is None  # a failed set drops the stale value
    items = dict(h.store.item_stats())
    assert items["items:4:outofmemory"] == 2
    assert items["items:4:direct_reclaims"] == 20  # probed: 10 per failure
    assert h.set(b"small", b"x") is STORED  # another class still gets its first page
    assert h.stat("total_malloced") == 3 * 1024 * 1024


def test_eviction_takes_the_lru_tail() -> None:
    h = small_cache()
    fill(h, 10922)
    h.advance(100)
    assert h.store.get(b"key0") is not None  # first read: only marked fetched
    assert h.store.get(b"key0") is not None  # second read: active, bumped to the LRU head
    assert h.set(b"new1", b"x" * 100) is STORED
    assert h.set(b"new2", b"x" * 100) is STORED
    assert h.store.peek(b"key0") is not None
    assert h.store.peek(b"key1") is None and h.store.peek(b"key2") is None
    assert h.store.peek(b"key3") is not None
    assert (h.stat("evictions"), h.stat("evicted_unfetched")) == (2, 2)
    items = dict(h.store.item_stats())
    assert items["items:4:evicted_time"] == 100
    assert items["items:4:direct_reclaims"] == 2


def test_reclaim_expired_before_evicting() -> None:
    h = small_cache()
    fill(h, 10922, exptime=lambda i: 1 if i < 3 else 0)
    h.advance(2)
    assert h.set(b"new", b"x" * 100) is STORED
    assert (h.stat("reclaimed"), h.stat("expired_unfetched"), h.stat("evictions")) == (3, 3, 0)
    assert h.store.peek(b"key3") is not None


def test_bump_is_rate_limited() -> None:
    h = small_cache()
    fill(h, 10922)
    h.advance(60)  # not more than ITEM_UPDATE_INTERVAL: no bump
    assert h.store.get(b"key0") is not None
    h.set(b"new", b"x" * 100)
    assert h.store.peek(b"key0") is None


def test_cachedump_order_limit_and_exptime(h: Harness) -> None:
    h.set(b"a", b"1")
    h.set(b"b", b"22", 100)
    h.set(b"c", b"333")
    started = h.store.time.process_started
    assert h.store.cachedump(1, 0) == [(b"c", 3, 0), (b"b", 2, started + 62 + 100), (b"a", 1, 0)]
    assert h.store.cachedump(1, 2) == [(b"c", 3, 0), (b"b", 2, started + 62 + 100)]
    assert h.store.cachedump(2, 0) == []
    assert h.store.cachedump(99, 0) == []


def _reply_form(h: Harness, key: bytes) -> None:
    """What a classic get does to an item on its first hit (pymcd.dispatch)."""
    item = h.store.get(key)
    assert item is not None
    item.take_reply_form(b"VALUE %b %d %d\r\n" % (key, item.flags, item.value_length))


def test_an_item_in_reply_form_is_measured_by_its_block(h: Harness) -> None:
    h.set(b"a", b"1", flags=3)
    h.set(b"b", b"22", 100)
    empty = (h.stat("bytes"), h.store._python_bytes)
    h.set(b"c", b"333")
    charged = (h.stat("bytes"), h.store._python_bytes)
    plain = [h.store.item_total_size(h.store.peek(key)) for key in (b"a", b"b", b"c")]  # type: ignore[arg-type]
    dump = h.store.cachedump(1, 0)
    for key in (b"a", b"b", b"c"):
        _reply_form(h, key)
    assert [h.store.item_total_size(h.store.peek(key)) for key in (b"a", b"b", b"c")] == plain  # type: ignore[arg-type]
    assert h.store.cachedump(1, 0) == dump
    assert (h.stat("bytes"), h.store._python_bytes) == charged
    assert h.store.delete(b"c")
    assert (h.stat("bytes"), h.store._python_bytes) == empty
    assert h.store.peek(b"a").flags == 3  # type: ignore[union-attr]


def test_append_prepend_and_delta_read_the_block_of_an_item_in_reply_form(h: Harness) -> None:
    h.set(b"s", b"mid", flags=7)
    _reply_form(h, b"s")
    assert h.store.store(StoreMode.APPEND, b"s", 0, 0, b"end\r\n") is STORED
    _reply_form(h, b"s")
    assert h.store.store(StoreMode.PREPEND, b"s", 0, 0, b"pre\r\n") is STORED
    assert h.value(b"s") == b"premidend" and h.store.peek(b"s").flags == 7  # type: ignore[union-attr]
    h.set(b"n", b"100", flags=7)
    _reply_form(h, b"n")
    value, item = h.store.apply_delta(b"n", False, 1)  # type: ignore[misc]
    assert value == 99 and item is h.store.peek(b"n")  # in place: the plain form again
    assert (item.data, item.head, item.flags) == (b"99 \r\n", 7, 7)


def test_get_each_writes_hits_in_order_and_counts_misses(h: Harness) -> None:
    h.set(b"plain", b"p", flags=1)
    h.set(b"ready", b"r")
    _reply_form(h, b"ready")
    h.set(b"old", b"o", exptime=10)
    h.advance(11)
    seen: list[Item] = []

    def on_hit(item: Item, out: list[bytes]) -> None:
        seen.append(item)
        out.append(b"<%b>" % item.key)

    keys = [b"plain", b"none", b"old", b"ready", b"plain"]
    out: list[bytes] = []
    assert h.store.get_each(keys, out, on_hit) == 2
    assert out == [b"<plain>", b"VALUE ready 0 1\r\nr\r\n", b"<plain>"]
    assert h.store.peek(b"old") is None and h.stat("get_expired") == 1  # gone, as a get does
    out = []
    assert h.store.get_each(keys, out, on_hit, end=b"|", replies=False) == 2
    assert out == [b"<plain>", b"|", b"|", b"|", b"<ready>", b"|", b"<plain>", b"|"]
    assert [item.key for item in seen] == [b"plain", b"plain", b"plain", b"ready", b"plain"]
    assert h.store.peek(b"plain").bits & ACTIVE  # type: ignore[union-attr]  # read twice+


def test_cachedump_stops_at_two_megabytes() -> None:
    h = Harness()
    for i in range(20000):
        h.set(b"%0200d" % i, b"")
    dumped = h.store.cachedump(h.store.peek(b"%0200d" % 0).clsid, 0)  # type: ignore[union-attr]
    line = 16 + 200 + 1 + 1
    assert len(dumped) == (2 * 1024 * 1024 - 6) // line


def test_memory_limit_change() -> None:
    h = small_cache(evictions=False)
    fill(h, 10922)
    assert h.store.set_memory_limit(8 * 1024 * 1024)
    assert h.store.limit_maxbytes == 8 * 1024 * 1024
    assert h.set(b"more", b"x" * 100) is STORED


def test_python_budget_bounds_tiny_items() -> None:
    h = Harness(memory_limit=1024 * 1024)
    budget = 17 * 1024 * 1024
    fill_count = budget // (310 + 6 + 3) + 1000
    for i in range(fill_count):
        h.store.store(SET, b"%06d" % i, 0, 0, b"x\r\n")
    assert h.store._python_bytes <= budget
    assert h.stat("evictions") > 0


# ------------------------------------------------------------------ stats


def test_stats_names_and_order(h: Harness) -> None:
    h.set(b"a", b"100")
    h.set(b"b", b"x", flags=5)
    assert h.store.get(b"a") is not None
    slabs = h.store.slab_stats()
    assert [name for name, _ in slabs] == [
        *(f"1:{name}" for name in SLAB_STAT_NAMES),
        "active_slabs",
        "total_malloced",
    ]
    assert dict(slabs)["1:cmd_set"] == 2 and dict(slabs)["1:used_chunks"] == 2
    items = h.store.item_stats()
    assert [name for name, _ in items] == [f"items:1:{name}" for name in ITEM_STAT_NAMES]
    assert dict(items)["items:1:mem_requested"] == 128  # probed: 63 + 65
    assert h.stat("bytes") == 128 and h.stat("curr_items") == 2


def test_too_large_and_no_memory_do_not_count_cmd_set(h: Harness) -> None:
    h.store.store(SET, b"k", 0, 0, b"v" * 1048517 + b"\r\n")
    h.set(b"k", b"v")
    h.store.store(ADD, b"k", 0, 0, b"v\r\n")
    assert h.stat("cmd_set") == 2


def test_cas_counters(h: Harness) -> None:
    h.set(b"k", b"v")
    h.store.store(CAS, b"k", 0, 0, b"v\r\n", 99)
    h.store.store(CAS, b"k", 0, 0, b"v\r\n", 1)
    assert (h.stat("cas_badval"), h.stat("cas_hits")) == (1, 1)


def test_reset_stats_keeps_state(h: Harness) -> None:
    h.set(b"k", b"v")
    h.store.get(b"k")
    h.store.reset_stats()
    assert h.stat("get_hits") == 0 and h.stat("total_items") == 0 and h.stat("cmd_set") == 0
    assert h.stat("curr_items") == 1 and h.stat("total_malloced") == 1024 * 1024


def test_flush_everything(h: Harness) -> None:
    h.set(b"k", b"v")
    h.store.flush_everything()
    assert h.stat("curr_items") == 0 and h.stat("total_malloced") == 0
    h.set(b"k", b"v")
    item = h.store.peek(b"k")
    assert item is not None and item.cas == 1


def test_bad_data_chunk_allocates_and_frees_the_item(h: Harness) -> None:
    """Found by conformance/test_differential.py: memcached allocates the item before it
    reads the block, so a bad data chunk still gives its class a page (``stats slabs``)."""
    assert h.store.count_set(b"a", 0, 102) is True
    slabs = dict(h.store.slab_stats())
    assert slabs["4:total_pages"] == 1 and slabs["4:used_chunks"] == 0
    assert slabs["4:cmd_set"] == 1 and slabs["active_slabs"] == 1
    assert h.stat("curr_items") == 0


def test_reads_mark_fetched_then_active() -> None:
    """do_item_bump of the segmented LRU: the second read moves the item's time, later don't."""
    h = Harness()
    assert h.set(b"k", b"v") is STORED
    h.advance(10)
    item = h.store.get(b"k")
    assert item is not None and item.fetched and not item.bits & ACTIVE
    assert h.store.time.current_time - item.time == 10
    h.store.get(b"k")
    assert item.bits & ACTIVE and item.time == h.store.time.current_time
    h.advance(5)
    h.store.get(b"k")
    assert h.store.time.current_time - item.time == 5


def test_an_active_tail_item_is_rescued_once() -> None:
    h = small_cache()
    assert h.set(b"key0", b"x" * 100) is STORED
    for _ in range(2):
        assert h.store.get(b"key0") is not None  # now active
    for i in range(1, 10922):
        assert h.set(b"key%d" % i, b"x" * 100) is STORED
    assert h.set(b"new1", b"x" * 100) is STORED  # key0, at the tail, is rescued: key1 goes
    assert h.store.peek(b"key0") is not None and h.store.peek(b"key1") is None
    item = h.store.peek(b"key0")
    assert item is not None and not item.bits & ACTIVE
    for i in range(10922):  # push key0 back to the tail: no longer active, it goes
        assert h.set(b"more%d" % i, b"x" * 100) is STORED
    assert h.store.peek(b"key0") is None


def test_apply_delta_checks_cas_and_returns_memcacheds_item() -> None:
    h = Harness()
    assert h.set(b"n", b"99") is STORED
    item = h.store.peek(b"n")
    assert item is not None
    assert h.store.apply_delta(b"n", True, 1, cas=item.cas + 1) is DeltaResult.CAS_MISMATCH
    result = h.store.apply_delta(b"n", True, 1, cas=item.cas)
    assert isinstance(result, tuple)
    value, returned = result
    linked = h.store.peek(b"n")
    # 100 does not fit in "99": a new item is linked; memcached hands back the old one
    assert value == 100 and returned is item and linked is not item
    assert linked is not None and returned.cas == linked.cas
    result = h.store.apply_delta(b"n", False, 1)
    assert isinstance(result, tuple) and result[1] is linked  # "99 " fits in place


def test_create_and_invalidate() -> None:
    h = Harness()
    created = h.store.create(b"v", b"5\r\n", 100)
    assert created is not None and created.flags == 0 and created.cas == 1
    assert h.stat("cmd_set") == 0 and h.stat("total_items") == 1
    h.store.invalidate(created, None)
    assert created.bits & STALE and created.cas == 2


def test_apply_delta_never_rewrites_a_pinned_item_in_place() -> None:
    h = Harness()
    assert h.set(b"n", b"10") is STORED
    item = h.store.peek(b"n")
    assert h.store.incr_decr(b"n", False, 1, pinned=[item]) == 9  # type: ignore[list-item]
    replaced = h.store.peek(b"n")
    assert replaced is not item and replaced is not None and replaced.data == b"9\r\n"


def test_replacing_an_item_keeps_its_index_entry(h: Harness) -> None:
    """A set on a live key overwrites the index entry (a delete would leave a slot that every
    lookup probes past until the next resize): the key keeps its place in the index order."""
    for key in (b"a", b"b", b"c"):
        h.set(key, b"1")
    assert h.set(b"a", b"22") is STORED
    assert list(h.store._items) == [b"a", b"b", b"c"]
    assert h.value(b"a") == b"22"
    assert h.stat("curr_items") == 3 and h.stat("total_items") == 4
