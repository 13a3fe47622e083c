# SPDX-License-Identifier: MIT
"""fastmc.Client against real memcached servers: every command, every error path."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

import fastmc
from fastmc.serde import json_serde, pickle_serde


@pytest.fixture
def mc(memcached):
    with fastmc.Client(memcached.address, timeout=1.0) as client:
        yield client


def test_set_then_get_round_trips_every_native_type(mc):
    values = {
        "bytes": b"\x00\xffbinary\r\nEND\r\n",
        "empty": b"",
        "text": "héllo wörld",
        "int": -42,
        "zero": 0,
        "large_int": 2**100,
        "negative_large_int": -(2**80),
        "true": True,
        "false": False,
    }
    for key, value in values.items():
        assert mc.set(key, value) is True
    for key, value in values.items():
        got = mc.get(key)
        assert got == value and type(got) is type(value), key
    assert mc.get_many(list(values)) == values


def test_a_miss_returns_the_default(mc):
    assert mc.get("missing") is None
    assert mc.get("missing", "fallback") == "fallback"
    assert mc.gets("missing") == (None, None)
    assert mc.gat("missing", 10, default=0) == 0
    assert mc.get_many(["missing"]) == {}


def test_str_and_bytes_keys_name_the_same_item(mc):
    mc.set("key", b"v")
    assert mc.get(b"key") == b"v"
    assert mc.get_many([b"key", "key"]) == {b"key": b"v", "key": b"v"}


def test_non_ascii_str_keys_are_utf8(mc):
    mc.set("ключ", b"value")
    assert mc.get("ключ".encode()) == b"value"


def test_conditional_stores_report_whether_they_stored(mc):
    assert mc.replace("k", b"v") is False
    assert mc.append("k", b"v") is False
    assert mc.prepend("k", b"v") is False
    assert mc.add("k", b"b") is True
    assert mc.add("k", b"x") is False
    assert mc.append("k", b"c") is True
    assert mc.prepend("k", b"a") is True
    assert mc.get("k") == b"abc"
    assert mc.replace("k", b"z") is True
    assert mc.get("k") == b"z"


def test_cas_stores_only_when_the_item_is_unchanged(mc):
    mc.set("k", b"1")
    value, cas = mc.gets("k")
    assert value == b"1" and isinstance(cas, int) and cas > 0
    assert mc.cas("k", b"2", cas) is True
    assert mc.cas("k", b"3", cas) is False
    assert mc.cas("gone", b"3", cas) is None
    assert mc.get("k") == b"2"


def test_gets_many_returns_values_with_cas(mc):
    mc.set_many({"a": b"1", "b": b"2"})
    result = mc.gets_many(["a", "b", "c"])
    assert set(result) == {"a", "b"}
    assert result["a"][0] == b"1" and result["a"][1] > 0


def test_arithmetic_follows_memcacheds_rules(mc):
    assert mc.incr("counter") is None
    mc.set("counter", 10)
    assert mc.incr("counter", 5) == 15
    assert mc.decr("counter", 100) == 0
    mc.set("counter", 2**64 - 1)
    assert mc.incr("counter") == 0
    assert mc.get("counter") == 0


def test_arithmetic_on_text_is_a_client_error_and_the_connection_stays_in_step(mc):
    mc.set("text", b"abc")
    with pytest.raises(fastmc.ClientError) as raised:
        mc.incr("text")
    assert "non-numeric" in str(raised.value)
    assert raised.value.server == mc.servers[0]
    assert mc.get("text") == b"abc"


def test_arithmetic_rejects_a_negative_delta(mc):
    with pytest.raises(fastmc.InvalidArgumentError):
        mc.incr("counter", -1)
    with pytest.raises(ValueError):
        mc.decr("counter", 2**64)


def test_delete_touch_and_gat(mc):
    mc.set("k", b"v", ttl=100)
    assert mc.touch("k", 200) is True
    assert mc.touch("missing", 200) is False
    assert mc.gat("k", 300) == b"v"
    value, cas = mc.gats("k", 300)
    assert value == b"v" and cas > 0
    assert mc.delete("k") is True
    assert mc.delete("k") is False


def test_ttl_expires_items(mc):
    mc.set("short", b"v", ttl=1)
    assert mc.get("short") == b"v"
    time.sleep(2.1)
    assert mc.get("short") is None


def test_set_many_returns_the_keys_not_stored(memcached_factory):
    server = memcached_factory(max_item_size="1m")
    mc = fastmc.Client(server.address)
    failed = mc.set_many({"a": b"1", "big": b"x" * (2 * 1024 * 1024), "c": "3"})
    assert failed == ["big"]
    assert mc.get_many(["a", "big", "c"]) == {"a": b"1", "c": "3"}


def test_set_many_and_get_many_of_many_keys(mc):
    items = {f"key:{i}": f"value:{i}".encode() * (i % 7) for i in range(500)}
    assert mc.set_many(items, ttl=100) == []
    assert mc.get_many([*items, "absent"]) == items
    assert mc.delete_many([*list(items)[:100], "absent"]) == 100


def test_large_values_round_trip(memcached_factory):
    server = memcached_factory(max_item_size="2m")
    mc = fastmc.Client(server.address)
    for size in (100 * 1024, 900 * 1024):
        value = os.urandom(size)
        assert mc.set("large", value)
        assert mc.get("large") == value


def test_value_above_the_item_size_is_value_too_large_and_the_connection_stays_usable(
    memcached_factory,
):
    server = memcached_factory(max_item_size="1m")
    mc = fastmc.Client(server.address)
    with pytest.raises(fastmc.ValueTooLargeError) as raised:
        mc.set("big", b"x" * (2 * 1024 * 1024))
    assert raised.value.server == server.address
    assert "too large" in str(raised.value)
    assert mc.set("small", b"ok")
    assert mc.get("small") == b"ok"


def test_value_above_max_value_size_is_refused_before_sending(mc):
    small = fastmc.Client(mc.servers[0], max_value_size=10)
    with pytest.raises(fastmc.ValueTooLargeError):
        small.set("k", b"x" * 11)
    assert small.get("k") is None


@pytest.mark.parametrize(
    "key",
    ["has space", "crlf\r\n", "lf\n", "nul\x00", "tab\t", "del\x7f", "", "k" * 251, b"\x01"],
)
def test_invalid_keys_raise_before_anything_is_sent(key):
    # Nothing listens on port 1: any attempt to send would be a ConnectionError.
    # With the meta protocol most of these are binary keys: see test_meta.py.
    mc = fastmc.Client("127.0.0.1:1", protocol="text")
    for call in (
        lambda: mc.get(key),
        lambda: mc.set(key, b"v"),
        lambda: mc.delete(key),
        lambda: mc.incr(key),
        lambda: mc.get_many(["fine", key]),
        lambda: mc.set_many({"fine": b"v", key: b"v"}),
    ):
        with pytest.raises(fastmc.InvalidKeyError) as raised:
            call()
        assert raised.value.cause == "invalid_key"
        assert isinstance(raised.value, ValueError)


def test_a_key_of_250_bytes_is_accepted(mc):
    key = "k" * 250
    mc.set(key, b"v")
    assert mc.get(key) == b"v"


def test_wrong_key_and_value_types_raise_type_error(mc):
    with pytest.raises(TypeError):
        mc.get(42)
    with pytest.raises(TypeError, match="serde"):
        mc.set("k", {"a": 1})


def test_serdes_store_other_objects(memcached):
    with fastmc.Client(memcached.address, serde=json_serde) as mc:
        mc.set("doc", {"a": [1, 2.5, None]})
        assert mc.get("doc") == {"a": [1, 2.5, None]}
        mc.set("plain", b"still bytes")
        assert mc.get("plain") == b"still bytes"
    with fastmc.Client(memcached.address, serde=pickle_serde) as mc:
        mc.set("obj", {1, 2, 3})
        assert mc.get("obj") == {1, 2, 3}


def test_pickled_values_are_not_unpickled_without_an_explicit_serde(memcached):
    with fastmc.Client(memcached.address, serde=pickle_serde) as writer:
        writer.set("obj", {1, 2})
    with fastmc.Client(memcached.address) as reader, pytest.raises(fastmc.DecodeError):
        reader.get("obj")


def test_stats_version_and_flush_all(mc):
    mc.set("k", b"v")
    stats = mc.stats()
    [(server, values)] = stats.items()
    assert server == mc.servers[0]
    assert values["curr_items"] == 1
    assert isinstance(values["rusage_user"], float)
    assert isinstance(values["version"], str)
    assert mc.stats("settings")[server]["maxbytes"] == 64 * 1024 * 1024
    [(server, version)] = mc.version().items()
    assert version.count(".") == 2
    mc.flush_all()
    assert mc.get("k") is None


def test_stats_arguments_are_checked(mc):
    with pytest.raises(fastmc.InvalidArgumentError):
        mc.stats("two words")


def test_a_stopped_server_times_out_and_the_next_call_gets_its_own_value(memcached):
    mc = fastmc.Client(memcached.address, timeout=0.3)
    mc.set("first", b"1")
    mc.set("second", b"2")
    memcached.pause()
    try:
        started = time.monotonic()
        with pytest.raises(fastmc.TimeoutError) as raised:
            mc.get("first")
        elapsed = time.monotonic() - started
    finally:
        memcached.resume()
    assert 0.3 <= elapsed < 0.4
    assert raised.value.cause == "timed_out"
    assert raised.value.server == memcached.address
    assert isinstance(raised.value, TimeoutError)
    # The late reply for "first" is never taken for the answer to "second".
    assert mc.get("second") == b"2"
    assert mc.get("first") == b"1"


def test_a_killed_server_is_a_connection_error_and_a_restart_recovers(memcached):
    mc = fastmc.Client(memcached.address, timeout=0.5)
    mc.set("k", b"v")
    memcached.kill()
    with pytest.raises(fastmc.ConnectionError) as raised:
        mc.get("k")
    assert isinstance(raised.value, ConnectionError)
    assert raised.value.server == memcached.address
    memcached.restart()
    assert mc.get("k") is None  # a cold cache: a miss, not an error
    assert mc.set("k", b"again")
    assert mc.get("k") == b"again"


def test_the_first_read_after_a_restart_succeeds(memcached):
    mc = fastmc.Client(memcached.address)
    mc.set("k", b"v")
    memcached.restart()
    assert mc.get("k") is None


def test_connect_timeout_bounds_a_connect_to_a_blackhole():
    # A listening socket whose backlog is full never completes new handshakes.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        mc = fastmc.Client(f"127.0.0.1:{port}", connect_timeout=0.2, timeout=2.0)
        started = time.monotonic()
        with pytest.raises(fastmc.TimeoutError) as raised:
            mc.get("k")
        assert time.monotonic() - started < 0.35
        assert raised.value.cause == "connect_timeout"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_unix_socket_servers(memcached_unix):
    mc = fastmc.Client(memcached_unix.address)
    mc.set("k", b"v")
    assert mc.get("k") == b"v"
    assert list(mc.version()) == [memcached_unix.path]


def test_ipv6_loopback(memcached_factory):
    if not socket.has_ipv6:
        pytest.fail("this machine has no IPv6; the test needs [::1]")
    server = memcached_factory(host="::1")
    mc = fastmc.Client(f"[::1]:{server.port}")
    mc.set("k", b"v6")
    assert mc.get("k") == b"v6"


def test_host_names_resolve(memcached):
    mc = fastmc.Client(f"localhost:{memcached.port}")
    mc.set("k", b"named")
    assert mc.get("k") == b"named"


def test_several_servers_spread_keys_and_answer_together(memcached_cluster):
    mc = fastmc.Client(memcached_cluster.addresses)
    items = {f"spread:{i}": i for i in range(300)}
    assert mc.set_many(items) == []
    assert mc.get_many(list(items)) == items
    counts = [values["curr_items"] for values in mc.stats().values()]
    assert sum(counts) == 300 and all(count > 0 for count in counts)


def test_eight_threads_sharing_one_client_never_see_another_keys_value(memcached):
    mc = fastmc.Client(memcached.address, timeout=2.0)
    mismatches = []
    errors = []

    def work(thread: int) -> None:
        for i in range(300):
            key = f"t{thread}:{i % 25}"
            value = f"{key}|{i}".encode()
            try:
                mc.set(key, value)
                got = mc.get(key)
                if not got.startswith(key.encode() + b"|"):
                    mismatches.append((key, got))
                many = mc.get_many([key, "t0:0", "t7:24"])
                for other_key, other_value in many.items():
                    if not other_value.startswith(other_key.encode() + b"|"):
                        mismatches.append((other_key, other_value))
            except fastmc.Error as error:  # pragma: no cover - reported below
                errors.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert mismatches == []
    assert errors == []


def test_the_gil_is_released_while_waiting(memcached_factory):
    stopped = memcached_factory()
    healthy = memcached_factory()
    blocked = fastmc.Client(stopped.address, timeout=1.0)
    working = fastmc.Client(healthy.address)
    blocked.set("k", b"v")
    stopped.pause()
    outcomes = []

    def wait_on_the_stopped_server() -> None:
        try:
            blocked.get("k")
        except fastmc.TimeoutError as error:
            outcomes.append(error)

    waiter = threading.Thread(target=wait_on_the_stopped_server)
    try:
        waiter.start()
        time.sleep(0.05)
        started = time.monotonic()
        for i in range(200):
            working.set(f"k{i}", b"v")
        assert time.monotonic() - started < 0.5
        waiter.join()
    finally:
        stopped.resume()
    assert len(outcomes) == 1


def test_a_forked_child_uses_fresh_connections(memcached):
    mc = fastmc.Client(memcached.address)
    mc.set("k", b"parent")
    pid = os.fork()
    if pid == 0:
        try:
            ok = mc.get("k") == b"parent" and mc.set("child", b"c") and mc.get("child") == b"c"
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert mc.get("child") == b"c"
    assert mc.get("k") == b"parent"


def test_bad_server_strings_raise_value_error():
    with pytest.raises(ValueError, match="99999"):
        fastmc.Client("host:99999")
    with pytest.raises(ValueError):
        fastmc.Client([])


def test_timeouts_must_be_non_negative():
    with pytest.raises(ValueError):
        fastmc.Client("127.0.0.1:11211", timeout=-1)


def test_close_keeps_the_client_usable(mc):
    mc.set("k", b"v")
    mc.close()
    assert mc.get("k") == b"v"


def test_client_can_be_subclassed(memcached):
    class Recording(fastmc.Client):
        def get(self, key, default=None):
            return ("wrapped", super().get(key, default))

    mc = Recording(memcached.address)
    mc.set("k", b"v")
    assert mc.get("k") == ("wrapped", b"v")
    assert repr(mc).startswith("Recording(")


def test_stats_subcommands_with_other_reply_shapes(memcached):
    # memcached 1.6.18's per-prefix detail stats count text commands only.
    mc = fastmc.Client(memcached.address, protocol="text")
    mc.set("prefix:k", b"v")
    server = mc.servers[0]
    assert mc.stats("detail", "on") == {server: {}}
    mc.get("prefix:k")
    dump = mc.stats("detail", "dump")[server]
    assert dump["prefix"].startswith("get 1 hit 1")
    assert mc.stats("reset") == {server: {}}
    assert mc.stats()[server]["get_hits"] == 0
