# SPDX-License-Identifier: MIT
"""pymemcache.client for fastmc: the clients, importable as pymemcache's are."""

from fastmc.compat.pymemcache.client.base import Client, PooledClient
from fastmc.compat.pymemcache.client.hash import HashClient
from fastmc.compat.pymemcache.client.retrying import RetryingClient
from fastmc.compat.pymemcache.exceptions import (
    MemcacheClientError,
    MemcacheError,
    MemcacheIllegalInputError,
    MemcacheServerError,
    MemcacheUnexpectedCloseError,
    MemcacheUnknownCommandError,
    MemcacheUnknownError,
)

__all__ = [
    "Client",
    "HashClient",
    "MemcacheClientError",
    "MemcacheError",
    "MemcacheIllegalInputError",
    "MemcacheServerError",
    "MemcacheUnexpectedCloseError",
    "MemcacheUnknownCommandError",
    "MemcacheUnknownError",
    "PooledClient",
    "RetryingClient",
]
