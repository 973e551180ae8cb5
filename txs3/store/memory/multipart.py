"""
Multipart uploads in the memory store (listing them: C{listing}).
"""

from __future__ import annotations

import uuid

from twisted.internet.defer import Deferred, fail, succeed

from txs3.errors import S3Error
from txs3.store.extents import Extent, slice_extents
from txs3.store.interface import (
    COMPLETED_UPLOAD_TTL,
    CompletedUpload,
    Completion,
    IStagingFile,
    NewPart,
    NewUpload,
    ObjectInfo,
    PartInfo,
    PartsPage,
    SourceChanged,
    UploadInfo,
)
from txs3.store.memory.core import MemoryCore, Upload
from txs3.store.memory.staging import MemoryStagingFile
from txs3.store.namespace import encode_key
from txs3.store.rules import completed_object, completion_record, invalid_part


class MultipartMixin(MemoryCore):
    """Uploads in progress."""

    def create_multipart_upload(self, upload: NewUpload) -> Deferred[UploadInfo]:
        """See L{IObjectStore.create_multipart_upload}."""
        try:
            encode_key(upload.key)
            self._bucket(upload.bucket)
        except S3Error as e:
            return fail(e)
        now = self._now()
        upload_id = (
            f"{int(now * 1_000_000) & ((1 << 56) - 1):014x}" + uuid.uuid4().hex[:18]
        )
        info = upload.info(upload_id, now)
        self._uploads[info.upload_id] = Upload(info)
        return succeed(info)

    def get_upload(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        """See L{IObjectStore.get_upload}."""
        return self._upload(bucket, key, upload_id).info

    def upload_part(self, part: NewPart, staging: IStagingFile) -> Deferred[PartInfo]:
        """See L{IObjectStore.upload_part}."""
        if not isinstance(staging, MemoryStagingFile):
            raise ValueError("staging file does not belong to this store")
        data = staging.take()
        try:
            upload = self._upload(part.bucket, part.key, part.upload_id)
        except S3Error as e:
            return fail(e)
        info = part.info(len(data), self._now())
        extents = [Extent(self._new_blob(data), 0, len(data))]
        upload.parts[part.part_number] = (info, extents)
        return succeed(info)

    def upload_part_copy(
        self, part: NewPart, source: ObjectInfo, offset: int, length: int
    ) -> Deferred[PartInfo]:
        """See L{IObjectStore.upload_part_copy}."""
        try:
            upload = self._upload(part.bucket, part.key, part.upload_id)
            piece = slice_extents(self._source(source), offset, length)
        except (S3Error, SourceChanged) as e:
            return fail(e)
        info = part.info(length, self._now())
        upload.parts[part.part_number] = (info, piece)
        return succeed(info)

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

    def complete_multipart_upload(self, done: Completion) -> Deferred[ObjectInfo]:
        """See L{IObjectStore.complete_multipart_upload}."""
        try:
            upload = self._upload(done.bucket, done.key, done.upload_id)
            raw_key = encode_key(done.key)
            target = self._bucket(done.bucket)
            self._check(target, raw_key, done.condition)
            extents: list[Extent] = []
            for position, (number, part_etag) in enumerate(done.parts, 1):
                found = upload.parts.get(number)
                if found is None or found[0].etag != part_etag:
                    raise invalid_part(done, number, part_etag)
                extents += [
                    Extent(e.blob, e.offset, e.length, position) for e in found[1]
                ]
        except S3Error as e:
            return fail(e)
        info = completed_object(
            done, upload.info, extents, self._now(), uuid.uuid4().hex
        )
        del self._uploads[done.upload_id]
        self._store_version(target, raw_key, info, extents, done.versioning)
        # Records past their time go here: the memory store has no sweep.
        horizon = info.last_modified - COMPLETED_UPLOAD_TTL
        for old_id, old in list(self._completed.items()):
            if old.completed < horizon:
                del self._completed[old_id]
        self._completed[done.upload_id] = completion_record(done, upload.info, info)
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
