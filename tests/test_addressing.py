"""
Virtual-host addressing and presigned URLs, over real TLS.

Virtual-host requests are written on a raw TLS socket to 127.0.0.1 with a
``Host: BUCKET.s3.test:PORT`` header (no DNS needed); presigned URLs come
from boto3's own C{generate_presigned_url}.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest_twisted
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from twisted.internet.threads import deferToThread

from tests.functional import VHOST_DOMAIN, Server, server, tls_server  # noqa: F401
from tests.s3client import ACCESS_KEY, SECRET_KEY, exchange


def raw_request(
    method: str, url: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    parts = urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() != "host"]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def signed(
    method: str,
    url: str,
    body: bytes = b"",
    v2: bool = False,
    auth_path: str | None = None,
) -> bytes:
    request = AWSRequest(method=method, url=url, data=body)
    credentials = Credentials(ACCESS_KEY, SECRET_KEY)
    if v2:
        if auth_path is not None:
            request.auth_path = auth_path
        HmacV1Auth(credentials).add_auth(request)
    else:
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    return raw_request(method, url, dict(request.headers.items()), body)


async def send(
    s: Server, raw: bytes, expect_body: bool = True
) -> tuple[int, dict[str, str], bytes]:
    return await deferToThread(exchange, s.port, str(s.cert), raw, expect_body)


@pytest_twisted.ensureDeferred
async def test_virtual_host_both_signatures(tls_server: Server) -> None:
    """BUCKET.domain requests verify under SigV4 and SigV2 and address the same objects as path style."""
    s = tls_server
    r = await s.client.request("PUT", "/vbucket")
    assert r.code == 200
    base = f"https://vbucket.{VHOST_DOMAIN}:{s.port}"
    status, _, body = await send(s, signed("PUT", base + "/dir/a%20b", b"via vhost v4"))
    assert status == 200, body
    status, _, body = await send(
        s,
        signed(
            "PUT", base + "/v2key", b"via vhost v2", v2=True, auth_path="/vbucket/v2key"
        ),
    )
    assert status == 200, body
    r = await s.client.request("GET", "/vbucket/dir/a%20b")
    assert r.body == b"via vhost v4"
    r = await s.client.request("GET", "/vbucket/v2key")
    assert r.body == b"via vhost v2"
    status, _, body = await send(s, signed("GET", base + "/?list-type=2"))
    assert status == 200, body
    keys = [
        e.text
        for e in ElementTree.fromstring(body).iter(
            "{http://s3.amazonaws.com/doc/2006-03-01/}Key"
        )
    ]
    assert keys == ["dir/a b", "v2key"]
    status, _, body = await send(
        s, signed("GET", base + "/", v2=True, auth_path="/vbucket/")
    )
    assert status == 200, body
    # An IP address or an unconfigured host name is path style.
    status, _, body = await send(
        s, signed("GET", f"https://127.0.0.1:{s.port}/vbucket/v2key")
    )
    assert status == 200 and body == b"via vhost v2"


@pytest_twisted.ensureDeferred
async def test_presigned_urls(tls_server: Server) -> None:
    """boto3's presigned GET, PUT, HEAD and DELETE URLs (SigV4 and SigV2) work without any other credentials."""
    s = tls_server
    await s.client.request("PUT", "/presign")
    for version in ("s3v4", "s3"):
        client = s.boto3(version)
        put = client.generate_presigned_url(
            "put_object",
            Params={"Bucket": "presign", "Key": f"k {version}"},
            ExpiresIn=300,
        )
        status, _, body = await send(
            s, raw_request("PUT", put, {}, b"presigned upload")
        )
        assert status == 200, (version, body)
        get = client.generate_presigned_url(
            "get_object",
            Params={"Bucket": "presign", "Key": f"k {version}"},
            ExpiresIn=300,
        )
        status, _, body = await send(s, raw_request("GET", get, {}))
        assert status == 200 and body == b"presigned upload", (version, body)
        head = client.generate_presigned_url(
            "head_object",
            Params={"Bucket": "presign", "Key": f"k {version}"},
            ExpiresIn=300,
        )
        status, headers, _ = await send(
            s, raw_request("HEAD", head, {}), expect_body=False
        )
        assert status == 200 and headers["content-length"] == str(
            len(b"presigned upload")
        )
        delete = client.generate_presigned_url(
            "delete_object",
            Params={"Bucket": "presign", "Key": f"k {version}"},
            ExpiresIn=300,
        )
        status, _, body = await send(s, raw_request("DELETE", delete, {}))
        assert status == 204, body
        # The URL is bound to its method and key.
        status, _, body = await send(
            s, raw_request("GET", get.replace("k%20", "x%20"), {})
        )
        assert status == 403


@pytest_twisted.ensureDeferred
async def test_presigned_url_expiry(tls_server: Server) -> None:
    """An expired presigned URL is AccessDenied 'Request has expired'; over 7 days is refused."""
    s = tls_server
    await s.client.request("PUT", "/presign2")
    await s.client.request("PUT", "/presign2/k", body=b"x")
    client = s.boto3("s3v4")
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": "presign2", "Key": "k"}, ExpiresIn=1
    )
    import time

    await deferToThread(time.sleep, 2.1)
    status, _, body = await send(s, raw_request("GET", url, {}))
    assert status == 403
    error = ElementTree.fromstring(body)
    assert error.findtext("Code") == "AccessDenied"
    assert error.findtext("Message") == "Request has expired"
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": "presign2", "Key": "k"}, ExpiresIn=604801
    )
    status, _, body = await send(s, raw_request("GET", url, {}))
    assert status in (400, 403)
    assert (
        ElementTree.fromstring(body).findtext("Code")
        == "AuthorizationQueryParametersError"
    )
