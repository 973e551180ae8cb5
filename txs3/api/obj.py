"""Object operations: PutObject, GetObject, HeadObject, DeleteObject."""

from __future__ import annotations

from typing import Any

from txs3.api.conditions import (
    evaluate,
    parse_range,
    precondition_failed,
    write_condition,
)
from txs3.api.render import http_date
from txs3.api.streaming import send_range
from txs3.api.tagging import with_request_tags
from txs3.auth.checksums import header_name
from txs3.body import UploadSink
from txs3.errors import S3Error
from txs3.operation import part_number
from txs3.server import S3Call
from txs3.store.interface import ObjectInfo, ObjectMeta

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
MAX_USER_METADATA = 2048  # bytes of names and values, as S3 counts them

# GET may override response headers with these query parameters.
RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def _where(call: S3Call) -> tuple[str, str]:
    bucket, key = call.operation.bucket, call.operation.key
    assert bucket is not None and key is not None
    return bucket, key


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
            value = ",".join(c for c in codings if c and c.lower() != "aws-chunked")
            if not value:
                continue
        headers.append((name, value))
    user = sorted(
        (name[len(META_PREFIX) :], value)
        for name, value in call.head.headers.items()
        if name.startswith(META_PREFIX)
    )
    if sum(len(k) + len(v) for k, v in user) > MAX_USER_METADATA:
        raise S3Error.of("MetadataTooLarge", MaxSizeAllowed=str(MAX_USER_METADATA))
    return ObjectMeta(tuple(headers), tuple(user), tuple(sorted(checksums.items())))


async def put_object(call: S3Call, request: Any) -> bytes:
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
    # Checked before the body too (412); the store re-checks it in the
    # commit and answers ConditionalRequestConflict if a racing writer won.
    condition = write_condition(call.head.headers)
    info = await call.config.store.put_object(
        bucket,
        key,
        upload.staging,
        upload.etag,
        meta,
        call.identity.owner_id,
        condition,
    )
    request.setHeader("ETag", f'"{info.etag}"')
    for alg, value in _sent_checksums(call, info):
        request.setHeader(header_name(alg), value)
    request.setHeader("Content-Length", "0")
    return b""


def _sent_checksums(call: S3Call, info: ObjectInfo) -> list[tuple[str, str]]:
    return sent_checksums(call, info.meta.checksums)


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


def _object_headers(call: S3Call, request: Any, info: ObjectInfo) -> None:
    request.setHeader("ETag", f'"{info.etag}"')
    request.setHeader("Last-Modified", http_date(info.last_modified))
    request.setHeader("Accept-Ranges", "bytes")
    stored = dict(info.meta.headers)
    stored.setdefault("content-type", DEFAULT_CONTENT_TYPE)
    for name, value in stored.items():
        request.setHeader(name, value)
    for name, value in info.meta.user_metadata:
        request.setHeader(META_PREFIX + name, value)
    if info.meta.tags:
        request.setHeader("x-amz-tagging-count", str(len(info.meta.tags)))


def _checksum_headers(call: S3Call, request: Any, info: ObjectInfo) -> None:
    if (call.header("x-amz-checksum-mode") or "").upper() != "ENABLED":
        return
    for alg, value in info.meta.checksums:
        request.setHeader(header_name(alg), value)
        request.setHeader("x-amz-checksum-type", info.meta.checksum_type)


def _part_span(call: S3Call, request: Any, info: ObjectInfo) -> tuple[int, int] | None:
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
        request.setHeader("x-amz-mp-parts-count", str(len(info.parts)))
    first = sum(sizes[: number - 1])
    if sizes[number - 1] == 0:
        return None
    return first, first + sizes[number - 1] - 1


def _span(call: S3Call, request: Any, info: ObjectInfo) -> tuple[int, int] | None:
    """The span to send: a part, a Range, or None for the whole object."""
    if "partNumber" in call.operation.query:
        return _part_span(call, request, info)
    return parse_range(call.header("range"), info.size)


def _preconditions(call: S3Call, request: Any, info: ObjectInfo) -> bool:
    """Apply If-* headers; True when the body should be sent (200/206)."""
    verdict = evaluate(call.head.headers, info.etag, info.last_modified)
    if verdict.status == 412:
        raise precondition_failed(verdict)
    if verdict.status == 304:
        request.setResponseCode(304)
        request.setHeader("ETag", f'"{info.etag}"')
        request.setHeader("Last-Modified", http_date(info.last_modified))
        return False
    return True


async def head_object(call: S3Call, request: Any) -> bytes:
    """The object's headers, from the index alone: the blob is never opened."""
    bucket, key = _where(call)
    info = call.config.store.head_object(bucket, key)
    if not _preconditions(call, request, info):
        return b""
    _object_headers(call, request, info)
    span = _span(call, request, info)
    if span is None:
        _checksum_headers(call, request, info)
        request.setHeader("Content-Length", str(info.size))
    else:
        request.setResponseCode(206)
        request.setHeader("Content-Range", f"bytes {span[0]}-{span[1]}/{info.size}")
        request.setHeader("Content-Length", str(span[1] - span[0] + 1))
    return b""


async def get_object(call: S3Call, request: Any) -> None:
    """Stream the object, or one range of it, honouring If-* and response-*."""
    bucket, key = _where(call)
    info, file = call.config.store.open_object(bucket, key)
    try:
        if not _preconditions(call, request, info):
            file.close()
            return
        span = _span(call, request, info)
    except BaseException:
        file.close()
        raise
    _object_headers(call, request, info)
    for param, header in RESPONSE_OVERRIDES.items():
        value = call.operation.query.get(param)
        if value is not None:
            request.setHeader(header, value)
    if span is None:
        offset, length = 0, info.size
        _checksum_headers(call, request, info)
    else:
        offset, length = span[0], span[1] - span[0] + 1
        request.setResponseCode(206)
        request.setHeader("Content-Range", f"bytes {span[0]}-{span[1]}/{info.size}")
    request.setHeader("Content-Length", str(length))
    await send_range(request, file, offset, length)


async def delete_object(call: S3Call, request: Any) -> bytes:
    """204, whether or not the key existed (S3's answer on unversioned buckets)."""
    bucket, key = _where(call)
    await call.config.store.delete_object(bucket, key)
    request.setResponseCode(204)
    return b""
