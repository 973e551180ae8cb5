"""
Object Lock on stored versions: the pure decisions of L{txs3.objectlock}
applied to the versions the store keeps.

The store keeps a version's lock as plain values in its metadata
(L{ObjectMeta.retention}, a L{LockRetention}, and L{ObjectMeta.legal_hold})
and knows nothing of what they forbid.  Everything that removes a version
for good, or changes its lock, hands the store a callback from here, which
the store calls inside the commit with the version as it is then:

  - L{removal_guard}: the L{Deletion.guard} of DeleteObject and
    DeleteObjects with a version id (and of any other deletion: the lifecycle
    pass uses it without a bypass), refusing a version under a legal hold
    or an active retention with S3's C{AccessDenied};
  - L{retention_change} and L{legal_hold_change}: the C{change} of
    L{IObjectStore.put_object_lock} for PutObjectRetention and
    PutObjectLegalHold.

So a lock placed, or a retention extended, between the moment a request
(or the lifecycle pass) read a version and the moment it removes it still
counts: nothing locked is ever removed on the strength of a stale read.

L{removable} is the same question without the exception, for a caller
that wants to skip locked versions rather than be refused (the lifecycle
pass: "no lifecycle rule ever removes a locked version"); it must still
pass L{removal_guard} with its deletions, so the commit decides.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from txs3.objectlock import LockRequest, Retention, check_removal, is_locked
from txs3.objectlock.decide import check_retention_change
from txs3.objectlock.retention import as_mode
from txs3.store.interface import LockRetention, ObjectInfo, ObjectMeta

#: What L{IObjectStore.put_object_lock} calls inside its commit.
LockChange = Callable[[ObjectMeta], tuple[LockRetention | None, bool | None]]


def retention_of(meta: ObjectMeta) -> Retention | None:
    """
    The retention stored in C{meta}, or None.  A mode the store holds but
    this code does not know (a hand-edited index) reads as C{COMPLIANCE}:
    a damaged lock protects more, never less.
    """
    if meta.retention is None:
        return None
    mode = as_mode(meta.retention.mode) or "COMPLIANCE"
    return Retention(mode, meta.retention.until)


def stored(retention: Retention | None) -> LockRetention | None:
    """C{retention} as the store keeps it."""
    if retention is None:
        return None
    return LockRetention(retention.mode, retention.until)


def with_lock(meta: ObjectMeta, lock: LockRequest) -> ObjectMeta:
    """
    C{meta} carrying C{lock} (the new version's, from
    L{txs3.objectlock.new_version_lock}) in place of whatever lock it had:
    a copy never inherits its source's lock.
    """
    return dataclasses.replace(
        meta, retention=stored(lock.retention), legal_hold=lock.legal_hold
    )


def removable(info: ObjectInfo, now: float) -> bool:
    """
    Whether version C{info} may be removed for good at C{now} by someone
    who does not bypass governance retention (the lifecycle pass, a sweep):
    a delete marker always; a version unless it has a legal hold or an
    active retention of either mode.
    """
    if info.delete_marker:
        return True
    return not is_locked(retention_of(info.meta), info.meta.legal_hold, now)


def removal_guard(
    now: float, *, bypass: bool = False, may_bypass: bool = False
) -> Callable[[ObjectInfo], None]:
    """
    A L{Deletion.guard}: refuse to remove a locked version for good.

    @param bypass: whether the request sent
        C{x-amz-bypass-governance-retention: true}.
    @param may_bypass: whether its principal is allowed
        C{s3:BypassGovernanceRetention} on the key.
    @return: a callable that raises C{AccessDenied} "Access Denied because
        object protected by object lock." for a version under a legal hold,
        an active C{COMPLIANCE} retention, or an active C{GOVERNANCE}
        retention unless C{bypass} and C{may_bypass}; delete markers pass.
    """

    def guard(info: ObjectInfo) -> None:
        if info.delete_marker:
            return
        check_removal(
            retention_of(info.meta),
            info.meta.legal_hold,
            now,
            bypass=bypass,
            may_bypass=may_bypass,
        )

    return guard


def retention_change(
    new: Retention | None, now: float, *, bypass: bool, may_bypass: bool
) -> LockChange:
    """
    The C{change} of PutObjectRetention: C{new} (None: remove the
    retention) replaces the version's retention, its legal hold stays.

    @return: a callable that raises C{AccessDenied} when C{new} would
        weaken an active retention (L{check_retention_change}).
    """

    def change(meta: ObjectMeta) -> tuple[LockRetention | None, bool | None]:
        check_retention_change(
            retention_of(meta), new, now, bypass=bypass, may_bypass=may_bypass
        )
        return stored(new), meta.legal_hold

    return change


def legal_hold_change(on: bool) -> LockChange:
    """
    The C{change} of PutObjectLegalHold: anyone allowed
    C{s3:PutObjectLegalHold} may place or lift a hold; the retention stays.
    """

    def change(meta: ObjectMeta) -> tuple[LockRetention | None, bool | None]:
        return meta.retention, on

    return change
