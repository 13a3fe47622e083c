# SPDX-License-Identifier: MIT
"""fastmc: a fast, complete memcached client.

    import fastmc
    mc = fastmc.Client(["127.0.0.1:11211"])
    mc.set("greeting", "hello", ttl=60)
    mc.get("greeting")  # -> 'hello'
"""

from fastmc.client import Client
from fastmc.errors import (
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
    ValueTooLargeError,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "ClientError",
    "ConnectionError",
    "DecodeError",
    "Error",
    "InvalidArgumentError",
    "InvalidKeyError",
    "NoServersError",
    "ProtocolError",
    "ServerError",
    "TimeoutError",
    "ValueTooLargeError",
    "__version__",
]
