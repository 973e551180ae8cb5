"""
Quotas and usage, as C{txs3-admin} manages and reports them: the index's
C{quotas} table and the C{bucket_usage} counters its triggers keep
(L{txs3.store.sqlite.schema}).  Synchronous, on a connection the caller
holds (L{txs3.store.sqlite.users.open_index}).
"""

from __future__ import annotations

import sqlite3
from typing import Literal

from txs3.store.interface import Quota, Usage
from txs3.store.sqlite.usage import bucket_usage, owner_usage
from txs3.store.sqlite.users import AdminError, owner_id_of

Kind = Literal["user", "bucket"]


def resolve(conn: sqlite3.Connection, name: str, kind: Kind | None) -> Kind:
    """
    Whether C{name} is a user or a bucket (C{kind} when given).

    @raise AdminError: neither, or both without C{kind}.
    """
    is_user = conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone()
    is_bucket = conn.execute("SELECT 1 FROM buckets WHERE name = ?", (name,)).fetchone()
    if kind == "user" and not is_user:
        raise AdminError(f"no user named {name!r} (see: txs3-admin user list)")
    if kind == "bucket" and not is_bucket:
        raise AdminError(f"no bucket named {name!r} (see: txs3-admin bucket list)")
    if kind is not None:
        return kind
    if is_user and is_bucket:
        raise AdminError(f"{name!r} is a user and a bucket: say --user or --bucket")
    if is_user:
        return "user"
    if is_bucket:
        return "bucket"
    raise AdminError(f"{name!r} is neither a user nor a bucket")


def usage_of(conn: sqlite3.Connection, kind: Kind, name: str) -> Usage:
    """What user or bucket C{name} holds now (from the counters)."""
    if kind == "bucket":
        return bucket_usage(conn, name)
    return owner_usage(conn, owner_id_of(name))


def set_quota(
    conn: sqlite3.Connection,
    name: str,
    quota: Quota,
    kind: Kind | None = None,
) -> Kind:
    """
    Set the quota of user or bucket C{name}.

    @raise AdminError: an unknown name, no limit given, a negative limit,
        or a limit below what it holds already (it would refuse every
        write at once; free space first).
    """
    if quota.max_bytes is None and quota.max_objects is None:
        raise AdminError("give --bytes N, --objects N, or both")
    for value in (quota.max_bytes, quota.max_objects):
        if value is not None and value < 0:
            raise AdminError("a quota cannot be negative")
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = resolve(conn, name, kind)
        held = usage_of(conn, found, name)
        if quota.max_bytes is not None and held.bytes > quota.max_bytes:
            raise AdminError(
                f"{found} {name} already holds {held.bytes} bytes, more than"
                f" {quota.max_bytes}: free space first, or set a higher quota"
            )
        if quota.max_objects is not None and held.objects > quota.max_objects:
            raise AdminError(
                f"{found} {name} already holds {held.objects} objects, more than"
                f" {quota.max_objects}: delete some first, or set a higher quota"
            )
        conn.execute(
            "INSERT OR REPLACE INTO quotas (kind, name, max_bytes, max_objects)"
            " VALUES (?, ?, ?, ?)",
            (found, name, quota.max_bytes, quota.max_objects),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


def remove_quota(conn: sqlite3.Connection, name: str, kind: Kind | None = None) -> Kind:
    """Remove the quota of user or bucket C{name}."""
    found = resolve(conn, name, kind)
    conn.execute("DELETE FROM quotas WHERE kind = ? AND name = ?", (found, name))
    return found


def list_quotas(conn: sqlite3.Connection) -> list[tuple[Kind, str, Quota, Usage]]:
    """Every quota with what its user or bucket holds now."""
    rows = conn.execute(
        "SELECT kind, name, max_bytes, max_objects FROM quotas ORDER BY kind, name"
    ).fetchall()
    return [
        (kind, name, Quota(b, o), usage_of(conn, kind, name))
        for kind, name, b, o in rows
    ]
