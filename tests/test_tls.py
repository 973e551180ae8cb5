"""
Tests for L{txs3.tls}: the self-signed certificate, fingerprints, file
checks, and filling the txs3 certificate into endpoint strings.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import stat
import subprocess
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from txs3 import tls


def test_self_signed_names_and_lifetime(tmp_path: Path) -> None:
    """The made certificate has the SANs asked for and lives ~825 days."""
    now = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)
    cert_pem, _ = tls.make_self_signed(
        ["host.example", "localhost", "127.0.0.1", "::1"], now=now
    )
    cert = x509.load_pem_x509_certificate(cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["host.example", "localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    lifetime = cert.not_valid_after_utc - now
    assert lifetime == datetime.timedelta(days=825)
    assert cert.not_valid_before_utc <= now


def test_default_names_cover_local_access() -> None:
    """The default names are the host name, localhost, 127.0.0.1 and ::1."""
    names = tls.default_names()
    assert names[0] == socket.gethostname().lower().rstrip(".")
    for name in ("localhost", "127.0.0.1", "::1"):
        assert name in names
    assert len(names) == len(set(names))


def test_ensure_creates_private_key(tmp_path: Path) -> None:
    """With neither file, a pair is written, the key readable by its owner only."""
    certs = tmp_path / "certs"
    files = tls.ensure_certificate(certs, ["localhost"])
    assert files.created
    assert files.cert == certs / "server.pem"
    assert files.key == certs / "server.key"
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    key = x509.load_pem_x509_certificate(files.cert.read_bytes()).public_key()
    assert isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey))
    tls.check_tls_files(files.cert, files.key)
    assert sorted(p.name for p in certs.iterdir()) == ["server.key", "server.pem"]


def test_ensure_reuses_existing(tmp_path: Path) -> None:
    """An existing pair is used as it is, not regenerated."""
    first = tls.ensure_certificate(tmp_path, ["localhost"])
    before = first.cert.read_bytes()
    second = tls.ensure_certificate(tmp_path, ["localhost"])
    assert not second.created
    assert second.cert.read_bytes() == before


@pytest.mark.parametrize("present", ["server.pem", "server.key"])
def test_ensure_refuses_half_a_pair(tmp_path: Path, present: str) -> None:
    """One file without the other is an error, and nothing is overwritten."""
    (tmp_path / present).write_text("mine")
    with pytest.raises(tls.CertificateError, match="exists but"):
        tls.ensure_certificate(tmp_path, ["localhost"])
    assert (tmp_path / present).read_text() == "mine"


def test_fingerprint_matches_openssl(tmp_path: Path) -> None:
    """The fingerprint is the SHA-256 one that openssl x509 prints."""
    files = tls.ensure_certificate(tmp_path, ["localhost"])
    ours = tls.certificate_fingerprint(files.cert)
    assert len(ours.split(":")) == 32
    try:
        out = subprocess.run(
            [
                "openssl",
                "x509",
                "-noout",
                "-fingerprint",
                "-sha256",
                "-in",
                str(files.cert),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except FileNotFoundError:
        pytest.skip("no openssl command")
    assert out.strip().split("=", 1)[1] == ours


def test_check_names_the_bad_file(tmp_path: Path) -> None:
    """Missing or non-PEM files are reported by name."""
    files = tls.ensure_certificate(tmp_path, ["localhost"])
    junk = tmp_path / "junk.pem"
    junk.write_text("not pem\n")
    with pytest.raises(tls.CertificateError, match="nope.pem"):
        tls.check_tls_files(tmp_path / "nope.pem", files.key)
    with pytest.raises(tls.CertificateError, match="junk.pem holds no PEM certificate"):
        tls.check_tls_files(junk, files.key)
    with pytest.raises(tls.CertificateError, match="junk.pem holds no unencrypted PEM"):
        tls.check_tls_files(files.cert, junk)


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("ssl:443", None),
        ("ssl:8443:interface=127.0.0.1", None),
        ("tcp:8080", None),
        ("ssl:443:privateKey=k.pem", (Path("k.pem"), Path("k.pem"))),
        ("ssl:443:privateKey=k.pem:certKey=c.pem", (Path("c.pem"), Path("k.pem"))),
        ("ssl:443:certKey=c.pem", (Path("c.pem"), Path("server.pem"))),
        ("ssl:443:privateKey=/a\\:b/k.pem", (Path("/a:b/k.pem"), Path("/a:b/k.pem"))),
    ],
)
def test_endpoint_tls_files(
    description: str, expected: tuple[Path, Path] | None
) -> None:
    """The files an ssl: endpoint names follow Twisted's defaulting rules."""
    assert tls.endpoint_tls_files(description) == expected


def test_needs_txs3_certificate() -> None:
    """Only ssl: endpoints naming no files get the txs3 certificate."""
    assert tls.needs_txs3_certificate("ssl:443")
    assert tls.needs_txs3_certificate("ssl:port=443:interface=\\:\\:1")
    assert not tls.needs_txs3_certificate("ssl:443:privateKey=k.pem")
    assert not tls.needs_txs3_certificate("tcp:8080")
    assert not tls.needs_txs3_certificate("systemd:domain=INET:index=0")


def test_with_certificate_quotes_paths(tmp_path: Path) -> None:
    """Paths with ':' and '=' survive the trip through the endpoint syntax."""
    odd = tmp_path / "a:b=c"
    files = tls.ensure_certificate(odd, ["localhost"])
    description = tls.with_certificate("ssl:0:interface=127.0.0.1", files)
    assert tls.endpoint_tls_files(description) == (files.cert, files.key)


def test_self_signed_certificate_is_trusted_by_itself(tmp_path: Path) -> None:
    """A client that trusts server.pem (AWS_CA_BUNDLE=...) completes a TLS handshake."""
    files = tls.ensure_certificate(tmp_path, tls.default_names())
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(files.cert, files.key)
    client_ctx = ssl.create_default_context(cafile=str(files.cert))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls_conn:
                tls_conn.sendall(b"ok")

        for host in ("localhost", "127.0.0.1"):
            thread = threading.Thread(target=serve, daemon=True)
            thread.start()
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with client_ctx.wrap_socket(raw, server_hostname=host) as conn:
                    assert conn.recv(2) == b"ok"
            thread.join(10)
