"""
Channel-level tests: raw HTTP/1.1 bytes fed to the real txs3 Site over a
StringTransport, with a MemoryStore and a Clock.

treq's StubTreq talks to a plain Site and cannot show what happens between
the headers and the body; these tests do.  They pin the behaviour that
L{txs3.server} builds on private HTTPChannel names (C{_command}, C{_path},
C{_send100Continue}).
"""

from __future__ import annotations

import hashlib
import time

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from tests.s3client import ACCESS_KEY, SECRET_KEY
from txs3.auth.types import Secret
from txs3.server import build_site
from txs3.store.memory import MemoryStore

SECRETS = {ACCESS_KEY: Secret(ACCESS_KEY, SECRET_KEY, "owner-one", "one")}
HOST = "s3.test"


def make_site() -> tuple[object, MemoryStore, Clock]:
    clock = Clock()
    clock.advance(time.time())
    store = MemoryStore(now=clock.seconds)
    store.create_bucket("bucket", "owner-one", "us-east-1")
    site = build_site(store, SECRETS.get, reactor=clock)
    return site, store, clock


def connect(site: object) -> tuple[object, StringTransport]:
    proto = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))  # type: ignore[attr-defined]
    transport = StringTransport()
    proto.makeConnection(transport)
    return proto, transport


def signed_head(
    method: str, path: str, body: bytes, extra: dict[str, str] | None = None
) -> bytes:
    """The head of a SigV4-signed request for C{body}, as raw bytes."""
    headers = {"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    headers.update(extra or {})
    req = AWSRequest(
        method=method, url=f"https://{HOST}{path}", headers=headers, data=body
    )
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(req)
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {HOST}",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{k}: {v}" for k, v in req.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_refused_put_gets_no_100_continue() -> None:
    """An unauthenticated PUT with Expect: 100-continue gets 403 at once, no 100, connection closed."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    proto.dataReceived(  # type: ignore[attr-defined]
        b"PUT /bucket/key HTTP/1.1\r\nHost: s3.test\r\nContent-Length: 1000000\r\n"
        b"Expect: 100-continue\r\n\r\n"
    )
    out = transport.value()
    assert b"100 Continue" not in out
    assert out.startswith(b"HTTP/1.1 403 ")
    assert b"<Code>AccessDenied</Code>" in out
    assert b"x-amz-request-id" in out.lower()
    assert transport.disconnecting
    # Whatever the client sends anyway is dropped, nothing is stored.
    proto.dataReceived(b"x" * 1000)  # type: ignore[attr-defined]
    assert store.staging_count() == 0


def test_refused_put_without_expect_discards_body() -> None:
    """A bad-signature PUT without Expect has its body dropped and gets SignatureDoesNotMatch."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    head = signed_head("PUT", "/bucket/key", b"hello").replace(
        b"Signature=", b"Signature=0"
    )
    proto.dataReceived(head + b"hello")  # type: ignore[attr-defined]
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 403 ")
    assert b"SignatureDoesNotMatch" in out
    assert store.staging_count() == 0


def test_accepted_put_gets_100_continue_then_200() -> None:
    """A valid PUT with Expect: 100-continue gets 100, then its body is stored and 200 sent."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    body = b"streamed body" * 1000
    head = signed_head("PUT", "/bucket/key", body, {"Expect": "100-continue"})
    proto.dataReceived(head)  # type: ignore[attr-defined]
    assert transport.value() == b"HTTP/1.1 100 Continue\r\n\r\n"
    transport.clear()
    for i in range(0, len(body), 1000):
        proto.dataReceived(body[i : i + 1000])  # type: ignore[attr-defined]
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 200 "), out
    assert hashlib.md5(body).hexdigest().encode() in out
    info = store.head_object("bucket", "key")
    assert info.size == len(body)


def test_missing_bucket_refused_before_body() -> None:
    """A PUT into a missing bucket is answered NoSuchBucket before any body byte."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    head = signed_head("PUT", "/nobucket/key", b"abc", {"Expect": "100-continue"})
    proto.dataReceived(head)  # type: ignore[attr-defined]
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 404 ")
    assert b"NoSuchBucket" in out
    assert store.staging_count() == 0


def test_disconnect_mid_upload_leaves_old_object() -> None:
    """A client that vanishes mid-body leaves the previous object and no staging file."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    proto.dataReceived(signed_head("PUT", "/bucket/key", b"old") + b"old")  # type: ignore[attr-defined]
    assert transport.value().startswith(b"HTTP/1.1 200 ")
    proto2, _ = connect(site)
    body = b"n" * 100000
    proto2.dataReceived(signed_head("PUT", "/bucket/key", body) + body[:5000])  # type: ignore[attr-defined]
    assert store.staging_count() == 1
    from twisted.internet.error import ConnectionLost
    from twisted.python.failure import Failure

    proto2.connectionLost(Failure(ConnectionLost()))  # type: ignore[attr-defined]
    assert store.staging_count() == 0
    assert store.head_object("bucket", "key").size == 3


def test_amz_header_names_lower_case() -> None:
    """x-amz-* response headers go out in lower case, as S3 sends them, user metadata included."""
    site, _store, _ = make_site()
    proto, transport = connect(site)
    head = signed_head("PUT", "/bucket/key", b"abc", {"x-amz-meta-MTime": "17"})
    proto.dataReceived(head + b"abc")  # type: ignore[attr-defined]
    transport.clear()
    proto.dataReceived(signed_head("GET", "/bucket/key", b""))  # type: ignore[attr-defined]
    out = transport.value()
    assert b"\r\nx-amz-meta-mtime: 17\r\n" in out
    assert b"\r\nx-amz-request-id: " in out
    assert b"\r\nETag: " in out


def unsigned_payload_head(path: str, length_header: str) -> bytes:
    """A SigV4 PUT head with UNSIGNED-PAYLOAD and the given length header line."""
    req = AWSRequest(
        method="PUT",
        url=f"https://{HOST}{path}",
        headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD", "Expect": "100-continue"},
    )
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(req)
    lines = [f"PUT {path} HTTP/1.1", f"Host: {HOST}", length_header]
    lines += [f"{k}: {v}" for k, v in req.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_put_over_five_gib_refused_before_body() -> None:
    """A PutObject declaring more than 5 GiB is EntityTooLarge before any body byte."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    too_big = 5 * 1024**3 + 1
    proto.dataReceived(
        unsigned_payload_head("/bucket/huge", f"Content-Length: {too_big}")
    )  # type: ignore[attr-defined]
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 400 "), out
    assert b"<Code>EntityTooLarge</Code>" in out
    assert b"100 Continue" not in out
    assert store.staging_count() == 0


def test_put_without_length_refused() -> None:
    """A PutObject with neither Content-Length nor x-amz-decoded-content-length is 411 MissingContentLength."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    proto.dataReceived(unsigned_payload_head("/bucket/k", "Transfer-Encoding: chunked"))  # type: ignore[attr-defined]
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 411 "), out
    assert b"<Code>MissingContentLength</Code>" in out
    assert store.staging_count() == 0


# -- refused bodies close early ------------------------------------------------

HUNDRED_GB = 100 * 10**9


def test_refused_put_without_expect_answered_before_body() -> None:
    """A refused 100 GB PUT without Expect is answered at once and closed after 64 KiB more."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    proto.dataReceived(  # type: ignore[attr-defined]
        b"PUT /bucket/key HTTP/1.1\r\nHost: s3.test\r\n"
        + f"Content-Length: {HUNDRED_GB}\r\n\r\n".encode()
    )
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 403 "), out
    assert b"<Code>AccessDenied</Code>" in out
    assert b"\r\nConnection: close\r\n" in out
    assert b"\r\nDate: " in out
    assert not transport.disconnecting
    for _ in range(63):
        proto.dataReceived(b"x" * 1024)  # type: ignore[attr-defined]
    assert not transport.disconnecting
    proto.dataReceived(b"x" * 1024)  # type: ignore[attr-defined]
    assert transport.disconnecting
    # Nothing more is read, answered or stored.
    transport.clear()
    proto.dataReceived(b"x" * 10 * 1024 * 1024)  # type: ignore[attr-defined]
    assert transport.value() == b""
    assert store.staging_count() == 0


def test_refused_small_body_answered_before_body() -> None:
    """A bad-signature PUT is answered before its body arrives, and closed once it has."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    head = signed_head("PUT", "/bucket/key", b"hello").replace(
        b"Signature=", b"Signature=0"
    )
    proto.dataReceived(head)  # type: ignore[attr-defined]
    assert transport.value().startswith(b"HTTP/1.1 403 ")
    assert b"SignatureDoesNotMatch" in transport.value()
    assert not transport.disconnecting
    proto.dataReceived(b"hello")  # type: ignore[attr-defined]
    assert transport.disconnecting
    assert store.staging_count() == 0


def test_refused_chunked_body_answered_before_body() -> None:
    """A refused PUT with a chunked body of unknown length is answered at once too."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    proto.dataReceived(  # type: ignore[attr-defined]
        b"PUT /nobucket/key HTTP/1.1\r\nHost: s3.test\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n10000\r\n"
    )
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 403 "), out
    proto.dataReceived(b"y" * 70000)  # type: ignore[attr-defined]
    assert transport.disconnecting
    assert store.staging_count() == 0


def test_refused_body_that_never_comes_is_closed() -> None:
    """A refused request whose client sends no body is closed after the grace, then aborted."""
    site, _store, clock = make_site()
    proto, transport = connect(site)
    proto.dataReceived(  # type: ignore[attr-defined]
        b"PUT /bucket/key HTTP/1.1\r\nHost: s3.test\r\nContent-Length: 1000000\r\n\r\n"
    )
    assert transport.value().startswith(b"HTTP/1.1 403 ")
    clock.advance(site.limits.close_grace)  # type: ignore[attr-defined]
    assert transport.disconnecting
    assert not transport.disconnected
    clock.advance(site.limits.close_grace)  # type: ignore[attr-defined]
    assert transport.disconnected  # aborted


def test_refused_request_without_body_keeps_connection() -> None:
    """A refused GET (no body) is answered by the application and the connection stays open."""
    site, _store, _ = make_site()
    proto, transport = connect(site)
    proto.dataReceived(b"GET /bucket/key HTTP/1.1\r\nHost: s3.test\r\n\r\n")  # type: ignore[attr-defined]
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 403 ")
    assert b"Connection: close" not in out
    assert not transport.disconnecting


# -- heads Twisted cannot take --------------------------------------------------


def assert_xml_error(out: bytes, status: int, code: str) -> None:
    assert out.startswith(f"HTTP/1.1 {status} ".encode()), out[:200]
    assert f"<Code>{code}</Code>".encode() in out
    assert b"Content-Type: application/xml" in out
    assert b"\r\nConnection: close\r\n" in out


def test_long_request_line_is_s3_error() -> None:
    """A request line over 16 KiB gets 400 RequestHeaderSectionTooLarge XML, then close."""
    site, _store, _ = make_site()
    proto, transport = connect(site)
    proto.dataReceived(b"GET /bucket/key?x=" + b"a" * 20000 + b" HTTP/1.1\r\n")  # type: ignore[attr-defined]
    assert_xml_error(transport.value(), 400, "RequestHeaderSectionTooLarge")
    assert transport.disconnecting


def test_long_unterminated_header_line_is_s3_error() -> None:
    """A header line growing past 16 KiB without its end gets the XML error at once."""
    site, _store, _ = make_site()
    proto, transport = connect(site)
    proto.dataReceived(b"GET /bucket/key HTTP/1.1\r\nHost: s3.test\r\nX-Big: ")  # type: ignore[attr-defined]
    for _ in range(20):
        proto.dataReceived(b"b" * 1024)  # type: ignore[attr-defined]
    assert_xml_error(transport.value(), 400, "RequestHeaderSectionTooLarge")
    assert transport.disconnecting


def test_header_section_over_total_size_is_s3_error() -> None:
    """Headers adding up to more than 16 KiB get RequestHeaderSectionTooLarge."""
    site, _store, _ = make_site()
    proto, transport = connect(site)
    lines = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(20))
    proto.dataReceived(b"GET / HTTP/1.1\r\nHost: s3.test\r\n" + lines + b"\r\n")  # type: ignore[attr-defined]
    assert_xml_error(transport.value(), 400, "RequestHeaderSectionTooLarge")
    assert transport.disconnecting


def test_too_many_headers_is_s3_error() -> None:
    """More than 500 header lines get RequestHeaderSectionTooLarge."""
    site, _store, _ = make_site()
    proto, transport = connect(site)
    lines = b"".join(b"X-%d: 1\r\n" % i for i in range(501))
    proto.dataReceived(b"GET / HTTP/1.1\r\nHost: s3.test\r\n" + lines + b"\r\n")  # type: ignore[attr-defined]
    assert_xml_error(transport.value(), 400, "RequestHeaderSectionTooLarge")
    assert transport.disconnecting


def test_malformed_header_is_s3_error() -> None:
    """A header line without a colon gets 400 BadRequest as S3 XML, not a bare 400."""
    site, _store, _ = make_site()
    proto, transport = connect(site)
    proto.dataReceived(b"GET / HTTP/1.1\r\nHost: s3.test\r\nno colon here\r\n\r\n")  # type: ignore[attr-defined]
    assert_xml_error(transport.value(), 400, "BadRequest")
    assert transport.disconnecting
