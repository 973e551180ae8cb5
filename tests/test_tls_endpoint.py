"""
Tests for L{txs3.tlsendpoint} and the TLS of C{twistd txs3}'s C{ssl:} ports:
the whole certificate chain is sent, and the TLS policy holds.

Parsing and the policy's values are tested in process.  What a client sees
is tested the way a client meets it: a real C{twistd txs3} subprocess
(L{tests.conftest.Txs3Process}) and Python's C{ssl} module as the client,
trusting only the test root CA, as clients of a server with a Let's Encrypt
certificate trust only the root.  The chain the server sends is read with a
pyOpenSSL client, which shows it as sent.
"""

from __future__ import annotations

import select
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL

from tests.certs import KeyType, TestCA, make_test_ca
from tests.conftest import TWISTD, Txs3Process, free_port, txs3_env
from tests.test_tap import assert_one_line_failure, run_txs3
from txs3 import tap, tls
from txs3.tlsendpoint import (
    DEFAULT_CIPHERS,
    TLSPolicy,
    certificate_options,
    read_chain,
    server_endpoint,
)

Start = Callable[..., Txs3Process]


# -- endpoint strings ----------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("ssl:443", (["ssl", "443"], {})),
        ("ssl:443:privateKey=a\\:b", (["ssl", "443"], {"privateKey": "a:b"})),
        (
            "ssl:port=443:interface=\\:\\:1",
            (["ssl"], {"port": "443", "interface": "::1"}),
        ),
        ("x:k\\=y=v=w:p\\=q", (["x", "p=q"], {"k=y": "v=w"})),
    ],
)
def test_parse_endpoint_follows_twisted(
    description: str, expected: tuple[list[str], dict[str, str]]
) -> None:
    """Endpoint strings split as Twisted splits them: escapes, and only the first '=' of a part."""
    assert tls.parse_endpoint(description) == expected


def test_ssl_arguments_name_positional_ones() -> None:
    """Positional ssl: arguments get Twisted's names, so 'ssl:443:k.pem' names its key file."""
    assert tls.ssl_arguments("ssl:443:k.pem:interface=127.0.0.1") == {
        "port": "443",
        "privateKey": "k.pem",
        "interface": "127.0.0.1",
    }
    assert tls.ssl_arguments("tcp:80") is None
    assert tls.endpoint_tls_files("ssl:443:k.pem") == (Path("k.pem"), Path("k.pem"))


@pytest.mark.parametrize(
    ("description", "fragment"),
    [
        ("ssl:443:nosuch=1", "no argument nosuch="),
        ("ssl:443:port=444", "port is given twice"),
        ("ssl:interface=127.0.0.1", "needs a port"),
    ],
)
def test_bad_ssl_arguments(description: str, fragment: str) -> None:
    """An ssl: string with an unknown, repeated or missing argument is one line saying which."""
    with pytest.raises(ValueError, match=fragment):
        tls.ssl_arguments(description)
    assert not tls.needs_txs3_certificate(description)


def test_sslmethod_is_refused(tmp_path: Path) -> None:
    """sslmethod= is refused with a pointer to --tls-min-version: the policy sets the versions."""
    ca = make_test_ca(tmp_path)
    description = f"ssl:0:privateKey={ca.key_file}:sslmethod=TLSv1_2_METHOD"
    with pytest.raises(ValueError, match="--tls-min-version"):
        server_endpoint(None, description, TLSPolicy())


# -- the chain -----------------------------------------------------------------


def der(certificates: list[x509.Certificate]) -> list[bytes]:
    return [c.public_bytes(Encoding.DER) for c in certificates]


def test_options_send_the_chain_after_the_leaf(tmp_path: Path) -> None:
    """The certificate file's leaf is the certificate; the rest, then extraCertChain's new ones, follow."""
    ca = make_test_ca(tmp_path, intermediate=True)
    leaf, intermediate = read_chain(ca.cert_file)
    extra = tmp_path / "extra.pem"
    extra.write_bytes(ca.cert_file.read_bytes() + ca.ca_file.read_bytes())
    options = certificate_options(
        ca.cert_file, ca.key_file, TLSPolicy(), extra_chain=extra
    )
    assert der([options.certificate.to_cryptography()]) == der([leaf])
    sent = [c.to_cryptography() for c in options.extraCertChain]
    assert der(sent) == der([intermediate, *read_chain(ca.ca_file)])


def test_key_must_match_the_first_certificate(tmp_path: Path) -> None:
    """A chain whose first certificate is not the key's (CAs first) is refused, naming both files."""
    ca = make_test_ca(tmp_path, intermediate=True)
    leaf, intermediate = read_chain(ca.cert_file)
    backwards = tmp_path / "backwards.pem"
    backwards.write_bytes(
        b"".join(c.public_bytes(Encoding.PEM) for c in (intermediate, leaf))
    )
    with pytest.raises(tls.CertificateError, match="is not the key of the first") as e:
        certificate_options(backwards, ca.key_file, TLSPolicy())
    assert str(ca.key_file) in str(e.value) and str(backwards) in str(e.value)


def test_wrong_order_chain_exits_cleanly(tmp_path: Path) -> None:
    """twistd txs3 with a chain file that starts with a CA prints one line saying to put the leaf first."""
    ca = make_test_ca(tmp_path / "ca", intermediate=True)
    backwards = tmp_path / "backwards.pem"
    backwards.write_bytes(ca.ca_file.read_bytes() + ca.cert_file.read_bytes())
    port = f"ssl:0:interface=127.0.0.1:privateKey={ca.key_file}:certKey={backwards}"
    result = run_txs3(["--data", "d", "--port", port], tmp_path)
    assert_one_line_failure(result, "put the server's own certificate first")


def served_chain(port: int) -> list[bytes]:
    """The certificates the server at C{port} sends, in order, as DER."""
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        connection = SSL.Connection(context, sock)
        connection.set_tlsext_host_name(b"localhost")
        connection.set_connect_state()
        while True:
            try:
                connection.do_handshake()
                break
            except SSL.WantReadError:
                readable, _, _ = select.select([sock], [], [], 10)
                assert readable, "the server stopped answering mid-handshake"
        chain = connection.get_peer_cert_chain() or []
        return [c.to_cryptography().public_bytes(Encoding.DER) for c in chain]


def verified_handshake(port: int, root: Path) -> str:
    """Complete a handshake trusting only C{root}; return the TLS version."""
    context = ssl.create_default_context(cafile=str(root))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as conn:
            version = conn.version()
            assert version is not None
            return version


def test_chain_is_served_every_way(tmp_path: Path, start_txs3: Start) -> None:
    """
    With a root -> intermediate -> leaf certificate, a client trusting only
    the root verifies every ssl: port: --certs DIR, certKey= with
    privateKey=, certKey= alone (Twisted's default key file, server.pem), and
    one PEM holding key and chain; each sends exactly leaf, intermediate.
    """
    ca = make_test_ca(tmp_path / "ca", intermediate=True)
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(ca.cert_file, certs / "server.pem")
    shutil.copy(ca.key_file, certs / "server.key")
    fullchain = tmp_path / "fullchain.pem"
    shutil.copy(ca.cert_file, fullchain)
    combined = tmp_path / "combined.pem"
    combined.write_bytes(ca.key_file.read_bytes() + ca.cert_file.read_bytes())
    shutil.copy(ca.key_file, tmp_path / "server.pem")  # certKey= alone's key
    ports = {
        "--certs": free_port(),
        "privateKey+certKey": free_port(),
        "certKey alone": free_port(),
        "key and chain in one": free_port(),
    }
    local = "ssl:{}:interface=127.0.0.1"
    args = [
        "--data", "data",
        "--certs", str(certs),
        "--port", local.format(ports["--certs"]),
        "--port", local.format(ports["privateKey+certKey"])
        + f":privateKey={ca.key_file}:certKey={fullchain}",
        "--port", local.format(ports["certKey alone"]) + f":certKey={fullchain}",
        "--port", local.format(ports["key and chain in one"])
        + f":privateKey={combined}",
    ]  # fmt: skip
    server = start_txs3(args, cwd=tmp_path)
    # Wait trusting the intermediate too, so that a missing chain fails the
    # assertions below rather than the wait.
    bundle = tmp_path / "root-and-intermediate.pem"
    bundle.write_bytes(ca.ca_file.read_bytes() + ca.cert_file.read_bytes())
    expected = der(read_chain(ca.cert_file))
    try:
        for port in ports.values():
            server.wait_for_tls(port, bundle)
        for way, port in ports.items():
            assert served_chain(port) == expected, way
            assert verified_handshake(port, ca.ca_file).startswith("TLS"), way
    finally:
        server.stop()


# -- the policy ----------------------------------------------------------------


def tls12_suites(ciphers: str) -> list[str]:
    """The TLS 1.2 suites OpenSSL selects for C{ciphers}."""
    context = SSL.Context(SSL.TLS_METHOD)
    context.set_cipher_list(ciphers.encode())
    names = SSL.Connection(context, None).get_cipher_list()
    return [name for name in names if not name.startswith("TLS_")]


def test_default_ciphers_are_forward_secret_aead() -> None:
    """The default cipher string selects exactly the six ECDHE suites with AES-GCM or ChaCha20-Poly1305."""
    assert sorted(tls12_suites(DEFAULT_CIPHERS)) == sorted(
        f"ECDHE-{auth}-{cipher}"
        for auth in ("ECDSA", "RSA")
        for cipher in ("AES128-GCM-SHA256", "AES256-GCM-SHA384", "CHACHA20-POLY1305")
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ["--tls-ciphers", "NO-SUCH-CIPHER"],
            "--tls-ciphers 'NO-SUCH-CIPHER' selects no",
        ),
        (["--tls-ciphers", "TLS_AES_128_GCM_SHA256"], "--tls-ciphers"),
        (
            ["--tls-min-version", "1.1"],
            "--tls-min-version '1.1' must be one of 1.2, 1.3",
        ),
    ],
)
def test_bad_policy_option(args: list[str], fragment: str) -> None:
    """A cipher string that selects no TLS 1.2 suite, or an unknown version, is one line naming the option."""
    with pytest.raises(SystemExit) as e:
        tap.Options().parseOptions(args)
    message = str(e.value.code)
    assert message.startswith("txs3: ") and fragment in message
    assert "\n" not in message


def test_help_states_the_policy_defaults(tmp_path: Path) -> None:
    """twistd txs3 --help names both policy options and their defaults."""
    result = subprocess.run(
        [TWISTD, "txs3", "--help"],
        cwd=tmp_path,
        env=txs3_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "--tls-ciphers= " in text and f"[default: {DEFAULT_CIPHERS}]" in text
    assert "--tls-min-version= " in text and "1.2 or 1.3. [default: 1.2]" in text


def handshake(
    port: int,
    root: Path,
    *,
    ciphers: str | None = None,
    tls12_only: bool = False,
) -> tuple[str, str] | None:
    """
    Try a handshake trusting C{root}, offering only C{ciphers} (TLS 1.2
    names) and, with C{tls12_only}, at most TLS 1.2.  Return the version and
    cipher suite agreed on, or None if the server refused the handshake.
    """
    context = ssl.create_default_context(cafile=str(root))
    if ciphers is not None:
        context.set_ciphers(ciphers)
    if tls12_only:
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="localhost") as conn:
                version, cipher = conn.version(), conn.cipher()
                assert version is not None and cipher is not None
                return version, cipher[0]
        except ssl.SSLError:
            return None


@contextmanager
def rsa_server(
    tmp_path: Path, start_txs3: Start, *policy: str
) -> Iterator[tuple[TestCA, list[int]]]:
    """
    Run txs3 with an RSA certificate (RSA key exchange needs one) on two
    ports, one with --certs, one naming certKey=, with policy options
    C{policy}, for the block: its CA and ports, once both answer.
    """
    ca = make_test_ca(tmp_path / "ca", key_type=KeyType.RSA)
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(ca.cert_file, certs / "server.pem")
    shutil.copy(ca.key_file, certs / "server.key")
    ports = [free_port(), free_port()]
    args = [
        "--data", "data",
        "--certs", str(certs),
        "--port", f"ssl:{ports[0]}:interface=127.0.0.1",
        "--port", f"ssl:{ports[1]}:interface=127.0.0.1"
        f":privateKey={ca.key_file}:certKey={ca.cert_file}",
        *policy,
    ]  # fmt: skip
    server = start_txs3(args, cwd=tmp_path)
    try:
        for port in ports:
            server.wait_for_tls(port, ca.ca_file)
        yield ca, ports
    finally:
        server.stop()


def test_default_policy(tmp_path: Path, start_txs3: Start) -> None:
    """
    By default every ssl: port refuses TLS 1.2 clients offering only RSA
    key exchange or only CBC suites, agrees on ECDHE with AES-GCM or
    ChaCha20, and speaks TLS 1.3.
    """
    with rsa_server(tmp_path, start_txs3) as (ca, ports):
        for port in ports:
            for refused in (
                "AES128-GCM-SHA256",
                "AES256-GCM-SHA384",
                "ECDHE-RSA-AES128-SHA",
            ):
                assert (
                    handshake(port, ca.ca_file, ciphers=refused, tls12_only=True)
                    is None
                )
            for agreed in (
                "ECDHE-RSA-AES128-GCM-SHA256",
                "ECDHE-RSA-CHACHA20-POLY1305",
            ):
                assert handshake(port, ca.ca_file, ciphers=agreed, tls12_only=True) == (
                    "TLSv1.2",
                    agreed,
                )
            assert handshake(port, ca.ca_file, tls12_only=True) is not None
            result = handshake(port, ca.ca_file)
            assert result is not None and result[0] == "TLSv1.3"


def test_tls_ciphers_option(tmp_path: Path, start_txs3: Start) -> None:
    """--tls-ciphers can allow a suite the default refuses, on every ssl: port."""
    with rsa_server(
        tmp_path, start_txs3, "--tls-ciphers", "ECDHE+AESGCM:AES128-GCM-SHA256"
    ) as (ca, ports):
        for port in ports:
            assert handshake(
                port, ca.ca_file, ciphers="AES128-GCM-SHA256", tls12_only=True
            ) == ("TLSv1.2", "AES128-GCM-SHA256")


def test_tls_min_version_option(tmp_path: Path, start_txs3: Start) -> None:
    """--tls-min-version 1.3 refuses TLS 1.2 clients on every ssl: port and still speaks TLS 1.3."""
    with rsa_server(
        tmp_path, start_txs3, "--tls-min-version", "1.3"
    ) as (ca, ports):
        for port in ports:
            assert handshake(port, ca.ca_file, tls12_only=True) is None
            result = handshake(port, ca.ca_file)
            assert result is not None and result[0] == "TLSv1.3"


def test_replaceable_tls_swaps_the_certificate_for_new_connections(
    tmp_path: Path,
) -> None:
    """ReplaceableTLS makes connections with the options last given, and calls its hooks on each new context."""
    from types import SimpleNamespace

    from txs3.tlsendpoint import DEFAULT_POLICY, ReplaceableTLS

    first, second = (
        make_test_ca(tmp_path / name, names=(f"{name}.test",))
        for name in ("first", "second")
    )
    old = certificate_options(first.cert_file, first.key_file, DEFAULT_POLICY)
    new = certificate_options(second.cert_file, second.key_file, DEFAULT_POLICY)
    port = ReplaceableTLS(old)
    seen: list[SSL.Context] = []
    port.add_context_hook(seen.append)
    protocol = SimpleNamespace(factory=SimpleNamespace(wrappedFactory=object()))
    assert port.serverConnectionForTLS(protocol).get_context() is old.getContext()
    port.replace(new)
    assert port.serverConnectionForTLS(protocol).get_context() is new.getContext()
    assert seen == [old.getContext(), new.getContext()]
