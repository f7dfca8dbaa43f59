"""Slab arithmetic against memcached 1.6.18 (`memcached -vv` output and `stats slabs`)."""

from __future__ import annotations

import pytest

from pymcd.store.slabs import SlabGeometry, slab_chunk_sizes

# `memcached -vv` (1.6.18, defaults): chunk size of classes 1..39
MEMCACHED_DEFAULT_SIZES = (
    96, 120, 152, 192, 240, 304, 384, 480, 600, 752, 944, 1184, 1480, 1856, 2320, 2904, 3632,
    4544, 5680, 7104, 8880, 11104, 13880, 17352, 21696, 27120, 33904, 42384, 52984, 66232,
    82792, 103496, 129376, 161720, 202152, 252696, 315872, 394840, 524288,
)  # fmt: skip


def geometry(**overrides: object) -> SlabGeometry:
    args: dict[str, object] = dict(
        factor=1.25,
        chunk_size=48,
        slab_chunk_size_max=524288,
        slab_page_size=1048576,
        item_size_max=1048576,
        use_cas=True,
    )
    args.update(overrides)
    return SlabGeometry(**args)  # type: ignore[arg-type]


def test_default_classes_match_memcached() -> None:
    g = geometry()
    assert g.chunk_sizes[1:] == MEMCACHED_DEFAULT_SIZES
    assert g.largest_clsid == 39
    assert g.per_page[1] == 10922 and g.per_page[4] == 5461 and g.per_page[39] == 2


def test_factor_and_chunk_size_flags() -> None:
    # memcached -vv -f 1.1 -n 10: 64, 72, 80, ...
    sizes = slab_chunk_sizes(
        factor=1.1, chunk_size=10, slab_chunk_size_max=524288, slab_page_size=1048576
    )
    assert sizes[:3] == (64, 72, 80)
    assert sizes[-1] == 524288
    assert all(size % 8 == 0 for size in sizes)


def test_at_most_63_classes() -> None:
    sizes = slab_chunk_sizes(
        factor=1.01, chunk_size=48, slab_chunk_size_max=524288, slab_page_size=1048576
    )
    assert len(sizes) == 63 and sizes[-1] == 524288


@pytest.mark.parametrize(
    ("size", "clsid"),
    [
        (0, 0),
        (1, 1),
        (96, 1),
        (97, 2),
        (120, 2),
        (524288, 39),
        (524289, 39),  # chunked: lives in the largest class
        (1048576, 39),
        (1048577, 0),  # above item_size_max
    ],
)
def test_clsid(size: int, clsid: int) -> None:
    assert geometry().clsid(size) == clsid


@pytest.mark.parametrize(
    ("nkey", "flags", "nbytes", "use_cas", "expected"),
    [
        (1, 0, 5, True, 63),  # "a" = "100": 48 + 8 + 2 + 5
        (1, 5, 3, True, 65),  # client flags add 4 bytes
        (1, 0, 5, False, 55),  # -C drops the 8-byte cas
    ],
)
def test_item_size(nkey: int, flags: int, nbytes: int, use_cas: bool, expected: int) -> None:
    assert geometry(use_cas=use_cas).item_size(nkey, flags, nbytes) == expected


def test_chunked_item_plan_matches_stats_slabs() -> None:
    # memcached: `set big 0 0 1048514` used one class-2 header chunk, two class-39 chunks and a
    # class-1 tail chunk.
    assert geometry().chunk_classes(3, 0, 1048514 + 2) == (2, 39, 39, 1)
    assert geometry().chunk_classes(1, 0, 30) == (1,)
    assert geometry().chunk_classes(1, 0, 1048576) == ()  # too large
