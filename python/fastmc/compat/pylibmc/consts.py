# SPDX-License-Identifier: MIT
"""pylibmc's constants: hash and distribution codes, behavior names and
defaults, and BehaviorDict.

The numbers are libmemcached's (what pylibmc reports and accepts); the
native names are fastmc's (docs/routing.md) for the same hash or placement.
The defaults are what ``pylibmc.Client(servers).behaviors`` reports with
pylibmc 1.6.3 over libmemcached 1.0.16.
"""

from __future__ import annotations

from typing import Any

from fastmc.compat.pylibmc import _errors

# pylibmc's name -> libmemcached's code.
hashers = {
    "default": 0,
    "md5": 1,
    "crc": 2,
    "fnv1_64": 3,
    "fnv1a_64": 4,
    "fnv1_32": 5,
    "fnv1a_32": 6,
    "hsieh": 7,
    "murmur": 8,
    "jenkins": 9,
}
hashers_rvs = {code: name for name, code in hashers.items()}

distributions = {
    "modula": 0,
    "consistent": 1,
    "consistent ketama": 2,
    "random": 3,
    "consistent ketama spy": 4,
    "consistent weighted": 5,
    "virtual bucket": 6,
    "consistent max": 7,
}
distributions_rvs = {code: name for name, code in distributions.items()}

# libmemcached's code -> fastmc's `hash` for the same function.
NATIVE_HASHES = {
    0: "one_at_a_time",
    1: "md5",
    2: "crc",
    3: "fnv1_64",
    4: "fnv1a_64",
    5: "fnv1_32",
    6: "fnv1a_32",
    7: "hsieh",
    8: "murmur",
    9: "jenkins",
}

# libmemcached's code -> fastmc's `distribution`; the others (random,
# virtual bucket, consistent max) have no fastmc counterpart.
NATIVE_DISTRIBUTIONS = {
    0: "modula",
    1: "ketama",
    2: "ketama",
    4: "ketama_spy",
    5: "ketama_weighted",
}

MODULA = distributions["modula"]
CONSISTENT_KETAMA = distributions["consistent ketama"]
CONSISTENT_WEIGHTED = distributions["consistent weighted"]

# Every behavior pylibmc knows, in its order, with its default.
DEFAULT_BEHAVIORS: dict[str, Any] = {
    "no_block": 0,
    "tcp_nodelay": 0,
    "tcp_keepalive": 0,
    "hash": "default",
    "ketama_hash": 0,
    "ketama": 0,
    "ketama_weighted": 0,
    "distribution": "modula",
    "cas": 0,
    "buffer_requests": 0,
    "verify_keys": 0,
    "connect_timeout": 4000,  # ms
    "send_timeout": 0,  # µs, 0 = none
    "receive_timeout": 0,  # µs, 0 = none
    "num_replicas": 0,
    "auto_eject": 0,
    "retry_timeout": 2,  # s
    "remove_failed": 5,  # reads as failure_limit
    "failure_limit": 5,
    "_io_msg_watermark": 500,
    "_io_bytes_watermark": 66560,
    "_io_key_prefetch": 0,
    "_hash_with_prefix_key": 0,
    "_noreply": 0,
    "_sort_hosts": 0,
    "_poll_timeout": 5000,  # ms
    "_socket_send_size": 0,
    "_socket_recv_size": 0,
    "dead_timeout": 0,  # s
    "pickle_protocol": -1,
}
all_behaviors = list(DEFAULT_BEHAVIORS)
all_callbacks = ["namespace"]
callback_namespace = 0

server_type_tcp = 1
server_type_udp = 2
server_type_unix = 4

# pylibmc's consts.errors: every exception class.
errors = tuple(cls for _, cls in _errors.exceptions)


class BehaviorDict(dict):
    """The dict ``Client.behaviors`` returns: assigning a key or calling
    update() sets those behaviors on the client as well."""

    def __init__(self, client: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client

    def __setitem__(self, name: str, value: Any) -> None:
        super().__setitem__(name, value)
        self.client.set_behaviors({name: value})

    def update(self, behaviors: Any) -> None:  # type: ignore[override]
        super().update(behaviors)
        self.client.set_behaviors(dict(behaviors))
