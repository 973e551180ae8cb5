"""
Lifecycle configurations and rule decisions (L{txs3.lifecycle}), without a
server: AWS's validation table, round trips, and what is due when.
"""

from __future__ import annotations

import calendar
import time

import pytest

from txs3.errors import S3Error
from txs3.lifecycle.config import (
    DAY,
    Filter,
    LifecycleConfiguration,
    parse_lifecycle,
    render_lifecycle,
)
from txs3.lifecycle.evaluate import (
    Days,
    Version,
    abort_due,
    due_now,
    expiration_header,
    matches,
)


def config(*rules: str) -> bytes:
    return (
        '<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        + "".join(f"<Rule>{rule}</Rule>" for rule in rules)
        + "</LifecycleConfiguration>"
    ).encode()


EXPIRE_30 = "<ID>r</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration>"


VALID = [
    EXPIRE_30,
    "<ID>legacy</ID><Prefix>tmp/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>",
    "<ID>all</ID><Filter></Filter><Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration>",
    "<ID>tag</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration>",
    "<ID>and</ID><Filter><And><Prefix>a/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>2</Days></Expiration>",
    "<ID>size</ID><Filter><ObjectSizeGreaterThan>1048576</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Expiration><Days>5</Days></Expiration>",
    "<ID>mpu</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload>",
    "<ID>marker</ID><Filter></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>",
    "<ID>glacier</ID><Filter></Filter><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>",
]


@pytest.mark.parametrize("rule", VALID)
def test_valid_rules_round_trip(rule: str) -> None:
    """What is accepted is written back, and reads back the same."""
    parsed = parse_lifecycle(config(rule))
    again = parse_lifecycle(render_lifecycle(parsed))
    assert again == parsed


def test_rule_without_id_gets_one() -> None:
    parsed = parse_lifecycle(
        config(
            "<Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"
        )
    )
    assert len(parsed.rules[0].rule_id) >= 16


INVALID = [
    (
        "<ID>r</ID><Filter/><Status>On</Status><Expiration><Days>1</Days></Expiration>",
        "MalformedXML",
        "",
    ),
    (
        "<ID>r</ID><Filter/><Status>Enabled</Status>",
        "InvalidArgument",
        "At least one action",
    ),
    (
        "<ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>",
        "InvalidArgument",
        "positive integer",
    ),
    (
        "<ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>",
        "MalformedXML",
        "",
    ),
    (
        "<ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>",
        "InvalidArgument",
        "midnight GMT",
    ),
    (
        "<ID>r</ID><Prefix>a</Prefix><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>",
        "InvalidArgument",
        "mutually exclusive",
    ),
    (
        "<ID>r</ID><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>",
        "MalformedXML",
        "",
    ),
    (
        "<ID>r</ID><Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>10</ObjectSizeLessThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>",
        "InvalidArgument",
        "less than",
    ),
    (
        "<ID>r</ID><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>",
        "InvalidArgument",
        "Tags",
    ),
    (
        "<ID>r</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration>",
        "InvalidArgument",
        "100",
    ),
    (
        "<ID>"
        + "x" * 256
        + "</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>",
        "InvalidArgument",
        "255",
    ),
    (
        "<ID>r</ID><Filter/><Status>Enabled</Status><Expiration><Days>ten</Days></Expiration>",
        "MalformedXML",
        "",
    ),
]


@pytest.mark.parametrize("rule, code, words", INVALID)
def test_invalid_rules_get_aws_errors(rule: str, code: str, words: str) -> None:
    with pytest.raises(S3Error) as raised:
        parse_lifecycle(config(rule))
    assert raised.value.code == code
    assert words in raised.value.message


def test_duplicate_ids_and_too_many_rules() -> None:
    with pytest.raises(S3Error) as raised:
        parse_lifecycle(config(EXPIRE_30, EXPIRE_30))
    assert "Rule ID must be unique" in raised.value.message
    many = [EXPIRE_30.replace("<ID>r</ID>", f"<ID>r{i}</ID>") for i in range(1001)]
    with pytest.raises(S3Error) as raised:
        parse_lifecycle(config(*many))
    assert raised.value.code == "InvalidArgument"
    for body in (b"", b"<LifecycleConfiguration/>", b"<Other><Rule/></Other>"):
        with pytest.raises(S3Error) as raised:
            parse_lifecycle(body)
        assert raised.value.code == "MalformedXML"


@pytest.mark.parametrize(
    "which, key, size, tags, expected",
    [
        (Filter(), "any", 0, {}, True),
        (Filter("prefix", prefix="logs/"), "logs/a", 0, {}, True),
        (Filter("prefix", prefix="logs/"), "log/a", 0, {}, False),
        (Filter("tag", tags=(("k", "v"),)), "a", 0, {"k": "v", "x": "y"}, True),
        (Filter("tag", tags=(("k", "v"),)), "a", 0, {"k": "w"}, False),
        (Filter("size", size_greater_than=10), "a", 10, {}, False),
        (Filter("size", size_greater_than=10), "a", 11, {}, True),
        (Filter("size", size_less_than=10), "a", 10, {}, False),
        (Filter("and", "a/", (("k", "v"),), 1, 100), "a/b", 50, {"k": "v"}, True),
        (Filter("and", "a/", (("k", "v"),), 1, 100), "a/b", 50, {}, False),
    ],
)
def test_filters(
    which: Filter, key: str, size: int, tags: dict[str, str], expected: bool
) -> None:
    assert matches(which, key, size, tags) is expected


def at(text: str) -> float:
    """Seconds since the epoch of a UTC ``YYYY-MM-DDTHH:MM``."""
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M")))


RULES = parse_lifecycle(
    config(
        EXPIRE_30,
        "<ID>old</ID><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>",
        "<ID>markers</ID><Filter/><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>",
        "<ID>mpu</ID><Filter><Prefix>up/</Prefix></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>3</DaysAfterInitiation></AbortIncompleteMultipartUpload>",
        "<ID>off</ID><Filter/><Status>Disabled</Status><Expiration><Days>1</Days></Expiration>",
    )
)


def test_current_versions_expire_at_the_next_midnight_after_their_days() -> None:
    """AWS: created 2026-01-01 05:10, 30 days → 2026-02-01 00:00 UTC."""
    log = Version("logs/a", 10, {}, at("2026-01-01T05:10"))
    assert due_now(RULES, log, at("2026-01-31T23:59")) is None
    due = due_now(RULES, log, at("2026-02-01T00:00"))
    assert due is not None and (due.action, due.rule_id) == ("expire", "r")
    assert due_now(RULES, Version("other", 10, {}, 0.0), at("2030-01-01T00:00")) is None
    assert expiration_header(RULES, log) == (
        'expiry-date="Sun, 01 Feb 2026 00:00:00 GMT", rule-id="r"'
    )
    assert expiration_header(RULES, Version("other", 1, {}, 0.0)) is None


def test_noncurrent_versions_keep_the_newest_ones() -> None:
    since = at("2026-03-01T12:00")
    later = at("2026-03-09T00:00")
    kept = Version("k", 1, {}, 0.0, noncurrent_since=since, newer_noncurrent=1)
    gone = Version("k", 1, {}, 0.0, noncurrent_since=since, newer_noncurrent=2)
    assert due_now(RULES, kept, later) is None
    assert due_now(RULES, gone, at("2026-03-08T23:00")) is None
    due = due_now(RULES, gone, later)
    assert due is not None and due.action == "delete-noncurrent"


def test_delete_markers_go_only_when_alone() -> None:
    alone = Version("k", 0, {}, 100.0, is_delete_marker=True, only_version=True)
    not_alone = Version("k", 0, {}, 100.0, is_delete_marker=True, only_version=False)
    due = due_now(RULES, alone, 100.0)
    assert due is not None and due.action == "remove-delete-marker"
    assert due_now(RULES, not_alone, at("2100-01-01T00:00")) is None


def test_delete_markers_under_days_go_once_old_enough() -> None:
    rules = parse_lifecycle(config(EXPIRE_30))
    marker = Version("logs/x", 0, {}, at("2026-01-01T00:00"), is_delete_marker=True)
    assert due_now(rules, marker, at("2026-01-30T00:00")) is None
    due = due_now(rules, marker, at("2026-01-31T00:00"))
    assert due is not None and due.action == "remove-delete-marker"


def test_locked_versions_are_never_due() -> None:
    locked = Version("logs/a", 1, {}, 0.0, locked=True)
    assert due_now(RULES, locked, at("2100-01-01T00:00")) is None


def test_abandoned_uploads_and_short_days() -> None:
    due = abort_due(RULES, "up/big", at("2026-05-01T08:00"))
    assert due is not None and due.at == at("2026-05-05T00:00")
    assert abort_due(RULES, "elsewhere", 0.0) is None
    # A 10-second "day" for tests: no rounding to midnight.
    short = Days(10)
    due = abort_due(RULES, "up/big", 1000.0, short)
    assert due is not None and due.at == 1030.0
    assert Days().after(0.0, 1) == DAY


def test_disabled_rules_do_nothing() -> None:
    rules = parse_lifecycle(
        config(
            "<ID>off</ID><Filter/><Status>Disabled</Status><Expiration><Days>1</Days></Expiration>"
        )
    )
    assert due_now(rules, Version("a", 1, {}, 0.0), at("2100-01-01T00:00")) is None
    assert isinstance(rules, LifecycleConfiguration)
