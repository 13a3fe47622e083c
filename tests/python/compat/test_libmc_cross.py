# SPDX-License-Identifier: MIT
"""Data written by the real libmc reads back identically through
fastmc.compat.libmc and the reverse (every value type, compressed values,
5 MB split values), the module's encode_value/decode_value give libmc's bytes
and flags, and keys land on the same one of 5 real servers as libmc puts
them (each hash_fn, aliases, a prefix)."""

from __future__ import annotations

import random

import pytest
from libmc import Client as PeerClient
from libmc import decode_value as peer_decode_value
from libmc import encode_value as peer_encode_value

import fastmc
import fastmc.compat.libmc as libmc


class Custom:
    """A class marshal refuses: libmc pickles it."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Custom) and other.value == self.value

    __hash__ = None  # type: ignore[assignment]


COMPRESSIBLE = "fastmc compresses this " * 40
VALUES = {
    "bytes": b"raw\x00\xffbytes",
    "empty_bytes": b"",
    "str": "h\u00e9llo w\u00f6rld",
    "empty_str": "",
    "int": 42,
    "negative_int": -7,
    "large_int": 2**70,
    "true": True,
    "false": False,
    "float": 1.5,
    "none": None,
    "list": [1, "two", 3.0, None],
    "tuple": (1, 2),
    "dict": {"a": 1, "b": [2, 3]},
    "set": {1, 2, 3},
    "custom_class": Custom(7),
    "compressible_str": COMPRESSIBLE,
    "compressible_bytes": COMPRESSIBLE.encode(),
    "compressible_list": list(range(500)),
}
SPLIT_VALUES = {
    "split_bytes": random.Random(5).randbytes(5 * 1024 * 1024),
    "split_str": "\u00e9" * (5 * 1024 * 1024 // 2),
    "split_list": [f"item {i}" for i in range(400_000)],
    "split_compressed": b"0123456789" * 1_000_000,
}


@pytest.mark.parametrize("comp_threshold", [0, 100], ids=["plain", "compressed"])
@pytest.mark.parametrize("writer", ["libmc", "fastmc"])
def test_every_value_reads_back_identically_both_ways(memcached, writer, comp_threshold):
    peer = PeerClient([memcached.address], comp_threshold=comp_threshold)
    ours = libmc.Client([memcached.address], comp_threshold=comp_threshold)
    write, read = (peer, ours) if writer == "libmc" else (ours, peer)
    for name, value in VALUES.items():
        assert write.set(name, value) is True, name
    for name, value in VALUES.items():
        assert read.get(name) == value, name
        assert type(read.get(name)) is type(value), name
        # The same bytes and flags on the server, whoever wrote them.
        assert ours.get_raw(name) == peer.get_raw(name), name
    assert read.get_multi(list(VALUES)) == {k: v for k, v in VALUES.items()}
    if comp_threshold:
        assert ours.get_raw("compressible_str")[1] & 16


@pytest.mark.parametrize("writer", ["libmc", "fastmc"])
def test_5mb_split_values_read_back_identically_both_ways(memcached_factory, writer):
    server = memcached_factory(memory_mb=128)
    peer = PeerClient([server.address], comp_threshold=1000)
    ours = libmc.Client([server.address], comp_threshold=1000)
    write, read = (peer, ours) if writer == "libmc" else (ours, peer)
    for name, value in SPLIT_VALUES.items():
        assert write.set(name, value) is True, name
    with fastmc.Client(server.address) as raw:
        # Not compressible below 1,000,000 bytes: stored as libmc's chunks.
        count, flags = raw.get_raw("split_bytes")
        assert count == b"6" and flags & 4096
    for name, value in SPLIT_VALUES.items():
        assert read.get(name) == value, name
        assert ours.get_raw(name) == peer.get_raw(name), name
    assert read.get_multi(list(SPLIT_VALUES)) == SPLIT_VALUES
    assert ours.gets("split_bytes")[0] == SPLIT_VALUES["split_bytes"]


def test_split_raw_values_read_back_both_ways(memcached_factory):
    server = memcached_factory(memory_mb=128)
    peer = PeerClient([server.address])
    ours = libmc.Client([server.address])
    data = bytes(range(256)) * 12_000
    assert ours.set_raw("ours", data, 0, 0)
    assert peer.set_raw("theirs", data, 0, 0)
    assert peer.get_raw("ours") == ours.get_raw("theirs") == (data, 0)
    assert ours.get("theirs") == data
    assert ours.set_raw("too_big", b"x" * 10_000_001, 0, 0) is False


def test_values_too_large_to_split_are_refused_as_by_libmc(memcached):
    peer = PeerClient([memcached.address])
    ours = libmc.Client([memcached.address])
    big = b"x" * 10_000_001
    assert peer.set("big", big) is ours.set("big", big) is False
    assert peer.get_last_error() == ours.get_last_error() == libmc.MC_RETURN_OK
    assert peer.set("k" * 201, b"x" * 1_100_000) is ours.set("k" * 201, b"x" * 1_100_000) is False
    assert peer.get_last_error() == ours.get_last_error() == libmc.MC_RETURN_OK
    peer = PeerClient([memcached.address], do_split=False)
    ours = libmc.Client([memcached.address], do_split=False)
    assert peer.set("big", b"x" * 2_000_000) is ours.set("big", b"x" * 2_000_000) is False
    assert peer.get_last_error() == ours.get_last_error() == libmc.MC_RETURN_MC_SERVER_ERR


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("comp_threshold", [0, 100])
def test_encode_value_and_decode_value_match_libmcs(comp_threshold):
    for name, value in {**VALUES, "lambda": lambda: 1}.items():
        encoded = libmc.encode_value(value, comp_threshold)
        expected = peer_encode_value(value, comp_threshold)
        if expected[0] is None:
            assert encoded == (None, 0), name  # libmc leaves its flags unset
            continue
        assert encoded == expected, name
        assert libmc.decode_value(*expected) == peer_decode_value(*expected), name
    for data, flags in [(b"x", 1), (b"x", 32), (b"x", 16), (b"x", 4096), (b"12", 2), (b"0", 8)]:
        assert libmc.decode_value(data, flags) == peer_decode_value(data, flags)
    with pytest.raises(TypeError):
        libmc.decode_value("text", 0)
    for decode in (libmc.decode_value, peer_decode_value):
        with pytest.raises(ValueError):
            decode(b"not a number", 2)


@pytest.fixture(scope="module")
def five_servers():
    from fastmc.testing import MemcachedCluster

    with MemcachedCluster(5) as servers:
        yield servers


KEYS = [f"user:{i}:profile" for i in range(3000)] + ["a", "Z" * 200, "k-\u00ff", "?question"]


@pytest.mark.parametrize(
    "hash_fn",
    [libmc.MC_HASH_MD5, libmc.MC_HASH_FNV1_32, libmc.MC_HASH_FNV1A_32, libmc.MC_HASH_CRC_32],
    ids=["md5", "fnv1_32", "fnv1a_32", "crc_32"],
)
@pytest.mark.parametrize("aliases", [False, True], ids=["host_port", "aliases"])
@pytest.mark.parametrize("prefix", [None, "app:"], ids=["no_prefix", "prefix"])
def test_placement_on_five_servers_is_libmcs(five_servers, hash_fn, aliases, prefix):
    addresses = five_servers.addresses
    specs = [f"{a} cache-{i}" if aliases else a for i, a in enumerate(addresses)]
    peer = PeerClient(specs, hash_fn=hash_fn, prefix=prefix)
    ours = libmc.Client(specs, hash_fn=hash_fn, prefix=prefix)
    names = dict(zip(specs, addresses, strict=True))
    for address in addresses:
        with fastmc.Client(address) as server:
            server.flush_all()
    assert peer.set_multi(dict.fromkeys(KEYS, b"v"))
    wire_keys = {key: ours._wire_bytes(key) for key in KEYS}
    where: dict[bytes, str] = {}
    for address in addresses:
        with fastmc.Client(address) as server:
            for wire in server.get_many(list(wire_keys.values())):
                where[wire] = address
    assert len(where) == len(KEYS), "the peer did not store every key"
    by_alias = {spec.partition(" ")[2] or spec: names[spec] for spec in specs}
    moved = [key for key in KEYS if by_alias[ours.get_host_by_key(key)] != where[wire_keys[key]]]
    assert moved == [], f"{len(moved)} keys placed differently, first: {moved[:5]}"
    assert all(ours.get_host_by_key(key) == peer.get_host_by_key(key) for key in KEYS[:200])
