"""
The sweep of leftovers: staging directories of dead processes and blobs no
index row names, both only once older than the grace period, and records of
completed multipart uploads older than L{COMPLETED_UPLOAD_TTL}.  What the
sweeps did is counted in the store's C{sweeps}
(L{txs3.store.health.SweepCounts}, for the metrics).
"""

from __future__ import annotations

import sqlite3
from typing import cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from txs3.errors import S3Error
from txs3.store.interface import COMPLETED_UPLOAD_TTL
from txs3.store.periodic import PeriodicPass
from txs3.store.sqlite.backup import backup_running
from txs3.store.sqlite.core import StoreCore
from txs3.store.sqlite.rows import one
from txs3.store.sqlite.schema import BLOB_REFERENCED, PURGE_COMPLETED

_log = Logger()

#: Seconds between two sweeps while the server runs.
SWEEP_INTERVAL = 10 * 60.0


class SweepMixin(StoreCore):
    """The orphan sweep."""

    def start_sweeping(
        self, interval: float = SWEEP_INTERVAL, clock: IReactorTime | None = None
    ) -> PeriodicPass:
        """
        Run L{sweep} every C{interval} seconds of C{clock} (the store's
        reactor by default) until L{close}, the first one C{interval} after
        now (L{open} has just swept).  Idempotent; returns the schedule.
        """
        if self._sweeper is None:
            if clock is None:
                clock = cast(IReactorTime, self._reactor)
            self._sweeper = PeriodicPass(self.sweep, clock, interval, "orphan sweep")
        self._sweeper.start()
        return self._sweeper

    def sweep(self) -> Deferred[tuple[int, int]]:
        """
        Sweep leftovers off the reactor thread; fires with C{(staging
        directories removed, orphan blobs removed)}.  The file walk runs in
        the listing pool; the purge of old completion records, a commit,
        in the writer thread like every other commit.
        """

        def purge(result: tuple[int, int]) -> Deferred[tuple[int, int]]:
            return self._in_writer(self._purge_and_recover).addCallback(
                lambda _: result
            )

        def failed(failure: Failure) -> Failure:
            self.sweeps.failures += 1
            return failure

        def ended(result: tuple[int, int]) -> tuple[int, int]:
            self.sweeps.passes += 1
            return result

        return (
            self._in_lister(self._sweep_files)
            .addCallback(purge)
            .addCallbacks(ended, failed)
        )

    def _sweep(self) -> tuple[int, int]:
        """L{sweep}, all of it in the calling thread (start-up)."""
        result = self._sweep_files()
        self._purge_and_recover()
        self.sweeps.passes += 1
        return result

    def _sweep_files(self) -> tuple[int, int]:
        """Remove dead staging directories and orphan blobs past the grace."""
        staging = self._staging.sweep(self._orphan_grace, self._now)
        conn = self._connection()

        def is_referenced(blob_id: str) -> bool:
            row = one(conn, BLOB_REFERENCED, (blob_id,) * 5)
            return row is not None

        # A running backup may still link orphans from its snapshot.
        blobs = (
            0
            if backup_running(self.data_dir)
            else self._blobs.sweep_orphans(is_referenced, self._orphan_grace, self._now)
        )
        self.sweeps.staging += staging
        self.sweeps.blobs += blobs
        if staging or blobs:
            _log.info(
                "swept {staging} dead staging directories and {blobs} orphan blobs",
                staging=staging,
                blobs=blobs,
            )
        return staging, blobs

    def _purge_and_recover(self) -> None:
        """
        Purge old completion records, then leave the full state if the
        sweep (or anything else) made room.
        """
        try:
            records = self._purge_completed()
        except S3Error:
            records = 0  # a full disk even without the reserve: next time
        self.sweeps.completed += records
        if records:
            _log.info("forgot {records} expired completed uploads", records=records)
        self._recover()

    def _purge_completed(self) -> int:
        """Delete completed-upload records past their time; return how many."""
        horizon = self._now() - COMPLETED_UPLOAD_TTL

        def txn(conn: sqlite3.Connection) -> int:
            return conn.execute(PURGE_COMPLETED, (horizon,)).rowcount

        return self._write_txn(txn, frees=True)
