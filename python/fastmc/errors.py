# SPDX-License-Identifier: MIT
"""The exceptions fastmc raises.

Every exception carries ``server`` (``"host:port"`` or the unix path, or ``None``
when no server was involved) and ``cause`` (a short stable name such as
``"timed_out"``). The classes also derive from the matching built-in
exception, so ``except TimeoutError`` and ``except ValueError`` work as
expected.
"""

from __future__ import annotations

import builtins


class Error(Exception):
    """Base class of every fastmc error."""

    def __init__(self, message: str, *, server: str | None = None, cause: str | None = None):
        super().__init__(message)
        self.server = server
        self.cause = cause


class ConnectionError(Error, builtins.ConnectionError):
    """The server could not be reached, or closed or reset the connection."""


class TimeoutError(Error, builtins.TimeoutError):
    """The call did not finish before its deadline (connect or reply)."""


class ServerError(Error):
    """The server answered SERVER_ERROR (out of memory, busy, ...)."""


class ClientError(Error):
    """The server rejected the request (CLIENT_ERROR or ERROR)."""


class ProtocolError(Error):
    """The server's reply was malformed or did not match the request."""


class InvalidArgumentError(ClientError, builtins.ValueError):
    """An argument is out of range: nothing was written to any server."""


class InvalidKeyError(InvalidArgumentError):
    """The key cannot be sent: nothing was written to any server."""


class DecodeError(Error, builtins.ValueError):
    """A stored value cannot be turned back into a Python object: its flags
    name no native type and the client has no serde, or its bytes do not
    match its flags."""


class ValueTooLargeError(Error, builtins.ValueError):
    """The value is larger than the server (or the client's limit) accepts."""


class NoServersError(Error):
    """The client has no server to send the key to."""


class AuthenticationError(Error, builtins.PermissionError):
    """The server refused the credentials (SASL or ASCII auth), or wants some."""


class TLSError(ConnectionError):
    """The TLS handshake failed: an untrusted certificate, a wrong host name,
    or a peer that does not speak TLS."""


# The native module raises by cause name; one table keeps the mapping in one place.
CAUSES: dict[str, type[Error]] = {
    "connect_failed": ConnectionError,
    "connect_timeout": TimeoutError,
    "timed_out": TimeoutError,
    "connection_closed": ConnectionError,
    "protocol_error": ProtocolError,
    "server_error": ServerError,
    "client_error": ClientError,
    "invalid_key": InvalidKeyError,
    "invalid_argument": InvalidArgumentError,
    "value_too_large": ValueTooLargeError,
    "no_servers": NoServersError,
    "server_down": ConnectionError,
    "server_paused": ConnectionError,
    "auth_failed": AuthenticationError,
    "tls_failed": TLSError,
}

__all__ = [
    "AuthenticationError",
    "ClientError",
    "ConnectionError",
    "DecodeError",
    "Error",
    "InvalidArgumentError",
    "InvalidKeyError",
    "NoServersError",
    "ProtocolError",
    "ServerError",
    "TLSError",
    "TimeoutError",
    "ValueTooLargeError",
]
