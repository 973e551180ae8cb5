"""
Requests for server-side encryption are refused, before their body, with
501 NotImplemented: txs3 stores data as sent, and must not let a client
believe it is encrypted.

The refusal before the body is shown on the channel (raw bytes fed to the
real Site over a StringTransport, as in L{tests.test_server_channel}); the
rest goes through the functional server with botocore-signed requests.
"""

from __future__ import annotations

import base64
import hashlib
from xml.etree import ElementTree

import pytest
import pytest_twisted

from tests.functional import Server, server  # noqa: F401
from tests.s3client import error_code, key_path
from tests.test_server_channel import connect, make_site, signed_head
from txs3.errors import S3Error

CUSTOMER_KEY = b"k" * 32


def sse_c(prefix: str = "x-amz-server-side-encryption") -> dict[str, str]:
    """The three SSE-C headers for L{CUSTOMER_KEY}."""
    return {
        prefix + "-customer-algorithm": "AES256",
        prefix + "-customer-key": base64.b64encode(CUSTOMER_KEY).decode(),
        prefix + "-customer-key-MD5": base64.b64encode(
            hashlib.md5(CUSTOMER_KEY).digest()
        ).decode(),
    }



def test_sse_c_put_refused_before_body() -> None:
    """An SSE-C PutObject with Expect: 100-continue gets 501 at once, no 100 Continue, and nothing is stored."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    body = b"secret" * 1000
    head = signed_head(
        "PUT", "/bucket/key", body, {"Expect": "100-continue", **sse_c()}
    )
    proto.dataReceived(head)  # type: ignore[attr-defined]
    out = transport.value()
    assert b"100 Continue" not in out
    assert out.startswith(b"HTTP/1.1 501 "), out
    assert b"<Code>NotImplemented</Code>" in out
    assert b"<Header>x-amz-server-side-encryption-customer-algorithm</Header>" in out
    proto.dataReceived(body)  # type: ignore[attr-defined]
    assert store.staging_count() == 0
    with pytest.raises(S3Error):
        store.head_object("bucket", "key")


@pytest_twisted.ensureDeferred
async def test_sse_s3_and_kms_puts_refused(server: Server) -> None:
    """PutObject, CopyObject and CreateMultipartUpload asking for AES256 or aws:kms get 501 and store nothing."""
    c = server.client
    await c.request("PUT", "/sse")
    path = key_path("sse", "k")
    for value in ("AES256", "aws:kms"):
        sse = {"x-amz-server-side-encryption": value}
        r = await c.request("PUT", path, headers=sse, body=b"plain")
        assert r.code == 501 and error_code(r.body) == "NotImplemented"
        assert (await c.request("HEAD", path)).code == 404
        r = await c.request("POST", path, "uploads", headers=sse)
        assert r.code == 501 and error_code(r.body) == "NotImplemented"
    r = await c.request(
        "PUT", path, headers={"x-amz-server-side-encryption-aws-kms-key-id": "k"}
    )
    assert r.code == 501
    await c.request("PUT", key_path("sse", "src"), body=b"plain")
    r = await c.request(
        "PUT",
        path,
        headers={
            "x-amz-copy-source": "/sse/src",
            **sse_c("x-amz-copy-source-server-side-encryption"),
        },
    )
    assert r.code == 501 and error_code(r.body) == "NotImplemented"
    assert (await c.request("HEAD", path)).code == 404


@pytest_twisted.ensureDeferred
async def test_sse_c_reads_and_parts_refused(server: Server) -> None:
    """GetObject, HeadObject, UploadPart and CompleteMultipartUpload with SSE-C headers get 501."""
    c = server.client
    await c.request("PUT", "/sse")
    path = key_path("sse", "k")
    await c.request("PUT", path, body=b"plain")
    r = await c.request("GET", path, headers=sse_c())
    assert r.code == 501 and error_code(r.body) == "NotImplemented"
    assert (await c.request("HEAD", path, headers=sse_c())).code == 501
    r = await c.request("POST", path, "uploads")
    upload_id = ElementTree.fromstring(r.body).findtext(
        "{http://s3.amazonaws.com/doc/2006-03-01/}UploadId"
    )
    query = f"partNumber=1&uploadId={upload_id}"
    r = await c.request("PUT", path, query, headers=sse_c(), body=b"part")
    assert r.code == 501 and error_code(r.body) == "NotImplemented"
    r = await c.request("POST", path, f"uploadId={upload_id}", headers=sse_c())
    assert r.code == 501
    # Without the headers, the same object reads back as it was stored.
    assert (await c.request("GET", path)).body == b"plain"
