"""
The HTTP-01 responder (RFC 8555 section 8.3), for plain C{tcp:} ports, used
only with C{--acme-challenge http-01}.

A port's factory is wrapped (L{HTTP01Factory}): each connection's first
request line is read; a C{GET} of C{/.well-known/acme-challenge/TOKEN} is
answered here (the key authorization, or 404) and the connection closed;
any other request goes, with the bytes read so far, to the S3 site's
protocol, which then sees the connection as if it had been its own from the
start.  L{HTTP01Responder} is used on the reactor thread only.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IAddress, IProtocolFactory
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

log = Logger()

PREFIX = b"/.well-known/acme-challenge/"
_MAX_LINE = 8192


class HTTP01Responder:
    """Pending HTTP-01 key authorizations by token.  Reactor thread only."""

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}

    def add(self, token: str, key_authorization: str) -> None:
        """Answer C{token} with C{key_authorization} from now on."""
        self._tokens[token] = key_authorization
        log.info("ACME: answering an HTTP-01 challenge on the tcp: ports")

    def remove(self, token: str) -> None:
        """Stop answering C{token} (no error if it is not pending)."""
        self._tokens.pop(token, None)

    def answer(self, request_line: bytes) -> bytes | None:
        """
        The whole HTTP response to a request with C{request_line} if it asks
        for a challenge, else None.
        """
        parts = request_line.split(b" ")
        if len(parts) != 3 or parts[0] != b"GET" or not parts[1].startswith(PREFIX):
            return None
        token = parts[1][len(PREFIX) :].decode("ascii", "replace")
        body = self._tokens.get(token)
        if body is None:
            return (
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                b"Connection: close\r\n\r\n"
            )
        data = body.encode("ascii")
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(data)
            + data
        )


class _FirstLine(Protocol):
    """Reads the first request line, then answers it or hands over."""

    def __init__(
        self, responder: HTTP01Responder, wrapped: IProtocolFactory, addr: IAddress
    ) -> None:
        self._responder = responder
        self._wrapped = wrapped
        self._addr = addr
        self._buffer = b""
        self._inner: Any = None

    def dataReceived(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.dataReceived(data)
            return
        self._buffer += data
        end = self._buffer.find(b"\n")
        if end < 0 and len(self._buffer) < _MAX_LINE:
            return
        line = self._buffer[:end].rstrip(b"\r") if end >= 0 else b""
        answer = self._responder.answer(line)
        transport = self.transport
        assert transport is not None
        if answer is not None:
            transport.write(answer)
            transport.loseConnection()
            return
        inner = self._wrapped.buildProtocol(self._addr)
        if inner is None:
            transport.loseConnection()
            return
        self._inner = inner
        inner.makeConnection(transport)
        buffered, self._buffer = self._buffer, b""
        inner.dataReceived(buffered)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._inner is not None:
            self._inner.connectionLost(reason)


class HTTP01Factory(Factory):
    """C{wrapped}, with HTTP-01 challenges answered first."""

    noisy = False

    def __init__(self, responder: HTTP01Responder, wrapped: IProtocolFactory) -> None:
        self._responder = responder
        self._wrapped = wrapped

    def doStart(self) -> None:
        self._wrapped.doStart()

    def doStop(self) -> None:
        self._wrapped.doStop()

    def buildProtocol(self, addr: IAddress | None) -> Protocol:
        assert addr is not None
        protocol = _FirstLine(self._responder, self._wrapped, addr)
        protocol.factory = self
        return protocol
