# SPDX-License-Identifier: MIT
"""fastmc.compat.pylibmc.autoconf.elasticache against a scripted
configuration endpoint (the nodes it lists are real memcached servers).

pylibmc 1.6.3's own elasticache() cannot be run side by side: it sends
``config get b'cluster'`` (the bytes' repr), and its reply parser, given a
correct key, waits for more data after a complete reply. These tests check
the documented result instead: a Client over the listed nodes, the legacy
``get AmazonElastiCache:cluster`` on old engines, and NoAutoconfFound when
there is no configuration.
"""

from __future__ import annotations

import pytest
from scripted_server import Expect, Reply

import fastmc
from fastmc.compat.pylibmc import Client, autoconf

REQUEST = b"config get cluster\r\n"
LEGACY_REQUEST = b"get AmazonElastiCache:cluster\r\n"


def config_data(servers) -> bytes:
    nodes = " ".join(
        f"node{index}.cache.example|{server.host}|{server.port}"
        for index, server in enumerate(servers)
    )
    return f"12\n{nodes}\n".encode()


def endpoint_listing(scripted_server, servers):
    """A configuration endpoint that lists `servers` once."""
    data = config_data(servers)
    return scripted_server(
        [Expect(REQUEST), Reply(b"CONFIG cluster 0 %d\r\n%s\r\nEND\r\n" % (len(data), data))]
    )


def test_elasticache_lists_the_nodes(scripted_server, memcached_cluster_factory):
    cluster = memcached_cluster_factory(2)
    endpoint = endpoint_listing(scripted_server, cluster.servers)
    mc = autoconf.elasticache(endpoint.address)
    assert isinstance(mc, Client)
    assert mc.addresses == cluster.addresses
    keys = [f"key{i}" for i in range(40)]
    assert mc.set_multi({key: [key] for key in keys}) == []
    assert mc.get_multi(keys) == {key: [key] for key in keys}
    # pylibmc's placement (modula over the listed nodes) and encoding.
    for key in keys:
        with fastmc.Client(mc.server_for_key(key), value_scheme="pylibmc") as node:
            assert node.get(key) == [key]
    assert mc.discovered_config_version == 12


def test_elasticache_on_an_old_engine(scripted_server, memcached_cluster_factory):
    cluster = memcached_cluster_factory(1)
    data = config_data(cluster.servers)
    endpoint = scripted_server(
        [
            Expect(REQUEST),
            Reply(b"ERROR\r\n"),
            Expect(LEGACY_REQUEST),
            Reply(b"VALUE AmazonElastiCache:cluster 0 %d\r\n%s\r\nEND\r\n" % (len(data), data)),
        ]
    )
    mc = autoconf.elasticache(endpoint.address)
    assert mc.addresses == cluster.addresses


def test_no_configuration_raises_no_autoconf_found(scripted_server):
    endpoint = scripted_server(
        [Expect(REQUEST), Reply(b"ERROR\r\n"), Expect(LEGACY_REQUEST), Reply(b"END\r\n")]
    )
    with pytest.raises(autoconf.NoAutoconfFound):
        autoconf.elasticache(endpoint.address)


def test_other_configuration_keys_are_unsupported():
    with pytest.raises(autoconf.UnsupportedAutoconfMethod):
        autoconf.elasticache("127.0.0.1:1", config_key=b"other")


def test_clone_of_a_discovered_client(scripted_server, memcached_cluster_factory):
    cluster = memcached_cluster_factory(2)
    endpoint = endpoint_listing(scripted_server, cluster.servers)
    mc = autoconf.elasticache(endpoint.address)
    clone = mc.clone()
    assert clone.addresses == mc.addresses == cluster.addresses
    assert clone.set("k", 1) and mc.get("k") == 1
