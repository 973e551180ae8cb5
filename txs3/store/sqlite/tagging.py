"""
Object and bucket tagging in the SQLite store.
"""

from __future__ import annotations

import dataclasses
import sqlite3

from twisted.internet.defer import Deferred

from txs3.store.interface import ObjectMeta
from txs3.store.sqlite.core import StoreCore
from txs3.store.sqlite.rows import (
    decode_pairs,
    encode_pairs,
    no_such_bucket,
    one,
    replace_meta,
)
from txs3.store.sqlite.versions import noncurrent


class TaggingMixin(StoreCore):
    """Tags: object tags in C{objects.meta}, bucket tags in C{bucket_tags}."""

    # -- tagging --------------------------------------------------------------
    #
    # Object tags live in the entry's meta JSON (ObjectMeta.tags), so every
    # write that replaces or deletes the entry replaces or deletes them.
    # Bucket tags live in bucket_tags, stamped with the bucket's creation
    # time: a row whose stamp differs belongs to a deleted bucket of the
    # same name and is ignored (and overwritten by the next put), so
    # delete_bucket needs no tagging knowledge.

    def put_object_tagging(
        self,
        bucket: str,
        key: str,
        tags: tuple[tuple[str, str], ...],
        version_id: str | None = None,
    ) -> Deferred[None]:
        """See L{IObjectStore.put_object_tagging}: one UPDATE of the meta."""

        def change(meta: ObjectMeta) -> ObjectMeta:
            return dataclasses.replace(meta, tags=tuple(tags))

        def txn(conn: sqlite3.Connection) -> None:
            replace_meta(
                conn,
                bucket,
                key,
                change,
                noncurrent(conn, bucket, key, version_id, change),
            )

        return self._in_writer(self._write_txn, txn)

    def get_bucket_tagging(self, bucket: str) -> tuple[tuple[str, str], ...]:
        """See L{IObjectStore.get_bucket_tagging}."""
        row = one(
            self._connection(),
            "SELECT t.tags FROM buckets AS b LEFT JOIN bucket_tags AS t"
            " ON t.bucket = b.name AND t.created = b.created WHERE b.name = ?",
            (bucket,),
        )
        if row is None:
            raise no_such_bucket(bucket)
        return decode_pairs(row[0]) if row[0] else ()

    def put_bucket_tagging(
        self, bucket: str, tags: tuple[tuple[str, str], ...]
    ) -> Deferred[None]:
        """See L{IObjectStore.put_bucket_tagging}."""

        def txn(conn: sqlite3.Connection) -> None:
            row = one(conn, "SELECT created FROM buckets WHERE name = ?", (bucket,))
            if row is None:
                raise no_such_bucket(bucket)
            conn.execute("DELETE FROM bucket_tags WHERE bucket = ?", (bucket,))
            if tags:
                conn.execute(
                    "INSERT INTO bucket_tags (bucket, created, tags) VALUES (?, ?, ?)",
                    (bucket, row[0], encode_pairs(tuple(tags))),
                )

        return self._in_writer(self._write_txn, txn)
