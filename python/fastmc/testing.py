# SPDX-License-Identifier: MIT
"""Real memcached servers for tests: ours, and users' own.

``MemcachedServer`` starts one memcached process on a free loopback port (or a
unix socket in a private temporary folder), waits until it answers, and always
stops it again: on ``stop()``, at the end of a ``with`` block, when the object
is garbage collected, and at interpreter exit for any server left running.
``MemcachedCluster`` does the same for several servers. ``ExternalServer``
stands for a server someone else runs (``FASTMC_TEST_SERVERS``).

This module only needs the standard library: it never imports the native
extension, so the pytest plugin and the CLI can start servers before (or
without) ``fastmc._native`` being importable.

Thread-safety: one server object is meant to be driven by one thread at a time;
different objects may be used from different threads.

Example::

    with MemcachedServer() as server:
        client = fastmc.Client([server.address])
        server.pause()      # SIGSTOP: connections are accepted, nothing answers
        server.resume()
        server.kill()       # SIGKILL: a crash
        server.restart()    # the same port, an empty cache

    # TLS (memcached -Z) with certificates made for the test, and ASCII auth (-Y):
    with MemcachedServer(tls=True, auth=("alice", "secret")) as server:
        client = fastmc.Client([server.address], tls=True,
                               tls_ca_file=server.certificates.ca_file,
                               username="alice", password="secret")
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TypeVar

__all__ = [
    "ExternalServer",
    "MemcachedCluster",
    "MemcachedNotFoundError",
    "MemcachedServer",
    "MemcachedStartError",
    "TestCertificates",
    "TwemproxyNotFoundError",
    "TwemproxyServer",
    "TwemproxyStartError",
    "find_memcached",
    "find_nutcracker",
    "parse_server_list",
]

# memcached exits with EX_OSERR when it cannot bind; another process took the port
# between our probe and memcached's own bind.
_BIND_FAILURE_TEXT = "Address already in use"
# How many fresh ports to try when the chosen one is taken before memcached binds it.
_PORT_ATTEMPTS = 20
# A unix socket path longer than sun_path (108 bytes on Linux) cannot be bound.
_MAX_UNIX_PATH_SIZE = 107
_SOCKET_FILE_NAME = "memcached.sock"
_STDERR_FILE_NAME = "memcached.stderr"
_AUTH_FILE_NAME = "memcached.auth"


class MemcachedNotFoundError(RuntimeError):
    """No memcached binary was found where ``find_memcached`` looks."""


class MemcachedStartError(RuntimeError):
    """memcached exited or did not answer in time; the message holds its stderr."""


class ExternalServerError(RuntimeError):
    """A process operation was asked of a server this module does not run."""


def find_memcached(binary: str | None = None) -> str:
    """Returns the path of the memcached binary to run.

    Looks, in order, at ``binary``, the ``FASTMC_MEMCACHED`` environment variable,
    ``memcached`` on ``PATH``, ``/usr/bin/memcached`` and ``/usr/sbin/memcached``.
    Raises MemcachedNotFoundError (naming the apt package) iff none is an
    executable file.
    """
    return _find_binary(
        "memcached",
        binary,
        "FASTMC_MEMCACHED",
        ("/usr/bin/memcached", "/usr/sbin/memcached"),
        MemcachedNotFoundError,
    )


def _find_binary(
    name: str,
    binary: str | None,
    variable: str,
    fallbacks: tuple[str, ...],
    error: type[Exception],
) -> str:
    """The executable named by ``binary`` or ``$variable``, else ``name`` on
    PATH, else the first of ``fallbacks``; raises ``error`` naming the apt
    package iff none is an executable file."""
    explicit = binary or os.environ.get(variable)
    if explicit:
        resolved = shutil.which(explicit)
        if resolved is None:
            origin = "the binary argument" if binary else variable
            raise error(f"{name} binary {explicit!r} (from {origin}) is not an executable")
        return resolved
    for candidate in (shutil.which(name), *fallbacks):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise error(
        f"{name} not found (looked at {variable}, PATH, {', '.join(fallbacks)}); "
        f"install it with `apt-get install {name}` or set {variable} to its path"
    )


def parse_server_list(text: str) -> list[str]:
    """Splits a comma-separated server list (as in ``FASTMC_TEST_SERVERS``), dropping blanks."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _free_port(host: str) -> int:
    """Returns a port the kernel just considered free on ``host``.

    The port is only a good guess once our probe socket is closed; the caller
    retries with another port if memcached then fails to bind it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _connect(address: str, timeout: float) -> socket.socket:
    """Opens a blocking socket to an ``address`` as ``address`` properties give it."""
    if address.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address[len("unix:") :])
        except BaseException:
            sock.close()
            raise
        return sock
    host, _, port = address.rpartition(":")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def _receive_until(sock: socket.socket, terminator: bytes, deadline: float, address: str) -> bytes:
    reply = b""
    while not reply.endswith(terminator):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete reply from {address}")
        sock.settimeout(remaining)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"{address} closed the connection mid-reply")
        reply += chunk
    return reply


def _request(
    address: str,
    request: bytes,
    terminator: bytes,
    timeout: float,
    security: _ConnectionSecurity | None = None,
) -> bytes:
    """Sends one text-protocol request and reads until the reply ends with
    ``terminator``; over TLS and after ASCII auth when ``security`` says so."""
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        sock = stack.enter_context(_connect(address, timeout))
        if security is not None and security.tls_context is not None:
            sock = stack.enter_context(
                security.tls_context.wrap_socket(sock, server_hostname=security.server_hostname)
            )
        if security is not None and security.credentials is not None:
            payload = " ".join(security.credentials).encode()
            sock.sendall(b"set auth 0 -1 %d\r\n%s\r\n" % (len(payload), payload))
            answer = _receive_until(sock, b"\r\n", deadline, address)
            if answer != b"STORED\r\n":
                raise ConnectionError(f"{address} refused the test credentials: {answer!r}")
        sock.sendall(request)
        return _receive_until(sock, terminator, deadline, address)


class _ConnectionSecurity:
    """How the module's own probes reach a server started with TLS and/or auth."""

    def __init__(
        self,
        tls_context: ssl.SSLContext | None,
        server_hostname: str | None,
        credentials: tuple[str, str] | None,
    ) -> None:
        self.tls_context = tls_context
        self.server_hostname = server_hostname
        self.credentials = credentials


class TestCertificates:
    """A private CA with a server certificate (for ``localhost``, ``127.0.0.1``
    and ``::1``) and a client certificate, made with the ``openssl`` command
    in a temporary folder removed when the object is closed or collected.

    Attributes (file paths, PEM): ``ca_file``, ``server_cert_file``,
    ``server_key_file``, ``client_cert_file``, ``client_key_file``. Share one
    instance between servers (``MemcachedServer(tls=certificates)``) so one
    ``ca_file`` verifies them all. Short-lived (2 days); for tests only.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, server_names: Sequence[str] = ("localhost",)) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise RuntimeError("TestCertificates needs the openssl command (Debian: openssl)")
        self.folder = tempfile.mkdtemp(prefix="fastmc-tls-")
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.folder, True)
        path = lambda name: os.path.join(self.folder, name)  # noqa: E731
        self.ca_file = path("ca.crt")
        self.server_cert_file = path("server.crt")
        self.server_key_file = path("server.key")
        self.client_cert_file = path("client.crt")
        self.client_key_file = path("client.key")
        run = lambda *args: subprocess.run(  # noqa: E731
            [openssl, *args], check=True, capture_output=True, cwd=self.folder
        )
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        run(
            "req",
            "-x509",
            *key,
            "-keyout",
            path("ca.key"),
            "-out",
            self.ca_file,
            "-days",
            "2",
            "-subj",
            "/CN=fastmc test CA",
        )
        names = ",".join([f"DNS:{name}" for name in server_names] + ["IP:127.0.0.1", "IP:::1"])
        for role, subject, extension in (
            ("server", f"/CN={server_names[0]}", f"subjectAltName={names}"),
            ("client", "/CN=fastmc test client", "extendedKeyUsage=clientAuth"),
        ):
            with open(path(f"{role}.ext"), "w") as stream:
                stream.write(extension + "\n")
            run(
                "req",
                *key,
                "-keyout",
                path(f"{role}.key"),
                "-out",
                path(f"{role}.csr"),
                "-subj",
                subject,
            )
            run(
                "x509",
                "-req",
                "-in",
                path(f"{role}.csr"),
                "-CA",
                self.ca_file,
                "-CAkey",
                path("ca.key"),
                "-CAcreateserial",
                "-out",
                path(f"{role}.crt"),
                "-days",
                "2",
                "-extfile",
                path(f"{role}.ext"),
            )

    def close(self) -> None:
        """Removes the folder. Idempotent."""
        self._finalizer()


def _stats_pid(
    address: str, timeout: float, security: _ConnectionSecurity | None = None
) -> int | None:
    """The pid a server reports in ``stats``, or None if it does not say."""
    reply = _request(address, b"stats\r\n", b"END\r\n", timeout, security)
    for line in reply.split(b"\r\n"):
        if line.startswith(b"STAT pid "):
            return int(line.split()[2])
    return None


def _read_binary_packet(sock: socket.socket, deadline: float) -> tuple[int, bytes, bytes]:
    """Reads one binary-protocol reply: (status, key, value)."""

    def read_exactly(size: int) -> bytes:
        data = b""
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no complete binary reply in time")
            sock.settimeout(remaining)
            chunk = sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("the server closed the connection mid-reply")
            data += chunk
        return data

    header = read_exactly(24)
    _magic, _opcode, key_size, extras_size, _type, status, body_size = struct.unpack(
        ">BBHBBHI", header[:12]
    )
    body = read_exactly(body_size)
    key = body[extras_size : extras_size + key_size]
    return status, key, body[extras_size + key_size :]


def _binary_request(opcode: int, key: bytes = b"", value: bytes = b"") -> bytes:
    body = key + value
    return struct.pack(">BBHBBHIIQ", 0x80, opcode, len(key), 0, 0, 0, len(body), 0, 0) + body


def _binary_stats_pid(
    address: str,
    timeout: float,
    credentials: tuple[str, str] | None,
    security: _ConnectionSecurity | None = None,
) -> int | None:
    """``_stats_pid`` over the binary protocol, authenticating with SASL PLAIN
    first if asked; over TLS when ``security`` has a TLS context."""
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        sock = stack.enter_context(_connect(address, timeout))
        if security is not None and security.tls_context is not None:
            sock = stack.enter_context(
                security.tls_context.wrap_socket(sock, server_hostname=security.server_hostname)
            )
        if credentials is not None:
            user, password = (part.encode() for part in credentials)
            sock.sendall(_binary_request(0x21, b"PLAIN", b"\0" + user + b"\0" + password))
            status, _, message = _read_binary_packet(sock, deadline)
            if status != 0:
                raise ConnectionError(f"SASL PLAIN refused: {message!r}")
        sock.sendall(_binary_request(0x10))
        pid = None
        while True:
            status, key, value = _read_binary_packet(sock, deadline)
            if status != 0 or not key:
                return pid
            if key == b"pid":
                pid = int(value)


def _write_sasl_database(folder: str, users: Mapping[str, str]) -> None:
    """Creates ``folder``/sasldb with ``users`` and the memcached.conf that points at it.

    memcached reads ``memcached.conf`` from the folder in ``SASL_CONF_PATH``;
    ``mech_list`` limits the mechanisms it offers, ``sasldb_path`` names the
    database saslpasswd2 (Debian: sasl2-bin) writes.
    """
    saslpasswd2 = shutil.which("saslpasswd2") or shutil.which("saslpasswd2", path="/usr/sbin")
    if saslpasswd2 is None:
        raise MemcachedStartError("saslpasswd2 not found: apt-get install sasl2-bin")
    database = os.path.join(folder, "sasldb")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(database)
    for user, password in users.items():
        subprocess.run(
            [saslpasswd2, "-p", "-a", "memcached", "-c", "-f", database, user],
            input=password.encode(),
            check=True,
            capture_output=True,
        )
    with open(os.path.join(folder, "memcached.conf"), "w", encoding="ascii") as conf:
        conf.write(f"mech_list: plain cram-md5\nsasldb_path: {database}\n")


def _child_setup(cpu: int | None, use_taskset: bool) -> Callable[[], None] | None:
    """Builds the child-side setup run between fork and exec, or None if none is needed.

    A server started from the main thread gets SIGKILL when its parent dies, so
    a test run killed by SIGKILL (a CI timeout) does not leave memcached behind.
    Only from the main thread: the kernel sends the signal when the thread that
    forked exits, which for any other thread can be long before the process does.
    """
    death_signal = None
    if threading.current_thread() is threading.main_thread() and os.uname().sysname == "Linux":
        libc_name = ctypes.util.find_library("c")
        if libc_name:
            with contextlib.suppress(OSError):
                death_signal = ctypes.CDLL(libc_name, use_errno=True).prctl
    pin_in_child = cpu is not None and not use_taskset
    if death_signal is None and not pin_in_child:
        return None
    parent_pid = os.getpid()
    pr_set_pdeathsig = 1

    def setup() -> None:
        if death_signal is not None:
            death_signal(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
            # The parent may have died before prctl took effect.
            if os.getppid() != parent_pid:
                os._exit(1)
        if pin_in_child:
            os.sched_setaffinity(0, {cpu})

    return setup


# Servers that may still have a process; stopped at interpreter exit.
_live_servers: weakref.WeakSet[MemcachedServer] = weakref.WeakSet()


def _wait_until_stopped(pid: int, timeout: float = 5.0) -> None:
    """Waits until every thread of ``pid`` is in the stopped state (Linux /proc)."""
    tasks = f"/proc/{pid}/task"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            states = []
            for task in os.listdir(tasks):
                with open(f"{tasks}/{task}/stat", "rb") as stat:
                    # The state follows the command name, which is in parentheses.
                    states.append(stat.read().rsplit(b")", 1)[1].split()[0])
        except OSError:
            return  # the process is gone: nothing left to serve requests
        if all(state in (b"T", b"t") for state in states):
            return
        time.sleep(0.001)
    raise MemcachedStartError(f"memcached pid {pid} did not stop after SIGSTOP")


@atexit.register
def _stop_leaked_servers() -> None:
    for server in list(_live_servers):
        with contextlib.suppress(Exception):
            server.close()


_Process = TypeVar("_Process", bound="_ChildProcess")


class _ChildProcess:
    """What MemcachedServer and TwemproxyServer share: one child process with a
    private folder, always killed and reaped (``stop``, ``close``, ``kill``, the
    ``with`` block, garbage collection, and interpreter exit through
    ``_live``). Subclasses set ``_process`` when they launch, add themselves
    to ``_live``, and define ``start`` and ``_remove_folder``.
    """

    _live: weakref.WeakSet[_ChildProcess]

    _process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id while it runs (a paused one counts), else None."""
        return self._process.pid if self.is_running else None

    @property
    def is_running(self) -> bool:
        """True iff the process exists (a paused one counts as running)."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> _ChildProcess:
        raise NotImplementedError

    def stop(self, timeout: float = 5.0) -> None:
        """Stops the process gracefully (SIGTERM, then SIGKILL after ``timeout``
        s), waits, and removes the private folder. Does nothing if not running."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            # A stopped process only acts on SIGTERM once it is continued.
            self._process.send_signal(signal.SIGCONT)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._forget_process()
        self._remove_folder()

    def close(self) -> None:
        """Kills the process (SIGKILL), waits for it and removes the private
        folder: the fast teardown, as a test process holds nothing worth a
        graceful stop. Idempotent."""
        self.kill()
        self._remove_folder()

    def kill(self) -> None:
        """Kills the process with SIGKILL (a crash) and waits for it to be gone.

        The address is kept, so a later start comes back on the same port or
        path. Does nothing if not running.
        """
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._forget_process()

    def __enter__(self: _Process) -> _Process:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A process the test forgot to stop; never leave it behind.
        with contextlib.suppress(Exception):
            self.close()

    def _forget_process(self) -> None:
        self._process = None
        self._live.discard(self)

    def _remove_folder(self) -> None:
        raise NotImplementedError


class MemcachedServer(_ChildProcess):
    """One memcached process for tests.

    The address is fixed the first time the server starts and kept for the
    object's lifetime, so ``restart()`` (and ``start()`` after ``stop()``) come
    back on the same port or socket path. Use as a context manager, or call
    ``start()`` and ``stop()``/``close()``.

    Arguments: ``port`` (None: a free one is chosen, and another tried if
    memcached then cannot bind it), ``unix_socket`` (listen on a socket in a
    private temporary folder instead of TCP), ``memory_mb`` (``-m``),
    ``threads`` (``-t``; None: memcached's default), ``max_item_size``
    (``-I``; bytes as an int or memcached's own syntax such as ``"2m"``),
    ``extra_args`` (appended to the command line), ``cpu`` (pin the process to
    that CPU), ``host`` (the address to listen on), ``binary`` (see
    ``find_memcached``), ``start_timeout`` (seconds to wait for the server to
    answer), ``protocol`` (``-B``: ``"ascii"``, ``"binary"`` or ``"auto"``;
    None: memcached's default, auto), ``sasl_users`` (user name to password:
    start with ``-S``, which allows the binary protocol only, over a SASL
    database created in the server's folder; PLAIN and CRAM-MD5 offered).

    ``tls``: True (certificates made for this server, see ``certificates``)
    or a ``TestCertificates`` to use; memcached then speaks only TLS (``-Z``).
    ``tls_client_certs``: also require a client certificate signed by the
    same CA (mutual TLS). ``auth``: ``(username, password)`` or a mapping of
    them: memcached's ASCII authentication (``-Y``) with those users.
    """

    _live = _live_servers

    def __init__(
        self,
        *,
        port: int | None = None,
        unix_socket: bool = False,
        memory_mb: int = 64,
        threads: int | None = None,
        max_item_size: int | str | None = None,
        extra_args: Sequence[str] = (),
        cpu: int | None = None,
        host: str = "127.0.0.1",
        binary: str | None = None,
        start_timeout: float = 10.0,
        tls: bool | TestCertificates = False,
        tls_client_certs: bool = False,
        auth: tuple[str, str] | Mapping[str, str] | None = None,
        protocol: str | None = None,
        sasl_users: Mapping[str, str] | None = None,
    ) -> None:
        if unix_socket and port is not None:
            raise ValueError("a unix socket server has no port")
        if tls_client_certs and not tls:
            raise ValueError("tls_client_certs needs tls")
        self._certificates: TestCertificates | None = (
            tls if isinstance(tls, TestCertificates) else TestCertificates() if tls else None
        )
        self._tls_client_certs = tls_client_certs
        users = dict([auth] if isinstance(auth, tuple) else (auth or {}))
        if any(":" in user or "\n" in user + password for user, password in users.items()):
            raise ValueError("auth users and passwords cannot hold ':' (users) or newlines")
        self._users = users
        if protocol not in (None, "ascii", "binary", "auto"):
            raise ValueError(f"unknown memcached protocol {protocol!r} (ascii, binary, auto)")
        if sasl_users is not None and protocol == "ascii":
            raise ValueError("memcached's SASL needs the binary protocol")
        self._protocol = protocol
        self._sasl_users = dict(sasl_users) if sasl_users else None
        self._binary = find_memcached(binary)
        self._unix_socket = unix_socket
        self._memory_mb = memory_mb
        self._threads = threads
        self._max_item_size = max_item_size
        self._extra_args = tuple(str(arg) for arg in extra_args)
        self._cpu = cpu
        self._host = host
        self._start_timeout = start_timeout
        self._port: int | None = port
        self._folder: str | None = None
        self._socket_path: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._paused = False

    # -- addresses ---------------------------------------------------------------

    @property
    def address(self) -> str:
        """``"HOST:PORT"`` (``"[v6]:PORT"``) or ``"unix:/path"``, as fastmc.Client takes it.

        Requires: the server has been started at least once.
        """
        if self._unix_socket:
            if self._socket_path is None:
                raise RuntimeError("the server has not been started yet")
            return f"unix:{self._socket_path}"
        if self._port is None:
            raise RuntimeError("the server has not been started yet")
        return _format_address(self._host, self._port)

    @property
    def host(self) -> str | None:
        """The listening host, or None for a unix socket server."""
        return None if self._unix_socket else self._host

    @property
    def port(self) -> int | None:
        """The TCP port (None for a unix socket server or before the first start)."""
        return None if self._unix_socket else self._port

    @property
    def path(self) -> str | None:
        """The unix socket path (None for a TCP server or before the first start)."""
        return self._socket_path if self._unix_socket else None

    @property
    def certificates(self) -> TestCertificates | None:
        """The server's test certificates (CA, server, client) when it uses TLS."""
        return self._certificates

    @property
    def credentials(self) -> tuple[str, str] | None:
        """One ``(username, password)`` memcached accepts, when it uses auth."""
        return next(iter(self._users.items()), None)

    def client_kwargs(self) -> dict[str, object]:
        """The ``fastmc.Client`` keyword arguments that reach this server: TLS
        with its CA (and the client certificate when it requires one) and its
        credentials, or nothing for a plain server."""
        kwargs: dict[str, object] = {}
        if self._certificates is not None:
            kwargs.update(tls=True, tls_ca_file=self._certificates.ca_file)
            if self._tls_client_certs:
                kwargs.update(
                    tls_cert_file=self._certificates.client_cert_file,
                    tls_key_file=self._certificates.client_key_file,
                )
        if self.credentials is not None:
            kwargs.update(username=self.credentials[0], password=self.credentials[1])
        return kwargs

    @property
    def command(self) -> list[str]:
        """The command line the next start runs (after the address is chosen)."""
        return self._command()

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> MemcachedServer:
        """Starts memcached and returns once it answers ``stats`` with its own pid.

        Raises MemcachedStartError (with memcached's stderr) if it exits or does
        not answer within ``start_timeout``; RuntimeError if already running.
        """
        if self.is_running:
            raise RuntimeError(f"memcached at {self.address} is already running")
        self._ensure_folder()
        if self._unix_socket or self._port is not None:
            try:
                self._launch()
            except _PortTakenError as error:
                raise MemcachedStartError(
                    f"memcached cannot listen at {self.address}: {error}"
                ) from None
            return self
        # Our probe socket is closed before memcached binds, so another process can
        # take the port in between: then choose again.
        for attempt in range(_PORT_ATTEMPTS):
            self._port = _free_port(self._host)
            try:
                self._launch()
                return self
            except _PortTakenError:
                self._port = None
                if attempt == _PORT_ATTEMPTS - 1:
                    raise MemcachedStartError(
                        f"memcached could not bind a free port on {self._host} "
                        f"after {_PORT_ATTEMPTS} attempts"
                    ) from None
        raise AssertionError("unreachable")

    def restart(self) -> None:
        """Stops memcached if it runs (SIGKILL) and starts it on the same address.

        Returns once the new process answers. The cache is empty afterwards.
        Requires: the server was started before.
        """
        if self._port is None and self._socket_path is None:
            raise RuntimeError("the server has not been started yet")
        self.kill()
        self._ensure_folder()
        deadline = time.monotonic() + self._start_timeout
        while True:
            try:
                self._launch()
                return
            except _PortTakenError:
                # The old process is reaped, so the port is ours unless another
                # process grabbed it meanwhile; a short wait covers a kernel that
                # has not released it yet.
                if time.monotonic() > deadline:
                    raise MemcachedStartError(
                        f"cannot restart memcached: {self.address} is in use by another process"
                    ) from None
                time.sleep(0.05)

    def pause(self) -> None:
        """Stops the process with SIGSTOP: connects still succeed, nothing is answered.

        Returns once every thread of memcached is stopped: the signal is
        delivered asynchronously, and a request sent right after ``kill()``
        could otherwise still be served.
        """
        self._signal(signal.SIGSTOP)
        self._paused = True
        if self._process is not None:
            _wait_until_stopped(self._process.pid)

    def resume(self) -> None:
        """Continues a paused process with SIGCONT; requests sent meanwhile are then answered."""
        self._signal(signal.SIGCONT)
        self._paused = False

    @property
    def is_paused(self) -> bool:
        """True iff ``pause()`` was called and not yet undone by ``resume()`` or a restart."""
        return self._paused and self.is_running

    def stderr_text(self) -> str:
        """What memcached has written to stderr so far (empty if nothing or no folder)."""
        if self._folder is None:
            return ""
        try:
            with open(os.path.join(self._folder, _STDERR_FILE_NAME), "rb") as stream:
                return stream.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def __repr__(self) -> str:
        where = self.address if (self._port or self._socket_path) else "not started"
        state = "running" if self.is_running else "stopped"
        return f"<MemcachedServer {where} {state}>"

    # -- internals ---------------------------------------------------------------

    def _signal(self, signum: int) -> None:
        if not self.is_running:
            raise RuntimeError("memcached is not running")
        assert self._process is not None
        self._process.send_signal(signum)

    def _forget_process(self) -> None:
        super()._forget_process()
        self._paused = False

    def _ensure_folder(self) -> None:
        """Creates the private folder for the stderr log and the unix socket."""
        if self._folder is not None and os.path.isdir(self._folder):
            return
        if self._folder is not None:
            # Recreate the same folder so a restarted unix server keeps its path.
            os.mkdir(self._folder, 0o700)
            return
        folder = tempfile.mkdtemp(prefix="fastmc-memcached-")
        if self._unix_socket and len(os.path.join(folder, _SOCKET_FILE_NAME)) > _MAX_UNIX_PATH_SIZE:
            # A long TMPDIR would not fit in sun_path; /tmp always does.
            os.rmdir(folder)
            folder = tempfile.mkdtemp(prefix="fastmc-memcached-", dir="/tmp")
        self._folder = folder
        if self._unix_socket:
            self._socket_path = os.path.join(folder, _SOCKET_FILE_NAME)

    def _remove_folder(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def _command(self) -> list[str]:
        command = [self._binary, "-m", str(self._memory_mb), "-U", "0"]
        if self._unix_socket:
            command += ["-s", str(self._socket_path), "-a", "0700"]
        else:
            command += ["-l", self._host, "-p", str(self._port)]
        if self._threads is not None:
            command += ["-t", str(self._threads)]
        if self._max_item_size is not None:
            command += ["-I", str(self._max_item_size)]
        if self._protocol is not None:
            command += ["-B", self._protocol]
        if self._sasl_users is not None:
            command += ["-S"]
        # memcached refuses to run as root unless told which user to become.
        if os.geteuid() == 0 and "-u" not in self._extra_args:
            command += ["-u", "root"]
        if self._certificates is not None:
            settings = [
                f"ssl_chain_cert={self._certificates.server_cert_file}",
                f"ssl_key={self._certificates.server_key_file}",
            ]
            if self._tls_client_certs:
                settings += [f"ssl_ca_cert={self._certificates.ca_file}", "ssl_verify_mode=2"]
            command += ["-Z", "-o", ",".join(settings)]
        if self._users:
            command += ["-Y", os.path.join(str(self._folder), _AUTH_FILE_NAME)]
        command += self._extra_args
        return command

    def _security(self) -> _ConnectionSecurity | None:
        """How this module's probes (readiness, flush) reach the server."""
        if self._certificates is None and not self._users:
            return None
        tls_context = None
        if self._certificates is not None:
            tls_context = ssl.create_default_context(cafile=self._certificates.ca_file)
            if self._tls_client_certs:
                tls_context.load_cert_chain(
                    self._certificates.client_cert_file, self._certificates.client_key_file
                )
        return _ConnectionSecurity(tls_context, "localhost", self.credentials)

    def _launch(self) -> None:
        """Runs memcached once on the current address and waits until it answers.

        Raises _PortTakenError iff memcached exited because the port was in use.
        """
        assert self._folder is not None
        if self._users:
            with open(os.path.join(self._folder, _AUTH_FILE_NAME), "w") as stream:
                stream.writelines(f"{user}:{password}\n" for user, password in self._users.items())
        command = self._command()
        taskset = shutil.which("taskset") if self._cpu is not None else None
        if taskset is not None:
            # taskset execs memcached, so the pid stays memcached's own.
            command = [taskset, "-c", str(self._cpu), *command]
        stderr_path = os.path.join(self._folder, _STDERR_FILE_NAME)
        environment = None
        if self._sasl_users is not None:
            _write_sasl_database(self._folder, self._sasl_users)
            environment = {**os.environ, "SASL_CONF_PATH": self._folder}
        # A file, not a pipe: a chatty memcached (-vv) must never block on a full pipe.
        with open(stderr_path, "wb") as stderr:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                close_fds=True,
                env=environment,
                preexec_fn=_child_setup(self._cpu, taskset is not None),
            )
        self._paused = False
        _live_servers.add(self)
        try:
            self._wait_until_ready()
        except BaseException:
            self.kill()
            raise

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        process = self._process
        deadline = time.monotonic() + self._start_timeout
        delay = 0.002
        while True:
            exit_code = process.poll()
            if exit_code is not None:
                stderr = self.stderr_text().strip()
                if _BIND_FAILURE_TEXT in stderr:
                    raise _PortTakenError(stderr)
                raise MemcachedStartError(
                    f"memcached exited with status {exit_code} while starting at "
                    f"{self.address} ({' '.join(process.args)}): {stderr or 'no stderr output'}"
                )
            with contextlib.suppress(OSError):
                # Checking the pid proves we reached our memcached, not another
                # process that owns the port because ours failed to bind it. The
                # short timeout matters then: that process may never answer.
                if self._answered_pid(timeout=0.25) == process.pid:
                    return
            if time.monotonic() > deadline:
                raise MemcachedStartError(
                    f"memcached did not answer at {self.address} within {self._start_timeout} s: "
                    f"{self.stderr_text().strip() or 'no stderr output'}"
                )
            # Waiting on the process, not sleeping, notices an early exit at once.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(delay)
            delay = min(delay * 2, 0.05)

    def _answered_pid(self, timeout: float) -> int | None:
        """The pid the server at our address reports, in the protocol it speaks."""
        if self._sasl_users is None and self._protocol != "binary":
            return _stats_pid(self.address, timeout, self._security())
        credentials = next(iter(self._sasl_users.items())) if self._sasl_users else None
        return _binary_stats_pid(self.address, timeout, credentials, self._security())

    @property
    def sasl_users(self) -> dict[str, str]:
        """The SASL users the server was started with (empty without SASL)."""
        return dict(self._sasl_users or {})


class _PortTakenError(Exception):
    """memcached could not bind the port we chose for it."""


class MemcachedCluster:
    """Several MemcachedServer instances started and stopped together.

    ``server_kwargs`` are passed to every server (each still gets its own port).
    Indexing and iteration give the servers in start order.
    """

    def __init__(self, count: int, **server_kwargs: object) -> None:
        if count < 1:
            raise ValueError("a cluster needs at least one server")
        self._count = count
        self._server_kwargs = server_kwargs
        self._servers: list[MemcachedServer] = []

    @property
    def servers(self) -> list[MemcachedServer]:
        return list(self._servers)

    @property
    def addresses(self) -> list[str]:
        """Every server's ``address``, in order, ready for fastmc.Client."""
        return [server.address for server in self._servers]

    def start(self) -> MemcachedCluster:
        """Starts every server; if one fails, stops those already started and re-raises."""
        if self._servers:
            raise RuntimeError("the cluster is already started")
        try:
            for _ in range(self._count):
                server = MemcachedServer(**self._server_kwargs)  # type: ignore[arg-type]
                self._servers.append(server)
                server.start()
        except BaseException:
            self.close()
            raise
        return self

    def stop(self) -> None:
        """Stops every server gracefully (see MemcachedServer.stop)."""
        for server in self._servers:
            server.stop()

    def close(self) -> None:
        """Kills every server and removes their folders (see MemcachedServer.close)."""
        for server in self._servers:
            server.close()

    def __enter__(self) -> MemcachedCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __getitem__(self, index: int) -> MemcachedServer:
        return self._servers[index]

    def __iter__(self) -> Iterator[MemcachedServer]:
        return iter(self._servers)

    def __len__(self) -> int:
        return len(self._servers)

    def __repr__(self) -> str:
        return f"<MemcachedCluster {self.addresses}>"


class ExternalServer:
    """A server this process does not run, named by its address (``FASTMC_TEST_SERVERS``).

    It has the address properties of MemcachedServer; the process operations
    (pause, kill, restart, ...) raise ExternalServerError, and stopping is a no-op.
    """

    def __init__(self, address: str) -> None:
        if address.startswith("unix:") or address.startswith("/"):
            self._path: str | None = address.removeprefix("unix:")
            self._host: str | None = None
            self._port: int | None = None
        else:
            host, separator, port = address.rpartition(":")
            if not separator or not port.isdigit() or (":" in host and not host.startswith("[")):
                host, port = address, "11211"
            self._host = host.strip("[]")
            self._port = int(port)
            self._path = None

    @property
    def address(self) -> str:
        if self._path is not None:
            return f"unix:{self._path}"
        assert self._host is not None and self._port is not None
        return _format_address(self._host, self._port)

    @property
    def host(self) -> str | None:
        return self._host

    @property
    def port(self) -> int | None:
        return self._port

    @property
    def path(self) -> str | None:
        return self._path

    @property
    def pid(self) -> int | None:
        return None

    @property
    def is_running(self) -> bool:
        """True iff the server answers ``version`` within a second."""
        try:
            _request(self.address, b"version\r\n", b"\r\n", timeout=1.0)
        except OSError:
            return False
        return True

    def flush(self) -> None:
        """Empties the server (``flush_all``), so a test starts from a clean cache."""
        reply = _request(self.address, b"flush_all\r\n", b"\r\n", timeout=5.0)
        if reply != b"OK\r\n":
            raise RuntimeError(f"flush_all on {self.address} answered {reply!r}")

    def _unsupported(self, operation: str) -> ExternalServerError:
        return ExternalServerError(
            f"cannot {operation} {self.address}: it is an existing server from "
            "FASTMC_TEST_SERVERS, not one this test started"
        )

    def start(self) -> ExternalServer:
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Does nothing: the server belongs to someone else."""

    def close(self) -> None:
        """Does nothing: the server belongs to someone else."""

    def pause(self) -> None:
        raise self._unsupported("pause")

    def resume(self) -> None:
        raise self._unsupported("resume")

    def kill(self) -> None:
        raise self._unsupported("kill")

    def restart(self) -> None:
        raise self._unsupported("restart")

    def __enter__(self) -> ExternalServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def __repr__(self) -> str:
        return f"<ExternalServer {self.address}>"


# -- twemproxy ---------------------------------------------------------------------

# nutcracker logs this when the listen or the stats port is taken, then exits 1.
_NUTCRACKER_BIND_FAILURE_TEXT = "Address already in use"
_NUTCRACKER_STATS_BIND_TEXT = "stats server addr"
_NUTCRACKER_CONFIG_FILE_NAME = "nutcracker.yml"
_NUTCRACKER_LOG_FILE_NAME = "nutcracker.log"
_NUTCRACKER_PID_FILE_NAME = "nutcracker.pid"
_NUTCRACKER_OUTPUT_FILE_NAME = "nutcracker.out"
_TWEMPROXY_POOL_NAME = "fastmc"
# /proc/net/tcp state of a listening socket.
_TCP_LISTEN_STATE = "0A"


class TwemproxyNotFoundError(RuntimeError):
    """No nutcracker binary was found where ``find_nutcracker`` looks."""


class TwemproxyStartError(RuntimeError):
    """nutcracker exited or did not listen in time; the message holds its log."""


def find_nutcracker(binary: str | None = None) -> str:
    """Returns the path of the twemproxy (nutcracker) binary to run.

    Looks, in order, at ``binary``, the ``FASTMC_NUTCRACKER`` environment
    variable, ``nutcracker`` on ``PATH``, ``/usr/sbin/nutcracker`` and
    ``/usr/bin/nutcracker``. Raises TwemproxyNotFoundError (naming the apt
    package) iff none is an executable file.
    """
    return _find_binary(
        "nutcracker",
        binary,
        "FASTMC_NUTCRACKER",
        ("/usr/sbin/nutcracker", "/usr/bin/nutcracker"),
        TwemproxyNotFoundError,
    )


def _nutcracker_server_entry(address: str, weight: int) -> str:
    """One ``servers:`` line of nutcracker's YAML: ``host:port:weight`` or ``/path:weight``."""
    if address.startswith("unix:") or address.startswith("/"):
        return f"{address.removeprefix('unix:')}:{weight}"
    host, separator, port = address.rpartition(":")
    if not separator or not port.isdigit() or not host:
        raise ValueError(f"twemproxy backend {address!r} is not HOST:PORT or a unix socket path")
    if ":" in host or "[" in host:
        # nutcracker 0.5's configuration parser rejects bracketed IPv6 addresses.
        raise ValueError(f"twemproxy backend {address!r}: nutcracker takes no IPv6 address")
    return f"{host}:{port}:{weight}"


def _yaml_scalar(value: object) -> str:
    """A configuration value as nutcracker's YAML reads it (booleans lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if not text or any(char in text for char in ":#{}[],&*!|>'\"%@`\n") or text != text.strip():
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return text


def _listening_socket_inodes(port: int) -> set[str] | None:
    """Inodes of the TCP sockets listening on ``port`` (Linux /proc), or None without /proc."""
    inodes: set[str] = set()
    found_table = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as stream:
                lines = stream.read().splitlines()[1:]
        except OSError:
            continue
        found_table = True
        for line in lines:
            fields = line.split()
            # fields: sl local_address rem_address st ... uid timeout inode
            if (
                len(fields) > 9
                and fields[3] == _TCP_LISTEN_STATE
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(fields[9])
    return inodes if found_table else None


def _process_listens_on(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` owns a socket listening on ``port``; None if /proc cannot tell."""
    listening = _listening_socket_inodes(port)
    if listening is None:
        return None
    if not listening:
        return False
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    for descriptor in descriptors:
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
            if target.startswith("socket:[") and target[len("socket:[") : -1] in listening:
                return True
    return False


def _nutcracker_log_problems(log: str) -> str:
    """nutcracker's log without its start and exit banners, which every run writes."""
    banners = ("started on pid", "run, rabbit run", "done, rabbit done")
    return "\n".join(
        line for line in log.splitlines() if line.strip() and not any(b in line for b in banners)
    )


class _ProxyPortTakenError(Exception):
    """nutcracker could not bind one of the ports we chose for it."""

    def __init__(self, message: str, stats_port: bool) -> None:
        super().__init__(message)
        self.stats_port = stats_port


# Proxies that may still have a process; killed at interpreter exit.
_live_proxies: weakref.WeakSet[TwemproxyServer] = weakref.WeakSet()


@atexit.register
def _stop_leaked_proxies() -> None:
    for proxy in list(_live_proxies):
        with contextlib.suppress(Exception):
            proxy.close()


class TwemproxyServer(_ChildProcess):
    """One twemproxy (nutcracker) process in front of memcached servers, for tests.

    nutcracker listens on a free loopback port and spreads keys over
    ``servers`` (addresses as fastmc.Client takes them: ``"host:port"``,
    ``"unix:/path"``); a client talks to ``address`` as to one memcached. The
    configuration is one pool written to a private temporary folder, with
    nutcracker's log next to it (``log_text()``). Like MemcachedServer, the
    process is always killed: on ``stop()``/``close()``, at the end of a
    ``with`` block, when the object is collected, at interpreter exit, and (from
    the main thread, on Linux) when the parent process dies.

    Arguments: ``servers`` (at least one), ``weights`` (one per server; default
    1 each), ``hash`` and ``distribution`` (nutcracker's names: ``fnv1a_64``,
    ``md5``, ``crc32``, ...; ``ketama``, ``modula``, ``random``), ``timeout``
    (seconds nutcracker waits for a backend to connect or answer before it
    answers ``SERVER_ERROR Connection timed out``; None waits forever, which is
    nutcracker's own default), ``auto_eject_hosts`` (take a failing backend out
    of the ring), ``extra_config`` (more pool keys, e.g.
    ``{"server_connections": 2}``), ``port`` (None: a free one), ``host``,
    ``binary`` (see ``find_nutcracker``), ``start_timeout`` (seconds to wait
    for nutcracker to listen).

    The address is fixed at the first start, so ``start()`` after ``kill()``
    comes back on the same port. Thread-safety: as MemcachedServer.

    Example::

        with MemcachedCluster(3) as cluster, TwemproxyServer(cluster.addresses) as proxy:
            client = fastmc.Client(proxy.address)
    """

    _live = _live_proxies

    def __init__(
        self,
        servers: Sequence[str],
        *,
        weights: Sequence[int] | None = None,
        hash: str = "fnv1a_64",
        distribution: str = "ketama",
        timeout: float | None = 0.5,
        auto_eject_hosts: bool = False,
        extra_config: Mapping[str, str | int | bool] | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
        binary: str | None = None,
        start_timeout: float = 10.0,
    ) -> None:
        if isinstance(servers, str):
            servers = [servers]
        if not servers:
            raise ValueError("twemproxy needs at least one backend server")
        if weights is not None and len(weights) != len(servers):
            raise ValueError(f"{len(weights)} weights for {len(servers)} servers")
        if timeout is not None and timeout <= 0:
            raise ValueError("timeout must be positive (or None: no limit)")
        if ":" in host:
            raise ValueError("nutcracker 0.5 cannot listen on an IPv6 address")
        self._binary = find_nutcracker(binary)
        weights = weights if weights is not None else [1] * len(servers)
        self._servers = list(servers)
        self._server_entries = [
            _nutcracker_server_entry(address, int(weight))
            for address, weight in zip(servers, weights, strict=True)
        ]
        pool: dict[str, str | int | bool] = {
            "hash": hash,
            "distribution": distribution,
            "auto_eject_hosts": auto_eject_hosts,
        }
        if timeout is not None:
            # nutcracker counts milliseconds; round up so a tiny timeout is not "none".
            pool["timeout"] = max(1, int(timeout * 1000 + 0.999))
        pool.update(extra_config or {})
        for reserved in ("listen", "servers"):
            if reserved in pool:
                raise ValueError(f"{reserved!r} is set by TwemproxyServer, not extra_config")
        self._pool_settings = pool
        self._host = host
        self._port: int | None = port
        self._stats_port: int | None = None
        self._start_timeout = start_timeout
        self._folder: str | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- addresses ---------------------------------------------------------------

    @property
    def address(self) -> str:
        """``"HOST:PORT"`` of the proxy, as fastmc.Client takes it.

        Requires: the proxy has been started at least once.
        """
        if self._port is None:
            raise RuntimeError("the proxy has not been started yet")
        return _format_address(self._host, self._port)

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int | None:
        """The proxy's TCP port (None before the first start)."""
        return self._port

    @property
    def stats_port(self) -> int | None:
        """nutcracker's own JSON statistics port on ``host`` (None until started)."""
        return self._stats_port

    @property
    def servers(self) -> list[str]:
        """The backend addresses, in the order given."""
        return list(self._servers)

    @property
    def config_text(self) -> str:
        """The YAML configuration the next start writes (after the port is chosen)."""
        lines = [f"{_TWEMPROXY_POOL_NAME}:", f"  listen: {self._host}:{self._port or 0}"]
        lines += [f"  {name}: {_yaml_scalar(value)}" for name, value in self._pool_settings.items()]
        lines.append("  servers:")
        lines += [f"    - {entry}" for entry in self._server_entries]
        return "\n".join(lines) + "\n"

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> TwemproxyServer:
        """Starts nutcracker and returns once it listens on ``address``.

        nutcracker does not connect to the backends until a request needs them,
        so a backend that is down is only noticed then (``SERVER_ERROR``).
        Raises TwemproxyStartError (with nutcracker's log) if it exits or does
        not listen within ``start_timeout``; RuntimeError if already running.
        """
        if self.is_running:
            raise RuntimeError(f"nutcracker at {self.address} is already running")
        self._ensure_folder()
        choose_port = self._port is None
        for attempt in range(_PORT_ATTEMPTS):
            if choose_port:
                self._port = _free_port(self._host)
            # The statistics port is never part of the address: choose it afresh.
            self._stats_port = _free_port(self._host)
            try:
                self._launch()
                return self
            except _ProxyPortTakenError as error:
                if not choose_port and not error.stats_port:
                    raise TwemproxyStartError(
                        f"nutcracker cannot listen at {self.address}: {error}"
                    ) from None
                if attempt == _PORT_ATTEMPTS - 1:
                    if choose_port:
                        self._port = None
                    raise TwemproxyStartError(
                        f"nutcracker could not bind free ports on {self._host} "
                        f"after {_PORT_ATTEMPTS} attempts: {error}"
                    ) from None
        raise AssertionError("unreachable")

    def log_text(self) -> str:
        """What nutcracker has logged (its ``-o`` file and its own output) so far."""
        if self._folder is None:
            return ""
        parts = []
        for name in (_NUTCRACKER_LOG_FILE_NAME, _NUTCRACKER_OUTPUT_FILE_NAME):
            path = os.path.join(self._folder, name)
            with contextlib.suppress(FileNotFoundError), open(path, "rb") as stream:
                parts.append(stream.read().decode("utf-8", "replace"))
        return "".join(parts)

    def __repr__(self) -> str:
        where = self.address if self._port is not None else "not started"
        state = "running" if self.is_running else "stopped"
        return f"<TwemproxyServer {where} -> {self._servers} {state}>"

    # -- internals ---------------------------------------------------------------

    def _ensure_folder(self) -> None:
        if self._folder is None or not os.path.isdir(self._folder):
            self._folder = tempfile.mkdtemp(prefix="fastmc-twemproxy-")

    def _remove_folder(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _path(self, name: str) -> str:
        assert self._folder is not None
        return os.path.join(self._folder, name)

    def _launch(self) -> None:
        """Runs nutcracker once on the current ports and waits until it listens.

        Raises _ProxyPortTakenError iff nutcracker exited because a port was in use.
        """
        config_path = self._path(_NUTCRACKER_CONFIG_FILE_NAME)
        with open(config_path, "w") as config:
            config.write(self.config_text)
        log_path = self._path(_NUTCRACKER_LOG_FILE_NAME)
        # A fresh log per launch: an old bind failure must not be read as this one's.
        with contextlib.suppress(FileNotFoundError):
            os.remove(log_path)
        command = [
            self._binary,
            "--conf-file",
            config_path,
            "--output",
            log_path,
            "--pid-file",
            self._path(_NUTCRACKER_PID_FILE_NAME),
            "--stats-addr",
            self._host,
            "--stats-port",
            str(self._stats_port),
        ]
        # A file, not a pipe: nutcracker must never block on a full pipe.
        with open(self._path(_NUTCRACKER_OUTPUT_FILE_NAME), "wb") as output:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                close_fds=True,
                preexec_fn=_child_setup(None, False),
            )
        _live_proxies.add(self)
        try:
            self._wait_until_listening()
        except BaseException:
            self.kill()
            raise

    def _accepts_connections(self) -> bool:
        try:
            with _connect(self.address, timeout=0.25):
                return True
        except OSError:
            return False

    def _wait_until_listening(self) -> None:
        assert self._process is not None and self._port is not None
        process = self._process
        deadline = time.monotonic() + self._start_timeout
        delay = 0.002
        while True:
            exit_code = process.poll()
            if exit_code is not None:
                log = _nutcracker_log_problems(self.log_text())
                if _NUTCRACKER_BIND_FAILURE_TEXT in log:
                    raise _ProxyPortTakenError(log, _NUTCRACKER_STATS_BIND_TEXT in log)
                raise TwemproxyStartError(
                    f"nutcracker exited with status {exit_code} while starting at "
                    f"{self.address} ({' '.join(process.args)}): {log or 'no log output'}"
                )
            # Our own process must own the listening socket: another one that
            # took the port between our probe and nutcracker's bind would
            # otherwise pass for the proxy.
            owns = _process_listens_on(process.pid, self._port)
            if owns is None:
                # No /proc to ask: a connect accepted while nutcracker still runs.
                owns = self._accepts_connections() and process.poll() is None
            if owns:
                return
            if time.monotonic() > deadline:
                raise TwemproxyStartError(
                    f"nutcracker did not listen at {self.address} within {self._start_timeout} s: "
                    f"{_nutcracker_log_problems(self.log_text()) or 'no log output'}"
                )
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(delay)
            delay = min(delay * 2, 0.05)
