"""
One object version's lock: its retention (a mode and a retain-until date)
and its legal hold, as values, and the PutObjectRetention /
PutObjectLegalHold bodies and their Get documents.

Times are POSIX seconds (floats, UTC), as elsewhere in txs3; C{now} is
always a parameter, never read from a clock here.

From AWS's "How S3 Object Lock works" and the API reference, with the
errors S3 sends (LocalStack's AWS-recorded snapshots):

  - C{<Retention>} holds C{Mode} (C{GOVERNANCE} or C{COMPLIANCE}) and
    C{RetainUntilDate} (ISO 8601); both or neither (neither removes the
    retention: "placing a new lock with empty parameters");
  - one without the other, an unknown mode, or a date that is not one, is
    C{MalformedXML}; a date not after C{now} is C{InvalidArgument} "The
    retain until date must be in the future!" naming C{RetainUntilDate};
  - C{<LegalHold>} holds C{Status}, exactly C{ON} or C{OFF}, else
    C{MalformedXML};
  - GetObjectRetention / GetObjectLegalHold on a version that never had
    one is C{NoSuchObjectLockConfiguration} (404).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from txs3 import xml
from txs3.errors import S3Error
from txs3.objectlock._schema import children, one_of, text

Mode = Literal["GOVERNANCE", "COMPLIANCE"]
MODES: tuple[Mode, ...] = ("GOVERNANCE", "COMPLIANCE")


def as_mode(value: str) -> Mode | None:
    """C{value} as a retention mode (case matters), or None."""
    for mode in MODES:
        if value == mode:
            return mode
    return None


PAST_DATE = "The retain until date must be in the future!"


@dataclass(frozen=True, slots=True)
class Retention:
    """
    A retention period on one object version.

    @ivar mode: C{GOVERNANCE} (users with C{s3:BypassGovernanceRetention}
        may override it, asking with C{x-amz-bypass-governance-retention})
        or C{COMPLIANCE} (nobody may, until it expires).
    @ivar until: the retain-until date, POSIX seconds.
    """

    mode: Mode
    until: float

    def active(self, now: float) -> bool:
        """Whether it still protects the version at C{now} (until is exclusive)."""
        return now < self.until

    def to_xml(self) -> bytes:
        """The C{Retention} document GetObjectRetention returns."""
        return xml.document(
            "Retention",
            [("Mode", self.mode), ("RetainUntilDate", format_date(self.until))],
        )


def format_date(ts: float) -> str:
    """A retain-until date as S3 writes it: ``2030-01-01T00:00:00.000Z``."""
    return xml.iso8601(ts)


# ISO 8601 as clients send it: a date, or a date and time with an optional
# fraction and zone.  fromisoformat() alone would also take a space for the
# "T" and week dates, which S3's parser does not.
_ISO8601 = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?"
)


def parse_date(value: str) -> float | None:
    """
    An ISO 8601 date or date-time to POSIX seconds; None if it is not one.
    A value without a zone is UTC.
    """
    value = value.strip()
    if not _ISO8601.fullmatch(value):
        return None
    # fromisoformat() takes at most microseconds; S3 keeps milliseconds.
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def argument_date(ts: float) -> str:
    """
    A date as S3 echoes it in C{ArgumentValue} of a past-date error: Java's
    C{Date.toString()} in US Pacific time (``Tue Dec 31 16:00:00 PST 2019``),
    whatever the region.  The daylight-saving rule is the US one since 2007.
    """
    utc = datetime.fromtimestamp(ts, UTC)
    pdt = _pacific_daylight(utc)
    try:
        local = utc + timedelta(hours=-7 if pdt else -8)
    except OverflowError:
        # The first hours of year 1 have no Pacific date in Python's range.
        return format_date(ts)
    zone = "PDT" if pdt else "PST"
    return local.strftime(f"%a %b %d %H:%M:%S {zone} %Y")


def _pacific_daylight(utc: datetime) -> bool:
    # From the second Sunday of March, 02:00 PST (10:00 UTC), to the first
    # Sunday of November, 02:00 PDT (09:00 UTC).
    def sunday(month: int, nth: int) -> int:
        first = calendar.weekday(utc.year, month, 1)
        return 1 + (6 - first) % 7 + 7 * (nth - 1)

    start = datetime(utc.year, 3, sunday(3, 2), 10, tzinfo=UTC)
    end = datetime(utc.year, 11, sunday(11, 1), 9, tzinfo=UTC)
    return start <= utc < end


def parse_retention(body: bytes, now: float) -> Retention | None:
    """
    Read a PutObjectRetention body.

    @return: the new retention, or C{None} for an empty C{<Retention/>}
        (which asks to remove it).
    @raise S3Error: C{MalformedXML} for another root, an unknown or repeated
        element, one field without the other, an unknown mode or a date
        that is not ISO 8601; C{InvalidArgument} for a date not after C{now}.
    """
    root = xml.parse(body)
    if root.tag != "Retention":
        raise S3Error.of("MalformedXML")
    found = children(root, ("Mode", "RetainUntilDate"))
    if not found:
        return None
    if len(found) != 2:
        raise S3Error.of("MalformedXML")
    mode = one_of(text(found["Mode"]), MODES)
    until = parse_date(text(found["RetainUntilDate"]))
    if until is None:
        raise S3Error.of("MalformedXML")
    if until <= now:
        raise S3Error.of(
            "InvalidArgument",
            PAST_DATE,
            ArgumentName="RetainUntilDate",
            ArgumentValue=argument_date(until),
        )
    return Retention(mode, until)


def retention_xml(retention: Retention | None) -> bytes:
    """
    The GetObjectRetention document for a version.

    @raise S3Error: C{NoSuchObjectLockConfiguration} if it has none.
    """
    if retention is None:
        raise S3Error.of("NoSuchObjectLockConfiguration")
    return retention.to_xml()


LegalHoldStatus = Literal["ON", "OFF"]
_HOLD: tuple[LegalHoldStatus, ...] = ("ON", "OFF")


def parse_legal_hold(body: bytes) -> bool:
    """
    Read a PutObjectLegalHold body.

    @return: whether the hold is on.
    @raise S3Error: C{MalformedXML} for another root, a missing C{Status},
        or one other than C{ON}/C{OFF}.
    """
    root = xml.parse(body)
    if root.tag != "LegalHold":
        raise S3Error.of("MalformedXML")
    found = children(root, ("Status",))
    if "Status" not in found:
        raise S3Error.of("MalformedXML")
    return one_of(text(found["Status"]), _HOLD) == "ON"


def legal_hold_xml(legal_hold: bool | None) -> bytes:
    """
    The GetObjectLegalHold document for a version.

    @param legal_hold: C{None} if a hold was never placed on it.
    @raise S3Error: C{NoSuchObjectLockConfiguration} if it never had one.
    """
    if legal_hold is None:
        raise S3Error.of("NoSuchObjectLockConfiguration")
    return xml.document("LegalHold", [("Status", "ON" if legal_hold else "OFF")])
