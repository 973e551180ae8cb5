"""
The state of a L{txs3.store.memory.MemoryStore} (buckets, objects as
extents over blobs held as bytes, uploads), the helpers every operation
shares, and the bucket operations.
"""

from __future__ import annotations

import bisect
import dataclasses
import time
import uuid
from collections.abc import Callable, Mapping

from twisted.internet.defer import Deferred, fail, succeed

from txs3.errors import S3Error
from txs3.store.extents import Extent
from txs3.store.interface import (
    NULL_VERSION,
    BucketInfo,
    CompletedUpload,
    IStagingFile,
    ObjectInfo,
    ObjectMeta,
    PartInfo,
    Quota,
    QuotaState,
    SourceChanged,
    UploadInfo,
    Usage,
    Versioning,
    WriteCondition,
)
from txs3.store.memory.staging import MemoryStagingFile
from txs3.store.namespace import encode_key
from txs3.store.rules import delete_marker_error

Entry = tuple[ObjectInfo, list[Extent] | None]


class Bucket:
    def __init__(self, info: BucketInfo) -> None:
        self.info = info
        self.keys: list[bytes] = []  # sorted: byte order
        # An object and its extents (None: the single blob info.blob).
        self.objects: dict[bytes, tuple[ObjectInfo, list[Extent] | None]] = {}
        # Dropped with the bucket, so a bucket created again has no tags.
        self.tags: tuple[tuple[str, str], ...] = ()
        # Noncurrent versions and delete markers of each key, newest first
        # (the current object is in objects): the SQLite store's rules,
        # txs3.store.sqlite.versions.
        self.history: dict[bytes, list[Entry]] = {}
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
        # Background passes' leases: name -> (holder, until).
        self._leases: dict[str, tuple[str, float]] = {}
        # (kind, name) -> quota, set by tests (txs3-admin sets the index's).
        self.quotas: dict[tuple[str, str], Quota] = {}

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
        if bucket.keys or any(bucket.history.values()):
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
        """
        The extents of copy source C{source}, current or a kept noncurrent
        version; L{SourceChanged} when it is gone.
        """
        try:
            target = self._bucket(source.bucket)
        except S3Error:
            raise SourceChanged(f"{source.bucket}/{source.key}") from None
        raw_key = encode_key(source.key)
        candidates = list(target.history.get(raw_key, ()))
        if raw_key in target.objects:
            candidates.insert(0, target.objects[raw_key])
        for info, extents in candidates:
            if info.version == source.version and not info.delete_marker:
                return [Extent(info.blob, 0, info.size)] if extents is None else extents
        raise SourceChanged(f"{source.bucket}/{source.key}")

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

    def quota_state(self, bucket: str) -> QuotaState:
        """See L{IObjectStore.quota_state}; the owner is the bucket's owner id."""
        target = self._bucket(bucket)

        def usage(b: Bucket) -> Usage:
            sizes = [info.size for info, _ in b.objects.values()]
            sizes += [
                i.size for h in b.history.values() for i, _ in h if not i.delete_marker
            ]
            return Usage(len(sizes), sum(sizes))

        owner = target.info.owner_id
        mine = [b for b in self._buckets.values() if b.info.owner_id == owner]
        total = [usage(b) for b in mine]
        return QuotaState(
            bucket=bucket,
            usage=usage(target),
            quota=self.quotas.get(("bucket", bucket)),
            owner=owner,
            owner_usage=Usage(
                sum(u.objects for u in total), sum(u.bytes for u in total)
            ),
            owner_quota=self.quotas.get(("user", owner)),
        )

    # -- versions ---------------------------------------------------------------

    def _drop_current(self, target: Bucket, raw_key: bytes) -> Entry | None:
        found = target.objects.pop(raw_key, None)
        if found is not None:
            del target.keys[bisect.bisect_left(target.keys, raw_key)]
        return found

    def _make_room(
        self,
        target: Bucket,
        raw_key: bytes,
        versioning: Versioning,
        guard: Callable[[ObjectInfo], None] | None = None,
    ) -> None:
        """As L{txs3.store.sqlite.versions.make_room}."""
        current = target.objects.get(raw_key)
        if not versioning:
            if guard is not None and current is not None:
                guard(current[0])
            self._drop_current(target, raw_key)
            return
        history = target.history.setdefault(raw_key, [])
        if versioning == "Suspended":
            for info, _ in history:
                if info.version_id == NULL_VERSION and guard is not None:
                    guard(info)
            history[:] = [e for e in history if e[0].version_id != NULL_VERSION]
            if current is not None and current[0].version_id == NULL_VERSION:
                if guard is not None:
                    guard(current[0])
                self._drop_current(target, raw_key)
                current = None
        if current is not None:
            self._drop_current(target, raw_key)
            history.insert(
                0, (dataclasses.replace(current[0], is_latest=False), current[1])
            )

    def _store_version(
        self,
        target: Bucket,
        raw_key: bytes,
        info: ObjectInfo,
        extents: list[Extent] | None,
        versioning: Versioning,
    ) -> None:
        """Make C{info} the key's current object under C{versioning}."""
        self._make_room(target, raw_key, versioning)
        self._store(target, raw_key, info, extents)

    def _promote(self, target: Bucket, raw_key: bytes) -> None:
        history = target.history.get(raw_key)
        if raw_key in target.objects or not history or history[0][0].delete_marker:
            return
        info, extents = history.pop(0)
        self._store(target, raw_key, dataclasses.replace(info, is_latest=True), extents)

    def _find(
        self, target: Bucket, raw_key: bytes, version_id: str
    ) -> tuple[Entry, bool] | None:
        current = target.objects.get(raw_key)
        if current is not None and current[0].version_id == version_id:
            return current, True
        for entry in target.history.get(raw_key, ()):
            if entry[0].version_id == version_id:
                return entry, False
        return None

    def _version(self, bucket: str, key: str, version_id: str) -> Entry:
        """Version C{version_id} of the key; the errors of head_object."""
        raw_key = encode_key(key)
        found = self._find(self._bucket(bucket), raw_key, version_id)
        if found is None:
            raise S3Error.of("NoSuchVersion", Key=key, VersionId=version_id)
        (info, extents), _ = found
        if info.delete_marker:
            raise delete_marker_error(
                "MethodNotAllowed",
                version_id,
                Method="GET",
                ResourceType="DeleteMarker",
            )
        return info, extents

    def _missing(self, bucket: str, key: str) -> S3Error:
        """NoSuchKey for C{key}, naming its delete marker if that is its latest."""
        history = self._bucket(bucket).history.get(encode_key(key))
        if history and history[0][0].delete_marker:
            return delete_marker_error("NoSuchKey", history[0][0].version_id, Key=key)
        return S3Error.of("NoSuchKey", Key=key)

    def _replace_version(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        change: Callable[[ObjectMeta], ObjectMeta],
    ) -> None:
        """Replace the metadata of the current object or of version C{version_id}."""
        target = self._bucket(bucket)
        raw_key = encode_key(key)
        if version_id is None:
            info, extents = self._get(bucket, key)
            target.objects[raw_key] = (
                dataclasses.replace(info, meta=change(info.meta)),
                extents,
            )
            return
        found = self._find(target, raw_key, version_id)
        if found is None:
            raise S3Error.of("NoSuchVersion", Key=key, VersionId=version_id)
        (info, extents), current = found
        if info.delete_marker:
            raise S3Error.of(
                "MethodNotAllowed", Method="PUT", ResourceType="DeleteMarker"
            )
        new = (dataclasses.replace(info, meta=change(info.meta)), extents)
        if current:
            target.objects[raw_key] = new
            return
        history = target.history[raw_key]
        history[[e[0].version_id for e in history].index(version_id)] = new
