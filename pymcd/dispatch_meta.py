"""The meta commands run against the store: proto_text.c's process_m*_command, minus parsing.

A meta reply is a status (``HD``, ``VA <len>``, ``EN``, ``NF``, ``NS``, ``EX``) followed by
return flags rendered by walking the client's flag tokens in order, as memcached does; so a
``T`` before a ``t`` shows the new TTL and after it the old one. Quiet mode (``q``) suppresses
exactly what memcached suppresses: mg's ``EN``, ms's and md's ``HD``, ma's ``HD``/``VA`` unless
the item was autovivified. Errors are always shown.

Counters follow memcached: mg counts a get (or, with ``T`` on a hit, a touch), md a delete,
ma an incr/decr (a miss only without autovivify), ms a set; ``me`` counts ``cmd_meta``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymcd.protocol import commands as C
from pymcd.protocol import responses as R
from pymcd.protocol.meta import MAX_OPAQUE_LENGTH, encode_key
from pymcd.results import DeltaResult, StoreResult
from pymcd.stats import ServerCounters
from pymcd.store import Store
from pymcd.store.item import KEY_BINARY, STALE, TOKEN_SENT, Item

UINT32_MASK = 0xFFFFFFFF

_SET_STATUS = {
    StoreResult.STORED: b"HD",
    StoreResult.EXISTS: b"EX",
    StoreResult.NOT_FOUND: b"NF",
    StoreResult.NOT_STORED: b"NS",
}


class OpaqueTooLong(Exception):
    """An O flag over 32 bytes, found while rendering (memcached then answers only the error)."""


def _key_flag(key: bytes, binary: int | bool) -> bytes:
    """META_KEY: `` k<key>``, or `` k<base64> b`` for a binary key."""
    return b" k" + encode_key(key) + b" b" if binary else b" k" + key


def _opaque(token: bytes) -> bytes:
    if len(token) > MAX_OPAQUE_LENGTH:
        raise OpaqueTooLong
    return b" " + token


def _request_flags(flags: tuple[bytes, ...], key: bytes, binary: bool) -> bytes:
    """The O and k flags of a reply without an item (a miss, NF, EX)."""
    parts = []
    for token in flags:
        letter = token[0]
        if letter == 79:  # O
            parts.append(_opaque(token))
        elif letter == 107:  # k
            parts.append(_key_flag(key, binary))
    return b"".join(parts)


def _ttl_left(item: Item, now: int) -> bytes:
    return b"-1" if item.exptime == 0 else b"%d" % ((item.exptime - now) & UINT32_MASK)


class MetaHandlers:
    """The dispatcher's handlers for mg, ms, md, ma and me (registered by the Dispatcher)."""

    def __init__(self, store: Store, counters: ServerCounters) -> None:
        self.store = store
        self.counters = counters

    def handlers(self) -> dict[type[Any], Callable[[Any, list[bytes], Any], None]]:
        return {
            C.MetaGet: self.get,
            C.MetaSet: self.set,
            C.MetaDelete: self.delete,
            C.MetaArithmetic: self.arithmetic,
            C.MetaDebug: self.debug,
        }

    # -- mg ---------------------------------------------------------------------------------

    def get(self, command: C.MetaGet, out: list[bytes], session: Any) -> None:
        store = self.store
        item = store.lookup(command.key)
        if item is not None and not command.locked and not command.no_update:
            store.bump(item)  # fetched with DO_UPDATE; locked fetches bump after the reply
        created = False
        if item is None and command.vivify_ttl is not None:
            item = store.create(command.key, b"\r\n")
            created = item is not None
        try:
            if item is None:
                self._get_miss(command, out)
            else:
                session.pins.append((len(out), item))  # the reply holds the item
                self._get_hit(command, item, created, out)
        except OpaqueTooLong:
            out.append(R.META_OPAQUE_TOO_LONG)

    def _get_miss(self, command: C.MetaGet, out: list[bytes]) -> None:
        counters = self.counters
        counters.cmd_get += 1
        counters.get_misses += 1
        line = b"EN" + _request_flags(command.flags, command.key, command.key_binary)
        if not command.quiet:
            out.append(line + b"\r\n")

    def _get_hit(self, command: C.MetaGet, item: Item, created: bool, out: list[bytes]) -> None:
        store = self.store
        now = store.time.current_time
        won = touched = False
        parts = [b"VA %d" % item.value_length if command.value else b"HD"]
        append = parts.append
        for token in command.flags:
            letter = token[0]
            if letter == 84:  # T
                touched = True
                store.set_exptime(item, command.ttl or 0)
            elif letter == 78:  # N
                if created:
                    store.set_exptime(item, command.vivify_ttl or 0)
                    won = True
            elif letter == 82:  # R: win the recache token when the TTL left is below R
                recache_at = store.time.realtime(command.recache_ttl or 0)
                if (
                    not item.bits & TOKEN_SENT
                    and not created
                    and item.exptime != 0
                    and item.exptime < recache_at
                ):
                    won = True
            elif letter == 115:  # s
                append(b" s%d" % item.value_length)
            elif letter == 116:  # t
                append(b" t" + _ttl_left(item, now))
            elif letter == 99:  # c
                append(b" c%d" % item.cas)
            elif letter == 102:  # f
                append(b" f%d" % item.flags)
            elif letter == 108:  # l
                append(b" l%d" % ((now - item.time) & UINT32_MASK))
            elif letter == 104:  # h
                append(b" h1" if item.fetched else b" h0")
            elif letter == 79:  # O
                append(_opaque(token))
            elif letter == 107:  # k
                append(_key_flag(item.key, item.bits & KEY_BINARY))
        bits = item.bits
        if bits & TOKEN_SENT:
            append(b" Z")
        if bits & STALE:
            append(b" X")
            if not bits & TOKEN_SENT:
                won = True  # a stale item hands its first reader the recache token
        if won:
            append(b" W")
            item.bits |= TOKEN_SENT
        append(b"\r\n")
        out.append(b"".join(parts))
        if command.value:
            out.append(item.block)
        if command.locked and not command.no_update:
            store.bump(item)
        store.count_hit(item, touched)
        if touched:
            self.counters.cmd_touch += 1
        else:
            self.counters.cmd_get += 1

    # -- ms ---------------------------------------------------------------------------------

    def set(self, command: C.MetaSet, out: list[bytes], _: object) -> None:
        store = self.store
        key = command.key
        if command.too_large or not store.item_size_ok(
            key, command.client_flags, len(command.data)
        ):
            self._allocation_failed(key, True, out)
            return
        if command.bad_chunk:
            if store.count_set(key, command.client_flags, len(command.data)):
                out.append(R.BAD_DATA_CHUNK)
            else:
                self._allocation_failed(key, False, out)
            return
        result = store.store(
            command.mode,
            key,
            command.client_flags,
            command.ttl,
            command.data,
            command.cas,
            bits=KEY_BINARY if command.key_binary else 0,
            invalidate=command.invalidate,
        )
        status = _SET_STATUS.get(result)
        if status is None:  # NO_MEMORY (TOO_LARGE was ruled out above)
            self._allocation_failed(key, False, out)
            return
        if result is StoreResult.NOT_FOUND:
            self.counters.cas_misses += 1
        elif result is StoreResult.STORED and command.quiet:
            return
        parts = [status]
        for token in command.flags:
            letter = token[0]
            if letter == 79:  # O (its length was checked by the parser)
                parts.append(b" " + token)
            elif letter == 107:  # k
                parts.append(_key_flag(key, command.key_binary))
            elif letter == 99:  # c: the new item's cas, 0 when nothing was stored
                linked = store.linked(key) if result is StoreResult.STORED else None
                parts.append(b" c%d" % (linked.cas if linked is not None else 0))
        parts.append(b"\r\n")
        out.append(b"".join(parts))

    def _allocation_failed(self, key: bytes, too_large: bool, out: list[bytes]) -> None:
        """ms could not allocate its item: memcached drops the old value, whatever the mode."""
        if too_large:
            self.counters.store_too_large += 1
            out.append(R.TOO_LARGE)
        else:
            self.counters.store_no_memory += 1
            out.append(R.OUT_OF_MEMORY_STORING)
        self.store.discard(key)

    # -- md ---------------------------------------------------------------------------------

    def delete(self, command: C.MetaDelete, out: list[bytes], _: object) -> None:
        store = self.store
        flags = _request_flags(command.flags, command.key, command.key_binary)
        item = store.lookup(command.key)
        if item is None:
            self.counters.delete_misses += 1
            status = b"NF"
        elif command.cas is not None and item.cas != command.cas:
            self.counters.delete_misses += 1
            status = b"EX"
        else:
            if command.invalidate:
                store.invalidate(item, command.ttl)
            else:
                store.remove(item)
            if command.quiet:
                return
            status = b"HD"
        out.append(status + flags + b"\r\n")

    # -- ma ---------------------------------------------------------------------------------

    def arithmetic(self, command: C.MetaArithmetic, out: list[bytes], session: Any) -> None:
        try:
            line = self._arithmetic(command, session.pinned(out))
        except OpaqueTooLong:  # found while rendering, after the arithmetic was done
            line = R.META_OPAQUE_TOO_LONG
        if line is not None:
            out.append(line)

    def _arithmetic(self, command: C.MetaArithmetic, pinned: list[Item]) -> bytes | None:
        """The reply line of an ma (None when quiet hides it)."""
        store = self.store
        result = store.apply_delta(command.key, command.incr, command.delta, command.cas, pinned)
        created = False
        if type(result) is tuple:
            value, item = result
        elif result is DeltaResult.NON_NUMERIC:
            return R.NON_NUMERIC
        elif result is DeltaResult.NO_MEMORY:
            return R.OUT_OF_MEMORY
        elif result is DeltaResult.NOT_FOUND and command.vivify_ttl is not None:
            value = command.initial
            vivified = store.create(command.key, b"%d\r\n" % value)
            if vivified is None:
                return R.META_OUT_OF_MEMORY_VIVIFY
            item, created = vivified, True
        else:
            if result is DeltaResult.NOT_FOUND:
                if command.incr:
                    self.counters.incr_misses += 1
                else:
                    self.counters.decr_misses += 1
            status = b"NF" if result is DeltaResult.NOT_FOUND else b"EX"
            return status + _request_flags(command.flags, command.key, command.key_binary) + b"\r\n"
        line = self._arithmetic_line(command, item, value, created)
        return line if not command.quiet or created else None

    def _arithmetic_line(
        self, command: C.MetaArithmetic, item: Item, value: int, created: bool
    ) -> bytes:
        store = self.store
        now = store.time.current_time
        digits = b"%d" % value
        parts = [b"VA %d" % len(digits) if command.value else b"HD"]
        for token in command.flags:
            letter = token[0]
            if letter == 99:  # c
                parts.append(b" c%d" % item.cas)
            elif letter == 116:  # t
                parts.append(b" t" + _ttl_left(item, now))
            elif letter == 84:  # T (on memcached's `it`: a replaced item keeps its TTL)
                store.set_exptime(item, command.ttl or 0)
            elif letter == 78:  # N
                if created:
                    store.set_exptime(item, command.vivify_ttl or 0)
            elif letter == 79:  # O
                parts.append(_opaque(token))
            elif letter == 107:  # k
                parts.append(_key_flag(command.key, command.key_binary))
        parts.append(b"\r\n")
        if command.value:
            parts.append(digits + b"\r\n")
        return b"".join(parts)

    # -- me ---------------------------------------------------------------------------------

    def debug(self, command: C.MetaDebug, out: list[bytes], _: object) -> None:
        store = self.store
        self.counters.cmd_meta += 1
        item = store.lookup(command.key)
        if item is None:
            out.append(R.EN)
            return
        now = store.time.current_time
        key = encode_key(item.key) if item.bits & KEY_BINARY else item.key
        # memcached prints current_time - exptime as a signed int: negative while it lives
        exp = -1 if item.exptime == 0 else now - item.exptime
        out.append(
            b"ME %b exp=%d la=%d cas=%d fetch=%b cls=%d size=%d\r\n"
            % (
                key,
                exp,
                (now - item.time) & UINT32_MASK,
                item.cas,
                b"yes" if item.fetched else b"no",
                item.clsid,
                store.item_total_size(item),
            )
        )
