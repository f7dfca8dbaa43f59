"""Slab size-class arithmetic, as memcached 1.6.18's ``slabs.c`` computes it. Pure: no state.

Invariants:
- Class ids are 1-based (``POWER_SMALLEST`` = 1); id 0 means "does not fit" (memcached's error id).
- Chunk sizes strictly increase, are multiples of 8 except the last, which is always
  ``slab_chunk_size_max``; there are at most 63 classes.
- An item's size is memcached's ``ITEM_ntotal``: a 48-byte header, 8 more for the cas unique when
  cas is on, the key plus its NUL, 4 bytes of client flags only when they are non-zero, and the
  value with its trailing CRLF.
- An item bigger than the largest chunk is "chunked" (``items.c: do_item_alloc``): a header chunk
  from the class fitting the header plus an ``item_chunk`` struct, then data chunks allocated one
  after another, each from the class fitting ``min(remaining + 48, slab_chunk_size_max)`` and
  holding that size minus the 48-byte ``item_chunk`` header. The item itself still lives in the
  LRU of the largest class. :meth:`SlabGeometry.chunk_classes` returns that whole plan.
"""

from __future__ import annotations

import bisect

ITEM_HEADER_SIZE = 48  # sizeof(item) on 64-bit
ITEM_CHUNK_HEADER_SIZE = 48  # sizeof(item_chunk) on 64-bit
CAS_SIZE = 8
CLIENT_FLAGS_SIZE = 4  # stored only when the flags are non-zero
CHUNK_ALIGN_BYTES = 8
MAX_NUMBER_OF_SLAB_CLASSES = 64  # ids 0..63; 0 is never a real class
POWER_SMALLEST = 1


def slab_chunk_sizes(
    *, factor: float, chunk_size: int, slab_chunk_size_max: int, slab_page_size: int
) -> tuple[int, ...]:
    """The chunk size of each class, index 0 = class 1 (``slabs_init`` without ``-o slab_sizes``).

    >>> slab_chunk_sizes(factor=1.25, chunk_size=48, slab_chunk_size_max=524288,
    ...                  slab_page_size=1048576)[:4]
    (96, 120, 152, 192)
    """
    sizes: list[int] = []
    size = ITEM_HEADER_SIZE + chunk_size
    while len(sizes) + 1 < MAX_NUMBER_OF_SLAB_CLASSES - 1:
        if size >= slab_chunk_size_max / factor:
            break
        if size % CHUNK_ALIGN_BYTES:
            size += CHUNK_ALIGN_BYTES - size % CHUNK_ALIGN_BYTES
        sizes.append(size)
        size = int(size * factor)  # C: unsigned int size *= double factor (truncates)
    sizes.append(slab_chunk_size_max)
    return tuple(sizes)


class SlabGeometry:
    """Chunk sizes and the size → class mapping for one set of settings."""

    __slots__ = (
        "_base_size",
        "chunk_sizes",
        "item_size_max",
        "largest_clsid",
        "per_page",
        "slab_chunk_size_max",
        "slab_page_size",
        "use_cas",
    )

    def __init__(
        self,
        *,
        factor: float,
        chunk_size: int,
        slab_chunk_size_max: int,
        slab_page_size: int,
        item_size_max: int,
        use_cas: bool,
    ) -> None:
        sizes = slab_chunk_sizes(
            factor=factor,
            chunk_size=chunk_size,
            slab_chunk_size_max=slab_chunk_size_max,
            slab_page_size=slab_page_size,
        )
        self.chunk_sizes: tuple[int, ...] = (0, *sizes)  # 1-based: chunk_sizes[clsid]
        self.per_page: tuple[int, ...] = (0, *(slab_page_size // size for size in sizes))
        self.largest_clsid = len(sizes)
        self.slab_chunk_size_max = slab_chunk_size_max
        self.slab_page_size = slab_page_size
        self.item_size_max = item_size_max
        self.use_cas = use_cas
        # ITEM_ntotal without key, value and flags: header + the key's NUL + cas
        self._base_size = ITEM_HEADER_SIZE + 1 + (CAS_SIZE if use_cas else 0)

    def item_size(self, nkey: int, flags: int, nbytes: int) -> int:
        """memcached's ``ITEM_ntotal``; ``nbytes`` counts the value's trailing CRLF."""
        return self._base_size + nkey + nbytes + (CLIENT_FLAGS_SIZE if flags else 0)

    def clsid(self, size: int) -> int:
        """``slabs_clsid``: the smallest class whose chunk holds ``size`` bytes.

        0 when ``size`` is 0 or above ``item_size_max``; the largest class for anything bigger
        than the largest chunk (such an item is chunked).
        """
        if size == 0 or size > self.item_size_max:
            return 0
        clsid = bisect.bisect_left(self.chunk_sizes, size, 1)
        return clsid if clsid <= self.largest_clsid else self.largest_clsid

    def is_chunked(self, size: int) -> bool:
        return size > self.slab_chunk_size_max

    def chunk_classes(self, nkey: int, flags: int, nbytes: int) -> tuple[int, ...]:
        """Every chunk one item occupies, as class ids (one per chunk, repeats allowed).

        A normal item takes one chunk of its class. A chunked item takes a header chunk and
        then data chunks as memcached 1.6 allocates them while reading the value
        (``do_item_alloc_chunk``). Empty when the item does not fit at all.
        """
        size = self.item_size(nkey, flags, nbytes)
        clsid = self.clsid(size)
        if clsid == 0 or nbytes < 2:
            return ()
        if size <= self.slab_chunk_size_max:
            return (clsid,)
        header = (
            ITEM_HEADER_SIZE
            + ITEM_CHUNK_HEADER_SIZE
            + nkey
            + 1
            + (CLIENT_FLAGS_SIZE if flags else 0)
            + (CAS_SIZE if self.use_cas else 0)
        )
        plan = [self.clsid(header)]
        remaining = nbytes
        while remaining > 0:
            chunk = min(remaining + ITEM_CHUNK_HEADER_SIZE, self.slab_chunk_size_max)
            plan.append(self.clsid(chunk))
            remaining -= chunk - ITEM_CHUNK_HEADER_SIZE
        return tuple(plan)
