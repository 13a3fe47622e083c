# SPDX-License-Identifier: MIT
"""fastmc.compat.pylibmc has pylibmc's API: module attributes, behaviors,
methods and their return values, mapping interface, clone, pools, and
serialize/deserialize overrides, each checked against the real pylibmc
(a test-only dependency) on a real memcached."""

from __future__ import annotations

import json
import queue
import threading

import pylibmc
import pytest

import fastmc
import fastmc.compat.pylibmc as compat
from fastmc.compat.pylibmc import consts, pools

# libmemcached reports the kernel's socket buffer sizes for these once it can
# connect to a server (0 otherwise); fastmc reports 0, the system default.
SOCKET_SIZES = ("_socket_send_size", "_socket_recv_size")


def comparable(behaviors) -> dict:
    return {name: value for name, value in behaviors.items() if name not in SOCKET_SIZES}


@pytest.fixture
def pair(memcached):
    """(pylibmc client, compat client) on the same fresh server."""
    peer = pylibmc.Client([memcached.address])
    ours = compat.Client([memcached.address])
    yield peer, ours
    ours.close()


def test_module_attributes_match_pylibmc():
    for name in ("hashers", "distributions", "all_behaviors", "all_callbacks"):
        assert getattr(compat, name) == getattr(pylibmc, name), name
    for name in dir(pylibmc):
        if name.startswith(("hash_", "distribution_", "server_type_", "callback_")):
            assert getattr(compat, name) == getattr(pylibmc, name), name
    assert compat.__version__ == pylibmc.__version__
    assert compat.libmemcached_version_hex == pylibmc.libmemcached_version_hex
    assert compat.support_compression is True
    assert isinstance(compat.support_sasl, bool)
    assert compat.build_info().startswith("pylibmc 1.6.3 for libmemcached 1.0.16")
    assert consts.hashers_rvs == pylibmc.consts.hashers_rvs
    assert consts.distributions_rvs == pylibmc.consts.distributions_rvs


def test_every_exception_class_with_its_retcode():
    peer = dict(pylibmc.exceptions)
    ours = dict(compat.exceptions)
    assert [name for name, _ in compat.exceptions] == [name for name, _ in pylibmc.exceptions]
    for name, cls in peer.items():
        mine = ours[name]
        assert mine is getattr(compat, name)
        assert mine.__name__ == name
        assert getattr(mine, "retcode", None) == getattr(cls, "retcode", None), name
        assert issubclass(mine, compat.Error)
        assert mine.__module__ == "fastmc.compat.pylibmc"
    assert compat.MemcachedError is compat.Error
    assert consts.errors == tuple(cls for _, cls in compat.exceptions)
    # Raised as pylibmc raises them, and with fastmc's context.
    error = compat.NotFound("1 keys not found", server="h:1", cause="x")
    assert (error.server, error.cause, str(error)) == ("h:1", "x", "1 keys not found")
    assert str(compat.CacheMiss()) == ""


def test_calls_with_pylibmcs_conventions_are_the_native_methods():
    # No Python frame between the caller and C++ for these (issue 4, item 5).
    from fastmc import _native

    for name in ("get", "delete", "touch", "get_many", "set_many", "delete_many"):
        assert getattr(compat.Client, name) is getattr(_native.Client, name), name


def test_sasl_arguments_are_checked_as_pylibmc(memcached):
    for module in (pylibmc, compat):
        with pytest.raises(TypeError, match="SASL requires both username and password"):
            module.Client([memcached.address], binary=True, username="u")
        with pytest.raises(TypeError, match="SASL requires the memcached binary protocol"):
            module.Client([memcached.address], username="u", password="p")


def test_default_behaviors_are_pylibmcs(pair):
    peer, ours = pair
    assert comparable(ours.behaviors) == comparable(peer.behaviors)
    assert list(ours.behaviors) == list(peer.behaviors)
    assert [ours.behaviors[name] for name in SOCKET_SIZES] == [0, 0]
    assert isinstance(ours.behaviors, consts.BehaviorDict)


BEHAVIOR_SETTINGS = [
    {"remove_failed": 1},
    {"remove_failed": 3},
    {"auto_eject": True},
    {"failure_limit": 2},
    {"ketama": True},
    {"ketama_weighted": True},
    {"distribution": "consistent"},
    {"distribution": "consistent ketama"},
    {"distribution": "consistent ketama spy"},
    {"distribution": "consistent weighted"},
    {"hash": "md5"},
    {"hash": "crc"},
    {"hash": "murmur"},
    {"ketama": True, "hash": "fnv1a_32"},
    {"cas": True},
    {"cas": 2},
    {"ketama": 5},
    {"tcp_nodelay": True},
    {"verify_keys": True},
    {"_noreply": True},
    {"connect_timeout": 100},
    {"_poll_timeout": 100},
    {"receive_timeout": 1000},
    {"retry_timeout": 5},
    {"_retry_timeout": 5},
    {"dead_timeout": 7},
    {"pickle_protocol": 2},
    {"num_replicas": 1},
    {"buffer_requests": True},
    {"no_block": True},
    {"tcp_keepalive": True},
    {"_hash_with_prefix_key": True},
    {"_sort_hosts": True},
    {"_io_msg_watermark": 10},
]


@pytest.mark.parametrize("behaviors", BEHAVIOR_SETTINGS, ids=repr)
def test_behaviors_read_back_as_pylibmc(memcached, behaviors):
    servers = [memcached.address]
    peer = pylibmc.Client(servers, behaviors=behaviors)
    ours = compat.Client(servers, behaviors=behaviors)
    assert comparable(ours.behaviors) == comparable(peer.behaviors)
    later_peer, later_ours = pylibmc.Client(servers), compat.Client(servers)
    later_peer.behaviors = behaviors
    later_ours.behaviors = behaviors
    assert comparable(later_ours.behaviors) == comparable(later_peer.behaviors)


@pytest.mark.parametrize(
    "steps",
    [
        [{"ketama": 1}, {"ketama": 0}],
        [{"ketama_weighted": 1}, {"ketama_weighted": 0}],
        [{"ketama_weighted": 1}, {"ketama": 0}],
        [{"hash": "md5"}, {"ketama": 1}],
        [{"ketama_weighted": 1}, {"hash": "crc"}],
        [{"distribution": "consistent weighted"}, {"distribution": "modula"}],
        [{"auto_eject": 1}, {"auto_eject": 0}],
    ],
    ids=repr,
)
def test_behavior_couplings_as_pylibmc(memcached, steps):
    peer = pylibmc.Client([memcached.address])
    ours = compat.Client([memcached.address])
    for step in steps:
        peer.behaviors = step
        ours.behaviors = step
    assert comparable(ours.behaviors) == comparable(peer.behaviors)


@pytest.mark.parametrize(
    "behaviors",
    [
        {"bogus": 1},
        {"hash": "bogus"},
        {"distribution": "bogus"},
        {"cas": "yes"},
        {"cas": None},
        {"remove_failed": 0},
    ],
    ids=repr,
)
def test_bad_behaviors_raise_as_pylibmc(memcached, behaviors):
    with pytest.raises(Exception) as peer_error:
        pylibmc.Client([memcached.address], behaviors=behaviors)
    with pytest.raises(Exception) as our_error:
        compat.Client([memcached.address], behaviors=behaviors)
    assert type(our_error.value).__name__ == type(peer_error.value).__name__
    if isinstance(peer_error.value, ValueError | TypeError):
        assert str(our_error.value) == str(peer_error.value)
    ours = compat.Client([memcached.address])
    before = dict(ours.behaviors)
    with pytest.raises(type(our_error.value)):
        ours.set_behaviors(behaviors)
    assert dict(ours.behaviors) == before  # a refused change changes nothing


def test_unsupported_distribution_says_so(memcached):
    with pytest.raises(compat.NotSupportedError, match="random"):
        compat.Client([memcached.address], behaviors={"distribution": "random"})


def test_behavior_dict_writes_through(memcached):
    mc = compat.Client([memcached.address])
    behaviors = mc.behaviors
    behaviors["cas"] = True
    assert mc.behaviors["cas"] == 1
    behaviors.update({"tcp_nodelay": 1, "ketama": 1})
    assert mc.behaviors["tcp_nodelay"] == 1
    assert mc.behaviors["distribution"] == "consistent ketama"
    assert mc.set_behaviors({"cas": 0}) is None
    assert mc.get_behaviors()["cas"] == 0
    with pytest.raises(AttributeError, match="british"):
        mc.behaviours  # noqa: B018


def test_behaviors_reach_the_native_client(memcached):
    mc = compat.Client([memcached.address], behaviors={"cas": True})
    assert mc.set("k", 1)
    value, cas = mc.gets("k")
    mc.behaviors = {"ketama": True, "_poll_timeout": 250}
    # Rebuilt in place: same object, still working, cas still on.
    assert mc.gets("k") == (value, cas)
    assert mc._options["distribution"] == "ketama"
    assert mc._options["timeout"] == 0.25


def test_repr_str_and_attributes(pair, memcached):
    peer, ours = pair
    assert repr(ours) == repr(peer).replace("pylibmc.client.", "")
    assert str(ours) == str(peer)
    assert ours.addresses == peer.addresses == [memcached.address]
    assert ours.binary is False
    binary = compat.Client([memcached.address], binary=True)
    assert binary.binary is True
    assert binary.set("k", "v") and binary.get("k") == "v"


def test_server_specs(memcached):
    host, port = memcached.address.rsplit(":", 1)
    for spec in (f"{host}:{port}", f"{host}:{port}:3", (compat.server_type_tcp, host, int(port))):
        mc = compat.Client([spec])
        assert mc.set("k", spec.__class__.__name__)
        assert mc.get("k") == spec.__class__.__name__
    with pytest.raises(ValueError, match="mix"):
        compat.Client([memcached.address, "/tmp/memcached.sock"])
    with pytest.raises(compat.NotSupportedError):
        compat.Client(["udp:127.0.0.1"])
    with pytest.raises(compat.Error, match="empty server list"):
        compat.Client([])


def test_unix_socket_server(memcached_unix):
    mc = compat.Client([memcached_unix.path])
    assert mc.set("k", [1]) and mc.get("k") == [1]
    assert mc.get_stats()[0][0] == f"{memcached_unix.path}:0 (0)".encode()


def test_calls_return_what_pylibmc_returns(pair):
    peer, ours = pair

    def both(call):
        results = []
        for client in (peer, ours):
            client.flush_all()
            results.append(call(client))
        assert results[1] == results[0]
        return results[1]

    both(lambda mc: mc.set("k", 1, 10))
    both(lambda mc: (mc.set("k", "v", time=10), mc.get("k")))
    both(lambda mc: (mc.get("missing"), mc.get("missing", 5)))
    both(lambda mc: (mc.set("k", 1), mc.add("k", 2), mc.add("new", 3), mc.get("k")))
    both(lambda mc: (mc.replace("missing", 1), mc.set("k", 1), mc.replace("k", 2), mc.get("k")))
    both(lambda mc: (mc.append("missing", b"x"), mc.prepend("missing", b"x")))
    both(lambda mc: (mc.set("k", b"b"), mc.append("k", b"c"), mc.prepend("k", b"a"), mc.get("k")))
    both(lambda mc: (mc.delete("missing"), mc.set("k", 1), mc.delete("k"), mc.get("k")))
    both(lambda mc: (mc.touch("missing", 10), mc.set("k", 1), mc.touch("k", 10)))
    both(lambda mc: (mc.set("n", 5), mc.incr("n"), mc.incr("n", 10), mc.decr("n", 3)))
    both(lambda mc: (mc.set("n", 1), mc.decr("n", 5)))
    both(lambda mc: (mc.set("n", 2**64 - 1), mc.incr("n")))
    both(lambda mc: (mc.set_multi({"a": 1, "b": 2}), mc.get_multi(["a", "b", "c"])))
    both(lambda mc: (mc.set_multi({"a": 1}, key_prefix="p:"), mc.get("p:a")))
    both(lambda mc: (mc.set(b"a", 1), mc.get_multi([b"a"]), mc.get_multi(["a"])))
    both(lambda mc: (mc.add_multi({"a": 1}), mc.add_multi({"a": 2, "b": 3}), mc.get("a")))
    both(lambda mc: (mc.add_multi({"a": 1}, key_prefix="q"), mc.get_multi(["a"], key_prefix="q")))
    both(lambda mc: (mc.set_multi({"a": 1, "b": 2}), mc.delete_multi(["a", "b"])))
    both(lambda mc: (mc.set("a", 1), mc.delete_multi(["a", "missing"])))
    both(lambda mc: (mc.set("pa", 1), mc.delete_multi(["a"], key_prefix="p"), mc.get("pa")))
    both(
        lambda mc: (
            mc.set_multi({"i1": 1, "i2": 5}),
            mc.incr_multi(["i1", "i2"]),
            mc.incr_multi(["1", "2"], key_prefix="i", delta=10),
            mc.get_multi(["i1", "i2"]),
        )
    )
    both(lambda mc: (mc.flush_all(), mc.flush_all(0), mc.disconnect_all()))
    both(lambda mc: (mc.set("k", 1), mc.disconnect_all(), mc.get("k")))
    both(lambda mc: mc.set("big", b"x" * 100_000, min_compress_len=10, compress_level=1))
    both(lambda mc: mc.hash("anything"))


def test_incr_multi_increments_the_others_then_raises_not_found(pair):
    for mc in pair:
        mc.set("n", 1)
        with pytest.raises(Exception) as error:
            mc.incr_multi(["n", "missing"])
        assert type(error.value).__name__ == "NotFound"
        assert mc.get("n") == 2


def test_gets_and_cas_need_the_cas_behavior(memcached):
    for module in (pylibmc, compat):
        mc = module.Client([memcached.address])
        mc.set("k", 1)
        with pytest.raises(ValueError, match="gets without cas behavior"):
            mc.gets("k")
        with pytest.raises(ValueError, match="cas without cas behavior"):
            mc.cas("k", 2, 1)
    peer = pylibmc.Client([memcached.address], behaviors={"cas": True})
    ours = compat.Client([memcached.address], behaviors={"cas": True})
    value, cas = ours.gets("k")
    assert (value, cas) == peer.gets("k")
    assert ours.gets("missing") == peer.gets("missing") == (None, None)
    assert ours.cas("k", 2, cas) is True
    assert ours.cas("k", 3, cas) is False
    assert peer.get("k") == 2
    with pytest.raises(compat.NotFound):
        ours.cas("missing", 1, cas)
    with pytest.raises(pylibmc.NotFound):
        peer.cas("missing", 1, cas)


def test_get_stats_as_pylibmc(pair, memcached):
    peer, ours = pair
    ((peer_name, peer_stats),) = peer.get_stats()
    ((our_name, our_stats),) = ours.get_stats()
    assert our_name == peer_name == f"{memcached.address} (0)".encode()
    assert set(peer_stats) <= set(our_stats)
    for name in ("pid", "version", "pointer_size", "limit_maxbytes", "threads"):
        assert our_stats[name] == peer_stats[name], name
    assert all(type(value) is bytes for value in our_stats.values())
    ((_, settings),) = ours.get_stats("settings")
    assert settings["maxbytes"] == b"67108864"


def test_get_stats_names_every_server(memcached_cluster):
    mc = compat.Client(memcached_cluster.addresses)
    names = [name for name, _ in mc.get_stats()]
    assert names == [f"{a} ({i})".encode() for i, a in enumerate(memcached_cluster.addresses)]


def test_mapping_interface(pair):
    peer, ours = pair
    for mc in (peer, ours):
        mc.flush_all()
        mc["k"] = [1]
        assert mc["k"] == [1]
        assert "k" in mc
        assert "missing" not in mc
        with pytest.raises(KeyError):
            mc["missing"]
        with pytest.raises(KeyError):
            del mc["missing"]
        del mc["k"]
        assert "k" not in mc
    ours["zero"] = 0
    assert "zero" in ours and ours["zero"] == 0  # a falsy value is still a hit


def test_clone_is_independent(memcached):
    mc = compat.Client([memcached.address], behaviors={"ketama": True, "cas": True})
    clone = mc.clone()
    assert type(clone) is compat.Client
    assert clone is not mc
    assert clone.addresses == mc.addresses and clone.binary == mc.binary
    assert dict(clone.behaviors) == dict(mc.behaviors)
    assert clone.set("k", "v") and mc.get("k") == "v"
    clone.behaviors = {"cas": False}
    assert mc.behaviors["cas"] == 1
    mc.close()
    assert clone.get("k") == "v"


def test_clone_of_a_subclass_keeps_its_class_and_overrides(memcached):
    mc = JsonClient([memcached.address])
    clone = mc.clone()
    assert type(clone) is JsonClient
    assert clone.set("k", {"a": 1})
    assert fastmc.Client(memcached.address, value_scheme="pylibmc").get_raw("k") == (
        b'{"a": 1}',
        JSON_FLAG,
    )


def test_namespace_callback(memcached):
    raw = fastmc.Client(memcached.address)
    peer = pylibmc.Client([memcached.address])
    ours = compat.Client([memcached.address])
    peer.behaviors = {"namespace": b"ns_"}
    ours.behaviors = {"namespace": b"ns_"}
    assert ours.set("k", b"ours") and peer.get("k") == b"ours"
    assert raw.get("ns_k") == b"ours"
    assert ours.get_multi(["k"]) == peer.get_multi(["k"]) == {"k": b"ours"}
    assert "namespace" not in ours.behaviors


def test_pickle_protocol_behavior(memcached):
    raw = fastmc.Client(memcached.address, value_scheme="pylibmc")
    for protocol in (0, 2, 4):
        peer = pylibmc.Client([memcached.address], behaviors={"pickle_protocol": protocol})
        ours = compat.Client([memcached.address], behaviors={"pickle_protocol": protocol})
        peer.set("peer", [1, 2])
        ours.set("ours", [1, 2])
        assert raw.get_raw("ours") == raw.get_raw("peer")


def test_noreply_behavior(memcached):
    mc = compat.Client([memcached.address], behaviors={"_noreply": True})
    assert mc.set("k", 1)
    assert mc.add("k", 2) is True  # refused, but noreply does not say
    assert mc.replace("missing", 1) is True
    assert mc.set_multi({"a": 1}) == []
    assert mc.get("k") == 1 and mc.get("a") == 1


def test_compress_level_is_checked(memcached):
    for module in (pylibmc, compat):
        mc = module.Client([memcached.address])
        with pytest.raises(ValueError, match="compress_level must be between 0 and 9"):
            mc.set("k", 1, compress_level=10)


def test_multi_calls_check_their_arguments(memcached):
    mc = compat.Client([memcached.address])
    with pytest.raises(TypeError):
        mc.set_multi([("a", 1)])
    with pytest.raises(TypeError, match="not a mapping"):
        mc.delete_multi({"a": 1})


# serialize / deserialize overrides

JSON_FLAG = 1 << 8


class JsonClient(compat.Client):
    def serialize(self, value):
        return json.dumps(value).encode(), JSON_FLAG

    def deserialize(self, data, flags):
        value = json.loads(data)
        if value == "expired":
            raise compat.CacheMiss
        return value


class PeerJsonClient(pylibmc.Client):
    serialize = JsonClient.serialize

    def deserialize(self, data, flags):
        value = json.loads(data)
        if value == "expired":
            raise pylibmc.CacheMiss
        return value


def test_base_serialize_and_deserialize_match_pylibmc(pair):
    peer, ours = pair
    for value in (b"x", "text", 5, 2**70, True, False, 1.5, None, [1], {"a": (1,)}):
        assert ours.serialize(value) == peer.serialize(value)
        data, flags = peer.serialize(value)
        assert ours.deserialize(data, flags) == peer.deserialize(data, flags)
    with pytest.raises(compat.Error, match="unknown memcached key flags"):
        ours.deserialize(b"x", 3)


def test_overrides_write_and_read_like_pylibmcs(memcached):
    raw = fastmc.Client(memcached.address, value_scheme="pylibmc")
    peer = PeerJsonClient([memcached.address])
    ours = JsonClient([memcached.address])
    for value in ([1, "two"], {"a": 1}, "text", 5):
        assert peer.set("peer", value) and ours.set("ours", value)
        assert raw.get_raw("ours") == raw.get_raw("peer")
        assert ours.get("peer") == peer.get("ours") == value
    # Compressed after serialize; deserialize sees the inflated bytes and the stored flags.
    seen = []

    class Recording(JsonClient):
        def deserialize(self, data, flags):
            seen.append((data, flags))
            return super().deserialize(data, flags)

    long_text = "x" * 1000
    assert Recording([memcached.address]).set("big", long_text, min_compress_len=10)
    assert raw.get_raw("big")[1] == JSON_FLAG | 8
    assert peer.get("big") == long_text
    assert Recording([memcached.address]).get("big") == long_text
    assert seen == [(json.dumps(long_text).encode(), JSON_FLAG | 8)]


def test_cache_miss_from_deserialize_is_a_miss(memcached):
    peer = PeerJsonClient([memcached.address], behaviors={"cas": True})
    ours = JsonClient([memcached.address], behaviors={"cas": True})
    ours.set_multi({"fresh": 1, "expired": "expired"})
    for mc in (peer, ours):
        assert mc.get("expired") is None
        assert mc.get("expired", 7) == 7
        assert mc.get_multi(["fresh", "expired"]) == {"fresh": 1}
        assert mc.get_multi(["fresh", "expired"], key_prefix="") == {"fresh": 1}
        assert mc.gets("expired") == (None, None)
        assert "expired" not in mc
        with pytest.raises(KeyError):
            mc["expired"]
    assert ours.get("fresh") == 1


def test_serialize_override_must_return_bytes_and_flags(memcached):
    class ReturnsStr(compat.Client):
        def serialize(self, value):
            return "text", 0

    class ReturnsBytes(compat.Client):
        def serialize(self, value):
            return b"x"

    with pytest.raises(TypeError, match="expected bytes"):
        ReturnsStr([memcached.address]).set("k", 1)
    with pytest.raises(ValueError, match=r"serialize\(\) must return \(bytes, flags\)"):
        ReturnsBytes([memcached.address]).set("k", 1)


def test_only_serialize_overridden_still_reads_pylibmc_values(memcached):
    class Upper(compat.Client):
        def serialize(self, value):
            if isinstance(value, str):
                return value.upper().encode(), 16
            return super().serialize(value)

    peer = pylibmc.Client([memcached.address])
    mc = Upper([memcached.address])
    assert mc.set("s", "abc") and peer.get("s") == "ABC"
    peer.set("l", [1, 2])
    peer.set("c", "z" * 500, min_compress_len=1)
    assert mc.get("l") == [1, 2]
    assert mc.get("c") == "z" * 500


def test_override_client_is_freed(memcached):
    import gc
    import weakref

    mc = JsonClient([memcached.address])
    mc.set("k", 1)
    ref = weakref.ref(mc)
    del mc
    gc.collect()
    assert ref() is None


# pools


def test_client_pool(memcached):
    mc = compat.Client([memcached.address])
    pool = compat.ClientPool(mc, 2)
    assert pool.qsize() == 2
    with pool.reserve() as first:
        assert first is not mc and isinstance(first, compat.Client)
        with pool.reserve() as second:
            assert second is not first
            with pytest.raises(queue.Empty), pool.reserve():
                pass
        assert first.set("hi", "ho") and first.delete("hi")
    assert pool.qsize() == 2
    empty = pools.ClientPool()
    empty.fill(mc, 3)
    assert empty.qsize() == 3


def test_client_pool_blocks_until_a_client_is_back(memcached):
    pool = compat.ClientPool(compat.Client([memcached.address]), 1)
    got = []
    with pool.reserve() as mc:
        waiter = threading.Thread(target=lambda: got.append(pool.get(True)))
        waiter.start()
        waiter.join(0.1)
        assert got == []
    waiter.join(5)
    assert got and got[0] is mc


def test_thread_mapped_pool(memcached):
    master = compat.Client([memcached.address])
    pool = compat.ThreadMappedPool(master)
    with pool.reserve() as mc:
        assert mc is not master
        assert mc.set("hi", "ho")
    with pool.reserve() as again:
        assert again is mc
    seen = []

    def other_thread():
        with pool.reserve() as client:
            seen.append(client)
            client.set("t", 1)
        pool.relinquish()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen[0] is not mc
    assert pool.relinquish() is mc
    assert pool.relinquish() is None
    assert len(pool) == 0


def test_one_client_shared_by_threads(memcached):
    mc = compat.Client([memcached.address])
    errors = []

    def work(n):
        try:
            for i in range(200):
                assert mc.set(f"{n}:{i}", i)
                assert mc.get(f"{n}:{i}") == i
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
