"""
Object operations of the memory store.
"""

from __future__ import annotations

import dataclasses
import io
import uuid
from collections.abc import Callable
from typing import BinaryIO, cast

from twisted.internet.defer import Deferred, fail, succeed

from txs3.errors import S3Error
from txs3.store.extents import Extent, ExtentReader, part_sizes
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
        self._store_version(target, raw_key, info, None, dest.versioning)
        return succeed(info)

    def _destination(self, dest: Destination) -> tuple[Bucket, bytes]:
        """The bucket and raw key of C{dest}: a bad key, or C{NoSuchBucket}."""
        raw_key = encode_key(dest.key)
        return self._bucket(dest.bucket), raw_key

    def _read(
        self, bucket: str, key: str, version_id: str | None
    ) -> tuple[ObjectInfo, list[Extent] | None]:
        if version_id is not None:
            return self._version(bucket, key, version_id)
        try:
            return self._get(bucket, key)
        except S3Error as e:
            if e.code != "NoSuchKey":
                raise
            raise self._missing(bucket, key) from None

    def head_object(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectInfo:
        """See L{IObjectStore.head_object}."""
        info, extents = self._read(bucket, key, version_id)
        if extents is None or info.parts:
            return info
        return dataclasses.replace(info, parts=part_sizes(extents))

    def open_object(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> tuple[ObjectInfo, BinaryIO]:
        """See L{IObjectStore.open_object}."""
        info, extents = self._read(bucket, key, version_id)
        if extents is None:
            return info, io.BytesIO(self._blobs[info.blob])
        files = {e.blob: io.BytesIO(self._blobs[e.blob]) for e in extents}
        pieces = [(cast(BinaryIO, files[e.blob]), e.offset, e.length) for e in extents]
        return info, cast(BinaryIO, ExtentReader(pieces))

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
        self._store_version(target, raw_key, info, body, dest.versioning)
        return succeed(info)

    def copy_current_object(
        self,
        src_bucket: str,
        src_key: str,
        dest: Destination,
        make_meta: Callable[[ObjectInfo], ObjectMeta],
        src_version_id: str | None = None,
    ) -> Deferred[ObjectInfo]:
        """See L{IObjectStore.copy_current_object}."""
        try:
            target, raw_key = self._destination(dest)
            source, extents = self._read(src_bucket, src_key, src_version_id)
            meta = make_meta(source)
            self._check(target, raw_key, dest.condition)
        except S3Error as e:
            return fail(e)
        info = copied_object(source, extents, dest, meta, self._now(), uuid.uuid4().hex)
        self._store_version(target, raw_key, info, extents, dest.versioning)
        return succeed(info)
