"""
Object operations of the memory store.
"""

from __future__ import annotations

import bisect
import io
import uuid
from collections.abc import Callable
from typing import BinaryIO, cast

from twisted.internet.defer import Deferred, fail, succeed

from txs3.errors import S3Error
from txs3.store.extents import ExtentReader
from txs3.store.interface import (
    Destination,
    IStagingFile,
    ObjectInfo,
    ObjectMeta,
    SourceChanged,
)
from txs3.store.memory.core import Bucket, MemoryCore
from txs3.store.memory.staging import MemoryStagingFile
from txs3.store.namespace import encode_key
from txs3.store.rules import copied_object


class ObjectsMixin(MemoryCore):
    """Put, head, open, delete, copy."""

    def put_object(
        self, dest: Destination, staging: IStagingFile, etag: str, meta: ObjectMeta
    ) -> Deferred[ObjectInfo]:
        """See L{IObjectStore.put_object}."""
        if not isinstance(staging, MemoryStagingFile):
            raise ValueError("staging file does not belong to this store")
        data = staging.take()
        try:
            target, raw_key = self._destination(dest)
            self._check(target, raw_key, dest.condition)
        except S3Error as e:
            return fail(e)
        info = dest.entry(
            size=len(data),
            etag=etag,
            meta=meta,
            last_modified=self._now(),
            version=uuid.uuid4().hex,
            blob=self._new_blob(data),
        )
        self._store(target, raw_key, info, None)
        return succeed(info)

    def _destination(self, dest: Destination) -> tuple[Bucket, bytes]:
        """The bucket and raw key of C{dest}: a bad key, or C{NoSuchBucket}."""
        raw_key = encode_key(dest.key)
        return self._bucket(dest.bucket), raw_key

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

    def copy_object(
        self, source: ObjectInfo, dest: Destination, meta: ObjectMeta
    ) -> Deferred[ObjectInfo]:
        """See L{IObjectStore.copy_object}."""
        try:
            target, raw_key = self._destination(dest)
            extents = self._source(source)
            self._check(target, raw_key, dest.condition)
        except (S3Error, SourceChanged) as e:
            return fail(e)
        # source.blob is "" for an object made of extents.
        body = None if source.blob else extents
        info = copied_object(source, body, dest, meta, self._now(), uuid.uuid4().hex)
        self._store(target, raw_key, info, body)
        return succeed(info)

    def copy_current_object(
        self,
        src_bucket: str,
        src_key: str,
        dest: Destination,
        make_meta: Callable[[ObjectInfo], ObjectMeta],
    ) -> Deferred[ObjectInfo]:
        """See L{IObjectStore.copy_current_object}."""
        try:
            target, raw_key = self._destination(dest)
            source, extents = self._get(src_bucket, src_key)
            meta = make_meta(source)
            self._check(target, raw_key, dest.condition)
        except S3Error as e:
            return fail(e)
        info = copied_object(source, extents, dest, meta, self._now(), uuid.uuid4().hex)
        self._store(target, raw_key, info, extents)
        return succeed(info)
