# SPDX-License-Identifier: MIT
"""Tests of the scripted fake server itself, driven with plain sockets (no fastmc)."""

from __future__ import annotations

import socket
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scripted_server import (
    Close,
    Delay,
    Expect,
    ExpectClosed,
    NeverReply,
    ReadUntil,
    Reply,
    Reset,
    ScriptedServer,
    Trickle,
)

GET_A = b"get a\r\n"
VALUE_A = b"VALUE a 0 1\r\nx\r\nEND\r\n"
PIPELINE = b"get a\r\nget bb\r\n"


def connect(server: ScriptedServer, timeout: float = 2.0) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=timeout)


def read_until_closed(sock: socket.socket) -> bytes:
    """Reads until the server closes the connection (raises on timeout)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"closed after {data!r}"
        data += chunk
    return data


def test_expect_then_reply_answers_and_records(scripted_server):
    server = scripted_server([Expect(GET_A), Reply(VALUE_A)])
    with connect(server) as sock:
        sock.sendall(GET_A)
        assert read_exactly(sock, len(VALUE_A)) == VALUE_A
    assert server.wait_until_finished()
    assert server.connection_count == 1
    assert server.received == [GET_A]
    assert bytes(server.connections[0].sent) == VALUE_A
    assert server.connections[0].closed_by_client
    assert server.errors == []


def test_address_is_loopback_host_and_port(scripted_server):
    server = scripted_server()
    assert server.address == f"127.0.0.1:{server.port}"


def test_request_split_across_writes_still_matches(scripted_server):
    server = scripted_server([Expect(b"set k 0 0 5\r\nhello\r\n"), Reply(b"STORED\r\n")])
    with connect(server) as sock:
        for piece in (b"se", b"t k 0 ", b"0 5\r", b"\nhel", b"lo\r\n"):
            sock.sendall(piece)
            time.sleep(0.01)
        assert read_exactly(sock, 8) == b"STORED\r\n"


def test_pipelined_requests_are_consumed_step_by_step(scripted_server):
    server = scripted_server([Expect(b"get a\r\n"), Expect(b"get b\r\n"), Reply(b"END\r\nEND\r\n")])
    with connect(server) as sock:
        sock.sendall(b"get a\r\nget b\r\n")
        assert read_exactly(sock, 10) == b"END\r\nEND\r\n"


def test_read_until_accepts_any_bytes_before_the_delimiter(scripted_server):
    server = scripted_server([ReadUntil(b"\r\n"), Reply(b"OK\r\n"), ReadUntil(b"END"), Close()])
    with connect(server) as sock:
        sock.sendall(b"whatever 123\r\n")
        assert read_exactly(sock, 4) == b"OK\r\n"
        sock.sendall(b"xyzEND")
        assert read_until_closed(sock) == b""
    assert server.wait_until_finished()
    assert server.received == [b"whatever 123\r\nxyzEND"]


def test_mismatch_is_recorded_and_connection_closed(scripted_server):
    server = scripted_server([Expect(GET_A), Reply(VALUE_A)])
    with connect(server) as sock:
        sock.sendall(b"get b\r\n")
        # No reply: the script stopped at the mismatch and closed the connection.
        assert read_until_closed(sock) == b""
    assert server.wait_until_finished()
    with pytest.raises(AssertionError, match="scripted server mismatches"):
        server.check()
    (error,) = server.pop_errors()
    assert "connection 0, step 0" in error
    assert "expected b'get a\\r\\n', got b'get b" in error
    server.check()


def test_wrong_first_byte_fails_without_waiting_for_the_rest():
    with ScriptedServer([Expect(b"get a\r\n", timeout=30.0)]) as server:
        with connect(server) as sock:
            started = time.monotonic()
            sock.sendall(b"x")
            assert read_until_closed(sock) == b""
            assert time.monotonic() - started < 2.0
        assert server.wait_until_finished()
        assert len(server.pop_errors()) == 1


def test_expect_times_out_when_the_client_sends_nothing():
    with ScriptedServer([Expect(GET_A, timeout=0.2)]) as server:
        with connect(server) as sock:
            sock.sendall(b"get")
            assert read_until_closed(sock) == b""
        assert server.wait_until_finished()
        (error,) = server.pop_errors()
        assert "got b'get' and then nothing more before the step's timeout" in error


def test_client_closing_during_expect_is_a_mismatch():
    with ScriptedServer([Expect(GET_A)]) as server:
        with connect(server) as sock:
            sock.sendall(b"get ")
        assert server.wait_until_finished()
        (error,) = server.pop_errors()
        assert "the client closed the connection" in error


def test_reply_delay_makes_the_reply_late(scripted_server):
    server = scripted_server([Expect(GET_A), Reply(VALUE_A, delay=0.3)])
    with connect(server) as sock:
        sock.sendall(GET_A)
        started = time.monotonic()
        sock.settimeout(0.1)
        with pytest.raises(TimeoutError):
            sock.recv(1)
        sock.settimeout(2.0)
        assert read_exactly(sock, len(VALUE_A)) == VALUE_A
        assert time.monotonic() - started >= 0.29


def test_delay_step_waits_before_the_next_step(scripted_server):
    server = scripted_server([Delay(0.2), Reply(b"late\r\n")])
    with connect(server) as sock:
        started = time.monotonic()
        assert read_exactly(sock, 6) == b"late\r\n"
        assert time.monotonic() - started >= 0.19


def test_trickle_sends_one_byte_at_a_time(scripted_server):
    reply = b"END\r\n"
    server = scripted_server([Expect(GET_A), Trickle(reply, interval=0.05)])
    with connect(server) as sock:
        sock.sendall(GET_A)
        started = time.monotonic()
        chunks = [sock.recv(100) for _ in reply]
        elapsed = time.monotonic() - started
    assert chunks == [bytes([byte]) for byte in reply]
    assert elapsed >= 0.05 * len(reply) - 0.01


def test_send_then_close_delivers_the_reply_then_eof(scripted_server):
    server = scripted_server([Expect(GET_A), Reply(b"VALUE a 0 10\r\n01234"), Close()])
    with connect(server) as sock:
        sock.sendall(GET_A)
        assert read_until_closed(sock) == b"VALUE a 0 10\r\n01234"


def test_close_without_reply_is_a_clean_eof_even_with_unread_input(scripted_server):
    server = scripted_server([ReadUntil(b"\r\n"), Close()])
    with connect(server) as sock:
        # The second request is never read by the script; the close must still be a FIN.
        sock.sendall(b"get a\r\nget b\r\n")
        assert read_until_closed(sock) == b""
    assert server.wait_until_finished()
    assert server.received == [b"get a\r\nget b\r\n"]


def test_reset_aborts_the_connection(scripted_server):
    server = scripted_server([Expect(GET_A), Reset()])
    with connect(server) as sock:
        sock.sendall(GET_A)
        with pytest.raises(ConnectionResetError):
            read_until_closed(sock)


def test_never_reply_records_input_and_shuts_down_promptly():
    server = ScriptedServer([Expect(GET_A), NeverReply()]).start()
    try:
        with connect(server) as sock:
            sock.sendall(GET_A)
            sock.settimeout(0.3)
            with pytest.raises(TimeoutError):
                sock.recv(1)
            sock.sendall(b"get b\r\n")
            deadline = time.monotonic() + 2.0
            while server.received != [b"get a\r\nget b\r\n"] and time.monotonic() < deadline:
                time.sleep(0.01)
            assert server.received == [b"get a\r\nget b\r\n"]
            started = time.monotonic()
            server.close()
            assert time.monotonic() - started < 1.0
            assert not server.connections[0].closed_by_client
    finally:
        server.close()
    server.check()


def test_never_reply_ends_when_the_client_closes(scripted_server):
    server = scripted_server([NeverReply()])
    with connect(server) as sock:
        sock.sendall(b"get a\r\n")
    assert server.wait_until_finished()
    assert server.connections[0].closed_by_client


def test_expect_closed_passes_when_the_client_closes(scripted_server):
    server = scripted_server([Expect(GET_A), Reply(b"VALUE a 0 1\r\n"), ExpectClosed(timeout=2)])
    with connect(server) as sock:
        sock.sendall(GET_A)
        read_exactly(sock, 13)
    assert server.wait_until_finished()
    assert server.errors == []


def test_expect_closed_fails_when_the_client_keeps_the_connection():
    with ScriptedServer([ExpectClosed(timeout=0.2)]) as server, connect(server) as sock:
        assert read_until_closed(sock) == b""
        assert server.wait_until_finished()
        (error,) = server.pop_errors()
        assert "expected the client to close" in error


def test_expect_closed_fails_when_the_client_sends_more():
    with ScriptedServer([ExpectClosed(timeout=0.5)]) as server:
        with connect(server) as sock:
            sock.sendall(b"get b\r\n")
        assert server.wait_until_finished()
        (error,) = server.pop_errors()
        assert "it sent b'get b\\r\\n'" in error


def test_bytes_after_the_script_are_a_mismatch():
    with ScriptedServer([Expect(GET_A), Reply(b"END\r\n")]) as server:
        with connect(server) as sock:
            sock.sendall(GET_A)
            read_exactly(sock, 5)
            sock.sendall(b"get b\r\n")
            assert read_until_closed(sock) == b""
        assert server.wait_until_finished()
        (error,) = server.pop_errors()
        assert "after the script" in error
        assert "get b" in error


def test_extra_connection_is_a_mismatch():
    with ScriptedServer([Close()]) as server:
        for _ in range(2):
            with connect(server) as sock:
                assert read_until_closed(sock) == b""
        assert server.wait_until_finished()
        assert server.connection_count == 2
        (error,) = server.pop_errors()
        assert "connection 1: unexpected connection" in error


def test_no_scripts_means_no_connection_is_expected():
    with ScriptedServer() as server:
        with connect(server) as sock:
            assert read_until_closed(sock) == b""
        assert server.wait_until_finished()
        assert len(server.pop_errors()) == 1


def test_each_connection_runs_its_own_script(scripted_server):
    server = scripted_server([Reply(b"first\r\n"), Close()], [Reply(b"second\r\n"), Close()])
    replies = []
    for _ in range(2):
        with connect(server) as sock:
            replies.append(read_until_closed(sock))
    assert replies == [b"first\r\n", b"second\r\n"]
    assert [record.index for record in server.connections] == [0, 1]


def test_repeat_last_serves_every_further_connection(scripted_server):
    server = scripted_server(
        [Reply(b"one\r\n"), Close()], [Reply(b"more\r\n"), Close()], repeat_last=True
    )
    replies = []
    for _ in range(4):
        with connect(server) as sock:
            replies.append(read_until_closed(sock))
    assert replies == [b"one\r\n", b"more\r\n", b"more\r\n", b"more\r\n"]
    assert server.connection_count == 4


def test_wait_for_connections_counts_accepted_connections(scripted_server):
    server = scripted_server([NeverReply()], repeat_last=True)
    assert not server.wait_for_connections(1, timeout=0.05)
    sockets = [connect(server) for _ in range(3)]
    try:
        assert server.wait_for_connections(3, timeout=2.0)
        assert server.connection_count == 3
    finally:
        for sock in sockets:
            sock.close()


def test_close_interrupts_long_delays():
    server = ScriptedServer([Reply(b"x", delay=60.0)], [Delay(60.0)], [Trickle(b"abc", 60.0)])
    server.start()
    sockets = [connect(server) for _ in range(3)]
    try:
        assert server.wait_for_connections(3)
        started = time.monotonic()
        server.close()
        assert time.monotonic() - started < 1.0
        assert server.wait_until_finished(timeout=0)
    finally:
        for sock in sockets:
            sock.close()
    assert server.errors == []


def test_large_reply_reaches_a_slow_reader_intact(scripted_server):
    value = bytes(range(256)) * 16384  # 4 MiB: more than the socket buffers hold
    server = scripted_server([Expect(GET_A), Reply(value)])
    with connect(server, timeout=5.0) as sock:
        sock.sendall(GET_A)
        time.sleep(0.2)  # let the kernel buffers fill so the server has to wait
        assert read_exactly(sock, len(value)) == value


def test_context_exit_raises_on_mismatch():
    with pytest.raises(AssertionError, match="expected b'get a"):  # noqa: SIM117
        with ScriptedServer([Expect(GET_A)]) as server:
            with connect(server) as sock:
                sock.sendall(b"get b\r\n")
                read_until_closed(sock)
            server.wait_until_finished()


def test_context_exit_keeps_the_test_exception():
    with pytest.raises(KeyError):  # noqa: SIM117
        with ScriptedServer([Expect(GET_A)]) as server:
            with connect(server) as sock:
                sock.sendall(b"get b\r\n")
            server.wait_until_finished()
            raise KeyError("the test's own failure")


@pytest.mark.parametrize("final_step", [Close(), Reset(), NeverReply(), ExpectClosed()])
def test_steps_that_end_the_connection_must_be_last(final_step):
    with pytest.raises(ValueError, match="must be the last step"):
        ScriptedServer([final_step, Reply(b"x")])


@settings(max_examples=25, deadline=None)
@given(cuts=st.sets(st.integers(min_value=1, max_value=len(PIPELINE) - 1), max_size=4))
def test_any_split_of_the_request_matches(cuts):
    request = PIPELINE
    points = sorted(cuts)
    pieces = [
        request[start:end] for start, end in zip([0, *points], [*points, len(request)], strict=True)
    ]
    with ScriptedServer([Expect(b"get a\r\n"), Expect(b"get bb\r\n"), Reply(b"END\r\n")]) as server:
        with connect(server) as sock:
            for piece in pieces:
                sock.sendall(piece)
                time.sleep(0.002)
            assert read_exactly(sock, 5) == b"END\r\n"
        assert server.wait_until_finished()
        assert server.received == [request]


def test_expect_closed_sees_a_close_that_races_with_shutdown():
    # The client closes and the test ends at once: the server's thread may not
    # have run yet, and must still see the close rather than its own shutdown.
    for _ in range(20):
        server = ScriptedServer([Expect(GET_A), Reply(b"END\r\n"), ExpectClosed()]).start()
        with connect(server) as sock:
            sock.sendall(GET_A)
            read_exactly(sock, 5)
        server.close()
        server.check()


def test_shutdown_waits_for_expect_closed_up_to_its_timeout():
    server = ScriptedServer([ExpectClosed(timeout=0.3)]).start()
    with connect(server):
        assert server.wait_for_connections(1)
        started = time.monotonic()
        server.close()
        assert 0.2 <= time.monotonic() - started < 2.0
    (error,) = server.pop_errors()
    assert "expected the client to close" in error


def test_bytes_sent_just_before_shutdown_are_still_a_mismatch():
    for _ in range(20):
        server = ScriptedServer([Expect(GET_A), Reply(b"END\r\n")]).start()
        with connect(server) as sock:
            sock.sendall(GET_A)
            read_exactly(sock, 5)
            sock.sendall(b"get b\r\n")
            server.close()
        (error,) = server.pop_errors()
        assert "unexpected bytes after the script: b'get b\\r\\n'" in error
