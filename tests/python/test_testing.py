# SPDX-License-Identifier: MIT
"""Tests of fastmc.testing and the pytest plugin, talking to memcached with raw sockets."""

from __future__ import annotations

import gc
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import fastmc.testing
from fastmc.testing import (
    ExternalServer,
    ExternalServerError,
    MemcachedCluster,
    MemcachedNotFoundError,
    MemcachedServer,
    MemcachedStartError,
    find_memcached,
    parse_server_list,
)

# The folder holding the fastmc package under test, for child interpreters.
PACKAGE_ROOT = str(Path(fastmc.testing.__file__).resolve().parent.parent)


def connect(address: str, timeout: float = 2.0) -> socket.socket:
    if address.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(address.removeprefix("unix:"))
        return sock
    host, _, port = address.rpartition(":")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def read_reply(sock: socket.socket, terminator: bytes) -> bytes:
    reply = b""
    while not reply.endswith(terminator):
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {reply!r}"
        reply += chunk
    return reply


def talk(address: str, request: bytes, terminator: bytes = b"\r\n") -> bytes:
    """Sends one request on a fresh connection and returns the reply up to ``terminator``."""
    with connect(address) as sock:
        sock.sendall(request)
        return read_reply(sock, terminator)


def stats(address: str, group: str = "") -> dict[str, str]:
    request = f"stats {group}".strip().encode() + b"\r\n"
    reply = talk(address, request, b"END\r\n")
    return {
        parts[1]: parts[2]
        for parts in (line.decode().split(" ", 2) for line in reply.split(b"\r\n"))
        if parts[0] == "STAT"
    }


def process_exists(pid: int) -> bool:
    """True iff ``pid`` exists at all (a zombie counts: it was not reaped)."""
    return Path(f"/proc/{pid}").exists()


def allowed_cpus(pid: int) -> set[str]:
    """The Cpus_allowed_list of every thread of ``pid``."""
    lists = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                lists.add(line.split()[1])
    return lists


def run_python(code: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        **kwargs,
    )


# -- one server ----------------------------------------------------------------------


def test_server_starts_on_a_free_loopback_port_and_answers():
    with MemcachedServer() as server:
        assert server.is_running
        assert server.host == "127.0.0.1"
        assert server.path is None
        assert server.address == f"127.0.0.1:{server.port}"
        assert talk(server.address, b"set k 0 0 5\r\nhello\r\n") == b"STORED\r\n"
        assert talk(server.address, b"get k\r\n", b"END\r\n") == b"VALUE k 0 5\r\nhello\r\nEND\r\n"
        assert stats(server.address)["pid"] == str(server.pid)
    assert not server.is_running
    assert server.pid is None


def test_two_servers_get_different_ports(memcached_factory):
    first, second = memcached_factory(), memcached_factory()
    assert first.port != second.port
    assert stats(first.address)["pid"] != stats(second.address)["pid"]


def test_explicit_port_is_used(memcached_factory):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = memcached_factory(port=port)
    assert server.port == port
    assert stats(f"127.0.0.1:{port}")["pid"] == str(server.pid)


def test_chosen_port_taken_before_memcached_binds_is_retried(monkeypatch, memcached_factory):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        real_free_port = fastmc.testing._free_port
        ports = iter([taken, taken])
        monkeypatch.setattr(
            fastmc.testing, "_free_port", lambda host: next(ports, None) or real_free_port(host)
        )
        server = memcached_factory()
        assert server.port != taken
        assert stats(server.address)["pid"] == str(server.pid)


def test_explicit_port_in_use_is_a_clear_error():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = MemcachedServer(port=port)
        with pytest.raises(MemcachedStartError, match="Address already in use"):
            server.start()
        assert not server.is_running
        server.close()


def test_unix_socket_server_lives_in_a_private_folder():
    with MemcachedServer(unix_socket=True) as server:
        path = server.path
        assert path is not None
        assert server.address == f"unix:{path}"
        assert server.host is None
        assert server.port is None
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
        assert talk(server.address, b"set u 0 0 1\r\nx\r\n") == b"STORED\r\n"
        assert talk(server.address, b"get u\r\n", b"END\r\n") == b"VALUE u 0 1\r\nx\r\nEND\r\n"
    assert not os.path.exists(os.path.dirname(path))


def test_ipv6_loopback_server_address_has_brackets(memcached_factory):
    if not socket.has_ipv6:
        pytest.skip("this Python has no IPv6")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")
    server = memcached_factory(host="::1")
    assert server.address == f"[::1]:{server.port}"
    assert talk(server.address, b"version\r\n").startswith(b"VERSION ")


def test_options_reach_memcached(memcached_factory):
    server = memcached_factory(
        memory_mb=8, threads=1, max_item_size=2 * 1024 * 1024, extra_args=["-c", "100"]
    )
    settings = stats(server.address, "settings")
    assert settings["maxbytes"] == str(8 * 1024 * 1024)
    assert settings["num_threads"] == "1"
    assert settings["item_size_max"] == str(2 * 1024 * 1024)
    assert settings["maxconns"] == "100"


def test_cpu_pins_every_memcached_thread(memcached_factory):
    cpu = max(os.sched_getaffinity(0))
    server = memcached_factory(cpu=cpu)
    assert allowed_cpus(server.pid) == {str(cpu)}


def test_cpu_pinning_without_taskset_uses_the_child(monkeypatch, memcached_factory):
    real_which = fastmc.testing.shutil.which
    monkeypatch.setattr(
        fastmc.testing.shutil, "which", lambda name: None if name == "taskset" else real_which(name)
    )
    cpu = min(os.sched_getaffinity(0))
    server = memcached_factory(cpu=cpu)
    assert allowed_cpus(server.pid) == {str(cpu)}


def test_failed_start_reports_memcached_stderr():
    server = MemcachedServer(memory_mb=1, max_item_size="2m")
    with pytest.raises(MemcachedStartError, match="item size limit higher than 1/2 of memory"):
        server.start()
    assert not server.is_running
    server.close()


def test_start_while_running_is_refused(memcached):
    with pytest.raises(RuntimeError, match="already running"):
        memcached.start()


def test_address_before_start_is_an_error():
    server = MemcachedServer()
    with pytest.raises(RuntimeError, match="not been started"):
        _ = server.address
    assert server.pid is None
    assert not server.is_running


# -- process control -------------------------------------------------------------------


def test_pause_stops_answers_and_resume_delivers_them(memcached):
    memcached.pause()
    assert memcached.is_paused
    assert memcached.is_running
    # The kernel still completes the connect; only the answer is missing.
    with connect(memcached.address, timeout=0.3) as sock:
        sock.sendall(b"version\r\n")
        with pytest.raises(TimeoutError):
            sock.recv(100)
        memcached.resume()
        assert not memcached.is_paused
        sock.settimeout(2.0)
        assert read_reply(sock, b"\r\n").startswith(b"VERSION ")


def test_kill_is_a_crash_and_restart_comes_back_on_the_same_port_empty(memcached):
    port, old_pid = memcached.port, memcached.pid
    assert talk(memcached.address, b"set k 0 0 1\r\nx\r\n") == b"STORED\r\n"
    with connect(memcached.address) as idle:
        # A round trip first: memcached must have accepted the connection, or the
        # kernel resets it instead of closing it.
        idle.sendall(b"version\r\n")
        read_reply(idle, b"\r\n")
        memcached.kill()
        assert not memcached.is_running
        assert memcached.pid is None
        assert not process_exists(old_pid), "killed memcached left a zombie"
        assert idle.recv(10) == b""
    memcached.restart()
    assert memcached.port == port
    assert memcached.pid != old_pid
    assert talk(memcached.address, b"get k\r\n", b"END\r\n") == b"END\r\n"


def test_restart_of_a_running_server_keeps_the_address(memcached):
    address, old_pid = memcached.address, memcached.pid
    memcached.restart()
    assert memcached.address == address
    assert stats(address)["pid"] == str(memcached.pid)
    assert not process_exists(old_pid)


def test_restart_of_a_paused_server(memcached):
    memcached.pause()
    memcached.restart()
    assert not memcached.is_paused
    assert talk(memcached.address, b"version\r\n").startswith(b"VERSION ")


def test_unix_socket_server_restarts_on_the_same_path(memcached_unix):
    path = memcached_unix.path
    memcached_unix.kill()
    memcached_unix.restart()
    assert memcached_unix.path == path
    assert talk(memcached_unix.address, b"version\r\n").startswith(b"VERSION ")


def test_stop_is_graceful_and_start_reuses_the_address():
    server = MemcachedServer()
    try:
        server.start()
        port, pid = server.port, server.pid
        server.stop()
        assert not server.is_running
        assert not process_exists(pid)
        server.start()
        assert server.port == port
        assert talk(server.address, b"version\r\n").startswith(b"VERSION ")
    finally:
        server.close()


def test_stop_of_a_paused_server_does_not_hang():
    server = MemcachedServer().start()
    pid = server.pid
    server.pause()
    started = time.monotonic()
    server.stop(timeout=5.0)
    assert time.monotonic() - started < 4.0
    assert not process_exists(pid)


def test_stop_kill_and_close_are_idempotent():
    server = MemcachedServer().start()
    server.close()
    server.close()
    server.kill()
    server.stop()
    assert not server.is_running


def test_process_operations_need_a_running_server():
    server = MemcachedServer()
    with pytest.raises(RuntimeError, match="not running"):
        server.pause()


# -- cleanup ---------------------------------------------------------------------------


def test_context_manager_cleans_up_on_exception():
    with pytest.raises(KeyError), MemcachedServer() as server:
        pid = server.pid
        folder = server._folder
        raise KeyError("boom")
    assert not process_exists(pid)
    assert not os.path.exists(folder)


def test_forgotten_server_is_killed_when_collected():
    server = MemcachedServer().start()
    pid = server.pid
    del server
    gc.collect()
    assert not process_exists(pid)


def test_leaked_server_is_stopped_at_interpreter_exit():
    child = run_python(
        """
        from fastmc.testing import MemcachedServer
        leaked = MemcachedServer().start()
        print(leaked.pid, flush=True)
        """
    )
    assert child.returncode == 0, child.stderr
    pid = int(child.stdout)
    deadline = time.monotonic() + 5
    while process_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not process_exists(pid)


def test_server_dies_with_a_killed_parent():
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\n"
            "from fastmc.testing import MemcachedServer\n"
            "server = MemcachedServer().start()\n"
            "print(server.pid, server._folder, flush=True)\n"
            "time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": PACKAGE_ROOT},
    )
    try:
        pid_text, folder = child.stdout.readline().split()
        pid = int(pid_text)
        assert process_exists(pid)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    # A process killed by SIGKILL cannot remove its folder; the test does.
    shutil.rmtree(folder, ignore_errors=True)
    deadline = time.monotonic() + 5
    while process_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not process_exists(pid)


# -- cluster ---------------------------------------------------------------------------


def test_cluster_starts_distinct_servers_and_stops_them_all():
    with MemcachedCluster(3, memory_mb=16) as cluster:
        assert len(cluster) == 3
        assert [server.address for server in cluster] == cluster.addresses
        assert len(set(cluster.addresses)) == 3
        assert cluster[1].address == cluster.addresses[1]
        pids = [server.pid for server in cluster]
        for server in cluster:
            assert stats(server.address, "settings")["maxbytes"] == str(16 * 1024 * 1024)
    assert not any(process_exists(pid) for pid in pids)


def test_cluster_that_fails_to_start_stops_the_servers_it_started():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The second server cannot bind the port the first one holds.
    cluster = MemcachedCluster(2, port=port)
    with pytest.raises(MemcachedStartError):
        cluster.start()
    assert not cluster[0].is_running
    assert not cluster[1].is_running


def test_cluster_needs_a_server():
    with pytest.raises(ValueError):
        MemcachedCluster(0)


# -- finding the binary ------------------------------------------------------------------


def test_find_memcached_prefers_the_environment_variable(monkeypatch, tmp_path):
    wrapper = tmp_path / "my-memcached"
    wrapper.write_text(f'#!/bin/sh\nexec {find_memcached()} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("FASTMC_MEMCACHED", str(wrapper))
    assert find_memcached() == str(wrapper)
    with MemcachedServer() as server:
        assert server.command[0] == str(wrapper)
        assert talk(server.address, b"version\r\n").startswith(b"VERSION ")


def test_find_memcached_names_a_bad_environment_variable(monkeypatch):
    monkeypatch.setenv("FASTMC_MEMCACHED", "/nonexistent/memcached")
    with pytest.raises(MemcachedNotFoundError, match="FASTMC_MEMCACHED"):
        MemcachedServer()


def test_missing_memcached_says_how_to_install_it(monkeypatch):
    monkeypatch.delenv("FASTMC_MEMCACHED", raising=False)
    monkeypatch.setattr(fastmc.testing.shutil, "which", lambda name: None)
    monkeypatch.setattr(fastmc.testing.os, "access", lambda path, mode: False)
    with pytest.raises(MemcachedNotFoundError, match="apt-get install memcached"):
        find_memcached()


# -- external servers ------------------------------------------------------------------


def test_parse_server_list_drops_blanks():
    assert parse_server_list(" a:1, ,unix:/x,") == ["a:1", "unix:/x"]
    assert parse_server_list("") == []


@pytest.mark.parametrize(
    ("address", "host", "port", "path", "normalised"),
    [
        ("127.0.0.1:11311", "127.0.0.1", 11311, None, "127.0.0.1:11311"),
        ("cache", "cache", 11211, None, "cache:11211"),
        ("[::1]:5000", "::1", 5000, None, "[::1]:5000"),
        ("unix:/run/mc.sock", None, None, "/run/mc.sock", "unix:/run/mc.sock"),
        ("/run/mc.sock", None, None, "/run/mc.sock", "unix:/run/mc.sock"),
    ],
)
def test_external_server_parses_addresses(address, host, port, path, normalised):
    server = ExternalServer(address)
    assert (server.host, server.port, server.path, server.address) == (host, port, path, normalised)


def test_external_server_refuses_process_operations_and_flushes(memcached):
    external = ExternalServer(memcached.address)
    assert external.is_running
    assert talk(memcached.address, b"set k 0 0 1\r\nx\r\n") == b"STORED\r\n"
    external.flush()
    assert talk(memcached.address, b"get k\r\n", b"END\r\n") == b"END\r\n"
    for operation in (external.pause, external.resume, external.kill, external.restart):
        with pytest.raises(ExternalServerError, match="FASTMC_TEST_SERVERS"):
            operation()
    external.stop()
    assert memcached.is_running


# -- the pytest plugin -------------------------------------------------------------------


def test_fixtures_give_fresh_servers(memcached, memcached_unix, memcached_cluster):
    assert isinstance(memcached, MemcachedServer)
    assert memcached.is_running
    assert memcached_unix.path is not None
    assert len(memcached_cluster) == 3
    addresses = [memcached.address, memcached_unix.address, *memcached_cluster.addresses]
    assert len(set(addresses)) == 5
    for address in addresses:
        assert stats(address)["curr_items"] == "0"


def test_cluster_factory_takes_count_and_options(memcached_cluster_factory):
    cluster = memcached_cluster_factory(2, threads=1)
    assert len(cluster) == 2
    assert all(stats(address, "settings")["num_threads"] == "1" for address in cluster.addresses)


def plugin_is_autoloaded() -> bool:
    """True iff the installed fastmc registers the plugin through its pytest11 entry point."""
    from importlib.metadata import entry_points

    return any(ep.value == "fastmc.pytest_plugin" for ep in entry_points(group="pytest11"))


def run_pytest(tmp_path: Path, test_code: str, **environment: str) -> subprocess.CompletedProcess:
    """Runs pytest on ``test_code`` in a child process with the fastmc plugin."""
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(test_code))
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    env.pop("FASTMC_TEST_SERVERS", None)
    env.update(environment)
    load_plugin = [] if plugin_is_autoloaded() else ["-p", "fastmc.pytest_plugin"]
    inner = ["--rootdir", str(tmp_path), str(tmp_path / "test_inner.py")]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *load_plugin, *inner],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )


def test_plugin_kills_every_fixture_server_after_the_test(tmp_path):
    pid_file = tmp_path / "pids"
    result = run_pytest(
        tmp_path,
        f"""
        def test_servers(memcached, memcached_factory, memcached_cluster, memcached_unix):
            extra = memcached_factory(threads=1)
            pids = [memcached.pid, extra.pid, memcached_unix.pid]
            pids += [server.pid for server in memcached_cluster]
            open({str(pid_file)!r}, "w").write(" ".join(map(str, pids)))
            raise AssertionError("a failing test must clean up too")
        """,
    )
    assert "1 failed" in result.stdout, result.stdout + result.stderr
    pids = [int(pid) for pid in pid_file.read_text().split()]
    assert len(pids) == 6
    assert not any(process_exists(pid) for pid in pids)


def test_plugin_uses_fastmc_test_servers(tmp_path, memcached, memcached_unix):
    talk(memcached.address, b"set leftover 0 0 1\r\nx\r\n")
    result = run_pytest(
        tmp_path,
        f"""
        import socket

        def test_memcached(memcached):
            assert memcached.address == {memcached.address!r}
            assert memcached.pid is None
            with socket.create_connection((memcached.host, memcached.port)) as sock:
                sock.sendall(b"get leftover\\r\\n")
                assert sock.recv(100) == b"END\\r\\n"  # flushed for the test

        def test_unix(memcached_unix):
            assert memcached_unix.address == {memcached_unix.address!r}

        def test_cluster_needs_three(memcached_cluster):
            pass
        """,
        FASTMC_TEST_SERVERS=f"{memcached.address},{memcached_unix.address}",
    )
    assert "2 passed, 1 skipped" in result.stdout, result.stdout + result.stderr
    assert memcached.is_running
