# SPDX-License-Identifier: MIT
"""key_prefix (a namespace on the wire, hashed or not) and noreply calls,
against real memcached servers."""

from __future__ import annotations

import pytest

import fastmc


def test_the_prefix_is_on_the_wire_and_not_in_the_keys_handed_back(memcached):
    with (
        fastmc.Client(memcached.address, key_prefix="app:") as mc,
        fastmc.Client(memcached.address) as plain,
    ):
        assert mc.set("k", b"v") is True
        assert plain.get("app:k") == b"v" and plain.get("k") is None
        assert mc.get("k") == b"v"
        assert mc.get_many(["k", "absent"]) == {"k": b"v"}
        assert mc.gets_many(["k"])["k"][0] == b"v"
        assert mc.set_many({"a": 1, "b": 2}) == []
        assert plain.get_many(["app:a", "app:b"]) == {"app:a": 1, "app:b": 2}
        assert mc.incr("a", 5) == 6 and mc.decr("a") == 5
        assert mc.add("a", 0) is False and mc.replace("a", 7) is True
        assert mc.append("k", b"!") and mc.prepend("k", b"<")
        assert plain.get("app:k") == b"<v!"
        _, cas = mc.gets("k")
        assert mc.cas("k", b"new", cas) is True and plain.get("app:k") == b"new"
        assert mc.touch("k", 100) is True
        assert mc.delete("k") is True and plain.get("app:k") is None
        assert mc.delete_many(["a", "b"]) == 2


def test_the_prefix_counts_toward_the_key_limit(memcached):
    with fastmc.Client(memcached.address, key_prefix=b"p" * 10) as mc:
        mc.set("k" * 240, b"v")
        with pytest.raises(fastmc.InvalidKeyError):
            mc.set("k" * 241, b"v")
        with pytest.raises(fastmc.InvalidKeyError):
            mc.get_many(["ok", "k" * 241])


def test_the_prefix_is_hashed_only_when_asked(memcached_cluster):
    servers = memcached_cluster.addresses
    keys = [f"key{i}" for i in range(200)]
    with (
        fastmc.Client(servers, distribution="ketama") as plain,
        fastmc.Client(servers, distribution="ketama", key_prefix="ns:") as unhashed,
        fastmc.Client(
            servers, distribution="ketama", key_prefix="ns:", hash_key_prefix=True
        ) as hashed,
    ):
        assert [unhashed.server_for_key(k) for k in keys] == [plain.server_for_key(k) for k in keys]
        assert [hashed.server_for_key(k) for k in keys] == [
            plain.server_for_key("ns:" + k) for k in keys
        ]
        assert unhashed.set_many({k: k for k in keys}) == []
        for key in keys:  # each key sits, prefixed, on the server that hashes the bare key
            with fastmc.Client(plain.server_for_key(key)) as direct:
                assert direct.get("ns:" + key) == key


def test_noreply_drops_the_servers_answer_but_not_a_connection_failure(memcached):
    with fastmc.Client(memcached.address, value_scheme="pymemcache_default") as mc:
        mc.set("k", b"v")
        assert mc.add("k", b"other", noreply=True) is True  # NOT_STORED, not reported
        assert mc.get("k") == b"v"
        # Too large: dropped (memcached also unlinks the old value).
        assert mc.set("k", b"x" * 2_000_000, noreply=True) is True
        assert mc.get("k") is None  # and the connection stayed in step
        assert mc.delete("absent", noreply=True) is True
        assert mc.incr("k", 1, noreply=True) is None  # CLIENT_ERROR non-numeric, dropped
        assert mc.touch("absent", 10, noreply=True) is True
        assert mc.set_many({"a": b"1"}, noreply=True) == []
        assert mc.get("a") == b"1"
    with (
        fastmc.Client("127.0.0.1:1", timeout=0.2) as nowhere,
        pytest.raises(fastmc.ConnectionError),
    ):
        nowhere.set("k", b"v", noreply=True)


def test_reconfigure_rebuilds_the_client_in_place(memcached):
    mc = fastmc.Client(memcached.address)
    mc.set("k", "text")
    mc._reconfigure([memcached.address], value_scheme="libmc")  # libmc reads flag 16 as zlib
    assert mc.get("k") is None
    mc._reconfigure([memcached.address])
    assert mc.get("k") == "text"
    mc.close()
