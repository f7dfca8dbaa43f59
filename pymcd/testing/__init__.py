"""pymcd's public testing layer: a real memcached-compatible server inside your test process.

- :class:`MemcachedServer` — a server in a background thread, for any test suite
  (``with MemcachedServer(**settings) as server:``).
- :func:`open_memcached_server` / :func:`serve_memcached` — a server in your own trio loop
  (trio's ``MockClock`` then drives expiry).
- Both handles offer inspection (``keys``, ``item``, ``item_count``, ``stats``…), the command
  log (``commands``, ``command_names``), clock control (``advance_clock``), ``flush``,
  ``reset``, ``restart`` and fault injection (``server.faults``).
- :class:`ExternalMemcached` — the same API's wire-only part for an out-of-process server.
- :class:`RawClient` — a blocking raw-protocol client.
- The pytest plugin (:mod:`pymcd.testing.plugin`) is installed with pymcd: ``memcached_server``,
  ``memcached_factory``, ``memcached_cluster``, ``memcached_trio_server``, ….
"""

from __future__ import annotations

from pymcd.testing.client import RawClient
from pymcd.testing.control import StoredItem
from pymcd.testing.external import ExternalMemcached, PowerUnavailable
from pymcd.testing.faults import OUT_OF_MEMORY, Fault, FaultControl, LoggedCommand
from pymcd.testing.server import MemcachedServer
from pymcd.testing.trio_server import (
    TrioMemcachedServer,
    open_memcached_server,
    serve_memcached,
)

__all__ = [
    "OUT_OF_MEMORY",
    "ExternalMemcached",
    "Fault",
    "FaultControl",
    "LoggedCommand",
    "MemcachedServer",
    "PowerUnavailable",
    "RawClient",
    "StoredItem",
    "TrioMemcachedServer",
    "open_memcached_server",
    "serve_memcached",
]
