#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark fastmc's Python API against the peer clients on one memcached or several.

Runs fastmc, pylibmc (default behaviors and tcp_nodelay), pymemcache (with and
without no_delay), libmc, python-memcached and a raw-socket baseline against
one memcached server, interleaved round by round, every read checked against
what was stored, and writes a dated Markdown report with the ratios.

With --servers N (N > 1) it runs the cluster mode instead: N memcached servers,
every client configured for all of them in its consistent mode (fastmc as
ketama and as libmc, pylibmc with ketama, pymemcache's HashClient, libmc,
python-memcached), the workloads get_hit, set, get_many and set_many, and then
the stopped-server scenario: one server stopped with SIGSTOP, one get_many of
100 keys per client, timed, its result checked.

    python bench/compare_peers.py                  # full run, writes bench/reports/
    python bench/compare_peers.py --quick          # CI smoke run, < 30 s, no report
    python bench/compare_peers.py --clients raw,fastmc,libmc --workloads get_hit,get_many
    python bench/compare_peers.py --servers 5      # cluster mode, *-python-peers-5-servers.md

See bench/README.md for what each workload measures and how to read the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import gc
import importlib.metadata
import os
import platform
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MEMCACHED = "/usr/bin/memcached"

VALUE_SIZE = 100  # bytes, for every workload but the large ones
KEY_COUNT = 100  # keys a single-key workload cycles through; one chunk = one pass
BATCH_SIZE = 100  # keys per get_many / set_many call
MULTI_CALLS_PER_CHUNK = 10
LARGE_SIZES = {"large_100k": 100 * 1024, "large_900k": 900 * 1024}
LARGE_PAIRS_PER_CHUNK = {"large_100k": 10, "large_900k": 2}
# memcached's default item limit is 1 MiB including the item header; 900 KiB
# fits, but -I 2m leaves no doubt and matches what the C++ benchmark uses.
MAX_ITEM_SIZE = 2 * 1024 * 1024

perf_counter_ns = time.perf_counter_ns


class VerificationError(Exception):
    """A client returned something other than what was stored."""


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else f"{text[:100]}... ({len(text)} chars)"


def fail(what: str, key: object, expected: object, got: object) -> None:
    message = f"{what} {_show(key)}: expected {_show(expected)}, got {_show(got)}"
    if isinstance(expected, bytes) and isinstance(got, bytes):
        at = next((i for i, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b), None)
        at = min(len(expected), len(got)) if at is None else at
        message += f" ({len(got)} bytes instead of {len(expected)}, first difference at byte {at})"
    raise VerificationError(message)


def value_of(text: str, size: int) -> bytes:
    """A value of exactly `size` bytes that starts with `text` (so it names its key)."""
    head = text.encode()
    return (head + b"." * size)[:size] if size >= len(head) else head[:size]


# ---------------------------------------------------------------------------
# memcached


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return True
        time.sleep(0.02)
    return False


@dataclasses.dataclass
class Server:
    host: str
    port: int
    how: str  # how it was started, for the report
    pid: int | None = None
    # SIGSTOP / SIGCONT, returning once they took effect; None for an external server.
    pause: Callable[[], None] | None = None
    resume: Callable[[], None] | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def _stopped(pid: int) -> bool:
    """True when every thread of `pid` is stopped (state T)."""
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(OSError):
            # The state follows the command name, which is in parentheses.
            if stat.read_text().rpartition(")")[2].split()[0] not in ("T", "t"):
                return False
    return True


def signal_pauser(pid: int) -> tuple[Callable[[], None], Callable[[], None]]:
    """pause / resume for a memcached we started without fastmc.testing."""

    def pause() -> None:
        os.kill(pid, signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while not _stopped(pid) and time.monotonic() < deadline:
            time.sleep(0.001)

    def resume() -> None:
        os.kill(pid, signal.SIGCONT)

    return pause, resume


@contextlib.contextmanager
def local_memcached(cpu: int | None) -> Iterator[Server]:
    """Starts /usr/bin/memcached on a free loopback port, pinned to `cpu`."""
    for _attempt in range(3):
        port = free_port()
        command = [MEMCACHED, *f"-l 127.0.0.1 -p {port} -U 0 -m 256 -I {MAX_ITEM_SIZE}".split()]
        if os.geteuid() == 0:
            command += ["-u", "root"]  # memcached refuses to run as root without -u
        if cpu is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(cpu), *command]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if wait_for_port("127.0.0.1", port, 5.0):
            break
        process.kill()
        process.wait()
    else:
        raise RuntimeError(f"memcached did not start: {shlex.join(command)}")
    try:
        yield Server(
            "127.0.0.1", port, shlex.join(command), process.pid, *signal_pauser(process.pid)
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def start_memcached(cpu: int | None) -> Iterator[Server]:
    """fastmc.testing.MemcachedServer when it is importable, else local_memcached."""
    try:
        from fastmc.testing import MemcachedServer
    except ImportError:
        with local_memcached(cpu) as server:
            yield server
        return
    with MemcachedServer(cpu=cpu, max_item_size=MAX_ITEM_SIZE, memory_mb=256) as server:
        how = f"{shlex.join(server.command)} (fastmc.testing.MemcachedServer)"
        yield Server(server.host, server.port, how, server.pid, server.pause, server.resume)


@contextlib.contextmanager
def start_memcached_cluster(count: int, cpu: int | None) -> Iterator[list[Server]]:
    """fastmc.testing.MemcachedCluster when it is importable, else `count` local_memcached."""
    try:
        from fastmc.testing import MemcachedCluster
    except ImportError:
        with contextlib.ExitStack() as stack:
            yield [stack.enter_context(local_memcached(cpu)) for _ in range(count)]
        return
    with MemcachedCluster(count, cpu=cpu, max_item_size=MAX_ITEM_SIZE, memory_mb=256) as cluster:
        yield [
            Server(
                server.host,
                server.port,
                f"{shlex.join(server.command)} (fastmc.testing.MemcachedCluster)",
                server.pid,
                server.pause,
                server.resume,
            )
            for server in cluster
        ]


def allowed_cpus(pid: int | None) -> str:
    if pid is None:
        return "unknown"
    # memcached's worker threads inherit the mask its main thread had at exec.
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                return line.split(":", 1)[1].strip()
    return "unknown"


# ---------------------------------------------------------------------------
# The raw-socket baseline and the untimed helper connection


class RawSocket:
    """A minimal text-protocol client: send a prebuilt request, read until the
    reply is as long as the expected one, compare the bytes.

    It is the floor a Python client can reach on one round trip: no request
    formatting, no parsing, no value object built; the whole reply is compared
    byte for byte with the expected reply, which checks every value.
    """

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # A reply shorter than expected would leave recv waiting forever; the
        # socket stays blocking (no poll per call) but a read gives up after 5 s.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 5, 0))
        self.buffer = bytearray(MAX_ITEM_SIZE + 4096)
        self.view = memoryview(self.buffer)
        self._sendall = self.sock.sendall
        self._recv_into = self.sock.recv_into

    def roundtrip(self, request: bytes, expected: bytes) -> None:
        self._sendall(request)
        size = len(expected)
        received = 0
        try:
            # Most replies arrive in one recv: no memoryview slice for those.
            count = received = self._recv_into(self.buffer)
            while count and received < size:
                count = self._recv_into(self.view[received:])
                received += count
            if not count:
                raise ConnectionError("memcached closed the connection")
        except OSError as error:
            got = bytes(self.buffer[:received])
            raise VerificationError(
                f"raw {_show(request[:60])}: {error}; expected {_show(expected)}, got {_show(got)}"
            ) from error
        # bytearray.startswith is a memcmp; comparing memoryview slices is per byte.
        if received != size or not self.buffer.startswith(expected):
            fail("raw reply to", request[:60], expected, bytes(self.buffer[:received]))

    def send(self, request: bytes) -> None:
        self._sendall(request)

    def receive(self, expected: bytes) -> None:
        """The reading half of roundtrip (kept apart so roundtrip stays one call)."""
        size = len(expected)
        received = 0
        try:
            count = received = self._recv_into(self.buffer)
            while count and received < size:
                count = self._recv_into(self.view[received:])
                received += count
            if not count:
                raise ConnectionError("memcached closed the connection")
        except OSError as error:
            got = bytes(self.buffer[:received])
            raise VerificationError(
                f"raw: {error}; expected {_show(expected)}, got {_show(got)}"
            ) from error
        if received != size or not self.buffer.startswith(expected):
            fail("raw reply", "", expected, bytes(self.buffer[:received]))

    def close(self) -> None:
        self.sock.close()


class RawCluster:
    """The raw baseline on several servers: one RawSocket per server.

    A key goes to server crc32(key) % N (a baseline needs no compatible
    placement). A multi-key call is a fan-out: every server's pipelined request
    is written first, then the replies are read server by server.
    """

    def __init__(self, servers: list[Server]) -> None:
        self.sockets = [RawSocket(server.host, server.port) for server in servers]

    def locate(self, key: str) -> int:
        return zlib.crc32(key.encode()) % len(self.sockets)

    def for_key(self, key: str) -> RawSocket:
        return self.sockets[self.locate(key)]

    def split(self, keys: list[str]) -> list[tuple[RawSocket, list[str]]]:
        """(socket, its keys in the given order) for every server with at least one key."""
        parts: dict[int, list[str]] = {}
        for key in keys:
            parts.setdefault(self.locate(key), []).append(key)
        return [(self.sockets[index], part) for index, part in sorted(parts.items())]

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def get_request(keys: list[bytes]) -> bytes:
    return b"get " + b" ".join(keys) + b"\r\n"


def set_request(key: bytes, value: bytes) -> bytes:
    return b"set %b 0 0 %d\r\n%b\r\n" % (key, len(value), value)


def hit_reply(key: bytes, value: bytes) -> bytes:
    return b"VALUE %b 0 %d\r\n%b\r\n" % (key, len(value), value)


class AdminChecks:
    """The checks every admin has, on top of its `fetch`."""

    def fetch(self, keys: list[str]) -> dict[str, bytes]:
        raise NotImplementedError

    def expect(self, what: str, items: dict[str, bytes]) -> None:
        found = self.fetch(list(items))
        for key, value in items.items():
            if found.get(key) != value:
                fail(f"{what}: the server holds for", key, value, found.get(key))

    def expect_missing(self, what: str, keys: list[str]) -> None:
        found = self.fetch(keys)
        if found:
            fail(f"{what}: still on the server:", next(iter(found)), None, found)


class Admin(AdminChecks):
    """An untimed connection that preloads keys and checks what clients stored.

    It parses replies instead of comparing them whole, so it does not depend on
    the flags a client stores bytes with.
    """

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(10.0)
        self.pending = b""

    def _read_line(self) -> bytes:
        while b"\r\n" not in self.pending:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("memcached closed the admin connection")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\r\n", 1)
        return line

    def _read_exact(self, size: int) -> bytes:
        while len(self.pending) < size:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("memcached closed the admin connection")
            self.pending += chunk
        data, self.pending = self.pending[:size], self.pending[size:]
        return data

    def version(self) -> str:
        self.sock.sendall(b"version\r\n")
        return self._read_line().decode().removeprefix("VERSION ")

    def store(self, items: dict[str, bytes]) -> None:
        self.sock.sendall(b"".join(set_request(k.encode(), v) for k, v in items.items()))
        for key in items:
            line = self._read_line()
            if line != b"STORED":
                raise RuntimeError(f"admin set {key!r}: {line!r}")

    def fetch(self, keys: list[str]) -> dict[str, bytes]:
        self.sock.sendall(get_request([k.encode() for k in keys]))
        found: dict[str, bytes] = {}
        while (line := self._read_line()) != b"END":
            fields = line.split()
            if len(fields) != 4 or fields[0] != b"VALUE":
                raise RuntimeError(f"admin get: unexpected {line!r}")
            found[fields[1].decode()] = self._read_exact(int(fields[3]))
            self._read_exact(2)
        return found

    def delete(self, keys: list[str]) -> None:
        self.sock.sendall(b"".join(b"delete %b\r\n" % k.encode() for k in keys))
        for key in keys:
            line = self._read_line()
            if line not in (b"DELETED", b"NOT_FOUND"):
                raise RuntimeError(f"admin delete {key!r}: {line!r}")

    def close(self) -> None:
        self.sock.close()


class PlacedAdmin(AdminChecks):
    """The admin connections to every server of a cluster, with one client's placement.

    Keys are stored and fetched on the server that client sends them to, so a
    preloaded key is where the client looks for it, and a check after a write
    reads the copy the client wrote.
    """

    def __init__(self, admins: list[Admin], locate: Callable[[str], int]) -> None:
        self.admins = admins
        self.locate = locate

    def _split(self, keys: list[str]) -> dict[int, list[str]]:
        parts: dict[int, list[str]] = {}
        for key in keys:
            parts.setdefault(self.locate(key), []).append(key)
        return parts

    def store(self, items: dict[str, bytes]) -> None:
        for index, keys in self._split(list(items)).items():
            self.admins[index].store({key: items[key] for key in keys})

    def fetch(self, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for index, part in self._split(keys).items():
            found.update(self.admins[index].fetch(part))
        return found


def discover_placement(
    what: str, m: Methods, keys: list[str], admins: list[Admin]
) -> dict[str, int]:
    """Where a client puts each of `keys`: it sets them itself, the admins find them.

    Untimed. Every key must be on exactly one server, with the value stored.
    """
    marks = {key: value_of(f"where:{what}:{key}:", VALUE_SIZE) for key in keys}
    for key, value in marks.items():
        if not m.set(key, value):
            fail(f"{what}: set", key, True, False)
    placement: dict[str, int] = {}
    for index, admin in enumerate(admins):
        for key, value in admin.fetch(keys).items():
            if value != marks[key]:
                fail(f"{what}: server {index} holds for", key, marks[key], value)
            if key in placement:
                raise VerificationError(
                    f"{what}: {key!r} is on servers {placement[key]} and {index}"
                )
            placement[key] = index
    for key in keys:
        if key not in placement:
            fail(f"{what}: no server holds", key, marks[key], None)
    return placement


# ---------------------------------------------------------------------------
# Clients


@dataclasses.dataclass
class Methods:
    """A library client's bound methods, called directly in the timed loops.

    Every client is used with bytes values and str keys, its natural types, so
    no serialisation is measured: they all store bytes with flags 0 as is.
    """

    get: Callable[..., Any]
    set: Callable[..., Any]
    delete: Callable[..., Any]
    incr: Callable[..., Any]
    get_many: Callable[..., Any]
    set_many: Callable[..., Any]
    set_many_ok: Any  # what set_many returns when every key was stored
    close: Callable[[], Any]
    # A client that does not wait for the server's answers (noreply) ends each
    # timed chunk of writes with this one round trip on its connection: the
    # server has then applied every write (so the checks can read them), and
    # its work on them is inside the measured time, as for the other clients.
    sync: Callable[[], Any] | None = None


@dataclasses.dataclass
class ClientSpec:
    name: str
    package: str  # distribution name, for the version
    config: str  # how it is configured, for the report
    make: Callable[[list[str]], Methods] | None  # from "host:port" addresses; None: raw
    is_peer: bool = True
    # False for a client measured in a mode the others do not use (not
    # waiting for the server's answers): the compat module run that way is
    # compared only with its peer run that way ("Compat modules"), never in
    # the "fastest peer" table.
    answers_awaited: bool = True
    note: str = ""


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def make_fastmc(**options: Any) -> Callable[[list[str]], Methods]:
    def make(addresses: list[str]) -> Methods:
        import fastmc

        mc = fastmc.Client(addresses, **options)
        return Methods(mc.get, mc.set, mc.delete, mc.incr, mc.get_many, mc.set_many, [], mc.close)

    return make


def make_compat_pylibmc() -> Callable[[list[str]], Methods]:
    def make(addresses: list[str]) -> Methods:
        from fastmc.compat import pylibmc

        mc = pylibmc.Client(addresses, binary=False)
        return Methods(
            mc.get, mc.set, mc.delete, mc.incr, mc.get_multi, mc.set_multi, [], mc.disconnect_all
        )

    return make


def make_compat_pymemcache(default_noreply: bool = False) -> Callable[[list[str]], Methods]:
    def make(addresses: list[str]) -> Methods:
        from fastmc.compat.pymemcache.client.base import Client

        (address,) = addresses
        mc = Client(_host_port(address), default_noreply=default_noreply)
        sync = mc.version if default_noreply else None
        return Methods(
            mc.get, mc.set, mc.delete, mc.incr, mc.get_many, mc.set_many, [], mc.close, sync
        )

    return make


def make_compat_libmc() -> Callable[[list[str]], Methods]:
    def make(addresses: list[str]) -> Methods:
        from fastmc.compat import libmc

        mc = libmc.Client(addresses, comp_threshold=0, noreply=False)
        return Methods(
            mc.get, mc.set, mc.delete, mc.incr, mc.get_multi, mc.set_multi, True, mc.quit
        )

    return make


def make_pylibmc(behaviors: dict[str, Any]) -> Callable[[list[str]], Methods]:
    def make(addresses: list[str]) -> Methods:
        import pylibmc

        mc = pylibmc.Client(addresses, binary=False, behaviors=behaviors or None)
        return Methods(
            mc.get, mc.set, mc.delete, mc.incr, mc.get_multi, mc.set_multi, [], mc.disconnect_all
        )

    return make


def make_pymemcache(
    no_delay: bool, default_noreply: bool = False
) -> Callable[[list[str]], Methods]:
    def make(addresses: list[str]) -> Methods:
        from pymemcache.client.base import Client

        # pymemcache's default (default_noreply=True) sends set, delete and
        # set_many with noreply and reports success without waiting for the
        # server: measured apart ("-noreply"), since it waits for nothing.
        (address,) = addresses
        mc = Client(_host_port(address), no_delay=no_delay, default_noreply=default_noreply)
        sync = mc.version if default_noreply else None
        return Methods(
            mc.get, mc.set, mc.delete, mc.incr, mc.get_many, mc.set_many, [], mc.close, sync
        )

    return make


def make_pymemcache_hash(**options: Any) -> Callable[[list[str]], Methods]:
    def make(addresses: list[str]) -> Methods:
        from pymemcache.client.hash import HashClient

        mc = HashClient([_host_port(a) for a in addresses], default_noreply=False, **options)
        return Methods(mc.get, mc.set, mc.delete, mc.incr, mc.get_many, mc.set_many, [], mc.close)

    return make


def make_libmc(**config: int) -> Callable[[list[str]], Methods]:
    def make(addresses: list[str]) -> Methods:
        import libmc

        mc = libmc.Client(addresses, comp_threshold=0, noreply=False)
        for name, value in config.items():  # e.g. MC_POLL_TIMEOUT=500
            mc.config(getattr(libmc, name), value)
        # libmc's set_multi returns True when every key was stored.
        return Methods(
            mc.get, mc.set, mc.delete, mc.incr, mc.get_multi, mc.set_multi, True, mc.quit
        )

    return make


def make_python_memcached(**options: Any) -> Callable[[list[str]], Methods]:
    def make(addresses: list[str]) -> Methods:
        import memcache

        mc = memcache.Client(addresses, **options)
        return Methods(
            mc.get, mc.set, mc.delete, mc.incr, mc.get_multi, mc.set_multi, [], mc.disconnect_all
        )

    return make


CLIENTS = [
    ClientSpec(
        "raw",
        "",
        "hand-written text protocol on a blocking socket, TCP_NODELAY",
        None,
        is_peer=False,
    ),
    ClientSpec(
        "fastmc",
        "fastmc",
        "fastmc.Client([server]) (defaults: tcp_nodelay on)",
        make_fastmc(),
        is_peer=False,
    ),
    # The compat modules, each configured as the peer it replaces is below;
    # "Compat modules" in the report holds each against native fastmc and
    # against that peer.
    ClientSpec(
        "compat-pylibmc",
        "fastmc",
        "fastmc.compat.pylibmc.Client([server], binary=False)",
        make_compat_pylibmc(),
        is_peer=False,
    ),
    ClientSpec(
        "compat-pymemcache",
        "fastmc",
        "fastmc.compat.pymemcache.client.base.Client(server, default_noreply=False)",
        make_compat_pymemcache(),
        is_peer=False,
    ),
    ClientSpec(
        "compat-libmc",
        "fastmc",
        "fastmc.compat.libmc.Client([server], comp_threshold=0, noreply=False)",
        make_compat_libmc(),
        is_peer=False,
    ),
    ClientSpec(
        "compat-pymemcache-noreply",
        "fastmc",
        "fastmc.compat.pymemcache.client.base.Client(server) (default_noreply=True, its default)",
        make_compat_pymemcache(default_noreply=True),
        is_peer=False,
        answers_awaited=False,
    ),
    ClientSpec(
        "pylibmc", "pylibmc", "binary=False, default behaviors (tcp_nodelay off)", make_pylibmc({})
    ),
    ClientSpec(
        "pylibmc-nodelay",
        "pylibmc",
        'binary=False, behaviors={"tcp_nodelay": True}',
        make_pylibmc({"tcp_nodelay": True}),
    ),
    ClientSpec(
        "pymemcache",
        "pymemcache",
        "pymemcache.client.base.Client, default_noreply=False (no_delay off)",
        make_pymemcache(False),
    ),
    ClientSpec(
        "pymemcache-nodelay",
        "pymemcache",
        "pymemcache.client.base.Client, default_noreply=False, no_delay=True",
        make_pymemcache(True),
    ),
    ClientSpec(
        "pymemcache-noreply",
        "pymemcache",
        "pymemcache.client.base.Client, default_noreply=True (its default), no_delay=True",
        make_pymemcache(True, default_noreply=True),
        answers_awaited=False,
        note="set, delete and set_many do not wait for the server; with no_delay off "
        "(its default) Nagle holds each write for the previous one's ACK: ~400 µs a set",
    ),
    ClientSpec(
        "libmc",
        "libmc",
        "libmc.Client([server], comp_threshold=0, noreply=False)",
        make_libmc(),
        note="delete returns True for a missing key too",
    ),
    ClientSpec(
        "python-memcached",
        "python-memcached",
        "memcache.Client([server])",
        make_python_memcached(),
        note="socket timeout 3 s: a poll() before each recv",
    ),
]

# Cluster mode (--servers N > 1): every client on all N servers in its own
# consistent mode. fastmc is measured twice, with the placement of each peer it
# can stand in for bit for bit (docs/routing.md): ketama = pylibmc's ketama
# (one_at_a_time hash), libmc = libmc's default. The report checks that each
# pair really puts the same keys on the same servers.
CLUSTER_CLIENTS = [
    ClientSpec(
        "raw",
        "",
        "one blocking TCP_NODELAY socket per server, key -> server crc32 % N; "
        "multi-key calls write every server's request, then read the replies",
        None,
        is_peer=False,
    ),
    ClientSpec(
        "fastmc-ketama",
        "fastmc",
        'fastmc.Client(servers, distribution="ketama") (pylibmc\'s ketama placement)',
        make_fastmc(distribution="ketama"),
        is_peer=False,
    ),
    ClientSpec(
        "fastmc-libmc",
        "fastmc",
        'fastmc.Client(servers, distribution="libmc") (libmc\'s placement)',
        make_fastmc(distribution="libmc"),
        is_peer=False,
    ),
    ClientSpec(
        "pylibmc-ketama",
        "pylibmc",
        'binary=False, behaviors={"ketama": True} (tcp_nodelay off)',
        make_pylibmc({"ketama": True}),
    ),
    ClientSpec(
        "pylibmc-ketama-nodelay",
        "pylibmc",
        'binary=False, behaviors={"ketama": True, "tcp_nodelay": True}',
        make_pylibmc({"ketama": True, "tcp_nodelay": True}),
    ),
    ClientSpec(
        "pymemcache-hash",
        "pymemcache",
        "pymemcache.client.hash.HashClient(servers, default_noreply=False) (no_delay off)",
        make_pymemcache_hash(),
        note="multi-key calls visit the servers one after the other",
    ),
    ClientSpec(
        "pymemcache-hash-nodelay",
        "pymemcache",
        "HashClient(servers, default_noreply=False, no_delay=True)",
        make_pymemcache_hash(no_delay=True),
        note="as pymemcache-hash",
    ),
    ClientSpec(
        "libmc",
        "libmc",
        "libmc.Client(servers, comp_threshold=0, noreply=False)",
        make_libmc(),
    ),
    ClientSpec(
        "python-memcached",
        "python-memcached",
        "memcache.Client(servers)",
        make_python_memcached(),
        note="socket timeout 3 s: a poll() before each recv",
    ),
]
# Pairs whose placement must be identical for the comparison to be like for like.
SAME_PLACEMENT = [
    ("fastmc-ketama", "pylibmc-ketama"),
    ("fastmc-ketama", "pylibmc-ketama-nodelay"),
    ("fastmc-libmc", "libmc"),
]
# Each compat module and the peer client it replaces (configured alike).
COMPAT_PEERS = {
    "compat-pylibmc": "pylibmc",
    "compat-pymemcache": "pymemcache",
    "compat-libmc": "libmc",
    "compat-pymemcache-noreply": "pymemcache-noreply",
}
COMPAT_SLACK = 0.05  # a compat module may be at most 5% slower than native fastmc
CLIENT_NAMES = [spec.name for spec in CLIENTS]
CLUSTER_CLIENT_NAMES = [spec.name for spec in CLUSTER_CLIENTS]


# ---------------------------------------------------------------------------
# Workloads
#
# A workload builds, per client and per measurement (untimed), a chunk: a
# closure that runs `ops_per_chunk` operations and returns the nanoseconds its
# timed part took. Verification is inside the timed part and costs the same
# for every client (one comparison per value, or one dict comparison).

Chunk = Callable[[], int]


@dataclasses.dataclass
class Context:
    tag: str  # per-client key prefix, so clients never see each other's items
    round: int
    admin: Admin | PlacedAdmin


def keys_for(ctx: Context, workload: str, count: int = KEY_COUNT) -> list[str]:
    return [f"bench:{ctx.tag}:{workload}:{i:03d}" for i in range(count)]


def values_for(ctx: Context, keys: list[str], size: int = VALUE_SIZE) -> list[bytes]:
    return [value_of(f"{ctx.round}:{key}:", size) for key in keys]


class Workload:
    name = ""
    description = ""
    ops_per_chunk = KEY_COUNT
    key_count = KEY_COUNT  # the keys a client uses, keys_for(ctx, name, key_count)
    target: float | None = None  # fastmc / fastest peer, as a throughput ratio

    def chunk(self, m: Methods, ctx: Context) -> Chunk:
        raise NotImplementedError

    def raw_chunk(self, raw: RawSocket, ctx: Context) -> Chunk:
        raise NotImplementedError

    def cluster_raw_chunk(self, raw: RawCluster, ctx: Context) -> Chunk:
        """The raw baseline in cluster mode (only the cluster workloads have one)."""
        raise NotImplementedError

    def check(self, ctx: Context) -> None:
        """Runs after a measurement (untimed): what the client wrote is on the server."""


class SetWorkload(Workload):
    name = "set"
    description = "set of a 100-byte value; the server's copy is checked after each measurement"
    target = 1.05

    def _items(self, ctx: Context) -> dict[str, bytes]:
        keys = keys_for(ctx, self.name)
        return dict(zip(keys, values_for(ctx, keys), strict=True))

    def chunk(self, m: Methods, ctx: Context) -> Chunk:
        pairs = list(self._items(ctx).items())
        set_ = m.set
        sync = m.sync

        def run() -> int:
            start = perf_counter_ns()
            for key, value in pairs:
                if not set_(key, value):
                    fail("set", key, True, False)
            if sync is not None:
                sync()
            return perf_counter_ns() - start

        return run

    def raw_chunk(self, raw: RawSocket, ctx: Context) -> Chunk:
        requests = [set_request(k.encode(), v) for k, v in self._items(ctx).items()]
        roundtrip = raw.roundtrip

        def run() -> int:
            start = perf_counter_ns()
            for request in requests:
                roundtrip(request, b"STORED\r\n")
            return perf_counter_ns() - start

        return run

    def cluster_raw_chunk(self, raw: RawCluster, ctx: Context) -> Chunk:
        calls = [
            (raw.for_key(k).roundtrip, set_request(k.encode(), v))
            for k, v in self._items(ctx).items()
        ]

        def run() -> int:
            start = perf_counter_ns()
            for roundtrip, request in calls:
                roundtrip(request, b"STORED\r\n")
            return perf_counter_ns() - start

        return run

    def check(self, ctx: Context) -> None:
        ctx.admin.expect(self.name, self._items(ctx))


class GetHitWorkload(Workload):
    name = "get_hit"
    description = "get of a 100-byte value that is there; the value is compared"
    target = 1.05

    def _items(self, ctx: Context) -> dict[str, bytes]:
        keys = keys_for(ctx, self.name)
        items = dict(zip(keys, values_for(ctx, keys), strict=True))
        ctx.admin.store(items)
        return items

    def chunk(self, m: Methods, ctx: Context) -> Chunk:
        pairs = list(self._items(ctx).items())
        get = m.get

        def run() -> int:
            start = perf_counter_ns()
            for key, value in pairs:
                got = get(key)
                if got != value:
                    fail("get", key, value, got)
            return perf_counter_ns() - start

        return run

    def raw_chunk(self, raw: RawSocket, ctx: Context) -> Chunk:
        pairs = [
            (get_request([k.encode()]), hit_reply(k.encode(), v) + b"END\r\n")
            for k, v in self._items(ctx).items()
        ]
        roundtrip = raw.roundtrip

        def run() -> int:
            start = perf_counter_ns()
            for request, expected in pairs:
                roundtrip(request, expected)
            return perf_counter_ns() - start

        return run

    def cluster_raw_chunk(self, raw: RawCluster, ctx: Context) -> Chunk:
        calls = [
            (
                raw.for_key(k).roundtrip,
                get_request([k.encode()]),
                hit_reply(k.encode(), v) + b"END\r\n",
            )
            for k, v in self._items(ctx).items()
        ]

        def run() -> int:
            start = perf_counter_ns()
            for roundtrip, request, expected in calls:
                roundtrip(request, expected)
            return perf_counter_ns() - start

        return run


class GetMissWorkload(Workload):
    name = "get_miss"
    description = "get of a key that was never set; the client must say miss (None)"
    target = 1.05

    def chunk(self, m: Methods, ctx: Context) -> Chunk:
        keys = keys_for(ctx, self.name)
        get = m.get

        def run() -> int:
            start = perf_counter_ns()
            for key in keys:
                got = get(key)
                if got is not None:
                    fail("get (miss)", key, None, got)
            return perf_counter_ns() - start

        return run

    def raw_chunk(self, raw: RawSocket, ctx: Context) -> Chunk:
        requests = [get_request([k.encode()]) for k in keys_for(ctx, self.name)]
        roundtrip = raw.roundtrip

        def run() -> int:
            start = perf_counter_ns()
            for request in requests:
                roundtrip(request, b"END\r\n")
            return perf_counter_ns() - start

        return run


class IncrWorkload(Workload):
    name = "incr"
    description = "incr by 1 of a counter; the new value is compared with the expected count"
    target = 1.05

    def _keys(self, ctx: Context) -> list[str]:
        keys = keys_for(ctx, self.name)
        ctx.admin.store(dict.fromkeys(keys, b"0"))
        return keys

    def chunk(self, m: Methods, ctx: Context) -> Chunk:
        keys = self._keys(ctx)
        incr = m.incr
        passes = [0]  # each pass increments every counter once

        def run() -> int:
            passes[0] += 1
            expected = passes[0]
            start = perf_counter_ns()
            for key in keys:
                got = incr(key, 1)
                if got != expected:
                    fail("incr", key, expected, got)
            return perf_counter_ns() - start

        return run

    def raw_chunk(self, raw: RawSocket, ctx: Context) -> Chunk:
        requests = [b"incr %b 1\r\n" % k.encode() for k in self._keys(ctx)]
        roundtrip = raw.roundtrip
        passes = [0]

        def run() -> int:
            passes[0] += 1
            expected = b"%d\r\n" % passes[0]
            start = perf_counter_ns()
            for request in requests:
                roundtrip(request, expected)
            return perf_counter_ns() - start

        return run


class DeleteWorkload(Workload):
    name = "delete"
    description = (
        "delete of a key that exists: each chunk stores its 100 keys untimed, times the "
        "100 deletes (each must report the key existed), then checks untimed that they are gone"
    )
    target = 1.05

    def _items(self, ctx: Context) -> dict[str, bytes]:
        keys = keys_for(ctx, self.name)
        return dict(zip(keys, values_for(ctx, keys), strict=True))

    def chunk(self, m: Methods, ctx: Context) -> Chunk:
        items = self._items(ctx)
        keys = list(items)
        delete = m.delete
        sync = m.sync
        admin = ctx.admin

        def run() -> int:
            admin.store(items)
            start = perf_counter_ns()
            for key in keys:
                if not delete(key):
                    fail("delete", key, True, False)
            if sync is not None:
                sync()
            elapsed = perf_counter_ns() - start
            admin.expect_missing("delete", keys)
            return elapsed

        return run

    def raw_chunk(self, raw: RawSocket, ctx: Context) -> Chunk:
        items = self._items(ctx)
        keys = list(items)
        requests = [b"delete %b\r\n" % k.encode() for k in keys]
        roundtrip = raw.roundtrip
        admin = ctx.admin

        def run() -> int:
            admin.store(items)
            start = perf_counter_ns()
            for request in requests:
                roundtrip(request, b"DELETED\r\n")
            elapsed = perf_counter_ns() - start
            admin.expect_missing("delete", keys)
            return elapsed

        return run


class GetManyWorkload(Workload):
    name = "get_many"
    description = "one multi-get of 100 keys, all hits; the whole {key: value} dict is compared"
    ops_per_chunk = MULTI_CALLS_PER_CHUNK
    key_count = BATCH_SIZE
    target = 1.5

    def _items(self, ctx: Context) -> dict[str, bytes]:
        keys = keys_for(ctx, self.name, BATCH_SIZE)
        items = dict(zip(keys, values_for(ctx, keys), strict=True))
        ctx.admin.store(items)
        return items

    def chunk(self, m: Methods, ctx: Context) -> Chunk:
        expected = self._items(ctx)
        keys = list(expected)
        get_many = m.get_many

        def run() -> int:
            start = perf_counter_ns()
            for _ in range(MULTI_CALLS_PER_CHUNK):
                got = get_many(keys)
                if got != expected:
                    fail("get_many of", f"{len(keys)} keys", "all values", got)
            return perf_counter_ns() - start

        return run

    def raw_chunk(self, raw: RawSocket, ctx: Context) -> Chunk:
        items = self._items(ctx)
        # memcached answers a multi-key get in request order.
        request = get_request([k.encode() for k in items])
        expected = b"".join(hit_reply(k.encode(), v) for k, v in items.items()) + b"END\r\n"
        roundtrip = raw.roundtrip

        def run() -> int:
            start = perf_counter_ns()
            for _ in range(MULTI_CALLS_PER_CHUNK):
                roundtrip(request, expected)
            return perf_counter_ns() - start

        return run

    def cluster_raw_chunk(self, raw: RawCluster, ctx: Context) -> Chunk:
        items = self._items(ctx)
        parts = raw.split(list(items))
        sends = [(sock.send, get_request([k.encode() for k in keys])) for sock, keys in parts]
        receives = [
            (
                sock.receive,
                b"".join(hit_reply(k.encode(), items[k]) for k in keys) + b"END\r\n",
            )
            for sock, keys in parts
        ]
        return _fan_out(sends, receives)


def _fan_out(
    sends: list[tuple[Callable[[bytes], None], bytes]],
    receives: list[tuple[Callable[[bytes], None], bytes]],
) -> Chunk:
    """A raw multi-key chunk on a cluster: write every server's request, then read each reply."""

    def run() -> int:
        start = perf_counter_ns()
        for _ in range(MULTI_CALLS_PER_CHUNK):
            for send, request in sends:
                send(request)
            for receive, expected in receives:
                receive(expected)
        return perf_counter_ns() - start

    return run


class SetManyWorkload(Workload):
    name = "set_many"
    description = "one multi-set of 100 keys of 100 bytes; the server's copies are checked after"
    ops_per_chunk = MULTI_CALLS_PER_CHUNK
    key_count = BATCH_SIZE
    target = 1.3

    def _items(self, ctx: Context) -> dict[str, bytes]:
        keys = keys_for(ctx, self.name, BATCH_SIZE)
        return dict(zip(keys, values_for(ctx, keys), strict=True))

    def chunk(self, m: Methods, ctx: Context) -> Chunk:
        items = self._items(ctx)
        set_many = m.set_many
        ok = m.set_many_ok
        sync = m.sync

        def run() -> int:
            start = perf_counter_ns()
            for _ in range(MULTI_CALLS_PER_CHUNK):
                got = set_many(items)
                if got != ok:
                    fail("set_many of", f"{len(items)} keys", ok, got)
            if sync is not None:
                sync()
            return perf_counter_ns() - start

        return run

    def raw_chunk(self, raw: RawSocket, ctx: Context) -> Chunk:
        items = self._items(ctx)
        request = b"".join(set_request(k.encode(), v) for k, v in items.items())
        expected = b"STORED\r\n" * len(items)
        roundtrip = raw.roundtrip

        def run() -> int:
            start = perf_counter_ns()
            for _ in range(MULTI_CALLS_PER_CHUNK):
                roundtrip(request, expected)
            return perf_counter_ns() - start

        return run

    def cluster_raw_chunk(self, raw: RawCluster, ctx: Context) -> Chunk:
        items = self._items(ctx)
        parts = raw.split(list(items))
        sends = [
            (sock.send, b"".join(set_request(k.encode(), items[k]) for k in keys))
            for sock, keys in parts
        ]
        receives = [(sock.receive, b"STORED\r\n" * len(keys)) for sock, keys in parts]
        return _fan_out(sends, receives)

    def check(self, ctx: Context) -> None:
        ctx.admin.expect(self.name, self._items(ctx))


class LargeWorkload(Workload):
    target = 1.2

    def __init__(self, name: str) -> None:
        self.name = name
        self.size = LARGE_SIZES[name]
        self.ops_per_chunk = LARGE_PAIRS_PER_CHUNK[name]
        self.description = (
            f"set then get of one {self.size // 1024} KiB value (one op = the pair); "
            "the value read is compared"
        )

    def _item(self, ctx: Context) -> tuple[str, bytes]:
        key = f"bench:{ctx.tag}:{self.name}"
        # Random bytes, new each round: nothing compresses, nothing is stale.
        return key, value_of(f"{ctx.round}:{key}:", 64) + os.urandom(self.size - 64)

    def chunk(self, m: Methods, ctx: Context) -> Chunk:
        key, value = self._item(ctx)
        set_, get = m.set, m.get
        pairs = range(self.ops_per_chunk)

        def run() -> int:
            start = perf_counter_ns()
            for _ in pairs:
                if not set_(key, value):
                    fail("set", key, True, False)
                got = get(key)
                if got != value:
                    fail("get", key, value, got)
            return perf_counter_ns() - start

        return run

    def raw_chunk(self, raw: RawSocket, ctx: Context) -> Chunk:
        key, value = self._item(ctx)
        set_req = set_request(key.encode(), value)
        get_req = get_request([key.encode()])
        expected = hit_reply(key.encode(), value) + b"END\r\n"
        roundtrip = raw.roundtrip
        pairs = range(self.ops_per_chunk)

        def run() -> int:
            start = perf_counter_ns()
            for _ in pairs:
                roundtrip(set_req, b"STORED\r\n")
                roundtrip(get_req, expected)
            return perf_counter_ns() - start

        return run


WORKLOADS: list[Workload] = [
    SetWorkload(),
    GetHitWorkload(),
    GetMissWorkload(),
    IncrWorkload(),
    DeleteWorkload(),
    GetManyWorkload(),
    SetManyWorkload(),
    LargeWorkload("large_100k"),
    LargeWorkload("large_900k"),
]
WORKLOAD_NAMES = [w.name for w in WORKLOADS]
CLUSTER_WORKLOAD_NAMES = ["set", "get_hit", "get_many", "set_many"]


# ---------------------------------------------------------------------------
# Measurement


class CpuGuard:
    """How much of a measurement's wall time other processes took on the benchmark's CPU.

    Pinning puts the client and memcached on one CPU, but nothing keeps other
    processes off it, and whatever runs there lands in the figures. Before and
    after a measurement this reads the CPU time of every thread of this process
    and of memcached (/proc/<pid>/task/*/schedstat, ns) and the CPU's idle time
    (/proc/stat); the wall time neither accounts for is time another process ran.
    Idle time is counted in clock ticks (10 ms), so the guard is meant for
    measurements of 0.1 s or more.
    """

    def __init__(self, cpu: int, pids: list[int]) -> None:
        self.cpu_label = f"cpu{cpu} "
        self.pids = pids
        self.tick_ns = 1_000_000_000 // os.sysconf("SC_CLK_TCK")

    def sample(self) -> tuple[int, int, int]:
        """(wall ns, CPU time of our threads and memcached's in ns, idle ns of the CPU)."""
        busy = 0
        for pid in self.pids:
            for path in Path(f"/proc/{pid}/task").glob("*/schedstat"):
                with contextlib.suppress(OSError):  # a thread that just ended
                    busy += int(path.read_text().split()[0])
        idle = 0
        with open("/proc/stat") as stat:
            for line in stat:
                if line.startswith(self.cpu_label):
                    fields = line.split()
                    idle = (int(fields[4]) + int(fields[5])) * self.tick_ns  # idle + iowait
                    break
        return perf_counter_ns(), busy, idle

    @staticmethod
    def foreign(before: tuple[int, int, int], after: tuple[int, int, int]) -> float:
        """The fraction of the wall time between two samples that other processes ran."""
        wall, busy, idle = (a - b for a, b in zip(after, before, strict=True))
        return max(0.0, (wall - busy - idle) / wall) if wall > 0 else 0.0


@dataclasses.dataclass
class GuardCounts:
    measured: int = 0  # recorded measurements
    repeated: int = 0  # attempts thrown away because another process ran
    # (workload, client) -> measurements still over the limit after every retry, kept
    kept_noisy: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)


def measure(chunk: Chunk, ops_per_chunk: int, seconds: float) -> float:
    """Runs chunks until `seconds` of wall time passed; returns timed µs per op."""
    gc.collect()
    # Collections would land on whichever client happens to be running.
    gc.disable()
    try:
        elapsed = operations = 0
        deadline = perf_counter_ns() + int(seconds * 1e9)
        while True:
            elapsed += chunk()
            operations += ops_per_chunk
            if perf_counter_ns() >= deadline:
                break
    finally:
        gc.enable()
    return elapsed / operations / 1000


@dataclasses.dataclass
class Running:
    spec: ClientSpec
    tag: str
    methods: Methods | None = None
    raw: RawSocket | RawCluster | None = None
    # Cluster mode: the admin that stores and checks keys where this client puts them.
    admin: PlacedAdmin | None = None
    placement: dict[str, int] = dataclasses.field(default_factory=dict)

    def chunk(self, workload: Workload, ctx: Context) -> Chunk:
        if isinstance(self.raw, RawCluster):
            return workload.cluster_raw_chunk(self.raw, ctx)
        if self.raw is not None:
            return workload.raw_chunk(self.raw, ctx)
        assert self.methods is not None
        return workload.chunk(self.methods, ctx)

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()
        if self.methods is not None:
            self.methods.close()


def workload_keys(tag: str, workloads: list[Workload]) -> list[str]:
    return [f"bench:{tag}:{w.name}:{i:03d}" for w in workloads for i in range(w.key_count)]


def open_clients(
    specs: list[ClientSpec],
    servers: list[Server],
    admins: list[Admin],
    workloads: list[Workload],
) -> list[Running]:
    """Opens every client; in cluster mode also finds where each puts its keys (untimed)."""
    addresses = [server.address for server in servers]
    cluster = len(servers) > 1
    running = []
    for index, spec in enumerate(specs):
        client = Running(spec, tag=f"c{index}")
        running.append(client)
        if spec.make is None:
            if cluster:
                raw = RawCluster(servers)
                client.raw = raw
                client.admin = PlacedAdmin(admins, raw.locate)
            else:
                client.raw = RawSocket(servers[0].host, servers[0].port)
            continue
        client.methods = spec.make(addresses)
        if cluster:
            keys = workload_keys(client.tag, workloads)
            placement = discover_placement(spec.name, client.methods, keys, admins)
            client.placement = placement
            client.admin = PlacedAdmin(admins, placement.__getitem__)
    return running


@dataclasses.dataclass
class Placement:
    """Where the clients put the same 100 probe keys (cluster mode)."""

    spread: dict[str, list[int]]  # client -> keys per server
    # (fastmc client, peer, keys on the same server, keys compared)
    pairs: list[tuple[str, str, int, int]]


def compare_placements(
    specs: list[ClientSpec], servers: list[Server], admins: list[Admin]
) -> Placement:
    """Every library client sets the same probe keys; the admins find where each went."""
    addresses = [server.address for server in servers]
    keys = [f"bench:placement:{i:03d}" for i in range(BATCH_SIZE)]
    found: dict[str, dict[str, int]] = {}
    for spec in specs:
        if spec.make is None:
            continue
        methods = spec.make(addresses)
        try:
            found[spec.name] = discover_placement(spec.name, methods, keys, admins)
        finally:
            methods.close()
            for admin in admins:
                admin.delete(keys)
    spread = {
        name: [sum(1 for index in where.values() if index == s) for s in range(len(servers))]
        for name, where in found.items()
    }
    pairs = [
        (ours, peer, sum(found[ours][k] == found[peer][k] for k in keys), len(keys))
        for ours, peer in SAME_PLACEMENT
        if ours in found and peer in found
    ]
    return Placement(spread, pairs)


# ---------------------------------------------------------------------------
# The stopped-server scenario (cluster mode)

STOP_TIMEOUT = 0.5  # seconds: every client's read timeout in the scenario
STOP_MARGIN = 0.1  # seconds fastmc may take beyond it
STOPPED_SERVER = 0  # the index of the server stopped
STOP_CALLS = 3  # get_many calls timed while it is stopped (what a client remembers shows)


@dataclasses.dataclass
class StopSpec:
    name: str  # also the benchmark client(s) it stands for: name, name + "-nodelay"
    package: str
    config: str
    make: Callable[[list[str]], Methods]
    is_fastmc: bool = False


STOP_CLIENTS = [
    StopSpec(
        "fastmc-ketama",
        "fastmc",
        'distribution="ketama", timeout=0.5, connect_timeout=0.5 (dead_server_policy "error", '
        "the default)",
        make_fastmc(distribution="ketama", timeout=STOP_TIMEOUT, connect_timeout=STOP_TIMEOUT),
        is_fastmc=True,
    ),
    StopSpec(
        "fastmc-libmc",
        "fastmc",
        'distribution="libmc", timeout=0.5, connect_timeout=0.5',
        make_fastmc(distribution="libmc", timeout=STOP_TIMEOUT, connect_timeout=STOP_TIMEOUT),
        is_fastmc=True,
    ),
    StopSpec(
        "pylibmc-ketama",
        "pylibmc",
        'behaviors={"ketama": True, "tcp_nodelay": True, "connect_timeout": 500, '
        '"_poll_timeout": 500} (ms)',
        make_pylibmc(
            {"ketama": True, "tcp_nodelay": True, "connect_timeout": 500, "_poll_timeout": 500}
        ),
    ),
    StopSpec(
        "pymemcache-hash",
        "pymemcache",
        "HashClient(servers, default_noreply=False, timeout=0.5, connect_timeout=0.5, "
        "ignore_exc=True)",
        make_pymemcache_hash(timeout=STOP_TIMEOUT, connect_timeout=STOP_TIMEOUT, ignore_exc=True),
    ),
    StopSpec(
        "libmc",
        "libmc",
        "config(MC_POLL_TIMEOUT, 500), config(MC_CONNECT_TIMEOUT, 500) (ms)",
        make_libmc(MC_POLL_TIMEOUT=500, MC_CONNECT_TIMEOUT=500),
    ),
    StopSpec(
        "python-memcached",
        "python-memcached",
        "memcache.Client(servers, socket_timeout=0.5)",
        make_python_memcached(socket_timeout=STOP_TIMEOUT),
    ),
]


@dataclasses.dataclass
class StopCall:
    seconds: float
    live_returned: int  # keys of the live servers returned with their value
    live_total: int
    stopped_returned: int  # keys of the stopped server returned (should be 0)
    wrong: int  # values returned that differ from the stored ones
    raised: str  # "" or the exception


@dataclasses.dataclass
class StopResult:
    spec: StopSpec
    calls: list[StopCall] = dataclasses.field(default_factory=list)
    skipped: str = ""

    @property
    def verdict(self) -> str:
        if not self.spec.is_fastmc:
            return "-"
        if not self.calls:
            return "not measured"
        first = self.calls[0]
        ok = (
            not first.raised
            and not first.wrong
            and first.live_returned == first.live_total
            and first.seconds <= STOP_TIMEOUT + STOP_MARGIN
        )
        return "met" if ok else "NOT MET"


def timed_get_many(
    m: Methods, keys: list[str], expected: dict[str, bytes], placement: dict[str, int]
) -> StopCall:
    raised = ""
    got: Any = {}
    start = time.perf_counter()
    try:
        got = m.get_many(keys)
    except Exception as error:
        raised = f"{type(error).__name__}: {error}"
    seconds = time.perf_counter() - start
    got = got if isinstance(got, dict) else {}
    live = [k for k in keys if placement[k] != STOPPED_SERVER]
    return StopCall(
        seconds,
        sum(1 for k in live if got.get(k) == expected[k]),
        len(live),
        sum(1 for k in keys if placement[k] == STOPPED_SERVER and k in got),
        sum(1 for k, v in got.items() if expected.get(k) != v),
        raised,
    )


def stopped_server_scenario(
    chosen: list[str] | None,
    servers: list[Server],
    admins: list[Admin],
    log: Callable[[str], None],
) -> list[StopResult]:
    """For each client: load 100 keys through it, stop one server, time get_many calls."""
    server = servers[STOPPED_SERVER]
    assert server.pause is not None and server.resume is not None
    addresses = [s.address for s in servers]
    results = []
    for index, spec in enumerate(STOP_CLIENTS):
        if chosen is not None and not {spec.name, f"{spec.name}-nodelay"} & set(chosen):
            continue
        result = StopResult(spec)
        results.append(result)
        try:
            m = spec.make(addresses)
        except ImportError as error:
            result.skipped = f"not importable: {error}"
            continue
        try:
            keys = [f"bench:s{index}:stopped:{i:03d}" for i in range(BATCH_SIZE)]
            # Loaded through the client itself: its own placement, every connection open.
            placement = discover_placement(spec.name, m, keys, admins)
            expected = {key: value_of(f"where:{spec.name}:{key}:", VALUE_SIZE) for key in keys}
            got = m.get_many(keys)
            if got != expected:
                fail(f"{spec.name}: get_many with every server up of", "100 keys", expected, got)
            server.pause()
            try:
                result.calls = [
                    timed_get_many(m, keys, expected, placement) for _ in range(STOP_CALLS)
                ]
            finally:
                server.resume()
        finally:
            m.close()
        first = result.calls[0]
        log(
            f"stopped server: {spec.name}: {first.seconds * 1000:.0f} ms, "
            f"{first.live_returned}/{first.live_total} live keys"
            + (f", raised {first.raised}" if first.raised else "")
        )
        # What the paused server queued is answered now; let it settle before the next client.
        time.sleep(0.05)
    return results


Results = dict[str, dict[str, list[float]]]  # workload -> client -> µs per op, per round


def run_rounds(
    clients: list[Running],
    workloads: list[Workload],
    admin: Admin | None,  # None in cluster mode: every client has its own
    args: argparse.Namespace,
    guard: CpuGuard | None,
    log: Callable[[str], None],
) -> tuple[Results, GuardCounts]:
    results: Results = {w.name: {c.spec.name: [] for c in clients} for w in workloads}
    counts = GuardCounts()
    started = time.monotonic()
    # Round -1 warms every client and connection up and is not recorded.
    for round_index in range(-1, args.rounds):
        shift = round_index % len(clients)
        order = clients[shift:] + clients[:shift]
        warm_up = round_index < 0
        budget = args.seconds_per_round / 4 if warm_up else args.seconds_per_round
        attempts = 1 if warm_up or guard is None else 1 + args.retries
        for workload in workloads:
            for client in order:
                ctx = Context(client.tag, round_index, client.admin or admin)
                # (foreign fraction, µs per op) of the cleanest attempt so far
                best: tuple[float, float] | None = None
                try:
                    for _attempt in range(attempts):
                        chunk = client.chunk(workload, ctx)
                        before = guard.sample() if guard else None
                        us_per_op = measure(chunk, workload.ops_per_chunk, budget)
                        foreign = guard.foreign(before, guard.sample()) if guard else 0.0
                        workload.check(ctx)
                        if best is None or foreign < best[0]:
                            best = (foreign, us_per_op)
                        if foreign <= args.max_foreign:
                            break
                        if not warm_up and _attempt + 1 < attempts:
                            counts.repeated += 1
                            # Let a short burst of other work (a compile, a test) pass.
                            time.sleep(0.25 * (_attempt + 1))
                except VerificationError as error:
                    raise VerificationError(
                        f"{client.spec.name} / {workload.name} (round {round_index}): {error}"
                    ) from error
                assert best is not None
                if not warm_up:
                    counts.measured += 1
                    if best[0] > args.max_foreign:
                        cell = (workload.name, client.spec.name)
                        counts.kept_noisy[cell] = counts.kept_noisy.get(cell, 0) + 1
                    results[workload.name][client.spec.name].append(best[1])
        label = "warm-up" if warm_up else f"round {round_index + 1}/{args.rounds}"
        log(
            f"{label} done ({time.monotonic() - started:.1f} s; {counts.repeated} measurements "
            "repeated so far because another process ran on the CPU)"
        )
    return results, counts


# ---------------------------------------------------------------------------
# Report


@dataclasses.dataclass
class Summary:
    median: float  # µs per op
    spread: float  # interquartile range / median, as a fraction


def summarise(samples: list[float]) -> Summary:
    median = statistics.median(samples)
    if len(samples) >= 4:
        q1, _, q3 = statistics.quantiles(samples, n=4)
        spread = (q3 - q1) / median
    else:
        spread = (max(samples) - min(samples)) / median
    return Summary(median, spread)


def speedup(faster_us: float, slower_us: float) -> float:
    """How many times the throughput of `slower_us` the `faster_us` client has."""
    return slower_us / faster_us


def fastest_peer(row: dict[str, Summary], specs: dict[str, ClientSpec]) -> str | None:
    peers = [name for name in row if specs[name].is_peer and specs[name].answers_awaited]
    return min(peers, key=lambda name: row[name].median) if peers else None


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def source_revision() -> str:
    """The repository's commit, "+ local changes" when the tree differs from it."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit} + local changes" if changes else commit


def package_version(package: str) -> str:
    try:
        version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
    if package == "fastmc":
        import fastmc

        # The tree's revision says what was built only if it was installed from this tree.
        location = Path(fastmc.__file__).parent
        version += f" from {location}; repository at {source_revision()}"
    if package == "pylibmc":
        with contextlib.suppress(ImportError):
            import pylibmc

            version += f" (libmemcached {pylibmc.libmemcached_version})"
    return version


def _loads(averages: tuple[float, float, float]) -> str:
    return ", ".join(f"{average:.2f}" for average in averages)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


TIE = 0.03  # the least difference called a win: about the run-to-run spread of a quiet run


def compare_configurations(first: str, second: str, rows: dict[str, tuple[float, float]]) -> str:
    """Which of two configurations is faster.

    `rows` maps a workload to (`first`'s speedup over `second`, the tolerance
    under which the difference is a tie: the larger of TIE and the two spreads'
    mean).
    """
    wins = [f"{w} ({v:.2f}x)" for w, (v, tol) in rows.items() if v > 1 + tol]
    losses = [f"{w} ({1 / v:.2f}x)" for w, (v, tol) in rows.items() if v < 1 - tol]
    ties = len(rows) - len(wins) - len(losses)
    if wins and not losses:
        verdict = f"{first} is faster: never slower, and faster on {', '.join(wins)}"
    elif losses and not wins:
        verdict = f"{second} is faster: never slower, and faster on {', '.join(losses)}"
    elif not wins:
        verdict = "they are as fast as each other"
    else:
        verdict = (
            f"neither is faster everywhere: {first} wins on {', '.join(wins)}; "
            f"{second} wins on {', '.join(losses)}"
        )
    mean = statistics.geometric_mean(v for v, _ in rows.values())
    return (
        f"Verdict: {verdict}; {ties} of {len(rows)} rows are ties (a difference under "
        f"{TIE * 100:.0f}% or under the rows' spread). Geometric mean of the speedups: {mean:.2f}x."
    )


@dataclasses.dataclass
class RunInfo:
    """What the report says about the run besides the figures."""

    servers: list[Server]
    memcached_version: str
    pinning: str
    skipped: dict[str, str]  # client -> why it was not measured
    load_before: tuple[float, float, float]
    guard: str = ""
    seconds_total: float = 0.0
    noisy: set[tuple[str, str]] = dataclasses.field(default_factory=set)  # (workload, client)
    placement: Placement | None = None  # cluster mode
    stopped: list[StopResult] | None = None  # cluster mode, when the servers are ours
    stopped_note: str = ""  # why the stopped-server scenario did not run


def render_report(
    args: argparse.Namespace, results: Results, specs: list[ClientSpec], info: RunInfo
) -> str:
    by_name = {spec.name: spec for spec in specs}
    names = [spec.name for spec in specs]
    summary = {w: {c: summarise(s) for c, s in row.items() if s} for w, row in results.items()}
    fastmc_names = [
        spec.name for spec in specs if spec.package == "fastmc" and spec.answers_awaited
    ]
    has_fastmc = bool(fastmc_names)
    today = datetime.date.today().isoformat()
    cluster = len(info.servers) > 1
    title = "fastmc vs Python memcached clients"
    if cluster:
        title += f" on {len(info.servers)} servers"
    if not has_fastmc:
        title += ": PEERS ONLY (fastmc not measured)"
    out = [f"# {title}, {today}", ""]
    if not has_fastmc:
        out += [
            f"fastmc was not measured: {info.skipped.get('fastmc', 'not selected')}. This "
            "report gives the peers and the raw baseline only; the verdicts are open.",
            "",
        ]

    out += ["## Setup", ""]
    uname = platform.uname()
    out += [
        f"- Date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- Command: `{shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])}`",
        f"- Machine: {cpu_model()}, {os.cpu_count()} CPUs; kernel {uname.release}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}",
        *(
            [
                f"- memcached {info.memcached_version}, {len(info.servers)} servers at "
                + ", ".join(server.address for server in info.servers)
                + f"; the first started as `{info.servers[0].how}`, the others alike"
            ]
            if cluster
            else [
                f"- memcached {info.memcached_version} at {info.servers[0].host}:"
                f"{info.servers[0].port}, started as `{info.servers[0].how}`"
            ]
        ),
        f"- Pinning: {info.pinning}",
        f"- CPU guard: {info.guard}",
        f"- Load average (1, 5, 15 min) before the run: {_loads(info.load_before)}; after: "
        f"{_loads(os.getloadavg())} (anything else running on the CPUs shows up as noise)",
        f"- Rounds: {args.rounds} of {args.seconds_per_round} s per client and workload, after "
        f"one warm-up round; order of the clients rotated each round; whole run "
        f"{info.seconds_total:.0f} s",
        "",
    ]
    client_rows = []
    for spec in specs:
        version = "-" if not spec.package else package_version(spec.package)
        client_rows.append([spec.name, version, spec.config, spec.note or ""])
    out += [table(["client", "version", "configuration", "note"], client_rows), ""]
    if info.skipped:
        not_measured = "; ".join(f"{n} ({why})" for n, why in info.skipped.items())
        out += [f"Not measured: {not_measured}", ""]
    out += [
        "Every client is called with str keys and bytes values, its natural types: none of "
        "them serialises bytes (all store them with flags 0), so no pickling is measured. "
        "Every value read is compared with the value stored; a mismatch stops the run.",
        "",
    ]
    if info.placement is not None:
        out += render_placement(info.placement, len(info.servers))
    out += ["## Workloads", ""]
    out += [f"- `{w.name}`: {w.description}" for w in WORKLOADS if w.name in results]
    out += [
        "",
        "`raw` sends a prebuilt request on a blocking TCP_NODELAY socket, reads until it has "
        "as many bytes as the expected reply and compares them: the cost of the round trip "
        "from Python and nothing else (no formatting, no parsing, no value object). For "
        "get_many it is one pipelined multi-get, for set_many 100 pipelined sets in one write.",
        "",
    ]
    if cluster:
        out += [
            f"On {len(info.servers)} servers `raw` has one such socket per server and sends a "
            "key to server crc32(key) % N; a get_many or set_many writes every server's "
            "pipelined request first and then reads the replies one server after the other "
            "(a fan-out, as fastmc, pylibmc and libmc do; pymemcache's HashClient and "
            "python-memcached's set_multi go server by server). Every client (and the check "
            "of what it stored) uses its own placement, found before the run by letting it "
            "set its keys and asking every server which it holds.",
            "",
        ]
    out += [
        "## Results: µs per operation (median of the rounds; ± is the interquartile range)",
        "",
    ]
    if info.noisy:
        out += [
            "A cell marked * kept a measurement during which another process ran on the CPU "
            "(see CPU guard above): read it with care.",
            "",
        ]
    rows = []
    for workload, row in summary.items():
        cells = [workload]
        for name in names:
            item = row.get(name)
            mark = "*" if (workload, name) in info.noisy else ""
            cells.append(
                "-" if item is None else f"{item.median:.2f} ±{item.spread * 100:.0f}%{mark}"
            )
        rows.append(cells)
    out += [table(["workload", *names], rows), ""]

    out += ["## Throughput relative to the raw socket (raw µs / client µs)", ""]
    rows = []
    for workload, row in summary.items():
        raw = row.get("raw")
        cells = [workload]
        for name in names:
            if name == "raw":
                continue
            item = row.get(name)
            cells.append(
                "-" if item is None or raw is None else f"{speedup(item.median, raw.median):.2f}"
            )
        rows.append(cells)
    out += [table(["workload", *(n for n in names if n != "raw")], rows), ""]

    out += ["## fastmc against the fastest peer (throughput ratio; > 1 means fastmc is faster)", ""]
    rows = []
    verdicts = []
    targets = {w.name: w.target for w in WORKLOADS}
    several = len(fastmc_names) > 1
    for workload, row in summary.items():
        best = fastest_peer(row, by_name)
        target = targets.get(workload)
        best_us = "-" if best is None else f"{row[best].median:.2f}"
        best_raw = (
            "-"
            if best is None or "raw" not in row
            else f"{speedup(row[best].median, row['raw'].median):.2f}"
        )
        for ours in fastmc_names or ["fastmc"]:
            fast = row.get(ours)
            if fast is None or best is None:
                ratio, verdict = "-", "not measured"
            else:
                value = speedup(fast.median, row[best].median)
                ratio = f"{value:.2f}x"
                verdict = ("met" if value >= target else "NOT MET") if target else "no target"
            verdicts.append(verdict)
            rows.append(
                [
                    workload,
                    *([ours] if several else []),
                    best or "-",
                    best_us,
                    best_raw,
                    "-" if fast is None else f"{fast.median:.2f}",
                    ratio,
                    f">= {target}x" if target else "-",
                    verdict,
                ]
            )
    out += [
        table(
            [
                "workload",
                *(["fastmc client"] if several else []),
                "fastest peer",
                "peer µs",
                "peer / raw",
                "fastmc µs",
                "fastmc / peer",
                "target",
                "verdict",
            ],
            rows,
        ),
        "",
    ]
    if has_fastmc:
        met = verdicts.count("met")
        out += [f"Targets met: {met} of {sum(v in ('met', 'NOT MET') for v in verdicts)}.", ""]

    compat = [name for name in COMPAT_PEERS if name in names]
    if compat and "fastmc" in names:
        out += [
            "## Compat modules against native fastmc and against the peer they replace",
            "",
            f"Native / compat is fastmc's µs over the module's (>= {1 - COMPAT_SLACK:.2f} is "
            f"within {COMPAT_SLACK:.0%}); compat / peer is the module's throughput over its "
            "peer's (> 1: the module is faster).",
            "",
        ]
        rows = []
        for workload, row in summary.items():
            native = row.get("fastmc")
            for name in compat:
                item, peer = row.get(name), row.get(COMPAT_PEERS[name])
                if item is None or native is None:
                    continue
                to_native = speedup(item.median, native.median)
                to_peer = None if peer is None else speedup(item.median, peer.median)
                verdict = (
                    "met"
                    if to_native >= 1 - COMPAT_SLACK and (to_peer is None or to_peer > 1)
                    else "NOT MET"
                )
                rows.append(
                    [
                        workload,
                        name,
                        f"{native.median:.2f}",
                        f"{item.median:.2f}",
                        "-" if peer is None else f"{peer.median:.2f}",
                        f"{to_native:.2f}",
                        "-" if to_peer is None else f"{to_peer:.2f}x",
                        verdict,
                    ]
                )
        out += [
            table(
                [
                    "workload",
                    "module",
                    "fastmc µs",
                    "module µs",
                    "peer µs",
                    "native / compat",
                    "compat / peer",
                    "verdict",
                ],
                rows,
            ),
            "",
        ]

    pylibmc = "pylibmc-ketama" if cluster else "pylibmc"
    if pylibmc in names and f"{pylibmc}-nodelay" in names:
        out += ["## pylibmc: default behaviors vs tcp_nodelay", ""]
        rows = []
        speedups: dict[str, tuple[float, float]] = {}
        for workload, row in summary.items():
            default, nodelay = row.get(pylibmc), row.get(f"{pylibmc}-nodelay")
            if default is None or nodelay is None:
                continue
            value = speedup(nodelay.median, default.median)
            speedups[workload] = (value, max(TIE, (default.spread + nodelay.spread) / 2))
            rows.append(
                [workload, f"{default.median:.2f}", f"{nodelay.median:.2f}", f"{value:.2f}x"]
            )
        out += [
            table(["workload", "default µs", "tcp_nodelay µs", "tcp_nodelay speedup"], rows),
            "",
            compare_configurations("tcp_nodelay", "default", speedups),
            "",
        ]
    if cluster:
        out += render_stopped(info, len(info.servers))
    return "\n".join(out)


def render_placement(placement: Placement, count: int) -> list[str]:
    out = [
        "## Placement",
        "",
        f"Where each client puts the same {BATCH_SIZE} probe keys (`bench:placement:000` ...), "
        "found by letting it set them and asking every server which it holds:",
        "",
    ]
    rows = [[name, *(str(n) for n in spread)] for name, spread in placement.spread.items()]
    out += [table(["client", *(f"server {i}" for i in range(count))], rows), ""]
    for ours, peer, same, total in placement.pairs:
        verdict = "identical" if same == total else "DIFFERENT"
        out.append(f"- {ours} vs {peer}: {same} of {total} keys on the same server ({verdict})")
    return [*out, ""]


def render_stopped(info: RunInfo, count: int) -> list[str]:
    out = ["## One server stopped (SIGSTOP)", ""]
    if info.stopped is None:
        return [*out, f"Not run: {info.stopped_note}", ""]
    out += [
        f"With the {count} servers up, each client below stores {BATCH_SIZE} keys itself (its "
        f"own placement; every connection is then open) and reads them back with one get_many; "
        f"then server {STOPPED_SERVER} is stopped with SIGSTOP (connects still succeed, "
        f"nothing is answered) and the client makes {STOP_CALLS} get_many calls of the same "
        "keys, each timed; SIGCONT follows whatever happens. Each client has a "
        f"{STOP_TIMEOUT} s timeout where it can be set:",
        "",
        table(
            ["client", "version", "configuration"],
            [[r.spec.name, package_version(r.spec.package), r.spec.config] for r in info.stopped],
        ),
        "",
        f"fastmc's target: the first call returns every live server's keys, nothing wrong and "
        f'no exception, within {STOP_TIMEOUT} s + {STOP_MARGIN} s. "Live keys" are those on '
        'the other servers; "wrong" counts values returned that differ from the stored ones. '
        "The later calls show what each client remembers of the failure.",
        "",
    ]
    rows = []
    for result in info.stopped:
        if result.skipped:
            rows.append([result.spec.name, "-", result.skipped, "", "", "", "-"])
            continue
        for number, call in enumerate(result.calls, 1):
            rows.append(
                [
                    result.spec.name if number == 1 else "",
                    str(number),
                    f"{call.seconds * 1000:.0f}",
                    f"{call.live_returned} of {call.live_total}",
                    str(call.wrong),
                    call.raised.replace("|", "/") or "no",
                    result.verdict if number == 1 else "",
                ]
            )
    out += [
        table(["client", "call", "ms", "live keys returned", "wrong", "raised", "verdict"], rows),
        "",
    ]
    odd = [
        r.spec.name for r in info.stopped if r.calls and any(c.stopped_returned for c in r.calls)
    ]
    if odd:
        out += [f"Returned keys of the stopped server (failover to another server?): {odd}", ""]
    return out


# ---------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--server",
        metavar="HOST:PORT",
        action="append",
        help="use this memcached instead of starting one (not pinned by us); repeated or "
        "comma-separated: a cluster of those servers",
    )
    parser.add_argument(
        "--servers",
        type=int,
        metavar="N",
        default=None,
        help="start N memcached servers (default 1); N > 1 is the cluster mode: "
        f"workloads {','.join(CLUSTER_WORKLOAD_NAMES)}, clients "
        f"{','.join(CLUSTER_CLIENT_NAMES)}, then the stopped-server scenario",
    )
    parser.add_argument(
        "--cpu", type=int, default=1, help="CPU to pin this process and memcached to (default 1)"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin anything")
    parser.add_argument("--rounds", type=int, default=7, help="measured rounds (default 7)")
    parser.add_argument(
        "--seconds-per-round",
        type=float,
        default=0.25,
        help="time per client and workload in each round (default 0.25)",
    )
    parser.add_argument(
        "--workloads",
        default=None,
        help=f"comma-separated, from: {','.join(WORKLOAD_NAMES)} (default: all; in cluster "
        f"mode {','.join(CLUSTER_WORKLOAD_NAMES)}, which are all it has)",
    )
    parser.add_argument(
        "--clients",
        default=None,
        help=f"comma-separated, from: {','.join(CLIENT_NAMES)} (cluster mode: "
        f"{','.join(CLUSTER_CLIENT_NAMES)}) (default: all that import; naming one that does "
        "not import is an error)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 rounds of 0.02 s, no report unless --report is given",
    )
    parser.add_argument(
        "--report",
        metavar="PATH",
        help="Markdown report (default bench/reports/YYYY-MM-DD-python-peers.md, with N "
        "servers YYYY-MM-DD-python-peers-N-servers.md; '-' for none)",
    )
    parser.add_argument(
        "--max-foreign",
        type=float,
        default=0.1,
        help="repeat a measurement when other processes ran on the CPU for more than this "
        "fraction of it (default 0.1)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=3,
        help="most repeats of one measurement (default 3)",
    )
    parser.add_argument(
        "--check-targets",
        action="store_true",
        help="exit with status 2 when fastmc misses a target",
    )
    args = parser.parse_args(argv)
    args.server = [a.strip() for v in args.server or [] for a in v.split(",") if a.strip()]
    if args.server and args.servers is not None and args.servers != len(args.server):
        parser.error(f"--servers {args.servers} but {len(args.server)} --server addresses")
    count = len(args.server) or args.servers or 1
    if count < 1:
        parser.error("--servers must be >= 1")
    args.servers = count
    cluster = count > 1
    if args.quick:
        args.rounds, args.seconds_per_round = 3, 0.02
    if args.report is None:
        name = f"{datetime.date.today().isoformat()}-python-peers"
        name += f"-{count}-servers" if cluster else ""
        args.report = "-" if args.quick else str(REPO / "bench" / "reports" / f"{name}.md")
    if args.workloads is None:
        args.workloads = ",".join(CLUSTER_WORKLOAD_NAMES if cluster else WORKLOAD_NAMES)
    workload_names = CLUSTER_WORKLOAD_NAMES if cluster else WORKLOAD_NAMES
    client_names = CLUSTER_CLIENT_NAMES if cluster else CLIENT_NAMES
    for option, known in (("workloads", workload_names), ("clients", client_names)):
        value = getattr(args, option)
        if value is None:
            continue
        chosen = [name.strip() for name in value.split(",") if name.strip()]
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            mode = f" with {count} servers" if cluster else ""
            parser.error(f"unknown {option}{mode}: {', '.join(unknown)}")
        setattr(args, option, chosen)
    if args.rounds < 1 or args.seconds_per_round <= 0:
        parser.error("--rounds must be >= 1 and --seconds-per-round > 0")
    if args.retries < 0 or not 0 < args.max_foreign <= 1:
        parser.error("--retries must be >= 0 and --max-foreign in (0, 1]")
    return args


def why_unavailable(spec: ClientSpec, servers: list[Server]) -> str | None:
    """None if the client can be created, else why not."""
    if spec.make is None:
        return None
    try:
        spec.make([server.address for server in servers]).close()
    except ImportError as error:
        return f"not importable: {error}"
    except Exception as error:  # a broken build: skipped, with the reason in the report
        return f"cannot be created: {type(error).__name__}: {error}"
    return None


def pin(cpu: int) -> None:
    available = os.sched_getaffinity(0)
    if cpu not in available:
        raise SystemExit(f"--cpu {cpu}: not one of the CPUs allowed here {sorted(available)}")
    # Before any client or server exists, so every thread and child inherits it.
    os.sched_setaffinity(0, {cpu})


@contextlib.contextmanager
def servers_for(args: argparse.Namespace) -> Iterator[list[Server]]:
    if args.server:
        servers = []
        for address in args.server:
            host, _, port = address.rpartition(":")
            how = f"external (--server {address}); not started here"
            servers.append(Server(host or "127.0.0.1", int(port), how))
        yield servers
        return
    cpu = None if args.no_pin else args.cpu
    if args.servers == 1:
        with start_memcached(cpu) as server:
            yield [server]
        return
    with start_memcached_cluster(args.servers, cpu) as servers:
        yield servers


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if not args.no_pin:
        pin(args.cpu)
    workloads = [w for w in WORKLOADS if w.name in args.workloads]
    started = time.monotonic()
    load_before = os.getloadavg()
    cluster = args.servers > 1
    with servers_for(args) as servers:
        what = "memcached" if not cluster else f"{len(servers)} memcached servers"
        if args.no_pin:
            pinning = "none (--no-pin)"
        else:
            if args.server:
                where = f"{what} external (--server): not pinned by this script"
            else:
                cpus = sorted({allowed_cpus(server.pid) for server in servers})
                where = f"{what} on CPUs {' / '.join(cpus)} (taskset)"
            pinning = f"this process on CPU {args.cpu} (sched_setaffinity), {where}"
        log(f"{what} at {', '.join(s.address for s in servers)}; pinning: {pinning}")
        skipped: dict[str, str] = {}
        specs = []
        for spec in CLUSTER_CLIENTS if cluster else CLIENTS:
            if args.clients is not None and spec.name not in args.clients:
                continue
            why = why_unavailable(spec, servers)
            if why is None:
                specs.append(spec)
            elif args.clients is not None:
                raise SystemExit(f"{spec.name}: {why}")
            else:
                skipped[spec.name] = why
                log(f"skipping {spec.name}: {why}")
        guard = None
        pids = [server.pid for server in servers]
        if args.no_pin or None in pids or args.seconds_per_round < 0.1:
            guard_text = (
                "off (it needs pinning, a memcached started here, and rounds of 0.1 s or more)"
            )
        else:
            guard = CpuGuard(args.cpu, [os.getpid(), *(pid for pid in pids if pid is not None)])
        admins = [Admin(server.host, server.port) for server in servers]
        versions = sorted({admin.version() for admin in admins})
        info = RunInfo(servers, " / ".join(versions), pinning, skipped, load_before)
        try:
            if cluster:
                info.placement = compare_placements(specs, servers, admins)
                for ours, peer, same, total in info.placement.pairs:
                    log(f"placement {ours} vs {peer}: {same} of {total} keys on the same server")
            clients = open_clients(specs, servers, admins, workloads)
            try:
                results, counts = run_rounds(
                    clients, workloads, None if cluster else admins[0], args, guard, log
                )
            finally:
                for client in clients:
                    client.close()
            if cluster:
                if any(server.pause is None for server in servers):
                    info.stopped_note = "the servers are external (--server): not ours to stop"
                else:
                    info.stopped = stopped_server_scenario(args.clients, servers, admins, log)
        except VerificationError as error:
            log(f"VERIFICATION FAILED: {error}")
            return 1
        finally:
            for admin in admins:
                admin.close()
        if guard is not None:
            guard_text = (
                f"a measurement during which other processes ran on CPU {args.cpu} for more "
                f"than {args.max_foreign * 100:.0f}% of its time was repeated, up to "
                f"{args.retries} times, keeping the cleanest attempt: {counts.repeated} attempts "
                f"repeated for {counts.measured} measurements kept; "
                f"{sum(counts.kept_noisy.values())} kept still over the limit (their cells are "
                "marked *)"
            )
        info.noisy = set(counts.kept_noisy)
        info.guard = guard_text
        info.seconds_total = time.monotonic() - started
        report = render_report(args, results, specs, info)
    print(report)
    if args.report != "-":
        path = Path(args.report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report + "\n")
        log(f"report written to {path}")
    if args.check_targets and "NOT MET" in report:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
