# SPDX-License-Identifier: MIT
"""Key placement is identical to the peer clients': 5 real memcached servers.

For each distribution, the real peer (installed from PyPI, a test-only
dependency) writes 10,000 keys; each server is then read directly to learn
where every key landed, and fastmc must name the same server for every key.
Also with weights, with aliases, and with one server removed.
"""

from __future__ import annotations

import memcache
import pylibmc
import pytest
from libmc import Client as LibmcClient
from pymemcache.client.hash import HashClient

import fastmc

KEY_COUNT = 10_000
KEYS = [f"user:{i}:profile" for i in range(KEY_COUNT - 3)] + ["a", "Z" * 250, "k-ÿ"]
VALUE = b"v"


@pytest.fixture(scope="module")
def cluster():
    from fastmc.testing import MemcachedCluster

    with MemcachedCluster(5) as servers:
        yield servers


def assert_same_placement(addresses, peer_write, client: fastmc.Client) -> None:
    assert_same_placement_for(addresses, peer_write, client, KEYS)


def tcp(address: str) -> tuple[str, int]:
    host, port = address.rsplit(":", 1)
    return host, int(port)


@pytest.mark.parametrize("servers_used", [5, 4], ids=["five_servers", "one_removed"])
@pytest.mark.parametrize(
    ("behaviors", "distribution", "hash"),
    [
        ({}, "modula", ""),
        ({"hash": "md5"}, "modula", "md5"),
        ({"hash": "crc"}, "modula", "crc"),
        ({"ketama": True}, "ketama", ""),
        ({"ketama": True, "hash": "md5"}, "ketama", "md5"),
        ({"ketama_weighted": True}, "ketama_weighted", ""),
        ({"distribution": "consistent ketama spy"}, "ketama_spy", ""),
    ],
    ids=["modula", "modula_md5", "modula_crc", "ketama", "ketama_md5", "ketama_weighted", "spy"],
)
def test_pylibmc_placement(cluster, servers_used, behaviors, distribution, hash):
    addresses = cluster.addresses[:servers_used]
    peer = pylibmc.Client(addresses, behaviors=behaviors)
    ours = fastmc.Client(addresses, distribution=distribution, hash=hash)
    assert_same_placement(addresses, lambda: peer.set_multi(dict.fromkeys(KEYS, VALUE)), ours)


def test_pylibmc_weighted_placement(cluster):
    weights = [1, 2, 3, 1, 5]
    weighted = [
        f"{address}:{weight}" for address, weight in zip(cluster.addresses, weights, strict=True)
    ]
    peer = pylibmc.Client(weighted, behaviors={"ketama_weighted": True})
    ours = fastmc.Client(weighted, distribution="ketama_weighted")
    assert_same_placement(
        cluster.addresses, lambda: peer.set_multi(dict.fromkeys(KEYS, VALUE)), ours
    )


@pytest.mark.parametrize("servers_used", [5, 4], ids=["five_servers", "one_removed"])
@pytest.mark.parametrize("aliases", [False, True], ids=["host_port", "aliases"])
def test_libmc_placement(cluster, servers_used, aliases):
    addresses = cluster.addresses[:servers_used]
    specs = [f"{a} cache-{i}" if aliases else a for i, a in enumerate(addresses)]
    peer = LibmcClient(specs)
    ours = fastmc.Client(specs, distribution="libmc")

    def write():
        assert peer.set_multi(dict.fromkeys(KEYS, VALUE))

    assert_same_placement(addresses, write, ours)


@pytest.mark.parametrize("servers_used", [5, 4], ids=["five_servers", "one_removed"])
def test_pymemcache_hashclient_placement(cluster, servers_used):
    # pymemcache hashes a str key character by character (ord(c) & 0xff), so
    # only ASCII keys hash as their bytes; fastmc.compat.pymemcache feeds
    # the router pymemcache's own form of every key.
    keys = [key for key in KEYS if key.isascii()]
    addresses = cluster.addresses[:servers_used]
    peer = HashClient([tcp(a) for a in addresses], default_noreply=False)
    ours = fastmc.Client(addresses, distribution="rendezvous")

    def write():
        assert peer.set_many(dict.fromkeys(keys, VALUE)) == []

    assert_same_placement_for(addresses, write, ours, keys)


@pytest.mark.parametrize("servers_used", [5, 4], ids=["five_servers", "one_removed"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_python_memcached_placement(cluster, servers_used, weighted):
    addresses = cluster.addresses[:servers_used]
    weights = [1, 2, 3, 1, 5][:servers_used] if weighted else [1] * servers_used
    peer = memcache.Client(list(zip(addresses, weights, strict=True)))
    ours = fastmc.Client(
        [f"{a}:{w}" for a, w in zip(addresses, weights, strict=True)],
        distribution="python_memcached",
    )
    assert_same_placement_for(
        addresses, lambda: peer.set_multi(dict.fromkeys(KEYS, VALUE)), ours, KEYS
    )


def assert_same_placement_for(addresses, peer_write, client, keys) -> None:
    for address in addresses:
        with fastmc.Client(address) as server:
            server.flush_all()
    peer_write()
    placement: dict[str, str] = {}
    for address in addresses:
        with fastmc.Client(address) as server:
            for key in server.get_many(keys):
                placement[key] = address
    missing = [k for k in keys if k not in placement]
    assert missing == [], f"the peer did not store {len(missing)} keys"
    moved = [key for key in keys if client.server_for_key(key) != placement[key]]
    assert moved == [], f"{len(moved)} keys placed differently, first: {moved[:5]}"
