"""The pytest plugin (entry point ``pytest11``, name ``memcached``): memcached in every test.

Fixtures (every name starts with ``memcached``):

``memcached_server``
    One :class:`~pymcd.testing.MemcachedServer` per session (per xdist worker, port 0), reset
    before each test: no items, zeroed stats, no faults, empty command log, clock undone, old
    connections closed.
``memcached_factory``
    ``memcached_factory(**settings)`` starts another server; all are stopped after the test.
``memcached_cluster``
    A :class:`MemcachedCluster` of 3 fresh servers (``@pytest.mark.memcached_cluster(size=5)``
    for another size), stopped after the test.
``memcached_trio_server`` / ``memcached_trio_factory``
    Async (pytest-trio) versions running in the test's own trio loop, so ``autojump_clock``
    drives expiry; fresh per test.
``memcached_config``
    The resolved options (session scope).

Options, by precedence: factory argument > command line > ini > environment.

- ``--memcached-external HOST:PORT[,HOST:PORT…]`` / ini ``memcached_external`` / env
  ``PYMCD_MEMCACHED_EXTERNAL``: use running servers instead (``--memcached-external=`` on the
  command line turns an ini or environment value off). Powers an external server lacks skip
  the test with the reason; so does ``memcached_factory`` with settings.
- ``--memcached-args FLAGS`` / ini ``memcached_args`` / env ``PYMCD_MEMCACHED_ARGS``: memcached
  command-line flags for the in-process servers (``-m 8 -M -I 512k``); merged flag by flag.

Nothing is started until a test asks for a fixture; the plugin imports pymcd (and trio) lazily.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, overload

import pytest

if TYPE_CHECKING:
    from pymcd.testing import ExternalMemcached, MemcachedServer, TrioMemcachedServer

ENV_EXTERNAL = "PYMCD_MEMCACHED_EXTERNAL"
ENV_ARGS = "PYMCD_MEMCACHED_ARGS"
DEFAULT_CLUSTER_SIZE = 3
# Settings the fixtures own: never taken from --memcached-args.
_OWNED = frozenset({"port", "interface", "listen_addresses", "daemonize", "pid_file", "user"})


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memcached", "memcached fixtures (pymcd)")
    group.addoption(
        "--memcached-external",
        metavar="HOST:PORT[,HOST:PORT...]",
        default=None,
        help=f"run the memcached fixtures against these servers instead of pymcd "
        f"(ini memcached_external, env {ENV_EXTERNAL}; empty turns them off)",
    )
    group.addoption(
        "--memcached-args",
        metavar="FLAGS",
        default=None,
        help=f"memcached flags for the in-process servers, e.g. '-m 8 -M' "
        f"(ini memcached_args, env {ENV_ARGS})",
    )
    parser.addini("memcached_external", "HOST:PORT[,...] of external memcached servers")
    parser.addini("memcached_args", "memcached flags for the in-process pymcd servers")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "memcached_cluster(size=3): how many servers memcached_cluster starts"
    )


@dataclasses.dataclass(frozen=True)
class MemcachedConfig:
    """Resolved options: ``external`` addresses (empty: in-process pymcd) and the Settings
    keyword arguments given by flags."""

    external: tuple[str, ...] = ()
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)

    def merged(self, **overrides: Any) -> dict[str, Any]:
        return {**self.settings, **overrides}


def flags_to_settings(flags: str) -> dict[str, Any]:
    """memcached flags as the Settings fields they change (``"-m 1"`` → memory_limit)."""
    from pymcd.cli import CliExit, parse_args

    if not flags.strip():
        return {}
    try:
        parsed = parse_args(shlex.split(flags)).settings
    except CliExit as exc:
        raise pytest.UsageError(f"memcached flags {flags!r}: {exc}") from None
    default = parse_args([]).settings
    return {
        field.name: getattr(parsed, field.name)
        for field in dataclasses.fields(parsed)
        if field.name not in _OWNED and getattr(parsed, field.name) != getattr(default, field.name)
    }


def resolve_config(
    *,
    cli_external: str | None,
    ini_external: str,
    env_external: str,
    cli_args: str | None,
    ini_args: str,
    env_args: str,
) -> MemcachedConfig:
    """Command line > ini > environment; flags merge one by one in that order."""
    external = cli_external if cli_external is not None else ini_external or env_external
    settings: dict[str, Any] = {}
    for flags in (env_args, ini_args, cli_args or ""):
        settings.update(flags_to_settings(flags))
    addresses = tuple(a.strip() for a in external.split(",") if a.strip())
    return MemcachedConfig(external=addresses, settings=settings)


def _config_from(config: pytest.Config) -> MemcachedConfig:
    ini_external = config.getini("memcached_external")
    ini_args = config.getini("memcached_args")
    return resolve_config(
        cli_external=config.getoption("memcached_external"),
        ini_external=str(ini_external or ""),
        env_external=os.environ.get(ENV_EXTERNAL, ""),
        cli_args=config.getoption("memcached_args"),
        ini_args=str(ini_args or ""),
        env_args=os.environ.get(ENV_ARGS, ""),
    )


def _skip(reason: str) -> NoReturn:
    pytest.skip(reason)


def _external(address: str) -> ExternalMemcached:
    from pymcd.testing import ExternalMemcached

    return ExternalMemcached(address, unavailable=_skip)


class MemcachedCluster(Sequence["MemcachedServer | ExternalMemcached"]):
    """N servers for clients that shard: ``cluster.addresses``, ``cluster[1].stop()``."""

    def __init__(self, servers: list[MemcachedServer | ExternalMemcached]) -> None:
        self.servers = servers

    @property
    def addresses(self) -> list[str]:
        return [server.address for server in self.servers]

    @overload
    def __getitem__(self, index: int) -> MemcachedServer | ExternalMemcached: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[MemcachedServer | ExternalMemcached]: ...

    def __getitem__(
        self, index: int | slice
    ) -> MemcachedServer | ExternalMemcached | Sequence[MemcachedServer | ExternalMemcached]:
        return self.servers[index]

    def __len__(self) -> int:
        return len(self.servers)

    def __repr__(self) -> str:
        return f"<MemcachedCluster {self.addresses}>"


# -------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def memcached_config(pytestconfig: pytest.Config) -> MemcachedConfig:
    """The resolved memcached options of this run."""
    return _config_from(pytestconfig)


@pytest.fixture(scope="session")
def memcached_session_server(
    memcached_config: MemcachedConfig,
) -> Iterator[MemcachedServer | ExternalMemcached]:
    """The session's server, not reset between tests (use ``memcached_server``)."""
    if memcached_config.external:
        external = _external(memcached_config.external[0])
        yield external
        external.close()
        return
    from pymcd.testing import MemcachedServer

    server = MemcachedServer(**memcached_config.settings)
    with server:
        yield server


@pytest.fixture
def memcached_server(
    memcached_session_server: MemcachedServer | ExternalMemcached,
) -> MemcachedServer | ExternalMemcached:
    """The session's server, reset to empty and fault-free before this test."""
    server = memcached_session_server
    if not server.running:  # a previous test stopped it
        server.start()
    server.reset()
    return server


@pytest.fixture
def memcached_factory(
    memcached_config: MemcachedConfig,
) -> Iterator[Callable[..., MemcachedServer | ExternalMemcached]]:
    """``memcached_factory(**settings)``: a new started server, stopped after the test."""
    started: list[MemcachedServer | ExternalMemcached] = []

    def factory(**settings: Any) -> MemcachedServer | ExternalMemcached:
        if memcached_config.external:
            if settings:
                pytest.skip(
                    f"memcached_factory({', '.join(settings)}=…) needs pymcd; this run uses "
                    f"the external memcached at {memcached_config.external[0]}"
                )
            handle: MemcachedServer | ExternalMemcached = _external(memcached_config.external[0])
            handle.reset()
        else:
            from pymcd.testing import MemcachedServer

            handle = MemcachedServer(**memcached_config.merged(**settings)).start()
        started.append(handle)
        return handle

    yield factory
    _stop_all(started)


def _stop_all(handles: list[MemcachedServer | ExternalMemcached]) -> None:
    from pymcd.testing import ExternalMemcached

    for handle in handles:
        if isinstance(handle, ExternalMemcached):
            handle.close()
        else:
            handle.stop()


@pytest.fixture
def memcached_cluster(
    request: pytest.FixtureRequest, memcached_config: MemcachedConfig
) -> Iterator[MemcachedCluster]:
    """Fresh servers for sharding clients (``@pytest.mark.memcached_cluster(size=N)``)."""
    marker = request.node.get_closest_marker("memcached_cluster")
    size = DEFAULT_CLUSTER_SIZE
    settings: dict[str, Any] = {}
    if marker is not None:
        size = int(marker.kwargs.get("size", marker.args[0] if marker.args else size))
        settings = {k: v for k, v in marker.kwargs.items() if k != "size"}
    servers: list[MemcachedServer | ExternalMemcached] = []
    if memcached_config.external:
        if len(memcached_config.external) < size or settings:
            pytest.skip(
                f"memcached_cluster needs {size} servers"
                + (" with custom settings" if settings else "")
                + f"; --memcached-external gives {len(memcached_config.external)}"
            )
        servers = [_external(a) for a in memcached_config.external[:size]]
        for server in servers:
            server.reset()
    else:
        from pymcd.testing import MemcachedServer

        try:
            for _ in range(size):
                servers.append(MemcachedServer(**memcached_config.merged(**settings)).start())
        except BaseException:
            _stop_all(servers)
            raise
    yield MemcachedCluster(servers)
    _stop_all(servers)


@pytest.fixture
async def memcached_trio_server(
    memcached_config: MemcachedConfig,
) -> AsyncIterator[TrioMemcachedServer | ExternalMemcached]:
    """A fresh server in the test's trio loop (pytest-trio): trio's clock drives expiry."""
    if memcached_config.external:
        external = _external(memcached_config.external[0])
        external.reset()
        yield external
        external.close()
        return
    from pymcd.testing import open_memcached_server

    async with open_memcached_server(**memcached_config.settings) as server:
        yield server


@pytest.fixture
async def memcached_trio_factory(
    memcached_config: MemcachedConfig,
) -> AsyncIterator[Callable[..., Any]]:
    """``await memcached_trio_factory(**settings)``: more servers in the test's trio loop."""
    import functools

    import trio

    from pymcd.testing import serve_memcached

    async with trio.open_nursery() as nursery:
        started: list[TrioMemcachedServer] = []

        async def factory(**settings: Any) -> TrioMemcachedServer | ExternalMemcached:
            if memcached_config.external:
                if settings:
                    pytest.skip(
                        f"memcached_trio_factory({', '.join(settings)}=…) needs pymcd; this "
                        f"run uses the external memcached at {memcached_config.external[0]}"
                    )
                external = _external(memcached_config.external[0])
                external.reset()
                return external
            handle: TrioMemcachedServer = await nursery.start(
                functools.partial(serve_memcached, **memcached_config.merged(**settings))
            )
            started.append(handle)
            return handle

        yield factory
        for handle in started:
            handle.stop()
