"""
The state of a L{txs3.store.memory.MemoryStore} (buckets, objects as
extents over blobs held as bytes, uploads), the helpers every operation
shares, and the bucket operations.
"""

from __future__ import annotations

import bisect
import time
import uuid
from collections.abc import Callable, Mapping

from twisted.internet.defer import Deferred, fail, succeed

from txs3.errors import S3Error
from txs3.store.extents import Extent
from txs3.store.interface import (
    BucketInfo,
    CompletedUpload,
    IStagingFile,
    ObjectInfo,
    PartInfo,
    SourceChanged,
    UploadInfo,
    WriteCondition,
)
from txs3.store.memory.staging import MemoryStagingFile
from txs3.store.namespace import encode_key


class Bucket:
    def __init__(self, info: BucketInfo) -> None:
        self.info = info
        self.keys: list[bytes] = []  # sorted: byte order
        # An object and its extents (None: the single blob info.blob).
        self.objects: dict[bytes, tuple[ObjectInfo, list[Extent] | None]] = {}
        # Dropped with the bucket, so a bucket created again has no tags.
        self.tags: tuple[tuple[str, str], ...] = ()
        self.settings: dict[str, str] = {}


class Upload:
    def __init__(self, info: UploadInfo) -> None:
        self.info = info
        self.parts: dict[int, tuple[PartInfo, list[Extent]]] = {}


def _conflict() -> S3Error:
    return S3Error.of("ConditionalRequestConflict")


class MemoryCore:
    """The dictionaries, the shared helpers, and buckets."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._buckets: dict[str, Bucket] = {}
        self._staged: list[MemoryStagingFile] = []
        self._blobs: dict[str, bytes] = {}
        self._uploads: dict[str, Upload] = {}
        self._completed: dict[str, CompletedUpload] = {}

    def _bucket(self, name: str) -> Bucket:
        try:
            return self._buckets[name]
        except KeyError:
            raise S3Error.of("NoSuchBucket", BucketName=name) from None

    def create_bucket(
        self,
        name: str,
        owner_id: str,
        region: str,
        settings: Mapping[str, str] | None = None,
    ) -> Deferred[BucketInfo]:
        """See L{IObjectStore.create_bucket}."""
        existing = self._buckets.get(name)
        if existing is not None:
            code = (
                "BucketAlreadyOwnedByYou"
                if existing.info.owner_id == owner_id
                else "BucketAlreadyExists"
            )
            return fail(S3Error.of(code, BucketName=name))
        info = BucketInfo(name, owner_id, self._now(), region)
        self._buckets[name] = Bucket(info)
        self._buckets[name].settings.update(settings or {})
        return succeed(info)

    def get_bucket(self, name: str) -> BucketInfo:
        """See L{IObjectStore.get_bucket}."""
        return self._bucket(name).info

    def list_buckets(self, owner_id: str) -> list[BucketInfo]:
        """See L{IObjectStore.list_buckets}."""
        return sorted(
            (b.info for b in self._buckets.values() if b.info.owner_id == owner_id),
            key=lambda info: info.name,
        )

    def delete_bucket(self, name: str) -> Deferred[None]:
        """See L{IObjectStore.delete_bucket}."""
        try:
            bucket = self._bucket(name)
        except S3Error as e:
            return fail(e)
        if bucket.keys:
            return fail(S3Error.of("BucketNotEmpty", BucketName=name))
        for upload_id, upload in list(self._uploads.items()):
            if upload.info.bucket == name:
                del self._uploads[upload_id]
        for upload_id, record in list(self._completed.items()):
            if record.bucket == name:
                del self._completed[upload_id]
        del self._buckets[name]
        return succeed(None)

    def open_staging(self) -> IStagingFile:
        """See L{IObjectStore.open_staging}."""
        staging = MemoryStagingFile()
        self._staged.append(staging)
        return staging

    def staging_count(self) -> int:
        """How many staging files hold bytes now: neither discarded nor published."""
        return sum(1 for s in self._staged if s.size() or s.is_open())

    def _new_blob(self, data: bytes) -> str:
        blob = uuid.uuid4().hex
        self._blobs[blob] = data
        return blob

    @staticmethod
    def _check(
        target: Bucket, raw_key: bytes, condition: WriteCondition | None
    ) -> None:
        if condition is None:
            return
        found = target.objects.get(raw_key)
        if not condition.holds(found[0].etag if found is not None else None):
            raise _conflict()

    @staticmethod
    def _store(
        target: Bucket, raw_key: bytes, info: ObjectInfo, extents: list[Extent] | None
    ) -> None:
        if raw_key not in target.objects:
            bisect.insort(target.keys, raw_key)
        target.objects[raw_key] = (info, extents)

    def _get(self, bucket: str, key: str) -> tuple[ObjectInfo, list[Extent] | None]:
        raw_key = encode_key(key)
        found = self._bucket(bucket).objects.get(raw_key)
        if found is None:
            raise S3Error.of("NoSuchKey", Key=key)
        return found

    def _source(self, source: ObjectInfo) -> list[Extent]:
        """The current extents of copy source C{source}; L{SourceChanged}."""
        try:
            info, extents = self._get(source.bucket, source.key)
        except S3Error:
            raise SourceChanged(f"{source.bucket}/{source.key}") from None
        if info.version != source.version:
            raise SourceChanged(f"{source.bucket}/{source.key}")
        return [Extent(info.blob, 0, info.size)] if extents is None else extents

    def _upload(self, bucket: str, key: str, upload_id: str) -> Upload:
        encode_key(key)
        self._bucket(bucket)
        upload = self._uploads.get(upload_id)
        if upload is None or (upload.info.bucket, upload.info.key) != (bucket, key):
            raise S3Error.of("NoSuchUpload", UploadId=upload_id)
        return upload

    def close(self) -> Deferred[None]:
        """See L{IObjectStore.close}; nothing to release."""
        return succeed(None)
