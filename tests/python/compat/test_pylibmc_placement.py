# SPDX-License-Identifier: MIT
"""Keys land on the same server as with pylibmc: 5 real memcached servers.

For each behaviors setting the real pylibmc (a test-only dependency) stores
the keys; every server is then read directly to learn where each key went,
and fastmc.compat.pylibmc, given the same servers and behaviors, must name
that server for every key (server_for_key, and hash() as its index).
"""

from __future__ import annotations

import pylibmc
import pytest

import fastmc
import fastmc.compat.pylibmc as compat

KEYS = [f"user:{i}:profile" for i in range(3000)] + ["a", "Z" * 250, "k-\u00ff", "\u4e2d"]
WEIGHTS = [1, 2, 3, 1, 5]


@pytest.fixture(scope="module")
def cluster():
    from fastmc.testing import MemcachedCluster

    with MemcachedCluster(5) as servers:
        yield servers


def placement(addresses: list[str], write) -> dict[str, str]:
    """Where `write` (the peer storing KEYS) put every key, by server address."""
    for address in addresses:
        with fastmc.Client(address) as server:
            server.flush_all()
    write()
    where: dict[str, str] = {}
    for address in addresses:
        with fastmc.Client(address) as server:
            for key in server.get_many(KEYS):
                where[key] = address
    assert len(where) == len(KEYS), "the peer did not store every key"
    return where


def assert_same_placement(addresses, servers, behaviors, cluster_addresses) -> None:
    peer = pylibmc.Client(servers, behaviors=behaviors)
    ours = compat.Client(servers, behaviors=behaviors)
    expected = placement(cluster_addresses, lambda: peer.set_multi(dict.fromkeys(KEYS, b"v")))
    moved = [key for key in KEYS if ours.server_for_key(key) != expected[key]]
    assert moved == [], f"{len(moved)} keys placed differently, first: {moved[:5]}"
    # hash() is the index of the key's server in the server list, as pylibmc's.
    for key in KEYS[:200]:
        assert ours.servers[ours.hash(key)] == expected[key]
        assert ours.hash(key) == peer.hash(key)
    # And the compat client writes where the peer reads.
    assert ours.set_multi(dict.fromkeys(KEYS[:300], b"w")) == []
    assert peer.get_multi(KEYS[:300]) == dict.fromkeys(KEYS[:300], b"w")
    ours.close()


BEHAVIORS = {
    "modula": {},
    "md5": {"hash": "md5"},
    "crc": {"hash": "crc"},
    "fnv1_32": {"hash": "fnv1_32"},
    "fnv1a_32": {"hash": "fnv1a_32"},
    "fnv1_64": {"hash": "fnv1_64"},
    "fnv1a_64": {"hash": "fnv1a_64"},
    "murmur": {"hash": "murmur"},
    "jenkins": {"hash": "jenkins"},
    "ketama": {"ketama": True},
    "ketama_md5": {"ketama": True, "hash": "md5"},
    "ketama_crc": {"ketama": True, "hash": "crc"},
    "consistent": {"distribution": "consistent"},
    "consistent_ketama_fnv1a_32": {"distribution": "consistent ketama", "hash": "fnv1a_32"},
    "ketama_weighted": {"ketama_weighted": True},
    "spy": {"distribution": "consistent ketama spy"},
    "spy_md5": {"distribution": "consistent ketama spy", "hash": "md5"},
}


@pytest.mark.parametrize("name", list(BEHAVIORS))
def test_placement_on_five_servers(cluster, name):
    addresses = cluster.addresses
    assert_same_placement(addresses, addresses, BEHAVIORS[name], addresses)


@pytest.mark.parametrize("name", ["modula", "ketama", "ketama_weighted", "spy"])
def test_placement_with_one_server_removed(cluster, name):
    addresses = cluster.addresses[:4]
    assert_same_placement(addresses, addresses, BEHAVIORS[name], cluster.addresses)


@pytest.mark.parametrize("name", ["modula", "ketama", "ketama_weighted", "ketama_md5"])
def test_placement_with_weights(cluster, name):
    weighted = [f"{a}:{w}" for a, w in zip(cluster.addresses, WEIGHTS, strict=True)]
    assert_same_placement(cluster.addresses, weighted, BEHAVIORS[name], cluster.addresses)


@pytest.mark.parametrize("name", ["modula", "ketama"])
def test_placement_with_sorted_hosts(cluster, name):
    shuffled = [cluster.addresses[i] for i in (3, 0, 4, 1, 2)]
    behaviors = {**BEHAVIORS[name], "_sort_hosts": True}
    assert_same_placement(cluster.addresses, shuffled, behaviors, cluster.addresses)


def test_behaviors_set_after_construction_move_keys_as_pylibmc(cluster):
    peer = pylibmc.Client(cluster.addresses)
    peer.behaviors = {"ketama": True, "tcp_nodelay": True}
    expected = placement(cluster.addresses, lambda: peer.set_multi(dict.fromkeys(KEYS, b"v")))
    ours = compat.Client(cluster.addresses)
    ours.behaviors = {"ketama": True, "tcp_nodelay": True}
    assert [k for k in KEYS if ours.server_for_key(k) != expected[k]] == []
