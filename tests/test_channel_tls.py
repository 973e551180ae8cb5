"""
The channel's answers over real TLS on 127.0.0.1: a raw client in a thread
(Python's C{ssl}) against the real site on the running reactor.

What only a real TLS connection shows: closing a TLS connection waits for
the peer's close_notify, so a channel that closes without answering, or
closes and waits, holds a client that is still sending.  Each client read
has a 10-second socket timeout as a fail-safe; the tests check what
arrives and that the connection ends, not how long it took.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.threads import deferToThread

from tests.s3client import make_test_certificate, server_tls_options
from tests.test_server_channel import SECRETS, signed_head
from txs3.limits import Limits
from txs3.server import build_site
from txs3.store.memory import MemoryStore

FAILSAFE = 10.0


class Endpoint:
    def __init__(self, port: int, cafile: str) -> None:
        self.port = port
        self.cafile = cafile

    def connect(self) -> ssl.SSLSocket:
        """A TLS connection to the server, handshake done."""
        context = ssl.create_default_context(cafile=self.cafile)
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=FAILSAFE)
        return context.wrap_socket(raw, server_hostname="127.0.0.1")


def read_to_end(tls: ssl.SSLSocket, data: bytes = b"") -> tuple[bytes, str]:
    """Everything until the server closes; and how it closed: eof or reset."""
    while True:
        try:
            chunk = tls.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return data, "reset"
        except TimeoutError:
            return data, "still open"
        except ssl.SSLError as e:
            return data, f"tls error {e}"
        if not chunk:
            return data, "eof"
        data += chunk


def read_head(tls: ssl.SSLSocket) -> bytes:
    """The response up to and including the end of its head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


async def serving(
    tmp_path: Path, limits: Limits | None = None
) -> AsyncIterator[Endpoint]:
    cert, key = make_test_certificate(tmp_path)
    store = MemoryStore()
    store.create_bucket("bucket", "owner-one", "us-east-1")
    site = build_site(store, SECRETS.get, reactor=reactor, limits=limits)
    port = reactor.listenSSL(
        0, site, server_tls_options(cert, key), interface="127.0.0.1"
    )
    try:
        yield Endpoint(port.getHost().port, str(cert))
    finally:
        await port.stopListening()


@pytest_twisted.async_yield_fixture
async def endpoint(tmp_path: Path) -> AsyncIterator[Endpoint]:
    async for e in serving(tmp_path):
        yield e


@pytest_twisted.async_yield_fixture
async def impatient(tmp_path: Path) -> AsyncIterator[Endpoint]:
    async for e in serving(tmp_path, Limits(header_timeout=0.5)):
        yield e


def over_long_header(endpoint: Endpoint) -> tuple[bytes, str]:
    with endpoint.connect() as tls:
        tls.sendall(
            b"GET /bucket HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
            + b"b" * 20000
            + b"\r\n\r\n"
        )
        return read_to_end(tls)


@pytest_twisted.ensureDeferred
async def test_over_long_header_over_tls_answered_and_closed(
    endpoint: Endpoint,
) -> None:
    """Over TLS an over-long header line gets S3's XML error and the connection ends."""
    data, ending = await deferToThread(over_long_header, endpoint)
    assert data.startswith(b"HTTP/1.1 400 "), data[:200]
    assert b"Content-Type: application/xml" in data
    assert b"<Code>RequestHeaderSectionTooLarge</Code>" in data
    assert ending in ("eof", "reset")


def refused_upload(endpoint: Endpoint) -> tuple[bytes, bytes, str]:
    with endpoint.connect() as tls:
        tls.sendall(
            b"PUT /bucket/huge HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 100000000000\r\n\r\n" + b"x" * 16384
        )
        head = read_head(tls)
        # The rest of the 64 KiB allowance, then some: the server closes.
        body_ended = "sent"
        try:
            for _ in range(8):
                tls.sendall(b"x" * 16384)
        except OSError:
            body_ended = "refused"
        rest, ending = read_to_end(tls)
        return head, rest, ending if body_ended == "sent" else body_ended


@pytest_twisted.ensureDeferred
async def test_refused_upload_over_tls_answered_before_body(endpoint: Endpoint) -> None:
    """A refused 100 GB PUT over TLS is answered after 16 KiB of body, then closed."""
    head, rest, ending = await deferToThread(refused_upload, endpoint)
    assert head.startswith(b"HTTP/1.1 403 "), head[:200]
    assert b"Connection: close" in head
    assert b"<Code>AccessDenied</Code>" in head + rest
    assert ending in ("eof", "reset", "refused")


def trickled_head(endpoint: Endpoint) -> tuple[bytes, str]:
    with endpoint.connect() as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        return read_to_end(tls)


@pytest_twisted.ensureDeferred
async def test_unfinished_head_over_tls_times_out(impatient: Endpoint) -> None:
    """Over TLS a head left unfinished past the deadline gets 400 RequestTimeout and a close."""
    data, ending = await deferToThread(trickled_head, impatient)
    assert data.startswith(b"HTTP/1.1 400 "), data[:200]
    assert b"<Code>RequestTimeout</Code>" in data
    assert ending in ("eof", "reset")


@pytest_twisted.async_yield_fixture
async def stall_averse(tmp_path: Path) -> AsyncIterator[Endpoint]:
    async for e in serving(tmp_path, Limits(send_stall_timeout=0.5)):
        yield e


def unread_download(endpoint: Endpoint) -> tuple[int, str]:
    body = b"d" * (32 * 1024 * 1024)
    with endpoint.connect() as tls:
        tls.sendall(signed_head("PUT", "/bucket/big", body) + body)
        assert read_head(tls).startswith(b"HTTP/1.1 200 ")
        tls.sendall(signed_head("GET", "/bucket/big", b""))
        time.sleep(3)  # read nothing while the server's buffers fill
        data, ending = read_to_end(tls)
        return len(data), ending


@pytest_twisted.ensureDeferred
async def test_client_that_stops_reading_is_aborted(stall_averse: Endpoint) -> None:
    """A client that reads nothing of a 32 MiB download is cut off, not held for ever."""
    received, ending = await deferToThread(unread_download, stall_averse)
    assert received < 32 * 1024 * 1024
    assert ending in ("reset", "eof") or ending.startswith("tls error")
