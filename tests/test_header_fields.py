"""
Header fields sent on several lines: one value, the lines joined with
``", "`` as RFC 9110 combines them, while signatures cover the lines joined
with ``","`` as AWS and botocore canonicalise them.

The pure parts are tested on L{txs3.auth.fields}; end to end, raw requests
signed by botocore (SigV4 and SigV2) are fed to the real Site over a
StringTransport, as in L{tests.test_server_channel}.
"""

from __future__ import annotations

import hashlib
from email.utils import formatdate

import pytest
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.s3client import ACCESS_KEY, SECRET_KEY
from tests.test_server_channel import HOST, connect, make_site, signed_head
from txs3.auth.fields import HeaderFields, field_lines, signed_value

REPEATED = [
    ("Content-Encoding", "deflate"),
    ("Content-Encoding", "gzip"),
    ("x-amz-meta-list", "a"),
    ("x-amz-meta-list", " b "),
]


def test_lines_joined_for_use_and_for_signing() -> None:
    """A field on two lines reads as "deflate, gzip", keeps both lines, and signs as "deflate,gzip"."""
    fields = HeaderFields.from_raw(
        [(b"Content-Encoding", [b"deflate", b"gzip"]), (b"X-Amz-Meta-A", [b" x, y "])]
    )
    assert fields == {"content-encoding": "deflate, gzip", "x-amz-meta-a": " x, y "}
    assert field_lines(fields, "content-encoding") == ("deflate", "gzip")
    assert signed_value(fields, "content-encoding") == "deflate,gzip"
    # A comma inside one line is the client's: it stays, only ends trimmed.
    assert signed_value(fields, "x-amz-meta-a") == "x, y"
    assert signed_value({"x-amz-meta-a": "p, q"}, "x-amz-meta-a") == "p, q"
    assert field_lines(fields, "absent") == ()


def _raw_request(method: str, path: str, signature: str, body: bytes = b"") -> bytes:
    """A botocore-signed request with the L{REPEATED} header lines, as bytes."""
    request = AWSRequest(method=method, url=f"https://{HOST}{path}", data=body)
    for name, value in REPEATED:
        request.headers[name] = value
    credentials = Credentials(ACCESS_KEY, SECRET_KEY)
    if signature == "v4":
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    else:
        request.headers["Date"] = formatdate(usegmt=True)
        HmacV1Auth(credentials).add_auth(request)
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {HOST}",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.mark.parametrize("signature", ["v4", "v2"])
def test_repeated_headers_verify_and_are_stored_joined(signature: str) -> None:
    """A signed PUT with Content-Encoding and x-amz-meta-list each on two lines verifies, and GET returns "deflate, gzip" and "a, b"."""
    site, _store, _ = make_site()
    proto, transport = connect(site)
    proto.dataReceived(_raw_request("PUT", "/bucket/key", signature, b"zz"))  # type: ignore[attr-defined]
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 200 "), out
    transport.clear()
    proto.dataReceived(signed_head("GET", "/bucket/key", b""))  # type: ignore[attr-defined]
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 200 "), out
    assert b"\r\nContent-Encoding: deflate, gzip\r\n" in out
    assert b"\r\nx-amz-meta-list: a, b\r\n" in out
