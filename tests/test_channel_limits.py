"""
The connection limits of L{txs3.channel.S3Channel}, driven over
StringTransports with a Clock: the request-head deadline (slowloris), the
body-rate floor, and the per-process connection cap with idle connections
evicted first.  The decisions themselves are tested in
C{tests/test_limits.py}; these tests show the channel applying them.
"""

from __future__ import annotations

import time

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionLost
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from tests.test_server_channel import SECRETS, signed_head
from txs3.limits import Limits
from txs3.server import S3Site, build_site
from txs3.store.memory import MemoryStore

TIMEOUT_MESSAGE = (
    b"Your socket connection to the server was not read from or written to "
    b"within the timeout period."
)


def make_site(limits: Limits | None = None) -> tuple[S3Site, MemoryStore, Clock]:
    clock = Clock()
    clock.advance(time.time())
    store = MemoryStore(now=clock.seconds)
    store.create_bucket("bucket", "owner-one", "us-east-1")
    return build_site(store, SECRETS.get, reactor=clock, limits=limits), store, clock


def connect(site: S3Site, port: int = 40000) -> tuple[object, StringTransport]:
    proto = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", port))
    transport = StringTransport()
    proto.makeConnection(transport)
    return proto, transport


def send(proto: object, data: bytes) -> None:
    proto.dataReceived(data)  # type: ignore[attr-defined]


def lose(proto: object) -> None:
    proto.connectionLost(Failure(ConnectionLost()))  # type: ignore[attr-defined]


LIST = b"GET / HTTP/1.1\r\nHost: s3.test\r\n\r\n"


# -- the head deadline -----------------------------------------------------------


def test_slowloris_trickle_does_not_extend_head_deadline() -> None:
    """One head byte a second keeps no connection past the 20 s head deadline."""
    site, _store, clock = make_site()
    proto, transport = connect(site)
    head = b"GET / HTTP/1.1\r\nHost: s3.test\r\nX-Slow: " + b"a" * 100
    for i in range(19):
        send(proto, head[i : i + 1])
        clock.advance(1)
    assert not transport.disconnecting
    send(proto, head[19:20])
    clock.advance(1)
    assert transport.disconnecting
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 400 "), out
    assert b"<Code>RequestTimeout</Code>" in out
    assert TIMEOUT_MESSAGE in out
    # Bytes still trickling in are ignored.
    transport.clear()
    send(proto, head[20:])
    assert transport.value() == b""


def test_silent_connection_closed_at_head_deadline() -> None:
    """A connection that sends nothing is closed, without an answer, at the head deadline."""
    site, _store, clock = make_site(Limits(header_timeout=5))
    _proto, transport = connect(site)
    clock.advance(4.9)
    assert not transport.disconnecting
    clock.advance(0.1)
    assert transport.disconnecting
    assert transport.value() == b""


def test_head_deadline_of_later_request_runs_from_its_first_byte() -> None:
    """Between requests the head deadline sleeps; it starts at the next request's first byte."""
    site, _store, clock = make_site()
    proto, transport = connect(site)
    send(proto, LIST)
    assert transport.value().startswith(b"HTTP/1.1 403 ")
    transport.clear()
    clock.advance(50)  # idle, under Twisted's 60 s idle timeout
    assert not transport.disconnecting
    send(proto, b"GET / HTTP/1.1\r\n")
    clock.advance(19)
    send(proto, b"Host: s3.test\r\n")
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.disconnecting
    assert b"<Code>RequestTimeout</Code>" in transport.value()


def test_head_in_time_is_served() -> None:
    """A head sent slowly but complete within the deadline is served normally."""
    site, _store, clock = make_site()
    proto, transport = connect(site)
    for part in (b"GET / HTT", b"P/1.1\r\nHost: s3.", b"test\r\n\r\n"):
        send(proto, part)
        clock.advance(6)
    assert transport.value().startswith(b"HTTP/1.1 403 ")
    assert not transport.disconnecting
    clock.advance(30)
    assert not transport.disconnecting


# -- the body-rate floor -------------------------------------------------------------


def test_slow_upload_cut_off_with_request_timeout() -> None:
    """An upload at 1000 B/s (floor 4096 B/s over 30 s) gets 400 RequestTimeout and is closed."""
    site, store, clock = make_site()
    proto, transport = connect(site)
    body = b"s" * 1_000_000
    send(proto, signed_head("PUT", "/bucket/slow", body))
    sent = 0
    while not transport.disconnecting and sent < 100:
        send(proto, body[sent * 1000 : (sent + 1) * 1000])
        sent += 1
        clock.advance(1)
    assert transport.disconnecting
    assert 30 <= sent <= 36
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 400 "), out
    assert b"<Code>RequestTimeout</Code>" in out
    assert TIMEOUT_MESSAGE in out
    assert b"<Resource>/bucket/slow</Resource>" in out
    lose(proto)
    assert store.staging_count() == 0


def test_upload_above_floor_is_not_cut_off() -> None:
    """An upload averaging 8 KiB/s for two minutes completes and is stored."""
    site, store, clock = make_site()
    proto, transport = connect(site)
    body = bytes(range(256)) * (120 * 32)  # 983040 bytes: 120 s at 8 KiB/s
    send(proto, signed_head("PUT", "/bucket/steady", body))
    step = 8192
    for i in range(0, len(body), step):
        assert not transport.disconnecting
        send(proto, body[i : i + step])
        clock.advance(1)
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 200 "), out[:300]
    assert store.head_object("bucket", "steady").size == len(body)


def test_upload_pause_within_grace_is_not_cut_off() -> None:
    """A body that starts after 20 s of silence but then keeps up is not cut off."""
    site, store, clock = make_site()
    proto, transport = connect(site)
    body = b"g" * 400_000
    send(proto, signed_head("PUT", "/bucket/late", body))
    clock.advance(20)
    for i in range(0, len(body), 40_000):
        assert not transport.disconnecting
        send(proto, body[i : i + 40_000])
        clock.advance(1)
    assert transport.value().startswith(b"HTTP/1.1 200 ")
    assert store.head_object("bucket", "late").size == len(body)


def test_rate_floor_off() -> None:
    """With --min-upload-rate 0 a stalled upload is left to the idle timeout."""
    site, _store, clock = make_site(Limits(min_upload_rate=0))
    proto, transport = connect(site)
    body = b"z" * 100_000
    send(proto, signed_head("PUT", "/bucket/k", body))
    for _ in range(50):
        send(proto, b"z")
        clock.advance(1)
    assert not transport.disconnecting


# -- the connection cap ---------------------------------------------------------------


def test_cap_closes_oldest_idle_connection_first() -> None:
    """At the cap a new connection closes the connection idle longest, not busy ones."""
    site, _store, _clock = make_site(Limits(max_connections=3))
    first, t_first = connect(site, 1)
    _second, t_second = connect(site, 2)
    busy, t_busy = connect(site, 3)
    send(busy, b"GET / HTTP/1.1\r\n")  # a request in progress
    send(first, LIST)  # first served: now idle more recently than second
    assert t_first.value().startswith(b"HTTP/1.1 403 ")
    _new, t_new = connect(site, 4)
    assert t_second.disconnecting
    assert not t_first.disconnecting
    assert not t_busy.disconnecting
    assert not t_new.disconnecting
    _newer, t_newer = connect(site, 5)
    assert t_first.disconnecting
    assert not t_busy.disconnecting
    assert not t_newer.disconnecting
    assert len(site.connections) == 3


def test_thousand_idle_connections_never_lock_out_a_client() -> None:
    """With 1,000 idle connections at a cap of 1,000, a new client is served."""
    site, _store, _clock = make_site(Limits(max_connections=1000))
    idle = [connect(site, 10000 + i) for i in range(1000)]
    proto, transport = connect(site, 2)
    assert not transport.disconnecting
    send(proto, LIST)
    assert transport.value().startswith(b"HTTP/1.1 403 ")
    assert idle[0][1].disconnecting
    assert not any(t.disconnecting for _, t in idle[1:])


def test_cap_refuses_when_every_connection_is_busy() -> None:
    """At the cap with no idle connection, the new connection is closed at once."""
    site, _store, clock = make_site(Limits(max_connections=2))
    busy = [connect(site, i) for i in range(2)]
    for proto, _ in busy:
        send(proto, b"PUT /bucket/k HTTP/1.1\r\n")
    _proto, transport = connect(site, 9)
    assert transport.disconnecting
    assert transport.value() == b""
    assert not any(t.disconnecting for _, t in busy)
    # Once one goes away there is room again.
    lose(busy[0][0])
    _again, t_again = connect(site, 10)
    assert not t_again.disconnecting
    clock.advance(0)


def test_closed_connections_leave_the_count() -> None:
    """Connections that close, however they close, stop counting toward the cap."""
    site, _store, clock = make_site(Limits(max_connections=5, header_timeout=5))
    conns = [connect(site, i) for i in range(5)]
    assert len(site.connections) == 5
    lose(conns[0][0])
    assert len(site.connections) == 4
    clock.advance(5)  # the others time out without a request
    assert len(site.connections) == 0


def test_evicting_a_connection_twisted_already_closes() -> None:
    """A connection closing on Twisted's idle timeout can still be evicted, and is aborted."""
    site, _store, clock = make_site(Limits(max_connections=2, header_timeout=1000))
    proto, transport = connect(site, 1)
    send(proto, LIST)
    clock.advance(60)  # Twisted's idle timeout closes it (not yet gone)
    assert transport.disconnecting
    connect(site, 2)
    _third, t_third = connect(site, 3)  # evicts the first, still counted
    assert not t_third.disconnecting
    clock.advance(site.limits.close_grace)
    assert transport.disconnected


def test_pipelined_refusal_after_a_served_request() -> None:
    """A refused upload pipelined behind a served request is answered early too."""
    site, store, _clock = make_site()
    proto, transport = connect(site)
    body = b"p" * 1000
    send(
        proto,
        signed_head("PUT", "/bucket/one", body)
        + body
        + b"PUT /bucket/two HTTP/1.1\r\nHost: s3.test\r\nContent-Length: 5000000\r\n\r\n",
    )
    out = transport.value()
    first, _, second = out.partition(b"HTTP/1.1 403 ")
    assert first.startswith(b"HTTP/1.1 200 "), out[:300]
    assert b"<Code>AccessDenied</Code>" in second
    assert store.head_object("bucket", "one").size == len(body)
    assert not transport.disconnecting
    send(proto, b"q" * 65536)
    assert transport.disconnecting


def test_idle_keep_alive_after_upload_is_not_timed_out_by_limits() -> None:
    """After a completed upload, neither the rate floor nor the head deadline fires while idle."""
    site, _store, clock = make_site()
    proto, transport = connect(site)
    body = b"k" * 5000
    send(proto, signed_head("PUT", "/bucket/k", body) + body)
    assert transport.value().startswith(b"HTTP/1.1 200 ")
    transport.clear()
    clock.advance(59)
    assert not transport.disconnecting
    assert transport.value() == b""
    assert site.connections.idle_count() == 1


# -- clients that do not read -------------------------------------------------------


def stream_response(proto: object) -> None:
    """
    Stand in for a long response in progress: Twisted turns the idle
    timeout off while it answers a request (the LIST is answered at once).
    """
    proto.setTimeout(None)  # type: ignore[attr-defined]


def test_client_that_reads_nothing_is_aborted() -> None:
    """A client that leaves the send buffer full for the stall timeout is aborted."""
    site, _store, clock = make_site(Limits(send_stall_timeout=120))
    proto, transport = connect(site)
    send(proto, LIST)
    stream_response(proto)
    proto.pauseProducing()  # type: ignore[attr-defined]  # the transport's buffer is full
    clock.advance(119)
    assert not transport.disconnected
    clock.advance(1)
    assert transport.disconnected
    assert len(site.connections) == 0


def test_client_that_reads_slowly_is_not_aborted() -> None:
    """A send buffer that keeps draining, however slowly, never trips the stall timeout."""
    site, _store, clock = make_site(Limits(send_stall_timeout=120))
    proto, transport = connect(site)
    send(proto, LIST)
    stream_response(proto)
    for _ in range(10):
        proto.pauseProducing()  # type: ignore[attr-defined]
        clock.advance(100)
        proto.resumeProducing()  # type: ignore[attr-defined]
    assert not transport.disconnected
