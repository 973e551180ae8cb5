"""
What ACME keeps in the data directory, one directory per ACME server
(C{DATA/acme/HOST[_PORT]/}, so a staging account never meets production):

  - C{account.key}: the account's private key, a JWK (mode 0600);
  - C{account.json}: the account (its URL), so a restart reuses it;
  - C{cert.pem}: the certificate chain, leaf first;
  - C{cert.key}: its private key (mode 0600).

Files are written atomically (temporary file, fsync, rename), the key
before the certificate, so a certificate never exists without its key.
Blocking file work: called from the ACME thread, or once at start.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from txs3.files import write_atomically


@dataclass(frozen=True)
class StoredCertificate:
    """
    A certificate chain and its key as stored.

    @ivar cert: path of the PEM chain, leaf first.
    @ivar key: path of the PEM private key.
    @ivar names: the leaf's DNS names.
    @ivar not_before: the start of the leaf's validity (UTC).
    @ivar not_after: the end of the leaf's validity (UTC).
    """

    cert: Path
    key: Path
    names: frozenset[str]
    not_before: datetime.datetime
    not_after: datetime.datetime

    def covers(self, domains: frozenset[str]) -> bool:
        """Whether the certificate names every one of C{domains}."""
        return domains <= self.names


def server_directory(data: Path, directory_url: str) -> Path:
    """The directory in C{data} for the ACME server at C{directory_url}."""
    netloc = urlsplit(directory_url).netloc or "acme"
    return data / "acme" / re.sub(r"[^A-Za-z0-9.-]", "_", netloc)


class AcmeStorage:
    """The files of one ACME server's account and certificate."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.account_key = directory / "account.key"
        self.account = directory / "account.json"
        self.cert = directory / "cert.pem"
        self.key = directory / "cert.key"

    def read_account(self) -> tuple[bytes, bytes | None] | None:
        """
        C{(key JSON, account JSON or None)}, or None when there is no
        account key yet.
        """
        try:
            key = self.account_key.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return key, self.account.read_bytes()
        except FileNotFoundError:
            return key, None

    def write_account_key(self, key_json: bytes) -> None:
        """Keep the account's private key (mode 0600)."""
        write_atomically(self.account_key, key_json)

    def write_account(self, account_json: bytes) -> None:
        """Keep the account (mode 0600: it names the e-mail address)."""
        write_atomically(self.account, account_json)

    def write_certificate(self, chain_pem: bytes, key_pem: bytes) -> StoredCertificate:
        """
        Keep a new certificate chain and its key, key first.

        @raise ValueError: if C{chain_pem} holds no PEM certificate.
        """
        stored = _describe(self.cert, self.key, chain_pem)
        write_atomically(self.key, key_pem)
        write_atomically(self.cert, chain_pem, 0o644)
        return stored

    def read_certificate(self) -> StoredCertificate | None:
        """The stored certificate, or None if there is none (or no key)."""
        try:
            chain = self.cert.read_bytes()
        except FileNotFoundError:
            return None
        if not self.key.exists():
            return None
        try:
            return _describe(self.cert, self.key, chain)
        except ValueError:
            return None


def _describe(cert: Path, key: Path, chain_pem: bytes) -> StoredCertificate:
    leaf = x509.load_pem_x509_certificates(chain_pem)[0]
    try:
        sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = frozenset(
            n.lower() for n in sans.value.get_values_for_type(x509.DNSName)
        )
    except x509.ExtensionNotFound:
        names = frozenset()
    return StoredCertificate(
        cert=cert,
        key=key,
        names=names,
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
    )


def renewal_time(cert: StoredCertificate) -> datetime.datetime:
    """
    When to renew C{cert}: at two thirds of its lifetime, or 30 days before
    it expires, whichever is earlier.  For a certificate too short-lived
    for the second rule (30 days before expiry falls in the first third of
    its lifetime, as for a 6-day certificate) only the first applies.
    """
    lifetime = cert.not_after - cert.not_before
    two_thirds = cert.not_before + lifetime * 2 / 3
    month_before = cert.not_after - datetime.timedelta(days=30)
    if month_before < cert.not_before + lifetime / 3:
        return two_thirds
    return min(two_thirds, month_before)
