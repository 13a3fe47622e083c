# SPDX-License-Identifier: MIT
"""libmc's module functions encode_value and decode_value.

The clients never call these: they store and read values through the native
client's "libmc" value scheme (C++, bit-exact with libmc). These are for code
that calls libmc's functions directly (with get_raw/set_raw, say); they follow
libmc 1.4's rules exactly, flags included, until the native layer offers a
client-free entry point (see docs/migration/libmc.md).
"""

from __future__ import annotations

import marshal
import pickle
import warnings
import zlib

_FLAG_PICKLE = 1 << 0
_FLAG_INTEGER = 1 << 1
_FLAG_LONG = 1 << 2
_FLAG_BOOL = 1 << 3
_FLAG_COMPRESS = 1 << 4
_FLAG_MARSHAL = 1 << 5
_PICKLE_PROTOCOL = 2  # libmc pickles and marshals with version 2
_MARSHAL_VERSION = 2


def _serialize(value: object) -> tuple[bytes | None, int]:
    kind = type(value)
    if kind is bytes:
        return value, 0  # type: ignore[return-value]
    if kind is bool:
        return (b"1" if value else b"0"), _FLAG_BOOL
    if kind is int:
        return str(value).encode("ascii"), _FLAG_LONG
    if kind.__module__ == "numpy":
        return pickle.dumps(value, _PICKLE_PROTOCOL), _FLAG_PICKLE
    try:
        return marshal.dumps(value, _MARSHAL_VERSION), _FLAG_MARSHAL
    except Exception:
        pass
    try:
        return pickle.dumps(value, _PICKLE_PROTOCOL), _FLAG_PICKLE
    except Exception as error:
        warnings.warn(
            f"[libmc] encode value failed, err type: {type(error)}, val type: {kind}",
            stacklevel=3,
        )
        return None, 0


def encode_value(val: object, comp_threshold: int) -> tuple[bytes | None, int]:
    """``(bytes, flags)`` as libmc stores ``val``; ``(None, 0)`` (and a
    warning) when neither marshal nor pickle can serialise it. Values longer
    than ``comp_threshold`` bytes (> 0) are zlib-compressed."""
    if not isinstance(comp_threshold, int):
        raise TypeError("an integer is required")
    data, flags = _serialize(val)
    if data is not None and comp_threshold > 0 and len(data) > comp_threshold:
        return zlib.compress(data), flags | _FLAG_COMPRESS
    return data, flags


def _load(loads: object, data: bytes, what: str) -> object:
    """``loads(data)``, or None (and a warning) when the bytes are corrupt, as libmc reads them."""
    try:
        return loads(data)  # type: ignore[operator]
    except Exception as error:  # any failure: the value is corrupt
        warnings.warn(f"[libmc] {what} failed, err type: {type(error)}", stacklevel=3)
        return None


def decode_value(val: bytes, flags: int) -> object:
    """The value libmc reads from ``val`` stored with ``flags``; None when it
    cannot be inflated, unmarshalled or unpickled (with a warning, as libmc)."""
    if not isinstance(val, bytes):
        raise TypeError(
            f"Argument 'val' has incorrect type (expected bytes, got {type(val).__name__})"
        )
    data = val
    if flags & _FLAG_COMPRESS:
        try:
            data = zlib.decompress(val)
        except zlib.error:
            return None
    if flags & _FLAG_BOOL:
        return bool(int(data))
    if flags & (_FLAG_INTEGER | _FLAG_LONG):
        return int(data.decode("ascii"))
    if flags & _FLAG_MARSHAL:
        return _load(marshal.loads, data, "unmarshal")
    if flags & _FLAG_PICKLE:
        return _load(pickle.loads, data, "unpickle")
    return data
