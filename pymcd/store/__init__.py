"""The item store: slab classes, per-class LRU, expiry, eviction, cas (memcached's items/slabs).

Imports only the standard library and pymcd's config, clock and store results; never trio or the
protocol layer. Answers are enums and values, never protocol text.
"""

from pymcd.store.item import Item
from pymcd.store.results import DeltaResult, StoreMode, StoreResult
from pymcd.store.slabs import SlabGeometry, slab_chunk_sizes
from pymcd.store.store import Store, parse_counter

__all__ = [
    "DeltaResult",
    "Item",
    "SlabGeometry",
    "Store",
    "StoreMode",
    "StoreResult",
    "parse_counter",
    "slab_chunk_sizes",
]
