# SPDX-License-Identifier: MIT
"""TLS faults a real memcached cannot produce: a handshake that stalls, a
server that hangs up mid-handshake, and what the client sends as SNI."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from scripted_server import Close, NeverReply, ReadUntil, ScriptedServer

import fastmc
from fastmc.testing import TestCertificates


@pytest.fixture(scope="module")
def certificates() -> Iterator[TestCertificates]:
    certificates = TestCertificates(server_names=("localhost", "cache.internal"))
    yield certificates
    certificates.close()


@pytest.mark.parametrize("connect_timeout", [0.3, 0.6])
def test_a_stalled_handshake_times_out_within_the_connect_timeout(
    scripted_server: Callable[..., ScriptedServer],
    certificates: TestCertificates,
    connect_timeout: float,
) -> None:
    server = scripted_server([NeverReply()])  # accepts, reads the hello, never answers
    client = fastmc.Client(
        [server.address],
        tls=True,
        tls_ca_file=certificates.ca_file,
        connect_timeout=connect_timeout,
        timeout=5,
    )
    started = time.monotonic()
    with pytest.raises(fastmc.TimeoutError, match="no TLS handshake") as raised:
        client.get("k")
    elapsed = time.monotonic() - started
    assert connect_timeout <= elapsed < connect_timeout + 0.2
    assert raised.value.cause == "connect_timeout"
    # The client did send its hello: the wait was the server's.
    assert server.connections[0].received[:1] == b"\x16"


def test_a_stalled_handshake_never_outlives_the_call_timeout(
    scripted_server: Callable[..., ScriptedServer], certificates: TestCertificates
) -> None:
    server = scripted_server([NeverReply()])
    client = fastmc.Client(
        [server.address], tls=True, tls_ca_file=certificates.ca_file, connect_timeout=0, timeout=0.3
    )
    started = time.monotonic()
    with pytest.raises(fastmc.TimeoutError):
        client.get("k")
    assert time.monotonic() - started < 0.5


def test_a_server_that_hangs_up_mid_handshake_is_a_tls_error(
    scripted_server: Callable[..., ScriptedServer], certificates: TestCertificates
) -> None:
    server = scripted_server([ReadUntil(b"\x00"), Close()])
    client = fastmc.Client([server.address], tls=True, tls_ca_file=certificates.ca_file)
    with pytest.raises(fastmc.TLSError, match="closed the connection during the TLS handshake"):
        client.get("k")


class SniServer:
    """A TLS server speaking just enough of the text protocol (every request
    line answered END) that records the SNI each handshake carried."""

    def __init__(self, certificates: TestCertificates) -> None:
        self.names: list[str | None] = []
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(certificates.server_cert_file, certificates.server_key_file)
        self._context.sni_callback = lambda _socket, name, _context: self.names.append(name)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            try:
                with self._context.wrap_socket(raw, server_side=True) as connection:
                    connection.settimeout(2)
                    buffer = b""
                    while chunk := connection.recv(4096):
                        buffer += chunk
                        while b"\r\n" in buffer:
                            _, buffer = buffer.split(b"\r\n", 1)
                            connection.sendall(b"END\r\n")
            except (OSError, ssl.SSLError):
                pass

    def close(self) -> None:
        self._listener.close()
        self._thread.join(2)


@pytest.fixture
def sni_server(certificates: TestCertificates) -> Iterator[SniServer]:
    server = SniServer(certificates)
    yield server
    server.close()


@pytest.mark.parametrize(
    ("host", "server_name", "sent"),
    [
        ("localhost", "", "localhost"),  # the host name as written
        ("127.0.0.1", "cache.internal", "cache.internal"),  # tls_server_name wins
        ("127.0.0.1", "", None),  # RFC 6066: SNI names hosts, never addresses
    ],
)
def test_the_sni_sent(
    sni_server: SniServer,
    certificates: TestCertificates,
    host: str,
    server_name: str,
    sent: str | None,
) -> None:
    client = fastmc.Client(
        [f"{host}:{sni_server.port}"],
        tls=True,
        tls_ca_file=certificates.ca_file,
        tls_server_name=server_name,
        protocol="text",
    )
    assert client.get("k") is None  # the certificate names localhost, cache.internal and the IP
    assert sni_server.names == [sent]
