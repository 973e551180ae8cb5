"""
The HTTP side of txs3: Site, request and channel, the Twisted plumbing
around the gate (L{txs3.gate}) and the application (L{txs3.api.app}).

Twisted calls L{S3Request.gotLength} once all request headers are in and
before any body byte is read (and before it would answer
``Expect: 100-continue``).  That is where the request passes the gate
(L{txs3.gate.prepare}): classified, authenticated, checked, and given the
sink for its body (L{txs3.body}).  A request refused there:

  - with ``Expect: 100-continue``: gets its final error response at once,
    no ``100 Continue``, and the connection is closed, so the client never
    sends the body;
  - without it, if it has a body: gets its error response at once too, and
    the connection closes after at most 64 KiB more of the body;
  - without a body: is answered by the application, keeping the connection.

Nothing reaches the disk.  The channel (L{txs3.channel.S3Channel}) does
the answering and closing, and applies the connection limits
(L{txs3.limits}, L{txs3.connections}).  Accepted requests go on to the
Klein application (L{txs3.api.app.S3Application}) with their L{Prepared}
entry and call attached.  A request for an operator endpoint
(C{/_txs3/...}, L{txs3.ops}) skips the gate and is answered by L{txs3.ops}.

Where requests are counted: every answered request ends in one of two
places, L{S3Site.log} (Twisted calls it when a response is finished) or
L{S3Site.answered_early} (the channel answered a refusal itself).  Both
make one L{RequestRecord} (operation, status, duration, bytes in and out)
for the metrics (L{txs3.metrics}) and the JSON access log
(L{txs3.accesslog}).  A request whose client went away before its answer
ends in neither.  Uploads in progress are counted by the request: from an
accepted head with a body to the body's end or the connection's loss.

This module leans on private names of C{twisted.web.http.HTTPChannel}:
C{_command}/C{_path} (the request line, which Twisted stores on the channel
until the body is complete).  The tests in C{tests/test_server_channel.py}
pin the behaviour they provide.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.server import Request, Site

from txs3.access import NewBuckets
from txs3.accesslog import JsonAccessLog
from txs3.api.app import S3Application
from txs3.api.bucket_cors import response_cors_headers
from txs3.auth.directory import Directory
from txs3.auth.fields import HeaderFields
from txs3.auth.sigv4_signing import parse_credential
from txs3.auth.types import Secret
from txs3.body import DiscardSink
from txs3.call import Connection, S3Config, new_request_id
from txs3.channel import S3Channel
from txs3.classify import classify
from txs3.connections import ConnectionRegistry
from txs3.errors import S3Error
from txs3.gate import Prepared, prepare
from txs3.lifecycle.evaluate import Days
from txs3.limits import Limits
from txs3.metrics import ServerMetrics
from txs3.operation import Operation
from txs3.ops import Ops, SiteRoot, endpoint_name, ops_path
from txs3.opsauth import MetricsAccess
from txs3.record import UNKNOWN, RequestRecord
from txs3.store.interface import IObjectStore

log = Logger()


def _headers_of(request: Request) -> HeaderFields:
    # Values are read as UTF-8, else latin-1, and a field sent on several
    # lines is joined with ", "; each line is kept for signature checks
    # (txs3.auth.fields).
    return HeaderFields.from_raw(request.requestHeaders.getAllRawHeaders())


def _connection_of(request: Request) -> Connection:
    host: Any = request.getHost()
    peer: Any = request.getClientAddress()
    return Connection(
        secure=bool(request.isSecure()),
        local_port=int(getattr(host, "port", 0) or 0),
        peer=str(getattr(peer, "host", "") or ""),
    )


def _classified(
    config: S3Config, method: str, target: str, headers: HeaderFields
) -> Operation | None:
    """What a refused request asked for (for its record); None if unknown."""
    raw_path, _, raw_query = target.partition("?")
    try:
        classified = classify(method, raw_path, raw_query, headers, config.domains)
    except S3Error:
        return None
    return classified.operation


def claimed_access_key(headers: HeaderFields, query: Mapping[str, str]) -> str:
    """
    The access key a request names (SigV4 or SigV2, header or presigned),
    whether or not its signature holds; empty if it names none.  Only the
    key: never the signature.
    """
    authorization = headers.get("authorization", "")
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme == "AWS4-HMAC-SHA256":
        for part in rest.split(","):
            name, _, value = part.strip().partition("=")
            if name == "Credential":
                credential = parse_credential(value)
                return credential.access_key if credential is not None else ""
        return ""
    if scheme == "AWS":
        return rest.rpartition(":")[0].strip()
    if "X-Amz-Credential" in query:
        credential = parse_credential(query["X-Amz-Credential"])
        return credential.access_key if credential is not None else ""
    return query.get("AWSAccessKeyId", "")


class S3Request(Request):
    """
    A request that is classified and authenticated as soon as its headers
    are complete (L{gotLength}), before its body is read.

    @ivar prepared: the catalogue entry and call, when the request was
        accepted.
    @ivar refusal: the error, when it was refused before the body.
    @ivar refused: what a refused request asked for, when that is known.
    @ivar ops_path: the path of an operator endpoint (L{txs3.ops}); such a
        request skips the gate.
    @ivar started: when its head was complete (the site's clock).
    @ivar bytes_in: body bytes received so far.
    """

    prepared: Prepared | None = None
    refusal: S3Error | None = None
    refused: Operation | None = None
    claimed_key: str = ""
    ops_path: str | None = None
    request_id: str = ""
    resource_path: str = "/"
    started: float = 0.0
    bytes_in: int = 0
    _uploading = False

    def gotLength(self, length: int | None) -> None:
        channel: Any = self.channel
        site: S3Site = channel.site
        self.started = site.config.reactor.seconds()
        self.request_id = new_request_id()
        # The request line lives on the channel until the body is complete.
        method = channel._command.decode("latin-1").upper()
        target = channel._path.decode("latin-1")
        headers = _headers_of(self)
        self.ops_path = ops_path(target, headers.get("host", ""), site.config.domains)
        if self.ops_path is not None:
            self.content = DiscardSink()
            return
        try:
            self.prepared = prepare(
                site.config,
                self.request_id,
                method,
                target,
                headers,
                length,
                _connection_of(self),
            )
            self.content = self.prepared.call.body
        except S3Error as e:
            self.refusal = e
            self.content = DiscardSink()
            self.resource_path = target.partition("?")[0]
            self.refused = _classified(site.config, method, target, headers)
            query = self.refused.query if self.refused is not None else {}
            self.claimed_key = claimed_access_key(headers, query)
            # _add_cors catches its own failures: an exception escaping
            # this handler would escape gotLength and break the channel.
            self._add_cors(site.config, method, headers)
            return
        except Exception:
            log.failure("preparing {target}", target=target)
            self.refusal = S3Error.of("InternalError")
            self.content = DiscardSink()
            return
        if length != 0:
            self._uploading = True
            site.metrics.upload_started()

    def _add_cors(
        self, config: S3Config, method: str, headers: HeaderFields
    ) -> None:
        """
        Give the refusal the CORS headers the bucket's rules give the
        request's ``Origin``: S3 sends them on a refusal too, so a browser
        script can read why it was refused.  The channel's early answer
        and the application's both send the error's own headers.
        """
        refusal = self.refusal
        origin = headers.get("origin")
        if refusal is None or origin is None or self.refused is None:
            return
        try:
            cors = response_cors_headers(
                config,
                self.refused.bucket,
                method,
                origin,
                headers.get("access-control-request-method"),
            )
        except Exception:
            log.failure("CORS headers for {resource}", resource=self.resource_path)
            return
        if cors:
            # A new error: the one raised may be raised again elsewhere.
            self.refusal = S3Error(
                refusal.code,
                refusal.message,
                status=refusal.status,
                extra=refusal.extra,
                headers={**refusal.headers, **cors},
            )

    def _upload_ended(self) -> None:
        if self._uploading:
            self._uploading = False
            channel: Any = self.channel
            site: S3Site = channel.site
            site.metrics.upload_ended()

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        self._upload_ended()
        super().requestReceived(command, path, version)

    def connectionLost(self, reason: Any) -> None:
        self._upload_ended()
        super().connectionLost(reason)

    def handleContentChunk(self, data: bytes) -> None:
        """
        Hand a body chunk to the sink; if the sink refused the request on
        it (a browser upload's form, L{txs3.formbody.FormSink.refused}),
        have the channel answer now and stop reading the body.  Counts
        the bytes in (L{RequestRecord.bytes_in}).
        """
        self.bytes_in += len(data)
        super().handleContentChunk(data)
        refused: S3Error | None = getattr(self.content, "refused", None)
        if refused is not None and self.prepared is not None:
            channel: Any = self.channel
            resource = str(self.prepared.call.operation.resource)
            channel.refuse_rest_of_body(self, refused, resource)


class S3Site(Site):
    """
    The Site: S3 requests on S3 channels, sharing one L{S3Config}, one
    L{Limits} and one L{ConnectionRegistry} (so the connection cap counts
    every port of the process).
    """

    requestFactory = S3Request
    protocol = S3Channel  # type: ignore[assignment]

    def __init__(
        self,
        config: S3Config,
        resource: Any,
        access_log: str | None = None,
        limits: Limits | None = None,
        *,
        access_log_format: str = "combined",
        metrics_access: MetricsAccess | None = None,
    ) -> None:
        """
        @param resource: the S3 application's root; the site's root serves
            the operator endpoints beside it (L{txs3.ops.SiteRoot}).
        @param access_log: None for no access log (each log line costs
            about a tenth of a small GET), ``-`` for the process log, or a
            file path.
        @param access_log_format: ``combined`` (Twisted's combined-format
            lines) or ``json`` (L{txs3.accesslog}).
        @param limits: the connection limits; L{Limits}C{()} by default.
        @param metrics_access: who may read the metrics; nobody by default.
        @raise ValueError: for another access log format.
        """
        if access_log_format not in ("combined", "json"):
            raise ValueError(f"unknown access log format {access_log_format!r}")
        combined = access_log_format == "combined"
        self.limits = limits if limits is not None else Limits()
        self.connections = ConnectionRegistry(self.limits.max_connections)
        self.metrics = ServerMetrics(config.store, lambda: len(self.connections))
        self.ops = Ops(
            config.store,
            self.metrics,
            metrics_access if metrics_access is not None else MetricsAccess(),
            config.reactor,
        )
        super().__init__(
            SiteRoot(resource, self.ops),
            logPath=access_log if combined and access_log != "-" else None,
            parsePOSTFormSubmission=False,
            # Channel timeouts run on the configured clock, not the global
            # reactor (tests step a Clock).
            reactor=config.reactor,
        )
        self.config = config
        self.displayTracebacks = False
        self._access_log = access_log if combined else None
        self.json_log = (
            JsonAccessLog(access_log)
            if access_log is not None and not combined
            else None
        )

    def startFactory(self) -> None:
        super().startFactory()
        if self.json_log is not None:
            self.json_log.open()

    def stopFactory(self) -> None:
        if self.json_log is not None:
            self.json_log.close()
        super().stopFactory()

    def log(self, request: Any) -> None:
        """
        A response is finished (Twisted calls this): count it, and write
        its access log line.
        """
        self._record(request, request.code, request.sentLength)
        if self._access_log is not None:
            super().log(request)

    def answered_early(self, request: Any, error: S3Error, sent: int) -> None:
        """
        The channel answered C{request} with C{error} itself (a refusal
        before the body, a body too slow), C{sent} body bytes: count it.
        """
        self._record(request, error.status, sent)

    def _record(self, request: Any, status: int, sent: int) -> None:
        now = self.config.reactor.seconds()
        started = getattr(request, "started", 0.0) or now
        bucket = key = None
        access_key = getattr(request, "claimed_key", "")
        path = getattr(request, "ops_path", None)
        prepared = getattr(request, "prepared", None)
        operation: Operation | None = getattr(request, "refused", None)
        if prepared is not None:
            operation = prepared.call.operation
            access_key = prepared.call.identity.access_key
        if path is not None:
            name = endpoint_name(path)
        elif operation is not None:
            name, bucket, key = operation.name, operation.bucket, operation.key
        else:
            name = UNKNOWN
        peer: Any = request.getClientAddress()
        record = RequestRecord(
            operation=name,
            method=request.method.decode("latin-1"),
            bucket=bucket,
            key=key,
            status=status,
            bytes_in=getattr(request, "bytes_in", 0),
            bytes_out=sent,
            duration=now - started,
            request_id=getattr(request, "request_id", ""),
            access_key=access_key,
            remote=str(getattr(peer, "host", "") or ""),
            time=now,
            s3=path is None,
        )
        self.metrics.observe(record)
        if self.json_log is not None:
            self.json_log.write(record)


def build_site(
    store: IObjectStore,
    lookup: Callable[[str], Secret | None],
    *,
    reactor: IReactorTime,
    domains: Sequence[str] = (),
    region: str = "us-east-1",
    access_log: str | None = None,
    access_log_format: str = "combined",
    limits: Limits | None = None,
    metrics_access: MetricsAccess | None = None,
    directory: Directory | None = None,
    new_buckets: NewBuckets | None = None,
    lifecycle_days: Days | None = None,
) -> S3Site:
    """
    The txs3 web site over C{store}, authenticating with C{lookup}.
    C{access_log}, C{access_log_format}, C{limits} and C{metrics_access}
    as for L{S3Site}; C{directory}, C{new_buckets} and C{lifecycle_days}
    as for L{S3Config}.
    """
    config = S3Config(
        store,
        lookup,
        reactor,
        tuple(domains),
        region,
        directory=directory or Directory(),
        new_buckets=new_buckets or NewBuckets(),
        lifecycle_days=lifecycle_days or Days(),
    )
    return S3Site(
        config,
        S3Application(config).resource(),
        access_log,
        limits,
        access_log_format=access_log_format,
        metrics_access=metrics_access,
    )
