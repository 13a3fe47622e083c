# SPDX-License-Identifier: MIT
"""The peers' value encodings through the native client (value_scheme=...),
checked byte for byte against the vectors the real peers wrote
(tests/data/values/encodings.csv, tools/gen_value_vectors.py)."""

from __future__ import annotations

import csv
import pathlib
import zlib

import pytest

import fastmc

VECTORS = pathlib.Path(__file__).parents[1] / "data" / "values" / "encodings.csv"
COMPRESSIBLE = "fastmc compresses this " * 40
CASES: dict[str, object] = {
    "bytes": b"raw\x00\xffbytes",
    "empty_bytes": b"",
    "str": "h\u00e9llo w\u00f6rld",
    "int": 42,
    "negative_int": -7,
    "large_int": 2**70,
    "true": True,
    "false": False,
    "float": 1.5,
    "list": [1, "two", 3.0],
    "dict": {"a": 1},
    "compressed_str": COMPRESSIBLE,
    "compressed_bytes": COMPRESSIBLE.encode(),
}
COMPRESSED_CASES = {"compressed_str", "compressed_bytes"}
# The threshold each writer used for the compressed cases.
THRESHOLDS = {"pylibmc": 100, "python_memcached": 100, "pymemcache": 400, "libmc": 100}
SCHEMES = ["pylibmc", "python_memcached", "pymemcache", "pymemcache_default", "libmc"]


def load_vectors() -> tuple[dict[tuple[str, str], tuple[int, bytes]], list[tuple[str, ...]]]:
    written: dict[tuple[str, str], tuple[int, bytes]] = {}
    reads: list[tuple[str, ...]] = []
    with VECTORS.open() as lines:
        for row in csv.reader(line for line in lines if not line.startswith("#")):
            if row[0] == "read":
                reads.append(tuple(row[1:]))
            else:
                writer, case, flags, value_hex = row
                written[writer, case] = (int(flags), bytes.fromhex(value_hex))
    return written, reads


WRITTEN, READS = load_vectors()


def scheme_client(server, scheme: str, compressed: bool = False) -> fastmc.Client:
    threshold = THRESHOLDS.get(scheme, 0) if compressed else 0
    return fastmc.Client(server.address, value_scheme=scheme, compress_threshold=threshold)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_each_scheme_writes_exactly_what_its_peer_writes(memcached, scheme):
    plain = scheme_client(memcached, scheme)
    zipped = scheme_client(memcached, scheme, compressed=True)
    with plain, zipped:
        for case, value in CASES.items():
            key = f"{scheme}:{case}"
            client = zipped if case in COMPRESSED_CASES else plain
            assert client.set(key, value) is True
            flags, stored = WRITTEN[scheme, case]
            assert plain.get_raw(key) == (stored, flags), case


def outcome(client: fastmc.Client, key: str) -> str:
    try:
        return type(client.get(key)).__name__
    except fastmc.DecodeError:
        return "error"


def test_each_scheme_reads_every_peers_items_as_its_peer_does(memcached):
    clients = {scheme: scheme_client(memcached, scheme) for scheme in SCHEMES}
    try:
        writer_client = clients["pylibmc"]
        for (writer, case), (flags, stored) in WRITTEN.items():
            writer_client.set_raw(f"{writer}:{case}", stored, flags)
        mismatches = []
        for writer, case, reader, expected in READS:
            if reader not in clients:
                continue
            got = outcome(clients[reader], f"{writer}:{case}")
            # The peers raise their own classes; fastmc raises DecodeError.
            want = "error" if expected.startswith("error:") else expected
            if got != want:
                mismatches.append((writer, case, reader, expected, got))
        assert mismatches == [], "\n".join(map(str, mismatches))
    finally:
        for client in clients.values():
            client.close()


@pytest.mark.parametrize("scheme", ["pylibmc", "python_memcached", "pymemcache", "libmc"])
def test_values_read_back_equal_under_each_scheme(memcached, scheme):
    with scheme_client(memcached, scheme, compressed=True) as mc:
        for case, value in CASES.items():
            mc.set(case, value)
        for case, value in CASES.items():
            got = mc.get(case)
            if scheme == "pylibmc" and isinstance(value, bool):
                value = int(value)  # pylibmc reads its own bools back as ints
            assert got == value and type(got) is type(value), case


def test_a_custom_class_is_pickled_by_the_family_and_by_libmc(memcached):
    with scheme_client(memcached, "libmc") as libmc, scheme_client(memcached, "pylibmc") as pylibmc:
        value = fastmc.Error("stored")  # marshal refuses it: libmc pickles
        libmc.set("libmc", value)
        pylibmc.set("pylibmc", value)
        assert libmc.get_raw("libmc")[1] == 1 and pylibmc.get_raw("pylibmc")[1] == 1
        assert str(libmc.get("libmc")) == "stored" and str(pylibmc.get("pylibmc")) == "stored"


def test_per_call_compression_overrides_the_clients(memcached):
    with scheme_client(memcached, "pylibmc") as mc:
        mc.set("off", COMPRESSIBLE)
        mc.set("on", COMPRESSIBLE, min_compress_len=10, compress_level=9)
        assert mc.get_raw("off")[1] == 16
        stored, flags = mc.get_raw("on")
        assert flags == 16 | 8 and zlib.decompress(stored) == COMPRESSIBLE.encode()
        assert mc.get("on") == COMPRESSIBLE


def test_a_corrupt_compressed_value_is_a_decode_error_not_garbage(memcached):
    with scheme_client(memcached, "pylibmc") as mc:
        mc.set_raw("bad", b"not zlib", 8 | 16)
        with pytest.raises(fastmc.DecodeError, match="cannot be inflated"):
            mc.get("bad")
        mc.set_raw("bomb", zlib.compress(b"\0" * 4_000_000), 8)
    with fastmc.Client(memcached.address, value_scheme="pylibmc", max_value_size=1_000_000) as mc:
        with pytest.raises(fastmc.DecodeError, match="too_large"):
            mc.get("bomb")
        assert mc.get_many(["missing"]) == {}


def test_an_unloadable_pickle_reads_as_none_only_under_pymemcache(memcached):
    with scheme_client(memcached, "pymemcache") as mc:
        mc.set_raw("bad", b"\x80not a pickle", 1)
        assert mc.get("bad") is None
        assert mc.get_many(["bad"]) == {"bad": None}
    with scheme_client(memcached, "python_memcached") as mc, pytest.raises(ValueError):
        mc.get("bad")


def test_libmc_splits_large_values_into_chunks_readable_by_libmc(memcached):
    value = bytes(i % 251 for i in range(2_500_000))
    with fastmc.Client(memcached.address, value_scheme="libmc", split_values=True) as mc:
        assert mc.set("large", value) is True
        assert mc.get_raw("large") == (b"3", 4096)
        assert mc.get_raw("~5large/2")[0] == value[2_000_000:]
        assert mc.get("large") == value
        assert mc.get_many(["large", "absent"]) == {"large": value}
        assert mc.set_many({"big": value, "small": b"s"}) == []
        assert mc.get_many(["big", "small"]) == {"big": value, "small": b"s"}
        mc.delete("~5large/1")  # a lost chunk reads as a miss, as in libmc
        assert mc.get("large") is None


def test_libmc_split_values_are_only_for_set(memcached):
    # add and replace cannot put their condition on chunks and an index:
    # like libmc they send the whole value, which the server refuses.
    value = b"x" * 1_500_000
    # Text, as libmc speaks: memcached 1.6.18 also unlinks the old item when
    # a meta ms of any mode is too large, where text does so only for set.
    with fastmc.Client(
        memcached.address, value_scheme="libmc", split_values=True, protocol="text"
    ) as mc:
        assert mc.set("large", b"old") is True
        for call, key in ((mc.add, "large"), (mc.add, "absent"), (mc.replace, "large")):
            with pytest.raises(fastmc.ValueTooLargeError):
                call(key, value)
        assert mc.get("large") == b"old"
        assert mc.get("absent") is None


@pytest.mark.parametrize("scheme", SCHEMES)
def test_client_free_encoding_is_what_the_client_stores(memcached, scheme):
    from fastmc import _native

    with scheme_client(memcached, scheme, compressed=True) as mc:
        for case, value in {**CASES, "none": None}.items():
            if value is None and scheme == "pymemcache_default":
                continue  # pymemcache without a serde refuses None
            assert mc.set(case, value) is True, case
            threshold = THRESHOLDS.get(scheme, 0)
            assert _native.encode_value(value, scheme, threshold) == mc.get_raw(case), case
            data, flags = mc.get_raw(case)
            assert _native.decode_value(data, flags, scheme) == mc.get(case), case
    with pytest.raises(fastmc.InvalidArgumentError, match="unknown value_scheme"):
        _native.encode_value(1, "nope")


def test_unknown_value_scheme_is_rejected(memcached):
    with pytest.raises(fastmc.InvalidArgumentError, match="unknown value_scheme"):
        fastmc.Client(memcached.address, value_scheme="nope")
    with pytest.raises(fastmc.InvalidArgumentError, match="compression needs"):
        fastmc.Client(memcached.address, compress_threshold=10)


def test_error_classes_replace_fastmcs_per_client(memcached):
    class Miss(Exception):
        def __init__(self, message, *, server=None, cause=None):
            super().__init__(message)
            self.cause = cause

    classes = dict(fastmc.errors.CAUSES, invalid_key=Miss, decode_error=Miss)
    with fastmc.Client(memcached.address, value_scheme="pylibmc", error_classes=classes) as mc:
        with pytest.raises(Miss) as raised:
            mc.get("")
        assert raised.value.cause == "invalid_key"
        mc.set_raw("mixed", b"1", 3)
        with pytest.raises(Miss, match="unknown memcached key flags"):
            mc.get("mixed")
