"""
Test certificates: the one place tests and benchmarks get them from.

Built on C{trustme}: a throwaway root CA, optionally an intermediate CA, and
a server certificate, written as PEM files.  Clients trust the root file
only, as real clients trust only a root; the server presents its leaf and
the intermediates.

  - L{make_test_ca}: the files of a CA and a server certificate it (or an
    intermediate under it) signed.
  - L{make_test_certificate} and L{server_tls_options}: the pair the
    in-process functional server (L{tests.functional}) uses.

The default names, L{NAMES}, cover every way a test reaches a local server:
C{localhost}, C{*.localhost} (virtual-host style), C{127.0.0.1} and C{::1}.
This module imports nothing of txs3 at import time, so the benchmarks in
C{bench/} can import it too.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

NAMES = ("localhost", "*.localhost", "127.0.0.1", "::1")

KeyType = trustme.KeyType


@dataclass(frozen=True)
class TestCA:
    """
    PEM files of a test CA and a server certificate it signed.

    @ivar ca_file: the root CA certificate, for clients to trust.
    @ivar cert_file: the server's certificate chain: the leaf, then the
        intermediate CA when there is one (never the root), as in a
        Let's Encrypt C{fullchain.pem}.
    @ivar key_file: the server's private key (unencrypted, mode 0600).
    """

    __test__ = False  # not a test class, despite the name

    ca_file: Path
    cert_file: Path
    key_file: Path


def make_test_ca(
    directory: Path,
    *,
    names: Sequence[str] = NAMES,
    intermediate: bool = False,
    key_type: trustme.KeyType = KeyType.ECDSA,
) -> TestCA:
    """
    Write C{ca.pem}, C{server.pem} and C{server.key} into C{directory}
    (created if needed).

    @param names: the server certificate's subject alternative names (DNS
        names, wildcards, IP literals); the first is also its common name.
    @param intermediate: whether the root signs an intermediate CA that
        signs the server certificate (then C{server.pem} holds both).
    @param key_type: the server key's type (C{KeyType.RSA} for tests of
        RSA key-exchange cipher suites, which an EC key cannot negotiate).
    @return: the paths written.  The server certificate is valid from an
        hour ago for a day; the CAs for trustme's long fixed period.
    """
    root = trustme.CA()
    issuer = root.create_child_ca() if intermediate else root
    now = datetime.datetime.now(datetime.UTC)
    leaf = issuer.issue_cert(
        *names,
        common_name=names[0],
        not_before=now - datetime.timedelta(hours=1),
        not_after=now + datetime.timedelta(days=1),
        key_type=key_type,
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca = TestCA(
        directory / "ca.pem", directory / "server.pem", directory / "server.key"
    )
    root.cert_pem.write_to_path(str(ca.ca_file))
    ca.cert_file.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    ca.key_file.touch(mode=0o600)
    leaf.private_key_pem.write_to_path(str(ca.key_file))
    return ca


def make_test_certificate(directory: Path) -> tuple[Path, Path]:
    """
    The files of a test server, as C{(trust, server)}: the CA certificate
    that clients trust, and one PEM holding the server's key and
    certificate (see L{make_test_ca}, whose files it also writes).  Pass
    both to L{server_tls_options}; give C{trust} to clients.
    """
    ca = make_test_ca(directory)
    server = directory / "server-key-and-chain.pem"
    server.touch(mode=0o600)
    server.write_bytes(ca.key_file.read_bytes() + ca.cert_file.read_bytes())
    return ca.ca_file, server


def server_tls_options(trust: Path, server: Path) -> Any:
    """
    Twisted server TLS options for the files from L{make_test_certificate},
    made the way C{twistd txs3} makes them (the certificate chain and the
    default TLS policy of L{txs3.tlsendpoint}).

    @param trust: unused; accepted so that callers pass the pair they got.
    """
    from txs3.tlsendpoint import DEFAULT_POLICY, certificate_options

    return certificate_options(server, server, DEFAULT_POLICY)
