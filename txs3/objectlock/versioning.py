"""
A bucket's versioning state: PutBucketVersioning in, GetBucketVersioning out.

A bucket starts I{unversioned} (never configured), and once versioning is
enabled it can only move between C{Enabled} and C{Suspended}: there is no
way back.  A bucket with Object Lock is created C{Enabled} and may never be
suspended.

Behaviour follows S3 as observed (AWS's API reference for the elements,
LocalStack's AWS-recorded snapshots and a published comparison against AWS
for the errors):

  - C{Status} must be exactly C{Enabled} or C{Suspended}; any other text,
    lower case or padded included, is C{MalformedXML};
  - a missing or empty C{Status} is C{IllegalVersioningConfigurationException}
    "The Versioning element must be specified";
  - C{MfaDelete} (so spelled on the wire both ways; C{MFADelete}, the
    SDKs' member name, is an unknown element and C{MalformedXML}) is
    C{Enabled} or C{Disabled}; empty means absent; any other text is
    C{MalformedXML}.  txs3 has no MFA devices, so C{Enabled} is refused as
    S3 refuses a request without a valid C{x-amz-mfa}: C{AccessDenied}
    "Mfa Authentication must be used for this request";
  - an unknown or repeated element is C{MalformedXML};
  - a document whose root is not C{VersioningConfiguration} is accepted
    and changes nothing (S3 answers 200 to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from txs3 import xml
from txs3.errors import S3Error
from txs3.objectlock._schema import children, one_of, text

VersioningStatus = Literal["Enabled", "Suspended"]
MfaDeleteStatus = Literal["Enabled", "Disabled"]

_STATUSES: tuple[VersioningStatus, ...] = ("Enabled", "Suspended")
_MFA: tuple[MfaDeleteStatus, ...] = ("Enabled", "Disabled")

MFA_REQUIRED = "Mfa Authentication must be used for this request"
LOCKED_VERSIONING = (
    "An Object Lock configuration is present on this bucket, so the "
    "versioning state cannot be changed."
)


@dataclass(frozen=True, slots=True)
class Versioning:
    """
    A bucket's versioning configuration.

    @ivar status: C{None} for a bucket that was never configured.
    @ivar mfa_delete: C{None} until a request named C{MfaDelete}; S3 shows
        the element only once it has been set.
    """

    status: VersioningStatus | None = None
    mfa_delete: MfaDeleteStatus | None = None

    @property
    def enabled(self) -> bool:
        """Whether new objects get a fresh version id (else ``null``)."""
        return self.status == "Enabled"

    def to_xml(self) -> bytes:
        """
        The GetBucketVersioning document: empty for a bucket that was never
        configured, else C{Status} (and C{MfaDelete} once it was set).
        """
        nodes: list[xml.Node] = []
        if self.status is not None:
            nodes.append(("Status", self.status))
        if self.mfa_delete is not None:
            nodes.append(("MfaDelete", self.mfa_delete))
        return xml.document("VersioningConfiguration", nodes)


#: The state of a bucket that never had versioning.
UNVERSIONED = Versioning()


@dataclass(frozen=True, slots=True)
class VersioningChange:
    """What one PutBucketVersioning body asks for."""

    status: VersioningStatus
    mfa_delete: MfaDeleteStatus | None = None


def parse_versioning(body: bytes) -> VersioningChange | None:
    """
    Read a PutBucketVersioning body.

    @return: the change, or C{None} when the document's root is not
        C{VersioningConfiguration} (S3 accepts that and changes nothing).
    @raise S3Error: C{MalformedXML}, C{IllegalVersioningConfigurationException}
        or C{AccessDenied} as the module docstring lists.
    """
    root = xml.parse(body)
    if root.tag != "VersioningConfiguration":
        return None
    found = children(root, ("Status", "MfaDelete"))
    mfa: MfaDeleteStatus | None = None
    if "MfaDelete" in found:
        mfa_text = text(found["MfaDelete"])
        if mfa_text:
            mfa = one_of(mfa_text, _MFA)
    status_text = text(found["Status"]) if "Status" in found else ""
    if not status_text:
        raise S3Error.of("IllegalVersioningConfigurationException")
    status = one_of(status_text, _STATUSES)
    if mfa == "Enabled":
        # Only the root user's MFA device can enable it, and txs3 has none.
        raise S3Error.of("AccessDenied", MFA_REQUIRED)
    return VersioningChange(status, mfa)


def apply_versioning(
    current: Versioning, change: VersioningChange, *, object_lock: bool
) -> Versioning:
    """
    The bucket's versioning after C{change}.

    @param object_lock: whether the bucket has Object Lock enabled.
    @raise S3Error: C{InvalidBucketState} when C{change} would suspend
        versioning on a bucket with Object Lock (S3 refuses it; enabling
        again is accepted).
    """
    if object_lock and change.status == "Suspended":
        raise S3Error.of("InvalidBucketState", LOCKED_VERSIONING)
    mfa = change.mfa_delete if change.mfa_delete is not None else current.mfa_delete
    return Versioning(change.status, mfa)
