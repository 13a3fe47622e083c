# SPDX-License-Identifier: MIT
"""Server errors and server-side connection loss: faults.md rows N9, N11, N16, N17, P11, P16.

Real memcached where its own knobs produce the fault (``-c`` connection
limit, ``-m 2 -M`` out of memory, ``-o idle_timeout``, a restart under idle
pooled connections); the scripted fake server for the SERVER_ERROR variants
a real server seldom sends and for an early reply to a large set. Each case
checks the typed error, the deadline (margin 60 ms), that no wrong value is
returned, and that the client recovers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest
from scripted_server import Close, Expect, ReadUntil, Reply

import fastmc

MARGIN = 0.06
GET_A = b"get a\r\n"
GET_B = b"get b\r\n"
HIT_B = b"VALUE b 0 2\r\nbb\r\nEND\r\n"


def raw_stats(server) -> dict[str, str]:
    """``stats`` over a connection of its own, so the client's pool is untouched."""
    with socket.create_connection((server.host, server.port), timeout=2) as sock:
        sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            chunk = sock.recv(65536)
            assert chunk, "the server closed the stats connection"
            data += chunk
    fields = (line.split(" ", 2) for line in data.decode().splitlines() if line.startswith("STAT"))
    return {name: value for _, name, value in fields}


def wait_for(condition: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``condition()`` held; fails the test after ``timeout``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "condition not reached"
        time.sleep(0.05)
    return time.monotonic() - started


def rejects_new_connections(server) -> bool:
    # Past its limit memcached answers a new connection with an ERROR line
    # and closes it, so the stats exchange cannot complete.
    try:
        raw_stats(server)
    except (AssertionError, OSError):
        return True
    return False


def test_n16_a_connection_past_the_servers_limit_is_a_server_error_then_recovers(
    memcached_factory, fault_matrix
):
    server = memcached_factory(threads=1, extra_args=["-c", "16"])
    # Idle connections of our own fill the server's table.
    held = [socket.create_connection((server.host, server.port)) for _ in range(40)]
    try:
        wait_for(lambda: rejects_new_connections(server), 5.0)
        # memcached compares the new socket's fd number with the limit, and
        # the fds of the connections it refused are free again: a new
        # connection may slip in below the limit and be served, so which of
        # the two happens is memcached's choice (the scripted test below
        # always refuses). Either way the answer is never taken for another.
        mc = fastmc.Client(server.address, timeout=0.3)
        started = time.monotonic()
        try:
            assert mc.set("k", b"v") is True
            outcome = "served below the limit"
        except fastmc.ServerError as error:
            assert "Too many open connections" in str(error)
            assert error.server == server.address
            outcome = "ServerError('ERROR Too many open connections')"
        elapsed = time.monotonic() - started
        assert elapsed < 0.3 + 0.06
    finally:
        for sock in held:
            sock.close()

    def recovered() -> bool:
        try:
            return mc.set("k", b"v") and mc.get("k") == b"v"
        except fastmc.Error:
            return False

    recovery = wait_for(recovered, 5.0)
    fault_matrix.record(
        "N16",
        "connection past memcached -c 16 (40 idle connections held)",
        expected="a typed error at once, never parsed as a value; recovery when "
        "connections free up",
        observed=f"{outcome}; recovered {recovery:.2f} s after release",
        worst=elapsed,
        deadline=0.3,
    )


def test_n16_a_refused_connection_is_a_server_error_and_the_next_one_is_used(scripted_server):
    # What memcached past its -c limit does on accept, every time.
    server = scripted_server(
        [Reply(b"ERROR Too many open connections\r\n"), Close()],
        [Expect(b"set k 0 0 1\r\nv\r\n"), Reply(b"STORED\r\n")],
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    started = time.monotonic()
    with pytest.raises(fastmc.ServerError, match="Too many open connections") as raised:
        mc.set("k", b"v")
    assert time.monotonic() - started < 0.1
    assert raised.value.server == server.address
    assert mc.set("k", b"v") is True


def test_n17_out_of_memory_is_a_server_error_and_the_connection_stays_in_step(
    memcached_factory, fault_matrix
):
    server = memcached_factory(memory_mb=2, extra_args=["-M"])
    # Text: one line answers each request, so the connection carries on. (In
    # meta the client drops a connection after an error line, by rule.)
    mc = fastmc.Client(server.address, timeout=1.0, protocol="text")
    value = b"x" * 100_000
    stored = []
    with pytest.raises(fastmc.ServerError, match="out of memory") as raised:
        for i in range(200):
            mc.set(f"k{i}", value)
            stored.append(f"k{i}")
    assert raised.value.cause == "server_error"
    connections = int(raw_stats(server)["total_connections"])
    assert mc.get(stored[0]) == value
    assert mc.get("missing") is None
    # One line answered the set: the same connection carries on.
    assert int(raw_stats(server)["total_connections"]) == connections + 1  # the stats one
    fault_matrix.record(
        "N17",
        "server out of memory (memcached -m 2 -M), sets until it refuses",
        expected="ServerError with the server's text; the connection stays in step",
        observed=f"ServerError after {len(stored)} sets; next get its own value on the "
        "same connection",
    )


def test_n11_a_connection_the_server_kicked_while_idle_costs_a_read_nothing(
    memcached_factory, fault_matrix
):
    server = memcached_factory(extra_args=["-o", "idle_timeout=1"])
    mc = fastmc.Client(server.address, timeout=0.5)
    mc.set("a", b"A")
    kicked_after = wait_for(lambda: int(raw_stats(server)["idle_kicks"]) >= 1, 10.0)
    started = time.monotonic()
    assert mc.get("a") == b"A"
    elapsed = time.monotonic() - started
    fault_matrix.record(
        "N11",
        "pooled connection kicked by memcached -o idle_timeout=1",
        expected="the read is resent once on a fresh connection: its own value, no error",
        observed=f"kicked after {kicked_after:.1f} s idle; get a -> b'A'",
        worst=elapsed,
        deadline=0.5,
    )


def test_n9_every_stale_pooled_connection_after_a_restart_costs_reads_nothing(
    memcached_factory, fault_matrix
):
    # Four idle pooled connections, all made stale by a restart: a read that
    # meets one is resent on a fresh connection, never on another stale one.
    server = memcached_factory()
    mc = fastmc.Client(server.address, timeout=2.0)
    mc.set("a", b"A")
    server.pause()
    readers = [threading.Thread(target=mc.get, args=("a",)) for _ in range(4)]
    for reader in readers:
        reader.start()
    time.sleep(0.2)  # every reader holds a connection of its own
    server.resume()
    for reader in readers:
        reader.join()
    assert int(raw_stats(server)["curr_connections"]) >= 4 + 1
    server.restart()
    worst = 0.0
    for _ in range(6):
        started = time.monotonic()
        assert mc.get("a") is None  # a cold cache: a miss, not an error
        worst = max(worst, time.monotonic() - started)
    assert mc.set("a", b"again") and mc.get("a") == b"again"
    fault_matrix.record(
        "N9",
        "server killed and restarted under 4 idle pooled connections",
        expected="every read succeeds (a miss: cold cache), each stale connection "
        "replaced by a fresh one",
        observed="6 gets -> None, then set/get its own value",
        worst=worst,
        deadline=2.0,
    )


@pytest.mark.parametrize("timeout", [0.3, 1.0])
def test_n7_a_stalled_server_times_out_at_the_deadline_to_10_ms(
    memcached_factory, fault_matrix, timeout
):
    # A stopped memcached still accepts connections (the kernel's backlog)
    # and answers nothing. The wait used to be SO_RCVTIMEO alone, which the
    # kernel's timer wheel fires up to an eighth late: 0.3 s calls ended at
    # 0.32 s, 1 s calls at 1.016 to 1.034 s. The best of three calls shows
    # the precision; the worst, that none runs past the margin.
    server = memcached_factory()
    # Every timeout is a failure: the limit keeps the server in use for all three.
    mc = fastmc.Client(server.address, timeout=timeout, failure_limit=10)
    mc.set("a", b"A")
    server.pause()
    elapsed = []
    try:
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(fastmc.TimeoutError):
                mc.get("a")
            elapsed.append(time.monotonic() - started)
    finally:
        server.resume()
    assert min(elapsed) >= timeout, elapsed
    assert min(elapsed) < timeout + 0.010, elapsed
    assert max(elapsed) < timeout + MARGIN, elapsed
    assert mc.get("a") == b"A"
    fault_matrix.record(
        "N7",
        f"server stopped (SIGSTOP), get with a {timeout:g} s timeout, 3 times",
        expected="TimeoutError at the deadline (within 10 ms, libmc's precision), "
        "then its own value once resumed",
        observed=f"TimeoutError after {', '.join(f'{e * 1000:.1f}' for e in elapsed)} ms",
        worst=max(elapsed),
        deadline=timeout,
    )


@pytest.mark.parametrize(
    "message",
    [
        b"out of memory storing object",
        b"out of memory writing get response",
        b"busy",
        b"temporarily unavailable",
    ],
)
def test_p16_server_error_replies_keep_their_text_and_the_connection(
    scripted_server, fault_matrix, message
):
    server = scripted_server(
        [
            Expect(GET_A),
            Reply(b"SERVER_ERROR " + message + b"\r\n"),
            Expect(b"set c 0 0 1\r\nC\r\n"),
            Reply(b"SERVER_ERROR " + message + b"\r\n"),
            Expect(GET_B),
            Reply(HIT_B),
        ]
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    with pytest.raises(fastmc.ServerError, match=message.decode()) as raised:
        mc.get("a")
    assert raised.value.server == server.address
    with pytest.raises(fastmc.ServerError, match=message.decode()):
        mc.set("c", b"C")
    assert mc.get("b") == b"bb"  # the same connection: one line answered each request
    fault_matrix.record(
        "P16",
        f"SERVER_ERROR {message.decode()} to a get and a set (scripted)",
        expected="ServerError with the text; the connection stays in step",
        observed="ServerError both times; next get b -> b'bb' on the same connection",
    )


def test_p16_miss_on_error_covers_failing_servers_not_their_error_replies(
    scripted_server, fault_matrix
):
    # miss_on_error is about servers that fail (timeouts, resets, down): a
    # SERVER_ERROR line is an answer, and still raises (docs/api/python.md).
    server = scripted_server(
        [
            Expect(GET_A),
            Reply(b"SERVER_ERROR out of memory writing get response\r\n"),
            Expect(GET_B),
            Reply(HIT_B),
        ]
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text", miss_on_error=True)
    with pytest.raises(fastmc.ServerError):
        mc.get("a", "default")
    assert mc.get("b") == b"bb"
    fault_matrix.record(
        "P16",
        "SERVER_ERROR to a get with miss_on_error=True (scripted)",
        expected="documented policy: miss_on_error covers failing servers, an error "
        "reply still raises",
        observed="ServerError; next get b -> b'bb'",
    )


def test_p11_an_early_too_large_reply_to_a_big_set_is_its_own_and_nothing_deadlocks(
    scripted_server, fault_matrix
):
    # The server answers after the command line, before the 4 MB data block
    # is sent, then swallows the block (memcached's -I behaviour; mcrouter's
    # test_early_server_reply, twemproxy #149).
    size = 4 * 1024 * 1024
    server = scripted_server(
        [
            ReadUntil(b"\r\n"),
            Reply(b"SERVER_ERROR object too large for cache\r\n"),
            ReadUntil(b"\r\n", timeout=10),
            Expect(GET_B),
            Reply(HIT_B),
        ]
    )
    mc = fastmc.Client(server.address, timeout=5.0, protocol="text")
    started = time.monotonic()
    with pytest.raises(fastmc.ValueTooLargeError):
        mc.set("big", b"x" * size)
    elapsed = time.monotonic() - started
    assert mc.get("b") == b"bb"
    fault_matrix.record(
        "P11",
        "SERVER_ERROR object too large sent before a 4 MB set's data (scripted)",
        expected="ValueTooLargeError for that set, no write deadlock; next call in step",
        observed="ValueTooLargeError; next get b -> b'bb' on the same connection",
        worst=elapsed,
        deadline=5.0,
    )


def test_n10_a_graceful_stop_then_start_is_a_connection_error_then_a_cold_cache(
    memcached_factory, fault_matrix
):
    server = memcached_factory()
    mc = fastmc.Client(server.address, timeout=0.5, retry_timeout=0.1)
    mc.set("a", b"A")
    server.stop()  # SIGTERM: memcached finishes and closes its connections
    started = time.monotonic()
    with pytest.raises(fastmc.ConnectionError):
        mc.get("a")
    elapsed = time.monotonic() - started
    assert elapsed < 0.05
    server.start()
    time.sleep(0.15)  # retry_timeout
    assert mc.get("a") is None
    assert mc.set("a", b"again") and mc.get("a") == b"again"
    fault_matrix.record(
        "N10",
        "graceful stop (SIGTERM) under an idle pooled connection, then start",
        expected="ConnectionError at once (no retry onto a closed port); then a miss",
        observed="ConnectionError; after the start get a -> None, then its own value",
        worst=elapsed,
        deadline=0.5,
    )


def test_n20_a_multi_get_of_20480_keys_neither_deadlocks_nor_mixes_values(memcached, fault_matrix):
    # libmemcached lp_000-490-486: both socket buffers full at once.
    mc = fastmc.Client(memcached.address, timeout=5.0)
    keys = [f"many:{i:05d}" for i in range(20480)]
    assert mc.set_many({key: f"{key}|value" for key in keys}) == []
    started = time.monotonic()
    found = mc.get_many(keys)
    elapsed = time.monotonic() - started
    assert len(found) == len(keys)
    assert all(value == f"{key}|value" for key, value in found.items())
    fault_matrix.record(
        "N20",
        "get_many of 20 480 keys on one server",
        expected="every key, each its own value; no deadlock",
        observed="20 480 own values",
        worst=elapsed,
        deadline=5.0,
    )
