"""Dispatcher unit tests: bytes in, reply bytes and stats counters out, no sockets, no trio.

Every expected reply and every counter delta in the tables below was recorded from Debian's
memcached 1.6.18 (the same commands sent to ``/usr/bin/memcached``, ``stats`` read before and
after). Counters are read through ``Dispatcher.general_stats()``, i.e. what a client's ``stats``
shows. A row lists the counters that change; every other counter in ``COUNTERS`` must not move.
"""

from __future__ import annotations

import pytest

from pymcd.clock import ManualClock, ServerTime
from pymcd.config import Settings
from pymcd.dispatch import Dispatcher, Session
from pymcd.protocol.commands import GetRun
from pymcd.protocol.text import TextParser
from pymcd.store import Store

UNIX_START = 1_700_000_000
MB = 1024 * 1024

COUNTERS = (
    "cmd_get",
    "cmd_set",
    "cmd_flush",
    "cmd_touch",
    "get_hits",
    "get_misses",
    "get_expired",
    "get_flushed",
    "delete_misses",
    "delete_hits",
    "incr_misses",
    "incr_hits",
    "decr_misses",
    "decr_hits",
    "cas_misses",
    "cas_hits",
    "cas_badval",
    "touch_hits",
    "touch_misses",
    "store_too_large",
    "store_no_memory",
    "curr_items",
    "total_items",
    "bytes",
    "evictions",
    "reclaimed",
    "expired_unfetched",
    "evicted_unfetched",
)


class Harness:
    """A dispatcher over a store on a ManualClock, recording on_shutdown calls."""

    def __init__(self, **settings: object) -> None:
        self.settings = Settings(**settings)  # type: ignore[arg-type]
        self.clock = ManualClock(1000.0)
        self.time = ServerTime(self.clock, unix_now=UNIX_START)
        self.store = Store(self.settings, self.time)
        self.shutdowns: list[bool] = []
        self.dispatcher = Dispatcher(
            self.settings, self.store, on_shutdown=self.shutdowns.append, pid=4242
        )
        self.session = Session(7, "tcp:127.0.0.1:50000")

    def run(self, data: bytes, session: Session | None = None) -> bytes:
        return run(self.dispatcher, data, session or self.session)

    def stats(self) -> dict[str, str]:
        return dict(self.dispatcher.general_stats())

    def counters(self) -> dict[str, int]:
        stats = self.stats()
        return {name: int(stats[name]) for name in COUNTERS}

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


def run(dispatcher: Dispatcher, data: bytes, session: Session | None = None) -> bytes:
    """Parse ``data`` as one read (as the server configures its parser) and execute it."""
    settings = dispatcher.settings
    parser = TextParser(item_size_max=settings.item_size_max, debugtime_enabled=settings.debugtime)
    parser.receive_data(data)
    session = session if session is not None else Session(9, "tcp:127.0.0.1:50001")
    return b"".join(dispatcher.execute(parser.commands(), session))


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in COUNTERS if after[name] != before[name]}


@pytest.fixture
def h() -> Harness:
    return Harness()


SET_A = b"set a 0 0 1\r\nx\r\n"
SET_N = b"set n 0 0 2\r\n10\r\n"
LONG_KEY = b"k" * 251
# "big" with 1048515 value bytes: ITEM_ntotal = 57 + 3 + 1048517 > 1 MB although the declared
# length is below -I, so the store (not the parser) refuses it.
BIG_BLOCK = b"set big 0 0 1048515\r\n" + b"y" * 1048515 + b"\r\n"

# (id, setup, seconds to advance after setup, command, reply, counter deltas)
# Deltas are taken from before the advance. The *-expired rows run the command within the
# second its item expires, as memcached does it before its LRU maintainer (which reclaims only
# ``exptime < now``) can get there: the lookup counts get_expired, not reclaimed.
COUNTER_CASES: list[tuple[str, bytes, int, bytes, bytes, dict[str, int]]] = [
    (
        "set",
        b"",
        0,
        SET_A,
        b"STORED\r\n",
        {"cmd_set": 1, "curr_items": 1, "total_items": 1, "bytes": 61},
    ),
    (
        "get-hit-miss",
        SET_A,
        0,
        b"get a b\r\n",
        b"VALUE a 0 1\r\nx\r\nEND\r\n",
        {"cmd_get": 2, "get_hits": 1, "get_misses": 1},
    ),
    (
        "gets",
        SET_A,
        0,
        b"gets a\r\n",
        b"VALUE a 0 1 1\r\nx\r\nEND\r\n",
        {"cmd_get": 1, "get_hits": 1},
    ),
    (
        "bget",
        SET_A,
        0,
        b"bget a\r\n",
        b"VALUE a 0 1\r\nx\r\nEND\r\n",
        {"cmd_get": 1, "get_hits": 1},
    ),
    (
        "gat-counts-touch-not-get",
        SET_A,
        0,
        b"gat 0 a b\r\n",
        b"VALUE a 0 1\r\nx\r\nEND\r\n",
        {"cmd_touch": 2, "touch_hits": 1, "touch_misses": 1},
    ),
    (
        "gats",
        SET_A,
        0,
        b"gats 0 a\r\n",
        b"VALUE a 0 1 1\r\nx\r\nEND\r\n",
        {"cmd_touch": 1, "touch_hits": 1},
    ),
    (
        "touch-hit-miss",
        SET_A,
        0,
        b"touch a 0\r\ntouch b 0\r\n",
        b"TOUCHED\r\nNOT_FOUND\r\n",
        {"cmd_touch": 2, "touch_hits": 1, "touch_misses": 1},
    ),
    (
        "multiget-too-long-key",
        SET_A,
        0,
        b"get a b " + LONG_KEY + b" a\r\n",
        b"CLIENT_ERROR bad command line format\r\n",
        {"cmd_get": 2, "get_hits": 1, "get_misses": 1},
    ),
    (
        "gat-too-long-key",
        SET_A,
        0,
        b"gat 0 a b " + LONG_KEY + b" a\r\n",
        b"CLIENT_ERROR bad command line format\r\n",
        {"cmd_touch": 2, "touch_hits": 1, "touch_misses": 1},
    ),
    (
        "incr-non-numeric",
        SET_A,
        0,
        b"incr a 1\r\n",
        b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
        {},
    ),
    (
        "incr-decr-miss",
        b"",
        0,
        b"incr n 1\r\ndecr n 1\r\n",
        b"NOT_FOUND\r\nNOT_FOUND\r\n",
        {"incr_misses": 1, "decr_misses": 1},
    ),
    (
        "incr-decr-hit",
        SET_N,
        0,
        b"incr n 5\r\ndecr n 3\r\n",
        b"15\r\n12\r\n",
        {"incr_hits": 1, "decr_hits": 1},
    ),
    (
        "cas-badval-and-miss",
        SET_N,
        0,
        b"cas n 0 0 1 999\r\n1\r\ncas zz 0 0 1 1\r\n1\r\n",
        b"EXISTS\r\nNOT_FOUND\r\n",
        {"cmd_set": 2, "cas_badval": 1, "cas_misses": 1},
    ),
    (
        "cas-hit",
        SET_A,
        0,
        b"cas a 0 0 1 1\r\ny\r\n",
        b"STORED\r\n",
        {"cmd_set": 1, "cas_hits": 1, "total_items": 1},
    ),
    (
        "delete-hit-miss",
        SET_A,
        0,
        b"delete a\r\ndelete a\r\n",
        b"DELETED\r\nNOT_FOUND\r\n",
        {"delete_hits": 1, "delete_misses": 1, "curr_items": -1, "bytes": -61},
    ),
    ("add-existing", SET_A, 0, b"add a 0 0 1\r\ny\r\n", b"NOT_STORED\r\n", {"cmd_set": 1}),
    ("replace-miss", b"", 0, b"replace q 0 0 1\r\ny\r\n", b"NOT_STORED\r\n", {"cmd_set": 1}),
    ("append-miss", b"", 0, b"append q 0 0 1\r\ny\r\n", b"NOT_STORED\r\n", {"cmd_set": 1}),
    (
        "append-hit",
        SET_A,
        0,
        b"append a 0 0 1\r\ny\r\n",
        b"STORED\r\n",
        {"cmd_set": 1, "total_items": 1, "bytes": 1},
    ),
    (
        "bad-data-chunk",
        SET_A,
        0,
        b"set a 0 0 1\r\nyy\r\n",
        b"CLIENT_ERROR bad data chunk\r\nERROR\r\n",
        {"cmd_set": 1},
    ),
    (
        "too-large-declared",
        b"",
        0,
        b"set big 0 0 2000000\r\n" + b"y" * 2000000 + b"\r\n",
        b"SERVER_ERROR object too large for cache\r\n",
        {"store_too_large": 1},
    ),
    (
        "too-large-declared-drops-old",
        SET_A,
        0,
        b"set a 0 0 2000000\r\n" + b"y" * 2000000 + b"\r\n",
        b"SERVER_ERROR object too large for cache\r\n",
        {"store_too_large": 1, "curr_items": -1, "bytes": -61},
    ),
    (
        "too-large-ntotal",
        b"",
        0,
        BIG_BLOCK,
        b"SERVER_ERROR object too large for cache\r\n",
        {"store_too_large": 1},
    ),
    (
        "get-expired",
        b"set e 0 1 1\r\ne\r\n",
        1,
        b"get e\r\n",
        b"END\r\n",
        {"cmd_get": 1, "get_misses": 1, "get_expired": 1, "curr_items": -1, "bytes": -61},
    ),
    (
        "touch-expired",
        b"set e 0 1 1\r\ne\r\n",
        1,
        b"touch e 0\r\n",
        b"NOT_FOUND\r\n",
        {"cmd_touch": 1, "touch_misses": 1, "get_expired": 1, "curr_items": -1, "bytes": -61},
    ),
    (
        "gat-expired",
        b"set e 0 1 1\r\ne\r\n",
        1,
        b"gat 0 e\r\n",
        b"END\r\n",
        {"cmd_touch": 1, "touch_misses": 1, "get_expired": 1, "curr_items": -1, "bytes": -61},
    ),
    (
        "delete-expired",
        b"set e 0 1 1\r\ne\r\n",
        1,
        b"delete e\r\n",
        b"NOT_FOUND\r\n",
        {"delete_misses": 1, "get_expired": 1, "curr_items": -1, "bytes": -61},
    ),
    (
        "flush-all",
        SET_A,
        0,
        b"flush_all\r\n",
        b"OK\r\n",
        {"cmd_flush": 1, "curr_items": -1, "bytes": -61, "reclaimed": 1, "expired_unfetched": 1},
    ),
    (
        "flush-all-noreply",
        SET_A,
        0,
        b"flush_all noreply\r\n",
        b"",
        {"cmd_flush": 1, "curr_items": -1, "bytes": -61, "reclaimed": 1, "expired_unfetched": 1},
    ),
    (
        "flush-all-bad-delay",
        SET_A,
        0,
        b"flush_all x\r\nflush_all x noreply\r\n",
        b"CLIENT_ERROR invalid exptime argument\r\n",
        {"cmd_flush": 2},
    ),
    # a get after memcached's LRU maintainer has reclaimed the flushed item: a plain miss
    (
        "get-after-flush",
        SET_A + b"flush_all\r\n",
        1,
        b"get a\r\n",
        b"END\r\n",
        {"cmd_get": 1, "get_misses": 1},
    ),
    (
        "delayed-flush",
        SET_A + b"flush_all 2\r\n",
        3,
        b"get a\r\n",
        b"END\r\n",
        {
            "cmd_get": 1,
            "get_misses": 1,
            "curr_items": -1,
            "bytes": -61,
            "reclaimed": 1,
            "expired_unfetched": 1,
        },
    ),
]


@pytest.mark.parametrize(
    ("setup", "wait", "command", "reply", "changes"),
    [case[1:] for case in COUNTER_CASES],
    ids=[case[0] for case in COUNTER_CASES],
)
def test_counters_after_command(
    h: Harness, setup: bytes, wait: int, command: bytes, reply: bytes, changes: dict[str, int]
) -> None:
    if setup:
        h.run(setup)
    before = h.counters()
    h.advance(wait)
    assert h.run(command) == reply
    assert delta(before, h.counters()) == changes


def test_flush_all_disabled_counts_and_keeps_items() -> None:
    h = Harness(flush_enabled=False)
    h.run(SET_A)
    before = h.counters()
    reply = h.run(
        b"flush_all\r\nflush_all noreply\r\nflush_all x\r\nflush_all x noreply\r\nflush_all 0\r\n"
    )
    assert reply == b"CLIENT_ERROR flush_all not allowed\r\n" * 3
    assert delta(before, h.counters()) == {"cmd_flush": 5}
    assert h.run(b"get a\r\n") == b"VALUE a 0 1\r\nx\r\nEND\r\n"


VALUE_100K = b"v" * 100000


def _fill(h: Harness, count: int) -> list[bytes]:
    return [
        h.run(b"set k%d 0 0 %d\r\n%s\r\n" % (i, len(VALUE_100K), VALUE_100K)) for i in range(count)
    ]


def test_store_no_memory_without_evictions() -> None:
    """memcached -m 2 -M: 20 items of 100 kB fill two pages of class 32, the rest fail."""
    h = Harness(memory_limit=2 * MB, evictions=False)
    replies = _fill(h, 40)
    assert replies == [b"STORED\r\n"] * 20 + [b"SERVER_ERROR out of memory storing object\r\n"] * 20
    counters = h.counters()
    assert {k: v for k, v in counters.items() if v} == {
        "cmd_set": 20,
        "store_no_memory": 20,
        "curr_items": 20,
        "total_items": 20,
        "bytes": 2001230,
    }
    assert h.stats()["limit_maxbytes"] == str(2 * MB)
    items = dict(h.store.item_stats())
    assert (items["items:32:number"], items["items:32:outofmemory"]) == (20, 20)
    assert dict(h.store.slab_stats())["32:total_pages"] == 2
    assert h.run(b"get k0\r\n").startswith(b"VALUE k0 0 100000\r\n")


def test_evictions() -> None:
    """memcached -m 2: the same 40 sets all succeed, evicting the 20 oldest (never fetched)."""
    h = Harness(memory_limit=2 * MB)
    assert _fill(h, 40) == [b"STORED\r\n"] * 40
    counters = h.counters()
    assert {k: v for k, v in counters.items() if v} == {
        "cmd_set": 40,
        "curr_items": 20,
        "total_items": 40,
        "bytes": 2001240,
        "evictions": 20,
        "evicted_unfetched": 20,
    }
    assert h.run(b"get k0 k39\r\n").startswith(b"VALUE k39 0 100000\r\n")
    items = dict(h.store.item_stats())
    assert (items["items:32:evicted"], items["items:32:evicted_unfetched"]) == (20, 20)


def test_reclaimed_instead_of_evicted() -> None:
    """Expired items at the LRU tail are reclaimed (not evicted) when memory is needed."""
    h = Harness(memory_limit=2 * MB)
    for i in range(20):
        h.run(b"set x%d 0 1 %d\r\n%s\r\n" % (i, len(VALUE_100K), VALUE_100K))
    h.run(b"get x0\r\n")  # one of them fetched
    before = h.counters()
    h.advance(2)
    assert _fill(h, 20) == [b"STORED\r\n"] * 20
    changes = delta(before, h.counters())
    assert changes == {
        "cmd_set": 20,
        "total_items": 20,
        "reclaimed": 20,
        "expired_unfetched": 19,
    }
    assert h.stats()["curr_items"] == "20"


def test_stats_reset_clears_what_memcached_clears(h: Harness) -> None:
    h.run(SET_A + SET_N + b"set e 0 1 1\r\ne\r\n")
    h.run(b"get a b\r\ngat 0 a\r\ntouch z 0\r\nincr n 1\r\ndecr n 1\r\nincr z 1\r\ndecr z 1\r\n")
    h.run(b"cas a 0 0 1 999\r\nx\r\ncas z 0 0 1 1\r\nx\r\ndelete z\r\n")
    h.run(b"set big 0 0 2000000\r\n" + b"y" * 2000000 + b"\r\n")
    h.advance(2)
    h.run(b"get e\r\nstats detail on\r\nget p:x\r\nflush_all 100\r\n")
    before = h.counters()
    assert all(
        before[name]
        for name in (
            "cmd_get",
            "cmd_set",
            "cmd_flush",
            "cmd_touch",
            "get_expired",
            "cas_badval",
            "store_too_large",
        )
    )
    assert h.run(b"stats reset\r\n") == b"RESET\r\n"
    after = h.counters()
    assert {k: v for k, v in after.items() if v} == {
        "curr_items": before["curr_items"],
        "bytes": before["bytes"],
    }
    assert after["curr_items"] == 2
    assert h.run(b"stats detail dump\r\n") == b"END\r\n"
    assert h.stats()["limit_maxbytes"] == str(64 * MB)
    # the pending flush is state, not a counter: it still happens
    h.advance(100)
    assert h.run(b"get a n\r\n") == b"END\r\n"


# -- noreply -------------------------------------------------------------------------------

# memcached's out_string drops the reply under noreply: successes and errors alike.
NOREPLY_CASES = [
    b"set a 0 0 1 noreply\r\ny\r\n",
    b"add a 0 0 1 noreply\r\ny\r\n",
    b"replace zz 0 0 1 noreply\r\ny\r\n",
    b"append a 0 0 1 noreply\r\ny\r\n",
    b"prepend a 0 0 1 noreply\r\ny\r\n",
    b"cas a 0 0 1 999 noreply\r\ny\r\n",
    b"cas zz 0 0 1 1 noreply\r\ny\r\n",
    b"set a 0 0 2000000 noreply\r\n" + b"y" * 2000000 + b"\r\n",
    b"set a x 0 1 noreply\r\n",
    b"incr n 1 noreply\r\n",
    b"decr n 1 noreply\r\n",
    b"incr zz 1 noreply\r\n",
    b"incr a 1 noreply\r\n",
    b"incr n x noreply\r\n",
    b"delete a noreply\r\n",
    b"delete zz noreply\r\n",
    b"delete a 1 noreply\r\n",
    b"touch a 10 noreply\r\n",
    b"touch zz 10 noreply\r\n",
    b"touch a x noreply\r\n",
    b"flush_all noreply\r\n",
    b"flush_all x noreply\r\n",
    b"verbosity 1 noreply\r\n",
    b"verbosity x noreply\r\n",
    b"cache_memlimit 100 noreply\r\n",
    b"cache_memlimit 2 noreply\r\n",
    b"cache_memlimit x noreply\r\n",
]


@pytest.mark.parametrize("command", NOREPLY_CASES, ids=lambda c: c[:30].decode(errors="replace"))
def test_noreply_suppresses(h: Harness, command: bytes) -> None:
    h.run(SET_A + SET_N)
    assert h.run(command) == b""


def test_noreply_effects_still_happen(h: Harness) -> None:
    h.run(SET_A + SET_N)
    before = h.counters()
    h.run(b"incr n 5 noreply\r\ndelete zz noreply\r\nset a 0 0 1 noreply\r\nz\r\n")
    assert delta(before, h.counters()) == {
        "incr_hits": 1,
        "delete_misses": 1,
        "cmd_set": 1,
        "total_items": 1,
    }
    assert h.run(b"get a n\r\n") == b"VALUE a 0 1\r\nz\r\nVALUE n 0 2\r\n15\r\nEND\r\n"


def test_noreply_not_suppressed() -> None:
    """No noreply for get/stats/version; SERVER_ERROR out of memory stays silent (-M)."""
    h = Harness(memory_limit=2 * MB, evictions=False, flush_enabled=False)
    _fill(h, 20)
    big = b"set k99 0 0 %d noreply\r\n%s\r\n" % (len(VALUE_100K), VALUE_100K)
    assert h.run(big) == b""
    assert h.counters()["store_no_memory"] == 1
    assert h.run(b"flush_all noreply\r\n") == b""
    assert h.run(b"get zz noreply\r\n") == b"END\r\n"
    assert h.run(b"version noreply\r\n") == b"VERSION 1.6.18\r\n"


# -- stats subcommands -----------------------------------------------------------------------


def test_stats_detail_on_dump_off(h: Harness) -> None:
    assert h.run(b"stats detail dump\r\n") == b"END\r\n"
    assert h.run(b"set foo:a 0 0 3\r\nabc\r\n") == b"STORED\r\n"  # detail off: not counted
    script = (
        b"stats detail on\r\nget foo:a foo:b\r\nset foo:c 0 0 1\r\nc\r\ndelete foo:zz\r\n"
        b"stats detail dump\r\nstats detail off\r\nget foo:a\r\nstats detail dump\r\n"
        b"stats detail\r\nstats detail x\r\n"
    )
    assert h.run(script) == (
        b"OK\r\nVALUE foo:a 0 3\r\nabc\r\nEND\r\nSTORED\r\nNOT_FOUND\r\n"
        b"PREFIX foo get 2 hit 1 set 1 del 1\r\nEND\r\nOK\r\nVALUE foo:a 0 3\r\nabc\r\nEND\r\n"
        b"PREFIX foo get 2 hit 1 set 1 del 1\r\nEND\r\n"
        b"CLIENT_ERROR usage: stats detail on|off|dump\r\n"
        b"CLIENT_ERROR usage: stats detail on|off|dump\r\n"
    )
    settings = dict(h.dispatcher.settings_stats())
    assert settings["detail_enabled"] == "no"
    h.run(b"stats detail on\r\n")
    assert dict(h.dispatcher.settings_stats())["detail_enabled"] == "yes"


def test_stats_detail_counts_gat_and_failed_sets(h: Harness) -> None:
    h.run(b"stats detail on\r\n")
    h.run(b"gat 0 p:a\r\nset p:b 0 0 2000000\r\n" + b"y" * 2000000 + b"\r\n")
    assert h.run(b"stats detail dump\r\n") == b"PREFIX p get 1 hit 0 set 1 del 0\r\nEND\r\n"


def test_stats_cachedump(h: Harness) -> None:
    h.run(b"set foo:a 0 100 3\r\nabc\r\nset bar 5 0 2\r\nxy\r\n")
    exp = UNIX_START + 100
    assert h.run(b"stats cachedump 1 0\r\n") == (
        b"ITEM bar [2 b; 0 s]\r\nITEM foo:a [3 b; %d s]\r\nEND\r\n" % exp
    )
    assert h.run(b"stats cachedump 1 1\r\n") == b"ITEM bar [2 b; 0 s]\r\nEND\r\n"
    cases = {
        b"stats cachedump 2 0": b"END\r\n",
        b"stats cachedump 63 0": b"END\r\n",
        b"stats cachedump 64 0": b"CLIENT_ERROR Illegal slab id\r\n",
        b"stats cachedump x 0": b"CLIENT_ERROR bad command line format\r\n",
        b"stats cachedump 1": b"CLIENT_ERROR bad command line\r\n",
    }
    for command, reply in cases.items():
        assert h.run(command + b"\r\n") == reply, command


def test_stats_cachedump_disabled() -> None:
    h = Harness(dump_enabled=False)
    assert h.run(b"stats cachedump 1 0\r\n") == b"CLIENT_ERROR stats cachedump not allowed\r\n"


def test_stats_unknown_and_fixed_subcommands(h: Harness) -> None:
    assert h.run(b"stats foo\r\nstats sizes\r\nstats extstore\r\n") == (
        b"ERROR\r\nSTAT sizes_status disabled\r\nEND\r\nEND\r\n"
    )


def test_stats_settings_follows_verbosity_and_memlimit(h: Harness) -> None:
    def setting(name: str) -> str:
        reply = h.run(b"stats settings\r\n")
        assert reply.endswith(b"END\r\n")
        lines = dict(line.split(b" ")[1:] for line in reply.split(b"\r\n")[:-2])
        return lines[name.encode()].decode()

    assert (setting("verbosity"), setting("maxbytes")) == ("0", str(64 * MB))
    assert h.run(b"verbosity 1\r\n") == b"OK\r\n"
    assert setting("verbosity") == "1"
    assert h.run(b"verbosity 5 noreply\r\n") == b""
    assert setting("verbosity") == "2"  # memcached caps at MAX_VERBOSITY_LEVEL
    replies = h.run(
        b"cache_memlimit 100\r\ncache_memlimit 7\r\ncache_memlimit 5000000000\r\n"
        b"cache_memlimit 200 noreply\r\ncache_memlimit x\r\n"
    )
    assert replies == (
        b"OK\r\nMEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\nOK\r\nERROR\r\n"
    )
    assert setting("maxbytes") == str(200 * MB)
    assert h.stats()["limit_maxbytes"] == str(200 * MB)


# -- debugtime, shutdown ----------------------------------------------------------------------


def test_debugtime_refused_by_default(h: Harness) -> None:
    uptime = h.stats()["uptime"]
    assert h.run(b"debugtime 10\r\n") == b"ERROR\r\n"
    assert h.stats()["uptime"] == uptime


def test_debugtime_moves_the_clock() -> None:
    h = Harness(debugtime=True)
    h.run(b"set e 0 5 1\r\ne\r\n")
    stats = h.stats()
    assert h.run(b"debugtime 10\r\n") == b"OK\r\n"
    after = h.stats()
    assert int(after["time"]) - int(stats["time"]) == 10
    assert int(after["uptime"]) - int(stats["uptime"]) == 10
    assert h.run(b"get e\r\n") == b"END\r\n"
    assert h.counters()["get_expired"] == 1
    assert h.run(b"debugtime\r\ndebugtime x\r\n") == b"ERROR\r\nERROR\r\n"


def test_shutdown_disabled(h: Harness) -> None:
    replies = h.run(b"shutdown\r\nshutdown graceful\r\nshutdown foo\r\n")
    assert replies == b"ERROR: shutdown not enabled\r\n" * 3
    assert h.shutdowns == []
    assert not h.session.closing


@pytest.mark.parametrize(
    ("command", "graceful"), [(b"shutdown\r\n", False), (b"shutdown graceful\r\n", True)]
)
def test_shutdown_enabled(command: bytes, graceful: bool) -> None:
    h = Harness(enable_shutdown=True)
    assert h.run(b"version\r\n" + command + b"version\r\n") == b""  # the batch is dropped
    assert h.shutdowns == [graceful]
    assert h.session.closing


def test_shutdown_bad_mode() -> None:
    h = Harness(enable_shutdown=True)
    assert h.run(b"shutdown foo\r\n") == b"CLIENT_ERROR invalid shutdown mode\r\n"
    assert h.shutdowns == []
    assert not h.session.closing


# -- misc -----------------------------------------------------------------------------------


def test_quit_keeps_earlier_replies_and_stops(h: Harness) -> None:
    assert h.run(b"version\r\nquit\r\nversion\r\n") == b"VERSION 1.6.18\r\n"
    assert h.session.close_after_write


def test_too_long_key_drops_earlier_replies_of_the_read(h: Harness) -> None:
    h.run(SET_A)
    reply = h.run(b"version\r\ndelete b\r\nget a " + LONG_KEY + b"\r\nget a\r\n")
    assert reply == b"CLIENT_ERROR bad command line format\r\nVALUE a 0 1\r\nx\r\nEND\r\n"


# Found by conformance/test_differential.py: memcached transmits what is queued after every
# completed retrieval command and after mn, so a failing get (or a close) drops only the
# replies queued since then.
@pytest.mark.parametrize(
    ("script", "reply"),
    [
        pytest.param(
            b"get a\r\nget a " + LONG_KEY + b"\r\nget a\r\n",
            b"VALUE a 0 1\r\nx\r\nEND\r\nCLIENT_ERROR bad command line format\r\n"
            b"VALUE a 0 1\r\nx\r\nEND\r\n",
            id="after-get",
        ),
        pytest.param(
            b"version\r\ngets b\r\nversion\r\ngat 0 " + LONG_KEY + b"\r\n",
            b"VERSION 1.6.18\r\nEND\r\nCLIENT_ERROR bad command line format\r\n",
            id="after-gets-drops-later",
        ),
        pytest.param(
            b"version\r\nmn\r\nversion\r\nget " + LONG_KEY + b"\r\n",
            b"VERSION 1.6.18\r\nMN\r\nCLIENT_ERROR bad command line format\r\n",
            id="after-mn",
        ),
        pytest.param(
            b"version\r\nget " + LONG_KEY + b"\r\nversion\r\nget " + LONG_KEY + b"\r\n",
            b"CLIENT_ERROR bad command line format\r\n",
            id="a-failed-get-does-not-flush",
        ),
    ],
)
def test_too_long_key_keeps_replies_flushed_by_get_or_mn(
    h: Harness, script: bytes, reply: bytes
) -> None:
    h.run(SET_A)
    assert h.run(script) == reply


def test_close_keeps_replies_flushed_by_get_or_mn(h: Harness) -> None:
    assert h.run(b"get b\r\nversion\r\nfoo HTTP/1.1\r\n") == b"END\r\n"
    assert h.session.closing


def test_watch_session_ignores_input(h: Harness) -> None:
    assert h.run(b"watch fetchers\r\n") == b"OK\r\n"
    assert h.session.watching
    assert h.run(b"version\r\n") == b""


def test_a_batch_reads_the_clock_unless_its_caller_just_did(h: Harness) -> None:
    """The server updates the store's time once per round of reads and says so: a batch then
    takes the time as it is, where one run on its own reads the clock first."""
    parser = TextParser()
    start = h.time.current_time
    h.advance(5)
    parser.receive_data(b"version\r\n")
    h.dispatcher.execute(parser.commands(), h.session, time_updated=True)
    assert h.time.current_time == h.session.last_cmd_time == start
    parser.receive_data(b"version\r\n")
    h.dispatcher.execute(parser.commands(), h.session)
    assert h.time.current_time == h.session.last_cmd_time == start + 5


@pytest.mark.parametrize("detail", [False, True])
@pytest.mark.parametrize("key", [b"p:here", b"p:gone", b"plain"])
def test_get_one_is_a_batch_of_one_get_run(detail: bool, key: bytes) -> None:
    """The server's shortcut for a read that is one plain get: the replies, counters, detail
    stats and session state of ``execute([GetRun([key])])``."""
    results = []
    for shortcut in (False, True):
        h = Harness()
        h.run(b"set p:here 5 0 1\r\nx\r\nset plain 0 0 2\r\nyz\r\nget plain\r\n")
        if detail:
            h.run(b"stats detail on\r\n")
        h.session.flushed = 99
        if shortcut:
            out = h.dispatcher.get_one(key, h.session)
        else:
            out = h.dispatcher.execute([GetRun(keys=[key])], h.session)
        dump = h.run(b"stats detail dump\r\n")
        session = (h.session.flushed, h.session.fresh, h.session.last_cmd_time)
        results.append((b"".join(out), h.counters(), dump, session))
    assert results[0] == results[1]
    counted = detail and b":" in key  # a key without the delimiter has no prefix to count
    assert results[1][0].endswith(b"END\r\n") and (results[1][2] != b"END\r\n") == counted


def test_get_one_answers_nothing_to_a_watcher(h: Harness) -> None:
    h.session.watching = True
    assert h.dispatcher.get_one(b"k", h.session) == []
    assert h.counters()["cmd_get"] == 0
