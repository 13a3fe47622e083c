# SPDX-License-Identifier: MIT
"""libmc.Client on the native client.

The native client is configured as libmc is: its continuum ("libmc"
distribution, hash_fn's hash, aliases), its value encoding (marshal, pickle
protocol 2, its bool and compressed bits, values over 1,000,000 bytes split
into chunks), the text protocol, noreply, failover and its timeouts. What
differs is libmc's error model, which this class reproduces: a failure never
raises; the call returns libmc's failure value (None for reads and incr/decr,
False for writes) and get_last_error() returns the MC_RETURN_* code of the
calling thread's last call on this client. Each method is therefore a thin
override that catches the native error once; the I/O, encoding and splitting
stay in C++.

Thread safety: unlike libmc's Client, one client may be shared by threads
(the native client is thread-safe); ThreadUnsafe is never raised. The last
error is kept per thread, so each thread reads its own.
"""

from __future__ import annotations

import codecs
import pickle
import re
import threading
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import fastmc
from fastmc import _native, errors
from fastmc.compat.libmc import constants as mc

_Native = _native.Client
_MISS = object()

# libmc's split values (value/value_splitter.hpp does the same in C++ for
# values stored through the client; get_raw/set_raw handle them here).
_CHUNKED = 1 << 12
_CHUNK_SIZE = 1_000_000
_MAX_CHUNKS = 10
_MAX_SPLIT_KEY = 200

# What a native key check refuses (src/protocol/key.hpp): used only after a
# multi-key call was refused for a bad key, to drop the bad keys as libmc does.
_FORBIDDEN_KEY_BYTE = re.compile(rb"[\x00-\x20\x7f]")

# What unpickling or unmarshalling a corrupt value raises; libmc reads such a
# value as None (with a warning).
_DECODE_ERRORS = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    AttributeError,
    ImportError,
    IndexError,
    KeyError,
)
# What pickling a value libmc cannot serialise raises; libmc returns None.
_ENCODE_ERRORS = (pickle.PicklingError, TypeError, AttributeError, ValueError)


def _check_c_long(number: Any) -> None:
    """OverflowError, as Cython's conversion to libmc's C long raises it, for
    an int that does not fit in 64 bits."""
    if isinstance(number, int) and not -(1 << 63) <= number < 1 << 63:
        raise OverflowError("Python int too large to convert to C long")


_FLUSH_DISABLED = (
    "Please call client.toggle_flush_all_feature(True) first to enable the flush_all feature."
)


class ThreadUnsafe(Exception):
    """libmc raises this when a client is used by a second thread. fastmc's
    clients are thread-safe, so it is never raised; it exists so that
    ``except libmc.ThreadUnsafe`` keeps working."""


def _split_spec(spec: str) -> tuple[str, str | None]:
    """``("host[:port]", alias or None)`` from libmc's ``"host[:port] [alias]"``."""
    address, _, alias = spec.partition(" ")
    return address, (alias or None)


def _sendable(key: str | bytes) -> bool:
    data = key.encode() if isinstance(key, str) else key
    return 0 < len(data) <= 250 and _FORBIDDEN_KEY_BYTE.search(data) is None


def _flush_every_server(client: Any) -> dict[str, bool]:
    _Native.flush_all(client)
    return dict.fromkeys(_Native.servers.__get__(client), True)


def _concatenate_multi(call: Any, doc: str) -> Any:
    """libmc's append_multi or prepend_multi, over the native ``call``."""

    def method(
        self: Client,
        keys: Iterable[str | bytes],
        val: bytes,
        exptime: int = 0,
        compress: bool = False,
        return_failure: bool = False,
    ) -> Any:
        return self._append_or_prepend_multi(call, keys, val, exptime, return_failure)

    method.__doc__ = doc
    return method


def _require_bytes(val: object) -> None:
    """libmc appends and prepends bytes only."""
    if type(val) is not bytes:
        raise TypeError(
            f"Argument 'val' has incorrect type (expected bytes, got {type(val).__name__})"
        )


class Client(fastmc.Client):
    """Drop-in for ``libmc.Client(servers, do_split=True, comp_threshold=0,
    noreply=False, prefix=None, hash_fn=MC_HASH_MD5, failover=False,
    encoding='utf8')``. Servers are ``"host[:port] [alias]"``; keys are str
    (encoded with ``encoding``) or bytes. See docs/migration/libmc.md."""

    def __init__(
        self,
        servers: list[str],
        do_split: bool = True,
        comp_threshold: int = 0,
        noreply: bool = False,
        prefix: str | bytes | None = None,
        hash_fn: int = mc.MC_HASH_MD5,
        failover: bool = False,
        encoding: str = "utf8",
    ) -> None:
        if hash_fn not in mc.HASH_NAMES:
            raise ValueError(
                f"unknown hash_fn {hash_fn!r} (MC_HASH_MD5, _FNV1_32, _FNV1A_32, _CRC_32)"
            )
        self._servers = list(servers)
        self._do_split = bool(do_split)
        self._comp_threshold = int(comp_threshold)
        self._noreply = bool(noreply)
        self._prefix = prefix
        self._hash_fn = hash_fn
        self._failover = bool(failover)
        self._encoding = encoding
        self._errors = threading.local()
        self._flush_all_enabled = False
        # libmc prepends the prefix to the key it sends and hashes, except
        # that a key starting with "?" keeps it first ("?" + prefix + rest).
        # The native key_prefix cannot say that, so such clients (and those
        # whose key encoding is not UTF-8) build the wire key here.
        if isinstance(prefix, str):
            prefix = prefix.encode(encoding)
        self._prefix_bytes: bytes = prefix or b""
        self._rewrites_keys = bool(self._prefix_bytes) or codecs.lookup(encoding).name != "utf-8"
        self._options: dict[str, Any] = {
            "protocol": "text_pipelined",
            "distribution": "libmc",
            "hash": mc.HASH_NAMES[hash_fn],
            "value_scheme": "libmc",
            "compress_threshold": self._comp_threshold,
            "split_values": self._do_split,
            "dead_server_policy": "failover" if failover else "error",
            # libmc: 300 ms per poll, 100 ms to connect, a server that failed
            # once is left alone for 5 s. fastmc's timeout bounds the whole
            # call, so it gets a whole-call budget (docs/migration/libmc.md).
            "timeout": 1.0,
            "connect_timeout": 0.1,
            "failure_limit": 1,
            "retry_timeout": 5.0,
        }
        super().__init__(self._servers, **self._options)
        self._hosts = self._display_names(self._servers)

    # Construction helpers -------------------------------------------------

    def _display_names(self, specs: list[str]) -> dict[str, str]:
        """Native server name -> what libmc names it (its alias, if any)."""
        return {
            name: (_split_spec(spec)[1] or name)
            for name, spec in zip(self._native_servers(), specs, strict=True)
        }

    def _native_servers(self) -> list[str]:
        return _Native.servers.__get__(self)  # type: ignore[attr-defined]

    @property
    def servers(self) -> list[str]:  # type: ignore[override]
        """The servers as given to the constructor (or update_servers)."""
        return list(self._servers)

    @property
    def comp_threshold(self) -> int:
        return self._comp_threshold

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (
                self._servers,
                self._do_split,
                self._comp_threshold,
                self._noreply,
                self._prefix,
                self._hash_fn,
                self._failover,
                self._encoding,
            ),
        )

    # Keys and errors ------------------------------------------------------

    def _key(self, key: str | bytes) -> str | bytes:
        """The key as libmc sends (and hashes) it."""
        if not self._rewrites_keys:
            return key
        data = key.encode(self._encoding) if isinstance(key, str) else bytes(key)
        if not self._prefix_bytes:
            return data
        if data[:1] == b"?":
            return b"?" + self._prefix_bytes + data[1:]
        return self._prefix_bytes + data

    def _wire_bytes(self, key: str | bytes) -> bytes:
        """A key as libmc reports it in failure lists: its wire bytes."""
        key = self._key(key)
        return key.encode() if isinstance(key, str) else key

    def _fail(self, error: errors.Error, value: Any) -> Any:
        """Records a native failure as libmc's code and returns libmc's
        failure value; argument errors are raised, as libmc raises them."""
        if error.cause == "invalid_argument":
            raise error
        self._errors.code = mc.CAUSE_CODES.get(error.cause or "", mc.MC_RETURN_MC_SERVER_ERR)
        return value

    def _nothing_to_do(self, value: Any) -> Any:
        """libmc answers a multi-key call with no key as a failure of the
        servers (MC_RETURN_MC_SERVER_ERR): get_multi {}, the others False."""
        self._errors.code = mc.MC_RETURN_MC_SERVER_ERR
        return value

    def get_last_error(self) -> int:
        """The MC_RETURN_* code of this thread's last call on this client."""
        return getattr(self._errors, "code", mc.MC_RETURN_OK)

    def get_last_strerror(self) -> str:
        return mc.RETURN_CODE_NAMES.get(self.get_last_error(), "")

    # Reads ----------------------------------------------------------------

    def get(self, key: str | bytes) -> Any:
        """The value, or None on a miss or a failure."""
        if self._rewrites_keys:
            key = self._key(key)
        try:
            value = _Native.get(self, key)
        except errors.Error as error:
            return self._fail(error, None)
        except _DECODE_ERRORS as error:
            value = self._undecodable(error)
        self._errors.code = mc.MC_RETURN_OK
        return value

    def gets(self, key: str | bytes) -> tuple[Any, int] | None:
        """``(value, cas)``, or None on a miss or a failure."""
        if self._rewrites_keys:
            key = self._key(key)
        try:
            value, cas = _Native.gets(self, key)
        except errors.Error as error:
            return self._fail(error, None)
        except _DECODE_ERRORS as error:
            value, cas = self._undecodable(error), 0
        self._errors.code = mc.MC_RETURN_OK
        return None if cas is None else (value, cas)

    def get_multi(self, keys: Iterable[str | bytes]) -> dict[Any, Any]:
        """``{key: value}`` for the hits; bad keys and failed servers are left out."""
        keys = list(keys)
        if not keys:
            return self._nothing_to_do({})
        wire = [self._key(key) for key in keys] if self._rewrites_keys else keys
        try:
            found = _Native.get_many(self, wire)
        except errors.Error as error:
            if error.cause != "invalid_key":
                return self._fail(error, {})
            found = self._get_sendable(wire)
        except _DECODE_ERRORS:
            found = self._get_one_by_one(wire)
        self._errors.code = mc.MC_RETURN_OK
        if self._rewrites_keys:
            return {key: found[w] for key, w in zip(keys, wire, strict=True) if w in found}
        return found

    def get_list(self, keys: Iterable[str | bytes]) -> list[Any]:
        """The values in the order of ``keys``, None for misses."""
        keys = list(keys)
        found = self.get_multi(keys)
        return [found.get(key) for key in keys]

    def _get_sendable(self, wire: list[Any]) -> dict[Any, Any]:
        sendable = [key for key in wire if _sendable(key)]
        try:
            return _Native.get_many(self, sendable) if sendable else {}
        except _DECODE_ERRORS:
            return self._get_one_by_one(sendable)

    def _get_one_by_one(self, wire: list[Any]) -> dict[Any, Any]:
        """get_many gave up on an undecodable value: libmc reads it as None
        and still returns the others."""
        found = {}
        for key in wire:
            try:
                value = _Native.get(self, key, _MISS)
            except _DECODE_ERRORS as error:
                value = self._undecodable(error)
            if value is not _MISS:
                found[key] = value
        return found

    @staticmethod
    def _undecodable(error: Exception) -> None:
        warnings.warn(f"[libmc] decode value failed, err type: {type(error)}", stacklevel=3)

    def get_raw(self, key: str | bytes) -> tuple[bytes | None, int]:
        """``(bytes, flags)`` as stored (a split value joined, its chunk bit
        cleared), or ``(None, 0)`` on a miss or a failure."""
        wire = self._wire_bytes(key)
        try:
            hit = _Native.get_raw(self, wire)
            if hit is not None and self._do_split and hit[1] & _CHUNKED:
                hit = self._join_raw(wire, hit)
        except errors.Error as error:
            return self._fail(error, (None, 0))
        self._errors.code = mc.MC_RETURN_OK
        return (None, 0) if hit is None else hit

    def _join_raw(self, wire: bytes, index: tuple[bytes, int]) -> tuple[bytes, int] | None:
        count = int(index[0].decode("ascii").strip("\0"))
        if count > _MAX_CHUNKS or len(wire) > _MAX_SPLIT_KEY:
            return None
        chunks = []
        for number in range(count):
            chunk = _Native.get_raw(self, b"~%d%s/%d" % (len(wire), wire, number))
            if chunk is None:
                return None
            chunks.append(chunk[0])
        return b"".join(chunks), index[1] & ~_CHUNKED

    # Writes ---------------------------------------------------------------

    def _store(self, call: Any, key: Any, val: Any, time: int, min_compress_len: int) -> Any:
        wire_key = self._key(key) if self._rewrites_keys else key
        try:
            try:
                stored = call(self, wire_key, val, time, min_compress_len, -2, self._noreply)
            except _ENCODE_ERRORS as error:
                if isinstance(error, errors.Error) or not isinstance(key, str | bytes):
                    raise  # a key neither str nor bytes: TypeError, as libmc
                if isinstance(time, float):
                    # libmc's time is a C integer: Cython truncates a float.
                    return self._store(call, key, val, int(time), min_compress_len)
                if not isinstance(time, int):
                    raise
                _check_c_long(time)
                warnings.warn(
                    f"[libmc] encode value failed, err type: {type(error)}, val type: {type(val)}",
                    stacklevel=3,
                )
                return None
        except errors.Error as error:
            # libmc's set splits any value it can; one it cannot (over 10
            # chunks, or a key over 200 bytes) is refused before sending:
            # False, and MC_RETURN_OK.
            if error.cause == "value_too_large" and call is _Native.set and self._do_split:
                self._errors.code = mc.MC_RETURN_OK
                return False
            return self._fail(error, False)
        self._errors.code = mc.MC_RETURN_OK
        return stored

    def set(self, key: str | bytes, val: Any, time: int = 0, compress: bool = True) -> Any:
        """True if stored; False if not; None if ``val`` cannot be serialised."""
        return self._store(_Native.set, key, val, time, -1 if compress else 0)

    def add(self, key: str | bytes, val: Any, time: int = 0) -> Any:
        return self._store(_Native.add, key, val, time, -1)

    def replace(self, key: str | bytes, val: Any, time: int = 0) -> Any:
        return self._store(_Native.replace, key, val, time, -1)

    def append(self, key: str | bytes, val: bytes, compress: bool = False) -> Any:
        """Appends bytes (libmc takes nothing else) to the stored value."""
        _require_bytes(val)
        return self._store(_Native.append, key, val, 0, 0)

    def prepend(self, key: str | bytes, val: bytes, compress: bool = False) -> Any:
        _require_bytes(val)
        return self._store(_Native.prepend, key, val, 0, 0)

    def _append_or_prepend_multi(
        self, call: Any, keys: Iterable[Any], val: bytes, exptime: int, return_failure: bool
    ) -> Any:
        _require_bytes(val)
        if self._do_split and len(val) > _CHUNK_SIZE:
            return None  # libmc cannot append to a split value
        failed = []
        code = mc.MC_RETURN_OK
        # One call per key: the native client has no append_many yet. libmc
        # counts only failures to reach a server, not "not stored".
        for key in keys:
            wire = self._key(key)
            try:
                call(self, wire, val, exptime, 0, -2, self._noreply)
            except errors.Error as error:
                self._fail(error, None)
                code = self._errors.code
                failed.append(self._wire_bytes(key))
        self._errors.code = code
        return (not failed, failed) if return_failure else not failed

    append_multi = _concatenate_multi(
        _Native.append,
        """Appends ``val`` to each key's value: True unless a server failed (a
        missing key counts as done, as in libmc); None if ``val`` is too long
        to append to a split value.""",
    )
    prepend_multi = _concatenate_multi(_Native.prepend, """As append_multi, prepending.""")

    def cas(self, key: str | bytes, val: Any, exptime: int, cas_unique: int) -> Any:
        """True if stored; False if the item changed since gets, is gone, or on a failure."""
        if self._rewrites_keys:
            key = self._key(key)
        try:
            stored = _Native.cas(self, key, val, cas_unique, exptime, self._noreply)
        except errors.Error as error:
            return self._fail(error, False)
        except _ENCODE_ERRORS:
            if not isinstance(exptime, int):
                raise
            return None
        self._errors.code = mc.MC_RETURN_OK
        return stored is True

    def set_multi(
        self,
        dct: Mapping[Any, Any],
        time: int = 0,
        compress: bool = True,
        return_failure: bool = False,
    ) -> Any:
        """True if every value was stored (with ``return_failure``, also the
        list of the keys that were not, as bytes on the wire)."""
        if not dct:
            return self._nothing_to_do((False, []) if return_failure else False)
        mapping = {self._key(k): v for k, v in dct.items()} if self._rewrites_keys else dct
        code = mc.MC_RETURN_OK
        try:
            failed = _Native.set_many(self, mapping, time, -1 if compress else 0, -2, self._noreply)
        except errors.Error as error:
            if error.cause == "invalid_key":
                failed = [key for key in mapping if not _sendable(key)]
                sendable = {k: v for k, v in mapping.items() if _sendable(k)}
                return self._finish_set_multi(sendable, failed, time, compress, return_failure)
            self._fail(error, None)
            code, failed = self._errors.code, list(mapping)
        except _ENCODE_ERRORS:
            if not isinstance(time, int):
                raise
            failed = list(mapping)  # libmc stores nothing when a value cannot be serialised
        self._errors.code = code
        return self._failure_result(failed, return_failure)

    def _finish_set_multi(
        self,
        mapping: dict[Any, Any],
        failed: list[Any],
        time: int,
        compress: bool,
        return_failure: bool,
    ) -> Any:
        code = mc.MC_RETURN_OK
        if mapping:
            try:
                failed += _Native.set_many(
                    self, mapping, time, -1 if compress else 0, -2, self._noreply
                )
            except errors.Error as error:
                self._fail(error, None)
                code = self._errors.code
                failed += list(mapping)
        self._errors.code = code
        return self._failure_result(failed, return_failure)

    def _failure_result(self, failed: list[Any], return_failure: bool) -> Any:
        if not return_failure:
            return not failed
        return not failed, [key.encode() if isinstance(key, str) else key for key in failed]

    def set_raw(self, key: str | bytes, val: bytes, time: int, flags: int) -> bool:
        """Stores ``val`` as is with ``flags`` (split as libmc splits it when
        over 1,000,000 bytes)."""
        wire = self._wire_bytes(key)
        try:
            if self._do_split and len(val) > _CHUNK_SIZE:
                stored = self._set_split_raw(wire, val, time, flags)
            else:
                stored = _Native.set_raw(self, wire, val, flags, time)
        except errors.Error as error:
            return self._fail(error, False)
        self._errors.code = mc.MC_RETURN_OK
        return stored

    def _set_split_raw(self, wire: bytes, val: bytes, time: int, flags: int) -> bool:
        if len(val) > _MAX_CHUNKS * _CHUNK_SIZE or len(wire) > _MAX_SPLIT_KEY:
            return False
        count = 0
        for offset in range(0, len(val), _CHUNK_SIZE):
            chunk_key = b"~%d%s/%d" % (len(wire), wire, count)
            if not _Native.set_raw(
                self, chunk_key, val[offset : offset + _CHUNK_SIZE], flags, time
            ):
                return False
            count += 1
        return _Native.set_raw(self, wire, str(count).encode("ascii"), flags | _CHUNKED, time)

    def delete(self, key: str | bytes) -> bool:
        """True unless the server could not be reached (a missing key counts
        as deleted, as in libmc)."""
        if self._rewrites_keys:
            key = self._key(key)
        try:
            _Native.delete(self, key, self._noreply)
        except errors.Error as error:
            return self._fail(error, False)
        self._errors.code = mc.MC_RETURN_OK
        return True

    def delete_multi(self, keys: Iterable[str | bytes], return_failure: bool = False) -> Any:
        """True if every key is gone (missing keys count); with
        ``return_failure`` also the keys that may remain, as wire bytes."""
        wire = [self._key(key) for key in keys] if self._rewrites_keys else list(keys)
        if not wire:
            return self._nothing_to_do((False, []) if return_failure else False)
        code = mc.MC_RETURN_OK
        failed: list[Any] = []
        try:
            _Native.delete_many(self, wire, self._noreply)
        except errors.Error as error:
            if error.cause == "invalid_key":
                failed = [key for key in wire if not _sendable(key)]
                sendable = [key for key in wire if _sendable(key)]
                try:
                    if sendable:
                        _Native.delete_many(self, sendable, self._noreply)
                except errors.Error as second:
                    self._fail(second, None)
                    code = self._errors.code
                    failed = wire
            else:
                # The native count cannot say which keys went: all may remain.
                self._fail(error, None)
                code, failed = self._errors.code, wire
        self._errors.code = code
        return self._failure_result(failed, return_failure)

    def _arithmetic(self, call: Any, key: str | bytes, delta: int) -> int | None:
        wire_key = self._key(key) if self._rewrites_keys else key
        try:
            value = call(self, wire_key, delta, self._noreply)
        except errors.Error as error:
            if error.cause == "invalid_argument":
                # libmc's delta is a uint64_t: Cython's conversion refuses the rest.
                raise OverflowError(
                    "can't convert negative value to uint64_t"
                    if delta < 0
                    else "Python int too large to convert to C unsigned long"
                ) from None
            return self._fail(error, None)
        except TypeError:
            if not isinstance(delta, float):
                raise
            # Cython truncates a float delta (libmc's incr(key, 1.5) adds 1).
            return self._arithmetic(call, key, int(delta))
        self._errors.code = mc.MC_RETURN_OK
        return value

    def incr(self, key: str | bytes, delta: int = 1) -> int | None:
        """The new value; None on a miss, a failure, or with noreply."""
        return self._arithmetic(_Native.incr, key, delta)

    def decr(self, key: str | bytes, delta: int = 1) -> int | None:
        return self._arithmetic(_Native.decr, key, delta)

    def touch(self, key: str | bytes, exptime: int) -> bool:
        """True if the key exists (its ttl is reset)."""
        wire_key = self._key(key) if self._rewrites_keys else key
        try:
            touched = _Native.touch(self, wire_key, exptime, self._noreply)
        except errors.Error as error:
            return self._fail(error, False)
        except TypeError:
            if not isinstance(exptime, float):
                _check_c_long(exptime)
                raise
            return self.touch(key, int(exptime))  # Cython truncates a float exptime
        self._errors.code = mc.MC_RETURN_OK
        return touched

    def expire(self, key: str | bytes) -> bool:
        """Expires the key now (libmc: touch with -1)."""
        return self.touch(key, -1)

    # Every server ---------------------------------------------------------

    def _each_server(self, call: Any) -> dict[str, Any]:
        """``{native name: result}`` of ``call(native client)`` on every server
        that answers; the others are left out and their failure recorded."""
        try:
            replies = call(self)
        except errors.Error as first:
            # The native call gives all or nothing: ask each server alone.
            replies = {}
            code = mc.CAUSE_CODES.get(first.cause or "", mc.MC_RETURN_MC_SERVER_ERR)
            for name in self._native_servers():
                single = fastmc.Client(
                    name,
                    protocol="text",
                    timeout=self._options["timeout"],
                    connect_timeout=self._options["connect_timeout"],
                )
                with single:
                    try:
                        replies.update(call(single))
                    except errors.Error as error:
                        code = mc.CAUSE_CODES.get(error.cause or "", code)
            self._errors.code = code
            return replies
        self._errors.code = mc.MC_RETURN_OK
        return replies

    def version(self) -> dict[str, str]:
        """``{server: version}`` for the servers that answer."""
        return {
            self._hosts.get(name, name): v for name, v in self._each_server(_Native.version).items()
        }

    def stats(self) -> dict[str, dict[str, Any]]:
        """``{server: {name: int, float or str}}``; a server that does not
        answer has an empty dict, as in libmc."""
        replies = self._each_server(_Native.stats)
        return {self._hosts[name]: replies.get(name, {}) for name in self._native_servers()}

    def toggle_flush_all_feature(self, enabled: bool) -> None:
        """flush_all raises RuntimeError until this is called with True."""
        self._flush_all_enabled = bool(enabled)

    def flush_all(self) -> list[str]:
        """Flushes every server; returns those that were flushed."""
        if not self._flush_all_enabled:
            self._errors.code = mc.MC_RETURN_PROGRAMMING_ERR
            raise RuntimeError(_FLUSH_DISABLED)
        flushed = self._each_server(_flush_every_server)
        return [self._hosts.get(name, name) for name in flushed]

    def quit(self) -> bool:
        """Closes every connection; the next call reconnects."""
        self.close()
        self._errors.code = mc.MC_RETURN_OK
        return True

    # Routing and configuration --------------------------------------------

    def get_host_by_key(self, key: str | bytes) -> str:
        """The server (its alias, if given) that holds ``key``."""
        name = _Native.server_for_key(self, self._key(key))
        return self._hosts.get(name, name)

    def get_realtime_host_by_key(self, key: str | bytes) -> str | None:
        """The server a call sends ``key`` to now: its own while it is up,
        the next live one with failover, None when the call would fail."""
        name = _Native.server_for_key(self, self._key(key), True)
        return None if name is None else self._hosts.get(name, name)

    def update_servers(self, servers: list[str]) -> bool:
        """Replaces the servers, keeping their number and aliases (libmc's
        rule: False, and nothing changed, otherwise)."""
        servers = list(servers)
        if len(servers) != len(self._servers):
            return False
        old_aliases = [_split_spec(spec)[1] for spec in self._servers]
        if [_split_spec(spec)[1] for spec in servers] != old_aliases:
            return False
        try:
            fastmc.Client.set_servers(self, servers)
        except ValueError:
            return False
        self._servers = servers
        self._hosts = self._display_names(servers)
        return True

    def config(self, opt: int, val: int) -> None:
        """libmc's config(MC_*, value): timeouts in ms (retry in s),
        failover, and the pool sizes (MC_MAX_CLIENTS caps the connections to
        each server). Unknown options are ignored, as libmc ignores them."""
        options = self._options
        if opt == mc.MC_POLL_TIMEOUT:
            options["timeout"] = val / 1000
        elif opt == mc.MC_CONNECT_TIMEOUT:
            options["connect_timeout"] = val / 1000
        elif opt == mc.MC_RETRY_TIMEOUT:
            options["retry_timeout"] = float(val)
        elif opt == mc.MC_SET_FAILOVER:
            self._failover = bool(val)
            options["dead_server_policy"] = "failover" if val else "error"
        elif opt == mc.MC_MAX_CLIENTS:
            options["max_connections_per_server"] = max(int(val), 0)
        else:
            return
        self._reconfigure(self._servers, **options)

    def reset(self) -> None:
        """libmc forgets the thread that owns the client; fastmc's clients
        belong to no thread, so there is nothing to forget."""

    def clear_thread_ident(self) -> None:
        """As reset()."""


class ClientUnsafe(Client):
    """libmc's client without the thread check; fastmc's Client has none."""


class ThreadedClient(Client):
    """libmc's thread-safe client (a pool of clients in libmc). fastmc's
    Client is already thread-safe, so this is the same client."""
