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
from typing import Any, TypedDict, TypeVar, cast

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorCore, IReactorFromThreads
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.filepath import FilePath
from twisted.python.threadpool import ThreadPool

from txs3.errors import S3Error
from txs3.store.blobs import (
    BlobStore,
    StagingArea,
    StagingFile,
    insufficient_storage,
    is_disk_full,
)
from txs3.store.health import SweepCounts
from txs3.store.interface import IStagingFile
from txs3.store.namespace import encode_key
from txs3.store.periodic import PeriodicPass
from txs3.store.reserve import RESERVE_SIZE, SpaceReserve
from txs3.store.sqlite.backup import backup_running
from txs3.store.sqlite.rows import bucket_exists, is_full
from txs3.store.sqlite.schema import QUOTA_MESSAGE, init_schema
from txs3.store.sqlite.users import harden

#: How long a blob may sit unreferenced before the sweep deletes it: far
#: longer than any rename-to-commit gap of a live process.
DEFAULT_ORPHAN_GRACE = 15 * 60.0

#: Milliseconds a connection waits for another process's write lock.
BUSY_TIMEOUT_MS = 30_000

_T = TypeVar("_T")

_log = Logger()


class StoreOptions(TypedDict, total=False):
    """The keyword arguments of L{StoreCore}, for what forwards them."""

    orphan_grace: float
    now: Callable[[], float]
    list_threads: int
    reserve_size: int


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
        reserve_size: int = RESERVE_SIZE,
    ) -> None:
        """
        Open (creating if needed) the store in C{data_dir}, without sweeping.
        On a full disk it still opens, releasing the space reserve if it
        must (see L{txs3.store.reserve}), and starts in the full state.

        @param reactor: runs the Deferreds' callbacks; the global reactor by
            default.
        @param orphan_grace: seconds an unreferenced blob or an unfinished
            staging directory must have existed before a sweep removes it.
        @param now: the clock for timestamps and the grace period.
        @param list_threads: size of the listing thread pool.
        @param reserve_size: bytes of the space reserve (0: none).
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
        # What the sweeps did (SweepMixin; read by HealthMixin).
        self.sweeps = SweepCounts()

        # Whether a recovery check is queued in the writer (reactor thread).
        self._recovery_queued = False

        os.makedirs(self.data_dir, exist_ok=True)
        self._reserve = SpaceReserve(self.data_dir, reserve_size)
        try:
            if not self._reserve.fill():
                self._reserve.mark_full()
        except OSError:
            # A filesystem that cannot allocate it: serve without a reserve
            # rather than not at all.
            _log.failure("cannot allocate the disk reserve in {where}",
                         where=self.data_dir)  # fmt: skip
        self._blobs = BlobStore(os.path.join(self.data_dir, "blobs"))
        self._with_room(self._blobs.prepare)
        try:
            # The first connection creates the WAL's shared-memory file,
            # which every later read needs: on a full disk, make room.
            self._with_room(
                lambda: init_schema(self._connection(), self._index_path),
                self._drop_connection,
            )
        except BaseException:
            self._drop_connection()
            raise
        # The index holds the users' secrets (txs3.store.sqlite.users).
        harden(self._index_path)
        self._staging = self._with_room(
            lambda: StagingArea.create(os.path.join(self.data_dir, "staging"))
        )
        self._staging.is_full = lambda: self._reserve.full
        self._staging.on_full = self._reserve.mark_full

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

    def _drop_connection(self) -> None:
        """Close this thread's connection (the next use makes a new one)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            with self._connections_lock:
                self._connections.remove(conn)
            conn.close()

    def _with_room(
        self, f: Callable[[], _T], undo: Callable[[], None] | None = None
    ) -> _T:
        """
        C{f()}; if it finds the disk full, enter the full state, release
        the reserve and, if that freed anything, C{undo()} and try once more.
        Start-up only (blocking).
        """
        try:
            return f()
        except (OSError, sqlite3.Error) as e:
            if not is_full(e):
                raise
            self._reserve.mark_full()
            if not self._reserve.release():
                raise
        if undo is not None:
            undo()
        return f()

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

    def _write_txn(
        self, f: Callable[[sqlite3.Connection], _T], *, frees: bool = False
    ) -> _T:
        """
        Run C{f} in one C{BEGIN IMMEDIATE} transaction: committed if it
        returns, rolled back if it raises.  A full disk enters the full
        state and becomes C{InsufficientStorage}, except for a transaction
        that C{frees} space (a delete, an abort): that one releases the
        space reserve and runs again, so a full disk can always be emptied.
        """
        try:
            return self._transaction(f)
        except sqlite3.Error as e:
            if not is_full(e):
                raise
            self._reserve.mark_full()
            if not (frees and self._reserve.release()):
                raise insufficient_storage(self.data_dir) from e
        try:
            return self._transaction(f)
        except sqlite3.Error as e:
            if is_full(e):
                raise insufficient_storage(self.data_dir) from e
            raise

    def _transaction(self, f: Callable[[sqlite3.Connection], _T]) -> _T:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = f(conn)
            conn.execute("COMMIT")
        except sqlite3.IntegrityError as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if "QuotaExceeded" in str(e):
                # The index's quota trigger (schema.QUOTA_TRIGGER).
                raise S3Error.of("QuotaExceeded", QUOTA_MESSAGE) from None
            raise
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    _bucket_exists = staticmethod(bucket_exists)

    def _commit_and_free(self, f: Callable[[sqlite3.Connection], list[str]]) -> None:
        """
        Run C{f}, a transaction that frees space (it may use the reserve),
        then free the blobs it returns and see whether the disk has room
        again.
        """
        self._commit_info_and_free(lambda conn: (None, f(conn)), frees=True)

    def _commit_info_and_free(
        self,
        f: Callable[[sqlite3.Connection], tuple[_T, list[str]]],
        *,
        frees: bool = False,
    ) -> _T:
        """
        Run C{f} in a write transaction (one that C{frees} space may use
        the reserve), then free the blobs it returns; after a freeing one,
        leave the full state if there is room again.
        """
        result, freed = self._write_txn(f, frees=frees)
        for blob_id in freed:
            self._free_blob(blob_id)
        if frees:
            self._recover()
        return result

    # -- a full disk ------------------------------------------------------

    def _recover(self) -> None:
        """
        Leave the full state if the disk has room again (allocating the
        reserve anew).  Blocking: the writer thread, or a sweep's thread.
        """
        try:
            self._reserve.recover()
        except OSError:
            _log.failure("could not check the free space in {where}",
                         where=self.data_dir)  # fmt: skip

    def _queue_recovery(self) -> None:
        """From the reactor thread: check for room again, in the writer."""
        if self._recovery_queued or self._closed:
            return
        self._recovery_queued = True

        def done(_: object) -> None:
            self._recovery_queued = False

        self._in_writer(self._recover).addBoth(done)

    # -- staging files and blobs ------------------------------------------

    def open_staging(self) -> IStagingFile:
        """
        See L{IObjectStore.open_staging}: a file in C{staging/<instance>/}.

        @raise S3Error: C{InsufficientStorage} while the disk is full (the
            upload is refused before its body); a check for room is queued.
        """
        if self._reserve.full:
            self._queue_recovery()
            raise insufficient_storage(self.data_dir)
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

    def _check_publishable(self, file: StagingFile, key: str) -> bytes:
        """
        The raw key C{key} under which taken-over staging C{file} is to be
        published.  If the key is invalid or the store is closed, C{file}
        is discarded and the error raised.

        @raise S3Error: for an invalid C{key}.
        @raise ValueError: if the store is closed.
        """
        try:
            raw_key = encode_key(key)
            if self._closed:
                raise ValueError("store is closed")
        except (S3Error, ValueError):
            file.discard()
            raise
        return raw_key

    def _publish(self, staging: StagingFile) -> str:
        """fsync and rename C{staging} into the blobs; return its blob id."""
        try:
            return self._blobs.publish(staging)
        except OSError as e:
            if is_disk_full(e):
                self._reserve.mark_full()
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
        """
        Unlink a blob the index no longer references (after the commit),
        unless a backup is running: it may still link the blob from its
        snapshot, so the blob stays, an orphan for a later sweep
        (L{txs3.store.sqlite.backup}).
        """
        if backup_running(self.data_dir):
            return
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
