"""The shared vocabulary of store and protocol: enums, never protocol text.

memcached's ``enum store_item_type`` and friends. It lives outside ``store/`` so the protocol
layer can name a storage mode without importing the store engine.
"""

from __future__ import annotations

import enum


class StoreMode(enum.Enum):
    SET = "set"
    ADD = "add"
    REPLACE = "replace"
    APPEND = "append"
    PREPEND = "prepend"
    CAS = "cas"


class StoreResult(enum.Enum):
    STORED = "STORED"
    NOT_STORED = "NOT_STORED"
    EXISTS = "EXISTS"
    NOT_FOUND = "NOT_FOUND"
    TOO_LARGE = "TOO_LARGE"  # item bigger than -I (or than the largest slab class)
    NO_MEMORY = "NO_MEMORY"  # no chunk free and eviction impossible or disabled (-M)


class DeltaResult(enum.Enum):
    """Failures of incr/decr; success returns the new value."""

    NOT_FOUND = "NOT_FOUND"
    NON_NUMERIC = "NON_NUMERIC"
    NO_MEMORY = "NO_MEMORY"
    CAS_MISMATCH = "CAS_MISMATCH"  # meta arithmetic with a cas that does not match
