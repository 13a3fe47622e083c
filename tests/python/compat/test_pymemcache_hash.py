# SPDX-License-Identifier: MIT
"""fastmc.compat.pymemcache's HashClient next to the real pymemcache
HashClient on five real memcached servers: the same key lands on the same
server both ways, writes by either read back through the other, and the
cluster calls return what pymemcache returns."""

from __future__ import annotations

import pymemcache.client.base as peer_base
import pymemcache.client.hash as peer_hash
import pymemcache.client.murmur3 as peer_murmur3
import pymemcache.client.rendezvous as peer_rendezvous
import pymemcache.serde as peer_serde
import pytest
from pymemcache.exceptions import MemcacheError as PeerMemcacheError

from fastmc.compat.pymemcache import serde as compat_serde
from fastmc.compat.pymemcache.client import base as compat_base
from fastmc.compat.pymemcache.client import hash as compat_hash
from fastmc.compat.pymemcache.client.murmur3 import murmur3_32
from fastmc.compat.pymemcache.client.rendezvous import RendezvousHash
from fastmc.compat.pymemcache.exceptions import MemcacheError

KEYS = [f"user:{index}" for index in range(300)] + ["a", "key-with-dash", "x" * 250]


@pytest.fixture
def cluster(memcached_cluster_factory):
    return memcached_cluster_factory(5)


def servers_of(cluster):
    return [(server.host, server.port) for server in cluster]


def holder(cluster, key):
    """The "host:port" of the server that holds ``key`` (asked one by one)."""
    found = [
        f"{host}:{port}"
        for host, port in servers_of(cluster)
        if peer_base.Client((host, port)).get(key) is not None
    ]
    assert len(found) == 1, (key, found)
    return found[0]


def test_placement_matches_pymemcache_on_five_servers(cluster):
    servers = servers_of(cluster)
    peer = peer_hash.HashClient(servers, timeout=5)
    ours = compat_hash.HashClient(servers, timeout=5)
    for key in KEYS:
        assert ours.server_for_key(key) == peer.hasher.get_node(key), key


def test_peer_writes_read_back_through_compat_and_the_reverse(cluster):
    servers = servers_of(cluster)
    peer = peer_hash.HashClient(servers, serde=peer_serde.pickle_serde, timeout=5)
    ours = compat_hash.HashClient(servers, serde=compat_serde.pickle_serde, timeout=5)
    values = {key: {"key": key, "n": index} for index, key in enumerate(KEYS)}
    assert peer.set_many(values, noreply=False) == []
    assert ours.get_many(KEYS) == values
    for key in KEYS[:20]:
        assert ours.get(key) == values[key]
    peer.flush_all(noreply=False)  # a noreply flush could land after the sets below
    assert ours.set_many(values, noreply=False) == []
    assert peer.get_many(KEYS) == values
    for key in KEYS[:40]:
        assert holder(cluster, key) == peer.hasher.get_node(key)


def test_key_prefix_is_not_hashed(cluster):
    servers = servers_of(cluster)
    peer = peer_hash.HashClient(servers, key_prefix=b"ns:", timeout=5)
    ours = compat_hash.HashClient(servers, key_prefix=b"ns:", timeout=5)
    for key in KEYS[:50]:
        ours.set(key, key.encode(), noreply=False)
    for key in KEYS[:50]:
        assert peer.get(key) == key.encode()
        assert holder(cluster, "ns:" + key) == peer.hasher.get_node(key)


def test_bytes_keys_are_placed_as_pymemcache_places_them(cluster):
    servers = servers_of(cluster)
    peer = peer_hash.HashClient(servers)
    ours = compat_hash.HashClient(servers)
    for key in KEYS[:50]:
        assert ours.server_for_key(key.encode()) == peer.hasher.get_node(key.encode()), key


def test_non_ascii_keys_are_placed_as_pymemcache_places_them(cluster):
    servers = servers_of(cluster)
    peer = peer_hash.HashClient(servers, allow_unicode_keys=True)
    ours = compat_hash.HashClient(servers, allow_unicode_keys=True)
    for index in range(50):
        key = f"caf\u00e9:{index}"
        assert ours.server_for_key(key) == peer.hasher.get_node(key), key


def cluster_scenario(client):
    return [
        client.set("k", b"v"),
        client.add("k", b"v", noreply=False),
        client.replace("missing", b"v", noreply=False),
        client.get("k"),
        client.get("missing", b"default"),
        client.get_many(["k", "missing"]),
        client.gets("missing"),
        client.incr("n", 1),
        client.set("n", b"1", noreply=False),
        client.incr("n", 4),
        client.decr("n", 2),
        client.delete("k", noreply=False),
        client.delete_many(["a", "b"]),
        client.touch("missing", noreply=False),
        client.set_many({"a": b"1", "b": b"2"}, noreply=False),
        sorted(client.gets_many(["a", "b"])),
        client.flush_all(),
        client.get_many(["a", "b"]),
    ]


def test_cluster_calls_return_what_pymemcache_returns(cluster):
    servers = servers_of(cluster)
    expected = cluster_scenario(peer_hash.HashClient(servers, timeout=5))
    actual = cluster_scenario(compat_hash.HashClient(servers, timeout=5))
    assert actual == expected


def test_add_and_remove_server_move_only_their_keys(cluster):
    servers = servers_of(cluster)
    ours = compat_hash.HashClient(servers[:4], timeout=5)
    hasher = peer_rendezvous.RendezvousHash()
    for host, port in servers[:4]:
        hasher.add_node(f"{host}:{port}")
    ours.add_server(*servers[4])
    hasher.add_node("{}:{}".format(*servers[4]))
    assert [ours.server_for_key(key) for key in KEYS] == [hasher.get_node(key) for key in KEYS]
    ours.remove_server(servers[1])
    hasher.remove_node("{}:{}".format(*servers[1]))
    assert [ours.server_for_key(key) for key in KEYS] == [hasher.get_node(key) for key in KEYS]
    assert ours.hasher.nodes == hasher.nodes


def test_dead_server_keys_move_to_the_next_best(memcached_cluster_factory):
    cluster = memcached_cluster_factory(3)
    servers = servers_of(cluster)
    peer = peer_hash.HashClient(servers, retry_attempts=0, connect_timeout=1, timeout=2)
    ours = compat_hash.HashClient(servers, retry_attempts=0, connect_timeout=1, timeout=2)
    key = next(k for k in KEYS if peer.hasher.get_node(k) == "{}:{}".format(*servers[0]))
    cluster[0].kill()
    for client in (peer, ours):
        with pytest.raises(OSError):
            client.set(key, b"v", noreply=False)
        # The server is now out: the key goes to its next best server.
        assert client.set(key, b"v", noreply=False) is True
        assert client.get(key) == b"v"


def test_ignore_exc_returns_defaults_when_a_server_is_down(memcached_cluster_factory):
    cluster = memcached_cluster_factory(2)
    servers = servers_of(cluster)
    peer = peer_hash.HashClient(servers, ignore_exc=True, connect_timeout=1, timeout=2)
    ours = compat_hash.HashClient(servers, ignore_exc=True, connect_timeout=1, timeout=2)
    down = "{}:{}".format(*servers[0])
    key = next(k for k in KEYS if peer.hasher.get_node(k) == down)
    cluster[0].kill()
    for client in (peer, ours):
        assert client.get(key) is None
        assert client.get(key, b"d") == b"d"
        assert client.set(key, b"v", noreply=False) is False
        assert client.get_many([key]) == {}
        # A bad key is refused before ignore_exc applies.
        with pytest.raises(Exception) as raised:
            client.set("bad key", b"v")
        assert type(raised.value).__name__ == "MemcacheIllegalInputError"


def test_clients_and_client_class_are_kept(cluster):
    servers = servers_of(cluster)

    class MyClient(compat_base.Client):
        pass

    class MyHashClient(compat_hash.HashClient):
        client_class = MyClient

    ours = MyHashClient(servers, timeout=5)
    assert set(ours.clients) == {f"{host}:{port}" for host, port in servers}
    assert all(type(client) is MyClient for client in ours.clients.values())
    # The per-server client of the key's server stores where HashClient reads.
    assert ours.clients[ours.server_for_key("k")].set("k", b"v", noreply=False) is True
    pooled = compat_hash.HashClient(servers, use_pooling=True, timeout=5)
    assert all(isinstance(c, compat_base.PooledClient) for c in pooled.clients.values())
    with pytest.raises(TypeError):
        compat_hash.HashClient(servers, hasher=object)
    assert compat_hash.HashClient(servers, hasher=peer_rendezvous.RendezvousHash).get("k") == b"v"


def test_rendezvous_and_murmur3_match_pymemcache():
    for text in ["", "a", "ab", "abc", "abcd", "abcde", "caf\u00e9", "\u4e2d\u6587", "x" * 99]:
        for seed in (0, 1, 0xDEADBEEF):
            assert murmur3_32(text, seed) == peer_murmur3.murmur3_32(text, seed)
    nodes = ["node1", "node2", "node3", "127.0.0.1:11211"]
    ours, peer = RendezvousHash(list(nodes)), peer_rendezvous.RendezvousHash(list(nodes))
    for key in KEYS:
        assert ours.get_node(key) == peer.get_node(key)
    ours.remove_node("node2")
    peer.remove_node("node2")
    assert [ours.get_node(key) for key in KEYS] == [peer.get_node(key) for key in KEYS]
    with pytest.raises(ValueError):
        ours.remove_node("nope")


def test_all_servers_down_raises_memcache_error(memcached_factory):
    server = memcached_factory()
    servers = [(server.host, server.port)]
    peer = peer_hash.HashClient(servers, retry_attempts=0, connect_timeout=1, timeout=2)
    ours = compat_hash.HashClient(servers, retry_attempts=0, connect_timeout=1, timeout=2)
    server.kill()
    for client in (peer, ours):
        with pytest.raises(OSError):
            client.get("k")
        error = PeerMemcacheError if client is peer else MemcacheError
        with pytest.raises(error):
            client.get("k")
        with pytest.raises(error):
            client.set("k", b"v")
    ours_ignoring = compat_hash.HashClient(servers, ignore_exc=True, retry_attempts=0)
    assert ours_ignoring.get("k", b"d") == b"d"
    assert ours_ignoring.set("k", b"v") is False


def test_get_many_with_a_failing_server_returns_the_other_hits(memcached_cluster_factory):
    cluster = memcached_cluster_factory(3)
    servers = servers_of(cluster)
    peer = peer_hash.HashClient(servers, connect_timeout=1, timeout=2)
    ours = compat_hash.HashClient(servers, connect_timeout=1, timeout=2)
    keys = KEYS[:60]
    ours.set_many({key: b"v" for key in keys}, noreply=False)
    down = "{}:{}".format(*servers[0])
    cluster[0].kill()
    with pytest.raises(OSError):
        peer.get_many(keys)
    # A documented difference: fastmc returns what the live servers hold.
    hits = ours.get_many(keys)
    assert set(hits) == {key for key in keys if peer.hasher.get_node(key) != down}
