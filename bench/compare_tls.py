#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Benchmark TLS against plain TCP: fastmc (and pymemcache for reference) on
two memcached servers on loopback, one started with -Z, one without.

Each round runs every client on every workload once, interleaved, so CPU
frequency and neighbours affect all alike; every read is checked against what
was stored. The target (issue 5) is a TLS get within 1.3x of a plain get.
This process is pinned to one CPU, the servers to another (taskset), as in
compare_peers.py.

    python bench/compare_tls.py             # full run, writes bench/reports/<date>-tls.md
    python bench/compare_tls.py --quick     # a short sanity run, no report
"""

from __future__ import annotations

import argparse
import datetime
import os
import ssl
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import fastmc
from fastmc.testing import MemcachedServer, TestCertificates

REPO = Path(__file__).resolve().parent.parent
VALUE = b"v" * 100
LARGE = b"L" * (100 * 1024)
KEYS = [f"key{i}" for i in range(100)]

Workload = Callable[[object], None]


def get_hit(client: object) -> None:
    for key in KEYS:
        if client.get(key) != VALUE:  # type: ignore[attr-defined]
            raise AssertionError(f"wrong value for {key}")


def set_small(client: object) -> None:
    for key in KEYS:
        client.set(key, VALUE)  # type: ignore[attr-defined]


def get_many(client: object) -> None:
    for _ in range(10):
        if len(client.get_many(KEYS)) != len(KEYS):  # type: ignore[attr-defined]
            raise AssertionError("get_many missed keys")


def get_large(client: object) -> None:
    for _ in range(10):
        if client.get("large") != LARGE:  # type: ignore[attr-defined]
            raise AssertionError("wrong large value")


# name -> (workload, operations per chunk)
WORKLOADS: dict[str, tuple[Workload, int]] = {
    "get_hit": (get_hit, len(KEYS)),
    "set": (set_small, len(KEYS)),
    "get_many_100": (get_many, 10),
    "get_100k": (get_large, 10),
}


def make_clients(plain: MemcachedServer, tls: MemcachedServer, peers: bool) -> dict[str, object]:
    certificates = tls.certificates
    assert certificates is not None
    tls_address = f"localhost:{tls.port}"
    clients: dict[str, object] = {
        "fastmc plain": fastmc.Client([plain.address]),
        "fastmc tls": fastmc.Client([tls_address], tls=True, tls_ca_file=certificates.ca_file),
    }
    if peers:
        try:
            from pymemcache.client.base import Client as PymemcacheClient
        except ImportError:
            print("pymemcache not installed: fastmc only", file=sys.stderr)
        else:
            context = ssl.create_default_context(cafile=certificates.ca_file)
            host, port = plain.address.rsplit(":", 1)
            clients["pymemcache plain"] = PymemcacheClient((host, int(port)), no_delay=True)
            clients["pymemcache tls"] = PymemcacheClient(
                ("localhost", tls.port), no_delay=True, tls_context=context
            )
    for client in clients.values():
        for key in KEYS:
            client.set(key, VALUE)  # type: ignore[attr-defined]
        client.set("large", LARGE)  # type: ignore[attr-defined]
    return clients


Samples = dict[str, dict[str, list[tuple[float, float]]]]


def run(rounds: int, peers: bool) -> Samples:
    """Per workload, per client: (wall, client CPU) seconds per operation, one
    sample per round. CPU time says what TLS costs the client even when a
    loaded machine makes wall times noisy."""
    os.sched_setaffinity(0, {0})
    certificates = TestCertificates()
    samples: Samples = {name: {} for name in WORKLOADS}
    with (
        MemcachedServer(cpu=1, threads=1) as plain,
        MemcachedServer(cpu=1, threads=1, tls=certificates) as tls,
    ):
        clients = make_clients(plain, tls, peers)
        for _ in range(rounds):
            for workload_name, (workload, operations) in WORKLOADS.items():
                for client_name, client in clients.items():
                    started = time.perf_counter()
                    cpu_started = time.process_time()
                    for _ in range(10):
                        workload(client)
                    cpu = time.process_time() - cpu_started
                    elapsed = time.perf_counter() - started
                    samples[workload_name].setdefault(client_name, []).append(
                        (elapsed / (10 * operations), cpu / (10 * operations))
                    )
    certificates.close()
    return samples


def report(samples: Samples, rounds: int) -> str:
    lines = [
        f"# TLS vs plain TCP, {datetime.date.today().isoformat()}",
        "",
        f"Loopback, memcached 1 thread on CPU 1, client on CPU 0; {rounds} interleaved rounds;",
        "median microseconds per operation (get_many_100: per call of 100 keys), wall",
        "time and the client process's CPU time.",
        "",
        "| workload | client | plain µs | tls µs | tls / plain "
        "| plain CPU µs | tls CPU µs | CPU ratio |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for workload, by_client in samples.items():
        for family in ("fastmc", "pymemcache"):
            if f"{family} plain" not in by_client:
                continue
            plain, plain_cpu = (
                statistics.median(column) * 1e6
                for column in zip(*by_client[f"{family} plain"], strict=True)
            )
            tls, tls_cpu = (
                statistics.median(column) * 1e6
                for column in zip(*by_client[f"{family} tls"], strict=True)
            )
            lines.append(
                f"| {workload} | {family} | {plain:.1f} | {tls:.1f} | {tls / plain:.2f}x "
                f"| {plain_cpu:.1f} | {tls_cpu:.1f} | {tls_cpu / plain_cpu:.2f}x |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, no report file")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--no-peers", action="store_true", help="fastmc only")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    text = report(run(rounds, not args.no_peers), rounds)
    print(text)
    if not args.quick:
        path = REPO / "bench" / "reports" / f"{datetime.date.today().isoformat()}-tls.md"
        path.write_text(text)
        print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
