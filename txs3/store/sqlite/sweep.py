"""
The sweep of crash leftovers: staging directories of dead processes and
blobs no index row names, both only once older than the grace period.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from txs3.store.sqlite.core import StoreCore
from txs3.store.sqlite.rows import one
from txs3.store.sqlite.schema import BLOB_REFERENCED

_log = Logger()


class SweepMixin(StoreCore):
    """The orphan sweep."""

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
