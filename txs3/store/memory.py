"""
L{MemoryStore}: the L{IObjectStore} contract in dictionaries, for handler
tests.

It honours the same contract as L{txs3.store.sqlite.SQLiteStore} (the suite
in C{tests/test_store_contract.py} runs against both), including the
listing walk of L{txs3.store.namespace}, over a sorted list of each
bucket's keys.  Deferreds fire synchronously: no threads, no reactor.
Object bytes live in memory, so it is for tests only.  Like the SQLite
store, an object is a list of L{Extent}s over immutable blobs (here: bytes
by id), so copies and completed uploads share their blobs and read through
the same L{ExtentReader}.
"""

from __future__ import annotations

import bisect
import dataclasses
import io
import time
import uuid
from collections.abc import Callable, Iterator
from typing import BinaryIO, cast

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from txs3.errors import S3Error
from txs3.store.extents import Extent, ExtentReader, part_sizes, slice_extents
from txs3.store.interface import (
    BucketInfo,
    IObjectStore,
    IStagingFile,
    ListPage,
    ObjectInfo,
    ObjectMeta,
    PartInfo,
    PartsPage,
    SourceChanged,
    UploadInfo,
    UploadsPage,
    WriteCondition,
)
from txs3.store.namespace import encode_key, encode_text, list_page, uploads_page


@implementer(IStagingFile)
class MemoryStagingFile:
    """
    A staging file backed by a C{BytesIO}.

    @ivar full: set to True to make the next L{write} fail as if the disk
        were full (for tests of the error path).
    """

    def __init__(self) -> None:
        self._buffer: io.BytesIO | None = io.BytesIO()
        self._handed_over = False
        self.full = False

    def write(self, data: bytes) -> None:
        """See L{IStagingFile.write}."""
        if self._buffer is None or self._handed_over:
            raise ValueError("staging file is closed")
        if self.full:
            self.discard()
            raise S3Error.of("InsufficientStorage")
        self._buffer.write(data)

    def size(self) -> int:
        """See L{IStagingFile.size}."""
        return 0 if self._buffer is None else self._buffer.tell()

    def discard(self) -> None:
        """See L{IStagingFile.discard}."""
        self._buffer = None

    def is_open(self) -> bool:
        """Whether the file is neither discarded nor published."""
        return self._buffer is not None and not self._handed_over

    def take(self) -> bytes:
        """
        The bytes written, closing the file to further use.

        @raise ValueError: if discarded or already taken.
        """
        if self._buffer is None or self._handed_over:
            raise ValueError("staging file is not open")
        self._handed_over = True
        data, self._buffer = self._buffer.getvalue(), None
        return data


class _Bucket:
    def __init__(self, info: BucketInfo) -> None:
        self.info = info
        self.keys: list[bytes] = []  # sorted: byte order
        # An object and its extents (None: the single blob info.blob).
        self.objects: dict[bytes, tuple[ObjectInfo, list[Extent] | None]] = {}
        # Dropped with the bucket, so a bucket created again has no tags.
        self.tags: tuple[tuple[str, str], ...] = ()


class _Upload:
    def __init__(self, info: UploadInfo) -> None:
        self.info = info
        self.parts: dict[int, tuple[PartInfo, list[Extent]]] = {}


def _conflict() -> S3Error:
    return S3Error.of("ConditionalRequestConflict")


@implementer(IObjectStore)
class MemoryStore:
    """An in-memory L{IObjectStore}; C{now} is its clock."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._buckets: dict[str, _Bucket] = {}
        self._staged: list[MemoryStagingFile] = []
        self._blobs: dict[str, bytes] = {}
        self._uploads: dict[str, _Upload] = {}

    def _bucket(self, name: str) -> _Bucket:
        try:
            return self._buckets[name]
        except KeyError:
            raise S3Error.of("NoSuchBucket", BucketName=name) from None

    def create_bucket(
        self, name: str, owner_id: str, region: str
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
        self._buckets[name] = _Bucket(info)
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

    def put_object(
        self,
        bucket: str,
        key: str,
        staging: IStagingFile,
        etag: str,
        meta: ObjectMeta,
        owner_id: str,
        condition: WriteCondition | None = None,
    ) -> Deferred[ObjectInfo]:
        """See L{IObjectStore.put_object}."""
        if not isinstance(staging, MemoryStagingFile):
            raise ValueError("staging file does not belong to this store")
        data = staging.take()
        try:
            raw_key = encode_key(key)
            target = self._bucket(bucket)
            self._check(target, raw_key, condition)
        except S3Error as e:
            return fail(e)
        blob = self._new_blob(data)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=etag,
            last_modified=self._now(),
            meta=meta,
            owner_id=owner_id,
            blob=blob,
            version=uuid.uuid4().hex,
        )
        self._store(target, raw_key, info, None)
        return succeed(info)

    def _new_blob(self, data: bytes) -> str:
        blob = uuid.uuid4().hex
        self._blobs[blob] = data
        return blob

    @staticmethod
    def _check(
        target: _Bucket, raw_key: bytes, condition: WriteCondition | None
    ) -> None:
        if condition is None:
            return
        found = target.objects.get(raw_key)
        if not condition.holds(found[0].etag if found is not None else None):
            raise _conflict()

    @staticmethod
    def _store(
        target: _Bucket, raw_key: bytes, info: ObjectInfo, extents: list[Extent] | None
    ) -> None:
        if raw_key not in target.objects:
            bisect.insort(target.keys, raw_key)
        target.objects[raw_key] = (info, extents)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        """See L{IObjectStore.head_object}."""
        return self._get(bucket, key)[0]

    def open_object(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        """See L{IObjectStore.open_object}."""
        info, extents = self._get(bucket, key)
        if extents is None:
            return info, io.BytesIO(self._blobs[info.blob])
        files = {e.blob: io.BytesIO(self._blobs[e.blob]) for e in extents}
        pieces = [(cast(BinaryIO, files[e.blob]), e.offset, e.length) for e in extents]
        return info, cast(BinaryIO, ExtentReader(pieces))

    def _get(self, bucket: str, key: str) -> tuple[ObjectInfo, list[Extent] | None]:
        raw_key = encode_key(key)
        found = self._bucket(bucket).objects.get(raw_key)
        if found is None:
            raise S3Error.of("NoSuchKey", Key=key)
        return found

    def delete_object(self, bucket: str, key: str) -> Deferred[bool]:
        """See L{IObjectStore.delete_object}."""
        try:
            raw_key = encode_key(key)
            target = self._bucket(bucket)
        except S3Error as e:
            return fail(e)
        if target.objects.pop(raw_key, None) is None:
            return succeed(False)
        del target.keys[bisect.bisect_left(target.keys, raw_key)]
        return succeed(True)

    def delete_objects(self, bucket: str, keys: list[str]) -> Deferred[dict[str, bool]]:
        """See L{IObjectStore.delete_objects}."""
        try:
            raw_keys = [encode_key(k) for k in keys]
            target = self._bucket(bucket)
        except S3Error as e:
            return fail(e)
        existed: dict[str, bool] = {}
        for key, raw_key in zip(keys, raw_keys, strict=True):
            found = target.objects.pop(raw_key, None) is not None
            if found:
                del target.keys[bisect.bisect_left(target.keys, raw_key)]
            existed[key] = existed.get(key, False) or found
        return succeed(existed)

    def _source(self, source: ObjectInfo) -> list[Extent]:
        """The current extents of copy source C{source}; L{SourceChanged}."""
        try:
            info, extents = self._get(source.bucket, source.key)
        except S3Error:
            raise SourceChanged(f"{source.bucket}/{source.key}") from None
        if info.version != source.version:
            raise SourceChanged(f"{source.bucket}/{source.key}")
        return [Extent(info.blob, 0, info.size)] if extents is None else extents

    def copy_object(
        self,
        source: ObjectInfo,
        bucket: str,
        key: str,
        meta: ObjectMeta,
        owner_id: str,
        condition: WriteCondition | None = None,
    ) -> Deferred[ObjectInfo]:
        """See L{IObjectStore.copy_object}."""
        try:
            raw_key = encode_key(key)
            target = self._bucket(bucket)
            extents = self._source(source)
            self._check(target, raw_key, condition)
        except (S3Error, SourceChanged) as e:
            return fail(e)
        single = source.blob  # "" for an object made of extents
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=source.size,
            etag=source.etag,
            last_modified=self._now(),
            meta=meta,
            owner_id=owner_id,
            blob=single,
            version=uuid.uuid4().hex,
            parts=() if single else part_sizes(extents),
        )
        self._store(target, raw_key, info, None if single else extents)
        return succeed(info)

    # -- multipart uploads --

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
        self._uploads[info.upload_id] = _Upload(info)
        return succeed(info)

    def _upload(self, bucket: str, key: str, upload_id: str) -> _Upload:
        encode_key(key)
        self._bucket(bucket)
        upload = self._uploads.get(upload_id)
        if upload is None or (upload.info.bucket, upload.info.key) != (bucket, key):
            raise S3Error.of("NoSuchUpload", UploadId=upload_id)
        return upload

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

    def list_multipart_uploads(
        self,
        bucket: str,
        prefix: str,
        delimiter: str,
        key_marker: str,
        upload_id_marker: str,
        max_uploads: int,
    ) -> Deferred[UploadsPage]:
        """See L{IObjectStore.list_multipart_uploads}."""
        try:
            self._bucket(bucket)
            marker = encode_text(key_marker, "key-marker")
            rows = sorted(
                (u.info.key.encode("utf-8"), u.info.upload_id, u.info)
                for u in self._uploads.values()
                if u.info.bucket == bucket
            )

            def scan(
                lo: bytes, inclusive: bool, hi: bytes | None, limit: int
            ) -> Iterator[tuple[bytes, UploadInfo]]:
                def wanted(raw: bytes, upload_id: str) -> bool:
                    if hi is not None and raw >= hi:
                        return False
                    if raw == lo and not inclusive:
                        # The marker key's own uploads after the id marker.
                        return (
                            bool(upload_id_marker)
                            and lo == marker
                            and (upload_id > upload_id_marker)
                        )
                    return raw >= lo

                hits = [(raw, info) for raw, uid, info in rows if wanted(raw, uid)]
                yield from hits[:limit]

            walk = list_page(
                scan,
                encode_text(prefix, "prefix"),
                encode_text(delimiter, "delimiter"),
                marker,
                max_uploads,
            )
        except S3Error as e:
            return fail(e)
        return succeed(
            uploads_page(
                walk.contents, walk.common_prefixes, walk.is_truncated, walk.next_marker
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
        return succeed(info)

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

    def list_objects(
        self,
        bucket: str,
        prefix: str,
        delimiter: str,
        start_after: str,
        max_keys: int,
    ) -> Deferred[ListPage]:
        """See L{IObjectStore.list_objects} and L{txs3.store.namespace}."""
        try:
            target = self._bucket(bucket)
            walk = list_page(
                self._scanner(target),
                encode_text(prefix, "prefix"),
                encode_text(delimiter, "delimiter"),
                encode_text(start_after, "start-after"),
                max_keys,
            )
        except S3Error as e:
            return fail(e)
        return succeed(
            ListPage(
                contents=walk.contents,
                common_prefixes=[p.decode("utf-8") for p in walk.common_prefixes],
                is_truncated=walk.is_truncated,
                next_marker=(
                    walk.next_marker.decode("utf-8")
                    if walk.next_marker is not None
                    else None
                ),
                rows_read=walk.rows_read,
            )
        )

    @staticmethod
    def _scanner(
        target: _Bucket,
    ) -> Callable[[bytes, bool, bytes | None, int], Iterator[tuple[bytes, ObjectInfo]]]:
        def scan(
            lo: bytes, inclusive: bool, hi: bytes | None, limit: int
        ) -> Iterator[tuple[bytes, ObjectInfo]]:
            keys = target.keys
            find = bisect.bisect_left if inclusive else bisect.bisect_right
            i = find(keys, lo)
            end = len(keys) if hi is None else bisect.bisect_left(keys, hi)
            for raw in keys[i : min(end, i + limit)]:
                yield raw, target.objects[raw][0]

        return scan

    def close(self) -> Deferred[None]:
        """See L{IObjectStore.close}; nothing to release."""
        return succeed(None)

    # -- tagging --------------------------------------------------------------

    def put_object_tagging(
        self, bucket: str, key: str, tags: tuple[tuple[str, str], ...]
    ) -> Deferred[None]:
        """See L{IObjectStore.put_object_tagging}."""
        try:
            info, extents = self._get(bucket, key)
        except S3Error as e:
            return fail(e)
        meta = dataclasses.replace(info.meta, tags=tuple(tags))
        self._bucket(bucket).objects[encode_key(key)] = (
            dataclasses.replace(info, meta=meta),
            extents,
        )
        return succeed(None)

    def get_bucket_tagging(self, bucket: str) -> tuple[tuple[str, str], ...]:
        """See L{IObjectStore.get_bucket_tagging}."""
        return self._bucket(bucket).tags

    def put_bucket_tagging(
        self, bucket: str, tags: tuple[tuple[str, str], ...]
    ) -> Deferred[None]:
        """See L{IObjectStore.put_bucket_tagging}."""
        try:
            self._bucket(bucket).tags = tuple(tags)
        except S3Error as e:
            return fail(e)
        return succeed(None)
