"""
Object and bucket tagging: GetObjectTagging, PutObjectTagging,
DeleteObjectTagging, GetBucketTagging, PutBucketTagging, DeleteBucketTagging,
and the ``x-amz-tagging`` header of the object writes.

Tags are part of an object's index entry (L{ObjectMeta.tags}): a PutObject
replaces them with the request's ``x-amz-tagging`` (none: no tags, as S3
does), a DeleteObject removes them with the object, and PutObjectTagging
rewrites the index entry only, never the bytes.  Bucket tags live beside
the bucket (L{IObjectStore.put_bucket_tagging}).

The limits and messages are S3's: at most 10 tags on an object, 50 on a
bucket, keys of 1 to 128 and values of 0 to 256 characters counted in
UTF-16 code units, Unicode letters, digits, white space and
``_ . : / = + - @`` only, unique keys, no ``aws:`` prefix; any violation
is C{InvalidTag}.
"""

from __future__ import annotations

import dataclasses

from txs3.api.tagset import (
    MAX_BUCKET_TAGS,
    MAX_OBJECT_TAGS,
    Tags,
    parse_tagging_body,
    parse_tagging_header,
    tagging_document,
)
from txs3.api.versions import version_headers, version_param
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.response import Response, no_content, xml_response
from txs3.store.interface import ObjectMeta


def request_tags(call: S3Call) -> Tags:
    """
    The tags an object write asks for with ``x-amz-tagging`` (PutObject,
    CreateMultipartUpload, CopyObject with ``x-amz-tagging-directive:
    REPLACE``); empty when the header is absent.

    @raise S3Error: as L{parse_tagging_header}.
    """
    value = call.header("x-amz-tagging")
    return parse_tagging_header(value) if value else ()


def with_request_tags(call: S3Call, meta: ObjectMeta) -> ObjectMeta:
    """
    C{meta} with the tags of the request's ``x-amz-tagging`` header (none
    without it): what PutObject and CreateMultipartUpload store.

    @raise S3Error: as L{parse_tagging_header}.
    """
    return dataclasses.replace(meta, tags=request_tags(call))


def copy_tags(call: S3Call, source: ObjectMeta) -> Tags:
    """
    The tags a CopyObject gives its destination: the source's with
    ``x-amz-tagging-directive: COPY`` (the default), the request's
    ``x-amz-tagging`` with C{REPLACE}.

    @raise S3Error: C{InvalidArgument} for another directive; as
        L{parse_tagging_header}.
    """
    directive = (call.header("x-amz-tagging-directive") or "COPY").upper()
    if directive == "COPY":
        return source.tags
    if directive == "REPLACE":
        return request_tags(call)
    raise S3Error.of(
        "InvalidArgument",
        "Unknown tagging directive.",
        ArgumentName="x-amz-tagging-directive",
        ArgumentValue=directive,
    )


def _where(call: S3Call) -> tuple[str, str]:
    bucket, key = call.operation.bucket, call.operation.key
    assert bucket is not None and key is not None
    return bucket, key


def _bucket(call: S3Call) -> str:
    assert call.operation.bucket is not None
    return call.operation.bucket


async def get_object_tagging(call: S3Call) -> Response:
    """The object's tag set (an empty C{TagSet} when it has none)."""
    bucket, key = _where(call)
    info = call.config.store.head_object(bucket, key, version_param(call))
    return xml_response(
        tagging_document(info.meta.tags), headers=version_headers(call, info)
    )


async def put_object_tagging(call: S3Call) -> Response:
    """
    Replace the object's tags (an empty C{TagSet} removes them); the bytes,
    ETag and Last-Modified stay as they are.
    """
    bucket, key = _where(call)
    tags = parse_tagging_body(call.xml_body(), MAX_OBJECT_TAGS)
    version_id = version_param(call)
    await call.config.store.put_object_tagging(bucket, key, tags, version_id)
    return Response(headers=_version_header(version_id))


async def delete_object_tagging(call: S3Call) -> Response:
    """Remove the object's tags: 204."""
    bucket, key = _where(call)
    version_id = version_param(call)
    await call.config.store.put_object_tagging(bucket, key, (), version_id)
    return Response(204, _version_header(version_id))


def _version_header(version_id: str | None) -> dict[str, str]:
    return {} if version_id is None else {"x-amz-version-id": version_id}


async def get_bucket_tagging(call: S3Call) -> Response:
    """The bucket's tag set; C{NoSuchTagSet} when it has none."""
    tags = call.config.store.get_bucket_tagging(_bucket(call))
    if not tags:
        raise S3Error.of("NoSuchTagSet", BucketName=_bucket(call))
    return xml_response(tagging_document(tags))


async def put_bucket_tagging(call: S3Call) -> Response:
    """Replace the bucket's tags: 204, as S3 answers."""
    tags = parse_tagging_body(call.xml_body(), MAX_BUCKET_TAGS)
    await call.config.store.put_bucket_tagging(_bucket(call), tags)
    return no_content()


async def delete_bucket_tagging(call: S3Call) -> Response:
    """Remove the bucket's tags: 204."""
    await call.config.store.put_bucket_tagging(_bucket(call), ())
    return no_content()
