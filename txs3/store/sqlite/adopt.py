"""
Import a folder as objects (C{txs3-admin import DIR BUCKET}): every
regular file under DIR becomes the object named by its path relative to
DIR (``/`` between directories), with the Content-Type its extension
suggests and its MD5 as ETag.

By default each file is hard-linked into the blobs (no second copy of a
photo library); C{copy} copies it instead, which is needed across
filesystems and whenever the originals may be edited in place: a linked
blob I{is} the original file, and an object must never change under its
ETag.  Blobs are published as the store publishes them (fsync, then the
directory), then indexed, a batch of files per commit, with the bucket's
versioning: an existing object at a key is replaced, or kept as a
noncurrent version.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from txs3.errors import S3Error
from txs3.store.blobs import fsync_dir
from txs3.store.interface import ObjectInfo, ObjectMeta, Versioning, new_version_id
from txs3.store.namespace import encode_key
from txs3.store.sqlite.backup import backup_running
from txs3.store.sqlite.rows import insert_object, new_version, unreferenced
from txs3.store.sqlite.users import INDEX_NAME, AdminError
from txs3.store.sqlite.versions import make_room, new_seq

BATCH = 200


@dataclass
class Imported:
    """What an import did."""

    files: int = 0
    bytes: int = 0
    linked: int = 0
    copied: int = 0
    skipped: int = 0


def _files(root: str) -> Iterator[tuple[str, str]]:
    """(path, key) of every regular file under C{root}, in key order."""
    for directory, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(directory, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            key = os.path.relpath(path, root).replace(os.sep, "/")
            yield path, key


def _md5(path: str) -> tuple[str, int]:
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _place(data_dir: str, path: str, copy: bool, done: Imported) -> str:
    """The new blob id of C{path}'s bytes, linked or copied, durable."""
    blob_id = uuid.uuid4().hex
    target = os.path.join(data_dir, "blobs", blob_id[:2], blob_id)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    linked = False
    if not copy:
        try:
            os.link(path, target)
            linked = True
        except OSError:
            linked = False  # another filesystem: copy it
    if not linked:
        with open(path, "rb") as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
    fsync_dir(os.path.dirname(target))
    done.linked += linked
    done.copied += not linked
    return blob_id


def _bucket(conn: sqlite3.Connection, bucket: str) -> tuple[str, Versioning]:
    row = conn.execute(
        "SELECT owner_id, created FROM buckets WHERE name = ?", (bucket,)
    ).fetchone()
    if row is None:
        raise AdminError(f"no bucket named {bucket!r}: create it first")
    setting = conn.execute(
        "SELECT value FROM bucket_settings WHERE bucket = ? AND name = 'versioning'"
        " AND created = ?",
        (bucket, row[1]),
    ).fetchone()
    text = setting[0] if setting else ""
    versioning: Versioning = (
        "Enabled" if "<Status>Enabled" in text
        else "Suspended" if "<Status>Suspended" in text
        else ""
    )  # fmt: skip
    return row[0], versioning


def import_tree(
    data_dir: str,
    bucket: str,
    root: str,
    copy: bool = False,
    progress: Callable[[Imported], None] | None = None,
) -> Imported:
    """
    Adopt every file under C{root} as an object of C{bucket} (see the
    module docstring); works beside a running server.

    @raise AdminError: no such bucket or folder, or no index.
    """
    if not os.path.isdir(root):
        raise AdminError(f"{root} is not a directory")
    index = os.path.join(data_dir, INDEX_NAME)
    if not os.path.exists(index):
        raise AdminError(f"no index in {data_dir} (give --data DIR)")
    conn = sqlite3.connect(index, timeout=30, isolation_level=None)
    conn.execute("PRAGMA synchronous = FULL")
    done = Imported()
    try:
        owner, versioning = _bucket(conn, bucket)
        batch: list[tuple[bytes, ObjectInfo]] = []
        for path, key in _files(root):
            try:
                raw_key = encode_key(key)
            except S3Error:
                done.skipped += 1  # a name S3 cannot hold (too long)
                continue
            etag, size = _md5(path)
            blob_id = _place(data_dir, path, copy, done)
            kind = mimetypes.guess_type(key)[0] or "binary/octet-stream"
            batch.append((raw_key, ObjectInfo(
                bucket=bucket, key=key, size=size, etag=etag,
                last_modified=time.time(), owner_id=owner, blob=blob_id,
                meta=ObjectMeta(headers=(("content-type", kind),)),
                version=new_version(), version_id=new_version_id(versioning),
            )))  # fmt: skip
            done.files += 1
            done.bytes += size
            if len(batch) >= BATCH:
                _commit(conn, data_dir, batch, versioning)
                batch = []
                if progress is not None:
                    progress(done)
        _commit(conn, data_dir, batch, versioning)
    finally:
        conn.close()
    return done


def _commit(
    conn: sqlite3.Connection,
    data_dir: str,
    batch: list[tuple[bytes, ObjectInfo]],
    versioning: Versioning,
) -> None:
    """Index C{batch} in one transaction; free what it replaced."""
    if not batch:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        replaced: set[str] = set()
        for raw_key, info in batch:
            seq = new_seq(conn, info.bucket, raw_key, time.time(), versioning)
            replaced |= make_room(conn, info.bucket, raw_key, versioning)
            insert_object(conn, info, raw_key, None, seq)
        freed = unreferenced(conn, replaced)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        for _, info in batch:
            os.unlink(os.path.join(data_dir, "blobs", info.blob[:2], info.blob))
        raise
    if not backup_running(data_dir):
        for blob_id in freed:
            try:
                os.unlink(os.path.join(data_dir, "blobs", blob_id[:2], blob_id))
            except FileNotFoundError:
                pass
