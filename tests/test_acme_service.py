"""
In-process tests of L{txs3.acme}: the renewal rule, the service's schedule
and backoff on a L{Clock} with a stand-in order, the TLS-ALPN-01
responder over in-memory pyOpenSSL connections, and the --acme options.
The ACME protocol itself is tested against pebble in
L{tests.test_acme_pebble}.
"""

from __future__ import annotations

import datetime
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from OpenSSL import SSL
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.logger import LogEvent, formatEvent, globalLogPublisher

from tests.conftest import free_port
from txs3 import tap
from txs3.acme import LETSENCRYPT, LETSENCRYPT_STAGING
from txs3.acme.client import Issued
from txs3.acme.responder import (
    ACME_IDENTIFIER,
    ACME_TLS_1,
    TLSALPNResponder,
    challenge_certificate,
)
from txs3.acme.service import AcmeService
from txs3.acme.storage import AcmeStorage, StoredCertificate, renewal_time
from txs3.tls import make_self_signed

DAY = datetime.timedelta(days=1)
START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def stored(lifetime: datetime.timedelta) -> StoredCertificate:
    """A certificate description valid from START for C{lifetime}."""
    return StoredCertificate(
        Path("c"), Path("k"), frozenset({"a.test"}), START, START + lifetime
    )


@pytest.mark.parametrize(
    ("lifetime", "renew_after"),
    [
        (90 * DAY, 60 * DAY),  # both rules agree
        (45 * DAY, 15 * DAY),  # 30 days before expiry is earlier
        (6 * DAY, 4 * DAY),  # too short for the 30-day rule
        (datetime.timedelta(seconds=6), datetime.timedelta(seconds=4)),
    ],
)
def test_renewal_time(
    lifetime: datetime.timedelta, renew_after: datetime.timedelta
) -> None:
    """Renewal comes at two thirds of the lifetime or 30 days before expiry, whichever is earlier."""
    assert renewal_time(stored(lifetime)) == START + renew_after


# -- the service on a clock ----------------------------------------------------


class Orders:
    """A stand-in order: writes a certificate into storage, or fails."""

    def __init__(self, storage: AcmeStorage, clock: Clock, days: int = 90) -> None:
        self.storage, self.clock, self.days = storage, clock, days
        self.calls = 0
        self.failing: Exception | None = None

    def __call__(self) -> Deferred[Issued]:
        self.calls += 1
        if self.failing is not None:
            return fail(self.failing)
        now = datetime.datetime.fromtimestamp(self.clock.seconds(), datetime.UTC)
        cert, key = make_self_signed(
            ["a.test"], now=now + datetime.timedelta(minutes=1), days=self.days
        )
        self.storage.write_certificate(cert, key)
        return succeed(Issued(cert, key))


def make_service(
    tmp_path: Path,
) -> tuple[AcmeService, Clock, Orders, list[Path]]:
    clock = Clock()
    clock.advance(START.timestamp())
    storage = AcmeStorage(tmp_path / "acme")
    installed: list[Path] = []
    orders = Orders(storage, clock)
    service = AcmeService(
        domains=["a.test"],
        storage=storage,
        install=lambda cert, key: installed.append(cert),
        clock=clock,
        run_order=orders,
    )
    return service, clock, orders, installed


def test_first_certificate_then_renewal(tmp_path: Path) -> None:
    """With nothing stored the service orders at once, installs the result, and orders again at the renewal time."""
    service, clock, orders, installed = make_service(tmp_path)
    service.startService()
    assert (orders.calls, installed) == (0, [])
    clock.advance(0)
    assert orders.calls == 1 and len(installed) == 1
    assert service.current is not None
    clock.advance((renewal_time(service.current) - START).total_seconds() - 1)
    assert orders.calls == 1
    clock.advance(2)
    assert orders.calls == 2 and len(installed) == 2
    service.stopService()
    assert clock.getDelayedCalls() == []


def test_stored_certificate_is_served_without_an_order(tmp_path: Path) -> None:
    """A stored certificate that names the domains and is not due is installed at start, with no order."""
    service, clock, orders, installed = make_service(tmp_path)
    orders()
    service.startService()
    clock.advance(3600)
    assert orders.calls == 1 and len(installed) == 1
    service.stopService()


def test_a_stored_certificate_that_cannot_be_served_is_replaced(
    tmp_path: Path,
) -> None:
    """A stored pair that cannot be served (say, mismatched after a crash) does not stop the start: a new order replaces it."""
    service, clock, orders, installed = make_service(tmp_path)
    orders()
    install = service._install
    refused: list[Path] = []

    def refuse_first(cert: Path, key: Path) -> None:
        if not refused:
            refused.append(cert)
            raise ValueError("the key is not the certificate's")
        install(cert, key)

    service._install = refuse_first
    service.startService()
    assert service.current is None
    clock.advance(0)
    assert orders.calls == 2 and len(installed) == 1
    service.stopService()


def test_failures_back_off_and_keep_the_certificate(tmp_path: Path) -> None:
    """Failed orders keep the current certificate, log one line each, and retry after 60, 120, 240 s..."""
    service, clock, orders, installed = make_service(tmp_path)
    orders()
    service.startService()
    assert service.current is not None
    events: list[LogEvent] = []
    globalLogPublisher.addObserver(events.append)
    try:
        orders.failing = RuntimeError("Failed to connect\nto 127.0.0.2:443")
        # The renewal order fails.
        clock.advance((renewal_time(service.current) - START).total_seconds())
        assert orders.calls == 2
        for delay in (60, 120, 240, 480):
            calls = orders.calls
            clock.advance(delay - 1)
            assert orders.calls == calls
            clock.advance(1)
            assert orders.calls == calls + 1
    finally:
        globalLogPublisher.removeObserver(events.append)
    lines = [formatEvent(e) for e in events if "could not get" in formatEvent(e)]
    assert len(lines) == 5
    assert lines[0] == (
        "ACME: could not get a certificate for a.test: Failed to connect to "
        "127.0.0.2:443; keeping the current certificate; retrying in 60 s"
    )
    assert len(installed) == 1
    orders.failing = None
    clock.advance(960)
    assert service.failures == 0 and len(installed) == 2
    service.stopService()


def test_a_certificate_that_cannot_be_served_is_retried(tmp_path: Path) -> None:
    """If installing a new certificate fails, that is logged as a failed order and retried."""
    service, clock, orders, _installed = make_service(tmp_path)

    def refuse(cert: Path, key: Path) -> None:
        raise ValueError("OpenSSL refuses it")

    service._install = refuse
    events: list[LogEvent] = []
    globalLogPublisher.addObserver(events.append)
    try:
        service.startService()
        clock.advance(0)
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert service.failures == 1
    assert any("OpenSSL refuses it" in formatEvent(e) for e in events)
    clock.advance(60)
    assert orders.calls == 2
    service.stopService()


def test_tap_does_not_import_the_acme_library() -> None:
    """`twistd txs3 --help` stays light: importing txs3.tap loads neither acme nor josepy."""
    code = (
        "import sys, txs3.tap; "
        "assert not {'acme', 'josepy', 'txs3.acme.service'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the responder ---------------------------------------------------------------


def handshake(
    server_context: SSL.Context, name: bytes, protocols: list[bytes] | None
) -> tuple[x509.Certificate, bytes]:
    """A memory handshake: the certificate the client saw, and the ALPN result."""
    server = SSL.Connection(server_context)
    server.set_accept_state()
    client = SSL.Connection(SSL.Context(SSL.TLS_METHOD))
    client.set_connect_state()
    client.set_tlsext_host_name(name)
    if protocols:
        client.set_alpn_protos(protocols)
    for _ in range(10):
        for a, b in ((client, server), (server, client)):
            try:
                a.do_handshake()
            except SSL.WantReadError:
                pass
            try:
                b.bio_write(a.bio_read(65536))
            except SSL.WantReadError:
                pass
    cert = client.get_peer_certificate(as_cryptography=True)
    assert cert is not None
    return cert, client.get_alpn_proto_negotiated()


@pytest.fixture
def normal_context() -> SSL.Context:
    cert, key = make_self_signed(["normal.test"])
    context = SSL.Context(SSL.TLS_METHOD)
    context.use_certificate(x509.load_pem_x509_certificate(cert))
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    private = load_pem_private_key(key, None)
    context.use_privatekey(private)  # type: ignore[arg-type]
    context.set_alpn_select_callback(
        lambda c, p: b"http/1.1" if b"http/1.1" in p else SSL.NO_OVERLAPPING_PROTOCOLS
    )
    return context


def test_challenge_certificate() -> None:
    """The challenge certificate names the domain and carries SHA-256(key authorization) in a critical acmeIdentifier extension."""
    cert, _ = challenge_certificate("a.test", "token.thumbprint")
    extension = cert.extensions.get_extension_for_oid(ACME_IDENTIFIER)
    assert extension.critical
    import hashlib

    value = extension.value.public_bytes()
    assert value == b"\x04\x20" + hashlib.sha256(b"token.thumbprint").digest()
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert names.value.get_values_for_type(x509.DNSName) == ["a.test"]


def test_responder_answers_only_acme_tls_for_pending_names(
    normal_context: SSL.Context,
) -> None:
    """A pending name with ALPN acme-tls/1 gets the challenge certificate; other names and removed ones get the normal one."""
    responder = TLSALPNResponder()
    responder.install(normal_context)
    cert, key = challenge_certificate("a.test", "token.thumbprint")
    responder.add("A.test", cert, key)
    assert responder.pending() == {"a.test"}
    seen, alpn = handshake(normal_context, b"a.test", [ACME_TLS_1])
    assert (seen, alpn) == (cert, ACME_TLS_1)
    seen, alpn = handshake(normal_context, b"b.test", [b"http/1.1"])
    assert seen.subject.rfc4514_string().endswith("CN=normal.test")
    assert alpn == b"http/1.1"
    responder.remove("a.test")
    seen, _ = handshake(normal_context, b"a.test", None)
    assert seen.subject.rfc4514_string().endswith("CN=normal.test")


# -- options ---------------------------------------------------------------------


def parse(*args: str) -> tap.Options:
    options = tap.Options()
    options.parseOptions(list(args))
    return options


def test_acme_options() -> None:
    """--acme names are checked and lower-cased; the directory defaults to Let's Encrypt, or its staging with --acme-staging."""
    options = parse("--acme", "S3.Example.com.", "--acme", "s3.example.com")
    assert options["acme"] == ["s3.example.com"]
    assert options["acme-directory"] == LETSENCRYPT
    assert parse("--acme", "a.example", "--acme-staging")["acme-directory"] == (
        LETSENCRYPT_STAGING
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--acme", "localhost"], "not a fully qualified DNS name"),
        (["--acme", "a..b"], "not a fully qualified DNS name"),
        (
            ["--acme", "a.b", "--acme-staging", "--acme-directory", "https://x/d"],
            "give one",
        ),
        (["--acme", "a.b", "--acme-directory", "http://x/d"], "https://"),
        (["--acme-staging"], "need --acme DOMAIN"),
        (["--acme", "a.b", "--acme-email", "ops"], "not an e-mail address"),
    ],
)
def test_bad_acme_options(args: list[str], fragment: str) -> None:
    """Bad --acme options are refused with one line naming the problem."""
    with pytest.raises(SystemExit) as e:
        parse(*args)
    assert fragment in str(e.value)


def test_acme_needs_a_port_with_the_txs3_certificate(tmp_path: Path) -> None:
    """--acme with no ssl: port that uses the txs3 certificate stops the start with one line."""
    options = parse(
        "--data", str(tmp_path / "d"), "--port", "tcp:0", "--acme", "a.example"
    )
    with pytest.raises(SystemExit) as e:
        tap.makeService(options)
    assert "--acme needs an ssl: --port" in str(e.value)


def test_stop_does_not_wait_for_an_order(tmp_path: Path, start_txs3: Any) -> None:
    """SIGTERM stops txs3 at once even while an order hangs on an ACME server that never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = free_port()
        process = start_txs3(
            [
                "--data", str(tmp_path / "data"),
                "--certs", str(tmp_path / "certs"),
                "--port", f"ssl:{port}:interface=127.0.0.1",
                "--acme", "txs3.test",
                "--acme-directory", f"https://127.0.0.1:{silent.getsockname()[1]}/dir",
            ],
            cwd=tmp_path,
        )  # fmt: skip
        process.wait_for_tls(port, tmp_path / "certs" / "server.pem")
        deadline = time.monotonic() + 10
        while "ACME: ordering" not in process.log():
            assert time.monotonic() < deadline, process.log()
            time.sleep(0.05)
        started = time.monotonic()
        assert process.stop() == -signal.SIGTERM
        assert time.monotonic() - started < 5, process.log()


# -- HTTP-01 -----------------------------------------------------------------------


def test_http01_answers_challenges_and_hands_over_the_rest() -> None:
    """A challenge request is answered with the key authorization (404 for an unknown token); any other request reaches the wrapped site with every byte."""
    from twisted.internet.address import IPv4Address
    from twisted.internet.protocol import Factory, Protocol
    from twisted.internet.testing import StringTransport

    from txs3.acme.http01 import HTTP01Factory, HTTP01Responder

    received: list[bytes] = []

    class Site(Protocol):
        def dataReceived(self, data: bytes) -> None:
            received.append(data)

    responder = HTTP01Responder()
    responder.add("tok", "tok.thumb")
    factory = HTTP01Factory(responder, Factory.forProtocol(Site))
    address = IPv4Address("TCP", "127.0.0.1", 1)

    def exchange(*chunks: bytes) -> StringTransport:
        protocol = factory.buildProtocol(address)
        transport = StringTransport()
        protocol.makeConnection(transport)
        for chunk in chunks:
            protocol.dataReceived(chunk)
        return transport

    answered = exchange(b"GET /.well-known/acme-", b"challenge/tok HTTP/1.1\r\n")
    assert answered.value().startswith(b"HTTP/1.1 200 OK\r\n")
    assert answered.value().endswith(b"\r\n\r\ntok.thumb")
    assert answered.disconnecting
    missing = exchange(b"GET /.well-known/acme-challenge/other HTTP/1.1\r\n")
    assert missing.value().startswith(b"HTTP/1.1 404 ")
    passed = exchange(b"GET /bucket", b"/key HTTP/1.1\r\nHost: x\r\n", b"\r\n")
    assert passed.value() == b"" and not passed.disconnecting
    assert b"".join(received) == b"GET /bucket/key HTTP/1.1\r\nHost: x\r\n\r\n"
    responder.remove("tok")
    assert exchange(b"GET /.well-known/acme-challenge/tok HTTP/1.1\r\n").value()[
        :13
    ] == (b"HTTP/1.1 404 ")


def test_http01_needs_a_tcp_port(tmp_path: Path) -> None:
    """--acme-challenge http-01 without a tcp: port stops the start with one line; a bad value is refused."""
    options = parse(
        "--data", str(tmp_path / "d"), "--certs", str(tmp_path / "c"),
        "--port", "ssl:0", "--acme", "a.example", "--acme-challenge", "http-01",
    )  # fmt: skip
    with pytest.raises(SystemExit) as e:
        tap.makeService(options)
    assert "needs a tcp: --port" in str(e.value)
    with pytest.raises(SystemExit) as e:
        parse("--acme", "a.example", "--acme-challenge", "dns-01")
    assert "must be tls-alpn-01 or http-01" in str(e.value)
