# SPDX-License-Identifier: MIT
"""fastmc: a fast, complete memcached client.

import fastmc
mc = fastmc.Client(["127.0.0.1:11211"])
mc.set("greeting", "hello", ttl=60)
mc.get("greeting")  # -> 'hello'
"""

from typing import TYPE_CHECKING

from fastmc.errors import (
    AuthenticationError,
    ClientError,
    ConnectionError,
    DecodeError,
    Error,
    InvalidArgumentError,
    InvalidKeyError,
    NoServersError,
    ProtocolError,
    ServerError,
    TimeoutError,
    TLSError,
    ValueTooLargeError,
)

__version__ = "0.1.0"

if TYPE_CHECKING:
    from fastmc.client import Client, Counter, Lease, MetaItem, StoreResult

# The result types of the meta calls, loaded with the native extension.
_CLIENT_NAMES = ("Client", "Counter", "Lease", "MetaItem", "StoreResult")


def __getattr__(name: str) -> object:
    # The native extension is imported on first use of Client, so that the
    # pytest plugin and fastmc.testing load without it (fastmc.testing runs
    # memcached for other projects' tests too).
    if name in _CLIENT_NAMES:
        from fastmc import client

        value = getattr(client, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'fastmc' has no attribute {name!r}")


__all__ = [
    "AuthenticationError",
    "Client",
    "ClientError",
    "ConnectionError",
    "Counter",
    "DecodeError",
    "Error",
    "InvalidArgumentError",
    "InvalidKeyError",
    "Lease",
    "MetaItem",
    "NoServersError",
    "ProtocolError",
    "ServerError",
    "StoreResult",
    "TLSError",
    "TimeoutError",
    "ValueTooLargeError",
    "__version__",
]
