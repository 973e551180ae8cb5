"""
L{MemoryStore}: the L{IObjectStore} contract in dictionaries, for handler
tests.

It honours the same contract as L{txs3.store.sqlite.SQLiteStore} (the suite
in C{tests/test_store_contract.py} runs against both), including the
listing walk of L{txs3.store.namespace}, over a sorted list of each
bucket's keys.  Deferreds fire synchronously: no threads, no reactor.
Object bytes live in memory, so it is for tests only.
"""

from __future__ import annotations

import bisect
import io
import time
import uuid
from collections.abc import Callable, Iterator
from typing import BinaryIO

from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from txs3.errors import S3Error
from txs3.store.interface import (
    BucketInfo,
    IObjectStore,
    IStagingFile,
    ListPage,
    ObjectInfo,
    ObjectMeta,
)
from txs3.store.namespace import encode_key, encode_text, list_page


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
        self.objects: dict[bytes, tuple[ObjectInfo, bytes]] = {}


@implementer(IObjectStore)
class MemoryStore:
    """An in-memory L{IObjectStore}; C{now} is its clock."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._buckets: dict[str, _Bucket] = {}
        self._staged: list[MemoryStagingFile] = []

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
    ) -> Deferred[ObjectInfo]:
        """See L{IObjectStore.put_object}."""
        if not isinstance(staging, MemoryStagingFile):
            raise ValueError("staging file does not belong to this store")
        data = staging.take()
        try:
            raw_key = encode_key(key)
            target = self._bucket(bucket)
        except S3Error as e:
            return fail(e)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(data),
            etag=etag,
            last_modified=self._now(),
            meta=meta,
            owner_id=owner_id,
            blob=uuid.uuid4().hex,
        )
        if raw_key not in target.objects:
            bisect.insort(target.keys, raw_key)
        target.objects[raw_key] = (info, data)
        return succeed(info)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        """See L{IObjectStore.head_object}."""
        return self._get(bucket, key)[0]

    def open_object(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        """See L{IObjectStore.open_object}."""
        info, data = self._get(bucket, key)
        return info, io.BytesIO(data)

    def _get(self, bucket: str, key: str) -> tuple[ObjectInfo, bytes]:
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
