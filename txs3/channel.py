"""
The txs3 HTTP/1.1 channel: Twisted's C{HTTPChannel} with S3's answers at
the points where Twisted would stay silent, wait, or read a whole body
for nothing, and with the connection limits of L{txs3.limits}.

  - A request refused before its body (L{txs3.server.S3Request.refusal}):
    with ``Expect: 100-continue`` its error goes out in place of
    ``100 Continue``; without it, the error goes out as soon as the head is
    in, at most C{refused_body_allowance} (64 KiB) more body bytes are read
    and dropped (so that a client still sending sees the answer rather than
    a reset), and the connection closes.  Either way ``Connection: close``.
  - A request whose sink refuses it part-way through its body (a browser
    upload's form: L{refuse_rest_of_body}) is answered then, and the
    rest of the body is treated as a refused request's: at most the
    allowance read, then the connection closes.
  - A request head must be complete within C{header_timeout} seconds of
    the connection (for its first request) or of its first byte (for later
    ones); trickling bytes does not extend it (slowloris).  On expiry a
    connection that sent part of a head gets ``400 RequestTimeout``, one
    that sent nothing is just closed.
  - A body must average C{min_upload_rate} bytes per second over
    C{rate_window} seconds once the first window has passed; a slower one
    is cut off with ``400 RequestTimeout`` and the connection closed.  The
    clock runs from the end of the head to the last body byte (after
    ``100 Continue`` too: a client that waits for it has been told to go on).
  - A request line or header line over C{MAX_LENGTH} (16384 bytes), a head
    over C{totalHeadersSize} (16384) or over C{maxHeaders} (500) lines gets
    ``400 RequestHeaderSectionTooLarge``, and any other head Twisted cannot
    parse gets ``400 BadRequest``, as S3 XML, instead of a bare close.
  - Connections are counted per process (L{txs3.connections}): at the cap
    the longest idle one is closed to make room, and a new connection that
    finds every other one busy is closed at once.
  - A client that reads nothing of a response for C{send_stall_timeout}
    seconds (the transport has paused the channel, its send buffer full,
    all that time) is aborted.

Every request the channel answers itself is reported to the site
(C{answered_early}), which counts it as L{txs3.server.S3Site.log} counts
the others.

Every close the channel decides goes through L{S3Channel._close}: a clean
close, then, if the peer has not gone within C{close_grace} seconds, an
abort.  Without that, closing a TLS connection waits for the client's
close_notify, which a client busy sending never sends: Twisted's own
over-long-line close held such connections until the 60-second idle
timeout.

This module leans on private names of C{twisted.web.http.HTTPChannel}:
C{_send100Continue}, C{_respondToBadRequestAndDisconnect}, C{_path},
C{_handlingRequest}, C{_receivedHeaderSize} and C{_receivedHeaderCount}.
The tests in C{tests/test_server_channel.py} and C{tests/test_limits.py}
pin the behaviour they provide.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http import RESPONSES, HTTPChannel
from twisted.web.http_headers import Headers

from txs3.api.app import SERVER
from txs3.api.render import error_response, http_date
from txs3.call import new_request_id
from txs3.errors import S3Error
from txs3.limits import Limits, RateFloor

log = Logger()


def _reason(status: int) -> str:
    return RESPONSES.get(status, b"Unknown").decode("ascii")


def error_bytes(error: S3Error, request_id: str, resource: str, now: float) -> bytes:
    """
    C{error} as a whole HTTP/1.1 response, S3's XML with
    ``Connection: close``, for writing straight to the transport when no
    L{twisted.web.http.Request} will answer.  C{now} is for the C{Date}
    header (clients correct their clock skew by it).
    """
    response = error_response(error, request_id, resource)
    status, body = response.status, response.body
    assert isinstance(body, bytes)
    lines = [f"HTTP/1.1 {status} {_reason(status)}"]
    lines += [f"Date: {http_date(now)}", f"Server: {SERVER}"]
    for name, value in response.headers.items():
        lines.append(f"{name}: {value}")
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


class S3Channel(HTTPChannel):
    """
    An HTTP channel that answers refusals and over-long heads as S3 does,
    and enforces the site's L{Limits} (see the module docstring).

    Its site (C{self.site}, set by the site when it builds the channel) is
    an L{txs3.server.S3Site}: C{limits}, C{connections} and C{reactor}.
    """

    site: Any

    _closing = False
    _in_head = True
    _head_bytes = 0
    _body_bytes = 0
    _drain_left: int | None = None
    _rate: RateFloor | None = None
    _head_call: IDelayedCall | None = None
    _rate_call: IDelayedCall | None = None
    _drain_call: IDelayedCall | None = None
    _abort_call: IDelayedCall | None = None
    _stall_call: IDelayedCall | None = None

    @property
    def limits(self) -> Limits:
        """The limits of this channel's site."""
        limits: Limits = self.site.limits
        return limits

    def _now(self) -> float:
        now: float = self.site.reactor.seconds()
        return now

    # -- connection life ----------------------------------------------------

    def connectionMade(self) -> None:
        super().connectionMade()
        registry = self.site.connections
        if not registry.admit(self):
            if registry.refused == 1 or registry.refused % 1000 == 0:
                log.warn(
                    "Refusing connections: {count} open and none idle "
                    "(--max-connections {limit}); {refused} refused so far",
                    count=len(registry),
                    limit=registry.limit,
                    refused=registry.refused,
                )
            self._close()
            return
        # The first head's deadline runs from the connection, so that it
        # covers a TLS handshake trickled byte by byte too.
        self._start_head_deadline()

    def close_idle(self) -> None:
        """Close this idle connection to make room for a new one."""
        self._close()

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        self._stop_timers()
        if self._abort_call is not None and self._abort_call.active():
            self._abort_call.cancel()
        self._abort_call = None
        self.site.connections.remove(self)
        super().connectionLost(reason)

    def _close(self) -> None:
        """Close cleanly now; abort if the peer is still there after the grace."""
        if self._closing:
            return
        self._closing = True
        self._stop_timers()
        self.site.connections.remove(self)
        if not getattr(self.transport, "disconnecting", False):
            # Not already closing on Twisted's own account (idle timeout).
            self.loseConnection()
        self._abort_call = self.callLater(self.limits.close_grace, self._abort)

    def _abort(self) -> None:
        self._abort_call = None
        transport: Any = self.transport
        if transport is not None:
            transport.abortConnection()

    def _stop_timers(self) -> None:
        for name in ("_head_call", "_rate_call", "_drain_call", "_stall_call"):
            call: IDelayedCall | None = getattr(self, name)
            if call is not None and call.active():
                call.cancel()
            setattr(self, name, None)
        self._rate = None

    def _answer(self, error: S3Error, request_id: str, resource: str) -> int:
        """
        Write C{error} as the whole response; the caller then closes.
        Return the length of its body.
        """
        transport: Any = self.transport
        data = error_bytes(error, request_id, resource, self._now())
        transport.write(data)
        return len(data) - data.index(b"\r\n\r\n") - 4

    def _answer_request(self, request: Any, error: S3Error, resource: str) -> None:
        """
        Answer C{request} with C{error} here, not through the request, and
        tell the site (which counts every answered request).
        """
        sent = self._answer(error, request.request_id, resource)
        self.site.answered_early(request, error, sent)

    def _answer_and_close(self, error: S3Error) -> None:
        """Answer C{error} for the request whose head is being read, and close."""
        if self._closing:
            return
        path = getattr(self, "_path", None)
        resource = path.decode("latin-1").partition("?")[0] if path else "/"
        self._answer(error, new_request_id(), resource)
        self._close()

    # -- bytes in -------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        if self._closing:
            return
        if self._drain_left is not None:
            self._drain(data)
            return
        if self._in_head and data:
            if self._head_bytes == 0:
                self.site.connections.busy(self)
                if self._head_call is None:
                    self._start_head_deadline()
            self._head_bytes += len(data)
        super().dataReceived(data)

    def rawDataReceived(self, data: bytes) -> None:
        if self._closing:
            return
        if self._drain_left is not None:
            self._drain(data)
            return
        if not self._handlingRequest:
            self._body_bytes += len(data)
        super().rawDataReceived(data)

    def lineReceived(self, line: bytes) -> None:
        if self._closing:
            return
        # Twisted's own check answers a bare 400; S3 names the problem.
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._answer_and_close(S3Error.of("RequestHeaderSectionTooLarge"))
            return
        super().lineReceived(line)

    def headerReceived(self, line: bytes) -> bool:
        if self._receivedHeaderCount >= self.maxHeaders:
            self._answer_and_close(S3Error.of("RequestHeaderSectionTooLarge"))
            return False
        ok: bool = super().headerReceived(line)
        return ok

    def lineLengthExceeded(self, line: bytes) -> None:
        """A request line or header line over C{MAX_LENGTH}."""
        self._answer_and_close(S3Error.of("RequestHeaderSectionTooLarge"))

    def _respondToBadRequestAndDisconnect(self) -> None:
        self._answer_and_close(S3Error.of("BadRequest"))

    # -- the head -------------------------------------------------------------

    def _start_head_deadline(self) -> None:
        self._head_call = self.callLater(
            self.limits.header_timeout, self._head_timed_out
        )

    def _head_timed_out(self) -> None:
        self._head_call = None
        if self._closing:
            return
        log.debug("Request head timed out: {peer}", peer=self._peer())
        if self._head_bytes:
            self._answer_and_close(S3Error.of("RequestTimeout"))
        else:
            self._close()

    def allHeadersReceived(self) -> None:
        self._in_head = False
        if self._head_call is not None and self._head_call.active():
            self._head_call.cancel()
        self._head_call = None
        # Twisted calls gotLength (the gate), then our _send100Continue.
        super().allHeadersReceived()
        if self._closing:
            return
        request = self.requests[-1]
        refusal: S3Error | None = getattr(request, "refusal", None)
        if refusal is not None and self.length != 0:
            self._refuse_body(request, refusal)
        elif self.length != 0:
            self._start_rate_floor()

    def _send100Continue(self) -> None:
        request = self.requests[-1]
        refusal: S3Error | None = getattr(request, "refusal", None)
        if refusal is None:
            super()._send100Continue()
            return
        # The client waits for our verdict before sending the body: give it
        # the final answer instead, and close.
        self._answer_request(request, refusal, request.resource_path)
        self._close()

    # -- the body ---------------------------------------------------------------

    def _refuse_body(self, request: Any, refusal: S3Error) -> None:
        """
        Answer a refused request that did not ask for ``100 Continue`` now,
        then read at most the allowance of its body before closing.
        """
        self._answer_request(request, refusal, request.resource_path)
        allowance = self.limits.refused_body_allowance
        declared = self.length
        self._drain_left = allowance if declared is None else min(declared, allowance)
        if self._drain_left <= 0:
            self._close()
            return
        self._drain_call = self.callLater(self.limits.close_grace, self._close)

    def refuse_rest_of_body(self, request: Any, error: S3Error, resource: str) -> None:
        """
        The body's sink refused the request part-way (L{txs3.formbody}):
        answer C{error} now, read at most the allowance more, and close.
        The request is never handed to the application.  Idempotent.
        """
        if self._closing or self._drain_left is not None:
            return
        if self._rate_call is not None and self._rate_call.active():
            self._rate_call.cancel()
        self._rate_call = None
        self._rate = None
        request.resource_path = resource
        self._refuse_body(request, error)

    def _drain(self, data: bytes) -> None:
        assert self._drain_left is not None
        self._drain_left -= len(data)
        if self._drain_left <= 0:
            self._close()

    def _start_rate_floor(self) -> None:
        limits = self.limits
        self._body_bytes = 0
        if limits.min_upload_rate <= 0:
            return
        self._rate = RateFloor(limits.min_upload_rate, limits.rate_window, self._now())
        self._rate_call = self.callLater(limits.rate_check_interval, self._check_rate)

    def _check_rate(self) -> None:
        self._rate_call = None
        if self._rate is None or self._closing:
            return
        if self._rate.too_slow(self._now(), self._body_bytes):
            request = self.requests[-1]
            log.debug(
                "Upload too slow ({bytes} bytes), cut off: {peer}",
                bytes=self._body_bytes,
                peer=self._peer(),
            )
            resource = getattr(request, "resource_path", "/")
            path = getattr(self, "_path", None)
            if path:
                resource = path.decode("latin-1").partition("?")[0]
            self._answer_request(request, S3Error.of("RequestTimeout"), resource)
            self._close()
            return
        self._rate_call = self.callLater(
            self.limits.rate_check_interval, self._check_rate
        )

    def allContentReceived(self) -> None:
        if self._drain_left is not None:
            # The body ended in the very chunk its sink refused it on: the
            # answer is out, and the request goes no further.
            self._close()
            return
        if self._rate_call is not None and self._rate_call.active():
            self._rate_call.cancel()
        self._rate_call = None
        self._rate = None
        super().allContentReceived()

    # -- between requests -----------------------------------------------------

    def requestDone(self, request: Any) -> None:
        if self.persistent and not self._closing:
            # Idle from now until the next request's first byte, which
            # Twisted may feed us at once from its pipelining buffer.
            self._in_head = True
            self._head_bytes = 0
            self._body_bytes = 0
            self.site.connections.idle(self)
        super().requestDone(request)

    # -- bytes out ------------------------------------------------------------

    def pauseProducing(self) -> None:
        """The transport's send buffer is full: start the stall clock."""
        super().pauseProducing()
        if self._stall_call is None and not self._closing:
            self._stall_call = self.callLater(
                self.limits.send_stall_timeout, self._send_stalled
            )

    def resumeProducing(self) -> None:
        """The client has read the send buffer empty: it is not stalled."""
        if self._stall_call is not None and self._stall_call.active():
            self._stall_call.cancel()
        self._stall_call = None
        super().resumeProducing()

    def _send_stalled(self) -> None:
        self._stall_call = None
        log.debug("Client read nothing, aborted: {peer}", peer=self._peer())
        # A response is half sent: no answer is possible, and a clean close
        # would wait for the very buffer that does not drain.
        self._closing = True
        self._stop_timers()
        self.site.connections.remove(self)
        self._abort()

    def _peer(self) -> str:
        transport: Any = self.transport
        return str(transport.getPeer()) if transport is not None else "?"

    # -- response head ----------------------------------------------------------

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
