"""
What background passes read and hold in the SQLite index: the buckets
with a setting, every version with its place in the key's history
(L{txs3.store.candidates}), uploads by age (the C{uploads_age} index),
and leases (the C{leases} table), which is how exactly one of the
processes sharing a data directory runs a pass.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

from twisted.internet.defer import Deferred, fail

from txs3.errors import S3Error
from txs3.store.candidates import (
    CandidatesPage,
    UploadsBatch,
    VersionCursor,
    VersionRow,
    candidates_page,
)
from txs3.store.interface import BucketInfo
from txs3.store.namespace import encode_key
from txs3.store.sqlite.core import StoreCore
from txs3.store.sqlite.rows import no_such_bucket, one, upload_info
from txs3.store.sqlite.versioned import merged_versions
from txs3.store.sqlite.versions import VERSION_SELECT, version_info

_WITH_SETTING = (
    "SELECT b.name, b.owner_id, b.created, b.region, b.serial"
    " FROM bucket_settings AS s JOIN buckets AS b"
    " ON b.name = s.bucket AND b.created = s.created"
    " WHERE s.name = ? ORDER BY b.name"
)
_OLDER_IN_KEY = (
    VERSION_SELECT
    + " WHERE bucket = ? AND key = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
)
# On uploads_age: the next uploads by (initiated, upload_id).
_STALE_UPLOADS = (
    "SELECT upload_id, bucket, key, initiated, owner_id, meta,"
    " checksum_algorithm, checksum_type FROM uploads"
    " WHERE bucket = ? AND initiated <= ? AND (initiated, upload_id) > (?, ?)"
    " ORDER BY initiated, upload_id LIMIT ?"
)
_TAKE_LEASE = (
    "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
    " until = excluded.until WHERE leases.holder = excluded.holder"
    " OR leases.until <= ?"
)


def _version_row(bucket: str, row: tuple[Any, ...]) -> VersionRow:
    """A row of L{VERSION_SELECT} or its current-table twin, for the walk."""
    info = version_info(bucket, row, False)
    seq = row[9]
    # A row from before schema 5 has no seq: its time is its write.
    written = seq / 1_000_000 if seq is not None else info.last_modified
    return VersionRow(info.key, info, seq if seq is not None else 0, written)


class BackgroundMixin(StoreCore):
    """Reads for background passes, and leases."""

    def buckets_with_setting(self, name: str) -> Deferred[list[BucketInfo]]:
        """See L{IObjectStore.buckets_with_setting}."""

        def read() -> list[BucketInfo]:
            rows = self._connection().execute(_WITH_SETTING, (name,)).fetchall()
            return [BucketInfo(*row) for row in rows]

        return self._in_lister(read)

    def lifecycle_candidates(
        self, bucket: str, cursor: VersionCursor | None, limit: int
    ) -> Deferred[CandidatesPage]:
        """See L{IObjectStore.lifecycle_candidates}: one read transaction."""
        try:
            after = encode_key(cursor.key) if cursor is not None else b""
        except S3Error as e:
            return fail(e)
        return self._in_lister(self._candidates, bucket, cursor, after, limit)

    def _candidates(
        self, bucket: str, cursor: VersionCursor | None, after: bytes, limit: int
    ) -> CandidatesPage:
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)

            def rows() -> Iterator[VersionRow]:
                given = 0
                if cursor is not None:
                    older = conn.execute(
                        _OLDER_IN_KEY, (bucket, after, cursor.position, limit + 1)
                    ).fetchall()
                    for row in older:
                        given += 1
                        yield _version_row(bucket, row)
                merged = merged_versions(
                    conn, bucket, after, cursor is None, None, limit + 1 - given
                )
                for _, row in merged:
                    yield _version_row(bucket, row)

            return candidates_page(rows(), cursor, limit)
        finally:
            conn.execute("COMMIT")

    def uploads_started_before(
        self,
        bucket: str,
        before: float,
        cursor: tuple[float, str] | None,
        limit: int,
    ) -> Deferred[UploadsBatch]:
        """See L{IObjectStore.uploads_started_before}."""
        start = cursor if cursor is not None else (-1.0, "")

        def read() -> UploadsBatch:
            conn = self._connection()
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)
            rows = conn.execute(
                _STALE_UPLOADS, (bucket, before, start[0], start[1], limit)
            ).fetchall()
            uploads = [upload_info(row) for row in rows]
            last = uploads[-1] if len(uploads) == limit else None
            return UploadsBatch(
                uploads, None if last is None else (last.initiated, last.upload_id)
            )

        return self._in_lister(read)

    def take_lease(self, name: str, holder: str, until: float) -> Deferred[bool]:
        """See L{IObjectStore.take_lease}: one upsert, in the writer."""

        def txn(conn: sqlite3.Connection) -> bool:
            conn.execute(_TAKE_LEASE, (name, holder, until, self._now()))
            row = one(conn, "SELECT holder FROM leases WHERE name = ?", (name,))
            return row is not None and row[0] == holder

        return self._in_writer(self._write_txn, txn)
