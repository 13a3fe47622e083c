# SPDX-License-Identifier: MIT
"""fastmc.Client: the native client with Python-friendly construction.

Every call goes straight to C++ (``fastmc._native.Client``); this subclass
only normalises the arguments once, at construction, so subclasses (the
compat modules, users' own) keep the native speed for every method they do
not override.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fastmc import _native

if TYPE_CHECKING:
    import ssl

# The result types of the meta calls (get_item, get_or_lease, store, arithmetic).
MetaItem = _native.MetaItem
Lease = _native.Lease
StoreResult = _native.StoreResult
Counter = _native.Counter

DEFAULT_MAX_VALUE_SIZE = 64 * 1024 * 1024


Server = str | tuple[str, int] | tuple[str, int, int]


def server_string(server: Server) -> str:
    """``"host:port[:weight]"`` from a ``(host, port[, weight])`` tuple (IPv6
    hosts bracketed); a string is returned as is."""
    if isinstance(server, str):
        return server
    if isinstance(server, tuple) and len(server) in (2, 3):
        host, port, *weight = server
        host = f"[{host}]" if ":" in str(host) else str(host)
        return ":".join([host, str(int(port)), *(str(int(w)) for w in weight)])
    raise TypeError(f"a server is a string or a (host, port[, weight]) tuple, not {server!r}")


def normalize_servers(
    servers: Server | Iterable[Server], *, allow_empty: bool = False
) -> list[str]:
    """A list of server strings from one server or an iterable of them."""
    if isinstance(servers, str) or (isinstance(servers, tuple) and servers):
        servers = [servers]
    result = [server_string(server) for server in servers]
    if not result and not allow_empty:
        raise ValueError("fastmc.Client needs at least one server")
    return result


def _path(path: str | os.PathLike[str]) -> str:
    return os.fspath(path) if path else ""


class Client(_native.Client):
    """A memcached client, safe to share between threads.

    ``servers``: ``"host:port"``, ``"[v6]:port"``, ``"/path"`` or ``"unix:/path"``
    strings, ``"host:port:weight"``, ``"host:port alias"`` (libmc) or
    ``(host, port[, weight])`` tuples (one, or a list). ``distribution`` and
    ``hash`` choose which server holds a key, as a peer client would
    (docs/routing.md): ``"modula"`` (libmemcached's default), ``"ketama"``,
    ``"ketama_weighted"``, ``"libmc"``, ``"rendezvous"``, ...
    ``failure_limit`` consecutive failures take a server down for
    ``retry_timeout`` seconds (``dead_timeout`` when set); meanwhile its keys
    fail fast (``dead_server_policy="error"``), go to the next live server by
    the distribution's rule (``"failover"``), or the placement is rebuilt
    without it (``"auto_eject"``). ``pause_after_failure`` (libmemcached's
    model) also pauses a server for ``retry_timeout`` after each failure below
    ``failure_limit``: its calls fail fast meanwhile (``cause ==
    "server_paused"``) and its keys stay where they are. ``miss_on_error`` turns read failures into
    misses (pymemcache's ``ignore_exc``). ``timeout`` bounds each whole call and
    ``connect_timeout`` each connect, in seconds (0 = no limit). ``serde``
    handles values that are not bytes, str, int or bool: see ``fastmc.serde``.
    ``protocol`` is ``"meta"`` (memcached 1.6's meta commands wherever the
    server speaks them, asked once per server; text otherwise), ``"text"``,
    ``"text_pipelined"`` (the classic commands, with ``set_many`` one quiet
    meta pipeline and ``noreply`` fenced by ``mn`` where the server speaks
    meta: what callers see is ``"text"``'s; the compat modules use it),
    or ``"binary"`` (memcached's binary protocol; keys may then hold any
    bytes, 1 to 250 of them; ``noreply`` goes as its quiet opcodes, fenced
    by a noop). ``username`` and ``password``: SASL
    credentials, sent (PLAIN, or CRAM-MD5 if the server offers only that)
    when each connection opens, with the binary protocol; a refusal raises
    AuthenticationError.
    With meta, keys that are not valid text keys (bytes with spaces, control
    or any bytes, up to 186) are sent base64-encoded, and the meta calls
    (``get_item``, ``get_or_lease``, ``store``, ``invalidate``,
    ``arithmetic``, ``incr(..., initial=)``) are available.
    ``digest_long_keys`` replaces keys over 250 bytes by ``"sha256:"`` and the
    hex SHA-256 of their bytes (stable across runs and platforms) instead of
    raising InvalidKeyError.
    ``configuration_endpoint`` (``"host:port"``) turns on AWS ElastiCache
    autodiscovery: the servers are asked of that endpoint at construction
    (RuntimeError naming it if that fails), then every ``discovery_interval``
    seconds (0 = only at construction) from a background thread, and the list
    is replaced when the cluster's configuration version changes;
    ``servers`` may then be empty. ``discovery_use_ip`` names the servers by
    IP rather than host name.
    ``value_scheme`` stores and reads values exactly as a peer client does
    (``"pylibmc"``, ``"python_memcached"``, ``"pymemcache"`` (its
    pickle_serde), ``"pymemcache_default"`` (no serde), ``"libmc"``), pickle
    included, for the compat modules and mixed fleets; ``"native"`` is
    fastmc's own. With a peer's scheme, values longer than
    ``compress_threshold`` bytes (0 = never) are zlib-compressed by that
    peer's rule at ``compress_level``; ``split_values`` stores values over
    1,000,000 bytes as libmc's chunks. ``pickle_protocol`` (None = the
    peer's own default) is used where the scheme pickles. ``error_classes`` maps cause names
    (and ``"decode_error"``) to the exception classes to raise instead of
    fastmc's.
    ``key_prefix`` goes in front of every key on the wire (counted in the
    250-byte limit; keys come back without it); ``hash_key_prefix`` says
    whether the distribution hashes it (libmc does; pylibmc and pymemcache's
    HashClient do not).
    The full API is in docs/api/python.md.
    """

    def __init__(
        self,
        servers: Server | Iterable[Server] = (),
        *,
        timeout: float = 1.0,
        connect_timeout: float = 1.0,
        serde: Any = None,
        max_value_size: int = DEFAULT_MAX_VALUE_SIZE,
        max_connections_per_server: int = 0,
        max_idle_connections_per_server: int = 8,
        tcp_nodelay: bool = True,
        allow_non_ascii_keys: bool = True,
        protocol: str = "meta",
        distribution: str = "modula",
        hash: str = "",
        failure_limit: int = 2,
        retry_timeout: float = 1.0,
        dead_timeout: float = 0.0,
        dead_server_policy: str = "error",
        miss_on_error: bool = False,
        configuration_endpoint: str = "",
        discovery_interval: float = 60.0,
        discovery_use_ip: bool = True,
        value_scheme: str = "native",
        compress_threshold: int = 0,
        compress_level: int = -1,
        pickle_protocol: int | None = None,
        split_values: bool = False,
        error_classes: dict[str, type[BaseException]] | None = None,
        key_prefix: str | bytes = "",
        hash_key_prefix: bool = False,
        username: str = "",
        password: str = "",
        tls: bool = False,
        tls_ca_file: str | os.PathLike[str] = "",
        tls_ca_path: str | os.PathLike[str] = "",
        tls_cert_file: str | os.PathLike[str] = "",
        tls_key_file: str | os.PathLike[str] = "",
        tls_verify: bool = True,
        tls_server_name: str = "",
        tls_min_version: str = "1.2",
        tls_ciphers: str = "",
        tls_context: ssl.SSLContext | None = None,
        digest_long_keys: bool = False,
        pause_after_failure: bool = False,
    ) -> None:
        super().__init__(
            normalize_servers(servers, allow_empty=bool(configuration_endpoint)),
            timeout=timeout,
            connect_timeout=connect_timeout,
            serde=serde,
            max_value_size=max_value_size,
            max_connections_per_server=max_connections_per_server,
            max_idle_connections_per_server=max_idle_connections_per_server,
            tcp_nodelay=tcp_nodelay,
            allow_non_ascii_keys=allow_non_ascii_keys,
            protocol=protocol,
            distribution=distribution,
            hash=hash,
            failure_limit=failure_limit,
            retry_timeout=retry_timeout,
            dead_timeout=dead_timeout,
            dead_server_policy=dead_server_policy,
            miss_on_error=miss_on_error,
            configuration_endpoint=configuration_endpoint,
            discovery_interval=discovery_interval,
            discovery_use_ip=discovery_use_ip,
            value_scheme=value_scheme,
            compress_threshold=compress_threshold,
            compress_level=compress_level,
            pickle_protocol=pickle_protocol,
            split_values=split_values,
            error_classes=error_classes,
            key_prefix=key_prefix,
            hash_key_prefix=hash_key_prefix,
            username=username,
            password=password,
            tls=tls or tls_context is not None,
            tls_ca_file=_path(tls_ca_file),
            tls_ca_path=_path(tls_ca_path),
            tls_cert_file=_path(tls_cert_file),
            tls_key_file=_path(tls_key_file),
            tls_verify=tls_verify,
            tls_server_name=tls_server_name,
            tls_min_version=tls_min_version,
            tls_ciphers=tls_ciphers,
            tls_context=tls_context,
            digest_long_keys=digest_long_keys,
            pause_after_failure=pause_after_failure,
        )

    def set_servers(self, servers: Server | Iterable[Server]) -> None:
        """Replaces the server list; servers in both lists keep their connections.

        Keys move as little as the distribution allows (ketama, libmc and
        rendezvous move only the keys of the servers added or removed).
        Raises ValueError naming a bad entry, and then changes nothing.
        """
        super().set_servers(normalize_servers(servers))

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.servers!r})"
