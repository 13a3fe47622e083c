# SPDX-License-Identifier: MIT
"""SASL over the binary protocol against memcached -S with a database the test creates."""

from __future__ import annotations

import time

import pytest

import fastmc

USERS = {"alice": "wonderland", "bob": "b0b"}


@pytest.fixture
def sasl_server(memcached_factory):
    return memcached_factory(sasl_users=USERS)


def client(server, **credentials):
    return fastmc.Client(server.address, protocol="binary", timeout=1.0, **credentials)


def test_the_right_password_round_trips_every_call(sasl_server):
    with client(sasl_server, username="alice", password="wonderland") as mc:
        assert mc.set("k", b"v") is True
        assert mc.get("k") == b"v"
        assert mc.get_many(["k", "missing"]) == {"k": b"v"}
        assert mc.set_many({"a": b"1", "b": b"2"}) == []
        assert mc.incr("missing") is None
        assert mc.delete("a") is True
        ((_, stats),) = mc.stats().items()
        assert stats["auth_cmds"] >= 1
        mc.flush_all()
        assert mc.get("k") is None
    with client(sasl_server, username="bob", password="b0b") as other:
        assert other.set("k", b"bob") is True


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "alice", "password": "wrong"},
        {"username": "mallory", "password": "wonderland"},
        {"username": "alice", "password": ""},
    ],
)
def test_wrong_credentials_raise_authentication_error_quickly(sasl_server, credentials):
    with client(sasl_server, **credentials) as mc:
        for _ in range(3):  # every call says why, none hangs, the server is not marked down
            started = time.monotonic()
            with pytest.raises(fastmc.AuthenticationError, match="auth_failed"):
                mc.get("k")
            assert time.monotonic() - started < 0.5
        with pytest.raises(fastmc.AuthenticationError):
            mc.set_many({"a": b"1"})


def test_no_credentials_against_a_sasl_server_raise_authentication_error(sasl_server):
    with client(sasl_server) as mc:
        with pytest.raises(fastmc.AuthenticationError):
            mc.set("k", b"v")
        with pytest.raises(fastmc.AuthenticationError):
            mc.get_many(["a", "b"])


def test_authentication_error_is_a_permission_error(sasl_server):
    with (
        client(sasl_server, username="alice", password="wrong") as mc,
        pytest.raises(PermissionError),
    ):
        mc.get("k")


def test_miss_on_error_does_not_hide_a_refused_password(sasl_server):
    mc = fastmc.Client(
        sasl_server.address,
        protocol="binary",
        username="alice",
        password="wrong",
        miss_on_error=True,
    )
    with pytest.raises(fastmc.AuthenticationError):
        mc.get("k")


def test_credentials_against_a_server_without_sasl_raise_authentication_error(memcached_factory):
    server = memcached_factory(protocol="binary")
    with (
        client(server, username="alice", password="wonderland") as mc,
        pytest.raises(fastmc.AuthenticationError, match="SASL"),
    ):
        mc.get("k")


def test_a_restarted_server_is_authenticated_again(sasl_server):
    with client(sasl_server, username="alice", password="wonderland") as mc:
        mc.set("k", b"1")
        sasl_server.restart()
        assert mc.get("k") is None
        assert mc.set("k", b"2") is True
        assert mc.get("k") == b"2"


def test_testing_server_reports_its_users(sasl_server):
    assert sasl_server.sasl_users == USERS
    assert "-S" in sasl_server.command


def test_tls_and_sasl_together(memcached_factory):
    # memcached -Z -S: the SASL exchange runs inside the TLS session, and a
    # wrong password is refused there just the same.
    server = memcached_factory(sasl_users=USERS, tls=True)
    tls = server.client_kwargs()
    assert "tls_ca_file" in tls
    with fastmc.Client(
        server.address, protocol="binary", username="alice", password="wonderland", **tls
    ) as mc:
        assert mc.set("k", b"x" * 300_000) is True
        assert mc.get("k") == b"x" * 300_000
        assert mc.get_many(["k", "missing"]) == {"k": b"x" * 300_000}
    with (
        fastmc.Client(
            server.address, protocol="binary", username="alice", password="wrong", **tls
        ) as mc,
        pytest.raises(fastmc.AuthenticationError),
    ):
        mc.get("k")
    with (
        fastmc.Client(
            server.address, protocol="binary", username="alice", password="wonderland"
        ) as plain,
        pytest.raises(fastmc.ConnectionError),
    ):
        plain.get("k")  # a plaintext client on the TLS port
