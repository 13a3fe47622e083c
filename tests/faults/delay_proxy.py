# SPDX-License-Identifier: MIT
"""A user-space TCP proxy that delays, holds or resets traffic to a real server.

The kernel here has no netem (faults.md section 4.1), so added latency, a
path that silently stops delivering (a blackhole, as a firewall DROP does)
and resets of established connections are made in user space, in front of a
real memcached on loopback::

    with DelayProxy(server.address) as proxy:
        mc = fastmc.Client(proxy.address, timeout=0.5)
        proxy.delay = 0.2          # every chunk, both ways, 200 ms late
        proxy.blackhole()          # accepted bytes are held, nothing delivered
        proxy.restore()            # held bytes flow again: a late reply
        proxy.reset_connections()  # RST to every client connection

Held bytes are delivered when the blackhole lifts, like TCP retransmissions
after a DROP rule is removed, so a client that kept the connection would
read the late reply as the answer to its next request. New connections are
still accepted while blackholed (the kernel completes the handshake before
``accept``), the same as a server stalled by SIGSTOP; a connect that never
completes needs a namespace DROP rule (test_network_faults.py).

One thread per direction per connection with blocking sockets and a short
poll interval; every wait is bounded and ``close()`` joins all threads.
Written for tests: loopback only, not fast.

``DelayProxyProcess`` runs the same proxy in a child process (this file run
as a script), for tests that measure their own process: the proxy's threads
and sockets then count against neither its file descriptors nor its memory.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import struct
import subprocess
import sys
import threading
import time

__all__ = ["DelayProxy", "DelayProxyProcess"]

_POLL_INTERVAL = 0.005
_RECEIVE_SIZE = 65536


class _Link:
    """One client connection and its upstream connection."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.closed = threading.Event()
        self.threads: list[threading.Thread] = []

    def close(self, *, reset: bool = False) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                if reset:
                    # Linger on with a zero timeout makes close() send RST.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


class DelayProxy:
    """Forwards a loopback port to ``upstream`` (``"host:port"``); see the module docstring."""

    def __init__(self, upstream: str, *, delay: float = 0.0, host: str = "127.0.0.1") -> None:
        upstream_host, _, upstream_port = upstream.rpartition(":")
        self._upstream = (upstream_host.strip("[]"), int(upstream_port))
        self._host = host
        self._delay = float(delay)
        self._held = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._accepted = 0
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None

    # -- public API --------------------------------------------------------------

    @property
    def address(self) -> str:
        """``"127.0.0.1:PORT"``, as fastmc.Client takes it. Requires: started."""
        if self._listener is None:
            raise RuntimeError("the proxy is not started")
        return f"{self._host}:{self._listener.getsockname()[1]}"

    @property
    def delay(self) -> float:
        """Seconds each chunk waits before it is forwarded, in either direction."""
        return self._delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        self._delay = float(seconds)

    @property
    def connection_count(self) -> int:
        """How many client connections were accepted so far."""
        with self._lock:
            return self._accepted

    @property
    def open_connection_count(self) -> int:
        """How many client connections are still open (neither side closed them)."""
        with self._lock:
            return sum(1 for link in self._links if not link.closed.is_set())

    def blackhole(self) -> None:
        """From now on, hold every byte in both directions (nothing is delivered)."""
        self._held.set()

    def restore(self) -> None:
        """Ends a blackhole: held bytes are delivered, late."""
        self._held.clear()

    def reset_connections(self) -> None:
        """Aborts every open connection with a RST to the client (``ss -K`` in user space)."""
        with self._lock:
            links = list(self._links)
        for link in links:
            link.close(reset=True)

    def start(self) -> DelayProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self._host, 0))
        listener.listen(128)
        listener.settimeout(_POLL_INTERVAL * 4)
        self._listener = listener
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="delay-proxy-accept", daemon=True
        )
        self._accept_thread.start()
        return self

    def close(self) -> None:
        """Stops accepting, closes every connection and joins every thread. Idempotent."""
        self._stopping.set()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=10.0)
        with self._lock:
            links = list(self._links)
        for link in links:
            link.close()
            for thread in link.threads:
                thread.join(timeout=10.0)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._upstream, timeout=2.0)
            except OSError:
                # The server is down: the client sees its connection reset.
                with contextlib.suppress(OSError):
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                with self._lock:
                    self._accepted += 1
                continue
            # Bytes are relayed as they come, as a real proxy does: with
            # Nagle on, a fire-and-forget request the server does not answer
            # would hold the next one back until its delayed ACK (40 ms).
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client, upstream)
            for source, target, name in ((client, upstream, "up"), (upstream, client, "down")):
                source.settimeout(_POLL_INTERVAL)
                link.threads.append(
                    threading.Thread(
                        target=self._pump,
                        args=(link, source, target),
                        name=f"delay-proxy-{name}",
                        daemon=True,
                    )
                )
            with self._lock:
                self._accepted += 1
                # Forget links that are over, so a long soak does not pile them up.
                self._links = [
                    old
                    for old in self._links
                    if not old.closed.is_set() or any(t.is_alive() for t in old.threads)
                ]
                self._links.append(link)
            for thread in link.threads:
                thread.start()

    def _pump(self, link: _Link, source: socket.socket, target: socket.socket) -> None:
        """Moves bytes from ``source`` to ``target``, each chunk once it is due and not held."""
        queue: collections.deque[tuple[float, bytes]] = collections.deque()
        source_open = True
        while not (self._stopping.is_set() or link.closed.is_set()):
            if source_open:
                try:
                    chunk = source.recv(_RECEIVE_SIZE)
                    if chunk:
                        queue.append((time.monotonic() + self._delay, chunk))
                    else:
                        source_open = False
                except TimeoutError:
                    pass
                except OSError:
                    source_open = False
            else:
                time.sleep(_POLL_INTERVAL)
            while queue and not self._held.is_set() and queue[0][0] <= time.monotonic():
                if not self._send(link, target, queue.popleft()[1]):
                    link.close()
                    return
            if not source_open and not queue:
                # Everything the closing side sent is delivered: pass the close on.
                link.close()
                return

    def _send(self, link: _Link, target: socket.socket, data: bytes) -> bool:
        """Sends all of ``data``; False iff the connection ended first."""
        view = memoryview(data)
        while view:
            if self._stopping.is_set() or link.closed.is_set():
                return False
            try:
                view = view[target.send(view) :]
            except TimeoutError:
                continue  # the peer is not reading yet: its buffer is full
            except OSError:
                return False
        return True


class DelayProxyProcess:
    """A DelayProxy in a child process, with the same controls (``delay`` is write-only)."""

    def __init__(self, upstream: str) -> None:
        self._upstream = upstream
        self._process: subprocess.Popen[str] | None = None
        self._address = ""

    @property
    def address(self) -> str:
        return self._address

    def start(self) -> DelayProxyProcess:
        self._process = subprocess.Popen(
            [sys.executable, __file__, self._upstream],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._address = self._answer()
        return self

    def blackhole(self) -> None:
        self._command("blackhole")

    def restore(self) -> None:
        self._command("restore")

    def reset_connections(self) -> None:
        self._command("reset")

    def set_delay(self, seconds: float) -> None:
        self._command(f"delay {seconds}")

    def close(self) -> None:
        if self._process is None:
            return
        with contextlib.suppress(OSError, AssertionError):
            self._command("quit")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> DelayProxyProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _command(self, line: str) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()
        answer = self._answer()
        assert answer == "ok", answer

    def _answer(self) -> str:
        assert self._process is not None and self._process.stdout is not None
        line = self._process.stdout.readline()
        assert line, "the proxy process exited"
        return line.strip()


def _serve(upstream: str) -> None:
    """The child of DelayProxyProcess: prints the address, then obeys stdin line by line."""
    with DelayProxy(upstream) as proxy:
        print(proxy.address, flush=True)
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "blackhole":
                proxy.blackhole()
            elif command == "restore":
                proxy.restore()
            elif command == "reset":
                proxy.reset_connections()
            elif command == "delay":
                proxy.delay = float(argument)
            elif command == "quit":
                print("ok", flush=True)
                return
            print("ok", flush=True)


if __name__ == "__main__":
    _serve(sys.argv[1])
