"""
A bucket's Object Lock configuration: PutObjectLockConfiguration in,
GetObjectLockConfiguration out, and the default retention it gives new
versions.

From AWS's API reference (C{ObjectLockConfiguration}, C{ObjectLockRule},
C{DefaultRetention}) and the errors S3 sends (LocalStack's AWS-recorded
snapshots; versitygw's catalogue for the range checks):

  - C{ObjectLockEnabled} must be C{Enabled}; missing or other is
    C{MalformedXML};
  - C{Rule} is optional, but if present holds a C{DefaultRetention} with a
    C{Mode} (C{GOVERNANCE} or C{COMPLIANCE}) and exactly one of C{Days} and
    C{Years}; an empty C{Rule} or C{DefaultRetention}, no mode, an unknown
    mode, both periods or neither, or a period that is not an integer, is
    C{MalformedXML};
  - a period of zero or less is C{InvalidArgument} "Default retention
    period must be a positive integer value."; more than 36500 days or 100
    years ("The maximum retention period is 100 years") is
    C{InvalidArgument} "Default retention period too large."; both name the
    element in C{ArgumentName};
  - the configuration may be put only on a bucket whose versioning is
    C{Enabled}, else C{InvalidBucketState} (409) "Versioning must be
    'Enabled' on the bucket to apply a Object Lock configuration".  (Since
    2023 S3 lets an existing versioned bucket turn Object Lock on this way;
    before, it answered "Object Lock configuration cannot be enabled on
    existing buckets".  A bucket created with Object Lock is versioned and
    can never be suspended, so it always passes.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from txs3 import xml
from txs3.errors import S3Error
from txs3.objectlock._schema import children, one_of, text
from txs3.objectlock.retention import MODES, Mode, Retention
from txs3.objectlock.versioning import Versioning

#: AWS's ceiling on a default retention period (100 years).
MAX_DAYS = 36500
MAX_YEARS = 100

NOT_POSITIVE = "Default retention period must be a positive integer value."
TOO_LARGE = "Default retention period too large."
NO_LOCK_CONFIGURATION = "Bucket is missing Object Lock Configuration"
NEEDS_VERSIONING = (
    "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"
)

# XML Schema's int: optional sign, digits, within 32 bits.
_INT = re.compile(r"[+-]?\d+")
_INT_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class DefaultRetention:
    """
    A bucket's default retention: a mode and exactly one of days and years.
    Build it with L{parse_lock_configuration}, which checks the ranges.
    """

    mode: Mode
    days: int | None = None
    years: int | None = None

    def retention_from(self, created: float) -> Retention:
        """
        The retention a version created at C{created} gets: "adding the
        specified duration to the object version's creation timestamp".

        Days are exact 24-hour days.  Years are calendar years (same month,
        day and time); 29 February becomes 1 March in a year without one,
        so a default never protects for less than it says.
        """
        if self.years is None:
            return Retention(self.mode, created + 86400 * (self.days or 0))
        start = datetime.fromtimestamp(created, UTC)
        year = start.year + self.years
        try:
            end = start.replace(year=year)
        except ValueError:
            end = start.replace(year=year, month=3, day=1)
        return Retention(self.mode, end.timestamp())


@dataclass(frozen=True, slots=True)
class ObjectLockConfiguration:
    """
    A bucket with Object Lock enabled (a bucket without it has C{None}),
    and its default retention if it has one.
    """

    default: DefaultRetention | None = None

    def to_xml(self) -> bytes:
        """The C{ObjectLockConfiguration} document."""
        nodes: list[xml.Node] = [("ObjectLockEnabled", "Enabled")]
        if self.default is not None:
            period: xml.Node = (
                ("Days", self.default.days)
                if self.default.years is None
                else ("Years", self.default.years)
            )
            nodes.append(
                ("Rule", [("DefaultRetention", [("Mode", self.default.mode), period])])
            )
        return xml.document("ObjectLockConfiguration", nodes)


def parse_lock_configuration(body: bytes) -> ObjectLockConfiguration:
    """
    Read a PutObjectLockConfiguration body.

    @raise S3Error: C{MalformedXML} or C{InvalidArgument} as the module
        docstring lists.
    """
    root = xml.parse(body)
    if root.tag != "ObjectLockConfiguration":
        raise S3Error.of("MalformedXML")
    found = children(root, ("ObjectLockEnabled", "Rule"))
    if "ObjectLockEnabled" not in found:
        raise S3Error.of("MalformedXML")
    one_of(text(found["ObjectLockEnabled"]), ("Enabled",))
    if "Rule" not in found:
        return ObjectLockConfiguration()
    rule = children(found["Rule"], ("DefaultRetention",))
    if "DefaultRetention" not in rule:
        raise S3Error.of("MalformedXML")
    fields = children(rule["DefaultRetention"], ("Mode", "Days", "Years"))
    if "Mode" not in fields or ("Days" in fields) == ("Years" in fields):
        raise S3Error.of("MalformedXML")
    mode = one_of(text(fields["Mode"]), MODES)
    if "Days" in fields:
        days = _period(fields["Days"].tag, text(fields["Days"]), MAX_DAYS)
        return ObjectLockConfiguration(DefaultRetention(mode, days=days))
    years = _period(fields["Years"].tag, text(fields["Years"]), MAX_YEARS)
    return ObjectLockConfiguration(DefaultRetention(mode, years=years))


def _period(name: str, value: str, ceiling: int) -> int:
    stripped = value.strip()
    if not _INT.fullmatch(stripped) or abs(int(stripped)) > _INT_MAX:
        raise S3Error.of("MalformedXML")
    number = int(stripped)
    if number <= 0:
        raise _argument(NOT_POSITIVE, name, number)
    if number > ceiling:
        raise _argument(TOO_LARGE, name, number)
    return number


def _argument(message: str, name: str, number: int) -> S3Error:
    return S3Error.of(
        "InvalidArgument", message, ArgumentName=name, ArgumentValue=str(number)
    )


def check_lock_configuration_allowed(versioning: Versioning) -> None:
    """
    Refuse PutObjectLockConfiguration on a bucket whose versioning is not
    C{Enabled}.

    @raise S3Error: C{InvalidBucketState}.
    """
    if not versioning.enabled:
        raise S3Error.of("InvalidBucketState", NEEDS_VERSIONING)


def require_object_lock(
    config: ObjectLockConfiguration | None,
) -> ObjectLockConfiguration:
    """
    The bucket's configuration, for Put/GetObjectRetention and
    Put/GetObjectLegalHold, which S3 answers only on a bucket with Object
    Lock.  (A write with lock headers is refused with a differently spaced
    message: L{txs3.objectlock.headers.new_version_lock}.)

    @raise S3Error: C{InvalidRequest} "Bucket is missing Object Lock
        Configuration" if C{config} is C{None}.
    """
    if config is None:
        raise S3Error.of("InvalidRequest", NO_LOCK_CONFIGURATION)
    return config


def lock_configuration_xml(
    config: ObjectLockConfiguration | None, bucket: str
) -> bytes:
    """
    The GetObjectLockConfiguration document.

    @param config: C{None} for a bucket without Object Lock.
    @raise S3Error: C{ObjectLockConfigurationNotFoundError} (with
        C{BucketName}) for a bucket without Object Lock.
    """
    if config is None:
        raise S3Error.of("ObjectLockConfigurationNotFoundError", BucketName=bucket)
    return config.to_xml()
