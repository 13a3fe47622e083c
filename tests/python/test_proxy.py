# SPDX-License-Identifier: MIT
"""fastmc.Client through twemproxy (nutcracker) in front of three real memcached servers.

The proxy is one server to the client: every command twemproxy forwards must
answer as memcached answers it directly, keys must really be spread over the
backends, and what twemproxy refuses (docs/proxies.md) must fail fast with a
fastmc error and leave the client usable.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Callable, Iterator

import pytest

import fastmc
from fastmc.serde import json_serde
from fastmc.testing import (
    MemcachedCluster,
    TwemproxyNotFoundError,
    TwemproxyServer,
    TwemproxyStartError,
    find_nutcracker,
)

# How long nutcracker waits for a backend (its pool `timeout`), and the client's
# own timeout, which is longer so that nutcracker's answer arrives first.
PROXY_TIMEOUT = 0.5
CLIENT_TIMEOUT = 2.0


def _nutcracker_or_skip() -> None:
    try:
        find_nutcracker()
    except TwemproxyNotFoundError as error:
        pytest.skip(str(error))


@pytest.fixture
def backends(
    memcached_cluster_factory: Callable[..., MemcachedCluster],
) -> MemcachedCluster:
    """Three memcached servers of our own (some tests kill or pause one)."""
    return memcached_cluster_factory(3)


@pytest.fixture
def proxy(backends: MemcachedCluster) -> Iterator[TwemproxyServer]:
    _nutcracker_or_skip()
    with TwemproxyServer(backends.addresses, timeout=PROXY_TIMEOUT) as server:
        yield server


@pytest.fixture
def mc(proxy: TwemproxyServer) -> Iterator[fastmc.Client]:
    with fastmc.Client(proxy.address, timeout=CLIENT_TIMEOUT) as client:
        yield client


@pytest.fixture
def direct(backends: MemcachedCluster) -> list[fastmc.Client]:
    """One client per backend, reading it directly (not through the proxy)."""
    return [fastmc.Client(address) for address in backends.addresses]


def spread_keys(count: int) -> list[str]:
    # twemproxy's fnv1a_64 keeps 32 bits, so keys that differ only in their
    # last characters ("key:1", "key:2", ...) hash close together and tend to
    # land on one backend; digests spread.
    return [hashlib.sha1(str(i).encode()).hexdigest()[:20] for i in range(count)]


def holders(direct: list[fastmc.Client], key: str) -> list[int]:
    """Indexes of the backends that hold ``key``."""
    return [index for index, client in enumerate(direct) if client.get(key) is not None]


def keys_by_backend(
    mc: fastmc.Client, direct: list[fastmc.Client], count: int = 90
) -> list[list[str]]:
    """Stores ``count`` keys through the proxy; returns them grouped by the backend holding each.

    Asserts that each key is held by exactly one backend and that every backend
    holds some, so a test using the groups really spans all three.
    """
    keys = spread_keys(count)
    for key in keys:
        assert mc.set(key, key.encode()) is True
    groups: list[list[str]] = [[] for _ in direct]
    for key in keys:
        [index] = holders(direct, key)
        groups[index].append(key)
    assert all(groups), f"keys per backend: {[len(group) for group in groups]}"
    return groups


# -- every supported command answers as memcached does -------------------------------------


def command_script(mc: fastmc.Client, keys: list[str]) -> list[object]:
    """Runs every command twemproxy forwards on ``keys``; returns what each call gave.

    cas tokens differ between servers, so a cas value is recorded as its type.
    """
    a, b, c = keys
    results: list[object] = []

    def record(call: Callable[[], object]) -> None:
        try:
            outcome = call()
        except fastmc.Error as error:
            outcome = ("raised", type(error).__name__, str(error).split(": ", 1)[-1])
        if isinstance(outcome, tuple) and len(outcome) == 2 and isinstance(outcome[1], int):
            outcome = (outcome[0], type(outcome[1]).__name__)
        results.append(outcome)

    record(lambda: mc.get(a))
    record(lambda: mc.get(a, "default"))
    record(lambda: mc.gets(a))
    record(lambda: mc.set(a, b"1"))
    record(lambda: mc.get(a))
    record(lambda: mc.gets(a))
    record(lambda: mc.add(a, b"x"))
    record(lambda: mc.add(b, b"b"))
    record(lambda: mc.replace(c, b"x"))
    record(lambda: mc.replace(b, b"B"))
    record(lambda: mc.append(c, b"x"))
    record(lambda: mc.prepend(c, b"x"))
    record(lambda: mc.append(b, b"-end"))
    record(lambda: mc.prepend(b, b"start-"))
    record(lambda: mc.get(b))
    _, token = mc.gets(a)
    record(lambda: mc.cas(a, b"2", token))
    record(lambda: mc.cas(a, b"3", token))
    record(lambda: mc.cas(c, b"3", token))
    record(lambda: mc.get(a))
    record(lambda: mc.incr(c))
    record(lambda: mc.decr(c))
    record(lambda: mc.set(c, 10))
    record(lambda: mc.incr(c, 5))
    record(lambda: mc.decr(c, 100))
    record(lambda: mc.set(c, 2**64 - 1))
    record(lambda: mc.incr(c))
    record(lambda: mc.incr(b))  # not a number: memcached's CLIENT_ERROR, forwarded
    record(lambda: mc.get(b))  # the connection stayed in step
    record(lambda: mc.touch(a, 100))
    record(lambda: mc.touch("never-set", 100))
    record(lambda: mc.get_many([a, b, c, "never-set"]))
    record(
        lambda: sorted(
            (key, value, type(token).__name__)
            for key, (value, token) in mc.gets_many([a, b, "never-set"]).items()
        )
    )
    record(lambda: mc.delete(a))
    record(lambda: mc.delete(a))
    record(lambda: mc.delete_many([b, c, "never-set"]))
    record(lambda: mc.get_many([a, b, c]))
    return results


def test_every_supported_command_answers_as_memcached_does(mc, direct, memcached_factory):
    # One key on each backend, so the script's multi-key calls span all three.
    keys = [group[0] for group in keys_by_backend(mc, direct)]
    assert mc.delete_many(keys) == 3
    reference = memcached_factory()
    with fastmc.Client(reference.address) as plain:
        expected = command_script(plain, keys)
    assert command_script(mc, keys) == expected
    # The script did reach every kind of answer.
    assert b"start-B-end" in expected and 0 in expected and (b"1", "int") in expected
    assert any(
        isinstance(outcome, tuple) and outcome[:2] == ("raised", "ClientError")
        for outcome in expected
    )


def test_keys_spread_over_the_backends_and_multi_key_calls_span_them(mc, direct):
    groups = keys_by_backend(mc, direct)
    keys = [key for group in groups for key in group]
    expected = {key: key.encode() for key in keys}
    assert mc.get_many([*keys, "never-set"]) == expected
    with_cas = mc.gets_many(keys)
    assert {key: value for key, (value, _) in with_cas.items()} == expected
    assert all(isinstance(token, int) and token > 0 for _, token in with_cas.values())
    # What the proxy reports is what each backend holds.
    for index, group in enumerate(groups):
        assert direct[index].get_many(group) == {key: key.encode() for key in group}
    assert mc.delete_many([*keys, "never-set"]) == len(keys)
    assert all(client.get_many(keys) == {} for client in direct)


def test_values_of_every_native_type_round_trip(mc, direct):
    values = {
        "bytes": b"\x00\xffbinary\r\nEND\r\n",
        "empty": b"",
        "text": "héllo wörld",
        "int": -42,
        "large_int": 2**100,
        "true": True,
        "false": False,
        "ключ": b"non-ascii key",
        "k" * 250: b"longest key",
    }
    for key, value in values.items():
        assert mc.set(key, value) is True
    for key, value in values.items():
        got = mc.get(key)
        assert got == value and type(got) is type(value), key
        # Stored as is: a direct client reads the same value with the same type.
        [backend] = holders(direct, key)
        assert direct[backend].get(key) == value
    assert mc.get_many(list(values)) == values


def test_a_500_kib_value_and_a_serde_value_round_trip(mc, direct):
    large = os.urandom(500 * 1024)
    assert mc.set("large", large) is True
    assert mc.get("large") == large
    assert mc.get_many(["large", "missing"]) == {"large": large}
    [backend] = holders(direct, "large")
    assert direct[backend].get("large") == large
    with fastmc.Client(mc.servers[0], serde=json_serde) as documents:
        documents.set("doc", {"a": [1, 2.5, None]})
        assert documents.get("doc") == {"a": [1, 2.5, None]}


# nutcracker closes the connection on the `mn` meta probe instead of answering
# ERROR; fastmc takes that, from a proxy that still answers text, as "no meta".
def test_set_many_through_the_proxy_stores_every_entry(mc, direct):
    items = {key: key.encode() for key in spread_keys(60)}
    assert mc.set_many(items) == []
    assert mc.get_many(list(items)) == items
    assert sum(len(client.get_many(list(items))) for client in direct) == len(items)
    # Once known, the answer is remembered: a second call needs no probe.
    assert mc.set_many({"again": b"1"}) == []


def test_set_many_with_the_text_protocol_works_through_the_proxy(proxy, direct):
    # The workaround until fastmc handles nutcracker's answer to `mn`.
    with fastmc.Client(proxy.address, protocol="text") as mc:
        items = {key: key.encode() for key in spread_keys(60)}
        assert mc.set_many(items) == []
        assert mc.get_many(list(items)) == items
        holders_per_key = [holders(direct, key) for key in items]
        assert all(len(found) == 1 for found in holders_per_key)
        assert {found[0] for found in holders_per_key} == {0, 1, 2}


# -- what twemproxy does not support ---------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda mc: mc.stats(), id="stats"),
        pytest.param(lambda mc: mc.stats("settings"), id="stats-settings"),
        pytest.param(lambda mc: mc.flush_all(), id="flush_all"),
        pytest.param(lambda mc: mc.gat("k", 100), id="gat"),
        pytest.param(lambda mc: mc.gats("k", 100), id="gats"),
    ],
)
def test_a_command_twemproxy_refuses_is_a_prompt_connection_error(mc, call):
    # nutcracker does not answer these: it closes the client connection.
    mc.set("k", b"v")
    started = time.monotonic()
    with pytest.raises(fastmc.ConnectionError) as raised:
        call(mc)
    assert time.monotonic() - started < PROXY_TIMEOUT
    assert raised.value.cause == "connection_closed"
    assert raised.value.server == mc.servers[0]
    # The closed connection is not reused: the next call gets its own answer.
    assert mc.get("k") == b"v"


def test_version_through_the_proxy_is_one_backends_version(mc, backends):
    [(server, version)] = mc.version().items()
    assert server == mc.servers[0]
    backend_versions = {
        version
        for client in (fastmc.Client(address) for address in backends.addresses)
        for version in client.version().values()
    }
    assert backend_versions == {version}


def raw_exchange(address: str, request: bytes, wait: float = 1.0) -> tuple[bytes, bool]:
    """Sends ``request`` on a fresh connection; returns (what came back, whether it was closed).

    Reads until the peer closes or ``wait`` seconds pass without it closing.
    """
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(request)
        received = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                return received, True
            if not chunk:
                return received, True
            received += chunk
        return received, False


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"mn\r\n",
        b"mg k v\r\n",
        b"ms k 1\r\nx\r\n",
        b"stats\r\n",
        b"stats settings\r\n",
        b"flush_all\r\n",
        b"flush_all 0\r\n",
        b"gat 100 k\r\n",
        b"gats 100 k\r\n",
        b"verbosity 1\r\n",
        b"no_such_command\r\n",
        # A reply already due is dropped too: never pipeline `mn` behind other requests.
        b"get k\r\nmn\r\n",
    ],
)
def test_nutcracker_closes_the_connection_without_a_reply_on_what_it_cannot_parse(
    proxy, request_bytes
):
    # The wire facts docs/proxies.md states, pinned to the installed nutcracker.
    assert raw_exchange(proxy.address, request_bytes) == (b"", True)


def test_nutcracker_forwards_version_to_one_backend(proxy):
    reply, closed = raw_exchange(proxy.address, b"version\r\n", wait=0.3)
    assert reply.startswith(b"VERSION 1.") and reply.endswith(b"\r\n") and not closed


# -- backends that fail ------------------------------------------------------------------------


def test_a_killed_backend_is_a_prompt_server_error_and_a_restart_recovers(mc, direct, backends):
    groups = keys_by_backend(mc, direct)
    victim, survivor = groups[1][0], groups[0][0]
    backends[1].kill()
    for call in (
        lambda: mc.get(victim),
        lambda: mc.set(victim, b"new"),
        lambda: mc.delete(victim),
        lambda: mc.get_many([survivor, victim]),  # one failed fragment fails the whole call
    ):
        started = time.monotonic()
        with pytest.raises(fastmc.ServerError) as raised:
            call()
        assert time.monotonic() - started < PROXY_TIMEOUT
        assert "SERVER_ERROR Connection refused" in str(raised.value)
        assert raised.value.server == mc.servers[0]
    # The other backends keep serving their keys, on the same client.
    assert mc.get(survivor) == survivor.encode()
    assert mc.get_many(groups[0] + groups[2]) == {k: k.encode() for k in groups[0] + groups[2]}
    backends[1].restart()
    assert mc.get(victim) is None  # a cold cache: a miss, not an error
    assert mc.set(victim, b"back") is True
    assert mc.get(victim) == b"back"


def test_a_stalled_backend_is_nutcrackers_timeout_error_then_replies_stay_in_step(
    mc, direct, backends
):
    groups = keys_by_backend(mc, direct)
    first, second = groups[2][:2]
    backends[2].pause()
    try:
        started = time.monotonic()
        with pytest.raises(fastmc.ServerError) as raised:
            mc.get(first)
        elapsed = time.monotonic() - started
        assert "SERVER_ERROR Connection timed out" in str(raised.value)
        assert PROXY_TIMEOUT * 0.9 <= elapsed < PROXY_TIMEOUT + 0.5
        # A client timeout shorter than nutcracker's is fastmc's own TimeoutError.
        with fastmc.Client(mc.servers[0], timeout=0.2) as impatient:
            started = time.monotonic()
            with pytest.raises(fastmc.TimeoutError) as timed_out:
                impatient.get(second)
            assert time.monotonic() - started < 0.2 + 0.15
            assert timed_out.value.cause == "timed_out"
    finally:
        backends[2].resume()
    # Late replies are never taken for the answer to a later request.
    assert mc.get(second) == second.encode()
    assert mc.get(first) == first.encode()
    assert mc.get_many([first, second]) == {first: first.encode(), second: second.encode()}


def test_a_killed_proxy_is_a_connection_error_and_its_restart_recovers(mc, proxy):
    mc.set("k", b"v")
    proxy.kill()
    started = time.monotonic()
    with pytest.raises(fastmc.ConnectionError) as raised:
        mc.get("k")
    assert time.monotonic() - started < PROXY_TIMEOUT
    assert raised.value.server == proxy.address
    proxy.start()
    # Same address; the items live in the backends, not in the proxy.
    assert mc.get("k") == b"v"


# -- fastmc.testing.TwemproxyServer ------------------------------------------------------------


def test_twemproxy_server_writes_the_pool_it_is_given(backends):
    _nutcracker_or_skip()
    proxy = TwemproxyServer(
        backends.addresses, weights=[1, 2, 3], timeout=0.25, extra_config={"hash_tag": "{}"}
    )
    with proxy:
        config = proxy.config_text
        assert f"listen: {proxy.address}" in config
        assert "hash: fnv1a_64" in config and "distribution: ketama" in config
        assert "timeout: 250" in config and "auto_eject_hosts: false" in config
        assert 'hash_tag: "{}"' in config
        for address, weight in zip(backends.addresses, [1, 2, 3], strict=True):
            assert f"- {address}:{weight}" in config
        assert proxy.stats_port not in (None, proxy.port)
        with fastmc.Client(proxy.address) as mc:
            # With hash_tag, keys that share the tagged part share a backend.
            mc.set("{user}:a", b"1")
            mc.set("{user}:b", b"2")
            direct = [fastmc.Client(address) for address in backends.addresses]
            assert holders(direct, "{user}:a") == holders(direct, "{user}:b")


def test_twemproxy_server_is_always_cleaned_up(backends):
    _nutcracker_or_skip()
    proxy = TwemproxyServer(backends.addresses)
    proxy.start()
    pid, folder = proxy.pid, proxy._folder
    assert pid is not None and folder is not None and os.path.isdir(folder)
    proxy.stop()
    assert not os.path.exists(f"/proc/{pid}") and not os.path.exists(folder)
    proxy.start()
    pid = proxy.pid
    del proxy  # a proxy the test forgot to stop
    assert not os.path.exists(f"/proc/{pid}")


def test_twemproxy_server_reports_a_port_in_use_and_a_bad_config(backends):
    _nutcracker_or_skip()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(TwemproxyStartError, match="Address already in use"):
            TwemproxyServer(backends.addresses, port=port).start()
    with pytest.raises(TwemproxyStartError, match="exited with status"):
        TwemproxyServer(backends.addresses, hash="no_such_hash").start()
    with pytest.raises(ValueError, match="IPv6"):
        TwemproxyServer(["[::1]:11211"])
