"""memcached's administrative commands: lru_crawler, slabs, lru, watch, extstore.

pymcd answers them as memcached 1.6.18 does with its default settings (crawler, slab
reassignment and watch on), with a simpler engine behind: the crawler runs synchronously,
``slabs reassign`` moves a page at once, ``lru`` settings are validated and accepted (pymcd's
LRU is flat per class), and ``watch`` turns the connection into a log stream that pymcd never
writes to (it logs no fetch/mutation events). Replies are complete byte strings.
"""

from __future__ import annotations

from pymcd.config import Settings
from pymcd.protocol import responses as R
from pymcd.protocol.numbers import strtol, strtoul
from pymcd.store import Store

MAX_NUMBER_OF_SLAB_CLASSES = 64
WATCH_TYPES = frozenset(
    {
        b"rawcmds",
        b"evictions",
        b"fetchers",
        b"mutations",
        b"sysevents",
        b"connevents",
        b"proxyreqs",
        b"proxyevents",
        b"proxyuser",
    }
)
_REASSIGN_REPLIES = {
    "OK": R.OK,
    "SAME": b"SAME src and dst class are identical\r\n",
    "BADCLASS": b"BADCLASS invalid src or dst class id\r\n",
    "NOSPARE": b"NOSPARE source class has no spare pages\r\n",
}
_BADCLASS = b"BADCLASS invalid class id\r\n"
_URI_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def crawler_classes(spec: bytes, store: Store) -> list[int] | None:
    """``all`` or a comma list of class ids (memcached's lru_crawler_crawl); None = BADCLASS."""
    if spec == b"all":
        return list(range(1, store.largest_clsid + 1))
    ids = []
    for part in spec.split(b","):
        clsid = strtoul(part)
        if clsid is None or not 1 <= clsid < MAX_NUMBER_OF_SLAB_CLASSES:
            return None
        ids.append(clsid)
    return ids


def uriencode(key: bytes) -> bytes:
    """memcached's uriencode for metadump keys: unreserved bytes stay, the rest become %XX."""
    if all(byte in _URI_SAFE for byte in key):
        return key
    return b"".join(bytes([b]) if b in _URI_SAFE else b"%%%02X" % b for b in key)


def metadump(store: Store, clsids: list[int]) -> bytes:
    """``lru_crawler metadump``: one line per live item, oldest first per class, then END."""
    started = store.time.process_started
    lines = []
    for clsid in clsids:
        for item in store.live_items(clsid):
            exp = -1 if item.exptime == 0 else item.exptime + started
            lines.append(
                b"key=%b exp=%d la=%d cas=%d fetch=%b cls=%d size=%d\n"
                % (
                    uriencode(item.key),
                    exp,
                    item.time + started,
                    item.cas,
                    b"yes" if item.fetched else b"no",
                    item.clsid,
                    store.item_total_size(item),
                )
            )
    lines.append(R.END)
    return b"".join(lines)


def lru_crawler(
    tokens: list[bytes], ntokens: int, store: Store, settings: Settings, stacked: bool
) -> bytes:
    """``stacked``: replies are queued that memcached has not written yet (resp_has_stack)."""
    sub = tokens[1] if len(tokens) > 1 else b""
    if ntokens == 4 and sub in (b"crawl", b"metadump") and not settings.lru_crawler:
        return b"CLIENT_ERROR lru crawler disabled\r\n"
    if ntokens == 4 and sub == b"crawl":
        clsids = crawler_classes(tokens[2], store)
        if clsids is None:
            return _BADCLASS
        store.crawl(clsids)
        return R.OK
    if ntokens == 4 and sub == b"metadump":
        if not settings.dump_enabled:
            return b"ERROR metadump not allowed\r\n"
        if stacked:
            return b"ERROR cannot pipeline other commands before metadump\r\n"
        clsids = crawler_classes(tokens[2], store)
        if clsids is None:
            return _BADCLASS
        return metadump(store, clsids)
    if ntokens == 4 and sub in (b"tocrawl", b"sleep"):
        value = strtoul(tokens[2])
        if value is None:
            return R.BAD_FORMAT
        if sub == b"sleep" and value > 1000000:
            return b"CLIENT_ERROR sleep must be one second or less\r\n"
        return R.OK
    if ntokens == 3 and sub == b"enable":
        if settings.lru_crawler:
            return b"ERROR failed to start lru crawler thread\r\n"  # already running
        settings.lru_crawler = True
        return R.OK
    if ntokens == 3 and sub == b"disable":
        settings.lru_crawler = False
        return R.OK
    return R.ERROR


def slabs(tokens: list[bytes], ntokens: int, store: Store) -> bytes:
    if ntokens == 5 and tokens[1] == b"reassign":
        src = strtol(tokens[2])
        dst = strtol(tokens[3])
        if src is None or dst is None:
            return R.BAD_FORMAT
        return _REASSIGN_REPLIES[store.reassign_page(src, dst)]
    if ntokens >= 4 and tokens[1] == b"automove":
        noreply = tokens[ntokens - 2] == b"noreply"
        if tokens[2] == b"ratio":
            return R.OK if ntokens >= 5 and _is_double(tokens[3]) else R.ERROR
        level = strtoul(tokens[2])
        if level is None:
            return b"" if noreply else R.BAD_FORMAT
        if level > 2:
            return R.ERROR
        return b"" if noreply else R.OK
    return R.ERROR


def lru(tokens: list[bytes], ntokens: int) -> bytes:
    if ntokens < 3:
        return R.ERROR
    sub = tokens[1]
    if sub == b"tune" and ntokens >= 7:
        hot, warm = strtoul(tokens[2]), strtoul(tokens[3])
        if hot is None or warm is None or not _is_double(tokens[4]) or not _is_double(tokens[5]):
            return R.ERROR
        if hot + warm > 80:
            return b"ERROR hot and warm pcts must not exceed 80\r\n"
        if float(tokens[4]) <= 0 or float(tokens[5]) <= 0:
            return b"ERROR hot/warm age factors must be greater than 0\r\n"
        return R.OK
    if sub == b"mode" and ntokens >= 4:
        return R.OK if tokens[2] in (b"flat", b"segmented") else R.ERROR
    if sub == b"temp_ttl" and ntokens >= 4:
        return R.OK if strtol(tokens[2]) is not None else R.ERROR
    return R.ERROR


def watch_reply(
    tokens: list[bytes], ntokens: int, settings: Settings, stacked: bool
) -> bytes | None:
    """The refusal for a bad ``watch``, or None when the connection becomes a watcher.

    ``stacked``: replies are queued that memcached has not written yet (resp_has_stack).
    """
    if not settings.watch_enabled:
        noreply = tokens[ntokens - 2] == b"noreply"
        return b"" if noreply else b"CLIENT_ERROR watch commands not allowed\r\n"
    if stacked:
        return b"ERROR cannot pipeline other commands before watch\r\n"
    for kind in tokens[1 : ntokens - 1]:
        if kind not in WATCH_TYPES:
            return R.ERROR
    return None


_EXTSTORE_UINT_SETTINGS = frozenset(
    {
        b"item_size",
        b"item_age",
        b"low_ttl",
        b"recache_rate",
        b"compact_under",
        b"drop_under",
        b"max_sleep",
        b"drop_unread",
    }
)


def extstore(tokens: list[bytes], ntokens: int) -> bytes:
    """memcached's extstore tuning commands: validated and accepted (pymcd has no extstore)."""
    noreply = tokens[ntokens - 2] == b"noreply"
    ok = False
    if ntokens >= 4:
        sub = tokens[1]
        if sub == b"free_memchunks" and ntokens > 4:
            clsid, limit = strtoul(tokens[2]), strtoul(tokens[3])
            ok = clsid is not None and limit is not None and clsid < MAX_NUMBER_OF_SLAB_CLASSES
        elif sub in _EXTSTORE_UINT_SETTINGS:
            ok = strtoul(tokens[2]) is not None
        elif sub == b"max_frag":
            ok = _is_double(tokens[2])
    if noreply:
        return b""
    return R.OK if ok else R.ERROR


def _is_double(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
