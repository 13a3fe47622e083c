# SPDX-License-Identifier: MIT
"""Latency, blackholes, flapping and resets in user space: faults.md rows N3, N4, N15, N19.

The delay proxy (delay_proxy.py) sits between the client and a real
memcached. It needs no root, so these run wherever the suite runs; the
namespace versions of the blackhole and the reset (test_network_faults.py)
need root. Margin: 60 ms past each deadline.
"""

from __future__ import annotations

import threading
import time

import pytest
from test_connection_faults import timed

import fastmc

MARGIN = 0.06


@pytest.fixture
def proxied(memcached, delay_proxy):
    """A delay proxy in front of a fresh memcached holding a -> A and b -> B."""
    proxy = delay_proxy(memcached.address)
    with fastmc.Client(memcached.address) as direct:
        direct.set("a", b"A")
        direct.set("b", b"B")
    return proxy


def test_n15_added_latency_succeeds_within_the_deadline_and_times_out_past_it(
    proxied, fault_matrix
):
    proxied.delay = 0.1  # each way: a 200 ms round trip
    slow = fastmc.Client(proxied.address, timeout=0.5)
    value, elapsed_ok = timed(lambda: slow.get("a"))
    assert value == b"A"
    assert 0.2 <= elapsed_ok < 0.5
    tight = fastmc.Client(proxied.address, timeout=0.15)
    error, elapsed = timed(lambda: tight.get("a"))
    assert isinstance(error, fastmc.TimeoutError) and error.cause == "timed_out"
    assert 0.15 <= elapsed < 0.15 + MARGIN
    proxied.delay = 0
    time.sleep(0.25)  # the late reply reaches the closed connection meanwhile
    assert tight.get("b") == b"B"
    fault_matrix.record(
        "N15",
        "200 ms round trip added by the delay proxy; deadlines 0.5 s and 0.15 s",
        expected="success under the deadline; TimeoutError at it otherwise (precision "
        "stated by the worst figure); next call its own value",
        observed=f"value in {elapsed_ok * 1000:.0f} ms; TimeoutError; get b -> b'B'",
        worst=elapsed,
        deadline=0.15,
    )


def test_n3_a_blackholed_path_times_out_and_the_late_reply_is_never_read(proxied, fault_matrix):
    mc = fastmc.Client(proxied.address, timeout=0.2, failure_limit=100)
    assert mc.get("a") == b"A"
    proxied.blackhole()
    error, elapsed = timed(lambda: mc.get("a"))
    proxied.restore()  # the held request and its reply now flow: late
    assert isinstance(error, fastmc.TimeoutError) and error.cause == "timed_out"
    assert 0.2 <= elapsed < 0.2 + MARGIN
    time.sleep(0.1)
    assert mc.get("b") == b"B"
    fault_matrix.record(
        "N3",
        "path blackholed in user space (proxy holds bytes, then releases them late)",
        expected="TimeoutError at the deadline; the late reply never answers the next call",
        observed="TimeoutError; get b -> b'B'",
        worst=elapsed,
        deadline=0.2,
    )


def test_n4_a_reset_mid_request_fails_at_once(proxied, fault_matrix):
    mc = fastmc.Client(proxied.address, timeout=0.5, failure_limit=100)
    assert mc.set("n", b"1")
    proxied.blackhole()  # the incr is held in flight
    started = time.monotonic()

    def reset_soon() -> None:
        time.sleep(0.1)
        proxied.reset_connections()

    resetter = threading.Thread(target=reset_soon)
    resetter.start()
    with pytest.raises(fastmc.ConnectionError) as raised:
        mc.incr("n")
    elapsed = time.monotonic() - started
    resetter.join()
    proxied.restore()
    assert elapsed < 0.1 + MARGIN
    assert mc.get("n") == b"1"  # the held incr never reached the server
    fault_matrix.record(
        "N4",
        "RST from the proxy to an incr in flight",
        expected="ConnectionError at once, never resent",
        observed=f"ConnectionError({raised.value.cause}); counter unchanged",
        worst=elapsed,
        deadline=0.5,
    )


def test_n19_a_flapping_path_never_yields_a_wrong_value_nor_a_reconnect_storm(
    proxied, fault_matrix
):
    mc = fastmc.Client(proxied.address, timeout=0.1, failure_limit=2, retry_timeout=0.3)
    outcomes: dict[str, int] = {}
    worst = 0.0
    flips = 0
    ends = time.monotonic() + 2.0
    next_flip = time.monotonic() + 0.2
    while time.monotonic() < ends:
        if time.monotonic() >= next_flip:
            if flips % 2 == 0:
                proxied.blackhole()
            else:
                proxied.restore()
            flips += 1
            next_flip += 0.2
        key = "a" if time.monotonic() % 0.02 < 0.01 else "b"
        value, elapsed = timed(lambda key=key: mc.get(key))
        worst = max(worst, elapsed)
        if isinstance(value, fastmc.Error):
            name = f"{type(value).__name__}({value.cause})"
        else:
            assert value == key.upper().encode(), (key, value)
            name = "own value"
        outcomes[name] = outcomes.get(name, 0) + 1
    proxied.restore()
    assert worst < 0.1 + MARGIN
    timeouts = outcomes.get("TimeoutError(timed_out)", 0)
    # A connection is opened again only after a timeout closed the last one.
    assert proxied.connection_count <= timeouts + 1
    assert outcomes.get("own value", 0) > 10
    time.sleep(0.35)
    assert mc.get("a") == b"A"
    fault_matrix.record(
        "N19",
        "path flapping (user-space blackhole on/off every 0.2 s for 2 s)",
        expected="own values or typed errors, none past the deadline; connections "
        "opened only to replace failed ones; recovery",
        observed=", ".join(f"{name} x{count}" for name, count in sorted(outcomes.items()))
        + f"; {proxied.connection_count} connections",
        worst=worst,
        deadline=0.1,
    )
