# SPDX-License-Identifier: MIT
"""A plain socket for pymemcache's arbitrary text commands.

``raw_command``, ``cache_memlimit`` and ``shutdown`` send text the native
client has no call for (it speaks only the commands it parses). This
connection is opened on first use, kept for the next, and closed on any
error, as pymemcache does with its one socket; the data path never uses it.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading

from fastmc.compat.pymemcache.exceptions import (
    MemcacheClientError,
    MemcacheServerError,
    MemcacheUnexpectedCloseError,
    MemcacheUnknownCommandError,
)

_RECEIVE_SIZE = 4096


def raise_error_line(line: bytes, name: bytes) -> None:
    """Raises pymemcache's exception for an ERROR, CLIENT_ERROR or SERVER_ERROR line."""
    if line.startswith(b"ERROR"):
        raise MemcacheUnknownCommandError(name)
    if line.startswith(b"CLIENT_ERROR"):
        raise MemcacheClientError(line[line.find(b" ") + 1 :])
    if line.startswith(b"SERVER_ERROR"):
        raise MemcacheServerError(line[line.find(b" ") + 1 :])


class RawConnection:
    """One connection to one server, for text commands sent as given.

    ``server`` is ``(host, port)`` or a unix socket path; timeouts in seconds,
    None = no limit. Thread-safe: one command at a time holds the connection.
    """

    def __init__(
        self,
        server: tuple[str, int] | str,
        connect_timeout: float | None,
        timeout: float | None,
        tls_context: ssl.SSLContext | None,
    ) -> None:
        self.server = server
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.tls_context = tls_context
        self._socket: socket.socket | None = None
        self._buffer = b""
        self._lock = threading.Lock()

    def _connect(self) -> socket.socket:
        if isinstance(self.server, tuple):
            sock = socket.create_connection(self.server, timeout=self.connect_timeout)
            if self.tls_context is not None:
                sock = self.tls_context.wrap_socket(sock, server_hostname=self.server[0])
        else:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.connect_timeout)
            try:
                sock.connect(self.server)
            except BaseException:
                sock.close()
                raise
        sock.settimeout(self.timeout)
        return sock

    def command(self, name: bytes, request: bytes, end_tokens: bytes | None) -> bytes:
        """Sends ``request`` and returns the reply up to ``end_tokens``
        (removed), raising pymemcache's exception for an error reply; with
        ``end_tokens`` None nothing is read and b"" is returned."""
        with self._lock:
            reply = self._exchange(request, end_tokens)
        raise_error_line(reply, name)
        return reply

    def _exchange(self, request: bytes, end_tokens: bytes | None) -> bytes:
        try:
            if self._socket is None:
                self._socket = self._connect()
                self._buffer = b""
            self._socket.sendall(request)
            if end_tokens is None:
                return b""
            return self._read_until(end_tokens)
        except BaseException:
            self._close()
            raise

    def _read_until(self, end_tokens: bytes) -> bytes:
        assert self._socket is not None
        while True:
            position = self._buffer.find(end_tokens)
            if position != -1:
                reply = self._buffer[:position]
                self._buffer = self._buffer[position + len(end_tokens) :]
                return reply
            received = self._socket.recv(_RECEIVE_SIZE)
            if not received:
                raise MemcacheUnexpectedCloseError()
            self._buffer += received

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None
            self._buffer = b""
