"""The store's in-place set (``Store._overwrite``) against the general path it shortcuts:
any run of commands leaves both stores with the same results, items, LRU order and stats."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pymcd.clock import ManualClock, ServerTime
from pymcd.config import Settings
from pymcd.store import Store, StoreMode
from pymcd.store.item import REPLY_FORM_MAX, reply_header

KEYS = [b"a", b"b", b"c", b"d", b"e", b"k" * 200]
SIZES = [0, 1, 30, 100, 600, 5000, 70_000, 600_000]  # across classes; the last is chunked
STORES = st.tuples(
    st.just("store"),
    st.sampled_from([StoreMode.SET, StoreMode.SET, StoreMode.REPLACE, StoreMode.ADD]),
    st.sampled_from(KEYS),
    st.sampled_from(SIZES),
    st.sampled_from([0, 0, 7]),  # flags
    st.sampled_from([0, 0, 2, -1, 3_000_000]),  # exptime
)
OPS = st.lists(
    st.one_of(
        STORES,
        STORES,
        STORES,
        st.tuples(st.just("get"), st.sampled_from(KEYS)),
        st.tuples(st.just("reply_form"), st.sampled_from(KEYS)),
        st.tuples(st.just("delete"), st.sampled_from(KEYS)),
        st.tuples(st.just("advance"), st.sampled_from([1, 3, 61])),
        st.tuples(st.just("flush_all"), st.sampled_from([0, 2])),
    ),
    max_size=40,
)


class _Run:
    def __init__(self, in_place: bool) -> None:
        self.clock = ManualClock()
        # 2 MB and 1 MB pages: classes fill up, so sets evict and the general path is taken
        limit = 2 * 1024 * 1024
        self.store = Store(Settings(memory_limit=limit), ServerTime(self.clock, unix_now=1.7e9))
        if not in_place:
            self.store._overwrite = lambda *args: False  # type: ignore[method-assign]

    def apply(self, op: tuple[object, ...]) -> object:
        store = self.store
        kind = op[0]
        if kind == "store":
            _, mode, key, size, flags, exptime = op
            data = bytes([65 + size % 26]) * size + b"\r\n"  # type: ignore[operator]
            return store.store(mode, key, flags, exptime, data)  # type: ignore[arg-type]
        if kind == "get":
            item = store.get(op[1])  # type: ignore[arg-type]
            return None if item is None else (item.block, item.flags, item.cas)
        if kind == "reply_form":  # what a classic get's first hit does (pymcd.dispatch)
            item = store.peek(op[1])  # type: ignore[arg-type]
            if item is not None and item.head is not None and len(item.data) <= REPLY_FORM_MAX:
                item.take_reply_form(reply_header(item.key, item.head, len(item.data)))
            return None
        if kind == "delete":
            return store.delete(op[1])  # type: ignore[arg-type]
        if kind == "advance":
            self.clock.advance(op[1])  # type: ignore[arg-type]
            store.time.update()
            return None
        store.flush_all(op[1])  # type: ignore[arg-type]
        return None

    def state(self) -> object:
        store = self.store
        lrus = [  # every linked item, live or not, in LRU order
            (item.key, item.block, item.flags, item.exptime, item.time, item.cas, item.bits)
            for cls in store._classes
            for item in cls.from_head()
        ]
        index = list(store._items)
        stats = store.global_stats(), store.slab_stats(), store.item_stats()
        return lrus, index, stats, store._python_bytes


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_the_in_place_set_changes_nothing_but_speed(ops: list[tuple[object, ...]]) -> None:
    fast, general = _Run(in_place=True), _Run(in_place=False)
    for op in ops:
        assert fast.apply(op) == general.apply(op), op
    assert fast.state() == general.state()


def test_a_set_over_a_live_item_takes_the_in_place_path() -> None:
    """So the property above is not vacuous: the usual set is rewritten in place."""
    run = _Run(in_place=True)
    run.apply(("store", StoreMode.SET, b"a", 30, 0, 0))
    item = run.store.peek(b"a")
    run.apply(("store", StoreMode.SET, b"a", 30, 5, 0))
    assert run.store.peek(b"a") is item and item is not None and item.flags == 5


def test_a_set_over_an_item_in_reply_form_gives_the_new_value_its_reply_form() -> None:
    """Read before, likely read again: the new item starts in the reply form its next get
    would give it, so the hit takes get_each's usual path."""
    run = _Run(in_place=True)
    run.apply(("store", StoreMode.SET, b"a", 30, 0, 0))
    run.apply(("reply_form", b"a"))
    item = run.store.peek(b"a")
    run.apply(("store", StoreMode.SET, b"a", 31, 5, 0))
    assert run.store.peek(b"a") is item and item is not None and item.in_reply_form
    block = bytes([65 + 31 % 26]) * 31 + b"\r\n"
    assert item.data == b"VALUE a 5 31\r\n" + block
    assert (item.block, item.flags) == (block, 5)
    run.apply(("store", StoreMode.SET, b"b", 30, 0, 0))  # never read: stays plain
    run.apply(("store", StoreMode.SET, b"b", 31, 0, 0))
    assert not run.store.peek(b"b").in_reply_form  # type: ignore[union-attr]


def test_a_value_too_large_for_the_reply_form_keeps_the_plain_form() -> None:
    run = _Run(in_place=True)
    small, large = REPLY_FORM_MAX - 2 - 100, REPLY_FORM_MAX - 2 + 100
    run.apply(("store", StoreMode.SET, b"a", large, 0, 0))
    clsid = run.store.peek(b"a").clsid  # type: ignore[union-attr]
    run.apply(("store", StoreMode.SET, b"a", small, 0, 0))
    item = run.store.peek(b"a")
    assert item is not None and item.clsid == clsid  # one class: the in-place path
    run.apply(("reply_form", b"a"))
    assert item.in_reply_form
    run.apply(("store", StoreMode.SET, b"a", large, 0, 0))
    assert run.store.peek(b"a") is item and not item.in_reply_form
    assert item.block == bytes([65 + large % 26]) * large + b"\r\n"
