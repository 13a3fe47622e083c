# SPDX-License-Identifier: MIT
"""set_many's quiet meta pipeline, byte for byte, from the scripted fake server.

A server that speaks meta gets one pipeline of `ms ... q O<position>` and a
closing `mn`: only failures answer, tagged with their position. A server that
answers ERROR to the `mn` probe gets text sets. An error line inside the
pipeline names no request, so the entries are stored again as text sets,
whose replies are one per entry.
"""

from __future__ import annotations

from scripted_server import Expect, ExpectClosed, Reply

import fastmc

PROBE = b"mn\r\n"


def set_many(client: fastmc.Client) -> list:
    # b is a str: its flags (16) go on the wire, F16 in meta, 16 in text.
    return client.set_many({"a": b"A", "b": "B", "c": b"C"})


def test_a_meta_server_gets_one_quiet_pipeline_and_failures_are_attributed(scripted_server):
    pipeline = b"ms a 1 q O0\r\nA\r\nms b 1 F16 q O1\r\nB\r\nms c 1 q O2\r\nC\r\nmn\r\n"
    server = scripted_server(
        [Expect(PROBE), Reply(b"MN\r\n"), Expect(pipeline), Reply(b"NS O1\r\nMN\r\n")]
    )
    mc = fastmc.Client(server.address, timeout=0.5)
    assert set_many(mc) == ["b"]


def test_the_probe_is_sent_once_per_server(scripted_server):
    first = b"ms a 1 q O0\r\nA\r\nmn\r\n"
    second = b"ms b 1 T60 q O0\r\nB\r\nmn\r\n"
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(first),
            Reply(b"MN\r\n"),
            Expect(second),
            Reply(b"MN\r\n"),
        ]
    )
    mc = fastmc.Client(server.address, timeout=0.5)
    assert mc.set_many({"a": b"A"}) == []
    assert mc.set_many({"b": b"B"}, ttl=60) == []


def test_a_server_without_meta_gets_text_sets(scripted_server):
    text = b"set a 0 0 1\r\nA\r\nset b 16 0 1\r\nB\r\nset c 0 0 1\r\nC\r\n"
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"ERROR\r\n"),
            Expect(text),
            Reply(b"STORED\r\nNOT_STORED\r\nSTORED\r\n"),
        ]
    )
    mc = fastmc.Client(server.address, timeout=0.5)
    assert set_many(mc) == ["b"]


def test_an_error_line_in_the_pipeline_falls_back_to_answered_sets_on_a_fresh_connection(
    scripted_server,
):
    pipeline = b"ms a 1 q O0\r\nA\r\nms b 1 F16 q O1\r\nB\r\nms c 1 q O2\r\nC\r\nmn\r\n"
    # Each set answered, still in meta (which could send binary keys too).
    answered = b"ms a 1\r\nA\r\nms b 1 F16\r\nB\r\nms c 1\r\nC\r\n"
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(pipeline),
            Reply(b"SERVER_ERROR out of memory storing object\r\nMN\r\n"),
            ExpectClosed(),
        ],
        [Expect(answered), Reply(b"HD\r\nSERVER_ERROR out of memory storing object\r\nHD\r\n")],
    )
    mc = fastmc.Client(server.address, timeout=0.5)
    assert set_many(mc) == ["b"]


def test_an_opaque_no_request_carried_is_a_protocol_error(scripted_server):
    pipeline = b"ms a 1 q O0\r\nA\r\nmn\r\n"
    server = scripted_server(
        [
            Expect(PROBE),
            Reply(b"MN\r\n"),
            Expect(pipeline),
            Reply(b"NS O7\r\nMN\r\n"),
            ExpectClosed(),
        ]
    )
    mc = fastmc.Client(server.address, timeout=0.5)
    try:
        mc.set_many({"a": b"A"})
    except fastmc.ProtocolError as error:
        assert "opaque" in str(error)
    else:
        raise AssertionError("a reply for no request must not pass as success")


def test_meta_can_be_turned_off(scripted_server):
    server = scripted_server([Expect(b"set a 0 0 1\r\nA\r\n"), Reply(b"STORED\r\n")])
    mc = fastmc.Client(server.address, timeout=0.5, protocol="text")
    assert mc.set_many({"a": b"A"}) == []
