"""
The S3 actions a bucket policy may name, and the resource each applies to.

From AWS's "Actions, resources, and condition keys for Amazon S3" (Service
Authorization Reference): the actions whose resource is a bucket, those
whose resource is an object, and some that apply to neither (the account,
jobs, access points).  A policy that names an action outside these lists,
or a wildcard matching none of them, is refused (C{Policy has invalid
action}): a typo in a C{Deny} must not silently protect nothing.  A
statement whose actions apply to none of its resources is refused too
(C{Action does not apply to any resource(s) in statement}).

Names are compared case-insensitively, as IAM compares actions.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

ResourceKind = Literal["bucket", "object", "other"]


def _names(text: str) -> frozenset[str]:
    return frozenset(f"s3:{name}" for name in text.split())


#: Actions on an object: arn:aws:s3:::bucket/key.
OBJECT_ACTIONS = _names(
    """
    AbortMultipartUpload BypassGovernanceRetention DeleteObject
    DeleteObjectTagging DeleteObjectVersion DeleteObjectVersionTagging
    GetObject GetObjectAcl GetObjectAttributes GetObjectLegalHold
    GetObjectRetention GetObjectTagging GetObjectTorrent GetObjectVersion
    GetObjectVersionAcl GetObjectVersionAttributes
    GetObjectVersionForReplication GetObjectVersionTagging
    GetObjectVersionTorrent InitiateReplication ListMultipartUploadParts
    ObjectOwnerOverrideToBucketOwner PutObject PutObjectAcl
    PutObjectLegalHold PutObjectRetention PutObjectTagging
    PutObjectVersionAcl PutObjectVersionTagging ReplicateDelete
    ReplicateObject ReplicateTags RestoreObject
    """
)

#: Actions on a bucket: arn:aws:s3:::bucket.
BUCKET_ACTIONS = _names(
    """
    CreateBucket CreateBucketMetadataTableConfiguration DeleteBucket
    DeleteBucketMetadataTableConfiguration DeleteBucketOwnershipControls
    DeleteBucketPolicy DeleteBucketWebsite GetAccelerateConfiguration
    GetAnalyticsConfiguration GetBucketAcl GetBucketCORS GetBucketLocation
    GetBucketLogging GetBucketMetadataTableConfiguration
    GetBucketNotification GetBucketObjectLockConfiguration
    GetBucketOwnershipControls GetBucketPolicy GetBucketPolicyStatus
    GetBucketPublicAccessBlock GetBucketRequestPayment GetBucketTagging
    GetBucketVersioning GetBucketWebsite GetEncryptionConfiguration
    GetIntelligentTieringConfiguration GetInventoryConfiguration
    GetLifecycleConfiguration GetMetricsConfiguration
    GetReplicationConfiguration ListBucket ListBucketMultipartUploads
    ListBucketVersions PutAccelerateConfiguration PutAnalyticsConfiguration
    PutBucketAcl PutBucketCORS PutBucketLogging PutBucketNotification
    PutBucketObjectLockConfiguration PutBucketOwnershipControls
    PutBucketPolicy PutBucketPublicAccessBlock PutBucketRequestPayment
    PutBucketTagging PutBucketVersioning PutBucketWebsite
    PutEncryptionConfiguration PutIntelligentTieringConfiguration
    PutInventoryConfiguration PutLifecycleConfiguration
    PutMetricsConfiguration PutReplicationConfiguration
    """
)

#: Actions on neither: valid names, but no bucket policy resource fits them.
OTHER_ACTIONS = _names(
    """
    CreateAccessPoint CreateJob DeleteAccessPoint DeleteAccessPointPolicy
    DescribeJob GetAccessPoint GetAccessPointPolicy
    GetAccessPointPolicyStatus GetAccountPublicAccessBlock
    GetStorageLensConfiguration GetStorageLensDashboard ListAccessPoints
    ListAllMyBuckets ListJobs ListStorageLensConfigurations
    PutAccessPointPolicy PutAccountPublicAccessBlock
    PutStorageLensConfiguration UpdateJobPriority UpdateJobStatus
    """
)

_KIND: dict[str, ResourceKind] = {
    **{a.lower(): "object" for a in OBJECT_ACTIONS},
    **{a.lower(): "bucket" for a in BUCKET_ACTIONS},
    **{a.lower(): "other" for a in OTHER_ACTIONS},
}

#: Every known action, lower case.
KNOWN = frozenset(_KIND)


def resource_kind(action: str) -> ResourceKind | None:
    """What C{action} applies to, or None if it is not a known S3 action."""
    return _KIND.get(action.lower())


@functools.lru_cache(maxsize=1024)
def expand(pattern: str) -> frozenset[str]:
    """
    The known actions (lower case) an C{Action} element value names:
    C{*} and C{?} are wildcards and case does not matter.
    """
    text = pattern.lower()
    if "*" not in text and "?" not in text:
        return frozenset({text}) & KNOWN
    regex = re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in text)
    )
    return frozenset(a for a in KNOWN if regex.fullmatch(a))
