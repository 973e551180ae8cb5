"""
Versions in the SQLite index.

A key's versions live in two tables, so that nothing an unversioned
bucket does (and no read of a current version) pays for versioning:

  - C{objects} holds each key's current version when it is an object:
    GET, HEAD and ListObjects read it alone, as before versioning;
  - C{versions} holds everything else: noncurrent versions, and delete
    markers (the newest of which may be the key's latest version, when
    C{objects} has no row for the key).  Their extents are in
    C{version_extents}.

Every version has a C{seq}: its place in the key's history, greater for
newer versions (microseconds of its write, bumped past the key's newest
if the clock disagrees).  The current row always has the greatest. The
primary key of C{versions} is C{(bucket, key, seq DESC)}, so a version
listing reads a key's history newest first straight off the index.

Moves between the tables happen inside the write transaction that causes
them (L{make_room} before a new current version, L{promote} after the
current one is deleted), so a crash leaves a complete version or none.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from txs3.errors import S3Error
from txs3.store.extents import Extent
from txs3.store.interface import NULL_VERSION, ObjectInfo, ObjectMeta, Versioning
from txs3.store.namespace import encode_key
from txs3.store.sqlite.rows import decode_meta, encode_meta, one, remove_object

#: A version row, from either table (C{objects} has no delete markers:
#: its C{marker} is 0).
CURRENT_SELECT = (
    "SELECT key, size, etag, last_modified, owner_id, meta, blob, version,"
    " version_id, seq, 0 FROM objects"
)
VERSION_SELECT = (
    "SELECT key, size, etag, last_modified, owner_id, meta, blob, version,"
    " version_id, seq, marker FROM versions"
)

_NEWEST = (
    "SELECT max(s) FROM (SELECT seq AS s FROM objects WHERE bucket = ? AND key = ?"
    " UNION ALL SELECT max(seq) FROM versions WHERE bucket = ? AND key = ?)"
)


def version_info(bucket: str, row: tuple[Any, ...], is_latest: bool) -> ObjectInfo:
    """The entry of a version row (L{CURRENT_SELECT}, L{VERSION_SELECT})."""
    key, size, etag, last_modified, owner_id, meta, blob, version, vid, _, mark = row[
        :11
    ]
    return ObjectInfo(
        bucket=bucket,
        key=bytes(key).decode("utf-8"),
        size=size,
        etag=etag,
        last_modified=last_modified,
        meta=decode_meta(meta),
        owner_id=owner_id,
        blob=blob or "",
        version=version or "",
        version_id=vid or NULL_VERSION,
        delete_marker=bool(mark),
        is_latest=is_latest,
    )


def new_seq(
    conn: sqlite3.Connection,
    bucket: str,
    raw_key: bytes,
    now: float,
    versioning: Versioning,
) -> int:
    """
    The C{seq} of a version of C{raw_key} written now: its write time in
    microseconds, made greater than the key's newest version's when the
    bucket keeps versions (an unversioned bucket has no history to order).
    """
    micros = int(now * 1_000_000)
    if not versioning:
        return micros
    row = one(conn, _NEWEST, (bucket, raw_key, bucket, raw_key))
    newest = row[0] if row is not None and row[0] is not None else -1
    return max(micros, newest + 1)


def _retire(conn: sqlite3.Connection, bucket: str, raw_key: bytes) -> None:
    """Move the current row of C{raw_key} (if any) into C{versions}."""
    row = one(
        conn,
        "DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING size, etag,"
        " last_modified, owner_id, meta, blob, version, version_id, seq",
        (bucket, raw_key),
    )
    if row is None:
        return
    size, etag, last_modified, owner_id, meta, blob, version, vid, seq = row
    seq = seq or 0
    conn.execute(
        "INSERT INTO versions (bucket, key, seq, version_id, marker, size, etag,"
        " last_modified, owner_id, meta, blob, version)"
        " VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)",
        (bucket, raw_key, seq, vid or NULL_VERSION, size, etag, last_modified,
         owner_id, meta, blob, version),
    )  # fmt: skip
    conn.execute(
        "INSERT INTO version_extents (bucket, key, seq, n, part, blob, start, length)"
        " SELECT bucket, key, ?, seq, part, blob, start, length FROM object_extents"
        " WHERE bucket = ? AND key = ?",
        (seq, bucket, raw_key),
    )
    conn.execute(
        "DELETE FROM object_extents WHERE bucket = ? AND key = ?", (bucket, raw_key)
    )


def _remove_version(
    conn: sqlite3.Connection, bucket: str, raw_key: bytes, seq: int
) -> set[str]:
    """Delete one row of C{versions} and its extents; the blobs they named."""
    row = one(
        conn,
        "DELETE FROM versions WHERE bucket = ? AND key = ? AND seq = ? RETURNING blob",
        (bucket, raw_key, seq),
    )
    blobs = {row[0]} if row is not None and row[0] else set()
    rows = conn.execute(
        "DELETE FROM version_extents WHERE bucket = ? AND key = ? AND seq = ?"
        " RETURNING blob",
        (bucket, raw_key, seq),
    ).fetchall()
    blobs.update(r[0] for r in rows)
    return blobs


def current_version_id(
    conn: sqlite3.Connection, bucket: str, raw_key: bytes
) -> str | None:
    """The version id of the key's current object, or None without one."""
    row = one(
        conn,
        "SELECT version_id FROM objects WHERE bucket = ? AND key = ?",
        (bucket, raw_key),
    )
    return None if row is None else (row[0] or NULL_VERSION)


def _null_versions(
    conn: sqlite3.Connection, bucket: str, raw_key: bytes
) -> list[tuple[Any, ...]]:
    return conn.execute(
        VERSION_SELECT + " WHERE bucket = ? AND key = ? AND version_id = ?",
        (bucket, raw_key, NULL_VERSION),
    ).fetchall()


def make_room(
    conn: sqlite3.Connection,
    bucket: str,
    raw_key: bytes,
    versioning: Versioning,
    guard: Any = None,
) -> set[str]:
    """
    Inside a write transaction, before a new newest version of C{raw_key}
    (an object or a delete marker) is written under C{versioning}: what
    S3 does to the versions already there.  Returns the blobs of what was
    removed for good (to be reference-checked after the commit).

      - never versioned: the current object goes;
      - C{Enabled}: the current object becomes noncurrent;
      - C{Suspended}: the C{null} version goes, current or not; any other
        current object becomes noncurrent.

    C{guard}, when given, is called with each version removed for good.
    """
    if not versioning:
        if guard is not None:
            _guard_current(conn, bucket, raw_key, guard)
        return remove_object(conn, bucket, raw_key) or set()
    freed: set[str] = set()
    if versioning == "Suspended":
        for row in _null_versions(conn, bucket, raw_key):
            if guard is not None:
                guard(version_info(bucket, row, False))
            freed |= _remove_version(conn, bucket, raw_key, row[9])
        if current_version_id(conn, bucket, raw_key) == NULL_VERSION:
            if guard is not None:
                _guard_current(conn, bucket, raw_key, guard)
            return freed | (remove_object(conn, bucket, raw_key) or set())
    _retire(conn, bucket, raw_key)
    return freed


def _guard_current(
    conn: sqlite3.Connection, bucket: str, raw_key: bytes, guard: Any
) -> None:
    row = one(conn, CURRENT_SELECT + " WHERE bucket = ? AND key = ?", (bucket, raw_key))
    if row is not None:
        guard(version_info(bucket, row, True))


def insert_marker(
    conn: sqlite3.Connection,
    bucket: str,
    raw_key: bytes,
    version_id: str,
    seq: int,
    owner_id: str,
    now: float,
) -> None:
    """Write a delete marker as C{raw_key}'s newest version."""
    conn.execute(
        "INSERT INTO versions (bucket, key, seq, version_id, marker, size, etag,"
        " last_modified, owner_id, meta, blob, version)"
        " VALUES (?, ?, ?, ?, 1, 0, '', ?, ?, ?, NULL, NULL)",
        (bucket, raw_key, seq, version_id, now, owner_id, encode_meta(ObjectMeta())),
    )


def promote(conn: sqlite3.Connection, bucket: str, raw_key: bytes) -> None:
    """
    After the current object of C{raw_key} was removed: make the newest
    noncurrent version current again, unless it is a delete marker (the
    key then stays deleted) or there is none.
    """
    if current_version_id(conn, bucket, raw_key) is not None:
        return
    row = one(
        conn,
        VERSION_SELECT + " WHERE bucket = ? AND key = ? ORDER BY seq DESC LIMIT 1",
        (bucket, raw_key),
    )
    if row is None or row[10]:
        return
    seq = row[9]
    conn.execute(
        "INSERT INTO objects (bucket, key, size, etag, last_modified, owner_id, meta,"
        " blob, version, version_id, seq) SELECT bucket, key, size, etag,"
        " last_modified, owner_id, meta, blob, version, version_id, seq FROM versions"
        " WHERE bucket = ? AND key = ? AND seq = ?",
        (bucket, raw_key, seq),
    )
    conn.execute(
        "INSERT INTO object_extents (bucket, key, seq, part, blob, start, length)"
        " SELECT bucket, key, n, part, blob, start, length FROM version_extents"
        " WHERE bucket = ? AND key = ? AND seq = ?",
        (bucket, raw_key, seq),
    )
    conn.execute(
        "DELETE FROM version_extents WHERE bucket = ? AND key = ? AND seq = ?",
        (bucket, raw_key, seq),
    )
    conn.execute(
        "DELETE FROM versions WHERE bucket = ? AND key = ? AND seq = ?",
        (bucket, raw_key, seq),
    )


def find_version(
    conn: sqlite3.Connection, bucket: str, raw_key: bytes, version_id: str
) -> tuple[tuple[Any, ...], bool] | None:
    """
    The row of version C{version_id} of C{raw_key} and whether it is the
    current object's, or None when there is no such version.
    """
    current = one(
        conn, CURRENT_SELECT + " WHERE bucket = ? AND key = ?", (bucket, raw_key)
    )
    if current is not None and (current[8] or NULL_VERSION) == version_id:
        return current, True
    row = one(
        conn,
        VERSION_SELECT + " WHERE bucket = ? AND key = ? AND version_id = ?"
        " ORDER BY seq DESC LIMIT 1",
        (bucket, raw_key, version_id),
    )
    return (row, False) if row is not None else None


def version_extents(
    conn: sqlite3.Connection, bucket: str, raw_key: bytes, seq: int
) -> list[Extent]:
    """The extents of noncurrent version C{seq} of C{raw_key}, in order."""
    return [
        Extent(blob, start, length, part)
        for blob, start, length, part in conn.execute(
            "SELECT blob, start, length, part FROM version_extents"
            " WHERE bucket = ? AND key = ? AND seq = ? ORDER BY n",
            (bucket, raw_key, seq),
        ).fetchall()
    ]


def newest_marker(conn: sqlite3.Connection, bucket: str, raw_key: bytes) -> str | None:
    """
    The version id of the delete marker that is C{raw_key}'s latest
    version, or None (the key has a current object, or no history, or its
    newest noncurrent version is an object).
    """
    row = one(
        conn,
        "SELECT version_id, marker FROM versions WHERE bucket = ? AND key = ?"
        " ORDER BY seq DESC LIMIT 1",
        (bucket, raw_key),
    )
    return str(row[0]) if row is not None and row[1] else None


def remove_noncurrent(
    conn: sqlite3.Connection, bucket: str, raw_key: bytes, seq: int
) -> set[str]:
    """Remove noncurrent version C{seq} for good; the blobs it named."""
    return _remove_version(conn, bucket, raw_key, seq)


def has_versions(conn: sqlite3.Connection, bucket: str) -> bool:
    """Whether C{bucket} holds any noncurrent version or delete marker."""
    return (
        one(conn, "SELECT 1 FROM versions WHERE bucket = ? LIMIT 1", (bucket,))
        is not None
    )


def version_meta(
    conn: sqlite3.Connection, bucket: str, raw_key: bytes, seq: int
) -> ObjectMeta:
    """The metadata of noncurrent version C{seq}."""
    row = one(
        conn,
        "SELECT meta FROM versions WHERE bucket = ? AND key = ? AND seq = ?",
        (bucket, raw_key, seq),
    )
    assert row is not None
    return decode_meta(row[0])


def set_version_meta(
    conn: sqlite3.Connection, bucket: str, raw_key: bytes, seq: int, meta: ObjectMeta
) -> None:
    """Replace the metadata of noncurrent version C{seq}."""
    conn.execute(
        "UPDATE versions SET meta = ? WHERE bucket = ? AND key = ? AND seq = ?",
        (encode_meta(meta), bucket, raw_key, seq),
    )


def replace_version_meta(
    conn: sqlite3.Connection,
    bucket: str,
    key: str,
    version_id: str,
    change: Callable[[ObjectMeta], ObjectMeta],
) -> bool:
    """
    Inside a write transaction: replace the metadata of version
    C{version_id} of C{key} by C{change} of it.  Returns False, changing
    nothing, when that is the current version (the caller updates
    C{objects}).  C{NoSuchVersion}; C{MethodNotAllowed} for a delete
    marker.
    """
    raw_key = encode_key(key)
    found = find_version(conn, bucket, raw_key, version_id)
    if found is None:
        raise S3Error.of("NoSuchVersion", Key=key, VersionId=version_id)
    row, current = found
    if current:
        return False
    if row[10]:
        raise S3Error.of("MethodNotAllowed", Method="PUT", ResourceType="DeleteMarker")
    seq = row[9]
    set_version_meta(
        conn, bucket, raw_key, seq, change(version_meta(conn, bucket, raw_key, seq))
    )
    return True


def noncurrent(
    conn: sqlite3.Connection,
    bucket: str,
    key: str,
    version_id: str | None,
    change: Callable[[ObjectMeta], ObjectMeta],
) -> Callable[[], bool] | None:
    """
    The C{noncurrent} argument of L{txs3.store.sqlite.rows.replace_meta}
    for a change of version C{version_id} (None: the current version).
    """
    if version_id is None:
        return None
    return lambda: replace_version_meta(conn, bucket, key, version_id, change)
