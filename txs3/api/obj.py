"""Object operations: PutObject, GetObject, HeadObject, DeleteObject."""

from __future__ import annotations

import base64
import dataclasses

from twisted.logger import Logger

from txs3.api.acl import new_object_access
from txs3.api.conditions import (
    evaluate,
    parse_range,
    precondition_failed,
    write_condition,
)
from txs3.api.lifecycle import expiration_headers
from txs3.api.locking import (
    bypass_requested,
    deletion_guard,
    locked_meta,
    response_headers,
)
from txs3.api.render import http_date
from txs3.api.tagging import with_request_tags
from txs3.api.versions import bucket_access, version_headers, version_param
from txs3.auth.checksums import header_name
from txs3.body import UploadSink
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.operation import part_number
from txs3.response import Response, StoredBytes
from txs3.store.interface import Deletion, Destination, ObjectInfo, ObjectMeta

log = Logger()

# Standard headers S3 stores with an object and sends back on GET and HEAD.
STORED_HEADERS = (
    "content-type",
    "content-encoding",
    "content-disposition",
    "cache-control",
    "expires",
    "content-language",
)
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
META_PREFIX = "x-amz-meta-"
MAX_USER_METADATA = 2048  # UTF-8 bytes of names and values, as S3 counts them

# GET may override response headers with these query parameters.
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def mail_safe(value: str) -> str:
    """
    A user metadata value as S3 sends it back: as stored when it is ASCII,
    else RFC 2047-encoded (``=?UTF-8?B?...?=``), the "mail-safe" form of
    AWS's "Working with object metadata" (boto3 hands it over as is;
    C{email.header.decode_header} reads it).

    Values are stored as sent: an ASCII value, encoded words included,
    comes back byte for byte; a non-ASCII one (sent as UTF-8, or as
    latin-1 by Python's http.client; see L{txs3.auth.fields}) comes back
    in the one form every HTTP client reads alike.
    """
    if value.isascii():
        return value
    encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
    return f"=?UTF-8?B?{encoded}?="


def _where(call: S3Call) -> tuple[str, str]:
    return call.bucket, call.key


def object_meta(call: S3Call, checksums: dict[str, str]) -> ObjectMeta:
    """
    The metadata to store from the request headers.

    ``aws-chunked`` is a transfer framing, not a content coding: it is
    removed from Content-Encoding (and the header dropped if nothing else
    is left), as S3 does.

    @raise S3Error: C{MetadataTooLarge}.
    """
    headers: list[tuple[str, str]] = []
    for name in STORED_HEADERS:
        value = call.header(name)
        if value is None:
            continue
        if name == "content-encoding":
            codings = [c.strip() for c in value.split(",")]
            value = ", ".join(c for c in codings if c and c.lower() != "aws-chunked")
            if not value:
                continue
        headers.append((name, value))
    user = sorted(
        (name[len(META_PREFIX) :], value)
        for name, value in call.head.headers.items()
        if name.startswith(META_PREFIX)
    )
    if sum(len(k.encode()) + len(v.encode()) for k, v in user) > MAX_USER_METADATA:
        raise S3Error.of("MetadataTooLarge", MaxSizeAllowed=str(MAX_USER_METADATA))
    return ObjectMeta(tuple(headers), tuple(user), tuple(sorted(checksums.items())))


async def put_object(call: S3Call) -> Response:
    """
    Verify the streamed body and publish it.  The 200 is sent only after
    the store has fsync'd, renamed and indexed the object.
    """
    bucket, key = _where(call)
    sink = call.body
    assert isinstance(sink, UploadSink)
    upload = sink.finish()
    try:
        # x-amz-tagging, or no tags: an overwrite drops the old ones, as S3.
        meta = with_request_tags(call, object_meta(call, upload.checksums))
    except S3Error:
        upload.staging.discard()
        raise
    owner, acl = new_object_access(call)
    meta = locked_meta(call, dataclasses.replace(meta, acl=acl))
    # Checked before the body too (412); the store re-checks it in the
    # commit and answers ConditionalRequestConflict if a racing writer won.
    condition = write_condition(call.head.headers)
    info = await call.config.store.put_object(
        Destination(
            bucket, key, owner, condition, bucket_access(call).versioning_state
        ),
        upload.staging,
        upload.etag,
        meta,
    )
    headers = {
        "ETag": f'"{info.etag}"',
        **version_headers(call, info),
        **expiration_headers(call, info),
    }
    for alg, value in sent_checksums(call, info.meta.checksums):
        headers[header_name(alg)] = value
    return Response(200, headers)


def sent_checksums(
    call: S3Call, checksums: tuple[tuple[str, str], ...], *always: str
) -> list[tuple[str, str]]:
    """
    The checksums a write echoes: those the client asked for (header,
    trailer or x-amz-sdk-checksum-algorithm) and C{always}, not the
    server's default one.
    """
    asked = {a.upper() for a in _asked_algorithms(call)} | set(always)
    return [(alg, v) for alg, v in checksums if alg in asked]


def _asked_algorithms(call: S3Call) -> list[str]:
    names = []
    sdk = call.header("x-amz-sdk-checksum-algorithm")
    if sdk:
        names.append(sdk)
    for name in list(call.head.headers) + (call.header("x-amz-trailer") or "").split(
        ","
    ):
        name = name.strip().lower()
        if name.startswith("x-amz-checksum-") and name != "x-amz-checksum-mode":
            names.append(name[len("x-amz-checksum-") :])
    return names


def _object_headers(info: ObjectInfo) -> dict[str, str]:
    headers = {
        "ETag": f'"{info.etag}"',
        "Last-Modified": http_date(info.last_modified),
        "Accept-Ranges": "bytes",
    }
    stored = dict(info.meta.headers)
    stored.setdefault("content-type", DEFAULT_CONTENT_TYPE)
    headers.update(stored)
    for name, value in info.meta.user_metadata:
        headers[META_PREFIX + name] = mail_safe(value)
    if info.meta.tags:
        headers["x-amz-tagging-count"] = str(len(info.meta.tags))
    return headers


def _checksum_headers(call: S3Call, info: ObjectInfo, headers: dict[str, str]) -> None:
    if (call.header("x-amz-checksum-mode") or "").upper() != "ENABLED":
        return
    for alg, value in info.meta.checksums:
        headers[header_name(alg)] = value
        headers["x-amz-checksum-type"] = info.meta.checksum_type


def _part_span(
    call: S3Call, info: ObjectInfo, headers: dict[str, str]
) -> tuple[int, int] | None:
    """
    The byte span (first, last) of ``?partNumber=N``, or None when there
    is none.  For an object completed from a multipart upload it is that
    part's bytes and the answer carries ``x-amz-mp-parts-count``; an object
    uploaded whole is its only part.

    @raise S3Error: C{InvalidArgument} for a bad number, C{InvalidRequest}
        together with Range, C{InvalidPartNumber} (416) past the last part.
    """
    raw = call.operation.query.get("partNumber")
    if raw is None:
        return None
    number = part_number(raw)
    if call.header("range") is not None:
        raise S3Error.of(
            "InvalidRequest",
            "Cannot specify both Range header and partNumber query parameter",
        )
    sizes = info.parts or (info.size,)
    if number > len(sizes):
        raise S3Error.of("InvalidPartNumber", PartNumberRequested=str(number))
    if info.parts:
        headers["x-amz-mp-parts-count"] = str(len(info.parts))
    first = sum(sizes[: number - 1])
    if sizes[number - 1] == 0:
        return None
    return first, first + sizes[number - 1] - 1


def _span(
    call: S3Call, info: ObjectInfo, headers: dict[str, str]
) -> tuple[int, int] | None:
    """The span to send: a part, a Range, or None for the whole object."""
    if "partNumber" in call.operation.query:
        return _part_span(call, info, headers)
    return parse_range(call.header("range"), info.size)


def _not_modified(call: S3Call, info: ObjectInfo) -> Response | None:
    """
    Apply If-* headers: the 304 to send, or None when the object is to be
    sent (200/206).

    @raise S3Error: C{PreconditionFailed} (412).
    """
    verdict = evaluate(call.head.headers, info.etag, info.last_modified)
    if verdict.status == 412:
        raise precondition_failed(verdict)
    if verdict.status == 304:
        return Response(
            304,
            {"ETag": f'"{info.etag}"', "Last-Modified": http_date(info.last_modified)},
        )
    return None


def _object_response(call: S3Call, info: ObjectInfo) -> tuple[Response, int, int]:
    """
    The 200 or 206 answer for C{info} without its body, and the offset and
    length of the bytes to send.
    """
    headers = {
        **_object_headers(info),
        **version_headers(call, info),
        **response_headers(call, info),
        **expiration_headers(call, info),
    }
    span = _span(call, info, headers)
    if span is None:
        _checksum_headers(call, info, headers)
        headers["Content-Length"] = str(info.size)
        return Response(200, headers), 0, info.size
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
    headers["Content-Length"] = str(last - first + 1)
    return Response(206, headers), first, last - first + 1


def intact(info: ObjectInfo) -> ObjectInfo:
    """
    C{info}, unless fsck found its bytes damaged: then 500, never wrong
    bytes (C{txs3-admin fsck --repair}).
    """
    if info.meta.damaged:
        log.error(
            "refused {bucket}/{key}: its bytes are damaged (txs3-admin fsck)",
            bucket=info.bucket,
            key=info.key,
        )
        raise S3Error.of("InternalError", "The object's stored data is damaged.")
    return info


async def head_object(call: S3Call) -> Response:
    """The object's headers, from the index alone: the blob is never opened."""
    bucket, key = _where(call)
    info = intact(call.config.store.head_object(bucket, key, version_param(call)))
    not_modified = _not_modified(call, info)
    if not_modified is not None:
        return not_modified
    response, _, _ = _object_response(call, info)
    return response


async def get_object(call: S3Call) -> Response:
    """The object, or one range of it, honouring If-* and response-*."""
    bucket, key = _where(call)
    info, file = call.config.store.open_object(bucket, key, version_param(call))
    try:
        intact(info)
        not_modified = _not_modified(call, info)
        if not_modified is not None:
            file.close()
            return not_modified
        response, offset, length = _object_response(call, info)
    except BaseException:
        file.close()
        raise
    for param, header in RESPONSE_OVERRIDES.items():
        value = call.operation.query.get(param)
        if value is not None:
            response.headers[header] = value
    response.body = StoredBytes(file, offset, length)
    return response


async def delete_object(call: S3Call) -> Response:
    """
    204, whether or not the key or version existed.  Without C{versionId}
    on a versioned bucket it writes a delete marker; with one it removes
    that version for good (L{IObjectStore.delete_version}), unless Object
    Lock protects it: the store asks L{deletion_guard} inside its commit.

    @raise S3Error: C{AccessDenied} "Access Denied because object
        protected by object lock." for a locked version;
        C{InvalidArgument} for a bypass header on a bucket without Object
        Lock.
    """
    bucket, key = _where(call)
    access = bucket_access(call)
    version_id = version_param(call)
    guard = deletion_guard(call, key, bypass_requested(call))
    deleted = await call.config.store.delete_version(
        Deletion(bucket, key, access.versioning_state, version_id, guard)
    )
    headers = {}
    if deleted.version_id is not None:
        headers["x-amz-version-id"] = deleted.version_id
    if deleted.delete_marker:
        headers["x-amz-delete-marker"] = "true"
    return Response(204, headers)
