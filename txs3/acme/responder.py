"""
The TLS-ALPN-01 responder (RFC 8737): while a challenge for a name is
pending, a handshake whose SNI is that name and whose ALPN offers
C{acme-tls/1} is answered with the challenge certificate.

The switch happens in the server name (SNI) callback of the ports' normal
C{SSL.Context}: for a pending name it moves the connection to that name's
challenge context, whose ALPN callback selects C{acme-tls/1}.  A client that
does not offer C{acme-tls/1} to a pending name is refused by ALPN (the
challenge certificate is never a normal server certificate); this lasts only
the seconds a challenge is pending, and only for a name that has no
certificate yet or is being renewed.  Every other handshake is untouched.

L{TLSALPNResponder} is used on the reactor thread only: the ACME client
thread hands challenges over with C{blockingCallFromThread}.
"""

from __future__ import annotations

import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from OpenSSL import SSL
from twisted.logger import Logger

log = Logger()

ACME_TLS_1 = b"acme-tls/1"
# id-pe-acmeIdentifier, RFC 8737 section 6.1.
ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")


def challenge_certificate(
    domain: str, key_authorization: str, *, now: datetime.datetime | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """
    The self-signed TLS-ALPN-01 certificate for C{domain}: its only name is
    C{domain}, and its critical acmeIdentifier extension holds the SHA-256
    of C{key_authorization} (RFC 8737 section 3).

    @return: the certificate and its new EC P-256 key.
    """
    if now is None:
        now = datetime.datetime.now(datetime.UTC)
    digest = hashlib.sha256(key_authorization.encode("ascii")).digest()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain[:64])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), False)
        # The extension's value is the DER OCTET STRING of the digest.
        .add_extension(
            x509.UnrecognizedExtension(ACME_IDENTIFIER, b"\x04\x20" + digest),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _select_acme_tls(
    _connection: SSL.Connection, offered: list[bytes]
) -> bytes | SSL._NoOverlappingProtocols:
    """ALPN for a challenge context: C{acme-tls/1} or nothing."""
    if ACME_TLS_1 in offered:
        return ACME_TLS_1
    return SSL.NO_OVERLAPPING_PROTOCOLS


class TLSALPNResponder:
    """
    The pending TLS-ALPN-01 challenges, by name, and the SNI callback that
    answers them.  Reactor thread only.
    """

    def __init__(self) -> None:
        self._pending: dict[str, SSL.Context] = {}

    def pending(self) -> frozenset[str]:
        """The names with a challenge pending."""
        return frozenset(self._pending)

    def add(
        self,
        domain: str,
        cert: x509.Certificate,
        key: ec.EllipticCurvePrivateKey,
    ) -> None:
        """Answer validation handshakes for C{domain} with C{cert} from now on."""
        context = SSL.Context(SSL.TLS_METHOD)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.use_certificate(cert)
        context.use_privatekey(key)
        context.set_alpn_select_callback(_select_acme_tls)
        self._pending[domain.lower()] = context
        log.info(
            "ACME: answering the TLS-ALPN-01 challenge for {domain}", domain=domain
        )

    def remove(self, domain: str) -> None:
        """Stop answering for C{domain} (no error if nothing is pending)."""
        self._pending.pop(domain.lower(), None)

    def install(self, context: SSL.Context) -> None:
        """Make the server context C{context} answer pending challenges."""
        context.set_tlsext_servername_callback(self._servername)

    def _servername(self, connection: SSL.Connection) -> None:
        if not self._pending:
            return
        name = connection.get_servername()
        if name is None:
            return
        challenge = self._pending.get(name.decode("ascii", "replace").lower())
        if challenge is not None:
            connection.set_context(challenge)
