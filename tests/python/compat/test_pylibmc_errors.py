# SPDX-License-Identifier: MIT
"""Error behaviours of fastmc.compat.pylibmc next to the real pylibmc's.

Each situation (miss, not stored, cas conflict, counters, invalid key, value
too large, undecodable value, server down) is run through both clients
against real memcached servers: the same return value, or an exception of
the same class name (and retcode). The places where fastmc deliberately
differs are asserted as such, with the reason (docs/migration/pylibmc.md).
"""

from __future__ import annotations

import socket
import time

import pylibmc
import pytest

import fastmc
import fastmc.compat.pylibmc as compat


def outcome(call):
    """("value", result) or ("raise", class name, retcode)."""
    try:
        return ("value", call())
    except Exception as error:
        return ("raise", type(error).__name__, getattr(error, "retcode", None))


@pytest.fixture
def clients(memcached):
    """A fresh (pylibmc, compat) pair per situation: a pylibmc connection
    that saw an error may be out of step."""

    def make(**kwargs):
        peer = pylibmc.Client([memcached.address], **kwargs)
        ours = compat.Client([memcached.address], **kwargs)
        reset(memcached)
        return peer, ours

    return make


def reset(memcached) -> None:
    """The items every situation starts from."""
    with fastmc.Client(memcached.address, value_scheme="pylibmc") as mc:
        mc.flush_all()
        mc.set("n", 5)
        mc.set("text", "abc")


SITUATIONS = {
    "miss": lambda mc: mc.get("missing"),
    "miss_default": lambda mc: mc.get("missing", "d"),
    "miss_multi": lambda mc: mc.get_multi(["missing", "n"]),
    "add_existing": lambda mc: mc.add("n", 1),
    "replace_missing": lambda mc: mc.replace("missing", 1),
    "append_missing": lambda mc: mc.append("missing", b"x"),
    "prepend_missing": lambda mc: mc.prepend("missing", b"x"),
    "add_multi_existing": lambda mc: mc.add_multi({"n": 1, "fresh": 2}),
    "delete_missing": lambda mc: mc.delete("missing"),
    "delete_multi_missing": lambda mc: mc.delete_multi(["missing", "n"]),
    "touch_missing": lambda mc: mc.touch("missing", 10),
    "incr_missing": lambda mc: mc.incr("missing"),
    "decr_missing": lambda mc: mc.decr("missing"),
    "incr_multi_missing": lambda mc: mc.incr_multi(["missing", "n"]),
    "incr_not_a_number": lambda mc: mc.incr("text"),
    "incr_negative_delta": lambda mc: mc.incr("n", -1),
    "too_big_set": lambda mc: mc.set("big", b"x" * (2 * 1024 * 1024)),
    "too_big_add": lambda mc: mc.add("big", b"x" * (2 * 1024 * 1024)),
    "too_big_replace": lambda mc: mc.replace("n", b"x" * (2 * 1024 * 1024)),
    "key_too_long_get": lambda mc: mc.get("k" * 251),
    "key_too_long_set": lambda mc: mc.set("k" * 251, 1),
    "key_too_long_multi": lambda mc: mc.get_multi(["k" * 251, "n"]),
    "key_250_bytes": lambda mc: (mc.set("k" * 250, 1), mc.get("k" * 250)),
    "non_ascii_key": lambda mc: (mc.set("cl\u00e9", 1), mc.get("cl\u00e9")),
    "key_not_str": lambda mc: mc.get(5),
    "bad_compress_level": lambda mc: mc.set("k", 1, compress_level=10),
}


@pytest.mark.parametrize("name", list(SITUATIONS))
def test_same_outcome_as_pylibmc(clients, memcached, name):
    peer, ours = clients()
    call = SITUATIONS[name]
    expected = outcome(lambda: call(peer))
    reset(memcached)
    got = outcome(lambda: call(ours))
    if expected[0] == "raise" and expected[1:] == ("ValueError", None):
        # An over-long key: pylibmc's plain ValueError, ours BadKeyProvided,
        # which is a ValueError too.
        assert got[0] == "raise" and got[1] in ("ValueError", "BadKeyProvided")
    else:
        assert got == expected


@pytest.mark.parametrize("name", ["cas_conflict", "cas_missing"])
def test_cas_outcomes(clients, name):
    peer, ours = clients(behaviors={"cas": True})
    key = "n" if name == "cas_conflict" else "missing"
    results = []
    for mc in (peer, ours):
        _, cas = peer.gets("n")
        peer.set("n", 6)  # the item changed since gets
        results.append(outcome(lambda mc=mc, cas=cas: mc.cas(key, 1, cas)))
    assert results[1] == results[0]


@pytest.mark.parametrize("key", ["a b", "a\nb", "a\x01b", ""])
def test_invalid_key_is_refused_before_sending(clients, memcached, key):
    # pylibmc (verify_keys off, its default) sends such a key: a get answers
    # None, a set raises ClientError, and the connection can be left out of
    # step. fastmc never sends it: every call raises BadKeyProvided, which is
    # what pylibmc raises for reads under verify_keys, and a ValueError.
    peer, ours = clients(behaviors={"verify_keys": True})
    if key:
        assert outcome(lambda: peer.get(key)) == ("raise", "BadKeyProvided", 33)
        assert outcome(lambda: peer.get_multi([key, "n"]))[1] == "BadKeyProvided"
    for call in (
        lambda: ours.get(key),
        lambda: ours.set(key, 1),
        lambda: ours.delete(key),
        lambda: ours.incr(key),
        lambda: ours.touch(key, 1),
        lambda: ours.get_multi([key, "n"]),
        lambda: ours.set_multi({key: 1, "n": 2}),
    ):
        with pytest.raises(compat.BadKeyProvided) as error:
            call()
        assert isinstance(error.value, ValueError)
        assert error.value.retcode == 33
    assert ours.get("n") == 5  # nothing was sent: the connection is fine


def test_undecodable_values(clients, memcached):
    peer, ours = clients()
    raw = fastmc.Client(memcached.address)
    raw.set_raw("mixed_flags", b"x", 3)
    raw.set_raw("bad_zlib", b"not zlib", 8)
    raw.set_raw("unknown_bit", b"plain", 32)
    for key in ("mixed_flags", "bad_zlib", "unknown_bit"):
        assert outcome(lambda key=key: ours.get(key)) == outcome(lambda key=key: peer.get(key))
    assert ours.get("unknown_bit") == b"plain"  # bits outside pylibmc's mask are ignored


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_down_as_pylibmc():
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    peer = pylibmc.Client([address])
    ours = compat.Client([address])
    for mc in (peer, ours):
        # The first call finds the server refusing; then it is left alone
        # for retry_timeout and calls fail fast with ServerDown.
        first = outcome(lambda mc=mc: mc.get("k"))
        assert first == ("raise", "ConnectionError", 3)
    for call in (
        lambda mc: mc.get("k"),
        lambda mc: mc.set("k", 1),
        lambda mc: mc.get_multi(["a", "b"]),
        lambda mc: mc.set_multi({"a": 1}),
        lambda mc: mc.delete("k"),
        lambda mc: mc.incr("k"),
        lambda mc: mc.add("k", 1),
        lambda mc: mc.delete_multi(["k"]),
        lambda mc: mc.get_stats(),
        lambda mc: mc.flush_all(),
    ):
        assert outcome(lambda call=call: call(ours)) == outcome(lambda call=call: call(peer))


def test_server_down_with_remove_failed():
    address = f"127.0.0.1:{free_port()}"
    behaviors = {"remove_failed": 1}
    peer = pylibmc.Client([address], behaviors=behaviors)
    ours = compat.Client([address], behaviors=behaviors)
    assert outcome(lambda: ours.get("k")) == outcome(lambda: peer.get("k"))
    assert outcome(lambda: ours.get("k")) == outcome(lambda: peer.get("k"))
    assert outcome(lambda: ours.set("k", 1)) == outcome(lambda: peer.set("k", 1))


def test_auto_eject_moves_keys_to_live_servers(memcached_cluster):
    servers = memcached_cluster.addresses
    dead = f"127.0.0.1:{free_port()}"
    behaviors = {"ketama": True, "remove_failed": 1, "retry_timeout": 30}
    ours = compat.Client([*servers, dead], behaviors=behaviors)
    keys = [f"key{i}" for i in range(200)]
    on_dead = [key for key in keys if ours.server_for_key(key) == dead]
    assert on_dead
    with pytest.raises(compat.ConnectionError):
        ours.get(on_dead[0])
    # Ejected: its keys now live on the others, reads and writes work.
    assert ours.set_multi(dict.fromkeys(keys, b"v")) == []
    assert ours.get_multi(keys) == dict.fromkeys(keys, b"v")


def test_remove_failed_above_one_pauses_the_server_before_ejecting_it(memcached_cluster):
    # libmemcached: each failure below remove_failed takes the server out for
    # retry_timeout (ServerDown, fast, its keys staying where they are); the
    # remove_failed-th ejects it and its keys move to the live servers.
    servers = memcached_cluster.addresses
    dead = f"127.0.0.1:{free_port()}"
    behaviors = {"ketama": True, "remove_failed": 3, "retry_timeout": 1}
    peer = pylibmc.Client([*servers, dead], behaviors=behaviors)
    ours = compat.Client([*servers, dead], behaviors=behaviors)
    keys = [f"key{i}" for i in range(200)]
    on_dead = [key for key in keys if ours.server_for_key(key) == dead]
    assert on_dead
    for mc in (peer, ours):
        assert outcome(lambda mc=mc: mc.get(on_dead[0])) == ("raise", "ConnectionError", 3)
        started = time.monotonic()
        assert outcome(lambda mc=mc: mc.get(on_dead[0]))[:2] == ("raise", "ServerDown")
        assert outcome(lambda mc=mc: mc.set(on_dead[0], b"v"))[:2] == ("raise", "ServerDown")
        assert time.monotonic() - started < 0.5
    # Paused, not ejected: the other servers' keys are untouched.
    assert ours.server_for_key(on_dead[0]) == dead
    live = [key for key in keys if key not in on_dead]
    assert ours.set_multi(dict.fromkeys(live, b"v")) == []
    # Two more failures, each after its pause, eject it: then its keys move.
    for _ in range(2):
        time.sleep(1.05)
        assert outcome(lambda: ours.get(on_dead[0]))[:2] == ("raise", "ConnectionError")
    assert ours.set(on_dead[0], b"moved") is True
    assert ours.get(on_dead[0]) == b"moved"


def test_timeout_raises_where_pylibmc_misses(memcached_factory):
    # A stalled server: libmemcached reports the read timeout of a get as a
    # miss (None); fastmc raises Error (libmemcached's TIMEOUT has no class),
    # so a stalled server is not mistaken for a cold cache.
    server = memcached_factory()
    peer = pylibmc.Client([server.address], behaviors={"_poll_timeout": 200})
    ours = compat.Client([server.address], behaviors={"_poll_timeout": 200})
    assert peer.set("k", 1) and ours.get("k") == 1
    server.pause()
    try:
        assert peer.get("k") is None
        started = time.monotonic()
        with pytest.raises(compat.Error) as error:
            ours.get("k")
        assert time.monotonic() - started < 2  # _poll_timeout, not the 5 s default
        assert type(error.value) is compat.Error
        assert error.value.cause == "timed_out"
    finally:
        server.resume()


def test_unresolvable_host_is_a_connection_error():
    # pylibmc says HostLookupError; fastmc's native client reports a failed
    # name lookup as a connect failure: ConnectionError, with the cause.
    ours = compat.Client(["no-such-host.invalid:11211"])
    with pytest.raises(compat.ConnectionError) as error:
        ours.get("k")
    assert error.value.cause == "connect_failed"
