"""
The SQLite index's schema, statements and row-level helpers.

Everything here runs inside a connection the caller holds (most of it
inside one write transaction of L{txs3.store.sqlite.SQLiteStore}): it
encodes and decodes rows, and keeps the rule that a blob is freed only when
no object, object extent or upload part names it any more.  The store class
in C{sqlite.py} owns threads, connections and files; this module owns the
shape of the data.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from typing import Any, cast

from txs3.errors import S3Error
from txs3.store.blobs import (
    is_disk_full,
)
from txs3.store.extents import Extent
from txs3.store.interface import (
    ObjectInfo,
    ObjectMeta,
    PartInfo,
    UploadInfo,
    WriteCondition,
)

SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT NOT NULL PRIMARY KEY,
    owner_id TEXT NOT NULL,
    created REAL NOT NULL,
    region TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified REAL NOT NULL,
    owner_id TEXT NOT NULL,
    meta TEXT NOT NULL,
    blob TEXT,
    version TEXT,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_blob ON objects (blob);
CREATE TABLE IF NOT EXISTS object_extents (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    seq INTEGER NOT NULL,
    part INTEGER NOT NULL,
    blob TEXT NOT NULL,
    start INTEGER NOT NULL,
    length INTEGER NOT NULL,
    PRIMARY KEY (bucket, key, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS object_extents_blob ON object_extents (blob);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT NOT NULL PRIMARY KEY,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    initiated REAL NOT NULL,
    owner_id TEXT NOT NULL,
    meta TEXT NOT NULL,
    checksum_algorithm TEXT,
    checksum_type TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uploads_key ON uploads (bucket, key, upload_id);
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified REAL NOT NULL,
    checksums TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS part_extents (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    blob TEXT NOT NULL,
    start INTEGER NOT NULL,
    length INTEGER NOT NULL,
    PRIMARY KEY (upload_id, part_number, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS part_extents_blob ON part_extents (blob);
CREATE TABLE IF NOT EXISTS bucket_tags (
    bucket TEXT NOT NULL PRIMARY KEY,
    created REAL NOT NULL,
    tags TEXT NOT NULL
) WITHOUT ROWID;
"""

#: Version 1 -> 2: objects gain a version column (the new tables are
#: created by SCHEMA's IF NOT EXISTS).
MIGRATE_1_2 = "ALTER TABLE objects ADD COLUMN version TEXT"

# SQL is spelled out literally (no string building) so that no value can
# ever reach a statement's text.
_INSERT_OBJECT = (
    "INSERT INTO objects"
    " (bucket, key, size, etag, last_modified, owner_id, meta, blob, version)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_OBJECT_EXTENT = (
    "INSERT INTO object_extents (bucket, key, seq, part, blob, start, length)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_OBJECT_EXTENTS = (
    "SELECT blob, start, length, part FROM object_extents"
    " WHERE bucket = ? AND key = ? ORDER BY seq"
)
INSERT_PART = (
    "INSERT INTO parts (upload_id, part_number, size, etag, last_modified,"
    " checksums) VALUES (?, ?, ?, ?, ?, ?)"
)
INSERT_PART_EXTENT = (
    "INSERT INTO part_extents (upload_id, part_number, seq, blob, start, length)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
PART_EXTENTS = (
    "SELECT blob, start, length FROM part_extents"
    " WHERE upload_id = ? AND part_number = ? ORDER BY seq"
)
_UPLOAD_SELECT = (
    "SELECT upload_id, bucket, key, initiated, owner_id, meta,"
    " checksum_algorithm, checksum_type FROM uploads"
)
GET_UPLOAD = _UPLOAD_SELECT + " WHERE upload_id = ? AND bucket = ? AND key = ?"
INSERT_UPLOAD = (
    "INSERT INTO uploads (upload_id, bucket, key, initiated, owner_id, meta,"
    " checksum_algorithm, checksum_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
#: Uploads of the key-marker itself after the upload-id-marker.
UPLOADS_OF_KEY = (
    _UPLOAD_SELECT
    + " WHERE bucket = ? AND key = ? AND upload_id > ? ORDER BY upload_id LIMIT ?"
)
#: (inclusive lower bound, has upper bound) -> range scan on uploads_key.
UPLOAD_SCANS = {
    (True, False): _UPLOAD_SELECT
    + " WHERE bucket = ? AND key >= ? ORDER BY key, upload_id LIMIT ?",
    (False, False): _UPLOAD_SELECT
    + " WHERE bucket = ? AND key > ? ORDER BY key, upload_id LIMIT ?",
    (True, True): _UPLOAD_SELECT
    + " WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key, upload_id LIMIT ?",
    (False, True): _UPLOAD_SELECT
    + " WHERE bucket = ? AND key > ? AND key < ? ORDER BY key, upload_id LIMIT ?",
}
#: Whether anything still names a blob; see "Blobs are immutable" above.
BLOB_REFERENCED = (
    "SELECT 1 FROM objects WHERE blob = ?"
    " UNION ALL SELECT 1 FROM object_extents WHERE blob = ?"
    " UNION ALL SELECT 1 FROM part_extents WHERE blob = ?"
    " LIMIT 1"
)
HEAD_OBJECT = (
    "SELECT b.name, o.key, o.size, o.etag, o.last_modified, o.owner_id,"
    " o.meta, o.blob, o.version"
    " FROM buckets AS b LEFT JOIN objects AS o"
    " ON o.bucket = b.name AND o.key = ?"
    " WHERE b.name = ?"
)
_SCAN_SELECT = (
    "SELECT key, size, etag, last_modified, owner_id, meta, blob, version FROM objects"
)
#: (inclusive lower bound, has upper bound) -> range scan on (bucket, key).
SCANS = {
    (True, False): _SCAN_SELECT + " WHERE bucket = ? AND key >= ? ORDER BY key LIMIT ?",
    (False, False): _SCAN_SELECT + " WHERE bucket = ? AND key > ? ORDER BY key LIMIT ?",
    (True, True): _SCAN_SELECT
    + " WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?",
    (False, True): _SCAN_SELECT
    + " WHERE bucket = ? AND key > ? AND key < ? ORDER BY key LIMIT ?",
}


def encode_meta(meta: ObjectMeta) -> str:
    raw: dict[str, Any] = {
        "headers": [list(p) for p in meta.headers],
        "user": [list(p) for p in meta.user_metadata],
        "checksums": [list(p) for p in meta.checksums],
    }
    if meta.checksum_type != "FULL_OBJECT":
        raw["checksum_type"] = meta.checksum_type
    if meta.tags:
        # Optional key: rows written before tagging existed read as untagged.
        raw["tags"] = [list(p) for p in meta.tags]
    return json.dumps(raw, separators=(",", ":"))


def decode_meta(text: str) -> ObjectMeta:
    raw = json.loads(text)
    return ObjectMeta(
        headers=tuple((k, v) for k, v in raw["headers"]),
        user_metadata=tuple((k, v) for k, v in raw["user"]),
        checksums=tuple((k, v) for k, v in raw["checksums"]),
        checksum_type=raw.get("checksum_type", "FULL_OBJECT"),
        tags=tuple((k, v) for k, v in raw.get("tags", ())),
    )


def encode_pairs(pairs: tuple[tuple[str, str], ...]) -> str:
    return json.dumps([list(p) for p in pairs], separators=(",", ":"))


def decode_pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in json.loads(text))


def object_info(
    bucket: str, row: tuple[Any, ...], parts: tuple[int, ...] = ()
) -> ObjectInfo:
    key, size, etag, last_modified, owner_id, meta, blob, version = row
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
        parts=parts,
    )


def upload_info(row: tuple[Any, ...]) -> UploadInfo:
    upload_id, bucket, key, initiated, owner_id, meta, algorithm, ctype = row
    return UploadInfo(
        upload_id=upload_id,
        bucket=bucket,
        key=bytes(key).decode("utf-8"),
        initiated=initiated,
        owner_id=owner_id,
        meta=decode_meta(meta),
        checksum_algorithm=algorithm,
        checksum_type=ctype,
    )


def part_info(row: tuple[Any, ...]) -> PartInfo:
    number, size, etag, last_modified, checksums = row
    return PartInfo(number, size, etag, last_modified, decode_pairs(checksums))


def new_version() -> str:
    """A fresh object version id (see L{ObjectInfo.version})."""
    return uuid.uuid4().hex


def _conflict() -> S3Error:
    return S3Error.of("ConditionalRequestConflict")


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error.of("NoSuchUpload", UploadId=upload_id)


def _current_etag(conn: sqlite3.Connection, bucket: str, raw_key: bytes) -> str | None:
    row = one(
        conn, "SELECT etag FROM objects WHERE bucket = ? AND key = ?", (bucket, raw_key)
    )
    return cast(str, row[0]) if row is not None else None


def check_condition(
    conn: sqlite3.Connection,
    bucket: str,
    raw_key: bytes,
    condition: WriteCondition | None,
) -> None:
    """Raise C{ConditionalRequestConflict} unless C{condition} holds now."""
    if condition is not None and not condition.holds(
        _current_etag(conn, bucket, raw_key)
    ):
        raise _conflict()


def remove_object(
    conn: sqlite3.Connection, bucket: str, raw_key: bytes
) -> set[str] | None:
    """
    Delete the object's row and extents; return the blobs they named (to
    be reference-checked), or None when there was no object.
    """
    row = one(
        conn,
        "DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING blob",
        (bucket, raw_key),
    )
    if row is None:
        return None
    blobs = {row[0]} if row[0] else set()
    rows = conn.execute(
        "DELETE FROM object_extents WHERE bucket = ? AND key = ? RETURNING blob",
        (bucket, raw_key),
    ).fetchall()
    blobs.update(r[0] for r in rows)
    return blobs


def remove_part(conn: sqlite3.Connection, upload_id: str, number: int) -> set[str]:
    """Delete one part's rows; return the blobs they named."""
    conn.execute(
        "DELETE FROM parts WHERE upload_id = ? AND part_number = ?",
        (upload_id, number),
    )
    rows = conn.execute(
        "DELETE FROM part_extents WHERE upload_id = ? AND part_number = ?"
        " RETURNING blob",
        (upload_id, number),
    ).fetchall()
    return {r[0] for r in rows}


def remove_upload(conn: sqlite3.Connection, upload_id: str) -> set[str]:
    """Delete an upload and all its parts; return the blobs they named."""
    conn.execute("DELETE FROM uploads WHERE upload_id = ?", (upload_id,))
    conn.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
    rows = conn.execute(
        "DELETE FROM part_extents WHERE upload_id = ? RETURNING blob", (upload_id,)
    ).fetchall()
    return {r[0] for r in rows}


def unreferenced(conn: sqlite3.Connection, candidates: set[str]) -> list[str]:
    """Those of C{candidates} that no row names any more (free after commit)."""
    return [
        b for b in sorted(candidates) if one(conn, BLOB_REFERENCED, (b, b, b)) is None
    ]


def object_extents(
    conn: sqlite3.Connection, bucket: str, raw_key: bytes
) -> list[Extent]:
    return [
        Extent(blob, start, length, part)
        for blob, start, length, part in conn.execute(
            _OBJECT_EXTENTS, (bucket, raw_key)
        ).fetchall()
    ]


def insert_object(
    conn: sqlite3.Connection,
    info: ObjectInfo,
    raw_key: bytes,
    extents: list[Extent] | None,
) -> None:
    """Insert an object row (C{info.blob}) or, with C{extents}, its extents."""
    conn.execute(
        _INSERT_OBJECT,
        (
            info.bucket,
            raw_key,
            info.size,
            info.etag,
            info.last_modified,
            info.owner_id,
            encode_meta(info.meta),
            info.blob or None,
            info.version,
        ),
    )
    for seq, e in enumerate(extents or ()):
        conn.execute(
            _INSERT_OBJECT_EXTENT,
            (info.bucket, raw_key, seq, e.part, e.blob, e.offset, e.length),
        )


def is_full(error: BaseException) -> bool:
    """Whether C{error} (OS or SQLite) means the disk is full."""
    if is_disk_full(error):
        return True
    return (
        isinstance(error, sqlite3.Error)
        and getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    )


def one(
    conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()
) -> tuple[Any, ...] | None:
    """
    The first row of C{sql}, with the statement finished before returning:
    a statement left half-read would keep its read snapshot open, and later
    reads on the connection would not see other processes' commits.
    """
    cursor = conn.execute(sql, params)
    try:
        row: tuple[Any, ...] | None = cursor.fetchone()
        return row
    finally:
        cursor.close()


def no_such_bucket(name: str) -> S3Error:
    return S3Error.of("NoSuchBucket", BucketName=name)


def new_upload_id(now: float) -> str:
    """
    A fresh upload id: 32 hex digits, the first 14 the initiation time in
    microseconds, so that ids order one key's uploads by initiation time
    (the order ListMultipartUploads reports them in).
    """
    return f"{int(now * 1_000_000) & ((1 << 56) - 1):014x}" + uuid.uuid4().hex[:18]
