# SPDX-License-Identifier: MIT
"""libmc's module constants, with libmc 1.4's values (libmc/_client.pyx).

The MC_* option numbers are what ``Client.config(option, value)`` takes, the
MC_HASH_* numbers what ``hash_fn`` takes, and the MC_RETURN_* codes what
``get_last_error()`` returns.
"""

from __future__ import annotations

MC_DEFAULT_EXPTIME = 0

# config() options.
MC_POLL_TIMEOUT = 0  # milliseconds; fastmc bounds each whole call with it
MC_CONNECT_TIMEOUT = 1  # milliseconds
MC_RETRY_TIMEOUT = 2  # seconds a failed server is left alone
MC_SET_FAILOVER = 5  # true: a failed server's keys go to the next server on the continuum
MC_INITIAL_CLIENTS = 7  # ClientPool sizing; see docs/migration/libmc.md
MC_MAX_CLIENTS = 8
MC_MAX_GROWTH = 9

# hash_fn values.
MC_HASH_MD5 = 0
MC_HASH_FNV1_32 = 1
MC_HASH_FNV1A_32 = 2
MC_HASH_CRC_32 = 3

# get_last_error() codes.
MC_RETURN_SEND_ERR = -9
MC_RETURN_RECV_ERR = -8
MC_RETURN_CONN_POLL_ERR = -7
MC_RETURN_POLL_TIMEOUT_ERR = -6
MC_RETURN_POLL_ERR = -5
MC_RETURN_MC_SERVER_ERR = -4
MC_RETURN_PROGRAMMING_ERR = -3
MC_RETURN_INVALID_KEY_ERR = -2
MC_RETURN_INCOMPLETE_BUFFER_ERR = -1
MC_RETURN_OK = 0

# get_last_strerror() texts, libmc's own.
RETURN_CODE_NAMES = {
    MC_RETURN_SEND_ERR: "send_error",
    MC_RETURN_RECV_ERR: "recv_error",
    MC_RETURN_CONN_POLL_ERR: "conn_poll_error",
    MC_RETURN_POLL_TIMEOUT_ERR: "poll_timeout_error",
    MC_RETURN_POLL_ERR: "poll_error",
    MC_RETURN_MC_SERVER_ERR: "server_error",
    MC_RETURN_PROGRAMMING_ERR: "programming_error",
    MC_RETURN_INVALID_KEY_ERR: "invalid_key_error",
    MC_RETURN_INCOMPLETE_BUFFER_ERR: "incomplete_buffer_error",
    MC_RETURN_OK: "ok",
}

# What each fastmc failure cause (fastmc.errors.CAUSES) reports as, the
# closest code libmc gives for the same event on a real server: a refused
# connect or a server left down after a failure is libmc's "server_error",
# a reset mid-reply its "recv_error", a CLIENT_ERROR or ERROR reply its
# "programming_error".
CAUSE_CODES = {
    "connect_failed": MC_RETURN_MC_SERVER_ERR,
    "connect_timeout": MC_RETURN_CONN_POLL_ERR,
    "timed_out": MC_RETURN_POLL_TIMEOUT_ERR,
    "connection_closed": MC_RETURN_RECV_ERR,
    "protocol_error": MC_RETURN_PROGRAMMING_ERR,
    "server_error": MC_RETURN_MC_SERVER_ERR,
    "client_error": MC_RETURN_PROGRAMMING_ERR,
    "invalid_key": MC_RETURN_INVALID_KEY_ERR,
    "value_too_large": MC_RETURN_MC_SERVER_ERR,
    "no_servers": MC_RETURN_MC_SERVER_ERR,
    "server_down": MC_RETURN_MC_SERVER_ERR,
    "server_paused": MC_RETURN_MC_SERVER_ERR,
    "auth_failed": MC_RETURN_MC_SERVER_ERR,
    "tls_failed": MC_RETURN_MC_SERVER_ERR,
}

HASH_NAMES = {
    MC_HASH_MD5: "md5",
    MC_HASH_FNV1_32: "libmc_fnv1_32",
    MC_HASH_FNV1A_32: "libmc_fnv1a_32",
    MC_HASH_CRC_32: "crc32",
}
