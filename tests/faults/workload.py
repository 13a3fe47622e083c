# SPDX-License-Identifier: MIT
"""A thread's mixed operations on keys of its own, checking every value it reads.

Every value carries its key and who wrote it (``key|worker|sequence``), and
each key is written by one worker only, so a value read for the wrong key,
or one its worker never wrote, is a mismatch wherever it happens. A set that
failed (a timeout, a reset) has an unknown outcome: it may have been applied,
even later than sets that came after it (a request held in a blackholed path
reaches the server when the path heals). So the values of failed sets stay
acceptable for good, and a successful set narrows the rest to the value it
stored. Calls to a server marked down are refused before anything is sent,
so those are known not to have been applied: only the rare unknown outcomes
are kept, and memory stays flat in a long soak.

Used by test_threads_and_faults.py and test_soak.py.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import fastmc


class Worker:
    """Runs ``step()`` until ``stop`` is set; see the module docstring."""

    def __init__(
        self, client: fastmc.Client, index: int, stop: threading.Event, key_count: int = 20
    ) -> None:
        self.client = client
        self.index = index
        self.stop = stop
        self.keys = [f"w{index}:k{i}" for i in range(key_count)]
        self.counter = f"w{index}:counter"
        # What a read of each key may return besides a miss.
        self.possible: dict[str, set[bytes]] = {key: set() for key in self.keys}
        # The values of each key's failed sets.
        self.unknown: dict[str, set[bytes]] = {key: set() for key in self.keys}
        self.mismatches: list[str] = []
        self.errors: Counter[str] = Counter()
        self.operations = 0
        self.worst = 0.0
        self.random = random.Random(index)

    def check(self, key: str, value: object) -> None:
        if value is not None and value not in self.possible[key]:
            self.mismatches.append(f"{key} -> {value!r}")

    def store(self, key: str, value: bytes) -> None:
        try:
            stored = self.client.set(key, value)
        except fastmc.Error as error:
            # A down server's calls fail before anything is sent.
            if error.cause != "server_down":
                self.unknown[key].add(value)
                self.possible[key].add(value)
            raise
        if stored:
            self.possible[key] = {value} | self.unknown[key]

    def step(self, sequence: int) -> None:
        key = self.random.choice(self.keys)
        choice = self.random.random()
        if choice < 0.30:
            self.store(key, f"{key}|{self.index}|{sequence}".encode())
        elif choice < 0.65:
            self.check(key, self.client.get(key))
        elif choice < 0.85:
            chosen = self.random.sample(self.keys, 5)
            found = self.client.get_many(chosen)
            for found_key, value in found.items():
                if found_key not in chosen:
                    self.mismatches.append(f"get_many returned {found_key!r}, not asked for")
                else:
                    self.check(found_key, value)
        elif choice < 0.90:
            self.client.delete(key)
        elif choice < 0.95:
            self.client.touch(key, 300)
        else:
            # A counter nobody else touches: incr answers a number or a miss.
            result = self.client.incr(self.counter)
            if result is None:
                self.client.add(self.counter, b"0")
            elif not isinstance(result, int):
                self.mismatches.append(f"incr {self.counter} -> {result!r}")

    def run(self) -> None:
        sequence = 0
        while not self.stop.is_set():
            sequence += 1
            started = time.monotonic()
            try:
                self.step(sequence)
            except fastmc.Error as error:
                self.errors[f"{type(error).__name__}({error.cause})"] += 1
            self.worst = max(self.worst, time.monotonic() - started)
            self.operations += 1


def run_workers(workers: list[Worker]) -> list[threading.Thread]:
    """Starts a thread per worker and returns them."""
    threads = [threading.Thread(target=w.run, name=f"worker-{w.index}") for w in workers]
    for thread in threads:
        thread.start()
    return threads


def summary(workers: list[Worker]) -> tuple[int, list[str], Counter[str], float]:
    """(operations, mismatches, errors by kind, worst latency) over all workers."""
    errors: Counter[str] = Counter()
    for worker in workers:
        errors += worker.errors
    return (
        sum(worker.operations for worker in workers),
        [mismatch for worker in workers for mismatch in worker.mismatches],
        errors,
        max(worker.worst for worker in workers),
    )
