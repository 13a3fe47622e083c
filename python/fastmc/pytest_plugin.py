# SPDX-License-Identifier: MIT
"""pytest fixtures that start real memcached servers (registered as the ``fastmc`` plugin).

Fixtures (all function-scoped; every server they start is killed at the end of
the test, whatever the outcome):

- ``memcached``: a fresh MemcachedServer on a free loopback port.
- ``memcached_factory``: ``memcached_factory(**kwargs)`` starts another
  MemcachedServer with those arguments and returns it.
- ``memcached_cluster``: a started MemcachedCluster of three servers.
- ``memcached_cluster_factory``: ``memcached_cluster_factory(count=3, **kwargs)``.
- ``memcached_unix``: a MemcachedServer listening on a unix socket.

``FASTMC_TEST_SERVERS`` (comma-separated addresses) makes ``memcached``,
``memcached_cluster`` and ``memcached_unix`` hand out those existing servers
instead, flushed before the test, for debugging against a daemon you run
yourself. Process operations (pause, kill, restart) then raise. The factories
always start their own servers, since an existing daemon cannot honour their
arguments.

This module imports fastmc.testing only inside the fixtures, and fastmc.testing
needs only the standard library, so loading the plugin never requires the
native extension.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fastmc.testing import ExternalServer, MemcachedCluster, MemcachedServer

_SERVERS_VARIABLE = "FASTMC_TEST_SERVERS"
_CLUSTER_SIZE = 3


def _external_servers() -> list[ExternalServer] | None:
    """The servers named by FASTMC_TEST_SERVERS, flushed; None when it is unset or empty."""
    from fastmc.testing import ExternalServer, parse_server_list

    addresses = parse_server_list(os.environ.get(_SERVERS_VARIABLE, ""))
    if not addresses:
        return None
    return [ExternalServer(address) for address in addresses]


class _ExternalCluster:
    """The cluster view of FASTMC_TEST_SERVERS, shaped like MemcachedCluster."""

    def __init__(self, servers: list[ExternalServer]) -> None:
        self.servers = servers

    @property
    def addresses(self) -> list[str]:
        return [server.address for server in self.servers]

    def __getitem__(self, index: int) -> ExternalServer:
        return self.servers[index]

    def __iter__(self) -> Iterator[ExternalServer]:
        return iter(self.servers)

    def __len__(self) -> int:
        return len(self.servers)


@pytest.fixture
def memcached_factory() -> Iterator[Callable[..., MemcachedServer]]:
    """Returns ``start(**kwargs) -> MemcachedServer``; all it started are killed at the end."""
    from fastmc.testing import MemcachedServer

    servers: list[MemcachedServer] = []

    def start(**kwargs: Any) -> MemcachedServer:
        server = MemcachedServer(**kwargs)
        servers.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def memcached_cluster_factory() -> Iterator[Callable[..., MemcachedCluster]]:
    """Returns ``start(count=3, **kwargs) -> MemcachedCluster``; all are killed at the end."""
    from fastmc.testing import MemcachedCluster

    clusters: list[MemcachedCluster] = []

    def start(count: int = _CLUSTER_SIZE, **kwargs: Any) -> MemcachedCluster:
        cluster = MemcachedCluster(count, **kwargs)
        clusters.append(cluster)
        return cluster.start()

    try:
        yield start
    finally:
        for cluster in clusters:
            cluster.close()


@pytest.fixture
def memcached(
    memcached_factory: Callable[..., MemcachedServer],
) -> MemcachedServer | ExternalServer:
    """A fresh, empty memcached on a free loopback port (or the first FASTMC_TEST_SERVERS one)."""
    external = _external_servers()
    if external is not None:
        external[0].flush()
        return external[0]
    return memcached_factory()


@pytest.fixture
def memcached_unix(
    memcached_factory: Callable[..., MemcachedServer],
) -> MemcachedServer | ExternalServer:
    """A fresh memcached on a unix socket (or the first ``unix:`` FASTMC_TEST_SERVERS one)."""
    external = _external_servers()
    if external is not None:
        unix_servers = [server for server in external if server.path is not None]
        if not unix_servers:
            pytest.skip(f"{_SERVERS_VARIABLE} names no unix: server")
        unix_servers[0].flush()
        return unix_servers[0]
    return memcached_factory(unix_socket=True)


@pytest.fixture
def memcached_cluster(
    memcached_cluster_factory: Callable[..., MemcachedCluster],
) -> MemcachedCluster | _ExternalCluster:
    """Three fresh memcached servers (or the first three FASTMC_TEST_SERVERS ones)."""
    external = _external_servers()
    if external is not None:
        if len(external) < _CLUSTER_SIZE:
            pytest.skip(f"{_SERVERS_VARIABLE} names fewer than {_CLUSTER_SIZE} servers")
        for server in external[:_CLUSTER_SIZE]:
            server.flush()
        return _ExternalCluster(external[:_CLUSTER_SIZE])
    return memcached_cluster_factory()
