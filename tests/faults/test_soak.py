# SPDX-License-Identifier: MIT
"""A bounded soak: mixed operations under rotating faults, faults.md rows C7 and I6.

Four workers (workload.py: values that carry their own key) share one client
over three real servers while a fault loop stalls one server (SIGSTOP),
kills and restarts another, and flaps a user-space blackhole in front of the
third (the delay proxy, in a child process). Checked at the end: zero wrong
values, file descriptors back to where they were once the client is closed,
at most a bounded number open meanwhile, and resident memory flat between
the end of the warm-up and the end of the run.

``test_soak_short`` (about 20 s) runs in the normal suite. ``test_soak`` is
marked ``soak`` and deselected by default (pyproject.toml); run it with
``pytest -m soak tests/faults/test_soak.py``: 170 s by default,
``FASTMC_SOAK_SECONDS`` to change it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time

import pytest
from delay_proxy import DelayProxyProcess
from workload import Worker, run_workers, summary

import fastmc

WORKERS = 4
TIMEOUT = 0.2
# Allowed growth of resident memory from the end of the warm-up to the end.
# Under AddressSanitizer (tools/run-tests.sh python-asan sets FASTMC_SANITIZED)
# freed memory sits in ASan's quarantine, up to 256 MiB by default, so RSS
# grows whatever the client does: leaks are LeakSanitizer's job there.
RSS_SLACK_BYTES = (256 if os.environ.get("FASTMC_SANITIZED") else 4) * 1024 * 1024


def open_fds() -> dict[str, str]:
    """Each open descriptor and what it points at."""
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        # The descriptor listdir itself used is gone by now.
        with contextlib.suppress(OSError):
            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
    return fds


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def inject_faults(cluster, proxy, stop: threading.Event) -> int:
    """Rotates faults every 0.4 s until ``stop``; returns how many it injected."""
    injected = 0
    while not stop.is_set():
        step = injected % 4
        if step == 0:
            cluster[0].pause()
            stop.wait(0.4)
            cluster[0].resume()
        elif step == 1:
            cluster[1].kill()
            stop.wait(0.2)
            cluster[1].restart()
        elif step == 2:
            proxy.blackhole()
            stop.wait(0.4)
            proxy.restore()
        else:
            stop.wait(0.4)  # a quiet spell: recovery
        injected += 1
        stop.wait(0.4)
    return injected


def soak(seconds: float, cluster, proxy, fault_matrix, name: str) -> None:
    servers = [cluster[0].address, cluster[1].address, proxy.address]
    fds_before = open_fds()
    mc = fastmc.Client(servers, timeout=TIMEOUT, retry_timeout=0.2, distribution="ketama")
    stop_workers = threading.Event()
    stop_faults = threading.Event()
    workers = [Worker(mc, index, stop_workers) for index in range(WORKERS)]
    threads = run_workers(workers)
    injected: list[int] = []
    faults = threading.Thread(
        target=lambda: injected.append(inject_faults(cluster, proxy, stop_faults))
    )
    faults.start()
    fds_peak = 0
    rss_after_warmup = 0
    started = time.monotonic()
    warmup_ends = started + min(5.0, seconds / 4)
    try:
        while time.monotonic() - started < seconds:
            time.sleep(0.1)
            fds_peak = max(fds_peak, len(open_fds()))
            if not rss_after_warmup and time.monotonic() >= warmup_ends:
                gc.collect()
                rss_after_warmup = resident_bytes()
    finally:
        stop_faults.set()
        faults.join(timeout=10)
        stop_workers.set()
        for thread in threads:
            thread.join(timeout=10)
    gc.collect()
    rss_end = resident_bytes()
    operations, mismatches, errors, worst = summary(workers)
    mc.close()
    fds_after = open_fds()
    assert not faults.is_alive() and not any(thread.is_alive() for thread in threads)
    assert mismatches == []
    assert operations > 1000
    # Idle connections are closed by close(); none may be left behind.
    left = {fd: target for fd, target in fds_after.items() if fds_before.get(fd) != target}
    assert left == {}, left
    # At most one connection per worker per server, plus the pool's idle ones.
    assert fds_peak - len(fds_before) <= 3 * (WORKERS + 8), (len(fds_before), fds_peak)
    assert rss_end - rss_after_warmup < RSS_SLACK_BYTES, (rss_after_warmup, rss_end)
    assert worst < TIMEOUT + 0.25, worst  # 4 threads on 2 cores: GIL waits after the call
    fault_matrix.record(
        "C7",
        f"{name}: {seconds:.0f} s, {WORKERS} threads, mixed ops over 3 servers, "
        f"{injected[0] if injected else 0} faults (SIGSTOP, kill+restart, blackhole)",
        expected="zero wrong values; fds back to the start after close(); RSS flat after warm-up",
        observed=f"{operations} ops, 0 wrong; fds {len(fds_before)} -> peak {fds_peak} -> "
        f"{len(fds_after)}; RSS {rss_after_warmup / 2**20:.1f} -> {rss_end / 2**20:.1f} MiB; "
        + ", ".join(f"{kind} x{count}" for kind, count in sorted(errors.items())),
        worst=worst,
        deadline=TIMEOUT,
    )


@pytest.fixture
def soak_servers(memcached_cluster_factory):
    # The proxy in a process of its own: its threads and sockets would blur
    # this process's memory and descriptor counts.
    cluster = memcached_cluster_factory(3)
    with DelayProxyProcess(cluster[2].address) as proxy:
        yield cluster, proxy


def test_soak_short(soak_servers, fault_matrix):
    soak(20.0, *soak_servers, fault_matrix, "short soak")


@pytest.mark.soak
@pytest.mark.timeout(240)
def test_soak(soak_servers, fault_matrix):
    soak(float(os.environ.get("FASTMC_SOAK_SECONDS", "170")), *soak_servers, fault_matrix, "soak")
