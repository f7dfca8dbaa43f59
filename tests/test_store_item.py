"""Item packs cas, exptime, class id and bits into two ints and keeps the flags until its
reply form spells them: each field must still read back exactly as it was set."""

from __future__ import annotations

import sys

import pytest

from pymcd.clock import ManualClock, ServerTime
from pymcd.dispatch import _first_hit
from pymcd.store.item import (
    ACTIVE,
    CFLAGS,
    FETCHED,
    KEY_BINARY,
    REPLY_FORM_MAX,
    STALE,
    TOKEN_SENT,
    Item,
)

BIG_CAS = 2**64 - 1


@pytest.mark.parametrize("cas", [0, 1, 2**30, BIG_CAS])
@pytest.mark.parametrize("clsid", [1, 42, 63])
@pytest.mark.parametrize("flags", [0, 1, 2**32 - 1])
@pytest.mark.parametrize("exptime", [0, 1, 2**31 - 1])
def test_fields_read_back(cas: int, clsid: int, flags: int, exptime: int) -> None:
    item = Item(b"k", b"v\r\n", flags, exptime, 5, cas, clsid, KEY_BINARY | ACTIVE)
    assert (item.cas, item.clsid, item.flags, item.exptime) == (cas, clsid, flags, exptime)
    assert item.bits == KEY_BINARY | ACTIVE | (CFLAGS if flags else 0)
    item.bits |= FETCHED | STALE
    item.cas = 12345
    item.exptime = 99
    assert (item.cas, item.clsid, item.flags, item.exptime) == (12345, clsid, flags, 99)
    assert item.fetched and item.bits & STALE and item.bits & KEY_BINARY
    item.bits &= ~(STALE | TOKEN_SENT | ACTIVE)
    assert item.bits == KEY_BINARY | FETCHED | (CFLAGS if flags else 0)
    assert (item.clsid, item.cas, item.exptime, item.time) == (clsid, 12345, 99, 5)


@pytest.mark.parametrize("bits", [0, FETCHED, ACTIVE | FETCHED])
def test_what_a_get_reads_of_an_item_that_never_expires_is_a_shared_small_int(bits: int) -> None:
    item = Item(b"k", b"v\r\n", 0, 0, 5, 2**40, 63, bits)
    assert item.life is bits | 63  # CPython's small ints (up to 256) are shared objects


# Classic keys hold no space or newline; binary ones (meta) may hold spaces and CR.
@pytest.mark.parametrize("key", [b"k", b"a b c", b"\x00 \r 7 8"])
@pytest.mark.parametrize("flags", [0, 9, 2**32 - 1])
def test_the_reply_form_spells_the_flags_and_keeps_the_block(key: bytes, flags: int) -> None:
    item = Item(key, b"hello\r\n", flags, 0, 0, 3, 2)
    assert not item.in_reply_form and item.block_offset == 0 and item.block is item.data
    out: list[bytes] = []
    _first_hit(item, out)
    header = b"VALUE %b %d 5\r\n" % (key, flags)
    assert out == [header + b"hello\r\n"] and out[0] is item.data
    assert item.in_reply_form and item.head is None
    assert item.flags == flags
    assert (item.block, item.block_offset, item.value_length) == (b"hello\r\n", len(header), 5)
    item.set_block(b"bye  \r\n")  # incr/decr in place: back to the plain form
    assert (item.head, item.data, item.flags, item.value_length) == (flags, b"bye  \r\n", flags, 5)


def test_a_large_value_keeps_its_plain_form() -> None:
    block = b"x" * (REPLY_FORM_MAX - 1) + b"\r\n"  # one byte over
    item = Item(b"k", block, 7, 0, 0, 3, 2)
    out: list[bytes] = []
    _first_hit(item, out)
    assert out == [b"VALUE k 7 %d\r\n" % (len(block) - 2), block]  # no copy, made per hit
    assert item.head == 7 and item.data is block
    small = Item(b"k", block[1:], 7, 0, 0, 3, 2)
    _first_hit(small, out)
    assert small.in_reply_form


def test_an_item_is_eight_slots() -> None:
    """Memory per item is the store's budget: 8 slots + GC header = 96 bytes in pymalloc."""
    item = Item(b"k", b"v\r\n", 0, 0, 0, 1, 1)
    assert len(Item.__slots__) == 8
    assert sys.getsizeof(item) <= 96  # object and GC headers, 16 bytes each, then the slots


def test_current_time_is_one_object_per_second() -> None:
    clock = ManualClock()
    time = ServerTime(clock, unix_now=1_700_000_000.0)
    clock.advance(500.1)
    first = time.update()
    assert first > 256  # not one of the small ints CPython shares anyway
    clock.advance(0.5)
    assert time.update() is first  # items stored in one second share their time int
    clock.advance(1)
    assert time.update() == first + 1
