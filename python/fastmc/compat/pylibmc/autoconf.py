# SPDX-License-Identifier: MIT
"""pylibmc.autoconf: a Client for an AWS ElastiCache cluster.

``elasticache(address, config_key, mc_key)`` asks the cluster's
configuration endpoint for its nodes and returns a Client over them. The
asking is the native client's ElastiCache discovery (``config get cluster``,
or ``get AmazonElastiCache:cluster`` on engines before 1.4.14); as with
pylibmc the list is read once, not refreshed.
"""

from __future__ import annotations

from fastmc.compat.pylibmc.client import Client


class UnsupportedAutoconfMethod(Exception):
    """The endpoint does not answer ``config get``."""


class NoAutoconfFound(Exception):
    """The endpoint gave no cluster configuration."""


DEFAULT_CONFIG_KEY = b"cluster"
DEFAULT_MC_KEY = "AmazonElastiCache:cluster"


def elasticache(
    address: str = "127.0.0.1:11211",
    config_key: bytes | str = DEFAULT_CONFIG_KEY,
    mc_key: str = DEFAULT_MC_KEY,
) -> Client:
    """A Client over the nodes the configuration endpoint at `address`
    ("host:port") lists. Raises NoAutoconfFound when it lists none or cannot
    be asked. Only ElastiCache's own keys are supported (config_key
    "cluster", mc_key "AmazonElastiCache:cluster")."""
    if isinstance(config_key, bytes):
        config_key = config_key.decode()
    if config_key != DEFAULT_CONFIG_KEY.decode() or mc_key != DEFAULT_MC_KEY:
        raise UnsupportedAutoconfMethod(
            "fastmc reads ElastiCache's own configuration keys only "
            f"({DEFAULT_CONFIG_KEY.decode()!r}, {DEFAULT_MC_KEY!r})"
        )
    try:
        return Client([], _configuration_endpoint=address)
    except RuntimeError as error:
        raise NoAutoconfFound(str(error)) from error
