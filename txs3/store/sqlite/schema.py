"""
The SQLite index's schema, its migrations and every SQL statement the store
runs more than once.

SQL is spelled out literally here (no string building), so that no value can
ever reach a statement's text.  L{init_schema} creates or migrates the index
when a store opens it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

SCHEMA_VERSION = 6

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT NOT NULL PRIMARY KEY,
    owner_id TEXT NOT NULL,
    created REAL NOT NULL,
    region TEXT NOT NULL,
    serial INTEGER NOT NULL DEFAULT 0
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
    version_id TEXT,
    seq INTEGER,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_blob ON objects (blob);
CREATE TABLE IF NOT EXISTS versions (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    seq INTEGER NOT NULL,
    version_id TEXT NOT NULL,
    marker INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified REAL NOT NULL,
    owner_id TEXT NOT NULL,
    meta TEXT NOT NULL,
    blob TEXT,
    version TEXT,
    PRIMARY KEY (bucket, key, seq DESC)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS versions_id ON versions (bucket, key, version_id);
CREATE INDEX IF NOT EXISTS versions_blob ON versions (blob);
CREATE TABLE IF NOT EXISTS version_extents (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    part INTEGER NOT NULL,
    blob TEXT NOT NULL,
    start INTEGER NOT NULL,
    length INTEGER NOT NULL,
    PRIMARY KEY (bucket, key, seq, n)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS version_extents_blob ON version_extents (blob);
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
CREATE INDEX IF NOT EXISTS uploads_age ON uploads (bucket, initiated, upload_id);
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
CREATE TABLE IF NOT EXISTS completed_uploads (
    upload_id TEXT NOT NULL PRIMARY KEY,
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    parts TEXT NOT NULL,
    etag TEXT NOT NULL,
    version TEXT NOT NULL,
    completed REAL NOT NULL,
    checksums TEXT NOT NULL,
    checksum_type TEXT NOT NULL,
    checksum_algorithm TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS completed_uploads_time ON completed_uploads (completed);
CREATE TABLE IF NOT EXISTS bucket_settings (
    bucket TEXT NOT NULL,
    created REAL NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (bucket, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
    name TEXT NOT NULL PRIMARY KEY,
    holder TEXT NOT NULL,
    until REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS users (
    name TEXT NOT NULL PRIMARY KEY,
    owner_id TEXT NOT NULL,
    email TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS access_keys (
    access_key TEXT NOT NULL PRIMARY KEY,
    secret_key TEXT NOT NULL,
    user_name TEXT NOT NULL,
    created REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS access_keys_user ON access_keys (user_name);
CREATE TABLE IF NOT EXISTS users_serial (serial INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS reload_requests (serial INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS quotas (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    max_bytes INTEGER,
    max_objects INTEGER,
    PRIMARY KEY (kind, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bucket_tags (
    bucket TEXT NOT NULL PRIMARY KEY,
    created REAL NOT NULL,
    tags TEXT NOT NULL
) WITHOUT ROWID;
"""

#: Version 1 -> 2: objects gain a version column (the new tables are
#: created by SCHEMA's IF NOT EXISTS).  Version 2 -> 3 only adds a table
#: (completed_uploads), which SCHEMA creates.  Version 3 -> 4: buckets
#: gain their settings serial (and SCHEMA creates bucket_settings).
#: Version 4 -> 5: objects gain their S3 version id and creation order
#: (SCHEMA creates versions and version_extents); a row from before
#: reads as version "null", older than any other.  Version 5 -> 6 only
#: adds the leases table and the uploads_age index, which SCHEMA creates.
MIGRATE_1_2 = "ALTER TABLE objects ADD COLUMN version TEXT"
MIGRATE_3_4 = "ALTER TABLE buckets ADD COLUMN serial INTEGER NOT NULL DEFAULT 0"
MIGRATE_4_5 = (
    "ALTER TABLE objects ADD COLUMN version_id TEXT",
    "ALTER TABLE objects ADD COLUMN seq INTEGER",
)

# SQL is spelled out literally (no string building) so that no value can
# ever reach a statement's text.
INSERT_OBJECT = (
    "INSERT INTO objects (bucket, key, size, etag, last_modified, owner_id, meta,"
    " blob, version, version_id, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_OBJECT_EXTENT = (
    "INSERT INTO object_extents (bucket, key, seq, part, blob, start, length)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
OBJECT_EXTENTS = (
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
#: Whether anything still names a blob; see "Blobs are immutable" in
#: L{txs3.store.sqlite}.
BLOB_REFERENCED = (
    "SELECT 1 FROM objects WHERE blob = ?"
    " UNION ALL SELECT 1 FROM object_extents WHERE blob = ?"
    " UNION ALL SELECT 1 FROM part_extents WHERE blob = ?"
    " UNION ALL SELECT 1 FROM versions WHERE blob = ?"
    " UNION ALL SELECT 1 FROM version_extents WHERE blob = ?"
    " LIMIT 1"
)
INSERT_COMPLETED = (
    "INSERT OR REPLACE INTO completed_uploads (upload_id, bucket, key, parts,"
    " etag, version, completed, checksums, checksum_type, checksum_algorithm)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
GET_COMPLETED = (
    "SELECT upload_id, bucket, key, parts, etag, version, completed, checksums,"
    " checksum_type, checksum_algorithm FROM completed_uploads"
    " WHERE upload_id = ? AND bucket = ? AND key = ?"
)
#: Completed-upload records older than a time (on completed_uploads_time).
PURGE_COMPLETED = "DELETE FROM completed_uploads WHERE completed < ?"
HEAD_OBJECT = (
    "SELECT b.name, o.key, o.size, o.etag, o.last_modified, o.owner_id,"
    " o.meta, o.blob, o.version, o.version_id"
    " FROM buckets AS b LEFT JOIN objects AS o"
    " ON o.bucket = b.name AND o.key = ?"
    " WHERE b.name = ?"
)
_SCAN_SELECT = (
    "SELECT key, size, etag, last_modified, owner_id, meta, blob, version,"
    " version_id FROM objects"
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


def _first(conn: sqlite3.Connection, sql: str) -> Any:
    """The first column of C{sql}'s first row (None if none), cursor closed."""
    cursor = conn.execute(sql)
    try:
        row = cursor.fetchone()
        return row[0] if row else None
    finally:
        cursor.close()


#: Usage counters, kept by triggers as rows come and go (so no write path
#: counts anything itself): every stored version counts, current or not;
#: delete markers do not.  Created, and filled from the rows already
#: there, the first time an index is opened by a txs3 that has them.
USAGE_TABLE = (
    "CREATE TABLE bucket_usage (bucket TEXT NOT NULL PRIMARY KEY,"
    " objects INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID"
)
USAGE_FILL = (
    "INSERT INTO bucket_usage (bucket, objects, bytes)"
    " SELECT bucket, count(*), coalesce(sum(size), 0) FROM"
    " (SELECT bucket, size FROM objects"
    "  UNION ALL SELECT bucket, size FROM versions WHERE marker = 0)"
    " GROUP BY bucket"
)
_ADD = (
    "INSERT INTO bucket_usage (bucket, objects, bytes) VALUES (NEW.bucket, 1, NEW.size)"
    " ON CONFLICT (bucket) DO UPDATE SET objects = objects + 1,"
    " bytes = bytes + NEW.size"
)
_SUBTRACT = (
    "UPDATE bucket_usage SET objects = objects - 1, bytes = bytes - OLD.size"
    " WHERE bucket = OLD.bucket"
)
USAGE_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS usage_objects_in AFTER INSERT ON objects"
    f" BEGIN {_ADD}; END",
    f"CREATE TRIGGER IF NOT EXISTS usage_objects_out AFTER DELETE ON objects"
    f" BEGIN {_SUBTRACT}; END",
    f"CREATE TRIGGER IF NOT EXISTS usage_versions_in AFTER INSERT ON versions"
    f" WHEN NEW.marker = 0 BEGIN {_ADD}; END",
    f"CREATE TRIGGER IF NOT EXISTS usage_versions_out AFTER DELETE ON versions"
    f" WHEN OLD.marker = 0 BEGIN {_SUBTRACT}; END",
)
QUOTA_MESSAGE = (
    "This write would take the bucket, or its owner's buckets, past a storage quota"
    " (see txs3-admin quota list)."
)
#: The last word on quotas, inside every commit that adds an object, in
#: any process: a new current object (not a noncurrent version made
#: current again by a deletion: a delete is never refused) that would take
#: its bucket, or its owner's buckets together, past a quota aborts the
#: transaction.  The API checks the same before the body, with a message
#: naming the limit (txs3.api.quota); this catches the races.
QUOTA_TRIGGER = (
    "CREATE TRIGGER IF NOT EXISTS quota_objects BEFORE INSERT ON objects"
    " WHEN NOT EXISTS (SELECT 1 FROM versions WHERE bucket = NEW.bucket"
    "  AND key = NEW.key AND version = NEW.version)"
    " BEGIN"
    " SELECT RAISE(ABORT, 'QuotaExceeded') WHERE EXISTS ("
    "  SELECT 1 FROM quotas AS q LEFT JOIN bucket_usage AS u ON u.bucket = q.name"
    "  WHERE q.kind = 'bucket' AND q.name = NEW.bucket AND ("
    "   coalesce(u.bytes, 0) + NEW.size > coalesce(q.max_bytes, 1e30)"
    "   OR coalesce(u.objects, 0) + 1 > coalesce(q.max_objects, 1e30)));"
    " SELECT RAISE(ABORT, 'QuotaExceeded') WHERE EXISTS ("
    "  SELECT 1 FROM buckets AS b JOIN users AS n ON n.owner_id = b.owner_id"
    "  JOIN quotas AS q ON q.kind = 'user' AND q.name = n.name"
    "  WHERE b.name = NEW.bucket AND ("
    "   (SELECT coalesce(sum(u.bytes), 0) FROM bucket_usage AS u JOIN buckets AS o"
    "    ON o.name = u.bucket WHERE o.owner_id = b.owner_id) + NEW.size"
    "    > coalesce(q.max_bytes, 1e30)"
    "   OR (SELECT coalesce(sum(u.objects), 0) FROM bucket_usage AS u"
    "    JOIN buckets AS o ON o.name = u.bucket WHERE o.owner_id = b.owner_id) + 1"
    "    > coalesce(q.max_objects, 1e30)));"
    " END"
)


def _usage(conn: sqlite3.Connection) -> None:
    """Create the usage counters (filled once) and the quota trigger."""
    exists = _first(
        conn,
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bucket_usage'",
    )
    if not exists:
        conn.execute(USAGE_TABLE)
        conn.execute(USAGE_FILL)
    for statement in (*USAGE_TRIGGERS, QUOTA_TRIGGER):
        conn.execute(statement)


def init_schema(conn: sqlite3.Connection, index_path: str) -> None:
    """
    Put the index in WAL mode and create (or migrate) its schema, in one
    C{BEGIN IMMEDIATE} transaction so that processes starting together
    create it once.

    @raise RuntimeError: if WAL mode cannot be set, or the index has a
        newer schema than this code.
    """
    # WAL is persistent in the file; setting it again is a no-op.
    mode = _first(conn, "PRAGMA journal_mode = WAL")
    if str(mode).lower() != "wal":
        raise RuntimeError(f"cannot put {index_path} in WAL mode: {mode}")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        version = _first(conn, "SELECT max(version) FROM schema_version")
        if version is None:
            conn.execute(
                "INSERT INTO schema_version (version) VALUES (?)",
                (SCHEMA_VERSION,),
            )
        elif version < SCHEMA_VERSION:
            columns = {r[1] for r in conn.execute("PRAGMA table_info(objects)")}
            if "version" not in columns:
                conn.execute(MIGRATE_1_2)
            if "version_id" not in columns:
                for statement in MIGRATE_4_5:
                    conn.execute(statement)
            columns = {r[1] for r in conn.execute("PRAGMA table_info(buckets)")}
            if "serial" not in columns:
                conn.execute(MIGRATE_3_4)
            conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
        elif version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{index_path} has schema version {version}; "
                f"this txs3 understands up to {SCHEMA_VERSION}"
            )
        _usage(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
