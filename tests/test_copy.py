"""
Server-side copies over real TLS: CopyObject (directives, self-copy rules,
copy-source conditions, access) and UploadPartCopy, and the proof that a
copy shares blobs instead of writing bytes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import pytest_twisted

from tests.functional import Server, server, tls_server  # noqa: F401
from tests.s3client import complete_body, error_code, key_path, xml_of
from txs3.api.copy import parse_copy_range
from txs3.errors import S3Error
from txs3.store.interface import Destination

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
MiB = 1024 * 1024
LONG_AGO = "Mon, 01 Jan 2001 00:00:00 GMT"
FUTURE = "Fri, 01 Jan 2100 00:00:00 GMT"


def test_copy_range_errors() -> None:
    """A malformed copy-source range is InvalidArgument, a well-formed one ending past the source is InvalidRange, and one ending at the last byte is accepted."""
    for malformed in ("bytes=5-2", "bytes=0-", "items=0-1", "bytes=a-b"):
        with pytest.raises(S3Error) as e:
            parse_copy_range(malformed, 10)
        assert e.value.code == "InvalidArgument", malformed
    for beyond in ("bytes=0-10", "bytes=10-12"):
        with pytest.raises(S3Error) as e:
            parse_copy_range(beyond, 10)
        assert (e.value.code, e.value.status) == ("InvalidRange", 416)
        assert e.value.extra["ActualObjectSize"] == "10"
    assert parse_copy_range("bytes=2-9", 10) == (2, 8)




def blobs(s: Server) -> set[str]:
    return {p.name for p in (Path(s.store.data_dir) / "blobs").glob("*/*")}


async def setup(s: Server, data: bytes = b"source bytes") -> None:
    r = await s.client.request("PUT", "/bucket")
    assert r.code == 200
    r = await s.client.request(
        "PUT",
        key_path("bucket", "src"),
        headers={"Content-Type": "text/plain", "x-amz-meta-a": "1"},
        body=data,
    )
    assert r.code == 200


async def copy(s: Server, dst: str, source: str = "/bucket/src", **headers: str):  # type: ignore[no-untyped-def]
    return await s.client.request(
        "PUT", key_path("bucket", dst), headers={"x-amz-copy-source": source, **headers}
    )


@pytest_twisted.ensureDeferred
async def test_copy_metadata_directives(server: Server) -> None:
    """COPY keeps the source's metadata, REPLACE takes the request's; ETag is the source's."""
    await setup(server)
    r = await copy(server, "c1")
    assert r.code == 200, r.body
    root = xml_of(r.body)
    assert root.tag == NS + "CopyObjectResult"
    etag = f'"{hashlib.md5(b"source bytes").hexdigest()}"'
    assert root.findtext(NS + "ETag") == etag
    assert root.findtext(NS + "LastModified")
    r = await server.client.request("GET", key_path("bucket", "c1"))
    assert r.body == b"source bytes"
    assert r.header("content-type") == "text/plain" and r.header("x-amz-meta-a") == "1"
    r = await copy(
        server,
        "c2",
        "bucket/src",
        **{"x-amz-metadata-directive": "REPLACE", "x-amz-meta-b": "2"},
    )
    assert r.code == 200, r.body
    r = await server.client.request("HEAD", key_path("bucket", "c2"))
    assert r.header("x-amz-meta-b") == "2" and r.header("x-amz-meta-a") is None
    assert r.header("content-type") == "binary/octet-stream"
    r = await copy(server, "c3", **{"x-amz-metadata-directive": "MOVE"})
    assert r.code == 400 and error_code(r.body) == "InvalidArgument"


@pytest_twisted.ensureDeferred
async def test_encoded_source_keys(server: Server) -> None:
    """x-amz-copy-source is URL-decoded once, and ?versionId=null is accepted."""
    await setup(server)
    key = "dir/a b+c%d/日本"
    await server.client.request("PUT", key_path("bucket", key), body=b"odd key")
    source = key_path("bucket", key)
    r = await copy(server, "odd-copy", source + "?versionId=null")
    assert r.code == 200, r.body
    r = await server.client.request("GET", key_path("bucket", "odd-copy"))
    assert r.body == b"odd key"
    r = await copy(server, "x", "/bucket/src?versionId=abc")
    assert r.code == 400 and error_code(r.body) == "InvalidArgument"
    r = await copy(server, "x", "/bucket-only")
    assert r.code == 400 and error_code(r.body) == "InvalidArgument"


@pytest_twisted.ensureDeferred
async def test_self_copy(tls_server: Server) -> None:
    """Copying onto itself needs REPLACE (how Cyberduck edits metadata)."""
    await setup(tls_server)
    r = await copy(tls_server, "src")
    assert r.code == 400 and error_code(r.body) == "InvalidRequest"
    assert b"copy an object to itself" in r.body
    r = await copy(
        tls_server, "src", **{"x-amz-metadata-directive": "REPLACE", "x-amz-meta-new": "y"}
    )
    assert r.code == 200, r.body
    r = await tls_server.client.request("GET", key_path("bucket", "src"))
    assert r.body == b"source bytes" and r.header("x-amz-meta-new") == "y"
    assert len(blobs(tls_server)) == 1


@pytest_twisted.ensureDeferred
async def test_copy_source_conditions(server: Server) -> None:
    """The x-amz-copy-source-if-* headers give 412 as AWS evaluates them."""
    await setup(server)
    etag = f'"{hashlib.md5(b"source bytes").hexdigest()}"'
    p = "x-amz-copy-source-"
    cases = [
        ({p + "if-match": etag}, 200),
        ({p + "if-match": '"nope"'}, 412),
        ({p + "if-none-match": etag}, 412),
        ({p + "if-none-match": '"nope"'}, 200),
        ({p + "if-modified-since": FUTURE}, 412),
        ({p + "if-modified-since": LONG_AGO}, 200),
        ({p + "if-unmodified-since": LONG_AGO}, 412),
        ({p + "if-unmodified-since": FUTURE}, 200),
        ({p + "if-match": etag, p + "if-unmodified-since": LONG_AGO}, 200),
        ({p + "if-none-match": etag, p + "if-modified-since": LONG_AGO}, 412),
    ]
    for headers, status in cases:
        r = await copy(server, "dst", **headers)
        assert r.code == status, (headers, r.body)
        if status == 412:
            assert error_code(r.body) == "PreconditionFailed"


@pytest_twisted.ensureDeferred
async def test_copy_access_and_missing(server: Server) -> None:
    """A missing source is NoSuchKey/NoSuchBucket; another owner's bucket is AccessDenied."""
    await setup(server)
    r = await copy(server, "dst", "/bucket/missing")
    assert r.code == 404 and error_code(r.body) == "NoSuchKey"
    r = await copy(server, "dst", "/no-such-bucket/k")
    assert r.code == 404 and error_code(r.body) == "NoSuchBucket"
    r = await server.other.request("PUT", "/theirs")
    assert r.code == 200
    await server.other.request("PUT", key_path("theirs", "secret"), body=b"s")
    r = await copy(server, "dst", "/theirs/secret")
    assert r.code == 403 and error_code(r.body) == "AccessDenied"


@pytest_twisted.ensureDeferred
async def test_copy_during_overwrite(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy whose source is replaced after every read of it still succeeds,
    copying one whole version (never 503 SlowDown)."""
    await setup(server, b"version 0")
    store = server.store
    versions = [b"version 0"]
    real_head = store.head_object

    def head_then_overwrite(bucket: str, key: str):  # type: ignore[no-untyped-def]
        # What a writer racing with every copy attempt does: replace the
        # source right after the copy read it.
        info = real_head(bucket, key)
        if (bucket, key) == ("bucket", "src"):
            data = b"version %d" % len(versions)
            versions.append(data)
            staging = store.open_staging()
            staging.write(data)
            store.put_object(
                Destination("bucket", key, info.owner_id),
                staging,
                hashlib.md5(data).hexdigest(),
                info.meta,
            )
        return info

    monkeypatch.setattr(store, "head_object", head_then_overwrite)
    r = await copy(server, "dst", **{"x-amz-copy-source-if-match": "*"})
    assert r.code == 200, r.body
    monkeypatch.undo()
    r = await server.client.request("GET", key_path("bucket", "dst"))
    assert r.body in versions
    assert r.header("etag") == f'"{hashlib.md5(r.body).hexdigest()}"'


@pytest_twisted.ensureDeferred
async def test_copies_race_overwrites(tls_server: Server) -> None:
    """Over the SQLite store, copies racing with overwrites of their source
    all succeed, each with one whole version."""
    from twisted.internet import defer

    versions = [os.urandom(64 * 1024) for _ in range(12)]
    await setup(tls_server, versions[0])
    etags = {hashlib.md5(v).hexdigest(): v for v in versions}

    async def overwrite(data: bytes) -> int:
        r = await tls_server.client.request(
            "PUT", key_path("bucket", "src"), body=data
        )
        return int(r.code)

    async def copy_to(n: int) -> int:
        r = await copy(tls_server, f"dst{n}")
        return int(r.code)

    work = []
    for n, data in enumerate(versions[1:]):
        work.append(defer.ensureDeferred(overwrite(data)))
        work.append(defer.ensureDeferred(copy_to(n)))
    codes = await defer.gatherResults(work)
    assert set(codes) == {200}
    for n in range(len(versions) - 1):
        r = await tls_server.client.request("GET", key_path("bucket", f"dst{n}"))
        assert r.code == 200
        assert etags[r.header("etag").strip('"')] == r.body


@pytest_twisted.ensureDeferred
async def test_copy_shares_blobs(tls_server: Server) -> None:
    """A copy adds no blob; deleting the source keeps the copy readable."""
    data = os.urandom(3 * MiB)
    await setup(tls_server, data)
    before = blobs(tls_server)
    r = await copy(tls_server, "dst")
    assert r.code == 200
    assert blobs(tls_server) == before
    r = await tls_server.client.request("DELETE", key_path("bucket", "src"))
    assert r.code == 204
    r = await tls_server.client.request("GET", key_path("bucket", "dst"))
    assert r.body == data
    assert blobs(tls_server) == before
    await tls_server.client.request("DELETE", key_path("bucket", "dst"))
    assert blobs(tls_server) == set()


@pytest_twisted.ensureDeferred
async def test_upload_part_copy(tls_server: Server) -> None:
    """UploadPartCopy takes ranges of the source; the result needs no new blob."""
    data = os.urandom(6 * MiB)
    await setup(tls_server, data)
    before = blobs(tls_server)
    r = await tls_server.client.request("POST", key_path("bucket", "assembled"), "uploads")
    upload_id = xml_of(r.body).findtext(NS + "UploadId")
    ranges = [(0, 5 * MiB - 1), (5 * MiB, 6 * MiB - 1)]
    etags = []
    for n, (a, b) in enumerate(ranges, 1):
        r = await tls_server.client.request(
            "PUT",
            key_path("bucket", "assembled"),
            f"partNumber={n}&uploadId={upload_id}",
            {
                "x-amz-copy-source": "/bucket/src",
                "x-amz-copy-source-range": f"bytes={a}-{b}",
            },
        )
        assert r.code == 200, r.body
        root = xml_of(r.body)
        assert root.tag == NS + "CopyPartResult"
        etag = root.findtext(NS + "ETag") or ""
        assert etag == f'"{hashlib.md5(data[a : b + 1]).hexdigest()}"'
        etags.append((n, etag))
    r = await tls_server.client.request(
        "PUT",
        key_path("bucket", "assembled"),
        f"partNumber=3&uploadId={upload_id}",
        {
            "x-amz-copy-source": "/bucket/src",
            "x-amz-copy-source-range": "bytes=0-99999999",
        },
    )
    assert r.code == 416 and error_code(r.body) == "InvalidRange"
    r = await tls_server.client.request(
        "POST",
        key_path("bucket", "assembled"),
        f"uploadId={upload_id}",
        body=complete_body(etags),
    )
    assert r.code == 200, r.body
    r = await tls_server.client.request("GET", key_path("bucket", "assembled"))
    assert r.body == data
    assert blobs(tls_server) == before
