# SPDX-License-Identifier: MIT
"""libmc.ClientPool: ``with pool.client() as mc: ...``.

libmc pools single-threaded clients so that threads do not share one. A
fastmc client is thread-safe, so the pool hands every thread the same client,
whose connection pools already give each concurrent call its own connection;
its last error is kept per thread, so get_last_error() inside the block is
the calling thread's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastmc.compat.libmc import constants as mc
from fastmc.compat.libmc.client import Client


class ClientPool:
    """Drop-in for ``libmc.ClientPool(servers, ...)`` (the Client's arguments)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._client = Client(*args, **kwargs)

    @contextmanager
    def client(self) -> Iterator[Client]:
        yield self._client

    @property
    def servers(self) -> list[str]:
        return self._client.servers

    @property
    def comp_threshold(self) -> int:
        return self._client.comp_threshold

    def config(self, opt: int, val: int) -> None:
        """As Client.config; MC_INITIAL_CLIENTS and MC_MAX_GROWTH have no
        effect (connections open as calls need them), MC_MAX_CLIENTS caps the
        connections to each server."""
        if opt in (mc.MC_INITIAL_CLIENTS, mc.MC_MAX_GROWTH):
            return
        self._client.config(opt, val)

    def update_servers(self, servers: list[str]) -> bool:
        return self._client.update_servers(servers)
