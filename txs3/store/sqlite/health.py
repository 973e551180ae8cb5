"""
L{IStoreHealth} for the SQLite store: readiness checks run in the listing
pool (they touch the disk), disk space by C{statvfs}, the sweep's counts
(kept by L{txs3.store.sqlite.sweep}).
"""

from __future__ import annotations

import dataclasses
import sqlite3
import tempfile

from twisted.internet.defer import Deferred, succeed

from txs3.store.health import Check, DiskSpace, Readiness, SweepCounts
from txs3.store.reserve import free_bytes
from txs3.store.sqlite.core import StoreCore


class HealthMixin(StoreCore):
    """Readiness, disk space and sweep counts."""

    def readiness(self) -> Deferred[Readiness]:
        """
        See L{IStoreHealth.readiness}.  A closed store is not ready.  While
        the disk counts as full, each call also queues a check for room in
        the writer, so readiness comes back once space was freed (even by
        another program) without waiting for an upload or a sweep.
        """
        if self._closed:
            return succeed(Readiness((Check("index", False, "the store is closed"),)))

        def after(readiness: Readiness) -> Readiness:
            if self._reserve.full:
                self._queue_recovery()
            return readiness

        return self._in_lister(self._readiness).addCallback(after)

    def _readiness(self) -> Readiness:
        """The checks, in the calling (pool) thread."""
        checks = (self._check_index(), self._check_writable(), self._check_disk())
        return Readiness(checks)

    def _check_index(self) -> Check:
        try:
            self._connection().execute("SELECT 1 FROM buckets LIMIT 1").fetchall()
        except (sqlite3.Error, ValueError) as e:
            return Check("index", False, f"the index does not answer: {e}")
        return Check("index", True, "answers")

    def _check_writable(self) -> Check:
        # A new file, not os.access(): root passes access() on a read-only
        # mount.  No fsync: the question is whether writes are taken.
        try:
            with tempfile.TemporaryFile(dir=self.data_dir, prefix=".ready-"):
                pass
        except OSError as e:
            return Check("writable", False, f"{self.data_dir}: {e.strerror or e}")
        return Check("writable", True, self.data_dir)

    def _check_disk(self) -> Check:
        try:
            free = free_bytes(self.data_dir)
        except OSError as e:
            return Check("disk", False, f"cannot read the free space: {e.strerror}")
        if self._reserve.full:
            return Check("disk", False, f"full ({free} bytes free): uploads refused")
        # Less room than the reserve is full too, before any write has found
        # out (a restart on a full disk, another program filling it): the
        # store itself only counts room again from twice the reserve.
        if free < max(self._reserve.size, 1):
            return Check("disk", False, f"full ({free} bytes free)")
        return Check("disk", True, f"{free} bytes free")

    def disk_space(self) -> DiskSpace | None:
        """See L{IStoreHealth.disk_space}."""
        return DiskSpace(free_bytes(self.data_dir), self._reserve.full)

    def sweep_counts(self) -> SweepCounts:
        """See L{IStoreHealth.sweep_counts}."""
        return dataclasses.replace(self.sweeps)
