# SPDX-License-Identifier: MIT
"""Bad arguments through the real peers (pylibmc, pymemcache, libmc) and the
compat modules, side by side on one real memcached: each call raises an
exception of the peer's class (or returns what the peer returns). Keys with a
space or a control byte are left out: fastmc refuses them on purpose where a
peer sends them (docs/migration/*.md, "Keys")."""

from __future__ import annotations

import libmc
import pylibmc
import pymemcache.client.base as pymemcache_base
import pytest

import fastmc.compat.libmc as compat_libmc
import fastmc.compat.pylibmc as compat_pylibmc
import fastmc.compat.pymemcache.client.base as compat_pymemcache


def outcome(call):
    """("value", result) or ("raise", the class's name and its builtin bases)."""
    try:
        return ("value", call())
    except Exception as error:
        builtin_bases = {
            cls.__name__ for cls in type(error).__mro__ if cls.__module__ == "builtins"
        }
        return ("raise", type(error).__name__, builtin_bases)


def same(peer_outcome, our_outcome):
    if peer_outcome[0] == "value" or our_outcome[0] == "value":
        return peer_outcome == our_outcome
    # The same class name, or ours derives from the peer's builtin class
    # (pylibmc's ValueError for an over-long key is BadKeyProvided here,
    # which is a ValueError).
    return peer_outcome[1] == our_outcome[1] or peer_outcome[1] in our_outcome[2]


def counter_call(method, delta):
    def call(client, counter_value):
        client.set("n", counter_value)
        return getattr(client, method)("n", delta)

    return call


COMMON = {
    "get_int_key": lambda c, _: c.get(12),
    "get_none_key": lambda c, _: c.get(None),
    "get_list_key": lambda c, _: c.get(["a"]),
    "set_int_key": lambda c, _: c.set(12, b"v"),
    "set_none_key": lambda c, _: c.set(None, b"v"),
    "delete_int_key": lambda c, _: c.delete(5),
    "get_long_key": lambda c, _: c.get("k" * 300),
    "set_long_key": lambda c, _: c.set("k" * 300, b"v"),
    "set_ttl_str": lambda c, _: c.set("k", b"v", "10"),
    "set_ttl_float": lambda c, _: c.set("k", b"v", 1.5),
    "set_ttl_none": lambda c, _: c.set("k", b"v", None),
    "set_ttl_negative": lambda c, _: c.set("k", b"v", -1),
    "touch_ttl_str": lambda c, _: c.touch("k", "10"),
    "touch_ttl_float": lambda c, _: c.touch("k", 1.5),
    "incr_negative": counter_call("incr", -1),
    "decr_negative": counter_call("decr", -1),
    "incr_str_delta": counter_call("incr", "1"),
    "incr_float_delta": counter_call("incr", 1.5),
    "incr_none_delta": counter_call("incr", None),
    "incr_2_64_delta": counter_call("incr", 2**64),
    "decr_2_64_delta": counter_call("decr", 2**64),
    "incr_huge_negative_delta": counter_call("incr", -(2**70)),
}

PEERS = {
    "pylibmc": (
        lambda address: pylibmc.Client([address]),
        lambda address: compat_pylibmc.Client([address]),
        5,
    ),
    "pymemcache": (
        lambda address: pymemcache_base.Client(address, default_noreply=False),
        lambda address: compat_pymemcache.Client(address, default_noreply=False),
        b"5",
    ),
    "libmc": (
        lambda address: libmc.Client([address]),
        lambda address: compat_libmc.Client([address]),
        b"5",
    ),
}

# (peer, situation) -> the class fastmc raises instead, on purpose.
DIFFERENT = {
    # pylibmc parses a delta as a signed C long, so a negative one too large
    # for it is an OverflowError before its "delta must be positive"
    # ValueError; fastmc checks the sign first.
    ("pylibmc", "incr_huge_negative_delta"): "ValueError",
}


@pytest.mark.parametrize("situation", sorted(COMMON))
@pytest.mark.parametrize("peer_name", sorted(PEERS))
def test_bad_argument_raises_what_the_peer_raises(memcached, peer_name, situation):
    make_peer, make_ours, counter_value = PEERS[peer_name]
    address = memcached.address
    call = COMMON[situation]
    expected = outcome(lambda: call(make_peer(address), counter_value))
    got = outcome(lambda: call(make_ours(address), counter_value))
    if (peer_name, situation) in DIFFERENT:
        assert expected[0] == got[0] == "raise"
        assert got[1] == DIFFERENT[(peer_name, situation)], (expected, got)
    else:
        assert same(expected, got), (expected, got)
