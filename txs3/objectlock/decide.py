"""
What Object Lock allows: removing a version, and replacing its retention.

From AWS's "How S3 Object Lock works" and "Managing Object Lock":

  - a version under a legal hold may not be deleted or overwritten, by
    anyone, bypass or not ("Bypassing governance mode doesn't affect an
    object version's legal hold status");
  - under an active C{COMPLIANCE} retention it may not be deleted or
    overwritten "by any user, including the root user";
  - under an active C{GOVERNANCE} retention only a request that sends
    C{x-amz-bypass-governance-retention: true} I{and} whose principal has
    C{s3:BypassGovernanceRetention} may;
  - a retention may always be extended ("Any user with permissions to place
    an object retention period can extend a retention period ... in either
    mode"), and C{GOVERNANCE} may be made C{COMPLIANCE};
  - shortening it, removing it, or turning C{COMPLIANCE} into
    C{GOVERNANCE} needs the bypass on C{GOVERNANCE} and is never allowed on
    C{COMPLIANCE}.

A retention whose date has passed protects nothing, so nothing about it
is checked.  Every refusal is C{AccessDenied} "Access Denied because object
protected by object lock." (403), as S3 sends it.

Delete markers are not protected ("Delete markers are not WORM-protected"),
and a delete without a version id only adds one: callers ask these
functions only about real versions removed by id, or a C{null} version a
write would replace in place.
"""

from __future__ import annotations

from txs3.errors import S3Error
from txs3.objectlock.retention import Retention

LOCKED = "Access Denied because object protected by object lock."


def is_locked(retention: Retention | None, legal_hold: bool | None, now: float) -> bool:
    """
    Whether the version is protected at C{now} in any way (a legal hold or
    an active retention), bypass aside: what the lifecycle pass asks
    before it expires a version.
    """
    return bool(legal_hold) or (retention is not None and retention.active(now))


def check_removal(
    retention: Retention | None,
    legal_hold: bool | None,
    now: float,
    *,
    bypass: bool,
    may_bypass: bool,
) -> None:
    """
    May this version be deleted permanently (DeleteObject with a version
    id, an entry of DeleteObjects) or overwritten in place?

    @param retention: its retention, if any.
    @param legal_hold: its legal hold (C{None}: never placed).
    @param bypass: whether the request sent
        C{x-amz-bypass-governance-retention: true}.
    @param may_bypass: whether the principal is allowed
        C{s3:BypassGovernanceRetention} on the object.
    @raise S3Error: C{AccessDenied} if it is protected.
    """
    if legal_hold:
        raise S3Error.of("AccessDenied", LOCKED)
    if retention is None or not retention.active(now):
        return
    if retention.mode == "GOVERNANCE" and bypass and may_bypass:
        return
    raise S3Error.of("AccessDenied", LOCKED)


def weakens(current: Retention, new: Retention | None) -> bool:
    """
    Whether C{new} protects less than C{current}: it removes the retention,
    ends it earlier, or turns C{COMPLIANCE} into C{GOVERNANCE}.
    """
    if new is None:
        return True
    if new.until < current.until:
        return True
    return current.mode == "COMPLIANCE" and new.mode == "GOVERNANCE"


def check_retention_change(
    current: Retention | None,
    new: Retention | None,
    now: float,
    *,
    bypass: bool,
    may_bypass: bool,
) -> None:
    """
    May PutObjectRetention replace C{current} with C{new}?

    @param new: C{None} to remove the retention.
    @param bypass: whether the request sent
        C{x-amz-bypass-governance-retention: true}.
    @param may_bypass: whether the principal is allowed
        C{s3:BypassGovernanceRetention} on the object.
    @raise S3Error: C{AccessDenied} when C{new} weakens an active
        C{COMPLIANCE} retention, or an active C{GOVERNANCE} one without the
        bypass.
    """
    if current is None or not current.active(now) or not weakens(current, new):
        return
    if current.mode == "GOVERNANCE" and bypass and may_bypass:
        return
    raise S3Error.of("AccessDenied", LOCKED)
