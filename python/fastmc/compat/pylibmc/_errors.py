# SPDX-License-Identifier: MIT
"""pylibmc's exception classes, and which one each fastmc failure raises.

pylibmc defines these in its C module (``_pylibmc``): ``Error`` and one
subclass per libmemcached return code, each with that code as ``retcode``
(``Error`` and ``CacheMiss`` have none). The same names, hierarchy and codes
are defined here, and ``ERROR_CLASSES`` hands them to the native client so it
raises them directly. Every instance also carries fastmc's ``server`` and
``cause`` (see fastmc.errors).
"""

from __future__ import annotations

import builtins


class Error(Exception):
    """Base class of every pylibmc error (``pylibmc.MemcachedError`` too)."""

    def __init__(self, *args: object, server: str | None = None, cause: str | None = None):
        super().__init__(*args)
        self.server = server
        self.cause = cause


MemcachedError = Error
Error.__module__ = __package__


def _error_class(name: str, retcode: int, *extra_bases: type) -> type[Error]:
    cls = type(name, (Error, *extra_bases), {"retcode": retcode, "__module__": __package__})
    cls.__doc__ = f"libmemcached return code {retcode}."
    return cls


class CacheMiss(Error):
    """Raised by a ``deserialize`` override to make the value read as a miss."""


CacheMiss.__module__ = __package__


# (name, libmemcached return code), in pylibmc's order (its `exceptions` list).
_CODES = (
    ("Failure", 1),
    ("HostLookupError", 2),
    ("ConnectionError", 3),
    ("ConnectionBindError", 4),
    ("WriteError", 5),
    ("ReadError", 6),
    ("UnknownReadFailure", 7),
    ("ProtocolError", 8),
    ("ClientError", 9),
    ("ServerError", 10),
    ("SocketCreateError", 11),
    ("DataExists", 12),
    ("DataDoesNotExist", 13),
    ("NotFound", 16),
    ("AllocationError", 17),
    ("SomeErrors", 19),
    ("NoServers", 20),
    ("UnixSocketError", 27),
    ("NotSupportedError", 28),
    ("FetchNotFinished", 30),
    ("BadKeyProvided", 33),
    ("InvalidHostProtocolError", 34),
    ("ServerDead", 35),
    ("ServerDown", 47),
    ("TooBig", 37),
    ("UnknownStatKey", 36),
)

# A bad key is refused before anything is sent; pylibmc raises ValueError for
# an over-long key and BadKeyProvided for a bad one under verify_keys, so the
# class is both.
_classes = {
    name: _error_class(name, code, *((builtins.ValueError,) if name == "BadKeyProvided" else ()))
    for name, code in _CODES
}
Failure = _classes["Failure"]
HostLookupError = _classes["HostLookupError"]
ConnectionError = _classes["ConnectionError"]
ConnectionBindError = _classes["ConnectionBindError"]
WriteError = _classes["WriteError"]
ReadError = _classes["ReadError"]
UnknownReadFailure = _classes["UnknownReadFailure"]
ProtocolError = _classes["ProtocolError"]
ClientError = _classes["ClientError"]
ServerError = _classes["ServerError"]
SocketCreateError = _classes["SocketCreateError"]
DataExists = _classes["DataExists"]
DataDoesNotExist = _classes["DataDoesNotExist"]
NotFound = _classes["NotFound"]
AllocationError = _classes["AllocationError"]
SomeErrors = _classes["SomeErrors"]
NoServers = _classes["NoServers"]
UnixSocketError = _classes["UnixSocketError"]
NotSupportedError = _classes["NotSupportedError"]
FetchNotFinished = _classes["FetchNotFinished"]
BadKeyProvided = _classes["BadKeyProvided"]
InvalidHostProtocolError = _classes["InvalidHostProtocolError"]
ServerDead = _classes["ServerDead"]
ServerDown = _classes["ServerDown"]
TooBig = _classes["TooBig"]
UnknownStatKey = _classes["UnknownStatKey"]

# pylibmc's `exceptions`: (name, class) for every class, Error first.
exceptions = [("Error", Error), ("CacheMiss", CacheMiss)] + [
    (name, _classes[name]) for name, _ in _CODES
]


class InvalidArgument(builtins.ValueError):
    """An argument out of range (a negative delta, a bad compress_level):
    pylibmc raises the built-in ValueError there, and so does this, with
    fastmc's ``server`` and ``cause`` as well."""

    def __init__(self, *args: object, server: str | None = None, cause: str | None = None):
        super().__init__(*args)
        self.server = server
        self.cause = cause


InvalidArgument.__name__ = InvalidArgument.__qualname__ = "ValueError"


# fastmc cause (fastmc.errors.CAUSES) -> the class pylibmc raises in that
# situation (tests/python/compat/test_pylibmc_errors.py runs both).
ERROR_CLASSES: dict[str, type[BaseException]] = {
    "connect_failed": ConnectionError,  # libmemcached CONNECTION_FAILURE
    "connect_timeout": Error,  # libmemcached TIMEOUT has no class of its own
    "timed_out": Error,
    "connection_closed": ConnectionError,
    "protocol_error": ProtocolError,
    "server_error": ServerError,
    "client_error": ClientError,
    "invalid_key": BadKeyProvided,
    "invalid_argument": InvalidArgument,
    "value_too_large": TooBig,
    "no_servers": NoServers,
    "server_down": ServerDown,  # "SERVER HAS FAILED AND IS DISABLED UNTIL TIMED RETRY"
    # Paused after a failure below remove_failed: libmemcached's temporary
    # disable, ServerDown even where an ejected server is ServerDead.
    "server_paused": ServerDown,
    "auth_failed": Error,  # libmemcached AUTH_FAILURE has no class of its own
    "tls_failed": Error,
    "decode_error": Error,  # "unknown memcached key flags", "Failed to decompress value"
}

# With remove_failed / auto_eject libmemcached reports a server it took out
# as dead rather than down.
EJECTING_ERROR_CLASSES = {**ERROR_CLASSES, "server_down": ServerDead}
