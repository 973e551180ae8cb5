"""
The one check every deletion of the lifecycle pass carries: no rule ever
removes a version that Object Lock protects.
"""

from __future__ import annotations

from txs3.errors import S3Error
from txs3.objectlock.decide import LOCKED
from txs3.store.interface import ObjectInfo
from txs3.versionlock import removable


def lifecycle_guard(info: ObjectInfo, now: float) -> None:
    """
    Refuse to remove version C{info} for good while Object Lock protects
    it at C{now}: a legal hold, or a retention of either mode that has not
    run out (L{txs3.versionlock.removable}; the pass never bypasses
    governance mode).  The store calls it inside the deletion's commit
    (L{txs3.store.interface.Deletion.guard}), so a lock placed after the
    pass read the version still counts.

    @raise S3Error: C{AccessDenied}, S3's Object Lock message.
    """
    if not removable(info, now):
        raise S3Error.of("AccessDenied", LOCKED)
