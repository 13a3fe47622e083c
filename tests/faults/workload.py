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

A few keys of each worker are written fire-and-forget (``noreply=True``),
whose outcome is never known: a read of one may return any value its worker
wrote to it up to then, so it is checked by its form (this key, this worker,
a sequence no later than the last write) rather than against a set of values,
which would grow without bound.

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
        self.quiet_keys = [f"w{index}:q{i}" for i in range(5)]
        # The sequence of the last noreply write to each quiet key.
        self.quiet_last: dict[str, int] = dict.fromkeys(self.quiet_keys, 0)
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

    def check_quiet(self, key: str, value: object) -> None:
        if value is None:
            return
        prefix = f"{key}|{self.index}|".encode()
        sequence = value[len(prefix) :] if isinstance(value, bytes) else b""
        if not (
            isinstance(value, bytes)
            and value.startswith(prefix)
            and sequence.isdigit()
            and int(sequence) <= self.quiet_last[key]
        ):
            self.mismatches.append(f"{key} (noreply) -> {value!r}")

    def store_quietly(self, key: str, sequence: int) -> None:
        # Recorded first: a call that raises may still have been applied.
        self.quiet_last[key] = sequence
        self.client.set(key, f"{key}|{self.index}|{sequence}".encode(), noreply=True)

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
        if choice < 0.25:
            self.store(key, f"{key}|{self.index}|{sequence}".encode())
        elif choice < 0.30:
            quiet_key = self.random.choice(self.quiet_keys)
            self.store_quietly(quiet_key, sequence)
            self.check_quiet(quiet_key, self.client.get(quiet_key))
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
