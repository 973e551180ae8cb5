"""
Server-side copies: CopyObject and UploadPartCopy.

A copy never moves object bytes through the server: the store makes the
destination's index entry name the source's immutable blobs (copy on
write; see L{txs3.store.sqlite}).  Copying a 1 GiB object is one index
transaction and no extra disk.  UploadPartCopy of a byte range must report
the range's MD5 (the part's ETag) and checksums, so it reads the range once
(in a thread, in bounded chunks) to hash it, but still writes nothing.

CopyObject copies the source as it is when the store commits the copy
(L{IObjectStore.copy_current_object}): the ``x-amz-copy-source-if-*``
conditions are evaluated inside that transaction against that very
version, so an overwrite racing with the copy can neither fail it nor mix
versions.  UploadPartCopy reads its source's bytes first (to hash them):
its entry and open file come together from L{IObjectStore.open_object},
and the store refuses the part (L{SourceChanged}) if the source was
replaced in the meantime, in which case the part copy starts over.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from typing import BinaryIO

from twisted.internet.threads import deferToThread

from txs3 import xml
from txs3.api.acl import new_object_access
from txs3.api.conditions import evaluate
from txs3.api.locking import new_lock
from txs3.api.obj import object_meta
from txs3.api.quota import check_copy_quota, check_quota
from txs3.api.tagging import copy_tags
from txs3.api.versions import bucket_access, version_headers
from txs3.auth.checksums import new_checksum
from txs3.body import DEFAULT_CHECKSUM
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.operation import MAX_KEY_BYTES, MAX_PUT_SIZE, decode_query_part, part_number
from txs3.response import Response, xml_response
from txs3.store.interface import (
    Destination,
    NewPart,
    ObjectInfo,
    ObjectMeta,
    SourceChanged,
)
from txs3.store.versionid import is_version_id
from txs3.versionlock import with_lock

#: How often UploadPartCopy starts over when its source keeps being replaced.
COPY_ATTEMPTS = 5
HASH_CHUNK = 1024 * 1024

SELF_COPY_MESSAGE = (
    "This copy request is illegal because it is trying to copy an object to "
    "itself without changing the object's metadata, storage class, website "
    "redirect location or encryption attributes."
)


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """
    The (bucket, key, version id) of an ``x-amz-copy-source`` header:
    ``bucket/key`` or ``/bucket/key``, URL-encoded, optionally ending in
    ``?versionId=ID`` (None without).  It is form-decoded, as AWS decodes
    it: ``+`` is a space and ``%2B`` a plus (s5cmd and the SDKs' form
    encoders send spaces as ``+``).

    @raise S3Error: C{InvalidArgument} when it names no bucket and key, is
        not UTF-8, or names something that cannot be a version id.
    """
    path, _, query = value.partition("?")
    version: str | None = None
    if query:
        name, _, version = query.partition("=")
        if name != "versionId" or not is_version_id(version):
            raise S3Error.of(
                "InvalidArgument",
                "Invalid version id specified",
                ArgumentName="x-amz-copy-source",
                ArgumentValue=value,
            )
    try:
        decoded = decode_query_part(path)
    except S3Error:
        decoded = ""
    bucket, _, key = decoded.removeprefix("/").partition("/")
    if not bucket or not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise S3Error.of(
            "InvalidArgument",
            "Copy Source must mention the source bucket and key: "
            "sourcebucket/sourcekey",
            ArgumentName="x-amz-copy-source",
            ArgumentValue=value,
        )
    return bucket, key, version


def check_source_conditions(headers: Mapping[str, str], info: ObjectInfo) -> None:
    """
    Apply the ``x-amz-copy-source-if-*`` headers to the source with the same
    precedence as GET's preconditions (L{txs3.api.conditions.evaluate}):
    if-match, or when absent if-unmodified-since; if-none-match, or when
    absent if-modified-since.  Where GET would answer 304, a copy fails
    too: any failed condition is 412 C{PreconditionFailed}.
    """
    prefix = "x-amz-copy-source-"
    conditions = {
        name.removeprefix(prefix): value
        for name, value in headers.items()
        if name.startswith(prefix + "if-")
    }
    verdict = evaluate(conditions, info.etag, info.last_modified)
    if verdict.status != 200:
        raise S3Error.of("PreconditionFailed", Condition=prefix + verdict.condition)


def _source(call: S3Call) -> tuple[str, str, str | None]:
    """
    The copy source (bucket, key, version id or None), after checking the
    caller may read it (C{s3:GetObject}, or C{s3:GetObjectVersion} for a
    version, by the source bucket's policy and ACLs).

    @raise S3Error: C{NoSuchBucket}, C{AccessDenied}.
    """
    bucket, key, version = parse_copy_source(call.header("x-amz-copy-source") or "")
    assert call.authorizer is not None, "an object operation has an authorizer"
    action = "s3:GetObject" if version is None else "s3:GetObjectVersion"
    call.authorizer.for_bucket(bucket).require(action, key)
    return bucket, key, version


def _source_headers(
    call: S3Call, source: ObjectInfo, src_bucket: str
) -> dict[str, str]:
    """C{x-amz-copy-source-version-id}, when the source bucket has versioning."""
    assert call.authorizer is not None
    if call.authorizer.for_bucket(src_bucket).access.versioning.status is None:
        return {}
    return {"x-amz-copy-source-version-id": source.version_id}


def _directive(call: S3Call, name: str) -> str:
    value = (call.header(name) or "COPY").strip().upper()
    if value not in ("COPY", "REPLACE"):
        kind = "metadata" if "metadata" in name else "tagging"
        raise S3Error.of(
            "InvalidArgument",
            f"Unknown {kind} directive.",
            ArgumentName=name,
            ArgumentValue=call.header(name) or "",
        )
    return value


async def copy_object(call: S3Call) -> Response:
    """
    CopyObject: the destination shares the source's blobs.  Metadata is
    the source's (``x-amz-metadata-directive: COPY``, the default) or the
    request's (``REPLACE``); copying onto itself needs REPLACE.
    """
    bucket, key = call.operation.bucket, call.operation.key
    assert bucket is not None and key is not None
    src_bucket, src_key, src_version = _source(call)
    check_copy_quota(call, src_bucket, src_key, src_version)
    directive = _directive(call, "x-amz-metadata-directive")
    same = (src_bucket, src_key) == (bucket, key) and src_version is None
    if same and directive == "COPY":
        raise S3Error.of("InvalidRequest", SELF_COPY_MESSAGE)
    # Everything taken from the request is read now, on the reactor
    # thread; what depends on the source is decided inside the store's
    # transaction, against the version it copies.
    headers = call.head.headers
    replaced = object_meta(call, {}) if directive == "REPLACE" else None
    tagging = _directive(call, "x-amz-tagging-directive")
    request_tags = copy_tags(call, ObjectMeta()) if tagging == "REPLACE" else None
    # A copy gets the ACL its request asks for, never the source's (S3),
    # and likewise its Object Lock: the request's, or the bucket's default.
    owner, acl = new_object_access(call)
    lock = new_lock(call)

    copied: list[ObjectInfo] = []

    def make_meta(source: ObjectInfo) -> ObjectMeta:
        copied.append(source)
        check_source_conditions(headers, source)
        meta = source.meta
        if replaced is not None:
            meta = dataclasses.replace(
                meta, headers=replaced.headers, user_metadata=replaced.user_metadata
            )
        tags = source.meta.tags if request_tags is None else request_tags
        return with_lock(dataclasses.replace(meta, tags=tags, acl=acl), lock)

    versioning = bucket_access(call).versioning_state
    info = await call.config.store.copy_current_object(
        src_bucket,
        src_key,
        Destination(bucket, key, owner, versioning=versioning),
        make_meta,
        src_version,
    )
    children: list[xml.Node] = [
        ("ETag", f'"{info.etag}"'),
        ("LastModified", xml.iso8601(info.last_modified)),
    ]
    if info.meta.checksums:
        children.append(("ChecksumType", info.meta.checksum_type))
        children += [("Checksum" + alg, v) for alg, v in info.meta.checksums]
    headers = {
        **version_headers(call, info),
        **_source_headers(call, copied[-1], src_bucket),
    }
    return xml_response(xml.document("CopyObjectResult", children), headers=headers)


def parse_copy_range(header: str | None, size: int) -> tuple[int, int]:
    """
    The (offset, length) an ``x-amz-copy-source-range: bytes=first-last``
    selects of a C{size}-byte source; the whole source without the header.

    @raise S3Error: C{InvalidArgument} for a range that is not of the form
        ``bytes=first-last`` with C{first <= last}; C{InvalidRange} (416,
        as S3 answers) for a well-formed range that ends beyond the source.
    """
    if header is None:
        return 0, size
    unit, _, spec = header.strip().partition("=")
    first_s, dash, last_s = spec.partition("-")
    well_formed = (
        unit == "bytes" and bool(dash) and first_s.isdigit() and last_s.isdigit()
    )
    if not well_formed or int(first_s) > int(last_s):
        raise S3Error.of(
            "InvalidArgument",
            "The x-amz-copy-source-range value must be of the form "
            "bytes=first-last where first and last are the zero-based offsets "
            "of the first and last bytes to copy",
            ArgumentName="x-amz-copy-source-range",
            ArgumentValue=header,
        )
    first, last = int(first_s), int(last_s)
    if last >= size:
        raise S3Error.of(
            "InvalidRange",
            RangeRequested=header.strip(),
            ActualObjectSize=str(size),
        )
    return first, last - first + 1


def hash_range(
    file: BinaryIO, offset: int, length: int, algorithms: Sequence[str]
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """
    The hex MD5 and the C{algorithms} checksums of C{length} bytes of
    C{file} from C{offset}, read in bounded chunks (blocking: run it in a
    thread).  Closes C{file}.

    @raise OSError: if the file ends early.
    """
    md5 = hashlib.md5(usedforsecurity=False)
    sums = {alg: new_checksum(alg) for alg in algorithms}
    with file:
        file.seek(offset)
        remaining = length
        while remaining:
            data = file.read(min(HASH_CHUNK, remaining))
            if not data:
                raise OSError(f"source ended {remaining} bytes early")
            remaining -= len(data)
            md5.update(data)
            for c in sums.values():
                c.update(data)
    return md5.hexdigest(), tuple(sorted((a, c.b64digest()) for a, c in sums.items()))


def _reusable(
    source: ObjectInfo, offset: int, length: int, algorithms: Sequence[str]
) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """
    The part's ETag and checksums straight from the source's entry, when
    the part is the whole of a source uploaded in one piece whose stored
    checksums cover C{algorithms}: no need to read it.
    """
    stored = dict(source.meta.checksums)
    whole = offset == 0 and length == source.size and not source.parts
    plain_md5 = len(source.etag) == 32 and "-" not in source.etag
    if whole and plain_md5 and source.meta.checksum_type == "FULL_OBJECT":
        if all(a in stored for a in algorithms):
            return source.etag, tuple(sorted((a, stored[a]) for a in algorithms))
    return None


async def upload_part_copy(call: S3Call) -> Response:
    """
    UploadPartCopy: part N of the upload becomes a byte range of the
    source, sharing its blobs; the range is hashed for the part's ETag.
    """
    bucket, key = call.bucket, call.key
    upload = call.upload
    assert upload is not None, "the gate found the upload"
    number = part_number(call.operation.query.get("partNumber"))
    src_bucket, src_key, src_version = _source(call)
    algorithms = [upload.checksum_algorithm] if upload.checksum_algorithm else []
    algorithms = list(dict.fromkeys([*algorithms, DEFAULT_CHECKSUM]))
    store = call.config.store
    for _ in range(COPY_ATTEMPTS):
        source, file = store.open_object(src_bucket, src_key, src_version)
        try:
            check_source_conditions(call.head.headers, source)
            offset, length = parse_copy_range(
                call.header("x-amz-copy-source-range"), source.size
            )
            if length > MAX_PUT_SIZE:
                raise S3Error.of(
                    "InvalidRequest",
                    "The specified copy source is larger than the maximum "
                    f"allowable size for a copy source: {MAX_PUT_SIZE}",
                )
            known = _reusable(source, offset, length, algorithms)
            check_quota(call, length, 0)
        except BaseException:
            file.close()
            raise
        if known is not None:
            file.close()
            etag, checksums = known
        else:
            etag, checksums = await deferToThread(
                hash_range, file, offset, length, algorithms
            )
        try:
            part = await store.upload_part_copy(
                NewPart(bucket, key, upload.upload_id, number, etag, checksums),
                source,
                offset,
                length,
            )
        except SourceChanged:
            continue
        break
    else:
        raise S3Error.of("SlowDown")
    children: list[xml.Node] = [
        ("ETag", f'"{part.etag}"'),
        ("LastModified", xml.iso8601(part.last_modified)),
    ]
    if upload.checksum_algorithm is not None:
        value = part.checksum(upload.checksum_algorithm)
        if value is not None:
            children.append(("Checksum" + upload.checksum_algorithm, value))
    return xml_response(xml.document("CopyPartResult", children))
