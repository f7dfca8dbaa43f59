"""One cached item, kept as small as Python allows (memory per item is the store's budget).

Invariants:
- ``data`` holds the *data block*: the value and its trailing ``b"\\r\\n"``, exactly as memcached
  stores it. Once a get has given the item its *reply form* (``head is None``; an in-place
  set over such an item keeps it, :meth:`Store._overwrite`), ``data`` is the whole get reply,
  ``VALUE <key> <flags> <bytes>\\r\\n`` and then the data block, so a hit appends one object:
  a multi-get of large values touches one object per hit fewer and hands the kernel half the
  buffers. The header line holds no ``\\n`` (classic keys cannot), so it ends at the first one.
  :attr:`block` and :attr:`value_length` work in both forms.
- ``exptime`` and ``time`` are memcached relative times (seconds since ``process_started``);
  ``exptime == 0`` means never. ``time`` is when the item was linked or last bumped in its LRU.
- ``cas`` is the unique given when the item was linked (or rewritten in place by incr/decr);
  always 0 when cas is disabled (``-C``).
- ``clsid`` is the slab class whose LRU holds the item (the largest class for chunked items).
- ``bits`` holds memcached's per-item flags (``FETCHED`` … ``CFLAGS`` below).
- Two ints carry five fields, so an item is eight slots (see ``Item``): ``life`` is
  ``exptime << 8 | FETCHED/ACTIVE | clsid``, ``stamp`` is ``cas << 12 | STALE…CFLAGS``. What a
  get needs is in ``life``, which for an item that never expires is below 256: one of the small
  ints CPython shares, so a get reads no object of its own for it.
- ``prev``/``next`` are the intrusive LRU links (``prev`` toward the head = most recently used);
  they belong to :mod:`pymcd.store.lru` and are ``None`` when the item is not linked.
- An item is "linked" exactly while the store's key index maps its key to it. Callers outside the
  store must treat items as read-only snapshots.
"""

from __future__ import annotations

# memcached's it_flags that pymcd keeps (items.h), each at its place in life or stamp.
CLSID_MASK = 0x3F  # life's low 6 bits: class ids 0..63 (slabs.MAX_NUMBER_OF_SLAB_CLASSES)
FETCHED = 1 << 6  # ITEM_FETCHED: read at least once since it was linked
ACTIVE = 1 << 7  # ITEM_ACTIVE: read twice; later reads no longer move its time
STALE = 1 << 8  # ITEM_STALE: invalidated by md/ms with I; mg reports X and hands out a win
TOKEN_SENT = 1 << 9  # ITEM_TOKEN_SENT: a client already got the W (recache) token
KEY_BINARY = 1 << 10  # ITEM_KEY_BINARY: stored by a meta command with a base64 key (b)
CFLAGS = 1 << 11  # ITEM_CFLAGS: the client flags are non-zero (they cost 4 bytes in memcached)
LIFE_BITS = FETCHED | ACTIVE
STAMP_BITS = STALE | TOKEN_SENT | KEY_BINARY | CFLAGS
EXPTIME_SHIFT = 8  # life above this: the exptime (0: never), so life > LIFE_MASK means expiring
LIFE_MASK = (1 << EXPTIME_SHIFT) - 1
CAS_SHIFT = 12
STAMP_MASK = (1 << CAS_SHIFT) - 1

# Values up to this size (data block included) take their reply form (module comment): one
# copy of the value then saves an object and a buffer on every later hit. A larger value's
# send costs far more than either, so it keeps its plain form and a header made per hit.
REPLY_FORM_MAX = 8192 + 2


def reply_header(key: bytes, flags: int, block_length: int) -> bytes:
    """The reply form's first line, for a data block (value and CRLF) of ``block_length``."""
    return b"VALUE %b %d %d\r\n" % (key, flags, block_length - 2)


class Item:
    """A linked (or just unlinked) cache entry; see the module comment for the field rules.

    Eight slots, because each slot costs 8 bytes and pymalloc rounds an object to 16: ``life``
    and ``stamp`` hold five fields (module comment); ``head`` holds the client ``flags`` until
    :meth:`take_reply_form` moves them into ``data``'s header line and sets it to ``None``. The
    properties below give the named fields; the store's hot paths read ``life`` directly.
    """

    __slots__ = ("data", "head", "key", "life", "next", "prev", "stamp", "time")

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
        # The client flags; None once they are spelled in data's reply header (module comment).
        self.head: int | None = flags
        self.time = time
        if flags:
            bits |= CFLAGS
        self.life = exptime << EXPTIME_SHIFT | bits & LIFE_BITS | clsid
        self.stamp = cas << CAS_SHIFT | bits & STAMP_BITS
        self.prev: Item | None = None
        self.next: Item | None = None

    def renew(self, data: bytes, flags: int, exptime: int, time: int, cas: int, clsid: int) -> None:
        """Become a new item of the same key (an unlinked one, as :meth:`__init__` makes it with
        no ``bits``): the store's in-place set."""
        self.data = data
        self.head = flags
        self.time = time
        self.life = exptime << EXPTIME_SHIFT | clsid
        self.stamp = cas << CAS_SHIFT | CFLAGS if flags else cas << CAS_SHIFT

    @property
    def flags(self) -> int:
        if not self.stamp & CFLAGS:
            return 0
        head = self.head
        if head is not None:
            return head
        data = self.data
        header = data[: data.index(b"\n") - 1]
        return int(header.rsplit(b" ", 2)[1])  # the key may hold spaces (binary keys)

    @property
    def in_reply_form(self) -> bool:
        return self.head is None

    @property
    def block_offset(self) -> int:
        """Where the data block starts in ``data``: past the reply header line, if any."""
        return 0 if self.head is not None else self.data.index(b"\n") + 1

    @property
    def block(self) -> bytes:
        """The data block (value and CRLF); a copy when the item is in reply form."""
        return self.data[self.block_offset :]  # the object itself from offset 0

    def take_reply_form(self, header: bytes) -> bytes:
        """Put ``header`` (``VALUE <key> <flags> <bytes>\\r\\n``, made by the caller) before the
        data block; the flags now live in it. Returns the new ``data``. Key, flags and length
        never change for a linked item (incr/decr in place restores the plain form)."""
        assert self.head is not None and header.index(b"\n") == len(header) - 1
        data = self.data = header + self.data
        self.head = None
        return data

    def set_block(self, block: bytes) -> None:
        """Replace the data block in place (incr/decr): back to the plain form."""
        self.head = self.flags
        self.data = block

    @property
    def cas(self) -> int:
        return self.stamp >> CAS_SHIFT

    @cas.setter
    def cas(self, cas: int) -> None:
        self.stamp = cas << CAS_SHIFT | self.stamp & STAMP_MASK

    @property
    def exptime(self) -> int:
        return self.life >> EXPTIME_SHIFT

    @exptime.setter
    def exptime(self, exptime: int) -> None:
        self.life = exptime << EXPTIME_SHIFT | self.life & LIFE_MASK

    @property
    def clsid(self) -> int:
        return self.life & CLSID_MASK

    @property
    def bits(self) -> int:
        return self.life & LIFE_BITS | self.stamp & STAMP_BITS

    @bits.setter
    def bits(self, bits: int) -> None:
        self.life = self.life & ~LIFE_BITS | bits & LIFE_BITS
        self.stamp = self.stamp & ~STAMP_BITS | bits & STAMP_BITS

    @property
    def fetched(self) -> bool:
        return bool(self.life & FETCHED)

    @property
    def value_length(self) -> int:
        return len(self.data) - self.block_offset - 2

    def __repr__(self) -> str:
        return (
            f"Item(key={self.key!r}, value_length={self.value_length}, flags={self.flags}, "
            f"exptime={self.exptime}, time={self.time}, cas={self.cas}, clsid={self.clsid})"
        )
