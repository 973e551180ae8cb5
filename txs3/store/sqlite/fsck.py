"""
fsck: do the bytes on disk still match the index?

Every version (current and noncurrent) and every uploaded part is checked
against its blobs: the blob exists, and holds at least the bytes its
extent names (exactly the object's size for a single-blob object); with
C{verify_content}, a single-blob object uploaded whole has the MD5 its
ETag says.  Blob files no row names are I{orphans} (older than a grace, so
that a commit in flight is not one); parts whose upload is gone are
I{dangling}.

With C{repair}: orphans move to C{DATA/quarantine/}, damaged versions are
marked (C{ObjectMeta.damaged}: GET and HEAD then answer 500
C{InternalError}, never wrong bytes), dangling parts' rows are deleted
(their blobs become orphans for the sweep).

It streams: one cursor over each table, a blob's file stat'ed as its row
comes, so memory stays flat on a million objects.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from txs3.store.sqlite.schema import BLOB_REFERENCED
from txs3.store.sqlite.users import INDEX_NAME, AdminError

ORPHAN_GRACE = 3600.0

_SINGLE = (
    ("objects", "SELECT bucket, key, coalesce(version_id, 'null'), size, etag, meta,"
     " blob FROM objects WHERE blob IS NOT NULL"),
    ("versions", "SELECT bucket, key, version_id, size, etag, meta, blob"
     " FROM versions WHERE blob IS NOT NULL AND marker = 0"),
)  # fmt: skip
_EXTENTS = (
    ("objects", "SELECT e.bucket, e.key, coalesce(o.version_id, 'null'), e.blob,"
     " e.start, e.length, o.meta FROM object_extents AS e JOIN objects AS o"
     " ON o.bucket = e.bucket AND o.key = e.key"),
    ("versions", "SELECT e.bucket, e.key, v.version_id, e.blob, e.start, e.length,"
     " v.meta FROM version_extents AS e JOIN versions AS v ON v.bucket = e.bucket"
     " AND v.key = e.key AND v.seq = e.seq"),
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """One problem: its kind, what it is about, and what is wrong."""

    kind: str  # missing-blob, short-blob, size-mismatch, content-mismatch,
    # orphan-blob, dangling-part
    where: str
    detail: str


@dataclass
class Report:
    """
    What fsck checked and found, and what it repaired; C{marked}: versions
    an earlier repair marked damaged (they answer 500; not found again).
    """

    versions: int = 0
    parts: int = 0
    blobs: int = 0
    marked: int = 0
    findings: list[Finding] = field(default_factory=list)
    repaired: int = 0

    @property
    def clean(self) -> bool:
        return not self.findings


def _where(bucket: str, key: bytes, version: str) -> str:
    return f"{bucket}/{bytes(key).decode('utf-8', 'replace')}?versionId={version}"


def _md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _Checker:
    def __init__(
        self,
        data_dir: str,
        conn: sqlite3.Connection,
        verify_content: bool,
        progress: Callable[[Report], None] | None,
    ) -> None:
        self.data_dir = data_dir
        self.conn = conn
        self.verify = verify_content
        self.progress = progress
        self.report = Report()
        self.damaged: set[tuple[str, str, Any, str]] = set()

    def blob(self, blob_id: str) -> str:
        return os.path.join(self.data_dir, "blobs", blob_id[:2], blob_id)

    def size_of(self, blob_id: str) -> int | None:
        try:
            return os.stat(self.blob(blob_id)).st_size
        except FileNotFoundError:
            return None

    def found(self, kind: str, where: str, detail: str) -> None:
        self.report.findings.append(Finding(kind, where, detail))

    def tick(self) -> None:
        self.report.versions += 1
        if self.progress is not None and self.report.versions % 10000 == 0:
            self.progress(self.report)

    def single(self, table: str, row: tuple[Any, ...]) -> None:
        bucket, key, version, size, etag, meta, blob_id = row
        self.tick()
        decoded = json.loads(meta)
        if decoded.get("damaged"):
            self.report.marked += 1  # found and marked by an earlier repair
            return
        where = _where(bucket, key, version)
        on_disk = self.size_of(blob_id)
        mark = (table, bucket, key, version)
        encrypted = "encryption" in decoded
        if on_disk is None:
            self.found("missing-blob", where, f"blob {blob_id} is gone")
            self.damaged.add(mark)
        elif not encrypted and on_disk != size:
            self.found(
                "size-mismatch", where, f"blob {blob_id}: {on_disk} bytes, not {size}"
            )
            self.damaged.add(mark)
        elif (
            self.verify
            and not encrypted
            and "-" not in str(etag)
            and _md5(self.blob(blob_id)) != etag
        ):
            self.found("content-mismatch", where, f"blob {blob_id}: MD5 is not {etag}")
            self.damaged.add(mark)

    def extent(self, table: str, row: tuple[Any, ...]) -> None:
        bucket, key, version, blob_id, start, length, meta = row
        if json.loads(meta).get("damaged"):
            return
        on_disk = self.size_of(blob_id)
        where = _where(bucket, key, version)
        end = start + length
        if on_disk is None or on_disk < end:
            kind = "missing-blob" if on_disk is None else "short-blob"
            self.found(kind, where, f"blob {blob_id} does not hold bytes up to {end}")
            self.damaged.add((table, bucket, key, version))

    def parts(self) -> None:
        for upload_id, number, blob_id, start, length, known in self.conn.execute(
            "SELECT p.upload_id, p.part_number, p.blob, p.start, p.length,"
            " u.upload_id IS NOT NULL FROM part_extents AS p"
            " LEFT JOIN uploads AS u ON u.upload_id = p.upload_id"
        ):
            self.report.parts += 1
            where = f"upload {upload_id} part {number}"
            if not known:
                self.found("dangling-part", where, "its upload is gone")
                continue
            on_disk = self.size_of(blob_id)
            if on_disk is None or on_disk < start + length:
                self.found("missing-blob", where, f"blob {blob_id} is gone or short")

    def orphans(self, now: float) -> list[str]:
        found: list[str] = []
        root = os.path.join(self.data_dir, "blobs")
        for directory, _, names in os.walk(root):
            for name in names:
                self.report.blobs += 1
                path = os.path.join(directory, name)
                if self.conn.execute(BLOB_REFERENCED, (name,) * 5).fetchone():
                    continue
                try:
                    if os.stat(path).st_ctime > now - ORPHAN_GRACE:
                        continue  # maybe a commit in flight
                except FileNotFoundError:
                    continue
                self.found("orphan-blob", name, "no index row names it")
                found.append(path)
        return found


def fsck(
    data_dir: str,
    verify_content: bool = False,
    repair: bool = False,
    progress: Callable[[Report], None] | None = None,
    now: float | None = None,
) -> Report:
    """
    Check C{data_dir} (see the module docstring); with C{repair}, mend
    what can be mended.  Safe while a server runs: reads are one snapshot,
    repairs small transactions.
    """
    index = os.path.join(data_dir, INDEX_NAME)
    if not os.path.exists(index):
        raise AdminError(f"no index in {data_dir} (give --data DIR)")
    conn = sqlite3.connect(index, timeout=30, isolation_level=None)
    try:
        checker = _Checker(data_dir, conn, verify_content, progress)
        conn.execute("BEGIN")
        for table, sql in _SINGLE:
            for row in conn.execute(sql):
                checker.single(table, row)
        for table, sql in _EXTENTS:
            for row in conn.execute(sql):
                checker.extent(table, row)
        checker.parts()
        orphans = checker.orphans(time.time() if now is None else now)
        conn.execute("COMMIT")
        if repair:
            checker.report.repaired = _repair(data_dir, conn, checker, orphans)
        return checker.report
    finally:
        conn.close()


def _repair(
    data_dir: str, conn: sqlite3.Connection, checker: _Checker, orphans: list[str]
) -> int:
    repaired = 0
    quarantine = os.path.join(data_dir, "quarantine")
    for path in orphans:
        os.makedirs(quarantine, exist_ok=True)
        os.replace(path, os.path.join(quarantine, os.path.basename(path)))
        repaired += 1
    for table, bucket, key, version in checker.damaged:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if table == "objects":
                rows = conn.execute(
                    "SELECT meta FROM objects WHERE bucket = ? AND key = ?",
                    (bucket, key),
                ).fetchall()
                sql = "UPDATE objects SET meta = ? WHERE bucket = ? AND key = ?"
                params: tuple[object, ...] = (bucket, key)
            else:
                rows = conn.execute(
                    "SELECT meta FROM versions WHERE bucket = ? AND key = ?"
                    " AND version_id = ?",
                    (bucket, key, version),
                ).fetchall()
                sql = (
                    "UPDATE versions SET meta = ? WHERE bucket = ? AND key = ?"
                    " AND version_id = ?"
                )
                params = (bucket, key, version)
            for (meta,) in rows:
                marked = json.loads(meta)
                marked["damaged"] = True
                conn.execute(sql, (json.dumps(marked, separators=(",", ":")), *params))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        repaired += 1
    for finding in checker.report.findings:
        if finding.kind == "dangling-part":
            upload_id = finding.where.split()[1]
            conn.execute("DELETE FROM part_extents WHERE upload_id = ?", (upload_id,))
            conn.execute("DELETE FROM parts WHERE upload_id = ?", (upload_id,))
            repaired += 1
    return repaired
