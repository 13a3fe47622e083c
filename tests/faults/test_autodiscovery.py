# SPDX-License-Identifier: MIT
"""AWS ElastiCache autodiscovery against a scripted configuration endpoint.

The scripted fake server plays the cluster's configuration endpoint (it
answers ``config get cluster``, or ``get AmazonElastiCache:cluster`` after
ERROR, as an engine before 1.4.14 does); the nodes it lists are real
memcached servers, so keys stored through the client are checked on them.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence

import pytest
from scripted_server import Close, Expect, Reply

import fastmc

REQUEST = b"config get cluster\r\n"
LEGACY_REQUEST = b"get AmazonElastiCache:cluster\r\n"
INTERVAL = 0.2


def payload(version: int, servers: Sequence) -> bytes:
    nodes = " ".join(
        f"node{index}.cache.example|{server.host}|{server.port}"
        for index, server in enumerate(servers)
    )
    return f"{version}\n{nodes}\n".encode()


def config_reply(version: int, servers: Sequence) -> bytes:
    data = payload(version, servers)
    return b"CONFIG cluster 0 %d\r\n%s\r\nEND\r\n" % (len(data), data)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def stored_on(server, key: str) -> bool:
    with fastmc.Client(server.address) as direct:
        return direct.get(key) is not None


def test_construction_discovers_the_nodes(scripted_server, memcached_cluster_factory):
    cluster = memcached_cluster_factory(2)
    endpoint = scripted_server([Expect(REQUEST), Reply(config_reply(5, cluster.servers))])
    mc = fastmc.Client(configuration_endpoint=endpoint.address, discovery_interval=0)
    assert mc.servers == cluster.addresses
    assert mc.discovered_config_version == 5
    keys = [f"key{i}" for i in range(20)]
    assert mc.set_many({key: b"v" for key in keys}) == []
    by_address = {server.address: server for server in cluster.servers}
    for key in keys:
        assert stored_on(by_address[mc.server_for_key(key)], key)
    assert {mc.server_for_key(key) for key in keys} == set(cluster.addresses)


@pytest.mark.parametrize(
    ("ip", "use_ip", "expected"),
    [
        ("10.0.0.1", True, "10.0.0.1"),
        ("10.0.0.1", False, "node.example"),
        ("", True, "node.example"),
    ],
)
def test_servers_are_named_by_ip_or_host(scripted_server, ip, use_ip, expected):
    data = f"1\nnode.example|{ip}|11311\n".encode()
    endpoint = scripted_server(
        [Expect(REQUEST), Reply(b"CONFIG cluster 0 %d\r\n%s\r\nEND\r\n" % (len(data), data))]
    )
    mc = fastmc.Client(
        configuration_endpoint=endpoint.address, discovery_interval=0, discovery_use_ip=use_ip
    )
    assert mc.servers == [f"{expected}:11311"]


def test_a_new_version_replaces_the_servers_within_the_interval(
    scripted_server, memcached_cluster_factory
):
    cluster = memcached_cluster_factory(3)
    first, grown = cluster.servers[:2], cluster.servers
    endpoint = scripted_server(
        [
            Expect(REQUEST),
            Reply(config_reply(1, first)),
            Expect(REQUEST),
            Reply(config_reply(2, grown)),
            Close(),
        ],
        [Expect(REQUEST), Reply(config_reply(2, grown)), Close()],
        repeat_last=True,
    )
    mc = fastmc.Client(configuration_endpoint=endpoint.address, discovery_interval=INTERVAL)
    assert mc.servers == [server.address for server in first]
    keys = [f"key{i}" for i in range(30)]
    assert mc.set_many({key: b"old" for key in keys}) == []

    assert wait_for(lambda: mc.discovered_config_version == 2)
    assert mc.servers == cluster.addresses
    newcomer = cluster.servers[2]
    moved = [key for key in keys if mc.server_for_key(key) == newcomer.address]
    assert moved, "modula over three servers sends some keys to the new one"
    for key in moved:
        assert mc.get(key) is None  # the new node does not have it yet
        assert mc.set(key, b"new")
        assert stored_on(newcomer, key)
    assert mc.discovery_failure_count == 0


def test_the_same_version_again_changes_nothing(scripted_server, memcached_cluster_factory):
    cluster = memcached_cluster_factory(2)
    one, other = cluster.servers[:1], cluster.servers[1:]
    endpoint = scripted_server(
        [
            Expect(REQUEST),
            Reply(config_reply(1, one)),
            Expect(REQUEST),
            Reply(config_reply(1, other)),
            Close(),
        ],
        [Expect(REQUEST), Reply(config_reply(1, other)), Close()],
        repeat_last=True,
    )
    mc = fastmc.Client(configuration_endpoint=endpoint.address, discovery_interval=INTERVAL)
    # Three connections: the first poll's and two more, so several polls answered.
    assert endpoint.wait_for_connections(3)
    assert mc.servers == [one[0].address]
    assert mc.discovered_config_version == 1
    assert mc.discovery_failure_count == 0


def test_an_old_engine_is_asked_with_the_legacy_get(scripted_server, memcached):
    data = payload(3, [memcached])
    endpoint = scripted_server(
        [
            Expect(REQUEST),
            Reply(b"ERROR\r\n"),
            Expect(LEGACY_REQUEST),
            Reply(b"VALUE AmazonElastiCache:cluster 0 %d\r\n%s\r\nEND\r\n" % (len(data), data)),
        ]
    )
    mc = fastmc.Client(configuration_endpoint=endpoint.address, discovery_interval=0)
    assert mc.servers == [memcached.address]
    assert mc.discovered_config_version == 3
    assert mc.set("k", b"v")
    assert stored_on(memcached, "k")


@pytest.mark.parametrize(
    "data",
    [b"1\nnode|127.0.0.1|0\n", b"x\nnode|127.0.0.1|11211\n", b"1\n\n", b"1\nnode|127.0.0.1\n"],
)
def test_a_malformed_configuration_raises_naming_the_endpoint(scripted_server, data):
    endpoint = scripted_server(
        [Expect(REQUEST), Reply(b"CONFIG cluster 0 %d\r\n%s\r\nEND\r\n" % (len(data), data))]
    )
    with pytest.raises(RuntimeError, match=f"configuration endpoint {endpoint.address}"):
        fastmc.Client(configuration_endpoint=endpoint.address)


def test_an_endpoint_that_is_down_raises_naming_it():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    with pytest.raises(RuntimeError, match=f"{address} failed: connect"):
        fastmc.Client(configuration_endpoint=address, connect_timeout=0.5)


def test_servers_are_needed_without_an_endpoint():
    with pytest.raises(ValueError):
        fastmc.Client()


def test_an_endpoint_that_goes_away_leaves_the_last_list(scripted_server, memcached):
    endpoint = scripted_server([Expect(REQUEST), Reply(config_reply(1, [memcached]))])
    mc = fastmc.Client(
        configuration_endpoint=endpoint.address, discovery_interval=INTERVAL, timeout=0.5
    )
    endpoint.close()
    assert wait_for(lambda: mc.discovery_failure_count >= 2)
    assert mc.discovery_last_error
    assert mc.servers == [memcached.address]
    assert mc.discovered_config_version == 1
    assert mc.set("k", b"still here")
    assert mc.get("k") == b"still here"
