"""Meta protocol unit tests: the parser's byte table, base64 keys, and the dispatcher's replies.

Expected bytes were recorded from Debian's memcached 1.6.18 (the same lines sent to the real
binary); conformance/test_meta.py checks the same behaviours over a socket against both.
"""

from __future__ import annotations

import base64

import pytest

from pymcd.protocol import responses as R
from pymcd.protocol.commands import (
    MetaArithmetic,
    MetaDebug,
    MetaDelete,
    MetaGet,
    MetaSet,
    Reply,
)
from pymcd.protocol.meta import decode_key, encode_key
from pymcd.protocol.text import TextParser
from pymcd.results import StoreMode
from tests.test_dispatch import Harness


def parse(data: bytes) -> list[object]:
    parser = TextParser(item_size_max=1024 * 1024)
    parser.receive_data(data)
    return list(parser.commands())


def reply(data: bytes) -> Reply:
    return Reply(data=data)


# -- the parser ---------------------------------------------------------------------------------


def test_mg_parses_flags_in_order() -> None:
    [command] = parse(b"mg foo v k O12 q T30 h\r\n")
    assert command == MetaGet(
        key=b"foo",
        key_binary=False,
        flags=(b"v", b"k", b"O12", b"q", b"T30", b"h"),
        value=True,
        no_update=False,
        locked=True,
        quiet=True,
        ttl=30,
        vivify_ttl=None,
        recache_ttl=None,
    )


def test_ms_reads_its_block_and_folds_cas_into_cas_mode() -> None:
    [command] = parse(b"ms foo 2 T10 F5 C7 I c\r\nhi\r\n")
    assert command == MetaSet(
        key=b"foo",
        key_binary=False,
        flags=(b"T10", b"F5", b"C7", b"I", b"c"),
        mode=StoreMode.CAS,
        client_flags=5,
        ttl=10,
        cas=7,
        invalidate=True,
        quiet=False,
        data=b"hi\r\n",
    )
    [append] = parse(b"ms foo 1 MA C7 I\r\nx\r\n")
    assert isinstance(append, MetaSet)
    assert (append.mode, append.invalidate) == (StoreMode.APPEND, False)


def test_ms_bad_chunk_and_too_large() -> None:
    bad = parse(b"ms foo 2\r\nhiX\r\n")[0]
    assert isinstance(bad, MetaSet) and bad.bad_chunk and bad.data == b"hiX\r"
    big = 2 * 1024 * 1024
    commands = parse(b"ms foo %d T5\r\n" % big + b"z" * (big + 2) + b"mn\r\n")
    assert isinstance(commands[0], MetaSet) and commands[0].too_large
    assert commands[1] == reply(R.MN)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"mg\r\n", R.ERROR),
        (b"ms\r\n", R.ERROR),
        (b"md\r\n", R.ERROR),
        (b"ma\r\n", R.ERROR),
        (b"me\r\n", R.BAD_FORMAT),
        (b"mz foo\r\n", R.ERROR),
        (b"mg " + b"k" * 251 + b"\r\n", R.BAD_FORMAT),
        (b"mg foo zz\r\n", R.META_INVALID_FLAG),
        (b"mg foo v v\r\n", R.META_DUPLICATE_FLAG),
        (b"mg foo \xffx\r\n", R.META_DUPLICATE_FLAG),
        (b"mg foo Tx\r\n", R.META_BAD_TOKEN),
        (b"mg foo Tx zz\r\n", R.META_INVALID_FLAG),  # an unknown flag stops at once
        (b"mg !!!! b\r\n", R.META_KEY_DECODE),
        (b"mg foo " + b" ".join(b"O%d" % i for i in range(18)) + b"\r\n", R.META_FLAGS_TOO_LONG_MG),
        (b"md foo " + b" ".join(b"O%d" % i for i in range(18)) + b"\r\n", R.META_FLAGS_TOO_LONG),
        (b"md foo zz\r\n", R.META_INVALID_OR_DUPLICATE),
        (b"md foo O" + b"x" * 32 + b"\r\n", R.META_OPAQUE_TOO_LONG),
        (b"ma foo Mx\r\n", R.META_ARITHMETIC_BAD_MODE),
        (b"ma foo Jx\r\n", R.META_INVALID_OR_DUPLICATE),
        (b"ms foo\r\n", R.BAD_FORMAT),
        (b"ms foo abc\r\n", R.BAD_FORMAT),
        (b"ms foo -1\r\n", R.BAD_FORMAT),
    ],
)
def test_line_errors(line: bytes, expected: bytes) -> None:
    assert parse(line)[0] == reply(expected)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"ms foo 2 MX\r\n", R.META_SET_BAD_MODE),
        (b"ms foo 2 MSS\r\n", R.META_M_LENGTH),
        (b"ms foo 2 Fx\r\n", R.BAD_FORMAT),  # a bad F keeps the generic message
        (b"ms foo 2 Dx\r\n", R.META_BAD_DELTA),
        (b"ms foo 2 Jx\r\n", R.META_BAD_INITIAL),
        (b"ms foo 2 O" + b"x" * 32 + b"\r\n", R.META_OPAQUE_TOO_LONG),
        (b"ms foo 2 MX O" + b"x" * 32 + b"\r\n", R.META_SET_BAD_MODE),  # mode is checked first
    ],
)
def test_ms_errors_swallow_the_block(line: bytes, expected: bytes) -> None:
    assert parse(line + b"hi\r\nmn\r\n") == [reply(expected), reply(R.MN)]


def test_ms_line_errors_leave_the_block_to_be_parsed() -> None:
    flags = b" ".join(b"O%d" % i for i in range(17))
    assert parse(b"ms foo 2 " + flags + b"\r\nhi\r\n") == [
        reply(R.META_FLAGS_TOO_LONG),
        reply(R.ERROR),
    ]


def test_md_ma_me_commands() -> None:
    assert parse(b"md foo C5 I T30 q\r\n") == [
        MetaDelete(
            key=b"foo",
            key_binary=False,
            flags=(b"C5", b"I", b"T30", b"q"),
            cas=5,
            invalidate=True,
            ttl=30,
            quiet=True,
        )
    ]
    assert parse(b"ma foo MD D5 N0 J3 v\r\n") == [
        MetaArithmetic(
            key=b"foo",
            key_binary=False,
            flags=(b"MD", b"D5", b"N0", b"J3", b"v"),
            incr=False,
            delta=5,
            initial=3,
            vivify_ttl=0,
            ttl=None,
            cas=0,
            quiet=False,
            value=True,
        )
    ]
    assert parse(b"me Zm9v b\r\nme foo c\r\nme foo b\r\n") == [
        MetaDebug(key=b"foo"),
        MetaDebug(key=b"foo"),
        reply(R.BAD_FORMAT),  # "foo" is not base64
    ]


# -- base64 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decoded"),
    [
        (b"Zm9v", b"foo"),
        (b"Zm8=", b"fo"),
        (b"Zg==", b"f"),
        (b"Zg==Zm9v", b"f"),  # decoding stops at the first padded block
        (b"Zm!9v", b"foo"),  # characters outside the alphabet are skipped
        (b"Zm9", None),  # not a multiple of four
        (b"!!!!", None),
        (b"Z===", None),  # three pad characters
        (b"", None),
    ],
)
def test_memcached_base64_decoder(text: bytes, decoded: bytes | None) -> None:
    assert decode_key(text) == decoded
    if decoded is not None and text == base64.b64encode(decoded):
        assert encode_key(decoded) == text


# -- the dispatcher -----------------------------------------------------------------------------


def test_mg_renders_flags_and_tokens() -> None:
    h = Harness()
    assert h.run(b"set a 5 0 3\r\nabc\r\n") == b"STORED\r\n"
    assert h.run(b"mg a s v f t c k O123 q h l\r\n") == (
        b"VA 3 s3 f5 t-1 c1 ka O123 h0 l0\r\nabc\r\n"
    )
    assert h.run(b"mg b q\r\nmg b k O1 v\r\nmn\r\n") == b"EN kb O1\r\nMN\r\n"
    assert h.run(b"mg v N30 c t\r\nmg v N30 c t\r\nmd v I\r\nmg v c\r\nmg v c\r\n") == (
        b"HD c2 t30 W\r\nHD c2 t30 Z\r\nHD\r\nHD c3 X W\r\nHD c3 Z X\r\n"
    )


def test_ms_md_ma_replies_and_quiet_mode() -> None:
    h = Harness()
    assert h.run(b"ms k 2 c k O9 F7\r\nhi\r\nms k 2 C99 c\r\nyo\r\nms k 2 q ME\r\nhi\r\n") == (
        b"HD c1 kk O9\r\nEX c0\r\nNS\r\n"
    )
    assert h.run(b"md k q\r\nmd k q\r\n") == b"NF\r\n"
    assert h.run(b"ma n q\r\nma n q N0 J10 v\r\nma n q v\r\nmg n v\r\n") == (
        b"NF\r\nVA 2\r\n10\r\nVA 2\r\n11\r\n"
    )
    assert h.run(b"set t 0 0 2\r\n99\r\nma t v T30 t\r\nmg t t\r\n") == (
        b"STORED\r\nVA 3 t30\r\n100\r\nHD t-1\r\n"
    )


def test_me_and_binary_keys() -> None:
    h = Harness()
    encoded = base64.b64encode(b"bin\x00key")
    assert h.run(b"ms " + encoded + b" 2 b k\r\nhi\r\n") == b"HD k" + encoded + b" b\r\n"
    assert h.run(b"me " + encoded + b" b\r\n") == (
        b"ME " + encoded + b" exp=-1 la=0 cas=1 fetch=no cls=1 size=68\r\n"
    )
    assert h.run(b"me nothing\r\n") == b"EN\r\n"
    assert h.stats()["cmd_meta"] == "2"


def test_meta_counters() -> None:
    h = Harness()
    h.run(b"set a 0 0 1\r\n1\r\n")
    before = h.stats()
    h.run(b"mg a\r\nmg b\r\nmg a T10\r\nmd c\r\nma a\r\nma z MD\r\nms a 1\r\n2\r\n")
    after = h.stats()
    changed = {
        name: int(after[name]) - int(before[name])
        for name in after
        if name in before and after[name].isdigit() and after[name] != before[name]
    }
    for name in ("uptime", "time", "bytes_read", "bytes_written", "total_items", "moves_to_cold"):
        changed.pop(name, None)
    assert changed == {
        "cmd_get": 2,
        "get_hits": 1,
        "get_misses": 1,
        "cmd_touch": 1,
        "touch_hits": 1,
        "delete_misses": 1,
        "incr_hits": 1,
        "decr_misses": 1,
        "cmd_set": 1,
    }
