"""The cache: memcached 1.6.18's ``items.c`` / ``slabs.c`` / ``do_store_item`` semantics in Python.

Invariants:
- ``_items`` maps a key to its linked :class:`Item`; an item is in ``_items`` iff it is in the LRU
  of ``_classes[item.clsid]``. ``curr_items == len(_items)``; ``bytes`` is the sum of the linked
  items' ``ITEM_ntotal``.
- Memory is accounted in memcached's units: pages of ``slab_page_size`` handed to a class on
  demand while ``total_malloced + page <= limit`` (every class may take its first page beyond the
  limit, as ``do_slabs_newslab`` allows); each linked item holds one chunk of its class, or the
  header and data chunks of :meth:`SlabGeometry.chunk_classes` when it is chunked. Pages are never
  returned (memcached's slab rebalancer and memory-shrinking mover are not emulated).
- Besides memcached's accounting, the Python objects behind the items are charged
  ``PYTHON_ITEM_OVERHEAD + len(key) + len(data)`` against a second budget of
  ``max(1.9 * limit, limit + 16 MiB)``: only tiny items reach it before the slab limit, and then the
  store evicts (or reports no memory with ``-M``) earlier than memcached would, so the process
  stays within about twice its configured memory.
- Time is ``self.time.current_time`` (memcached relative seconds), read once per call; nothing
  here reads a clock or sleeps.
- Expiry is lazy as in memcached: an item with ``0 < exptime <= now`` is removed when a command
  finds it (``get_expired``) or when an allocation finds it at an LRU tail (``reclaimed``). The
  LRU crawler is not emulated. Items invalidated by ``flush_all`` are removed when the flush takes
  effect (memcached's LRU maintainer does that within milliseconds), counted as ``reclaimed``.
- Eviction takes the LRU tail of the class that needs a chunk; a run of expired/flushed items at
  the tail (at most 5, memcached's ``lru_pull_tail`` depth) is reclaimed instead, and then nothing
  live is evicted in that pass (in memcached the maintainer thread reclaims them first).
- Cas uniques come from one counter, taken exactly where memcached calls ``get_cas_id``: every
  link of a new item, an in-place incr/decr, and an immediate ``flush_all`` (with cas on).

Counters kept here (the dispatcher must not count them again):
    per class: get_hits, cmd_set, delete_hits, incr_hits, decr_hits, cas_hits, cas_badval,
    touch_hits, and the ``stats items`` family (evicted, reclaimed, outofmemory, ...);
    global: get_expired, get_flushed, total_items (summed per-class counters appear in
    :meth:`Store.global_stats` under memcached's global names, including ``cmd_set``).
Left to the dispatcher: cmd_get, get_misses, cmd_touch, touch_misses, delete_misses,
incr_misses, decr_misses, cas_misses (from ``StoreResult.NOT_FOUND`` of a cas), store_too_large,
store_no_memory, cmd_flush.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Collection
from typing import Final

from pymcd.clock import ServerTime, realtime
from pymcd.config import ITEM_UPDATE_INTERVAL, Settings
from pymcd.store.item import (
    ACTIVE,
    CFLAGS,
    CLSID_MASK,
    EXPTIME_SHIFT,
    FETCHED,
    LIFE_MASK,
    REPLY_FORM_MAX,
    STALE,
    TOKEN_SENT,
    Item,
    reply_header,
)
from pymcd.store.lru import ClassLRU
from pymcd.store.results import DeltaResult, StoreMode, StoreResult
from pymcd.store.slabs import SlabGeometry

# Python bytes behind one item beyond its key and value: the slotted Item with its GC header
# (96), two bytes-object headers (2 x 33), the stamp int (32; and the life int, another 32, for
# an item that expires), a share of the key index and allocator slack (~80): measured 280-300
# bytes per item when filled to eviction (scripts/memory_fill.py). Charged higher, because the
# key index grows in doubling steps: at 310, tiny items at -m 64 crossed one and the process
# reached 1.9 x -m; at 340 it stays 1.5 x.
PYTHON_ITEM_OVERHEAD: Final = 340
# Enum members on the per-set path, as module constants: reading a member through its class
# costs about 70 ns more than a global (measured, Python 3.11).
_SET: Final = StoreMode.SET
_REPLACE: Final = StoreMode.REPLACE
_STORED: Final = StoreResult.STORED
PYTHON_BUDGET_FLOOR: Final = 16 * 1024 * 1024
PYTHON_BUDGET_SHARE: Final = 190  # percent of -m: leaves room for the index's growth steps
LRU_PULL_TAIL_DEPTH: Final = 5  # items.c lru_pull_tail: tries = 5
ALLOC_PULL_ATTEMPTS: Final = 10  # items.c do_item_alloc_pull: for (i = 0; i < 10; i++)
CACHEDUMP_MEMLIMIT: Final = 2 * 1024 * 1024  # items.c item_cachedump: 2MB max response
# Bytes of one cachedump line besides key and numbers ("ITEM ", " [", " b; ", " s]", CRLF) and
# of the terminator memcached reserves ("END\r\n\0"); the store only needs their lengths.
CACHEDUMP_LINE_OVERHEAD: Final = 16
CACHEDUMP_TERMINATOR: Final = 6
UINT64_MASK: Final = (1 << 64) - 1
_NEVER: Final = 1 << 62

# strtoull(str, &end, 10) as safe_strtoull uses it: C-locale isspace, optional sign, digits.
_STRTOULL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)")
_C_SPACE_OR_NUL = frozenset(b" \t\n\v\f\r\0")

_SLAB_COUNTERS: Final = (
    "get_hits",
    "cmd_set",
    "delete_hits",
    "incr_hits",
    "decr_hits",
    "cas_hits",
    "cas_badval",
    "touch_hits",
)
_ITEM_COUNTERS: Final = (
    "evicted",
    "evicted_nonzero",
    "evicted_time",
    "outofmemory",
    "reclaimed",
    "expired_unfetched",
    "evicted_unfetched",
    "moves_to_cold",
    "direct_reclaims",
)


def parse_counter(data: bytes) -> int | None:
    """memcached's ``safe_strtoull`` applied to a stored value (``data`` includes its CRLF).

    Leading C whitespace and one sign are accepted, the digits must be followed by whitespace or
    NUL (so ``"12 abc"`` is 12 but ``"12abc"`` is not a number), values above 2**64-1 are
    rejected, and a ``-`` is applied modulo 2**64; a result that does not fit a signed 64-bit
    integer is refused when a ``-`` appears anywhere in the value (so ``"-0"`` is 0,
    ``"-9223372036854775809"`` is 2**63-1, and ``"18446744073709551615 -"`` is not a number).
    Returns ``None`` for anything memcached calls non-numeric.
    """
    match = _STRTOULL.match(data)
    if match is None:
        return None
    end = match.end()
    if end < len(data) and data[end] not in _C_SPACE_OR_NUL:
        return None
    value = int(match.group(2))
    if value > UINT64_MASK:
        return None  # ERANGE
    if match.group(1) == b"-":
        value = -value & UINT64_MASK
    # memcached refuses a result over 2**63-1 when strchr finds a '-' anywhere in the C string
    # (the value up to a NUL; past the value's end it would read unrelated memory)
    if value >= 1 << 63 and b"-" in data.partition(b"\0")[0]:
        return None
    return value


class SlabClass(ClassLRU):
    """One slab class: its chunk accounting, its LRU queue and its counters."""

    __slots__ = (
        "cas_badval",
        "cas_hits",
        "chunk_size",
        "clsid",
        "cmd_set",
        "decr_hits",
        "delete_hits",
        "direct_reclaims",
        "evicted",
        "evicted_nonzero",
        "evicted_time",
        "evicted_unfetched",
        "expired_unfetched",
        "get_hits",
        "incr_hits",
        "moves_to_cold",
        "outofmemory",
        "pages",
        "per_page",
        "reclaimed",
        "total_chunks",
        "touch_hits",
        "used_chunks",
    )

    def __init__(self, clsid: int, chunk_size: int, per_page: int) -> None:
        super().__init__()
        self.clsid = clsid
        self.chunk_size = chunk_size
        self.per_page = per_page
        self.pages = 0
        self.total_chunks = 0
        self.used_chunks = 0
        self.reset_counters()

    def reset_counters(self) -> None:
        """Zero every event counter (``stats reset``); chunks and the LRU are state and stay."""
        self.get_hits = self.cmd_set = self.delete_hits = self.touch_hits = 0
        self.incr_hits = self.decr_hits = self.cas_hits = self.cas_badval = 0
        self.evicted = self.evicted_nonzero = self.evicted_time = self.outofmemory = 0
        self.reclaimed = self.expired_unfetched = self.evicted_unfetched = 0
        self.moves_to_cold = self.direct_reclaims = 0


class Store:
    """memcached's item store. Every public method takes its time from ``self.time``.

    Results are enums (:mod:`pymcd.store.results`) or values, never protocol text. See the module
    comment for which counters the store keeps and which the dispatcher keeps.
    """

    def __init__(self, settings: Settings, time: ServerTime) -> None:
        self.settings = settings
        self.time = time
        self._geometry = geometry = SlabGeometry(
            factor=settings.factor,
            chunk_size=settings.chunk_size,
            slab_chunk_size_max=settings.slab_chunk_size_max,
            slab_page_size=settings.slab_page_size,
            item_size_max=settings.item_size_max,
            use_cas=settings.use_cas,
        )
        self._chunk_sizes = geometry.chunk_sizes
        self._largest_clsid = geometry.largest_clsid
        self._chunk_max = settings.slab_chunk_size_max
        self._item_size_max = settings.item_size_max
        self._page_size = settings.slab_page_size
        self._use_cas = settings.use_cas
        self._evictions = settings.evictions
        self._item_base_size = geometry.item_size(0, 0, 0)
        self.limit_maxbytes = settings.memory_limit
        self._python_budget = self._budget_for(settings.memory_limit)
        self._classes: list[SlabClass] = [
            SlabClass(clsid, geometry.chunk_sizes[clsid], geometry.per_page[clsid])
            for clsid in range(geometry.largest_clsid + 1)
        ]
        self._items: dict[bytes, Item] = {}
        self._reset_state()
        self._reset_global_counters()

    # ----------------------------------------------------------------- state and counters

    def _reset_state(self) -> None:
        self._items.clear()
        for cls in self._classes:
            cls.clear()
            cls.pages = cls.total_chunks = cls.used_chunks = 0
        self._malloced = 0
        self._curr_bytes = 0
        self._python_bytes = 0
        self._cas_id = 0
        self._oldest_live = 0
        self._oldest_cas = 0
        self._sweep_at = _NEVER

    def _reset_global_counters(self) -> None:
        self._slabs_moved = 0
        self._total_items = 0
        self._get_expired = 0
        self._get_flushed = 0

    @staticmethod
    def _budget_for(limit: int) -> int:
        return (
            max(PYTHON_BUDGET_SHARE * limit // 100, limit + PYTHON_BUDGET_FLOOR)
            if limit
            else _NEVER
        )

    # ----------------------------------------------------------------- lookups

    def get(self, key: bytes) -> Item | None:
        """``do_item_get`` with ``DO_UPDATE``, as for get/gets: the live item or ``None``.

        An expired or flushed item is unlinked and counted (``get_expired`` / ``get_flushed``).
        A hit is bumped (:meth:`bump`) and counts ``get_hits`` for its class. Misses are the
        caller's to count.
        """
        # The per-key hot path: _lookup is inlined on purpose.
        item = self._items.get(key)
        if item is None:
            return None
        now = self.time.current_time
        if now >= self._sweep_at:
            self._sweep_flushed(now)
            if key not in self._items:
                return None
        oldest_live = self._oldest_live
        if oldest_live and oldest_live <= now and self._is_flushed(item, oldest_live):
            self._unlink(item)
            self._get_flushed += 1
            return None
        life = item.life
        if life > LIFE_MASK and life >> EXPTIME_SHIFT <= now:
            self._unlink(item)
            self._get_expired += 1
            return None
        if not life & ACTIVE:  # only an item's first two reads do more than count
            self.bump(item)
        self._classes[life & CLSID_MASK].get_hits += 1
        return item

    def get_each(
        self,
        keys: list[bytes],
        out: list[bytes],
        on_hit: Callable[[Item, list[bytes]], None],
        *,
        end: bytes | None = None,
        replies: bool = True,
    ) -> int:
        """:meth:`get` for each key in order, its hits written to ``out``; returns the misses
        (the caller's to count).

        A hit in reply form (``item.head is None``; see :mod:`pymcd.store.item`) appends its
        ``data`` when ``replies``; any other hit calls ``on_hit(item, out)``. ``end``, if given,
        is appended after each key's hit or miss (consecutive single-key gets).

        The multi-get hot path: exactly :meth:`get`'s effects, with what does not change
        within one command (the time, a flush in effect, the sweep) read once, and one loop
        where a list of items would cost the caller a second.
        """
        now = self.time.current_time
        if now >= self._sweep_at:
            self._sweep_flushed(now)
        oldest_live = self._oldest_live
        if oldest_live > now:
            oldest_live = 0  # a delayed flush, not in effect yet
        # An active item that never expires has ACTIVE <= life <= LIFE_MASK: with no flush in
        # effect and replies wanted, such a hit in reply form is the usual one, taken first.
        usual_top = LIFE_MASK if replies and not oldest_live else -1
        lookup = self._items.get
        classes = self._classes
        append = out.append
        misses = 0
        for key in keys:
            item = lookup(key)
            if item is None:
                misses += 1
            elif ACTIVE <= (life := item.life) <= usual_top and item.head is None:
                classes[life & CLSID_MASK].get_hits += 1
                append(item.data)
            elif oldest_live and self._is_flushed(item, oldest_live):
                self._unlink(item)
                self._get_flushed += 1
                misses += 1
            elif life > LIFE_MASK and life >> EXPTIME_SHIFT <= now:
                self._unlink(item)
                self._get_expired += 1
                misses += 1
            else:
                if not life & ACTIVE:  # only an item's first two reads do more than count
                    self.bump(item)
                classes[life & CLSID_MASK].get_hits += 1
                if replies and item.head is None:
                    append(item.data)
                else:
                    on_hit(item, out)
            if end is not None:
                append(end)
        return misses

    def touch(self, key: bytes, exptime: int) -> Item | None:
        """touch / gat / gats: set a new expiry on a live item and return it, else ``None``.

        ``exptime`` is the protocol value (negative = already expired, above 30 days = unix
        time). Like a get the item is bumped (:meth:`bump`), but the hit is counted as
        ``touch_hits`` of its class, not ``get_hits``. The cas unique does not change.
        """
        now = self.time.current_time
        new_exptime = self.time.realtime(exptime)
        item = self._lookup(key, now)
        if item is None:
            return None
        self.bump(item)
        item.exptime = new_exptime
        self._classes[item.clsid].touch_hits += 1
        return item

    def peek(self, key: bytes) -> Item | None:
        """The live item for ``key`` without any side effect (no bump, no counter, no unlink)."""
        item = self._items.get(key)
        if item is None or not self._is_live(item, self.time.current_time):
            return None
        return item

    def lookup(self, key: bytes) -> Item | None:
        """``do_item_get`` with ``DONT_UPDATE``: the live item, not bumped and not counted as a
        hit (expired or flushed items are unlinked and counted, as by any lookup)."""
        return self._lookup(key, self.time.current_time)

    def bump(self, item: Item) -> None:
        """``do_item_bump`` of the segmented LRU: the first read marks an item fetched, the
        second makes it active, moves its time to now and bumps it to the LRU head; later reads
        change nothing until an eviction pass rescues it (and clears ``ACTIVE``)."""
        life = item.life
        if life & ACTIVE:
            return
        if life & FETCHED:
            item.life = life | ACTIVE
            item.time = self.time.current_time
            self._classes[life & CLSID_MASK].bump(item)
        else:
            item.life = life | FETCHED

    def count_hit(self, item: Item, touched: bool = False) -> None:
        """Count a meta-get hit: ``touch_hits`` when it set a TTL, else ``get_hits``."""
        cls = self._classes[item.clsid]
        if touched:
            cls.touch_hits += 1
        else:
            cls.get_hits += 1

    def set_exptime(self, item: Item, exptime: int) -> None:
        """Give an item a new expiry (the protocol value, converted like any exptime)."""
        item.exptime = self.time.realtime(exptime)

    def create(self, key: bytes, data: bytes, exptime: int = 0) -> Item | None:
        """Allocate and link a fresh item with flags 0 (meta autovivify), or ``None`` when the
        allocation fails. ``data`` ends in CRLF. Unlike a set, no ``cmd_set`` is counted."""
        now = self.time.current_time
        nkey, nbytes = len(key), len(data)
        size = self._ntotal(nkey, 0, nbytes)
        if size > self._item_size_max:
            return None
        clsid = self._geometry.clsid(size)
        if not self._allocate(clsid, size, nkey, 0, nbytes, now):
            return None
        old = self._lookup(key, now)
        if old is not None:  # the allocation did not evict it: replace, as do_item_link would
            return self._replace(old, data, 0, self.time.realtime(exptime), clsid, size, now)
        return self._link(key, data, 0, self.time.realtime(exptime), clsid, size, now)

    def remove(self, item: Item) -> None:
        """Unlink a live item returned by :meth:`lookup`, counting ``delete_hits``."""
        self._classes[item.clsid].delete_hits += 1
        self._unlink(item)

    def invalidate(self, item: Item, exptime: int | None) -> None:
        """Mark an item stale instead of deleting it (meta delete ``I``): a new cas unique, the
        recache token released, and a new expiry when one is given."""
        if exptime is not None:
            item.exptime = self.time.realtime(exptime)
        item.bits = (item.bits | STALE) & ~TOKEN_SENT
        item.cas = self._next_cas()

    def linked(self, key: bytes) -> Item | None:
        """The item the index holds for ``key``, live or not, without any side effect."""
        return self._items.get(key)

    def _next_cas(self) -> int:
        if not self._use_cas:
            return 0
        self._cas_id += 1
        return self._cas_id

    def keys(self) -> list[bytes]:
        """Keys of the live items, most recently used first within each class."""
        now = self.time.current_time
        return [key for key, item in self._items.items() if self._is_live(item, now)]

    def __len__(self) -> int:
        """Number of live items (O(n)); ``curr_items`` in the stats also counts the not yet
        removed expired ones, as memcached does."""
        now = self.time.current_time
        return sum(1 for item in self._items.values() if self._is_live(item, now))

    def _is_live(self, item: Item, now: int) -> bool:
        life = item.life
        if life > LIFE_MASK and life >> EXPTIME_SHIFT <= now:
            return False
        oldest_live = self._oldest_live
        return not (oldest_live and oldest_live <= now and self._is_flushed(item, oldest_live))

    def _is_flushed(self, item: Item, oldest_live: int) -> bool:
        """``item_is_flushed`` once ``0 < oldest_live <= now`` has been checked by the caller."""
        if item.time <= oldest_live:
            return True
        oldest_cas = self._oldest_cas
        return bool(oldest_cas and item.cas and item.cas < oldest_cas)

    def _lookup(self, key: bytes, now: int) -> Item | None:
        """``do_item_get`` with ``DONT_UPDATE``: lazy expiry and flush with their counters."""
        if now >= self._sweep_at:
            self._sweep_flushed(now)
        item = self._items.get(key)
        if item is None:
            return None
        oldest_live = self._oldest_live
        if oldest_live and oldest_live <= now and self._is_flushed(item, oldest_live):
            self._unlink(item)
            self._get_flushed += 1
            return None
        life = item.life
        if life > LIFE_MASK and life >> EXPTIME_SHIFT <= now:
            self._unlink(item)
            self._get_expired += 1
            return None
        return item

    # ----------------------------------------------------------------- mutations

    def store(
        self,
        mode: StoreMode,
        key: bytes,
        flags: int,
        exptime: int,
        data: bytes,
        cas: int = 0,
        *,
        bits: int = 0,
        invalidate: bool = False,
    ) -> StoreResult:
        """set/add/replace/append/prepend/cas, as ``process_update_command`` + ``do_store_item``.

        ``data`` includes the trailing CRLF; ``exptime`` is the protocol value; ``cas`` is the
        unique a cas command compares (0 otherwise). Order of events, as in memcached: the new
        item is allocated first (which may evict, even the key's own old item), then the old
        item is looked up (expired/flushed ones count and vanish), then the mode decides.

        - TOO_LARGE: the item (``ITEM_ntotal``) exceeds ``item_size_max``. For ``set`` only, the
          old item is removed ("avoid stale data persisting in cache because we failed alloc").
        - NO_MEMORY: no chunk could be found or freed (``-M``, or nothing evictable); again the
          old item is removed for ``set`` only.
        - ``cmd_set`` of the new item's class is counted once allocation succeeded, whatever the
          outcome after that (so not for TOO_LARGE / NO_MEMORY).
        - add on an existing item: NOT_STORED, and the old item is bumped like a hit.
        - cas: STORED iff ``cas`` equals the item's non-zero unique (``cas_hits`` of the old
          item's class), else EXISTS (``cas_badval``); NOT_FOUND without an item (the caller
          counts ``cas_misses``). A cas of 0 never matches.
        - append/prepend: NOT_STORED without an item; otherwise a new item with the old flags and
          exptime (the command's are ignored) and a new cas unique. If the joined value is too
          large or cannot be allocated the answer is NOT_STORED and the old item stays.
        - ``bits`` are given to the new item (meta set: ``KEY_BINARY``), not to a joined one.
        - ``invalidate`` (meta set with ``I``): a cas lower than the item's still stores, keeping
          the old expiry and recache token and marking the new item stale.
        """
        now = self.time.current_time
        nkey = len(key)
        nbytes = len(data)
        size = self._item_base_size + nkey + nbytes + (4 if flags else 0)
        if size > self._item_size_max or nbytes < 2:
            if mode is StoreMode.SET:
                self._drop_stale(key, now)
            return StoreResult.TOO_LARGE
        clsid = bisect_left(self._chunk_sizes, size, 1)
        if clsid > self._largest_clsid:
            clsid = self._largest_clsid
        rel_exptime = self.time.realtime(exptime) if exptime else 0
        if (mode is _SET or mode is _REPLACE) and not bits:
            old = self._items.get(key)
            if old is not None and self._overwrite(old, data, flags, rel_exptime, clsid, size, now):
                return _STORED
        if not self._allocate(clsid, size, nkey, flags, nbytes, now):
            if mode is StoreMode.SET:
                self._drop_stale(key, now)
            return StoreResult.NO_MEMORY
        self._classes[clsid].cmd_set += 1

        old = self._lookup(key, now)
        if old is None:
            if mode is StoreMode.SET or mode is StoreMode.ADD:
                self._link(key, data, flags, rel_exptime, clsid, size, now, bits)
                return StoreResult.STORED
            self._release(clsid, size, nkey, flags, nbytes)
            return StoreResult.NOT_FOUND if mode is StoreMode.CAS else StoreResult.NOT_STORED

        if mode is StoreMode.SET or mode is StoreMode.REPLACE:
            self._replace(old, data, flags, rel_exptime, clsid, size, now, bits)
            return StoreResult.STORED
        if mode is StoreMode.CAS:
            if cas and cas == old.cas:
                self._classes[old.clsid].cas_hits += 1
                self._replace(old, data, flags, rel_exptime, clsid, size, now, bits)
                return StoreResult.STORED
            if invalidate and cas and cas < old.cas:
                self._classes[old.clsid].cas_hits += 1
                bits |= STALE | (old.bits & TOKEN_SENT)
                self._replace(old, data, flags, old.exptime, clsid, size, now, bits)
                return StoreResult.STORED
            self._classes[old.clsid].cas_badval += 1
            self._release(clsid, size, nkey, flags, nbytes)
            return StoreResult.EXISTS
        if mode is StoreMode.ADD:
            self._update(old, now)
            self._release(clsid, size, nkey, flags, nbytes)
            return StoreResult.NOT_STORED
        # APPEND / PREPEND: the command's item was only a buffer for the new bytes.
        if cas and cas != old.cas:
            self._release(clsid, size, nkey, flags, nbytes)
            return StoreResult.EXISTS
        block = old.block
        joined = block[:-2] + data if mode is StoreMode.APPEND else data[:-2] + block
        result = self._store_joined(old, joined, now)
        self._release(clsid, size, nkey, flags, nbytes)
        return result

    def _store_joined(self, old: Item, joined: bytes, now: int) -> StoreResult:
        flags = old.flags
        nkey = len(old.key)
        size = self._item_base_size + nkey + len(joined) + (4 if flags else 0)
        if size > self._item_size_max:
            return StoreResult.NOT_STORED
        clsid = self._geometry.clsid(size)
        if not self._allocate(clsid, size, nkey, flags, len(joined), now):
            return StoreResult.NOT_STORED
        self._replace(old, joined, flags, old.exptime, clsid, size, now)
        return StoreResult.STORED

    def _drop_stale(self, key: bytes, now: int) -> None:
        item = self._lookup(key, now)
        if item is not None:
            self._unlink(item)

    def item_size_ok(self, key: bytes, flags: int, nbytes: int) -> bool:
        """Whether an item of this key, flags and data length (with CRLF) fits under -I."""
        return self._ntotal(len(key), flags, nbytes) <= self._item_size_max and nbytes >= 2

    def count_set(self, key: bytes, flags: int, nbytes: int) -> bool:
        """Allocate and free the item of a store that never reached the store (bad data chunk).

        memcached allocates the item (a class's first page, maybe an eviction), counts the
        set, and only then finds the block malformed and frees the item: so ``stats slabs``
        shows the page. False when the allocation failed (memcached answers out of memory).
        """
        now = self.time.current_time
        nkey = len(key)
        size = self._ntotal(nkey, flags, nbytes)
        clsid = min(bisect_left(self._chunk_sizes, size, 1), self._largest_clsid)
        if not self._allocate(clsid, size, nkey, flags, nbytes, now):
            return False
        self._release(clsid, size, nkey, flags, nbytes)
        self._classes[clsid].cmd_set += 1
        return True

    def discard(self, key: bytes) -> None:
        """Remove the key's live item, if any, without counting anything (failed set)."""
        self._drop_stale(key, self.time.current_time)

    @property
    def oldest_live(self) -> int:
        """memcached's ``settings.oldest_live``: the relative time of the last flush_all."""
        return self._oldest_live

    def delete(self, key: bytes) -> bool:
        """Remove a live item; counts ``delete_hits`` of its class. False when there is none."""
        item = self._lookup(key, self.time.current_time)
        if item is None:
            return False
        self._classes[item.clsid].delete_hits += 1
        self._unlink(item)
        return True

    def incr_decr(
        self, key: bytes, incr: bool, delta: int, pinned: Collection[Item] = ()
    ) -> int | DeltaResult:
        """incr/decr: the new value, or why not (see :meth:`apply_delta`)."""
        result = self.apply_delta(key, incr, delta, 0, pinned)
        return result if isinstance(result, DeltaResult) else result[0]

    def apply_delta(
        self, key: bytes, incr: bool, delta: int, cas: int = 0, pinned: Collection[Item] = ()
    ) -> tuple[int, Item] | DeltaResult:
        """``do_add_delta``: the new value and memcached's ``it``, or why not.

        The stored value is parsed by :func:`parse_counter` (empty and chunked values are
        NON_NUMERIC). A non-zero ``cas`` must equal the item's (else CAS_MISMATCH). incr wraps
        modulo 2**64, decr stops at 0. ``incr_hits``/``decr_hits`` of the item's class count
        every parsed value. When the new number's digits plus CRLF fit the old value's length
        it is written in place, left-aligned and space-padded (``"100"`` decr 1 is ``"99 "``),
        with a new cas unique and the same item, which is returned; otherwise a new item with
        the same flags and exptime replaces it (NO_MEMORY if that fails) and, as in memcached,
        the returned item is the old, now unlinked one carrying the new cas unique. An item in
        ``pinned`` (held by a reply not yet written) is never rewritten in place.
        """
        now = self.time.current_time
        item = self._lookup(key, now)
        if item is None:
            return DeltaResult.NOT_FOUND
        data = item.block
        nbytes = len(data)
        nkey = len(item.key)
        flags = item.flags
        if nbytes <= 2 or self._item_base_size + nkey + nbytes + (4 if flags else 0) > (
            self._chunk_max
        ):
            return DeltaResult.NON_NUMERIC
        if cas and item.cas != cas:
            return DeltaResult.CAS_MISMATCH
        value = parse_counter(data)
        if value is None:
            return DeltaResult.NON_NUMERIC
        cls = self._classes[item.clsid]
        if incr:
            value = (value + delta) & UINT64_MASK
            cls.incr_hits += 1
        else:
            value = value - delta if delta <= value else 0
            cls.decr_hits += 1
        digits = b"%d" % value
        if len(digits) + 2 <= nbytes and not any(held is item for held in pinned):
            item.set_block(digits + b" " * (nbytes - len(digits) - 2) + b"\r\n")
            item.cas = self._next_cas()
            self._update(item, now)
            return value, item
        new_data = digits + b"\r\n"
        size = self._item_base_size + nkey + len(new_data) + (4 if flags else 0)
        clsid = self._geometry.clsid(size)
        if not self._allocate(clsid, size, nkey, flags, len(new_data), now):
            return DeltaResult.NO_MEMORY
        new_item = self._replace(item, new_data, flags, item.exptime, clsid, size, now)
        item.cas = new_item.cas
        return value, item

    def flush_all(self, delay: int) -> None:
        """``process_flush_all_command``: invalidate every item linked up to a moment.

        ``delay <= 0`` means now; a positive delay goes through memcached's ``realtime`` (so
        above 30 days it is a unix time). With cas on, ``oldest_live`` is one second before that
        moment and, for an immediate flush, ``oldest_cas`` takes a fresh cas unique so items
        linked earlier in the current second are flushed too; without cas, items linked during
        the flush's own second are flushed as well (memcached's behaviour). Items stored after a
        delayed flush but before its moment are flushed when it arrives.
        """
        now = self.time.current_time
        new_oldest = realtime(delay, now, self.time.process_started) if delay > 0 else now
        if self._use_cas:
            oldest_live = new_oldest - 1
            if oldest_live <= now:
                self._oldest_cas = self._next_cas()
        else:
            oldest_live = new_oldest
        self._oldest_live = oldest_live
        self._sweep_at = oldest_live if oldest_live > 0 else _NEVER
        if now >= self._sweep_at:
            self._sweep_flushed(now)

    def _sweep_flushed(self, now: int) -> None:
        """Remove every flushed item, as memcached's LRU maintainer does right after a flush."""
        self._sweep_at = _NEVER
        oldest_live = self._oldest_live
        if not oldest_live or oldest_live > now:
            return
        for item in [it for it in self._items.values() if self._is_flushed(it, oldest_live)]:
            self._reclaim(item)

    def set_memory_limit(self, limit_bytes: int) -> bool:
        """``cache_memlimit`` (the caller checks memcached's 8 MB minimum and converts MB).

        Always accepted, as ``slabs_adjust_mem_limit`` without preallocation: later page
        allocations obey the new limit. Pages already handed out stay (memcached's background
        mover that gives pages back is not emulated). ``limit_maxbytes`` follows.
        """
        self.limit_maxbytes = limit_bytes
        self._python_budget = self._budget_for(limit_bytes)
        return True

    def flush_everything(self) -> None:
        """Forget all items, pages, the cas counter and any pending flush, as after a restart.

        Counters are left alone; call :meth:`reset_stats` as well for a pristine store.
        """
        self._reset_state()

    def reset_stats(self) -> None:
        """``stats reset``: zero the event counters memcached zeroes (per-class hit counters, the
        ``stats items`` counters, get_expired, get_flushed, total_items). curr_items, bytes,
        pages and total_malloced are state, not counters, and stay."""
        for cls in self._classes:
            cls.reset_counters()
        self._reset_global_counters()

    # ----------------------------------------------------------------- linking

    def _link(
        self,
        key: bytes,
        data: bytes,
        flags: int,
        exptime: int,
        clsid: int,
        size: int,
        now: int,
        bits: int = 0,
    ) -> Item:
        """``do_item_link``: a new cas unique, ``time = now``, into the index and the LRU head."""
        item = Item(key, data, flags, exptime, now, self._next_cas(), clsid, bits)
        self._items[key] = item
        self._enlist(item, self._classes[clsid], size)
        return item

    def _enlist(self, item: Item, cls: SlabClass, size: int) -> None:
        """The LRU and byte counts of a link (:meth:`_link`, :meth:`_overwrite`)."""
        cls.link(item, size)
        cls.moves_to_cold += 1
        self._curr_bytes += size
        self._total_items += 1
        self._python_bytes += PYTHON_ITEM_OVERHEAD + len(item.key) + len(item.data)

    def _replace(
        self,
        old: Item,
        data: bytes,
        flags: int,
        exptime: int,
        clsid: int,
        size: int,
        now: int,
        bits: int = 0,
    ) -> Item:
        """``item_replace``: unlink ``old`` if the allocation did not already evict it."""
        key = old.key
        if self._items.get(key) is old:
            # Out of the LRU only: _link overwrites its index entry, which spares the index a
            # deleted slot (they lengthen every lookup's probe until the next resize).
            self._release_linked(old)
        return self._link(key, data, flags, exptime, clsid, size, now, bits)

    def _overwrite(
        self, old: Item, data: bytes, flags: int, exptime: int, clsid: int, size: int, now: int
    ) -> bool:
        """The usual set or replace, in place: what the general path does (allocate, look up,
        :meth:`_replace`) when ``old`` is live and the new item's class has a free chunk, so the
        allocation evicts nothing and memcached's allocate-first order changes nothing. ``old``
        takes the new item's fields; saving an object and the index write makes a set faster
        by about a third (measured). False, with nothing done, in any other case."""
        cls = self._classes[clsid]
        life = old.life
        oldest_live = self._oldest_live
        if (
            cls.used_chunks >= cls.total_chunks
            or size > self._chunk_max
            or now >= self._sweep_at
            or (life > LIFE_MASK and life >> EXPTIME_SHIFT <= now)
            or (oldest_live and oldest_live <= now and self._is_flushed(old, oldest_live))
            or self._python_bytes + PYTHON_ITEM_OVERHEAD + len(old.key) + len(data)
            > self._python_budget
        ):
            return False
        cls.cmd_set += 1
        # A value read before (in reply form) is likely read again: the new one takes the
        # reply form now, while its block is fresh in the caches, not on its next get, outside
        # get_each's usual hit (-3.5 % per pipelined 4 KB batch, in one process).
        reply_form = old.head is None and len(data) <= REPLY_FORM_MAX
        if life & CLSID_MASK == clsid:
            # The usual overwrite, a value of the same class: the new item takes the old one's
            # chunk and LRU place, so the counts change by the size difference and a bump to
            # the head does unlink + link's work.
            old_nbytes, old_size = self._linked_sizes(old)
            if old_size <= self._chunk_max:  # not a chunked item of the largest class
                grown = size - old_size
                cls.mem_requested += grown
                self._curr_bytes += grown
                self._python_bytes += len(data) - old_nbytes
                cls.bump(old)
                old.renew(data, flags, exptime, now, self._next_cas(), clsid)
                if reply_form:
                    old.take_reply_form(reply_header(old.key, flags, len(data)))
                cls.moves_to_cold += 1
                self._total_items += 1
                return True
        cls.used_chunks += 1
        self._release_linked(old)
        old.renew(data, flags, exptime, now, self._next_cas(), clsid)
        self._enlist(old, cls, size)  # counts the plain form's bytes
        if reply_form:
            old.take_reply_form(reply_header(old.key, flags, len(data)))
        return True

    def _unlink(self, item: Item) -> None:
        """``do_item_unlink`` + free: out of the index and LRU, its chunks back to their class."""
        del self._items[item.key]
        self._release_linked(item)

    def _release_linked(self, item: Item) -> None:
        """:meth:`_unlink` but for the index: out of the LRU, its chunks back to their class."""
        nbytes, size = self._linked_sizes(item)
        cls = self._classes[item.life & CLSID_MASK]
        cls.unlink(item, size)
        self._curr_bytes -= size
        self._python_bytes -= PYTHON_ITEM_OVERHEAD + len(item.key) + nbytes
        if size <= self._chunk_max:
            cls.used_chunks -= 1
        else:
            classes = self._classes
            flags = item.stamp & CFLAGS  # non-zero flags are all the sizes need to know
            for chunk_clsid in self._geometry.chunk_classes(len(item.key), flags, nbytes):
                classes[chunk_clsid].used_chunks -= 1

    def _linked_sizes(self, item: Item) -> tuple[int, int]:
        """A linked item's ``value_length + 2`` and ``ITEM_ntotal``, as it was linked with them
        (:meth:`_release_linked`, :meth:`_overwrite`: every set that replaces an item)."""
        data = item.data
        nbytes = len(data) if item.head is not None else len(data) - data.index(b"\n") - 1
        flags = item.stamp & CFLAGS  # non-zero flags are all the sizes need to know
        return nbytes, self._item_base_size + len(item.key) + nbytes + (4 if flags else 0)

    def _update(self, item: Item, now: int) -> None:
        """``do_item_update``: bump to the LRU head at most once per ITEM_UPDATE_INTERVAL."""
        if item.time < now - ITEM_UPDATE_INTERVAL:
            item.time = now
            self._classes[item.clsid].bump(item)

    # ----------------------------------------------------------------- memory

    def _allocate(
        self, clsid: int, size: int, nkey: int, flags: int, nbytes: int, now: int
    ) -> bool:
        """Reserve the chunk(s) of an item of class ``clsid`` (``do_item_alloc``).

        On failure nothing stays reserved and ``outofmemory`` of ``clsid`` is counted.
        """
        cls = self._classes[clsid]
        if (
            self._python_bytes + PYTHON_ITEM_OVERHEAD + nkey + nbytes > self._python_budget
            and not self._make_python_room(cls, PYTHON_ITEM_OVERHEAD + nkey + nbytes, now)
        ):
            cls.outofmemory += 1
            return False
        if size <= self._chunk_max:
            if cls.used_chunks < cls.total_chunks:  # the common case: a free chunk
                cls.used_chunks += 1
                return True
            if self._alloc_chunk(cls, now):
                return True
            cls.outofmemory += 1
            return False
        classes = self._classes
        taken: list[SlabClass] = []
        for chunk_clsid in self._geometry.chunk_classes(nkey, flags, nbytes):
            chunk_cls = classes[chunk_clsid]
            if not self._alloc_chunk(chunk_cls, now):
                for held in taken:
                    held.used_chunks -= 1
                cls.outofmemory += 1
                return False
            taken.append(chunk_cls)
        return True

    def _release(self, clsid: int, size: int, nkey: int, flags: int, nbytes: int) -> None:
        """Give back what :meth:`_allocate` reserved for an item that was never linked."""
        if size <= self._chunk_max:
            self._classes[clsid].used_chunks -= 1
            return
        classes = self._classes
        for chunk_clsid in self._geometry.chunk_classes(nkey, flags, nbytes):
            classes[chunk_clsid].used_chunks -= 1

    def _alloc_chunk(self, cls: SlabClass, now: int) -> bool:
        """``do_item_alloc_pull``: a free chunk, else a new page, else pull the LRU tail."""
        for attempt in range(ALLOC_PULL_ATTEMPTS):
            if cls.used_chunks < cls.total_chunks or self._new_page(cls):
                cls.used_chunks += 1
                cls.direct_reclaims += attempt
                return True
            if self._pull_tail(cls, now) <= 0:
                break
        cls.direct_reclaims += ALLOC_PULL_ATTEMPTS
        return False

    def _new_page(self, cls: SlabClass) -> bool:
        """``do_slabs_newslab``: the first page of a class is granted even beyond the limit."""
        page = self._page_size
        limit = self.limit_maxbytes
        if limit and self._malloced + page > limit and cls.pages > 0:
            return False
        cls.pages += 1
        cls.total_chunks += cls.per_page
        self._malloced += page
        return True

    def _pull_tail(self, cls: SlabClass, now: int) -> int:
        """``lru_pull_tail(COLD_LRU, LRU_PULL_EVICT)``: reclaim or evict; returns items removed.

        Walks up from the tail over at most LRU_PULL_TAIL_DEPTH expired/flushed items,
        reclaiming them (``exptime < now`` here, where a lookup uses ``<=``: memcached's
        asymmetry). If none was found the tail item is evicted, unless evictions are off.
        """
        removed = 0
        item = cls.tail
        tries = LRU_PULL_TAIL_DEPTH
        oldest_live = self._oldest_live
        flush_due = bool(oldest_live and oldest_live <= now)
        while tries and item is not None:
            previous = item.prev
            exptime = item.exptime
            if (exptime and exptime < now) or (flush_due and self._is_flushed(item, oldest_live)):
                self._reclaim(item)
                removed += 1
                item = previous
                tries -= 1
                continue
            if removed or not self._evictions:
                break
            if item.life & ACTIVE and previous is not None and tries > 1:
                # memcached rescues active items from the tail (lru_pull_tail) and clears
                # ACTIVE, so a key that keeps being read stays cached; the last try evicts.
                item.life &= ~ACTIVE
                cls.bump(item)
                item = previous
                tries -= 1
                continue
            cls.evicted += 1
            cls.evicted_time = now - item.time
            if exptime:
                cls.evicted_nonzero += 1
            if not item.fetched:
                cls.evicted_unfetched += 1
            self._unlink(item)
            removed += 1
            break
        return removed

    def _make_python_room(self, cls: SlabClass, cost: int, now: int) -> bool:
        """Free Python memory for one more item: pull the tail of ``cls``, or of the class with
        the most items when ``cls`` has nothing to give. False when nothing can go."""
        while self._python_bytes + cost > self._python_budget:
            if self._pull_tail(cls, now) > 0:
                continue
            fullest = max(self._classes, key=lambda c: c.count)
            if fullest is cls or self._pull_tail(fullest, now) <= 0:
                return False
        return True

    # ----------------------------------------------------------------- introspection

    def slab_classes(self) -> list[tuple[int, int, int]]:
        """(class id, chunk size, chunks per page) for every class, as memcached -vv lists."""
        return [(c.clsid, c.chunk_size, c.per_page) for c in self._classes[1:]]

    @property
    def largest_clsid(self) -> int:
        return self._largest_clsid

    def live_items(self, clsid: int) -> list[Item]:
        """The live items of one class, LRU tail (oldest) first, for ``lru_crawler metadump``."""
        if not 0 < clsid <= self._largest_clsid:
            return []
        now = self.time.current_time
        items = [item for item in self._classes[clsid].from_head() if self._is_live(item, now)]
        items.reverse()
        return items

    def item_total_size(self, item: Item) -> int:
        """memcached's ``ITEM_ntotal``: the bytes the item is charged (``size=`` in dumps)."""
        return self._ntotal(len(item.key), item.stamp & CFLAGS, item.value_length + 2)

    def _ntotal(self, nkey: int, flags: int, nbytes: int) -> int:
        """``ITEM_ntotal`` from its parts (``store`` and ``_release_linked`` inline it: hot
        paths)."""
        return self._item_base_size + nkey + nbytes + (4 if flags else 0)

    def crawl(self, clsids: list[int]) -> None:
        """``lru_crawler crawl``: reclaim the expired and flushed items of these classes now."""
        now = self.time.current_time
        for clsid in clsids:
            if not 0 < clsid <= self._largest_clsid:
                continue
            for item in list(self._classes[clsid].from_head()):
                if not self._is_live(item, now):
                    self._reclaim(item)

    def _reclaim(self, item: Item) -> None:
        """Remove an expired or flushed item, counting ``reclaimed`` / ``expired_unfetched``."""
        cls = self._classes[item.clsid]
        cls.reclaimed += 1
        if not item.fetched:
            cls.expired_unfetched += 1
        self._unlink(item)

    def reassign_page(self, src: int, dst: int) -> str:
        """``slabs reassign``: move one page from class ``src`` to ``dst`` (0 = global pool).

        Returns memcached's outcome name: ``SAME``, ``BADCLASS``, ``NOSPARE`` or ``OK``. The
        move is immediate: the oldest items of ``src`` are evicted until a page is free
        (memcached's background mover evicts what lives on the page it picks).
        """
        if src == dst:
            return "SAME"
        largest = self._largest_clsid
        if not (0 <= src <= largest and 0 <= dst <= largest):
            return "BADCLASS"
        if src == 0 or self._classes[src].pages < 2:
            return "NOSPARE"
        cls = self._classes[src]
        while cls.total_chunks - cls.used_chunks < cls.per_page and cls.tail is not None:
            tail = cls.tail
            cls.evicted += 1
            self._unlink(tail)
        cls.pages -= 1
        cls.total_chunks -= cls.per_page
        self._slabs_moved += 1
        if dst == 0:
            self._malloced -= self._page_size  # back to the pool: any class may take it
        else:
            target = self._classes[dst]
            target.pages += 1
            target.total_chunks += target.per_page
        return "OK"

    def cachedump(self, clsid: int, limit: int) -> list[tuple[bytes, int, int]]:
        """``stats cachedump``: (key, value length, exptime as unix time or 0 for never).

        From the LRU head (most recent first), ``limit`` items (0 = all), stopping before the
        reply would exceed memcached's 2 MB buffer. Expired or flushed items not yet removed are
        listed, as in memcached. An unknown or empty class gives ``[]``.
        """
        if not 0 < clsid <= self._largest_clsid:
            return []
        process_started = self.time.process_started
        dumped: list[tuple[bytes, int, int]] = []
        used = 0
        for item in self._classes[clsid].from_head():
            if limit and len(dumped) >= limit:
                break
            length = item.value_length
            exptime = item.exptime + process_started if item.exptime else 0
            line = CACHEDUMP_LINE_OVERHEAD + len(item.key) + len(str(length)) + len(str(exptime))
            if used + line + CACHEDUMP_TERMINATOR > CACHEDUMP_MEMLIMIT:
                break
            used += line
            dumped.append((item.key, length, exptime))
        return dumped

    def global_stats(self) -> dict[str, int]:
        """The store's share of ``stats``, in memcached 1.6.18's order within each group.

        First the thread-stats names (the dispatcher interleaves its own misses:
        ``get_hits get_misses get_expired get_flushed delete_misses delete_hits incr_misses
        incr_hits decr_misses decr_hits cas_misses cas_hits cas_badval touch_hits touch_misses``,
        with ``cmd_set`` after ``cmd_get``), then the slab-mover zeros, then the block that ends
        memcached's ``stats`` (``bytes`` ... ``lru_bumps_dropped``), then ``limit_maxbytes`` and
        ``total_malloced`` (the latter is not in memcached's ``stats``).
        """
        sums = dict.fromkeys(_SLAB_COUNTERS + _ITEM_COUNTERS, 0)
        for cls in self._classes:
            for name in _SLAB_COUNTERS:
                sums[name] += getattr(cls, name)
            for name in _ITEM_COUNTERS:
                sums[name] += getattr(cls, name)
        return {
            "cmd_set": sums["cmd_set"],
            "get_hits": sums["get_hits"],
            "get_expired": self._get_expired,
            "get_flushed": self._get_flushed,
            "delete_hits": sums["delete_hits"],
            "incr_hits": sums["incr_hits"],
            "decr_hits": sums["decr_hits"],
            "cas_hits": sums["cas_hits"],
            "cas_badval": sums["cas_badval"],
            "touch_hits": sums["touch_hits"],
            "slab_reassign_rescues": 0,
            "slab_reassign_chunk_rescues": 0,
            "slab_reassign_evictions_nomem": 0,
            "slab_reassign_inline_reclaim": 0,
            "slab_reassign_busy_items": 0,
            "slab_reassign_busy_deletes": 0,
            "slab_reassign_running": 0,
            "slabs_moved": self._slabs_moved,
            "bytes": self._curr_bytes,
            "curr_items": len(self._items),
            "total_items": self._total_items,
            "slab_global_page_pool": 0,
            "expired_unfetched": sums["expired_unfetched"],
            "evicted_unfetched": sums["evicted_unfetched"],
            "evicted_active": 0,
            "evictions": sums["evicted"],
            "reclaimed": sums["reclaimed"],
            "crawler_reclaimed": 0,
            "crawler_items_checked": 0,
            "lrutail_reflocked": 0,
            "moves_to_cold": sums["moves_to_cold"],
            "moves_to_warm": 0,
            "moves_within_lru": 0,
            "direct_reclaims": sums["direct_reclaims"],
            "lru_bumps_dropped": 0,
            "limit_maxbytes": self.limit_maxbytes,
            "total_malloced": self._malloced,
        }

    def slab_stats(self) -> list[tuple[str, int]]:
        """``stats slabs`` lines as (name, value), for classes holding at least one page."""
        lines: list[tuple[str, int]] = []
        active = 0
        for cls in self._classes[1:]:
            if not cls.pages:
                continue
            active += 1
            n = cls.clsid
            lines += [
                (f"{n}:chunk_size", cls.chunk_size),
                (f"{n}:chunks_per_page", cls.per_page),
                (f"{n}:total_pages", cls.pages),
                (f"{n}:total_chunks", cls.total_chunks),
                (f"{n}:used_chunks", cls.used_chunks),
                (f"{n}:free_chunks", cls.total_chunks - cls.used_chunks),
                (f"{n}:free_chunks_end", 0),
                *((f"{n}:{name}", getattr(cls, name)) for name in _SLAB_COUNTERS),
            ]
        lines.append(("active_slabs", active))
        lines.append(("total_malloced", self._malloced))
        return lines

    def item_stats(self) -> list[tuple[str, int]]:
        """``stats items`` lines as (name, value), for classes with linked items.

        Every item counts as COLD (see :mod:`pymcd.store.lru`): ``number_cold == number``,
        ``age`` is the COLD tail's, hot/warm/temp figures are 0 and ``hits_to_cold`` are the
        class's get hits.
        """
        now = self.time.current_time
        lines: list[tuple[str, int]] = []
        for cls in self._classes[1:]:
            if not cls.count:
                continue
            tail = cls.tail
            age = now - tail.time if tail is not None else 0
            prefix = f"items:{cls.clsid}:"
            lines += [
                (prefix + name, value)
                for name, value in (
                    ("number", cls.count),
                    ("number_hot", 0),
                    ("number_warm", 0),
                    ("number_cold", cls.count),
                    ("age_hot", 0),
                    ("age_warm", 0),
                    ("age", age),
                    ("mem_requested", cls.mem_requested),
                    ("evicted", cls.evicted),
                    ("evicted_nonzero", cls.evicted_nonzero),
                    ("evicted_time", cls.evicted_time),
                    ("outofmemory", cls.outofmemory),
                    ("tailrepairs", 0),
                    ("reclaimed", cls.reclaimed),
                    ("expired_unfetched", cls.expired_unfetched),
                    ("evicted_unfetched", cls.evicted_unfetched),
                    ("evicted_active", 0),
                    ("crawler_reclaimed", 0),
                    ("crawler_items_checked", 0),
                    ("lrutail_reflocked", 0),
                    ("moves_to_cold", cls.moves_to_cold),
                    ("moves_to_warm", 0),
                    ("moves_within_lru", 0),
                    ("direct_reclaims", cls.direct_reclaims),
                    ("hits_to_hot", 0),
                    ("hits_to_warm", 0),
                    ("hits_to_cold", cls.get_hits),
                    ("hits_to_temp", 0),
                )
            ]
        return lines
