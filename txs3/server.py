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
entry and call attached.

This module leans on private names of C{twisted.web.http.HTTPChannel}:
C{_command}/C{_path} (the request line, which Twisted stores on the channel
until the body is complete).  The tests in C{tests/test_server_channel.py}
pin the behaviour they provide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.server import Request, Site

from txs3.access import NewBuckets
from txs3.api.app import S3Application
from txs3.auth.directory import Directory
from txs3.auth.fields import HeaderFields
from txs3.auth.types import Secret
from txs3.body import DiscardSink
from txs3.call import Connection, S3Config, new_request_id
from txs3.channel import S3Channel
from txs3.connections import ConnectionRegistry
from txs3.errors import S3Error
from txs3.gate import Prepared, prepare
from txs3.lifecycle.evaluate import Days
from txs3.limits import Limits
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

    def handleContentChunk(self, data: bytes) -> None:
        """
        Hand a body chunk to the sink; if the sink refused the request on
        it (a browser upload's form, L{txs3.formbody.FormSink.refused}),
        have the channel answer now and stop reading the body.
        """
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
    ) -> None:
        """
        @param access_log: None for no access log (each log line costs
            about a tenth of a small GET), ``-`` for the process log, or a
            file path for combined-format lines.
        @param limits: the connection limits; L{Limits}C{()} by default.
        """
        super().__init__(
            resource,
            logPath=access_log if access_log not in (None, "-") else None,
            parsePOSTFormSubmission=False,
            # Channel timeouts run on the configured clock, not the global
            # reactor (tests step a Clock).
            reactor=config.reactor,
        )
        self.config = config
        self.limits = limits if limits is not None else Limits()
        self.connections = ConnectionRegistry(self.limits.max_connections)
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
    limits: Limits | None = None,
    directory: Directory | None = None,
    new_buckets: NewBuckets | None = None,
    lifecycle_days: Days | None = None,
) -> S3Site:
    """
    The txs3 web site over C{store}, authenticating with C{lookup}.
    C{access_log} and C{limits} as for L{S3Site}; C{directory},
    C{new_buckets} and C{lifecycle_days} as for L{S3Config}.
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
    return S3Site(config, S3Application(config).resource(), access_log, limits)
