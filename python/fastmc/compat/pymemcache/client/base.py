# SPDX-License-Identifier: MIT
"""pymemcache.client.base for fastmc: Client and PooledClient.

``from fastmc.compat.pymemcache.client.base import Client`` replaces
``from pymemcache.client.base import Client``. Each class is the native
fastmc client configured as pymemcache behaves: text protocol, pymemcache's
value flags (its ``pickle_serde`` and ``CompressedSerde`` encoded natively),
its key rules and exceptions, ``ignore_exc`` as misses, and its return values
(including ``default_noreply``: storage calls return True without a reply).
``get`` and ``get_many`` (``get_multi``) are the native methods themselves;
the other calls are thin overrides that only rename arguments and shape
results (cas tokens as bytes, stats as pymemcache types). Every known
difference is in docs/migration/pymemcache.md.
"""

from __future__ import annotations

import contextlib
import platform
import socket
import ssl
import zlib
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from fastmc import _native
from fastmc.client import Client as _FastmcClient
from fastmc.client import server_string
from fastmc.compat.pymemcache import serde as _serde
from fastmc.compat.pymemcache.client.raw_connection import RawConnection
from fastmc.compat.pymemcache.exceptions import (
    ERROR_CLASSES,
    MemcacheClientError,
    MemcacheError,
    MemcacheIllegalInputError,
    MemcacheServerError,
    MemcacheUnexpectedCloseError,
    MemcacheUnknownError,
)

ServerSpec = tuple[str, int] | str
Key = bytes | str

VALID_STORE_RESULTS = {
    b"set": (b"STORED", b"NOT_STORED"),
    b"add": (b"STORED", b"NOT_STORED"),
    b"replace": (b"STORED", b"NOT_STORED"),
    b"append": (b"STORED", b"NOT_STORED"),
    b"prepend": (b"STORED", b"NOT_STORED"),
    b"cas": (b"STORED", b"EXISTS", b"NOT_FOUND"),
}
STORE_RESULTS_VALUE = {b"STORED": True, b"NOT_STORED": False, b"NOT_FOUND": None, b"EXISTS": False}
SOCKET_KEEPALIVE_SUPPORTED_SYSTEM = {"Linux"}

_MAX_KEY_LENGTH = 250


def _parse_bool_int(value: bytes) -> bool:
    return int(value) != 0


def _parse_bool_string_is_yes(value: bytes) -> bool:
    return value == b"yes"


def _parse_float(value: bytes) -> float:
    return float(value.replace(b":", b"."))


def _parse_hex(value: bytes) -> int:
    # pymemcache's name; the umask stat is octal.
    return int(value, 8)


# pymemcache's types for the stats whose text is not an int; every other stat
# is int() of its text, or its bytes when that fails.
STAT_TYPES: dict[bytes, Callable[[bytes], Any]] = {
    b"version": bytes,
    b"rusage_user": _parse_float,
    b"rusage_system": _parse_float,
    b"hash_is_expanding": _parse_bool_int,
    b"slab_reassign_running": _parse_bool_int,
    b"inter": bytes,
    b"growth_factor": float,
    b"stat_key_prefix": bytes,
    b"umask": _parse_hex,
    b"detail_enabled": _parse_bool_int,
    b"cas_enabled": _parse_bool_int,
    b"auth_enabled_sasl": _parse_bool_string_is_yes,
    b"maxconns_fast": _parse_bool_int,
    b"slab_reassign": _parse_bool_int,
    b"slab_automove": _parse_bool_int,
}


def check_key_helper(key: Key, allow_unicode_keys: bool, key_prefix: bytes = b"") -> bytes:
    """pymemcache's key check: the prefixed key as bytes, or MemcacheIllegalInputError.

    The clients check keys natively; this is for code that calls it directly
    (and for MockMemcacheClient).
    """
    if isinstance(key, str):
        try:
            key = key.encode("utf8" if allow_unicode_keys else "ascii")
        except UnicodeEncodeError:
            raise MemcacheIllegalInputError(f"Non-ASCII key: {key!r}") from None
    key = key_prefix + key
    if len(key) > _MAX_KEY_LENGTH:
        raise MemcacheIllegalInputError(f"Key is too long: {key!r}")
    parts = key.split()
    if len(parts) > 1 or (parts and parts[0] != key):
        raise MemcacheIllegalInputError(f"Key contains whitespace: {key!r}")
    if b"\00" in key:
        raise MemcacheIllegalInputError(f"Key contains null: {key!r}")
    return key


def normalize_server_spec(server: ServerSpec) -> ServerSpec:
    """``(host, port)`` for a TCP server, the path for a unix socket, as pymemcache keeps them."""
    if isinstance(server, tuple):
        return server
    if not isinstance(server, str):
        raise ValueError(f"Unsupported server specification: {server!r}")
    if server.startswith("unix:"):
        return server[5:]
    if server.startswith("/"):
        return server
    if ":" not in server or server.endswith("]"):
        host, port = server, 11211
    else:
        host, port_text = server.rsplit(":", 1)
        port = int(port_text)
    return (host.strip("[]") if host.startswith("[") else host, port)


def native_server(server: ServerSpec) -> str:
    """The fastmc server string for a normalized pymemcache server."""
    if isinstance(server, tuple):
        return server_string((str(server[0]), int(server[1])))
    return "unix:" + server


class KeepaliveOpts:
    """TCP keepalive settings: ``idle``, ``intvl`` (seconds) and ``cnt`` probes, each >= 1.

    Accepted and validated as pymemcache does; fastmc's connections do not set
    keepalive yet (docs/migration/pymemcache.md).
    """

    __slots__ = ("cnt", "idle", "intvl")

    def __init__(self, idle: int = 1, intvl: int = 1, cnt: int = 5) -> None:
        for name, value in (("idle", idle), ("intvl", intvl), ("cnt", cnt)):
            if value < 1:
                raise ValueError(f"The {name} parameter must be greater or equal to 1.")
        self.idle = idle
        self.intvl = intvl
        self.cnt = cnt


def _check_keepalive(socket_keepalive: KeepaliveOpts | None) -> None:
    if socket_keepalive is None:
        return
    if platform.system() not in SOCKET_KEEPALIVE_SUPPORTED_SYSTEM:
        raise SystemError(
            f"socket keepalive is supported only on {', '.join(SOCKET_KEEPALIVE_SUPPORTED_SYSTEM)}"
        )
    if not isinstance(socket_keepalive, KeepaliveOpts):
        raise ValueError("socket_keepalive must be a KeepaliveOpts object")


def _is_pickle_serde(serde: Any) -> int | None:
    """The pickle protocol when ``serde`` is pymemcache's pickle serde (ours or
    pymemcache's own class), else None."""
    kind = type(serde)
    if kind is _serde.PickleSerde:
        return serde.pickle_version
    if kind.__module__ == "pymemcache.serde" and kind.__qualname__ == "PickleSerde":
        return serde._serialize_func.keywords.get("pickle_version", _serde.DEFAULT_PICKLE_VERSION)
    return None


def _is_zlib_compressed_serde(serde: Any) -> bool:
    kind = type(serde)
    return (
        (
            kind is _serde.CompressedSerde
            or (kind.__module__ == "pymemcache.serde" and kind.__qualname__ == "CompressedSerde")
        )
        and serde._compress is zlib.compress
        and serde._decompress is zlib.decompress
    )


class _TextEncodingSerde:
    """pymemcache without a serde, for an ``encoding`` that is not UTF-8
    compatible: non-bytes values stored as ``str(value)`` in that encoding."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding

    def serialize(self, key: Any, value: Any) -> tuple[bytes, int]:
        if isinstance(value, bytes):
            return value, 0
        try:
            return str(value).encode(self.encoding), 0
        except UnicodeEncodeError as error:
            raise MemcacheIllegalInputError(f"Data values must be binary-safe: {error}") from None

    def deserialize(self, key: Any, value: bytes, flags: int) -> bytes:
        return value


def value_options(serde: Any, encoding: str) -> dict[str, Any]:
    """The native value options that store values as pymemcache does with ``serde``.

    pymemcache's pickle serde, alone or under a zlib CompressedSerde, is done
    natively (``value_scheme="pymemcache"``); no serde is
    ``"pymemcache_default"``; any other serde object is called as pymemcache
    calls it.
    """
    if serde is None:
        if encoding.lower().replace("-", "").replace("_", "") in ("ascii", "utf8"):
            return {"value_scheme": "pymemcache_default"}
        return {"value_scheme": "pymemcache_default", "serde": _TextEncodingSerde(encoding)}
    protocol = _is_pickle_serde(serde)
    if protocol is not None:
        return {"value_scheme": "pymemcache", "pickle_protocol": protocol}
    if _is_zlib_compressed_serde(serde):
        protocol = _is_pickle_serde(serde._serde)
        if protocol is not None:
            return {
                "value_scheme": "pymemcache",
                "pickle_protocol": protocol,
                "compress_threshold": max(int(serde._min_compress_len), 0),
            }
    return {"value_scheme": "pymemcache_default", "serde": serde}


def _seconds(timeout: float | None) -> float:
    # pymemcache's None waits forever; fastmc's 0 is no limit.
    return 0.0 if timeout is None else float(timeout)


def _key_prefix_bytes(key_prefix: bytes | str) -> bytes:
    if isinstance(key_prefix, str):
        key_prefix = key_prefix.encode("ascii")
    if not isinstance(key_prefix, bytes):
        raise TypeError("key_prefix should be bytes.")
    return key_prefix


def native_options(
    *,
    serde: Any,
    connect_timeout: float | None,
    timeout: float | None,
    ignore_exc: bool,
    key_prefix: bytes,
    allow_unicode_keys: bool,
    encoding: str,
    tls_context: ssl.SSLContext | None,
) -> dict[str, Any]:
    """The fastmc.Client keyword arguments for pymemcache's client arguments."""
    options: dict[str, Any] = {
        "timeout": _seconds(timeout),
        "connect_timeout": _seconds(connect_timeout),
        # pymemcache's no_delay=False default would only add latency: fastmc
        # writes each batch of requests at once.
        "tcp_nodelay": True,
        "allow_non_ascii_keys": allow_unicode_keys,
        "protocol": "text_pipelined",
        "miss_on_error": ignore_exc,
        "error_classes": ERROR_CLASSES,
        **value_options(serde, encoding),
    }
    if key_prefix:
        options["key_prefix"] = key_prefix
        options["hash_key_prefix"] = False
    if tls_context is not None:
        options["tls_context"] = tls_context
    return options


def _expire_error(expire: Any) -> None:
    if not isinstance(expire, int):
        raise MemcacheIllegalInputError(f"expire must be integer, got bad value: {expire!r}")


def _cas_token(cas: Any) -> int:
    """pymemcache's accepted cas tokens: an int, or str/bytes of digits."""
    if isinstance(cas, int):
        text = str(cas).encode()
    elif isinstance(cas, str):
        try:
            text = cas.encode("ascii")
        except UnicodeEncodeError:
            raise MemcacheIllegalInputError(f"non-ASCII cas value: {cas!r}") from None
    elif isinstance(cas, bytes):
        text = cas
    else:
        raise MemcacheIllegalInputError(
            f"cas must be integer, string, or bytes, got bad value: {cas!r}"
        )
    if not text.isdigit():
        raise MemcacheIllegalInputError(
            f"cas must only contain values in 0-9, got bad value: {cas!r}"
        )
    return int(text)


def _stat_value(name: bytes, value: Any) -> Any:
    """A native stat value typed as pymemcache types it (from the stat's text)."""
    text = value if isinstance(value, str) else str(value)
    converter = STAT_TYPES.get(name, int)
    try:
        return converter(text.encode())
    except Exception:
        return text.encode()


def pymemcache_stats(stats: dict[str, Any]) -> dict[bytes, Any]:
    """One server's native stats as pymemcache returns them: bytes names, its types."""
    result = {}
    for name, value in stats.items():
        name_bytes = name.encode()
        result[name_bytes] = _stat_value(name_bytes, value)
    return result


# The native methods the overrides call (looked up once).
_gets = _native.Client.gets
_gat = _native.Client.gat
_gats = _native.Client.gats
_gets_many = _native.Client.gets_many
_set = _native.Client.set
_add = _native.Client.add
_replace = _native.Client.replace
_append = _native.Client.append
_prepend = _native.Client.prepend
_cas = _native.Client.cas
_set_many = _native.Client.set_many
_set_raw = _native.Client.set_raw
_delete = _native.Client.delete
_delete_many = _native.Client.delete_many
_incr = _native.Client.incr
_decr = _native.Client.decr
_touch = _native.Client.touch
_flush_all = _native.Client.flush_all


class _Commands(_FastmcClient):
    """pymemcache's commands over the native client (shared by Client,
    PooledClient and HashClient)."""

    # HashClient turns write failures into its default return values under
    # ignore_exc; Client and PooledClient only turn reads into misses.
    _ignore_write_errors = False

    def _swallows(self, error: BaseException) -> bool:
        """Whether a failed write returns its default instead of raising: a
        bad key still raises (pymemcache checks keys before its ignore_exc)."""
        return self._ignore_write_errors and not isinstance(error, MemcacheIllegalInputError)

    def _setup(
        self,
        servers: list[str],
        *,
        serde: Any,
        serializer: Any,
        deserializer: Any,
        connect_timeout: float | None,
        timeout: float | None,
        no_delay: bool,
        ignore_exc: bool,
        socket_module: ModuleType,
        socket_keepalive: KeepaliveOpts | None,
        key_prefix: bytes | str,
        default_noreply: bool,
        allow_unicode_keys: bool,
        encoding: str,
        tls_context: ssl.SSLContext | None,
        **native: Any,
    ) -> None:
        _check_keepalive(socket_keepalive)
        key_prefix = _key_prefix_bytes(key_prefix)
        if serde is None and (serializer is not None or deserializer is not None):
            serde = _serde.LegacyWrappingSerde(serializer, deserializer)
        options = native_options(
            serde=serde,
            connect_timeout=connect_timeout,
            timeout=timeout,
            ignore_exc=ignore_exc,
            key_prefix=key_prefix,
            allow_unicode_keys=allow_unicode_keys,
            encoding=encoding,
            tls_context=tls_context,
        )
        options.update(native)
        _FastmcClient.__init__(self, servers, **options)
        self._native_options = options
        self._serde = serde
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.no_delay = no_delay
        self.ignore_exc = ignore_exc
        self.socket_module = socket_module
        self.socket_keepalive = socket_keepalive
        self.key_prefix = key_prefix
        self.default_noreply = default_noreply
        self.allow_unicode_keys = allow_unicode_keys
        self.encoding = encoding
        self.tls_context = tls_context

    @property  # type: ignore[override]
    def serde(self) -> Any:
        """The serde given (None: pymemcache's pass-through default).

        Assigning one rebuilds the native client with it (not while other
        threads use the client)."""
        if self._serde is None:
            return _serde.LegacyWrappingSerde(None, None)
        return self._serde

    @serde.setter
    def serde(self, serde: Any) -> None:
        options = {
            name: value
            for name, value in self._native_options.items()
            if name not in ("value_scheme", "serde", "pickle_protocol", "compress_threshold")
        }
        options.update(value_options(serde, self.encoding))
        self._reconfigure(list(self.servers), **options)
        self._native_options = options
        self._serde = serde

    # Storage ----------------------------------------------------------------

    def _store(
        self,
        call: Callable[..., Any],
        key: Key,
        value: Any,
        expire: int,
        noreply: bool | None,
        flags: int | None,
    ) -> Any:
        # Native noreply returns what pymemcache returns without a reply
        # (True), a refusal by the server included; unreachable servers raise.
        if noreply is None:
            noreply = self.default_noreply
        try:
            if flags is not None:
                return self._store_with_flags(call, key, value, expire, flags, noreply)
            return call(self, key, value, expire, noreply=bool(noreply))
        except TypeError:
            _expire_error(expire)
            raise
        except (MemcacheError, OSError) as error:
            if self._swallows(error):
                return False
            raise

    def _store_with_flags(
        self,
        call: Callable[..., Any],
        key: Key,
        value: Any,
        expire: int,
        flags: int,
        noreply: bool,
    ) -> Any:
        # pymemcache lets `flags` override the serializer's; only set has a
        # native call taking flags (set_raw).
        if call is not _set:
            raise NotImplementedError(
                "flags= is supported on set and set_many only: the native client has no "
                "raw add/replace/append/prepend/cas yet"
            )
        data, _ = self.serde.serialize(key, value)
        if not isinstance(data, bytes):
            data = str(data).encode(self.encoding)
        try:
            stored = _set_raw(self, key, data, flags, expire)
        except MemcacheServerError as error:
            # set_raw has no noreply: drop the server's refusal as noreply does.
            if noreply and not isinstance(error, MemcacheUnexpectedCloseError):
                return True
            raise
        return True if noreply else stored

    def set(
        self,
        key: Key,
        value: Any,
        expire: int = 0,
        noreply: bool | None = None,
        flags: int | None = None,
    ) -> bool:
        """Stores ``value``; True (always, unless an exception is raised)."""
        return self._store(_set, key, value, expire, noreply, flags)

    def add(
        self,
        key: Key,
        value: Any,
        expire: int = 0,
        noreply: bool | None = None,
        flags: int | None = None,
    ) -> bool:
        """Stores ``value`` if ``key`` is absent; True under noreply, else whether it was stored."""
        return self._store(_add, key, value, expire, noreply, flags)

    def replace(
        self,
        key: Key,
        value: Any,
        expire: int = 0,
        noreply: bool | None = None,
        flags: int | None = None,
    ) -> bool:
        """Stores ``value`` if ``key`` exists; True under noreply, else whether it was stored."""
        return self._store(_replace, key, value, expire, noreply, flags)

    def append(
        self,
        key: Key,
        value: Any,
        expire: int = 0,
        noreply: bool | None = None,
        flags: int | None = None,
    ) -> bool:
        """Appends to an existing value; True under noreply, else whether it was stored."""
        return self._store(_append, key, value, expire, noreply, flags)

    def prepend(
        self,
        key: Key,
        value: Any,
        expire: int = 0,
        noreply: bool | None = None,
        flags: int | None = None,
    ) -> bool:
        """Prepends to an existing value; True under noreply, else whether it was stored."""
        return self._store(_prepend, key, value, expire, noreply, flags)

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
        if flags is not None:
            self._store_with_flags(_cas, key, value, expire, flags, noreply)
        token = _cas_token(cas)
        try:
            return _cas(self, key, value, token, expire, noreply=bool(noreply))
        except TypeError:
            _expire_error(expire)
            raise
        except (MemcacheError, OSError) as error:
            if self._swallows(error):
                return False
            raise

    def set_many(
        self,
        values: dict[Key, Any],
        expire: int = 0,
        noreply: bool | None = None,
        flags: int | None = None,
    ) -> list[Key]:
        """Stores every item; the keys that were not stored ([] under noreply)."""
        if noreply is None:
            noreply = self.default_noreply
        try:
            if flags is not None:
                return [
                    key
                    for key, value in values.items()
                    if not self._store_with_flags(_set, key, value, expire, flags, noreply)
                ]
            return _set_many(self, values, expire, noreply=bool(noreply))
        except TypeError:
            _expire_error(expire)
            raise
        except (MemcacheError, OSError) as error:
            if self._swallows(error):
                return list(values)
            raise

    set_multi = set_many

    # Reads ------------------------------------------------------------------

    get = _native.Client.get
    get_many = _native.Client.get_many
    get_multi = _native.Client.get_many

    def gets(self, key: Key, default: Any = None, cas_default: Any = None) -> tuple[Any, Any]:
        """``(value, cas)`` with the cas token as bytes, or ``(default, cas_default)``."""
        value, cas = _gets(self, key, default)
        if cas is None:
            return default, cas_default
        return value, b"%d" % cas

    def gets_many(self, keys: Iterable[Key]) -> dict[Key, tuple[Any, bytes]]:
        """``{key: (value, cas)}`` for the hits, cas tokens as bytes."""
        return {key: (value, b"%d" % cas) for key, (value, cas) in _gets_many(self, keys).items()}

    def gat(self, key: Key, expire: int = 0, default: Any = None) -> Any:
        """The value (its ttl reset to ``expire``), or ``default``."""
        return _gat(self, key, expire, default)

    def gats(
        self, key: Key, expire: int = 0, default: Any = None, cas_default: Any = None
    ) -> tuple[Any, Any]:
        """Like gets, resetting the ttl to ``expire``."""
        value, cas = _gats(self, key, expire, default)
        if cas is None:
            return default, cas_default
        return value, b"%d" % cas

    # Other keyed commands ---------------------------------------------------

    def delete(self, key: Key, noreply: bool | None = None) -> bool:
        """True under noreply, else whether the key existed."""
        if noreply is None:
            noreply = self.default_noreply
        try:
            return _delete(self, key, noreply=bool(noreply))
        except (MemcacheError, OSError) as error:
            if self._swallows(error):
                return False
            raise

    def delete_many(self, keys: Iterable[Key], noreply: bool | None = None) -> bool:
        """Deletes every key; True."""
        if not keys:
            return True
        if noreply is None:
            noreply = self.default_noreply
        try:
            _delete_many(self, keys, noreply=bool(noreply))
        except (MemcacheError, OSError) as error:
            if not self._swallows(error):
                raise
        return True

    delete_multi = delete_many

    def _arithmetic(
        self, call: Callable[..., Any], key: Key, value: int, noreply: bool | None
    ) -> int | bool | None:
        if not isinstance(value, int):
            raise MemcacheIllegalInputError(f"value must be integer, got bad value: {value!r}")
        if not 0 <= value < 1 << 64:
            # What memcached answers to the delta pymemcache would send.
            raise MemcacheClientError(b"invalid numeric delta argument")
        try:
            return call(self, key, value, noreply=bool(noreply))
        except (MemcacheError, OSError) as error:
            if self._swallows(error):
                return False
            raise

    def incr(self, key: Key, value: int, noreply: bool | None = False) -> int | None:
        """The new value, or None if the key is missing (always None under noreply)."""
        return self._arithmetic(_incr, key, value, noreply)

    def decr(self, key: Key, value: int, noreply: bool | None = False) -> int | None:
        """The new value, or None if the key is missing (always None under noreply)."""
        return self._arithmetic(_decr, key, value, noreply)

    def touch(self, key: Key, expire: int = 0, noreply: bool | None = None) -> bool:
        """True under noreply, else whether the key existed."""
        if noreply is None:
            noreply = self.default_noreply
        try:
            return _touch(self, key, expire, noreply=bool(noreply))
        except TypeError:
            _expire_error(expire)
            raise
        except (MemcacheError, OSError) as error:
            if self._swallows(error):
                return False
            raise

    def flush_all(self, delay: int = 0, noreply: bool | None = None) -> bool:
        """Flushes every server; True."""
        if not isinstance(delay, int):
            raise MemcacheIllegalInputError(f"delay must be integer, got bad value: {delay!r}")
        if noreply is None:
            noreply = self.default_noreply
        _flush_all(self, delay, noreply=bool(noreply))
        return True

    def quit(self) -> None:
        """Closes the connections; the next call reconnects."""
        self.close()

    def disconnect_all(self) -> None:
        """Closes the connections (pymemcache's alias of close)."""
        self.close()

    def check_key(self, key: Key, key_prefix: bytes | None = None) -> bytes:
        """The prefixed key as sent, or MemcacheIllegalInputError (as pymemcache)."""
        return check_key_helper(
            key, self.allow_unicode_keys, self.key_prefix if key_prefix is None else key_prefix
        )

    def __setitem__(self, key: Key, value: Any) -> None:
        self.set(key, value, noreply=True)

    def __getitem__(self, key: Key) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError
        return value

    def __delitem__(self, key: Key) -> None:
        self.delete(key, noreply=True)


class Client(_Commands):
    """A client for one memcached server, with pymemcache's arguments.

    ``server``: ``(host, port)``, ``"host:port"``, ``"unix:/path"`` or
    ``"/path"``. Unlike pymemcache's, it is safe to share between threads
    (it pools connections). Timeouts are seconds, None = no limit (as in
    pymemcache; fastmc recommends setting them).
    """

    def __init__(
        self,
        server: ServerSpec,
        serde: Any = None,
        serializer: Any = None,
        deserializer: Any = None,
        connect_timeout: float | None = None,
        timeout: float | None = None,
        no_delay: bool = False,
        ignore_exc: bool = False,
        socket_module: ModuleType = socket,
        socket_keepalive: KeepaliveOpts | None = None,
        key_prefix: bytes = b"",
        default_noreply: bool = True,
        allow_unicode_keys: bool = False,
        encoding: str = "ascii",
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.server = normalize_server_spec(server)
        self._setup(
            [native_server(self.server)],
            serde=serde,
            serializer=serializer,
            deserializer=deserializer,
            connect_timeout=connect_timeout,
            timeout=timeout,
            no_delay=no_delay,
            ignore_exc=ignore_exc,
            socket_module=socket_module,
            socket_keepalive=socket_keepalive,
            key_prefix=key_prefix,
            default_noreply=default_noreply,
            allow_unicode_keys=allow_unicode_keys,
            encoding=encoding,
            tls_context=tls_context,
            **self._pool_options(),
        )
        self._raw: RawConnection | None = None

    def _pool_options(self) -> dict[str, Any]:
        # PooledClient's pool size; a Client pools with fastmc's defaults.
        return {}

    # Server commands --------------------------------------------------------

    def stats(self, *args: Any) -> dict[bytes, Any]:
        """The server's stats, ``{b"name": value}`` typed as pymemcache types them."""
        try:
            replies = _native.Client.stats(self, *args)
        except (MemcacheError, OSError):
            if self.ignore_exc:
                return {}
            raise
        return pymemcache_stats(next(iter(replies.values()), {}))

    def version(self) -> bytes:
        """The server's version, e.g. ``b"1.6.18"``."""
        return next(iter(_native.Client.version(self).values())).encode()

    def _raw_connection(self) -> RawConnection:
        if self._raw is None:
            self._raw = RawConnection(
                self.server, self.connect_timeout, self.timeout, self.tls_context
            )
        return self._raw

    def raw_command(self, command: str | bytes, end_tokens: str | bytes = "\r\n") -> bytes:
        """Sends ``command`` as is and returns the reply up to ``end_tokens`` (removed)."""
        encoding = "utf8" if self.allow_unicode_keys else "ascii"
        if isinstance(command, str):
            command = command.encode(encoding)
        if isinstance(end_tokens, str):
            end_tokens = end_tokens.encode(encoding)
        return self._raw_connection().command(command, command + b"\r\n", end_tokens)

    def cache_memlimit(self, memlimit: int) -> bool:
        """Sets the server's memory limit in megabytes; True."""
        if not isinstance(memlimit, int):
            raise MemcacheIllegalInputError(
                f"memlimit must be integer, got bad value: {memlimit!r}"
            )
        reply = self._raw_connection().command(
            b"cache_memlimit", b"cache_memlimit %d\r\n" % memlimit, b"\r\n"
        )
        if reply not in (b"OK", b"END"):
            raise MemcacheUnknownError(reply[:32])
        return True

    def shutdown(self, graceful: bool = False) -> None:
        """Asks the server to shut down (it needs ``--enable-shutdown``)."""
        request = b"shutdown graceful\r\n" if graceful else b"shutdown\r\n"
        # A server that shuts down closes the connection instead of replying.
        with contextlib.suppress(MemcacheUnexpectedCloseError):
            self._raw_connection().command(b"shutdown", request, b"\r\n")

    def close(self) -> None:
        """Closes the connections; the next call reconnects."""
        _native.Client.close(self)
        if self._raw is not None:
            self._raw.close()

    quit = close
    disconnect_all = close


class PooledClient(Client):
    """pymemcache's thread-safe pool of clients: fastmc's client already is one.

    ``max_pool_size`` caps the connections (``max_connections_per_server``);
    ``pool_idle_timeout`` and ``lock_generator`` are accepted and unused.
    """

    #: kept for compatibility; fastmc makes no per-connection client objects.
    client_class = Client

    def __init__(
        self,
        server: ServerSpec,
        serde: Any = None,
        serializer: Any = None,
        deserializer: Any = None,
        connect_timeout: float | None = None,
        timeout: float | None = None,
        no_delay: bool = False,
        ignore_exc: bool = False,
        socket_module: ModuleType = socket,
        socket_keepalive: KeepaliveOpts | None = None,
        key_prefix: bytes = b"",
        max_pool_size: int | None = None,
        pool_idle_timeout: float = 0,
        lock_generator: Callable[[], Any] | None = None,
        default_noreply: bool = True,
        allow_unicode_keys: bool = False,
        encoding: str = "ascii",
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.max_pool_size = max_pool_size
        self.pool_idle_timeout = pool_idle_timeout
        self.lock_generator = lock_generator
        Client.__init__(
            self,
            server,
            serde,
            serializer,
            deserializer,
            connect_timeout,
            timeout,
            no_delay,
            ignore_exc,
            socket_module,
            socket_keepalive,
            key_prefix,
            default_noreply,
            allow_unicode_keys,
            encoding,
            tls_context,
        )

    def _pool_options(self) -> dict[str, Any]:
        return {"max_connections_per_server": self.max_pool_size or 0}

    def gets(self, key: Key) -> tuple[Any, Any]:  # type: ignore[override]
        """``(value, cas)``, or ``(None, None)`` on a miss."""
        return Client.gets(self, key)


__all__ = [
    "Client",
    "KeepaliveOpts",
    "PooledClient",
    "check_key_helper",
    "normalize_server_spec",
]
