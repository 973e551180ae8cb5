"""
End-to-end tests of C{twistd txs3 --acme} against a real ACME server:
pebble, with pebble-challtestsrv as its DNS (L{tests.pebble}), every name
resolving to 127.0.0.1.  Pebble validates TLS-ALPN-01 by connecting to
txs3's TLS port, so each test runs txs3 on the port pebble was told.

What a client sees is checked the way a client meets it: Python's C{ssl}
trusting only pebble's root (fetched from pebble's management interface),
with SNI the ACME name.  Skipped when pebble is not installed
(C{apt-get install pebble}; C{.ci/run} installs it).
"""

from __future__ import annotations

import json
import socket
import ssl
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.conftest import Txs3Process, free_port
from tests.pebble import Pebble, have_pebble
from txs3.acme.storage import server_directory

pytestmark = [
    pytest.mark.acme,
    pytest.mark.skipif(
        not have_pebble(), reason="needs /usr/bin/pebble (apt-get install pebble)"
    ),
]

NAME = "txs3.test"
Start = Callable[..., Txs3Process]


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pebble, int]]:
    """A pebble that validates on a port kept free for txs3, and that port."""
    port = free_port()
    server = Pebble.start(tmp_path_factory.mktemp("pebble"), port)
    yield server, port
    server.stop()


def run_txs3(
    start: Start, workdir: Path, pebble: Pebble, port: int, *names: str
) -> Txs3Process:
    """Start txs3 on loopback C{port} with --acme for C{names} from C{pebble}."""
    acme = [arg for name in names for arg in ("--acme", name)]
    return start(
        [
            "--data", str(workdir / "data"),
            "--certs", str(workdir / "certs"),
            "--port", f"ssl:{port}:interface=127.0.0.1",
            *acme,
            "--acme-email", "ops@txs3.test",
            "--acme-directory", pebble.directory,
            "--acme-ca-bundle", str(pebble.ca_bundle),
        ],
        cwd=workdir,
    )  # fmt: skip


def served_certificate(port: int, name: str = NAME) -> x509.Certificate:
    """The certificate txs3 presents for SNI C{name}, unverified."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def wait_for_log(process: Txs3Process, text: str, timeout: float = 30.0) -> str:
    """The log, once it holds C{text}."""
    deadline = time.monotonic() + timeout
    while text not in (log := process.log()):
        if process.process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in the log:\n{log}")
        time.sleep(0.1)
    return log


def test_issues_certificate_by_tls_alpn(
    tmp_path: Path, start_txs3: Start, pebble: tuple[Pebble, int]
) -> None:
    """txs3 serves the self-signed certificate, gets one from pebble by TLS-ALPN-01, and a client trusting pebble's root then verifies txs3 for the name."""
    server, port = pebble
    root = server.root(tmp_path / "root.pem")
    process = run_txs3(start_txs3, tmp_path, server, port, NAME)
    try:
        process.wait_for_tls(port, root, server_hostname=NAME, timeout=30)
        log = process.log()
        assert "serving the self-signed one until the first arrives" in log
        assert f"ACME: new certificate for {NAME}" in log
        # The port's certificate is now the ACME one, whatever the SNI.
        served = served_certificate(port, "localhost")
        assert served.subject.rfc4514_string() == f"CN={NAME}"
    finally:
        process.stop()
    stored = server_directory(tmp_path / "data", server.directory)
    for key in ("account.key", "cert.key"):
        assert stat.S_IMODE((stored / key).stat().st_mode) == 0o600, key
    assert (stored / "cert.pem").read_bytes().count(b"BEGIN CERTIFICATE") >= 2


def first_certificate(
    tmp_path: Path, start_txs3: Start, server: Pebble, port: int
) -> tuple[Path, Path]:
    """
    Run txs3 until it serves its first certificate from C{server}, then
    stop it; the trusted root and the directory the ACME files are kept in.
    """
    root = server.root(tmp_path / "root.pem")
    first = run_txs3(start_txs3, tmp_path, server, port, NAME)
    try:
        first.wait_for_tls(port, root, server_hostname=NAME, timeout=30)
    finally:
        first.stop()
    return root, server_directory(tmp_path / "data", server.directory)


def test_restart_reuses_account_and_certificate(
    tmp_path: Path, start_txs3: Start, pebble: tuple[Pebble, int]
) -> None:
    """After a restart txs3 serves the stored certificate with no new order, and keeps its account."""
    server, port = pebble
    root, stored = first_certificate(tmp_path, start_txs3, server, port)
    before = {
        name: (stored / name).read_bytes()
        for name in ("account.key", "account.json", "cert.pem", "cert.key")
    }
    (tmp_path / "txs3.log").rename(tmp_path / "first.log")
    second = run_txs3(start_txs3, tmp_path, server, port, NAME)
    try:
        second.wait_for_tls(port, root, server_hostname=NAME, timeout=30)
        log = wait_for_log(second, "ACME: renewing at")
    finally:
        second.stop()
    assert "ACME: serving the stored certificate" in log
    assert "ACME: ordering" not in log
    assert {name: (stored / name).read_bytes() for name in before} == before


def test_failed_challenge_logs_one_line_and_keeps_serving(
    tmp_path: Path, start_txs3: Start, pebble: tuple[Pebble, int]
) -> None:
    """A name that resolves elsewhere fails validation: one clear log line, the current certificate still served, a retry scheduled."""
    server, port = pebble
    # txs3 listens on 127.0.0.1 only: pebble's validation finds nobody.
    server.add_a("elsewhere.test", "127.0.0.2")
    process = run_txs3(start_txs3, tmp_path, server, port, "elsewhere.test")
    try:
        log = wait_for_log(process, "ACME: could not get a certificate")
        process.wait_for_tls(port, tmp_path / "certs" / "server.pem")
    finally:
        process.stop()
    lines = [line for line in log.splitlines() if "could not get a certificate" in line]
    assert len(lines) == 1, log
    assert "elsewhere.test" in lines[0]
    assert "still serving the self-signed certificate" in lines[0]
    assert "retrying in 60 s" in lines[0]
    assert "Traceback" not in log


def test_renews_without_dropping_connections(tmp_path: Path, start_txs3: Start) -> None:
    """With 6-second certificates, txs3 renews at two thirds of the lifetime; new handshakes get the new certificate and an open connection keeps working."""
    port = free_port()
    server = Pebble.start(tmp_path / "pebble", port, validity=6)
    try:
        root = server.root(tmp_path / "root.pem")
        process = run_txs3(start_txs3, tmp_path, server, port, NAME)
        try:
            process.wait_for_tls(port, root, server_hostname=NAME, timeout=30)
            first = served_certificate(port).fingerprint(hashes.SHA256())
            context = ssl.create_default_context(cafile=str(root))
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                with context.wrap_socket(raw, server_hostname=NAME) as kept:
                    deadline = time.monotonic() + 20
                    while (
                        served_certificate(port).fingerprint(hashes.SHA256()) == first
                    ):
                        assert time.monotonic() < deadline, process.log()
                        time.sleep(0.2)
                    kept.sendall(b"GET / HTTP/1.1\r\nHost: txs3.test\r\n\r\n")
                    assert kept.recv(64).startswith(b"HTTP/1.1 ")
            process.wait_for_tls(port, root, server_hostname=NAME, timeout=10)
        finally:
            process.stop()
    finally:
        server.stop()
    assert process.log().count("ACME: new certificate") >= 2


def test_lost_account_record_finds_the_account_again(
    tmp_path: Path, start_txs3: Start, pebble: tuple[Pebble, int]
) -> None:
    """With the account key kept but account.json and the certificate lost, txs3 finds its existing account and orders anew."""
    server, port = pebble
    root, stored = first_certificate(tmp_path, start_txs3, server, port)
    account = json.loads((stored / "account.json").read_text())["uri"]
    for name in ("account.json", "cert.pem", "cert.key"):
        (stored / name).unlink()
    second = run_txs3(start_txs3, tmp_path, server, port, NAME)
    try:
        wait_for_log(second, "ACME: renewing at")
        second.wait_for_tls(port, root, server_hostname=NAME, timeout=30)
    finally:
        second.stop()
    assert json.loads((stored / "account.json").read_text())["uri"] == account


def test_http01_on_a_tcp_port(tmp_path: Path, start_txs3: Start) -> None:
    """With --acme-challenge http-01 txs3 answers the challenge on its tcp: port, and that port still serves S3."""
    port, http_port = free_port(), free_port()
    server = Pebble.start(tmp_path / "pebble", port, http_port=http_port)
    try:
        root = server.root(tmp_path / "root.pem")
        process = start_txs3(
            [
                "--data", str(tmp_path / "data"),
                "--certs", str(tmp_path / "certs"),
                "--port", f"ssl:{port}:interface=127.0.0.1",
                "--port", f"tcp:{http_port}:interface=127.0.0.1",
                "--acme", NAME,
                "--acme-challenge", "http-01",
                "--acme-directory", server.directory,
                "--acme-ca-bundle", str(server.ca_bundle),
            ],
            cwd=tmp_path,
        )  # fmt: skip
        try:
            process.wait_for_tls(port, root, server_hostname=NAME, timeout=30)
            with socket.create_connection(("127.0.0.1", http_port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: txs3.test\r\n\r\n")
                head = s.recv(4096)
            assert head.startswith(b"HTTP/1.1 403 "), head
            assert b"x-amz-request-id" in head.lower()
        finally:
            process.stop()
    finally:
        server.stop()
    log = process.log()
    assert "answering an HTTP-01 challenge" in log
    assert "TLS-ALPN-01" not in log
