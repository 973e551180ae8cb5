"""
Replay of Cyberduck 4.7's SigV2 request sequence
(C{shared/reference/cyberduck-sigv2.md}) byte for byte over a raw TLS
socket: the request lines and headers are written exactly as Cyberduck
wrote them, signed by a SigV2 signer written here from AWS's definition
(independent of the server's).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import os
from xml.etree import ElementTree

import pytest_twisted
from twisted.internet.threads import deferToThread

from tests.functional import (  # noqa: F401
    CYBERDUCK_KEY,
    CYBERDUCK_SECRET,
    Server,
    tls_server,
)
from tests.s3client import exchange

USER_AGENT = "Cyberduck/4.7.2.18004 (Mac OS X/10.10.5) (x86_64)"
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def sigv2(
    method: str,
    resource: str,
    date: str,
    content_type: str = "",
    amz: dict[str, str] | None = None,
) -> str:
    """AWS SigV2: HMAC-SHA1 over method, MD5, type, date, x-amz-* and resource."""
    canonical_amz = "".join(
        f"{k.lower()}:{v.strip()}\n"
        for k, v in sorted((amz or {}).items(), key=lambda kv: kv[0].lower())
    )
    to_sign = f"{method}\n\n{content_type}\n{date}\n{canonical_amz}{resource}"
    mac = hmac.new(CYBERDUCK_SECRET.encode(), to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def request(
    method: str,
    target: str,
    resource: str,
    *,
    body: bytes = b"",
    content_type: str = "",
    payer: bool = False,
) -> bytes:
    date = email.utils.formatdate(usegmt=True)
    amz = {"X-Amz-Request-Payer": "requester"} if payer else {}
    sig = sigv2(method, resource, date, content_type, amz)
    lines = [f"{method} {target} HTTP/1.1"]
    if method == "PUT":
        lines.append(f"Content-Length: {len(body)}")
        if content_type:
            lines.append(f"Content-Type: {content_type}")
    lines += [
        "Host: 127.0.0.1",
        f"Authorization: AWS {CYBERDUCK_KEY}:{sig}",
        f"Date: {date}",
        f"User-Agent: {USER_AGENT}",
        "Connection: upgrade",
    ]
    if payer:
        lines.insert(1, "X-Amz-Request-Payer: requester")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest_twisted.ensureDeferred
async def test_cyberduck_47_sequence(tls_server: Server) -> None:
    """Cyberduck 4.7's list, upload, download, new folder and delete requests all succeed."""
    port, ca = tls_server.port, str(tls_server.cert)

    async def send(raw: bytes) -> tuple[int, dict[str, str], bytes]:
        return await deferToThread(exchange, port, ca, raw)

    status, _, body = await send(request("PUT", "/test-bucket", "/test-bucket"))
    assert status == 200, body

    png = os.urandom(114063)
    status, headers, body = await send(
        request(
            "PUT",
            "/test-bucket/gopher.png",
            "/test-bucket/gopher.png",
            body=png,
            content_type="image/png",
        )
    )
    assert status == 200, body
    assert headers["etag"] == f'"{hashlib.md5(png).hexdigest()}"'

    status, _, body = await send(
        request("PUT", "/test-bucket/folder/", "/test-bucket/folder/", body=b"")
    )
    assert status == 200, body

    status, _, body = await send(
        request(
            "GET",
            "/test-bucket/?max-keys=1000&prefix&delimiter=%2F",
            "/test-bucket/",
            payer=True,
        )
    )
    assert status == 200, body
    root = ElementTree.fromstring(body)
    assert [k.text for k in root.iter(NS + "Key")] == ["gopher.png"]
    assert [p.findtext(NS + "Prefix") for p in root.iter(NS + "CommonPrefixes")] == [
        "folder/"
    ]

    status, headers, body = await send(
        request("GET", "/test-bucket/gopher.png", "/test-bucket/gopher.png", payer=True)
    )
    assert status == 200 and body == png
    assert headers["content-type"] == "image/png"

    for target in ("/test-bucket/gopher.png", "/test-bucket/folder/"):
        status, _, body = await send(request("DELETE", target, target))
        assert status == 204, body

    # The same list with a wrong signature is SignatureDoesNotMatch, in XML.
    raw = request(
        "GET",
        "/test-bucket/?max-keys=1000&prefix&delimiter=%2F",
        "/test-bucket/",
        payer=True,
    )
    raw = raw.replace(
        b"Authorization: AWS hogehoge_user1:", b"Authorization: AWS hogehoge_user1:A"
    )
    status, _, body = await send(raw)
    assert status == 403
    assert ElementTree.fromstring(body).findtext("Code") == "SignatureDoesNotMatch"
