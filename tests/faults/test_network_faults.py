# SPDX-License-Identifier: MIT
"""Network faults from the kernel itself, inside a namespace each test makes.

faults.md rows N1-N6, N9, N12, N13: memcached and the client
(namespace_driver.py, a fastmc.Client driven over a pipe) run in a fresh
network namespace with only its loopback (N6: the client in a second
namespace joined by a veth pair), and iptables rules, ``ss -K``, a link set
down or a tbf shaper there drop, reject, reset or slow the traffic. Nothing
is added to the machine's own namespace, and nothing can leave the box.

Needs root, ``ip``/``tc``/``ss`` (iproute2) and ``iptables``; without them, or
where namespaces cannot be created (an unprivileged container), the tests
are skipped with the reason. The user-space versions of the blackhole and
the reset (test_proxy_faults.py) run everywhere. Elapsed times are measured
inside the driver around the call only; every call must end within its
deadline plus MARGIN.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TIMEOUT = 0.3
MARGIN = 0.06
PORT = 11211
DRIVER = Path(__file__).with_name("namespace_driver.py")
_names = itertools.count()


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces and iptables need root"
    for tool in ("ip", "iptables", "ss", "tc", "memcached"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (tools/install-deps.sh installs it)"
    return None


def _run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


class Driver:
    """The client process inside the namespace; see namespace_driver.py."""

    def __init__(self, namespace: str) -> None:
        self._process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, **request: object) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()

    def receive(self, timeout: float = 10.0) -> dict:
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], timeout)
        assert ready, f"the driver gave no answer within {timeout} s"
        line = self._process.stdout.readline()
        assert line, "the driver exited"
        return json.loads(line)

    def client(self, servers: list[str], **options: object) -> None:
        self.send(op="client", servers=servers, options=options)
        assert self.receive() == {"ok": True}

    def call(self, method: str, *args: object) -> dict:
        self.send(op="call", method=method, args=list(args))
        return self.receive()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.send(op="exit")
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class NamespaceUnavailable(RuntimeError):
    """This machine does not let us create a network namespace (e.g. a container)."""


class Namespace:
    """A network namespace with its loopback up and one memcached listening in it."""

    def __init__(self) -> None:
        self.name = f"fmc-faults-{os.getpid()}-{next(_names)}"
        self.address = f"127.0.0.1:{PORT}"
        self._memcached: subprocess.Popen[bytes] | None = None
        self._listen = "127.0.0.1"
        self._drivers: list[Driver] = []
        self._peers: list[str] = []
        try:
            _run("ip", "netns", "add", self.name)
        except RuntimeError as error:
            raise NamespaceUnavailable(str(error)) from None
        try:
            self.run("ip", "link", "set", "lo", "up")
            self.start_memcached()
        except BaseException:
            self.close()
            raise

    def run(self, *command: str) -> str:
        return _run("ip", "netns", "exec", self.name, *command)

    def start_memcached(self) -> None:
        # `ip netns exec` execs the command itself, so the pid is memcached's.
        self._memcached = subprocess.Popen(
            [
                *("ip", "netns", "exec", self.name),
                *("memcached", "-u", "root", "-U", "0", "-m", "16", "-t", "2"),
                *("-l", self._listen, "-p", str(PORT)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while f":{PORT}" not in self.run("ss", "-Hltn", f"sport = :{PORT}"):
            assert self._memcached.poll() is None, "memcached exited in the namespace"
            assert time.monotonic() < deadline, "memcached did not listen in the namespace"
            time.sleep(0.02)

    def kill_memcached(self) -> None:
        if self._memcached is not None and self._memcached.poll() is None:
            self._memcached.kill()
            self._memcached.wait()
        self._memcached = None

    def iptables(self, *rule: str) -> None:
        self.run("iptables", "-w", *rule)

    def driver(self, namespace: str | None = None) -> Driver:
        """A client process in this namespace (or in ``namespace``, a linked one)."""
        driver = Driver(namespace or self.name)
        self._drivers.append(driver)
        return driver

    def link_client_namespace(self) -> tuple[str, str]:
        """A second namespace joined to this one by a veth pair (``veth-s`` here,
        ``veth-c`` there); memcached then listens on this end too.

        Returns the new namespace's name and memcached's address from it.
        """
        peer = f"{self.name}-c"
        _run("ip", "netns", "add", peer)
        self._peers.append(peer)
        _run(
            "ip",
            "-n",
            self.name,
            "link",
            "add",
            "veth-s",
            "type",
            "veth",
            "peer",
            "name",
            "veth-c",
            "netns",
            peer,
        )
        for namespace, device, address in (
            (self.name, "veth-s", "10.201.0.1/30"),
            (peer, "veth-c", "10.201.0.2/30"),
        ):
            _run("ip", "-n", namespace, "addr", "add", address, "dev", device)
            _run("ip", "-n", namespace, "link", "set", device, "up")
            _run("ip", "-n", namespace, "link", "set", "lo", "up")
        self.kill_memcached()
        self._listen = "127.0.0.1,10.201.0.1"
        self.start_memcached()
        return peer, f"10.201.0.1:{PORT}"

    def close(self) -> None:
        for driver in self._drivers:
            driver.close()
        self.kill_memcached()
        # Anything else still running in the namespace was started by this test.
        with contextlib.suppress(RuntimeError):
            for pid in _run("ip", "netns", "pids", self.name).split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
        for name in [*self._peers, self.name]:
            with contextlib.suppress(RuntimeError):
                _run("ip", "netns", "del", name)


@pytest.fixture
def namespace() -> Iterator[Namespace]:
    reason = _unavailable()
    if reason is not None:
        pytest.skip(reason)
    try:
        created = Namespace()
    except NamespaceUnavailable as error:
        pytest.skip(f"cannot create a network namespace here: {error}")
    try:
        yield created
    finally:
        created.close()


def client_in(namespace: Namespace, **options: object) -> Driver:
    """A driver whose client talks to the namespace's memcached, with a and b stored."""
    driver = namespace.driver()
    settings = {"timeout": TIMEOUT, "connect_timeout": TIMEOUT, "failure_limit": 100}
    driver.client([namespace.address], **(settings | options))
    for key in ("a", "b"):
        assert driver.call("set", key, key * 2)["ok"]
    assert driver.call("get", "a")["value"] == "'aa'"
    return driver


def assert_error(answer: dict, error: str, deadline: float) -> None:
    assert not answer["ok"] and answer["error"] == error, answer
    assert answer["elapsed"] < deadline + MARGIN, answer


def test_n2_a_connect_into_a_blackhole_times_out_at_the_connect_timeout(namespace, fault_matrix):
    namespace.iptables("-A", "INPUT", "-p", "tcp", "--dport", str(PORT), "-j", "DROP")
    driver = namespace.driver()
    driver.client([namespace.address], timeout=1.0, connect_timeout=TIMEOUT, failure_limit=100)
    answer = driver.call("get", "a")
    assert_error(answer, "TimeoutError", TIMEOUT)
    assert answer["cause"] == "connect_timeout"
    assert answer["elapsed"] >= TIMEOUT
    namespace.iptables("-D", "INPUT", "-p", "tcp", "--dport", str(PORT), "-j", "DROP")
    assert driver.call("set", "a", "aa")["ok"]
    assert driver.call("get", "a")["value"] == "'aa'"
    fault_matrix.record(
        "N2",
        "SYN blackhole (netns iptables DROP before connect)",
        expected="TimeoutError(connect_timeout) at connect_timeout; recovery once the rule goes",
        observed="TimeoutError(connect_timeout); recovered, own value",
        worst=answer["elapsed"],
        deadline=TIMEOUT,
    )


@pytest.mark.parametrize("direction", ["--dport", "--sport"], ids=["requests", "replies"])
def test_n3_an_established_connection_blackholed_times_out_and_is_never_reused(
    namespace, fault_matrix, direction
):
    # Dropping the requests or the replies: either way the reply arrives late
    # (TCP retransmits once the rule goes); a kept connection would read a's
    # value as b's.
    driver = client_in(namespace)
    rule = ("INPUT", "-p", "tcp", direction, str(PORT), "-j", "DROP")
    namespace.iptables("-A", *rule)
    answer = driver.call("get", "a")
    assert_error(answer, "TimeoutError", TIMEOUT)
    assert answer["cause"] == "timed_out"
    namespace.iptables("-D", *rule)
    time.sleep(0.3)  # retransmission: the late reply would arrive meanwhile
    after = driver.call("get", "b")
    assert after["value"] == "'bb'", after
    fault_matrix.record(
        "N3",
        f"established connection blackholed ({direction[2:]} dropped, netns iptables DROP)",
        expected="TimeoutError(timed_out) at the deadline; next call its own value",
        observed=f"TimeoutError(timed_out); next get b -> {after['value']}",
        worst=answer["elapsed"],
        deadline=TIMEOUT,
    )


def test_n4_a_reset_established_connection_fails_at_once_and_recovers(namespace, fault_matrix):
    driver = client_in(namespace)
    rule = ("INPUT", "-p", "tcp", "--dport", str(PORT))
    rule += ("-j", "REJECT", "--reject-with", "tcp-reset")
    namespace.iptables("-A", *rule)
    answer = driver.call("get", "a")
    assert_error(answer, "ConnectionError", 0.05)
    namespace.iptables("-D", *rule)
    after = driver.call("get", "b")
    assert after["value"] == "'bb'", after
    fault_matrix.record(
        "N4",
        "RST on an established connection (netns REJECT --reject-with tcp-reset)",
        expected="ConnectionError at once; next call its own value",
        observed=f"ConnectionError({answer['cause']}); next get b -> {after['value']}",
        worst=answer["elapsed"],
        deadline=0.05,
    )


def test_n4_a_connection_killed_with_ss_mid_request_fails_at_once(namespace, fault_matrix):
    # The replies are dropped so the incr is in flight (and applied) when
    # ss -K kills the client's socket (ECONNABORTED). An incr is never resent,
    # so the error comes at once and the counter moved exactly once. (A get
    # would be resent on a fresh connection, whose handshake the rule drops:
    # a connect timeout within the same deadline.)
    driver = client_in(namespace)
    assert driver.call("set", "n", "1")["ok"]
    rule = ("INPUT", "-p", "tcp", "--sport", str(PORT), "-j", "DROP")
    namespace.iptables("-A", *rule)
    driver.send(op="call", method="incr", args=["n", 1])
    time.sleep(0.1)
    namespace.run("ss", "-K", "-tn", "dst", "127.0.0.1", "dport", "=", str(PORT))
    answer = driver.receive()
    namespace.iptables("-D", *rule)
    assert not answer["ok"] and answer["error"] == "ConnectionError", answer
    # Killed about 0.1 s in: well before the 0.3 s deadline.
    assert answer["elapsed"] < 0.1 + MARGIN, answer
    after = driver.call("get", "n")
    assert after["value"] == "'2'", after
    fault_matrix.record(
        "N4",
        "socket killed mid-request (ss -K in the netns, replies dropped), an incr",
        expected="ConnectionError at once (not at the deadline), never resent; "
        "next call its own value",
        observed=f"ConnectionError({answer['cause']}) on the kill; counter moved once "
        f"(get n -> {after['value']})",
        worst=answer["elapsed"],
        deadline=TIMEOUT,
    )


def test_n4_an_idle_pooled_connection_killed_with_ss_costs_a_read_nothing(namespace, fault_matrix):
    driver = client_in(namespace)
    namespace.run("ss", "-K", "-tn", "dst", "127.0.0.1", "dport", "=", str(PORT))
    read = driver.call("get", "a")
    assert read["value"] == "'aa'", read  # resent once on a fresh connection
    namespace.run("ss", "-K", "-tn", "dst", "127.0.0.1", "dport", "=", str(PORT))
    write = driver.call("incr", "n", 1)
    # The pool sees the killed connection when it is taken (a peek after
    # 1 ms idle), before anything is sent on it: the incr goes out once, on a
    # fresh connection (n is missing: None). An incr the server may have
    # applied is never resent: tests/faults/test_connection_faults.py.
    assert write["ok"] and write["value"] == "None", write
    fault_matrix.record(
        "N9",
        "idle pooled connection killed (ss -K), then a read and an incr",
        expected="the dead connection is replaced before the request is sent: both calls "
        "succeed, each sent once",
        observed=f"get a -> {read['value']}; incr -> {write['value']}",
        worst=max(read["elapsed"], write["elapsed"]),
        deadline=TIMEOUT,
    )


def test_n5_an_icmp_rejected_flow_times_out_and_new_connects_are_refused(namespace, fault_matrix):
    driver = client_in(namespace)
    rule = ("INPUT", "-p", "tcp", "--dport", str(PORT), "-j", "REJECT")
    namespace.iptables("-A", *rule)
    established = driver.call("get", "a")
    assert_error(established, "TimeoutError", TIMEOUT)
    fresh = namespace.driver()
    fresh.client([namespace.address], timeout=TIMEOUT, connect_timeout=TIMEOUT)
    refused = fresh.call("get", "a")
    assert_error(refused, "ConnectionError", 0.05)
    assert refused["cause"] == "connect_failed"
    namespace.iptables("-D", *rule)
    after = driver.call("get", "b")
    assert after["value"] == "'bb'", after
    fault_matrix.record(
        "N5",
        "ICMP-rejected flow (netns REJECT icmp-port-unreachable)",
        expected="established: TimeoutError at the deadline; new connect: ConnectionError "
        "at once; then its own value",
        observed=f"TimeoutError({established['cause']}); "
        f"ConnectionError({refused['cause']}); get b -> {after['value']}",
        worst=max(established["elapsed"], refused["elapsed"]),
        deadline=TIMEOUT,
    )


def test_n12_random_packet_loss_never_yields_a_wrong_value(namespace, fault_matrix):
    driver = client_in(namespace)
    keys = [f"loss:{i}" for i in range(20)]
    for key in keys:
        assert driver.call("set", key, f"{key}|value")["ok"]
    rule = ("INPUT", "-p", "tcp", "--dport", str(PORT))
    rule += ("-m", "statistic", "--mode", "random", "--probability", "0.3", "-j", "DROP")
    namespace.iptables("-A", *rule)
    answers = [driver.call("get", key) for key in keys * 2]
    namespace.iptables("-D", *rule)
    hits = [answer for answer in answers if answer["ok"]]
    failures = [answer for answer in answers if not answer["ok"]]
    for key, answer in zip(keys * 2, answers, strict=True):
        if answer["ok"]:
            assert answer["value"] == repr(f"{key}|value"), (key, answer)
        else:
            assert answer["error"] in ("TimeoutError", "ConnectionError"), answer
    worst = max(answer["elapsed"] for answer in answers)
    assert worst < TIMEOUT + MARGIN
    fault_matrix.record(
        "N12",
        "30 % random packet loss (netns iptables statistic DROP), 40 gets",
        expected="each get its own value or a timeout, never a wrong value; none past the deadline",
        observed=f"{len(hits)} own values, {len(failures)} timeouts, 0 wrong",
        worst=worst,
        deadline=TIMEOUT,
    )


def test_n1_a_server_killed_and_restarted_in_the_namespace_is_a_cold_cache(namespace, fault_matrix):
    driver = client_in(namespace)
    namespace.kill_memcached()
    down = driver.call("get", "a")
    assert_error(down, "ConnectionError", 0.05)
    namespace.start_memcached()
    back = driver.call("get", "a")
    assert back == {"ok": True, "value": "None", "elapsed": back["elapsed"]}
    fault_matrix.record(
        "N1",
        "server killed (port closed), then restarted on the same port",
        expected="ConnectionError at once; after the restart a miss (cold cache)",
        observed=f"ConnectionError({down['cause']}); then get a -> {back['value']}",
        worst=down["elapsed"],
        deadline=0.05,
    )


def test_n6_a_link_gone_down_times_out_and_recovers_when_it_comes_back(namespace, fault_matrix):
    client_namespace, address = namespace.link_client_namespace()
    settings = {"timeout": TIMEOUT, "connect_timeout": TIMEOUT, "failure_limit": 100}
    driver = namespace.driver(client_namespace)
    driver.client([address], **settings)
    assert driver.call("set", "a", "aa")["ok"] and driver.call("set", "b", "bb")["ok"]
    namespace.run("ip", "link", "set", "veth-s", "down")
    established = driver.call("get", "a")
    assert_error(established, "TimeoutError", TIMEOUT)
    fresh = namespace.driver(client_namespace)
    fresh.client([address], **settings)
    connect = fresh.call("get", "a")
    # Unreachable: a refused route or a connect that never completes, never longer.
    assert not connect["ok"] and connect["elapsed"] < TIMEOUT + MARGIN, connect
    namespace.run("ip", "link", "set", "veth-s", "up")
    started = time.monotonic()
    while not (after := driver.call("get", "b"))["ok"]:
        assert time.monotonic() - started < 5.0, after
    assert after["value"] == "'bb'", after
    recovered = time.monotonic() - started
    fault_matrix.record(
        "N6",
        "veth link to the server's namespace set down, then up",
        expected="established: TimeoutError at the deadline; new connect: a typed error "
        "by the connect deadline; recovery once the link is up",
        observed=f"{established['error']}({established['cause']}); "
        f"{connect['error']}({connect['cause']}); get b -> {after['value']} "
        f"{recovered:.2f} s after link up",
        worst=max(established["elapsed"], connect["elapsed"]),
        deadline=TIMEOUT,
    )


def test_n13_a_large_value_over_a_slow_link_times_out_whole_or_not_at_all(namespace, fault_matrix):
    # tbf at 1 Mbit/s on the namespace's loopback (MTU 1500 so that a packet
    # fits the burst): a 500 KB value takes about 4 s each way.
    driver = client_in(namespace, timeout=1.0)
    big = "x" * 500_000
    assert driver.call("set", "big", big)["ok"]
    assert driver.call("set", "old", "old")["ok"]
    namespace.run("ip", "link", "set", "lo", "mtu", "1500")
    shaper = ("root", "tbf", "rate", "1mbit", "burst", "10kb", "latency", "5s")
    namespace.run("tc", "qdisc", "add", "dev", "lo", *shaper)
    # The set first, on the established connection: it is cut off mid-value.
    write = driver.call("set", "old", big)
    read = driver.call("get", "big")
    namespace.run("tc", "qdisc", "del", "dev", "lo", "root")
    assert_error(read, "TimeoutError", 1.0)
    assert_error(write, "TimeoutError", 1.0)
    # The set was reported as failed; whether the server applies it is not
    # the client's to decide once bytes have left the host: what is already
    # queued past the socket (here in the shaper, on a network in flight)
    # still arrives. The client resets the failed connection, so nothing it
    # still held unsent follows (closed gracefully, the kernel would deliver
    # the rest of the value and memcached would store it). Time for what
    # was in flight to land; the item is then the old value or the whole new
    # one, never a part of it.
    time.sleep(0.5)
    after = driver.call("get", "old")
    assert after["ok"] and after["value"] in ("'old'", repr(big)), after
    fault_matrix.record(
        "N13",
        "500 KB get and set through a 1 Mbit/s tbf (netns loopback), deadline 1 s",
        expected="TimeoutError, no partial value; the cut-off set is reset, the item old or whole",
        observed=f"get {read['error']}({read['cause']}); set {write['error']}"
        f"({write['cause']}); get old -> "
        f"{after['value'] if after['value'] == repr('old') else 'the whole new value'}",
        worst=max(read["elapsed"], write["elapsed"]),
        deadline=1.0,
    )


def test_the_namespace_leaves_nothing_behind():
    # Runs after the tests above in file order: no namespace of ours is left.
    reason = _unavailable()
    if reason is not None:
        pytest.skip(reason)
    left = [
        name
        for name in _run("ip", "netns", "list").split()
        if name.startswith(f"fmc-faults-{os.getpid()}-")
    ]
    assert left == []
