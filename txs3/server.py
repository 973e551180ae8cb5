"""
The HTTP side of txs3: Site, request, channel, and the gate every request
passes before its body.

Twisted calls L{S3Request.gotLength} once all request headers are in and
before any body byte is read (and before it would answer
``Expect: 100-continue``).  That is where txs3 classifies the request
(L{txs3.operation.classify}), authenticates it, checks that the caller may
touch the bucket, and picks the sink for the body (L{txs3.body}).  A request
refused there:

  - with ``Expect: 100-continue``: gets its final error response at once,
    no ``100 Continue``, and the connection is closed (L{S3Channel}), so the
    client never sends the body;
  - without it: its body is counted and dropped (L{txs3.body.DiscardSink}),
    then the error is answered.

Either way nothing reaches the disk.  Accepted requests go on to the Klein
application (L{txs3.api.app.S3Application}) with an L{S3Call} attached.

This module leans on two private names of C{twisted.web.http.HTTPChannel}:
C{_command}/C{_path} (the request line, which Twisted stores on the channel
until the body is complete) and C{_send100Continue}.  The tests in
C{tests/test_server_channel.py} pin the behaviour they provide.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.http import HTTPChannel
from twisted.web.http_headers import Headers
from twisted.web.server import Request, Site

from txs3.api.conditions import check_write_condition, write_condition
from txs3.api.render import error_response
from txs3.api.writeheaders import check_write_headers
from txs3.auth import authenticate
from txs3.auth.types import Identity, PayloadPlan, RequestHead, Secret
from txs3.body import (
    DEFAULT_CHECKSUM,
    BufferSink,
    DiscardSink,
    UploadSink,
    requested_checksums,
)
from txs3.errors import S3Error
from txs3.operation import PUBLIC_OPERATIONS, Operation, classify, part_number
from txs3.store.interface import IObjectStore, UploadInfo

log = Logger()

# XML request bodies (DeleteObjects with 1,000 keys of 1,024 bytes, escaped)
# stay well below this.
XML_BODY_LIMIT = 8 * 1024 * 1024
MAX_PUT_SIZE = 5 * 1024**3


def new_request_id() -> str:
    """A fresh S3-style request id: 16 upper-case hex digits."""
    return os.urandom(8).hex().upper()


@dataclass
class S3Config:
    """Site-wide settings and collaborators shared by every request."""

    store: IObjectStore
    lookup: Callable[[str], Secret | None]
    reactor: IReactorTime
    domains: Sequence[str] = ()
    region: str = "us-east-1"


@dataclass
class S3Call:
    """
    One authenticated, classified request on its way to a handler.

    @ivar body: the sink the body went to.
    """

    request_id: str
    operation: Operation
    identity: Identity
    head: RequestHead
    body: UploadSink | BufferSink | DiscardSink
    config: S3Config
    content_length: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        """Request header C{name} (lower case), if present."""
        return self.head.headers.get(name)

    def xml_body(self) -> bytes:
        """The whole (small) request body.  @raise S3Error: if over the cap."""
        if isinstance(self.body, BufferSink):
            return self.body.body()
        return b""


def _headers_of(request: Request) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, values in request.requestHeaders.getAllRawHeaders():
        headers[name.decode("latin-1").lower()] = ",".join(
            v.decode("latin-1") for v in values
        )
    return headers


#: The identity of a request served without authentication.
ANONYMOUS = Identity("", "", "anonymous")


def prepare(
    config: S3Config,
    request_id: str,
    method: str,
    target: str,
    headers: dict[str, str],
    length: int | None,
) -> S3Call:
    """
    Everything that happens between the headers and the body: classify,
    authenticate, authorise, and choose the body sink.

    @raise S3Error: when the request is refused.
    """
    raw_path, _, raw_query = target.partition("?")
    operation = classify(method, raw_path, raw_query, headers, config.domains)
    host_bucket = operation.bucket if operation.virtual_host else None
    head = RequestHead(method, raw_path, raw_query, headers, host_bucket)
    if operation.name in PUBLIC_OPERATIONS:
        # Answered to anyone, before authentication (see PUBLIC_OPERATIONS).
        return S3Call(request_id, operation, ANONYMOUS, head, DiscardSink(), config)
    auth = authenticate(head, config.lookup, config.reactor.seconds())
    if auth.identity is None:
        raise S3Error.of("AccessDenied")
    identity = auth.identity
    if operation.bucket is not None and operation.name != "CreateBucket":
        bucket = config.store.get_bucket(operation.bucket)
        if bucket.owner_id != identity.owner_id:
            raise S3Error.of("AccessDenied")
    body: UploadSink | BufferSink | DiscardSink
    if operation.name == "NotImplemented":
        raise S3Error.of("NotImplemented")
    check_write_headers(operation.name, headers, identity.owner_id)
    extra: dict[str, Any] = {}
    also: list[str] = []
    if operation.name in ("PutObject", "CompleteMultipartUpload"):
        # Conditional writes: refuse now what would be refused at commit
        # (412 before the body; the store re-checks atomically).
        check_write_condition(config.store, operation, write_condition(headers))
    if operation.name in (
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
    ):
        extra["upload"] = _upload_of(config, operation, headers, auth.payload)
        also = _part_checksums(extra["upload"])
    if operation.has_body:
        body = _upload_sink(config, headers, auth.payload, length, also)
    elif length:
        body = BufferSink(XML_BODY_LIMIT)
    else:
        body = DiscardSink()
    call = S3Call(request_id, operation, identity, head, body, config, length, extra)
    return call


def _upload_of(
    config: S3Config,
    operation: Operation,
    headers: dict[str, str],
    plan: PayloadPlan,
) -> UploadInfo:
    """
    The upload a part or completion request names, checked before the
    body: C{InvalidArgument} for a bad part number, C{NoSuchUpload}, and
    C{InvalidRequest} for a part checksum of another algorithm than the
    upload's.
    """
    assert operation.bucket is not None and operation.key is not None
    if operation.name != "CompleteMultipartUpload":
        part_number(operation.query.get("partNumber"))
    upload = config.store.get_upload(
        operation.bucket, operation.key, operation.query.get("uploadId", "")
    )
    if operation.name == "UploadPart" and upload.checksum_algorithm is not None:
        sent, _ = requested_checksums(headers, plan)
        for alg in sent:
            if alg != upload.checksum_algorithm:
                raise S3Error.of(
                    "InvalidRequest",
                    "Checksum Type mismatch occurred, expected checksum Type: "
                    f"{upload.checksum_algorithm.lower()}, actual checksum "
                    f"Type: {alg.lower()}",
                )
    return upload


def _part_checksums(upload: UploadInfo) -> list[str]:
    # Every part carries the upload's algorithm (for the composite or
    # full-object checksum) and CRC64NVME (the default full-object checksum
    # of uploads created without one).
    algs = [upload.checksum_algorithm] if upload.checksum_algorithm else []
    return [*algs, DEFAULT_CHECKSUM]


def _upload_sink(
    config: S3Config,
    headers: dict[str, str],
    plan: PayloadPlan,
    length: int | None,
    also: list[str],
) -> UploadSink:
    size = plan.decoded_length if plan.decoded_length is not None else length
    if size is not None and size > MAX_PUT_SIZE:
        raise S3Error.of(
            "EntityTooLarge",
            ProposedSize=str(size),
            MaxSizeAllowed=str(MAX_PUT_SIZE),
        )
    if length is None and plan.decoded_length is None:
        raise S3Error.of("MissingContentLength")
    checksums, error = requested_checksums(headers, plan)
    if error is not None:
        raise error
    staging = config.store.open_staging()
    return UploadSink(
        staging, plan, headers.get("content-md5"), checksums, length, also
    )


class S3Request(Request):
    """
    A request that is classified and authenticated as soon as its headers
    are complete (L{gotLength}), before its body is read.

    @ivar call: the prepared call, when the request was accepted.
    @ivar refusal: the error, when it was refused before the body.
    """

    call: S3Call | None = None
    refusal: S3Error | None = None
    request_id: str = ""
    resource_path: str = "/"

    def gotLength(self, length: int | None) -> None:
        channel: Any = self.channel
        site: S3Site = channel.site
        self.request_id = new_request_id()
        # The request line lives on the channel until the body is complete.
        method = channel._command.decode("latin-1").upper()
        target = channel._path.decode("latin-1")
        try:
            self.call = prepare(
                site.config,
                self.request_id,
                method,
                target,
                _headers_of(self),
                length,
            )
            self.content = self.call.body
        except S3Error as e:
            self.refusal = e
            self.content = DiscardSink()
            self.resource_path = target.partition("?")[0]
        except Exception:
            log.failure("preparing {target}", target=target)
            self.refusal = S3Error.of("InternalError")
            self.content = DiscardSink()


class S3Channel(HTTPChannel):
    """
    An HTTP channel that answers a refused ``Expect: 100-continue`` request
    with its final error instead of ``100 Continue``.
    """

    def _send100Continue(self) -> None:
        request = self.requests[-1]
        refusal = getattr(request, "refusal", None)
        if refusal is None:
            super()._send100Continue()
            return
        resource = getattr(request, "resource_path", "/")
        status, headers, body = error_response(refusal, request.request_id, resource)
        lines = [f"HTTP/1.1 {status} {_reason(status)}"]
        for name, value in headers:
            lines.append(f"{name}: {value}")
        lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
        transport: Any = self.transport
        transport.write("\r\n".join(lines).encode("latin-1") + body)
        # The client waits for our verdict before sending the body; drop
        # whatever it sends anyway and close once the response is out.
        self.dataReceived = lambda data: None  # type: ignore[method-assign]
        transport.loseConnection()

    def writeHeaders(
        self, version: bytes, code: bytes, reason: bytes, headers: Any
    ) -> None:
        """
        Write the response head with S3's header-name case: Twisted sends
        every name as Http-Header-Case, but S3 sends ``x-amz-*`` names in
        lower case, and clients keep user metadata names as they arrive
        (boto3 would hand back ``{"Mtime": ...}`` for ``x-amz-meta-mtime``).
        """
        if not isinstance(headers, Headers):
            super().writeHeaders(version, code, reason, headers)
            return
        sequence = [version, b" ", code, b" ", reason, b"\r\n"]
        for name, values in headers.getAllRawHeaders():
            if name.startswith(b"X-Amz-"):
                name = name.lower()
            for value in values:
                sequence.extend((name, b": ", value, b"\r\n"))
        sequence.append(b"\r\n")
        transport: Any = self.transport
        transport.writeSequence(sequence)


def _reason(status: int) -> str:
    from twisted.web.http import RESPONSES

    return RESPONSES.get(status, b"Unknown").decode("ascii")


class S3Site(Site):
    """The Site: S3 requests on S3 channels, sharing one L{S3Config}."""

    requestFactory = S3Request
    protocol = S3Channel  # type: ignore[assignment]

    def __init__(
        self, config: S3Config, resource: Any, access_log: str | None = None
    ) -> None:
        """
        @param access_log: None for no access log (each log line costs
            about a tenth of a small GET), ``-`` for the process log, or a
            file path for combined-format lines.
        """
        super().__init__(
            resource,
            logPath=access_log if access_log not in (None, "-") else None,
            parsePOSTFormSubmission=False,
        )
        self.config = config
        self.displayTracebacks = False
        self._access_log = access_log

    def log(self, request: Any) -> None:
        if self._access_log is not None:
            super().log(request)


def build_site(
    store: IObjectStore,
    lookup: Callable[[str], Secret | None],
    *,
    reactor: IReactorTime,
    domains: Sequence[str] = (),
    region: str = "us-east-1",
    access_log: str | None = None,
) -> Site:
    """
    The txs3 web site over C{store}, authenticating with C{lookup}.
    C{access_log} as for L{S3Site}.
    """
    from txs3.api.app import S3Application

    config = S3Config(store, lookup, reactor, tuple(domains), region)
    return S3Site(config, S3Application(config).resource(), access_log)
