"""
Usage and quotas in the SQLite store: the counters the index's triggers
keep (L{txs3.store.sqlite.schema}), and the quotas C{txs3-admin} sets.
"""

from __future__ import annotations

import sqlite3

from txs3.store.interface import Quota, QuotaState, Usage
from txs3.store.sqlite.core import StoreCore
from txs3.store.sqlite.rows import no_such_bucket, one


def _quota(conn: sqlite3.Connection, kind: str, name: str) -> Quota | None:
    row = one(
        conn,
        "SELECT max_bytes, max_objects FROM quotas WHERE kind = ? AND name = ?",
        (kind, name),
    )
    return None if row is None else Quota(row[0], row[1])


def bucket_usage(conn: sqlite3.Connection, bucket: str) -> Usage:
    """The usage counters of C{bucket}."""
    row = one(
        conn, "SELECT objects, bytes FROM bucket_usage WHERE bucket = ?", (bucket,)
    )
    return Usage() if row is None else Usage(row[0], row[1])


def owner_usage(conn: sqlite3.Connection, owner_id: str) -> Usage:
    """The usage of every bucket of C{owner_id} together."""
    row = one(
        conn,
        "SELECT coalesce(sum(u.objects), 0), coalesce(sum(u.bytes), 0)"
        " FROM bucket_usage AS u JOIN buckets AS b ON b.name = u.bucket"
        " WHERE b.owner_id = ?",
        (owner_id,),
    )
    return Usage() if row is None else Usage(row[0], row[1])


def quota_state(conn: sqlite3.Connection, bucket: str) -> QuotaState:
    """See L{IObjectStore.quota_state}, on a connection (one snapshot)."""
    row = one(
        conn,
        "SELECT b.owner_id, n.name FROM buckets AS b"
        " LEFT JOIN users AS n ON n.owner_id = b.owner_id WHERE b.name = ?",
        (bucket,),
    )
    if row is None:
        raise no_such_bucket(bucket)
    owner_id, user = row
    return QuotaState(
        bucket=bucket,
        usage=bucket_usage(conn, bucket),
        quota=_quota(conn, "bucket", bucket),
        owner=user,
        owner_usage=owner_usage(conn, owner_id) if user else Usage(),
        owner_quota=_quota(conn, "user", user) if user else None,
    )


class UsageMixin(StoreCore):
    """Quota state for the API's checks before the body."""

    def quota_state(self, bucket: str) -> QuotaState:
        """See L{IObjectStore.quota_state}."""
        conn = self._connection()
        conn.execute("BEGIN")  # one read snapshot
        try:
            return quota_state(conn, bucket)
        finally:
            conn.execute("COMMIT")
