"""
Versioning, Object Lock and version ids (L{txs3.objectlock}) as tables.

The module is pure: bodies, header mappings and C{now} in, values or an
L{S3Error} out, so every row is a direct call.  Expected codes and messages
are S3's own, from AWS's documentation and from responses recorded against
AWS (LocalStack's snapshots); the module docstrings cite which.  Hypothesis
checks the retention rules as properties: extending is always allowed,
COMPLIANCE is never weakened, and version ids sort in creation order.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from txs3 import xml
from txs3.errors import CATALOGUE, S3Error
from txs3.objectlock import (
    NO_LOCK,
    UNVERSIONED,
    DefaultRetention,
    LockRequest,
    ObjectLockConfiguration,
    Retention,
    Versioning,
    VersioningChange,
    apply_versioning,
    check_integrity_header,
    check_lock_configuration_allowed,
    check_removal,
    check_retention_change,
    is_locked,
    legal_hold_xml,
    lock_configuration_xml,
    lock_response_headers,
    needs_integrity_header,
    new_version_lock,
    parse_bypass,
    parse_legal_hold,
    parse_lock_configuration,
    parse_lock_headers,
    parse_retention,
    parse_versioning,
    require_object_lock,
    retention_xml,
    weakens,
)
from txs3.objectlock.retention import argument_date, parse_date
from txs3.store.versionid import NULL_VERSION, VersionIds, created_micros, is_version_id

NS = f' xmlns="{xml.S3_NS}"'
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC).timestamp()
DAY = 86400.0
MALFORMED = "MalformedXML"
LOCKED = "Access Denied because object protected by object lock."


def ts(text: str) -> float:
    """POSIX seconds of an ISO 8601 UTC time, for readable rows."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def raises(call: Any, code: str, message: str | None = None, **extra: str) -> S3Error:
    """Run C{call}; assert it raises C{code} (and C{message}, C{extra})."""
    with pytest.raises(S3Error) as e:
        call()
    assert e.value.code == code
    assert e.value.status == CATALOGUE[code][0]
    if message is not None:
        assert e.value.message == message
    for name, value in extra.items():
        assert e.value.extra[name] == value
    return e.value


# -- versioning --------------------------------------------------------------


def vc(inner: str) -> bytes:
    return f"<VersioningConfiguration{NS}>{inner}</VersioningConfiguration>".encode()


VERSIONING_OK: list[Any] = [
    pytest.param(vc("<Status>Enabled</Status>"), VersioningChange("Enabled"), id="enabled"),
    pytest.param(vc("<Status>Suspended</Status>"), VersioningChange("Suspended"), id="suspended"),
    pytest.param(
        vc("<Status>Enabled</Status><MfaDelete>Disabled</MfaDelete>"),
        VersioningChange("Enabled", "Disabled"),
        id="mfa-delete-disabled-accepted",
    ),
    pytest.param(vc("<Status>Enabled</Status><MfaDelete></MfaDelete>"), VersioningChange("Enabled"), id="empty-mfa-delete-is-absent"),
    pytest.param(
        b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>",
        VersioningChange("Enabled"),
        id="no-namespace",
    ),
    pytest.param(b"<Delete><Status>Enabled</Status></Delete>", None, id="other-root-is-a-no-op"),
]


@pytest.mark.parametrize(("body", "change"), VERSIONING_OK)
def test_parse_versioning(body: bytes, change: VersioningChange | None) -> None:
    """A valid PutBucketVersioning body reads as the change it asks for."""
    assert parse_versioning(body) == change


VERSIONING_BAD: list[Any] = [
    pytest.param(b"", MALFORMED, None, id="empty-body"),
    pytest.param(b"<VersioningConfiguration>", MALFORMED, None, id="unclosed"),
    pytest.param(vc("<Status>enabled</Status>"), MALFORMED, None, id="lower-case-status"),
    pytest.param(vc("<Status>ENABLED</Status>"), MALFORMED, None, id="upper-case-status"),
    pytest.param(vc("<Status>Disabled</Status>"), MALFORMED, None, id="disabled-is-not-a-status"),
    pytest.param(vc("<Status> Enabled </Status>"), MALFORMED, None, id="padded-status"),
    pytest.param(vc("<Status>Enabled</Status><Status>Enabled</Status>"), MALFORMED, None, id="two-statuses"),
    pytest.param(vc("<Status>Enabled</Status><Foo/>"), MALFORMED, None, id="unknown-element"),
    pytest.param(vc("<Status>Enabled</Status><MFADelete>Disabled</MFADelete>"), MALFORMED, None, id="sdk-member-spelling-refused"),
    pytest.param(vc("<Status>Enabled</Status><MfaDelete>disabled</MfaDelete>"), MALFORMED, None, id="lower-case-mfa-delete"),
    pytest.param(
        vc(""),
        "IllegalVersioningConfigurationException",
        "The Versioning element must be specified",
        id="missing-status",
    ),
    pytest.param(
        vc("<Status></Status>"),
        "IllegalVersioningConfigurationException",
        "The Versioning element must be specified",
        id="empty-status",
    ),
    pytest.param(
        vc("<Status>Enabled</Status><MfaDelete>Enabled</MfaDelete>"),
        "AccessDenied",
        "Mfa Authentication must be used for this request",
        id="mfa-delete-enabled-refused",
    ),
]


@pytest.mark.parametrize(("body", "code", "message"), VERSIONING_BAD)
def test_parse_versioning_errors(body: bytes, code: str, message: str | None) -> None:
    """A bad PutBucketVersioning body is refused with S3's code and message."""
    raises(lambda: parse_versioning(body), code, message)


APPLY: list[Any] = [
    pytest.param(UNVERSIONED, VersioningChange("Enabled"), False, Versioning("Enabled"), id="enable"),
    pytest.param(UNVERSIONED, VersioningChange("Suspended"), False, Versioning("Suspended"), id="suspend-never-versioned"),
    pytest.param(Versioning("Enabled"), VersioningChange("Suspended"), False, Versioning("Suspended"), id="suspend"),
    pytest.param(Versioning("Suspended"), VersioningChange("Enabled"), False, Versioning("Enabled"), id="re-enable"),
    pytest.param(Versioning("Enabled"), VersioningChange("Enabled"), True, Versioning("Enabled"), id="enable-locked-bucket-again"),
    pytest.param(
        Versioning("Enabled", "Disabled"),
        VersioningChange("Suspended"),
        False,
        Versioning("Suspended", "Disabled"),
        id="mfa-delete-state-kept",
    ),
]


@pytest.mark.parametrize(("current", "change", "lock", "after"), APPLY)
def test_apply_versioning(current: Versioning, change: VersioningChange, lock: bool, after: Versioning) -> None:
    """Versioning moves between Enabled and Suspended, and keeps MfaDelete once set."""
    assert apply_versioning(current, change, object_lock=lock) == after


def test_locked_bucket_cannot_be_suspended() -> None:
    """Suspending versioning on a bucket with Object Lock is InvalidBucketState (409)."""
    raises(
        lambda: apply_versioning(Versioning("Enabled"), VersioningChange("Suspended"), object_lock=True),
        "InvalidBucketState",
        "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.",
    )


VERSIONING_XML: list[Any] = [
    pytest.param(UNVERSIONED, f"<VersioningConfiguration{NS}></VersioningConfiguration>", id="never-versioned-empty"),
    pytest.param(Versioning("Enabled"), f"<VersioningConfiguration{NS}><Status>Enabled</Status></VersioningConfiguration>", id="enabled"),
    pytest.param(
        Versioning("Suspended", "Disabled"),
        f"<VersioningConfiguration{NS}><Status>Suspended</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>",
        id="mfa-delete-shown-once-set",
    ),
]


@pytest.mark.parametrize(("state", "document"), VERSIONING_XML)
def test_versioning_xml(state: Versioning, document: str) -> None:
    """GetBucketVersioning is empty for a never-versioned bucket, else its Status."""
    assert state.to_xml() == xml.DECLARATION + document.encode()


def test_versioning_round_trip() -> None:
    """What GetBucketVersioning shows can be put back as it is (the documents share a shape)."""
    state = Versioning("Enabled", "Disabled")
    change = parse_versioning(state.to_xml())
    assert change is not None
    assert apply_versioning(UNVERSIONED, change, object_lock=False) == state


# -- Object Lock configuration ----------------------------------------------


def olc(inner: str) -> bytes:
    return f"<ObjectLockConfiguration{NS}>{inner}</ObjectLockConfiguration>".encode()


def rule(inner: str) -> bytes:
    return olc(f"<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>{inner}</DefaultRetention></Rule>")


LOCK_CONFIG_OK: list[Any] = [
    pytest.param(olc("<ObjectLockEnabled>Enabled</ObjectLockEnabled>"), ObjectLockConfiguration(), id="enabled-no-rule"),
    pytest.param(rule("<Mode>GOVERNANCE</Mode><Days>1</Days>"), ObjectLockConfiguration(DefaultRetention("GOVERNANCE", days=1)), id="governance-days"),
    pytest.param(rule("<Mode>COMPLIANCE</Mode><Years>100</Years>"), ObjectLockConfiguration(DefaultRetention("COMPLIANCE", years=100)), id="compliance-100-years"),
    pytest.param(rule("<Mode>GOVERNANCE</Mode><Days>36500</Days>"), ObjectLockConfiguration(DefaultRetention("GOVERNANCE", days=36500)), id="36500-days"),
    pytest.param(rule("<Days>7</Days><Mode>GOVERNANCE</Mode>"), ObjectLockConfiguration(DefaultRetention("GOVERNANCE", days=7)), id="any-order"),
]


@pytest.mark.parametrize(("body", "config"), LOCK_CONFIG_OK)
def test_parse_lock_configuration(body: bytes, config: ObjectLockConfiguration) -> None:
    """A valid PutObjectLockConfiguration body reads as its configuration."""
    assert parse_lock_configuration(body) == config


LOCK_CONFIG_BAD: list[Any] = [
    pytest.param(olc(""), MALFORMED, None, {}, id="empty"),
    pytest.param(olc("<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule>"), MALFORMED, None, {}, id="no-enabled"),
    pytest.param(olc("<ObjectLockEnabled>Disabled</ObjectLockEnabled>"), MALFORMED, None, {}, id="disabled"),
    pytest.param(olc("<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule/>"), MALFORMED, None, {}, id="empty-rule"),
    pytest.param(rule(""), MALFORMED, None, {}, id="empty-retention"),
    pytest.param(rule("<Mode>GOVERNANCE</Mode>"), MALFORMED, None, {}, id="no-period"),
    pytest.param(rule("<Days>1</Days>"), MALFORMED, None, {}, id="no-mode"),
    pytest.param(rule("<Mode>governance</Mode><Days>1</Days>"), MALFORMED, None, {}, id="bad-mode"),
    pytest.param(rule("<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>"), MALFORMED, None, {}, id="both-periods"),
    pytest.param(rule("<Mode>GOVERNANCE</Mode><Days>1.5</Days>"), MALFORMED, None, {}, id="fractional-days"),
    pytest.param(rule("<Mode>GOVERNANCE</Mode><Days>9999999999</Days>"), MALFORMED, None, {}, id="days-beyond-int"),
    pytest.param(rule("<Mode>GOVERNANCE</Mode><Days>1</Days><Foo/>"), MALFORMED, None, {}, id="unknown-element"),
    pytest.param(b"<LegalHold><Status>ON</Status></LegalHold>", MALFORMED, None, {}, id="other-root"),
    pytest.param(
        rule("<Mode>GOVERNANCE</Mode><Days>0</Days>"),
        "InvalidArgument",
        "Default retention period must be a positive integer value.",
        {"ArgumentName": "Days", "ArgumentValue": "0"},
        id="zero-days",
    ),
    pytest.param(
        rule("<Mode>COMPLIANCE</Mode><Years>-1</Years>"),
        "InvalidArgument",
        "Default retention period must be a positive integer value.",
        {"ArgumentName": "Years", "ArgumentValue": "-1"},
        id="negative-years",
    ),
    pytest.param(
        rule("<Mode>GOVERNANCE</Mode><Days>36501</Days>"),
        "InvalidArgument",
        "Default retention period too large.",
        {"ArgumentName": "Days", "ArgumentValue": "36501"},
        id="days-over-100-years",
    ),
    pytest.param(
        rule("<Mode>GOVERNANCE</Mode><Years>101</Years>"),
        "InvalidArgument",
        "Default retention period too large.",
        {"ArgumentName": "Years", "ArgumentValue": "101"},
        id="years-over-100",
    ),
]


@pytest.mark.parametrize(("body", "code", "message", "extra"), LOCK_CONFIG_BAD)
def test_parse_lock_configuration_errors(body: bytes, code: str, message: str | None, extra: dict[str, str]) -> None:
    """A bad Object Lock configuration is refused with S3's code, message and argument."""
    raises(lambda: parse_lock_configuration(body), code, message, **extra)


@pytest.mark.parametrize(
    "body",
    [
        olc("<ObjectLockEnabled>Enabled</ObjectLockEnabled>"),
        rule("<Mode>GOVERNANCE</Mode><Days>30</Days>"),
        rule("<Mode>COMPLIANCE</Mode><Years>7</Years>"),
    ],
    ids=["no-rule", "days", "years"],
)
def test_lock_configuration_round_trip(body: bytes) -> None:
    """GetObjectLockConfiguration renders what was put, and it reads back the same."""
    config = parse_lock_configuration(body)
    assert config.to_xml() == xml.DECLARATION + body
    assert parse_lock_configuration(lock_configuration_xml(config, "b")) == config


def test_lock_configuration_missing() -> None:
    """A bucket without Object Lock has no configuration: 404 naming the bucket."""
    raises(lambda: lock_configuration_xml(None, "b"), "ObjectLockConfigurationNotFoundError", BucketName="b")


def test_require_object_lock() -> None:
    """Retention and legal-hold requests need a bucket with Object Lock: InvalidRequest otherwise."""
    config = ObjectLockConfiguration()
    assert require_object_lock(config) is config
    raises(lambda: require_object_lock(None), "InvalidRequest", "Bucket is missing Object Lock Configuration")


@pytest.mark.parametrize(
    ("versioning", "allowed"),
    [(UNVERSIONED, False), (Versioning("Suspended"), False), (Versioning("Enabled"), True)],
    ids=["never-versioned", "suspended", "enabled"],
)
def test_lock_configuration_needs_versioning(versioning: Versioning, allowed: bool) -> None:
    """Object Lock may be configured only on a bucket whose versioning is Enabled."""
    if allowed:
        check_lock_configuration_allowed(versioning)
    else:
        raises(
            lambda: check_lock_configuration_allowed(versioning),
            "InvalidBucketState",
            "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
        )


DEFAULTS: list[Any] = [
    pytest.param(DefaultRetention("GOVERNANCE", days=1), "2026-12-03T12:00:00", "2026-12-04T12:00:00", id="one-day"),
    pytest.param(DefaultRetention("COMPLIANCE", days=365), "2027-12-03T12:00:00", "2028-12-02T12:00:00", id="365-days-over-leap-year"),
    pytest.param(DefaultRetention("COMPLIANCE", years=1), "2027-12-03T12:00:00", "2028-12-03T12:00:00", id="calendar-year"),
    pytest.param(DefaultRetention("GOVERNANCE", years=1), "2028-02-29T08:30:00", "2029-03-01T08:30:00", id="leap-day-rounds-up"),
    pytest.param(DefaultRetention("GOVERNANCE", years=4), "2028-02-29T08:30:00", "2032-02-29T08:30:00", id="leap-day-to-leap-day"),
]


@pytest.mark.parametrize(("default", "created", "until"), DEFAULTS)
def test_default_retention(default: DefaultRetention, created: str, until: str) -> None:
    """A default retention dates from the version's creation: exact days, calendar years."""
    assert default.retention_from(ts(created)) == Retention(default.mode, ts(until))


# -- retention and legal hold bodies ------------------------------------------


def ret(inner: str) -> bytes:
    return f"<Retention{NS}>{inner}</Retention>".encode()


RETENTION_OK: list[Any] = [
    pytest.param(
        ret("<Mode>GOVERNANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate>"),
        Retention("GOVERNANCE", ts("2030-01-01T00:00:00")),
        id="governance",
    ),
    pytest.param(
        ret("<Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00.250Z</RetainUntilDate>"),
        Retention("COMPLIANCE", ts("2030-01-01T00:00:00.250")),
        id="milliseconds",
    ),
    pytest.param(
        ret("<RetainUntilDate>2030-01-01T01:00:00+01:00</RetainUntilDate><Mode>GOVERNANCE</Mode>"),
        Retention("GOVERNANCE", ts("2030-01-01T00:00:00")),
        id="offset",
    ),
    pytest.param(ret(""), None, id="empty-removes"),
]


@pytest.mark.parametrize(("body", "retention"), RETENTION_OK)
def test_parse_retention(body: bytes, retention: Retention | None) -> None:
    """A PutObjectRetention body reads as the retention it sets, or None to remove it."""
    assert parse_retention(body, NOW) == retention


RETENTION_BAD: list[Any] = [
    pytest.param(ret("<Mode>GOVERNANCE</Mode>"), MALFORMED, None, {}, id="mode-only"),
    pytest.param(ret("<RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate>"), MALFORMED, None, {}, id="date-only"),
    pytest.param(ret("<Mode>BAD-VALUE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate>"), MALFORMED, None, {}, id="bad-mode"),
    pytest.param(ret("<Mode>GOVERNANCE</Mode><RetainUntilDate>next year</RetainUntilDate>"), MALFORMED, None, {}, id="bad-date"),
    pytest.param(b"<LegalHold><Status>ON</Status></LegalHold>", MALFORMED, None, {}, id="other-root"),
    pytest.param(
        ret("<Mode>GOVERNANCE</Mode><RetainUntilDate>2020-01-01T00:00:00Z</RetainUntilDate>"),
        "InvalidArgument",
        "The retain until date must be in the future!",
        {"ArgumentName": "RetainUntilDate", "ArgumentValue": "Tue Dec 31 16:00:00 PST 2019"},
        id="past-date-as-aws-echoes-it",
    ),
    pytest.param(
        ret("<Mode>GOVERNANCE</Mode><RetainUntilDate>2026-12-03T12:00:00Z</RetainUntilDate>"),
        "InvalidArgument",
        "The retain until date must be in the future!",
        {"ArgumentName": "RetainUntilDate"},
        id="now-is-not-future",
    ),
]


@pytest.mark.parametrize(("body", "code", "message", "extra"), RETENTION_BAD)
def test_parse_retention_errors(body: bytes, code: str, message: str | None, extra: dict[str, str]) -> None:
    """A bad PutObjectRetention body is refused with S3's code, message and argument."""
    raises(lambda: parse_retention(body, NOW), code, message, **extra)


@pytest.mark.parametrize(
    ("when", "echoed"),
    [
        ("2020-01-01T00:00:00", "Tue Dec 31 16:00:00 PST 2019"),
        ("2020-07-01T00:00:00", "Tue Jun 30 17:00:00 PDT 2020"),
        ("2026-03-08T09:59:59", "Sun Mar 08 01:59:59 PST 2026"),
        ("2026-03-08T10:00:00", "Sun Mar 08 03:00:00 PDT 2026"),
        ("2026-11-01T08:59:59", "Sun Nov 01 01:59:59 PDT 2026"),
        ("2026-11-01T09:00:00", "Sun Nov 01 01:00:00 PST 2026"),
    ],
    ids=["winter", "summer", "before-spring-forward", "spring-forward", "before-fall-back", "fall-back"],
)
def test_argument_date(when: str, echoed: str) -> None:
    """A past date is echoed as S3 does: Java's Date.toString() in US Pacific time."""
    assert argument_date(ts(when)) == echoed


def test_argument_date_year_one() -> None:
    """A date with no Pacific equivalent in Python's range is echoed in ISO 8601, not a crash."""
    assert argument_date(ts("0001-01-01T00:00:00")).endswith("-01-01T00:00:00.000Z")


@given(st.text(alphabet="0123456789-:.TZ+ ", max_size=40) | st.datetimes().map(datetime.isoformat))
def test_parse_retention_any_date(date: str) -> None:
    """Whatever the date text, PutObjectRetention answers a value or an S3Error, never a crash."""
    body = ret(f"<Mode>GOVERNANCE</Mode><RetainUntilDate>{date}</RetainUntilDate>")
    try:
        retention = parse_retention(body, NOW)
    except S3Error as e:
        assert e.code in ("MalformedXML", "InvalidArgument")
    else:
        assert retention is not None and retention.until > NOW


def test_retention_xml() -> None:
    """GetObjectRetention renders mode and date, and reads back as the same retention."""
    retention = Retention("COMPLIANCE", ts("2030-01-01T00:00:00.500"))
    body = retention_xml(retention)
    assert body == xml.DECLARATION + (
        f"<Retention{NS}><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00.500Z</RetainUntilDate></Retention>"
    ).encode()
    assert parse_retention(body, NOW) == retention


def test_no_retention() -> None:
    """GetObjectRetention on a version that never had one is NoSuchObjectLockConfiguration (404)."""
    raises(
        lambda: retention_xml(None),
        "NoSuchObjectLockConfiguration",
        "The specified object does not have a ObjectLock configuration",
    )


@pytest.mark.parametrize(("status", "on"), [("ON", True), ("OFF", False)])
def test_legal_hold_round_trip(status: str, on: bool) -> None:
    """A legal hold reads as on or off, and GetObjectLegalHold renders it back."""
    body = f"<LegalHold{NS}><Status>{status}</Status></LegalHold>".encode()
    assert parse_legal_hold(body) is on
    assert legal_hold_xml(on) == xml.DECLARATION + body


@pytest.mark.parametrize(
    "body",
    [
        b"<LegalHold/>",
        b"<LegalHold><Status>on</Status></LegalHold>",
        b"<LegalHold><Status>YES</Status></LegalHold>",
        b"<LegalHold><Status>ON</Status><Status>OFF</Status></LegalHold>",
        b"<Retention><Status>ON</Status></Retention>",
    ],
    ids=["empty", "lower-case", "other-value", "twice", "other-root"],
)
def test_parse_legal_hold_errors(body: bytes) -> None:
    """A legal hold other than exactly ON or OFF is MalformedXML."""
    raises(lambda: parse_legal_hold(body), MALFORMED)


def test_no_legal_hold() -> None:
    """GetObjectLegalHold on a version that never had one is NoSuchObjectLockConfiguration."""
    raises(lambda: legal_hold_xml(None), "NoSuchObjectLockConfiguration")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-01-01T00:00:00Z", "2030-01-01T00:00:00"),
        ("2030-01-01T00:00:00.123456789Z", "2030-01-01T00:00:00.123456"),
        ("2030-01-01T02:00:00+0200", "2030-01-01T00:00:00"),
        ("2030-01-01", "2030-01-01T00:00:00"),
        ("2030-01-01T00:00", "2030-01-01T00:00:00"),
        ("2030-01-01 00:00:00", None),
        ("2030-13-01T00:00:00Z", None),
        ("Wed, 01 Jan 2030 00:00:00 GMT", None),
        ("", None),
    ],
)
def test_parse_date(text: str, expected: str | None) -> None:
    """Dates are ISO 8601, UTC when no zone is given; anything else is None."""
    assert parse_date(text) == (None if expected is None else ts(expected))


# -- headers --------------------------------------------------------------------

MODE = "x-amz-object-lock-mode"
UNTIL = "x-amz-object-lock-retain-until-date"
HOLD = "x-amz-object-lock-legal-hold"
FUTURE = "2030-01-01T00:00:00Z"

HEADERS_OK: list[Any] = [
    pytest.param({}, NO_LOCK, id="none"),
    pytest.param({MODE: "GOVERNANCE", UNTIL: FUTURE}, LockRequest(Retention("GOVERNANCE", ts("2030-01-01T00:00:00"))), id="retention"),
    pytest.param({HOLD: "ON"}, LockRequest(legal_hold=True), id="legal-hold-on"),
    pytest.param({HOLD: "OFF"}, LockRequest(legal_hold=False), id="legal-hold-off"),
    pytest.param(
        {MODE: "COMPLIANCE", UNTIL: FUTURE, HOLD: "ON"},
        LockRequest(Retention("COMPLIANCE", ts("2030-01-01T00:00:00")), True),
        id="all-three",
    ),
    pytest.param({MODE: "", UNTIL: ""}, NO_LOCK, id="empty-is-absent"),
]


@pytest.mark.parametrize(("headers", "request_"), HEADERS_OK)
def test_parse_lock_headers(headers: dict[str, str], request_: LockRequest) -> None:
    """The x-amz-object-lock-* headers read as the lock a write asks for."""
    assert parse_lock_headers(headers, NOW) == request_


BOTH = "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"
HEADERS_BAD: list[Any] = [
    pytest.param({MODE: "GOVERNANCE"}, BOTH, {"ArgumentName": UNTIL}, id="mode-without-date"),
    pytest.param({MODE: "BAD-VALUE"}, BOTH, {"ArgumentName": UNTIL}, id="bad-mode-without-date-pairs-first"),
    pytest.param({UNTIL: FUTURE}, BOTH, {"ArgumentName": MODE}, id="date-without-mode"),
    pytest.param(
        {MODE: "BAD-VALUE", UNTIL: FUTURE},
        "Unknown wormMode directive.",
        {"ArgumentName": MODE, "ArgumentValue": "BAD-VALUE"},
        id="bad-mode",
    ),
    pytest.param(
        {MODE: "GOVERNANCE", UNTIL: "Wed, 01 Jan 2030 00:00:00 GMT"},
        "The retain until date must be provided in ISO 8601 format",
        {"ArgumentName": UNTIL, "ArgumentValue": "Wed, 01 Jan 2030 00:00:00 GMT"},
        id="http-date",
    ),
    pytest.param(
        {MODE: "GOVERNANCE", UNTIL: "2020-01-01T00:00:00Z"},
        "The retain until date must be in the future!",
        {"ArgumentName": UNTIL, "ArgumentValue": "2020-01-01T00:00:00Z"},
        id="past-date",
    ),
    pytest.param(
        {HOLD: "on"},
        "Legal Hold must be either of 'ON' or 'OFF'",
        {"ArgumentName": HOLD, "ArgumentValue": "on"},
        id="bad-legal-hold",
    ),
]


@pytest.mark.parametrize(("headers", "message", "extra"), HEADERS_BAD)
def test_parse_lock_headers_errors(headers: dict[str, str], message: str, extra: dict[str, str]) -> None:
    """Bad lock headers are InvalidArgument with S3's message, naming the header."""
    raises(lambda: parse_lock_headers(headers, NOW), "InvalidArgument", message, **extra)


@given(
    st.dictionaries(
        st.sampled_from([MODE, UNTIL, HOLD]),
        st.sampled_from(["", "GOVERNANCE", "COMPLIANCE", "ON", "OFF", FUTURE, "2020-01-01"]) | st.text(max_size=30),
    )
)
def test_parse_lock_headers_any_value(headers: dict[str, str]) -> None:
    """Whatever the header values, a write gets a lock request or InvalidArgument, never a crash."""
    try:
        asked = parse_lock_headers(headers, NOW)
    except S3Error as e:
        assert e.code == "InvalidArgument" and e.extra["ArgumentName"] in (MODE, UNTIL, HOLD)
    else:
        assert asked.retention is None or asked.retention.until > NOW


GOV_30 = ObjectLockConfiguration(DefaultRetention("GOVERNANCE", days=30))
EXPLICIT = Retention("COMPLIANCE", ts("2030-01-01T00:00:00"))

NEW_VERSION: list[Any] = [
    pytest.param(NO_LOCK, None, NO_LOCK, id="plain-bucket-plain-write"),
    pytest.param(NO_LOCK, ObjectLockConfiguration(), NO_LOCK, id="lock-bucket-no-default"),
    pytest.param(NO_LOCK, GOV_30, LockRequest(Retention("GOVERNANCE", NOW + 30 * DAY)), id="default-applied-from-creation"),
    pytest.param(LockRequest(EXPLICIT), GOV_30, LockRequest(EXPLICIT), id="explicit-overrides-default"),
    pytest.param(LockRequest(legal_hold=True), GOV_30, LockRequest(Retention("GOVERNANCE", NOW + 30 * DAY), True), id="hold-and-default"),
]


@pytest.mark.parametrize(("asked", "config", "given"), NEW_VERSION)
def test_new_version_lock(asked: LockRequest, config: ObjectLockConfiguration | None, given: LockRequest) -> None:
    """A new version gets the lock it asked for, else the bucket's default from its creation time."""
    assert new_version_lock(asked, config, NOW) == given


@pytest.mark.parametrize("asked", [LockRequest(EXPLICIT), LockRequest(legal_hold=False)], ids=["retention", "legal-hold"])
def test_new_version_lock_needs_lock_bucket(asked: LockRequest) -> None:
    """Asking for a lock on a bucket without Object Lock is InvalidRequest."""
    raises(lambda: new_version_lock(asked, None, NOW), "InvalidRequest", "Bucket is missing ObjectLockConfiguration")


@pytest.mark.parametrize(
    ("asked", "config", "needed"),
    [
        (NO_LOCK, None, False),
        (NO_LOCK, ObjectLockConfiguration(), False),
        (NO_LOCK, GOV_30, True),
        (LockRequest(legal_hold=False), ObjectLockConfiguration(), True),
        (LockRequest(EXPLICIT), ObjectLockConfiguration(), True),
    ],
    ids=["plain", "lock-no-default", "default-retention", "legal-hold-header", "retention-headers"],
)
def test_needs_integrity_header(asked: LockRequest, config: ObjectLockConfiguration | None, needed: bool) -> None:
    """A write needs Content-MD5 or a checksum when it asks for a lock or the bucket has a default."""
    assert needs_integrity_header(asked, config) is needed


INTEGRITY: list[Any] = [
    pytest.param({"content-md5": "x"}, True, id="content-md5"),
    pytest.param({"x-amz-checksum-crc32": "x"}, True, id="crc32"),
    pytest.param({"x-amz-checksum-crc64nvme": "x"}, True, id="crc64nvme"),
    pytest.param({"x-amz-checksum-sha256": "x"}, True, id="sha256"),
    pytest.param({"x-amz-trailer": "x-amz-checksum-crc32c"}, True, id="checksum-trailer"),
    pytest.param({}, False, id="none"),
    pytest.param({"x-amz-content-sha256": "abc"}, False, id="sigv4-payload-hash-does-not-count"),
    pytest.param({"x-amz-sdk-checksum-algorithm": "CRC32"}, False, id="algorithm-alone"),
    pytest.param({"x-amz-checksum-type": "FULL_OBJECT"}, False, id="checksum-type-alone"),
]


@pytest.mark.parametrize(("headers", "ok"), INTEGRITY)
def test_check_integrity_header(headers: dict[str, str], ok: bool) -> None:
    """Only Content-MD5 or an x-amz-checksum-* (header or trailer) satisfies a locked write."""
    if ok:
        check_integrity_header(headers)
    else:
        raises(
            lambda: check_integrity_header(headers),
            "InvalidRequest",
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters",
        )


def test_check_integrity_header_for_parts() -> None:
    """UploadPart of a locked upload says "Put Part", as S3 does."""
    error = raises(lambda: check_integrity_header({}, "Put Part"), "InvalidRequest")
    assert "required for Put Part requests" in error.message


@pytest.mark.parametrize(
    ("headers", "lock", "bypass"),
    [
        ({}, False, False),
        ({}, True, False),
        ({"x-amz-bypass-governance-retention": "true"}, True, True),
        ({"x-amz-bypass-governance-retention": "True"}, True, True),
        ({"x-amz-bypass-governance-retention": "false"}, True, False),
        ({"x-amz-bypass-governance-retention": "yes"}, True, False),
    ],
)
def test_parse_bypass(headers: dict[str, str], lock: bool, bypass: bool) -> None:
    """x-amz-bypass-governance-retention asks for the bypass only when it says true."""
    assert parse_bypass(headers, lock) is bypass


@pytest.mark.parametrize("value", ["true", "false"])
def test_bypass_needs_lock_bucket(value: str) -> None:
    """The bypass header, even false, is InvalidArgument on a bucket without Object Lock."""
    raises(
        lambda: parse_bypass({"x-amz-bypass-governance-retention": value}, False),
        "InvalidArgument",
        "x-amz-bypass-governance-retention is only applicable to Object Lock enabled buckets.",
        ArgumentName="x-amz-bypass-governance-retention",
    )


def test_lock_response_headers() -> None:
    """GetObject and HeadObject show a version's mode, date and hold, and nothing it lacks."""
    assert lock_response_headers(None, None) == {}
    assert lock_response_headers(Retention("GOVERNANCE", ts("2030-01-01T00:00:00")), False) == {
        MODE: "GOVERNANCE",
        UNTIL: "2030-01-01T00:00:00.000Z",
        HOLD: "OFF",
    }


# -- decisions ------------------------------------------------------------------

GOV = Retention("GOVERNANCE", NOW + DAY)
COMP = Retention("COMPLIANCE", NOW + DAY)
EXPIRED = Retention("COMPLIANCE", NOW)

# (retention, legal hold, bypass header, may bypass, allowed)
REMOVAL: list[Any] = [
    pytest.param(None, None, False, False, True, id="unlocked"),
    pytest.param(None, False, False, False, True, id="hold-off"),
    pytest.param(EXPIRED, None, False, False, True, id="compliance-expired-at-its-date"),
    pytest.param(GOV, None, False, False, False, id="governance"),
    pytest.param(GOV, None, True, False, False, id="governance-header-without-permission"),
    pytest.param(GOV, None, False, True, False, id="governance-permission-without-header"),
    pytest.param(GOV, None, True, True, True, id="governance-bypassed"),
    pytest.param(COMP, None, True, True, False, id="compliance-never"),
    pytest.param(None, True, True, True, False, id="legal-hold-ignores-bypass"),
    pytest.param(GOV, True, True, True, False, id="legal-hold-over-governance"),
    pytest.param(EXPIRED, True, False, False, False, id="legal-hold-outlives-retention"),
]


@pytest.mark.parametrize(("retention", "hold", "bypass", "may", "allowed"), REMOVAL)
def test_check_removal(retention: Retention | None, hold: bool | None, bypass: bool, may: bool, allowed: bool) -> None:
    """A version may be removed unless a legal hold or an active retention protects it."""
    call = lambda: check_removal(retention, hold, NOW, bypass=bypass, may_bypass=may)  # noqa: E731
    if allowed:
        call()
    else:
        raises(call, "AccessDenied", LOCKED)


@pytest.mark.parametrize(
    ("retention", "hold", "locked"),
    [(None, None, False), (None, False, False), (EXPIRED, None, False), (GOV, None, True), (COMP, False, True), (EXPIRED, True, True)],
    ids=["nothing", "hold-off", "expired", "governance", "compliance", "hold-on"],
)
def test_is_locked(retention: Retention | None, hold: bool | None, locked: bool) -> None:
    """A version is locked by a legal hold or an unexpired retention, whatever the bypass."""
    assert is_locked(retention, hold, NOW) is locked


LATER = NOW + 2 * DAY
SOONER = NOW + DAY / 2

# (current, new, bypass header, may bypass, allowed)
CHANGES: list[Any] = [
    pytest.param(None, Retention("GOVERNANCE", LATER), False, False, True, id="first-retention"),
    pytest.param(GOV, Retention("GOVERNANCE", LATER), False, False, True, id="extend-governance"),
    pytest.param(COMP, Retention("COMPLIANCE", LATER), False, False, True, id="extend-compliance"),
    pytest.param(GOV, Retention("COMPLIANCE", GOV.until), False, False, True, id="governance-to-compliance"),
    pytest.param(GOV, GOV, False, False, True, id="same-again"),
    pytest.param(GOV, Retention("GOVERNANCE", SOONER), False, False, False, id="shorten-governance"),
    pytest.param(GOV, Retention("GOVERNANCE", SOONER), True, True, True, id="shorten-governance-bypassed"),
    pytest.param(GOV, None, False, True, False, id="remove-governance-no-header"),
    pytest.param(GOV, None, True, True, True, id="remove-governance-bypassed"),
    pytest.param(GOV, Retention("COMPLIANCE", SOONER), True, False, False, id="shorter-compliance-needs-bypass"),
    pytest.param(COMP, Retention("COMPLIANCE", SOONER), True, True, False, id="shorten-compliance-never"),
    pytest.param(COMP, Retention("GOVERNANCE", LATER), True, True, False, id="compliance-to-governance-never"),
    pytest.param(COMP, None, True, True, False, id="remove-compliance-never"),
    pytest.param(EXPIRED, None, False, False, True, id="expired-compliance-protects-nothing"),
]


@pytest.mark.parametrize(("current", "new", "bypass", "may", "allowed"), CHANGES)
def test_check_retention_change(current: Retention | None, new: Retention | None, bypass: bool, may: bool, allowed: bool) -> None:
    """Retention may be extended freely, weakened only on GOVERNANCE with the bypass."""
    call = lambda: check_retention_change(current, new, NOW, bypass=bypass, may_bypass=may)  # noqa: E731
    if allowed:
        call()
    else:
        raises(call, "AccessDenied", LOCKED)


modes = st.sampled_from(["GOVERNANCE", "COMPLIANCE"])
offsets = st.floats(min_value=1, max_value=1e9, allow_nan=False)
retentions = st.builds(Retention, modes, offsets.map(lambda o: NOW + o))


@given(current=retentions, extra=st.floats(min_value=0, max_value=1e9), bypass=st.booleans(), may=st.booleans())
def test_extending_is_always_allowed(current: Retention, extra: float, bypass: bool, may: bool) -> None:
    """Whatever the mode and bypass, the same mode for at least as long is allowed."""
    check_retention_change(current, Retention(current.mode, current.until + extra), NOW, bypass=bypass, may_bypass=may)


@given(
    current=retentions.filter(lambda r: r.mode == "COMPLIANCE"),
    new=st.none() | retentions,
    bypass=st.booleans(),
    may=st.booleans(),
)
def test_active_compliance_is_never_weakened(current: Retention, new: Retention | None, bypass: bool, may: bool) -> None:
    """An active COMPLIANCE retention refuses every weakening change, bypass or not, and allows the rest."""
    call = lambda: check_retention_change(current, new, NOW, bypass=bypass, may_bypass=may)  # noqa: E731
    if weakens(current, new):
        raises(call, "AccessDenied", LOCKED)
    else:
        call()
        assert new is not None and new.mode == "COMPLIANCE" and new.until >= current.until


@given(current=retentions, new=st.none() | retentions)
def test_bypass_allows_exactly_governance(current: Retention, new: Retention | None) -> None:
    """With the header and the permission, only COMPLIANCE can still refuse a change."""
    call = lambda: check_retention_change(current, new, NOW, bypass=True, may_bypass=True)  # noqa: E731
    if current.mode == "COMPLIANCE" and weakens(current, new):
        raises(call, "AccessDenied", LOCKED)
    else:
        call()


# -- version ids --------------------------------------------------------------------


class FakeClock:
    """A clock the test sets; it may go backwards."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_version_id_form() -> None:
    """A version id is 32 URL-safe base32hex characters recording its creation time."""
    clock = FakeClock(NOW)
    version_id = VersionIds(clock, lambda n: b"\xff" * n).new()
    assert len(version_id) == 32
    assert is_version_id(version_id)
    assert created_micros(version_id) == int(NOW * 1_000_000)
    assert base64.b32hexdecode(version_id)[8:] == b"\xff" * 12


def test_version_ids_increase_when_the_clock_stands_or_steps_back() -> None:
    """Ids from one source sort in creation order even if the clock stalls or goes back."""
    clock = FakeClock(NOW)
    ids = VersionIds(clock, lambda n: b"\x00" * n)
    made = [ids.new(), ids.new()]
    clock.now -= 3600
    made.append(ids.new())
    clock.now += 7200
    made.append(ids.new())
    assert made == sorted(made)
    assert len(set(made)) == len(made)


@given(st.lists(st.floats(min_value=0, max_value=4e9, allow_nan=False), min_size=1, max_size=50), st.binary(min_size=12, max_size=12))
def test_version_ids_sort_in_creation_order(times: list[float], noise: bytes) -> None:
    """Whatever the clock does and whatever the random bytes, string order is creation order."""
    clock = FakeClock(times[0])
    ids = VersionIds(clock, lambda n: noise[:n])
    made = []
    for t in times:
        clock.now = t
        made.append(ids.new())
    assert made == sorted(made) and len(set(made)) == len(made)


def test_version_ids_are_unique_across_sources() -> None:
    """Two sources on the same clock (two processes) still make different ids."""
    clock = FakeClock(NOW)
    assert VersionIds(clock).new() != VersionIds(clock).new()


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (NULL_VERSION, True),
        ("0" * 32, True),
        ("V" * 32, True),
        ("W" * 32, False),
        ("0" * 31, False),
        ("0" * 33, False),
        ("a" * 32, False),
        ("Null", False),
        ("", False),
        ("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY", False),
    ],
)
def test_is_version_id(value: str, valid: bool) -> None:
    """Only null and ids of txs3's form can name a version."""
    assert is_version_id(value) is valid


# -- purity ------------------------------------------------------------------------


def test_imports_no_twisted() -> None:
    """Importing txs3.objectlock loads nothing of Twisted, Klein or werkzeug: it is pure."""
    code = (
        "import sys, txs3.objectlock\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('twisted', 'klein', 'werkzeug'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
