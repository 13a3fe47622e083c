# SPDX-License-Identifier: MIT
"""Values written by the real pymemcache read back identically through
fastmc.compat.pymemcache, and the reverse, for every serde configuration a
pymemcache user has: none, pickle_serde, PickleSerde(protocol),
CompressedSerde, and a serde object of their own. The stored bytes and flags
must be the same too, so a fleet can mix both clients."""

from __future__ import annotations

import json
import pickle

import pymemcache.client.base as peer_base
import pymemcache.serde as peer_serde
import pytest

import fastmc
from fastmc.compat.pymemcache import serde as compat_serde
from fastmc.compat.pymemcache.client import base as compat_base


class Point:
    """A user's class: stored pickled."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


class JsonSerde:
    """A serde of the user's own (pymemcache's documented JSON example)."""

    def serialize(self, key, value):
        if isinstance(value, str):
            return value, 1
        return json.dumps(value), 2

    def deserialize(self, key, value, flags):
        if flags == 1:
            return value.decode()
        if flags == 2:
            return json.loads(value)
        raise ValueError(f"Unknown flags for value: {flags}")


VALUES = {
    "bytes": b"raw\x00\xffbytes",
    "empty": b"",
    "str": "h\u00e9llo w\u00f6rld",
    "int": 42,
    "negative": -7,
    "large_int": 2**70,
    "true": True,
    "false": False,
    "float": 1.5,
    "list": [1, "two", 3.0],
    "dict": {"a": 1, "b": [2, 3]},
    "custom": Point(1, 2),
    "long_str": "compress me " * 100,
    "long_list": list(range(300)),
}
# pymemcache encodes the serde's str output as ascii: non-ASCII str is left out.
JSON_VALUES = ["int", "negative", "true", "false", "float", "list", "dict"]
# pymemcache without a serde stores str(value) encoded as ascii.
ASCII_VALUES = ["bytes", "empty", "int", "negative", "large_int", "true", "false", "float"]

SERDES = {
    "none": (None, None),
    "pickle_serde": (peer_serde.pickle_serde, compat_serde.pickle_serde),
    "pickle_protocol_2": (peer_serde.PickleSerde(2), compat_serde.PickleSerde(2)),
    "compressed": (peer_serde.CompressedSerde(), compat_serde.CompressedSerde()),
    "compressed_small": (
        peer_serde.CompressedSerde(min_compress_len=20),
        compat_serde.CompressedSerde(min_compress_len=20),
    ),
    "json": (JsonSerde(), JsonSerde()),
}


def values_for(serde_name):
    if serde_name == "compressed_small":
        # pymemcache's CompressedSerde hands zlib the str its serializer
        # makes of an int and raises TypeError once the digits pass the
        # threshold: fastmc compresses them (docs/migration/pymemcache.md).
        return {name: value for name, value in VALUES.items() if name != "large_int"}
    if serde_name == "none":
        return {name: VALUES[name] for name in ASCII_VALUES}
    if serde_name == "json":
        return {name: VALUES[name] for name in JSON_VALUES}
    return VALUES


@pytest.mark.parametrize("serde_name", list(SERDES))
def test_values_cross_read_and_store_the_same_bytes(memcached, serde_name):
    peer_serde_object, our_serde_object = SERDES[serde_name]
    server = (memcached.host, memcached.port)
    peer = peer_base.Client(server, serde=peer_serde_object, timeout=5)
    ours = compat_base.Client(server, serde=our_serde_object, timeout=5)
    raw = fastmc.Client(memcached.address, value_scheme="pymemcache_default", protocol="text")
    for name, value in values_for(serde_name).items():
        peer.set(f"peer:{name}", value, noreply=False)
        ours.set(f"ours:{name}", value, noreply=False)
        expected = peer.get(f"peer:{name}")
        assert ours.get(f"peer:{name}") == expected, name
        assert peer.get(f"ours:{name}") == expected, name
        assert ours.get(f"ours:{name}") == expected, name
        assert raw.get_raw(f"ours:{name}") == raw.get_raw(f"peer:{name}"), name
    many = ours.get_many([f"peer:{name}" for name in values_for(serde_name)])
    assert many == peer.get_many([f"peer:{name}" for name in values_for(serde_name)])


def test_recognised_serdes_run_natively():
    pickle_options = compat_base.value_options(compat_serde.pickle_serde, "ascii")
    assert pickle_options == {
        "value_scheme": "pymemcache",
        "pickle_protocol": pickle.HIGHEST_PROTOCOL,
    }
    assert compat_base.value_options(peer_serde.PickleSerde(2), "ascii")["pickle_protocol"] == 2
    compressed = compat_base.value_options(compat_serde.CompressedSerde(), "ascii")
    assert compressed["compress_threshold"] == 400 and "serde" not in compressed
    assert "serde" not in compat_base.value_options(peer_serde.compressed_serde, "ascii")
    assert compat_base.value_options(None, "ascii") == {"value_scheme": "pymemcache_default"}
    custom = JsonSerde()
    assert compat_base.value_options(custom, "ascii")["serde"] is custom

    class MyPickle(compat_serde.PickleSerde):
        pass

    subclass = MyPickle()
    assert compat_base.value_options(subclass, "ascii")["serde"] is subclass


def test_unpickle_failure_reads_as_none(memcached):
    server = (memcached.host, memcached.port)
    peer = peer_base.Client(server, timeout=5)
    peer.set("bad", b"\x80not a pickle", flags=1, noreply=False)
    ours = compat_base.Client(server, serde=compat_serde.pickle_serde, timeout=5)
    assert ours.get("bad") is peer_base.Client(server, serde=peer_serde.pickle_serde).get("bad")


def test_latin1_encoding_without_serde(memcached):
    server = (memcached.host, memcached.port)
    peer = peer_base.Client(server, encoding="latin-1", timeout=5)
    ours = compat_base.Client(server, encoding="latin-1", timeout=5)
    ours.set("k", "caf\u00e9", noreply=False)
    assert peer.get("k") == ours.get("k") == "caf\u00e9".encode("latin-1")


def test_compressed_serde_compresses_long_ints_where_pymemcache_fails(memcached):
    server = (memcached.host, memcached.port)
    peer = peer_base.Client(server, serde=peer_serde.CompressedSerde(min_compress_len=20))
    with pytest.raises(TypeError):
        peer.set("k", 2**70, noreply=False)
    ours = compat_base.Client(server, serde=compat_serde.CompressedSerde(min_compress_len=20))
    assert ours.set("k", 2**70, noreply=False) is True
    assert ours.get("k") == 2**70
