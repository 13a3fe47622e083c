# SPDX-License-Identifier: MIT
"""Drop-in for libmc: ``import fastmc.compat.libmc as libmc``.

The same classes, constants and module functions as libmc 1.4, over the
native client configured as libmc is (continuum, hashes, aliases, value
encoding, split values, error codes). Differences and their reasons:
docs/migration/libmc.md.
"""

from __future__ import annotations

import os

from fastmc import _native
from fastmc.compat.libmc.client import Client, ClientUnsafe, ThreadedClient, ThreadUnsafe
from fastmc.compat.libmc.constants import (
    MC_CONNECT_TIMEOUT,
    MC_DEFAULT_EXPTIME,
    MC_HASH_CRC_32,
    MC_HASH_FNV1_32,
    MC_HASH_FNV1A_32,
    MC_HASH_MD5,
    MC_INITIAL_CLIENTS,
    MC_MAX_CLIENTS,
    MC_MAX_GROWTH,
    MC_POLL_TIMEOUT,
    MC_RETRY_TIMEOUT,
    MC_RETURN_CONN_POLL_ERR,
    MC_RETURN_INCOMPLETE_BUFFER_ERR,
    MC_RETURN_INVALID_KEY_ERR,
    MC_RETURN_MC_SERVER_ERR,
    MC_RETURN_OK,
    MC_RETURN_POLL_ERR,
    MC_RETURN_POLL_TIMEOUT_ERR,
    MC_RETURN_PROGRAMMING_ERR,
    MC_RETURN_RECV_ERR,
    MC_RETURN_SEND_ERR,
    MC_SET_FAILOVER,
)
from fastmc.compat.libmc.pool import ClientPool
from fastmc.compat.libmc.values import decode_value, encode_value

# The libmc release whose behaviour this module reproduces.
__version__ = "1.4.17"
__VERSION__ = __version__

# libmc lists its extension for greenify; fastmc's I/O is in its native module.
DYNAMIC_LIBRARIES = [os.path.abspath(_native.__file__)]

__all__ = [
    "DYNAMIC_LIBRARIES",
    "MC_CONNECT_TIMEOUT",
    "MC_DEFAULT_EXPTIME",
    "MC_HASH_CRC_32",
    "MC_HASH_FNV1A_32",
    "MC_HASH_FNV1_32",
    "MC_HASH_MD5",
    "MC_INITIAL_CLIENTS",
    "MC_MAX_CLIENTS",
    "MC_MAX_GROWTH",
    "MC_POLL_TIMEOUT",
    "MC_RETRY_TIMEOUT",
    "MC_RETURN_CONN_POLL_ERR",
    "MC_RETURN_INCOMPLETE_BUFFER_ERR",
    "MC_RETURN_INVALID_KEY_ERR",
    "MC_RETURN_MC_SERVER_ERR",
    "MC_RETURN_OK",
    "MC_RETURN_POLL_ERR",
    "MC_RETURN_POLL_TIMEOUT_ERR",
    "MC_RETURN_PROGRAMMING_ERR",
    "MC_RETURN_RECV_ERR",
    "MC_RETURN_SEND_ERR",
    "MC_SET_FAILOVER",
    "__VERSION__",
    "Client",
    "ClientPool",
    "ClientUnsafe",
    "ThreadUnsafe",
    "ThreadedClient",
    "decode_value",
    "encode_value",
]
