# SPDX-License-Identifier: MIT
"""pylibmc's Client on fastmc's native client.

The class derives from ``fastmc._native.Client`` configured as pylibmc
configures libmemcached: the text protocol (binary with ``binary=True``),
one_at_a_time over modula unless behaviors say otherwise, pylibmc's value
encoding (``value_scheme="pylibmc"``: flags, pickle, zlib by its rule) and
pylibmc's exception classes, raised by the native code itself. Calls whose
conventions already match pylibmc's (``get``, ``delete``, ``touch``) are the
native methods; the others are one thin frame over the native call, for
pylibmc's keyword names (``val``, ``time``), its return values (``NotFound``
from incr/decr and cas, ``True`` from flush_all) and its key_prefix.

Behaviors are kept as pylibmc reports them and turned into native options
(``native_options``); changing one that the native client holds rebuilds it
in place (``_reconfigure``).
"""

from __future__ import annotations

import pickle
import re
import weakref
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from fastmc import _native
from fastmc.compat.pylibmc import _errors, consts

_native_init = _native.Client.__init__
_native_get = _native.Client.get
_native_gets = _native.Client.gets
_native_get_many = _native.Client.get_many
_native_set = _native.Client.set
_native_add = _native.Client.add
_native_replace = _native.Client.replace
_native_append = _native.Client.append
_native_prepend = _native.Client.prepend
_native_cas = _native.Client.cas
_native_set_many = _native.Client.set_many
_native_incr = _native.Client.incr
_native_decr = _native.Client.decr


def _native_accepts(function: Any, name: str) -> bool:
    """Whether a native function takes keyword `name` (from its signature text)."""
    return re.search(rf"[(,]\s*{name}\s*:", function.__doc__ or "") is not None


# SASL credentials reach the native client once its binding takes them;
# until then username/password say so (TypeError) instead of being ignored.
_NATIVE_CREDENTIALS = _native_accepts(_native_init, "username")

# pylibmc's flag bits (src/_pylibmcmodule.h), for serialize/deserialize.
FLAG_NONE = 0
FLAG_PICKLE = 1
FLAG_INTEGER = 2
FLAG_LONG = 4
FLAG_ZLIB = 8
FLAG_TEXT = 16
_FLAG_TYPES = FLAG_PICKLE | FLAG_INTEGER | FLAG_LONG | FLAG_TEXT

# Bound on a value inflated in Python (the deserialize override path); the
# native client's own max_value_size.
_MAX_INFLATED_SIZE = 64 * 1024 * 1024

# What a deserialize override's CacheMiss turns a value into, until the
# methods that read drop it.
_MISS = object()


def protocol_for(binary: bool) -> str:
    """The native protocol for pylibmc's `binary` flag: the one place that
    decides it. The binary protocol is used when the native client has it;
    until then binary=True runs the text protocol, which stores and reads
    the same items. The text protocol is "text_pipelined": libmemcached's
    classic commands, with set_multi one quiet meta pipeline and noreply
    fenced by `mn` where the server speaks meta (nothing a caller sees
    changes)."""
    if binary and _BINARY_AVAILABLE:
        return "binary"
    return "text_pipelined"


def _binary_available() -> bool:
    """Whether the native client takes protocol="binary" (it does not
    connect at construction)."""
    try:
        _native.Client(["127.0.0.1:1"], protocol="binary")
    except Exception:
        return False
    return True


_BINARY_AVAILABLE = _binary_available()


# Servers -------------------------------------------------------------------


def _server_spec(server: Any) -> tuple[int, str, int, int]:
    """(type, address, port, weight) from pylibmc's forms: "host",
    "host:port", "host:port:weight", "[v6]:port:weight", "udp:host",
    "/unix/path", or a (type, address, port[, weight]) tuple."""
    if isinstance(server, tuple):
        if len(server) not in (3, 4):
            raise ValueError(f"a server tuple is (type, address, port[, weight]), not {server!r}")
        server_type, address, port, *weight = server
        return int(server_type), str(address), int(port), int(weight[0]) if weight else 1
    if isinstance(server, bytes):
        server = server.decode()
    if not isinstance(server, str):
        raise TypeError(f"a server is a str or a tuple, not {type(server).__name__}")
    if server.startswith("/"):
        return consts.server_type_unix, server, 0, 1
    server_type = consts.server_type_tcp
    if server.startswith("udp:"):
        server_type, server = consts.server_type_udp, server[4:]
    port: str | int = 11211
    weight: str | int = 1
    if server.startswith("["):
        if "]" not in server:
            raise ValueError(server)
        if server.endswith("]"):
            address = server[1:-1]
        else:
            address, port = server[1:].rsplit("]:", 1)
    elif ":" in server:
        address, port = server.split(":", 1)
    else:
        address = server
    if isinstance(port, str) and ":" in port:
        port, weight = port.split(":", 1)
    return server_type, address, int(port), int(weight)


def native_servers(servers: Iterable[Any], sort_hosts: bool = False) -> list[str]:
    """fastmc's server strings for pylibmc's server list; ValueError when
    transports are mixed, as pylibmc."""
    specs = []
    for server in servers:
        if isinstance(server, bytes) and b"," in server:  # libmemcached's list syntax
            specs.extend(_server_spec(part.strip()) for part in server.split(b","))
        else:
            specs.append(_server_spec(server))
    if len({spec[0] for spec in specs}) > 1:
        raise ValueError("can't mix transport types")
    if sort_hosts:  # libmemcached's _sort_hosts: by host name, then port
        specs.sort(key=lambda spec: (spec[1], spec[2]))
    result = []
    for server_type, address, port, weight in specs:
        if server_type == consts.server_type_udp:
            raise _errors.NotSupportedError("fastmc does not speak memcached's UDP protocol")
        if server_type == consts.server_type_unix:
            if port:
                raise ValueError("can't set port on unix sockets")
            result.append(address)
            continue
        host = f"[{address}]" if ":" in address else address
        result.append(f"{host}:{port}" + (f":{weight}" if weight != 1 else ""))
    return result


# Behaviors -----------------------------------------------------------------


def _numeric_behaviors(behaviors: Mapping[str, Any] | None) -> dict[str, Any]:
    """pylibmc's checks on a behaviors mapping: known names, hash and
    distribution names known (KeyError), ints elsewhere (TypeError)."""
    if not behaviors:
        return {}
    behaviors = dict(behaviors)
    if "_retry_timeout" in behaviors:
        behaviors.setdefault("retry_timeout", behaviors.pop("_retry_timeout"))
    unknown = set(behaviors) - set(consts.all_behaviors) - set(consts.all_callbacks)
    if unknown:
        raise ValueError(f"unknown behavior names: {', '.join(sorted(map(str, unknown)))}")
    if behaviors.get("hash") is not None:
        behaviors["hash"] = consts.hashers[behaviors["hash"]]
    if behaviors.get("ketama_hash") in consts.hashers:
        behaviors["ketama_hash"] = consts.hashers[behaviors["ketama_hash"]]
    if behaviors.get("distribution") is not None:
        behaviors["distribution"] = consts.distributions[behaviors["distribution"]]
    for name, value in behaviors.items():
        if name in consts.all_callbacks:
            continue
        if not isinstance(value, int):
            raise TypeError(f"behavior {name} must be int, not {type(value).__name__}")
    return behaviors


# Behaviors libmemcached stores as 0 or 1 whatever number is given.
_BOOLEAN_BEHAVIORS = frozenset(
    {
        "cas",
        "auto_eject",
        "tcp_nodelay",
        "verify_keys",
        "_noreply",
        "no_block",
        "tcp_keepalive",
        "buffer_requests",
        "_hash_with_prefix_key",
        "_sort_hosts",
    }
)


class _Behaviors:
    """The behaviors as libmemcached 1.0.16 holds them, with the couplings
    pylibmc users observe (ketama sets the distribution, ketama_weighted
    also md5, remove_failed is auto_eject plus failure_limit...)."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {
            name: value
            for name, value in consts.DEFAULT_BEHAVIORS.items()
            if name not in ("hash", "distribution")
        }
        self.hash = consts.hashers["default"]
        self.distribution = consts.MODULA
        self.namespace: bytes = b""

    def copy(self) -> _Behaviors:
        other = _Behaviors()
        other.values = dict(self.values)
        other.hash, other.distribution, other.namespace = (
            self.hash,
            self.distribution,
            self.namespace,
        )
        return other

    def apply(self, behaviors: dict[str, Any]) -> None:
        # The order libmemcached applies them in: pylibmc's behavior list.
        for name in consts.all_behaviors:
            if name in behaviors:
                self._set(name, behaviors[name])
        if "namespace" in behaviors:
            namespace = behaviors["namespace"]
            if isinstance(namespace, str):
                namespace = namespace.encode()
            if not isinstance(namespace, bytes):
                raise TypeError(f"namespace must be bytes or str, not {type(namespace).__name__}")
            if len(namespace) > 128 or any(b <= 32 or b == 127 for b in namespace):
                raise ValueError(f"bad key provided: {namespace!r}")
            self.namespace = namespace

    def _set(self, name: str, value: int) -> None:
        if name == "hash":
            if value not in consts.NATIVE_HASHES:
                raise _errors.Error(
                    f"memcached_behavior_set returned 38 for behavior 'hash' = {value}"
                )
            self.hash = value
        elif name == "distribution":
            if value not in consts.NATIVE_DISTRIBUTIONS:
                raise _errors.NotSupportedError(
                    f"distribution {consts.distributions_rvs.get(value, value)!r} is not "
                    "supported by fastmc (modula, consistent, consistent ketama, consistent "
                    "ketama spy, consistent weighted are)"
                )
            self.distribution = value
        elif name == "ketama":
            self.distribution = consts.CONSISTENT_KETAMA if value else consts.MODULA
        elif name == "ketama_weighted":
            self.distribution = consts.CONSISTENT_WEIGHTED if value else consts.CONSISTENT_KETAMA
            if value:
                self.hash = consts.hashers["md5"]
        elif name == "ketama_hash":
            pass  # libmemcached 1.0 hashes unweighted points with the key hash
        elif name == "remove_failed":
            if not value:
                raise _errors.Error(
                    "memcached_behavior_set returned 38 for behavior 'remove_failed' = 0"
                )
            self.values["auto_eject"] = 1
            self.values["failure_limit"] = value
        elif name in _BOOLEAN_BEHAVIORS:
            self.values[name] = 1 if value else 0
        else:
            self.values[name] = value

    def reported(self) -> dict[str, Any]:
        """Every behavior, as pylibmc's get_behaviors reports it."""
        result: dict[str, Any] = {}
        for name in consts.all_behaviors:
            if name == "hash":
                result[name] = consts.hashers_rvs[self.hash]
            elif name == "distribution":
                result[name] = consts.distributions_rvs[self.distribution]
            elif name == "ketama_hash":
                result[name] = self.hash
            elif name == "ketama":
                result[name] = int(self.distribution != consts.MODULA)
            elif name == "ketama_weighted":
                result[name] = int(self.distribution == consts.CONSISTENT_WEIGHTED)
            elif name == "remove_failed":
                result[name] = self.values["failure_limit"]
            else:
                result[name] = self.values[name]
        return result

    def native_options(self) -> dict[str, Any]:
        """fastmc.Client options that do what these behaviors make
        libmemcached do."""
        values = self.values
        timeouts = [values["_poll_timeout"] / 1000]
        timeouts += [values[name] / 1e6 for name in ("receive_timeout", "send_timeout")]
        timeout = min(t for t in timeouts if t > 0) if any(t > 0 for t in timeouts) else 0
        ejecting = bool(values["auto_eject"])
        options: dict[str, Any] = {
            "timeout": timeout,
            "connect_timeout": max(values["connect_timeout"], 0) / 1000,
            "tcp_nodelay": bool(values["tcp_nodelay"]),
            "distribution": consts.NATIVE_DISTRIBUTIONS[self.distribution],
            "hash": consts.NATIVE_HASHES[self.hash],
            # libmemcached takes a server out for retry_timeout after any
            # failure (its keys failing fast where they are); with
            # auto_eject, failure_limit failures eject it.
            "failure_limit": max(values["failure_limit"], 0) if ejecting else 1,
            "pause_after_failure": ejecting,
            "retry_timeout": max(values["retry_timeout"], 0),
            "dead_timeout": max(values["dead_timeout"], 0),
            "dead_server_policy": "auto_eject" if ejecting else "error",
            "pickle_protocol": values["pickle_protocol"],
            "error_classes": (
                _errors.EJECTING_ERROR_CLASSES if ejecting else _errors.ERROR_CLASSES
            ),
        }
        if self.namespace:
            options["key_prefix"] = self.namespace
            options["hash_key_prefix"] = bool(values["_hash_with_prefix_key"])
        return options


# Values --------------------------------------------------------------------


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        result = inflater.decompress(data, _MAX_INFLATED_SIZE)
    except zlib.error as error:
        raise _errors.Error(f"Failed to decompress value: {error}") from None
    if inflater.unconsumed_tail:
        raise _errors.Error("Failed to decompress value: larger than 64 MiB")
    return result


class _MethodSerde:
    """The native serde protocol over a Client subclass's serialize and
    deserialize (pylibmc's override points). Values are compressed after
    serialize and inflated before deserialize, which sees the stored flags,
    as in pylibmc. Holds the client weakly (the client holds this)."""

    __slots__ = ("_client",)

    def __init__(self, client: Client) -> None:
        self._client = weakref.ref(client)

    def __eq__(self, other: object) -> bool:  # the same options: no rebuild needed
        return isinstance(other, _MethodSerde) and other._client() is self._client()

    __hash__ = None  # type: ignore[assignment]

    def serialize(self, key: Any, value: Any) -> tuple[bytes, int]:
        result = self._client().serialize(value)  # type: ignore[union-attr]
        if not isinstance(result, tuple) or len(result) != 2:
            raise ValueError("serialize() must return (bytes, flags)")
        data, flags = result
        if not isinstance(data, bytes):
            raise TypeError(f"expected bytes, {type(data).__name__} found")
        return data, flags

    def deserialize(self, key: Any, data: bytes, flags: int) -> Any:
        if flags & FLAG_ZLIB:
            data = _inflate(data)
        try:
            return self._client().deserialize(data, flags)  # type: ignore[union-attr]
        except _errors.CacheMiss:
            return _MISS


# Keys ----------------------------------------------------------------------


def _prefixed(prefix: str | bytes, key: str | bytes) -> str | bytes:
    if type(prefix) is type(key):
        return prefix + key  # type: ignore[operator]
    if isinstance(prefix, str):
        prefix = prefix.encode()
    if isinstance(key, str):
        key = key.encode()
    return prefix + key  # type: ignore[operator]


def _check_compress_level(compress_level: int) -> None:
    if compress_level != -1 and not 0 <= compress_level <= 9:
        raise ValueError("compress_level must be between 0 and 9 inclusive")


def _check_multi_arguments(name: str, items: Any, compress_level: int) -> None:
    if not isinstance(items, dict):
        raise TypeError(f"{name}() argument 1 must be dict, not {type(items).__name__}")
    _check_compress_level(compress_level)


def _key_text(key: Any) -> str:
    return key.decode(errors="replace") if isinstance(key, bytes) else str(key)


def _storage_call(native: Any, name: str, doc: str) -> Any:
    """pylibmc's ``name(key, val, time=0, min_compress_len=0,
    compress_level=-1)`` over the native storage call (same argument order;
    _noreply passed through)."""

    def call(
        self: Client,
        key: str | bytes,
        val: Any,
        time: int = 0,
        min_compress_len: int = 0,
        compress_level: int = -1,
    ) -> bool:
        if compress_level != -1:
            _check_compress_level(compress_level)
        return native(self, key, val, time, min_compress_len, compress_level, self._noreply)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = doc
    return call


# The client ----------------------------------------------------------------


def _delta_overflow() -> OverflowError:
    """pylibmc's error for a delta its C long cannot hold (fastmc takes up to 2**64-1)."""
    return OverflowError("Python int too large to convert to C long")


class Client(_native.Client):
    """pylibmc.Client: ``Client(servers, behaviors=None, binary=False,
    username=None, password=None)``.

    Servers: ``"host"``, ``"host:port"``, ``"host:port:weight"``,
    ``"[v6]:port:weight"``, ``"/unix/path"`` or (type, address, port[,
    weight]) tuples. Safe to share between threads (unlike pylibmc's).
    """

    # True in subclasses whose deserialize can raise CacheMiss (see
    # __init_subclass__): reads then drop those values.
    _filters_misses = False

    def __init__(
        self,
        servers: Iterable[Any],
        behaviors: Mapping[str, Any] | None = None,
        binary: bool = False,
        username: str | None = None,
        password: str | None = None,
        *,
        _configuration_endpoint: str = "",
    ) -> None:
        if username is not None or password is not None:
            if username is None or password is None:
                raise TypeError("SASL requires both username and password")
            if not binary:
                raise TypeError("SASL requires the memcached binary protocol")
            if not _NATIVE_CREDENTIALS or protocol_for(binary) != "binary":
                raise TypeError("SASL needs a fastmc build with the binary protocol")
        self.binary = binary
        self._credentials = (username, password)
        state = _Behaviors()
        state.apply(_numeric_behaviors(behaviors))
        self._use_state(state)
        self._configuration_endpoint = _configuration_endpoint
        self.addresses = list(servers)
        self._native_servers = native_servers(
            self.addresses, bool(self._state.values["_sort_hosts"])
        )
        if not self._native_servers and not _configuration_endpoint:
            raise _errors.Error("empty server list")
        self._options = self._native_kwargs()
        _native_init(self, self._native_servers, **self._options)
        if _configuration_endpoint:
            self.addresses = list(self.servers)
            self._native_servers = list(self.addresses)

    def _use_state(self, state: _Behaviors) -> None:
        """Makes `state` the client's behaviors, with the two that calls
        check (cas, _noreply) copied to plain attributes."""
        self._state = state
        self._cas = bool(state.values["cas"])
        self._noreply = bool(state.values["_noreply"])

    def _native_kwargs(self) -> dict[str, Any]:
        options = self._state.native_options()
        options["protocol"] = protocol_for(self.binary)
        options["value_scheme"] = "pylibmc"
        overridden = (
            type(self).serialize is not Client.serialize
            or type(self).deserialize is not Client.deserialize
        )
        if overridden:
            options["serde"] = _MethodSerde(self)
        if self._credentials[0] is not None:
            options["username"], options["password"] = self._credentials
        if self._configuration_endpoint:
            options["configuration_endpoint"] = self._configuration_endpoint
            options["discovery_interval"] = 0.0  # pylibmc reads the list once
        return options

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.deserialize is not Client.deserialize:
            cls._filters_misses = True
            for name, method in (("get", _get_filtering_misses), ("gets", _gets_filtering_misses)):
                if name not in cls.__dict__:
                    setattr(cls, name, method)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.addresses!r}, binary={self.binary!r})"

    def __str__(self) -> str:
        addresses = ", ".join(map(str, self.addresses))
        return f"<{type(self).__name__} for {addresses}, binary={self.binary!r}>"

    # Reads: get is the native method; gets needs the cas behavior.

    def gets(self, key: str | bytes) -> tuple[Any, int | None]:
        """(value, cas), or (None, None) on a miss. Needs the cas behavior."""
        if not self._cas:
            raise ValueError("gets without cas behavior")
        return _native_gets(self, key)

    def get_multi(
        self, keys: Iterable[str | bytes], key_prefix: str | bytes | None = None
    ) -> dict[Any, Any]:
        """{key: value} for the keys found, keys as given (without the prefix)."""
        if not key_prefix:
            found = _native_get_many(self, keys)
        else:
            originals = {_prefixed(key_prefix, key): key for key in keys}
            found = {
                originals[key]: value for key, value in _native_get_many(self, originals).items()
            }
        if self._filters_misses:
            return {key: value for key, value in found.items() if value is not _MISS}
        return found

    # Writes

    set = _storage_call(_native_set, "set", "Stores `val`; True.")
    add = _storage_call(_native_add, "add", "Stores `val` if `key` is absent; False if it exists.")
    replace = _storage_call(
        _native_replace, "replace", "Stores `val` if `key` exists; False if it is absent."
    )
    append = _storage_call(
        _native_append, "append", "Appends to the stored bytes; False if `key` is absent."
    )
    prepend = _storage_call(
        _native_prepend, "prepend", "Prepends to the stored bytes; False if `key` is absent."
    )

    def cas(self, key: str | bytes, val: Any, cas: int, time: int = 0) -> bool:
        """Stores `val` if the item's cas is still `cas`: True; False if it
        changed; NotFound if it is gone. Needs the cas behavior."""
        if not self._cas:
            raise ValueError("cas without cas behavior")
        stored = _native_cas(self, key, val, cas, time)
        if stored is None:
            raise _errors.NotFound(f"error 16 from memcached_cas({_key_text(key)}): NOT FOUND")
        return stored

    def set_multi(
        self,
        keys: dict[Any, Any],
        time: int = 0,
        key_prefix: str | bytes | None = None,
        min_compress_len: int = 0,
        compress_level: int = -1,
    ) -> list[Any]:
        """Stores every item of the dict; the keys that were not stored."""
        _check_multi_arguments("set_multi", keys, compress_level)
        if not key_prefix:
            return _native_set_many(
                self, keys, time, min_compress_len, compress_level, self._noreply
            )
        originals = {_prefixed(key_prefix, key): key for key in keys}
        items = {prefixed: keys[key] for prefixed, key in originals.items()}
        failed = _native_set_many(
            self, items, time, min_compress_len, compress_level, self._noreply
        )
        return [originals[key] for key in failed]

    def add_multi(
        self,
        keys: dict[Any, Any],
        time: int = 0,
        key_prefix: str | bytes | None = None,
        min_compress_len: int = 0,
        compress_level: int = -1,
    ) -> list[Any]:
        """add for every item of the dict; the keys that were not stored."""
        _check_multi_arguments("add_multi", keys, compress_level)
        return [
            key
            for key, value in keys.items()
            if not self.add(
                _prefixed(key_prefix, key) if key_prefix else key,
                value,
                time,
                min_compress_len,
                compress_level,
            )
        ]

    def delete_multi(
        self, keys: Iterable[str | bytes], key_prefix: str | bytes | None = None
    ) -> bool:
        """Deletes the keys; True if every one existed."""
        if isinstance(keys, dict):
            raise TypeError("keys must be a sequence, not a mapping")
        if key_prefix:
            keys = [_prefixed(key_prefix, key) for key in keys]
        elif not isinstance(keys, list | tuple):
            keys = list(keys)
        return self.delete_many(keys) == len(keys)  # type: ignore[arg-type]

    def incr(self, key: str | bytes, delta: int = 1) -> int:
        """The value after adding `delta`; NotFound when `key` is absent."""
        if delta < 0:
            raise ValueError("delta must be positive")
        try:
            value = _native_incr(self, key, delta)
        except _errors.InvalidArgument:
            raise _delta_overflow() from None
        if value is None:
            raise _errors.NotFound("1 keys not found")
        return value

    def decr(self, key: str | bytes, delta: int = 1) -> int:
        """The value after subtracting `delta` (not below 0); NotFound when
        `key` is absent."""
        if delta < 0:
            raise ValueError("delta must be positive")
        try:
            value = _native_decr(self, key, delta)
        except _errors.InvalidArgument:
            raise _delta_overflow() from None
        if value is None:
            raise _errors.NotFound("1 keys not found")
        return value

    def incr_multi(
        self,
        keys: Iterable[str | bytes],
        key_prefix: str | bytes | None = None,
        delta: int = 1,
    ) -> None:
        """Adds `delta` to every key; the keys that exist are incremented
        even when some do not (NotFound then, after all of them)."""
        not_found = 0
        failures: list[BaseException] = []
        if delta < 0:
            raise ValueError("delta must be positive")
        if delta >= 1 << 64:
            raise _delta_overflow()
        for key in keys:
            try:
                if (
                    _native_incr(self, _prefixed(key_prefix, key) if key_prefix else key, delta)
                    is None
                ):
                    not_found += 1
            except _errors.Error as error:
                failures.append(error)
        if failures or not_found:
            count = not_found + len(failures)
            if not failures:
                raise _errors.NotFound(f"{count} keys not found")
            cls = type(failures[0]) if len(failures) == 1 else _errors.Error
            raise cls(f"{count} keys failed") from failures[0]

    # Servers

    def hash(self, key: str | bytes) -> int:
        """The index (in the server list) of the server that holds `key`."""
        return self.servers.index(self.server_for_key(key))

    def get_stats(self, args: str | None = None) -> list[tuple[bytes, dict[str, bytes]]]:
        """[(b"host:port (index)", {name: value bytes})], one per server."""
        try:
            stats = self.stats(*([args] if args else []))
        except _errors.ClientError as error:  # the server does not know that group
            raise _errors.Error(f"error 38 from get_stats: {error}") from error
        except _errors.Error as error:
            raise _errors.SomeErrors(f"error 19 from get_stats: {error}") from error
        result = []
        for index, server in enumerate(self.servers):
            values = stats.get(server, {})
            name = server if ":" in server else f"{server}:0"
            result.append(
                (
                    f"{name} ({index})".encode(),
                    {stat: str(value).encode() for stat, value in values.items()},
                )
            )
        return result

    def flush_all(self, time: int = 0) -> bool:
        """Invalidates every item on every server (after `time` seconds); True."""
        if not isinstance(time, int):
            raise TypeError(f"flush_all() argument 'time' must be int, not {type(time).__name__}")
        try:
            super().flush_all(max(time, 0))
        except _errors.Error as error:
            raise _errors.SomeErrors(f"error 19 from flush_all: {error}") from error
        return True

    def disconnect_all(self) -> None:
        """Closes every connection; the next call reconnects."""
        self.close()

    def clone(self) -> Client:
        """An independent client with the same servers and behaviors."""
        other = type(self).__new__(type(self))
        other._init_from(self)
        return other

    def _init_from(self, source: Client) -> None:
        self.binary = source.binary
        self._credentials = source._credentials
        self._use_state(source._state.copy())
        self._configuration_endpoint = ""
        self.addresses = list(source.addresses)
        self._native_servers = list(source._native_servers)
        self._options = self._native_kwargs()
        _native_init(self, self._native_servers, **self._options)

    # Behaviors

    def get_behaviors(self) -> consts.BehaviorDict:
        """Every behavior (hash and distribution by name), as a dict that
        sets what is assigned to it."""
        return consts.BehaviorDict(self, self._state.reported())

    def set_behaviors(self, behaviors: Mapping[str, Any]) -> None:
        """Sets the named behaviors; unknown names raise ValueError."""
        state = self._state.copy()
        state.apply(_numeric_behaviors(behaviors))
        old_state = self._state
        self._use_state(state)
        try:
            options = self._native_kwargs()
            servers = native_servers(self.addresses, bool(state.values["_sort_hosts"]))
            if options != self._options or servers != self._native_servers:
                self._reconfigure(servers, **options)
        except BaseException:
            self._use_state(old_state)
            raise
        self._native_servers, self._options = servers, options

    behaviors = property(get_behaviors, set_behaviors)

    @property
    def behaviours(self) -> None:
        raise AttributeError("nobody uses british spellings")

    # Values: pylibmc's encoding, for callers and for overrides.

    def serialize(self, value: Any) -> tuple[bytes, int]:
        """(bytes, flags) for `value`, as pylibmc stores it. Override it
        (with deserialize) to store values your own way."""
        if isinstance(value, bytes):
            return value, FLAG_NONE
        if isinstance(value, bool):
            return str(int(value)).encode(), FLAG_INTEGER
        if isinstance(value, int):
            return str(int(value)).encode(), FLAG_LONG
        if isinstance(value, str):
            return value.encode(), FLAG_TEXT
        return pickle.dumps(value, self._state.values["pickle_protocol"]), FLAG_PICKLE

    def deserialize(self, data: bytes, flags: int) -> Any:
        """The value for stored `data` and `flags` (already inflated), as
        pylibmc reads it. An override may raise CacheMiss: the read is then
        a miss."""
        kind = flags & _FLAG_TYPES
        if kind == FLAG_NONE:
            return data
        if kind == FLAG_TEXT:
            return data.decode()
        if kind in (FLAG_INTEGER, FLAG_LONG):
            return int(data)
        if kind == FLAG_PICKLE:
            return pickle.loads(data)
        raise _errors.Error(f"unknown memcached key flags {flags}")

    # The mapping interface

    def __getitem__(self, key: str | bytes) -> Any:
        value = self.get(key, _MISS)
        if value is _MISS:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str | bytes, value: Any) -> None:
        if not self.set(key, value):
            raise KeyError(f"failed setting {key!r}")

    def __delitem__(self, key: str | bytes) -> None:
        if not self.delete(key):
            raise KeyError(key)

    def __contains__(self, key: str | bytes) -> bool:
        return self.get(key, _MISS) is not _MISS


# Reads of a client whose deserialize may raise CacheMiss.


def _get_filtering_misses(self: Client, key: str | bytes, default: Any = None) -> Any:
    value = _native_get(self, key, default)
    return default if value is _MISS else value


def _gets_filtering_misses(self: Client, key: str | bytes) -> tuple[Any, int | None]:
    value, cas = Client.gets(self, key)
    return (None, None) if value is _MISS else (value, cas)
