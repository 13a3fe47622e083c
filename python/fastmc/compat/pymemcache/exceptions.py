# SPDX-License-Identifier: MIT
"""pymemcache's exceptions, with its names and hierarchy.

The native client raises these directly (they are passed to it as
``error_classes``), so ``except MemcacheError`` code keeps working. Each also
derives from ``fastmc.Error`` and carries its ``server`` and ``cause``.

Errors the operating system reports (refused or failed connects, timeouts)
stay fastmc's ``ConnectionError`` and ``TimeoutError``, which derive from the
built-in ``ConnectionError`` (an ``OSError``, i.e. ``socket.error``) and
``TimeoutError`` (``socket.timeout``): what pymemcache lets through from its
socket.
"""

from __future__ import annotations

from typing import Any

from fastmc import errors


class MemcacheError(errors.Error):
    "Base exception class"

    def __init__(self, *args: Any, server: str | None = None, cause: str | None = None) -> None:
        # pymemcache raises these with any positional arguments (or none).
        Exception.__init__(self, *args)
        self.server = server
        self.cause = cause


class MemcacheClientError(MemcacheError):
    """The server could not parse the request: a malformed key or value."""


class MemcacheUnknownCommandError(MemcacheClientError):
    """The server did not know the command (it answered ERROR)."""


class MemcacheIllegalInputError(MemcacheClientError):
    """A key or value is not legal for memcached; nothing was sent."""


class MemcacheServerError(MemcacheError):
    """The server failed to process the request (SERVER_ERROR)."""


class MemcacheUnknownError(MemcacheError):
    """The server's reply could not be parsed."""


class MemcacheUnexpectedCloseError(MemcacheServerError):
    "Raised when the connection with memcached closes unexpectedly."


class _ServersDownError(MemcacheError, errors.ConnectionError):
    """HashClient has no live server for the key: pymemcache raises
    MemcacheError("All servers seem to be down right now") there; this is
    also the ConnectionError (an OSError) fastmc raises for a down server."""


# fastmc's failure causes (fastmc.errors.CAUSES) -> the class pymemcache raises
# for the same failure. Causes not named here keep fastmc's class: the OS-level
# ones (connect failures, timeouts), which pymemcache lets through from its socket.
ERROR_CLASSES: dict[str, type[BaseException]] = {
    **errors.CAUSES,
    "connection_closed": MemcacheUnexpectedCloseError,
    "protocol_error": MemcacheUnknownError,
    "server_error": MemcacheServerError,
    "client_error": MemcacheClientError,
    "invalid_key": MemcacheIllegalInputError,
    "invalid_argument": MemcacheIllegalInputError,
    # pymemcache sends it, and memcached answers SERVER_ERROR object too large.
    "value_too_large": MemcacheServerError,
    "no_servers": MemcacheError,
    "decode_error": MemcacheUnknownError,
}

__all__ = [
    "MemcacheClientError",
    "MemcacheError",
    "MemcacheIllegalInputError",
    "MemcacheServerError",
    "MemcacheUnexpectedCloseError",
    "MemcacheUnknownCommandError",
    "MemcacheUnknownError",
]

# HashClient: a down server's keys fail over, so "server_down" means every
# server is out.
HASH_CLIENT_ERROR_CLASSES: dict[str, type[BaseException]] = {
    **ERROR_CLASSES,
    "server_down": _ServersDownError,
}
