# SPDX-License-Identifier: MIT
"""Values cross between pylibmc and fastmc.compat.pylibmc, both ways, bit for bit.

The real pylibmc (a test-only dependency) writes every kind of value, and
the compat client reads it back identically, and the reverse; the raw bytes
and flags each stores are compared too, so the encodings are the same, not
just readable.
"""

from __future__ import annotations

import pickle
import random

import pylibmc
import pytest

import fastmc
import fastmc.compat.pylibmc as compat


class Point:
    """A custom class: pickled by both clients."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


VALUES = {
    "bytes": b"\x00raw\xffbytes",
    "empty_bytes": b"",
    "str": "text \u00e9\u4e2d",
    "empty_str": "",
    "int": 42,
    "negative_int": -7,
    "large_int": 2**100,
    "bool_true": True,
    "bool_false": False,
    "float": 1.5,
    "none": None,
    "list": [1, "two", b"three", [4.0]],
    "dict": {"a": 1, "b": [2, 3]},
    "tuple": (1, 2),
    "custom_class": Point(3, 4),
}


@pytest.fixture
def clients(memcached):
    peer = pylibmc.Client([memcached.address])
    ours = compat.Client([memcached.address])
    raw = fastmc.Client(memcached.address)
    yield peer, ours, raw
    ours.close()
    raw.close()


def expected_read(value):
    # pylibmc stores a bool with its INTEGER flag, and reads that back as an int.
    return int(value) if isinstance(value, bool) else value


@pytest.mark.parametrize("name", list(VALUES))
def test_peer_writes_compat_reads(clients, name):
    peer, ours, _raw = clients
    value = VALUES[name]
    assert peer.set(name, value)
    read = ours.get(name)
    assert read == expected_read(value)
    assert type(read) is type(peer.get(name))
    assert ours.get_multi([name]) == {name: read}


@pytest.mark.parametrize("name", list(VALUES))
def test_compat_writes_peer_reads(clients, name):
    peer, ours, _raw = clients
    value = VALUES[name]
    assert ours.set(name, value)
    read = peer.get(name)
    assert read == expected_read(value)
    assert type(read) is type(ours.get(name))


@pytest.mark.parametrize("name", [n for n in VALUES if n not in ("custom_class", "dict")])
def test_stored_bytes_and_flags_are_identical(clients, name):
    peer, ours, raw = clients
    value = VALUES[name]
    assert peer.set("by_peer", value)
    assert ours.set("by_compat", value)
    assert raw.get_raw("by_compat") == raw.get_raw("by_peer")


def test_pickles_with_pylibmc_protocol(clients):
    _peer, ours, raw = clients
    value = {"nested": [Point(1, 2)]}
    assert ours.set("k", value)
    data, flags = raw.get_raw("k")
    assert flags == 1
    assert pickle.loads(data) == value
    assert data == pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


@pytest.mark.parametrize("level", [-1, 1, 9])
def test_compressed_values_cross_both_ways(clients, level):
    peer, ours, raw = clients
    text = "compressible " * 500
    assert peer.set("peer", text, min_compress_len=100, compress_level=level)
    assert ours.set("ours", text, min_compress_len=100, compress_level=level)
    peer_raw, ours_raw = raw.get_raw("peer"), raw.get_raw("ours")
    assert peer_raw[1] == ours_raw[1] == 16 | 8
    assert peer_raw == ours_raw
    assert ours.get("peer") == peer.get("ours") == text


def test_compression_threshold_follows_pylibmc(clients):
    peer, ours, raw = clients
    value = b"a" * 100
    # At the threshold pylibmc compresses; one byte short, it does not.
    for name, threshold in (("at", 100), ("above", 101)):
        assert peer.set(f"peer_{name}", value, min_compress_len=threshold)
        assert ours.set(f"ours_{name}", value, min_compress_len=threshold)
        assert raw.get_raw(f"peer_{name}") == raw.get_raw(f"ours_{name}")
    assert raw.get_raw("ours_at")[1] == 8
    assert raw.get_raw("ours_above")[1] == 0
    # Incompressible data is stored as is.
    noise = random.Random(1).randbytes(512)
    assert ours.set("noise", noise, min_compress_len=1)
    assert raw.get_raw("noise") == (noise, 0)


def test_multi_calls_cross(clients):
    peer, ours, _raw = clients
    items = {f"k{i}": VALUES[name] for i, name in enumerate(VALUES)}
    assert peer.set_multi(items, key_prefix="p:") == []
    assert ours.get_multi(list(items), key_prefix="p:") == {
        k: expected_read(v) for k, v in items.items()
    }
    assert ours.set_multi(items, key_prefix="c:") == []
    assert peer.get_multi(list(items), key_prefix="c:") == {
        k: expected_read(v) for k, v in items.items()
    }


def test_append_and_incr_on_each_others_values(clients):
    peer, ours, _raw = clients
    assert peer.set("n", 10)
    assert ours.incr("n", 5) == 15
    assert peer.get("n") == 15
    assert ours.set("s", b"ab")
    assert peer.append("s", b"cd")
    assert ours.prepend("s", b"<")
    assert peer.get("s") == ours.get("s") == b"<abcd"
