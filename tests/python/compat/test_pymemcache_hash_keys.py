# SPDX-License-Identifier: MIT
"""HashClient placement of the keys pymemcache does not hash by their bytes:
bytes keys (hashed as their repr, b'...'), non-ASCII str keys (one byte per
character, ord & 0xff), each with and without key_prefix. Real pymemcache and
fastmc.compat.pymemcache on five real memcached servers: the same server for
every key, every call, both directions, and the same dead-server handling."""

from __future__ import annotations

import random

import pymemcache.client.base as peer_base
import pymemcache.client.hash as peer_hash
import pytest
from pymemcache.exceptions import MemcacheError as PeerMemcacheError

from fastmc.compat.pymemcache.client import hash as compat_hash
from fastmc.compat.pymemcache.exceptions import MemcacheError, MemcacheIllegalInputError

# Bytes pymemcache accepts in a key that fastmc also sends (fastmc refuses
# control bytes, docs/migration/pymemcache.md "Keys"): quotes and backslashes
# change the repr's quoting, >= 0x80 its \x escapes.
_KEY_BYTES = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))
# Code points whose low byte (what pymemcache hashes) is a space, a control
# byte or NUL, >= 0x80, and beyond the BMP.
_KEY_CHARACTERS = "caf\u00e9\u00ff\u0100\u0120\u017f\u4e00\u4e2d\u6587\u00a0\u20ac\U0001f600ab-:"


def bytes_keys(count, seed=1, ascii_only=False):
    generator = random.Random(seed)
    keys = [b"foo", b"a'b", b"a'\"b", b"back\\slash", b"~" * 250]
    if not ascii_only:
        keys += [b"\x80" * 250, b"\xff" * 200]
    alphabet = _KEY_BYTES[: 0x7F - 0x21] if ascii_only else _KEY_BYTES
    while len(keys) < count:
        length = generator.randint(1, 60)
        keys.append(bytes(generator.choice(alphabet) for _ in range(length)))
        keys = list(dict.fromkeys(keys))
    return keys


def unicode_keys(count, seed=2):
    generator = random.Random(seed)
    keys = ["caf\u00e9", "\u4e00", "\u0100\u0120", "\U0001f600" * 60]
    while len(keys) < count:
        length = generator.randint(1, 20)
        keys.append("".join(generator.choice(_KEY_CHARACTERS) for _ in range(length)))
        keys = list(dict.fromkeys(keys))
    return keys


def ascii_keys(count):
    return [f"user:{index}" for index in range(count)]


@pytest.fixture
def servers(memcached_cluster_factory):
    cluster = memcached_cluster_factory(5)
    return [(server.host, server.port) for server in cluster]


def holder(servers, key, key_prefix=b""):
    """The "host:port" of the one server that holds ``key`` (asked one by one)."""
    found = [
        f"{host}:{port}"
        for host, port in servers
        if peer_base.Client((host, port), key_prefix=key_prefix, allow_unicode_keys=True).get(key)
        is not None
    ]
    assert len(found) == 1, (key, found)
    return found[0]


@pytest.mark.parametrize("key_prefix", [b"", b"ns:"])
def test_server_for_key_matches_pymemcache_for_1000_keys_of_each_kind(servers, key_prefix):
    peer = peer_hash.HashClient(servers, allow_unicode_keys=True, key_prefix=key_prefix)
    ours = compat_hash.HashClient(servers, allow_unicode_keys=True, key_prefix=key_prefix)
    keys = ascii_keys(1000) + bytes_keys(1000) + unicode_keys(1000)
    keys = fitting(keys, key_prefix)
    placed = {}
    for key in keys:
        expected = peer.hasher.get_node(key)
        assert ours.server_for_key(key) == expected, key
        assert ours.server_for_key(key, live=True) == expected, key
        placed.setdefault(type(key), set()).add(expected)
    # Every kind of key spreads over every server.
    assert all(len(nodes) == 5 for nodes in placed.values())


def test_bytes_and_str_spellings_of_a_key_are_different_keys_on_different_servers(servers):
    ours = compat_hash.HashClient(servers)
    peer = peer_hash.HashClient(servers)
    moved = [
        key
        for key in ascii_keys(200)
        if ours.server_for_key(key.encode()) != ours.server_for_key(key)
    ]
    assert len(moved) > 100  # about 4 in 5
    for key in moved[:20]:
        assert ours.server_for_key(key.encode()) == peer.hasher.get_node(key.encode())


def fitting(keys, key_prefix):
    """The keys that fit memcached's 250 bytes with ``key_prefix``."""
    return [
        key
        for key in keys
        if len(key_prefix) + len(key.encode() if isinstance(key, str) else key) <= 250
    ]


# name -> (keys, allow_unicode_keys, key_prefix). fastmc refuses bytes keys
# with bytes >= 0x80 unless allow_unicode_keys (docs/migration/pymemcache.md).
KINDS = {
    "bytes": (bytes_keys(60, ascii_only=True), False, b""),
    "bytes-non-ascii": (bytes_keys(60), True, b""),
    "bytes-prefixed": (fitting(bytes_keys(60, seed=3), b"ns:"), True, b"ns:"),
    "unicode": (unicode_keys(60), True, b""),
    "unicode-prefixed": (fitting(unicode_keys(60, seed=4), b"ns:"), True, b"ns:"),
    "mixed": (fitting(ascii_keys(30) + bytes_keys(30) + unicode_keys(30), b"p:"), True, b"p:"),
}


def _clients(servers, allow_unicode_keys, key_prefix):
    options = {"allow_unicode_keys": allow_unicode_keys, "key_prefix": key_prefix, "timeout": 5}
    return peer_hash.HashClient(servers, **options), compat_hash.HashClient(servers, **options)


def _value(key):
    return b"value of " + (key if isinstance(key, bytes) else key.encode())


def write_all(client, keys):
    """The first half of ``keys`` stored by set, the rest by set_many."""
    half = len(keys) // 2
    for key in keys[:half]:
        assert client.set(key, _value(key), noreply=False) is True
    assert client.set_many({key: _value(key) for key in keys[half:]}, noreply=False) == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_pymemcache_writes_read_back_through_compat(servers, kind):
    keys, allow_unicode_keys, key_prefix = KINDS[kind]
    peer, ours = _clients(servers, allow_unicode_keys, key_prefix)
    write_all(peer, keys)
    expected = {key: _value(key) for key in keys}
    assert ours.get_many(keys) == expected
    assert ours.get_multi(iter(keys)) == expected
    assert {key: value for key, (value, _) in ours.gets_many(keys).items()} == expected
    for key in keys:
        assert ours.get(key) == _value(key)
        assert ours.gets(key)[0] == _value(key)
    for key in keys[:10]:
        assert holder(servers, key, key_prefix) == peer.hasher.get_node(key)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_compat_writes_read_back_through_pymemcache(servers, kind):
    keys, allow_unicode_keys, key_prefix = KINDS[kind]
    peer, ours = _clients(servers, allow_unicode_keys, key_prefix)
    write_all(ours, keys)
    half = len(keys) // 2
    assert peer.get_many(keys) == {key: _value(key) for key in keys}
    for key in keys[:10]:
        assert peer.get(key) == _value(key)
        assert holder(servers, key, key_prefix) == peer.hasher.get_node(key)
    ours.delete_many(keys[:half], noreply=False)
    assert peer.get_many(keys) == {key: _value(key) for key in keys[half:]}
    ours.delete_multi(keys[half:])
    assert peer.get_many(keys) == {}


def keyed_scenario(client, key, other):
    """Every keyed call pymemcache's HashClient has, on ``key`` (and ``other``)."""
    results = [
        client.get(key),
        client.get(key, b"default"),
        client.set(key, b"1", noreply=False),
        client.add(key, b"2", noreply=False),
        client.add(other, b"a", noreply=False),
        client.replace(key, b"3", noreply=False),
        client.append(key, b"4", noreply=False),
        client.prepend(key, b"5", noreply=False),
        client.get(key),
        client.incr(key, 10),
        client.decr(key, 3),
        client.incr(other + b"-missing" if isinstance(other, bytes) else other + "-missing", 1),
        client.touch(key, 100, noreply=False),
        client.touch(key + (b"?" if isinstance(key, bytes) else "?"), 100, noreply=False),
    ]
    value, cas = client.gets(key)
    results += [
        value,
        client.cas(key, b"6", cas, noreply=False),
        client.cas(key, b"7", cas, noreply=False),
        client.get(key),
        sorted(client.get_many([key, other]).items()),
        sorted(value for value, _ in client.gets_many([key, other]).values()),
        client.delete(key, noreply=False),
        client.delete(key, noreply=False),
        client.set_many({key: b"8", other: b"9"}, noreply=False),
        client.delete_many([key, other]),
        client.get_many([key, other]),
    ]
    return results


@pytest.mark.parametrize(
    ("key", "other", "allow_unicode_keys", "key_prefix"),
    [
        (b"bytes-key", b"bytes'other", False, b""),
        (b"\xe9t\xe9", b"\x80\x81", True, b"ns:"),
        ("caf\u00e9", "\u4e00\u0100", True, b""),
        ("caf\u00e9", "\u4e00\u0100", True, b"ns:"),
    ],
)
def test_every_keyed_call_returns_and_places_as_pymemcache(
    servers, key, other, allow_unicode_keys, key_prefix
):
    peer, ours = _clients(servers, allow_unicode_keys, key_prefix)
    expected = keyed_scenario(peer, key, other)
    for each in (key, other):
        peer.delete(each, noreply=False)
    assert keyed_scenario(ours, key, other) == expected
    # Each write of ours leaves the key where pymemcache reads it.
    writes = {
        "set": lambda: ours.set(key, b"x", noreply=False),
        "add": lambda: ours.add(key, b"x", noreply=False),
        "set_many": lambda: ours.set_many({key: b"x"}, noreply=False) == [],
        "replace": lambda: ours.replace(key, b"x", noreply=False),
        "cas": lambda: ours.cas(key, b"x", ours.gets(key)[1], noreply=False),
    }
    for name, write in writes.items():
        peer.delete(key, noreply=False)
        if name in ("replace", "cas"):
            peer.set(key, b"y", noreply=False)
        assert write() is True, name
        assert holder(servers, key, key_prefix) == peer.hasher.get_node(key)
        assert peer.get(key) == b"x"
    assert ours.gat(key, 100) == b"x"
    assert ours.gats(key, 100)[0] == b"x"
    assert ours.touch(key, 100, noreply=False) is True


def test_bad_special_keys_are_refused_as_pymemcache_refuses_them(servers):
    peer, ours = _clients(servers, False, b"")
    for key in [b"with space", b"tab\there", b"nul\x00", b"x" * 251, "caf\u00e9"]:
        for client in (peer, ours):
            with pytest.raises(Exception) as raised:
                client.set(key, b"v", noreply=False)
            assert type(raised.value).__name__ == "MemcacheIllegalInputError", (client, key)
            with pytest.raises(Exception) as raised:
                client.get_many([b"fine", key])
            assert type(raised.value).__name__ == "MemcacheIllegalInputError", (client, key)
    with pytest.raises(MemcacheIllegalInputError):
        ours.server_for_key(b"with space")
    for client in (peer, ours):
        with pytest.raises(TypeError):
            client.get(12)


def _peer_and_ours(servers, **options):
    return peer_hash.HashClient(servers, **options), compat_hash.HashClient(servers, **options)


def _key_on(client, node, candidates):
    return next(key for key in candidates if client.hasher.get_node(key) == node)


@pytest.mark.parametrize("keys", [bytes_keys(200), unicode_keys(200)], ids=["bytes", "unicode"])
def test_special_key_on_a_dead_server_moves_to_the_next_best(memcached_cluster_factory, keys):
    cluster = memcached_cluster_factory(3)
    servers = [(server.host, server.port) for server in cluster]
    options = {"retry_attempts": 0, "connect_timeout": 1, "timeout": 2, "allow_unicode_keys": True}
    peer, ours = _peer_and_ours(servers, **options)
    dead = "{}:{}".format(*servers[0])
    key = _key_on(peer, dead, keys)
    cluster[0].kill()
    for client in (peer, ours):
        with pytest.raises(OSError):
            client.set(key, b"v", noreply=False)
        # The failure took the server out: the key goes to its next best server.
        assert client.set(key, b"v", noreply=False) is True
        assert client.get(key) == b"v"
        assert client.get_many([key]) == {key: b"v"}
    moved_to = ours.server_for_key(key, live=True)
    assert moved_to not in (None, dead)
    assert ours.server_for_key(key) == dead
    # ASCII keys see the same dead server: its failure counted natively.
    ascii_key = next(key for key in ascii_keys(200) if ours.server_for_key(key) == dead)
    assert ours.server_for_key(ascii_key, live=True) not in (None, dead)
    assert ours.set(ascii_key, b"a", noreply=False) is True


def test_special_keys_fail_until_retry_attempts_then_move(memcached_cluster_factory):
    cluster = memcached_cluster_factory(3)
    servers = [(server.host, server.port) for server in cluster]
    options = {"retry_attempts": 2, "connect_timeout": 1, "timeout": 2}
    ours = compat_hash.HashClient(servers, **options)
    dead = "{}:{}".format(*servers[0])
    key = _key_on(ours, dead, bytes_keys(200, ascii_only=True))
    cluster[0].kill()
    for _ in range(3):  # retry_attempts + 1 failures
        with pytest.raises(OSError):
            ours.get(key)
    assert ours.server_for_key(key, live=True) != dead
    assert ours.get(key) is None
    assert ours.set(key, b"v", noreply=False) is True


def test_ignore_exc_returns_defaults_for_special_keys(memcached_cluster_factory):
    cluster = memcached_cluster_factory(2)
    servers = [(server.host, server.port) for server in cluster]
    # retry_attempts high: the server keeps failing without being taken out.
    options = {
        "ignore_exc": True,
        "retry_attempts": 100,
        "connect_timeout": 1,
        "timeout": 2,
        "allow_unicode_keys": True,
    }
    peer, ours = _peer_and_ours(servers, **options)
    down = "{}:{}".format(*servers[0])
    keys = [_key_on(peer, down, bytes_keys(200)), _key_on(peer, down, unicode_keys(200))]
    cluster[0].kill()
    for key in keys:
        for client in (peer, ours):
            assert client.get(key) is None
            assert client.get(key, b"d") == b"d"
            assert client.set(key, b"v", noreply=False) is False
            assert client.get_many([key]) == {}
            assert client.delete(key, noreply=False) is False
            assert client.incr(key, 1) is False
            with pytest.raises(Exception) as raised:
                client.set(b"bad key", b"v")
            assert type(raised.value).__name__ == "MemcacheIllegalInputError"
    assert ours.set_many({key: b"v" for key in keys}, noreply=False) == keys


def test_all_servers_down_raises_memcache_error_for_special_keys(memcached_factory):
    server = memcached_factory()
    servers = [(server.host, server.port)]
    options = {"retry_attempts": 0, "connect_timeout": 1, "timeout": 2}
    peer, ours = _peer_and_ours(servers, **options)
    server.kill()
    for client in (peer, ours):
        with pytest.raises(OSError):
            client.get(b"k")
        error = PeerMemcacheError if client is peer else MemcacheError
        with pytest.raises(error):
            client.get(b"k")
        with pytest.raises(error):
            client.set(b"k", b"v")
        with pytest.raises(error):
            client.get_many([b"k", "k"])
    ignoring = compat_hash.HashClient(servers, ignore_exc=True, retry_attempts=0)
    assert ignoring.get(b"k", b"d") == b"d"
    assert ignoring.set(b"k", b"v") is False
    assert ignoring.set_many({b"k": b"v", "k": b"v"}, noreply=False) == ["k", b"k"]


def test_mixed_get_many_with_a_failing_server_returns_the_other_hits(memcached_cluster_factory):
    cluster = memcached_cluster_factory(3)
    servers = [(server.host, server.port) for server in cluster]
    ours = compat_hash.HashClient(servers, retry_attempts=100, connect_timeout=1, timeout=2)
    keys = ascii_keys(30) + bytes_keys(30, ascii_only=True)
    assert ours.set_many({key: b"v" for key in keys}, noreply=False) == []
    down = "{}:{}".format(*servers[0])
    cluster[0].kill()
    hits = ours.get_many(keys)
    assert set(hits) == {key for key in keys if ours.server_for_key(key) != down}
    failed = ours.set_many({key: b"w" for key in keys}, noreply=False)
    assert sorted(map(repr, failed)) == sorted(
        repr(key) for key in keys if ours.server_for_key(key) == down
    )


def test_removed_and_added_servers_move_only_their_special_keys(servers):
    ours = compat_hash.HashClient(servers[:4], allow_unicode_keys=True)
    peer = peer_hash.HashClient(servers[:4], allow_unicode_keys=True)
    keys = bytes_keys(200) + unicode_keys(200)
    ours.add_server(*servers[4])
    peer.add_server(*servers[4])
    assert [ours.server_for_key(key) for key in keys] == [peer.hasher.get_node(key) for key in keys]
    for key in keys[:50]:
        assert ours.set(key, b"v", noreply=False) is True
        assert peer.get(key) == b"v"
    ours.remove_server(servers[1])
    peer.hasher.remove_node("{}:{}".format(*servers[1]))
    assert [ours.server_for_key(key) for key in keys] == [peer.hasher.get_node(key) for key in keys]
