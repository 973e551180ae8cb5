"""
Deleting and listing versions in the SQLite store: DeleteObject and
DeleteObjects under every versioning state, and ListObjectVersions.  The
rows and moves are L{txs3.store.sqlite.versions}'.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from twisted.internet.defer import Deferred, fail

from txs3.errors import S3Error
from txs3.store.interface import (
    Deleted,
    Deletion,
    ListQuery,
    ObjectInfo,
    VersionsPage,
    new_version_id,
)
from txs3.store.namespace import encode_key, encode_query, list_page, versions_page
from txs3.store.rules import check_expected
from txs3.store.sqlite.core import StoreCore
from txs3.store.sqlite.rows import no_such_bucket, one, remove_object, unreferenced
from txs3.store.sqlite.versions import (
    CURRENT_SELECT,
    VERSION_SELECT,
    current_version_id,
    find_version,
    insert_marker,
    make_room,
    new_seq,
    promote,
    remove_noncurrent,
    version_info,
)

# Range scans over keys, newest version first within a key.
_RANGE = {
    (True, False): " WHERE bucket = ? AND key >= ?",
    (False, False): " WHERE bucket = ? AND key > ?",
    (True, True): " WHERE bucket = ? AND key >= ? AND key < ?",
    (False, True): " WHERE bucket = ? AND key > ? AND key < ?",
}
_CURRENT_SCANS = {
    bounds: CURRENT_SELECT + where + " ORDER BY key LIMIT ?"
    for bounds, where in _RANGE.items()
}
_VERSION_SCANS = {
    bounds: VERSION_SELECT + where + " ORDER BY key, seq DESC LIMIT ?"
    for bounds, where in _RANGE.items()
}
_OLDER_OF_KEY = (
    VERSION_SELECT
    + " WHERE bucket = ? AND key = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
)


class VersionsMixin(StoreCore):
    """Deletions under versioning; version listings."""

    def delete_version(self, deletion: Deletion) -> Deferred[Deleted]:
        """See L{IObjectStore.delete_version}."""
        try:
            raw_key = encode_key(deletion.key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> tuple[Deleted, list[str]]:
            if not self._bucket_exists(conn, deletion.bucket):
                raise no_such_bucket(deletion.bucket)
            deleted, freed = self._delete(conn, deletion, raw_key)
            return deleted, unreferenced(conn, freed)

        def work() -> Deleted:
            # A delete frees space: it may use the reserve on a full disk.
            return self._commit_info_and_free(txn, frees=True)

        return self._in_writer(work)

    def delete_versions(
        self, bucket: str, deletions: Sequence[Deletion]
    ) -> Deferred[list[Deleted | S3Error]]:
        """See L{IObjectStore.delete_versions}: one commit for all of them."""
        try:
            raw_keys = [encode_key(d.key) for d in deletions]
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> tuple[list[Deleted | S3Error], list[str]]:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)
            results: list[Deleted | S3Error] = []
            freed: set[str] = set()
            for deletion, raw_key in zip(deletions, raw_keys, strict=True):
                conn.execute("SAVEPOINT one")
                try:
                    deleted, blobs = self._delete(conn, deletion, raw_key)
                except S3Error as e:
                    conn.execute("ROLLBACK TO one")
                    results.append(e)
                else:
                    freed |= blobs
                    results.append(deleted)
                conn.execute("RELEASE one")
            return results, unreferenced(conn, freed)

        def work() -> list[Deleted | S3Error]:
            return self._commit_info_and_free(txn, frees=True)

        return self._in_writer(work)

    def delete_object(self, bucket: str, key: str) -> Deferred[bool]:
        """See L{IObjectStore.delete_object}."""
        done = self.delete_version(Deletion(bucket, key))
        return done.addCallback(lambda deleted: deleted.existed)

    def delete_objects(self, bucket: str, keys: list[str]) -> Deferred[dict[str, bool]]:
        """See L{IObjectStore.delete_objects}: one transaction for all keys."""

        def existed(results: list[Deleted | S3Error]) -> dict[str, bool]:
            out: dict[str, bool] = {}
            for key, result in zip(keys, results, strict=True):
                gone = isinstance(result, Deleted) and result.existed
                out[key] = out.get(key, False) or gone
            return out

        done = self.delete_versions(bucket, [Deletion(bucket, k) for k in keys])
        return done.addCallback(existed)

    def _delete(
        self, conn: sqlite3.Connection, d: Deletion, raw_key: bytes
    ) -> tuple[Deleted, set[str]]:
        """Inside a write transaction: one deletion; the blobs it frees."""
        if d.version_id is not None:
            return self._delete_version_id(conn, d, raw_key)
        if d.expected is not None:
            current = one(
                conn,
                CURRENT_SELECT + " WHERE bucket = ? AND key = ?",
                (d.bucket, raw_key),
            )
            check_expected(
                None if current is None else version_info(d.bucket, current, True),
                d.expected,
            )
        if not d.versioning:
            existed = current_version_id(conn, d.bucket, raw_key) is not None
            return Deleted(existed), make_room(conn, d.bucket, raw_key, "", d.guard)
        now = self._now()
        seq = new_seq(conn, d.bucket, raw_key, now, d.versioning)
        freed = make_room(conn, d.bucket, raw_key, d.versioning, d.guard)
        marker = new_version_id(d.versioning)
        insert_marker(conn, d.bucket, raw_key, marker, seq, "", now)
        return Deleted(True, marker, True), freed

    def _delete_version_id(
        self, conn: sqlite3.Connection, d: Deletion, raw_key: bytes
    ) -> tuple[Deleted, set[str]]:
        assert d.version_id is not None
        found = find_version(conn, d.bucket, raw_key, d.version_id)
        if found is None:
            check_expected(None, d.expected)
            return Deleted(False, d.version_id), set()
        row, current = found
        info = version_info(d.bucket, row, current)
        check_expected(info, d.expected)
        if d.guard is not None and not info.delete_marker:
            d.guard(info)
        if current:
            freed = remove_object(conn, d.bucket, raw_key) or set()
        else:
            freed = remove_noncurrent(conn, d.bucket, raw_key, row[9])
        promote(conn, d.bucket, raw_key)
        return Deleted(True, d.version_id, info.delete_marker), freed

    # -- listing ----------------------------------------------------------------

    def list_object_versions(
        self, bucket: str, query: ListQuery, version_id_marker: str = ""
    ) -> Deferred[VersionsPage]:
        """
        See L{IObjectStore.list_object_versions}: the listing walk of
        L{txs3.store.namespace} over a merge of C{objects} and C{versions},
        both read in key order (and C{versions} newest first within a key).
        """
        try:
            raw = encode_query(query, "key-marker")
        except S3Error as e:
            return fail(e)
        return self._in_lister(
            self._list_versions, bucket, raw, version_id_marker, query.limit
        )

    def _list_versions(
        self,
        bucket: str,
        raw: tuple[bytes, bytes, bytes],
        version_id_marker: str,
        max_keys: int,
    ) -> VersionsPage:
        key_marker = raw[2]
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)

            def scan(
                lo: bytes, inclusive: bool, hi: bytes | None, limit: int
            ) -> Iterator[tuple[bytes, tuple[Any, ...]]]:
                given = 0
                if version_id_marker and not inclusive and lo == key_marker:
                    for row in self._older_than(
                        conn, bucket, lo, version_id_marker, limit
                    ):
                        given += 1
                        yield bytes(row[0]), row
                if limit - given > 0:
                    yield from merged_versions(
                        conn, bucket, lo, inclusive, hi, limit - given
                    )

            walk = list_page(scan, *raw, max_keys)
        finally:
            conn.execute("COMMIT")
        versions: list[ObjectInfo] = []
        previous: bytes | None = key_marker if version_id_marker else None
        for row in walk.contents:
            key = bytes(row[0])
            versions.append(
                version_info(bucket, row, key != previous and row[-1] != -1)
            )
            previous = key
        return versions_page(versions, walk)

    @staticmethod
    def _older_than(
        conn: sqlite3.Connection,
        bucket: str,
        raw_key: bytes,
        version_id: str,
        limit: int,
    ) -> list[tuple[Any, ...]]:
        """The versions of C{raw_key} older than C{version_id}, newest first."""
        found = find_version(conn, bucket, raw_key, version_id)
        if found is None:
            return []
        row, _ = found
        older = conn.execute(_OLDER_OF_KEY, (bucket, raw_key, row[9], limit)).fetchall()
        # Not the key's latest: the marker version came first.
        return [(*r[:10], r[10], -1) for r in older]


def merged_versions(
    conn: sqlite3.Connection,
    bucket: str,
    lo: bytes,
    inclusive: bool,
    hi: bytes | None,
    limit: int,
) -> Iterator[tuple[bytes, tuple[Any, ...]]]:
    """
    Rows of both tables with keys in range, by key, then the current row
    first and the rest newest first: the order S3 lists versions in.  Each
    row gains a last column, 0: the first row of a key is its latest
    (L{VersionsMixin._older_than} marks its rows -1: never the latest).
    """
    params: list[Any] = [bucket, lo] + ([hi] if hi is not None else []) + [limit]
    bounds = (inclusive, hi is not None)
    current = conn.execute(_CURRENT_SCANS[bounds], params)
    noncurrent = conn.execute(_VERSION_SCANS[bounds], params)
    try:
        a, b = current.fetchone(), noncurrent.fetchone()
        given = 0
        while (a is not None or b is not None) and given < limit:
            if b is None or (a is not None and bytes(a[0]) <= bytes(b[0])):
                row, a = a, current.fetchone()
            else:
                row, b = b, noncurrent.fetchone()
            given += 1
            yield bytes(row[0]), (*row, 0)
    finally:
        current.close()
        noncurrent.close()
