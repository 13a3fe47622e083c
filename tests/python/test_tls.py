# SPDX-License-Identifier: MIT
"""TLS against real memcached started with -Z and certificates made for the test."""

from __future__ import annotations

import os
import random
import ssl
import threading
import time
from collections.abc import Iterator

import pytest

import fastmc
from fastmc.testing import MemcachedServer, TestCertificates

BIG = bytes(range(256)) * (900 * 1024 // 256)  # 900 KiB, above the 64 KiB direct path


@pytest.fixture(scope="module")
def certificates() -> Iterator[TestCertificates]:
    certificates = TestCertificates()
    yield certificates
    certificates.close()


@pytest.fixture(scope="module")
def tls_server(certificates: TestCertificates) -> Iterator[MemcachedServer]:
    with MemcachedServer(tls=certificates) as server:
        yield server


@pytest.fixture(scope="module")
def mutual_tls_server(certificates: TestCertificates) -> Iterator[MemcachedServer]:
    with MemcachedServer(tls=certificates, tls_client_certs=True) as server:
        yield server


@pytest.fixture(scope="module")
def plain_server() -> Iterator[MemcachedServer]:
    with MemcachedServer() as server:
        yield server


def localhost(server: MemcachedServer) -> str:
    """The server by the name its certificate carries as DNS name."""
    return f"localhost:{server.port}"


def tls_client(
    server: MemcachedServer, certificates: TestCertificates, **kwargs: object
) -> fastmc.Client:
    """A client of `server` by name, over TLS, trusting the test CA."""
    return fastmc.Client([localhost(server)], tls=True, tls_ca_file=certificates.ca_file, **kwargs)


@pytest.mark.parametrize("protocol", ["meta", "text"])
def test_every_basic_command_round_trips_over_tls(
    tls_server: MemcachedServer, certificates: TestCertificates, protocol: str
) -> None:
    client = tls_client(tls_server, certificates, protocol=protocol)
    prefix = f"{protocol}:"
    assert client.set(prefix + "a", b"1") is True
    assert client.get(prefix + "a") == b"1"
    assert client.add(prefix + "a", b"x") is False
    assert client.replace(prefix + "a", b"2") is True
    assert client.append(prefix + "a", b"3") is True
    assert client.prepend(prefix + "a", b"0") is True
    assert client.get(prefix + "a") == b"023"
    value, cas = client.gets(prefix + "a")
    assert value == b"023"
    assert client.cas(prefix + "a", b"9", cas) is True
    assert client.cas(prefix + "a", b"8", cas) is False
    assert client.set(prefix + "n", 10) is True
    assert client.incr(prefix + "n", 5) == 15
    assert client.decr(prefix + "n", 3) == 12
    assert client.touch(prefix + "n", 100) is True
    assert client.gat(prefix + "n", 100) == 12
    assert client.set(prefix + "big", BIG) is True
    assert client.get(prefix + "big") == BIG
    entries = {f"{prefix}k{i}": BIG[: 1000 * i] for i in range(1, 40)}
    assert client.set_many(entries) == []
    assert client.get_many([*entries, prefix + "missing"]) == entries
    assert client.delete(prefix + "a") is True
    assert client.get(prefix + "a") is None
    assert client.delete_many(list(entries)) == len(entries)
    (version,) = client.version().values()
    assert version.startswith("1.")
    assert next(iter(client.stats().values()))["curr_connections"] >= 1


def test_many_large_values_from_two_tls_servers_at_once(certificates: TestCertificates) -> None:
    # get_many drives both connections with poll(): every TLS record OpenSSL
    # already holds must be read without waiting for the descriptor.
    with MemcachedServer(tls=certificates) as a, MemcachedServer(tls=certificates) as b:
        client = fastmc.Client(
            [localhost(a), localhost(b)], tls=True, tls_ca_file=certificates.ca_file
        )
        values = {f"key{i}": os.urandom(1 + 37_000 * (i % 7)) for i in range(60)}
        assert client.set_many(values) == []
        assert {client.server_for_key(key) for key in values} == set(client.servers)
        for _ in range(3):
            assert client.get_many(list(values)) == values


def test_an_ip_address_is_checked_against_the_certificate_ip(
    tls_server: MemcachedServer, certificates: TestCertificates
) -> None:
    client = fastmc.Client([tls_server.address], tls=True, tls_ca_file=certificates.ca_file)
    assert tls_server.address.startswith("127.0.0.1:")
    assert client.set("ip", b"v") is True


def test_verification_is_on_by_default(tls_server: MemcachedServer) -> None:
    # The system store does not know the test CA.
    client = fastmc.Client([localhost(tls_server)], tls=True)
    with pytest.raises(fastmc.TLSError, match="certificate verification failed") as raised:
        client.get("k")
    assert raised.value.cause == "tls_failed"
    assert isinstance(raised.value, fastmc.ConnectionError)


def test_an_unknown_ca_is_refused(tls_server: MemcachedServer) -> None:
    other = TestCertificates()
    try:
        client = fastmc.Client([localhost(tls_server)], tls=True, tls_ca_file=other.ca_file)
        with pytest.raises(fastmc.TLSError, match="certificate verification failed"):
            client.get("k")
    finally:
        other.close()


def test_a_wrong_host_name_is_refused(
    tls_server: MemcachedServer, certificates: TestCertificates
) -> None:
    client = tls_client(tls_server, certificates, tls_server_name="cache.example.com")
    with pytest.raises(fastmc.TLSError, match=r'hostname mismatch.*"cache\.example\.com"'):
        client.get("k")


def test_verification_can_be_turned_off(tls_server: MemcachedServer) -> None:
    client = fastmc.Client(
        [localhost(tls_server)], tls=True, tls_verify=False, tls_server_name="cache.example.com"
    )
    assert client.set("unverified", b"v") is True
    assert client.get("unverified") == b"v"


def test_a_missing_ca_file_is_a_value_error(tls_server: MemcachedServer) -> None:
    with pytest.raises(ValueError, match="ca_file"):
        fastmc.Client([localhost(tls_server)], tls=True, tls_ca_file="/nonexistent/ca.pem")


def test_minimum_version_and_ciphers(
    tls_server: MemcachedServer, certificates: TestCertificates
) -> None:
    strict = tls_client(tls_server, certificates, tls_min_version="1.3")
    assert strict.set("tls13", b"v") is True
    chosen = tls_client(tls_server, certificates, tls_ciphers="ECDHE+AESGCM")
    assert chosen.get("tls13") == b"v"
    with pytest.raises(ValueError, match="min_version"):
        fastmc.Client([localhost(tls_server)], tls=True, tls_min_version="1.0")
    with pytest.raises(ValueError, match="ciphers"):
        fastmc.Client([localhost(tls_server)], tls=True, tls_ciphers="NO-SUCH-CIPHER")


def test_mutual_tls(mutual_tls_server: MemcachedServer, certificates: TestCertificates) -> None:
    client = tls_client(
        mutual_tls_server,
        certificates,
        tls_cert_file=certificates.client_cert_file,
        tls_key_file=certificates.client_key_file,
    )
    assert client.set("mtls", b"v") is True
    assert client.get("mtls") == b"v"


def test_mutual_tls_without_a_client_certificate_is_a_tls_error(
    mutual_tls_server: MemcachedServer, certificates: TestCertificates
) -> None:
    client = tls_client(mutual_tls_server, certificates, timeout=2)
    started = time.monotonic()
    with pytest.raises(fastmc.TLSError, match="certificate"):
        client.get("k")
    assert time.monotonic() - started < 2.5


def test_an_ssl_context_is_used_as_given(
    mutual_tls_server: MemcachedServer, certificates: TestCertificates
) -> None:
    context = ssl.create_default_context(cafile=certificates.ca_file)
    context.load_cert_chain(certificates.client_cert_file, certificates.client_key_file)
    client = fastmc.Client([localhost(mutual_tls_server)], tls_context=context)
    assert client.set("context", b"v") is True
    del context  # the client holds its own reference to the OpenSSL context
    assert client.get("context") == b"v"


def test_an_ssl_context_without_the_ca_refuses_the_server(tls_server: MemcachedServer) -> None:
    client = fastmc.Client([localhost(tls_server)], tls_context=ssl.create_default_context())
    with pytest.raises(fastmc.TLSError, match="certificate verification failed"):
        client.get("k")


def test_an_ssl_context_decides_the_host_name_check(
    tls_server: MemcachedServer, certificates: TestCertificates
) -> None:
    context = ssl.create_default_context(cafile=certificates.ca_file)
    checking = fastmc.Client(
        [localhost(tls_server)], tls_context=context, tls_server_name="cache.example.com"
    )
    with pytest.raises(fastmc.TLSError, match="hostname mismatch"):
        checking.get("k")
    context.check_hostname = False
    lenient = fastmc.Client(
        [localhost(tls_server)], tls_context=context, tls_server_name="cache.example.com"
    )
    assert lenient.set("lenient", b"v") is True


def test_an_unverifying_ssl_context(tls_server: MemcachedServer) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    client = fastmc.Client([localhost(tls_server)], tls_context=context)
    assert client.set("none", b"v") is True


def test_a_tls_context_must_be_an_ssl_context(tls_server: MemcachedServer) -> None:
    with pytest.raises(TypeError, match=r"ssl\.SSLContext"):
        fastmc.Client([localhost(tls_server)], tls_context=object())  # type: ignore[arg-type]


def test_a_context_that_calls_into_python_is_refused(
    tls_server: MemcachedServer, tmp_path: os.PathLike[str]
) -> None:
    context = ssl.create_default_context()
    context.keylog_filename = os.path.join(tmp_path, "keys.log")
    with pytest.raises(ValueError, match="keylog_filename"):
        fastmc.Client([localhost(tls_server)], tls_context=context)


@pytest.mark.parametrize("protocol", ["meta", "text"])
def test_a_plaintext_client_on_a_tls_port_fails_within_the_timeout(
    tls_server: MemcachedServer, protocol: str
) -> None:
    client = fastmc.Client([tls_server.address], timeout=0.5, protocol=protocol)
    started = time.monotonic()
    with pytest.raises((fastmc.ConnectionError, fastmc.TimeoutError)) as raised:
        client.get("some-key")
    assert time.monotonic() - started < 0.5 + 0.3
    if isinstance(raised.value, fastmc.ConnectionError):
        assert "TLS-only server" in str(raised.value)


def test_a_tls_client_on_a_plaintext_port_is_a_tls_error(
    plain_server: MemcachedServer, certificates: TestCertificates
) -> None:
    client = fastmc.Client(
        [plain_server.address], tls=True, tls_ca_file=certificates.ca_file, timeout=0.5
    )
    started = time.monotonic()
    with pytest.raises(fastmc.TLSError, match="does not speak TLS"):
        client.get("k")
    assert time.monotonic() - started < 0.8


def round_trip_on_every_server(client: fastmc.Client, prefix: str) -> dict[str, bytes]:
    """Stores and reads back keys that land on every server of `client`."""
    values = {f"{prefix}{i}": str(i).encode() for i in range(40)}
    assert client.set_many(values) == []
    assert client.get_many(list(values)) == values
    assert {client.server_for_key(key) for key in values} == set(client.servers)
    return values


def test_tls_on_some_servers_of_a_cluster_only(
    tls_server: MemcachedServer, plain_server: MemcachedServer, certificates: TestCertificates
) -> None:
    client = fastmc.Client(
        [f"tls://{localhost(tls_server)}", plain_server.address],
        tls_ca_file=certificates.ca_file,
    )
    values = round_trip_on_every_server(client, "mixed")
    # And the other way round: TLS by default, one server opted out.
    reverse = fastmc.Client(
        [localhost(tls_server), f"tcp://{plain_server.address}"],
        tls=True,
        tls_ca_file=certificates.ca_file,
    )
    assert reverse.get_many(list(values)) == values


def test_tls_and_auth_on_one_server_of_a_cluster(
    plain_server: MemcachedServer, certificates: TestCertificates
) -> None:
    with MemcachedServer(tls=certificates, auth=("carol", "hunter2")) as secured:
        client = fastmc.Client(
            [f"tls://carol:hunter2@{secured.address}", plain_server.address],
            tls_ca_file=certificates.ca_file,
        )
        round_trip_on_every_server(client, "secured")
    # Nothing of the credentials reached the plain server.
    assert fastmc.Client([plain_server.address]).get("fastmc:ascii-auth") is None


def test_a_forked_child_opens_its_own_tls_connections(
    tls_server: MemcachedServer, certificates: TestCertificates
) -> None:
    client = tls_client(tls_server, certificates)
    assert client.set("fork", b"parent") is True
    before = next(iter(client.stats().values()))["total_connections"]
    pid = os.fork()
    if pid == 0:  # the child: any failure is its exit status
        status = 1
        try:
            if client.get("fork") == b"parent" and client.set("fork", b"child"):
                status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's pooled connection is intact: the child neither wrote into
    # its TLS session nor closed it with close_notify.
    assert client.get("fork") == b"child"
    after = next(iter(client.stats().values()))["total_connections"]
    assert after == before + 1  # the child's own connection, none for the parent


@pytest.mark.parametrize("protocol", ["meta", "text"])
def test_pipelines_of_any_shape_are_answered(certificates: TestCertificates, protocol: str) -> None:
    # memcached 1.6 leaves bytes a TLS record carries beyond its read in its
    # TLS buffer until more arrive: a batch whose records ran on past a
    # value's end, or past memcached's 16 KiB line buffer, went unanswered.
    rng = random.Random(5)
    with MemcachedServer(tls=certificates) as a, MemcachedServer(tls=certificates) as b:
        client = fastmc.Client(
            [localhost(a), localhost(b)],
            tls=True,
            tls_ca_file=certificates.ca_file,
            protocol=protocol,
            timeout=3,
        )
        sizes = [0, 1, 10, 100, 5000, 16382, 16384, 20000, 70000]
        for round_number in range(40):
            count = rng.choice([1, 3, 30, 200])
            values = {
                f"r{round_number}-{i}-" + "k" * rng.randrange(0, 200): (
                    b"\r\n" + rng.randbytes(rng.choice(sizes)) + b"\r\n"
                )
                for i in range(count)
            }
            assert client.set_many(values) == []
            # Long lines too: with text, one get line of ~200 KiB per server.
            misses = [f"miss{i}-" + "x" * 200 for i in range(rng.choice([0, 1000]))]
            assert client.get_many([*values, *misses]) == values


def test_autodiscovery_over_tls(
    tls_server: MemcachedServer, certificates: TestCertificates
) -> None:
    # memcached without ElastiCache's `config get cluster` answers ERROR, and
    # the client asks for the legacy key, stored here, over the same TLS.
    nodes = f"1\nnode0.cache.example|127.0.0.1|{tls_server.port}\n".encode()
    kwargs = {"tls": True, "tls_ca_file": certificates.ca_file}
    fastmc.Client([localhost(tls_server)], **kwargs).set("AmazonElastiCache:cluster", nodes)
    client = fastmc.Client(
        configuration_endpoint=localhost(tls_server), discovery_interval=0, **kwargs
    )
    assert client.servers == [tls_server.address]
    assert client.set("discovered", b"v") is True
    assert client.get("discovered") == b"v"


def test_threads_share_one_tls_client(
    tls_server: MemcachedServer, certificates: TestCertificates
) -> None:
    client = tls_client(tls_server, certificates, timeout=5)
    failures: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for i in range(200):
                key = f"thread{thread}-{i % 20}"
                value = f"{thread}:{i}".encode() * (1 + i % 50)
                assert client.set(key, value) is True
                assert client.get(key) == value
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
