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

Schema (version 1; C{schema_version} holds the version for migrations)::

    buckets(name TEXT PRIMARY KEY, owner_id, created REAL, region)
    objects(bucket TEXT, key BLOB, size, etag, last_modified REAL,
            owner_id, meta TEXT (JSON), blob TEXT,
            PRIMARY KEY (bucket, key)) WITHOUT ROWID
    INDEX objects_blob ON objects(blob)

Keys are stored as BLOBs of their UTF-8 bytes, so the primary key orders
them the way S3 lists (memcmp), and listing is a range scan on it.  An
object refers to its bytes through the C{blob} column; a multipart object
(not built yet) will leave it NULL and list its blobs in a parts table, so
the object row never needs to change shape.

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

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
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
from txs3.store.interface import (
    BucketInfo,
    IObjectStore,
    IStagingFile,
    ListPage,
    ObjectInfo,
    ObjectMeta,
)
from txs3.store.namespace import encode_key, encode_text, list_page

SCHEMA_VERSION = 1

_SCHEMA = """
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
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_blob ON objects (blob);
"""

# SQL is spelled out literally (no string building) so that no value can
# ever reach a statement's text.
_INSERT_OBJECT = (
    "INSERT OR REPLACE INTO objects"
    " (bucket, key, size, etag, last_modified, owner_id, meta, blob)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_HEAD_OBJECT = (
    "SELECT b.name, o.key, o.size, o.etag, o.last_modified, o.owner_id,"
    " o.meta, o.blob"
    " FROM buckets AS b LEFT JOIN objects AS o"
    " ON o.bucket = b.name AND o.key = ?"
    " WHERE b.name = ?"
)
_SCAN_SELECT = (
    "SELECT key, size, etag, last_modified, owner_id, meta, blob FROM objects"
)
#: (inclusive lower bound, has upper bound) -> range scan on (bucket, key).
_SCANS = {
    (True, False): _SCAN_SELECT + " WHERE bucket = ? AND key >= ? ORDER BY key LIMIT ?",
    (False, False): _SCAN_SELECT + " WHERE bucket = ? AND key > ? ORDER BY key LIMIT ?",
    (True, True): _SCAN_SELECT
    + " WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?",
    (False, True): _SCAN_SELECT
    + " WHERE bucket = ? AND key > ? AND key < ? ORDER BY key LIMIT ?",
}

#: How long a blob may sit unreferenced before the sweep deletes it: far
#: longer than any rename-to-commit gap of a live process.
DEFAULT_ORPHAN_GRACE = 15 * 60.0

#: Milliseconds a connection waits for another process's write lock.
BUSY_TIMEOUT_MS = 30_000

#: Attempts of open_object when the blob vanishes under it (replaced).
_OPEN_ATTEMPTS = 8

_T = TypeVar("_T")

_log = Logger()


def _encode_meta(meta: ObjectMeta) -> str:
    return json.dumps(
        {
            "headers": [list(p) for p in meta.headers],
            "user": [list(p) for p in meta.user_metadata],
            "checksums": [list(p) for p in meta.checksums],
        },
        separators=(",", ":"),
    )


def _decode_meta(text: str) -> ObjectMeta:
    raw = json.loads(text)
    return ObjectMeta(
        headers=tuple((k, v) for k, v in raw["headers"]),
        user_metadata=tuple((k, v) for k, v in raw["user"]),
        checksums=tuple((k, v) for k, v in raw["checksums"]),
    )


def _object_info(bucket: str, row: tuple[Any, ...]) -> ObjectInfo:
    key, size, etag, last_modified, owner_id, meta, blob = row
    return ObjectInfo(
        bucket=bucket,
        key=bytes(key).decode("utf-8"),
        size=size,
        etag=etag,
        last_modified=last_modified,
        meta=_decode_meta(meta),
        owner_id=owner_id,
        blob=blob or "",
    )


def _is_full(error: BaseException) -> bool:
    """Whether C{error} (OS or SQLite) means the disk is full."""
    if is_disk_full(error):
        return True
    return (
        isinstance(error, sqlite3.Error)
        and getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    )


def _one(
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


def _no_such_bucket(name: str) -> S3Error:
    return S3Error.of("NoSuchBucket", BucketName=name)


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
        row = _one(conn, "PRAGMA journal_mode = WAL")
        mode = row[0] if row else None
        if str(mode).lower() != "wal":
            raise RuntimeError(f"cannot put {self._index_path} in WAL mode: {mode}")
        # IMMEDIATE: processes starting together create the schema once.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = _one(conn, "SELECT max(version) FROM schema_version")
            version = row[0] if row else None
            if version is None:
                conn.execute(
                    "INSERT INTO schema_version (version) VALUES (?)",
                    (SCHEMA_VERSION,),
                )
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
            if _is_full(e):
                raise insufficient_storage() from e
            raise
        return result

    @staticmethod
    def _bucket_exists(conn: sqlite3.Connection, name: str) -> bool:
        row = _one(conn, "SELECT 1 FROM buckets WHERE name = ?", (name,))
        return row is not None

    # -- buckets ------------------------------------------------------------

    def create_bucket(
        self, name: str, owner_id: str, region: str
    ) -> Deferred[BucketInfo]:
        """See L{IObjectStore.create_bucket}."""

        def txn(conn: sqlite3.Connection) -> BucketInfo:
            row = _one(conn, "SELECT owner_id FROM buckets WHERE name = ?", (name,))
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
        row = _one(
            self._connection(),
            "SELECT name, owner_id, created, region FROM buckets WHERE name = ?",
            (name,),
        )
        if row is None:
            raise _no_such_bucket(name)
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
        See L{IObjectStore.delete_bucket}.  Only an empty bucket is deleted,
        so no blob can be left behind; a put racing with the deletion finds
        the bucket gone inside its own transaction and removes its blob.
        """

        def txn(conn: sqlite3.Connection) -> None:
            if not self._bucket_exists(conn, name):
                raise _no_such_bucket(name)
            if _one(conn, "SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", (name,)):
                raise S3Error.of("BucketNotEmpty", BucketName=name)
            conn.execute("DELETE FROM buckets WHERE name = ?", (name,))

        return self._in_writer(self._write_txn, txn)

    # -- objects ------------------------------------------------------------

    def open_staging(self) -> IStagingFile:
        """See L{IObjectStore.open_staging}: a file in C{staging/<instance>/}."""
        return self._staging.open()

    def put_object(
        self,
        bucket: str,
        key: str,
        staging: IStagingFile,
        etag: str,
        meta: ObjectMeta,
        owner_id: str,
    ) -> Deferred[ObjectInfo]:
        """
        See L{IObjectStore.put_object}.

        @raise ValueError: (synchronously) if C{staging} is not an open
            staging file of this store.
        """
        if not (
            isinstance(staging, StagingFile)
            and os.path.dirname(staging.path) == self._staging.path
        ):
            raise ValueError("staging file does not belong to this store")
        staging.hand_over()
        try:
            raw_key = encode_key(key)
            if self._closed:
                raise ValueError("store is closed")
        except (S3Error, ValueError) as e:
            staging.discard()
            return fail(e)
        return self._in_writer(
            self._put, bucket, raw_key, staging, etag, meta, owner_id
        )

    def _put(
        self,
        bucket: str,
        raw_key: bytes,
        staging: StagingFile,
        etag: str,
        meta: ObjectMeta,
        owner_id: str,
    ) -> ObjectInfo:
        """The write thread's half of put_object: publish, commit, free."""
        size = staging.size()
        try:
            blob_id = self._blobs.publish(staging)
        except OSError as e:
            if is_disk_full(e):
                raise insufficient_storage() from e
            raise
        try:
            info = ObjectInfo(
                bucket=bucket,
                key=raw_key.decode("utf-8"),
                size=size,
                etag=etag,
                last_modified=self._now(),
                meta=meta,
                owner_id=owner_id,
                blob=blob_id,
            )

            def txn(conn: sqlite3.Connection) -> str | None:
                if not self._bucket_exists(conn, bucket):
                    raise _no_such_bucket(bucket)
                row = _one(
                    conn,
                    "SELECT blob FROM objects WHERE bucket = ? AND key = ?",
                    (bucket, raw_key),
                )
                conn.execute(
                    _INSERT_OBJECT,
                    (
                        bucket,
                        raw_key,
                        info.size,
                        info.etag,
                        info.last_modified,
                        info.owner_id,
                        _encode_meta(meta),
                        blob_id,
                    ),
                )
                return row[0] if row is not None else None

            replaced = self._write_txn(txn)
        except BaseException:
            # Not committed: the previous object (if any) is untouched and
            # the new blob must not linger.
            self._blobs.unlink(blob_id)
            raise
        if replaced:
            self._free_blob(replaced)
        return info

    def _free_blob(self, blob_id: str) -> None:
        """Unlink a blob the index no longer references (after the commit)."""
        try:
            self._blobs.unlink(blob_id)
        except OSError:
            # The object is already committed; an orphan blob only costs
            # space until the next sweep.
            _log.failure("could not unlink replaced blob {blob}", blob=blob_id)

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        """See L{IObjectStore.head_object}."""
        raw_key = encode_key(key)
        # One statement: the bucket check and the row come from one snapshot.
        row = _one(self._connection(), _HEAD_OBJECT, (raw_key, bucket))
        if row is None:
            raise _no_such_bucket(bucket)
        if row[1] is None:
            raise S3Error.of("NoSuchKey", Key=key)
        return _object_info(bucket, row[1:])

    def open_object(self, bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        """
        See L{IObjectStore.open_object}.  If the blob vanished between
        reading the row and opening it (a concurrent replace or delete
        committed and unlinked it), read the row again.

        @raise S3Error: C{InternalError} if an indexed blob stays missing.
        """
        for _ in range(_OPEN_ATTEMPTS):
            info = self.head_object(bucket, key)
            try:
                return info, self._blobs.open(info.blob)
            except FileNotFoundError:
                continue
        raise S3Error.of("InternalError", "The object's data is missing.", Key=key)

    def delete_object(self, bucket: str, key: str) -> Deferred[bool]:
        """See L{IObjectStore.delete_object}."""
        try:
            raw_key = encode_key(key)
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> str | None:
            if not self._bucket_exists(conn, bucket):
                raise _no_such_bucket(bucket)
            row = _one(
                conn,
                "SELECT blob FROM objects WHERE bucket = ? AND key = ?",
                (bucket, raw_key),
            )
            if row is None:
                return None
            conn.execute(
                "DELETE FROM objects WHERE bucket = ? AND key = ?", (bucket, raw_key)
            )
            return cast(str, row[0] or "")

        def work() -> bool:
            blob_id = self._write_txn(txn)
            if blob_id:
                self._free_blob(blob_id)
            return blob_id is not None

        return self._in_writer(work)

    def delete_objects(self, bucket: str, keys: list[str]) -> Deferred[dict[str, bool]]:
        """See L{IObjectStore.delete_objects}: one transaction for all keys."""
        try:
            raw_keys = [encode_key(k) for k in keys]
        except S3Error as e:
            return fail(e)

        def txn(conn: sqlite3.Connection) -> tuple[dict[str, bool], list[str]]:
            if not self._bucket_exists(conn, bucket):
                raise _no_such_bucket(bucket)
            existed: dict[str, bool] = {}
            freed: list[str] = []
            for key, raw_key in zip(keys, raw_keys, strict=True):
                row = _one(
                    conn,
                    "DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING blob",
                    (bucket, raw_key),
                )
                existed[key] = existed.get(key, False) or row is not None
                if row is not None and row[0]:
                    freed.append(cast(str, row[0]))
            return existed, freed

        def work() -> dict[str, bool]:
            existed, freed = self._write_txn(txn)
            for blob_id in freed:
                self._free_blob(blob_id)
            return existed

        return self._in_writer(work)

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
                raise _no_such_bucket(bucket)

            def scan(
                lo: bytes, inclusive: bool, hi: bytes | None, limit: int
            ) -> Iterator[tuple[bytes, tuple[Any, ...]]]:
                params: list[Any] = [bucket, lo]
                if hi is not None:
                    params.append(hi)
                params.append(limit)
                cursor = conn.execute(_SCANS[inclusive, hi is not None], params)
                try:
                    for row in cursor:
                        yield bytes(row[0]), row
                finally:
                    cursor.close()

            walk = list_page(scan, prefix, delimiter, start_after, max_keys)
        finally:
            conn.execute("COMMIT")
        return ListPage(
            contents=[_object_info(bucket, row) for row in walk.contents],
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
            row = _one(conn, "SELECT 1 FROM objects WHERE blob = ? LIMIT 1", (blob_id,))
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
