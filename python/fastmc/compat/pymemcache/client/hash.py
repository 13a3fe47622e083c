# SPDX-License-Identifier: MIT
"""pymemcache.client.hash for fastmc: HashClient over many servers.

One native client with ``distribution="rendezvous"``: the same server as
pymemcache's RendezvousHash for every ASCII str key (routing.md), every server
asked at once by the multi-key calls (pymemcache asks them one after another),
and pymemcache's dead-server handling done natively: ``retry_attempts`` + 1
consecutive failures take a server out for ``dead_timeout`` seconds, and its
keys go to the next best server meanwhile (``dead_server_policy="failover"``).

pymemcache hashes ``f"{node}-{key}"`` as a str, one byte per character
(``ord(c) & 0xff``): a bytes key is placed by its repr (``b'k'``), a non-ASCII
str key by the low bytes of its code points, not by the bytes sent. Those keys
("special" here; anything but an ASCII str) are placed by the native
rendezvous hash over those bytes (``_server_for_routing_key``) and sent through
that server's own client in ``clients``, as pymemcache sends every key; the
outcome counts toward the server's health in the native client, so dead-server
handling is the same for both kinds of keys. ASCII str keys pay one type check.
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
    check_key_helper,
    native_server,
    normalize_server_spec,
    pymemcache_stats,
)
from fastmc.compat.pymemcache.exceptions import (
    HASH_CLIENT_ERROR_CLASSES,
    MemcacheError,
    MemcacheIllegalInputError,
    _ServersDownError,
)

_server_for_key = _native.Client.server_for_key
_server_for_routing_key = _native.Client._server_for_routing_key
_record_server_outcome = _native.Client._record_server_outcome
_get = _native.Client.get
_get_many = _native.Client.get_many
_set = _native.Client.set
_add = _native.Client.add
_replace = _native.Client.replace
_append = _native.Client.append
_prepend = _native.Client.prepend

# The causes (fastmc.errors.CAUSES) of a failure to use a server, as opposed
# to its answer: what pymemcache's HashClient counts (an OSError) toward
# marking a server dead. server_down: the server's own client skips it after
# failures of its own; the call failed all the same.
_SERVER_FAILURES = frozenset(
    (
        "connect_failed",
        "connect_timeout",
        "timed_out",
        "connection_closed",
        "protocol_error",
        "server_down",
        "server_paused",
    )
)


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


def _all_plain(keys: Iterable[Any]) -> bool:
    """True iff every key is an ASCII str (a str subclass counts)."""
    try:
        # One C loop for the whole list: a bytes key makes join raise.
        return "".join(keys).isascii()  # type: ignore[arg-type]
    except TypeError:
        return False


def _routing_key(key: Any) -> bytes:
    """The bytes pymemcache's RendezvousHash hashes for ``key`` after
    ``"{node}-"``: the key formatted into a str (a bytes key as its repr), one
    byte per character, ``ord(c) & 0xff`` (pymemcache/client/murmur3.py)."""
    text = format(key)
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return bytes(ord(character) & 0xFF for character in text)


def _server_name(server: Any) -> str:
    """The native client's name for a normalized server (src/net/address.cpp name())."""
    if isinstance(server, (list, tuple)) and len(server) == 2:
        host, port = server
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return server


def _storage_call(name: str, native_call: Callable[..., Any], doc: str) -> Any:
    """HashClient's ``name`` (set, add, ...): ``native_call`` through
    _Commands._store for an ASCII str key, else the key's server's client."""

    def call(
        self: HashClient,
        key: Key,
        value: Any,
        expire: int = 0,
        noreply: bool | None = None,
        flags: int | None = None,
    ) -> bool:
        if type(key) is str and key.isascii():
            return self._store(native_call, key, value, expire, noreply, flags)
        return self._call_on_key_server(name, key, False, value, expire, noreply, flags)

    call.__name__ = name
    call.__qualname__ = f"HashClient.{name}"
    call.__doc__ = doc
    return call


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
        self._client_keys = {_server_name(server): _client_key(server) for server in self._servers}
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
        self._client_keys[_server_name(server)] = _client_key(server)
        self.hasher.add_node(_client_key(server))
        if self._clients is not None:
            self._clients[_client_key(server)] = self._make_client(server)
        self.set_servers([native_server(each) for each in self._servers])

    def remove_server(self, server: Any, port: int | None = None) -> None:
        """Removes a server; its keys go to their next best server."""
        server = _server_argument(server, port)
        self._servers.remove(server)
        self._client_keys.pop(_server_name(server), None)
        self.hasher.remove_node(_client_key(server))
        if self._clients is not None:
            removed = self._clients.pop(_client_key(server), None)
            if removed is not None:
                removed.close()
        self.set_servers([native_server(each) for each in self._servers])

    # Placing keys that are not ASCII str as pymemcache does ---------------

    def server_for_key(self, key: Key, live: bool = False) -> str | None:
        """The server (``"host:port"`` or the socket path) that holds ``key``,
        as pymemcache's ``hasher.get_node(key)`` picks it; with ``live``, the
        one a call would use now (None: every server is down)."""
        if type(key) is str and key.isascii():
            return _server_for_key(self, key, live)
        check_key_helper(key, self.allow_unicode_keys, self.key_prefix)
        return _server_for_routing_key(self, _routing_key(key), live)

    def _live_server(self, key: Key) -> str | None:
        """The checked key's live server (MemcacheIllegalInputError as
        pymemcache raises it); None when every server is down and ignore_exc
        is set, else MemcacheError, as pymemcache's HashClient."""
        check_key_helper(key, self.allow_unicode_keys, self.key_prefix)
        server = _server_for_routing_key(self, _routing_key(key), True)
        if server is None and not self.ignore_exc:
            raise _ServersDownError("All servers seem to be down right now", cause="server_down")
        return server

    def _run_on(self, server: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """The call ``name`` on ``server``'s client in ``clients``, its outcome
        counted toward the server's health in the native client."""
        try:
            result = getattr(self.clients[self._client_keys[server]], name)(*args, **kwargs)
        except (MemcacheError, OSError) as error:
            if getattr(error, "cause", None) in _SERVER_FAILURES:
                _record_server_outcome(self, server, False)
            raise
        _record_server_outcome(self, server, True)
        return result

    def _call_on_key_server(self, name: str, key: Key, default: Any, *args: Any) -> Any:
        """``name(key, *args)`` on the key's live server's client; ``default``
        instead of a failure under ignore_exc (a bad key always raises)."""
        server = self._live_server(key)
        if server is None:
            return default
        try:
            return self._run_on(server, name, key, *args)
        except MemcacheIllegalInputError:
            raise
        except (MemcacheError, OSError):
            if self.ignore_exc:
                return default
            raise

    def _split(self, keys: Iterable[Key]) -> tuple[list[Key], dict[str, list[Key]], list[Key]]:
        """The ASCII str keys; the others by live server; those with no live
        server (under ignore_exc; otherwise MemcacheError). Every key is checked
        first, so a bad key raises before anything is sent."""
        plain: list[Key] = []
        special: dict[str, list[Key]] = {}
        unplaced: list[Key] = []
        for key in keys:
            if type(key) is str and key.isascii():
                plain.append(key)
                continue
            server = self._live_server(key)
            if server is None:
                unplaced.append(key)
            else:
                special.setdefault(server, []).append(key)
        return plain, special, unplaced

    def _run_groups(
        self, groups: dict[str, Any], name: str, others_answered: bool, *args: Any
    ) -> tuple[list[Any], list[Any]]:
        """``name(group, *args)`` on each server's client: the results of those
        that answered, the groups of those that failed. As the native fan-out
        (fastmc's multi-key rule), a failing server's keys are missed or not
        stored while another server answered; the call raises when none did
        (unless ignore_exc)."""
        results: list[Any] = []
        failed: list[Any] = []
        error: BaseException | None = None
        for server, group in groups.items():
            try:
                results.append(self._run_on(server, name, group, *args))
            except MemcacheIllegalInputError:
                raise
            except (MemcacheError, OSError) as caught:
                error = caught
                failed.append(group)
        if error is not None and not (self.ignore_exc or others_answered or results):
            raise error
        return results, failed

    def _read_many(self, keys: list[Key], name: str, plain_call: Callable[..., Any]) -> Any:
        plain, special, _ = self._split(keys)
        found = plain_call(self, plain) if plain else {}
        for hits in self._run_groups(special, name, bool(plain))[0]:
            found.update(hits)
        return found

    # Calls whose results differ from Client's -----------------------------

    def get_many(self, keys: Iterable[Key]) -> dict[Key, Any]:
        """``{key: value}`` for the hits."""
        if type(keys) is not list and type(keys) is not tuple:
            keys = list(keys)
        if _all_plain(keys):
            return _get_many(self, keys)
        return self._read_many(keys, "get_many", _get_many)

    get_multi = get_many

    def gets_many(self, keys: Iterable[Key], *args: Any, **kwargs: Any) -> dict[Key, Any]:
        """``{key: (value, cas)}`` for the hits, cas tokens as bytes."""
        if type(keys) is not list and type(keys) is not tuple:
            keys = list(keys)
        if _all_plain(keys):
            return _Commands.gets_many(self, keys)
        return self._read_many(keys, "gets_many", _Commands.gets_many)

    gets_multi = gets_many

    def set_many(
        self,
        values: dict[Key, Any],
        expire: int = 0,
        noreply: bool | None = None,
        flags: int | None = None,
    ) -> list[Key]:
        """Stores every item; the keys that were not stored ([] under noreply)."""
        if _all_plain(values):
            return _Commands.set_many(self, values, expire, noreply, flags)
        plain, special, unplaced = self._split(values)
        failed = _Commands.set_many(
            self, {key: values[key] for key in plain}, expire, noreply, flags
        )
        failed += unplaced
        groups = {server: {key: values[key] for key in group} for server, group in special.items()}
        not_stored, failed_groups = self._run_groups(
            groups, "set_many", bool(plain), expire, noreply, flags
        )
        for keys in not_stored + failed_groups:
            failed += keys
        return failed

    set_multi = set_many

    def delete_many(self, keys: Iterable[Key], noreply: bool | None = None) -> bool:
        """Deletes every key; True."""
        if type(keys) is not list and type(keys) is not tuple:
            keys = list(keys)
        if _all_plain(keys):
            return _Commands.delete_many(self, keys, noreply)
        plain, special, _ = self._split(keys)
        _Commands.delete_many(self, plain, noreply)
        self._run_groups(special, "delete_many", bool(plain), noreply)
        return True

    delete_multi = delete_many

    # Keyed calls: an ASCII str key goes straight to the native client, any
    # other to its server's client (the same calls, pymemcache's arguments).

    def get(self, key: Key, default: Any = None) -> Any:
        """The value, or ``default``."""
        if type(key) is str and key.isascii():
            return _get(self, key, default)
        return self._call_on_key_server("get", key, default, default)

    def gets(self, key: Key, default: Any = None, cas_default: Any = None) -> tuple[Any, Any]:
        """``(value, cas)`` with the cas token as bytes, or ``(default, cas_default)``."""
        if type(key) is str and key.isascii():
            return _Commands.gets(self, key, default, cas_default)
        return self._call_on_key_server("gets", key, (default, cas_default), default, cas_default)

    def gat(self, key: Key, expire: int = 0, default: Any = None) -> Any:
        """The value (its ttl reset to ``expire``), or ``default``."""
        if type(key) is str and key.isascii():
            return _Commands.gat(self, key, expire, default)
        return self._call_on_key_server("gat", key, default, expire, default)

    def gats(
        self, key: Key, expire: int = 0, default: Any = None, cas_default: Any = None
    ) -> tuple[Any, Any]:
        """Like gets, resetting the ttl to ``expire``."""
        if type(key) is str and key.isascii():
            return _Commands.gats(self, key, expire, default, cas_default)
        return self._call_on_key_server(
            "gats", key, (default, cas_default), expire, default, cas_default
        )

    set = _storage_call(
        "set", _set, "Stores ``value``; True (always, unless an exception is raised)."
    )
    add = _storage_call(
        "add",
        _add,
        "Stores ``value`` if ``key`` is absent; True under noreply, else whether stored.",
    )
    replace = _storage_call(
        "replace",
        _replace,
        "Stores ``value`` if ``key`` exists; True under noreply, else whether stored.",
    )
    append = _storage_call(
        "append", _append, "Appends to an existing value; True under noreply, else whether stored."
    )
    prepend = _storage_call(
        "prepend",
        _prepend,
        "Prepends to an existing value; True under noreply, else whether stored.",
    )

    def cas(
        self,
        key: Key,
        value: Any,
        cas: int | str | bytes,
        expire: int = 0,
        noreply: bool = False,
        flags: int | None = None,
    ) -> bool | None:
        """Stores if unchanged since ``gets``: True stored, False changed, None
        missing; True under noreply."""
        if type(key) is str and key.isascii():
            return _Commands.cas(self, key, value, cas, expire, noreply, flags)
        return self._call_on_key_server("cas", key, False, value, cas, expire, noreply, flags)

    def delete(self, key: Key, noreply: bool | None = None) -> bool:
        """True under noreply, else whether the key existed."""
        if type(key) is str and key.isascii():
            return _Commands.delete(self, key, noreply)
        return self._call_on_key_server("delete", key, False, noreply)

    def incr(self, key: Key, value: int, noreply: bool | None = False) -> int | None:
        """The new value, or None if the key is missing (always None under noreply)."""
        if type(key) is str and key.isascii():
            return _Commands.incr(self, key, value, noreply)
        return self._call_on_key_server("incr", key, False, value, noreply)

    def decr(self, key: Key, value: int, noreply: bool | None = False) -> int | None:
        """The new value, or None if the key is missing (always None under noreply)."""
        if type(key) is str and key.isascii():
            return _Commands.decr(self, key, value, noreply)
        return self._call_on_key_server("decr", key, False, value, noreply)

    def touch(self, key: Key, expire: int = 0, noreply: bool | None = None) -> bool:
        """True under noreply, else whether the key existed."""
        if type(key) is str and key.isascii():
            return _Commands.touch(self, key, expire, noreply)
        return self._call_on_key_server("touch", key, False, expire, noreply)

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
