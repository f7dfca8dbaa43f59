"""Reply bytes: memcached's exact strings, rendered once as constants where possible.

Only the protocol layer and the dispatcher know these strings; the store answers enums.
"""

from __future__ import annotations

from collections.abc import Iterable

STORED = b"STORED\r\n"
NOT_STORED = b"NOT_STORED\r\n"
EXISTS = b"EXISTS\r\n"
NOT_FOUND = b"NOT_FOUND\r\n"
DELETED = b"DELETED\r\n"
TOUCHED = b"TOUCHED\r\n"
END = b"END\r\n"
OK = b"OK\r\n"
RESET = b"RESET\r\n"
ERROR = b"ERROR\r\n"
MN = b"MN\r\n"

BAD_FORMAT = b"CLIENT_ERROR bad command line format\r\n"
BAD_COMMAND_LINE = b"CLIENT_ERROR bad command line\r\n"
BAD_DATA_CHUNK = b"CLIENT_ERROR bad data chunk\r\n"
INVALID_EXPTIME = b"CLIENT_ERROR invalid exptime argument\r\n"
INVALID_DELTA = b"CLIENT_ERROR invalid numeric delta argument\r\n"
NON_NUMERIC = b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
DELETE_USAGE = b"CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
TOO_LARGE = b"SERVER_ERROR object too large for cache\r\n"
OUT_OF_MEMORY_STORING = b"SERVER_ERROR out of memory storing object\r\n"
OUT_OF_MEMORY = b"SERVER_ERROR out of memory\r\n"
FLUSH_DISABLED = b"CLIENT_ERROR flush_all not allowed\r\n"
SHUTDOWN_DISABLED = b"ERROR: shutdown not enabled\r\n"
SHUTDOWN_BAD_MODE = b"CLIENT_ERROR invalid shutdown mode\r\n"
TOO_MANY_CONNECTIONS = b"ERROR Too many open connections\r\n"
CACHEDUMP_DISABLED = b"CLIENT_ERROR stats cachedump not allowed\r\n"
ILLEGAL_SLAB_ID = b"CLIENT_ERROR Illegal slab id\r\n"
MEMLIMIT_TOO_SMALL = b"MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n"
MEMLIMIT_NOT_BYTES = b"MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n"
MEMLIMIT_FAILED = b"MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n"

# meta commands (proto_text.c spells the "too long" errors differently for mg and the others)
EN = b"EN\r\n"
META_FLAGS_TOO_LONG_MG = b"CLIENT_ERROR options flags are too long\r\n"
META_FLAGS_TOO_LONG = b"CLIENT_ERROR options flags too long\r\n"
META_DUPLICATE_FLAG = b"CLIENT_ERROR duplicate flag\r\n"
META_INVALID_FLAG = b"CLIENT_ERROR invalid flag\r\n"
META_INVALID_OR_DUPLICATE = b"CLIENT_ERROR invalid or duplicate flag\r\n"
META_KEY_DECODE = b"CLIENT_ERROR error decoding key\r\n"
META_BAD_TOKEN = b"CLIENT_ERROR bad token in command line format\r\n"
META_M_LENGTH = b"CLIENT_ERROR incorrect length for M token\r\n"
META_BAD_INITIAL = b"CLIENT_ERROR invalid numeric initial value\r\n"
META_BAD_DELTA = b"CLIENT_ERROR invalid numeric delta value\r\n"
META_OPAQUE_TOO_LONG = b"CLIENT_ERROR opaque token too long\r\n"
META_SET_BAD_MODE = b"CLIENT_ERROR invalid mode for ms M token\r\n"
META_ARITHMETIC_BAD_MODE = b"CLIENT_ERROR invalid mode for ma M token\r\n"
META_OUT_OF_MEMORY_VIVIFY = b"SERVER_ERROR Out of memory allocating new item\r\n"


def stats_block(pairs: Iterable[tuple[str, object]]) -> bytes:
    """``STAT <name> <value>\\r\\n`` lines closed by ``END``."""
    lines = [f"STAT {name} {value}\r\n" for name, value in pairs]
    lines.append("END\r\n")
    return "".join(lines).encode()
