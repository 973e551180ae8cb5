"""
GetObjectAttributes: the attribute selection and part paging as pure
functions (L{txs3.api.attributes}), then boto3's C{get_object_attributes}
against the functional server for a single-part and a multipart object,
and the errors through the test client.
"""

from __future__ import annotations

import hashlib
from typing import Any
from xml.etree import ElementTree

import pytest
import pytest_twisted
from twisted.internet.threads import deferToThread

from tests.functional import Server, server, tls_server  # noqa: F401
from tests.s3client import key_path
from txs3.api.attributes import object_parts, requested_attributes
from txs3.errors import S3Error

MiB = 1024 * 1024
ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]


def test_requested_attributes() -> None:
    """The header is a comma-separated list of the five attribute names; empty or unknown names are refused as AWS does."""
    assert requested_attributes("ETag, ObjectSize") == {"ETag", "ObjectSize"}
    for missing in (None, "", " , "):
        with pytest.raises(S3Error) as e:
            requested_attributes(missing)
        assert e.value.code == "InvalidRequest"
    with pytest.raises(S3Error) as e:
        requested_attributes("ETag,Owner")
    assert e.value.code == "InvalidArgument"


def test_object_parts_pages() -> None:
    """Parts after the marker come max-parts at a time, with the next marker and IsTruncated."""
    sizes = (5, 5, 5, 1)
    first = dict(object_parts(sizes, 0, 2)[:5])
    assert first == {
        "PartsCount": 4,
        "PartNumberMarker": 0,
        "NextPartNumberMarker": 2,
        "MaxParts": 2,
        "IsTruncated": True,
    }
    last = object_parts(sizes, 2, 2)
    assert ("IsTruncated", False) in last
    parts = [dict(children) for name, children in last if name == "Part"]  # type: ignore[arg-type]
    assert parts == [{"PartNumber": 3, "Size": 5}, {"PartNumber": 4, "Size": 1}]
    assert [n for n, _ in object_parts(sizes, 4, 2)].count("Part") == 0


@pytest_twisted.ensureDeferred
async def test_boto3_get_object_attributes(tls_server: Server) -> None:
    """boto3 reads ETag, Checksum, StorageClass and ObjectSize of an object, and pages the parts of a multipart object with MaxParts and PartNumberMarker."""
    s3 = tls_server.boto3()
    data = b"attributes" * 100
    big = [b"a" * (5 * MiB), b"b" * (5 * MiB), b"c"]

    def scenario() -> tuple[Any, ...]:
        s3.create_bucket(Bucket="attrs")
        put = s3.put_object(
            Bucket="attrs", Key="one", Body=data, ChecksumAlgorithm="SHA256"
        )
        one = s3.get_object_attributes(Bucket="attrs", Key="one", ObjectAttributes=ALL)
        upload = s3.create_multipart_upload(Bucket="attrs", Key="many")
        parts = [
            {
                "PartNumber": n,
                "ETag": s3.upload_part(
                    Bucket="attrs",
                    Key="many",
                    UploadId=upload["UploadId"],
                    PartNumber=n,
                    Body=body,
                )["ETag"],
            }
            for n, body in enumerate(big, 1)
        ]
        s3.complete_multipart_upload(
            Bucket="attrs",
            Key="many",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": parts},
        )
        first = s3.get_object_attributes(
            Bucket="attrs", Key="many", ObjectAttributes=["ObjectParts"], MaxParts=2
        )
        rest = s3.get_object_attributes(
            Bucket="attrs",
            Key="many",
            ObjectAttributes=["ObjectParts", "ObjectSize"],
            MaxParts=2,
            PartNumberMarker=first["ObjectParts"]["NextPartNumberMarker"],
        )
        return put, one, first, rest

    put, one, first, rest = await deferToThread(scenario)
    assert one["ETag"] == hashlib.md5(data).hexdigest()
    assert one["Checksum"]["ChecksumSHA256"] == put["ChecksumSHA256"]
    assert one["Checksum"]["ChecksumType"] == "FULL_OBJECT"
    assert (one["StorageClass"], one["ObjectSize"]) == ("STANDARD", len(data))
    assert "ObjectParts" not in one
    assert one["LastModified"] is not None
    assert first["ObjectParts"]["TotalPartsCount"] == 3
    assert first["ObjectParts"]["IsTruncated"] is True
    assert [(p["PartNumber"], p["Size"]) for p in first["ObjectParts"]["Parts"]] == [
        (1, 5 * MiB),
        (2, 5 * MiB),
    ]
    assert "ETag" not in first and "ObjectSize" not in first
    assert rest["ObjectParts"]["IsTruncated"] is False
    assert [(p["PartNumber"], p["Size"]) for p in rest["ObjectParts"]["Parts"]] == [
        (3, 1)
    ]
    assert rest["ObjectSize"] == 10 * MiB + 1


@pytest_twisted.ensureDeferred
async def test_get_object_attributes_errors(server: Server) -> None:
    """A missing attribute list is InvalidRequest, an unknown name InvalidArgument, a missing key NoSuchKey."""
    c = server.client
    await c.request("PUT", "/attrs")
    await c.request("PUT", key_path("attrs", "k"), body=b"x")

    async def code(key: str, headers: dict[str, str]) -> tuple[int, str | None]:
        r = await c.request("GET", key_path("attrs", key), "attributes", headers)
        return r.code, ElementTree.fromstring(r.body).findtext("Code")

    assert await code("k", {}) == (400, "InvalidRequest")
    assert await code("k", {"x-amz-object-attributes": "Owner"}) == (
        400,
        "InvalidArgument",
    )
    assert await code("absent", {"x-amz-object-attributes": "ETag"}) == (
        404,
        "NoSuchKey",
    )
