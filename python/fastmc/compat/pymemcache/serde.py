# SPDX-License-Identifier: MIT
"""pymemcache's serde module: value (de)serializers with pymemcache's flags.

A serde has ``serialize(key, value) -> (bytes, flags)`` and
``deserialize(key, value, flags) -> value``. The compat clients recognise
``pickle_serde``, a ``PickleSerde``, and a ``CompressedSerde`` with zlib over
one of them, and then encode and decode natively, bit for bit as pymemcache
does (fastmc's ``value_scheme="pymemcache"``): these Python methods are not
called on that path. Any other serde object (a subclass included) is called
from the native client, as pymemcache calls it.

pickle executes code found in the cache when it reads: use these serdes only
with servers every writer of which you trust, as with pymemcache.
"""

from __future__ import annotations

import logging
import pickle
import zlib
from collections.abc import Callable
from functools import partial
from typing import Any

FLAG_BYTES = 0
FLAG_PICKLE = 1 << 0
FLAG_INTEGER = 1 << 1
FLAG_LONG = 1 << 2
FLAG_COMPRESSED = 1 << 3
FLAG_TEXT = 1 << 4

DEFAULT_PICKLE_VERSION = pickle.HIGHEST_PROTOCOL

logger = logging.getLogger(__name__)


def _python_memcache_serializer(
    key: Any, value: Any, pickle_version: int | None = None
) -> tuple[Any, int]:
    # Exact types: a subclass of str or int is pickled, so it comes back as itself.
    kind = type(value)
    if kind is bytes:
        return value, FLAG_BYTES
    if kind is str:
        return value.encode("utf8"), FLAG_TEXT
    if kind is int:
        return str(value), FLAG_INTEGER  # str, as pymemcache: the client encodes it
    return pickle.dumps(value, pickle_version), FLAG_PICKLE


def get_python_memcache_serializer(
    pickle_version: int = DEFAULT_PICKLE_VERSION,
) -> Callable[[Any, Any], tuple[Any, int]]:
    """A serializer pickling with ``pickle_version``."""
    return partial(_python_memcache_serializer, pickle_version=pickle_version)


python_memcache_serializer = get_python_memcache_serializer()


def python_memcache_deserializer(key: Any, value: bytes, flags: int) -> Any:
    """The inverse of python_memcache_serializer; a value that fails to unpickle reads as None."""
    if flags == 0:
        return value
    if flags & FLAG_TEXT:
        return value.decode("utf8")
    if flags & (FLAG_INTEGER | FLAG_LONG):
        return int(value)
    if flags & FLAG_PICKLE:
        try:
            return pickle.loads(value)
        except Exception:
            logger.info("Pickle error", exc_info=True)
            return None
    return value


class PickleSerde:
    """bytes as is, str as UTF-8, int as decimal, anything else pickled with ``pickle_version``."""

    def __init__(self, pickle_version: int = DEFAULT_PICKLE_VERSION) -> None:
        self.pickle_version = pickle_version
        self._serialize_func = get_python_memcache_serializer(pickle_version)

    def serialize(self, key: Any, value: Any) -> tuple[Any, int]:
        return self._serialize_func(key, value)

    def deserialize(self, key: Any, value: bytes, flags: int) -> Any:
        return python_memcache_deserializer(key, value, flags)


pickle_serde = PickleSerde()


class CompressedSerde:
    """Another serde's output, compressed when longer than ``min_compress_len``
    bytes (0 = never) and kept compressed unless that made it larger."""

    def __init__(
        self,
        compress: Callable[[bytes], bytes] = zlib.compress,
        decompress: Callable[[bytes], bytes] = zlib.decompress,
        serde: Any = pickle_serde,
        min_compress_len: int = 400,
    ) -> None:
        self._serde = serde
        self._compress = compress
        self._decompress = decompress
        self._min_compress_len = min_compress_len

    def serialize(self, key: Any, value: Any) -> tuple[Any, int]:
        data, flags = self._serde.serialize(key, value)
        if len(data) > self._min_compress_len > 0:
            compressed = self._compress(data)
            if len(compressed) <= len(data):
                return compressed, flags | FLAG_COMPRESSED
        return data, flags

    def deserialize(self, key: Any, value: bytes, flags: int) -> Any:
        if flags & FLAG_COMPRESSED:
            value = self._decompress(value)
        return self._serde.deserialize(key, value, flags)


compressed_serde = CompressedSerde()


class LegacyWrappingSerde:
    """A serde from pymemcache's older ``serializer`` / ``deserializer``
    functions; a missing one passes values through with flags 0."""

    def __init__(
        self,
        serializer_func: Callable[[Any, Any], tuple[Any, int]] | None,
        deserializer_func: Callable[[Any, bytes, int], Any] | None,
    ) -> None:
        self.serialize = serializer_func or self._default_serialize
        self.deserialize = deserializer_func or self._default_deserialize

    def _default_serialize(self, key: Any, value: Any) -> tuple[Any, int]:
        return value, 0

    def _default_deserialize(self, key: Any, value: bytes, flags: int) -> Any:
        return value


__all__ = [
    "DEFAULT_PICKLE_VERSION",
    "FLAG_BYTES",
    "FLAG_COMPRESSED",
    "FLAG_INTEGER",
    "FLAG_LONG",
    "FLAG_PICKLE",
    "FLAG_TEXT",
    "CompressedSerde",
    "LegacyWrappingSerde",
    "PickleSerde",
    "compressed_serde",
    "get_python_memcache_serializer",
    "pickle_serde",
    "python_memcache_deserializer",
    "python_memcache_serializer",
]
