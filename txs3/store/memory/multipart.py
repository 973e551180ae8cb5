"""
Multipart uploads in the memory store (listing them: C{listing}).
"""

from __future__ import annotations

import dataclasses
import uuid

from twisted.internet.defer import Deferred, fail, succeed

from txs3.errors import S3Error
from txs3.store.extents import Extent, part_sizes, slice_extents
from txs3.store.interface import (
    COMPLETED_UPLOAD_TTL,
    CompletedUpload,
    IStagingFile,
    ObjectInfo,
    ObjectMeta,
    PartInfo,
    PartsPage,
    SourceChanged,
    UploadInfo,
    WriteCondition,
)
from txs3.store.memory.core import MemoryCore, Upload
from txs3.store.memory.staging import MemoryStagingFile
from txs3.store.namespace import encode_key


class MultipartMixin(MemoryCore):
    """Uploads in progress."""

    def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        meta: ObjectMeta,
        owner_id: str,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
    ) -> Deferred[UploadInfo]:
        """See L{IObjectStore.create_multipart_upload}."""
        try:
            encode_key(key)
            self._bucket(bucket)
        except S3Error as e:
            return fail(e)
        now = self._now()
        info = UploadInfo(
            upload_id=f"{int(now * 1_000_000) & ((1 << 56) - 1):014x}"
            + uuid.uuid4().hex[:18],
            bucket=bucket,
            key=key,
            initiated=now,
            owner_id=owner_id,
            meta=meta,
            checksum_algorithm=checksum_algorithm,
            checksum_type=checksum_type,
        )
        self._uploads[info.upload_id] = Upload(info)
        return succeed(info)

    def get_upload(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        """See L{IObjectStore.get_upload}."""
        return self._upload(bucket, key, upload_id).info

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        staging: IStagingFile,
        etag: str,
        checksums: tuple[tuple[str, str], ...],
    ) -> Deferred[PartInfo]:
        """See L{IObjectStore.upload_part}."""
        if not isinstance(staging, MemoryStagingFile):
            raise ValueError("staging file does not belong to this store")
        data = staging.take()
        try:
            upload = self._upload(bucket, key, upload_id)
        except S3Error as e:
            return fail(e)
        part = PartInfo(part_number, len(data), etag, self._now(), checksums)
        upload.parts[part_number] = (part, [Extent(self._new_blob(data), 0, len(data))])
        return succeed(part)

    def upload_part_copy(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        source: ObjectInfo,
        offset: int,
        length: int,
        etag: str,
        checksums: tuple[tuple[str, str], ...],
    ) -> Deferred[PartInfo]:
        """See L{IObjectStore.upload_part_copy}."""
        try:
            upload = self._upload(bucket, key, upload_id)
            piece = slice_extents(self._source(source), offset, length)
        except (S3Error, SourceChanged) as e:
            return fail(e)
        part = PartInfo(part_number, length, etag, self._now(), checksums)
        upload.parts[part_number] = (part, piece)
        return succeed(part)

    def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number_marker: int,
        max_parts: int,
    ) -> Deferred[PartsPage]:
        """See L{IObjectStore.list_parts}."""
        try:
            upload = self._upload(bucket, key, upload_id)
        except S3Error as e:
            return fail(e)
        numbers = sorted(n for n in upload.parts if n > part_number_marker)
        shown = numbers[: max(max_parts, 0)]
        truncated = len(numbers) > len(shown)
        return succeed(
            PartsPage(
                upload.info,
                [upload.parts[n][0] for n in shown],
                truncated,
                shown[-1] if truncated and shown else None,
            )
        )

    def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[tuple[int, str]],
        etag: str,
        checksums: tuple[tuple[str, str], ...],
        checksum_type: str,
        condition: WriteCondition | None = None,
    ) -> Deferred[ObjectInfo]:
        """See L{IObjectStore.complete_multipart_upload}."""
        try:
            upload = self._upload(bucket, key, upload_id)
            raw_key = encode_key(key)
            target = self._bucket(bucket)
            self._check(target, raw_key, condition)
            extents: list[Extent] = []
            for position, (number, part_etag) in enumerate(parts, 1):
                found = upload.parts.get(number)
                if found is None or found[0].etag != part_etag:
                    raise S3Error.of(
                        "InvalidPart",
                        UploadId=upload_id,
                        PartNumber=str(number),
                        ETag=part_etag,
                    )
                extents += [
                    Extent(e.blob, e.offset, e.length, position) for e in found[1]
                ]
        except S3Error as e:
            return fail(e)
        meta = upload.info.meta
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=sum(e.length for e in extents),
            etag=etag,
            last_modified=self._now(),
            meta=dataclasses.replace(
                meta, checksums=checksums, checksum_type=checksum_type
            ),
            owner_id=upload.info.owner_id,
            version=uuid.uuid4().hex,
            parts=part_sizes(extents),
        )
        del self._uploads[upload_id]
        self._store(target, raw_key, info, extents)
        # Records past their time go here: the memory store has no sweep.
        horizon = info.last_modified - COMPLETED_UPLOAD_TTL
        for old_id, old in list(self._completed.items()):
            if old.completed < horizon:
                del self._completed[old_id]
        self._completed[upload_id] = CompletedUpload(
            upload_id=upload_id,
            bucket=bucket,
            key=key,
            parts=tuple(parts),
            etag=etag,
            version=info.version,
            completed=info.last_modified,
            checksums=checksums,
            checksum_type=checksum_type,
            checksum_algorithm=upload.info.checksum_algorithm,
        )
        return succeed(info)

    def get_completed_upload(
        self, bucket: str, key: str, upload_id: str
    ) -> CompletedUpload:
        """See L{IObjectStore.get_completed_upload}."""
        encode_key(key)
        self._bucket(bucket)
        record = self._completed.get(upload_id)
        if (
            record is None
            or (record.bucket, record.key) != (bucket, key)
            or record.completed < self._now() - COMPLETED_UPLOAD_TTL
        ):
            raise S3Error.of("NoSuchUpload", UploadId=upload_id)
        return record

    def abort_multipart_upload(
        self, bucket: str, key: str, upload_id: str
    ) -> Deferred[None]:
        """See L{IObjectStore.abort_multipart_upload}."""
        try:
            self._upload(bucket, key, upload_id)
        except S3Error as e:
            return fail(e)
        del self._uploads[upload_id]
        return succeed(None)
