"""A ctypes binding to the few libmemcached 1.x calls that FreeSWITCH's mod_memcache makes.

Only what ``mod_memcache.py`` needs, declared with the prototypes of Debian's
``/usr/include/libmemcached-1.0`` (package libmemcached-dev) so that every call goes through
the real library exactly as the C module's calls do. :func:`load` raises ``OSError`` when the
shared library is not installed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from ctypes import (
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_int,
    c_long,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_ulong,
    c_ulonglong,
    c_void_p,
)

# memcached_return_t (libmemcached-1.0/types/return.h): the values mod_memcache tests for
MEMCACHED_SUCCESS = 0
MEMCACHED_NOTFOUND = 16
MEMCACHED_SOME_ERRORS = 19

memcached_return_t = c_int
time_t = c_long


class memcached_stat_st(Structure):
    """libmemcached-1.0/struct/stat.h; declared for its size: ``stat[x]`` indexes an array."""

    _fields_ = [
        *((name, c_ulong) for name in ("connection_structures", "curr_connections", "curr_items")),
        ("pid", c_int),
        *(
            (name, c_ulong)
            for name in (
                "pointer_size",
                "rusage_system_microseconds",
                "rusage_system_seconds",
                "rusage_user_microseconds",
                "rusage_user_seconds",
                "threads",
                "time",
                "total_connections",
                "total_items",
                "uptime",
            )
        ),
        *(
            (name, c_ulonglong)
            for name in (
                "bytes",
                "bytes_read",
                "bytes_written",
                "cmd_get",
                "cmd_set",
                "evictions",
                "get_hits",
                "get_misses",
                "limit_maxbytes",
            )
        ),
        ("version", c_char * 24),  # MEMCACHED_VERSION_STRING_LENGTH
        ("future", c_void_p),
        ("root", c_void_p),
    ]


# (name, result type, argument types); pointers to opaque structs are c_void_p
_PROTOTYPES: list[tuple[str, object, list[object]]] = [
    ("memcached_lib_version", c_char_p, []),
    ("memcached_servers_parse", c_void_p, [c_char_p]),
    ("memcached_server_list_count", c_uint32, [c_void_p]),
    ("memcached_server_list_free", None, [c_void_p]),
    ("memcached_create", c_void_p, [c_void_p]),
    ("memcached_server_push", memcached_return_t, [c_void_p, c_void_p]),
    ("memcached_clone", c_void_p, [c_void_p, c_void_p]),
    ("memcached_quit", None, [c_void_p]),
    ("memcached_free", None, [c_void_p]),
    ("memcached_strerror", c_char_p, [c_void_p, memcached_return_t]),
    # storage: (ptr, key, key_length, value, value_length, expiration, flags)
    *(
        (
            name,
            memcached_return_t,
            [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t, time_t, c_uint32],
        )
        for name in ("memcached_set", "memcached_add", "memcached_replace")
    ),
    (
        "memcached_get",
        c_void_p,  # malloc()ed, freed with free() as FreeSWITCH does
        [c_void_p, c_char_p, c_size_t, POINTER(c_size_t), POINTER(c_uint32), POINTER(c_int)],
    ),
    *(
        (name, memcached_return_t, [c_void_p, c_char_p, c_size_t, c_uint32, POINTER(c_uint64)])
        for name in ("memcached_increment", "memcached_decrement")
    ),
    ("memcached_delete", memcached_return_t, [c_void_p, c_char_p, c_size_t, time_t]),
    ("memcached_flush", memcached_return_t, [c_void_p, time_t]),
    ("memcached_stat", POINTER(memcached_stat_st), [c_void_p, c_char_p, POINTER(c_int)]),
    (
        "memcached_stat_get_keys",
        POINTER(c_char_p),
        [c_void_p, POINTER(memcached_stat_st), POINTER(c_int)],
    ),
    (
        "memcached_stat_get_value",
        c_void_p,
        [c_void_p, POINTER(memcached_stat_st), c_char_p, POINTER(c_int)],
    ),
    ("memcached_stat_free", None, [c_void_p, POINTER(memcached_stat_st)]),
    ("memcached_server_count", c_uint32, [c_void_p]),
    ("memcached_server_instance_by_position", c_void_p, [c_void_p, c_uint32]),
    ("memcached_server_name", c_char_p, [c_void_p]),
    ("memcached_server_port", c_uint16, [c_void_p]),
]

_lib: ctypes.CDLL | None = None
_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_libc.free.argtypes = [c_void_p]
_libc.free.restype = None


def load() -> ctypes.CDLL:
    """The shared library with every prototype declared (``OSError`` if it is missing)."""
    global _lib
    if _lib is None:
        path = ctypes.util.find_library("memcached")
        if path is None:
            raise OSError("libmemcached.so not found (apt-get install libmemcached-dev)")
        lib = ctypes.CDLL(path)
        for name, restype, argtypes in _PROTOTYPES:
            function = getattr(lib, name)
            function.restype = restype
            function.argtypes = argtypes
        _lib = lib
    return _lib


def free(pointer: int | None) -> None:
    """``free()`` for the buffers libmemcached hands over (it allocates with malloc)."""
    if pointer:
        _libc.free(pointer)
