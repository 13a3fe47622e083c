# SPDX-License-Identifier: MIT
"""A drop-in for pymemcache: ``import fastmc.compat.pymemcache as pymemcache``.

The module paths mirror pymemcache's (``client.base``, ``client.hash``,
``client.retrying``, ``client.rendezvous``, ``client.murmur3``, ``serde``,
``exceptions``, ``fallback``, ``pool``, ``test.utils``), so changing the import
line is the whole migration: docs/migration/pymemcache.md lists every
difference.
"""

from fastmc.compat.pymemcache.client.base import Client, KeepaliveOpts, PooledClient
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

__version__ = "4.0.0"

__all__ = [
    "Client",
    "HashClient",
    "KeepaliveOpts",
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
