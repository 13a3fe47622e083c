#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark fastmc's meta protocol against its text protocol, same client, same server.

One memcached (pinned to one CPU with taskset, the client to another, as
bench/compare_peers.py does), two fastmc clients that differ only in
``protocol`` ("meta" and "text"), and the workloads get (a hit), set,
set_many of 100 entries and get_many of 100 keys (a third of them misses),
100-byte values. Rounds alternate between the protocols so that drift on a
shared machine hits both alike; every read is checked against what was
stored. Prints one line per workload with each protocol's median rate over
the rounds and the ratio meta/text (above 1: meta is faster). For set_many it
also measures the two protocols alone, with prebuilt pipelines on raw
sockets: 100 meta `ms ... q` closed by `mn` against 100 text `set ...
noreply` closed by `version` (without a fence nothing says the server has
stored anything), so only the server's and the wire's cost differ.

    python bench/compare_protocols.py                 # 7 rounds of about 0.3 s each
    python bench/compare_protocols.py --rounds 3 --seconds 0.1
    python bench/compare_protocols.py --workloads get,get_many
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable

import fastmc
from fastmc.testing import MemcachedServer

VALUE = b"v" * 100
BATCH_SIZE = 100
KEYS = [f"bench:key:{i}" for i in range(BATCH_SIZE)]
MISSING = [f"bench:missing:{i}" for i in range(BATCH_SIZE // 3)]
WORKLOADS = ("get", "set", "set_many", "get_many")


def workload(name: str, mc: fastmc.Client) -> tuple[Callable[[], None], int]:
    """The call to time and how many operations (keys) one call makes."""
    if name == "get":
        key = KEYS[0]

        def get() -> None:
            if mc.get(key) != VALUE:
                raise AssertionError(f"get {key!r} did not return what was stored")

        return get, 1
    if name == "set":
        return lambda: mc.set(KEYS[1], VALUE), 1
    if name == "set_many":
        mapping = dict.fromkeys(KEYS, VALUE)

        def set_many() -> None:
            if mc.set_many(mapping):
                raise AssertionError("set_many reported entries not stored")

        return set_many, BATCH_SIZE
    if name == "get_many":
        keys = KEYS[: BATCH_SIZE - len(MISSING)] + MISSING
        expected = dict.fromkeys(KEYS[: BATCH_SIZE - len(MISSING)], VALUE)

        def get_many() -> None:
            if mc.get_many(keys) != expected:
                raise AssertionError("get_many did not return what was stored")

        return get_many, BATCH_SIZE
    raise ValueError(f"unknown workload {name!r} (one of {', '.join(WORKLOADS)})")


def raw_set_many(address: str, protocol: str) -> Callable[[], None]:
    """100 sets on a raw socket, prebuilt: text with noreply and a closing
    version, or meta in quiet mode and a closing mn. Only the server's and
    the wire's cost: no client work but one send and one receive."""
    host, _, port = address.rpartition(":")
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if protocol == "text":
        line, fence, answer = b"set %s 0 0 %d noreply\r\n%s\r\n", b"version\r\n", b"VERSION "
    else:
        line, fence, answer = b"ms %s %d q\r\n%s\r\n", b"mn\r\n", b"MN"
    request = b"".join(line % (key.encode(), len(VALUE), VALUE) for key in KEYS) + fence

    def set_many() -> None:
        sock.sendall(request)
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            reply += chunk
        if not reply.startswith(answer):
            raise AssertionError(f"an answer to a quiet set: {reply[:80]!r}")

    return set_many


def rate(call: Callable[[], None], per_call: int, seconds: float) -> float:
    """Operations per second of `call`, run for about `seconds`."""
    calls = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        for _ in range(50):
            call()
        calls += 50
        now = time.perf_counter()
        if now >= deadline:
            return calls * per_call / (now - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3, help="per round and protocol")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--client-cpu", type=int, default=0)
    arguments = parser.parse_args()
    names = [name for name in arguments.workloads.split(",") if name]
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {arguments.client_cpu})
    with MemcachedServer(cpu=arguments.server_cpu, memory_mb=256) as server:
        clients = {
            protocol: fastmc.Client(server.address, protocol=protocol)
            for protocol in ("meta", "text")
        }
        clients["text"].set_many(dict.fromkeys(KEYS, VALUE))
        print(
            f"memcached {server.address}, server CPU {arguments.server_cpu}, "
            f"client CPU {arguments.client_cpu}; {arguments.rounds} rounds of "
            f"{arguments.seconds} s per protocol; operations (keys) per second"
        )
        print(f"{'workload':<10} {'meta':>12} {'text':>12} {'meta/text':>10}")
        for name in names:
            rates: dict[str, list[float]] = {"meta": [], "text": []}
            calls = {protocol: workload(name, mc) for protocol, mc in clients.items()}
            for call, _ in calls.values():
                call()  # warm up: connect, probe
            for round_index in range(arguments.rounds):
                order = ("meta", "text") if round_index % 2 == 0 else ("text", "meta")
                for protocol in order:
                    call, per_call = calls[protocol]
                    rates[protocol].append(rate(call, per_call, arguments.seconds))
            meta = statistics.median(rates["meta"])
            text = statistics.median(rates["text"])
            print(f"{name:<10} {meta:>12,.0f} {text:>12,.0f} {meta / text:>10.2f}")
            if name == "set_many":
                # The protocols alone: prebuilt pipelines on raw sockets.
                raws = {
                    protocol: raw_set_many(server.address, protocol)
                    for protocol in ("meta", "text")
                }
                pair: dict[str, list[float]] = {"meta": [], "text": []}
                for call in raws.values():
                    call()
                for round_index in range(arguments.rounds):
                    order = ("meta", "text") if round_index % 2 == 0 else ("text", "meta")
                    for protocol in order:
                        pair[protocol].append(rate(raws[protocol], BATCH_SIZE, arguments.seconds))
                meta = statistics.median(pair["meta"])
                raw = statistics.median(pair["text"])
                print(
                    f"{'set_many':<10} {meta:>12,.0f} {raw:>12,.0f} {meta / raw:>10.2f}"
                    "   (raw sockets: meta q + mn against text noreply + version)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
