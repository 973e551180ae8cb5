"""
Access settings in the SQLite store: a bucket's named settings (its
policy, ACL, CORS rules, public access block, object ownership) and an
object version's ACL and Object Lock.

Settings are opaque text to the store; the layers above parse them.  They
live in C{bucket_settings}, stamped with the bucket's creation time, as
bucket tags are: a row whose stamp differs belongs to a deleted bucket of
the same name and is ignored.  Every change bumps C{buckets.serial} in the
same transaction, so that a reader holding parsed settings learns from
the bucket row alone (which it reads anyway) whether they are stale, in
this process or another.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable, Mapping

from twisted.internet.defer import Deferred

from txs3.store.interface import LockRetention, ObjectMeta
from txs3.store.sqlite.core import StoreCore
from txs3.store.sqlite.rows import no_such_bucket, one, replace_meta
from txs3.store.sqlite.versions import noncurrent


class SettingsMixin(StoreCore):
    """
    Bucket settings in C{bucket_settings}; object ACLs and locks in the
    version's meta.
    """

    def get_bucket_settings(self, bucket: str) -> Mapping[str, str]:
        """See L{IObjectStore.get_bucket_settings}."""
        conn = self._connection()
        rows = conn.execute(
            "SELECT s.name, s.value FROM buckets AS b JOIN bucket_settings AS s"
            " ON s.bucket = b.name AND s.created = b.created WHERE b.name = ?",
            (bucket,),
        ).fetchall()
        if not rows and not self._bucket_exists(conn, bucket):
            raise no_such_bucket(bucket)
        return dict(rows)

    def put_bucket_setting(
        self, bucket: str, name: str, value: str | None
    ) -> Deferred[None]:
        """See L{IObjectStore.put_bucket_setting}."""

        def txn(conn: sqlite3.Connection) -> None:
            row = one(conn, "SELECT created FROM buckets WHERE name = ?", (bucket,))
            if row is None:
                raise no_such_bucket(bucket)
            conn.execute(
                "DELETE FROM bucket_settings WHERE bucket = ?"
                " AND (name = ? OR created != ?)",
                (bucket, name, row[0]),
            )
            if value is not None:
                conn.execute(
                    "INSERT INTO bucket_settings (bucket, created, name, value)"
                    " VALUES (?, ?, ?, ?)",
                    (bucket, row[0], name, value),
                )
            conn.execute(
                "UPDATE buckets SET serial = serial + 1 WHERE name = ?", (bucket,)
            )

        return self._in_writer(self._write_txn, txn)

    def put_object_acl(
        self, bucket: str, key: str, acl: str | None, version_id: str | None = None
    ) -> Deferred[None]:
        """See L{IObjectStore.put_object_acl}: one UPDATE of the meta."""

        def change(meta: ObjectMeta) -> ObjectMeta:
            return dataclasses.replace(meta, acl=acl)

        def txn(conn: sqlite3.Connection) -> None:
            replace_meta(
                conn,
                bucket,
                key,
                change,
                noncurrent(conn, bucket, key, version_id, change),
            )

        return self._in_writer(self._write_txn, txn)

    def put_object_lock(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        change: Callable[[ObjectMeta], tuple[LockRetention | None, bool | None]],
    ) -> Deferred[None]:
        """
        See L{IObjectStore.put_object_lock}: one UPDATE of the meta, in
        the transaction that read it, so C{change} decides over the lock
        as it is at the commit.
        """

        def replaced(meta: ObjectMeta) -> ObjectMeta:
            retention, legal_hold = change(meta)
            return dataclasses.replace(meta, retention=retention, legal_hold=legal_hold)

        def txn(conn: sqlite3.Connection) -> None:
            replace_meta(
                conn,
                bucket,
                key,
                replaced,
                noncurrent(conn, bucket, key, version_id, replaced),
            )

        return self._in_writer(self._write_txn, txn)
