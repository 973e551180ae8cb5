"""
Data that survives mistakes: versioning, Object Lock and version ids, as
pure values and decisions.  No HTTP, no store, no Twisted: callers pass
bodies, header mappings and C{now}, and get values or an L{S3Error}.

Wired by L{txs3.versionlock} (decisions over stored versions, inside the
store's commits) and L{txs3.api.versions} and L{txs3.api.locking} (the
operations).

  - L{txs3.objectlock.versioning}: PutBucketVersioning / GetBucketVersioning;
  - L{txs3.objectlock.config}: the bucket's Object Lock configuration and
    its default retention;
  - L{txs3.objectlock.retention}: a version's retention and legal hold,
    their bodies and documents;
  - L{txs3.objectlock.headers}: the C{x-amz-object-lock-*} and bypass
    headers, and the integrity header a locked write needs;
  - L{txs3.objectlock.decide}: may a version be removed, may a retention
    be replaced;
"""

from txs3.objectlock.config import (
    DefaultRetention,
    ObjectLockConfiguration,
    check_lock_configuration_allowed,
    lock_configuration_xml,
    parse_lock_configuration,
    require_object_lock,
)
from txs3.objectlock.decide import (
    check_removal,
    check_retention_change,
    is_locked,
    weakens,
)
from txs3.objectlock.headers import (
    NO_LOCK,
    LockRequest,
    check_integrity_header,
    lock_response_headers,
    needs_integrity_header,
    new_version_lock,
    parse_bypass,
    parse_lock_headers,
)
from txs3.objectlock.retention import (
    Mode,
    Retention,
    legal_hold_xml,
    parse_legal_hold,
    parse_retention,
    retention_xml,
)
from txs3.objectlock.versioning import (
    UNVERSIONED,
    Versioning,
    VersioningChange,
    apply_versioning,
    parse_versioning,
)

__all__ = [
    "NO_LOCK",
    "UNVERSIONED",
    "DefaultRetention",
    "LockRequest",
    "Mode",
    "ObjectLockConfiguration",
    "Retention",
    "Versioning",
    "VersioningChange",
    "apply_versioning",
    "check_integrity_header",
    "check_lock_configuration_allowed",
    "check_removal",
    "check_retention_change",
    "is_locked",
    "legal_hold_xml",
    "lock_configuration_xml",
    "lock_response_headers",
    "needs_integrity_header",
    "new_version_lock",
    "parse_bypass",
    "parse_legal_hold",
    "parse_lock_configuration",
    "parse_lock_headers",
    "parse_retention",
    "parse_versioning",
    "require_object_lock",
    "retention_xml",
    "weakens",
]
