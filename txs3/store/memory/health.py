"""
L{IStoreHealth} for L{txs3.store.memory.MemoryStore}: it lives in memory,
so its index always answers, it has no disk, and it never sweeps.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred, succeed

from txs3.store.health import Check, DiskSpace, Readiness, SweepCounts


class HealthMixin:
    """Always ready; no disk; no sweeps."""

    def readiness(self) -> Deferred[Readiness]:
        """See L{IStoreHealth.readiness}: one passing check."""
        return succeed(Readiness((Check("index", True, "in memory"),)))

    def disk_space(self) -> DiskSpace | None:
        """See L{IStoreHealth.disk_space}: None, no disk."""
        return None

    def sweep_counts(self) -> SweepCounts:
        """See L{IStoreHealth.sweep_counts}: all zero."""
        return SweepCounts()
