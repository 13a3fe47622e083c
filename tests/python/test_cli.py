# SPDX-License-Identifier: MIT
"""Tests of the fastmc command line, run as ``python -m fastmc`` against real memcached."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fastmc import cli

CLI_TIMEOUT = 120


def run_cli(
    *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    environment = dict(os.environ)
    # Only the servers a test names: never a developer's FASTMC_SERVERS.
    environment.pop("FASTMC_SERVERS", None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "fastmc", *args],
        input=input if input is not None else b"",
        capture_output=True,
        timeout=CLI_TIMEOUT,
        env=environment,
    )


def fastmc(server, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """Runs the CLI against ``server`` given with --servers."""
    return run_cli("--servers", server.address, *args, input=input)


def talk(server, request: bytes, terminator: bytes = b"\r\n") -> bytes:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(request)
        reply = b""
        while not reply.endswith(terminator):
            chunk = sock.recv(65536)
            assert chunk
            reply += chunk
        return reply


def raw_get(server, key: str) -> bytes | None:
    """The stored bytes of ``key``, read with a raw text-protocol get; None on a miss."""
    reply = talk(server, f"get {key}\r\n".encode(), b"END\r\n")
    if reply == b"END\r\n":
        return None
    header, _, rest = reply.partition(b"\r\n")
    size = int(header.split()[3])
    return rest[:size]


def curr_items(server) -> int:
    reply = talk(server, b"stats\r\n", b"END\r\n")
    return int(re.search(rb"STAT curr_items (\d+)", reply).group(1))


def assert_one_line_error(result: subprocess.CompletedProcess[bytes], *fragments: str) -> str:
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


# -- get / set ---------------------------------------------------------------------------


def test_set_then_get_text(memcached):
    assert fastmc(memcached, "set", "greeting", "hello world").returncode == 0
    assert raw_get(memcached, "greeting") == b"hello world"
    result = fastmc(memcached, "get", "greeting")
    assert result.returncode == 0
    assert result.stdout == b"hello world\n"
    assert result.stderr == b""


def test_set_from_stdin_stores_bytes_and_get_writes_them_raw(memcached):
    value = bytes(range(256)) * 3
    assert fastmc(memcached, "set", "blob", "-", input=value).returncode == 0
    assert raw_get(memcached, "blob") == value
    result = fastmc(memcached, "get", "blob")
    assert result.returncode == 0
    assert result.stdout == value


def test_get_of_a_value_set_by_another_client_is_raw_bytes(memcached):
    talk(memcached, b"set k 0 0 3\r\na\r\n\r\n")
    assert fastmc(memcached, "get", "k").stdout == b"a\r\n"


def test_get_prints_other_types_as_repr(memcached):
    talk(memcached, b"set number 4 0 2\r\n42\r\n")  # flags 4: an int
    assert fastmc(memcached, "get", "number").stdout == b"42\n"


def test_get_miss_of_one_key_exits_1(memcached):
    result = fastmc(memcached, "get", "absent")
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"absent" in result.stderr


def test_get_of_several_keys_prints_the_hits(memcached):
    fastmc(memcached, "set", "a", "1")
    fastmc(memcached, "set", "c", "3")
    result = fastmc(memcached, "get", "a", "b", "c")
    assert result.returncode == 0
    assert result.stdout == b"a 1\nc 3\n"
    assert b"b: not found" in result.stderr


def test_set_ttl_reaches_the_server(memcached):
    assert fastmc(memcached, "set", "short", "x", "--ttl", "100").returncode == 0
    reply = talk(memcached, b"mg short t\r\n")
    ttl = int(re.match(rb"HD t(\d+)", reply).group(1))
    assert 0 < ttl <= 100


def test_servers_from_the_environment(memcached):
    result = run_cli("set", "via-env", "yes", env={"FASTMC_SERVERS": memcached.address})
    assert result.returncode == 0, result.stderr
    assert raw_get(memcached, "via-env") == b"yes"
    assert b"temporary memcached" not in result.stderr


# -- other commands ----------------------------------------------------------------------


def test_delete(memcached):
    fastmc(memcached, "set", "a", "1")
    assert fastmc(memcached, "delete", "a").returncode == 0
    assert raw_get(memcached, "a") is None
    result = fastmc(memcached, "delete", "a")
    assert result.returncode == 1
    assert b"a: not found" in result.stderr


def test_incr_and_decr(memcached):
    fastmc(memcached, "set", "n", "5")
    assert fastmc(memcached, "incr", "n").stdout == b"6\n"
    assert fastmc(memcached, "incr", "n", "10").stdout == b"16\n"
    assert fastmc(memcached, "decr", "n", "4").stdout == b"12\n"
    assert raw_get(memcached, "n") == b"12"
    result = fastmc(memcached, "incr", "missing")
    assert result.returncode == 1
    assert b"missing: not found" in result.stderr


def test_touch(memcached):
    fastmc(memcached, "set", "t", "x")
    assert fastmc(memcached, "touch", "t", "50").returncode == 0
    ttl = int(re.match(rb"HD t(\d+)", talk(memcached, b"mg t t\r\n")).group(1))
    assert 0 < ttl <= 50
    assert fastmc(memcached, "touch", "missing", "50").returncode == 1


def test_flush(memcached):
    fastmc(memcached, "set", "a", "1")
    assert fastmc(memcached, "flush").returncode == 0
    assert raw_get(memcached, "a") is None


def test_flush_with_delay_keeps_items_for_now(memcached):
    fastmc(memcached, "set", "a", "1")
    assert fastmc(memcached, "flush", "--delay", "100").returncode == 0
    assert raw_get(memcached, "a") == b"1"


def test_version(memcached):
    result = fastmc(memcached, "version")
    assert result.returncode == 0
    assert re.fullmatch(
        rf"{re.escape(memcached.address)} \d+\.\d+\.\d+\S*\n", result.stdout.decode()
    )


def test_stats(memcached):
    result = fastmc(memcached, "stats")
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert lines[0] == memcached.address
    assert re.search(rf"^\s+pid\s+{memcached.pid}$", result.stdout.decode(), re.MULTILINE)


def test_stats_with_arguments_and_json(memcached):
    result = fastmc(memcached, "stats", "settings", "--json")
    assert result.returncode == 0
    stats = json.loads(result.stdout)
    assert list(stats) == [memcached.address]
    assert stats[memcached.address]["maxbytes"] == 64 * 1024 * 1024


def test_without_servers_it_starts_its_own_memcached():
    result = run_cli("version")
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    match = re.search(r"started a temporary memcached at (\S+) \(pid (\d+)", stderr)
    assert match, stderr
    assert result.stdout.decode().startswith(match.group(1) + " ")
    # ... and stops it before exiting.
    assert not Path(f"/proc/{match.group(2)}").exists()


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "fastmc"
    assert script.exists(), f"pip install should have created {script}"
    result = subprocess.run([str(script), "--help"], capture_output=True, timeout=CLI_TIMEOUT)
    assert result.returncode == 0
    assert b"bench" in result.stdout


# -- errors ------------------------------------------------------------------------------


def test_unreachable_server_is_one_line_naming_server_and_cause():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    result = run_cli("--servers", address, "get", "k")
    line = assert_one_line_error(result, address, "connect")
    assert line.startswith("fastmc: error: ")


def test_stalled_server_times_out_with_a_one_line_error(memcached):
    memcached.pause()
    started = time.monotonic()
    result = fastmc(memcached, "--timeout", "0.3", "get", "k")
    elapsed = time.monotonic() - started
    memcached.resume()
    assert_one_line_error(result, memcached.address)
    assert "time" in result.stderr.decode()
    assert elapsed < 10


def test_invalid_key_is_one_line_naming_the_cause(memcached):
    # (A key with a space is a valid binary key under the meta protocol.)
    result = fastmc(memcached, "get", "k" * 251)
    assert_one_line_error(result, "invalid_key")


def test_bad_server_address_is_one_line(memcached):
    assert_one_line_error(run_cli("--servers", "host:notaport", "get", "k"), "notaport")


def test_usage_errors_exit_2():
    assert run_cli("incr", "k", "-5").returncode == 2
    result = run_cli("bench", "--workloads", "get_hit,nonsense")
    assert result.returncode == 2
    assert b"nonsense" in result.stderr


# -- connection options ------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["meta", "text", "binary"])
def test_each_protocol_round_trips(memcached, protocol):
    assert fastmc(memcached, "--protocol", protocol, "set", "proto:k", "v").returncode == 0
    result = fastmc(memcached, "--protocol", protocol, "get", "proto:k")
    assert (result.returncode, result.stdout) == (0, b"v\n")


def test_distribution_places_keys_as_the_client_does(memcached_cluster):
    addresses = ",".join(server.address for server in memcached_cluster.servers)
    for index in range(20):
        result = run_cli(
            "--servers", addresses, "--distribution", "ketama", "set", f"placed:{index}", "v"
        )
        assert result.returncode == 0, result.stderr.decode()
    import fastmc as native

    with native.Client([s.address for s in memcached_cluster.servers], distribution="ketama") as mc:
        for index in range(20):
            home = mc.server_for_key(f"placed:{index}")
            server = next(s for s in memcached_cluster.servers if s.address == home)
            assert raw_get(server, f"placed:{index}") == b"v"


def test_unknown_distribution_is_one_line(memcached):
    assert_one_line_error(fastmc(memcached, "--distribution", "nonsense", "get", "k"), "nonsense")


def test_tls_with_the_test_ca_verifies_and_round_trips(memcached_factory):
    from fastmc.testing import TestCertificates

    certificates = TestCertificates()
    server = memcached_factory(tls=certificates)
    tls = ("--tls", "--tls-ca-file", certificates.ca_file)
    address = f"localhost:{server.port}"
    assert run_cli("--servers", address, *tls, "set", "tls:k", "secret").returncode == 0
    result = run_cli("--servers", address, *tls, "get", "tls:k")
    assert (result.returncode, result.stdout) == (0, b"secret\n")
    # Without the CA the certificate is refused; --tls-no-verify accepts it.
    unverified = run_cli("--servers", address, "--tls", "get", "tls:k")
    assert_one_line_error(unverified, "certificate")
    insecure = run_cli("--servers", address, "--tls", "--tls-no-verify", "get", "tls:k")
    assert (insecure.returncode, insecure.stdout) == (0, b"secret\n")
    # Plain text to a TLS port is a clear error within the timeout, not a hang.
    plain = run_cli("--servers", address, "--timeout", "0.5", "get", "tls:k")
    assert plain.returncode == 2


def test_tls_options_need_tls(memcached):
    assert_one_line_error(fastmc(memcached, "--tls-no-verify", "get", "k"), "--tls")


def test_ascii_auth_from_flags_and_environment(memcached_factory):
    server = memcached_factory(auth={"alice": "wonderland"})
    stored = fastmc(server, "--username", "alice", "--password", "wonderland", "set", "a:k", "v")
    assert stored.returncode == 0, stored.stderr.decode()
    environment = {"FASTMC_USERNAME": "alice", "FASTMC_PASSWORD": "wonderland"}
    result = run_cli("--servers", server.address, "get", "a:k", env=environment)
    assert (result.returncode, result.stdout) == (0, b"v\n")
    refused = fastmc(server, "--username", "alice", "--password", "wrong", "get", "a:k")
    assert_one_line_error(refused, server.address)
    assert b"auth" in refused.stderr.lower()


def test_sasl_and_tls_together(memcached_factory):
    from fastmc.testing import TestCertificates

    certificates = TestCertificates()
    server = memcached_factory(tls=certificates, sasl_users={"bob": "b0b"})
    options = (
        "--servers", f"localhost:{server.port}", "--protocol", "binary",
        "--tls", "--tls-ca-file", certificates.ca_file, "--username", "bob", "--password", "b0b",
    )  # fmt: skip
    assert run_cli(*options, "set", "sasl:k", "v").returncode == 0
    result = run_cli(*options, "get", "sasl:k")
    assert (result.returncode, result.stdout) == (0, b"v\n")


# -- bench -------------------------------------------------------------------------------


def bench_json(server, *args: str) -> dict:
    result = fastmc(server, "bench", "--json", *args)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_bench_json_reports_each_workload(memcached):
    report = bench_json(memcached, "--duration", "0.2", "--workloads", "get_hit,set")
    assert report["servers"] == [memcached.address]
    assert report["started_server"] is False
    assert report["pinned_cpu"] is None  # pinning defaults off against given servers
    assert report["verified"] is True
    assert (report["value_size"], report["batch"], report["duration"]) == (100, 100, 0.2)
    assert [result["workload"] for result in report["results"]] == ["get_hit", "set"]
    for result in report["results"]:
        assert result["calls"] > 0
        assert result["keys"] == result["calls"]
        assert result["keys_per_sec"] is None
        assert 0.2 <= result["seconds"] < 5
        assert result["ops_per_sec"] == pytest.approx(result["calls"] / result["seconds"], 0.01)
        assert 0 < result["p50_us"] <= result["p99_us"]


def test_bench_cleans_up_its_keys_on_a_given_server(memcached):
    fastmc(memcached, "set", "user-key", "kept")
    bench_json(memcached, "--duration", "0.1", "--workloads", "set,get_hit,delete,set_many")
    assert curr_items(memcached) == 1
    assert raw_get(memcached, "user-key") == b"kept"


def test_bench_batch_workloads_report_keys_per_second(memcached):
    report = bench_json(
        memcached, "--duration", "0.2", "--batch", "10", "--workloads", "get_many,set_many"
    )
    for result in report["results"]:
        assert result["keys"] == 10 * result["calls"]
        assert result["keys_per_sec"] == pytest.approx(10 * result["ops_per_sec"], 0.01)


def test_bench_every_workload_runs_and_verifies(memcached):
    report = bench_json(memcached, "--duration", "0.1", "--value-size", "0")
    assert [result["workload"] for result in report["results"]] == list(cli.WORKLOADS)
    assert all(result["calls"] > 0 for result in report["results"])


def test_bench_large_values(memcached):
    report = bench_json(memcached, "--duration", "0.2", "--workloads", "large_set_get_900k")
    (result,) = report["results"]
    # A set and a get per round, both timed.
    assert result["calls"] >= 2
    assert result["calls"] % 2 == 0


def test_bench_table_and_progress_lines(memcached):
    result = fastmc(memcached, "bench", "--duration", "0.1", "--workloads", "incr,get_many")
    assert result.returncode == 0, result.stderr
    stdout = result.stdout.decode()
    header, *rows = stdout.splitlines()
    assert header.split() == ["workload", "ops/s", "keys/s", "p50", "µs", "p99", "µs"]
    assert [row.split()[0] for row in rows] == ["incr", "get_many"]
    assert rows[0].split()[2] == "-"
    # stderr is not a terminal here: one line per workload, no carriage returns.
    stderr = result.stderr.decode()
    assert "\r" not in stderr
    assert re.search(r"bench: incr: \d+ calls in", stderr)
    assert re.search(r"bench: get_many: \d+ calls in", stderr)


def test_bench_with_its_own_server_pins_by_default():
    result = run_cli("bench", "--json", "--duration", "0.1", "--workloads", "get_hit")
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert report["started_server"] is True
    assert report["pinned_cpu"] in os.sched_getaffinity(0)
    assert "pinned to CPU" in result.stderr.decode()
    result = run_cli("bench", "--json", "--no-pin", "--duration", "0.1", "--workloads", "set")
    assert json.loads(result.stdout)["pinned_cpu"] is None


# -- pieces of the CLI in process ------------------------------------------------------


def test_make_value_depends_on_key_and_size():
    assert len(cli.make_value("k", 100_000)) == 100_000
    assert cli.make_value("k", 0) == b""
    assert cli.make_value("key:1", 50) != cli.make_value("key:2", 50)


def test_percentiles_use_nearest_rank():
    from array import array

    result = cli.WorkloadResult("get_hit", 100, 100, 1.0, array("q", range(1000, 101_000, 1000)))
    assert result.percentile_us(0.50) == 50.0
    assert result.percentile_us(0.99) == 99.0
    assert result.keys_per_second is None
