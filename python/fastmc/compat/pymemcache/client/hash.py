# SPDX-License-Identifier: MIT
"""pymemcache.client.hash for fastmc: HashClient over many servers.

One native client with ``distribution="rendezvous"``: the same server as
pymemcache's RendezvousHash for every str key (routing.md), every server asked
at once by the multi-key calls (pymemcache asks them one after another), and
pymemcache's dead-server handling done natively: ``retry_attempts`` + 1
consecutive failures take a server out for ``dead_timeout`` seconds, and its
keys go to the next best server meanwhile (``dead_server_policy="failover"``).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from fastmc import _native
from fastmc.compat.pymemcache.client import rendezvous
from fastmc.compat.pymemcache.client.base import (
    Client,
    KeepaliveOpts,
    Key,
    PooledClient,
    _Commands,
    native_server,
    normalize_server_spec,
    pymemcache_stats,
)
from fastmc.compat.pymemcache.exceptions import HASH_CLIENT_ERROR_CLASSES, MemcacheError


def _is_rendezvous(hasher: Any) -> bool:
    if hasher is rendezvous.RendezvousHash:
        return True
    return (
        getattr(hasher, "__module__", "") == "pymemcache.client.rendezvous"
        and getattr(hasher, "__qualname__", "") == "RendezvousHash"
    )


def _client_key(server: Any) -> Any:
    """pymemcache's name for a server: ``"host:port"``, or the socket path."""
    if isinstance(server, (list, tuple)) and len(server) == 2:
        return "{}:{}".format(*server)
    return server


def _server_argument(server: Any, port: int | None) -> Any:
    """add_server/remove_server's server: ``(host, port)``, a spec, or a host and ``port``."""
    if port is not None:
        if not isinstance(server, str):
            raise TypeError("Server must be a string when passing port.")
        server = (server, port)
    return normalize_server_spec(server)


class HashClient(_Commands):
    """A client for a cluster of memcached servers, with pymemcache's arguments.

    ``hasher`` must be RendezvousHash (pymemcache's default, routed natively).
    ``use_pooling``, ``max_pool_size``, ``pool_idle_timeout`` and
    ``lock_generator`` are accepted: the native client pools connections
    anyway (``max_pool_size`` caps them per server).

    ``client_class`` is kept for compatibility: ``clients`` (built on first
    access) holds one ``client_class`` instance per server, for per-server
    calls such as stats; patching ``client_class`` changes those objects, not
    how this client stores and reads keys, which is native.
    """

    #: the class of the per-server objects in ``clients``.
    client_class = Client

    def __init__(
        self,
        servers: Iterable[Any],
        hasher: Any = rendezvous.RendezvousHash,
        serde: Any = None,
        serializer: Any = None,
        deserializer: Any = None,
        connect_timeout: float | None = None,
        timeout: float | None = None,
        no_delay: bool = False,
        socket_module: ModuleType = socket,
        socket_keepalive: KeepaliveOpts | None = None,
        key_prefix: bytes = b"",
        max_pool_size: int | None = None,
        pool_idle_timeout: float = 0,
        lock_generator: Callable[[], Any] | None = None,
        retry_attempts: int = 2,
        retry_timeout: float = 1,
        dead_timeout: float = 60,
        use_pooling: bool = False,
        ignore_exc: bool = False,
        allow_unicode_keys: bool = False,
        default_noreply: bool = True,
        encoding: str = "ascii",
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if not _is_rendezvous(hasher):
            raise TypeError(
                "fastmc's HashClient routes natively with pymemcache's RendezvousHash; "
                f"another hasher ({hasher!r}) is not supported"
            )
        self._servers = [normalize_server_spec(server) for server in servers]
        # pymemcache's attribute: the arguments each per-server client gets.
        self.default_kwargs = {
            "connect_timeout": connect_timeout,
            "timeout": timeout,
            "no_delay": no_delay,
            "socket_module": socket_module,
            "socket_keepalive": socket_keepalive,
            "key_prefix": key_prefix,
            "serde": serde,
            "serializer": serializer,
            "deserializer": deserializer,
            "allow_unicode_keys": allow_unicode_keys,
            "default_noreply": default_noreply,
            "encoding": encoding,
            "tls_context": tls_context,
        }
        self._setup(
            [native_server(server) for server in self._servers],
            ignore_exc=ignore_exc,
            **self.default_kwargs,
            distribution="rendezvous",
            dead_server_policy="failover",
            failure_limit=max(int(retry_attempts), 0) + 1,
            retry_timeout=float(retry_timeout),
            dead_timeout=float(dead_timeout),
            max_connections_per_server=max_pool_size or 0,
            error_classes=HASH_CLIENT_ERROR_CLASSES,
        )
        self.hasher = hasher()
        for server in self._servers:
            self.hasher.add_node(_client_key(server))
        self.retry_attempts = retry_attempts
        self.retry_timeout = retry_timeout
        self.dead_timeout = dead_timeout
        self.use_pooling = use_pooling
        self.max_pool_size = max_pool_size
        self.pool_idle_timeout = pool_idle_timeout
        self.lock_generator = lock_generator
        self._clients: dict[Any, Any] | None = None

    @property
    def _ignore_write_errors(self) -> bool:  # type: ignore[override]
        # pymemcache's HashClient returns its default value from any failing call.
        return self.ignore_exc

    # Servers ----------------------------------------------------------------

    @property
    def clients(self) -> dict[Any, Any]:
        """``{"host:port": client}``, one ``client_class`` (PooledClient with
        ``use_pooling``) per server, made on first access."""
        if self._clients is None:
            self._clients = {}
            for server in self._servers:
                self._clients[_client_key(server)] = self._make_client(server)
        return self._clients

    def _make_client(self, server: Any) -> Any:
        if self.use_pooling:
            kwargs = {
                **self.default_kwargs,
                "max_pool_size": self.max_pool_size,
                "pool_idle_timeout": self.pool_idle_timeout,
                "lock_generator": self.lock_generator,
            }
            client = PooledClient(server, **kwargs)
            client.client_class = self.client_class
            return client
        return self.client_class(server, **self.default_kwargs)

    def add_server(self, server: Any, port: int | None = None) -> None:
        """Adds a server; only the keys the new server wins move to it."""
        server = _server_argument(server, port)
        if server in self._servers:
            return
        self._servers.append(server)
        self.hasher.add_node(_client_key(server))
        if self._clients is not None:
            self._clients[_client_key(server)] = self._make_client(server)
        self.set_servers([native_server(each) for each in self._servers])

    def remove_server(self, server: Any, port: int | None = None) -> None:
        """Removes a server; its keys go to their next best server."""
        server = _server_argument(server, port)
        self._servers.remove(server)
        self.hasher.remove_node(_client_key(server))
        if self._clients is not None:
            removed = self._clients.pop(_client_key(server), None)
            if removed is not None:
                removed.close()
        self.set_servers([native_server(each) for each in self._servers])

    # Calls whose results differ from Client's -----------------------------

    get = _native.Client.get
    get_many = _native.Client.get_many
    get_multi = _native.Client.get_many

    def gets_many(self, keys: Iterable[Key], *args: Any, **kwargs: Any) -> dict[Key, Any]:
        """``{key: (value, cas)}`` for the hits, cas tokens as bytes."""
        return _Commands.gets_many(self, keys)

    gets_multi = gets_many

    def flush_all(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Flushes every server."""
        try:
            _Commands.flush_all(self, *args, **kwargs)
        except (MemcacheError, OSError):
            if not self.ignore_exc:
                raise

    def quit(self) -> None:
        """Closes every connection."""
        self.close()

    def close(self) -> None:
        """Closes every connection; the next call reconnects."""
        _native.Client.close(self)
        if self._clients is not None:
            for client in self._clients.values():
                client.close()

    disconnect_all = close

    def stats(self, *args: Any) -> dict[str, dict[bytes, Any]]:
        """``{"host:port": stats}``, each server's stats typed as Client.stats types them
        (pymemcache's HashClient has no stats call)."""
        replies = _native.Client.stats(self, *args)
        return {server: pymemcache_stats(stats) for server, stats in replies.items()}


__all__ = ["HashClient"]
