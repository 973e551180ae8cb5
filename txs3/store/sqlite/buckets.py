"""
Bucket operations of the SQLite store: create, get, list, delete.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from twisted.internet.defer import Deferred

from txs3.errors import S3Error
from txs3.store.interface import BucketInfo
from txs3.store.sqlite.core import StoreCore
from txs3.store.sqlite.rows import no_such_bucket, one, remove_upload, unreferenced


class BucketsMixin(StoreCore):
    """Buckets: rows of C{buckets}; deleting one aborts its uploads."""

    def create_bucket(
        self,
        name: str,
        owner_id: str,
        region: str,
        settings: Mapping[str, str] | None = None,
    ) -> Deferred[BucketInfo]:
        """See L{IObjectStore.create_bucket}."""
        initial = dict(settings or {})

        def txn(conn: sqlite3.Connection) -> BucketInfo:
            row = one(conn, "SELECT owner_id FROM buckets WHERE name = ?", (name,))
            if row is not None:
                code = (
                    "BucketAlreadyOwnedByYou"
                    if row[0] == owner_id
                    else "BucketAlreadyExists"
                )
                raise S3Error.of(code, BucketName=name)
            info = BucketInfo(name, owner_id, self._now(), region)
            conn.execute(
                "INSERT INTO buckets (name, owner_id, created, region)"
                " VALUES (?, ?, ?, ?)",
                (info.name, info.owner_id, info.created, info.region),
            )
            # A row left by a deleted bucket of this name is stale
            # (L{txs3.store.sqlite.settings}); clear it with the new ones.
            conn.execute("DELETE FROM bucket_settings WHERE bucket = ?", (name,))
            conn.executemany(
                "INSERT INTO bucket_settings (bucket, created, name, value)"
                " VALUES (?, ?, ?, ?)",
                [(name, info.created, k, v) for k, v in initial.items()],
            )
            return info

        return self._in_writer(self._write_txn, txn)

    def get_bucket(self, name: str) -> BucketInfo:
        """See L{IObjectStore.get_bucket}."""
        row = one(
            self._connection(),
            "SELECT name, owner_id, created, region, serial FROM buckets"
            " WHERE name = ?",
            (name,),
        )
        if row is None:
            raise no_such_bucket(name)
        return BucketInfo(*row)

    def list_buckets(self, owner_id: str) -> list[BucketInfo]:
        """See L{IObjectStore.list_buckets}."""
        rows = (
            self._connection()
            .execute(
                "SELECT name, owner_id, created, region, serial FROM buckets"
                " WHERE owner_id = ? ORDER BY name",
                (owner_id,),
            )
            .fetchall()
        )
        return [BucketInfo(*row) for row in rows]

    def delete_bucket(self, name: str) -> Deferred[None]:
        """
        See L{IObjectStore.delete_bucket}.  Only a bucket without objects,
        noncurrent versions or delete markers is deleted; its uploads in
        progress go with it, in the same transaction, and their blobs are
        freed after the commit.  A put
        racing with the deletion finds the bucket gone inside its own
        transaction and removes its blob.
        """

        def txn(conn: sqlite3.Connection) -> list[str]:
            if not self._bucket_exists(conn, name):
                raise no_such_bucket(name)
            if one(conn, "SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)):
                raise S3Error.of("BucketNotEmpty", BucketName=name)
            if one(conn, "SELECT 1 FROM versions WHERE bucket = ? LIMIT 1", (name,)):
                raise S3Error.of("BucketNotEmpty", BucketName=name)
            uploads = conn.execute(
                "SELECT upload_id FROM uploads WHERE bucket = ?", (name,)
            ).fetchall()
            candidates: set[str] = set()
            for (upload_id,) in uploads:
                candidates |= remove_upload(conn, upload_id)
            conn.execute("DELETE FROM buckets WHERE name = ?", (name,))
            # A bucket created again under this name has no completions.
            conn.execute("DELETE FROM completed_uploads WHERE bucket = ?", (name,))
            return unreferenced(conn, candidates)

        return self._in_writer(self._commit_and_free, txn)
