"""
Object Lock in request and response headers.

PutObject, CopyObject and CreateMultipartUpload may carry
C{x-amz-object-lock-mode}, C{x-amz-object-lock-retain-until-date} and
C{x-amz-object-lock-legal-hold}; GetObject and HeadObject answer with the
same three.  DeleteObject(s) and PutObjectRetention may carry
C{x-amz-bypass-governance-retention}.

Header names are lower case, as C{S3Call.header} gives them.  The checks
run in the order S3 applies them (LocalStack's AWS-recorded snapshots;
versitygw's header parser), each an C{InvalidArgument} naming the header:

  1. mode without date, or date without mode: "x-amz-object-lock-retain-
     until-date and x-amz-object-lock-mode must both be supplied", naming
     the missing one;
  2. a mode other than C{GOVERNANCE}/C{COMPLIANCE}: "Unknown wormMode
     directive.";
  3. a date that is not ISO 8601: "The retain until date must be provided
     in ISO 8601 format";
  4. a date not after C{now}: "The retain until date must be in the
     future!";
  5. a legal hold other than C{ON}/C{OFF}: "Legal Hold must be either of
     'ON' or 'OFF'".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from txs3.errors import S3Error
from txs3.objectlock.config import ObjectLockConfiguration
from txs3.objectlock.retention import (
    PAST_DATE,
    Retention,
    as_mode,
    format_date,
    parse_date,
)

MODE = "x-amz-object-lock-mode"
UNTIL = "x-amz-object-lock-retain-until-date"
LEGAL_HOLD = "x-amz-object-lock-legal-hold"
BYPASS = "x-amz-bypass-governance-retention"

BOTH_NEEDED = (
    "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both "
    "be supplied"
)
UNKNOWN_MODE = "Unknown wormMode directive."
NOT_ISO8601 = "The retain until date must be provided in ISO 8601 format"
BAD_LEGAL_HOLD = "Legal Hold must be either of 'ON' or 'OFF'"
NO_LOCK_ON_BUCKET = "Bucket is missing ObjectLockConfiguration"
BYPASS_WITHOUT_LOCK = (
    "x-amz-bypass-governance-retention is only applicable to Object Lock "
    "enabled buckets."
)


@dataclass(frozen=True, slots=True)
class LockRequest:
    """
    The lock a write asks for in its headers.

    @ivar retention: C{None} if it names no mode and date.
    @ivar legal_hold: C{None} if it has no legal-hold header.
    """

    retention: Retention | None = None
    legal_hold: bool | None = None

    @property
    def any(self) -> bool:
        """Whether the request carries any Object Lock parameter."""
        return self.retention is not None or self.legal_hold is not None


#: A write without lock headers.
NO_LOCK = LockRequest()


def _argument(message: str, name: str, value: str | None = None) -> S3Error:
    extra = {"ArgumentName": name}
    if value is not None:
        extra["ArgumentValue"] = value
    return S3Error.of("InvalidArgument", message, **extra)


def parse_lock_headers(headers: Mapping[str, str], now: float) -> LockRequest:
    """
    Read the Object Lock headers of a PutObject, CopyObject or
    CreateMultipartUpload.  An empty header counts as absent.

    @raise S3Error: C{InvalidArgument}, in the order the module docstring
        lists.
    """
    mode = headers.get(MODE, "").strip()
    until_text = headers.get(UNTIL, "").strip()
    hold = headers.get(LEGAL_HOLD, "").strip()
    if mode and not until_text:
        raise _argument(BOTH_NEEDED, UNTIL)
    if until_text and not mode:
        raise _argument(BOTH_NEEDED, MODE)
    retention = None
    if mode:
        checked = as_mode(mode)
        if checked is None:
            raise _argument(UNKNOWN_MODE, MODE, mode)
        until = parse_date(until_text)
        if until is None:
            raise _argument(NOT_ISO8601, UNTIL, until_text)
        if until <= now:
            raise _argument(PAST_DATE, UNTIL, until_text)
        retention = Retention(checked, until)
    legal_hold = None
    if hold:
        if hold not in ("ON", "OFF"):
            raise _argument(BAD_LEGAL_HOLD, LEGAL_HOLD, hold)
        legal_hold = hold == "ON"
    return LockRequest(retention, legal_hold)


def new_version_lock(
    request: LockRequest, config: ObjectLockConfiguration | None, created: float
) -> LockRequest:
    """
    The lock a new version gets: what the request asked for, and where it
    named no retention, the bucket's default applied from C{created} (the
    version's creation time).  "An explicit retention mode and period ...
    override any bucket default settings."

    @param config: the bucket's Object Lock configuration, C{None} if it
        has none.
    @raise S3Error: C{InvalidRequest} "Bucket is missing
        ObjectLockConfiguration" when the request asks for a lock on a
        bucket without Object Lock.
    """
    if config is None:
        if request.any:
            raise S3Error.of("InvalidRequest", NO_LOCK_ON_BUCKET)
        return NO_LOCK
    retention = request.retention
    if retention is None and config.default is not None:
        retention = config.default.retention_from(created)
    return LockRequest(retention, request.legal_hold)


# The checksums S3 accepts in place of Content-MD5.
_CHECKSUMS = frozenset(
    f"x-amz-checksum-{name}"
    for name in ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")
)


def needs_integrity_header(
    request: LockRequest, config: ObjectLockConfiguration | None
) -> bool:
    """
    Whether a PutObject or UploadPart must carry C{Content-MD5} or an
    C{x-amz-checksum-*}: when it asks for a lock, or when the bucket has a
    default retention (AWS: "requests to upload objects in such a bucket
    must include the Content-MD5 header").
    """
    return request.any or (config is not None and config.default is not None)


def check_integrity_header(
    headers: Mapping[str, str], operation: str = "Put Object"
) -> None:
    """
    Refuse a write with Object Lock parameters that carries neither
    C{Content-MD5} nor an S3 checksum (as a header, or announced as a
    trailer in C{x-amz-trailer}).  The SigV4 payload hash does not count.

    @param operation: C{"Put Object"}, or C{"Put Part"} for UploadPart, as
        S3 words it.
    @raise S3Error: C{InvalidRequest} "Content-MD5 OR x-amz-checksum- HTTP
        header is required for Put Object requests with Object Lock
        parameters".
    """
    if "content-md5" in headers or _CHECKSUMS.intersection(headers):
        return
    trailer = headers.get("x-amz-trailer", "").strip().lower()
    if trailer in _CHECKSUMS:
        return
    raise S3Error.of(
        "InvalidRequest",
        "Content-MD5 OR x-amz-checksum- HTTP header is required for "
        f"{operation} requests with Object Lock parameters",
    )


def parse_bypass(headers: Mapping[str, str], object_lock: bool) -> bool:
    """
    Whether a DeleteObject(s) or PutObjectRetention asks to bypass
    governance retention (C{x-amz-bypass-governance-retention: true}, any
    case).  Whether the principal I{may} is a separate question, for
    authorization (C{s3:BypassGovernanceRetention}).

    @param object_lock: whether the bucket has Object Lock enabled.
    @raise S3Error: C{InvalidArgument} when the header is sent at all (even
        C{false}) to a bucket without Object Lock, as S3 does.
    """
    value = headers.get(BYPASS)
    if value is None:
        return False
    if not object_lock:
        raise _argument(BYPASS_WITHOUT_LOCK, BYPASS)
    return value.strip().lower() == "true"


def lock_response_headers(
    retention: Retention | None, legal_hold: bool | None
) -> dict[str, str]:
    """
    The Object Lock headers of a GetObject or HeadObject response for a
    version (none for what it does not have).  S3 leaves out what the caller
    may not read (C{s3:GetObjectRetention}, C{s3:GetObjectLegalHold}): pass
    C{None} for those.
    """
    out: dict[str, str] = {}
    if retention is not None:
        out[MODE] = retention.mode
        out[UNTIL] = format_date(retention.until)
    if legal_hold is not None:
        out[LEGAL_HOLD] = "ON" if legal_hold else "OFF"
    return out
