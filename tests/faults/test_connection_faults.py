# SPDX-License-Identifier: MIT
"""Replies a real memcached never sends, from the scripted fake server.

Each case checks the invariants of faults.md section 2.1: the right typed
error, no call past its deadline (margin 60 ms), never a wrong value, and a
connection that saw a fault is closed, never reused (ExpectClosed proves it),
with the next call served on a fresh connection.
"""

from __future__ import annotations

import time

import pytest
from scripted_server import (
    Close,
    Expect,
    ExpectClosed,
    NeverReply,
    Reply,
    Reset,
    Trickle,
)

import fastmc

MARGIN = 0.06
GET_A = b"get a\r\n"
GET_B = b"get b\r\n"
HIT_B = b"VALUE b 0 2\r\nbb\r\nEND\r\n"


def timed(call):
    started = time.monotonic()
    try:
        return call(), time.monotonic() - started
    except fastmc.Error as error:
        return error, time.monotonic() - started


def test_a_trickling_reply_cannot_stretch_the_deadline(scripted_server, fault_matrix):
    # One byte every 50 ms: each read makes progress, yet the call must end
    # at its single deadline.
    server = scripted_server(
        [
            Expect(GET_A),
            Trickle(b"VALUE a 0 20\r\n01234567890123456789\r\nEND\r\n", 0.05),
            ExpectClosed(),
        ],
        [Expect(GET_B), Reply(HIT_B)],
    )
    mc = fastmc.Client(server.address, timeout=0.3, protocol="text")
    error, elapsed = timed(lambda: mc.get("a"))
    assert isinstance(error, fastmc.TimeoutError)
    assert 0.3 <= elapsed < 0.3 + MARGIN
    assert mc.get("b") == b"bb"
    fault_matrix.record(
        "N14",
        "a reply that trickles, one byte every 50 ms (scripted)",
        expected="TimeoutError at the call's one deadline; next call its own value",
        observed="TimeoutError; get b -> b'bb'",
        worst=elapsed,
        deadline=0.3,
    )


def test_a_reply_that_never_comes_is_a_timeout_not_a_miss(scripted_server, fault_matrix):
    server = scripted_server([Expect(GET_A), NeverReply()], [Expect(GET_B), Reply(HIT_B)])
    mc = fastmc.Client(server.address, timeout=0.2, protocol="text")
    error, elapsed = timed(lambda: mc.get("a"))
    assert isinstance(error, fastmc.TimeoutError)
    assert error.cause == "timed_out" and error.server == server.address
    assert 0.2 <= elapsed < 0.2 + MARGIN
    assert mc.get("b") == b"bb"
    fault_matrix.record(
        "P1",
        "accepts, never answers (scripted)",
        expected="TimeoutError, never a miss",
        observed="TimeoutError(timed_out); get b -> b'bb'",
        worst=elapsed,
        deadline=0.2,
    )


def test_a_late_reply_is_never_read_as_the_next_requests(scripted_server, fault_matrix):
    # The reply to "get a" arrives after the timeout; had the connection been
    # kept, "get b" would read a's value. The client must have closed it.
    server = scripted_server(
        [Expect(GET_A), Reply(b"VALUE a 0 2\r\naa\r\nEND\r\n", delay=0.3), ExpectClosed()],
        [Expect(GET_B), Reply(HIT_B)],
    )
    mc = fastmc.Client(server.address, timeout=0.15, protocol="text")
    error, elapsed = timed(lambda: mc.get("a"))
    assert isinstance(error, fastmc.TimeoutError)
    assert mc.get("b") == b"bb"
    fault_matrix.record(
        "N8",
        "the reply to get a arrives 0.3 s late, after the 0.15 s timeout (scripted)",
        expected="TimeoutError; the connection closed; get b its own value",
        observed="TimeoutError; ExpectClosed held; get b -> b'bb'",
        worst=elapsed,
        deadline=0.15,
    )


@pytest.mark.parametrize(
    "garbage",
    [
        b"foobarbaz\r\n",
        b"VALUE a 0 abc\r\n",
        b"VALUE a 0 4294967295000\r\n",
        b"STORED\r\n",
        b"value a 0 1\r\nx\r\nEND\r\n",
        b"VALUE a 0 2\r\nxyz\r\nEND\r\n",
        b"\x00\x01\x02\r\n",
        b"x" * 5000,
    ],
)
def test_a_malformed_reply_is_a_protocol_error_and_the_connection_is_dropped(
    scripted_server, fault_matrix, garbage
):
    server = scripted_server(
        [Expect(GET_A), Reply(garbage), ExpectClosed()], [Expect(GET_B), Reply(HIT_B)]
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    with pytest.raises(fastmc.ProtocolError) as raised:
        mc.get("a")
    assert raised.value.server == server.address
    assert mc.get("b") == b"bb"
    fault_matrix.record(
        "P3",
        f"garbage reply {garbage[:24]!r} (scripted)",
        expected="ProtocolError; the connection closed; next call its own value",
        observed="ProtocolError; ExpectClosed held; get b -> b'bb'",
    )


def test_a_value_for_a_key_not_asked_for_is_never_returned(scripted_server, fault_matrix):
    server = scripted_server(
        [Expect(GET_A), Reply(b"VALUE other 0 2\r\nzz\r\nEND\r\n"), ExpectClosed()],
        [Expect(GET_B), Reply(HIT_B)],
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    with pytest.raises(fastmc.ProtocolError, match="not asked for"):
        mc.get("a")
    assert mc.get("b") == b"bb"
    fault_matrix.record(
        "P8",
        "VALUE for a key not asked for (scripted)",
        expected="ProtocolError, never the value; connection closed",
        observed="ProtocolError('not asked for'); get b -> b'bb'",
    )


def test_a_truncated_value_then_close_is_a_connection_error_with_no_partial_value(
    scripted_server, fault_matrix
):
    server = scripted_server(
        [Expect(GET_A), Reply(b"VALUE a 0 10\r\n01234"), Close()],
        [Expect(GET_B), Reply(HIT_B)],
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    with pytest.raises(fastmc.ConnectionError) as raised:
        mc.get("a")
    assert raised.value.cause == "connection_closed"
    assert mc.get("b") == b"bb"
    fault_matrix.record(
        "P4",
        "VALUE a 0 10, 5 bytes, then FIN (scripted)",
        expected="ConnectionError, no partial value",
        observed="ConnectionError(connection_closed); get b -> b'bb'",
    )


def test_a_reset_mid_reply_is_a_connection_error(scripted_server, fault_matrix):
    server = scripted_server(
        [Expect(GET_A), Reply(b"VALUE a 0 10\r\n01"), Reset()],
        [Expect(GET_B), Reply(HIT_B)],
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    error, elapsed = timed(lambda: mc.get("a"))
    assert isinstance(error, fastmc.ConnectionError)
    assert elapsed < 0.2
    assert mc.get("b") == b"bb"
    fault_matrix.record(
        "P2",
        "RST in the middle of a VALUE (scripted)",
        expected="ConnectionError at once",
        observed="ConnectionError; get b -> b'bb'",
        worst=elapsed,
        deadline=0.5,
    )


def test_bytes_after_the_last_reply_drop_the_connection_but_keep_the_answer(
    scripted_server, fault_matrix
):
    server = scripted_server(
        [Expect(GET_A), Reply(b"VALUE a 0 2\r\naa\r\nEND\r\ngarbage"), ExpectClosed()],
        [Expect(GET_B), Reply(HIT_B)],
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    assert mc.get("a") == b"aa"
    assert mc.get("b") == b"bb"
    fault_matrix.record(
        "P6",
        "bytes after a complete reply (scripted)",
        expected="the reply is returned; the connection closed",
        observed="get a -> b'aa'; ExpectClosed held; get b -> b'bb'",
    )


def test_a_huge_value_size_is_refused_before_allocating(scripted_server, fault_matrix):
    server = scripted_server(
        [Expect(GET_A), Reply(b"VALUE a 0 4294967293\r\n"), ExpectClosed()],
        [Expect(GET_B), Reply(HIT_B)],
    )
    mc = fastmc.Client(server.address, timeout=0.5, max_value_size=1024 * 1024, protocol="text")
    with pytest.raises(fastmc.ProtocolError, match="limit"):
        mc.get("a")
    assert mc.get("b") == b"bb"
    fault_matrix.record(
        "P7",
        "VALUE a 0 4294967293, max_value_size 1 MiB (scripted)",
        expected="ProtocolError before allocating",
        observed="ProtocolError('limit'); get b -> b'bb'",
    )


def test_a_server_that_closes_an_idle_connection_costs_no_error_on_reads(scripted_server):
    # memcached's idle_timeout: the pooled connection is closed while idle.
    server = scripted_server(
        [Expect(GET_A), Reply(b"VALUE a 0 2\r\naa\r\nEND\r\n"), Close()],
        [Expect(GET_B), Reply(HIT_B)],
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    assert mc.get("a") == b"aa"
    server.wait_until_finished(1)
    assert mc.get("b") == b"bb"  # retried once on a fresh connection


def test_a_write_on_a_pooled_connection_the_server_closed_goes_out_once_on_a_fresh_one(
    scripted_server,
):
    # The close is seen when the connection is taken from the pool, before
    # anything is sent on it: the incr is sent once, on a new connection.
    server = scripted_server(
        [Expect(GET_A), Reply(b"VALUE a 0 2\r\naa\r\nEND\r\n"), Close()],
        [Expect(b"incr n 1\r\n"), Reply(b"5\r\n")],
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    assert mc.get("a") == b"aa"
    server.wait_until_finished(1)
    assert mc.incr("n") == 5
    assert server.received.count(b"incr n 1\r\n") == 1


def test_a_non_idempotent_write_the_server_took_then_dropped_is_an_error_not_a_retry(
    scripted_server,
):
    # An incr that may or may not have been applied must not be sent twice.
    server = scripted_server(
        [Expect(GET_A), Reply(b"VALUE a 0 2\r\naa\r\nEND\r\n"), Expect(b"incr n 1\r\n"), Close()],
        [Expect(b"incr n 1\r\n"), Reply(b"6\r\n")],
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    assert mc.get("a") == b"aa"
    with pytest.raises(fastmc.ConnectionError):
        mc.incr("n")
    assert mc.incr("n") == 6


def test_a_large_value_cut_short_is_never_returned(scripted_server):
    # Large values are received straight into their bytes object; a value
    # cut short there must fail as surely as one in the read buffer.
    size = 200_000
    server = scripted_server(
        [Expect(GET_A), Reply(b"VALUE a 0 %d\r\n" % size + b"x" * (size // 2)), Close()],
        [Expect(GET_B), Reply(HIT_B)],
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    with pytest.raises(fastmc.ConnectionError):
        mc.get("a")
    assert mc.get("b") == b"bb"


def test_a_large_value_without_its_crlf_is_a_protocol_error(scripted_server):
    size = 200_000
    server = scripted_server(
        [
            Expect(GET_A),
            Reply(b"VALUE a 0 %d\r\n" % size + b"x" * size + b"XXEND\r\n"),
            ExpectClosed(),
        ],
        [Expect(GET_B), Reply(HIT_B)],
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    with pytest.raises(fastmc.ProtocolError):
        mc.get("a")
    assert mc.get("b") == b"bb"


def test_a_large_value_arriving_in_pieces_is_whole(scripted_server):
    size = 300_000
    value = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    server = scripted_server(
        [
            Expect(GET_A),
            Reply(b"VALUE a 0 %d\r\n" % size + value[:1000]),
            Reply(value[1000:150_000], delay=0.02),
            Reply(value[150_000:] + b"\r", delay=0.02),
            Reply(b"\nEND\r\n", delay=0.02),
        ],
    )
    mc = fastmc.Client(server.address, timeout=1.0, protocol="text")
    assert mc.get("a") == value


def test_a_reply_missing_its_end_times_out_and_the_connection_is_dropped(
    scripted_server, fault_matrix
):
    # The value arrives whole, the END never does (memcached proxy's
    # "missingend"): a timeout, never the value without its END.
    server = scripted_server(
        [Expect(GET_A), Reply(b"VALUE a 0 2\r\naa\r\n"), ExpectClosed()],
        [Expect(GET_B), Reply(HIT_B)],
    )
    mc = fastmc.Client(server.address, timeout=0.2, protocol="text")
    error, elapsed = timed(lambda: mc.get("a"))
    assert isinstance(error, fastmc.TimeoutError)
    assert 0.2 <= elapsed < 0.2 + MARGIN
    assert mc.get("b") == b"bb"
    fault_matrix.record(
        "P5",
        "a whole VALUE, then no END (scripted)",
        expected="TimeoutError at the deadline; connection closed; next call its own value",
        observed="TimeoutError; ExpectClosed held; next get b -> b'bb'",
        worst=elapsed,
        deadline=0.2,
    )


@pytest.mark.parametrize(
    "unsolicited",
    [b"VALUE b 0 2\r\nXX\r\nEND\r\n", b"ERROR Too many open connections\r\n"],
    ids=["value", "error"],
)
def test_bytes_sent_on_an_idle_pooled_connection_are_never_taken_for_a_reply(
    scripted_server, unsolicited
):
    server = scripted_server(
        [
            Expect(GET_A),
            Reply(b"VALUE a 0 2\r\naa\r\nEND\r\n"),
            Reply(unsolicited, delay=0.05),
            ExpectClosed(timeout=1.0),
        ],
        [Expect(GET_B), Reply(HIT_B)],
    )
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    assert mc.get("a") == b"aa"
    time.sleep(0.2)  # the unsolicited bytes are waiting in the pooled connection
    try:
        assert mc.get("b") == b"bb"
    finally:
        # The pool dropped the connection at checkout (one peek): the first
        # script's ExpectClosed holds.
        server.close()
        assert server.pop_errors() == []


def test_a_write_cut_off_by_its_deadline_is_reset_so_its_rest_never_reaches_the_server():
    # A server that does not read: the set's value fills the socket buffers
    # and the call times out mid-write. Closed gracefully, the kernel would
    # go on delivering what it holds, then an orderly end of stream; the
    # client resets the connection instead, so the server sees the reset.
    import socket

    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        client = fastmc.Client(address, protocol="text", timeout=0.3, max_value_size=1 << 24)
        outcome, elapsed = timed(lambda: client.set("k", b"x" * 8_000_000))
        assert isinstance(outcome, fastmc.TimeoutError), outcome
        assert elapsed < 0.3 + MARGIN
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(5)
            received = 0
            with pytest.raises(ConnectionResetError):
                while chunk := connection.recv(65536):
                    received += len(chunk)
        assert received < 8_000_000
