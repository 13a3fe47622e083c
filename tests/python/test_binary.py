# SPDX-License-Identifier: MIT
"""fastmc.Client(protocol="binary") against memcached speaking only the binary protocol."""

from __future__ import annotations

import pytest

import fastmc


@pytest.fixture
def binary_server(memcached_factory):
    return memcached_factory(protocol="binary", max_item_size="1m")


@pytest.fixture
def mc(binary_server):
    with fastmc.Client(binary_server.address, protocol="binary", timeout=1.0) as client:
        yield client


def test_round_trips_every_native_type(mc):
    values = {
        "bytes": b"\x00\xffbinary\r\nEND\r\n",
        "empty": b"",
        "text": "héllo wörld",
        "int": -42,
        "large_int": 2**100,
        "true": True,
    }
    for key, value in values.items():
        assert mc.set(key, value) is True
    for key, value in values.items():
        got = mc.get(key)
        assert got == value and type(got) is type(value), key
    assert mc.get_many([*values, "missing"]) == values


def test_conditional_stores_cas_and_delete(mc):
    assert mc.add("k", b"b") is True
    assert mc.add("k", b"x") is False
    assert mc.append("k", b"c") is True
    assert mc.prepend("k", b"a") is True
    assert mc.replace("missing", b"v") is False
    value, cas = mc.gets("k")
    assert value == b"abc" and cas
    assert mc.cas("k", b"new", cas) is True
    assert mc.cas("k", b"newer", cas) is False
    assert mc.get("k") == b"new"
    assert mc.delete("k") is True
    assert mc.delete("k") is False


def test_incr_decr_touch_and_gat(mc):
    assert mc.incr("n") is None
    mc.set("n", 10)
    assert mc.incr("n", 5) == 15
    assert mc.decr("n", 100) == 0
    assert mc.touch("n", 100) is True
    assert mc.touch("missing", 100) is False
    assert mc.gat("n", 100) == 0
    assert mc.gat("missing", 100) is None


def test_set_many_reports_the_keys_that_failed(mc):
    failed = mc.set_many({"a": b"1", "big": b"x" * (2 * 1024 * 1024), "c": b"3"})
    assert failed == ["big"]
    assert mc.get_many(["a", "big", "c"]) == {"a": b"1", "c": b"3"}


def test_delete_many_flush_stats_and_version(mc, binary_server):
    mc.set_many({"a": b"1", "b": b"2"})
    mc.delete_many(["a", "b", "missing"])
    assert mc.get_many(["a", "b"]) == {}
    mc.set("k", b"v")
    mc.flush_all()
    assert mc.get("k") is None
    stats = mc.stats()
    ((server, values),) = stats.items()
    assert int(values["pid"]) == binary_server.pid
    assert set(mc.version().values()) == {mc.version()[server]}


def test_large_values_round_trip(mc):
    value = bytes(range(256)) * 3000  # 768000 bytes: read straight into the result
    assert mc.set("large", value) is True
    assert mc.get("large") == value
    assert mc.get_many(["large", "missing"]) == {"large": value}


def test_keys_may_hold_any_bytes_over_binary(mc):
    """Binary frames keys by length, so spaces, control bytes and NUL are allowed."""
    for key in (b"a\x00b", b"with space", b"line\r\nbreak", "tab\tkey"):
        assert mc.set(key, b"v:" + repr(key).encode()) is True
    assert mc.get(b"a\x00b") == b"v:" + repr(b"a\x00b").encode()
    assert mc.get(b"a") is None
    assert mc.get_many([b"with space", b"line\r\nbreak"]) == {
        b"with space": b"v:" + repr(b"with space").encode(),
        b"line\r\nbreak": b"v:" + repr(b"line\r\nbreak").encode(),
    }
    assert mc.set(b"k" * 250, b"v") is True
    with pytest.raises(fastmc.InvalidKeyError):
        mc.set(b"k" * 251, b"v")
    with pytest.raises(fastmc.InvalidKeyError):
        mc.get(b"")


def test_the_same_keys_are_refused_over_text(memcached):
    with (
        fastmc.Client(memcached.address, protocol="text") as text,
        pytest.raises(fastmc.InvalidKeyError),
    ):
        text.set(b"a\x00b", b"v")


def test_too_large_value_is_a_value_error_and_the_connection_survives(mc):
    with pytest.raises(fastmc.ValueTooLargeError):
        mc.set("big", b"x" * (2 * 1024 * 1024))
    assert mc.set("after", b"ok") is True


def test_unknown_protocol_names_the_choices(binary_server):
    with pytest.raises(ValueError, match="binary"):
        fastmc.Client(binary_server.address, protocol="binray")
