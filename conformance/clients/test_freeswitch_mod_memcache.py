"""FreeSWITCH's mod_memcache ``memcache`` API command on the target, call for call.

FreeSWITCH is not in Debian; ``mod_memcache.py`` repeats the module's C code through Debian's
libmemcached (ctypes), including the per-command ``memcached_clone`` that gives every command
a connection of its own, closed with ``memcached_quit``.

``memcache <command>`` (``src/mod/applications/mod_memcache/mod_memcache.c``) → libmemcached
1.1.4 → the wire (every command: a new connection, then ``quit``; F is hexadecimal on the
command line, decimal on the wire):

==================================  ===============================  ===========================
API command                         libmemcached calls (memcached_)  wire commands
==================================  ===============================  ===========================
``set|replace|add K V [E [F]]``     set / replace / add              ``set K F E len`` + V
``get K``, ``getflags K``           get                              ``get K``
``delete K``                        delete(K, 0)                     ``delete K``
``delete K x E`` (E ≠ 0)            delete(K, E)                     none: INVALID ARGUMENTS
``increment K [n [E [F]]]``         increment(K, n)                  ``incr K n``
``decrement K [n [E [F]]]``         decrement(K, n)                  ``decr K n``
… the key is missing (NOT FOUND)    + add(K, n or "0", E, F)         + ``add K F E len(n)`` + n
… another client added it first     + increment / decrement again    + ``incr K n`` again
``flush``                           flush(0)                         ``flush_all `` (a blank)
``flush x y E``                     flush(E)                         ``flush_all E``
``status [verbose]``                stat(NULL); stat_get_keys,       ``stats `` (a blank)
                                    stat_get_value if verbose
==================================  ===============================  ===========================

Results as the module prints them: ``+OK``, the value (``%.*s``: up to a NUL), the flags in
hex, the counter (``%ld``), or ``-ERR <memcached_strerror>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pylibmc
import pytest
from pymemcache.client.base import Client as PymemcacheClient

from ..conftest import Server
from .conftest import RecordingProxy, RestartableServer, raw_get, raw_set, require, stats
from .mod_memcache import ModMemcache, ModuleCrash, separate_string


def _load_module(servers: str) -> ModMemcache:
    try:
        return ModMemcache(servers)
    except OSError as exc:
        return require(None, f"libmemcached ({exc})", "apt-get install libmemcached-dev")


@pytest.fixture
def memcache(server: Server) -> Iterator[Callable[[str], str]]:
    """``memcache <args>`` with mod_memcache configured for the target's shared server."""
    module = _load_module(f"{server.host}:{server.port}")
    yield module.api
    module.close()


def test_set_and_get(server: Server, memcache, key) -> None:
    assert memcache(f"set {key('k')} hello") == "+OK\n"
    assert memcache(f"get {key('k')}") == "hello"
    assert memcache(f"getflags {key('k')}") == "0"
    assert raw_get(server, key("k").encode()) == (0, b"hello")


def test_flags_are_hexadecimal(server: Server, memcache, key) -> None:
    assert memcache(f"set {key('a')} v 0 ff") == "+OK\n"
    assert memcache(f"set {key('b')} v 0 10") == "+OK\n"
    assert memcache(f"set {key('c')} v 0 0xDEADBEEF") == "+OK\n"
    assert raw_get(server, key("a").encode()) == (255, b"v")
    assert memcache(f"getflags {key('a')}") == "ff"
    assert memcache(f"getflags {key('b')}") == "10"
    assert raw_get(server, key("c").encode()) == (0xDEADBEEF, b"v")
    assert memcache(f"getflags {key('c')}") == "deadbeef"


def test_arguments_are_split_as_freeswitch_does(server: Server, memcache, key) -> None:
    assert separate_string("set k 'hello world' 60  1 2", 5) == [
        "set",
        "k",
        "hello world",
        "60",
        "1 2",
    ]
    assert memcache(f"set {key('q')} 'hello world'") == "+OK\n"
    assert memcache(f"get {key('q')}") == "hello world"
    assert memcache(f"set {key('e')} a\\sb 0 1 and more") == "+OK\n"  # flags: strtol("1 and more")
    assert raw_get(server, key("e").encode()) == (1, b"a b")


def test_replace_and_add(memcache, key) -> None:
    assert memcache(f"replace {key('k')} v") == "-ERR NOT STORED\n"
    assert memcache(f"add {key('k')} v1") == "+OK\n"
    assert memcache(f"add {key('k')} v2") == "-ERR NOT STORED\n"
    assert memcache(f"replace {key('k')} v3") == "+OK\n"
    assert memcache(f"get {key('k')}") == "v3"


def test_missing_key(memcache, key) -> None:
    assert memcache(f"get {key('missing')}") == "-ERR NOT FOUND\n"
    assert memcache(f"getflags {key('missing')}") == "-ERR NOT FOUND\n"


def test_delete(server: Server, memcache, key) -> None:
    memcache(f"set {key('k')} v")
    assert memcache(f"delete {key('k')}") == "+OK\n"
    assert raw_get(server, key("k").encode()) is None
    assert memcache(f"delete {key('k')}") == "-ERR NOT FOUND\n"
    memcache(f"set {key('k')} v")
    # with an expiration libmemcached refuses before sending anything
    assert memcache(f"delete {key('k')} x 10") == "-ERR INVALID ARGUMENTS\n"
    assert raw_get(server, key("k").encode()) == (0, b"v")
    with pytest.raises(ModuleCrash):  # reads argv[3] when argc is 3
        memcache(f"delete {key('k')} 10")


def test_increment_and_decrement_existing(memcache, key) -> None:
    memcache(f"set {key('n')} 10")
    assert memcache(f"increment {key('n')}") == "11"
    assert memcache(f"increment {key('n')} 5") == "16"
    assert memcache(f"decrement {key('n')} 7") == "9"
    assert memcache(f"get {key('n')}") == "9 "  # decr keeps the length
    assert memcache(f"decrement {key('n')} 20") == "0"
    memcache(f"set {key('n')} 18446744073709551615")
    assert memcache(f"increment {key('n')}") == "0"  # wraps at 2**64
    memcache(f"set {key('n')} 9223372036854775808")
    assert memcache(f"get {key('n')}") == "9223372036854775808"
    assert memcache(f"increment {key('n')} 0") == "-9223372036854775808"  # printed with %ld
    memcache(f"set {key('t')} text")
    assert memcache(f"increment {key('t')}") == "-ERR CLIENT ERROR\n"


def test_increment_of_a_missing_key_adds_the_offset(server: Server, memcache, key) -> None:
    assert memcache(f"increment {key('a')}") == "1"
    assert raw_get(server, key("a").encode()) == (0, b"1")
    assert memcache(f"increment {key('b')} 7 0 1f") == "7"
    assert raw_get(server, key("b").encode()) == (0x1F, b"7")
    assert memcache(f"increment {key('b')} 7") == "14"


def test_decrement_of_a_missing_key_adds_zero(server: Server, memcache, key) -> None:
    assert memcache(f"decrement {key('a')}") == "0"
    assert raw_get(server, key("a").encode()) == (0, b"0")
    # "0" with the offset's length: the C literal's NUL goes along
    assert memcache(f"decrement {key('b')} 10") == "0"
    assert raw_get(server, key("b").encode()) == (0, b"0\x00")
    assert memcache(f"get {key('b')}") == "0"  # %.*s stops at the NUL
    assert memcache(f"increment {key('b')} 2") == "2"  # memcached reads "0\0" as 0


def test_increment_when_someone_else_adds_first(server: Server, key) -> None:
    """incr: NOT_FOUND; add: NOT_STORED (another client won); incr again."""
    k = key("race").encode()

    def meddle(data: bytes) -> None:
        if data.startswith(b"add " + k):
            raw_set(server, k, b"100")

    proxy = RecordingProxy((server.host, server.port), before_forward=meddle)
    module = _load_module(proxy.address)
    try:
        assert module.api(f"increment {k.decode()} 5") == "105"
        proxy.wait_closed(1)
        assert proxy.sent() == (
            b"incr %s 5\r\nadd %s 0 0 1\r\n5\r\nincr %s 5\r\nquit\r\n" % (k, k, k)
        )
    finally:
        module.close()
        proxy.close()


@pytest.mark.slow
def test_expiration(server: Server, memcache, key) -> None:
    server.align()
    assert memcache(f"set {key('s')} v 2") == "+OK\n"
    assert memcache(f"increment {key('i')} 1 2") == "1"
    assert memcache(f"set {key('kept')} v 100") == "+OK\n"
    server.advance(3)
    assert memcache(f"get {key('s')}") == "-ERR NOT FOUND\n"
    assert memcache(f"get {key('i')}") == "-ERR NOT FOUND\n"
    assert memcache(f"get {key('kept')}") == "v"


def test_flush(server: Server, memcache, key) -> None:
    memcache(f"set {key('k')} v")
    assert memcache("flush") == "+OK\n"
    assert memcache(f"get {key('k')}") == "-ERR NOT FOUND\n"
    memcache(f"set {key('k')} v")
    assert memcache("flush x y 3600") == "+OK\n"  # delayed: still there now
    assert memcache(f"get {key('k')}") == "v"
    with pytest.raises(ModuleCrash):
        memcache("flush 10")
    server.connect().request(b"flush_all\r\n", b"OK\r\n")  # undo the delayed flush


def test_status(server: Server, memcache) -> None:
    assert memcache("status") == (
        f"Lib version: 1.1.4\nServers: 1\n  {server.host} ({server.port})\n"
    )
    verbose = memcache("status verbose")
    head, _, body = verbose.partition(f"  {server.host} ({server.port})\n")
    assert head == "Lib version: 1.1.4\nServers: 1\n"
    assert body.endswith("\n\n")
    reported = dict(re.findall(r"^    (\w+): (.*)$", body, re.MULTILINE))
    actual = stats(server)
    assert reported["pid"] == actual["pid"]
    assert reported["version"] == actual["version"] == "1.6.18"
    assert abs(int(reported["uptime"]) - int(actual["uptime"])) <= 1
    assert reported["limit_maxbytes"] == actual["limit_maxbytes"]
    assert reported["threads"] == actual["threads"]
    assert set(reported) >= {"pid", "uptime", "time", "version", "curr_items", "bytes"}


def test_one_connection_per_command(server: Server, key) -> None:
    proxy = RecordingProxy((server.host, server.port))
    module = _load_module(proxy.address)
    k = key("w")
    commands = [
        (f"set {k} v 60 a", f"set {k} 10 60 1\r\nv\r\n"),
        (f"replace {k} w", f"replace {k} 0 0 1\r\nw\r\n"),
        (f"add {k} x", f"add {k} 0 0 1\r\nx\r\n"),
        (f"get {k}", f"get {k}\r\n"),
        (f"getflags {k}", f"get {k}\r\n"),
        (f"delete {k}", f"delete {k}\r\n"),
        (f"increment {k} 3 30 2", f"incr {k} 3\r\nadd {k} 2 30 1\r\n3\r\n"),
        (f"decrement {k}", f"decr {k} 1\r\n"),
        ("flush", "flush_all \r\n"),
        ("flush a b 60", "flush_all 60\r\n"),
        ("status", "stats \r\n"),
    ]
    try:
        for command, _wire in commands:
            module.api(command)
        proxy.wait_closed(len(commands))
        assert len(proxy.connections) == len(commands)
        assert [bytes(c) for c in proxy.connections] == [
            (wire + "quit\r\n").encode() for _command, wire in commands
        ]
    finally:
        module.close()
        proxy.close()
        server.connect().request(b"flush_all\r\n", b"OK\r\n")  # undo the delayed flush


def test_server_down_and_back(restartable_server: RestartableServer) -> None:
    """Each command clones the handle and connects anew: it works again at once."""
    module = _load_module(restartable_server.address)
    try:
        assert module.api("set k v") == "+OK\n"
        restartable_server.stop()
        assert module.api("get k") == "-ERR CONNECTION FAILURE\n"
        # memcached_stat says SOME_ERRORS, which the module does not report; all zero, pid -1
        status = module.api("status verbose")
        assert status.startswith(
            f"Lib version: 1.1.4\nServers: 1\n  127.0.0.1 ({restartable_server.port})\n"
            "    pid: -1\n    uptime: 0\n"
        )
        restartable_server.start()
        assert module.api("get k") == "-ERR NOT FOUND\n"  # data lost with the restart
        assert module.api("set k v2") == "+OK\n"
        assert module.api("get k") == "v2"
    finally:
        module.close()


def test_sharing_a_value_with_another_application(server: Server, memcache) -> None:
    """The documentation's example: FreeSWITCH writes under its namespace prefix and another
    application reads the raw value back (flags 0, no serialization), and the other way."""
    assert memcache("set freeswitch:test testvalue") == "+OK\n"
    other = PymemcacheClient((server.host, server.port))  # no serde: raw bytes
    try:
        assert other.get("freeswitch:test") == b"testvalue"
        assert pylibmc.Client([f"{server.host}:{server.port}"]).get("freeswitch:test") == (
            b"testvalue"
        )
        other.set("freeswitch:test", b"from python", noreply=False)
        assert memcache("get freeswitch:test") == "from python"
        assert memcache("getflags freeswitch:test") == "0"
    finally:
        other.close()
