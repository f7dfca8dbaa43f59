"""TextParser.commands() (the server's hot path, which scans whole lines at once) against
next_command() one command at a time, the reference: same commands, same logged lines, for
any command stream cut into reads at any points."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pymcd.protocol import NEED_DATA, TextParser, text
from pymcd.protocol.commands import Command, Get, GetRun, Store, Version, unfold
from pymcd.results import StoreMode

KEY = st.sampled_from([b"k", b"a b", b"k" * 250, b"k" * 251, b"k\0x", b"k\rx", b"k\r", b""])
NUMBER = st.sampled_from(
    [b"0", b"1", b"5", b"-1", b"x", b"4294967297", b"2000000", b"0012", b"999999999", b"+3"]
)
STORAGE = st.builds(
    lambda verb, k, flags, n, size, tail, block: (
        verb + b" " + k + b" " + flags + b" " + n + b" " + size + tail + b"\r\n" + block
    ),
    st.sampled_from([b"set", b"set", b"add", b"cas", b"append"]),
    KEY,
    NUMBER,
    NUMBER,
    st.sampled_from([b"1", b"3", b"0", b"-1", b"x", b"70", b"2000000"]),
    st.sampled_from([b"", b" noreply", b" 7", b" 7 noreply"]),
    st.sampled_from([b"x", b"xyz", b"", b"x" * 70]),  # often the declared size: a block
)
LINE = st.one_of(
    STORAGE,
    STORAGE,
    STORAGE,
    st.builds(lambda k: b"get " + k, KEY),
    st.builds(lambda ks: b"gets " + b" ".join(ks), st.lists(KEY, max_size=4)),
    st.builds(lambda k, e: b"gat " + e + b" " + k, KEY, NUMBER),
    st.builds(
        lambda k, size, flags: b"ms " + k + b" " + size + flags,
        KEY,
        st.sampled_from([b"1", b"3", b"2000", b"x", b""]),
        st.sampled_from([b"", b" q", b" F", b" F1 T5", b" !", b" I", b" MX"]),
    ),
    st.builds(lambda k, f: b"mg " + k + f, KEY, st.sampled_from([b"", b" v", b" k q"])),
    st.sampled_from(
        [b"version", b"quit", b"mn", b"", b" ", b"  get  k  ", b"GET / HTTP/1.1", b"stats"]
    ),
)
BLOCK = st.sampled_from([b"x", b"xyz", b"", b"\r\n", b"x" * 70, b"abc\r\nget k"])
ENDING = st.sampled_from([b"\r\n", b"\n", b"\r\r\n"])
STREAM = st.lists(st.tuples(LINE, ENDING, st.one_of(st.none(), BLOCK)), max_size=12).map(
    lambda parts: b"".join(
        line + end + (b"" if block is None else block + b"\r\n") for line, end, block in parts
    )
)


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


def _by_commands(reads: list[bytes], logged: bool) -> tuple[list[Command], list[bytes]]:
    parser = TextParser(item_size_max=64)
    parser.lines = [] if logged else None
    out: list[Command] = []
    for data in [*reads, b""]:
        parser.receive_data(data)
        commands = parser.commands()
        single = unfold(commands)
        assert len(single) == len(commands) + parser.folded_gets
        out.extend(single)
    return out, parser.lines or []


def _by_next_command(reads: list[bytes], logged: bool) -> tuple[list[Command], list[bytes]]:
    parser = TextParser(item_size_max=64)
    parser.lines = [] if logged else None
    out: list[Command] = []
    for data in [*reads, b""]:
        parser.receive_data(data)
        while (command := parser.next_command()) is not NEED_DATA:
            out.append(command)  # type: ignore[arg-type]
    return out, parser.lines or []


@settings(max_examples=1000, deadline=None)
@given(STREAM, st.lists(st.integers(min_value=0, max_value=400), max_size=6), st.booleans())
def test_commands_match_next_command(data: bytes, cuts: list[int], logged: bool) -> None:
    reads = _split(data, cuts)
    assert _by_commands(reads, logged) == _by_next_command(reads, logged)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(STORAGE, min_size=1, max_size=6).map(lambda cmds: b"\r\n".join(cmds) + b"\r\n"),
    st.lists(st.integers(min_value=0, max_value=300), max_size=3),
)
def test_storage_commands_match_next_command(data: bytes, cuts: list[int]) -> None:
    reads = _split(data, cuts)
    assert _by_commands(reads, False) == _by_next_command(reads, False)


GET_RUN_LINE = st.one_of(
    *[st.builds(lambda k: b"get " + k + b"\r\n", KEY)] * 6,
    st.builds(lambda k: b"get " + k + b"\n", KEY),
    st.sampled_from([b"set k 0 0 1\r\nx\r\n", b"delete k\r\n", b"gets k\r\n", b"get\r\n"]),
    st.sampled_from([b"set k 0 0 1\r\n\nset \r\n", b"get k\x00\r\n", b"get k k\r\n"]),
)


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(GET_RUN_LINE, max_size=10).map(b"".join),
    st.lists(st.integers(min_value=0, max_value=300), max_size=3),
)
def test_runs_of_gets_match_next_command(data: bytes, cuts: list[int]) -> None:
    """Mostly CRLF get lines: the runs the hot loop cuts at their separators, and every way
    such a run can fail to be one (odd keys, LF endings, a set or another command inside)."""
    reads = _split(data, cuts)
    assert _by_commands(reads, False) == _by_next_command(reads, False)


def test_a_run_of_gets_longer_than_a_cut_is_read_whole() -> None:
    keys = [b"k%05d" % i for i in range(12000)]  # 120 KB of get lines, then a set
    data = b"".join(b"get " + key + b"\r\n" for key in keys) + b"set k 0 0 1\r\nx\r\n"
    parser = TextParser()
    parser.receive_data(data)
    commands = parser.commands()
    assert commands == [
        GetRun(keys=keys),
        Store(mode=StoreMode.SET, key=b"k", flags=0, exptime=0, data=b"x\r\n"),
    ]


def test_a_failed_cut_of_a_get_run_is_not_retried_in_the_same_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each cut may scan far ahead (to the next set line or the read's end): after one fails,
    the read's other get lines go to the regex, so a read of get lines between other commands
    costs linear time, not a scan per line."""
    cuts: list[bytes] = []
    cut = text._crlf_get_keys

    def counting(buf: bytes, start: int, stop: int) -> list[bytes] | None:
        cuts.append(buf[start:stop])
        return cut(buf, start, stop)

    monkeypatch.setattr(text, "_crlf_get_keys", counting)
    parser = TextParser()
    parser.receive_data(b"get a\r\nversion\r\n" * 2000)
    commands = parser.commands()
    assert commands == [GetRun(keys=[b"a"]), Version()] * 2000
    assert len(cuts) == 1


def test_single_key_get_shortcut_edges() -> None:
    parser = TextParser()
    parser.receive_data(b"get k\r\nget " + b"k" * 251 + b"\r\nget  k\r\nget k \r\nget\r\n")
    commands = parser.commands()
    assert commands[:4] == [
        GetRun(keys=[b"k"]),
        Get(keys=[], key_too_long=True),
        Get(keys=[b"k"]),
        Get(keys=[b"k"]),
    ]
    assert len(commands) == 5  # "get" alone: ERROR


# A read that is one get line, and its near misses.
ONE_LINE_READS = [
    b"get k\r\n",
    b"get " + b"k" * 250 + b"\r\n",
    b"get " + b"k" * 251 + b"\r\n",
    b"get \r\n",
    b"get k\rx\r\n",
    b"get k\r\r\n",
    b"get k\0x\r\n",
    b"get k\n",
    b"get k x\r\n",
    b"get k\r\nget j\r\n",
    b"get k\nx\r\n",
    b"gets k\r\n",
]


@pytest.mark.parametrize("read", ONE_LINE_READS)
@pytest.mark.parametrize(
    "before", [b"", b"get a\r\n", b"get a\r\nge", b"set k 0 0 3\r\nab", b"quit\r\n", b"x" * 3000]
)
def test_single_get_takes_a_read_exactly_when_commands_would_give_one_get(
    read: bytes, before: bytes
) -> None:
    """The server's shortcut for a read that is one plain get: the key when receive_data and
    commands would give ``[GetRun([key])]``, else None with the parser untouched."""
    reference, parser = TextParser(), TextParser()
    for p in (reference, parser):
        p.receive_data(before)
    assert parser.commands() == reference.commands()
    reference.receive_data(read)
    expected = reference.commands()
    key = parser.single_get(read)
    if key is None:
        parser.receive_data(read)
        assert parser.commands() == expected
    else:
        assert expected == [GetRun(keys=[key])] and parser.folded_gets == 0
    for p in (reference, parser):  # and both go on alike
        p.receive_data(b"get z\r\n")
    assert parser.commands() == reference.commands()
    assert parser.buffered == reference.buffered


def test_single_get_takes_the_plain_one_line_gets() -> None:
    assert TextParser().single_get(b"get k\r\n") == b"k"
    assert TextParser().single_get(b"get k\r\r\n") == b"k\r"  # memcached splits at spaces
    logged = TextParser()
    logged.lines = []
    assert logged.single_get(b"get k\r\n") is None  # -vv logs each line: the general path


@pytest.mark.parametrize("read", ONE_LINE_READS)
@pytest.mark.parametrize("logged", [False, True])
def test_a_read_of_one_get_line(read: bytes, logged: bool) -> None:
    """The shortcut for a read that is one ``get <key>`` line, and its near misses."""
    assert _by_commands([read], logged) == _by_next_command([read], logged)
    after_a_partial_line = [b"get a\r\nge", b"t b\r\n" + read]
    assert _by_commands(after_a_partial_line, logged) == _by_next_command(
        after_a_partial_line, logged
    )


def test_reads_adopted_as_the_buffer_keep_partial_lines() -> None:
    parser = TextParser()
    parser.receive_data(b"get a\r\nge")
    assert parser.commands() == [GetRun(keys=[b"a"])]
    parser.receive_data(b"t b\r\n")
    assert parser.commands() == [GetRun(keys=[b"b"])]
    assert parser.buffered == 0


def test_consecutive_gets_fold_into_one_run() -> None:
    parser = TextParser()
    parser.receive_data(b"get a\r\nget b\nget c\r\nset k 0 0 1\r\nx\r\nget d\r\nget e\r\nget")
    commands = parser.commands()
    assert commands == [
        GetRun(keys=[b"a", b"b", b"c"]),
        Store(mode=StoreMode.SET, key=b"k", flags=0, exptime=0, data=b"x\r\n"),
        GetRun(keys=[b"d", b"e"]),
    ]
    assert parser.folded_gets == 3
    parser.receive_data(b" f\r\n")
    assert parser.commands() == [GetRun(keys=[b"f"])]  # a run of one
    assert parser.folded_gets == 0
    assert unfold([GetRun(keys=[b"f"])]) == [Get(keys=[b"f"])]


@pytest.mark.parametrize(
    "endings",
    [
        [b"\r\n"] * 4,  # cut at CRLF "get "
        [b"\n"] * 4,
        [b"\r\n", b"\r\n", b"\r\n", b"\n"],  # the last line only in LF
        [b"\n", b"\r\n", b"\r\n", b"\r\n"],
        [b"\r\n", b"\n", b"\r\n", b"\r\n"],
    ],
)
def test_a_run_of_gets_has_its_keys_whatever_the_line_endings(endings: list[bytes]) -> None:
    keys = [b"a", b"bget", b"get", b"d" * 250]  # keys that look like the separator's tail
    data = b"".join(b"get " + key + end for key, end in zip(keys, endings, strict=True))
    parser = TextParser()
    parser.receive_data(data + b"version\r\n")
    assert parser.commands()[0] == GetRun(keys=keys)
