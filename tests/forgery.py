"""
Helpers for the signed-body tests: requests signed (by botocore, through
L{tests.s3client.S3Client.sign}) for one body and sent with another, and
the small S3 documents and fixtures those tests use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from xml.etree import ElementTree

from tests.functional import Server
from tests.s3client import SECRET_KEY, Response, complete_body
from txs3.auth.checksums import new_checksum
from txs3.auth.sigv4_signing import signing_key

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
PART = 5 * 1024**2


def md5_of(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def sha256_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def error_of(r: Response) -> str | None:
    """The S3 error code of a response, None for a success."""
    if r.code < 300:
        return None
    return ElementTree.fromstring(r.body).findtext("Code")


async def forge(
    s: Server,
    method: str,
    path: str,
    query: str,
    signed: bytes,
    sent: bytes,
    headers: dict[str, str] | None = None,
    unsigned: dict[str, str] | None = None,
    v2: bool = False,
) -> Response:
    """
    Sign a request for body C{signed} (with C{headers}), then send it with
    body C{sent} and C{unsigned} headers added after signing.
    """
    client = s.v2 if v2 else s.client
    hdrs = client.sign(method, path, query, headers, signed)
    hdrs.update(unsigned or {})
    return await client.request(method, path, query, hdrs, sent, signed=False)


async def honest(
    s: Server, method: str, path: str, query: str, body: bytes
) -> Response:
    """A correctly signed request with a signed Content-MD5."""
    headers = {"Content-MD5": md5_of(body)}
    return await s.client.request(method, path, query, headers, body)


def tagging(**tags: str) -> bytes:
    inner = "".join(
        f"<Tag><Key>{k}</Key><Value>{v}</Value></Tag>" for k, v in tags.items()
    )
    return f"<Tagging><TagSet>{inner}</TagSet></Tagging>".encode()


def delete(*keys: str) -> bytes:
    inner = "".join(f"<Object><Key>{k}</Key></Object>" for k in keys)
    return f"<Delete>{inner}</Delete>".encode()


complete = complete_body


async def listing(s: Server) -> object:
    r = await s.client.request("GET", "/bucket")
    return sorted(k.text or "" for k in ElementTree.fromstring(r.body).iter(NS + "Key"))


async def make_bucket(s: Server) -> None:
    r = await s.client.request("PUT", "/bucket")
    assert r.code == 200, r.body


async def make_object(s: Server, key: str = "k") -> None:
    if (await s.client.request("HEAD", "/bucket")).code == 404:
        await make_bucket(s)
    r = await s.client.request("PUT", "/bucket/" + key, body=b"data")
    assert r.code == 200, r.body


async def two_part_upload(s: Server) -> tuple[str, list[tuple[int, str]]]:
    """A multipart upload of ``mp`` with a 5 MiB part 1 and a small part 2."""
    await make_bucket(s)
    r = await s.client.request("POST", "/bucket/mp", "uploads")
    upload_id = ElementTree.fromstring(r.body).findtext(NS + "UploadId") or ""
    parts = []
    for number, data in ((1, b"1" * PART), (2, b"2" * 10)):
        query = f"partNumber={number}&uploadId={upload_id}"
        r = await s.client.request("PUT", "/bucket/mp", query, body=data)
        assert r.code == 200, r.body
        parts.append((number, r.header("etag") or ""))
    return upload_id, parts


def crc32_of(body: bytes) -> str:
    c = new_checksum("CRC32")
    c.update(body)
    return c.b64digest()


def aws_chunked(
    chunks: list[bytes],
    signing: tuple[bytes, str, str, str] | None = None,
    trailers: dict[str, str] | None = None,
) -> bytes:
    """
    An ``aws-chunked`` body of C{chunks}, written as AWS describes it.

    @param signing: (signing key, amz date, scope, seed signature) for
        chunk signatures (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``); None for
        unsigned chunks.
    @param trailers: trailer lines after the last chunk (unsigned).
    """
    out = b""
    previous = signing[3] if signing else ""
    for data in [*chunks, b""]:
        header = b"%x" % len(data)
        if signing is not None:
            key, date, scope, _ = signing
            to_sign = "\n".join(
                ["AWS4-HMAC-SHA256-PAYLOAD", date, scope, previous,
                 sha256_of(b""), sha256_of(data)]
            )  # fmt: skip
            previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            header += b";chunk-signature=" + previous.encode()
        out += header + b"\r\n" + (data + b"\r\n" if data else b"")
    for name, value in (trailers or {}).items():
        out += f"{name}:{value}\r\n".encode()
    return out + b"\r\n"


def chunk_signing(headers: dict[str, str]) -> tuple[bytes, str, str, str]:
    """What chunk signatures of a SigV4-signed request (of C{headers}) chain from."""
    date = headers["X-Amz-Date"]
    scope = f"{date[:8]}/us-east-1/s3/aws4_request"
    seed = headers["Authorization"].rpartition("Signature=")[2]
    return signing_key(SECRET_KEY, date[:8], "us-east-1"), date, scope, seed
