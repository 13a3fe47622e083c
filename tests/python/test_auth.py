# SPDX-License-Identifier: MIT
"""memcached's ASCII authentication (-Y), alone and with TLS, against real servers."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

import fastmc
from fastmc.testing import MemcachedServer, TestCertificates

PROTOCOLS = ["meta", "text"]


@pytest.fixture(scope="module")
def auth_server() -> Iterator[MemcachedServer]:
    with MemcachedServer(auth={"alice": "secret", "bob": "p@ss:w0rd"}) as server:
        yield server


@pytest.fixture(scope="module")
def tls_auth_server() -> Iterator[MemcachedServer]:
    with MemcachedServer(tls=True, auth=("carol", "hunter2")) as server:
        yield server


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_good_credentials(auth_server: MemcachedServer, protocol: str) -> None:
    client = fastmc.Client(
        [auth_server.address], username="alice", password="secret", protocol=protocol
    )
    assert client.set("k", b"v") is True
    assert client.get("k") == b"v"
    assert client.get_many(["k", "missing"]) == {"k": b"v"}
    assert client.set_many({"a": b"1", "b": b"2"}) == []
    # The auth request did not store anything under its own key.
    assert client.get("fastmc:ascii-auth") is None


def test_a_password_with_symbols(auth_server: MemcachedServer) -> None:
    # (memcached 1.6.18 compares the whole "user password" token with each
    # "user:password" line split at its first ':', so a space never matches.)
    client = fastmc.Client([auth_server.address], username="bob", password="p@ss:w0rd")
    assert client.set("bob", b"v") is True


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_wrong_password_is_an_authentication_error(
    auth_server: MemcachedServer, protocol: str
) -> None:
    client = fastmc.Client(
        [auth_server.address], username="alice", password="wrong", protocol=protocol
    )
    started = time.monotonic()
    with pytest.raises(fastmc.AuthenticationError, match='refused the credentials of user "alice"'):
        client.get("k")
    assert time.monotonic() - started < 0.5
    # Refused credentials are reported as such every time, never as server_down.
    for _ in range(3):
        with pytest.raises(fastmc.AuthenticationError) as raised:
            client.set("k", b"v")
        assert raised.value.cause == "auth_failed"
        assert "wrong" not in str(raised.value)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("call", ["get", "set", "get_many"])
def test_no_credentials_is_an_authentication_error(
    auth_server: MemcachedServer, protocol: str, call: str
) -> None:
    client = fastmc.Client([auth_server.address], protocol=protocol, timeout=1)
    started = time.monotonic()
    with pytest.raises(fastmc.AuthenticationError, match="requires authentication"):
        if call == "get":
            client.get("k")
        elif call == "set":
            client.set("k", b"user pass")
        else:
            client.get_many(["k", "l"])
    assert time.monotonic() - started < 0.5


def test_credentials_for_one_server_in_its_string(auth_server: MemcachedServer) -> None:
    client = fastmc.Client([f"tcp://bob:p%40ss%3Aw0rd@{auth_server.address}"])
    assert client.set("url", b"v") is True
    assert client.servers == [auth_server.address]


def test_server_string_errors_never_show_the_password() -> None:
    with pytest.raises(ValueError) as raised:
        fastmc.Client(["tls://alice:topsecret@host:notaport"])
    assert "topsecret" not in str(raised.value)
    with pytest.raises(ValueError, match="credentials must be user:password"):
        fastmc.Client(["tls://alice@host:1"])
    with pytest.raises(ValueError, match="unknown scheme"):
        fastmc.Client(["http://host:1"])


def test_a_username_with_a_space_is_refused() -> None:
    with pytest.raises(ValueError, match="space"):
        fastmc.Client(["127.0.0.1:1"], username="al ice", password="x")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tls_and_ascii_auth_together(tls_auth_server: MemcachedServer, protocol: str) -> None:
    client = fastmc.Client(
        [tls_auth_server.address], protocol=protocol, **tls_auth_server.client_kwargs()
    )
    assert client.set("both", b"v" * 100_000) is True
    assert client.get("both") == b"v" * 100_000
    kwargs = tls_auth_server.client_kwargs()
    kwargs["password"] = "wrong"
    with pytest.raises(fastmc.AuthenticationError):
        fastmc.Client([tls_auth_server.address], protocol=protocol, **kwargs).get("both")
    del kwargs["username"], kwargs["password"]
    with pytest.raises(fastmc.AuthenticationError):
        fastmc.Client([tls_auth_server.address], protocol=protocol, **kwargs).get("both")


def test_test_certificates_are_removed_on_close() -> None:
    certificates = TestCertificates()
    folder = certificates.folder
    certificates.close()
    assert not os.path.exists(folder)
