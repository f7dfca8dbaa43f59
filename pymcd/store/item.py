"""One cached item, kept as small as Python allows (memory per item is the store's budget).

Invariants:
- ``data`` is the value *including* its trailing ``b"\\r\\n"``, exactly as memcached stores it, so
  a reply can send it without copying; ``len(data) - 2`` is the value length.
- ``exptime`` and ``time`` are memcached relative times (seconds since ``process_started``);
  ``exptime == 0`` means never. ``time`` is when the item was linked or last bumped in its LRU.
- ``cas`` is the unique given when the item was linked (or rewritten in place by incr/decr);
  always 0 when cas is disabled (``-C``).
- ``clsid`` is the slab class whose LRU holds the item (the largest class for chunked items).
- ``bits`` holds memcached's per-item flags (``FETCHED`` … ``KEY_BINARY`` below); ``cas``,
  ``clsid`` and ``bits`` share one int, ``stamp``, so the meta protocol's state and the class id
  cost no slot of their own.
- ``prev``/``next`` are the intrusive LRU links (``prev`` toward the head = most recently used);
  they belong to :mod:`pymcd.store.lru` and are ``None`` when the item is not linked.
- An item is "linked" exactly while the store's key index maps its key to it. Callers outside the
  store must treat items as read-only snapshots.
"""

from __future__ import annotations

# Item.stamp packs three fields into one int, because the cas unique is an int object per
# item anyway: the class id in the low 6 bits (ids 0..63, slabs.MAX_NUMBER_OF_SLAB_CLASSES),
# then memcached's it_flags below (items.h), then the cas unique from bit 12.
CLSID_MASK = 0x3F
FETCHED = 1 << 6  # ITEM_FETCHED: read at least once since it was linked
ACTIVE = 1 << 7  # ITEM_ACTIVE: read twice; later reads no longer move its time
STALE = 1 << 8  # ITEM_STALE: invalidated by md/ms with I; mg reports X and hands out a win
TOKEN_SENT = 1 << 9  # ITEM_TOKEN_SENT: a client already got the W (recache) token
KEY_BINARY = 1 << 10  # ITEM_KEY_BINARY: stored by a meta command with a base64 key (b)
CFLAGS = 1 << 11  # ITEM_CFLAGS: the client flags are non-zero (they cost 4 bytes in memcached)
BITS_MASK = 0x3F << 6
CAS_SHIFT = 12


class Item:
    """A linked (or just unlinked) cache entry; see the module comment for the field rules.

    Eight slots, because each slot costs 8 bytes and pymalloc rounds an object to 16: ``stamp``
    holds ``cas``, ``clsid`` and ``bits``; ``head`` holds the client ``flags`` until the first
    get replaces them with the ready-made reply header (which spells the flags). The
    properties below give the named fields; the store's hot paths read ``stamp`` directly.
    """

    __slots__ = ("data", "exptime", "head", "key", "next", "prev", "stamp", "time")

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
        # The client flags, then "VALUE <key> <flags> <bytes>\r\n" once a get made it: key,
        # flags and length never change for an item (incr/decr rewrite in place, same length).
        self.head: int | bytes = flags
        self.exptime = exptime
        self.time = time
        if flags:
            bits |= CFLAGS
        self.stamp = cas << CAS_SHIFT | bits | clsid
        self.prev: Item | None = None
        self.next: Item | None = None

    @property
    def flags(self) -> int:
        if not self.stamp & CFLAGS:
            return 0
        head = self.head
        if type(head) is int:
            return head
        assert isinstance(head, bytes)
        return int(head.rsplit(b" ", 2)[1])  # the key may hold spaces (binary keys)

    @property
    def header(self) -> bytes | None:
        """The reply header made by the first get, if any."""
        head = self.head
        return head if type(head) is bytes else None

    @header.setter
    def header(self, header: bytes) -> None:
        self.head = header

    @property
    def cas(self) -> int:
        return self.stamp >> CAS_SHIFT

    @cas.setter
    def cas(self, cas: int) -> None:
        self.stamp = cas << CAS_SHIFT | self.stamp & ((1 << CAS_SHIFT) - 1)

    @property
    def clsid(self) -> int:
        return self.stamp & CLSID_MASK

    @property
    def bits(self) -> int:
        return self.stamp & BITS_MASK

    @bits.setter
    def bits(self, bits: int) -> None:
        self.stamp = self.stamp & ~BITS_MASK | bits

    @property
    def fetched(self) -> bool:
        return bool(self.stamp & FETCHED)

    @property
    def value_length(self) -> int:
        return len(self.data) - 2

    def __repr__(self) -> str:
        return (
            f"Item(key={self.key!r}, value_length={len(self.data) - 2}, flags={self.flags}, "
            f"exptime={self.exptime}, time={self.time}, cas={self.cas}, clsid={self.clsid})"
        )
