"""The text parser as tables: bytes in, commands out (every case mirrors real memcached)."""

from __future__ import annotations

import pytest

from pymcd.protocol import NEED_DATA, TextParser
from pymcd.protocol import responses as R
from pymcd.protocol.commands import (
    Admin,
    Arithmetic,
    CacheMemlimit,
    Close,
    Command,
    DebugTime,
    Delete,
    Flush,
    FlushAll,
    Get,
    GetAndTouch,
    GetRun,
    Quit,
    Reply,
    Shutdown,
    Stats,
    Store,
    StoreTooLarge,
    Touch,
    Verbosity,
    Version,
    unfold,
)
from pymcd.results import StoreMode

ERROR = Reply(data=R.ERROR)
BAD_FORMAT = Reply(data=R.BAD_FORMAT)
SILENT = Reply(data=b"")


def parse(data: bytes, **kwargs: object) -> list[Command]:
    """The commands of ``data``, plain gets one per line (see test_protocol_text_scan for
    the GetRun that carries them)."""
    parser = TextParser(**kwargs)  # type: ignore[arg-type]
    parser.receive_data(data)
    return unfold(parser.commands())


def parse_bytewise(data: bytes) -> list[Command]:
    """The commands of ``data`` fed one byte per read, without the Flush marks that data
    blocks spanning reads add (test_flush_after_a_block_that_needed_more_reads)."""
    parser = TextParser()
    out: list[Command] = []
    for i in range(len(data)):
        parser.receive_data(data[i : i + 1])
        out.extend(c for c in unfold(parser.commands()) if type(c) is not Flush)
    return out


CASES: list[tuple[bytes, list[Command]]] = [
    # retrieval
    (b"get a\r\n", [Get(keys=[b"a"])]),
    (b"get a b  c \r\n", [Get(keys=[b"a", b"b", b"c"])]),
    (b"gets a\n", [Get(keys=[b"a"], with_cas=True)]),
    (b"bget a\r\n", [Get(keys=[b"a"])]),
    (b"get\r\n", [ERROR]),
    (b"gat 10 a b\r\n", [GetAndTouch(exptime=10, keys=[b"a", b"b"])]),
    (b"gats -1 a\r\n", [GetAndTouch(exptime=-1, keys=[b"a"], with_cas=True)]),
    (b"gat 10\r\n", [GetAndTouch(exptime=10, keys=[])]),
    (b"gat x a\r\n", [Reply(data=R.INVALID_EXPTIME)]),
    (b"get a " + b"k" * 251 + b" b\r\n", [Get(keys=[b"a"], key_too_long=True)]),
    (b"get " + b"k" * 250 + b"\r\n", [Get(keys=[b"k" * 250])]),
    (b"gex a\r\n", [ERROR]),
    # storage
    (
        b"set k 5 0 3\r\nabc\r\n",
        [Store(mode=StoreMode.SET, key=b"k", flags=5, exptime=0, data=b"abc\r\n")],
    ),
    (
        b"cas k 0 0 1 99 noreply\r\nx\r\n",
        [
            Store(
                mode=StoreMode.CAS,
                key=b"k",
                flags=0,
                exptime=0,
                data=b"x\r\n",
                cas_unique=99,
                noreply=True,
            )
        ],
    ),
    (
        b"set k 4294967297 0 1\r\nx\r\n",
        [Store(mode=StoreMode.SET, key=b"k", flags=1, exptime=0, data=b"x\r\n")],
    ),
    (
        b"set k 0 0 3\r\nabcde\r\n",
        [
            Store(
                mode=StoreMode.SET,
                key=b"k",
                flags=0,
                exptime=0,
                data=b"abcde"[:3] + b"de",
                bad_chunk=True,
            ),
            ERROR,
        ],
    ),
    (b"set k 0 0 -1\r\n", [BAD_FORMAT]),
    (b"set k 0 0 x noreply\r\n", [SILENT]),
    (b"set k 0 0\r\n", [ERROR]),
    (b"set k 0 0 1 noreply extra\r\n", [ERROR]),
    (b"set " + b"k" * 251 + b" 0 0 1\r\nx\r\n", [BAD_FORMAT, ERROR]),
    (
        b"add k 0 0 0\r\n\r\n",
        [Store(mode=StoreMode.ADD, key=b"k", flags=0, exptime=0, data=b"\r\n")],
    ),
    (b"set k 0 0 2000000\r\n", []),  # answered once the 2 MB are swallowed
    # others
    (b"delete k\r\n", [Delete(key=b"k")]),
    (b"delete k 0\r\n", [Delete(key=b"k")]),
    (b"delete k noreply\r\n", [Delete(key=b"k", noreply=True)]),
    (b"delete k 0 noreply\r\n", [Delete(key=b"k", noreply=True)]),
    (b"delete k 1\r\n", [Reply(data=R.DELETE_USAGE)]),
    (b"delete k 0 0\r\n", [Reply(data=R.DELETE_USAGE)]),
    (b"delete k 1 noreply\r\n", [SILENT]),
    (b"delete k 0 noreply x\r\n", [ERROR]),
    (b"incr k 5\r\n", [Arithmetic(key=b"k", delta=5, incr=True)]),
    (b"decr k 5 noreply\r\n", [Arithmetic(key=b"k", delta=5, incr=False, noreply=True)]),
    (b"incr k -1\r\n", [Reply(data=R.INVALID_DELTA)]),
    (b"incr k\r\n", [ERROR]),
    (b"touch k 10\r\n", [Touch(key=b"k", exptime=10)]),
    (b"touch k x\r\n", [Reply(data=R.INVALID_EXPTIME)]),
    (b"flush_all\r\n", [FlushAll()]),
    (b"flush_all \r\n", [FlushAll()]),
    (b"flush_all 10 noreply\r\n", [FlushAll(delay=10, noreply=True)]),
    (b"flush_all noreply\r\n", [FlushAll(noreply=True)]),
    (b"flush_all x\r\n", [FlushAll(bad_delay=True)]),
    (b"flush_all 1 2 3\r\n", [ERROR]),
    (b"version\r\n", [Version()]),
    (b"version HTTP/1.1\r\n", [Version()]),
    (b"verbosity 1\r\n", [Verbosity(level=1)]),
    (b"verbosity\r\n", [ERROR]),
    (b"verbosity x noreply\r\n", [SILENT]),
    (b"quit\r\n", [Quit()]),
    (b"shutdown\r\n", [Shutdown()]),
    (b"shutdown graceful\r\n", [Shutdown(graceful=True)]),
    (b"shutdown now\r\n", [Shutdown(valid=False)]),
    (b"cache_memlimit 64\r\n", [CacheMemlimit(megabytes=64)]),
    (b"cache_memlimit x\r\n", [ERROR]),
    (b"stats\r\n", [Stats()]),
    (b"stats \r\n", [Stats()]),
    (b"stats detail on\r\n", [Stats(args=(b"detail", b"on"))]),
    (b"debugtime 10\r\n", [ERROR]),  # only with --debugtime
    (b"mn\r\n", [Reply(data=R.MN)]),
    # bogus input
    (b"\r\n", [ERROR]),
    (b"\n", [ERROR]),
    (b"x\r\n", [ERROR]),
    (b"foo\r\n", [ERROR]),
    (b"get\ta\r\n", [ERROR]),  # only spaces separate tokens
    (b"version\0junk\r\n", [Version()]),  # memcached works on C strings
    (b"GET / HTTP/1.1\r\nversion\r\n", [Close(reason="http request")]),
    (b"foo HTTP/1.0\r\n", [Close(reason="http request")]),
    (b"get / HTTP/1.1\r\n", [Get(keys=[b"/", b"HTTP/1.1"])]),
    (b"gx / HTTP/1.1\r\n", [ERROR]),
    (
        b"lru_crawler metadump all\r\n",
        [Admin(tokens=(b"lru_crawler", b"metadump", b"all"), ntokens=4)],
    ),
    (b"watch\r\n", [Admin(tokens=(b"watch",), ntokens=2)]),
    (b"slabs reassign 1 2\r\n", [Admin(tokens=(b"slabs", b"reassign", b"1", b"2"), ntokens=5)]),
    (b"set " + b" ".join([b"x"] * 30) + b"\r\n", [ERROR]),  # too many tokens
]


@pytest.mark.parametrize(("data", "expected"), CASES, ids=[repr(c[0][:40]) for c in CASES])
def test_parse(data: bytes, expected: list[Command]) -> None:
    assert parse(data) == expected


@pytest.mark.parametrize(("data", "expected"), CASES, ids=[repr(c[0][:40]) for c in CASES])
def test_parse_byte_by_byte(data: bytes, expected: list[Command]) -> None:
    if b"2000000" in data:
        pytest.skip("swallowing is covered separately")
    assert parse_bytewise(data) == expected


def test_debugtime_opt_in() -> None:
    assert parse(b"debugtime 10\r\n", debugtime_enabled=True) == [DebugTime(seconds=10)]


def test_need_data_until_the_block_is_complete() -> None:
    parser = TextParser()
    parser.receive_data(b"set k 0 0 5\r\nab")
    assert parser.next_command() is NEED_DATA
    parser.receive_data(b"cde\r")
    assert parser.next_command() is NEED_DATA
    parser.receive_data(b"\nget k\r\n")
    assert parser.commands() == [
        Store(mode=StoreMode.SET, key=b"k", flags=0, exptime=0, data=b"abcde\r\n"),
        Flush(),
        GetRun(keys=[b"k"]),
    ]


def test_too_large_block_is_swallowed_without_buffering() -> None:
    parser = TextParser(item_size_max=1024)
    parser.receive_data(b"set k 0 0 5000\r\n")
    assert parser.commands() == []
    for _ in range(5):
        parser.receive_data(b"x" * 1000)
        assert parser.commands() == []
        assert parser.buffered == 0
    parser.receive_data(b"\r\nversion\r\n")
    assert parser.commands() == [StoreTooLarge(mode=StoreMode.SET, key=b"k"), Flush(), Version()]


def test_long_line_without_newline_closes() -> None:
    parser = TextParser()
    parser.receive_data(b"set " + b"k" * 2100)
    assert parser.commands() == [Close(reason="line too long")]
    parser.receive_data(b"\r\nversion\r\n")
    assert parser.commands() == []


def test_long_get_line_keeps_reading() -> None:
    keys = [b"key%04d" % i for i in range(2000)]
    line = b"get " + b" ".join(keys) + b"\r\n"
    parser = TextParser()
    for i in range(0, len(line), 1000):
        parser.receive_data(line[i : i + 1000])
    assert parser.commands() == [Get(keys=keys)]


def test_get_line_over_the_cap_closes() -> None:
    parser = TextParser(max_get_line=4096)
    parser.receive_data(b"get " + b"k " * 3000)
    assert parser.commands() == [Close(reason="line too long")]


def test_leading_spaces_before_a_long_get() -> None:
    parser = TextParser()
    parser.receive_data(b" " * 50 + b"get " + b"k " * 2000)
    assert parser.commands() == []
    parser.receive_data(b"\r\n")
    assert parser.commands() == [Get(keys=[b"k"] * 2000)]


def test_eof_returns_buffered_commands_then_close() -> None:
    parser = TextParser()
    parser.receive_data(b"version\r\nget k")
    parser.receive_data(b"")
    assert parser.commands() == [Version(), Close(reason="eof")]
    assert parser.next_command() is NEED_DATA


def test_split_between_cr_and_lf() -> None:
    parser = TextParser()
    parser.receive_data(b"version\r")
    assert parser.commands() == []
    parser.receive_data(b"\nversion\r\n")
    assert parser.commands() == [Version(), Version()]


def test_flush_after_a_block_that_needed_more_reads() -> None:
    """memcached reads the rest of a block straight from the socket and writes its replies
    before it reads on, so what the block's command answered is never dropped later."""
    parser = TextParser()
    parser.receive_data(b"set k 0 0 5\r\nab")
    assert parser.commands() == []
    parser.receive_data(b"cde\r\nget k\r\n")
    assert parser.commands() == [
        Store(mode=StoreMode.SET, key=b"k", flags=0, exptime=0, data=b"abcde\r\n"),
        Flush(),
        GetRun(keys=[b"k"]),
    ]
    parser.receive_data(b"ms k 5 MX\r\nab")
    assert parser.commands() == []  # the error waits until the block is swallowed
    parser.receive_data(b"cde\r\nmn\r\n")
    assert parser.commands() == [Reply(data=R.META_SET_BAD_MODE), Flush(), Reply(data=R.MN)]
    parser.receive_data(b"set k 0 0 1\r\nx\r\nget k\r\n")  # whole in one read: no Flush
    assert [type(c) for c in parser.commands()] == [Store, GetRun]
