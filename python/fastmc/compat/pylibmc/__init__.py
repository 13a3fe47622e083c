# SPDX-License-Identifier: MIT
"""Drop-in for pylibmc: ``import fastmc.compat.pylibmc as pylibmc``.

The same Client (servers, behaviors, binary, username, password), methods,
return values, exceptions (with their ``retcode``), BehaviorDict, pools and
``autoconf.elasticache``, on fastmc's native client: values are stored
exactly as pylibmc stores them and keys land on the same servers, so a fleet
can switch without a cold cache. The differences, and why, are listed in
docs/migration/pylibmc.md.
"""

from fastmc.compat.pylibmc._errors import (
    AllocationError,
    BadKeyProvided,
    CacheMiss,
    ClientError,
    ConnectionBindError,
    ConnectionError,
    DataDoesNotExist,
    DataExists,
    Error,
    Failure,
    FetchNotFinished,
    HostLookupError,
    InvalidHostProtocolError,
    MemcachedError,
    NoServers,
    NotFound,
    NotSupportedError,
    ProtocolError,
    ReadError,
    ServerDead,
    ServerDown,
    ServerError,
    SocketCreateError,
    SomeErrors,
    TooBig,
    UnixSocketError,
    UnknownReadFailure,
    UnknownStatKey,
    WriteError,
    exceptions,
)
from fastmc.compat.pylibmc.client import Client, protocol_for
from fastmc.compat.pylibmc.consts import (
    all_behaviors,
    all_callbacks,
    callback_namespace,
    distributions,
    hashers,
    server_type_tcp,
    server_type_udp,
    server_type_unix,
)
from fastmc.compat.pylibmc.pools import ClientPool, ThreadMappedPool

# The pylibmc release whose API this module reproduces, and the libmemcached
# release whose behavior it reproduces (the one pylibmc 1.6.3's wheels carry).
__version__ = "1.6.3"
libmemcached_version = "1.0.16"
libmemcached_version_hex = 0x01000016

support_compression = True
# SASL needs the binary protocol.
support_sasl = protocol_for(True) == "binary"

# pylibmc's hash_* and distribution_* module constants.
for _name, _code in hashers.items():
    globals()[f"hash_{_name}"] = _code
for _name, _code in distributions.items():
    globals()[f"distribution_{_name.replace(' ', '_')}"] = _code
del _name, _code


def build_info() -> str:
    """What this module is, in pylibmc's build_info() format."""
    return (
        f"pylibmc {__version__} for libmemcached {libmemcached_version} "
        f"(compression={support_compression}, sasl={support_sasl}) on fastmc"
    )


__all__ = [
    "AllocationError",
    "BadKeyProvided",
    "CacheMiss",
    "Client",
    "ClientError",
    "ClientPool",
    "ConnectionBindError",
    "ConnectionError",
    "DataDoesNotExist",
    "DataExists",
    "Error",
    "Failure",
    "FetchNotFinished",
    "HostLookupError",
    "InvalidHostProtocolError",
    "MemcachedError",
    "NoServers",
    "NotFound",
    "NotSupportedError",
    "ProtocolError",
    "ReadError",
    "ServerDead",
    "ServerDown",
    "ServerError",
    "SocketCreateError",
    "SomeErrors",
    "ThreadMappedPool",
    "TooBig",
    "UnixSocketError",
    "UnknownReadFailure",
    "UnknownStatKey",
    "WriteError",
    "all_behaviors",
    "all_callbacks",
    "build_info",
    "callback_namespace",
    "distributions",
    "exceptions",
    "hashers",
    "libmemcached_version",
    "libmemcached_version_hex",
    "server_type_tcp",
    "server_type_udp",
    "server_type_unix",
    "support_compression",
    "support_sasl",
]
