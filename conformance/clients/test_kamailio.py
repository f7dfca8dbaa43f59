"""Kamailio's ``memcached`` module (Debian: kamailio, kamailio-memcached-modules) on the target.

A real Kamailio runs ``kamailio.cfg`` in the foreground on 127.0.0.1 (see ``kamailio.py``);
each test sends SIP OPTIONS requests whose ``X-Op`` / ``X-Key`` / ``X-Value`` headers make the
routing script perform one module operation, and reads the outcome from reply headers and,
independently of Kamailio, from the server itself.

What the module does (kamailio ``src/modules/memcached/mcd_var.c``, 5.6; libmemcached 1.1.4's
text protocol; ``K`` is the key, MD5-hashed as 32 lowercase hex digits when it is 250
characters or longer; ``F`` is 1 for a string value, 0 for an integer):

==========================  ===============================  ================================
script                      libmemcached calls (memcached_)  wire commands
==========================  ===============================  ================================
``$var(x) = $mct(K)``       get                              ``get K``
``$mct(K) = v`` (mode 0)    set(K, v, ``expire``, F)         ``set K F E len`` + v
``$mct(K) = v`` (mode 1)    add(K, v, ``expire``, F)         ``add K F E len`` + v
``$mct(K=>N) = v``          set / add with exptime N         ``set K F N len`` + v
``$mct(K) = $null``         delete(K, 0)                     ``delete K``
``$mcinc(K) = n``           get; if found with flag 0:       ``get K``, ``incr K n``
                            increment(K, n)
``$mcdec(K) = n``           get; likewise decrement(K, n)    ``get K``, ``decr K n``
``$mctex(K) = N``           get; set(K, value read, N,       ``get K``, ``set K F N len`` + v
                            flags read), in mode 1 too
==========================  ===============================  ================================

``E`` is the ``expire`` parameter: its default in Kamailio 5.6.3 is 0 (never), although the
module's documentation says 10800. ``$mcinc``/``$mcdec`` of a missing key or of a string value
send only the ``get`` (no initial value is created); a string delta sends nothing. Reading
converts the value to an integer unless its flags say string or ``stringify`` is 1, trimming
the blanks memcached leaves after ``decr``; a value that is not a number then reads as
``$null``. The module sets only libmemcached's *connect* timeout (``timeout``, ms).

Against pymcd the server's clock is moved (``server.advance``); against memcached the expiry
test waits real seconds (``slow``).
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ..conftest import Server
from .conftest import (
    RecordingProxy,
    RestartableServer,
    raw_get,
    raw_set,
    require,
    stats,
    wait_until,
)
from .kamailio import Kamailio, SipReply, find_binary, find_module_dir

Defines = dict[str, int]
StartKamailio = Callable[..., Kamailio]


@pytest.fixture(scope="module")
def kamailio_install() -> tuple[str, str]:
    binary = require(find_binary(), "kamailio", "apt-get install kamailio")
    module_dir = require(
        find_module_dir(), "Kamailio's memcached.so", "apt-get install kamailio-memcached-modules"
    )
    return binary, module_dir


@pytest.fixture(scope="module")
def kamailio_pool(
    kamailio_install: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str, Defines], Kamailio]]:
    """One Kamailio per (server address, module parameters), shared by the module's tests."""
    running: dict[tuple[str, tuple[tuple[str, int], ...]], Kamailio] = {}

    def get(address: str, defines: Defines) -> Kamailio:
        key = (address, tuple(sorted(defines.items())))
        if key not in running:
            workdir = tmp_path_factory.mktemp("kamailio")
            running[key] = Kamailio(*kamailio_install, workdir, address, defines).start()
        return running[key]

    yield get
    for instance in running.values():
        instance.stop()


@pytest.fixture
def start_kamailio(kamailio_install: tuple[str, str], tmp_path: Path) -> Iterator[StartKamailio]:
    """A Kamailio of this test's own (another server address, e.g. a proxy's)."""
    started: list[Kamailio] = []

    def start(address: str, **defines: int) -> Kamailio:
        instance = Kamailio(
            *kamailio_install, tmp_path / f"kamailio{len(started)}", address, defines
        )
        started.append(instance)
        return instance.start()

    yield start
    for instance in started:
        instance.stop()


@pytest.fixture
def kamailio(server: Server, kamailio_pool: Callable[[str, Defines], Kamailio]) -> Kamailio:
    """Kamailio with the module's default parameters, on the target's shared server."""
    return kamailio_pool(f"{server.host}:{server.port}", {})


def assert_ok(reply: SipReply) -> None:
    assert reply.status == 200, reply


def read(kamailio: Kamailio, k: str) -> tuple[str | None, str | None]:
    """(type, value) as the script sees ``$mct(k)``: ("null", None), ("int", "42"), …"""
    reply = kamailio.request("get", k)
    assert_ok(reply)
    return reply.result_type, reply.result


# ---------------------------------------------------------------------------------------------
# $mct: store, read, delete; strings and integers


def test_string_value_is_stored_with_flag_1(server: Server, kamailio: Kamailio, key) -> None:
    assert_ok(kamailio.request("set", key("s"), "hello"))
    assert raw_get(server, key("s").encode()) == (1, b"hello")
    assert read(kamailio, key("s")) == ("str", "hello")


def test_integer_value_is_stored_with_flag_0(server: Server, kamailio: Kamailio, key) -> None:
    assert_ok(kamailio.request("set", key("i"), 42))
    assert raw_get(server, key("i").encode()) == (0, b"42")
    assert read(kamailio, key("i")) == ("int", "42")


def test_numeric_string_stays_a_string(server: Server, kamailio: Kamailio, key) -> None:
    assert_ok(kamailio.request("set", key("n"), "42"))
    assert raw_get(server, key("n").encode()) == (1, b"42")
    assert read(kamailio, key("n")) == ("str", "42")


def test_overwrite_in_mode_0(kamailio: Kamailio, key) -> None:
    assert_ok(kamailio.request("set", key("k"), "first"))
    assert_ok(kamailio.request("set", key("k"), "second"))
    assert read(kamailio, key("k")) == ("str", "second")


def test_missing_key_reads_null(kamailio: Kamailio, key) -> None:
    assert read(kamailio, key("missing")) == ("null", None)


def test_assigning_null_deletes(server: Server, kamailio: Kamailio, key) -> None:
    assert_ok(kamailio.request("set", key("d"), "gone soon"))
    assert_ok(kamailio.request("delete", key("d")))
    assert raw_get(server, key("d").encode()) is None
    assert read(kamailio, key("d")) == ("null", None)
    assert_ok(kamailio.request("delete", key("d")))  # NOT_FOUND: logged, the script goes on


def test_values_written_by_other_applications(server: Server, kamailio: Kamailio, key) -> None:
    """Without the string flag a value must be a number (blanks trimmed) or it reads $null."""
    raw_set(server, key("num").encode(), b"123", flags=0)
    raw_set(server, key("padded").encode(), b"77   ", flags=0)
    raw_set(server, key("text").encode(), b"hello", flags=0)
    raw_set(server, key("flagged").encode(), b"hello", flags=1)
    assert read(kamailio, key("num")) == ("int", "123")
    assert read(kamailio, key("padded")) == ("int", "77")
    assert read(kamailio, key("text")) == ("null", None)
    assert read(kamailio, key("flagged")) == ("str", "hello")


def test_stringify_1_reads_every_value_as_a_string(
    server: Server, kamailio_pool: Callable[[str, Defines], Kamailio], key
) -> None:
    stringify = kamailio_pool(f"{server.host}:{server.port}", {"MEMCACHED_STRINGIFY": 1})
    raw_set(server, key("text").encode(), b"hello", flags=0)
    assert_ok(stringify.request("set", key("i"), 42))
    assert raw_get(server, key("i").encode()) == (0, b"42")  # still stored as an integer
    assert read(stringify, key("text")) == ("str", "hello")
    assert read(stringify, key("i")) == ("str", "42")


# ---------------------------------------------------------------------------------------------
# mode


def test_mode_1_adds_and_never_overwrites(
    server: Server, kamailio_pool: Callable[[str, Defines], Kamailio], key
) -> None:
    add_only = kamailio_pool(f"{server.host}:{server.port}", {"MEMCACHED_MODE": 1})
    assert_ok(add_only.request("set", key("k"), "first"))
    assert_ok(add_only.request("set", key("k"), "second"))  # NOT_STORED: logged only
    assert read(add_only, key("k")) == ("str", "first")
    assert raw_get(server, key("k").encode()) == (1, b"first")
    assert_ok(add_only.request("delete", key("k")))
    assert_ok(add_only.request("set", key("k"), 7))
    assert read(add_only, key("k")) == ("int", "7")


def test_memory_1_gives_libmemcached_kamailios_allocator(
    server: Server, kamailio_pool: Callable[[str, Defines], Kamailio], key
) -> None:
    """memory=1: libmemcached allocates from Kamailio's private memory; nothing else changes."""
    internal = kamailio_pool(f"{server.host}:{server.port}", {"MEMCACHED_MEMORY": 1})
    assert_ok(internal.request("set", key("s"), "hello"))
    assert read(internal, key("s")) == ("str", "hello")
    assert_ok(internal.request("set", key("n"), 1))
    assert_ok(internal.request("inc", key("n"), 2))
    assert read(internal, key("n")) == ("int", "3")
    chunk = "x" * 1024
    assert_ok(internal.request("setbig", key("big"), chunk, X_Repeat="1000"))
    reply = internal.request("get", key("big"))
    assert reply.get("X-Result-Length") == "1024000"
    assert_ok(internal.request("delete", key("s")))
    assert raw_get(server, key("s").encode()) is None


# ---------------------------------------------------------------------------------------------
# $mcinc, $mcdec


def test_increment_and_decrement(server: Server, kamailio: Kamailio, key) -> None:
    assert_ok(kamailio.request("set", key("c"), 10))
    assert_ok(kamailio.request("dec", key("c"), 1))
    assert raw_get(server, key("c").encode()) == (0, b"9 ")  # decr keeps the length
    assert read(kamailio, key("c")) == ("int", "9")  # the module trims it
    assert_ok(kamailio.request("inc", key("c"), 5))
    assert read(kamailio, key("c")) == ("int", "14")
    assert_ok(kamailio.request("dec", key("c"), 100))  # memcached stops at 0
    assert read(kamailio, key("c")) == ("int", "0")


def test_increment_needs_an_existing_integer(server: Server, kamailio: Kamailio, key) -> None:
    assert_ok(kamailio.request("inc", key("missing"), 1))
    assert raw_get(server, key("missing").encode()) is None  # nothing created
    assert_ok(kamailio.request("set", key("s"), "5"))
    assert_ok(kamailio.request("inc", key("s"), 1))  # a string value: refused
    assert raw_get(server, key("s").encode()) == (1, b"5")
    assert_ok(kamailio.request("set", key("n"), 5))
    assert_ok(kamailio.request("inc", key("n"), "1"))  # a string delta: refused
    assert raw_get(server, key("n").encode()) == (0, b"5")


def test_concurrent_increments_from_several_workers(
    server: Server, start_kamailio: StartKamailio, key
) -> None:
    proxy = RecordingProxy((server.host, server.port))  # to see which workers took part
    try:
        workers = start_kamailio(proxy.address, WORKERS=4)
        assert_ok(workers.request("set", key("hits"), 0))
        before = int(stats(server)["incr_hits"])
        count = 200
        requests = [{"X-Op": "inc", "X-Key": key("hits"), "X-Value": "1", "X-Type": "int"}]
        replies = workers.request_many(requests * count)
        assert [r.status for r in replies] == [200] * count
        assert read(workers, key("hits")) == ("int", str(count))
        assert int(stats(server)["incr_hits"]) - before == count
        incr = f"incr {key('hits')} 1\r\n".encode()
        connections_used = [c for c in proxy.connections if incr in c]
        assert len(connections_used) >= 2, "one worker did every increment"
    finally:
        proxy.close()


# ---------------------------------------------------------------------------------------------
# expiry


@pytest.mark.slow
def test_expiry(
    server: Server, kamailio: Kamailio, kamailio_pool: Callable[[str, Defines], Kamailio], key
) -> None:
    """$mct(key=>N), $mctex(key) = N and the expire parameter; the default never expires."""
    expire_2 = kamailio_pool(f"{server.host}:{server.port}", {"MEMCACHED_EXPIRE": 2})
    server.align()
    assert_ok(kamailio.request("set", key("arrow"), "a", X_Expire="2"))
    assert_ok(kamailio.request("set", key("mctex"), 5))
    assert_ok(kamailio.request("expire", key("mctex"), 2))
    assert_ok(expire_2.request("set", key("param"), "p"))
    assert_ok(kamailio.request("set", key("default"), "d"))
    assert_ok(kamailio.request("set", key("later"), "l", X_Expire="100"))
    for name in ("arrow", "mctex", "param", "default", "later"):
        assert read(kamailio, key(name))[0] != "null", name
    server.advance(3)
    for name in ("arrow", "mctex", "param"):
        assert read(kamailio, key(name)) == ("null", None), name
    assert read(kamailio, key("default")) == ("str", "d")
    assert read(kamailio, key("later")) == ("str", "l")


# ---------------------------------------------------------------------------------------------
# size limits


@pytest.mark.parametrize("length", [249, 250, 300, 1000])
def test_long_keys_are_md5_hashed(server: Server, kamailio: Kamailio, key, length: int) -> None:
    long_key = key("x") + "y" * (length - len(key("x")))
    assert_ok(kamailio.request("set", long_key, "v"))
    stored_as = long_key if length < 250 else hashlib.md5(long_key.encode()).hexdigest()
    assert raw_get(server, stored_as.encode()) == (1, b"v")
    assert read(kamailio, long_key) == ("str", "v")


def test_values_up_to_1_mb(server: Server, kamailio: Kamailio, key) -> None:
    chunk = "0123456789abcdef" * 64  # 1 KB
    written = chunk * 1023  # the largest whole-KB value under memcached's 1 MB item limit
    assert_ok(kamailio.request("setbig", key("big"), chunk, X_Repeat="1023"))
    assert raw_get(server, key("big").encode()) == (1, written.encode())
    reply = kamailio.request("get", key("big"))
    assert reply.result_type == "str"
    assert reply.get("X-Result-Length") == str(len(written))
    assert reply.get("X-Result-MD5") == hashlib.md5(written.encode()).hexdigest()

    from_elsewhere = bytes(range(33, 127)) * 10_000  # 940,000 bytes
    raw_set(server, key("other").encode(), from_elsewhere, flags=1)
    reply = kamailio.request("get", key("other"))
    assert reply.get("X-Result-MD5") == hashlib.md5(from_elsewhere).hexdigest()

    # 1 MB exactly is too large for an item: not stored, and the old value is dropped
    assert_ok(kamailio.request("setbig", key("big"), chunk, X_Repeat="1024"))
    assert raw_get(server, key("big").encode()) is None
    assert read(kamailio, key("big")) == ("null", None)


# ---------------------------------------------------------------------------------------------
# the server going away


def test_server_down_and_restarted(
    restartable_server: RestartableServer, start_kamailio: StartKamailio
) -> None:
    """Down: reads are $null, writes fail, Kamailio keeps answering. Restarted (empty):
    libmemcached reconnects after its retry timeout (2 s) and writes work again."""
    srv = restartable_server
    instance = start_kamailio(srv.address, MEMCACHED_TIMEOUT=500)
    assert_ok(instance.request("set", "kept", "v1"))
    assert read(instance, "kept") == ("str", "v1")

    srv.stop()
    started = time.monotonic()
    assert read(instance, "kept") == ("null", None)
    assert_ok(instance.request("set", "kept", "v2"))
    assert read(instance, "kept") == ("null", None)
    assert time.monotonic() - started < 3, "a refused connection should fail fast"

    srv.start()  # same port, no data

    def stored_again() -> bool:
        instance.request("set", "after", "v3")
        return read(instance, "after") == ("str", "v3")

    wait_until(stored_again, timeout=15, what="Kamailio writes to the restarted server")
    assert read(instance, "kept") == ("null", None)  # the restart lost it


def test_connect_timeout(start_kamailio: StartKamailio) -> None:
    """``timeout`` bounds the connect: a server whose accept queue is full never answers the
    SYN, and the read gives up after about that many milliseconds."""
    with socket.create_server(("127.0.0.1", 0), backlog=0) as listener:
        address = listener.getsockname()
        filler = socket.create_connection(address, timeout=2)  # the queue's one place
        try:
            instance = start_kamailio(f"127.0.0.1:{address[1]}", MEMCACHED_TIMEOUT=400)
            started = time.monotonic()
            assert read(instance, "k") == ("null", None)
            elapsed = time.monotonic() - started
            assert 0.3 <= elapsed < 3, elapsed
        finally:
            filler.close()


# ---------------------------------------------------------------------------------------------
# the wire commands of the table above


def test_wire_commands(server: Server, start_kamailio: StartKamailio, key) -> None:
    proxy = RecordingProxy((server.host, server.port))
    try:
        instance = start_kamailio(proxy.address, WORKERS=1)
        add_only = start_kamailio(proxy.address, WORKERS=1, MEMCACHED_MODE=1)
        k = key("w")
        long_key = k + "z" * 300
        hashed = hashlib.md5(long_key.encode()).hexdigest()
        steps: list[tuple[Kamailio, tuple[object, ...], dict[str, str], str]] = [
            (instance, ("set", k, "hello"), {}, f"set {k} 1 0 5\r\nhello\r\n"),
            (instance, ("get", k), {}, f"get {k}\r\n"),
            (instance, ("set", k, 42), {}, f"set {k} 0 0 2\r\n42\r\n"),
            (instance, ("set", k, "v"), {"X_Expire": "30"}, f"set {k} 1 30 1\r\nv\r\n"),
            (instance, ("set", k, 5), {}, f"set {k} 0 0 1\r\n5\r\n"),
            (instance, ("inc", k, 3), {}, f"get {k}\r\nincr {k} 3\r\n"),
            (instance, ("dec", k, 1), {}, f"get {k}\r\ndecr {k} 1\r\n"),
            (instance, ("expire", k, 100), {}, f"get {k}\r\nset {k} 0 100 1\r\n7\r\n"),
            (instance, ("delete", k), {}, f"delete {k}\r\n"),
            (instance, ("inc", k, 1), {}, f"get {k}\r\n"),  # missing: no incr
            (instance, ("inc", k, "1"), {}, ""),  # a string delta: nothing sent
            (instance, ("set", long_key, "v"), {}, f"set {hashed} 1 0 1\r\nv\r\n"),
            (add_only, ("set", k, "a"), {}, f"add {k} 1 0 1\r\na\r\n"),
            (add_only, ("expire", k, 9), {}, f"get {k}\r\nset {k} 1 9 1\r\na\r\n"),
        ]
        proxy.take()  # connection set-up, if any
        for kamailio, args, extra, expected in steps:
            assert_ok(kamailio.request(*args, **extra))  # type: ignore[arg-type]
            assert proxy.take() == expected.encode(), (args, extra)
    finally:
        proxy.close()
