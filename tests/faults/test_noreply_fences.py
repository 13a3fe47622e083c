# SPDX-License-Identifier: MIT
"""noreply as fire and forget, byte for byte, from the scripted fake server.

Where the server speaks meta, a noreply request goes out quiet (meta q, or
text noreply with protocol="text_pipelined") followed by `mn`, and the call
returns without reading. The connection owes that MN: the next call on it
reads everything up to it first (a failure line before it belongs to the
noreply request and is dropped), then its own reply. A server that never
answers the fence costs the next call its timeout, and the connection.
"""

from __future__ import annotations

import time

import pytest
from scripted_server import Expect, ExpectClosed, NeverReply, ReadUntil, Reply, Trickle

import fastmc

PROBE = b"mn\r\n"
SET_A_NOREPLY = b"set a 0 0 1 noreply\r\nA\r\nmn\r\n"
GET_A = b"get a\r\n"
HIT_A = b"VALUE a 0 1\r\nA\r\nEND\r\n"


def client(address: str, **options) -> fastmc.Client:
    return fastmc.Client(
        address, protocol="text_pipelined", timeout=0.5, max_connections_per_server=1, **options
    )


def test_a_noreply_call_returns_before_any_reply_and_the_next_call_reads_past_the_fence(
    scripted_server,
):
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(SET_A_NOREPLY),
            Expect(GET_A),
            Reply(b"MN\r\n" + HIT_A),
        ]
    )
    mc = client(server.address)
    # The fence is answered only after the get is sent: the set did not wait.
    assert mc.set("a", b"A", noreply=True) is True
    assert mc.get("a") == b"A"


def test_several_owed_fences_and_a_refusal_before_them_are_consumed_in_order(scripted_server):
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(SET_A_NOREPLY),
            Expect(b"delete b noreply\r\nmn\r\n"),
            Expect(b"incr c 1 noreply\r\nmn\r\n"),
            Expect(GET_A),
            # Trickled: owed replies split anywhere are still taken whole.
            Trickle(
                b"MN\r\nMN\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n"
                b"MN\r\n" + HIT_A,
                0.001,
            ),
            # The refusal may have left memcached misreading what followed:
            # the connection is closed once the get has its answer.
            ExpectClosed(),
        ],
        [Expect(GET_A), Reply(HIT_A)],
    )
    mc = client(server.address)
    assert mc.set("a", b"A", noreply=True) is True
    assert mc.delete("b", noreply=True) is True
    assert mc.incr("c", 1, noreply=True) is None
    assert mc.get("a") == b"A"
    assert mc.get("a") == b"A"


def test_a_server_that_never_answers_the_fence_costs_the_next_call_its_timeout(scripted_server):
    server = scripted_server(
        [Expect(PROBE), Reply(b"MN\r\n"), Expect(SET_A_NOREPLY), NeverReply()],
        [Expect(GET_A), Reply(HIT_A)],
    )
    mc = client(server.address)
    assert mc.set("a", b"A", noreply=True) is True
    started = time.monotonic()
    with pytest.raises(fastmc.TimeoutError):
        mc.get("a")
    assert time.monotonic() - started < 0.5 + 0.25
    # The connection was dropped; a new one serves the next call.
    assert mc.get("a") == b"A"
    assert server.connection_count == 2


def test_an_idle_connection_keeps_its_arrived_fences_and_is_reused(scripted_server):
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(SET_A_NOREPLY),
            Reply(b"MN\r\n"),
            Expect(SET_A_NOREPLY),
            Reply(b"MN\r\n"),
            Expect(GET_A),
            Reply(HIT_A),
        ]
    )
    mc = client(server.address)
    assert mc.set("a", b"A", noreply=True) is True
    assert mc.set("a", b"A", noreply=True) is True
    time.sleep(0.02)  # idle long enough for the pool's quiet check
    assert mc.get("a") == b"A"
    assert server.connection_count == 1


def test_unasked_bytes_after_the_owed_fence_still_drop_an_idle_connection(scripted_server):
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(SET_A_NOREPLY),
            Reply(b"MN\r\nVALUE a 0 1\r\nZ\r\nEND\r\n"),
            ExpectClosed(),
        ],
        [Expect(GET_A), Reply(HIT_A)],
    )
    mc = client(server.address)
    assert mc.set("a", b"A", noreply=True) is True
    time.sleep(0.02)
    assert mc.get("a") == b"A"


def test_meta_sends_quiet_meta_requests(scripted_server):
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(b"ms a 1 q\r\nA\r\nmn\r\n"),
            Expect(b"md b q\r\nmn\r\n"),
            ReadUntil(b"\r\n"),  # the get's mg
            Reply(b"MN\r\nNF\r\nMN\r\nEN\r\n"),
        ]
    )
    mc = fastmc.Client(server.address, timeout=0.5, max_connections_per_server=1)
    assert mc.set("a", b"A", noreply=True) is True
    assert mc.delete("b", noreply=True) is True
    assert mc.get("a") is None


def test_text_never_sends_a_fence_and_waits_for_the_answer(scripted_server):
    server = scripted_server(
        [
            Expect(b"set a 0 0 1\r\nA\r\n"),
            Reply(b"NOT_STORED\r\n"),
            Expect(GET_A),
            Reply(HIT_A),
        ]
    )
    mc = fastmc.Client(server.address, protocol="text", timeout=0.5)
    assert mc.set("a", b"A", noreply=True) is True
    assert mc.get("a") == b"A"


def test_a_server_without_meta_gets_noreply_answered_and_dropped(scripted_server):
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"ERROR\r\n"),
            Expect(b"set a 0 0 1\r\nA\r\n"),
            Reply(b"SERVER_ERROR out of memory storing object\r\n"),
            Expect(GET_A),
            Reply(HIT_A),
        ]
    )
    mc = client(server.address)
    assert mc.set("a", b"A", noreply=True) is True
    assert mc.get("a") == b"A"
