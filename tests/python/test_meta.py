# SPDX-License-Identifier: MIT
"""The meta-protocol calls and binary keys of fastmc.Client, against real memcached."""

from __future__ import annotations

import hashlib
import time

import pytest

import fastmc


@pytest.fixture
def mc(memcached):
    with fastmc.Client(memcached.address, timeout=1.0) as client:
        yield client


@pytest.fixture
def text(memcached):
    with fastmc.Client(memcached.address, timeout=1.0, protocol="text") as client:
        yield client


# ---- the classic calls give the same answers in both protocols


@pytest.mark.parametrize("protocol", ["meta", "text"])
def test_classic_calls_agree_across_protocols(memcached, protocol):
    mc = fastmc.Client(memcached.address, protocol=protocol)
    mc.flush_all()
    assert mc.set("k", "v", ttl=100)
    assert mc.get("k") == "v"
    value, cas = mc.gets("k")
    assert value == "v"
    assert mc.cas("k", "w", cas) is True
    assert mc.cas("k", "x", cas) is False
    assert mc.cas("nope", "x", cas) is None
    assert not mc.add("k", "a")
    assert mc.append("k", "!")
    assert mc.get("k") == "w!"
    assert mc.touch("k", 50)
    assert not mc.touch("missing", 50)
    assert mc.gat("k", 60) == "w!"
    assert mc.gats("k", 60)[0] == "w!"
    assert mc.incr("n") is None
    mc.set("n", 5)
    assert mc.incr("n", 3) == 8
    assert mc.decr("n", 10) == 0
    assert mc.get_many(["k", "n", "missing"]) == {"k": "w!", "n": 0}
    assert mc.gets_many(["k"])["k"][0] == "w!"
    assert mc.set_many({"a": 1, "b": 2}) == []
    assert mc.delete_many(["a", "b", "c"]) == 2
    assert mc.delete("k")
    assert not mc.delete("k")


# ---- get_item


def test_get_item_returns_the_metadata(mc):
    result = mc.store("k", "v", ttl=100)
    assert result and result.status == "stored" and result.cas > 0
    item = mc.get_item("k")
    assert isinstance(item, fastmc.MetaItem)
    assert item.value == "v"
    assert item.cas == result.cas
    assert 99 <= item.ttl <= 100
    assert item.hit_before is False
    assert item.last_access is not None and item.last_access <= 1
    assert not (item.stale or item.won or item.already_won)
    assert item.opaque is None
    assert mc.get_item("k").hit_before is True
    assert mc.get_item("missing") is None
    mc.set("forever", b"x")
    assert mc.get_item("forever").ttl == -1


def test_get_item_last_access_counts_seconds(mc):
    mc.set("k", b"v")
    mc.get_item("k")
    time.sleep(2.1)
    assert mc.get_item("k").last_access >= 1


def test_get_item_touches_on_read(mc):
    mc.set("k", b"v", ttl=10)
    assert mc.get_item("k", touch=5000).ttl >= 4999
    assert mc.get_item("k").ttl >= 4998


def test_opaque_is_echoed_and_checked(mc):
    mc.set("k", b"v")
    assert mc.get_item("k", opaque="req-1").opaque == "req-1"
    assert mc.store("k", b"w", opaque="s-2").opaque == "s-2"
    assert mc.arithmetic("n", initial=1, opaque="a-3").opaque == "a-3"
    for bad in ("has space", "o" * 32, ""):
        with pytest.raises(fastmc.InvalidArgumentError):
            mc.get_item("k", opaque=bad if bad else "\x01")
    assert mc.get("k") == b"w"


# ---- store


def test_store_returns_cas_and_compares_it(mc):
    first = mc.store("k", b"1")
    second = mc.store("k", b"2", cas=first.cas)
    assert second.stored and second.cas > first.cas
    stale = mc.store("k", b"3", cas=first.cas)
    assert stale.status == "exists" and not stale and stale.cas == 0
    assert mc.store("gone", b"x", cas=1).status == "not_found"
    assert mc.get("k") == b"2"


def test_store_modes(mc):
    assert mc.store("k", b"b", mode="replace").status == "not_stored"
    assert mc.store("k", b"b", mode="add")
    assert mc.store("k", b"x", mode="add").status == "not_stored"
    assert mc.store("k", b"c", mode="append")
    assert mc.store("k", b"a", mode="prepend")
    assert mc.get("k") == b"abc"
    with pytest.raises(fastmc.InvalidArgumentError):
        mc.store("k", b"v", mode="upsert")


def test_store_values_of_every_native_type(mc):
    for value in (b"bytes", "text", 7, True):
        mc.store("k", value)
        assert mc.get_item("k").value == value


# ---- stale-while-revalidate


def test_invalidate_serves_stale_and_hands_the_recompute_to_one_reader(mc):
    mc.set("k", "old")
    assert mc.invalidate("k", ttl=30)
    assert not mc.invalidate("missing")
    first = mc.get_item("k")
    assert (first.value, first.stale, first.won, first.already_won) == ("old", True, True, False)
    second = mc.get_item("k")
    assert (second.stale, second.won, second.already_won) == (True, False, True)
    mc.set("k", "new")
    fresh = mc.get_item("k")
    assert (fresh.value, fresh.stale, fresh.won, fresh.already_won) == ("new", False, False, False)


def test_store_with_invalidate_accepts_an_older_cas_and_stays_stale(mc):
    old = mc.store("k", b"v1").cas
    mc.set("k", b"v2")
    assert mc.store("k", b"v1b", cas=old).status == "exists"
    assert mc.store("k", b"v1b", cas=old, invalidate=True)
    item = mc.get_item("k")
    assert item.value == b"v1b" and item.stale


def test_vivify_and_recache_flags(mc):
    first = mc.get_item("new", vivify=30)
    assert first.won and first.value == b""
    assert mc.get_item("new", vivify=30).already_won
    mc.set("k", b"v", ttl=10)
    assert not mc.get_item("k", recache=5).won
    assert mc.get_item("k", recache=30).won
    assert mc.get_item("k", recache=30).already_won


def test_get_or_lease_on_a_miss(mc):
    first = mc.get_or_lease("k", 30)
    assert isinstance(first, fastmc.Lease)
    assert first.must_recompute and first.item is None and first.value is None
    second = mc.get_or_lease("k", 30)
    assert not second.must_recompute and second.item is None
    mc.set("k", "computed")
    hit = mc.get_or_lease("k", 30)
    assert not hit.must_recompute and hit.value == "computed"


def test_get_or_lease_after_invalidate_and_near_expiry(mc):
    mc.set("k", "old")
    mc.invalidate("k")
    first = mc.get_or_lease("k", 30)
    assert first.must_recompute and first.value == "old" and first.item.stale
    second = mc.get_or_lease("k", 30)
    assert not second.must_recompute and second.value == "old"
    mc.set("soon", "v", ttl=10)
    early = mc.get_or_lease("soon", 30, recache_ttl=60)
    assert early.must_recompute and early.value == "v" and not early.item.stale


# ---- arithmetic


def test_incr_and_decr_create_a_missing_counter(mc):
    assert mc.incr("n", initial=10, ttl=100) == 10
    assert mc.incr("n", 5, initial=10) == 15
    assert mc.decr("m", initial=3) == 3
    assert mc.decr("m", 5, initial=3) == 0
    assert 99 <= mc.get_item("n").ttl <= 100


def test_arithmetic_returns_cas_and_ttl_and_compares_cas(mc):
    assert mc.arithmetic("n") is None
    counter = mc.arithmetic("n", initial=1, ttl=100)
    assert isinstance(counter, fastmc.Counter)
    assert counter.value == 1 and counter.cas > 0 and counter.ttl >= 99
    assert mc.arithmetic("n", cas=counter.cas + 100) is None
    assert mc.arithmetic("n", 4, cas=counter.cas).value == 5
    assert mc.arithmetic("n", 2, decrement=True).value == 3
    with pytest.raises(fastmc.InvalidArgumentError):
        mc.arithmetic("n", -1)


# ---- text mode keeps text


def test_text_mode_refuses_meta_calls_and_binary_keys(text):
    for call in (
        lambda: text.get_item("k"),
        lambda: text.store("k", b"v"),
        lambda: text.invalidate("k"),
        lambda: text.arithmetic("k"),
        lambda: text.get_or_lease("k", 10),
        lambda: text.incr("k", initial=1),
    ):
        with pytest.raises(fastmc.InvalidArgumentError):
            call()
    with pytest.raises(fastmc.InvalidKeyError):
        text.set(b"has space", b"v")


# ---- binary keys


BINARY_KEYS = [b"\x00\x01\xff", b"has space", b"crlf\r\n", "tab\t", b"\x80" * 186]


@pytest.mark.parametrize("key", BINARY_KEYS)
def test_binary_keys_round_trip(mc, key):
    assert mc.set(key, b"v")
    assert mc.get(key) == b"v"
    assert mc.get_many([key, "plain", b"other key"]) == {key: b"v"}
    assert mc.gets_many([key])[key][0] == b"v"
    assert mc.touch(key, 100)
    assert mc.get_item(key).ttl >= 99
    assert mc.set_many({key: b"w", b"x y": b"z"}) == []
    assert mc.get(key) == b"w"
    assert mc.delete_many([key, b"x y"]) == 2
    assert mc.add(key, 1)
    assert mc.incr(key) == 2
    assert mc.delete(key)
    assert mc.get(key) is None


def test_a_binary_key_that_spells_a_text_key_is_that_key(mc, text):
    text.set("plain", b"v")
    text.set("café", b"utf8")
    assert mc.get(b"plain") == b"v"
    assert mc.get("café") == b"utf8"


@pytest.mark.parametrize("key", ["", b"\x00" * 187, "k" * 251])
def test_keys_that_cannot_be_sent_raise_before_anything_is_sent(key):
    mc = fastmc.Client("127.0.0.1:1")  # nothing listens: sending would be a ConnectionError
    for call in (lambda: mc.get(key), lambda: mc.set(key, b"v"), lambda: mc.get_many(["a", key])):
        with pytest.raises(fastmc.InvalidKeyError):
            call()


# ---- digest_long_keys


@pytest.mark.parametrize("protocol", ["meta", "text"])
def test_long_keys_are_replaced_by_a_stable_digest(memcached, protocol):
    mc = fastmc.Client(memcached.address, protocol=protocol, digest_long_keys=True)
    key = "k" * 300
    digest = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    assert mc.set(key, protocol)
    assert mc.get(key) == protocol
    assert mc.get(digest) == protocol
    assert mc.get_many([key, "other"]) == {key: protocol}
    assert mc.server_for_key(key) == mc.server_for_key(digest)
    with pytest.raises(fastmc.InvalidKeyError):
        fastmc.Client(memcached.address).get(key)


# ---- pipelines and large values


def test_get_many_over_several_servers_with_misses(memcached_cluster):
    mc = fastmc.Client(memcached_cluster.addresses, distribution="ketama")
    keys = [f"key{i}" for i in range(300)]
    mc.set_many({key: key for key in keys[::3]})
    assert mc.get_many(keys) == {key: key for key in keys[::3]}
    assert mc.delete_many(keys) == 100


def test_large_values_through_meta(memcached_factory):
    server = memcached_factory(max_item_size="4m")
    mc = fastmc.Client(server.address, timeout=5.0)
    value = bytes(range(256)) * 12_000
    mc.set("big", value)
    assert mc.get("big") == value
    assert mc.get_many(["big", "missing"]) == {"big": value}
    assert mc.get_item("big").value == value
