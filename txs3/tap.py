"""
C{twistd txs3}: from parsed options to the service tree (L{makeService}).
The options are L{txs3.options.Options}; the service is
L{txs3.service.TXS3Service}.

    twistd -n txs3 [--data DIR] [--port ENDPOINT ...] [--certs DIR]
                   [--credentials FILE] [--domain NAME ...] [--region NAME]
                   [--max-connections N] [--header-timeout SECONDS]
                   [--min-upload-rate BYTES_PER_SECOND]
                   [--access-log PATH [--access-log-format combined|json]]
                   [--metrics-token TOKEN | --metrics-public]
                   [--acme NAME ... [--acme-email ADDRESS] [--acme-staging]]

Start-up happens in three places, and each reports failure as one line on
stderr and a non-zero exit status, never a traceback:

  1. L{Options.parseOptions}: option values (L{usage.UsageError} becomes
     C{SystemExit("txs3: ...")}: twistd would otherwise print its whole
     usage text on stdout with the error last).
  2. L{makeService}, before twistd daemonizes or starts logging: the data
     directory (created, checked writable), the TLS certificate (found or
     made), endpoint strings (parsed, which reads their key files), the
     metrics token (read or created) and the credentials (loaded or
     created).  Failures raise C{SystemExit}.
  3. L{TXS3Service}, after twistd has daemonized: binding the ports
     (C{privilegedStartService}), then, with privileges shed, opening the
     store (C{startService}; C{twist} calls only this, which then binds
     first).  Failures raise L{StartupError}, an C{Exception}, so that
     twistd removes its pid file and, when daemonized, reports it to the
     waiting parent through its status pipe (printed as C{An error has
     occurred: ...}); in the foreground
     L{txs3.service._print_startup_error} prints it as one line instead of
     a traceback.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from twisted.application.service import Service
from twisted.internet.interfaces import IProtocolFactory, IStreamServerEndpoint
from twisted.logger import Logger

from txs3 import limits, tls, tlsendpoint
from txs3.opsauth import MetricsAccess, TokenError, data_dir_token

# twistd's ServiceMaker reads Options (and makeService) from this module.
from txs3.options import Options as Options
from txs3.service import TXS3Service

if TYPE_CHECKING:
    from txs3.acme.http01 import HTTP01Responder

log = Logger()


def _exit(message: str) -> NoReturn:
    """Fail during L{makeService}: one line on stderr, exit status 1."""
    raise SystemExit(f"txs3: {message}")


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
    from txs3.keysource import KeySource

    data = Path(options["data"])
    _check_data_dir(data)
    endpoints = []
    acme_ports = []
    tls_ports = []
    for given, description in _endpoint_strings(options):
        endpoint, port_tls = _parse_endpoint(
            reactor, given, description, options["tls-policy"]
        )
        endpoints.append((given, endpoint))
        if port_tls is not None:
            tls_ports.append(port_tls)
        if port_tls is not None and tls.needs_txs3_certificate(given):
            acme_ports.append(port_tls)
    http01 = None
    if options["acme"] and options["acme-challenge"] == "http-01":
        if not any(given.startswith("tcp:") for given, _ in endpoints):
            _exit("--acme-challenge http-01 needs a tcp: --port (port 80)")
        from txs3.acme.http01 import HTTP01Responder

        http01 = HTTP01Responder()
    acme = _acme(options, reactor, data, acme_ports, http01)
    if acme is not None:
        # ACME keeps these ports' certificate: a reload must not put the
        # files' one back.
        for managed in acme_ports:
            managed.source = None
    metrics_access = _metrics_access(options, data)
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
    # The configured keys, then the index's users (txs3-admin), kept
    # current while serving.
    keys = KeySource(
        credentials.secrets,
        Path(credentials_file) if credentials_file else None,
        str(data / "index.sqlite3"),
    )
    chosen: limits.Limits = options["limits"]
    log.info(
        "Connection limits: {max} connections, {head:g} s for a request head, "
        "uploads at least {rate} B/s",
        max=chosen.max_connections,
        head=chosen.header_timeout,
        rate=chosen.min_upload_rate,
    )
    warning = limits.file_limit_warning(chosen.max_connections)
    if warning is not None:
        log.warn("{warning}", warning=warning)
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
        lookup=keys.lookup,
        domains=options["domain"],
        region=options["region"],
        reactor=reactor,
        access_log=_access_log_path(options["access-log"]),
        access_log_format=options["access-log-format"],
        metrics_access=metrics_access,
        limits=options["limits"],
        acme=acme,
        directory=keys.directory,
        keys=keys,
        tls_ports=tls_ports,
        new_buckets=options["new-buckets"],
        lifecycle_interval=options["lifecycle-interval"],
        lifecycle_days=options["lifecycle-days"],
        wrap_factory=None if http01 is None else _http01_wrapper(http01),
    )


def _metrics_access(options: Options, data: Path) -> MetricsAccess:
    """
    Who may read the metrics: anyone with --metrics-public, else whoever
    has --metrics-token or the data directory's token (created if there is
    none; the token itself is never logged).
    """
    # Imported here: txs3.ops brings twisted.web and prometheus_client,
    # and `twistd txs3 --help` imports this module.
    from txs3.ops import METRICS_PATH

    if options["metrics-public"]:
        log.info("Metrics at {path}: public (--metrics-public)", path=METRICS_PATH)
        return MetricsAccess(public=True)
    if options["metrics-token"] is not None:
        log.info("Metrics at {path}: bearer token from --metrics-token",
                 path=METRICS_PATH)  # fmt: skip
        return MetricsAccess(options["metrics-token"])
    try:
        token, created = data_dir_token(data)
    except TokenError as e:
        _exit(str(e))
    log.info(
        "Metrics at {path}: bearer token in {file}{created}",
        path=METRICS_PATH,
        file=data / "metrics-token",
        created=" (created)" if created else "",
    )
    return MetricsAccess(token)


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
