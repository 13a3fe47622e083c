# SPDX-License-Identifier: MIT
"""noreply as fire and forget, through the binding and the compat modules,
against real memcached servers.

A noreply call returns without waiting for the server where a fence can
follow it (an `mn` with protocol "meta" and "text_pipelined", the compat
modules', a noop with "binary"), and awaits and drops the answer elsewhere
("text"). Either way the next call on the connection reads its own reply, a
failure to reach the server is still reported, and a refused noreply
request changes nothing for the calls after it. delete_many and flush_all
take noreply the same way.
"""

from __future__ import annotations

import threading
import time

import pytest

import fastmc
import fastmc.compat.libmc as libmc
import fastmc.compat.pylibmc as pylibmc
import fastmc.compat.pymemcache as pymemcache

PROTOCOLS = ["meta", "text_pipelined", "text", "binary"]
# Where noreply is fire and forget: the call returns once written.
FIRE_AND_FORGET = ["meta", "text_pipelined", "binary"]


def single_connection(address: str, protocol: str) -> fastmc.Client:
    return fastmc.Client(address, protocol=protocol, max_connections_per_server=1, timeout=2)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_burst_of_noreply_sets_then_a_get_reads_the_last_value(memcached, protocol):
    with single_connection(memcached.address, protocol) as mc:
        for i in range(1000):
            assert mc.set("k", b"value %d" % i, noreply=True) is True
        assert mc.get("k") == b"value 999"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_get_after_a_noreply_call_on_the_same_connection_reads_its_own_value(memcached, protocol):
    with single_connection(memcached.address, protocol) as mc:
        for i in range(300):
            key = f"k{i % 5}"
            assert mc.set(key, b"%d" % i, noreply=True) is True
            assert mc.get(key) == b"%d" % i
            assert mc.get("absent") is None
            assert mc.delete(key, noreply=True) is True
            assert mc.get(key) is None


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_refused_noreply_request_does_not_shift_the_next_replies(memcached_factory, protocol):
    server = memcached_factory(max_item_size="1m")
    with single_connection(server.address, protocol) as mc:
        mc.set("other", b"kept")
        mc.set("word", b"not a number")
        mc.set("n", b"1")
        for round in range(3):
            assert mc.set("big", b"x" * 2_000_000, noreply=True) is True
            assert mc.get("other") == b"kept"
            assert mc.incr("word", 1, noreply=True) is None
            assert mc.incr("n", 1) == 2 + round
            assert mc.get_many(["other", "n", "big"]) == {
                "other": b"kept",
                "n": b"%d" % (2 + round),
            }
        assert mc.get("word") == b"not a number"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_add_with_noreply_on_an_existing_key_is_true_and_stores_nothing(memcached, protocol):
    with single_connection(memcached.address, protocol) as mc:
        mc.set("k", b"first")
        assert mc.add("k", b"second", noreply=True) is True
        assert mc.get("k") == b"first"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_set_many_with_noreply_stores_every_entry(memcached, protocol):
    entries = {f"key{i}": b"v%d" % i for i in range(150)}
    with single_connection(memcached.address, protocol) as mc:
        assert mc.set_many(entries, noreply=True) == []
        assert mc.get_many(list(entries)) == entries


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_threads_sharing_one_client_read_no_wrong_value(memcached, protocol):
    # One connection: each thread's read follows its own write on it.
    mc = single_connection(memcached.address, protocol)
    wrong: list[str] = []

    def run(thread: int) -> None:
        key = f"thread{thread}"
        for i in range(200):
            value = b"%d:%d" % (thread, i)
            mc.set(key, value, noreply=i % 3 != 0)
            if i % 4 == 0:
                mc.delete(f"scratch{thread}", noreply=True)
            got = mc.get(key)
            if got != value:
                wrong.append(f"{key}: {got!r} instead of {value!r}")

    threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    mc.close()
    assert wrong == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_server_that_cannot_be_reached_is_still_reported(protocol):
    with fastmc.Client("127.0.0.1:1", timeout=0.2, protocol=protocol) as mc:
        with pytest.raises(fastmc.ConnectionError):
            mc.set("k", b"v", noreply=True)
        with pytest.raises(fastmc.ConnectionError):
            mc.set_many({"k": b"v"}, noreply=True)
        with pytest.raises(fastmc.ConnectionError):
            mc.delete_many(["k", "j"], noreply=True)
        with pytest.raises(fastmc.ConnectionError):
            mc.flush_all(noreply=True)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_delete_many_with_noreply_deletes_every_key(memcached, protocol):
    keys = [f"key{i}" for i in range(150)]
    with single_connection(memcached.address, protocol) as mc:
        for round in range(3):
            mc.set_many({key: b"v" for key in keys})
            # Answered as if every key existed: the count is not known.
            assert mc.delete_many([*keys, "never_set"], noreply=True) == len(keys) + 1
            assert mc.get_many(keys) == {}
            mc.set("after", b"%d" % round)
            assert mc.get("after") == b"%d" % round
        mc.set(keys[0], b"v")
        assert mc.delete_many(keys) == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_flush_all_with_noreply_empties_the_server(memcached, protocol):
    with single_connection(memcached.address, protocol) as mc:
        for round in range(3):
            mc.set_many({"a": b"1", "b": b"2"})
            assert mc.flush_all(noreply=True) is None
            assert mc.get_many(["a", "b"]) == {}
            mc.set("a", b"after %d" % round)
            assert mc.get("a") == b"after %d" % round


@pytest.mark.parametrize("protocol", FIRE_AND_FORGET)
def test_noreply_calls_return_without_awaiting_a_stopped_server(memcached_factory, protocol):
    # A stopped server (SIGSTOP) reads nothing: an answered call would wait
    # out its timeout; a fire-and-forget one returns once written, and its
    # writes land once the server runs again.
    server = memcached_factory()
    with fastmc.Client(
        server.address, protocol=protocol, max_connections_per_server=1, timeout=1.0
    ) as mc:
        mc.set("gone", b"1", noreply=True)  # connects (text_pipelined: and asks for meta)
        server.pause()
        try:
            started = time.monotonic()
            assert mc.set("k", b"quiet", noreply=True) is True
            assert mc.set_many({"a": b"1", "b": b"2"}, noreply=True) == []
            assert mc.delete_many(["gone"], noreply=True) == 1
            assert mc.incr("n", 1, noreply=True) is None
            elapsed = time.monotonic() - started
        finally:
            server.resume()
        assert elapsed < 0.5
        assert mc.get_many(["k", "a", "b", "gone"]) == {"k": b"quiet", "a": b"1", "b": b"2"}
        server.pause()
        try:
            started = time.monotonic()
            mc.flush_all(noreply=True)
            elapsed = time.monotonic() - started
        finally:
            server.resume()
        assert elapsed < 0.5
        assert mc.get("k") is None


def test_binary_noreply_failures_are_dropped_and_the_next_call_reads_its_own(memcached_factory):
    server = memcached_factory(protocol="binary", max_item_size="1m")
    with single_connection(server.address, "binary") as mc:
        mc.set("k", b"first")
        mc.set("word", b"abc")
        for _ in range(3):
            assert mc.add("k", b"second", noreply=True) is True  # addq: exists, dropped
            assert mc.delete("missing", noreply=True) is True  # deleteq: not found, dropped
            assert mc.set("big", b"x" * 2_000_000, noreply=True) is True  # too large
            assert mc.get("k") == b"first"
            assert mc.incr("word", 1, noreply=True) is None  # non-numeric
            assert mc.get_many(["k", "word", "big"]) == {"k": b"first", "word": b"abc"}


# The compat modules, with their peers' noreply switches ----------------------


def test_pymemcache_default_noreply_sets_then_reads_back(memcached):
    host, port = memcached.address.rsplit(":", 1)
    client = pymemcache.Client((host, int(port)))  # default_noreply=True
    for i in range(1000):
        assert client.set("k", b"%d" % i) is True
    assert client.get("k") == b"999"
    # pymemcache's documented consequence: add answers True and stores nothing.
    assert client.add("k", b"other") is True
    assert client.get("k") == b"999"
    assert client.set_many({"a": b"1", "b": b"2"}) == []
    assert client.get_many(["a", "b"]) == {"a": b"1", "b": b"2"}
    assert client.delete("a") is True
    assert client.get("a") is None


def test_pymemcache_noreply_failures_never_reach_the_next_call(memcached_factory):
    server = memcached_factory(max_item_size="1m")
    host, port = server.address.rsplit(":", 1)
    client = pymemcache.Client((host, int(port)))
    client.set("n", b"5", noreply=False)
    client.set("word", b"abc", noreply=False)
    assert client.set("big", b"x" * 2_000_000) is True
    assert client.incr("word", 1, noreply=True) is None
    assert client.incr("n", 1, noreply=False) == 6
    assert client.get("big") is None


def test_libmc_noreply_client_sets_then_reads_back(memcached):
    client = libmc.Client([memcached.address], noreply=True)
    for i in range(1000):
        assert client.set("k", i) is True
    assert client.get("k") == 999
    assert client.add("k", 1) is True
    assert client.get("k") == 999
    assert client.set_multi({"a": 1, "b": 2}) is True
    assert client.get_multi(["a", "b"]) == {"a": 1, "b": 2}


def test_pylibmc_noreply_behavior_sets_then_reads_back(memcached):
    client = pylibmc.Client([memcached.address], behaviors={"_noreply": True})
    for i in range(1000):
        assert client.set("k", i) is True
    assert client.get("k") == 999
    assert client.set_multi({"a": 1, "b": 2}) == []
    assert client.get_multi(["a", "b"]) == {"a": 1, "b": 2}


def test_pylibmc_binary_with_the_noreply_behavior_is_fire_and_forget(memcached_factory):
    server = memcached_factory(protocol="binary")
    client = pylibmc.Client([server.address], binary=True, behaviors={"_noreply": True})
    assert client.set("warm", 1) is True  # connects
    server.pause()
    try:
        started = time.monotonic()
        for i in range(100):
            assert client.set("k", i) is True
        assert client.set_multi({"a": 1, "b": 2}) == []
        elapsed = time.monotonic() - started
    finally:
        server.resume()
    assert elapsed < 0.5
    assert client.get("k") == 99
    assert client.get_multi(["a", "b"]) == {"a": 1, "b": 2}
    assert client.add("k", 0) is True  # addq of an existing key: refused, dropped
    assert client.get("k") == 99
