"""pymcd.admin: lru_crawler, slabs, lru, watch, extstore, through the dispatcher.

The reply tables were recorded from Debian's memcached 1.6.18; the ``memcached``-marked tests
replay them (and the metadump line format, and a page really moved by ``slabs reassign``)
against ``/usr/bin/memcached`` (skipped when it is missing, a failure when ``CI=true``).
"""

from __future__ import annotations

import os
import pwd
import re
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from pymcd.admin import uriencode
from pymcd.clock import ManualClock, ServerTime
from pymcd.config import Settings
from pymcd.dispatch import Dispatcher, Session
from pymcd.protocol.text import TextParser
from pymcd.store import Store

UNIX_START = 1_700_000_000
MEMCACHED_BIN = "/usr/bin/memcached"


class Harness:
    def __init__(self, **settings: object) -> None:
        self.settings = Settings(**settings)  # type: ignore[arg-type]
        self.clock = ManualClock(1000.0)
        self.store = Store(self.settings, ServerTime(self.clock, unix_now=UNIX_START))
        self.dispatcher = Dispatcher(self.settings, self.store, pid=4242)

    def run(self, data: bytes, session: Session | None = None) -> bytes:
        parser = TextParser(item_size_max=self.settings.item_size_max)
        parser.receive_data(data)
        session = session if session is not None else Session(7, "tcp:127.0.0.1:50000")
        return b"".join(self.dispatcher.execute(parser.commands(), session))

    def each(self, commands: list[bytes]) -> list[bytes]:
        """Each command in its own read on a fresh connection (no pipelining)."""
        return [self.run(command + b"\r\n") for command in commands]

    def stats(self, sub: bytes = b"") -> dict[str, str]:
        return _parse_stats(self.run(b"stats %s\r\n" % sub if sub else b"stats\r\n"))


def _parse_stats(reply: bytes) -> dict[str, str]:
    assert reply.endswith(b"END\r\n"), reply[-200:]
    out = {}
    for line in reply.split(b"\r\n")[:-2]:
        tag, name, value = line.decode().split(" ", 2)
        assert tag == "STAT"
        out[name] = value
    return out


@pytest.fixture
def h() -> Harness:
    return Harness()


# -- lru_crawler metadump -------------------------------------------------------------------

METADUMP_SETUP = (
    b"set a%20b 0 0 1\r\nx\r\n"
    b"set k/\xc3\xa9~._- 7 1000 2\r\nxy\r\n"
    b"set e 0 1 1\r\ne\r\n"
    b"get a%20b\r\n"
)


@pytest.mark.parametrize(
    ("key", "encoded"),
    [
        (b"plain-Key_0.9~", b"plain-Key_0.9~"),
        (b"a%20b", b"a%2520b"),
        (b"k/\xc3\xa9", b"k%2F%C3%A9"),
        (b"a:b=c&d", b"a%3Ab%3Dc%26d"),
        (b"\x01\x7f\xff", b"%01%7F%FF"),
    ],
)
def test_uriencode(key: bytes, encoded: bytes) -> None:
    assert uriencode(key) == encoded


def test_metadump_lines(h: Harness) -> None:
    h.run(METADUMP_SETUP)
    h.clock.advance(2)  # "e" has expired: not dumped
    expected = (
        b"key=a%%2520b exp=-1 la=%d cas=1 fetch=yes cls=1 size=65\n"
        b"key=k%%2F%%C3%%A9~._- exp=%d la=%d cas=2 fetch=no cls=1 size=73\n"
        b"END\r\n" % (UNIX_START, UNIX_START + 1000, UNIX_START)
    )
    assert h.run(b"lru_crawler metadump all\r\n") == expected
    assert h.run(b"lru_crawler metadump 1\r\n") == expected
    assert h.run(b"lru_crawler metadump 1,2\r\n") == expected
    assert h.run(b"lru_crawler metadump 2\r\n") == b"END\r\n"
    assert h.run(b"lru_crawler metadump 62\r\n") == b"END\r\n"


def test_metadump_skips_flushed_items(h: Harness) -> None:
    h.run(b"set a 0 0 1\r\nx\r\nflush_all\r\n")
    assert h.run(b"lru_crawler metadump all\r\n") == b"END\r\n"


CRAWLER_REPLIES = [
    (b"lru_crawler metadump 0", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler metadump 64", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler metadump x", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler metadump -1", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler metadump", b"ERROR\r\n"),
    (b"lru_crawler crawl all", b"OK\r\n"),
    (b"lru_crawler crawl 62", b"OK\r\n"),
    (b"lru_crawler crawl 0", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler crawl 1,x", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler crawl 64", b"BADCLASS invalid class id\r\n"),
    (b"lru_crawler crawl", b"ERROR\r\n"),
    (b"lru_crawler tocrawl 5", b"OK\r\n"),
    (b"lru_crawler sleep 2000000", b"CLIENT_ERROR sleep must be one second or less\r\n"),
    (b"lru_crawler sleep x", b"CLIENT_ERROR bad command line format\r\n"),
    (b"lru_crawler disable", b"OK\r\n"),
    (b"lru_crawler bogus", b"ERROR\r\n"),
    (b"lru_crawler", b"ERROR\r\n"),
]


def test_crawler_replies(h: Harness) -> None:
    commands = [command for command, _ in CRAWLER_REPLIES]
    assert h.each(commands) == [reply for _, reply in CRAWLER_REPLIES]


@pytest.mark.parametrize("before", [b"version", b"delete zz", b"touch zz 0", b"stats sizes"])
def test_metadump_and_watch_refuse_pipelining(h: Harness, before: bytes) -> None:
    first = h.run(before + b"\r\n")
    assert h.run(before + b"\r\nlru_crawler metadump all\r\n") == (
        first + b"ERROR cannot pipeline other commands before metadump\r\n"
    )
    session = Session(8, "tcp:127.0.0.1:50002")
    assert h.run(before + b"\r\nwatch\r\n", session) == (
        first + b"ERROR cannot pipeline other commands before watch\r\n"
    )
    assert not session.watching


def test_crawl_reclaims_expired_items(h: Harness) -> None:
    h.run(b"set e 0 1 1\r\ne\r\nset f 0 1 1\r\nf\r\nset live 0 0 1\r\nl\r\n")
    h.clock.advance(2)
    assert h.stats()["curr_items"] == "3"  # expiry is lazy until something looks
    assert h.run(b"lru_crawler crawl all\r\n") == b"OK\r\n"
    stats = h.stats()
    assert (stats["curr_items"], stats["get_expired"]) == ("1", "0")
    assert h.run(b"get live\r\n") == b"VALUE live 0 1\r\nl\r\nEND\r\n"


# -- slabs reassign -------------------------------------------------------------------------

REASSIGN_REPLIES = [
    (b"slabs reassign 1 1", b"SAME src and dst class are identical\r\n"),
    (b"slabs reassign 99 1", b"BADCLASS invalid src or dst class id\r\n"),
    (b"slabs reassign -1 2", b"BADCLASS invalid src or dst class id\r\n"),
    (b"slabs reassign 1 64", b"BADCLASS invalid src or dst class id\r\n"),
    (b"slabs reassign 0 2", b"NOSPARE source class has no spare pages\r\n"),
    (b"slabs reassign 3 2", b"NOSPARE source class has no spare pages\r\n"),
    (b"slabs reassign x 1", b"CLIENT_ERROR bad command line format\r\n"),
    (b"slabs reassign 1", b"ERROR\r\n"),
    (b"slabs reassign 1 2 3", b"ERROR\r\n"),
    (b"slabs", b"ERROR\r\n"),
    (b"slabs automove 1", b"OK\r\n"),
    (b"slabs automove 3", b"ERROR\r\n"),
    (b"slabs automove x", b"CLIENT_ERROR bad command line format\r\n"),
    (b"slabs automove ratio 0.5", b"OK\r\n"),
]


def test_reassign_replies(h: Harness) -> None:
    commands = [command for command, _ in REASSIGN_REPLIES]
    assert h.each(commands) == [reply for _, reply in REASSIGN_REPLIES]


FILL_CLASS_1 = b"".join(b"set k%05d 0 0 1\r\nx\r\n" % i for i in range(11000))  # > 1 page of 96 B


def _pages(stats: dict[str, str], clsid: int) -> int:
    return int(stats.get(f"{clsid}:total_pages", "0"))


def test_reassign_moves_a_page(h: Harness) -> None:
    h.run(FILL_CLASS_1)
    slabs = h.stats(b"slabs")
    assert (_pages(slabs, 1), _pages(slabs, 2), slabs["1:chunks_per_page"]) == (2, 0, "10922")
    assert h.run(b"slabs reassign 1 2\r\n") == b"OK\r\n"
    slabs = h.stats(b"slabs")
    assert (_pages(slabs, 1), _pages(slabs, 2)) == (1, 1)
    assert slabs["1:total_chunks"] == "10922"
    assert slabs["2:total_chunks"] == slabs["2:chunks_per_page"]
    assert slabs["total_malloced"] == str(2 * 1024 * 1024)
    stats = h.stats()
    assert (stats["slabs_moved"], stats["curr_items"]) == ("1", "10922")
    # the page was freed by evicting the oldest items of class 1
    assert h.run(b"get k00000 k10999\r\n") == b"VALUE k10999 0 1\r\nx\r\nEND\r\n"
    assert h.run(b"slabs reassign 1 2\r\n") == b"NOSPARE source class has no spare pages\r\n"


def test_reassign_to_the_global_pool(h: Harness) -> None:
    h.run(FILL_CLASS_1)
    assert h.run(b"slabs reassign 1 0\r\n") == b"OK\r\n"
    slabs = h.stats(b"slabs")
    assert _pages(slabs, 1) == 1
    assert slabs["total_malloced"] == str(1024 * 1024)


# -- lru, watch, extstore -------------------------------------------------------------------

LRU_REPLIES = [
    (b"lru tune 10 10 0.1 2.0", b"OK\r\n"),
    (b"lru tune 50 40 0.1 2.0", b"ERROR hot and warm pcts must not exceed 80\r\n"),
    (b"lru tune 10 10 0 2.0", b"ERROR hot/warm age factors must be greater than 0\r\n"),
    (b"lru tune x 10 0.1 2", b"ERROR\r\n"),
    (b"lru tune 10 10 0.1", b"ERROR\r\n"),
    (b"lru mode flat", b"OK\r\n"),
    (b"lru mode segmented", b"OK\r\n"),
    (b"lru mode foo", b"ERROR\r\n"),
    (b"lru mode", b"ERROR\r\n"),
    (b"lru temp_ttl 100", b"OK\r\n"),
    (b"lru temp_ttl -5", b"OK\r\n"),
    (b"lru temp_ttl x", b"ERROR\r\n"),
    (b"lru temp_ttl", b"ERROR\r\n"),
    (b"lru foo", b"ERROR\r\n"),
    (b"lru", b"ERROR\r\n"),
]

EXTSTORE_REPLIES = [
    (b"extstore item_size 100", b"OK\r\n"),
    (b"extstore max_frag 0.5", b"OK\r\n"),
    (b"extstore free_memchunks 1 2", b"OK\r\n"),
    (b"extstore bogus 1", b"ERROR\r\n"),
    (b"extstore item_size x", b"ERROR\r\n"),
    (b"extstore item_size x noreply", b""),
    (b"extstore", b"ERROR\r\n"),
]

WATCH_REPLIES = [
    (b"watch bogus", b"ERROR\r\n"),
    (b"watch fetchers bogus", b"ERROR\r\n"),
]


@pytest.mark.parametrize(
    "table", [LRU_REPLIES, EXTSTORE_REPLIES, WATCH_REPLIES], ids=["lru", "extstore", "watch"]
)
def test_admin_replies(h: Harness, table: list[tuple[bytes, bytes]]) -> None:
    assert h.each([command for command, _ in table]) == [reply for _, reply in table]


@pytest.mark.parametrize("command", [b"watch", b"watch rawcmds fetchers", b"watch mutations"])
def test_watch_turns_the_connection_into_a_log_stream(h: Harness, command: bytes) -> None:
    session = Session(8, "tcp:127.0.0.1:50002")
    assert h.run(command + b"\r\n", session) == b"OK\r\n"
    assert session.watching
    assert h.run(b"version\r\nget a\r\n", session) == b""


# -- against the real memcached ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def memcached() -> Iterator[int]:
    if not os.access(MEMCACHED_BIN, os.X_OK):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{MEMCACHED_BIN} is missing (CI=true)")
        pytest.skip(f"{MEMCACHED_BIN} not installed: the memcached comparison needs it")
    kwargs: dict[str, object] = {}
    if os.geteuid() == 0:  # memcached refuses to run as root (see conformance/conftest.py)
        kwargs["user"] = pwd.getpwnam("nobody").pw_uid
    port = _free_port()
    proc = subprocess.Popen(
        [MEMCACHED_BIN, "-l", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **kwargs,  # type: ignore[call-overload]
    )
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("memcached did not start")
                time.sleep(0.01)
        yield port
    finally:
        proc.kill()
        proc.wait()


class _Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def request(self, data: bytes, end: bytes | re.Pattern[bytes]) -> bytes:
        """Send, then read until the reply ends with ``end`` (bytes or a regex)."""
        self.sock.sendall(data)
        while not (self.buf.endswith(end) if isinstance(end, bytes) else end.search(self.buf)):
            chunk = self.sock.recv(1 << 20)
            assert chunk, f"connection closed; got {self.buf[-200:]!r}"
            self.buf += chunk
        out, self.buf = self.buf, b""
        return out

    def stats(self, sub: bytes = b"") -> dict[str, str]:
        return _parse_stats(
            self.request(b"stats %s\r\n" % sub if sub else b"stats\r\n", b"END\r\n")
        )


_ONE_REPLY = re.compile(rb"\r\n\Z")


def _each_on_memcached(port: int, commands: list[bytes], expected: list[bytes]) -> list[bytes]:
    out = []
    for command, reply in zip(commands, expected, strict=True):
        client = _Client(port)
        try:
            if reply:
                out.append(client.request(command + b"\r\n", _ONE_REPLY))
            else:  # noreply: follow with a version to see that nothing came before it
                got = client.request(command + b"\r\nversion\r\n", b"VERSION 1.6.18\r\n")
                out.append(got.removesuffix(b"VERSION 1.6.18\r\n"))
        finally:
            client.close()
    return out


@pytest.mark.memcached
@pytest.mark.parametrize(
    "table",
    [CRAWLER_REPLIES, REASSIGN_REPLIES, LRU_REPLIES, EXTSTORE_REPLIES, WATCH_REPLIES],
    ids=["crawler", "reassign", "lru", "extstore", "watch"],
)
def test_reply_tables_match_memcached(memcached: int, table: list[tuple[bytes, bytes]]) -> None:
    commands = [command for command, _ in table]
    expected = [reply for _, reply in table]
    assert _each_on_memcached(memcached, commands, expected) == expected
    if table is CRAWLER_REPLIES:  # re-enable what the table disabled, as it was
        _each_on_memcached(memcached, [b"lru_crawler enable"], [b"OK\r\n"])


_TIMES = re.compile(rb"exp=(-1|\d+) la=(\d+)")


def _relative_times(dump: bytes) -> bytes:
    """Replace ``exp=… la=…`` by exp relative to la, so dumps taken at any time compare."""

    def sub(m: re.Match[bytes]) -> bytes:
        exp, la = int(m.group(1)), int(m.group(2))
        return b"exp=%s la=T" % (b"-1" if exp == -1 else b"T+%d" % (exp - la))

    return _TIMES.sub(sub, dump)


@pytest.mark.memcached
def test_metadump_matches_memcached(memcached: int) -> None:
    client = _Client(memcached)
    try:
        client.request(b"flush_all\r\n", b"OK\r\n")
        time.sleep(0.2)  # let memcached's LRU maintainer reclaim earlier items
        client.request(METADUMP_SETUP.replace(b"set e 0 1 1", b"set e 0 -1 1"), b"END\r\n")
        real = client.request(b"lru_crawler metadump all\r\n", b"END\r\n")
    finally:
        client.close()
    h = Harness()
    h.run(METADUMP_SETUP.replace(b"set e 0 1 1", b"set e 0 -1 1"))
    ours = h.run(b"lru_crawler metadump all\r\n")
    # cas uniques depend on what the shared server stored before; compare them relatively
    cas = re.compile(rb"cas=(\d+)")
    real_cas = [int(c) for c in cas.findall(real)]
    ours_cas = [int(c) for c in cas.findall(ours)]
    assert [c - real_cas[0] for c in real_cas] == [c - ours_cas[0] for c in ours_cas]
    assert cas.sub(b"cas=N", _relative_times(real)) == cas.sub(b"cas=N", _relative_times(ours))
    assert ours.count(b"\n") == 3  # two items and END: the expired one is not dumped


@pytest.mark.memcached
def test_reassign_moves_a_page_like_memcached(memcached: int) -> None:
    client = _Client(memcached)
    try:
        client.request(FILL_CLASS_1 + b"version\r\n", b"VERSION 1.6.18\r\n")
        slabs = client.stats(b"slabs")
        assert (_pages(slabs, 1), _pages(slabs, 2)) == (2, 0)
        assert client.request(b"slabs reassign 1 2\r\n", b"\r\n") == b"OK\r\n"
        deadline = time.monotonic() + 3  # memcached moves the page in the background
        while _pages(slabs, 1) != 1 and time.monotonic() < deadline:
            time.sleep(0.02)
            slabs = client.stats(b"slabs")
        real = (_pages(slabs, 1), _pages(slabs, 2), client.stats()["slabs_moved"])
        nospare = client.request(b"slabs reassign 1 2\r\n", b"\r\n")
    finally:
        client.close()
    h = Harness()
    h.run(FILL_CLASS_1)
    h.run(b"slabs reassign 1 2\r\n")
    slabs = h.stats(b"slabs")
    assert real == (_pages(slabs, 1), _pages(slabs, 2), h.stats()["slabs_moved"]) == (1, 1, "1")
    assert nospare == h.run(b"slabs reassign 1 2\r\n")


# -- settings and pipelining rules (each checked on memcached 1.6.18) -----------------------


@pytest.mark.parametrize(
    ("settings", "data", "reply"),
    [
        ({}, b"lru_crawler metadump 63\r\n", b"END\r\n"),
        ({}, b"lru_crawler crawl 63\r\n", b"OK\r\n"),
        ({}, b"lru_crawler enable\r\n", b"ERROR failed to start lru crawler thread\r\n"),
        ({}, b"get zz\r\nwatch\r\n", b"END\r\nOK\r\n"),
        ({}, b"get zz\r\nlru_crawler metadump 1\r\n", b"END\r\nEND\r\n"),
        (
            {},
            b"version\r\nwatch\r\n",
            b"VERSION 1.6.18\r\nERROR cannot pipeline other commands before watch\r\n",
        ),
        (
            {"dump_enabled": False},
            b"lru_crawler metadump all\r\n",
            b"ERROR metadump not allowed\r\n",
        ),
        (
            {"lru_crawler": False},
            b"lru_crawler crawl all\r\n",
            b"CLIENT_ERROR lru crawler disabled\r\n",
        ),
        (
            {"lru_crawler": False},
            b"lru_crawler metadump all\r\n",
            b"CLIENT_ERROR lru crawler disabled\r\n",
        ),
        ({"watch_enabled": False}, b"watch\r\n", b"CLIENT_ERROR watch commands not allowed\r\n"),
    ],
)
def test_settings_and_pipelining(settings: dict[str, object], data: bytes, reply: bytes) -> None:
    assert Harness(**settings).run(data) == reply


def test_crawler_disable_then_enable() -> None:
    h = Harness()
    assert h.each([b"lru_crawler disable", b"lru_crawler enable", b"lru_crawler enable"]) == [
        b"OK\r\n",
        b"OK\r\n",
        b"ERROR failed to start lru crawler thread\r\n",
    ]
