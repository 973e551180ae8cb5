"""
The SQLite store's core: its data directory, thread pools, per-thread
connections and write transactions, and the blob life cycle shared by every
operation (publish a staging file, commit, free what the commit left
unreferenced).

The operation modules (L{txs3.store.sqlite.buckets}, C{objects},
C{multipart}, C{listing}, C{sweep}, C{tagging}) are mixins over
L{StoreCore}; L{txs3.store.sqlite.SQLiteStore} combines them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorCore, IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.filepath import FilePath
from twisted.python.threadpool import ThreadPool

from txs3.store.blobs import (
    BlobStore,
    StagingArea,
    StagingFile,
    insufficient_storage,
    is_disk_full,
)
from txs3.store.interface import IStagingFile
from txs3.store.periodic import PeriodicPass
from txs3.store.sqlite.rows import bucket_exists, is_full
from txs3.store.sqlite.schema import init_schema

#: How long a blob may sit unreferenced before the sweep deletes it: far
#: longer than any rename-to-commit gap of a live process.
DEFAULT_ORPHAN_GRACE = 15 * 60.0

#: Milliseconds a connection waits for another process's write lock.
BUSY_TIMEOUT_MS = 30_000

_T = TypeVar("_T")

_log = Logger()


class StoreCore:
    """
    Threads, connections, transactions and blob publishing of a
    L{txs3.store.sqlite.SQLiteStore}.

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
        # The periodic sweep, once started (SweepMixin.start_sweeping).
        self._sweeper: PeriodicPass | None = None

        os.makedirs(self.data_dir, exist_ok=True)
        self._blobs = BlobStore(os.path.join(self.data_dir, "blobs"))
        self._blobs.prepare()
        try:
            init_schema(self._connection(), self._index_path)
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

    _bucket_exists = staticmethod(bucket_exists)

    def _commit_and_free(self, f: Callable[[sqlite3.Connection], list[str]]) -> None:
        """Run C{f} in a write transaction, then free the blobs it returns."""
        for blob_id in self._write_txn(f):
            self._free_blob(blob_id)

    def _commit_info_and_free(
        self, f: Callable[[sqlite3.Connection], tuple[_T, list[str]]]
    ) -> _T:
        result, freed = self._write_txn(f)
        for blob_id in freed:
            self._free_blob(blob_id)
        return result

    # -- staging files and blobs ------------------------------------------

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

    # -- shutdown ---------------------------------------------------------

    def close(self) -> Deferred[None]:
        """
        Let queued commits finish, then stop the thread pools, close every
        connection and remove this process's staging directory.  Idempotent.
        """
        if self._closed:
            return succeed(None)
        if self._sweeper is not None:
            self._sweeper.stop()
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
