# SPDX-License-Identifier: MIT
"""Many servers: fan-out, server health and the dead-server policies, on real memcached.

Every value carries its own key, so a value read for the wrong key is caught
wherever it happens.
"""

from __future__ import annotations

import time

import pytest

import fastmc

KEYS = [f"cluster:{i}" for i in range(500)]
MARGIN = 0.1


def value_of(key: str) -> bytes:
    return f"{key}|value".encode()


@pytest.fixture
def five(memcached_cluster_factory):
    return memcached_cluster_factory(5)


def keys_on(client: fastmc.Client, address: str) -> list[str]:
    return [key for key in KEYS if client.server_for_key(key) == address]


def assert_values_are_their_own(found: dict) -> None:
    wrong = {k: v for k, v in found.items() if v != value_of(k)}
    assert wrong == {}, f"values for other keys: {list(wrong.items())[:3]}"


def test_get_many_fans_out_and_every_key_comes_from_its_server(five):
    mc = fastmc.Client(five.addresses, distribution="ketama")
    assert mc.set_many({key: value_of(key) for key in KEYS}) == []
    found = mc.get_many(KEYS)
    assert len(found) == len(KEYS)
    assert_values_are_their_own(found)
    for address in five.addresses:
        with fastmc.Client(address) as single:
            assert set(single.get_many(KEYS)) == set(keys_on(mc, address))


def test_a_stopped_server_costs_only_its_own_keys_within_the_timeout(five):
    mc = fastmc.Client(five.addresses, distribution="ketama", timeout=0.3)
    mc.set_many({key: value_of(key) for key in KEYS})
    stopped = five.servers[2]
    stopped_keys = set(keys_on(mc, stopped.address))
    stopped.pause()
    try:
        started = time.monotonic()
        found = mc.get_many(KEYS)
        elapsed = time.monotonic() - started
    finally:
        stopped.resume()
    assert elapsed < 0.3 + MARGIN
    assert set(found) == set(KEYS) - stopped_keys
    assert_values_are_their_own(found)


def test_a_killed_server_then_restarted_never_yields_a_wrong_value_and_recovers(five):
    mc = fastmc.Client(five.addresses, distribution="ketama", timeout=0.5, retry_timeout=0.5)
    mc.set_many({key: value_of(key) for key in KEYS})
    victim = five.servers[1]
    victim_keys = set(keys_on(mc, victim.address))
    victim.kill()
    for _ in range(4):  # past failure_limit: then its keys fail fast
        found = mc.get_many(KEYS)
        assert set(found) == set(KEYS) - victim_keys
        assert_values_are_their_own(found)
    key = next(iter(victim_keys))
    started = time.monotonic()
    with pytest.raises(fastmc.ConnectionError) as raised:
        mc.get(key)
    assert raised.value.cause == "server_down"
    assert time.monotonic() - started < 0.05
    victim.restart()
    time.sleep(0.6)  # retry_timeout
    assert mc.get(key) is None  # back, with a cold cache: a miss
    assert mc.set(key, value_of(key))
    assert mc.get(key) == value_of(key)


def test_set_many_reports_the_keys_of_a_down_server_as_not_stored(five):
    mc = fastmc.Client(five.addresses, distribution="ketama", timeout=0.3)
    victim = five.servers[3]
    victim_keys = set(keys_on(mc, victim.address))
    victim.kill()
    failed = mc.set_many({key: value_of(key) for key in KEYS})
    assert set(failed) == victim_keys
    found = mc.get_many(KEYS)
    assert set(found) == set(KEYS) - victim_keys


def test_failover_sends_a_down_servers_keys_to_the_next_live_one_and_back(five):
    mc = fastmc.Client(
        five.addresses,
        distribution="libmc",
        dead_server_policy="failover",
        timeout=0.3,
        retry_timeout=0.5,
    )
    victim = five.servers[0]
    victim_keys = keys_on(mc, victim.address)
    victim.kill()
    for _ in range(3):
        mc.set_many({key: value_of(key) for key in KEYS})
    # Every key is now stored, the victim's on other servers.
    found = mc.get_many(KEYS)
    assert set(found) == set(KEYS)
    assert_values_are_their_own(found)
    victim.restart()
    time.sleep(0.6)
    assert mc.get(victim_keys[0]) is None  # home again, cold
    assert mc.server_for_key(victim_keys[0]) == victim.address


def test_auto_eject_rebuilds_the_placement_and_moves_only_the_down_servers_keys(five):
    mc = fastmc.Client(
        five.addresses,
        distribution="ketama",
        dead_server_policy="auto_eject",
        timeout=0.3,
        retry_timeout=5.0,
    )
    mc.set_many({key: value_of(key) for key in KEYS})
    victim = five.servers[4]
    victim_keys = set(keys_on(mc, victim.address))
    victim.kill()
    for _ in range(3):
        mc.set_many({key: value_of(key) for key in KEYS})
    found = mc.get_many(KEYS)
    assert set(found) == set(KEYS)
    assert_values_are_their_own(found)
    # Keys of live servers stayed where they were: only the victim's moved.
    for address in five.addresses[:4]:
        with fastmc.Client(address) as single:
            here = set(single.get_many(KEYS))
        assert set(keys_on(mc, address)) <= here
        assert here - set(keys_on(mc, address)) <= victim_keys


def test_miss_on_error_turns_failures_into_misses_for_reads_only(five):
    mc = fastmc.Client(five.addresses, distribution="ketama", timeout=0.2, miss_on_error=True)
    victim = five.servers[0]
    key = keys_on(mc, victim.address)[0]
    mc.set(key, value_of(key))
    victim.pause()
    try:
        assert mc.get(key) is None
        assert mc.get_many([key]) == {}
        # Two failed reads took the server down: the write fails fast.
        with pytest.raises(fastmc.ConnectionError) as raised:
            mc.set(key, value_of(key))
        assert raised.value.cause == "server_down"
    finally:
        victim.resume()


def test_get_many_fails_only_when_no_server_answered(five):
    mc = fastmc.Client(five.addresses[:2], timeout=0.2)
    for server in five.servers[:2]:
        server.kill()
    with pytest.raises(fastmc.ConnectionError):
        mc.get_many(KEYS)


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="dead_server_policy"):
        fastmc.Client("127.0.0.1:11211", dead_server_policy="pray")


def test_changing_the_server_list_moves_only_the_keys_it_must(five):
    addresses = five.addresses
    mc = fastmc.Client(addresses[:4], distribution="ketama")
    before = {key: mc.server_for_key(key) for key in KEYS}
    assert mc.set_many({key: value_of(key) for key in KEYS}) == []

    mc.set_servers(addresses)  # one added
    after = {key: mc.server_for_key(key) for key in KEYS}
    moved = [key for key in KEYS if after[key] != before[key]]
    assert all(after[key] == addresses[4] for key in moved)
    assert 0 < len(moved) < len(KEYS) / 3
    found = mc.get_many(KEYS)
    assert set(found) == set(KEYS) - set(moved)  # the moved ones are cold on the new server
    assert_values_are_their_own(found)

    mc.set_servers(addresses[1:])  # the first removed
    final = {key: mc.server_for_key(key) for key in KEYS}
    assert all(final[key] == after[key] for key in KEYS if after[key] != addresses[0])
    assert mc.servers == addresses[1:]


def test_a_bad_server_list_changes_nothing(five):
    mc = fastmc.Client(five.addresses)
    with pytest.raises(ValueError, match="99999"):
        mc.set_servers([five.addresses[0], "host:99999"])
    assert mc.servers == five.addresses


def test_calls_in_flight_survive_a_server_list_change(five):
    import threading

    mc = fastmc.Client(five.addresses, distribution="ketama", timeout=2.0)
    mc.set_many({key: value_of(key) for key in KEYS})
    stop = threading.Event()
    wrong = []
    errors = []

    def read() -> None:
        while not stop.is_set():
            try:
                found = mc.get_many(KEYS[:50])
                wrong.extend(k for k, v in found.items() if v != value_of(k))
            except fastmc.Error as error:  # pragma: no cover - asserted below
                errors.append(error)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for i in range(50):
        mc.set_servers(five.addresses[: 3 + i % 3])
    stop.set()
    for reader in readers:
        reader.join()
    assert wrong == []
    assert errors == []
