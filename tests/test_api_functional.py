"""
Functional tests: the real txs3 site over real TLS on 127.0.0.1, backed by
a real SQLiteStore in a temporary directory, driven with treq and requests
signed by botocore's signers.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from urllib.parse import quote

import pytest_twisted

from tests.functional import Server, server, tls_server  # noqa: F401
from tests.s3client import ACCESS_KEY, error_code, key_path, xml_of

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"




async def make_bucket(s: Server, name: str = "bucket") -> None:
    r = await s.client.request("PUT", "/" + name)
    assert r.code == 200, r.body


@pytest_twisted.ensureDeferred
async def test_bucket_lifecycle(server: Server) -> None:
    """A bucket can be created, listed, headed, located and deleted."""
    s = server
    await make_bucket(s, "photos")
    r = await s.client.request("GET", "/")
    assert r.code == 200
    names = [e.text for e in xml_of(r.body).iter(NS + "Name")]
    assert names == ["photos"]
    assert r.header("x-amz-request-id")
    r = await s.client.request("HEAD", "/photos")
    assert r.code == 200
    assert r.header("x-amz-bucket-region") == "us-east-1"
    r = await s.client.request("GET", "/photos", "location")
    assert r.code == 200 and b"LocationConstraint" in r.body
    r = await s.client.request("PUT", "/photos")
    assert r.code == 409 and error_code(r.body) == "BucketAlreadyOwnedByYou"
    r = await s.other.request("PUT", "/photos")
    assert r.code == 409 and error_code(r.body) == "BucketAlreadyExists"
    r = await s.client.request("DELETE", "/photos")
    assert r.code == 204
    r = await s.client.request("HEAD", "/photos")
    assert r.code == 404 and r.body == b""


@pytest_twisted.ensureDeferred
async def test_invalid_bucket_name(server: Server) -> None:
    """CreateBucket refuses names outside S3's rules with InvalidBucketName."""
    for name in ["ab", "UPPER", "a..b", "192.168.1.1", "-abc", "x" * 64]:
        r = await server.client.request("PUT", "/" + name)
        assert r.code == 400, name
        assert error_code(r.body) == "InvalidBucketName"


@pytest_twisted.ensureDeferred
async def test_create_bucket_with_configuration(server: Server) -> None:
    """A CreateBucketConfiguration body sets the region GetBucketLocation reports."""
    body = (
        b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"
    )
    r = await server.client.request("PUT", "/euro", body=body)
    assert r.code == 200, r.body
    r = await server.client.request("GET", "/euro", "location")
    assert xml_of(r.body).text == "eu-west-1"


NASTY_KEYS = [
    "a",
    "a/b",
    "a//b",
    "%2F",
    "plus+sign",
    "with space",
    "../../etc/passwd",
    "question?mark",
    "hash#tag",
    "unicode/日本語/ünï",
    "folder/",
    "x" * 1024,
]


@pytest_twisted.ensureDeferred
async def test_nasty_keys_round_trip(tls_server: Server) -> None:
    """Every awkward key round-trips through PUT, GET, HEAD, listing and DELETE."""
    s = tls_server
    await make_bucket(s)
    for i, key in enumerate(NASTY_KEYS):
        body = f"body {i}".encode()
        r = await s.client.request("PUT", key_path("bucket", key), body=body)
        assert r.code == 200, (key, r.body)
        assert r.header("etag") == f'"{hashlib.md5(body).hexdigest()}"'
    for i, key in enumerate(NASTY_KEYS):
        r = await s.client.request("GET", key_path("bucket", key))
        assert r.code == 200 and r.body == f"body {i}".encode(), key
        r = await s.client.request("HEAD", key_path("bucket", key))
        assert r.code == 200 and r.header("content-length") == str(len(f"body {i}"))
    r = await s.client.request("GET", "/bucket", "list-type=2&encoding-type=url")
    from urllib.parse import unquote_plus

    keys = [unquote_plus(e.text or "") for e in xml_of(r.body).iter(NS + "Key")]
    assert keys == sorted(NASTY_KEYS, key=lambda k: k.encode())
    assert not any(p.name == "passwd" for p in Path(s.store.data_dir).rglob("*"))
    for key in NASTY_KEYS:
        r = await s.client.request("DELETE", key_path("bucket", key))
        assert r.code == 204
    r = await s.client.request("GET", "/bucket")
    assert list(xml_of(r.body).iter(NS + "Contents")) == []


@pytest_twisted.ensureDeferred
async def test_key_too_long(server: Server) -> None:
    """A key over 1024 bytes is KeyTooLongError."""
    await make_bucket(server)
    r = await server.client.request("PUT", key_path("bucket", "y" * 1025), body=b"x")
    assert r.code == 400 and error_code(r.body) == "KeyTooLongError"


@pytest_twisted.ensureDeferred
async def test_object_metadata(server: Server) -> None:
    """Stored headers and x-amz-meta-* come back on GET and HEAD; response-* overrides GET."""
    s = server
    await make_bucket(s)
    headers = {
        "Content-Type": "text/plain",
        "Content-Disposition": 'attachment; filename="a.txt"',
        "Cache-Control": "max-age=60",
        "Content-Encoding": "identity",
        "Expires": "Thu, 01 Dec 2030 16:00:00 GMT",
        "x-amz-meta-mtime": "1700000000",
        "x-amz-meta-Colour": "blue",
    }
    r = await s.client.request("PUT", "/bucket/doc", headers=headers, body=b"hello")
    assert r.code == 200
    for method in ("GET", "HEAD"):
        r = await s.client.request(method, "/bucket/doc")
        assert r.code == 200
        assert r.header("content-type") == "text/plain"
        assert r.header("content-disposition") == 'attachment; filename="a.txt"'
        assert r.header("cache-control") == "max-age=60"
        assert r.header("expires") == "Thu, 01 Dec 2030 16:00:00 GMT"
        assert r.header("x-amz-meta-mtime") == "1700000000"
        assert r.header("x-amz-meta-colour") == "blue"
        assert (r.header("last-modified") or "").endswith(" GMT")
    r = await s.client.request(
        "GET",
        "/bucket/doc",
        "response-content-type=application%2Fjson&response-cache-control=no-cache",
    )
    assert r.code == 200, r.body
    assert r.header("content-type") == "application/json"
    assert r.header("cache-control") == "no-cache"
    r = await s.client.request("PUT", "/bucket/plain", body=b"x")
    r = await s.client.request("GET", "/bucket/plain")
    assert r.header("content-type") == "binary/octet-stream"


@pytest_twisted.ensureDeferred
async def test_missing_things(server: Server) -> None:
    """Missing buckets and keys give NoSuchBucket / NoSuchKey, HEAD without a body."""
    s = server
    r = await s.client.request("GET", "/nobucket/key")
    assert r.code == 404 and error_code(r.body) == "NoSuchBucket"
    await make_bucket(s)
    r = await s.client.request("GET", "/bucket/nokey")
    assert r.code == 404 and error_code(r.body) == "NoSuchKey"
    root = xml_of(r.body)
    assert root.findtext("Resource") == "/bucket/nokey"
    assert root.findtext("RequestId") == r.header("x-amz-request-id")
    r = await s.client.request("HEAD", "/bucket/nokey")
    assert r.code == 404 and r.body == b""
    r = await s.client.request("DELETE", "/bucket/nokey")
    assert r.code == 204


@pytest_twisted.ensureDeferred
async def test_ranges(server: Server) -> None:
    """Single ranges give 206 with Content-Range; unsatisfiable ones 416 InvalidRange."""
    s = server
    await make_bucket(s)
    data = bytes(range(256)) * 1000
    await s.client.request("PUT", "/bucket/r", body=data)
    cases = {
        "bytes=0-9": (0, 9),
        "bytes=100-": (100, len(data) - 1),
        "bytes=-10": (len(data) - 10, len(data) - 1),
        "bytes=5-999999999": (5, len(data) - 1),
    }
    for header, (first, last) in cases.items():
        r = await s.client.request("GET", "/bucket/r", headers={"Range": header})
        assert r.code == 206, header
        assert r.body == data[first : last + 1]
        assert r.header("content-range") == f"bytes {first}-{last}/{len(data)}"
    r = await s.client.request(
        "GET", "/bucket/r", headers={"Range": f"bytes={len(data)}-"}
    )
    assert r.code == 416 and error_code(r.body) == "InvalidRange"
    assert r.header("content-range") == f"bytes */{len(data)}"
    r = await s.client.request("GET", "/bucket/r", headers={"Range": "bytes=0-1,5-6"})
    assert r.code == 200 and r.body == data


@pytest_twisted.ensureDeferred
async def test_conditional_get(server: Server) -> None:
    """If-Match, If-None-Match and the date conditions follow S3's precedence."""
    s = server
    await make_bucket(s)
    r = await s.client.request("PUT", "/bucket/c", body=b"abc")
    etag = r.header("etag")
    assert etag
    past = "Mon, 01 Jan 2001 00:00:00 GMT"
    future = "Mon, 01 Jan 2091 00:00:00 GMT"

    async def status(**headers: str) -> int:
        hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
        return (await s.client.request("GET", "/bucket/c", headers=hdrs)).code

    assert await status(If_Match=etag) == 200
    assert await status(If_Match='"nope"') == 412
    assert await status(If_None_Match=etag) == 304
    assert await status(If_None_Match='"nope"') == 200
    assert await status(If_Modified_Since=future) == 304
    assert await status(If_Modified_Since=past) == 200
    assert await status(If_Unmodified_Since=past) == 412
    # If-Match true wins over If-Unmodified-Since false.
    assert await status(If_Match=etag, If_Unmodified_Since=past) == 200
    # If-None-Match false (no match) wins over If-Modified-Since.
    assert await status(If_None_Match='"nope"', If_Modified_Since=future) == 200
    r = await s.client.request("GET", "/bucket/c", headers={"If-Match": '"nope"'})
    assert error_code(r.body) == "PreconditionFailed"
    r = await s.client.request("HEAD", "/bucket/c", headers={"If-None-Match": etag})
    assert r.code == 304


@pytest_twisted.ensureDeferred
async def test_content_md5(tls_server: Server) -> None:
    """A wrong Content-MD5 is BadDigest and leaves the old object intact."""
    s = tls_server
    await make_bucket(s)
    await s.client.request("PUT", "/bucket/k", body=b"original")
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    r = await s.client.request(
        "PUT", "/bucket/k", headers={"Content-MD5": wrong}, body=b"new"
    )
    assert r.code == 400 and error_code(r.body) == "BadDigest"
    r = await s.client.request(
        "PUT", "/bucket/k", headers={"Content-MD5": "garbage"}, body=b"new"
    )
    assert r.code == 400 and error_code(r.body) == "InvalidDigest"
    r = await s.client.request("GET", "/bucket/k")
    assert r.body == b"original"
    right = base64.b64encode(hashlib.md5(b"new").digest()).decode()
    r = await s.client.request(
        "PUT", "/bucket/k", headers={"Content-MD5": right}, body=b"new"
    )
    assert r.code == 200
    staging = Path(s.store.data_dir) / "staging"
    assert [p for p in staging.rglob("*") if p.is_file() and p.name != "lock"] == []


@pytest_twisted.ensureDeferred
async def test_payload_hash_mismatch(server: Server) -> None:
    """A body that does not match its signed x-amz-content-sha256 is refused."""
    s = server
    await make_bucket(s)
    headers = s.client.sign(
        "PUT",
        "/bucket/h",
        headers={"X-Amz-Content-SHA256": hashlib.sha256(b"declared").hexdigest()},
        body=b"declared",
    )
    r = await s.client.request(
        "PUT", "/bucket/h", headers=headers, body=b"actually", signed=False
    )
    assert r.code == 400 and error_code(r.body) == "XAmzContentSHA256Mismatch"
    r = await s.client.request("HEAD", "/bucket/h")
    assert r.code == 404


@pytest_twisted.ensureDeferred
async def test_checksums(server: Server) -> None:
    """A checksum header is verified, stored and returned with x-amz-checksum-mode."""
    s = server
    await make_bucket(s)
    from txs3.auth.checksums import new_checksum

    c = new_checksum("CRC32C")
    c.update(b"payload")
    r = await s.client.request(
        "PUT",
        "/bucket/cs",
        headers={"x-amz-checksum-crc32c": c.b64digest()},
        body=b"payload",
    )
    assert r.code == 200, r.body
    assert r.header("x-amz-checksum-crc32c") == c.b64digest()
    r = await s.client.request(
        "GET", "/bucket/cs", headers={"x-amz-checksum-mode": "ENABLED"}
    )
    assert r.header("x-amz-checksum-crc32c") == c.b64digest()
    r = await s.client.request("GET", "/bucket/cs")
    assert r.header("x-amz-checksum-crc32c") is None
    r = await s.client.request(
        "PUT",
        "/bucket/cs",
        headers={"x-amz-checksum-crc32c": "AAAAAA=="},
        body=b"payload",
    )
    assert r.code == 400 and error_code(r.body) == "BadDigest"
    r = await s.client.request(
        "PUT",
        "/bucket/cs",
        headers={
            "x-amz-checksum-crc32c": c.b64digest(),
            "x-amz-checksum-crc32": "AAAAAA==",
        },
        body=b"payload",
    )
    assert r.code == 400 and error_code(r.body) == "InvalidRequest"
    # No checksum asked: S3's default CRC64NVME is computed and returned on request.
    await s.client.request("PUT", "/bucket/plain", body=b"123456789")
    r = await s.client.request(
        "HEAD", "/bucket/plain", headers={"x-amz-checksum-mode": "ENABLED"}
    )
    assert (
        r.header("x-amz-checksum-crc64nvme")
        == base64.b64encode(bytes.fromhex("AE8B14860A799888")).decode()
    )


@pytest_twisted.ensureDeferred
async def test_authentication_failures(server: Server) -> None:
    """Anonymous, unknown-key, wrong-secret and other-owner requests are refused."""
    s = server
    await make_bucket(s)
    r = await s.client.request("GET", "/bucket", signed=False)
    assert r.code == 403 and error_code(r.body) == "AccessDenied"
    headers = s.client.sign("GET", "/bucket")
    headers["Authorization"] = headers["Authorization"].replace(
        ACCESS_KEY, "UNKNOWNKEY0000000000"
    )
    r = await s.client.request("GET", "/bucket", headers=headers, signed=False)
    assert r.code == 403 and error_code(r.body) == "InvalidAccessKeyId"
    headers = s.client.sign("GET", "/bucket")
    headers["Authorization"] = headers["Authorization"][:-4] + "0000"
    r = await s.client.request("GET", "/bucket", headers=headers, signed=False)
    assert r.code == 403 and error_code(r.body) == "SignatureDoesNotMatch"
    r = await s.other.request("GET", "/bucket")
    assert r.code == 403 and error_code(r.body) == "AccessDenied"
    r = await s.other.request("PUT", "/bucket/intruder", body=b"x")
    assert r.code == 403
    r = await s.other.request("GET", "/")
    assert list(xml_of(r.body).iter(NS + "Bucket")) == []


@pytest_twisted.ensureDeferred
async def test_sigv2_requests(server: Server) -> None:
    """SigV2-signed requests (as Cyberduck 4.7 and boto's s3 v2 send) work end to end."""
    s = server
    r = await s.v2.request("PUT", "/v2bucket")
    assert r.code == 200, r.body
    r = await s.v2.request(
        "PUT",
        key_path("v2bucket", "file name+x"),
        body=b"v2 data",
        headers={"Content-Type": "text/plain"},
    )
    assert r.code == 200, r.body
    r = await s.v2.request("GET", "/v2bucket", "max-keys=1000&prefix&delimiter=%2F")
    assert r.code == 200, r.body
    r = await s.v2.request("GET", key_path("v2bucket", "file name+x"))
    assert r.body == b"v2 data"


@pytest_twisted.ensureDeferred
async def test_not_implemented_subresource(server: Server) -> None:
    """A sub-resource not built yet answers 501 NotImplemented XML, never 404."""
    await make_bucket(server)
    r = await server.client.request("GET", "/bucket", "analytics")
    assert r.code == 501 and error_code(r.body) == "NotImplemented"


@pytest_twisted.ensureDeferred
async def test_delete_bucket_not_empty(server: Server) -> None:
    """A bucket with objects cannot be deleted."""
    await make_bucket(server)
    await server.client.request("PUT", "/bucket/k", body=b"x")
    r = await server.client.request("DELETE", "/bucket")
    assert r.code == 409 and error_code(r.body) == "BucketNotEmpty"


def _delete_body(keys: list[str], quiet: bool = False) -> bytes:
    objs = "".join(f"<Object><Key>{k}</Key></Object>" for k in keys)
    q = "<Quiet>true</Quiet>" if quiet else ""
    return f"<Delete>{q}{objs}</Delete>".encode()


@pytest_twisted.ensureDeferred
async def test_delete_objects(server: Server) -> None:
    """DeleteObjects removes the listed keys and reports each, or only errors when Quiet."""
    s = server
    await make_bucket(s)
    for k in ["a", "b", "c"]:
        await s.client.request("PUT", "/bucket/" + k, body=b"x")
    body = _delete_body(["a", "b", "missing"])
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    r = await s.client.request(
        "POST", "/bucket", "delete", headers={"Content-MD5": md5}, body=body
    )
    assert r.code == 200, r.body
    deleted = [e.text for e in xml_of(r.body).iter(NS + "Key")]
    assert deleted == ["a", "b", "missing"]
    body = _delete_body(["c"], quiet=True)
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    r = await s.client.request(
        "POST", "/bucket", "delete", headers={"Content-MD5": md5}, body=body
    )
    assert list(xml_of(r.body)) == []
    r = await s.client.request("GET", "/bucket")
    assert list(xml_of(r.body).iter(NS + "Contents")) == []
    md5 = base64.b64encode(hashlib.md5(b"<x").digest()).decode()
    r = await s.client.request(
        "POST", "/bucket", "delete", headers={"Content-MD5": md5}, body=b"<x"
    )
    assert error_code(r.body) == "MalformedXML"
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><Delete><Object><Key>&b;</Key></Object></Delete>'
    )
    md5 = base64.b64encode(hashlib.md5(bomb).digest()).decode()
    r = await s.client.request(
        "POST", "/bucket", "delete", headers={"Content-MD5": md5}, body=bomb
    )
    assert r.code == 400 and error_code(r.body) == "MalformedXML"


async def _put_keys(s: Server, keys: list[str]) -> None:
    for k in keys:
        r = await s.client.request("PUT", key_path("bucket", k), body=b"")
        assert r.code == 200


@pytest_twisted.ensureDeferred
async def test_list_objects_v1_paging(server: Server) -> None:
    """ListObjects v1 pages with marker/NextMarker and rolls up CommonPrefixes."""
    s = server
    await make_bucket(s)
    keys = [f"dir{i}/file" for i in range(3)] + [f"top{i}" for i in range(4)]
    await _put_keys(s, keys)
    seen: list[str] = []
    marker = ""
    pages = 0
    while True:
        r = await s.client.request(
            "GET",
            "/bucket",
            f"delimiter=%2F&max-keys=2&marker={quote(marker, safe='')}",
        )
        root = xml_of(r.body)
        seen += [e.text or "" for e in root.iter(NS + "Key")]
        seen += [
            e.findtext(NS + "Prefix") or "" for e in root.iter(NS + "CommonPrefixes")
        ]
        pages += 1
        if root.findtext(NS + "IsTruncated") != "true":
            break
        marker = root.findtext(NS + "NextMarker") or ""
        assert marker
    assert sorted(seen) == ["dir0/", "dir1/", "dir2/", "top0", "top1", "top2", "top3"]
    assert pages == 4


@pytest_twisted.ensureDeferred
async def test_list_objects_v2(server: Server) -> None:
    """ListObjectsV2 pages with continuation tokens, honours start-after and fetch-owner."""
    s = server
    await make_bucket(s)
    keys = [f"k{i:02d}" for i in range(7)]
    await _put_keys(s, keys)
    seen: list[str] = []
    token = None
    while True:
        q = "list-type=2&max-keys=3" + (
            f"&continuation-token={quote(token, safe='')}" if token else ""
        )
        r = await s.client.request("GET", "/bucket", q)
        root = xml_of(r.body)
        assert root.findtext(NS + "KeyCount") == str(
            len(list(root.iter(NS + "Contents")))
        )
        assert root.find(NS + "Contents/" + NS + "Owner") is None
        seen += [e.text or "" for e in root.iter(NS + "Key")]
        if root.findtext(NS + "IsTruncated") != "true":
            break
        token = root.findtext(NS + "NextContinuationToken")
        assert token
    assert seen == keys
    r = await s.client.request(
        "GET", "/bucket", "list-type=2&start-after=k04&fetch-owner=true"
    )
    root = xml_of(r.body)
    assert [e.text for e in root.iter(NS + "Key")] == ["k05", "k06"]
    assert root.findtext(NS + "Contents/" + NS + "Owner/" + NS + "ID") == "owner-one"
    r = await s.client.request("GET", "/bucket", "list-type=2&max-keys=0")
    assert xml_of(r.body).findtext(NS + "KeyCount") == "0"
    r = await s.client.request("GET", "/bucket", "list-type=2&max-keys=abc")
    assert r.code == 400 and error_code(r.body) == "InvalidArgument"
    r = await s.client.request(
        "GET", "/bucket", "list-type=2&continuation-token=%40%40%40"
    )
    assert r.code == 400 and error_code(r.body) == "InvalidArgument"


@pytest_twisted.ensureDeferred
async def test_large_object_streams(server: Server) -> None:
    """A multi-megabyte object goes through the streaming sink and producer intact."""
    s = server
    await make_bucket(s)
    data = os.urandom(5 * 1024 * 1024 + 123)
    r = await s.client.request("PUT", "/bucket/big", body=data)
    assert r.code == 200
    assert r.header("etag") == f'"{hashlib.md5(data).hexdigest()}"'
    r = await s.client.request("GET", "/bucket/big")
    assert r.code == 200 and r.body == data
    r = await s.client.request(
        "GET", "/bucket/big", headers={"Range": "bytes=1000000-3000000"}
    )
    assert r.body == data[1000000:3000001]


@pytest_twisted.ensureDeferred
async def test_method_not_allowed(server: Server) -> None:
    """A method S3 does not define on a resource is 405 MethodNotAllowed."""
    r = await server.client.request("POST", "/")
    assert r.code == 405 and error_code(r.body) == "MethodNotAllowed"


@pytest_twisted.ensureDeferred
async def test_undecodable_path(server: Server) -> None:
    """A path that is not UTF-8 once decoded is 400 InvalidURI, in XML."""
    await make_bucket(server)
    r = await server.client.request("GET", "/bucket/%FF%FE")
    assert r.code == 400 and error_code(r.body) == "InvalidURI"
    assert r.header("x-amz-request-id")


@pytest_twisted.ensureDeferred
async def test_unknown_method(server: Server) -> None:
    """A method outside S3's vocabulary gets S3's 405 XML, not a framework page."""
    await make_bucket(server)
    r = await server.client.request("PROPFIND", "/bucket/key")
    assert r.code == 405 and error_code(r.body) == "MethodNotAllowed"
