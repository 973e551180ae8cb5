"""
The HTTP side of txs3: Site, request and channel, the Twisted plumbing
around the gate (L{txs3.gate}) and the application (L{txs3.api.app}).

Twisted calls L{S3Request.gotLength} once all request headers are in and
before any body byte is read (and before it would answer
``Expect: 100-continue``).  That is where the request passes the gate
(L{txs3.gate.prepare}): classified, authenticated, checked, and given the
sink for its body (L{txs3.body}).  A request refused there:

  - with ``Expect: 100-continue``: gets its final error response at once,
    no ``100 Continue``, and the connection is closed (L{S3Channel}), so the
    client never sends the body;
  - without it: its body is counted and dropped (L{txs3.body.DiscardSink}),
    then the error is answered.

Either way nothing reaches the disk.  Accepted requests go on to the Klein
application (L{txs3.api.app.S3Application}) with their L{Prepared} entry
and call attached.

This module leans on two private names of C{twisted.web.http.HTTPChannel}:
C{_command}/C{_path} (the request line, which Twisted stores on the channel
until the body is complete) and C{_send100Continue}.  The tests in
C{tests/test_server_channel.py} pin the behaviour they provide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.http import RESPONSES, HTTPChannel
from twisted.web.http_headers import Headers
from twisted.web.server import Request, Site

from txs3.api.app import S3Application
from txs3.api.render import error_response
from txs3.auth.fields import HeaderFields
from txs3.auth.types import Secret
from txs3.body import DiscardSink
from txs3.call import Connection, S3Config, new_request_id
from txs3.errors import S3Error
from txs3.gate import Prepared, prepare
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


class S3Request(Request):
    """
    A request that is classified and authenticated as soon as its headers
    are complete (L{gotLength}), before its body is read.

    @ivar prepared: the catalogue entry and call, when the request was
        accepted.
    @ivar refusal: the error, when it was refused before the body.
    """

    prepared: Prepared | None = None
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
            self.prepared = prepare(
                site.config,
                self.request_id,
                method,
                target,
                _headers_of(self),
                length,
                _connection_of(self),
            )
            self.content = self.prepared.call.body
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
        response = error_response(refusal, request.request_id, resource)
        status, body = response.status, response.body
        assert isinstance(body, bytes)
        lines = [f"HTTP/1.1 {status} {_reason(status)}"]
        for name, value in response.headers.items():
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
    config = S3Config(store, lookup, reactor, tuple(domains), region)
    return S3Site(config, S3Application(config).resource(), access_log)
