"""
Rules that both stores apply the same way, as pure functions: what makes
a listed part invalid, the object and the record a L{Completion} produces,
and the entry of a copy.  Each store reads and writes its own index; these
only build the values.
"""

from __future__ import annotations

import dataclasses

from txs3.errors import S3Error
from txs3.store.extents import Extent, part_sizes
from txs3.store.interface import (
    CompletedUpload,
    Completion,
    Destination,
    ObjectInfo,
    ObjectMeta,
    UploadInfo,
    new_version_id,
)


def invalid_part(done: Completion, number: int, etag: str) -> S3Error:
    """
    The C{InvalidPart} error for listed part C{number} with ETag C{etag} of
    C{done}, missing from the upload or stored with another ETag.
    """
    return S3Error.of(
        "InvalidPart", UploadId=done.upload_id, PartNumber=str(number), ETag=etag
    )


def completed_object(
    done: Completion,
    upload: UploadInfo,
    extents: list[Extent],
    now: float,
    version: str,
) -> ObjectInfo:
    """
    The entry of the object that C{done} makes of C{upload}, whose listed
    parts' C{extents} (in order, each carrying its part's position) are the
    object's bytes: everything CreateMultipartUpload stored (headers,
    metadata, tags, owner, Object Lock) with the completion's ETag and
    checksums (and its default retention if the upload asked for none),
    written at C{now} as version C{version}.
    """
    return ObjectInfo(
        bucket=done.bucket,
        key=done.key,
        size=sum(e.length for e in extents),
        etag=done.etag,
        last_modified=now,
        meta=dataclasses.replace(
            upload.meta,
            checksums=done.checksums,
            checksum_type=done.checksum_type,
            retention=upload.meta.retention or done.retention,
        ),
        owner_id=upload.owner_id,
        version=version,
        parts=part_sizes(extents),
        version_id=new_version_id(done.versioning),
    )


def completion_record(
    done: Completion, upload: UploadInfo, info: ObjectInfo
) -> CompletedUpload:
    """The record of C{done}, which completed C{upload} as the object C{info}."""
    return CompletedUpload(
        upload_id=done.upload_id,
        bucket=done.bucket,
        key=done.key,
        parts=tuple(done.parts),
        etag=done.etag,
        version=info.version,
        completed=info.last_modified,
        checksums=done.checksums,
        checksum_type=done.checksum_type,
        checksum_algorithm=upload.checksum_algorithm,
    )


def copied_object(
    source: ObjectInfo,
    extents: list[Extent] | None,
    dest: Destination,
    meta: ObjectMeta,
    now: float,
    version: str,
) -> ObjectInfo:
    """
    The entry of a copy of C{source} at C{dest} with metadata C{meta},
    written at C{now} as version C{version}: the source's size and ETag,
    naming its single blob when C{extents} is None, else its C{extents}
    (with the part sizes they record).
    """
    return dest.entry(
        size=source.size,
        etag=source.etag,
        meta=meta,
        last_modified=now,
        version=version,
        blob=source.blob if extents is None else "",
        parts=part_sizes(extents) if extents is not None else (),
    )


def delete_marker_error(code: str, version_id: str, **extra: str) -> S3Error:
    """
    S3's error naming a delete marker (C{NoSuchKey} for a key whose latest
    version is one, C{MethodNotAllowed} for a GET of one), with the
    C{x-amz-delete-marker} and C{x-amz-version-id} headers S3 adds.
    """
    error = S3Error.of(code, **extra)
    error.headers.update(
        {"x-amz-delete-marker": "true", "x-amz-version-id": version_id}
    )
    return error


def same_version(found: ObjectInfo, expected: ObjectInfo) -> bool:
    """
    Whether C{found} is the very version C{expected} was read as: the same
    S3 version id, kind, write (L{ObjectInfo.version}, unique per write of
    an object) and time.  A C{null} version replaced by a newer C{null}
    one, or a delete marker by another, is a different version.
    """
    return (
        found.version_id == expected.version_id
        and found.delete_marker == expected.delete_marker
        and found.version == expected.version
        and found.last_modified == expected.last_modified
    )


def check_expected(found: ObjectInfo | None, expected: ObjectInfo | None) -> None:
    """
    Inside a deletion's commit: refuse it unless the version it would act
    on (C{found}, None when there is none) is C{expected}, when given (see
    L{txs3.store.values.Deletion.expected}).

    @raise S3Error: C{ConditionalRequestConflict}.
    """
    if expected is None:
        return
    if found is None or not same_version(found, expected):
        raise S3Error.of("ConditionalRequestConflict")
