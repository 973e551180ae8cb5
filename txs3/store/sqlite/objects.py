"""
Object operations of the SQLite store: put, head, open (read), delete,
delete many, copy.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from typing import BinaryIO, cast

from twisted.internet.defer import Deferred, fail

from txs3.errors import S3Error
from txs3.store.blobs import StagingFile
from txs3.store.extents import Extent, ExtentReader, part_sizes
from txs3.store.interface import (
    Destination,
    IStagingFile,
    ObjectInfo,
    ObjectMeta,
)
from txs3.store.namespace import encode_key
from txs3.store.rules import copied_object, delete_marker_error
from txs3.store.sqlite.core import StoreCore
from txs3.store.sqlite.rows import (
    bucket_exists,
    check_condition,
    insert_object,
    new_version,
    no_such_bucket,
    object_extents,
    object_info,
    one,
    source_body,
    unreferenced,
)
from txs3.store.sqlite.schema import HEAD_OBJECT
from txs3.store.sqlite.versions import (
    find_version,
    make_room,
    new_seq,
    newest_marker,
    version_extents,
    version_info,
)

#: Attempts of open_object when the blob vanishes under it (replaced).
_OPEN_ATTEMPTS = 8


class ObjectsMixin(StoreCore):
    """Objects: rows of C{objects} and C{object_extents}."""

    def put_object(
        self, dest: Destination, staging: IStagingFile, etag: str, meta: ObjectMeta
    ) -> Deferred[ObjectInfo]:
        """
        See L{IObjectStore.put_object}.

        @raise ValueError: (synchronously) if C{staging} is not an open
            staging file of this store.
        """
        file = self._take_staging(staging)
        try:
            raw_key = self._check_publishable(file, dest.key)
        except (S3Error, ValueError) as e:
            return fail(e)
        return self._in_writer(self._put, dest, raw_key, file, etag, meta)

    def _put(
        self,
        dest: Destination,
        raw_key: bytes,
        staging: StagingFile,
        etag: str,
        meta: ObjectMeta,
    ) -> ObjectInfo:
        """The write thread's half of put_object: publish, commit, free."""
        size = staging.size()
        blob_id = self._publish(staging)
        info = dest.entry(
            size=size,
            etag=etag,
            meta=meta,
            last_modified=self._now(),
            version=new_version(),
            blob=blob_id,
        )

        def txn(conn: sqlite3.Connection) -> list[str]:
            self._check_destination(conn, dest, raw_key)
            seq = new_seq(conn, dest.bucket, raw_key, self._now(), dest.versioning)
            replaced = make_room(conn, dest.bucket, raw_key, dest.versioning)
            insert_object(conn, info, raw_key, None, seq)
            return unreferenced(conn, replaced)

        self._commit_new_blob(blob_id, txn)
        return info

    def _check_destination(
        self, conn: sqlite3.Connection, dest: Destination, raw_key: bytes
    ) -> None:
        """Inside a write transaction: C{NoSuchBucket}, or C{dest.condition}."""
        if not self._bucket_exists(conn, dest.bucket):
            raise no_such_bucket(dest.bucket)
        check_condition(conn, dest.bucket, raw_key, dest.condition)

    def _read_object(
        self,
        conn: sqlite3.Connection,
        bucket: str,
        key: str,
        version_id: str | None = None,
    ) -> tuple[ObjectInfo, list[Extent] | None]:
        """
        The entry of C{bucket}/C{key} (its current version, or version
        C{version_id}) and, for an object made of extents, its extents
        (None for a single-blob object), from one snapshot.
        """
        raw_key = encode_key(key)
        if version_id is None:
            # One statement is its own snapshot: a single-blob object (the
            # common case, and the small-GET hot path) needs nothing more.
            row = one(conn, HEAD_OBJECT, (raw_key, bucket))
            if row is not None and row[1] is not None and row[7]:
                return object_info(bucket, row[1:], ()), None
        conn.execute("BEGIN")  # deferred: one read snapshot, no lock
        try:
            if version_id is not None:
                return self._version_entry(conn, bucket, key, raw_key, version_id)
            return self._entry(conn, bucket, key, raw_key)
        finally:
            conn.execute("COMMIT")

    @staticmethod
    def _version_entry(
        conn: sqlite3.Connection,
        bucket: str,
        key: str,
        raw_key: bytes,
        version_id: str,
    ) -> tuple[ObjectInfo, list[Extent] | None]:
        """
        Inside a transaction: version C{version_id} of the key and its
        extents.  C{NoSuchBucket}, C{NoSuchVersion}; C{MethodNotAllowed}
        for a delete marker.
        """
        if not bucket_exists(conn, bucket):
            raise no_such_bucket(bucket)
        found = find_version(conn, bucket, raw_key, version_id)
        if found is None:
            raise S3Error.of("NoSuchVersion", Key=key, VersionId=version_id)
        row, current = found
        if row[10]:
            raise delete_marker_error(
                "MethodNotAllowed",
                version_id,
                Method="GET",
                ResourceType="DeleteMarker",
            )
        if current:
            extents = None if row[6] else object_extents(conn, bucket, raw_key)
        else:
            extents = None if row[6] else version_extents(conn, bucket, raw_key, row[9])
        parts = part_sizes(extents) if extents is not None else ()
        info = dataclasses.replace(version_info(bucket, row, current), parts=parts)
        return info, extents

    @staticmethod
    def _entry(
        conn: sqlite3.Connection, bucket: str, key: str, raw_key: bytes
    ) -> tuple[ObjectInfo, list[Extent] | None]:
        """
        Inside a transaction: the entry of C{bucket}/C{key} (raw key
        C{raw_key}) and its extents (None for a single-blob object).
        C{NoSuchBucket} / C{NoSuchKey}.
        """
        row = one(conn, HEAD_OBJECT, (raw_key, bucket))
        if row is None:
            raise no_such_bucket(bucket)
        if row[1] is None:
            marker = newest_marker(conn, bucket, raw_key)
            if marker is not None:
                raise delete_marker_error("NoSuchKey", marker, Key=key)
            raise S3Error.of("NoSuchKey", Key=key)
        extents = None if row[7] else object_extents(conn, bucket, raw_key)
        parts = part_sizes(extents) if extents is not None else ()
        return object_info(bucket, row[1:], parts), extents

    def head_object(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectInfo:
        """See L{IObjectStore.head_object}."""
        return self._read_object(self._connection(), bucket, key, version_id)[0]

    def open_object(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> tuple[ObjectInfo, BinaryIO]:
        """
        See L{IObjectStore.open_object}.  Every blob of the object is opened
        before returning, so the file reads the version described by the
        entry even if that version is replaced and its blobs unlinked.  If
        a blob vanished between reading the entry and opening it (a
        concurrent replace or delete committed and unlinked it), read the
        entry again.

        @raise S3Error: C{InternalError} if an indexed blob stays missing.
        """
        conn = self._connection()
        for _ in range(_OPEN_ATTEMPTS):
            info, extents = self._read_object(conn, bucket, key, version_id)
            if extents is None:
                try:
                    return info, self._blobs.open(info.blob)
                except FileNotFoundError:
                    continue
            files: dict[str, BinaryIO] = {}
            try:
                for e in extents:
                    if e.blob not in files:
                        files[e.blob] = self._blobs.open(e.blob)
            except FileNotFoundError:
                for f in files.values():
                    f.close()
                continue
            reader = ExtentReader(
                [(files[e.blob], e.offset, e.length) for e in extents]
            )
            return info, cast(BinaryIO, reader)
        raise S3Error.of("InternalError", "The object's data is missing.", Key=key)

    def copy_object(
        self, source: ObjectInfo, dest: Destination, meta: ObjectMeta
    ) -> Deferred[ObjectInfo]:
        """
        See L{IObjectStore.copy_object}: one transaction that checks the
        source's version and writes the new row (and extent rows) naming
        the source's blobs.
        """
        try:
            raw_key = encode_key(dest.key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> tuple[ObjectInfo, list[str]]:
            if not self._bucket_exists(conn, dest.bucket):
                raise no_such_bucket(dest.bucket)
            blob, extents = source_body(conn, source)
            check_condition(conn, dest.bucket, raw_key, dest.condition)
            current = dataclasses.replace(source, blob=blob)
            return self._insert_copy(conn, current, extents, dest, raw_key, meta)

        return self._in_writer(self._commit_info_and_free, txn)

    def copy_current_object(
        self,
        src_bucket: str,
        src_key: str,
        dest: Destination,
        make_meta: Callable[[ObjectInfo], ObjectMeta],
        src_version_id: str | None = None,
    ) -> Deferred[ObjectInfo]:
        """
        See L{IObjectStore.copy_current_object}: one write transaction
        reads the source's row (and extents) and writes the destination's
        naming the same blobs.  Transactions are serialised, so no commit
        can replace the source, and free its blobs, in between.
        """
        try:
            raw_key = encode_key(dest.key)
            raw_src = encode_key(src_key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> tuple[ObjectInfo, list[str]]:
            if not self._bucket_exists(conn, dest.bucket):
                raise no_such_bucket(dest.bucket)
            if src_version_id is None:
                source, extents = self._entry(conn, src_bucket, src_key, raw_src)
            else:
                source, extents = self._version_entry(
                    conn, src_bucket, src_key, raw_src, src_version_id
                )
            meta = make_meta(source)
            check_condition(conn, dest.bucket, raw_key, dest.condition)
            return self._insert_copy(conn, source, extents, dest, raw_key, meta)

        return self._in_writer(self._commit_info_and_free, txn)

    def _insert_copy(
        self,
        conn: sqlite3.Connection,
        source: ObjectInfo,
        extents: list[Extent] | None,
        dest: Destination,
        raw_key: bytes,
        meta: ObjectMeta,
    ) -> tuple[ObjectInfo, list[str]]:
        """
        Inside a write transaction: make the object at C{dest} (whose key
        is C{raw_key}) name the blob (C{source.blob}) or C{extents} of
        C{source}; return the new entry and the blobs to free after the
        commit.
        """
        info = copied_object(source, extents, dest, meta, self._now(), new_version())
        seq = new_seq(conn, dest.bucket, raw_key, self._now(), dest.versioning)
        # Copying onto itself: the old row's blobs are named again by the
        # new row, so the reference check keeps them.
        replaced = make_room(conn, dest.bucket, raw_key, dest.versioning)
        insert_object(conn, info, raw_key, extents, seq)
        return info, unreferenced(conn, replaced)
