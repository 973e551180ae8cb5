"""
An HTTP agent that talks to a txs3 site in memory: no sockets, no TLS.

Why not treq's C{StubTreq}: it serves a resource through a plain
C{twisted.web.server.Site}, and txs3's gate runs in its own request and
channel classes (L{txs3.server.S3Site}) before the body is read.  This
agent connects Twisted's real HTTP client to the real L{S3Site} protocol
with C{iosim} fake transports (as treq's C{RequestTraversalAgent} does),
and moves the bytes on every turn of the reactor, so handlers that wait
for a store thread or a streamed body work exactly as over a socket.

An ``https`` URL marks both transports as TLS (C{ISSLTransport}), so the
server sees a secure request, as it would behind real TLS.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import task
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.interfaces import IReactorTime, ISSLTransport
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.test import iosim
from twisted.web.client import Agent
from twisted.web.iweb import IAgent, IAgentEndpointFactory
from twisted.web.server import Site
from zope.interface import directlyProvides, implementer

SERVER_ADDRESS = IPv4Address("TCP", "127.0.0.1", 443)
CLIENT_ADDRESS = IPv4Address("TCP", "127.0.0.1", 31337)


@implementer(IAgentEndpointFactory)
class _Endpoints:
    def __init__(self, memory: MemoryReactorClock) -> None:
        self._memory = memory

    def endpointForURI(self, uri: Any) -> TCP4ClientEndpoint:
        return TCP4ClientEndpoint(self._memory, uri.host, uri.port)


@implementer(IAgent)
class SiteAgent:
    """
    An L{IAgent} whose every request is a new in-memory connection to
    C{site}, pumped on C{reactor}'s turns until both ends have closed.
    """

    def __init__(self, site: Site, reactor: IReactorTime) -> None:
        self._site = site
        self._memory = MemoryReactorClock()
        self._agent = Agent.usingEndpointFactory(self._memory, _Endpoints(self._memory))
        self._pumps: set[iosim.IOPump] = set()
        self._loop = task.LoopingCall(self._flush)
        self._loop.clock = reactor

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Any = None,
        bodyProducer: Any = None,
    ) -> Deferred[Any]:
        """See L{IAgent.request}."""
        response = self._agent.request(method, uri, headers, bodyProducer)
        _, _, factory, _, _ = self._memory.tcpClients.pop()
        server = self._site.buildProtocol(CLIENT_ADDRESS)
        server_io = iosim.FakeTransport(
            server,
            isServer=True,
            hostAddress=SERVER_ADDRESS,
            peerAddress=CLIENT_ADDRESS,
        )
        client = factory.buildProtocol(None)
        client_io = iosim.FakeTransport(
            client,
            isServer=False,
            hostAddress=CLIENT_ADDRESS,
            peerAddress=SERVER_ADDRESS,
        )
        if uri.startswith(b"https:"):
            directlyProvides(server_io, ISSLTransport)
            directlyProvides(client_io, ISSLTransport)
        pump = iosim.connect(server, server_io, client, client_io, greet=False)
        self._pumps.add(pump)
        if not self._loop.running:
            self._loop.start(0, now=True)
        return response

    def _flush(self) -> None:
        for pump in list(self._pumps):
            while pump.pump(advanceClock=False):
                pass
            if pump.clientIO.disconnected and pump.serverIO.disconnected:
                self._pumps.discard(pump)
        if not self._pumps and self._loop.running:
            self._loop.stop()

    def close(self) -> None:
        """Stop pumping; connections still open are dropped."""
        self._pumps.clear()
        if self._loop.running:
            self._loop.stop()


Reply = tuple[int, dict[str, str], bytes]


class _Transport(StringTransport):
    """A string transport that takes the TCP option HTTPChannel sets."""

    def setTcpNoDelay(self, enabled: bool) -> None:
        pass


def _parse(data: bytes, method: str) -> tuple[Reply, bytes] | None:
    """The first complete response in C{data}, and what follows; None if partial."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    status = int(lines[0].split()[1])
    length = 0
    if method != "HEAD" and status not in (100, 204, 304):
        length = int(headers.get("content-length", "0"))
    if len(rest) < length:
        return None
    return (status, headers, rest[:length]), rest[length:]


async def exchange(
    site: Site, reactor: IReactorTime, head: bytes, body: bytes, method: str
) -> Reply:
    """
    Send one raw request to C{site} on a new in-memory connection and read
    its response; with ``Expect: 100-continue`` the body follows only a
    ``100 Continue``, as a careful client does.
    """
    transport = _Transport(hostAddress=SERVER_ADDRESS, peerAddress=CLIENT_ADDRESS)
    directlyProvides(transport, ISSLTransport)
    protocol = site.buildProtocol(CLIENT_ADDRESS)
    assert protocol is not None
    protocol.makeConnection(transport)
    protocol.dataReceived(head)
    if b"\r\nExpect: 100-continue\r\n" in head:
        interim, used = await _response(transport, reactor, method, 0)
        if interim[0] != 100:
            return interim
        protocol.dataReceived(body)
        return (await _response(transport, reactor, method, used))[0]
    protocol.dataReceived(body)
    return (await _response(transport, reactor, method, 0))[0]


async def _response(
    transport: StringTransport, reactor: IReactorTime, method: str, skip: int
) -> tuple[Reply, int]:
    """The response written after the first C{skip} bytes, and where it ends."""
    # Handlers may wait on a store thread or stream a body with a pull
    # producer: give them reactor turns, and pull, until a response is in.
    for _ in range(100_000):
        data = transport.value()[skip:]
        parsed = _parse(data, method)
        if parsed is not None:
            reply, rest = parsed
            return reply, skip + len(data) - len(rest)
        producer = transport.producer
        if producer is not None and not transport.streaming:
            producer.resumeProducing()
        else:
            await task.deferLater(reactor, 0, lambda: None)
    raise AssertionError("no response from the site")
