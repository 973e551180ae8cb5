"""
What a store can say about its own health, for the operator's endpoints
(L{txs3.ops}) and metrics (L{txs3.metrics}): whether it is ready to serve
(L{IStoreHealth.readiness}), the space left on its disk, and what its
periodic sweep has done.

Kept apart from L{txs3.store.interface.IObjectStore}: no S3 operation
needs it, and a store that cannot tell (a test double) still serves.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet.defer import Deferred
from zope.interface import Interface


@dataclass(frozen=True)
class Check:
    """
    One readiness check.

    @ivar name: C{index}, C{writable} or C{disk}.
    @ivar ok: whether it passed.
    @ivar detail: one line for the operator (why it failed, or what it saw).
    """

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Readiness:
    """The outcome of every readiness check; ready when all passed."""

    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        """Whether every check passed."""
        return all(check.ok for check in self.checks)


@dataclass(frozen=True)
class DiskSpace:
    """
    The space of the filesystem holding a store's data.

    @ivar free: bytes an unprivileged writer may still use.
    @ivar full: whether the store is in its disk-full state (uploads
        refused; L{txs3.store.reserve}).
    """

    free: int
    full: bool


@dataclass
class SweepCounts:
    """
    What a store's sweeps have done since it was opened (the start-up
    sweep included).  Only counts that grow: each field is written by one
    thread at a time (sweeps never overlap), and read from any.

    @ivar passes: sweeps that ended.
    @ivar failures: sweeps that failed (logged; the schedule goes on).
    @ivar staging: dead staging directories removed.
    @ivar blobs: orphan blobs removed.
    @ivar completed: expired completed-upload records purged.
    """

    passes: int = 0
    failures: int = 0
    staging: int = 0
    blobs: int = 0
    completed: int = 0


class IStoreHealth(Interface):
    """A store that can report on its own health."""

    def readiness() -> Deferred[Readiness]:
        """
        Check, off the reactor thread, that the index answers a query, the
        data directory takes a new file, and the disk is not full (the
        store is not in its disk-full state, and has at least its reserve's
        size free).  Never fails: a check that cannot run is a failed
        L{Check}.
        """

    def disk_space() -> DiskSpace | None:
        """
        The data directory's disk space; None for a store on no disk.
        Blocking (C{statvfs}): call it off the reactor thread.
        """

    def sweep_counts() -> SweepCounts:
        """A copy of the sweep counts as they are now; any thread."""
