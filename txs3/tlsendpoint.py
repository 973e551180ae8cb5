"""
Listening endpoints, with txs3's TLS: the whole certificate chain and the
TLS policy.

txs3 builds C{ssl:} endpoints itself rather than through Twisted's C{ssl:}
string parser, which sends only the first certificate of C{certKey=} (so a
client that trusts only the root cannot verify a server whose certificate
an intermediate CA signed, as every Let's Encrypt certificate is) and has
no argument for the cipher suites.  The C{ssl:} syntax and its arguments
are Twisted's, as are the listening endpoint and the C{CertificateOptions}
behind it; only these differ:

  - every certificate of the C{certKey=} file is sent: the leaf (which must
    come first and match the key), then the others in file order, then
    those of C{extraCertChain=} not already sent;
  - the policy (L{TLSPolicy}): TLS 1.2 and 1.3 by default; for TLS 1.2 only
    the cipher suites of L{DEFAULT_CIPHERS}, forward-secret AEAD ones
    (ECDHE with AES-GCM or ChaCha20-Poly1305).  TLS 1.3's suites are
    OpenSSL's defaults, all of them forward-secret AEAD;
  - C{sslmethod=} is refused: the versions come from the policy;
  - the key and certificate are checked to belong together at start.
  - the certificate can be replaced while the port listens
    (L{ReplaceableTLS}, for ACME): new handshakes get the new one.

Other endpoint types are left to Twisted.  Nothing here runs the reactor:
building an endpoint reads its files synchronously, once, at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from OpenSSL import SSL
from OpenSSL.crypto import X509, PKey
from twisted.internet.endpoints import SSL4ServerEndpoint, serverFromString
from twisted.internet.interfaces import (
    IAcceptableCiphers,
    IOpenSSLServerConnectionCreator,
    IStreamServerEndpoint,
)
from twisted.internet.ssl import (
    AcceptableCiphers,
    CertificateOptions,
    DiffieHellmanParameters,
    TLSVersion,
)
from twisted.logger import Logger
from twisted.python.filepath import FilePath
from zope.interface import implementer

from txs3.tls import CertificateError, read_file, ssl_arguments, tls_files

log = Logger()

# ECDHE key exchange (forward secrecy) with an AEAD cipher, for ECDSA and RSA
# certificates alike: Mozilla's "intermediate" TLS 1.2 suites without the
# DHE ones (finite-field Diffie-Hellman needs parameters txs3 does not ship,
# and is slow).  OpenSSL expands it to six suites, ECDHE-{ECDSA,RSA}-
# {AES256-GCM-SHA384,AES128-GCM-SHA256,CHACHA20-POLY1305}; every TLS 1.2
# client of the last decade offers some of them.  Kept short: `--help`
# shows it.
DEFAULT_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"

# Older versions are not offered at all: RFC 8996 deprecates TLS 1.0/1.1.
MIN_VERSIONS = {"1.2": TLSVersion.TLSv1_2, "1.3": TLSVersion.TLSv1_3}


@dataclass(frozen=True)
class TLSPolicy:
    """
    What every C{ssl:} listener offers.

    @ivar ciphers: an OpenSSL cipher string for TLS 1.2 (TLS 1.3 suites are
        not affected).
    @ivar min_version: the oldest TLS version offered, C{"1.2"} or
        C{"1.3"}; TLS 1.3 is always offered.
    @raise ValueError: on construction, with one line naming the option to
        fix, if C{min_version} is not a key of L{MIN_VERSIONS} or
        C{ciphers} selects no cipher suite this OpenSSL knows.
    """

    ciphers: str = DEFAULT_CIPHERS
    min_version: str = "1.2"

    def __post_init__(self) -> None:
        if self.min_version not in MIN_VERSIONS:
            raise ValueError(
                f"--tls-min-version {self.min_version!r} must be one of "
                + ", ".join(MIN_VERSIONS)
            )
        try:
            # Twisted refuses a cipher string that selects no suite it can
            # use; OpenSSL expands one that matches no TLS 1.2 suite to none.
            CertificateOptions(acceptableCiphers=self.acceptable_ciphers())
        except ValueError:
            raise ValueError(
                f"--tls-ciphers {self.ciphers!r} selects no TLS 1.2 cipher suite "
                f"this OpenSSL knows; `openssl ciphers -v '{self.ciphers}'` "
                "lists what it selects"
            ) from None

    def acceptable_ciphers(self) -> IAcceptableCiphers:
        """The ciphers as Twisted's C{IAcceptableCiphers}."""
        ciphers: IAcceptableCiphers = AcceptableCiphers.fromOpenSSLCipherString(
            self.ciphers
        )
        return ciphers


DEFAULT_POLICY = TLSPolicy()


def read_chain(path: Path) -> list[x509.Certificate]:
    """
    Every PEM certificate in the file at C{path}, in file order (other PEM
    blocks, such as a private key in the same file, are skipped).

    @raise CertificateError: if the file cannot be read or holds no PEM
        certificate.
    """
    try:
        return x509.load_pem_x509_certificates(read_file(path, "certificate"))
    except ValueError:
        raise CertificateError(f"{path} holds no PEM certificate") from None


# The private keys pyOpenSSL can serve with (not, say, Diffie-Hellman keys).
_TLS_KEY_TYPES = (
    ec.EllipticCurvePrivateKey,
    rsa.RSAPrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
    dsa.DSAPrivateKey,
)


def _spki(public_key: PublicKeyTypes) -> bytes:
    """C{public_key} as DER SubjectPublicKeyInfo, to compare two keys."""
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def certificate_options(
    cert: Path,
    key: Path,
    policy: TLSPolicy,
    *,
    extra_chain: Path | None = None,
    dh_parameters: Path | None = None,
) -> CertificateOptions:
    """
    Server TLS options that present the chain in C{cert} with the key in
    C{key} (the same file may hold both) under C{policy}.

    The first certificate of C{cert} is the leaf; the ones after it, then
    those of C{extra_chain} not among them, are sent after it.

    @param dh_parameters: a PEM file of finite-field Diffie-Hellman
        parameters, needed only if C{policy} allows C{DHE} suites.
    @raise CertificateError: naming the file, if a file cannot be read or
        parsed, or the key is not the leaf's.
    """
    chain = read_chain(cert)
    for extra in read_chain(extra_chain) if extra_chain is not None else []:
        if extra not in chain:
            chain.append(extra)
    try:
        private_key = serialization.load_pem_private_key(
            read_file(key, "private key"), password=None
        )
    except (ValueError, TypeError):
        raise CertificateError(f"{key} holds no unencrypted PEM private key") from None
    if not isinstance(private_key, _TLS_KEY_TYPES):
        raise CertificateError(
            f"{key} holds a key TLS cannot use: use an EC or RSA private key"
        )
    if _spki(private_key.public_key()) != _spki(chain[0].public_key()):
        raise CertificateError(
            f"the private key in {key} is not the key of the first certificate "
            f"in {cert}: put the server's own certificate first, then its CAs"
        )
    dh = None
    if dh_parameters is not None:
        read_file(dh_parameters, "Diffie-Hellman parameters")
        dh = DiffieHellmanParameters.fromFile(FilePath(str(dh_parameters)))
    options = CertificateOptions(
        privateKey=PKey.from_cryptography_key(private_key),
        certificate=X509.from_cryptography(chain[0]),
        extraCertChain=[X509.from_cryptography(c) for c in chain[1:]],
        acceptableCiphers=policy.acceptable_ciphers(),
        raiseMinimumTo=MIN_VERSIONS[policy.min_version],
        dhParameters=dh,
    )
    try:
        # Made now, not at the first connection, so that OpenSSL's
        # complaints about these files stop the start instead.
        options.getContext()
    except SSL.Error as e:
        raise CertificateError(f"OpenSSL refuses {cert} or {key}: {e}") from None
    return options


@implementer(IOpenSSLServerConnectionCreator)
class ReplaceableTLS:
    """
    The TLS of one C{ssl:} port, whose certificate can be replaced while it
    listens: connections made after L{replace} use the new options, open
    ones keep theirs.  Reactor thread only.

    @ivar options: the options new connections are made with.
    """

    def __init__(
        self,
        options: CertificateOptions,
        source: Callable[[], CertificateOptions] | None = None,
    ) -> None:
        """
        @param source: builds the options anew from the port's files, for
            L{reload}; None for a port whose certificate comes from
            elsewhere (ACME replaces it itself).
        """
        self.options = options
        self.source = source
        self._hooks: list[Callable[[SSL.Context], None]] = []

    def add_context_hook(self, hook: Callable[[SSL.Context], None]) -> None:
        """Call C{hook} with the current context now and each new one later."""
        self._hooks.append(hook)
        hook(self.options.getContext())

    def replace(self, options: CertificateOptions) -> None:
        """Make new connections with C{options}."""
        context = options.getContext()
        for hook in self._hooks:
            hook(context)
        self.options = options

    def reload(self) -> bool:
        """
        Read the port's certificate and key files again and use them for
        new connections (SIGHUP, C{txs3-admin reload}); open connections
        keep theirs.  A file that does not load keeps the certificate in
        use, with one log line.  Returns whether it was replaced.
        """
        if self.source is None:
            return False
        try:
            options = self.source()
        except (CertificateError, ValueError, OSError) as e:
            log.warn("Kept the certificate in use: {reason}", reason=str(e))
            return False
        self.replace(options)
        log.info("Certificate reloaded")
        return True

    def serverConnectionForTLS(self, protocol: Any) -> SSL.Connection:
        """A server connection made with the current options."""
        connection: SSL.Connection = self.options.serverConnectionForTLS(protocol)
        return connection

    def clientConnectionForTLS(self, protocol: Any) -> SSL.Connection:
        """Not a client: refused."""
        raise TypeError("ReplaceableTLS is for servers")


def server_endpoint(
    reactor: Any, description: str, policy: TLSPolicy
) -> IStreamServerEndpoint:
    """
    L{server_endpoint_and_tls}'s endpoint.
    """
    return server_endpoint_and_tls(reactor, description, policy)[0]


def server_endpoint_and_tls(
    reactor: Any, description: str, policy: TLSPolicy
) -> tuple[IStreamServerEndpoint, ReplaceableTLS | None]:
    """
    The endpoint C{description} names, and for C{ssl:} its L{ReplaceableTLS}
    (None for other types): for C{ssl:}, built by txs3 as the
    module docstring says (an C{ssl:} string naming neither C{privateKey=}
    nor C{certKey=} gets Twisted's default, C{server.pem}, for both); any
    other type, parsed by Twisted's C{serverFromString}.

    @raise ValueError: for a bad C{ssl:} argument, with one line.
    @raise CertificateError: for a bad certificate, key or parameter file.
    @raise Exception: whatever C{serverFromString} raises for other types.
    """
    arguments = ssl_arguments(description)
    if arguments is None:
        endpoint: IStreamServerEndpoint = serverFromString(reactor, description)
        return endpoint, None
    if "sslmethod" in arguments:
        raise ValueError(
            "ssl: takes no sslmethod= in txs3: use --tls-min-version to choose "
            "the TLS versions"
        )
    port, backlog = arguments["port"], arguments.get("backlog", "50")
    for name, value in (("port", port), ("backlog", backlog)):
        if not value.isdigit():
            raise ValueError(f"ssl: {name} {value!r} is not a number")
    cert, key = tls_files(arguments) or (Path("server.pem"), Path("server.pem"))
    extra = arguments.get("extraCertChain")
    dh = arguments.get("dhParameters")
    options = certificate_options(
        cert,
        key,
        policy,
        extra_chain=Path(extra) if extra is not None else None,
        dh_parameters=Path(dh) if dh is not None else None,
    )
    log.info(
        "TLS port {port}: {cert}, sending its leaf and {count} CA certificate(s)",
        port=port,
        cert=cert,
        count=len(options.extraCertChain),
    )

    def source() -> CertificateOptions:
        return certificate_options(
            cert,
            key,
            policy,
            extra_chain=Path(extra) if extra is not None else None,
            dh_parameters=Path(dh) if dh is not None else None,
        )

    tls = ReplaceableTLS(options, source)
    ssl_endpoint = SSL4ServerEndpoint(
        reactor,
        int(port),
        tls,
        backlog=int(backlog),
        interface=arguments.get("interface", ""),
    )
    return ssl_endpoint, tls
