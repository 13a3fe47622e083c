#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Regenerates the routing golden vectors in tests/data/routing from the peers.

Every expected value is computed by a peer client itself, never by fastmc:

  key_hashes.csv        raw 32-bit key hashes: libhashkit 1.1.4 (Debian,
                        ctypes), the libmemcached 1.0.16 bundled in pylibmc's
                        wheel (ctypes, memcached_generate_hash_value), libmc's
                        own hash functions (ctypes on libmc/_client*.so),
                        python-memcached's cmemcache_hash and binascii.crc32,
                        pymemcache's murmur3_32. Where two peers compute the
                        same column they must agree, or this script fails.
  modula.csv            libmemcached modula: pylibmc Client.hash and
                        libmemcached 1.1.4 memcached_generate_hash, which must
                        agree.
  ketama.csv            libmemcached ketama, weighted, spy: the same two
                        peers; auto_eject cases from pylibmc with real
                        servers, one of them down.
  libmc_continuum.csv   libmc Client.get_host_by_key; failover from
                        get_realtime_host_by_key with real servers, one down.
  rendezvous.csv        pymemcache HashClient.hasher.get_node.
  python_memcached.csv  python-memcached Client._get_server with real servers
                        (it connects to decide), some of them down.

The real servers are memcached processes started with fastmc.testing on
127.0.0.1, ports --base-port .. --base-port+4 (default 29101..29105); they
must be free. hsieh is the one column no peer build has (libhashkit's
HAVE_HSIEH_HASH is off in Debian's libhashkit and in pylibmc's wheel): it is
computed by transcribe_hsieh below, from libhashkit's hsieh.cc, and marked so.

File format (lines starting with '#' are comments):
  key_hashes.csv   a header `key_hex,<hash name>...`, then one row per key.
  the others       `case,<name>,<kind>,<hash>,<prefix_hex>,<hash_with_prefix>,<mode>,<dead>`
                   then its `server,<host>,<port>,<path>,<weight>,<alias>` and
                   `key,<form>,<key_hex>,<expected server index or -1>` lines.
                   mode: plain (Router::server_for_key), live_subset
                   (Router::live_subset without the dead servers, then
                   server_for_key) or failover (Router::live_server_for_key);
                   dead: server indexes separated by ';'. form: raw (the key
                   bytes as sent), py_str (UTF-8 of a Python str key, routed
                   through pymemcache_str_key) or py_bytes (a Python bytes
                   key, routed through pymemcache_bytes_key).

Usage: python3 tools/gen_hash_vectors.py [--out tests/data/routing] [--base-port 29101]
Needs: pylibmc 1.6.3, libmc 1.4.17, pymemcache 4.0.0, python-memcached 1.62,
libhashkit2 + libmemcached11 (Debian 1.1.4), memcached, and the fastmc
package (for fastmc.testing). Run by hand; the output is committed.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import glob
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libmc
import memcache
import pylibmc
import pymemcache
from pymemcache.client.hash import HashClient
from pymemcache.client.murmur3 import murmur3_32

from fastmc.testing import MemcachedServer

ROOT = Path(__file__).resolve().parent.parent

# libmemcached's hash and distribution enums (libmemcached-1.0/types/hash.h,
# server_distribution.h) and pylibmc's names for them.
LIBMEMCACHED_HASHES = {
    "one_at_a_time": 0,
    "md5": 1,
    "crc": 2,
    "fnv1_64": 3,
    "fnv1a_64": 4,
    "fnv1_32": 5,
    "fnv1a_32": 6,
    "hsieh": 7,
    "murmur": 8,
    "jenkins": 9,
    "murmur3": 10,
}
PYLIBMC_HASH_NAMES = {"one_at_a_time": "default"}
BEHAVIOR = {"hash": 2, "distribution": 9, "ketama_weighted": 16, "hash_with_prefix_key": 25}
DISTRIBUTION = {"modula": 0, "consistent": 1, "consistent_ketama": 2, "ketama_spy": 4}
CALLBACK_NAMESPACE = 0


# ----------------------------------------------------------------------------
# Keys


def placement_keys() -> list[bytes]:
    """The keys placed in every case: ASCII, UTF-8 (bytes >= 0x80), long."""
    keys = [f"key:{i}" for i in range(300)]
    keys += [f"user:{i * 7919 % 100003}:profile" for i in range(100)]
    keys += [f"session-{(i * 2654435761) % (1 << 32):08x}" for i in range(60)]
    keys += ["a", "ab", "abc", "abcd", "abcde", "foo", "bar", "baz", "x" * 250, "k" * 200 + "-tail"]
    keys += ["clé", "ключ", "键值", "emoji-\U0001f600", "naïve_café", "Ünïcödé-ß", "ÿ"]
    return [key.encode("utf-8") for key in keys]


def hash_keys() -> list[bytes]:
    """The keys of key_hashes.csv: every placement key, every tail length,
    empty, control and high bytes, invalid UTF-8, a 1000-byte key."""
    keys = [b""]
    keys += [b"abcdefghijklmnopq"[:n] for n in range(1, 18)]
    keys += [
        b"\x80",
        b"\xff",
        b"\xe9t\xe9",
        b"ab\xff",
        b"abcdab\xfe",
        b"\xff\xfe\xfd\xfc",
        b"ab\xffcd\x80ef",
        bytes(range(0x80, 0x100)),
        bytes(range(0x00, 0x80)),
        b"\x00",
        b"a\x00b",
        b"\t\n\r ",
        bytes((i * 37) % 256 for i in range(1000)),
    ]
    keys += placement_keys()
    seen: set[bytes] = set()
    unique = []
    for key in keys:
        if key not in seen:
            seen.add(key)
            unique.append(key)
    return unique


# ----------------------------------------------------------------------------
# Raw hashes


def load_libhashkit() -> ctypes.CDLL:
    library = ctypes.CDLL("libhashkit.so.2")
    library.libhashkit_digest.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
    library.libhashkit_digest.restype = ctypes.c_uint32
    library.libhashkit_has_algorithm.argtypes = [ctypes.c_int]
    library.libhashkit_has_algorithm.restype = ctypes.c_bool
    return library


def bundled_libmemcached_path() -> str:
    """The libmemcached shared library pylibmc's wheel bundles."""
    package_dir = Path(pylibmc.__file__).resolve().parent.parent
    matches = glob.glob(str(package_dir / "pylibmc.libs" / "libmemcached-*.so*"))
    if not matches:
        sys.exit("gen_hash_vectors: pylibmc.libs/libmemcached-*.so not found")
    return matches[0]


def load_bundled_libmemcached() -> ctypes.CDLL:
    library = ctypes.CDLL(bundled_libmemcached_path())
    library.memcached_generate_hash_value.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_int,
    ]
    library.memcached_generate_hash_value.restype = ctypes.c_uint32
    return library


def load_libmc_hashes() -> dict[str, Callable[[bytes], int]]:
    """libmc's hash functions, exported (C++ names) by its extension module."""
    library = ctypes.CDLL(libmc._client.__file__)
    symbols = {
        "md5": "_ZN6douban2mc7hashkit8hash_md5EPKcm",
        "libmc_fnv1_32": "_ZN6douban2mc7hashkit12hash_fnv1_32EPKcm",
        "libmc_fnv1a_32": "_ZN6douban2mc7hashkit13hash_fnv1a_32EPKcm",
        "crc32": "_ZN6douban2mc7hashkit11hash_crc_32EPKcm",
    }
    functions = {}
    for name, symbol in symbols.items():
        function = getattr(library, symbol)
        function.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        function.restype = ctypes.c_uint32
        functions[name] = lambda key, function=function: function(key, len(key))
    return functions


def transcribe_hsieh(key: bytes) -> int:
    """libhashkit hsieh.cc, transcribed: no peer build enables it."""
    mask = 0xFFFFFFFF

    def get16(offset: int) -> int:
        return key[offset] | (key[offset + 1] << 8)

    if not key:
        return 0
    value = 0
    remainder = len(key) & 3
    offset = 0
    for _ in range(len(key) >> 2):
        value = (value + get16(offset)) & mask
        mixed = ((get16(offset + 2) << 11) ^ value) & mask
        value = ((value << 16) ^ mixed) & mask
        offset += 4
        value = (value + (value >> 11)) & mask
    if remainder == 3:
        value = (value + get16(offset)) & mask
        value ^= (value << 16) & mask
        third = key[offset + 2]
        if third >= 0x80:  # read as a signed char there
            third |= 0xFFFFFF00
        value ^= (third << 18) & mask
        value = (value + (value >> 11)) & mask
    elif remainder == 2:
        value = (value + get16(offset)) & mask
        value ^= (value << 11) & mask
        value = (value + (value >> 17)) & mask
    elif remainder == 1:
        value = (value + key[offset]) & mask
        value ^= (value << 10) & mask
        value = (value + (value >> 1)) & mask
    value ^= (value << 3) & mask
    value = (value + (value >> 5)) & mask
    value ^= (value << 4) & mask
    value = (value + (value >> 17)) & mask
    value ^= (value << 25) & mask
    value = (value + (value >> 6)) & mask
    return value


HASH_COLUMNS = [
    "one_at_a_time",
    "md5",
    "crc",
    "fnv1_64",
    "fnv1a_64",
    "fnv1_32",
    "fnv1a_32",
    "hsieh",
    "murmur",
    "jenkins",
    "murmur3",
    "crc32",
    "libmc_fnv1_32",
    "libmc_fnv1a_32",
    "murmur3_32",
]


def write_key_hashes(out: Path) -> int:
    libhashkit = load_libhashkit()
    bundled = load_bundled_libmemcached()
    libmc_hashes = load_libmc_hashes()
    # Every source that computes a column, by column.
    sources: dict[str, list[tuple[str, Callable[[bytes], int]]]] = {
        column: [] for column in HASH_COLUMNS
    }
    for name, algorithm in LIBMEMCACHED_HASHES.items():
        if libhashkit.libhashkit_has_algorithm(algorithm):
            sources[name].append(
                (
                    "libhashkit 1.1.4",
                    lambda key, a=algorithm: libhashkit.libhashkit_digest(key, len(key), a),
                )
            )
        if name not in ("hsieh", "murmur3"):  # not in the 1.0.16 build
            sources[name].append(
                (
                    "libmemcached 1.0.16 (pylibmc wheel)",
                    lambda key, a=algorithm: bundled.memcached_generate_hash_value(
                        key, len(key), a
                    ),
                )
            )
    for name, function in libmc_hashes.items():
        sources[name].append((f"libmc {libmc.__version__}", function))
    sources["crc"].append(
        (f"python-memcached {memcache.__version__} cmemcache_hash", memcache.cmemcache_hash)
    )
    sources["crc32"].append(
        (
            f"python-memcached {memcache.__version__} binascii.crc32",
            lambda key: memcache.binascii.crc32(key) & 0xFFFFFFFF,
        )
    )
    sources["murmur3_32"].append(
        (
            f"pymemcache {pymemcache.__version__} murmur3_32",
            lambda key: murmur3_32(key.decode("latin-1")),
        )
    )
    sources["hsieh"].append(
        ("transcription of libhashkit hsieh.cc (no peer build)", transcribe_hsieh)
    )

    keys = hash_keys()
    lines = ["# Raw key hashes, computed by the peers (tools/gen_hash_vectors.py)."]
    for column in HASH_COLUMNS:
        names = "; ".join(name for name, _ in sources[column])
        lines.append(f"# {column}: {names}")
    lines.append("key_hex," + ",".join(HASH_COLUMNS))
    for key in keys:
        row = [key.hex()]
        for column in HASH_COLUMNS:
            values = {name: function(key) for name, function in sources[column]}
            if len(set(values.values())) != 1:
                sys.exit(f"gen_hash_vectors: peers disagree on {column}({key!r}): {values}")
            row.append(str(next(iter(values.values()))))
        lines.append(",".join(row))
    (out / "key_hashes.csv").write_text("\n".join(lines) + "\n")
    return len(keys)


# ----------------------------------------------------------------------------
# Placement cases


@dataclass
class Server:
    host: str = ""
    port: int = 11211
    path: str = ""
    weight: int = 1
    alias: str = ""


@dataclass
class Case:
    name: str
    kind: str
    hash: str
    servers: list[Server]
    mode: str = "plain"
    dead: list[int] = field(default_factory=list)
    prefix: bytes = b""
    hash_with_prefix: bool = False
    keys: list[tuple[str, bytes, int]] = field(default_factory=list)  # (form, key, expected)

    def lines(self) -> list[str]:
        dead = ";".join(str(index) for index in self.dead)
        out = [
            f"case,{self.name},{self.kind},{self.hash},{self.prefix.hex()},"
            f"{int(self.hash_with_prefix)},{self.mode},{dead}"
        ]
        for server in self.servers:
            out.append(
                f"server,{server.host},{server.port},{server.path},{server.weight},{server.alias}"
            )
        for form, key, expected in self.keys:
            out.append(f"key,{form},{key.hex()},{expected}")
        return out


def write_cases(out: Path, file_name: str, header: Sequence[str], cases: Sequence[Case]) -> int:
    lines = [f"# {line}" for line in header]
    for case in cases:
        lines.extend(case.lines())
    (out / file_name).write_text("\n".join(lines) + "\n")
    return sum(len(case.keys) for case in cases)


FIVE = [
    Server("10.0.0.1", 11211),
    Server("10.0.0.2", 11212),
    Server("cache-a.example.com", 11211),
    Server("cache-b.example.com", 22122),
    Server("192.168.1.5", 11311),
]
WEIGHTS = [1, 2, 3, 1, 5]


def weighted(servers: Sequence[Server], weights: Sequence[int]) -> list[Server]:
    return [
        Server(s.host, s.port, s.path, weight, s.alias)
        for s, weight in zip(servers, weights, strict=True)
    ]


def local_servers(base_port: int, weights: Sequence[int] = (1, 1, 1, 1, 1)) -> list[Server]:
    return [Server("127.0.0.1", base_port + i, weight=w) for i, w in enumerate(weights)]


@contextlib.contextmanager
def running(servers: Sequence[Server], dead: Sequence[int]) -> Iterator[None]:
    """Real memcached processes for every server not in `dead`."""
    started = []
    try:
        for index, server in enumerate(servers):
            if index not in dead:
                process = MemcachedServer(port=server.port, host=server.host)
                process.start()
                started.append(process)
        yield
    finally:
        for process in started:
            process.close()


# --- libmemcached: pylibmc (1.0.16) and Debian's libmemcached 1.1.4 ---------


class Libmemcached:
    """memcached_generate_hash through ctypes on Debian's libmemcached 1.1.4."""

    def __init__(self) -> None:
        library = ctypes.CDLL("libmemcached.so.11")
        library.memcached_create.restype = ctypes.c_void_p
        library.memcached_create.argtypes = [ctypes.c_void_p]
        library.memcached_free.argtypes = [ctypes.c_void_p]
        library.memcached_server_add_with_weight.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_uint16,
            ctypes.c_uint32,
        ]
        library.memcached_server_add_unix_socket_with_weight.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_uint32,
        ]
        library.memcached_behavior_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64]
        library.memcached_callback_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        library.memcached_generate_hash.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_size_t,
        ]
        library.memcached_generate_hash.restype = ctypes.c_uint32
        self.library = library

    def place(
        self,
        servers: Sequence[Server],
        behaviors: Sequence[tuple[str, int]],
        keys: Sequence[bytes],
        namespace: bytes = b"",
    ) -> list[int]:
        """Behaviors first, then the servers: the order pylibmc uses."""
        library = self.library
        memc = library.memcached_create(None)
        try:
            for name, value in behaviors:
                if library.memcached_behavior_set(memc, BEHAVIOR[name], value) != 0:
                    raise RuntimeError(f"behavior {name}={value} refused")
            if namespace:
                buffer = ctypes.create_string_buffer(namespace)
                if library.memcached_callback_set(memc, CALLBACK_NAMESPACE, buffer) != 0:
                    raise RuntimeError("namespace refused")
            for server in servers:
                if server.path:
                    rc = library.memcached_server_add_unix_socket_with_weight(
                        memc, server.path.encode(), server.weight
                    )
                else:
                    rc = library.memcached_server_add_with_weight(
                        memc, server.host.encode(), server.port, server.weight
                    )
                if rc != 0:
                    raise RuntimeError(f"server {server} refused")
            return [library.memcached_generate_hash(memc, key, len(key)) for key in keys]
        finally:
            library.memcached_free(memc)


def pylibmc_spec(server: Server) -> str:
    if server.path:
        return server.path
    host = f"[{server.host}]" if ":" in server.host else server.host
    return f"{host}:{server.port}:{server.weight}"


def pylibmc_place(servers: Sequence[Server], behaviors: dict, keys: Sequence[bytes]) -> list[int]:
    client = pylibmc.Client([pylibmc_spec(server) for server in servers], behaviors=behaviors)
    return [client.hash(key) for key in keys]


def ctypes_behaviors(kind: str, hash_name: str, ketama_weighted: bool) -> list[tuple[str, int]]:
    behaviors = []
    if ketama_weighted:
        behaviors.append(("ketama_weighted", 1))
    else:
        distribution = {
            "modula": "modula",
            "ketama": "consistent_ketama",
            "ketama_spy": "ketama_spy",
        }[kind]
        behaviors.append(("distribution", DISTRIBUTION[distribution]))
    if hash_name != ("md5" if ketama_weighted else "one_at_a_time"):
        behaviors.append(("hash", LIBMEMCACHED_HASHES[hash_name]))
    return behaviors


def pylibmc_behaviors(kind: str, hash_name: str, ketama_weighted: bool) -> dict | None:
    if kind == "ketama" and hash_name == "murmur3":
        return None  # pylibmc does not know murmur3
    if hash_name == "murmur3":
        return None
    behaviors: dict = {}
    if ketama_weighted:
        behaviors["ketama_weighted"] = True
    elif kind == "ketama":
        behaviors["ketama"] = True
    elif kind == "ketama_spy":
        behaviors["distribution"] = "consistent ketama spy"
    if hash_name != ("md5" if ketama_weighted else "one_at_a_time"):
        behaviors["hash"] = PYLIBMC_HASH_NAMES.get(hash_name, hash_name)
    return behaviors


def libmemcached_case(
    libmemcached: Libmemcached,
    name: str,
    kind: str,
    hash_name: str,
    servers: list[Server],
    keys: Sequence[bytes],
    *,
    ketama_weighted: bool = False,
    namespace: bytes = b"",
    hash_with_prefix: bool = False,
) -> Case:
    """One placement case, from both libmemcached builds where both can."""
    behaviors = ctypes_behaviors(kind, hash_name, ketama_weighted)
    if hash_with_prefix:
        behaviors.append(("hash_with_prefix_key", 1))
    placed = libmemcached.place(servers, behaviors, keys, namespace)
    py_behaviors = pylibmc_behaviors(kind, hash_name, ketama_weighted)
    # pylibmc sets no namespace and refuses to mix unix sockets with TCP.
    mixed_transports = any(server.path for server in servers) and len(servers) > 1
    if py_behaviors is not None and not namespace and not mixed_transports:
        other = pylibmc_place(servers, py_behaviors, keys)
        if other != placed:
            bad = [k for k, a, b in zip(keys, placed, other, strict=True) if a != b][:5]
            sys.exit(f"gen_hash_vectors: libmemcached 1.1.4 and pylibmc disagree in {name}: {bad}")
    case_kind = "ketama_weighted" if ketama_weighted else kind
    return Case(
        name,
        case_kind,
        hash_name,
        list(servers),
        prefix=namespace,
        hash_with_prefix=hash_with_prefix,
        keys=[("raw", key, index) for key, index in zip(keys, placed, strict=True)],
    )


def modula_cases(libmemcached: Libmemcached, keys: Sequence[bytes]) -> list[Case]:
    cases = []
    for hash_name in LIBMEMCACHED_HASHES:
        if hash_name == "hsieh":
            continue
        cases.append(
            libmemcached_case(libmemcached, f"modula_{hash_name}", "modula", hash_name, FIVE, keys)
        )
    cases.append(
        libmemcached_case(
            libmemcached,
            "modula_weights_ignored",
            "modula",
            "one_at_a_time",
            weighted(FIVE, WEIGHTS),
            keys,
        )
    )
    cases.append(
        libmemcached_case(
            libmemcached,
            "modula_hash_with_prefix",
            "modula",
            "one_at_a_time",
            FIVE,
            keys,
            namespace=b"app:",
            hash_with_prefix=True,
        )
    )
    cases.append(
        libmemcached_case(
            libmemcached,
            "modula_prefix_not_hashed",
            "modula",
            "one_at_a_time",
            FIVE,
            keys,
            namespace=b"app:",
        )
    )
    cases.append(
        libmemcached_case(libmemcached, "modula_one_server", "modula", "md5", FIVE[1:2], keys)
    )
    return cases


def pylibmc_auto_eject_case(
    name: str,
    kind: str,
    hash_name: str,
    servers: list[Server],
    behaviors: dict,
    dead: int,
    keys: Sequence[bytes],
) -> Case:
    """pylibmc with auto_eject: fail on the dead server until libmemcached
    ejects it, then read the rebuilt continuum."""
    behaviors = dict(behaviors, auto_eject=True, failure_limit=1, retry_timeout=3600)
    with running(servers, [dead]):
        client = pylibmc.Client([pylibmc_spec(server) for server in servers], behaviors=behaviors)
        before = [client.hash(key) for key in keys]
        victim = next(key for key, index in zip(keys, before, strict=True) if index == dead)
        for _ in range(5):
            with contextlib.suppress(pylibmc.Error):
                client.get(victim)
            after = [client.hash(key) for key in keys]
            if dead not in after:
                break
        else:
            sys.exit(f"gen_hash_vectors: {name}: libmemcached never ejected server {dead}")
    return Case(
        name,
        kind,
        hash_name,
        list(servers),
        mode="live_subset",
        dead=[dead],
        keys=[("raw", key, index) for key, index in zip(keys, after, strict=True)],
    )


def ketama_cases(libmemcached: Libmemcached, keys: Sequence[bytes], base_port: int) -> list[Case]:
    cases = []
    for hash_name in ("one_at_a_time", "md5", "crc", "fnv1a_32", "murmur", "murmur3"):
        cases.append(
            libmemcached_case(libmemcached, f"ketama_{hash_name}", "ketama", hash_name, FIVE, keys)
        )
    # A weight > 1 makes libmemcached weigh the continuum (MD5 points) while
    # keys keep the configured hash, one_at_a_time by default.
    cases.append(
        libmemcached_case(
            libmemcached,
            "ketama_weights",
            "ketama",
            "one_at_a_time",
            weighted(FIVE, WEIGHTS),
            keys,
        )
    )
    cases.append(
        libmemcached_case(
            libmemcached,
            "ketama_weighted_behavior",
            "ketama",
            "md5",
            weighted(FIVE, WEIGHTS),
            keys,
            ketama_weighted=True,
        )
    )
    cases.append(
        libmemcached_case(
            libmemcached,
            "ketama_weighted_equal_weights",
            "ketama",
            "md5",
            FIVE,
            keys,
            ketama_weighted=True,
        )
    )
    cases.append(
        libmemcached_case(
            libmemcached,
            "ketama_weighted_three",
            "ketama",
            "md5",
            FIVE[:3],
            keys,
            ketama_weighted=True,
        )
    )
    cases.append(
        libmemcached_case(libmemcached, "ketama_spy", "ketama_spy", "one_at_a_time", FIVE, keys)
    )
    cases.append(libmemcached_case(libmemcached, "ketama_spy_md5", "ketama_spy", "md5", FIVE, keys))
    cases.append(
        libmemcached_case(
            libmemcached,
            "ketama_spy_weights",
            "ketama_spy",
            "one_at_a_time",
            weighted(FIVE, WEIGHTS),
            keys,
        )
    )
    naming = [
        Server("localhost", 11211),
        Server("::1", 11211),
        Server("2001:db8::5", 11300),
        Server(path="/run/memcached/memcached.sock"),
        Server("MixedCase.Example.COM", 11211),
    ]
    cases.append(
        libmemcached_case(libmemcached, "ketama_naming", "ketama", "one_at_a_time", naming, keys)
    )
    cases.append(
        libmemcached_case(
            libmemcached, "ketama_one_server", "ketama", "one_at_a_time", FIVE[3:4], keys
        )
    )
    # auto_eject with real servers, server 2 down. The full placement of the
    # same list comes first, for the movement checks.
    local = local_servers(base_port)
    cases.append(
        libmemcached_case(libmemcached, "ketama_local", "ketama", "one_at_a_time", local, keys)
    )
    cases.append(
        pylibmc_auto_eject_case(
            "ketama_local_auto_eject", "ketama", "one_at_a_time", local, {"ketama": True}, 2, keys
        )
    )
    local_weighted = local_servers(base_port, WEIGHTS)
    cases.append(
        libmemcached_case(
            libmemcached,
            "ketama_local_weights",
            "ketama",
            "one_at_a_time",
            local_weighted,
            keys,
        )
    )
    cases.append(
        pylibmc_auto_eject_case(
            "ketama_local_weights_auto_eject",
            "ketama",
            "one_at_a_time",
            local_weighted,
            {"ketama": True},
            2,
            keys,
        )
    )
    cases.append(
        pylibmc_auto_eject_case(
            "ketama_weighted_local_auto_eject",
            "ketama_weighted",
            "md5",
            local_weighted,
            {"ketama_weighted": True},
            4,
            keys,
        )
    )
    return cases


# --- libmc -------------------------------------------------------------------


def libmc_spec(server: Server) -> str:
    address = server.path or (
        server.host if server.port == 11211 else f"{server.host}:{server.port}"
    )
    return f"{address} {server.alias}" if server.alias else address


def libmc_name(server: Server) -> str:
    """What get_host_by_key answers for a server."""
    if server.alias:
        return server.alias
    if server.path:
        return server.path
    return f"{server.host}:{server.port}"


LIBMC_HASHES = {
    "md5": libmc.MC_HASH_MD5,
    "libmc_fnv1_32": libmc.MC_HASH_FNV1_32,
    "libmc_fnv1a_32": libmc.MC_HASH_FNV1A_32,
    "crc32": libmc.MC_HASH_CRC_32,
}


def libmc_case(
    name: str,
    hash_name: str,
    servers: list[Server],
    keys: Sequence[bytes],
    *,
    prefix: bytes = b"",
    failover_dead: int | None = None,
) -> Case:
    names = [libmc_name(server) for server in servers]
    if len(set(names)) != len(names):
        raise ValueError(f"{name}: libmc names servers ambiguously: {names}")
    client = libmc.Client(
        [libmc_spec(server) for server in servers],
        hash_fn=LIBMC_HASHES[hash_name],
        prefix=prefix.decode() if prefix else None,
        failover=failover_dead is not None,
    )
    if failover_dead is None:
        answers = [client.get_host_by_key(key.decode("utf-8")) for key in keys]
        mode, dead = "plain", []
    else:
        with running(servers, [failover_dead]):
            answers = [client.get_realtime_host_by_key(key.decode("utf-8")) for key in keys]
        mode, dead = "failover", [failover_dead]
    placed = [-1 if answer is None else names.index(answer) for answer in answers]
    return Case(
        name,
        "libmc",
        hash_name,
        list(servers),
        mode=mode,
        dead=dead,
        prefix=prefix,
        hash_with_prefix=bool(prefix),
        keys=[("raw", key, index) for key, index in zip(keys, placed, strict=True)],
    )


def libmc_cases(keys: Sequence[bytes], base_port: int) -> list[Case]:
    cases = [
        libmc_case(f"libmc_{hash_name.removeprefix('libmc_')}", hash_name, FIVE, keys)
        for hash_name in LIBMC_HASHES
    ]
    aliased = [
        Server("10.0.0.1", 11211, alias="alpha"),
        Server("10.0.0.2", 11212),
        Server("cache-a.example.com", 11211, alias="gamma"),
        Server("cache-b.example.com", 22122, alias="delta"),
        Server("192.168.1.5", 11311),
    ]
    cases.append(libmc_case("libmc_aliases", "md5", aliased, keys))
    # Moving an aliased server to another address keeps its keys.
    moved = list(aliased)
    moved[2] = Server("10.9.9.9", 12345, alias="gamma")
    cases.append(libmc_case("libmc_aliases_moved", "md5", moved, keys))
    question_keys = list(keys) + [b"?" + key for key in keys[:50]]
    cases.append(libmc_case("libmc_prefix", "md5", FIVE, question_keys, prefix=b"app:"))
    unix = [Server(path="/run/memcached/a.sock"), *FIVE[1:]]
    cases.append(libmc_case("libmc_unix_socket", "md5", unix, keys))
    cases.append(libmc_case("libmc_one_server", "md5", FIVE[2:3], keys))
    local = local_servers(base_port)
    cases.append(libmc_case("libmc_local", "md5", local, keys))
    cases.append(libmc_case("libmc_local_failover", "md5", local, keys, failover_dead=2))
    cases.append(
        libmc_case("libmc_local_failover_fnv1a", "libmc_fnv1a_32", local, keys, failover_dead=0)
    )
    return cases


# --- pymemcache ---------------------------------------------------------------


def pymemcache_spec(server: Server) -> str | tuple[str, int]:
    if server.path:
        return f"unix:{server.path}"
    if ":" in server.host:
        return f"[{server.host}]:{server.port}"
    return (server.host, server.port)


def pymemcache_node(server: Server) -> str:
    if server.path:
        return server.path
    return f"{server.host}:{server.port}"


def rendezvous_case(
    name: str, servers: list[Server], keys: Sequence[bytes], *, dead: int | None = None, mode=""
) -> Case:
    client = HashClient([pymemcache_spec(server) for server in servers])
    nodes = [pymemcache_node(server) for server in servers]
    if sorted(client.hasher.nodes) != sorted(nodes):
        raise ValueError(f"{name}: pymemcache named the servers {client.hasher.nodes}")
    if dead is not None:
        client.hasher.remove_node(nodes[dead])
    rows = []
    for key in keys:
        # A str key and the same bytes as a bytes key route differently.
        rows.append(("py_str", key, nodes.index(client.hasher.get_node(key.decode("utf-8")))))
        rows.append(("py_bytes", key, nodes.index(client.hasher.get_node(key))))
    return Case(
        name,
        "rendezvous",
        "murmur3_32",
        list(servers),
        mode=mode or "plain",
        dead=[] if dead is None else [dead],
        keys=rows,
    )


def rendezvous_cases(keys: Sequence[bytes]) -> list[Case]:
    naming = [
        Server("localhost", 11211),
        Server("::1", 11211),
        Server("2001:db8::5", 11300),
        Server(path="/run/memcached/memcached.sock"),
        Server("10.0.0.2", 11212),
    ]
    return [
        rendezvous_case("rendezvous", FIVE, keys),
        rendezvous_case("rendezvous_removed_server", FIVE, keys, dead=1, mode="live_subset"),
        rendezvous_case("rendezvous_failover", FIVE, keys, dead=3, mode="failover"),
        rendezvous_case("rendezvous_naming", naming, keys),
        rendezvous_case("rendezvous_one_server", FIVE[:1], keys),
    ]


# --- python-memcached ---------------------------------------------------------


@contextlib.contextmanager
def old_server_hash(enabled: bool) -> Iterator[None]:
    saved = memcache.serverHashFunction
    if enabled:
        memcache.useOldServerHashFunction()
    try:
        yield
    finally:
        memcache.serverHashFunction = saved


def python_memcached_case(
    name: str, servers: list[Server], keys: Sequence[bytes], dead: Sequence[int], crc32: bool
) -> Case:
    specs = [(f"{server.host}:{server.port}", server.weight) for server in servers]
    with running(servers, dead), old_server_hash(crc32):
        client = memcache.Client(specs, socket_timeout=1)
        placed = []
        for key in keys:
            server, _ = client._get_server(key)
            placed.append(-1 if server is None else client.servers.index(server))
        client.disconnect_all()
    return Case(
        name,
        "python_memcached",
        "crc32" if crc32 else "crc",
        list(servers),
        mode="failover" if dead else "plain",
        dead=list(dead),
        keys=[("raw", key, index) for key, index in zip(keys, placed, strict=True)],
    )


def python_memcached_cases(keys: Sequence[bytes], base_port: int) -> list[Case]:
    plain = local_servers(base_port)
    heavy = local_servers(base_port, WEIGHTS)
    cases = []
    for crc32 in (False, True):
        suffix = "_crc32" if crc32 else ""
        cases += [
            python_memcached_case(f"python_memcached{suffix}", plain, keys, [], crc32),
            python_memcached_case(f"python_memcached_weights{suffix}", heavy, keys, [], crc32),
            python_memcached_case(f"python_memcached_dead{suffix}", plain, keys, [2], crc32),
            python_memcached_case(
                f"python_memcached_weights_dead{suffix}", heavy, keys, [4], crc32
            ),
            # One server left: python-memcached gives up on a key after ten
            # lookups that all land on dead servers.
            python_memcached_case(
                f"python_memcached_one_alive{suffix}", heavy, keys, [0, 1, 2, 4], crc32
            ),
        ]
    return cases


# ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "routing")
    parser.add_argument("--base-port", type=int, default=29101)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    versions = (
        f"pylibmc {pylibmc.__version__} (libmemcached {pylibmc.libmemcached_version}), "
        f"Debian libmemcached 1.1.4, libmc {libmc.__version__}, "
        f"pymemcache {pymemcache.__version__}, python-memcached {memcache.__version__}"
    )
    keys = placement_keys()
    libmemcached = Libmemcached()
    counts = {"key_hashes.csv": write_key_hashes(out)}
    counts["modula.csv"] = write_cases(
        out,
        "modula.csv",
        [
            "libmemcached modula placements (tools/gen_hash_vectors.py).",
            "Each case: pylibmc Client.hash and libmemcached 1.1.4 memcached_generate_hash",
            "agree (murmur3 and the namespace cases: libmemcached 1.1.4 only).",
            versions,
        ],
        modula_cases(libmemcached, keys),
    )
    counts["ketama.csv"] = write_cases(
        out,
        "ketama.csv",
        [
            "libmemcached ketama placements (tools/gen_hash_vectors.py).",
            "Each plain case: pylibmc Client.hash and libmemcached 1.1.4 agree",
            "(murmur3 and unix socket naming: 1.1.4 only); *_auto_eject: pylibmc with",
            "auto_eject after a real failure on the dead server (live_subset).",
            versions,
        ],
        ketama_cases(libmemcached, keys, args.base_port),
    )
    counts["libmc_continuum.csv"] = write_cases(
        out,
        "libmc_continuum.csv",
        [
            "libmc continuum placements: Client.get_host_by_key; *_failover:",
            "get_realtime_host_by_key with failover=True and real servers, one down.",
            versions,
        ],
        libmc_cases(keys, args.base_port),
    )
    counts["rendezvous.csv"] = write_cases(
        out,
        "rendezvous.csv",
        [
            "pymemcache HashClient placements: hasher.get_node on the str key (py_str)",
            "and on the bytes key (py_bytes); removed servers: hasher.remove_node.",
            versions,
        ],
        rendezvous_cases(keys),
    )
    counts["python_memcached.csv"] = write_cases(
        out,
        "python_memcached.csv",
        [
            "python-memcached placements: Client._get_server with real servers; dead",
            "servers are not running (failover: python-memcached's rehash).",
            versions,
        ],
        python_memcached_cases(keys, args.base_port),
    )
    for name, count in counts.items():
        print(f"{out / name}: {count} {'keys' if name == 'key_hashes.csv' else 'placements'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
