# SPDX-License-Identifier: MIT
"""A scripted fake memcached server for the faults a real server cannot produce.

Each accepted connection runs a script: a list of steps such as "expect exactly
these request bytes", "reply these bytes (late)", "trickle them a byte at a
time", "close", "reset", "never reply". Everything a connection receives is
recorded; a step that does not match is recorded as a script mismatch, and
``check()`` (also run when the ``with`` block ends without an exception, and by
the ``scripted_server`` fixture at teardown) raises AssertionError listing them.
This follows memcached's t/proxyunits.t: script the bytes exactly, then prove
the connection is either clean or closed.

Example::

    script = [Expect(b"get a\\r\\n"), Reply(b"VALUE a 0 1\\r\\nx\\r\\nEND\\r\\n")]
    with ScriptedServer(script) as server:
        ...  # point the client at server.address
    # the client must not have sent anything after the get: that is a mismatch

Connection ``i`` (from 0) runs ``scripts[i]``; with ``repeat_last=True`` every
further connection runs the last script, otherwise a further connection is a
mismatch and is closed at once. When a script ends, the connection stays open
and any byte the client still sends is a mismatch (pipelining past the script
is a client bug); the client closing it is fine.

Each connection is served by its own thread with blocking sockets; every wait
is bounded and wakes up on ``close()``, which joins all threads. Written for
tests: not fast, and it only listens on loopback.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "Close",
    "ConnectionRecord",
    "Delay",
    "Expect",
    "ExpectClosed",
    "NeverReply",
    "ReadUntil",
    "Reply",
    "Reset",
    "ScriptedServer",
    "Step",
    "Trickle",
]

# How long a blocking call may sleep before it looks at the shutdown flag again.
_POLL_INTERVAL = 0.02
_RECEIVE_SIZE = 65536
# The default bound on how long a step waits for the client.
DEFAULT_STEP_TIMEOUT = 5.0


@dataclass(frozen=True)
class Expect:
    """Read exactly ``len(data)`` bytes; they must equal ``data``.

    A mismatch, an early close by the client, or nothing within ``timeout``
    seconds ends the script (the connection is closed) and is recorded.
    """

    data: bytes
    timeout: float = DEFAULT_STEP_TIMEOUT


@dataclass(frozen=True)
class ReadUntil:
    """Read up to and including ``delimiter`` (whatever comes before it is accepted)."""

    delimiter: bytes = b"\r\n"
    timeout: float = DEFAULT_STEP_TIMEOUT


@dataclass(frozen=True)
class Reply:
    """Send ``data``, after waiting ``delay`` seconds (a late reply)."""

    data: bytes
    delay: float = 0.0


@dataclass(frozen=True)
class Trickle:
    """Send ``data`` one byte at a time, waiting ``interval`` seconds before each byte."""

    data: bytes
    interval: float


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` without reading or writing."""

    seconds: float


@dataclass(frozen=True)
class Close:
    """Close the connection with a FIN (what a server that exits or gives up does).

    Bytes the client sends afterwards are still read (and recorded) until it
    closes its end, so the kernel never turns the close into a reset.
    """


@dataclass(frozen=True)
class Reset:
    """Abort the connection with a RST (SO_LINGER 0), as a crashed peer or a firewall does."""


@dataclass(frozen=True)
class NeverReply:
    """Keep the connection open and answer nothing until the client closes it or the
    server shuts down; bytes received meanwhile are recorded, not mismatches."""


@dataclass(frozen=True)
class ExpectClosed:
    """The client must close the connection within ``timeout`` seconds, sending nothing more.

    The way to prove a client dropped a connection it could no longer trust.
    """

    timeout: float = DEFAULT_STEP_TIMEOUT


# Steps after which the connection is over, so nothing may follow them.
_FINAL_STEPS = (Close, Reset, NeverReply, ExpectClosed)

Step = Expect | ReadUntil | Reply | Trickle | Delay | Close | Reset | NeverReply | ExpectClosed


@dataclass
class ConnectionRecord:
    """What happened on one accepted connection."""

    index: int
    # Every byte the client sent, in order.
    received: bytearray = field(default_factory=bytearray)
    # Bytes the server sent.
    sent: bytearray = field(default_factory=bytearray)
    # True once the client closed its end (or reset it) and the server saw it.
    closed_by_client: bool = False
    # Set when the connection's thread has finished and the socket is closed.
    finished: threading.Event = field(default_factory=threading.Event)


class _Stop(Exception):
    """Ends a connection's script: server shutdown, client gone, or a mismatch."""


class ScriptedServer:
    """A loopback TCP server that plays scripts; see the module docstring."""

    def __init__(
        self,
        *scripts: Sequence[Step],
        repeat_last: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        if repeat_last and not scripts:
            raise ValueError("repeat_last needs at least one script")
        for script in scripts:
            for step in list(script)[:-1]:
                if isinstance(step, _FINAL_STEPS):
                    raise ValueError(f"{step!r} ends the connection, so it must be the last step")
        self._scripts = [list(script) for script in scripts]
        # close() lets an ExpectClosed step run to its timeout, so it waits that long.
        self._longest_expect_closed = max(
            (
                step.timeout
                for script in self._scripts
                for step in script
                if isinstance(step, ExpectClosed)
            ),
            default=0.0,
        )
        self._repeat_last = repeat_last
        self._host = host
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: list[ConnectionRecord] = []
        self._threads: list[threading.Thread] = []
        self._errors: list[str] = []
        self._connection_arrived = threading.Condition(self._lock)

    # -- public API --------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The listening port. Requires: started."""
        if self._listener is None:
            raise RuntimeError("the scripted server is not started")
        return self._listener.getsockname()[1]

    @property
    def address(self) -> str:
        """``"127.0.0.1:PORT"``, as fastmc.Client takes it."""
        return f"{self._host}:{self.port}"

    @property
    def connection_count(self) -> int:
        """How many connections were accepted so far."""
        with self._lock:
            return len(self._connections)

    @property
    def connections(self) -> list[ConnectionRecord]:
        """The record of every accepted connection, in accept order."""
        with self._lock:
            return list(self._connections)

    @property
    def received(self) -> list[bytes]:
        """The bytes each connection received, in accept order."""
        return [bytes(record.received) for record in self.connections]

    @property
    def errors(self) -> list[str]:
        """Script mismatches so far, one line each."""
        with self._lock:
            return list(self._errors)

    def start(self) -> ScriptedServer:
        """Binds a free loopback port and starts accepting."""
        if self._listener is not None:
            raise RuntimeError("the scripted server is already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self._host, 0))
        listener.listen(64)
        listener.settimeout(_POLL_INTERVAL)
        self._listener = listener
        accept_thread = threading.Thread(
            target=self._accept_loop, name="scripted-server-accept", daemon=True
        )
        self._threads.append(accept_thread)
        accept_thread.start()
        return self

    def wait_for_connections(self, count: int, timeout: float = DEFAULT_STEP_TIMEOUT) -> bool:
        """Waits until at least ``count`` connections were accepted; True iff they were."""
        with self._connection_arrived:
            return self._connection_arrived.wait_for(
                lambda: len(self._connections) >= count, timeout
            )

    def wait_until_finished(self, count: int = 1, timeout: float = DEFAULT_STEP_TIMEOUT) -> bool:
        """Waits until at least ``count`` connections were accepted and every accepted
        connection's thread has ended; True iff that happened within ``timeout``.

        Waiting for the accept matters: a client may connect and close before the
        server's accept thread has seen the connection.
        """
        deadline = time.monotonic() + timeout
        if not self.wait_for_connections(count, timeout):
            return False
        for record in self.connections:
            if not record.finished.wait(max(0.0, deadline - time.monotonic())):
                return False
        return True

    def pop_errors(self) -> list[str]:
        """Returns the mismatches so far and forgets them: for tests that expect one."""
        with self._lock:
            errors, self._errors = self._errors, []
        return errors

    def check(self) -> None:
        """Raises AssertionError listing every script mismatch, if there was any."""
        errors = self.errors
        if errors:
            raise AssertionError("scripted server mismatches:\n  " + "\n  ".join(errors))

    def close(self) -> None:
        """Stops accepting, ends every connection and joins every thread. Idempotent.

        Connections end within a poll interval, except one in an ExpectClosed
        step, which keeps waiting (up to its timeout) for the client's close: the
        client may have closed already with the server's thread not yet run.
        Bytes that already arrived are still read, so a late mismatch is caught.
        """
        self._stopping.set()
        # The accept thread first, so no connection thread starts after the snapshot.
        if self._threads:
            self._threads[0].join(timeout=10.0)
        # No shutdown() of the connections: every thread looks at the flag each
        # poll interval, and a FIN from us would be mistaken for the client's close.
        join_timeout = 10.0 + self._longest_expect_closed
        for thread in list(self._threads):
            thread.join(timeout=join_timeout)
            if thread.is_alive():
                self._record_error(f"thread {thread.name} did not stop within {join_timeout} s")
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self.close()
        # Do not hide the test's own exception behind the mismatches it caused.
        if exc_type is None:
            self.check()

    # -- internals ---------------------------------------------------------------

    def _record_error(self, message: str) -> None:
        with self._lock:
            self._errors.append(message)

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                record = ConnectionRecord(index=len(self._connections))
                self._connections.append(record)
                thread = threading.Thread(
                    target=self._serve,
                    args=(sock, record),
                    name=f"scripted-server-connection-{record.index}",
                    daemon=True,
                )
                self._threads.append(thread)
                self._connection_arrived.notify_all()
            thread.start()

    def _script_for(self, index: int) -> list[Step] | None:
        if index < len(self._scripts):
            return self._scripts[index]
        if self._repeat_last:
            return self._scripts[-1]
        return None

    def _serve(self, sock: socket.socket, record: ConnectionRecord) -> None:
        connection = _ScriptedConnection(self, sock, record)
        try:
            script = self._script_for(record.index)
            if script is None:
                self._record_error(
                    f"connection {record.index}: unexpected connection "
                    f"(the server has {len(self._scripts)} script(s))"
                )
                return
            connection.run(script)
        except _Stop:
            pass
        except Exception as error:
            self._record_error(f"connection {record.index}: scripted server failed: {error!r}")
        finally:
            connection.close()
            record.finished.set()


class _ScriptedConnection:
    """One accepted connection running its script; used only by its own thread."""

    def __init__(self, server: ScriptedServer, sock: socket.socket, record: ConnectionRecord):
        self._server = server
        self._sock = sock
        self._record = record
        # Received but not yet consumed by an Expect or ReadUntil step.
        self._pending = bytearray()
        self._closed = False
        # Where in the script we are, for mismatch messages.
        self._position = f"connection {record.index}"
        sock.settimeout(_POLL_INTERVAL)

    def run(self, script: list[Step]) -> None:
        for position, step in enumerate(script):
            self._position = f"connection {self._record.index}, step {position} {step!r}"
            self._run_step(step)
            if self._closed:
                return
        self._position = f"connection {self._record.index}, after the script"
        self._after_script()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._sock.close()

    # -- steps -------------------------------------------------------------------

    def _run_step(self, step: Step) -> None:
        if isinstance(step, Expect):
            self._expect(step)
        elif isinstance(step, ReadUntil):
            self._read_until(step)
        elif isinstance(step, Reply):
            self._sleep(step.delay)
            self._send(step.data)
        elif isinstance(step, Trickle):
            for offset in range(len(step.data)):
                self._sleep(step.interval)
                self._send(step.data[offset : offset + 1])
        elif isinstance(step, Delay):
            self._sleep(step.seconds)
        elif isinstance(step, Close):
            self._close_gracefully()
        elif isinstance(step, Reset):
            # Linger on with a zero timeout makes close() send RST instead of FIN.
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close()
        elif isinstance(step, NeverReply):
            while self._receive():
                pass
            self._pending.clear()
        elif isinstance(step, ExpectClosed):
            self._expect_closed(step)
        else:
            raise TypeError(f"not a script step: {step!r}")

    def _expect(self, step: Expect) -> None:
        deadline = time.monotonic() + step.timeout
        while len(self._pending) < len(step.data):
            # A wrong first byte is a mismatch already; do not wait for the rest.
            if not step.data.startswith(bytes(self._pending)):
                break
            if not self._receive(deadline):
                self._fail(
                    f"expected {step.data!r}, got {bytes(self._pending)!r} and then "
                    f"{self._end_reason(deadline)}"
                )
        got = bytes(self._pending[: len(step.data)])
        if got != step.data:
            self._fail(f"expected {step.data!r}, got {bytes(self._pending)!r}")
        del self._pending[: len(step.data)]

    def _read_until(self, step: ReadUntil) -> None:
        deadline = time.monotonic() + step.timeout
        while step.delimiter not in self._pending:
            if not self._receive(deadline):
                self._fail(
                    f"expected bytes up to {step.delimiter!r}, got "
                    f"{bytes(self._pending)!r} and then {self._end_reason(deadline)}"
                )
        end = self._pending.index(step.delimiter) + len(step.delimiter)
        del self._pending[:end]

    def _expect_closed(self, step: ExpectClosed) -> None:
        deadline = time.monotonic() + step.timeout
        while self._receive(deadline, until_stopped=False):
            pass
        if self._pending:
            self._fail(f"expected the client to close, but it sent {bytes(self._pending)!r}")
        if not self._record.closed_by_client:
            self._fail(f"expected the client to close, {self._end_reason(deadline)}")

    def _after_script(self) -> None:
        if self._pending or self._receive():
            self._fail(f"unexpected bytes after the script: {bytes(self._pending)!r}")

    def _close_gracefully(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.close()
            return
        # Keep reading so unread input does not turn our close into a reset.
        while self._receive():
            pass
        self.close()

    # -- primitives --------------------------------------------------------------

    def _fail(self, message: str) -> None:
        self._server._record_error(f"{self._position}: {message}")
        raise _Stop

    def _end_reason(self, deadline: float | None) -> str:
        if self._record.closed_by_client:
            return "the client closed the connection"
        if self._server._stopping.is_set():
            return "the server was shut down"
        if deadline is not None and time.monotonic() >= deadline:
            return "nothing more before the step's timeout"
        return "the connection ended"

    def _receive(self, deadline: float | None = None, *, until_stopped: bool = True) -> bool:
        """Reads once into the pending buffer.

        Returns True iff bytes arrived; False on the deadline, on the client's
        close or reset, or (with ``until_stopped``) once the server is shutting
        down and nothing that already arrived is left to read.
        """
        while True:
            stopping = until_stopped and self._server._stopping.is_set()
            if deadline is not None and time.monotonic() >= deadline:
                return False
            try:
                # When stopping, one last look without waiting at what already arrived.
                self._sock.settimeout(0 if stopping else _POLL_INTERVAL)
                chunk = self._sock.recv(_RECEIVE_SIZE)
            except (TimeoutError, BlockingIOError):
                if stopping:
                    return False
                continue
            except OSError:
                self._record.closed_by_client = True
                return False
            if not chunk:
                self._record.closed_by_client = True
                return False
            self._record.received += chunk
            self._pending += chunk
            return True

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self._server._stopping.is_set():
                raise _Stop
            try:
                self._sock.settimeout(_POLL_INTERVAL)
                count = self._sock.send(view)
            except TimeoutError:
                # The client is not reading and the kernel buffers are full: wait.
                continue
            except OSError:
                # The client went away; giving up on a reply is its right, not a mismatch.
                self._record.closed_by_client = True
                raise _Stop from None
            self._record.sent += view[:count]
            view = view[count:]

    def _sleep(self, seconds: float) -> None:
        if seconds > 0 and self._server._stopping.wait(seconds):
            raise _Stop
