"""Per-slab-class LRU: an intrusive doubly-linked list through ``Item.prev`` / ``Item.next``.

memcached 1.6 segments each class's LRU into HOT, WARM and COLD queues shuffled by a background
maintainer thread. pymcd keeps one queue per class and models the state memcached settles into
about a second after a write, when its maintainer has moved every quiet item to COLD: so every
item counts as COLD (``stats items`` reports ``number_cold == number`` and one ``moves_to_cold``
per link), ``stats cachedump`` lists the whole queue, and eviction takes the tail.

Invariants:
- ``head`` is the most recently linked/bumped item, ``tail`` the least; both ``None`` iff empty.
- ``count`` is the number of linked items and ``mem_requested`` the sum of their ``ITEM_ntotal``
  (memcached's ``sizes`` / ``sizes_bytes``), maintained by :meth:`link` and :meth:`unlink`.
- Every operation is O(1); walking is done by the caller through ``tail``/``prev``.
"""

from __future__ import annotations

from collections.abc import Iterator

from pymcd.store.item import Item


class ClassLRU:
    """The LRU queue of one slab class."""

    __slots__ = ("count", "head", "mem_requested", "tail")

    def __init__(self) -> None:
        self.head: Item | None = None
        self.tail: Item | None = None
        self.count = 0
        self.mem_requested = 0

    def link(self, item: Item, size: int) -> None:
        """Insert ``item`` (not yet linked) at the head; ``size`` is its ``ITEM_ntotal``."""
        head = self.head
        item.prev = None
        item.next = head
        if head is None:
            self.tail = item
        else:
            head.prev = item
        self.head = item
        self.count += 1
        self.mem_requested += size

    def unlink(self, item: Item, size: int) -> None:
        """Remove a linked ``item``; ``size`` must be the size it was linked with."""
        prev = item.prev
        nxt = item.next
        if prev is None:
            self.head = nxt
        else:
            prev.next = nxt
        if nxt is None:
            self.tail = prev
        else:
            nxt.prev = prev
        item.prev = item.next = None
        self.count -= 1
        self.mem_requested -= size

    def bump(self, item: Item) -> None:
        """Move a linked ``item`` to the head (memcached's relink in ``do_item_update``)."""
        prev = item.prev
        if prev is None:
            return  # already the head
        nxt = item.next
        prev.next = nxt
        if nxt is None:
            self.tail = prev
        else:
            nxt.prev = prev
        head = self.head
        assert head is not None
        item.prev = None
        item.next = head
        head.prev = item
        self.head = item

    def from_head(self) -> Iterator[Item]:
        """Items from most to least recently used. Do not unlink while iterating."""
        item = self.head
        while item is not None:
            yield item
            item = item.next

    def clear(self) -> None:
        self.head = self.tail = None
        self.count = 0
        self.mem_requested = 0
