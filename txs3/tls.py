"""
The server's TLS certificate: finding it, making one, and wiring it into
Twisted endpoint strings.

txs3 terminates TLS itself.  An C{ssl:} endpoint string that names neither
C{privateKey=} nor C{certKey=} is given the txs3 certificate, the files
C{server.pem} (certificate chain, PEM) and C{server.key} (private key, PEM) in
the certificate directory.  When neither file exists, L{ensure_certificate}
writes a self-signed pair there: an EC P-256 key and a certificate valid for
825 days whose subject alternative names are the machine's host name,
C{localhost}, C{127.0.0.1} and C{::1}.  A user checks it by its SHA-256
fingerprint (L{fingerprint}), which the server logs at start.

Nothing here touches the reactor; every function is synchronous file work
done once at start-up.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.internet.endpoints import quoteStringArgument

from txs3.files import write_atomically

CERT_NAME = "server.pem"
KEY_NAME = "server.key"
VALIDITY_DAYS = 825  # the longest lifetime Apple platforms accept for a TLS cert


class CertificateError(Exception):
    """
    A certificate or key cannot be found, read, parsed or written.

    The message is one line meant for the operator and names the file.
    """


@dataclass(frozen=True)
class CertificateFiles:
    """
    The txs3 certificate pair.

    @ivar cert: path of the PEM certificate chain (leaf first).
    @ivar key: path of the PEM private key.
    @ivar created: whether L{ensure_certificate} wrote the pair just now.
    """

    cert: Path
    key: Path
    created: bool = False


def default_names() -> list[str]:
    """
    The names a self-signed certificate is made for: this machine's host name
    (and its fully qualified name when that differs), C{localhost},
    C{127.0.0.1} and C{::1}, without duplicates.
    """
    names: list[str] = []
    for name in (
        socket.gethostname(),
        socket.getfqdn(),
        "localhost",
        "127.0.0.1",
        "::1",
    ):
        # getfqdn() may answer with a reverse-DNS name such as
        # "1.0.0.127.in-addr.arpa" or an empty string on odd set-ups.
        name = name.strip().rstrip(".").lower()
        if name and "in-addr.arpa" not in name and name not in names:
            names.append(name)
    return names


def make_self_signed(
    names: Sequence[str],
    *,
    now: datetime.datetime | None = None,
    days: int = VALIDITY_DAYS,
) -> tuple[bytes, bytes]:
    """
    Make a self-signed EC P-256 certificate for C{names}.

    @param names: DNS names and IP address literals; the first is the
        subject's common name.  IP literals become IP SANs.
    @param now: the start of validity (default: the current time, UTC).
    @return: C{(certificate PEM, private key PEM)}; the key is unencrypted
        PKCS#8.
    @raise ValueError: if C{names} is empty.
    """
    if not names:
        raise ValueError("a certificate needs at least one name")
    if now is None:
        now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "txs3 self-signed"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # A minute of slack for clients whose clock runs a little behind.
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        # CA:FALSE leaf, as macOS and Java (Cyberduck) expect of a server
        # certificate that a user chooses to trust directly.
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem


def fingerprint(cert_pem: bytes) -> str:
    """
    The SHA-256 fingerprint of the first certificate in C{cert_pem}, as
    colon-separated upper-case hex pairs (the form Cyberduck, browsers and
    C{openssl x509 -fingerprint -sha256} show).

    @raise ValueError: if C{cert_pem} holds no PEM certificate.
    """
    cert = x509.load_pem_x509_certificate(cert_pem)
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def certificate_fingerprint(path: Path) -> str:
    """
    L{fingerprint} of the certificate file at C{path}.

    @raise CertificateError: if the file cannot be read or holds no PEM
        certificate.
    """
    data = read_file(path, "certificate")
    try:
        return fingerprint(data)
    except ValueError:
        raise CertificateError(f"{path} holds no PEM certificate") from None


def read_file(path: Path, what: str) -> bytes:
    """
    The bytes of C{path}.

    @raise CertificateError: naming C{what} and the file, if it cannot be
        read.
    """
    try:
        return path.read_bytes()
    except OSError as e:
        raise CertificateError(
            f"cannot read {what} file {path}: {e.strerror}"
        ) from None


def ensure_certificate(
    certs_dir: Path, names: Iterable[str] | None = None
) -> CertificateFiles:
    """
    Find the txs3 certificate in C{certs_dir}, or make a self-signed one.

    If both C{server.pem} and C{server.key} exist they are returned as they
    are (their readability is checked by L{check_tls_files}).  If neither
    exists, C{certs_dir} is created as needed and a fresh pair for C{names}
    (default: L{default_names}) is written: the key first, mode 0600, then
    the certificate, mode 0644, so a certificate never exists without its
    key.

    @raise CertificateError: if only one of the two files exists (the
        operator must fix that: txs3 will not overwrite half a pair), or the
        directory or files cannot be written.
    """
    cert, key = certs_dir / CERT_NAME, certs_dir / KEY_NAME
    have_cert, have_key = cert.exists(), key.exists()
    if have_cert and have_key:
        return CertificateFiles(cert, key, created=False)
    if have_cert != have_key:
        present, missing = (cert, key) if have_cert else (key, cert)
        raise CertificateError(
            f"{present} exists but {missing} does not: provide both, or remove "
            f"{present} to have txs3 make a self-signed pair"
        )
    cert_pem, key_pem = make_self_signed(
        list(names) if names is not None else default_names()
    )
    try:
        certs_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(key, key_pem, 0o600)
        write_atomically(cert, cert_pem, 0o644)
    except OSError as e:
        raise CertificateError(
            f"cannot write a certificate into {certs_dir}: {e.strerror}"
        ) from None
    return CertificateFiles(cert, key, created=True)


def check_tls_files(cert: Path, key: Path) -> None:
    """
    Check that C{cert} holds a PEM certificate and C{key} a PEM private key
    (the same file may hold both), so that a bad file is reported by name
    before Twisted's endpoint parser fails on it less clearly.

    @raise CertificateError: naming the file that is missing, unreadable or
        not PEM.
    """
    certificate_fingerprint(cert)
    key_pem = read_file(key, "private key")
    try:
        serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise CertificateError(f"{key} holds no unencrypted PEM private key") from None


# -- endpoint strings --------------------------------------------------------

# The arguments of Twisted's ssl: server endpoint, in its positional order
# (twisted.internet.endpoints._parseSSL).
SSL_ARGUMENTS = (
    "port",
    "privateKey",
    "certKey",
    "sslmethod",
    "interface",
    "backlog",
    "extraCertChain",
    "dhParameters",
)


def parse_endpoint(description: str) -> tuple[list[str], dict[str, str]]:
    """
    Split a Twisted endpoint string into positional and keyword arguments by
    Twisted's own rules (C{twisted.internet.endpoints._parse}): parts are
    separated by unescaped colons; the first unescaped C{=} of a part makes
    it a keyword argument; a backslash escapes the next character.

    C{"ssl:443:privateKey=a\\:b"} -> C{(["ssl", "443"], {"privateKey": "a:b"})}.
    """
    args: list[str] = []
    kwargs: dict[str, str] = {}
    part: list[str] = []  # the strings of the current part: [value] or [key, value]
    current: list[str] = []
    chars = iter(description)
    for ch in chars:
        if ch == "\\":
            current.append(next(chars, ""))
        elif ch == ":" or (ch == "=" and not part):
            part.append("".join(current))
            current = []
            if ch == ":":
                _add_part(part, args, kwargs)
                part = []
        else:
            current.append(ch)
    part.append("".join(current))
    _add_part(part, args, kwargs)
    return args, kwargs


def _add_part(part: list[str], args: list[str], kwargs: dict[str, str]) -> None:
    if len(part) == 1:
        args.append(part[0])
    else:
        kwargs[part[0]] = part[1]


def ssl_arguments(description: str) -> dict[str, str] | None:
    """
    The arguments of an C{ssl:} endpoint string by name (positional ones
    named in Twisted's order, L{SSL_ARGUMENTS}), or None when
    C{description} is not an C{ssl:} endpoint.

    @raise ValueError: for an argument C{ssl:} does not take, one given
        twice, or a missing port; the message is one line.
    """
    args, kwargs = parse_endpoint(description)
    if args[0] != "ssl":
        return None
    positional = args[1:]
    if len(positional) > len(SSL_ARGUMENTS):
        raise ValueError(f"ssl: takes at most {len(SSL_ARGUMENTS)} arguments")
    named = dict(zip(SSL_ARGUMENTS, positional, strict=False))
    for name, value in kwargs.items():
        if name not in SSL_ARGUMENTS:
            raise ValueError(
                f"ssl: takes no argument {name}=; it takes "
                # sslmethod= is Twisted's, but txs3.tlsendpoint refuses it.
                + ", ".join(f"{a}=" for a in SSL_ARGUMENTS if a != "sslmethod")
            )
        if name in named:
            raise ValueError(f"ssl: argument {name} is given twice")
        named[name] = value
    if "port" not in named:
        raise ValueError("ssl: needs a port number, e.g. ssl:8443")
    return named


def tls_files(arguments: dict[str, str]) -> tuple[Path, Path] | None:
    """
    The C{(certificate, key)} files that L{ssl_arguments} name, or None when
    they name neither.

    Twisted's rule: C{certKey} defaults to C{privateKey}, so a single
    C{privateKey=} file holds both.  Arguments naming only C{certKey=} get
    Twisted's default key file, C{server.pem}.
    """
    private_key = arguments.get("privateKey")
    cert_key = arguments.get("certKey")
    if private_key is None and cert_key is None:
        return None
    key = Path(private_key if private_key is not None else "server.pem")
    return Path(cert_key if cert_key is not None else str(key)), key


def endpoint_tls_files(description: str) -> tuple[Path, Path] | None:
    """
    The C{(certificate, key)} files an C{ssl:} endpoint string names (see
    L{tls_files}), or None when it is not an C{ssl:} endpoint, names
    neither, or has arguments C{ssl:} does not take (reported when the
    endpoint is built).
    """
    try:
        arguments = ssl_arguments(description)
    except ValueError:
        return None
    return None if arguments is None else tls_files(arguments)


def needs_txs3_certificate(description: str) -> bool:
    """
    Whether C{description} is an C{ssl:} endpoint that names no key or
    cert.  An C{ssl:} endpoint with arguments it does not take does not: it
    is refused when built, and no certificate should be made for it.
    """
    try:
        arguments = ssl_arguments(description)
    except ValueError:
        return False
    return arguments is not None and tls_files(arguments) is None


def with_certificate(description: str, files: CertificateFiles) -> str:
    """
    C{description} with C{privateKey=} and C{certKey=} naming C{files}
    appended (quoted for the endpoint syntax, so paths may hold C{:} or
    C{=}).
    """
    return (
        f"{description}:privateKey={quoteStringArgument(str(files.key))}"
        f":certKey={quoteStringArgument(str(files.cert))}"
    )
