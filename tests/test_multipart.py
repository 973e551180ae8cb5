"""
Multipart uploads over real TLS: the functional server (a real SQLiteStore
in a temporary directory) driven by botocore-signed requests, plus one
boto3 run; S3's rules and errors as AWS answers them.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest_twisted
from awscrt import checksums as crt

from tests.functional import Server, server, tls_server  # noqa: F401
from tests.s3client import complete_body, error_code, key_path, xml_of

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
MiB = 1024 * 1024




async def make_bucket(s: Server, name: str = "bucket") -> None:
    r = await s.client.request("PUT", "/" + name)
    assert r.code == 200, r.body


async def create(
    s: Server, key: str = "big", headers: dict[str, str] | None = None
) -> str:
    r = await s.client.request("POST", key_path("bucket", key), "uploads", headers)
    assert r.code == 200, r.body
    upload_id = xml_of(r.body).findtext(NS + "UploadId")
    assert upload_id
    return upload_id


async def part(
    s: Server, upload_id: str, n: int, data: bytes, key: str = "big", **headers: str
) -> Any:
    return await s.client.request(
        "PUT",
        key_path("bucket", key),
        f"partNumber={n}&uploadId={upload_id}",
        headers,
        body=data,
    )


async def complete(
    s: Server, upload_id: str, parts: list[tuple[int, str]], key: str = "big", **h: str
) -> Any:
    return await s.client.request(
        "POST",
        key_path("bucket", key),
        f"uploadId={upload_id}",
        h,
        body=complete_body(parts),
    )


def md5_etag(parts: list[bytes]) -> str:
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts))
    return f'"{digest.hexdigest()}-{len(parts)}"'


async def upload_three(s: Server, key: str = "big") -> tuple[bytes, list[bytes]]:
    """Two 5 MiB parts and a short one, completed; return bytes and parts."""
    upload_id = await create(s, key)
    parts = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"tail" * 1000]
    etags = []
    for n, data in enumerate(parts, 1):
        r = await part(s, upload_id, n, data, key)
        assert r.code == 200, r.body
        assert r.header("etag") == f'"{hashlib.md5(data).hexdigest()}"'
        etags.append((n, r.header("etag") or ""))
    r = await complete(s, upload_id, etags, key)
    assert r.code == 200, r.body
    root = xml_of(r.body)
    assert root.tag == NS + "CompleteMultipartUploadResult"
    assert root.findtext(NS + "ETag") == md5_etag(parts)
    assert root.findtext(NS + "Key") == key
    assert root.findtext(NS + "Bucket") == "bucket"
    assert (root.findtext(NS + "Location") or "").endswith("/bucket/" + key)
    return b"".join(parts), parts


@pytest_twisted.ensureDeferred
async def test_round_trip(server: Server) -> None:
    """Several 5 MiB parts and a short last one read back byte for byte."""
    await make_bucket(server)
    whole, parts = await upload_three(server)
    r = await server.client.request("GET", key_path("bucket", "big"))
    assert r.code == 200 and r.body == whole
    assert r.header("etag") == md5_etag(parts)
    r = await server.client.request("HEAD", key_path("bucket", "big"))
    assert r.header("content-length") == str(len(whole))
    r = await server.client.request("GET", "/bucket", "list-type=2")
    sizes = [e.text for e in xml_of(r.body).iter(NS + "Size")]
    assert sizes == [str(len(whole))]


@pytest_twisted.ensureDeferred
async def test_range_and_part_number_reads(server: Server) -> None:
    """Range reads cross part boundaries; partNumber=N returns part N with 206."""
    await make_bucket(server)
    whole, parts = await upload_three(server)
    first = 5 * MiB - 10
    r = await server.client.request(
        "GET",
        key_path("bucket", "big"),
        headers={"Range": f"bytes={first}-{first + 19}"},
    )
    assert r.code == 206 and r.body == whole[first : first + 20]
    offset = 0
    for n, data in enumerate(parts, 1):
        r = await server.client.request(
            "GET", key_path("bucket", "big"), f"partNumber={n}"
        )
        assert r.code == 206 and r.body == data
        assert r.header("x-amz-mp-parts-count") == "3"
        end = offset + len(data) - 1
        assert r.header("content-range") == f"bytes {offset}-{end}/{len(whole)}"
        r = await server.client.request(
            "HEAD", key_path("bucket", "big"), f"partNumber={n}"
        )
        assert r.code == 206 and r.header("content-length") == str(len(data))
        offset += len(data)
    r = await server.client.request("GET", key_path("bucket", "big"), "partNumber=4")
    assert r.code == 416 and error_code(r.body) == "InvalidPartNumber"
    r = await server.client.request(
        "GET", key_path("bucket", "big"), "partNumber=1", {"Range": "bytes=0-1"}
    )
    assert r.code == 400 and error_code(r.body) == "InvalidRequest"
    await server.client.request("PUT", key_path("bucket", "small"), body=b"whole")
    r = await server.client.request("GET", key_path("bucket", "small"), "partNumber=1")
    assert r.body == b"whole" and r.header("x-amz-mp-parts-count") is None


@pytest_twisted.ensureDeferred
async def test_part_replacement(server: Server) -> None:
    """A part uploaded again under the same number replaces the first one."""
    await make_bucket(server)
    upload_id = await create(server)
    await part(server, upload_id, 1, b"first version")
    r = await part(server, upload_id, 1, b"second")
    etag = r.header("etag") or ""
    r = await server.client.request(
        "GET", key_path("bucket", "big"), f"uploadId={upload_id}"
    )
    sizes = [e.text for e in xml_of(r.body).iter(NS + "Size")]
    assert sizes == ["6"]
    r = await complete(server, upload_id, [(1, etag)])
    assert r.code == 200, r.body
    r = await server.client.request("GET", key_path("bucket", "big"))
    assert r.body == b"second"


@pytest_twisted.ensureDeferred
async def test_errors(server: Server) -> None:
    """Part numbers, order, sizes, ETags, unknown uploads and bad XML get AWS's errors."""
    s = server
    await make_bucket(s)
    upload_id = await create(s)
    for bad in ("0", "10001", "x"):
        r = await s.client.request(
            "PUT",
            key_path("bucket", "big"),
            f"partNumber={bad}&uploadId={upload_id}",
            body=b"x",
        )
        assert r.code == 400 and error_code(r.body) == "InvalidArgument", bad
    r = await part(s, "no-such-upload", 1, b"x")
    assert r.code == 404 and error_code(r.body) == "NoSuchUpload"
    r = await part(s, upload_id, 1, b"x", key="other-key")
    assert r.code == 404 and error_code(r.body) == "NoSuchUpload"
    small = (await part(s, upload_id, 1, b"small")).header("etag") or ""
    last = (await part(s, upload_id, 2, b"last")).header("etag") or ""
    r = await complete(s, upload_id, [(1, small), (2, last)])
    assert r.code == 400 and error_code(r.body) == "EntityTooSmall"
    r = await complete(s, upload_id, [(2, last), (1, small)])
    assert r.code == 400 and error_code(r.body) == "InvalidPartOrder"
    r = await complete(s, upload_id, [(1, small), (1, small)])
    assert r.code == 400 and error_code(r.body) == "InvalidPartOrder"
    r = await complete(s, upload_id, [(3, small)])
    assert r.code == 400 and error_code(r.body) == "InvalidPart"
    r = await complete(s, upload_id, [(1, '"' + "0" * 32 + '"')])
    assert r.code == 400 and error_code(r.body) == "InvalidPart"
    for body in (b"<CompleteMultipartUpload/>", b"<nope", b"<Other/>"):
        r = await s.client.request(
            "POST", key_path("bucket", "big"), f"uploadId={upload_id}", body=body
        )
        assert r.code == 400 and error_code(r.body) == "MalformedXML", body
    r = await complete(s, "nope", [(1, small)])
    assert r.code == 404 and error_code(r.body) == "NoSuchUpload"
    r = await s.client.request("GET", key_path("bucket", "big"), "uploadId=nope")
    assert r.code == 404 and error_code(r.body) == "NoSuchUpload"
    # The single (last) part may be small.
    r = await complete(s, upload_id, [(1, small)])
    assert r.code == 200, r.body
    # Completed: a retry is answered (test_retried_completion); another
    # part list finds no upload.
    r = await complete(s, upload_id, [(2, last)])
    assert r.code == 404 and error_code(r.body) == "NoSuchUpload"


async def retried_completion(s: Server) -> None:
    """Complete an upload, then retry the completion as botocore does."""
    await make_bucket(s)
    upload_id = await create(s)
    parts = [os.urandom(5 * MiB), b"tail"]
    etags = [
        (n, (await part(s, upload_id, n, data)).header("etag") or "")
        for n, data in enumerate(parts, 1)
    ]
    first = await complete(s, upload_id, etags, **{"If-None-Match": "*"})
    assert first.code == 200, first.body
    # The retry carries the same condition, which the first attempt made
    # false: it is still answered as the first attempt was.
    again = await complete(s, upload_id, etags, **{"If-None-Match": "*"})
    assert again.code == 200, again.body
    assert xml_of(again.body).findtext(NS + "ETag") == md5_etag(parts)
    assert xml_of(again.body).findtext(NS + "Key") == "big"
    r = await s.client.request("GET", key_path("bucket", "big"))
    assert r.code == 200 and r.body == b"".join(parts)
    # Another part list, or the record looked up under another key, or an
    # aborted upload: no such upload.
    r = await complete(s, upload_id, etags[:1])
    assert r.code == 404 and error_code(r.body) == "NoSuchUpload"
    r = await complete(s, upload_id, etags, key="other")
    assert r.code == 404 and error_code(r.body) == "NoSuchUpload"
    aborted = await create(s)
    tag = (await part(s, aborted, 1, b"x")).header("etag") or ""
    r = await s.client.request(
        "DELETE", key_path("bucket", "big"), f"uploadId={aborted}"
    )
    assert r.code == 204
    r = await complete(s, aborted, [(1, tag)])
    assert r.code == 404 and error_code(r.body) == "NoSuchUpload"


@pytest_twisted.ensureDeferred
async def test_retried_completion(server: Server) -> None:
    """A retried CompleteMultipartUpload (same parts) gets 200 and the same ETag."""
    await retried_completion(server)


@pytest_twisted.ensureDeferred
async def test_retried_completion_sqlite(tls_server: Server) -> None:
    """The same over real TLS and the SQLite index, where the record is a row."""
    await retried_completion(tls_server)


@pytest_twisted.ensureDeferred
async def test_refused_before_body(tls_server: Server) -> None:
    """A part for an unknown upload is refused with 100-continue, body never read."""
    await make_bucket(tls_server)
    r = await tls_server.client.request(
        "PUT",
        key_path("bucket", "k"),
        "partNumber=1&uploadId=missing",
        {"Expect": "100-continue"},
        body=b"x" * 100_000,
    )
    assert r.code == 404 and error_code(r.body) == "NoSuchUpload"
    staging = Path(tls_server.store.data_dir) / "staging"
    assert [p for p in staging.rglob("*") if p.is_file() and p.name != "lock"] == []


@pytest_twisted.ensureDeferred
async def test_abort(tls_server: Server) -> None:
    """Abort answers 204, frees the parts' blobs, and the upload is gone."""
    await make_bucket(tls_server)
    upload_id = await create(tls_server)
    await part(tls_server, upload_id, 1, b"x" * 1000)
    blobs = Path(tls_server.store.data_dir) / "blobs"
    assert len(list(blobs.glob("*/*"))) == 1
    r = await tls_server.client.request(
        "DELETE", key_path("bucket", "big"), f"uploadId={upload_id}"
    )
    assert r.code == 204
    assert list(blobs.glob("*/*")) == []
    r = await tls_server.client.request(
        "DELETE", key_path("bucket", "big"), f"uploadId={upload_id}"
    )
    assert r.code == 404 and error_code(r.body) == "NoSuchUpload"
    r = await tls_server.client.request("GET", "/bucket", "uploads")
    assert list(xml_of(r.body).iter(NS + "Upload")) == []


@pytest_twisted.ensureDeferred
async def test_list_parts_paging(server: Server) -> None:
    """ListParts pages with max-parts and part-number-marker."""
    await make_bucket(server)
    upload_id = await create(server)
    for n in (1, 2, 3, 5, 8):
        await part(server, upload_id, n, b"%d" % n)
    seen: list[str] = []
    marker = "0"
    while True:
        r = await server.client.request(
            "GET",
            key_path("bucket", "big"),
            f"uploadId={upload_id}&max-parts=2&part-number-marker={marker}",
        )
        root = xml_of(r.body)
        assert root.tag == NS + "ListPartsResult"
        assert root.findtext(NS + "UploadId") == upload_id
        seen += [e.text or "" for e in root.iter(NS + "PartNumber")]
        if root.findtext(NS + "IsTruncated") != "true":
            break
        marker = root.findtext(NS + "NextPartNumberMarker") or ""
    assert seen == ["1", "2", "3", "5", "8"]


@pytest_twisted.ensureDeferred
async def test_list_multipart_uploads(server: Server) -> None:
    """ListMultipartUploads pages by key and upload-id markers and rolls up prefixes."""
    await make_bucket(server)
    made = sorted([(k, await create(server, k)) for k in ["b", "a", "b", "dir/x", "c"]])
    seen: list[tuple[str, str]] = []
    query = "uploads&max-uploads=2"
    for _ in range(10):
        r = await server.client.request("GET", "/bucket", query)
        root = xml_of(r.body)
        assert root.tag == NS + "ListMultipartUploadsResult"
        for u in root.iter(NS + "Upload"):
            seen.append(
                (u.findtext(NS + "Key") or "", u.findtext(NS + "UploadId") or "")
            )
        if root.findtext(NS + "IsTruncated") != "true":
            break
        query = (
            "uploads&max-uploads=2&key-marker="
            + (root.findtext(NS + "NextKeyMarker") or "")
            + "&upload-id-marker="
            + (root.findtext(NS + "NextUploadIdMarker") or "")
        )
    assert seen == made
    r = await server.client.request("GET", "/bucket", "uploads&delimiter=%2F")
    assert r.code == 200, r.body
    root = xml_of(r.body)
    assert [p.text for p in root.iter(NS + "Prefix")][-1] == "dir/"
    assert [u.findtext(NS + "Key") for u in root.iter(NS + "Upload")] == [
        "a",
        "b",
        "b",
        "c",
    ]
    r = await server.client.request("GET", "/bucket", "list-type=2")
    assert list(xml_of(r.body).iter(NS + "Contents")) == []


@pytest_twisted.ensureDeferred
async def test_metadata_and_composite_checksum(server: Server) -> None:
    """Create's headers become the object's; a CRC32 upload gets the composite checksum."""
    await make_bucket(server)
    headers = {
        "Content-Type": "text/plain",
        "x-amz-meta-colour": "blue",
        "x-amz-checksum-algorithm": "CRC32",
    }
    upload_id = await create(server, "meta", headers)
    datas = [b"a" * (5 * MiB), b"b" * 100]
    crcs = [crt.crc32(d).to_bytes(4, "big") for d in datas]
    etags = []
    for n, data in enumerate(datas, 1):
        value = base64.b64encode(crcs[n - 1]).decode()
        r = await part(
            server, upload_id, n, data, "meta", **{"x-amz-checksum-crc32": value}
        )
        assert r.code == 200, r.body
        assert r.header("x-amz-checksum-crc32") == value
        etags.append((n, r.header("etag") or "", value))
    body = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag>"
        f"<ChecksumCRC32>{v}</ChecksumCRC32></Part>"
        for n, e, v in etags
    )
    r = await server.client.request(
        "POST",
        key_path("bucket", "meta"),
        f"uploadId={upload_id}",
        body=f"<CompleteMultipartUpload>{body}</CompleteMultipartUpload>".encode(),
    )
    assert r.code == 200, r.body
    expected = base64.b64encode(crt.crc32(b"".join(crcs)).to_bytes(4, "big")).decode()
    root = xml_of(r.body)
    assert root.findtext(NS + "ChecksumCRC32") == f"{expected}-2"
    assert root.findtext(NS + "ChecksumType") == "COMPOSITE"
    r = await server.client.request(
        "HEAD", key_path("bucket", "meta"), headers={"x-amz-checksum-mode": "ENABLED"}
    )
    assert r.header("content-type") == "text/plain"
    assert r.header("x-amz-meta-colour") == "blue"
    assert r.header("x-amz-checksum-crc32") == f"{expected}-2"
    assert r.header("x-amz-checksum-type") == "COMPOSITE"


@pytest_twisted.ensureDeferred
async def test_full_object_crc(server: Server) -> None:
    """A FULL_OBJECT CRC32C upload's checksum is the CRC of the whole object."""
    await make_bucket(server)
    upload_id = await create(
        server,
        "full",
        {"x-amz-checksum-algorithm": "CRC32C", "x-amz-checksum-type": "FULL_OBJECT"},
    )
    datas = [os.urandom(5 * MiB), os.urandom(1234)]
    etags = [
        (n, (await part(server, upload_id, n, d, "full")).header("etag") or "")
        for n, d in enumerate(datas, 1)
    ]
    r = await complete(server, upload_id, etags, "full")
    assert r.code == 200, r.body
    whole = crt.crc32c(b"".join(datas)).to_bytes(4, "big")
    assert (
        xml_of(r.body).findtext(NS + "ChecksumCRC32C")
        == base64.b64encode(whole).decode()
    )
    r = await server.client.request(
        "POST",
        key_path("bucket", "k"),
        "uploads",
        {"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-type": "FULL_OBJECT"},
    )
    assert r.code == 400 and error_code(r.body) == "InvalidRequest"


@pytest_twisted.ensureDeferred
async def test_boto3_multipart(tls_server: Server, tmp_path: Path) -> None:
    """boto3's managed transfer (aws-chunked parts with CRC trailers) round-trips."""
    from boto3.s3.transfer import TransferConfig
    from twisted.internet.threads import deferToThread

    await make_bucket(tls_server)
    client = tls_server.boto3()
    source = tmp_path / "source"
    data = os.urandom(12 * MiB + 17)
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)

    def transfer() -> tuple[bytes, dict[str, Any]]:
        client.upload_file(str(source), "bucket", "boto", Config=config)
        got = client.get_object(Bucket="bucket", Key="boto")["Body"].read()
        head = client.head_object(Bucket="bucket", Key="boto", PartNumber=2)
        client.copy_object(
            Bucket="bucket",
            Key="boto-copy",
            CopySource={"Bucket": "bucket", "Key": "boto"},
        )
        return got, head

    got, head = await deferToThread(transfer)
    assert got == data
    assert head["PartsCount"] == 3 and head["ContentLength"] == 5 * MiB
    r = await tls_server.client.request("GET", key_path("bucket", "boto-copy"))
    assert r.body == data
