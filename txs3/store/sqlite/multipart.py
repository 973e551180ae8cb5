"""
Multipart uploads in the SQLite store: create, parts (uploaded or copied),
list parts, complete, abort.  ListMultipartUploads is in
L{txs3.store.sqlite.listing}.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from twisted.internet.defer import Deferred, fail

from txs3.errors import S3Error
from txs3.store.extents import Extent, slice_extents
from txs3.store.interface import (
    CompletedUpload,
    Completion,
    IStagingFile,
    NewPart,
    NewUpload,
    ObjectInfo,
    PartInfo,
    PartsPage,
    UploadInfo,
)
from txs3.store.namespace import encode_key
from txs3.store.rules import completed_object, completion_record, invalid_part
from txs3.store.sqlite.core import StoreCore
from txs3.store.sqlite.rows import (
    check_condition,
    completed_row,
    completed_upload,
    encode_meta,
    encode_pairs,
    insert_object,
    new_upload_id,
    new_version,
    no_such_bucket,
    no_such_upload,
    one,
    part_info,
    remove_part,
    remove_upload,
    source_body,
    unreferenced,
    upload_info,
)
from txs3.store.sqlite.schema import (
    GET_COMPLETED,
    GET_UPLOAD,
    INSERT_COMPLETED,
    INSERT_PART,
    INSERT_PART_EXTENT,
    INSERT_UPLOAD,
    PART_EXTENTS,
)
from txs3.store.sqlite.versions import make_room, new_seq


class MultipartMixin(StoreCore):
    """Uploads in progress: rows of C{uploads}, C{parts}, C{part_extents}."""

    def create_multipart_upload(self, upload: NewUpload) -> Deferred[UploadInfo]:
        """See L{IObjectStore.create_multipart_upload}."""
        try:
            raw_key = encode_key(upload.key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> UploadInfo:
            if not self._bucket_exists(conn, upload.bucket):
                raise no_such_bucket(upload.bucket)
            now = self._now()
            info = upload.info(new_upload_id(now), now)
            conn.execute(
                INSERT_UPLOAD,
                (
                    info.upload_id,
                    info.bucket,
                    raw_key,
                    now,
                    info.owner_id,
                    encode_meta(info.meta),
                    info.checksum_algorithm,
                    info.checksum_type,
                ),
            )
            return info

        return self._in_writer(self._write_txn, txn)

    def get_upload(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        """See L{IObjectStore.get_upload}: one read snapshot."""
        return upload_info(self._read_upload(GET_UPLOAD, bucket, key, upload_id))

    def get_completed_upload(
        self, bucket: str, key: str, upload_id: str
    ) -> CompletedUpload:
        """See L{IObjectStore.get_completed_upload}: one read snapshot."""
        row = self._read_upload(GET_COMPLETED, bucket, key, upload_id)
        return completed_upload(row)

    def _read_upload(
        self, sql: str, bucket: str, key: str, upload_id: str
    ) -> tuple[Any, ...]:
        """
        The row that C{sql} (parameters: upload id, bucket, raw key) reads
        for upload C{upload_id} to C{bucket}/C{key}, in one read snapshot
        with the bucket's existence: C{NoSuchBucket}; C{NoSuchUpload} when
        there is no row; C{KeyTooLongError} / C{InvalidArgument} for a bad
        key.
        """
        raw_key = encode_key(key)
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)
            row = one(conn, sql, (upload_id, bucket, raw_key))
        finally:
            conn.execute("COMMIT")
        if row is None:
            raise no_such_upload(upload_id)
        return row

    @staticmethod
    def _upload_row(
        conn: sqlite3.Connection, bucket: str, raw_key: bytes, upload_id: str
    ) -> UploadInfo:
        row = one(conn, GET_UPLOAD, (upload_id, bucket, raw_key))
        if row is None:
            raise no_such_upload(upload_id)
        return upload_info(row)

    def upload_part(self, part: NewPart, staging: IStagingFile) -> Deferred[PartInfo]:
        """See L{IObjectStore.upload_part}; published like L{put_object}."""
        file = self._take_staging(staging)
        try:
            raw_key = self._check_publishable(file, part.key)
        except (S3Error, ValueError) as e:
            return fail(e)

        def work() -> PartInfo:
            size = file.size()
            blob_id = self._publish(file)
            info = part.info(size, self._now())

            def txn(conn: sqlite3.Connection) -> list[str]:
                return self._replace_part(
                    conn, part, raw_key, info, [Extent(blob_id, 0, size)]
                )

            self._commit_new_blob(blob_id, txn)
            return info

        return self._in_writer(work)

    def _replace_part(
        self,
        conn: sqlite3.Connection,
        part: NewPart,
        raw_key: bytes,
        info: PartInfo,
        extents: list[Extent],
    ) -> list[str]:
        """
        Store C{info} made of C{extents} as C{part} of its upload, in place
        of any part with that number: the blob ids that no longer have a
        reference.  C{NoSuchUpload} if the upload is gone.
        """
        upload_id = part.upload_id
        self._upload_row(conn, part.bucket, raw_key, upload_id)
        replaced = remove_part(conn, upload_id, part.part_number)
        self._insert_part(conn, upload_id, info, extents)
        return unreferenced(conn, replaced)

    @staticmethod
    def _insert_part(
        conn: sqlite3.Connection,
        upload_id: str,
        part: PartInfo,
        extents: list[Extent],
    ) -> None:
        conn.execute(
            INSERT_PART,
            (
                upload_id,
                part.part_number,
                part.size,
                part.etag,
                part.last_modified,
                encode_pairs(part.checksums),
            ),
        )
        for seq, e in enumerate(extents):
            conn.execute(
                INSERT_PART_EXTENT,
                (upload_id, part.part_number, seq, e.blob, e.offset, e.length),
            )

    def upload_part_copy(
        self, part: NewPart, source: ObjectInfo, offset: int, length: int
    ) -> Deferred[PartInfo]:
        """See L{IObjectStore.upload_part_copy}: index rows only."""
        try:
            raw_key = encode_key(part.key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> tuple[PartInfo, list[str]]:
            self._upload_row(conn, part.bucket, raw_key, part.upload_id)
            blob, extents = source_body(conn, source)
            whole = [Extent(blob, 0, source.size)] if extents is None else extents
            piece = slice_extents(whole, offset, length)
            info = part.info(length, self._now())
            return info, self._replace_part(conn, part, raw_key, info, piece)

        return self._in_writer(self._commit_info_and_free, txn)

    def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number_marker: int,
        max_parts: int,
    ) -> Deferred[PartsPage]:
        """See L{IObjectStore.list_parts}; one read snapshot in the list pool."""
        try:
            raw_key = encode_key(key)
        except S3Error as e:
            return fail(e)

        def read() -> PartsPage:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                if not self._bucket_exists(conn, bucket):
                    raise no_such_bucket(bucket)
                upload = self._upload_row(conn, bucket, raw_key, upload_id)
                rows = conn.execute(
                    "SELECT part_number, size, etag, last_modified, checksums"
                    " FROM parts WHERE upload_id = ? AND part_number > ?"
                    " ORDER BY part_number LIMIT ?",
                    (upload_id, part_number_marker, max(max_parts, 0) + 1),
                ).fetchall()
            finally:
                conn.execute("COMMIT")
            parts = [part_info(r) for r in rows[: max(max_parts, 0)]]
            truncated = len(rows) > len(parts)
            marker = parts[-1].part_number if truncated and parts else None
            return PartsPage(upload, parts, truncated, marker)

        return self._in_lister(read)

    def complete_multipart_upload(self, done: Completion) -> Deferred[ObjectInfo]:
        """
        See L{IObjectStore.complete_multipart_upload}: one transaction that
        turns the listed parts' extents into the object's, in part order.
        """
        try:
            raw_key = encode_key(done.key)
        except S3Error as e:
            return fail(e)
        upload_id = done.upload_id

        def txn(conn: sqlite3.Connection) -> tuple[ObjectInfo, list[str]]:
            upload = self._upload_row(conn, done.bucket, raw_key, upload_id)
            check_condition(conn, done.bucket, raw_key, done.condition)
            stored = dict(
                conn.execute(
                    "SELECT part_number, etag FROM parts WHERE upload_id = ?",
                    (upload_id,),
                ).fetchall()
            )
            extents: list[Extent] = []
            for position, (number, part_etag) in enumerate(done.parts, 1):
                if stored.get(number) != part_etag:
                    raise invalid_part(done, number, part_etag)
                extents += [
                    Extent(blob, start, length, position)
                    for blob, start, length in conn.execute(
                        PART_EXTENTS, (upload_id, number)
                    ).fetchall()
                ]
            info = completed_object(done, upload, extents, self._now(), new_version())
            seq = new_seq(conn, done.bucket, raw_key, self._now(), done.versioning)
            replaced = make_room(conn, done.bucket, raw_key, done.versioning)
            replaced |= remove_upload(conn, upload_id)
            insert_object(conn, info, raw_key, extents, seq)
            record = completion_record(done, upload, info)
            conn.execute(INSERT_COMPLETED, completed_row(record, raw_key))
            return info, unreferenced(conn, replaced)

        return self._in_writer(self._commit_info_and_free, txn)

    def abort_multipart_upload(
        self, bucket: str, key: str, upload_id: str
    ) -> Deferred[None]:
        """See L{IObjectStore.abort_multipart_upload}."""
        try:
            raw_key = encode_key(key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> list[str]:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)
            self._upload_row(conn, bucket, raw_key, upload_id)
            return unreferenced(conn, remove_upload(conn, upload_id))

        return self._in_writer(self._commit_and_free, txn)
