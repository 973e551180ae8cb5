"""
C{twistd txs3}: command-line options and the service tree.

    twistd -n txs3 [--data DIR] [--port ENDPOINT ...] [--certs DIR]
                   [--credentials FILE] [--domain NAME ...] [--region NAME]
                   [--acme NAME ... [--acme-email ADDRESS] [--acme-staging]]

Start-up happens in three places, and each reports failure as one line on
stderr and a non-zero exit status, never a traceback:

  1. L{Options.parseOptions}: option values (L{usage.UsageError} becomes
     C{SystemExit("txs3: ...")}: twistd would otherwise print its whole
     usage text on stdout with the error last).
  2. L{makeService}, before twistd daemonizes or starts logging: the data
     directory (created, checked writable), the TLS certificate (found or
     made), endpoint strings (parsed, which reads their key files) and the
     credentials (loaded or created).  Failures raise C{SystemExit}.
  3. L{TXS3Service}, after twistd has daemonized: binding the ports
     (C{privilegedStartService}), then, with privileges shed, opening the
     store (C{startService}; C{twist} calls only this, which then binds
     first).  Failures raise L{StartupError}, an C{Exception}, so that
     twistd removes its pid file and, when daemonized, reports it to the
     waiting parent through its status pipe (printed as C{An error has
     occurred: ...}); in the foreground L{_print_startup_error} prints it as
     one line instead of a traceback.
"""

from __future__ import annotations

import errno
import os
import re
import socket
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IAddress,
    ILoggingContext,
    IProtocolFactory,
    IProtocolNegotiationFactory,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python import usage
from zope.interface import implementer

from txs3 import tls, tlsendpoint
from txs3.acme import LETSENCRYPT, LETSENCRYPT_STAGING

if TYPE_CHECKING:
    from twisted.web.server import Site

    from txs3.acme.http01 import HTTP01Responder
    from txs3.auth.types import Secret
    from txs3.store.interface import IObjectStore

log = Logger()

DEFAULT_PORT = "ssl:443"

# A region is a short identifier that goes into SigV4 credential scopes and
# LocationConstraint; AWS's own are like "us-east-1", self-hosted servers
# often use names like "garage".
_REGION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
_DOMAIN_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


class Options(usage.Options):
    """Options of C{twistd txs3}; see L{makeService} for what they do."""

    synopsis = "[options]"
    longdesc = (
        "An S3-compatible object storage server that terminates TLS itself. "
        "With no options: data in ./data, HTTPS on port 443 with the "
        "certificate in ./certs (made self-signed if there is none), "
        "credentials from TXS3_ACCESS_KEY/TXS3_SECRET_KEY or ./data/credentials "
        "(created with a random key pair on first start)."
    )

    optParameters = [
        [
            "data",
            "d",
            "data",
            "Directory for objects, the index and generated credentials.",
        ],
        [
            "certs",
            None,
            "certs",
            "Directory of server.pem and server.key, used by ssl: endpoints that "
            "name no privateKey=/certKey=; a self-signed pair is made there if "
            "neither exists.",
        ],
        [
            "tls-ciphers",
            None,
            tlsendpoint.DEFAULT_CIPHERS,
            "OpenSSL cipher string: the TLS 1.2 cipher suites ssl: ports offer "
            "(TLS 1.3's are OpenSSL's defaults). The default offers only "
            "forward-secret AEAD suites: ECDHE with AES-GCM or ChaCha20-Poly1305.",
        ],
        [
            "tls-min-version",
            None,
            "1.2",
            "The oldest TLS version ssl: ports offer: 1.2 or 1.3.",
        ],
        [
            "credentials",
            "c",
            None,
            "File of access keys, one per line: ACCESS_KEY SECRET_KEY "
            "[DISPLAY_NAME [OWNER_ID]]. Default: TXS3_ACCESS_KEY and "
            "TXS3_SECRET_KEY, else DATA/credentials.",
        ],
        ["region", None, "us-east-1", "The region this server claims to be."],
        [
            "acme-email",
            None,
            None,
            "The contact address of the ACME account.",
        ],
        [
            "acme-directory",
            None,
            None,
            "The ACME server's directory URL. Default: Let's Encrypt, "
            "https://acme-v02.api.letsencrypt.org/directory.",
        ],
        [
            "acme-ca-bundle",
            None,
            None,
            "Trust the CA certificates in this PEM file (only) for the ACME "
            "server's HTTPS, e.g. a test ACME server's own CA.",
        ],
        [
            "acme-challenge",
            None,
            "tls-alpn-01",
            "The ACME challenge: tls-alpn-01 (on the ssl: port) or http-01 "
            "(on the tcp: ports; the ACME server connects to port 80).",
        ],
        [
            "access-log",
            None,
            None,
            "Write a combined-format line per request to this file, or to the "
            "server's own log with '-'. Default: no access log.",
        ],
    ]

    optFlags = [
        [
            "acme-staging",
            None,
            "Use Let's Encrypt's staging server (untrusted certificates, high "
            "rate limits): try --acme with it first.",
        ],
    ]

    def __init__(self) -> None:
        super().__init__()
        # opt_* docstrings span lines; --help should show them as one paragraph.
        self.docs = {k: " ".join(v.split()) if v else v for k, v in self.docs.items()}
        self["port"] = []
        self["domain"] = []
        self["acme"] = []

    def opt_port(self, description: str) -> None:
        """
        A Twisted server endpoint to listen on, e.g. ssl:8443,
        tcp:8080:interface=127.0.0.1, ssl:443:privateKey=key.pem:certKey=cert.pem
        or systemd:domain=INET:index=0. Repeatable. Default: ssl:443.
        """
        if not description.strip():
            raise usage.UsageError("--port needs an endpoint, e.g. ssl:8443")
        self["port"].append(description)

    opt_p = opt_port

    def opt_domain(self, name: str) -> None:
        """
        Serve virtual-host style requests (BUCKET.NAME) for this domain.
        Repeatable.
        """
        domain = name.strip().rstrip(".").lower()
        labels = domain.split(".")
        if not domain or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
            raise usage.UsageError(f"--domain {name!r} is not a valid domain name")
        if domain not in self["domain"]:
            self["domain"].append(domain)

    def opt_acme(self, name: str) -> None:
        """
        Get and renew the certificate of the ssl: ports that name no
        certificate files for this DNS name, from Let's Encrypt (see
        --acme-directory) with the TLS-ALPN-01 challenge on the TLS port.
        Repeatable: one certificate names them all.
        """
        domain = name.strip().rstrip(".").lower()
        labels = domain.split(".")
        if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(x) for x in labels):
            raise usage.UsageError(f"--acme {name!r} is not a fully qualified DNS name")
        if domain not in self["acme"]:
            self["acme"].append(domain)

    def _acme_options(self) -> None:
        """Check the --acme-* options, and pick the directory."""
        directory = self["acme-directory"]
        if self["acme-staging"]:
            if directory is not None:
                raise usage.UsageError(
                    "--acme-staging and --acme-directory name two ACME servers: "
                    "give one"
                )
            directory = LETSENCRYPT_STAGING
        if directory is None:
            directory = LETSENCRYPT
        if not directory.startswith("https://"):
            raise usage.UsageError(
                f"--acme-directory {directory!r} must be an https:// URL"
            )
        self["acme-directory"] = directory
        if self["acme-challenge"] not in ("tls-alpn-01", "http-01"):
            raise usage.UsageError(
                f"--acme-challenge {self['acme-challenge']!r} must be tls-alpn-01 "
                "or http-01"
            )
        email = self["acme-email"]
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise usage.UsageError(f"--acme-email {email!r} is not an e-mail address")
        if self["acme-ca-bundle"] is not None:
            self["acme-ca-bundle"] = os.path.abspath(self["acme-ca-bundle"])
        if not self["acme"] and (
            self["acme-email"] or self["acme-staging"] or self["acme-ca-bundle"]
        ):
            raise usage.UsageError("--acme-* options need --acme DOMAIN")

    def postOptions(self) -> None:
        """
        Check option values and make paths absolute: twistd changes to its
        --rundir after L{makeService}.

        @raise usage.UsageError: for a bad value.
        """
        if not self["port"]:
            self["port"] = [DEFAULT_PORT]
        if not _REGION.fullmatch(self["region"]):
            raise usage.UsageError(
                f"--region {self['region']!r} must be 1-63 of A-Z a-z 0-9 _ -, "
                "e.g. us-east-1"
            )
        for name in ("data", "certs"):
            if not self[name]:
                raise usage.UsageError(f"--{name} needs a directory")
            self[name] = os.path.abspath(self[name])
        if self["credentials"] is not None:
            self["credentials"] = os.path.abspath(self["credentials"])
        self._acme_options()
        try:
            self["tls-policy"] = tlsendpoint.TLSPolicy(
                self["tls-ciphers"], self["tls-min-version"]
            )
        except ValueError as e:
            raise usage.UsageError(str(e)) from None

    def parseOptions(self, options: Sequence[str] | None = None) -> None:
        """
        Parse C{options} (default: C{sys.argv[1:]}).

        @raise SystemExit: C{"txs3: <problem>"} instead of L{usage.UsageError},
            so twistd and twist print one line on stderr and exit non-zero.
        """
        try:
            super().parseOptions(options)
        except usage.UsageError as e:
            raise SystemExit(f"txs3: {e} (see --help)") from None


class StartupError(Exception):
    """
    The service cannot start.  The message is one line for the operator.
    """


def _print_startup_error(
    previous: Callable[[type[BaseException], BaseException, TracebackType | None], Any],
) -> Callable[[type[BaseException], BaseException, TracebackType | None], None]:
    """
    An C{excepthook} that prints a L{StartupError} reaching the top of the
    process as one line on the real stderr (twistd has redirected
    C{sys.stderr} into its log by then) and hands anything else to
    C{previous}.
    """

    def hook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if isinstance(value, StartupError):
            stream = sys.__stderr__
            if stream is not None:
                stream.write(f"txs3: {value}\n")
                stream.flush()
        else:
            previous(kind, value, tb)

    return hook


def _startup_failed(message: str) -> NoReturn:
    """Log C{message}, arrange for it to be printed as one line, and raise."""
    # error, not critical: before logging begins (under `twist`) Twisted
    # copies critical events to stderr, which would print the line twice.
    log.error("txs3 cannot start: {message}", message=message)
    sys.excepthook = _print_startup_error(sys.excepthook)
    raise StartupError(message)


def _exit(message: str) -> NoReturn:
    """Fail during L{makeService}: one line on stderr, exit status 1."""
    raise SystemExit(f"txs3: {message}")


def describe_listen_error(description: str, error: CannotListenError) -> str:
    """
    One line saying why C{description} could not listen, and what to do.
    """
    port = error.port
    where = f"port {port}" + (f" on {error.interface}" if error.interface else "")
    cause = error.socketError
    code = cause.errno if isinstance(cause, OSError) else None
    if code == errno.EACCES:
        python = os.path.realpath(sys.executable)
        return (
            f"port {port} needs root or CAP_NET_BIND_SERVICE; run as root, "
            f"`setcap cap_net_bind_service=+ep {python}`, or use --port ssl:8443"
        )
    if code == errno.EADDRINUSE:
        return f"{where} is already in use (is another server running?)"
    if code == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: no such local address"
    reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else cause
    return f"cannot listen on {where} ({description}): {reason}"


def _check_data_dir(data: Path) -> None:
    """Create C{data} if needed and prove it writable by writing a file."""
    try:
        data.mkdir(parents=True, exist_ok=True)
        # os.access() says yes to root even on a read-only mount: try it.
        with tempfile.TemporaryFile(dir=data):
            pass
    except OSError as e:
        _exit(f"cannot write to data directory {data}: {e.strerror}")


def _endpoint_strings(options: Options) -> list[tuple[str, str]]:
    """
    Each --port string paired with what to parse: the string itself, or,
    for an C{ssl:} endpoint naming no files, the string with the txs3
    certificate filled in (made first if there is none).  Every certificate
    and key file is checked, and each certificate's SHA-256 fingerprint is
    logged once.  A bad file is an L{_exit} naming it.
    """
    resolved: list[tuple[str, str]] = []
    fingerprints: dict[Path, str] = {}
    files: tls.CertificateFiles | None = None
    try:
        for given in options["port"]:
            description = given
            if tls.needs_txs3_certificate(description):
                if files is None:
                    files = tls.ensure_certificate(Path(options["certs"]))
                    if files.created:
                        log.info(
                            "Created a self-signed TLS certificate for {names} in "
                            "{cert} (key: {key})",
                            names=", ".join(tls.default_names()),
                            cert=files.cert,
                            key=files.key,
                        )
                description = tls.with_certificate(description, files)
            named = tls.endpoint_tls_files(description)
            if named is not None:
                cert, key = named
                tls.check_tls_files(cert, key)
                if cert not in fingerprints:
                    fingerprints[cert] = tls.certificate_fingerprint(cert)
            resolved.append((given, description))
    except tls.CertificateError as e:
        _exit(str(e))
    for cert, fp in fingerprints.items():
        log.info(
            "TLS certificate {cert}: SHA-256 fingerprint {fingerprint}",
            cert=cert,
            fingerprint=fp,
        )
    return resolved


def _parse_endpoint(
    reactor: Any, given: str, description: str, policy: tlsendpoint.TLSPolicy
) -> tuple[IStreamServerEndpoint, tlsendpoint.ReplaceableTLS | None]:
    """
    Parse C{description}, the resolved form of --port C{given}, an C{ssl:}
    one with the whole certificate chain and C{policy}
    (L{tlsendpoint.server_endpoint}); any failure is an L{_exit} naming
    C{given}.
    """
    try:
        return tlsendpoint.server_endpoint_and_tls(reactor, description, policy)
    except Exception as e:
        # serverFromString raises ValueError for unknown types and bad
        # arguments, TypeError for unexpected keywords, IndexError for a
        # systemd index that was not passed; ssl: ones raise ValueError for
        # bad arguments and CertificateError naming a bad file.
        reason = str(e) or type(e).__name__
        if isinstance(e, IndexError) and description.startswith("systemd:"):
            reason = "no such socket was passed by systemd"
        _exit(f"bad --port {given!r}: {reason}")


def open_store(data: Path, reactor: Any) -> IObjectStore:
    """
    Open the default store (SQLite index + blob files) in C{data}, sweeping
    leftovers of interrupted writes.

    Imported here, not at module level: C{twistd txs3 --help} imports this
    module and needs neither SQLite nor the store.
    """
    from txs3.store.sqlite import SQLiteStore

    store: IObjectStore = SQLiteStore.open(str(data), reactor)
    return store


@implementer(IProtocolFactory, IProtocolNegotiationFactory, ILoggingContext)
class _SiteSlot:
    """
    The factory every port listens with, standing in for the site until it
    exists, then passing everything to it.

    Ports bind first (in L{TXS3Service.privilegedStartService}, as root if
    twistd runs as root); the store is opened after that, once privileges
    are shed and only when every port is bound, so a port that cannot bind
    leaves no store threads behind to keep the process from exiting.  The
    reactor is not running in between: no connection can arrive before
    L{ready}; one that did anyway would be refused.

    It passes on the site's ALPN protocols too: Twisted's TLS layer asks the
    factory it wraps, and refuses the handshake of a client that offers ALPN
    (curl, browsers) when the factory names none.
    """

    def __init__(self) -> None:
        self.site: Site | None = None
        self._starts = 0

    def ready(self, site: Site) -> None:
        """Serve with C{site} from now on, starting it once per bound port."""
        self.site = site
        for _ in range(self._starts):
            site.doStart()

    def doStart(self) -> None:
        self._starts += 1
        if self.site is not None:
            self.site.doStart()

    def doStop(self) -> None:
        self._starts -= 1
        if self.site is not None:
            self.site.doStop()

    def buildProtocol(self, addr: IAddress) -> Protocol | None:
        if self.site is None:
            return None
        protocol: Protocol | None = self.site.buildProtocol(addr)
        return protocol

    def acceptableProtocols(self) -> list[bytes]:
        if self.site is None:
            return [b"http/1.1"]
        protocols: list[bytes] = self.site.acceptableProtocols()
        return protocols

    def logPrefix(self) -> str:
        return "txs3"


class TXS3Service(MultiService):
    """
    The running server: one listening service per endpoint, the store, and
    the site over it.

    Start order: bind every port (L{privilegedStartService}, or the start of
    L{startService} under C{twist}), then open the store (which sweeps
    leftovers of interrupted writes) and build the site.  The store is
    opened in L{startService} because that runs after twistd has
    daemonized (a SQLite connection or thread pool must not cross a fork)
    and shed privileges (files it creates belong to the --uid user).  Stop
    order: stop listening, then close the store.

    @ivar store: the open store, or None before start and after stop.
    """

    def __init__(
        self,
        *,
        data: Path,
        endpoints: Sequence[tuple[str, IStreamServerEndpoint]],
        lookup: Callable[[str], Secret | None],
        domains: Sequence[str],
        region: str,
        reactor: Any,
        open_store: Callable[[Path, Any], IObjectStore] = open_store,
        access_log: str | None = None,
        acme: Service | None = None,
        wrap_factory: Callable[[str, IProtocolFactory], IProtocolFactory]
        | None = None,
    ) -> None:
        """
        @param endpoints: C{(--port string as given, parsed endpoint)} pairs;
            the string names the port in error messages.
        @param access_log: see L{txs3.server.S3Site}.
        @param acme: the service that keeps the ports' certificate
            (L{txs3.acme.service.AcmeService}), started once the site
            serves and stopped first.
        @param wrap_factory: given a --port string and the site's factory,
            the factory that port listens with (ACME's HTTP-01 responder
            wraps the C{tcp:} ones).
        """
        super().__init__()
        self.acme = acme
        self._data = data
        self._lookup = lookup
        self._domains = tuple(domains)
        self._region = region
        self._access_log = access_log
        self._reactor = reactor
        self._open_store = open_store
        self._slot = _SiteSlot()
        self.store: IObjectStore | None = None
        for description, endpoint in endpoints:
            factory: IProtocolFactory = self._slot
            if wrap_factory is not None:
                factory = wrap_factory(description, factory)
            listener = StreamServerEndpointService(endpoint, factory)
            # Raise a bind failure to us, instead of logging it and running
            # a server that listens nowhere (strports.service does the same).
            listener._raiseSynchronously = True
            listener.setName(description)
            listener.setServiceParent(self)

    @property
    def site(self) -> Site | None:
        """The site, once the store is open."""
        return self._slot.site

    def _each_listener(
        self, start: Callable[[StreamServerEndpointService], None]
    ) -> None:
        """Call C{start} on each listener, turning a bind failure into one line."""
        for listener in list(self):
            assert isinstance(listener, StreamServerEndpointService)
            try:
                start(listener)
            except CannotListenError as e:
                _startup_failed(describe_listen_error(str(listener.name), e))
            except OSError as e:
                _startup_failed(f"cannot listen on {listener.name}: {e.strerror or e}")

    def privilegedStartService(self) -> None:
        """Bind every port, with root privileges if the process has them."""
        Service.privilegedStartService(self)
        self._each_listener(lambda listener: listener.privilegedStartService())

    def startService(self) -> None:
        """
        Bind any port not bound yet (C{twist} calls only this), then open
        the store and serve.

        @raise StartupError: if a port cannot bind or the store cannot open.
        """
        Service.startService(self)
        self._each_listener(lambda listener: listener.startService())
        if self.store is not None:
            return
        try:
            store = self._open_store(self._data, self._reactor)
        except Exception as e:
            _startup_failed(f"cannot open the store in {self._data}: {e}")
        from txs3.server import build_site

        self.store = store
        self._slot.ready(
            build_site(
                store,
                self._lookup,
                reactor=self._reactor,
                domains=self._domains,
                region=self._region,
                access_log=self._access_log,
            )
        )
        if self.acme is not None:
            self.acme.startService()

    def stopService(self) -> Deferred[None]:
        """Stop listening, then close the store.  Fires when both are done."""
        if self.acme is not None and self.acme.running:
            self.acme.stopService()
        stopped: Deferred[Any] = maybeDeferred(super().stopService)

        def close(_: object) -> Deferred[None] | None:
            store, self.store = self.store, None
            if store is None:
                return None
            return maybeDeferred(store.close)

        return stopped.addBoth(close)


def makeService(options: Options) -> TXS3Service:
    """
    Build the txs3 service from parsed L{Options}.

    Side effects, in order: the data directory is created; a self-signed
    certificate is written into --certs if an C{ssl:} endpoint needs the
    txs3 certificate and there is none; credentials are created in the data
    directory if no other source is configured.  Credentials come last so
    that a failure before them does not swallow the one-time display of a
    freshly generated key pair.

    @raise SystemExit: C{"txs3: <problem>"} for an unwritable data
        directory, a bad certificate or key file, a bad endpoint string or
        bad credentials.
    """
    from twisted.internet import reactor

    # Imported here: txs3.auth's package imports all of authentication, and
    # `twistd --help` imports this module for Options.
    from txs3.auth.credentials import CredentialsError, load_credentials

    data = Path(options["data"])
    _check_data_dir(data)
    endpoints = []
    acme_ports = []
    for given, description in _endpoint_strings(options):
        endpoint, port_tls = _parse_endpoint(
            reactor, given, description, options["tls-policy"]
        )
        endpoints.append((given, endpoint))
        if port_tls is not None and tls.needs_txs3_certificate(given):
            acme_ports.append(port_tls)
    http01 = None
    if options["acme"] and options["acme-challenge"] == "http-01":
        if not any(given.startswith("tcp:") for given, _ in endpoints):
            _exit("--acme-challenge http-01 needs a tcp: --port (port 80)")
        from txs3.acme.http01 import HTTP01Responder

        http01 = HTTP01Responder()
    acme = _acme(options, reactor, data, acme_ports, http01)
    credentials_file = options["credentials"]
    try:
        credentials = load_credentials(
            Path(credentials_file) if credentials_file else None, os.environ, data
        )
    except CredentialsError as e:
        _exit(str(e))
    if credentials.created is not None:
        log.info(
            "Created credentials in {path} (shown only this once): "
            "access key {access} secret key {secret}",
            path=credentials.source,
            access=credentials.created.access_key,
            secret=credentials.created.secret_key,
        )
    else:
        log.info(
            "Credentials: {count} access key(s) from {source}",
            count=len(credentials.secrets),
            source=credentials.source,
        )
    log.info(
        "txs3 on {host}: data in {data}, region {region}, virtual-host domains: "
        "{domains}",
        host=socket.gethostname(),
        data=data,
        region=options["region"],
        domains=", ".join(options["domain"]) or "none (path-style only)",
    )
    return TXS3Service(
        data=data,
        endpoints=endpoints,
        lookup=credentials.lookup,
        domains=options["domain"],
        region=options["region"],
        reactor=reactor,
        access_log=_access_log_path(options["access-log"]),
        acme=acme,
        wrap_factory=None if http01 is None else _http01_wrapper(http01),
    )


def _http01_wrapper(
    responder: HTTP01Responder,
) -> Callable[[str, IProtocolFactory], IProtocolFactory]:
    """Wrap the factory of C{tcp:} ports in L{HTTP01Factory}."""
    from txs3.acme.http01 import HTTP01Factory

    def wrap(description: str, factory: IProtocolFactory) -> IProtocolFactory:
        if description.startswith("tcp:"):
            return HTTP01Factory(responder, factory)
        return factory

    return wrap


def _acme(
    options: Options,
    reactor: Any,
    data: Path,
    ports: Sequence[tlsendpoint.ReplaceableTLS],
    http01: HTTP01Responder | None = None,
) -> Service | None:
    """The ACME service for --acme names on C{ports}, or None without --acme."""
    if not options["acme"]:
        return None
    if not ports:
        _exit(
            "--acme needs an ssl: --port that names no certificate files "
            "(e.g. ssl:443): that is the port whose certificate ACME keeps"
        )
    bundle = options["acme-ca-bundle"]
    if bundle is not None:
        try:
            tlsendpoint.read_chain(Path(bundle))
        except tls.CertificateError as e:
            _exit(f"--acme-ca-bundle: {e}")
    # Imported here: the acme library is heavy, and needed only with --acme.
    from txs3.acme.service import acme_service

    log.info(
        "ACME: certificates for {domains} from {directory}",
        domains=", ".join(options["acme"]),
        directory=options["acme-directory"],
    )
    return acme_service(
        reactor,
        data=data,
        domains=options["acme"],
        directory_url=options["acme-directory"],
        email=options["acme-email"],
        ca_bundle=Path(bundle) if bundle is not None else None,
        ports=ports,
        policy=options["tls-policy"],
        http01=http01,
    )


def _access_log_path(value: str | None) -> str | None:
    """``-`` stays (the server's log); a path is made absolute before --rundir."""
    if value is None or value == "-":
        return value
    return str(Path(value).absolute())
