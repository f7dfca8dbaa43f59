"""Differential fuzzing: one random command stream, pymcd and real memcached, identical replies.

A Hypothesis ``RuleBasedStateMachine`` opens one raw socket to a pymcd and one to a real
memcached (both started here with the same flags) and sends both the same bytes: every classic
text command with random flags, exptimes, values, cas uniques, noreply, malformed lines, long
lines, pipelines, commands split across packets and across steps; the meta commands with
random flag sets (see "meta commands" below). After each step it compares the two reply
streams byte for byte, after normalising only what may legitimately differ (see
``normalise``). A difference fails with Hypothesis' shrunk command sequence.

How a step's replies are delimited: after the step's bytes the machine sends the sentinel
``mg sentinel OEND\\r\\n`` (a meta get of a key no rule creates) and reads until the reply ends
with its answer ``EN OEND\\r\\n``. No other reply can: keys, values, opaques and junk are built
from lowercase letters, digits and separators (base64 keys are only echoed after ``k``). Not
``mn``: the stream itself sends ``mn`` (after quiet meta commands), and an extra ``MN`` would end
a step's reply early. If a server is still waiting for bytes (a data block announced longer
than sent, a line without its newline), neither answers within ``WAIT`` seconds; the machine
then sends another sentinel to both, up to ``ROUNDS`` times, and if still stuck compares what
arrived and reconnects both.

Budget: ``CI_EXAMPLES`` examples of up to ``STEPS`` steps (about a minute); run longer with
``python -m pytest conformance/test_differential.py --fuzz-examples 20000``. It runs under
``--target pymcd`` only: it starts its own pymcd and memcached (``-I 2k`` so values near the
item size cap are cheap), so another target adds nothing.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from .conftest import MemcachedProcess, PymcdServer, Target

CI_EXAMPLES = 150  # about a minute
STEPS = 40
WAIT = 0.4  # seconds a stuck server gets before the machine sends another sentinel
ROUNDS = 4
SENTINEL = b"mg sentinel OEND\r\n"
SENTINEL_REPLY = b"EN OEND\r\n"
PAUSE = 0.003  # between the pieces of a split command, so each piece is its own read

# Both servers: a 2 KB item size cap (memcached also needs slab_chunk_max <= -I).
FLAGS = ("-I", "2k", "-o", "slab_chunk_max=2048")
ITEM_SIZE_MAX = 2048
ITEM_HEADER = 59  # an item of key k and value v fits iff 59 + len(k) + len(v) (+4 with flags)


# ---------------------------------------------------------------------------------------------
# the command language: a command is a tuple of parts; bytes are sent as they are, a CasRef is
# replaced, per server, by that server's own i-th cas unique seen so far (negative: from the end)


@dataclass(frozen=True)
class CasRef:
    index: int


Part = bytes | CasRef
Cmd = tuple[Part, ...]

# A small key space so keys collide; plus a 250-byte key (the longest allowed) and a 251-byte one.
KEY250 = b"k" * 250
KEY251 = b"k" * 251
KEYS = (b"a", b"b", b"c", b"n", KEY250)
keys = st.sampled_from(KEYS[:4]) | st.sampled_from([KEY250, KEY251])

# Exptimes: never a small positive relative one (1 .. ~1000) or an absolute one near now. The
# two servers' clocks tick independently, so whether such an item is alive at the next step is
# genuine non-determinism; test_expiry.py covers those with a moved or awaited clock. A sign
# is no junk to strtol: "+10000" is 10000 ("+5" made 5-second items).
FAR_FUTURE = int(time.time()) + 10_000_000
exptimes = (
    st.sampled_from(
        [b"0", b"-1", b"-1000", b"10000", b"2592000", b"2592001", b"1000000000", b"%d" % FAR_FUTURE]
    )
    | st.sampled_from(
        [b"x", b"", b"1x", b"+10000", b"2147483647", b"2147483648", b"-2147483648", b"-2147483649"]
    )
    | st.sampled_from([b"4294967296", b"99999999999999999999", b"0x10"])
)
numbers = (
    st.sampled_from(
        [b"0", b"1", b"7", b"65535", b"4294967295", b"4294967296", b"-1", b"x", b"1.5", b"+5"]
    )
    | st.sampled_from([b"18446744073709551615", b"18446744073709551616", b"00", b" 1", b""])
    | st.integers(0, 2**64 + 5).map(lambda n: b"%d" % n)
)
flag_tokens = st.sampled_from([b"0", b"0", b"1", b"7"]) | numbers
# Counters (numeric values, incr/decr deltas, ma's D and J) stay far below 2**63: when a number
# does not fit an int64, memcached's safe_strtoull looks for a "-" with strchr(), which on a
# stored value runs past its CRLF through stale slab memory to the next NUL; so incr of such a
# value depends on what earlier items left in the chunk (seen: "ms a 20\r\n<2**64-1>" then
# "ma a" answered non-numeric once in a while). 2**64 and above fail with ERANGE before that,
# so they stay. Counters up to 2**32 (random ones up to 10**8) stay below 2**63 however often
# an example increments them, and so do two of them appended (or they reach 20 digits: ERANGE).
# test_incr_decr.py covers the wrap at 2**64.
counters = (
    st.sampled_from([b"0", b"1", b"7", b"65535", b"4294967295", b"4294967296", b"-1", b"x"])
    | st.sampled_from([b"1.5", b"+5", b"18446744073709551616", b"00", b" 1", b""])
    | st.integers(0, 10**8).map(lambda n: b"%d" % n)
)
noreply = st.sampled_from([b"", b"", b"", b" noreply", b" noreply", b" norepl", b" noreply x"])

# Values: lowercase, digits and separators (so no reply contains the sentinel's EN OEND), numbers
# for incr/decr, CR LF inside, and sizes around the item size cap.
VALUE_ALPHABET = b"abcxyz019 \r\n-"
# No value starts with whitespace: strtoull skips it, and in a value of nothing else (or a
# shorter length's prefix of one) memcached's incr reads on past the CRLF into stale slab
# memory, parsing whatever digits an earlier item left there.
small_values = st.lists(st.sampled_from(list(VALUE_ALPHABET)), max_size=24).map(
    lambda v: bytes(v).lstrip()
)
numeric_values = (counters | st.sampled_from([b"12", b"0012", b"12 ", b"1\r\n2", b"-5"])).map(
    bytes.lstrip
)


def _value(draw: st.DrawFn, cap: int, spread: tuple[int, int]) -> bytes:
    """A value: one either side of the item size cap (``cap`` plus a draw from ``spread``),
    a counter-like one, or a small one."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return b"v" * max(0, cap + draw(st.integers(*spread)))
    if kind in (1, 2):
        return draw(numeric_values)
    return draw(small_values)


def _length(draw: st.DrawFn, value: bytes, bogus: list[bytes]) -> tuple[bytes, int]:
    """The length token for ``value`` and the draw that chose it: mostly right; 0: shorter
    than the data (the rest is parsed as commands), 1: one of ``bogus``, 2: rarely longer
    (the server waits; see the module docstring). Callers may give other draws a meaning."""
    wrong = draw(st.integers(0, 15))
    if wrong == 0:
        return b"%d" % max(0, len(value) - draw(st.integers(1, 3))), wrong
    if wrong == 1:
        return draw(st.sampled_from(bogus)), wrong
    if wrong == 2 and len(value) < 50:
        return b"%d" % (len(value) + draw(st.integers(1, 4))), wrong
    return b"%d" % len(value), wrong


@st.composite
def storage(draw: st.DrawFn) -> Cmd:
    name = draw(st.sampled_from([b"set", b"set", b"add", b"replace", b"append", b"prepend"]))
    is_cas = draw(st.integers(0, 5)) == 0
    if is_cas:
        name = b"cas"
    key = draw(keys)
    flags = draw(flag_tokens)
    flag_extra = 0 if flags == b"0" else 4
    value = _value(draw, ITEM_SIZE_MAX - ITEM_HEADER - len(key) - flag_extra, (-3, 3))
    length, _ = _length(draw, value, [b"-1", b"x", b"", b"2147483648", b"1 2"])
    terminator = b"\r\n"
    if draw(st.integers(0, 15)) == 0:
        terminator = draw(st.sampled_from([b"\n", b"xx", b"\r", b"\r\r\n", b"", b"\n\r\n"]))
    parts: list[Part] = [name + b" " + key + b" " + flags + b" " + draw(exptimes) + b" " + length]
    if is_cas:
        ref = draw(st.integers(0, 6))
        if ref < 5:
            parts += [b" ", CasRef(ref)]
        else:  # bogus uniques: never one a server could have handed out
            parts.append(b" " + draw(st.sampled_from([b"0", b"x", b"-1", b"18446744073709551615"])))
    parts.append(draw(noreply) + b"\r\n" + value + terminator)
    return tuple(parts)


@st.composite
def retrieval(draw: st.DrawFn) -> Cmd:
    name = draw(st.sampled_from([b"get", b"gets", b"gat", b"gats", b"bget"]))
    if name in (b"gat", b"gats"):
        name += b" " + draw(exptimes)
    ks = draw(st.lists(keys, min_size=0, max_size=5))
    if draw(st.integers(0, 20)) == 0:
        ks = ks * 8  # more than memcached's 24 tokens per tokenizer pass
    return (b" ".join([name, *ks]) + draw(st.sampled_from([b"", b"", b" "])) + b"\r\n",)


@st.composite
def arithmetic(draw: st.DrawFn) -> Cmd:
    name = draw(st.sampled_from([b"incr", b"decr"]))
    return (name + b" " + draw(keys) + b" " + draw(counters) + draw(noreply) + b"\r\n",)


@st.composite
def delete(draw: st.DrawFn) -> Cmd:
    extra = draw(st.sampled_from([b"", b"", b" 0", b" 1", b" x", b" noreply", b" 0 noreply"]))
    return (b"delete " + draw(keys) + extra + b"\r\n",)


@st.composite
def touch(draw: st.DrawFn) -> Cmd:
    return (b"touch " + draw(keys) + b" " + draw(exptimes) + draw(noreply) + b"\r\n",)


@st.composite
def flush_all(draw: st.DrawFn) -> Cmd:
    # No delay that memcached would honour: a short one expires items on each server's own
    # tick; a long one, or an absolute time before the process start, overwrites oldest_live
    # and so cancels an earlier immediate flush_all, bringing back the flushed items memcached's
    # maintainer has not reclaimed yet, where pymcd removed them at once (README.md, flush_all).
    # test_flush_all.py and test_expiry.py cover delays.
    # " 1 2" is no safe junk case: the 2 is not "noreply", so memcached reads a delay of 1 and
    # flushes items linked later in the same second, which each server's clock decides.
    delay = draw(
        st.sampled_from([b"", b" 0", b" -1", b" -10000", b" x", b" 0 2", b" 1 2 3", b" 0x10"])
    )
    return (b"flush_all" + delay + draw(noreply) + b"\r\n",)


# stats: the subcommands whose *names* are deterministic. Not `stats conns` (names carry file
# descriptor numbers); not `stats detail on` (it would stay on for later examples); not
# `stats items` (memcached lists a class until its background maintainer has reclaimed the
# items flush_all invalidated, pymcd removes them at once: a deliberate difference in README.md);
# not `stats cachedump` (memcached dumps only its COLD LRU, which its maintainer thread fills
# over time; pymcd has one LRU per class, so it dumps every item).
stats = st.sampled_from(
    [b"stats", b"stats settings", b"stats slabs", b"stats sizes", b"stats reset"]
) | st.sampled_from([b"stats detail dump", b"stats foo"])
stats = stats.map(lambda s: (s + b"\r\n",))

misc = st.sampled_from(
    [b"version", b"verbosity 0", b"verbosity", b"verbosity x noreply", b"shutdown"]
) | st.sampled_from(
    [b"cache_memlimit 64", b"cache_memlimit x", b"quit", b"  get a", b"GET a", b"gets"]
)
misc = misc.map(lambda s: (s + b"\r\n",))

# -- meta commands (mg, ms, md, ma, me, mn) with the flags memcached 1.6.18 knows -------------

# Flag arguments: a good one, or (one time in ten, so most commands get as far as the store)
# a malformed one.
# T and N: the clock-safe exptimes above (0, negative, far).
FAR = b"%d" % FAR_FUTURE
TTLS = [b"0", b"-1", b"-1000", b"10000", b"2592000", b"2592001", b"1000000000", FAR, b"2147483647"]
BAD_TTLS = [b"", b"x", b"1x", b"2147483648", b"-2147483649", b"0x10"]
# R: an item wins the recache token when its expiry is before now + R. Every R is far from
# every TTL an item can have (R10000 against an item stored with T10000 would win only once a
# clock tick separates the two), so the comparison cannot flip with the clocks.
RECACHE_TTLS = [b"0", b"-1", b"5000", b"20000", b"5000000", FAR]
NUMBERS = [b"0", b"1", b"7", b"65535", b"4294967295", b"4294967296", b"00"]  # see counters
BAD_NUMBERS = [b"", b"x", b"-1", b"1.5", b"18446744073709551616", b"+"]
SET_MODES = [b"E", b"A", b"P", b"R", b"S"]
BAD_SET_MODES = [b"", b"x", b"SS", b"I", b"+", b"s"]
ARITH_MODES = [b"I", b"+", b"D", b"-"]
BAD_ARITH_MODES = [b"", b"S", b"II", b"i"]
BAD_CAS = [b"", b"x", b"-1", b"18446744073709551616", b"0", b"18446744073709551615"]
# Opaques: lowercase and digits (never the sentinel's OEND); rarely around the 32-byte limit
# that counts the O itself.
short_opaques = st.lists(st.sampled_from(list(b"abz019")), max_size=6).map(bytes)
long_opaques = st.integers(30, 33).map(lambda n: b"o" * n)


def good_or_bad(good: list[bytes], bad: list[bytes]) -> st.SearchStrategy[bytes]:
    return st.integers(0, 9).flatmap(lambda i: st.sampled_from(bad if i == 0 else good))


meta_ttls = good_or_bad(TTLS, BAD_TTLS)
recache_ttls = good_or_bad(RECACHE_TTLS, [b"x", b""])
meta_numbers = good_or_bad(NUMBERS, BAD_NUMBERS)
client_flags = good_or_bad([b"0", b"1", b"7", b"4294967295"], [*BAD_NUMBERS, b"4294967296"])
set_modes = good_or_bad(SET_MODES, BAD_SET_MODES)
arith_modes = good_or_bad(ARITH_MODES, BAD_ARITH_MODES)
opaques = st.integers(0, 9).flatmap(lambda i: long_opaques if i == 0 else short_opaques)

# Keys after a b flag: base64 of the plain keys (so a binary key and a plain one name the same
# item), of binary bytes, of a 186-byte key (248 characters) and of a 250-byte one (too long as
# sent); and strings memcached's decoder rejects or reads oddly (it skips characters outside the
# alphabet and stops after the first padded block).
B64_KEYS = (b"YQ==", b"Yg==", b"Yw==", b"bg==", b"YWJj", b"AP96", b"YSBiDQo=", b"YQ==Yg==")
B64_LONG = (base64.b64encode(b"k" * 186), base64.b64encode(KEY250))
B64_BAD = (b"YQ", b"Y", b"a", b"!!!!", b"====", b"YQ=", b"Y===", b"Y!Q==")
b64_keys = st.integers(0, 3).flatmap(
    lambda i: st.sampled_from(B64_LONG + B64_BAD if i == 0 else B64_KEYS)
)
# Plain keys for meta commands: mostly the short ones, so items meet; a base64 string as sent.
meta_keys = st.integers(0, 9).flatmap(
    lambda i: keys if i == 0 else st.sampled_from(B64_KEYS[:2] if i == 1 else KEYS[:4])
)

# Flags by command, as proto_text.c renders or acts on them; "b" is drawn with the key.
MG_FLAGS = b"cfhklOqstuvNRT"
MS_FLAGS = b"cCFIkOqTM"
MD_FLAGS = b"CIkOqT"
MA_FLAGS = b"CNJDTMqtcvkO"
KNOWN_FLAGS = b"OPLkstcfvhuqFCMJDINRTl"  # _meta_flag_preparse accepts these for every command
UNKNOWN_FLAGS = b"EeZxW1\xff"  # E arrived after 1.6.18; a byte >= 127 reads as a duplicate


@st.composite
def flag_token(draw: st.DrawFn, letter: int, modes: st.SearchStrategy[bytes]) -> tuple[Part, ...]:
    head = b" " + bytes([letter])
    if letter in b"TN":
        return (head + draw(meta_ttls),)
    if letter == ord("R"):
        return (head + draw(recache_ttls),)
    if letter == ord("C"):
        ref = draw(st.integers(-3, 6))  # negative: the latest seen, likely an item's own
        return (head, CasRef(ref)) if ref < 5 else (head + draw(st.sampled_from(BAD_CAS)),)
    if letter == ord("F"):
        return (head + draw(client_flags),)
    if letter in b"DJ":
        return (head + draw(meta_numbers),)
    if letter == ord("M"):
        return (head + draw(modes),)
    if letter == ord("O"):
        return (head + draw(opaques),)
    # a flag without argument; rarely with one, which memcached ignores
    return (head + draw(st.sampled_from([b"", b"", b"", b"", b"", b"1"])),)


@st.composite
def meta_line(
    draw: st.DrawFn,
    name: bytes,
    letters: bytes,
    modes: st.SearchStrategy[bytes],
    quiet: bool,
    key: bytes | None,
    before_flags: bytes = b"",
) -> tuple[Part, ...]:
    """``<name> <key>[ <before_flags>] <flags>*`` without its CRLF: distinct flags mostly; now
    and then a repeated, foreign or unknown one, or more than the 20 tokens memcached allows.
    A given ``key`` is sent plain or base64-encoded with a b flag."""
    chosen = draw(st.lists(st.sampled_from(list(letters)), unique=True, max_size=5))
    kind = draw(st.integers(0, 24))
    if kind == 0 and chosen:
        chosen.append(draw(st.sampled_from(chosen)))  # duplicate
    elif kind == 1:
        chosen.insert(draw(st.integers(0, len(chosen))), draw(st.sampled_from(list(KNOWN_FLAGS))))
    elif kind == 2:
        chosen.insert(draw(st.integers(0, len(chosen))), draw(st.sampled_from(list(UNKNOWN_FLAGS))))
    elif kind == 3:  # around MFLAG_MAX_OPT_LENGTH: 20 tokens with the command, key and end
        chosen = draw(st.permutations(list(KNOWN_FLAGS)))[: draw(st.integers(15, 22))]
    if quiet and ord("q") not in chosen:
        chosen.append(ord("q"))
    binary = draw(st.integers(0, 4)) == 0
    if binary:
        key = draw(b64_keys) if key is None else base64.b64encode(key)
        chosen.insert(draw(st.integers(0, len(chosen))), ord("b"))
    elif key is None:
        key = draw(meta_keys)
    parts: list[Part] = [name + b" " + key + before_flags]
    for letter in chosen:
        if letter == ord("b"):
            parts.append(b" b")
        else:
            parts += draw(flag_token(letter, modes))
    return tuple(parts)


@st.composite
def meta_get(draw: st.DrawFn, quiet: bool = False, key: bytes | None = None) -> Cmd:
    return (*draw(meta_line(b"mg", MG_FLAGS, set_modes, quiet, key)), b"\r\n")


@st.composite
def meta_delete(draw: st.DrawFn, quiet: bool = False, key: bytes | None = None) -> Cmd:
    return (*draw(meta_line(b"md", MD_FLAGS, set_modes, quiet, key)), b"\r\n")


@st.composite
def meta_arithmetic(draw: st.DrawFn, quiet: bool = False, key: bytes | None = None) -> Cmd:
    return (*draw(meta_line(b"ma", MA_FLAGS, arith_modes, quiet, key)), b"\r\n")


@st.composite
def meta_set(draw: st.DrawFn, quiet: bool = False, key: bytes | None = None) -> Cmd:
    # either side of the cap for a 1-byte key, with and without client flags
    value = _value(draw, ITEM_SIZE_MAX - ITEM_HEADER - 1, (-6, 2))
    # bogus lengths: INT_MAX - 2 is the largest memcached accepts
    length, wrong = _length(draw, value, [b"-1", b"x", b"2147483646", b"1x", b"S1"])
    if wrong == 3:
        return (b"ms " + (key or draw(keys)) + b"\r\n",)  # no length: no data block read
    terminator = b"\r\n"
    if draw(st.integers(0, 15)) == 0:
        terminator = draw(st.sampled_from([b"\n", b"xx", b"\r", b"\r\r\n", b""]))
    line = draw(meta_line(b"ms", MS_FLAGS, set_modes, quiet, key, before_flags=b" " + length))
    return (*line, b"\r\n" + value + terminator)


# me ignores every token after the key but a "b" right after it; mn ignores them all.
meta_misc = st.sampled_from(
    [b"me a", b"me b", b"me n", b"me " + KEY250, b"me YQ== b", b"me YWJj b", b"me !!!! b"]
) | st.sampled_from(
    [b"me a b", b"me a x y", b"me", b"mn", b"mn x", b"mx a", b"m", b"mgg a", b"MG a", b"mg"]
)
meta_misc = meta_misc.map(lambda s: (s + b"\r\n",))


@st.composite
def quiet_batch(draw: st.DrawFn) -> Cmd:
    """Quiet meta commands ended by mn, as a client pipelines them."""
    quiet = st.one_of(meta_get(True), meta_get(True), meta_set(True), meta_delete(True),
                      meta_arithmetic(True))  # fmt: skip
    cmds = draw(st.lists(quiet, min_size=1, max_size=6))
    return (*(part for cmd in cmds for part in cmd), b"mn\r\n")


@st.composite
def meta_story(draw: st.DrawFn) -> Cmd:
    """An item stored by a plain ms, then meta commands on that key: hits, stale items, tokens."""
    key = draw(st.sampled_from(KEYS[:4]))
    value = draw(st.sampled_from([b"0", b"7", b"4294967296", b"abc", b""]))
    ttl = draw(st.sampled_from([b"", b" T0", b" T10000", b" T" + FAR]))
    first = b"ms %b %d%b\r\n%b\r\n" % (key, len(value), ttl, value)
    then = st.one_of(
        meta_get(key=key), meta_get(key=key), meta_get(key=key), meta_delete(key=key),
        meta_arithmetic(key=key), meta_set(key=key), st.just((b"me %b\r\n" % key,)),
    )  # fmt: skip
    cmds = draw(st.lists(then, min_size=1, max_size=6))
    return (first, *(part for cmd in cmds for part in cmd))


# Junk lines. Never a first byte 0x80 (memcached's -B auto would switch the connection to the
# binary protocol).
JUNK_ALPHABET = b"abegmstx01 \t\r\x00\xff"
junk = st.lists(st.sampled_from(list(JUNK_ALPHABET)), max_size=30).map(bytes)
bogus = junk.map(lambda b: (b + b"\r\n",)) | st.just((b"\n",))

single_commands = st.one_of(
    storage(), storage(), retrieval(), retrieval(), arithmetic(), delete(), touch(),
    flush_all(), stats, misc, bogus,
    meta_get(), meta_get(), meta_set(), meta_set(), meta_set(), meta_delete(), meta_arithmetic(),
    meta_misc,
)  # fmt: skip
commands = single_commands | quiet_batch() | meta_story()


def render(cmd: Cmd, uniques: list[bytes]) -> bytes:
    out = []
    for part in cmd:
        if isinstance(part, CasRef):
            # an index past what this server handed out yet: a unique no item has
            seen = -len(uniques) <= part.index < len(uniques)
            out.append(uniques[part.index] if seen else b"0")
        else:
            out.append(part)
    return b"".join(out)


# ---------------------------------------------------------------------------------------------
# normalisation: the only things allowed to differ


META_STATUS = frozenset([b"HD", b"VA", b"EN", b"NF", b"NS", b"EX"])
# Clock readings in meta replies: mg/ma's t (TTL left) and mg's l (seconds since last access),
# me's exp= and la=. Each server reads its own clock, which ticks once a second at its own
# phase, so a reading may differ by a tick or two; a tolerance checks them where rounding them
# (9999 vs 10000) or leaving them out would not. Items never expire within an example (see
# exptimes), so no reading decides whether an item lives.
CLOCK_TOLERANCE = 2


def _unique(token: bytes, uniques: list[bytes]) -> bytes:
    if token not in uniques:
        uniques.append(token)
    return b"#%d" % uniques.index(token)


def normalise(reply: bytes, uniques: list[bytes]) -> tuple[bytes, list[int]]:
    """The reply with what may legitimately differ replaced; records new cas uniques.

    Returns the normalised bytes and the clock readings taken out of them (compared with
    ``CLOCK_TOLERANCE``).

    * cas uniques (the 5th token of a VALUE line, a meta reply's ``c<cas>``, me's ``cas=``):
      each server numbers writes from its own counter, so each unique becomes ``#i``, its
      first-seen position on that server (``uniques`` is that server's list, in the same order
      the CasRef indices use).
    * clock readings: ``t<n>`` (not ``t-1``), ``l<n>``, ``exp=<n>`` (not -1), ``la=<n>``.
    * the version string: an implementation's own (pymcd says 1.6.18, pinned in test_admin).
    * stats values (``STAT <name> <value>``): pids, times, rusage, byte counts of a different
      engine; the names and their order must still match. ``STAT`` lines inside a value are
      data, so value blocks are skipped by their announced length.
    """
    out: list[bytes] = []
    clocks: list[int] = []
    pos = 0
    while pos < len(reply):
        nl = reply.find(b"\r\n", pos)
        if nl < 0:
            out.append(reply[pos:])
            break
        line = reply[pos:nl]
        pos = nl + 2
        tokens = line.split(b" ")
        size = None  # a data block follows: its length
        if tokens[0] == b"VALUE":
            if len(tokens) == 5:
                tokens[4] = _unique(tokens[4], uniques)
            if len(tokens) >= 4 and tokens[3].isdigit():
                size = int(tokens[3])
        elif tokens[0] in META_STATUS:
            first = 1
            if tokens[0] == b"VA" and len(tokens) > 1 and tokens[1].isdigit():
                size, first = int(tokens[1]), 2
            for i in range(first, len(tokens)):
                flag, value = tokens[i][:1], tokens[i][1:]
                if flag == b"c" and value.isdigit():
                    tokens[i] = b"c" + _unique(value, uniques)
                elif flag in (b"t", b"l") and value.isdigit():
                    clocks.append(int(value))
                    tokens[i] = flag + b"~"
        elif tokens[0] == b"ME":
            for i in range(2, len(tokens)):
                name, eq, value = tokens[i].partition(b"=")
                if name == b"cas" and eq:
                    tokens[i] = b"cas=" + _unique(value, uniques)
                elif name in (b"exp", b"la") and value.lstrip(b"-").isdigit() and value != b"-1":
                    clocks.append(int(value))
                    tokens[i] = name + b"=~"
        elif tokens[0] == b"STAT":
            tokens = [*tokens[:2], b"<value>"]
        elif tokens[0] == b"VERSION":
            tokens = [b"VERSION", b"<version>"]
        out.append(b" ".join(tokens) + b"\r\n")
        if size is not None:
            out.append(reply[pos : pos + size + 2])
            pos += size + 2
    return b"".join(out), clocks


def _short(data: bytes) -> str:
    """repr with long runs of one byte compressed: b'k'*250 shows as k*250."""
    return re.sub(r"(.)\1{15,}", lambda m: f"{m[1]}*{len(m[0])}", repr(data))


# ---------------------------------------------------------------------------------------------
# one raw connection per server


class Peer:
    def __init__(self, name: str, host: str, port: int) -> None:
        self.name, self.host, self.port = name, host, port
        self.sock: socket.socket | None = None
        self.uniques: list[bytes] = []
        self.buf = b""
        self.closed = False

    def connect(self) -> None:
        self.close()
        self.sock = socket.create_connection((self.host, self.port), timeout=2)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf, self.closed = b"", False

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None

    def send(self, data: bytes) -> None:
        if self.closed or self.sock is None:
            return
        try:
            self.sock.sendall(data)
        except OSError:  # closed by the server; the reply read notices
            self.closed = True

    def done(self) -> bool:
        return self.closed or self.buf.endswith(SENTINEL_REPLY)

    def read(self, deadline: float) -> None:
        """Read until the reply ends with the sentinel's, EOF, or the deadline."""
        assert self.sock is not None
        final = False
        while not self.done() and not final:
            left = deadline - time.monotonic()
            if left <= 0.02:
                # the other peer may have used up the shared deadline: still drain what is
                # already here, or a slow first peer would make the second look silent
                left, final = 0.02, True
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 16)
            except TimeoutError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
            self.buf += chunk


# ---------------------------------------------------------------------------------------------
# the machine

LOG = os.environ.get("PYMCD_FUZZ_LOG")  # append every difference found to this file
PEERS: list[Peer] = []  # [pymcd, memcached], set by the test below


class Differential(RuleBasedStateMachine):
    """Every rule sends the same bytes to both servers and compares the replies."""

    def __init__(self) -> None:
        super().__init__()
        self.peers = PEERS
        self.fragment = False  # a step left an unterminated line for the next step to finish
        self.steps: list[str] = []

    @initialize()
    def fresh_connections(self) -> None:
        for p in self.peers:
            p.connect()
            p.uniques.clear()
        # flush_all only invalidates in memcached; deleting every key really removes them, so
        # no earlier example's item can come back (see flush_all below)
        self.exchange(
            [
                (b"flush_all\r\n",),
                *((b"delete %s noreply\r\n" % k,) for k in KEYS + B64_KEYS[:2]),
                *((b"md %s b q\r\n" % k,) for k in B64_KEYS + B64_LONG + B64_BAD),
            ]
        )

    def teardown(self) -> None:
        for p in self.peers:
            p.close()

    # -- sending and comparing ---------------------------------------------------------------

    def _send(self, cmds: list[Cmd], cuts: list[int], pause: float) -> None:
        datas = [b"".join(render(c, p.uniques) for c in cmds) for p in self.peers]
        offsets = [0, *sorted({c for c in cuts if 0 < c < min(map(len, datas))})]
        # where it was cut matters to the replies (what a server flushes between reads)
        how = (
            "" if len(offsets) == 1 else " (byte by byte)" if not pause else f" (cut {offsets[1:]})"
        )
        self.steps.append(_short(datas[1]) + how)
        for i, start in enumerate(offsets):
            end = offsets[i + 1] if i + 1 < len(offsets) else None
            for p, data in zip(self.peers, datas, strict=True):
                p.send(data[start:end])
            if end is not None and pause:
                time.sleep(pause)

    def exchange(
        self, cmds: list[Cmd], cuts: list[int] | None = None, pause: float = PAUSE, wait=0.0
    ) -> None:
        """Send ``cmds`` (cut at ``cuts``) then the sentinel; compare the replies."""
        self._send(cmds, cuts or [], pause)
        self.fragment = False
        if wait:
            time.sleep(wait)  # let each server see the bytes so far as one read
        for _ in range(ROUNDS):
            for p in self.peers:
                p.send(SENTINEL)
            deadline = time.monotonic() + WAIT
            for p in self.peers:
                p.read(deadline)
            if all(p.done() for p in self.peers):
                break
            if any(p.done() for p in self.peers):
                # one answered and one did not: give the slow one a last chance, then compare
                deadline = time.monotonic() + 2
                for p in self.peers:
                    p.read(deadline)
                break
        self.compare()

    def compare(self) -> None:
        py, mc = self.peers
        got = [(*normalise(p.buf, p.uniques), p.closed) for p in self.peers]
        clocks = got[0][1], got[1][1]
        if (
            got[0][0::2] != got[1][0::2]
            or len(clocks[0]) != len(clocks[1])
            or any(abs(a - b) > CLOCK_TOLERANCE for a, b in zip(*clocks, strict=True))
        ):
            msg = (
                "pymcd and memcached differ\n"
                f"  pymcd     (closed={py.closed}): {_short(py.buf)}\n"
                f"  memcached (closed={mc.closed}): {_short(mc.buf)}\n"
                f"  normalised pymcd:     {_short(got[0][0])}\n"
                f"  normalised memcached: {_short(got[1][0])}\n"
                f"  clock readings: pymcd {clocks[0]}, memcached {clocks[1]}\n"
                "  steps sent (memcached's bytes):\n    " + "\n    ".join(self.steps)
            )
            if LOG:
                with open(LOG, "a") as f:
                    f.write(msg + "\n\n")
            raise AssertionError(msg)
        for p in self.peers:
            p.buf = b""
        if any(p.closed or not p.done() for p in self.peers):
            for p in self.peers:  # closed (quit, line too long) or stuck: start afresh
                p.connect()

    # -- rules -------------------------------------------------------------------------------

    @rule(cmd=commands)
    def one_command(self, cmd: Cmd) -> None:
        self.exchange([cmd])

    @rule(cmds=st.lists(commands, min_size=2, max_size=8))
    def pipelined(self, cmds: list[Cmd]) -> None:
        self.exchange(cmds)

    @rule(cmds=st.lists(commands, min_size=1, max_size=3), cuts=st.lists(st.integers(1, 200)))
    def split_packets(self, cmds: list[Cmd], cuts: list[int]) -> None:
        self.exchange(cmds, cuts)

    # One command: memcached holds an mg hit's reference to its item until its replies are
    # flushed, which it does when its input has no complete command left, so whether an incr
    # right after it may rewrite the value in place depends on how the bytes were read.
    @rule(cmd=single_commands)
    def byte_by_byte(self, cmd: Cmd) -> None:
        size = len(render(cmd, []))
        if size > 300:
            size = 300  # the rest in one piece
        self.exchange([cmd], list(range(1, size)), pause=0)

    @precondition(lambda self: not self.fragment)
    @rule(cmd=commands, at=st.integers(1, 40))
    def split_across_steps(self, cmd: Cmd, at: int) -> None:
        """Send a command's first bytes only; the next step's bytes complete the line.

        The cut stays inside the first line: memcached reads the rest of a data block (or of
        one it swallows) with a read of exactly that length and flushes its replies before it
        reads on, so with a cut inside a block the replies would depend on whether the next
        step's bytes arrive in one read (a later get of a too-long key discards unflushed ones).
        """
        data = render(cmd, self.peers[1].uniques)
        newline = data.find(b"\n")
        if newline >= 0:
            at = min(at, newline)
        if CasRef in map(type, cmd) or at == 0 or at >= len(data) - 1:
            return
        for p in self.peers:
            p.send(data[:at])
        self.steps.append(f"{_short(data[:at])} (unterminated)")
        self.fragment = True

    @precondition(lambda self: not self.fragment)
    @rule(
        length=st.integers(2030, 2070) | st.integers(3000, 5000),
        prefix=st.sampled_from([b"", b"get ", b"gets ", b"  get ", b"set a 0 0 1", b"xx"]),
        newline=st.booleans(),
    )
    def long_line(self, length: int, prefix: bytes, newline: bool) -> None:
        """Lines around memcached's 2048-byte limit, with and without their newline.

        Sent in one piece; an unterminated one gets its CRLF only after a pause, since
        whether it is judged alone or with the next bytes depends on how reads split it (and
        left open it would cost every later sentinel a timeout).
        """
        line = (prefix + b"a" * length)[:length]
        if newline:
            self.exchange([(line + b"\r\n",)])
        else:
            self.exchange([(line,), (b"\r\n",)], cuts=[length], pause=0.05)

    @rule()
    def reconnect(self) -> None:
        """Close mid-stream (possibly with a fragment pending) and start afresh."""
        for p in self.peers:
            p.connect()
        self.fragment = False


# ---------------------------------------------------------------------------------------------
# the test


@pytest.fixture(scope="module")
def peers(target: Target) -> Iterator[list[Peer]]:
    if target.kind != "pymcd":
        pytest.skip(
            "the differential machine compares pymcd with memcached; it runs under --target pymcd"
        )
    Target("memcached").check()
    target.check()
    py, mc = PymcdServer(FLAGS), MemcachedProcess(FLAGS)
    py.start()
    try:
        mc.start()
        try:
            yield [Peer("pymcd", py.host, py.port), Peer("memcached", mc.host, mc.port)]
        finally:
            mc.stop()
    finally:
        py.stop()


@pytest.mark.timeout(0)  # bounded by the example budget, which --fuzz-examples raises
def test_differential(peers: list[Peer], request: pytest.FixtureRequest) -> None:
    requested = request.config.getoption("--fuzz-examples")
    examples = requested or CI_EXAMPLES
    # CI's budget replays the same examples every run (derandomized), so CI is deterministic;
    # --fuzz-examples N explores new random streams.
    PEERS[:] = peers
    try:
        run_state_machine_as_test(
            Differential,
            settings=settings(
                max_examples=examples,
                stateful_step_count=STEPS,
                deadline=None,
                derandomize=not requested,
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
                print_blob=True,
                database=None,  # servers carry state between runs: replaying is not exact
            ),
        )
    finally:
        PEERS.clear()
