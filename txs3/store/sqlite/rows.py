"""
Rows of the SQLite index: encoding values into rows and back, and the
row-level helpers every write transaction shares.

Everything here runs inside a connection the caller holds (most of it inside
one write transaction of L{txs3.store.sqlite.SQLiteStore}), and keeps the
rule that a blob is freed only when no object, object extent or upload part
names it any more.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

from txs3.errors import S3Error
from txs3.store.blobs import is_disk_full
from txs3.store.extents import Extent
from txs3.store.interface import (
    NULL_VERSION,
    CompletedUpload,
    LockRetention,
    ObjectInfo,
    ObjectMeta,
    PartInfo,
    SourceChanged,
    UploadInfo,
    WriteCondition,
)
from txs3.store.namespace import encode_key
from txs3.store.sqlite.schema import (
    BLOB_REFERENCED,
    INSERT_OBJECT,
    INSERT_OBJECT_EXTENT,
    OBJECT_EXTENTS,
)


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
    if meta.acl is not None:
        raw["acl"] = meta.acl
    # Optional keys too: rows written before Object Lock read as unlocked.
    if meta.retention is not None:
        raw["retention"] = [meta.retention.mode, meta.retention.until]
    if meta.legal_hold is not None:
        raw["legal_hold"] = meta.legal_hold
    if meta.damaged:
        raw["damaged"] = True
    return json.dumps(raw, separators=(",", ":"))


def decode_meta(text: str) -> ObjectMeta:
    raw = json.loads(text)
    return ObjectMeta(
        headers=tuple((k, v) for k, v in raw["headers"]),
        user_metadata=tuple((k, v) for k, v in raw["user"]),
        checksums=tuple((k, v) for k, v in raw["checksums"]),
        checksum_type=raw.get("checksum_type", "FULL_OBJECT"),
        tags=tuple((k, v) for k, v in raw.get("tags", ())),
        acl=raw.get("acl"),
        retention=(
            None if "retention" not in raw else LockRetention(*raw["retention"])
        ),
        legal_hold=raw.get("legal_hold"),
        damaged=bool(raw.get("damaged", False)),
    )


def encode_pairs(pairs: tuple[tuple[str, str], ...]) -> str:
    return json.dumps([list(p) for p in pairs], separators=(",", ":"))


def decode_pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in json.loads(text))


def object_info(
    bucket: str, row: tuple[Any, ...], parts: tuple[int, ...] = ()
) -> ObjectInfo:
    key, size, etag, last_modified, owner_id, meta, blob, version, version_id = row[:9]
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
        version_id=version_id or NULL_VERSION,
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


def completed_upload(row: tuple[Any, ...]) -> CompletedUpload:
    upload_id, bucket, key, parts, etag, version, completed, sums, ctype, alg = row
    return CompletedUpload(
        upload_id=upload_id,
        bucket=bucket,
        key=bytes(key).decode("utf-8"),
        parts=tuple((int(n), str(e)) for n, e in json.loads(parts)),
        etag=etag,
        version=version,
        completed=completed,
        checksums=decode_pairs(sums),
        checksum_type=ctype,
        checksum_algorithm=alg,
    )


def completed_row(record: CompletedUpload, raw_key: bytes) -> tuple[Any, ...]:
    """The parameters of L{INSERT_COMPLETED} for C{record}."""
    return (
        record.upload_id,
        record.bucket,
        raw_key,
        json.dumps([list(p) for p in record.parts], separators=(",", ":")),
        record.etag,
        record.version,
        record.completed,
        encode_pairs(record.checksums),
        record.checksum_type,
        record.checksum_algorithm,
    )


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
        b for b in sorted(candidates) if one(conn, BLOB_REFERENCED, (b,) * 5) is None
    ]


def object_extents(
    conn: sqlite3.Connection, bucket: str, raw_key: bytes
) -> list[Extent]:
    return [
        Extent(blob, start, length, part)
        for blob, start, length, part in conn.execute(
            OBJECT_EXTENTS, (bucket, raw_key)
        ).fetchall()
    ]


def insert_object(
    conn: sqlite3.Connection,
    info: ObjectInfo,
    raw_key: bytes,
    extents: list[Extent] | None,
    seq: int = 0,
) -> None:
    """
    Insert an object row (C{info.blob}) or, with C{extents}, its extents,
    as the key's current version, number C{seq} in the key's order of
    versions (L{txs3.store.sqlite.versions}).
    """
    conn.execute(
        INSERT_OBJECT,
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
            info.version_id,
            seq,
        ),
    )
    for n, e in enumerate(extents or ()):
        conn.execute(
            INSERT_OBJECT_EXTENT,
            (info.bucket, raw_key, n, e.part, e.blob, e.offset, e.length),
        )


#: SQLite's codes for "no room": a full disk under a write (FULL), and no
#: room to grow the shared-memory file a connection needs to read in WAL
#: mode (IOERR_SHMSIZE: its first connection after a restart on a full disk).
_FULL_CODES = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR_SHMSIZE})


def is_full(error: BaseException) -> bool:
    """Whether C{error} (OS or SQLite) means the disk is full."""
    if is_disk_full(error):
        return True
    return (
        isinstance(error, sqlite3.Error)
        and getattr(error, "sqlite_errorcode", None) in _FULL_CODES
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


def source_body(
    conn: sqlite3.Connection, source: ObjectInfo
) -> tuple[str, list[Extent] | None]:
    """
    The body of copy source C{source} (an entry the store returned, so its
    key is valid) as it is now: its blob id, or "" and its extents.

    @raise SourceChanged: if it is not the version C{source} describes.
    """
    src_key = encode_key(source.key)
    row = one(
        conn,
        "SELECT blob, version FROM objects WHERE bucket = ? AND key = ?",
        (source.bucket, src_key),
    )
    if row is None or (row[1] or "") != source.version:
        # A noncurrent version is immutable: if it is still kept, its
        # bytes are the ones the caller read.
        return _noncurrent_body(conn, source, src_key)
    if row[0]:
        return cast(str, row[0]), None
    return "", object_extents(conn, source.bucket, src_key)


def _noncurrent_body(
    conn: sqlite3.Connection, source: ObjectInfo, src_key: bytes
) -> tuple[str, list[Extent] | None]:
    row = one(
        conn,
        "SELECT blob, seq FROM versions WHERE bucket = ? AND key = ? AND version = ?"
        " AND marker = 0",
        (source.bucket, src_key, source.version),
    )
    if row is None or not source.version:
        raise SourceChanged(f"{source.bucket}/{source.key}")
    if row[0]:
        return cast(str, row[0]), None
    return "", [
        Extent(blob, start, length, part)
        for blob, start, length, part in conn.execute(
            "SELECT blob, start, length, part FROM version_extents"
            " WHERE bucket = ? AND key = ? AND seq = ? ORDER BY n",
            (source.bucket, src_key, row[1]),
        ).fetchall()
    ]


def bucket_exists(conn: sqlite3.Connection, name: str) -> bool:
    """Whether bucket C{name} exists (in C{conn}'s snapshot)."""
    return one(conn, "SELECT 1 FROM buckets WHERE name = ?", (name,)) is not None


def replace_meta(
    conn: sqlite3.Connection,
    bucket: str,
    key: str,
    change: Callable[[ObjectMeta], ObjectMeta],
    noncurrent: Callable[[], bool] | None = None,
) -> None:
    """
    Replace the metadata of C{bucket}/C{key} by C{change} of it, in the
    caller's write transaction, leaving bytes, ETag, version and
    Last-Modified as they are.  C{noncurrent}, when given, is tried first
    (after the bucket check): it updates a noncurrent version and returns
    True, or returns False for the current one.  C{NoSuchBucket} /
    C{NoSuchKey}.
    """
    raw_key = encode_key(key)
    if not bucket_exists(conn, bucket):
        raise no_such_bucket(bucket)
    if noncurrent is not None and noncurrent():
        return
    row = one(
        conn,
        "SELECT meta FROM objects WHERE bucket = ? AND key = ?",
        (bucket, raw_key),
    )
    if row is None:
        raise S3Error.of("NoSuchKey", Key=key)
    conn.execute(
        "UPDATE objects SET meta = ? WHERE bucket = ? AND key = ?",
        (encode_meta(change(decode_meta(row[0]))), bucket, raw_key),
    )
