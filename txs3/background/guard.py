"""
The one check every deletion of the lifecycle pass carries: no rule ever
removes a version that Object Lock protects.
"""

from __future__ import annotations

from txs3.errors import S3Error
from txs3.objectlock.decide import LOCKED, is_locked
from txs3.store.interface import ObjectInfo


def lifecycle_guard(info: ObjectInfo, now: float) -> None:
    """
    Refuse to remove version C{info} for good while Object Lock protects
    it at C{now}: a legal hold, or a retention that has not run out
    (L{txs3.objectlock.decide.is_locked}; the pass never bypasses
    governance mode).  The store calls it inside the deletion's commit
    (L{txs3.store.interface.Deletion.guard}), so a lock placed after the
    pass read the version still counts.

    The version's lock is read from its metadata as C{meta.retention} (a
    L{txs3.objectlock.retention.Retention} or None) and
    C{meta.legal_hold} (a bool or None): the fields Object Lock stores on
    L{txs3.store.interface.ObjectMeta}.  A metadata without them (before
    Object Lock is wired) reads as unlocked.

    @raise S3Error: C{AccessDenied}, S3's Object Lock message.
    """
    retention = getattr(info.meta, "retention", None)
    legal_hold = getattr(info.meta, "legal_hold", None)
    if is_locked(retention, legal_hold, now):
        raise S3Error.of("AccessDenied", LOCKED)
