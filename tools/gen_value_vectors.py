#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Regenerates the value golden vectors in tests/data/values from the peers.

Every vector is written by a peer client itself, never by fastmc: the peer
stores a Python value into a real memcached (started with fastmc.testing on
127.0.0.1), and this script reads the item back raw, with a plain socket and
the text protocol `get`, so the flags and the stored bytes are exactly what
the peer wrote. Then every peer reads every item back through its own `get`,
and the outcome is recorded (the Python type it returned, or the exception).

  encodings.csv  `writer,case,flags,value_hex` then, per reader,
                 `read,<writer>,<case>,<reader>,<outcome>`; outcome is the
                 type name (bytes, str, int, bool, float, list, dict,
                 NoneType) or `error:<exception type>`.
  chunks.csv     libmc's do_split of one large value: `value,<key>,<size>`
                 (the value is bytes(i % 251 for i in range(size))), then
                 `item,<key_hex>,<flags>,<size>,<crc32>` for the main key and
                 each chunk key, read raw from the server.

The writers: pylibmc (default Client, and with min_compress_len for the
compressed case), python-memcached (default Client; min_compress_len for the
compressed case), pymemcache (the default Client, whose serde writes str and
int as flags 0; `pickle_serde`; and CompressedSerde over pickle_serde) and
libmc (default Client; comp_threshold for the compressed case).
"""

from __future__ import annotations

import argparse
import pathlib
import socket
import zlib

import libmc
import memcache
import pylibmc
from pymemcache import serde
from pymemcache.client.base import Client as PymemcacheClient

from fastmc.testing import MemcachedServer

COMPRESSIBLE = "fastmc compresses this " * 40
CASES: list[tuple[str, object]] = [
    ("bytes", b"raw\x00\xffbytes"),
    ("empty_bytes", b""),
    ("str", "h\u00e9llo w\u00f6rld"),
    ("int", 42),
    ("negative_int", -7),
    ("large_int", 2**70),
    ("true", True),
    ("false", False),
    ("float", 1.5),
    ("list", [1, "two", 3.0]),
    ("dict", {"a": 1}),
    ("compressed_str", COMPRESSIBLE),
    ("compressed_bytes", COMPRESSIBLE.encode()),
]
COMPRESSED_CASES = {"compressed_str", "compressed_bytes"}
SPLIT_SIZE = 2_500_000


def raw_get(address: tuple[str, int], key: bytes) -> tuple[int, bytes] | None:
    with socket.create_connection(address) as sock:
        sock.sendall(b"get " + key + b"\r\n")
        buffer = b""
        while not (buffer.endswith(b"END\r\n") and buffer.count(b"\r\n") >= 1):
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("server closed")
            buffer += chunk
            if buffer == b"END\r\n":
                return None
            if buffer.startswith(b"VALUE "):
                header, _, rest = buffer.partition(b"\r\n")
                size = int(header.split()[3])
                if len(rest) >= size + 7:
                    break
        header, _, rest = buffer.partition(b"\r\n")
        _, _, flags, size = header.split()[:4]
        return int(flags), rest[: int(size)]


class Peer:
    def __init__(self, name: str, address: tuple[str, int]) -> None:
        self.name = name
        text = f"{address[0]}:{address[1]}"
        if name == "pylibmc":
            self.client = pylibmc.Client([text])
        elif name == "python_memcached":
            self.client = memcache.Client([text])
        elif name == "pymemcache_default":
            self.client = PymemcacheClient(address, encoding="utf-8")
        elif name == "pymemcache":
            self.client = PymemcacheClient(address, serde=serde.pickle_serde)
            self.compressed = PymemcacheClient(address, serde=serde.CompressedSerde())
        elif name == "libmc":
            self.client = libmc.Client([text])
            self.compressing = libmc.Client([text], comp_threshold=100)
        else:
            raise ValueError(name)

    def set(self, key: str, value: object, compress: bool) -> None:
        if self.name in ("pylibmc", "python_memcached"):
            ok = self.client.set(key, value, min_compress_len=100 if compress else 0)
        elif self.name == "pymemcache":
            ok = (self.compressed if compress else self.client).set(key, value, noreply=False)
        elif self.name == "pymemcache_default":
            ok = self.client.set(key, value, noreply=False)
        else:
            ok = (self.compressing if compress else self.client).set(key, value)
        if not ok:
            raise RuntimeError(f"{self.name} did not store {key}")

    def read_outcome(self, key: str) -> str:
        reader = self.compressed if self.name == "pymemcache" else self.client
        try:
            return type(reader.get(key)).__name__
        except Exception as error:  # the outcome is the exception's type
            return f"error:{type(error).__name__}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = pathlib.Path(__file__).resolve().parent.parent
    parser.add_argument("--out", type=pathlib.Path, default=root / "tests/data/values")
    arguments = parser.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    names = ["pylibmc", "python_memcached", "pymemcache", "pymemcache_default", "libmc"]
    with MemcachedServer() as server:
        address = (server.host, server.port)
        peers = [Peer(name, address) for name in names]
        lines = [
            "# written by tools/gen_value_vectors.py; see tests/data/PROVENANCE.md",
            "# writer,case,flags,value_hex / read,writer,case,reader,outcome",
        ]
        for writer in peers:
            for case, value in CASES:
                key = f"{writer.name}_{case}"
                writer.set(key, value, case in COMPRESSED_CASES)
                item = raw_get(address, key.encode())
                if item is None:
                    raise RuntimeError(f"{key} missing")
                lines.append(f"{writer.name},{case},{item[0]},{item[1].hex()}")
                for reader in peers:
                    outcome = reader.read_outcome(key)
                    lines.append(f"read,{writer.name},{case},{reader.name},{outcome}")
        (arguments.out / "encodings.csv").write_text("\n".join(lines) + "\n")

        large = bytes(i % 251 for i in range(SPLIT_SIZE))
        key = "large_value"
        if not peers[-1].client.set(key, large):
            raise RuntimeError("libmc did not store the large value")
        lines = [
            "# written by tools/gen_value_vectors.py; see tests/data/PROVENANCE.md",
            "# value,key,size / item,key_hex,flags,size,crc32",
            f"value,{key},{SPLIT_SIZE}",
        ]
        main_item = raw_get(address, key.encode())
        if main_item is None:
            raise RuntimeError("large value main key missing")
        items = [(key.encode(), main_item)]
        for index in range(int(main_item[1])):
            chunk_key = f"~{len(key)}{key}/{index}".encode()
            chunk = raw_get(address, chunk_key)
            if chunk is None:
                raise RuntimeError(f"chunk {chunk_key!r} missing")
            items.append((chunk_key, chunk))
        for item_key, (flags, stored) in items:
            lines.append(f"item,{item_key.hex()},{flags},{len(stored)},{zlib.crc32(stored)}")
        (arguments.out / "chunks.csv").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
