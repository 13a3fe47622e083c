# SPDX-License-Identifier: MIT
"""libmc's module functions encode_value and decode_value.

Both run the native "libmc" value scheme (C++, bit-exact with libmc: the
same code the clients use) without a client; this module only reproduces
libmc's answers when a value cannot be encoded or decoded.
"""

from __future__ import annotations

import warnings

from fastmc import _native

_SCHEME = "libmc"
_FLAG_PICKLE = 1 << 0
_FLAG_NUMBER = (1 << 1) | (1 << 2) | (1 << 3)  # integer, long, bool
_FLAG_MARSHAL = 1 << 5


def encode_value(val: object, comp_threshold: int) -> tuple[bytes | None, int]:
    """``(bytes, flags)`` as libmc stores ``val``; ``(None, 0)`` (and a
    warning) when neither marshal nor pickle can serialise it. Values longer
    than ``comp_threshold`` bytes (> 0) are zlib-compressed."""
    if not isinstance(comp_threshold, int):
        raise TypeError("an integer is required")
    try:
        return _native.encode_value(val, _SCHEME, max(comp_threshold, 0))
    except Exception as error:  # what pickle raises for what it refuses varies
        warnings.warn(
            f"[libmc] encode value failed, err type: {type(error)}, val type: {type(val)}",
            stacklevel=2,
        )
        return None, 0


def decode_value(val: bytes, flags: int) -> object:
    """The value libmc reads from ``val`` stored with ``flags``: None when it
    cannot be inflated, unmarshalled or unpickled (with a warning, as libmc);
    ValueError for number flags on bytes that are not a number, as libmc."""
    if not isinstance(val, bytes):
        raise TypeError(
            f"Argument 'val' has incorrect type (expected bytes, got {type(val).__name__})"
        )
    try:
        return _native.decode_value(val, flags, _SCHEME)
    except Exception as error:  # a corrupt pickle can raise anything
        if flags & _FLAG_NUMBER or not flags & (_FLAG_MARSHAL | _FLAG_PICKLE):
            raise ValueError(str(error)) from error
        what = "unmarshal" if flags & _FLAG_MARSHAL else "unpickle"
        warnings.warn(f"[libmc] {what} failed, err type: {type(error)}", stacklevel=2)
        return None
