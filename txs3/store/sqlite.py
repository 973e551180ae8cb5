"""
L{SQLiteStore}: blob files plus a SQLite index, both in one data directory.

Open a store with::

    store = SQLiteStore.open(data_dir, reactor)      # sweeps leftovers
    ...
    await store.close()

C{SQLiteStore(data_dir, reactor, ...)} builds the same store without the
start-up sweep; L{SQLiteStore.sweep} runs one later, off the reactor thread.

Data directory layout::

    index.sqlite3 (+ -wal, -shm)   the index: WAL mode, synchronous=FULL
    blobs/ab/<id>                  object bytes, see L{txs3.store.blobs}
    staging/<instance>/            this process's uploads in progress

Schema (version 2; C{schema_version} holds the version for migrations;
the statements and row helpers live in L{txs3.store.sqlite_index})::

    buckets(name TEXT PRIMARY KEY, owner_id, created REAL, region)
    objects(bucket TEXT, key BLOB, size, etag, last_modified REAL,
            owner_id, meta TEXT (JSON), blob TEXT, version TEXT,
            PRIMARY KEY (bucket, key)) WITHOUT ROWID
    object_extents(bucket, key, seq, part, blob, start, length,
                   PRIMARY KEY (bucket, key, seq)) WITHOUT ROWID
    uploads(upload_id PRIMARY KEY, bucket, key BLOB, initiated, owner_id,
            meta, checksum_algorithm, checksum_type) WITHOUT ROWID
    parts(upload_id, part_number, size, etag, last_modified, checksums,
          PRIMARY KEY (upload_id, part_number)) WITHOUT ROWID
    part_extents(upload_id, part_number, seq, blob, start, length,
                 PRIMARY KEY (upload_id, part_number, seq)) WITHOUT ROWID
    INDEX on blob of objects, object_extents, part_extents
    INDEX uploads_key ON uploads(bucket, key, upload_id)
    bucket_tags(bucket PRIMARY KEY, created REAL, tags TEXT (JSON))
        WITHOUT ROWID; object tags are in objects.meta

Keys are stored as BLOBs of their UTF-8 bytes, so the primary key orders
them the way S3 lists (memcmp), and listing is a range scan on it.

An object's bytes are either one whole blob (the C{blob} column: every
PutObject) or, when C{blob} is NULL, the concatenation of its
C{object_extents} rows in C{seq} order (ranges of blobs, grouped by
C{part}: objects completed from multipart uploads and copies of them).  A
part of an upload in progress is likewise a list of C{part_extents}.  So
completing an upload moves rows from C{part_extents} to C{object_extents}
and copying an object copies rows: no byte is read or written.

Blobs are immutable and may be shared (a copy references its source's
blobs; a copied part references a range of a blob).  Sharing is tracked by
reference checking, not counting: a transaction that drops references
collects the blobs involved and, before committing, keeps those that no
row of the three tables still names; they are unlinked after the commit.
This is safe because a blob that no committed row names can never be named
again: new references are only ever made by copying an existing reference
inside one transaction (copy, part copy, completion), and transactions are
serialised (C{BEGIN IMMEDIATE}).  A crash between commit and unlink leaves
an orphan, which the start-up sweep removes with the same reference check.

Threads:

  - Commits (create/delete bucket, put/delete object) run in one
    single-thread pool: in-process writes are serialised, and SQLite's
    C{BEGIN IMMEDIATE} plus C{busy_timeout} serialises them with other
    processes sharing the directory.
  - Listings (and L{sweep}) run in a small pool of their own.
  - Point reads (C{get_bucket}, C{list_buckets}, C{head_object},
    C{open_object}) run in the caller's thread: in WAL mode a reader never
    waits for a writer.
  - Each thread has its own connection.

Nothing another process must see lives only in this process's memory: the
index and the blob files are the whole state.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, TypeVar, cast

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorCore, IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.filepath import FilePath
from twisted.python.threadpool import ThreadPool
from zope.interface import implementer

from txs3.errors import S3Error
from txs3.store.blobs import (
    BlobStore,
    StagingArea,
    StagingFile,
    insufficient_storage,
    is_disk_full,
)
from txs3.store.extents import Extent, ExtentReader, part_sizes, slice_extents
from txs3.store.interface import (
    BucketInfo,
    IObjectStore,
    IStagingFile,
    ListPage,
    ObjectInfo,
    ObjectMeta,
    PartInfo,
    PartsPage,
    SourceChanged,
    UploadInfo,
    UploadsPage,
    WriteCondition,
)
from txs3.store.namespace import encode_key, encode_text, list_page, uploads_page
from txs3.store.sqlite_index import (
    BLOB_REFERENCED,
    GET_UPLOAD,
    HEAD_OBJECT,
    INSERT_PART,
    INSERT_PART_EXTENT,
    INSERT_UPLOAD,
    MIGRATE_1_2,
    PART_EXTENTS,
    SCANS,
    SCHEMA,
    SCHEMA_VERSION,
    UPLOAD_SCANS,
    UPLOADS_OF_KEY,
    check_condition,
    decode_meta,
    decode_pairs,
    encode_meta,
    encode_pairs,
    insert_object,
    is_full,
    new_upload_id,
    new_version,
    no_such_bucket,
    no_such_upload,
    object_extents,
    object_info,
    one,
    part_info,
    remove_object,
    remove_part,
    remove_upload,
    unreferenced,
    upload_info,
)

#: How long a blob may sit unreferenced before the sweep deletes it: far
#: longer than any rename-to-commit gap of a live process.
DEFAULT_ORPHAN_GRACE = 15 * 60.0

#: Milliseconds a connection waits for another process's write lock.
BUSY_TIMEOUT_MS = 30_000

#: Attempts of open_object when the blob vanishes under it (replaced).
_OPEN_ATTEMPTS = 8

_T = TypeVar("_T")

_log = Logger()


@implementer(IObjectStore)
class SQLiteStore:
    """
    An L{IObjectStore} over a data directory shared safely by processes.

    @ivar data_dir: the data directory's path.
    """

    def __init__(
        self,
        data_dir: FilePath[str] | str,
        reactor: IReactorCore | None = None,
        *,
        orphan_grace: float = DEFAULT_ORPHAN_GRACE,
        now: Callable[[], float] = time.time,
        list_threads: int = 4,
    ) -> None:
        """
        Open (creating if needed) the store in C{data_dir}, without sweeping.

        @param reactor: runs the Deferreds' callbacks; the global reactor by
            default.
        @param orphan_grace: seconds an unreferenced blob or an unfinished
            staging directory must have existed before a sweep removes it.
        @param now: the clock for timestamps and the grace period.
        @param list_threads: size of the listing thread pool.
        @raise RuntimeError: if the index has a newer schema than this code.
        """
        if reactor is None:
            from twisted.internet import reactor as global_reactor

            reactor = cast(IReactorCore, global_reactor)
        self.data_dir = data_dir.path if isinstance(data_dir, FilePath) else data_dir
        self._reactor = reactor
        self._orphan_grace = orphan_grace
        self._now = now
        self._index_path = os.path.join(self.data_dir, "index.sqlite3")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._closed = False

        os.makedirs(self.data_dir, exist_ok=True)
        self._blobs = BlobStore(os.path.join(self.data_dir, "blobs"))
        self._blobs.prepare()
        try:
            self._init_schema()
        except BaseException:
            self._connection().close()
            raise
        self._staging = StagingArea.create(os.path.join(self.data_dir, "staging"))

        self._write_pool = ThreadPool(1, 1, name="txs3-store-write")
        self._list_pool = ThreadPool(0, list_threads, name="txs3-store-list")
        self._write_pool.start()
        self._list_pool.start()
        # ThreadPool threads are not daemons: stop them with the reactor if
        # nobody called close().
        self._shutdown_trigger = reactor.addSystemEventTrigger(
            "during", "shutdown", self._stop_threads
        )

    @classmethod
    def open(
        cls,
        data_dir: FilePath[str] | str,
        reactor: IReactorCore | None = None,
        *,
        orphan_grace: float = DEFAULT_ORPHAN_GRACE,
        now: Callable[[], float] = time.time,
        list_threads: int = 4,
    ) -> SQLiteStore:
        """
        Open the store and sweep crash leftovers before returning: staging
        directories of dead processes, and orphan blobs older than
        C{orphan_grace}.  Blocking: call it at start-up, before serving.
        """
        store = cls(
            data_dir,
            reactor,
            orphan_grace=orphan_grace,
            now=now,
            list_threads=list_threads,
        )
        store._sweep()
        return store

    # -- connections and threads ------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._index_path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
            check_same_thread=False,  # close() closes it from another thread
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # FULL: a commit survives power loss ("a 200 means on disk").
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, made on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise ValueError("store is closed")
            conn = self._connect()
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        return conn

    def _init_schema(self) -> None:
        conn = self._connection()
        # WAL is persistent in the file; setting it again is a no-op.
        row = one(conn, "PRAGMA journal_mode = WAL")
        mode = row[0] if row else None
        if str(mode).lower() != "wal":
            raise RuntimeError(f"cannot put {self._index_path} in WAL mode: {mode}")
        # IMMEDIATE: processes starting together create the schema once.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = one(conn, "SELECT max(version) FROM schema_version")
            version = row[0] if row else None
            if version is None:
                conn.execute(
                    "INSERT INTO schema_version (version) VALUES (?)",
                    (SCHEMA_VERSION,),
                )
            elif version == 1:
                columns = {r[1] for r in conn.execute("PRAGMA table_info(objects)")}
                if "version" not in columns:
                    conn.execute(MIGRATE_1_2)
                conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
            elif version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self._index_path} has schema version {version}; "
                    f"this txs3 understands up to {SCHEMA_VERSION}"
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _in_writer(self, f: Callable[..., _T], *args: Any) -> Deferred[_T]:
        if self._closed:
            return fail(ValueError("store is closed"))
        return deferToThreadPool(
            cast(IReactorFromThreads, self._reactor), self._write_pool, f, *args
        )

    def _in_lister(self, f: Callable[..., _T], *args: Any) -> Deferred[_T]:
        if self._closed:
            return fail(ValueError("store is closed"))
        return deferToThreadPool(
            cast(IReactorFromThreads, self._reactor), self._list_pool, f, *args
        )

    def _write_txn(self, f: Callable[[sqlite3.Connection], _T]) -> _T:
        """
        Run C{f} in one C{BEGIN IMMEDIATE} transaction: committed if it
        returns, rolled back if it raises.  A full disk becomes
        C{InsufficientStorage}.
        """
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = f(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            if is_full(e):
                raise insufficient_storage(self.data_dir) from e
            raise
        return result

    @staticmethod
    def _bucket_exists(conn: sqlite3.Connection, name: str) -> bool:
        row = one(conn, "SELECT 1 FROM buckets WHERE name = ?", (name,))
        return row is not None

    # -- buckets ------------------------------------------------------------

    def create_bucket(
        self, name: str, owner_id: str, region: str
    ) -> Deferred[BucketInfo]:
        """See L{IObjectStore.create_bucket}."""

        def txn(conn: sqlite3.Connection) -> BucketInfo:
            row = one(conn, "SELECT owner_id FROM buckets WHERE name = ?", (name,))
            if row is not None:
                code = (
                    "BucketAlreadyOwnedByYou"
                    if row[0] == owner_id
                    else "BucketAlreadyExists"
                )
                raise S3Error.of(code, BucketName=name)
            info = BucketInfo(name, owner_id, self._now(), region)
            conn.execute(
                "INSERT INTO buckets (name, owner_id, created, region)"
                " VALUES (?, ?, ?, ?)",
                (info.name, info.owner_id, info.created, info.region),
            )
            return info

        return self._in_writer(self._write_txn, txn)

    def get_bucket(self, name: str) -> BucketInfo:
        """See L{IObjectStore.get_bucket}."""
        row = one(
            self._connection(),
            "SELECT name, owner_id, created, region FROM buckets WHERE name = ?",
            (name,),
        )
        if row is None:
            raise no_such_bucket(name)
        return BucketInfo(*row)

    def list_buckets(self, owner_id: str) -> list[BucketInfo]:
        """See L{IObjectStore.list_buckets}."""
        rows = (
            self._connection()
            .execute(
                "SELECT name, owner_id, created, region FROM buckets"
                " WHERE owner_id = ? ORDER BY name",
                (owner_id,),
            )
            .fetchall()
        )
        return [BucketInfo(*row) for row in rows]

    def delete_bucket(self, name: str) -> Deferred[None]:
        """
        See L{IObjectStore.delete_bucket}.  Only a bucket without objects is
        deleted; its uploads in progress go with it, in the same
        transaction, and their blobs are freed after the commit.  A put
        racing with the deletion finds the bucket gone inside its own
        transaction and removes its blob.
        """

        def txn(conn: sqlite3.Connection) -> list[str]:
            if not self._bucket_exists(conn, name):
                raise no_such_bucket(name)
            if one(conn, "SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)):
                raise S3Error.of("BucketNotEmpty", BucketName=name)
            uploads = conn.execute(
                "SELECT upload_id FROM uploads WHERE bucket = ?", (name,)
            ).fetchall()
            candidates: set[str] = set()
            for (upload_id,) in uploads:
                candidates |= remove_upload(conn, upload_id)
            conn.execute("DELETE FROM buckets WHERE name = ?", (name,))
            return unreferenced(conn, candidates)

        return self._in_writer(self._commit_and_free, txn)

    def _commit_and_free(self, f: Callable[[sqlite3.Connection], list[str]]) -> None:
        """Run C{f} in a write transaction, then free the blobs it returns."""
        for blob_id in self._write_txn(f):
            self._free_blob(blob_id)

    # -- objects ------------------------------------------------------------

    def open_staging(self) -> IStagingFile:
        """See L{IObjectStore.open_staging}: a file in C{staging/<instance>/}."""
        return self._staging.open()

    def _take_staging(self, staging: IStagingFile) -> StagingFile:
        """
        Check that C{staging} is an open staging file of this store and
        take it over.

        @raise ValueError: if it is not.
        """
        if not (
            isinstance(staging, StagingFile)
            and os.path.dirname(staging.path) == self._staging.path
        ):
            raise ValueError("staging file does not belong to this store")
        staging.hand_over()
        return staging

    def _publish(self, staging: StagingFile) -> str:
        """fsync and rename C{staging} into the blobs; return its blob id."""
        try:
            return self._blobs.publish(staging)
        except OSError as e:
            if is_disk_full(e):
                raise insufficient_storage(self.data_dir) from e
            raise

    def put_object(
        self,
        bucket: str,
        key: str,
        staging: IStagingFile,
        etag: str,
        meta: ObjectMeta,
        owner_id: str,
        condition: WriteCondition | None = None,
    ) -> Deferred[ObjectInfo]:
        """
        See L{IObjectStore.put_object}.

        @raise ValueError: (synchronously) if C{staging} is not an open
            staging file of this store.
        """
        file = self._take_staging(staging)
        try:
            raw_key = encode_key(key)
            if self._closed:
                raise ValueError("store is closed")
        except (S3Error, ValueError) as e:
            file.discard()
            return fail(e)
        return self._in_writer(
            self._put, bucket, raw_key, file, etag, meta, owner_id, condition
        )

    def _put(
        self,
        bucket: str,
        raw_key: bytes,
        staging: StagingFile,
        etag: str,
        meta: ObjectMeta,
        owner_id: str,
        condition: WriteCondition | None,
    ) -> ObjectInfo:
        """The write thread's half of put_object: publish, commit, free."""
        size = staging.size()
        blob_id = self._publish(staging)
        info = ObjectInfo(
            bucket=bucket,
            key=raw_key.decode("utf-8"),
            size=size,
            etag=etag,
            last_modified=self._now(),
            meta=meta,
            owner_id=owner_id,
            blob=blob_id,
            version=new_version(),
        )

        def txn(conn: sqlite3.Connection) -> list[str]:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)
            check_condition(conn, bucket, raw_key, condition)
            replaced = remove_object(conn, bucket, raw_key) or set()
            insert_object(conn, info, raw_key, None)
            return unreferenced(conn, replaced)

        self._commit_new_blob(blob_id, txn)
        return info

    def _commit_new_blob(
        self, blob_id: str, txn: Callable[[sqlite3.Connection], list[str]]
    ) -> None:
        """
        Run C{txn}, which makes the index reference the just-published
        C{blob_id} and returns the blobs it may have left unreferenced; free
        those after the commit.  If the commit fails, the previous state is
        untouched and the new blob must not linger: unlink it.
        """
        try:
            freed = self._write_txn(txn)
        except BaseException:
            self._blobs.unlink(blob_id)
            raise
        for old in freed:
            self._free_blob(old)

    def _free_blob(self, blob_id: str) -> None:
        """Unlink a blob the index no longer references (after the commit)."""
        try:
            self._blobs.unlink(blob_id)
        except OSError:
            # The index is already committed; an orphan blob only costs
            # space until the next sweep.
            _log.failure("could not unlink unreferenced blob {blob}", blob=blob_id)

    def _read_object(
        self, conn: sqlite3.Connection, bucket: str, key: str
    ) -> tuple[ObjectInfo, list[Extent] | None]:
        """
        The entry of C{bucket}/C{key} and, for an object made of extents,
        its extents (None for a single-blob object), from one snapshot.
        """
        raw_key = encode_key(key)
        # One statement is its own snapshot: a single-blob object (the
        # common case, and the small-GET hot path) needs nothing more.
        row = one(conn, HEAD_OBJECT, (raw_key, bucket))
        if row is not None and row[1] is not None and row[7]:
            return object_info(bucket, row[1:], ()), None
        conn.execute("BEGIN")  # deferred: one read snapshot, no lock
        try:
            row = one(conn, HEAD_OBJECT, (raw_key, bucket))
            if row is None:
                raise no_such_bucket(bucket)
            if row[1] is None:
                raise S3Error.of("NoSuchKey", Key=key)
            extents = None if row[7] else object_extents(conn, bucket, raw_key)
        finally:
            conn.execute("COMMIT")
        parts = part_sizes(extents) if extents is not None else ()
        return object_info(bucket, row[1:], parts), extents

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        """See L{IObjectStore.head_object}."""
        return self._read_object(self._connection(), bucket, key)[0]

    def open_object(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        """
        See L{IObjectStore.open_object}.  Every blob of the object is opened
        before returning, so the file reads the version described by the
        entry even if that version is replaced and its blobs unlinked.  If
        a blob vanished between reading the entry and opening it (a
        concurrent replace or delete committed and unlinked it), read the
        entry again.

        @raise S3Error: C{InternalError} if an indexed blob stays missing.
        """
        conn = self._connection()
        for _ in range(_OPEN_ATTEMPTS):
            info, extents = self._read_object(conn, bucket, key)
            if extents is None:
                try:
                    return info, self._blobs.open(info.blob)
                except FileNotFoundError:
                    continue
            files: dict[str, BinaryIO] = {}
            try:
                for e in extents:
                    if e.blob not in files:
                        files[e.blob] = self._blobs.open(e.blob)
            except FileNotFoundError:
                for f in files.values():
                    f.close()
                continue
            reader = ExtentReader(
                [(files[e.blob], e.offset, e.length) for e in extents]
            )
            return info, cast(BinaryIO, reader)
        raise S3Error.of("InternalError", "The object's data is missing.", Key=key)

    def delete_object(self, bucket: str, key: str) -> Deferred[bool]:
        """See L{IObjectStore.delete_object}."""
        try:
            raw_key = encode_key(key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> tuple[bool, list[str]]:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)
            removed = remove_object(conn, bucket, raw_key)
            if removed is None:
                return False, []
            return True, unreferenced(conn, removed)

        def work() -> bool:
            existed, freed = self._write_txn(txn)
            for blob_id in freed:
                self._free_blob(blob_id)
            return existed

        return self._in_writer(work)

    def delete_objects(self, bucket: str, keys: list[str]) -> Deferred[dict[str, bool]]:
        """See L{IObjectStore.delete_objects}: one transaction for all keys."""
        try:
            raw_keys = [encode_key(k) for k in keys]
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> tuple[dict[str, bool], list[str]]:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)
            existed: dict[str, bool] = {}
            candidates: set[str] = set()
            for key, raw_key in zip(keys, raw_keys, strict=True):
                removed = remove_object(conn, bucket, raw_key)
                existed[key] = existed.get(key, False) or removed is not None
                candidates |= removed or set()
            return existed, unreferenced(conn, candidates)

        def work() -> dict[str, bool]:
            existed, freed = self._write_txn(txn)
            for blob_id in freed:
                self._free_blob(blob_id)
            return existed

        return self._in_writer(work)

    def copy_object(
        self,
        source: ObjectInfo,
        bucket: str,
        key: str,
        meta: ObjectMeta,
        owner_id: str,
        condition: WriteCondition | None = None,
    ) -> Deferred[ObjectInfo]:
        """
        See L{IObjectStore.copy_object}: one transaction that checks the
        source's version and writes the new row (and extent rows) naming
        the source's blobs.
        """
        try:
            raw_key = encode_key(key)
            src_key = encode_key(source.key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> tuple[ObjectInfo, list[str]]:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)
            blob, extents = self._source_body(conn, source, src_key)
            check_condition(conn, bucket, raw_key, condition)
            info = ObjectInfo(
                bucket=bucket,
                key=key,
                size=source.size,
                etag=source.etag,
                last_modified=self._now(),
                meta=meta,
                owner_id=owner_id,
                blob=blob,
                version=new_version(),
                parts=part_sizes(extents) if extents is not None else (),
            )
            # Copying onto itself: the old row's blobs are named again by
            # the new row, so the reference check keeps them.
            replaced = remove_object(conn, bucket, raw_key) or set()
            insert_object(conn, info, raw_key, extents)
            return info, unreferenced(conn, replaced)

        return self._in_writer(self._commit_info_and_free, txn)

    def _commit_info_and_free(
        self, f: Callable[[sqlite3.Connection], tuple[_T, list[str]]]
    ) -> _T:
        result, freed = self._write_txn(f)
        for blob_id in freed:
            self._free_blob(blob_id)
        return result

    @staticmethod
    def _source_body(
        conn: sqlite3.Connection, source: ObjectInfo, src_key: bytes
    ) -> tuple[str, list[Extent] | None]:
        """
        The body of copy source C{source} as it is now: its blob id, or ""
        and its extents.

        @raise SourceChanged: if it is not the version C{source} describes.
        """
        row = one(
            conn,
            "SELECT blob, version FROM objects WHERE bucket = ? AND key = ?",
            (source.bucket, src_key),
        )
        if row is None or (row[1] or "") != source.version:
            raise SourceChanged(f"{source.bucket}/{source.key}")
        if row[0]:
            return cast(str, row[0]), None
        return "", object_extents(conn, source.bucket, src_key)

    # -- multipart uploads --------------------------------------------------

    def create_multipart_upload(
        self,
        bucket: str,
        key: str,
        meta: ObjectMeta,
        owner_id: str,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
    ) -> Deferred[UploadInfo]:
        """See L{IObjectStore.create_multipart_upload}."""
        try:
            raw_key = encode_key(key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> UploadInfo:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)
            now = self._now()
            info = UploadInfo(
                upload_id=new_upload_id(now),
                bucket=bucket,
                key=key,
                initiated=now,
                owner_id=owner_id,
                meta=meta,
                checksum_algorithm=checksum_algorithm,
                checksum_type=checksum_type,
            )
            conn.execute(
                INSERT_UPLOAD,
                (
                    info.upload_id,
                    bucket,
                    raw_key,
                    now,
                    owner_id,
                    encode_meta(meta),
                    checksum_algorithm,
                    checksum_type,
                ),
            )
            return info

        return self._in_writer(self._write_txn, txn)

    def get_upload(self, bucket: str, key: str, upload_id: str) -> UploadInfo:
        """See L{IObjectStore.get_upload}."""
        raw_key = encode_key(key)
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)
            row = one(conn, GET_UPLOAD, (upload_id, bucket, raw_key))
        finally:
            conn.execute("COMMIT")
        if row is None:
            raise no_such_upload(upload_id)
        return upload_info(row)

    @staticmethod
    def _upload_row(
        conn: sqlite3.Connection, bucket: str, raw_key: bytes, upload_id: str
    ) -> UploadInfo:
        row = one(conn, GET_UPLOAD, (upload_id, bucket, raw_key))
        if row is None:
            raise no_such_upload(upload_id)
        return upload_info(row)

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        staging: IStagingFile,
        etag: str,
        checksums: tuple[tuple[str, str], ...],
    ) -> Deferred[PartInfo]:
        """See L{IObjectStore.upload_part}; published like L{put_object}."""
        file = self._take_staging(staging)
        try:
            raw_key = encode_key(key)
            if self._closed:
                raise ValueError("store is closed")
        except (S3Error, ValueError) as e:
            file.discard()
            return fail(e)

        def work() -> PartInfo:
            size = file.size()
            blob_id = self._publish(file)
            part = PartInfo(part_number, size, etag, self._now(), checksums)

            def txn(conn: sqlite3.Connection) -> list[str]:
                self._upload_row(conn, bucket, raw_key, upload_id)
                replaced = remove_part(conn, upload_id, part_number)
                self._insert_part(conn, upload_id, part, [Extent(blob_id, 0, size)])
                return unreferenced(conn, replaced)

            self._commit_new_blob(blob_id, txn)
            return part

        return self._in_writer(work)

    @staticmethod
    def _insert_part(
        conn: sqlite3.Connection,
        upload_id: str,
        part: PartInfo,
        extents: list[Extent],
    ) -> None:
        conn.execute(
            INSERT_PART,
            (
                upload_id,
                part.part_number,
                part.size,
                part.etag,
                part.last_modified,
                encode_pairs(part.checksums),
            ),
        )
        for seq, e in enumerate(extents):
            conn.execute(
                INSERT_PART_EXTENT,
                (upload_id, part.part_number, seq, e.blob, e.offset, e.length),
            )

    def upload_part_copy(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        source: ObjectInfo,
        offset: int,
        length: int,
        etag: str,
        checksums: tuple[tuple[str, str], ...],
    ) -> Deferred[PartInfo]:
        """See L{IObjectStore.upload_part_copy}: index rows only."""
        try:
            raw_key = encode_key(key)
            src_key = encode_key(source.key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> tuple[PartInfo, list[str]]:
            self._upload_row(conn, bucket, raw_key, upload_id)
            blob, extents = self._source_body(conn, source, src_key)
            whole = [Extent(blob, 0, source.size)] if extents is None else extents
            piece = slice_extents(whole, offset, length)
            part = PartInfo(part_number, length, etag, self._now(), checksums)
            replaced = remove_part(conn, upload_id, part_number)
            self._insert_part(conn, upload_id, part, piece)
            return part, unreferenced(conn, replaced)

        return self._in_writer(self._commit_info_and_free, txn)

    def list_parts(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number_marker: int,
        max_parts: int,
    ) -> Deferred[PartsPage]:
        """See L{IObjectStore.list_parts}; one read snapshot in the list pool."""
        try:
            raw_key = encode_key(key)
        except S3Error as e:
            return fail(e)

        def read() -> PartsPage:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                if not self._bucket_exists(conn, bucket):
                    raise no_such_bucket(bucket)
                upload = self._upload_row(conn, bucket, raw_key, upload_id)
                rows = conn.execute(
                    "SELECT part_number, size, etag, last_modified, checksums"
                    " FROM parts WHERE upload_id = ? AND part_number > ?"
                    " ORDER BY part_number LIMIT ?",
                    (upload_id, part_number_marker, max(max_parts, 0) + 1),
                ).fetchall()
            finally:
                conn.execute("COMMIT")
            parts = [part_info(r) for r in rows[: max(max_parts, 0)]]
            truncated = len(rows) > len(parts)
            marker = parts[-1].part_number if truncated and parts else None
            return PartsPage(upload, parts, truncated, marker)

        return self._in_lister(read)

    def list_multipart_uploads(
        self,
        bucket: str,
        prefix: str,
        delimiter: str,
        key_marker: str,
        upload_id_marker: str,
        max_uploads: int,
    ) -> Deferred[UploadsPage]:
        """
        See L{IObjectStore.list_multipart_uploads}: the listing walk of
        L{txs3.store.namespace} over the C{uploads_key} index, one row per
        upload.
        """
        try:
            args = (
                encode_text(prefix, "prefix"),
                encode_text(delimiter, "delimiter"),
                encode_text(key_marker, "key-marker"),
            )
        except S3Error as e:
            return fail(e)
        return self._in_lister(
            self._list_uploads, bucket, *args, upload_id_marker, max_uploads
        )

    def _list_uploads(
        self,
        bucket: str,
        prefix: bytes,
        delimiter: bytes,
        key_marker: bytes,
        upload_id_marker: str,
        max_uploads: int,
    ) -> UploadsPage:
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)

            def rows(sql: str, params: list[Any]) -> Iterator[tuple[bytes, Any]]:
                cursor = conn.execute(sql, params)
                try:
                    for row in cursor:
                        yield bytes(row[2]), row
                finally:
                    cursor.close()

            def scan(
                lo: bytes, inclusive: bool, hi: bytes | None, limit: int
            ) -> Iterator[tuple[bytes, Any]]:
                given = 0
                if upload_id_marker and not inclusive and lo == key_marker:
                    # The marker key's own later uploads come before any
                    # greater key.
                    for item in rows(
                        UPLOADS_OF_KEY, [bucket, lo, upload_id_marker, limit]
                    ):
                        given += 1
                        yield item
                params: list[Any] = [bucket, lo]
                if hi is not None:
                    params.append(hi)
                params.append(limit - given)
                if limit - given > 0:
                    yield from rows(UPLOAD_SCANS[inclusive, hi is not None], params)

            walk = list_page(scan, prefix, delimiter, key_marker, max_uploads)
        finally:
            conn.execute("COMMIT")
        uploads = [upload_info(row) for row in walk.contents]
        return uploads_page(
            uploads, walk.common_prefixes, walk.is_truncated, walk.next_marker
        )

    def complete_multipart_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[tuple[int, str]],
        etag: str,
        checksums: tuple[tuple[str, str], ...],
        checksum_type: str,
        condition: WriteCondition | None = None,
    ) -> Deferred[ObjectInfo]:
        """
        See L{IObjectStore.complete_multipart_upload}: one transaction that
        turns the listed parts' extents into the object's, in part order.
        """
        try:
            raw_key = encode_key(key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> tuple[ObjectInfo, list[str]]:
            upload = self._upload_row(conn, bucket, raw_key, upload_id)
            check_condition(conn, bucket, raw_key, condition)
            stored = dict(
                conn.execute(
                    "SELECT part_number, etag FROM parts WHERE upload_id = ?",
                    (upload_id,),
                ).fetchall()
            )
            extents: list[Extent] = []
            for position, (number, part_etag) in enumerate(parts, 1):
                if stored.get(number) != part_etag:
                    raise S3Error.of(
                        "InvalidPart",
                        UploadId=upload_id,
                        PartNumber=str(number),
                        ETag=part_etag,
                    )
                extents += [
                    Extent(blob, start, length, position)
                    for blob, start, length in conn.execute(
                        PART_EXTENTS, (upload_id, number)
                    ).fetchall()
                ]
            # Everything CreateMultipartUpload stored (headers, metadata,
            # tags), with the completed object's checksums.
            meta = dataclasses.replace(
                upload.meta, checksums=checksums, checksum_type=checksum_type
            )
            info = ObjectInfo(
                bucket=bucket,
                key=key,
                size=sum(e.length for e in extents),
                etag=etag,
                last_modified=self._now(),
                meta=meta,
                owner_id=upload.owner_id,
                version=new_version(),
                parts=part_sizes(extents),
            )
            replaced = remove_object(conn, bucket, raw_key) or set()
            replaced |= remove_upload(conn, upload_id)
            insert_object(conn, info, raw_key, extents)
            return info, unreferenced(conn, replaced)

        return self._in_writer(self._commit_info_and_free, txn)

    def abort_multipart_upload(
        self, bucket: str, key: str, upload_id: str
    ) -> Deferred[None]:
        """See L{IObjectStore.abort_multipart_upload}."""
        try:
            raw_key = encode_key(key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> list[str]:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)
            self._upload_row(conn, bucket, raw_key, upload_id)
            return unreferenced(conn, remove_upload(conn, upload_id))

        return self._in_writer(self._commit_and_free, txn)

    def list_objects(
        self,
        bucket: str,
        prefix: str,
        delimiter: str,
        start_after: str,
        max_keys: int,
    ) -> Deferred[ListPage]:
        """
        See L{IObjectStore.list_objects} and L{txs3.store.namespace} for the
        exact semantics.  Runs in the listing pool, inside one read
        transaction, so the page is one consistent snapshot.
        """
        try:
            args = (
                encode_text(prefix, "prefix"),
                encode_text(delimiter, "delimiter"),
                encode_text(start_after, "start-after"),
            )
        except S3Error as e:
            return fail(e)
        return self._in_lister(self._list, bucket, *args, max_keys)

    def _list(
        self,
        bucket: str,
        prefix: bytes,
        delimiter: bytes,
        start_after: bytes,
        max_keys: int,
    ) -> ListPage:
        conn = self._connection()
        conn.execute("BEGIN")  # deferred: a read snapshot, no lock
        try:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)

            def scan(
                lo: bytes, inclusive: bool, hi: bytes | None, limit: int
            ) -> Iterator[tuple[bytes, tuple[Any, ...]]]:
                params: list[Any] = [bucket, lo]
                if hi is not None:
                    params.append(hi)
                params.append(limit)
                cursor = conn.execute(SCANS[inclusive, hi is not None], params)
                try:
                    for row in cursor:
                        yield bytes(row[0]), row
                finally:
                    cursor.close()

            walk = list_page(scan, prefix, delimiter, start_after, max_keys)
        finally:
            conn.execute("COMMIT")
        return ListPage(
            contents=[object_info(bucket, row) for row in walk.contents],
            common_prefixes=[p.decode("utf-8") for p in walk.common_prefixes],
            is_truncated=walk.is_truncated,
            next_marker=(
                walk.next_marker.decode("utf-8")
                if walk.next_marker is not None
                else None
            ),
            rows_read=walk.rows_read,
        )

    # -- leftovers and shutdown ---------------------------------------------

    def sweep(self) -> Deferred[tuple[int, int]]:
        """
        Sweep crash leftovers off the reactor thread; fires with
        C{(staging directories removed, orphan blobs removed)}.
        """
        return self._in_lister(self._sweep)

    def _sweep(self) -> tuple[int, int]:
        staging = self._staging.sweep(self._orphan_grace, self._now)
        conn = self._connection()

        def is_referenced(blob_id: str) -> bool:
            row = one(conn, BLOB_REFERENCED, (blob_id, blob_id, blob_id))
            return row is not None

        blobs = self._blobs.sweep_orphans(is_referenced, self._orphan_grace, self._now)
        if staging or blobs:
            _log.info(
                "swept {staging} dead staging directories and {blobs} orphan blobs",
                staging=staging,
                blobs=blobs,
            )
        return staging, blobs

    def close(self) -> Deferred[None]:
        """
        Let queued commits finish, then stop the thread pools, close every
        connection and remove this process's staging directory.  Idempotent.
        """
        if self._closed:
            return succeed(None)
        drained = self._in_writer(lambda: None)
        self._closed = True

        def finish(_: object) -> None:
            self._reactor.removeSystemEventTrigger(self._shutdown_trigger)
            self._stop_threads()
            with self._connections_lock:
                connections, self._connections = self._connections, []
            for conn in connections:
                conn.close()
            self._staging.close()

        return drained.addBoth(finish)

    def _stop_threads(self) -> None:
        self._closed = True
        for pool in (self._write_pool, self._list_pool):
            if not pool.joined:
                pool.stop()

    # -- tagging --------------------------------------------------------------
    #
    # Object tags live in the entry's meta JSON (ObjectMeta.tags), so every
    # write that replaces or deletes the entry replaces or deletes them.
    # Bucket tags live in bucket_tags, stamped with the bucket's creation
    # time: a row whose stamp differs belongs to a deleted bucket of the
    # same name and is ignored (and overwritten by the next put), so
    # delete_bucket needs no tagging knowledge.

    def put_object_tagging(
        self, bucket: str, key: str, tags: tuple[tuple[str, str], ...]
    ) -> Deferred[None]:
        """See L{IObjectStore.put_object_tagging}: one UPDATE of the meta."""
        try:
            raw_key = encode_key(key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> None:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)
            row = one(
                conn,
                "SELECT meta FROM objects WHERE bucket = ? AND key = ?",
                (bucket, raw_key),
            )
            if row is None:
                raise S3Error.of("NoSuchKey", Key=key)
            meta = dataclasses.replace(decode_meta(row[0]), tags=tuple(tags))
            conn.execute(
                "UPDATE objects SET meta = ? WHERE bucket = ? AND key = ?",
                (encode_meta(meta), bucket, raw_key),
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
