# SPDX-License-Identifier: MIT
"""pymemcache's documented examples (docs/getting_started.rst, README) run
against fastmc.compat.pymemcache with only the import line changed and
"localhost" replaced by a test server; RetryingClient and MockMemcacheClient
compared with pymemcache's own."""

from __future__ import annotations

import json
import time

import pymemcache.client.retrying as peer_retrying
import pymemcache.serde as peer_serde
import pymemcache.test.utils as peer_utils
import pytest

from fastmc.compat.pymemcache import serde as compat_serde
from fastmc.compat.pymemcache.client.retrying import RetryingClient
from fastmc.compat.pymemcache.test.utils import MockMemcacheClient


def test_basic_usage(memcached):
    from fastmc.compat.pymemcache.client.base import Client

    client = Client(memcached.address)
    client.set("some_key", "some_value")
    result = client.get("some_key")
    assert result == b"some_value"


def test_server_forms(memcached, memcached_unix):
    from fastmc.compat.pymemcache.client.base import Client

    ipv4_client_with_port = Client(f"127.0.0.1:{memcached.port}")
    ipv4_client_using_tuple = Client(("127.0.0.1", memcached.port))
    domain_client_with_port = Client(f"localhost:{memcached.port}")
    client = Client(memcached_unix.path)
    client_with_prefix = Client("unix:" + memcached_unix.path)
    for each in (ipv4_client_with_port, ipv4_client_using_tuple, domain_client_with_port):
        assert each.set("k", "v", noreply=False) is True
    assert client.set("k", "v", noreply=False) and client_with_prefix.get("k") == b"v"


def test_client_pool(memcached):
    from fastmc.compat.pymemcache.client.base import PooledClient

    client = PooledClient(memcached.address, max_pool_size=4)
    client.set("some_key", "some value")
    assert client.get("some_key") == b"some value"


def test_cluster(memcached_cluster):
    from fastmc.compat.pymemcache.client.hash import HashClient

    client = HashClient(memcached_cluster.addresses)
    client.set("some_key", "some value")
    result = client.get("some_key")
    assert result == b"some value"


def test_retrying_client(memcached):
    from fastmc.compat.pymemcache.client.base import Client
    from fastmc.compat.pymemcache.client.retrying import RetryingClient
    from fastmc.compat.pymemcache.exceptions import MemcacheUnexpectedCloseError

    base_client = Client(("127.0.0.1", memcached.port))
    client = RetryingClient(
        base_client, attempts=3, retry_delay=0.01, retry_for=[MemcacheUnexpectedCloseError]
    )
    client.set("some_key", "some value")
    result = client.get("some_key")
    assert result == b"some value"


def test_serialization(memcached):
    from fastmc.compat.pymemcache.client.base import Client

    class JsonSerde:
        def serialize(self, key, value):
            if isinstance(value, str):
                return value, 1
            return json.dumps(value), 2

        def deserialize(self, key, value, flags):
            if flags == 1:
                return value
            if flags == 2:
                return json.loads(value)
            raise Exception("Unknown serialization format")

    client = Client(memcached.address, serde=JsonSerde())
    client.set("key", {"a": "b", "c": "d"})
    result = client.get("key")
    assert result["a"] == "b"


def test_pickle_serde(memcached):
    from fastmc.compat.pymemcache import serde
    from fastmc.compat.pymemcache.client.base import Client

    client = Client(memcached.address, serde=serde.pickle_serde)
    client.set("key", ["aaa", "bbb", "ccc"])
    assert client.get("key")[1] == "bbb"
    client = Client(memcached.address, serde=serde.PickleSerde(pickle_version=2))
    client.set("key", {"version": 2})
    assert client.get("key") == {"version": 2}


def test_legacy_serializer_functions(memcached):
    from fastmc.compat.pymemcache import serde
    from fastmc.compat.pymemcache.client.base import Client

    client = Client(
        memcached.address,
        serializer=serde.python_memcache_serializer,
        deserializer=serde.python_memcache_deserializer,
    )
    client.set("key", [1, 2])
    assert client.get("key") == [1, 2]


def test_django_configuration(memcached_cluster):
    # What Django's PyMemcacheCache passes to HashClient.
    from fastmc.compat.pymemcache import HashClient, serde

    client = HashClient(
        memcached_cluster.addresses,
        allow_unicode_keys=True,
        default_noreply=False,
        serde=serde.pickle_serde,
    )
    assert client.set("caf\u00e9", {"a": 1}) is True
    assert client.add("caf\u00e9", 2) is False
    assert client.get_many(["caf\u00e9", "missing"]) == {"caf\u00e9": {"a": 1}}
    assert client.delete("caf\u00e9") is True


class FlakyClient:
    """A client whose get fails ``failures`` times, then answers."""

    def __init__(self, failures, error):
        self.failures = failures
        self.error = error
        self.calls = 0

    def get(self, key):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return b"value"

    def set(self, key, value, noreply=None):
        self.stored = (key, value, noreply)


@pytest.mark.parametrize(
    ("attempts", "failures", "retry_for", "do_not_retry_for"),
    [
        (2, 1, None, None),
        (2, 2, None, None),
        (3, 2, [KeyError], None),
        (3, 1, [ValueError], None),
        (3, 1, None, [KeyError]),
        (1, 1, None, None),
    ],
)
def test_retrying_client_matches_pymemcache(attempts, failures, retry_for, do_not_retry_for):
    results = []
    for cls in (peer_retrying.RetryingClient, RetryingClient):
        inner = FlakyClient(failures, KeyError("boom"))
        client = cls(inner, attempts, 0, retry_for, do_not_retry_for)
        try:
            outcome = client.get("k")
        except KeyError:
            outcome = "raised"
        results.append((outcome, inner.calls))
        client["k"] = b"v"
        assert inner.stored == ("k", b"v", True)
    assert results[0] == results[1]


def test_retrying_client_argument_checks():
    for kwargs in (
        {"attempts": 0},
        {"retry_for": KeyError},
        {"retry_for": [int]},
        {"retry_for": [KeyError], "do_not_retry_for": [KeyError]},
    ):
        with pytest.raises(ValueError):
            peer_retrying.RetryingClient(object(), **kwargs)
        with pytest.raises(ValueError):
            RetryingClient(object(), **kwargs)


def mock_scenario(client):
    return [
        client.set("k", "v"),
        client.get("k"),
        client.get("missing", "d"),
        client.add("k", b"x"),
        client.add("k", b"x", noreply=False),
        client.replace("missing", b"x", noreply=False),
        client.append("k", "+"),
        client.prepend("k", "-"),
        client.get("k"),
        client.set("n", 5),
        client.incr("n", 2),
        client.decr("n", 1),
        client.incr("missing", 1),
        client.set_many({"a": 1, "b": 2}),
        client.get_many(["a", "b", "missing"]),
        client.delete("a", noreply=False),
        client.delete("a", noreply=False),
        client.delete_many(["b"]),
        client.touch("k", 10, noreply=False),
        client.touch("missing", noreply=False),
        client.stats(),
        client.version(),
        client.cache_memlimit(10),
        client.flush_all(),
        client.get("k"),
        type(client.check_key("k")).__name__,
    ]


def test_mock_client_matches_pymemcache_mock():
    for serde in (None, "pickle"):
        peer_kwargs = {"serde": peer_serde.pickle_serde} if serde else {}
        our_kwargs = {"serde": compat_serde.pickle_serde} if serde else {}
        expected = mock_scenario(peer_utils.MockMemcacheClient(**peer_kwargs))
        actual = mock_scenario(MockMemcacheClient(**our_kwargs))
        assert actual == expected
    ours, peer = MockMemcacheClient(), peer_utils.MockMemcacheClient()
    for client in (ours, peer):
        with pytest.raises(Exception, match="CAS") as raised:
            client.cas("k", b"v", 1)
        assert type(raised.value).__name__ == "MemcacheClientError"
        with pytest.raises(Exception) as raised:
            client.set("has space", b"v")
        assert type(raised.value).__name__ == "MemcacheIllegalInputError"


def fallback_scenario(fallback, old, new):
    old.set("old-only", b"old", noreply=False)
    old.set("both", b"old", noreply=False)
    new.set("both", b"new", noreply=False)
    return [
        fallback.set("k", b"v"),
        fallback.get("k"),
        fallback.get("old-only"),
        fallback.get("both"),
        fallback.get("nowhere"),
        fallback.get_many(["old-only"]),
        fallback.get_many(["nowhere"]),
        fallback.gets("nowhere"),
        fallback.delete("k"),
        fallback.get("k"),
        fallback.stats(),
        fallback.quit(),
    ]


def test_fallback_client_matches_pymemcache(memcached_factory):
    import pymemcache.fallback as peer_fallback

    from fastmc.compat.pymemcache.client.base import Client
    from fastmc.compat.pymemcache.fallback import FallbackClient

    results = []
    for fallback_class in (peer_fallback.FallbackClient, FallbackClient):
        old_server, new_server = memcached_factory(), memcached_factory()
        old = Client(old_server.address, ignore_exc=True)
        new = Client(new_server.address)
        results.append(fallback_scenario(fallback_class([new, old]), old, new))
    assert results[0] == results[1]


class Pooled:
    """An object to pool (ObjectPool sets attributes on it)."""

    count = 0

    def __init__(self):
        Pooled.count += 1
        self.number = Pooled.count


def pool_scenario(pool_module):
    removed = []
    pool = pool_module.ObjectPool(Pooled, after_remove=removed.append, max_size=2)
    first = pool.get()
    second = pool.get()
    results = [len(pool.used), len(pool.free)]
    try:
        pool.get()
    except RuntimeError as error:
        results.append(type(error).__name__)
    pool.release(first)
    results.append(pool.get() is first)
    pool.release(second)
    with pool.get_and_release() as third:
        results.append(third is second)
    try:
        with pool.get_and_release(destroy_on_fail=True):
            raise KeyError
    except KeyError:
        results.append(len(removed))
    pool.release(Pooled())
    pool.destroy(Pooled())
    results.append([len(pool.used), len(pool.free), len(removed)])
    pool.clear()
    results.append([len(pool.used), len(pool.free), len(removed)])
    with pytest.raises(ValueError):
        pool_module.ObjectPool(Pooled, max_size=-1)
    with pytest.raises(ValueError):
        pool.release(Pooled(), silent=False)
    idle = pool_module.ObjectPool(Pooled, after_remove=removed.append, idle_timeout=0.05)
    kept = idle.get()
    idle.release(kept)
    time.sleep(0.1)
    results.append(idle.get() is kept)
    return results


def test_object_pool_matches_pymemcache():
    import pymemcache.pool as peer_pool

    from fastmc.compat.pymemcache import pool

    assert pool_scenario(pool) == pool_scenario(peer_pool)
