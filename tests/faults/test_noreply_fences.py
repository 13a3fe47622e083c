# SPDX-License-Identifier: MIT
"""noreply as fire and forget, byte for byte, from the scripted fake server.

Where the server speaks meta, a noreply request goes out quiet (meta q, or
text noreply with protocol="text_pipelined") and the call returns without
reading. Its failures may still come, so the next call that reads on that
connection starts its request with `mn` and reads everything up to the MN
first (dropping what came before it: the quiet requests' answers), then its
own reply. A burst of quiet requests carries an `mn` every 64, so that
unread answers never pile up. A server that never answers the fence costs
the next call its timeout, and the connection.

With protocol="binary" the same holds with the binary quiet opcodes (setq,
deleteq, flushq, ...) and a noop as the fence (opaque 0xffffffff): only the
noop's own reply ends what the quiet requests owe, and anything else in its
place fails the connection rather than shift a reply onto the wrong call.
delete_many and flush_all noreply go quiet the same way.
"""

from __future__ import annotations

import struct
import time

import pytest
from scripted_server import Close, Expect, ExpectClosed, NeverReply, ReadUntil, Reply, Trickle

import fastmc

PROBE = b"mn\r\n"
FENCE = b"mn\r\n"
SET_A_NOREPLY = b"set a 0 0 1 noreply\r\nA\r\n"
GET_A = b"get a\r\n"
HIT_A = b"VALUE a 0 1\r\nA\r\nEND\r\n"
# Quiet requests between two `mn` in a burst (net::Connection::kFenceEvery).
FENCE_EVERY = 64


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
            Expect(FENCE + GET_A),
            Reply(b"MN\r\n" + HIT_A),
        ]
    )
    mc = client(server.address)
    assert mc.set("a", b"A", noreply=True) is True
    assert mc.get("a") == b"A"


def test_the_answers_of_quiet_requests_before_the_fence_are_dropped(scripted_server):
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(SET_A_NOREPLY),
            Expect(b"delete b noreply\r\n"),
            Expect(b"incr c 1 noreply\r\n"),
            Expect(FENCE + GET_A),
            # Trickled: owed replies split anywhere are still taken whole.
            Trickle(
                b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\nMN\r\n" + HIT_A,
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


def test_a_burst_carries_a_fence_every_64_requests_and_its_mn_does_not_drop_an_idle_connection(
    scripted_server,
):
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(SET_A_NOREPLY * FENCE_EVERY + FENCE),
            Reply(b"MN\r\n"),
            # The MN came while the connection sat idle: taken in, and the
            # get needs no fence of its own.
            Expect(GET_A),
            Reply(HIT_A),
        ]
    )
    mc = client(server.address)
    for _ in range(FENCE_EVERY):
        assert mc.set("a", b"A", noreply=True) is True
    time.sleep(0.02)  # idle long enough for the pool's quiet check
    assert mc.get("a") == b"A"
    assert server.connection_count == 1


def test_unasked_bytes_after_the_owed_fence_still_drop_an_idle_connection(scripted_server):
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(SET_A_NOREPLY * FENCE_EVERY + FENCE),
            Reply(b"MN\r\nVALUE a 0 1\r\nZ\r\nEND\r\n"),
            ExpectClosed(),
        ],
        [Expect(GET_A), Reply(HIT_A)],
    )
    mc = client(server.address)
    for _ in range(FENCE_EVERY):
        assert mc.set("a", b"A", noreply=True) is True
    time.sleep(0.02)
    assert mc.get("a") == b"A"


def test_a_server_closing_an_idle_connection_that_may_still_answer_is_seen(scripted_server):
    server = scripted_server(
        [Expect(PROBE), Reply(b"MN\r\n"), Expect(SET_A_NOREPLY), Close()],
        [Expect(GET_A), Reply(HIT_A)],
    )
    mc = client(server.address)
    assert mc.set("a", b"A", noreply=True) is True
    time.sleep(0.02)
    # Seen at the lease: the get goes out once, on a new connection.
    assert mc.get("a") == b"A"


def test_meta_sends_quiet_meta_requests(scripted_server):
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(b"ms a 1 q\r\nA\r\n"),
            Expect(b"md b q\r\n"),
            Expect(b"md c q\r\nmd d q\r\n"),
            Expect(b"flush_all noreply\r\n"),  # no meta form: text noreply
            Expect(FENCE),
            ReadUntil(b"\r\n"),  # the get's mg
            Reply(b"NF\r\nMN\r\nEN\r\n"),
        ]
    )
    mc = fastmc.Client(server.address, timeout=0.5, max_connections_per_server=1)
    assert mc.set("a", b"A", noreply=True) is True
    assert mc.delete("b", noreply=True) is True
    assert mc.delete_many(["c", "d"], noreply=True) == 2
    assert mc.flush_all(noreply=True) is None
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


def test_text_pipelined_delete_many_and_flush_all_go_quiet(scripted_server):
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(b"delete a noreply\r\ndelete b noreply\r\n"),
            Expect(b"flush_all 5 noreply\r\n"),
            Expect(FENCE + GET_A),
            Reply(b"MN\r\n" + HIT_A),
        ]
    )
    mc = client(server.address)
    assert mc.delete_many(["a", "b"], noreply=True) == 2
    assert mc.flush_all(5, noreply=True) is None
    assert mc.get("a") == b"A"


# Binary ----------------------------------------------------------------------

FENCE_OPAQUE = 0xFFFFFFFF


def binary_request(opcode, key=b"", extras=b"", value=b"", opaque=0):
    header = struct.pack(
        ">BBHBBHIIQ",
        0x80,
        opcode,
        len(key),
        len(extras),
        0,
        0,
        len(extras) + len(key) + len(value),
        opaque,
        0,
    )
    return header + extras + key + value


def binary_reply(opcode, key=b"", extras=b"", value=b"", opaque=0, status=0):
    header = struct.pack(
        ">BBHBBHIIQ",
        0x81,
        opcode,
        len(key),
        len(extras),
        0,
        status,
        len(extras) + len(key) + len(value),
        opaque,
        0,
    )
    return header + extras + key + value


SETQ_A = binary_request(0x11, b"a", struct.pack(">II", 0, 0), b"A")
BINARY_FENCE = binary_request(0x0A, opaque=FENCE_OPAQUE)
BINARY_FENCE_REPLY = binary_reply(0x0A, opaque=FENCE_OPAQUE)
# A get: one getkq (opaque 0) and the noop (opaque 1) that ends its batch.
BINARY_GET_A = binary_request(0x0D, b"a") + binary_request(0x0A, opaque=1)
BINARY_HIT_A = binary_reply(0x0D, b"a", struct.pack(">I", 0), b"A") + binary_reply(0x0A, opaque=1)


def binary_client(address: str) -> fastmc.Client:
    return fastmc.Client(address, protocol="binary", timeout=0.5, max_connections_per_server=1)


def test_binary_noreply_sends_quiet_opcodes_and_the_next_call_reads_past_the_noop(
    scripted_server,
):
    server = scripted_server(
        [
            Expect(SETQ_A),
            Expect(binary_request(0x14, b"b")),  # deleteq
            Expect(binary_request(0x14, b"c") + binary_request(0x14, b"d", opaque=1)),
            Expect(binary_request(0x18, extras=struct.pack(">I", 0))),  # flushq
            Expect(BINARY_FENCE + BINARY_GET_A),
            # The deleteq's "Not found", owed and dropped; trickled, so the
            # owed replies split anywhere are still taken whole.
            Trickle(
                binary_reply(0x14, value=b"Not found", status=1)
                + BINARY_FENCE_REPLY
                + BINARY_HIT_A,
                0.001,
            ),
        ]
    )
    mc = binary_client(server.address)
    assert mc.set("a", b"A", noreply=True) is True
    assert mc.delete("b", noreply=True) is True
    assert mc.delete_many(["c", "d"], noreply=True) == 2
    assert mc.flush_all(noreply=True) is None
    assert mc.get("a") == b"A"
    assert server.connection_count == 1


def test_binary_touch_has_no_quiet_form_and_is_answered(scripted_server):
    server = scripted_server(
        [
            Expect(SETQ_A),
            # The fence goes ahead of the touch, whose answer is awaited.
            Expect(BINARY_FENCE + binary_request(0x1C, b"a", struct.pack(">I", 10))),
            Reply(BINARY_FENCE_REPLY + binary_reply(0x1C, value=b"Not found", status=1)),
            Expect(BINARY_GET_A),
            Reply(BINARY_HIT_A),
        ]
    )
    mc = binary_client(server.address)
    assert mc.set("a", b"A", noreply=True) is True
    assert mc.touch("a", 10, noreply=True) is True
    assert mc.get("a") == b"A"


@pytest.mark.parametrize(
    "in_place_of_the_fence",
    [
        pytest.param(b"garbage that is no binary packet at all", id="garbage"),
        pytest.param(binary_reply(0x0A, opaque=7), id="a noop with another opaque"),
    ],
)
def test_anything_but_the_fence_reply_fails_the_connection_and_no_value_is_misread(
    scripted_server, in_place_of_the_fence
):
    server = scripted_server(
        [
            Expect(SETQ_A),
            Expect(BINARY_FENCE + BINARY_GET_A),
            # A hit for the get follows, which must not be taken as its answer.
            Reply(in_place_of_the_fence + BINARY_FENCE_REPLY + BINARY_HIT_A),
            ExpectClosed(),
        ],
        [Expect(BINARY_GET_A), Reply(BINARY_HIT_A)],
    )
    mc = binary_client(server.address)
    assert mc.set("a", b"A", noreply=True) is True
    with pytest.raises(fastmc.ProtocolError, match="noreply"):
        mc.get("a")
    # A new connection, owing nothing, serves the next call.
    assert mc.get("a") == b"A"
    assert server.connection_count == 2
