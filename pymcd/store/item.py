"""One cached item, kept as small as Python allows (memory per item is the store's budget).

Invariants:
- ``data`` is the value *including* its trailing ``b"\\r\\n"``, exactly as memcached stores it, so
  a reply can send it without copying; ``len(data) - 2`` is the value length.
- ``exptime`` and ``time`` are memcached relative times (seconds since ``process_started``);
  ``exptime == 0`` means never. ``time`` is when the item was linked or last bumped in its LRU.
- ``cas`` is the unique given when the item was linked (or rewritten in place by incr/decr);
  always 0 when cas is disabled (``-C``).
- ``clsid`` is the slab class whose LRU holds the item (the largest class for chunked items).
- ``bits`` holds memcached's per-item flags (``FETCHED`` … ``KEY_BINARY`` below) in one int, so
  the meta protocol's state costs no extra slot.
- ``prev``/``next`` are the intrusive LRU links (``prev`` toward the head = most recently used);
  they belong to :mod:`pymcd.store.lru` and are ``None`` when the item is not linked.
- An item is "linked" exactly while the store's key index maps its key to it. Callers outside the
  store must treat items as read-only snapshots.
"""

from __future__ import annotations

# memcached's it_flags that pymcd keeps (items.h); combined in Item.bits.
FETCHED = 1  # ITEM_FETCHED: read at least once since it was linked
ACTIVE = 2  # ITEM_ACTIVE: read twice; later reads no longer move its time
STALE = 4  # ITEM_STALE: invalidated by md/ms with I; mg reports X and hands out a win
TOKEN_SENT = 8  # ITEM_TOKEN_SENT: a client already got the W (recache) token
KEY_BINARY = 16  # ITEM_KEY_BINARY: stored by a meta command with a base64 key (b)


class Item:
    """A linked (or just unlinked) cache entry; see the module comment for the field rules."""

    __slots__ = (
        "bits",
        "cas",
        "clsid",
        "data",
        "exptime",
        "flags",
        "header",
        "key",
        "next",
        "prev",
        "time",
    )

    def __init__(
        self,
        key: bytes,
        data: bytes,
        flags: int,
        exptime: int,
        time: int,
        cas: int,
        clsid: int,
        bits: int = 0,
    ) -> None:
        self.key = key
        self.data = data
        self.flags = flags
        self.exptime = exptime
        self.time = time
        self.cas = cas
        self.clsid = clsid
        self.bits = bits
        # The reply's "VALUE <key> <flags> <bytes>\r\n", made by the first get and kept: key,
        # flags and length never change for an item (incr/decr rewrite in place, same length).
        self.header: bytes | None = None
        self.prev: Item | None = None
        self.next: Item | None = None

    @property
    def fetched(self) -> bool:
        return bool(self.bits & FETCHED)

    @property
    def value_length(self) -> int:
        return len(self.data) - 2

    def __repr__(self) -> str:
        return (
            f"Item(key={self.key!r}, value_length={len(self.data) - 2}, flags={self.flags}, "
            f"exptime={self.exptime}, time={self.time}, cas={self.cas}, clsid={self.clsid})"
        )
