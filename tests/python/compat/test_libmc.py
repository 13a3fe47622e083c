# SPDX-License-Identifier: MIT
"""fastmc.compat.libmc against the real libmc (from PyPI, a test-only
dependency) on real memcached: every call's return value and last error code
match libmc's, documented examples run unchanged, and the documented
differences (docs/migration/libmc.md) hold."""

from __future__ import annotations

import os
import pickle
import threading

import libmc as peer
import pytest

import fastmc
import fastmc.compat.libmc as libmc

LIBMC_API = [
    "Client",
    "ClientPool",
    "ClientUnsafe",
    "ThreadedClient",
    "ThreadUnsafe",
    "encode_value",
    "decode_value",
    "DYNAMIC_LIBRARIES",
    "__VERSION__",
]


def test_module_has_libmcs_names_and_constant_values():
    constants = [name for name in dir(peer) if name.startswith("MC_")]
    assert len(constants) == 22
    for name in constants:
        assert getattr(libmc, name) == getattr(peer, name), name
    for name in LIBMC_API:
        assert hasattr(libmc, name), name
    assert libmc.__version__ == peer.__version__
    assert issubclass(libmc.ThreadUnsafe, Exception)
    client_methods = {name for name in dir(peer.Client) if not name.startswith("_")}
    client_methods -= {"normalize_key"}  # a cdef helper in libmc, not an API
    missing = [name for name in client_methods if not hasattr(libmc.Client, name)]
    assert missing == []


def flush(address: str) -> None:
    with fastmc.Client(address) as server:
        server.flush_all()


def both(address: str, **kwargs):
    return peer.Client([address], **kwargs), libmc.Client([address], **kwargs)


# Each scenario: a function of the client, run on a fresh server by libmc and
# then by fastmc; the return values and the last error must be the same.
SCENARIOS = {
    "get_miss": lambda mc: mc.get("absent"),
    "set_get_str": lambda mc: (mc.set("k", "v"), mc.get("k")),
    "get_raw": lambda mc: (mc.set("k", "v"), mc.get_raw("k")),
    "get_raw_miss": lambda mc: mc.get_raw("absent"),
    "gets_miss": lambda mc: mc.gets("absent"),
    "gets_hit": lambda mc: (mc.set("k", 1), mc.gets("k")[0]),
    "add_exists": lambda mc: (mc.set("k", 1), mc.add("k", 2), mc.get("k")),
    "add_new": lambda mc: (mc.add("k", 2), mc.get("k")),
    "replace_missing": lambda mc: mc.replace("absent", 1),
    "replace": lambda mc: (mc.set("k", 1), mc.replace("k", 2), mc.get("k")),
    "append": lambda mc: (mc.set("k", b"a"), mc.append("k", b"b"), mc.get("k")),
    "append_missing": lambda mc: mc.append("absent", b"b"),
    "prepend": lambda mc: (mc.set("k", b"a"), mc.prepend("k", b"b"), mc.get("k")),
    "prepend_missing": lambda mc: mc.prepend("absent", b"b"),
    "delete": lambda mc: (mc.set("k", 1), mc.delete("k"), mc.get("k")),
    "delete_missing_is_true": lambda mc: mc.delete("absent"),
    "incr": lambda mc: (mc.set("n", 5), mc.incr("n", 3), mc.decr("n", 100), mc.get("n")),
    "incr_missing": lambda mc: (mc.incr("absent"), mc.decr("absent")),
    "incr_wraps": lambda mc: (mc.set("n", 2**64 - 1), mc.incr("n")),
    "incr_not_a_number": lambda mc: (mc.set("s", b"abc"), mc.incr("s")),
    "touch": lambda mc: (mc.set("k", 1), mc.touch("k", 100), mc.touch("absent", 100)),
    "expire": lambda mc: (mc.set("k", 1), mc.expire("k"), mc.get("k"), mc.expire("absent")),
    "cas": lambda mc: (mc.set("k", 1), mc.cas("k", 2, 0, mc.gets("k")[1]), mc.get("k")),
    "cas_conflict": lambda mc: (mc.set("k", 1), mc.cas("k", 2, 0, mc.gets("k")[1] + 1)),
    "cas_missing": lambda mc: mc.cas("absent", 2, 0, 1),
    "set_multi": lambda mc: (mc.set_multi({"a": 1, "b": "two"}), mc.get_multi(["a", "b"])),
    "set_multi_time": lambda mc: (mc.set_multi({"a": 1}, 100, False), mc.get("a")),
    "get_multi": lambda mc: (mc.set("a", 1), mc.get_multi(["a", "absent"])),
    "multi_calls_without_keys": lambda mc: (
        mc.get_multi([]),
        mc.get_last_error(),
        mc.set_multi({}),
        mc.set_multi({}, return_failure=True),
        mc.delete_multi([]),
    ),
    "get_list": lambda mc: (mc.set("a", 1), mc.get_list(["a", "absent", "a"])),
    "delete_multi": lambda mc: (mc.set("a", 1), mc.delete_multi(["a", "absent"])),
    "delete_multi_failures": lambda mc: mc.delete_multi(["a", "absent"], return_failure=True),
    "append_multi": lambda mc: (
        mc.set("a", b"1"),
        mc.append_multi(["a", "absent"], b"2"),
        mc.prepend_multi(["a"], b"0"),
        mc.get("a"),
    ),
    "append_multi_too_large": lambda mc: mc.append_multi(["a"], b"x" * 1_000_001),
    "invalid_key_get": lambda mc: mc.get("a b"),
    "invalid_key_set": lambda mc: mc.set("a b", 1),
    "too_long_key": lambda mc: (mc.set("k" * 251, 1), mc.get("k" * 251)),
    "newline_key": lambda mc: mc.set("a\nb", 1),
    "invalid_key_in_get_multi_skipped": lambda mc: (mc.set("a", 1), mc.get_multi(["a b", "a"])),
    "invalid_key_in_set_multi": lambda mc: (mc.set_multi({"a b": 1, "c": 5}), mc.get("c")),
    "invalid_key_in_delete_multi": lambda mc: (
        mc.set("c", 1),
        mc.delete_multi(["a b", "c"]),
        mc.get("c"),
    ),
    "unicode_key": lambda mc: (mc.set("ключ", 1), mc.get("ключ")),
    "none_value": lambda mc: (mc.set("k", None), mc.get_raw("k"), mc.get("k")),
    "none_value_conditional": lambda mc: (
        mc.add("k", None),
        mc.replace("k", None),
        mc.cas("k", None, 0, mc.gets("k")[1]),
        mc.get_raw("k"),
    ),
    "unserialisable_value": lambda mc: mc.set("k", lambda: 1),
    "too_large_unsplit": lambda mc: mc.set("k", b"x" * 11_000_000),
    "negative_ttl": lambda mc: (mc.set("k", 1, -1), mc.get("k")),
    "ttl_keyword": lambda mc: (mc.set("k", 1, time=100), mc.get("k")),
    "compress_keyword": lambda mc: (mc.set("k", b"a" * 500, compress=False), mc.get_raw("k")),
    "set_raw": lambda mc: (mc.set_raw("k", b"12", 0, 2), mc.get("k"), mc.get_raw("k")),
    "set_raw_bad_zlib_reads_none": lambda mc: (mc.set_raw("k", b"abc", 0, 16), mc.get("k")),
    "corrupt_pickle_reads_none": lambda mc: (
        mc.set_raw("k", b"garbage", 0, 1),
        mc.set("a", 1),
        mc.get("k"),
        mc.get_multi(["k", "a"]),
    ),
    "corrupt_marshal_reads_none": lambda mc: (mc.set_raw("k", b"\xff", 0, 32), mc.get("k")),
    "quit": lambda mc: (mc.set("k", 1), mc.quit(), mc.get("k")),
    "flush_all_disabled": lambda mc: mc.flush_all(),
    "flush_all": lambda mc: (mc.set("k", 1), mc.toggle_flush_all_feature(True), mc.get("k")),
    "version": lambda mc: list(mc.version().values()),
    "stats_types": lambda mc: {
        name: type(value).__name__
        for name, value in next(iter(mc.stats().values())).items()
        if name in ("pid", "version", "rusage_user", "curr_items")
    },
    "append_str_refused": lambda mc: mc.append("k", "text"),
}


def outcome(client, scenario):
    try:
        result = scenario(client)
    except Exception as error:
        result = ("raises", type(error).__name__, str(error))
    return result, client.get_last_error(), client.get_last_strerror()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_results_and_error_codes_as_libmc(memcached, name):
    scenario = SCENARIOS[name]
    results = []
    for client in both(memcached.address):
        flush(memcached.address)
        results.append(outcome(client, scenario))
    assert results[1] == results[0]


def test_flush_all_returns_the_servers_once_enabled(memcached_cluster):
    addresses = memcached_cluster.addresses
    peer_client, ours = peer.Client(addresses), libmc.Client(addresses)
    for client in (peer_client, ours):
        with pytest.raises(RuntimeError, match="toggle_flush_all_feature"):
            client.flush_all()
        assert client.get_last_error() == libmc.MC_RETURN_PROGRAMMING_ERR
        client.toggle_flush_all_feature(True)
    ours.set("k", 1)
    assert sorted(ours.flush_all()) == sorted(peer_client.flush_all()) == sorted(addresses)
    assert ours.get("k") is None


def test_server_down_returns_failure_values_and_codes(memcached):
    dead = memcached.address
    memcached.kill()
    for client in both(dead):
        assert client.get("k") is None
        assert client.get_last_error() == libmc.MC_RETURN_MC_SERVER_ERR
        assert client.set("k", 1) is False
        assert client.get_last_error() == libmc.MC_RETURN_MC_SERVER_ERR
        assert client.get_multi(["k"]) == {}
        assert client.delete("k") is False
        assert client.incr("k") is None
        assert client.touch("k", 1) is False
        assert client.cas("k", 1, 0, 1) is False
        assert client.set_multi({"a": 1}) is False
        assert client.delete_multi(["a"]) is False
        assert client.version() == {}
        assert client.stats() == {dead: {}}
        assert client.get_last_error() == libmc.MC_RETURN_MC_SERVER_ERR
        assert client.get("k") is None


def test_one_server_down_others_still_answer(memcached_cluster):
    addresses = memcached_cluster.addresses
    peer_client, ours = peer.Client(addresses), libmc.Client(addresses)
    keys = [f"key{i}" for i in range(60)]
    assert ours.set_multi(dict.fromkeys(keys, 1))
    memcached_cluster[0].kill()
    for client in (peer_client, ours):
        assert sorted(client.version()) == sorted(addresses[1:])
        stats = client.stats()
        assert stats[addresses[0]] == {} and all(stats[a] for a in addresses[1:])
    live = [key for key in keys if ours.get_host_by_key(key) != addresses[0]]
    assert sorted(ours.get_multi(keys)) == sorted(live)


def test_failover_moves_a_dead_servers_keys_as_libmc_does(memcached_cluster):
    addresses = memcached_cluster.addresses
    peer_client = peer.Client(addresses, failover=True)
    ours = libmc.Client(addresses, failover=True)
    keys = [f"key{i}" for i in range(60)]
    lost = [key for key in keys if ours.get_host_by_key(key) == addresses[0]]
    assert lost
    memcached_cluster[0].kill()
    ours.get(lost[0])  # the failure that takes the server down
    for client in (peer_client, ours):
        assert all(client.set(key, 2) for key in lost)
    for key in lost:
        assert peer_client.get(key) == ours.get(key) == 2
        assert ours.get_realtime_host_by_key(key) == peer_client.get_realtime_host_by_key(key)
        assert ours.get_realtime_host_by_key(key) != addresses[0]
        assert ours.get_host_by_key(key) == peer_client.get_host_by_key(key) == addresses[0]
    unfailed, peer_unfailed = libmc.Client(addresses), peer.Client(addresses)
    for client in (unfailed, peer_unfailed):
        client.get(lost[0])
        assert client.set(lost[0], 3) is False
        assert client.get_realtime_host_by_key(lost[0]) is None


def test_noreply_storage_reports_success_as_libmc(memcached):
    results = []
    for client in both(memcached.address, noreply=True):
        flush(memcached.address)
        results.append(
            (
                client.set("k", 1),
                client.add("k", 2),
                client.replace("absent", 1),
                client.delete("absent"),
                client.incr("k"),
                client.touch("absent", 1),
                client.set_multi({"a": 1}),
                client.get_multi(["k", "a"]),
            )
        )
    assert results[1] == results[0]


def test_set_multi_and_delete_multi_report_real_failures(memcached):
    # libmc 1.4.17 reports every key as failed whenever return_failure is
    # set, even when all were stored (docs/migration/libmc.md); fastmc
    # reports the keys that were not stored, as wire bytes like libmc.
    mc = libmc.Client([memcached.address], prefix="p:")
    assert mc.set_multi({"a": 1, "b": 2}, return_failure=True) == (True, [])
    assert mc.set_multi({"a": 1, "a b": 2}, return_failure=True) == (False, [b"p:a b"])
    assert mc.delete_multi(["a", "x y"], return_failure=True) == (False, [b"p:x y"])
    assert mc.get("a") is None
    assert mc.delete_multi(["a", "b"], return_failure=True) == (True, [])


def test_prefix_goes_first_unless_the_key_starts_with_a_question_mark(memcached):
    for client in both(memcached.address, prefix="pre:"):
        flush(memcached.address)
        assert client.set("k", b"1") and client.set("?q", b"2")
        with fastmc.Client(memcached.address) as raw:
            assert raw.get_many(["pre:k", "?pre:q", "k", "?q"]) == {"pre:k": b"1", "?pre:q": b"2"}
        assert client.get_multi(["k", "?q"]) == {"k": b"1", "?q": b"2"}
        assert client.get_raw("?q") == (b"2", 0)


def test_encoding_applies_to_str_keys(memcached):
    for client in both(memcached.address, encoding="latin-1"):
        flush(memcached.address)
        assert client.set("clé", b"1")
        with fastmc.Client(memcached.address) as raw:
            assert raw.get("clé".encode("latin-1")) == b"1"
        assert client.get("clé") == b"1"


def test_a_client_can_be_shared_by_threads_and_keeps_each_threads_error(memcached):
    # libmc raises ThreadUnsafe here; fastmc's client is thread-safe.
    mc = libmc.Client([memcached.address])
    assert mc.set("k", 1)
    outcomes = []

    def work():
        outcomes.append((mc.set("k", 2), mc.get("a b"), mc.get_last_error()))

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert outcomes == [(True, None, libmc.MC_RETURN_INVALID_KEY_ERR)]
    assert mc.get_last_error() == libmc.MC_RETURN_OK
    assert mc.get("k") == 2
    mc.reset()
    mc.clear_thread_ident()


def test_threaded_client_and_pool(memcached):
    threaded = libmc.ThreadedClient([memcached.address])
    pool = libmc.ClientPool([memcached.address])
    pool.config(libmc.MC_INITIAL_CLIENTS, 2)
    pool.config(libmc.MC_MAX_CLIENTS, 4)
    pool.config(libmc.MC_MAX_GROWTH, 2)
    assert pool.servers == [memcached.address] and pool.comp_threshold == 0
    results = []

    def work(index):
        with pool.client() as mc:
            results.append(mc.set(f"k{index}", index) and threaded.get(f"k{index}") == index)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert results == [True] * 8
    assert threaded.update_servers([memcached.address])
    assert pool.update_servers([memcached.address])


def test_config_sets_the_timeouts(memcached):
    mc = libmc.Client([memcached.address])
    mc.config(libmc.MC_POLL_TIMEOUT, 50)
    mc.config(libmc.MC_CONNECT_TIMEOUT, 50)
    mc.config(libmc.MC_RETRY_TIMEOUT, 1)
    mc.config(libmc.MC_SET_FAILOVER, 0)
    mc.config(99, 1)  # unknown: ignored, as libmc does
    assert mc.set("k", 1) and mc.get("k") == 1
    memcached.pause()
    try:
        assert mc.get("k") is None
        assert mc.get_last_error() == libmc.MC_RETURN_POLL_TIMEOUT_ERR
    finally:
        memcached.resume()


def test_update_servers_keeps_the_count_and_the_aliases(memcached_cluster):
    addresses = memcached_cluster.addresses
    specs = [f"{a} cache{i}" for i, a in enumerate(addresses)]
    mc = libmc.Client(specs)
    assert mc.update_servers(specs[:2]) is False
    assert mc.update_servers([f"{a} other{i}" for i, a in enumerate(addresses)]) is False
    assert mc.servers == specs
    moved = [specs[0], specs[1], f"{addresses[0]} cache2"]
    assert mc.update_servers(moved) is True
    assert mc.servers == moved
    assert mc.set("k", 1) and mc.get("k") == 1


def test_aliases_name_the_servers(memcached_cluster):
    specs = [f"{a} cache{i}" for i, a in enumerate(memcached_cluster.addresses)]
    peer_client, ours = peer.Client(specs), libmc.Client(specs)
    assert sorted(ours.version()) == sorted(peer_client.version())
    assert sorted(ours.stats()) == sorted(peer_client.stats())
    for key in ("a", "b", "user:1"):
        assert ours.get_host_by_key(key) == peer_client.get_host_by_key(key)
        assert ours.get_realtime_host_by_key(key) == peer_client.get_realtime_host_by_key(key)


def test_client_pickles_and_subclasses(memcached):
    mc = libmc.Client([memcached.address], comp_threshold=10, prefix="p")
    copy = pickle.loads(pickle.dumps(mc))
    assert type(copy) is libmc.Client and copy.servers == mc.servers
    assert copy.comp_threshold == 10
    assert mc.set("k", 1) and copy.get("k") == 1

    class Mine(libmc.Client):
        def get(self, key):
            return ("mine", super().get(key))

    assert Mine([memcached.address], prefix="p").get("k") == ("mine", 1)
    with pytest.raises(AttributeError):
        mc.servers = []


def test_readme_usage_runs_unchanged(memcached_cluster):
    # libmc's README "Usage", with the fixture's servers for localhost's.
    addresses = memcached_cluster.addresses
    mc = libmc.Client([addresses[0], addresses[1]])
    mc.set("foo", "bar")
    assert mc.get("foo") == "bar"


def test_readme_configuration_runs_unchanged(memcached_cluster):
    # libmc's README "Configuration" example: hosts that may not resolve are
    # only named, never contacted, until a key routes to them.
    from fastmc.compat.libmc import (
        MC_CONNECT_TIMEOUT,
        MC_HASH_MD5,
        MC_POLL_TIMEOUT,
        MC_RETRY_TIMEOUT,
    )

    addresses = memcached_cluster.addresses
    mc = libmc.Client(
        [
            addresses[0],
            addresses[1],
            "remote_host",
            "remote_host mc.mike",
            "remote_host:11213 mc.oscar",
        ],
        do_split=True,
        comp_threshold=0,
        noreply=False,
        prefix=None,
        hash_fn=MC_HASH_MD5,
        failover=False,
    )
    mc.config(MC_POLL_TIMEOUT, 100)  # 100 ms
    mc.config(MC_CONNECT_TIMEOUT, 300)  # 300 ms
    mc.config(MC_RETRY_TIMEOUT, 5)  # 5 s
    reference = peer.Client(
        [
            addresses[0],
            addresses[1],
            "remote_host",
            "remote_host mc.mike",
            "remote_host:11213 mc.oscar",
        ]
    )
    # Keys that route to the live servers are stored and read as by libmc.
    # (Two entries share remote_host:11211 here: the native client routes
    # them apart, but names both by the last alias, docs/migration/libmc.md.)
    live = [f"key{i}" for i in range(50) if reference.get_host_by_key(f"key{i}") in addresses]
    assert live
    for key in live:
        assert mc.get_host_by_key(key) == reference.get_host_by_key(key)
        assert mc.set(key, key) and reference.get(key) == key


def test_a_forked_child_writes_with_its_own_connections(memcached):
    # libmc raises ThreadUnsafe for a write after fork (the pid is part of
    # its thread identity); fastmc gives the child fresh connections.
    mc = libmc.Client([memcached.address])
    assert mc.set("k", 1)
    child = os.fork()
    if child == 0:
        os._exit(0 if mc.set("k", 2) and mc.get("k") == 2 else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert mc.get("k") == 2 and mc.set("k", 3) and mc.get("k") == 3


def test_add_and_replace_never_split_a_value(memcached_factory):
    # Chunks and an index cannot be stored on add's or replace's condition:
    # libmc sends the whole value, which the server refuses as too large.
    server = memcached_factory(memory_mb=64)
    big = b"x" * 1_500_000
    for client in both(server.address):
        flush(server.address)
        assert client.set("k", b"old")
        assert client.add("k", big) is False
        assert client.add("new", big) is False
        assert client.replace("k", big) is False
        assert client.get_last_error() == libmc.MC_RETURN_MC_SERVER_ERR
        assert client.get("k") == b"old" and client.get("new") is None
