"""
Policy conditions (L{txs3.authz.conditions}) and the request context keys
they read (L{txs3.authz.context}), as tables.

Each row of a table is one condition block and one request: the values the
request carries for the key (C{None}: the key is absent) and whether the
block holds.  The row's id says what it proves.  The semantics are those
of AWS's "IAM JSON policy elements: Condition operators" and
"Single-valued vs. multivalued context keys" pages.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from txs3.authz.conditions import Env, all_hold, parse_condition
from txs3.authz.context import ANONYMOUS, Principal, RequestContext
from txs3.errors import S3Error

K = "test:key"


def holds(
    block: dict[str, Any],
    values: tuple[str, ...] | None,
    variables: bool = True,
    principal: Principal = ANONYMOUS,
    **context: Any,
) -> bool:
    """Whether C{block} holds for a request whose C{test:key} is C{values}."""
    extra = {} if values is None else {K: values}
    env = Env(RequestContext(extra=extra, **context), principal)
    return all_hold(parse_condition(block, variables), env)


def one(op: str, expected: Any) -> dict[str, Any]:
    return {op: {K: expected}}


# (operator, policy value(s), request values or None, holds)
OPERATOR_ROWS: list[Any] = [
    # -- strings
    pytest.param("StringEquals", "a", ("a",), True, id="StringEquals-equal"),
    pytest.param("StringEquals", "a", ("A",), False, id="StringEquals-is-case-sensitive"),
    pytest.param("StringEquals", ["a", "b"], ("b",), True, id="StringEquals-values-are-OR"),
    pytest.param("StringEquals", "a", None, False, id="StringEquals-absent-key-false"),
    pytest.param("StringEquals", "a*", ("abc",), False, id="StringEquals-star-is-literal"),
    pytest.param("StringEquals", "a*", ("a*",), True, id="StringEquals-star-matches-itself"),
    pytest.param("StringNotEquals", "a", ("b",), True, id="StringNotEquals-different"),
    pytest.param("StringNotEquals", ["a", "b"], ("b",), False, id="StringNotEquals-any-value-equal-fails"),
    pytest.param("StringNotEquals", "a", None, True, id="StringNotEquals-absent-key-true"),
    pytest.param("StringEqualsIgnoreCase", "AbC", ("aBc",), True, id="StringEqualsIgnoreCase-folds"),
    pytest.param("StringNotEqualsIgnoreCase", "AbC", ("abc",), False, id="StringNotEqualsIgnoreCase-folds"),
    pytest.param("StringNotEqualsIgnoreCase", "a", None, True, id="StringNotEqualsIgnoreCase-absent-true"),
    pytest.param("StringLike", "home/*", ("home/x/y",), True, id="StringLike-star-spans-slashes"),
    pytest.param("StringLike", "home/*", ("home/",), True, id="StringLike-star-matches-empty"),
    pytest.param("StringLike", "a?c", ("abc",), True, id="StringLike-question-one-char"),
    pytest.param("StringLike", "a?c", ("ac",), False, id="StringLike-question-not-zero-chars"),
    pytest.param("StringLike", "[ab]", ("a",), False, id="StringLike-no-character-classes"),
    pytest.param("StringLike", "[ab]", ("[ab]",), True, id="StringLike-brackets-literal"),
    pytest.param("StringLike", "a.c", ("abc",), False, id="StringLike-dot-literal"),
    pytest.param("StringLike", "*", ("",), True, id="StringLike-star-matches-empty-value"),
    pytest.param("StringLike", "Home/*", ("home/x",), False, id="StringLike-case-sensitive"),
    pytest.param("StringLike", "x*", None, False, id="StringLike-absent-false"),
    pytest.param("StringNotLike", "tmp/*", ("tmp/a",), False, id="StringNotLike-match-fails"),
    pytest.param("StringNotLike", "tmp/*", ("doc/a",), True, id="StringNotLike-nomatch-holds"),
    pytest.param("StringNotLike", "tmp/*", None, True, id="StringNotLike-absent-true"),
    # -- numbers
    pytest.param("NumericEquals", "10", ("10",), True, id="NumericEquals"),
    pytest.param("NumericEquals", "10", ("10.0",), True, id="NumericEquals-compares-numbers-not-text"),
    pytest.param("NumericEquals", 10, ("10",), True, id="NumericEquals-json-number-value"),
    pytest.param("NumericNotEquals", "10", ("11",), True, id="NumericNotEquals"),
    pytest.param("NumericNotEquals", "10", None, True, id="NumericNotEquals-absent-true"),
    pytest.param("NumericLessThan", "10", ("9",), True, id="NumericLessThan"),
    pytest.param("NumericLessThan", "10", ("10",), False, id="NumericLessThan-strict"),
    pytest.param("NumericLessThanEquals", "10", ("10",), True, id="NumericLessThanEquals"),
    pytest.param("NumericGreaterThan", "10", ("10.5",), True, id="NumericGreaterThan-decimal"),
    pytest.param("NumericGreaterThanEquals", "10", ("9",), False, id="NumericGreaterThanEquals"),
    pytest.param("NumericLessThan", "10", ("ten",), False, id="Numeric-non-number-request-value-fails"),
    pytest.param("NumericLessThan", "10", None, False, id="NumericLessThan-absent-false"),
    # -- dates: ISO 8601 and POSIX seconds, either side
    pytest.param("DateLessThan", "2030-01-01T00:00:00Z", ("2029-12-31T23:59:59Z",), True, id="DateLessThan-iso"),
    pytest.param("DateLessThan", "2030-01-01", ("2030-01-01T00:00:01Z",), False, id="DateLessThan-date-only-is-midnight-utc"),
    pytest.param("DateGreaterThan", "1893456000", ("2030-01-01T00:00:01Z",), True, id="DateGreaterThan-epoch-policy-iso-request"),
    pytest.param("DateEquals", "2030-01-01T01:00:00+01:00", ("1893456000",), True, id="DateEquals-offset-vs-epoch"),
    pytest.param("DateNotEquals", "2030-01-01T00:00:00Z", ("1893456000",), False, id="DateNotEquals-same-instant"),
    pytest.param("DateLessThanEquals", "2030-01-01T00:00:00.000Z", ("2030-01-01T00:00:00Z",), True, id="DateLessThanEquals-millis"),
    pytest.param("DateGreaterThanEquals", "2030-01-01", None, False, id="DateGreaterThanEquals-absent-false"),
    pytest.param("DateNotEquals", "2030-01-01", None, True, id="DateNotEquals-absent-true"),
    # -- booleans and binary
    pytest.param("Bool", "true", ("true",), True, id="Bool-true"),
    pytest.param("Bool", "True", ("true",), True, id="Bool-case-insensitive"),
    pytest.param("Bool", False, ("false",), True, id="Bool-json-boolean-value"),
    pytest.param("Bool", "false", ("true",), False, id="Bool-false"),
    pytest.param("Bool", "false", None, False, id="Bool-absent-false"),
    pytest.param("BinaryEquals", "QmluYXJ5", ("QmluYXJ5",), True, id="BinaryEquals"),
    # -- addresses
    pytest.param("IpAddress", "192.0.2.0/24", ("192.0.2.77",), True, id="IpAddress-v4-in-cidr"),
    pytest.param("IpAddress", "192.0.2.0/24", ("192.0.3.1",), False, id="IpAddress-v4-outside"),
    pytest.param("IpAddress", "192.0.2.7", ("192.0.2.7",), True, id="IpAddress-bare-address-is-/32"),
    pytest.param("IpAddress", "192.0.2.1/24", ("192.0.2.200",), True, id="IpAddress-host-bits-ignored"),
    pytest.param("IpAddress", "2001:db8::/32", ("2001:DB8:1::5",), True, id="IpAddress-v6"),
    pytest.param("IpAddress", "2001:db8::/32", ("192.0.2.1",), False, id="IpAddress-v6-cidr-v4-address"),
    pytest.param("IpAddress", ["192.0.2.0/24", "2001:db8::/32"], ("2001:db8::1",), True, id="IpAddress-mixed-list"),
    pytest.param("IpAddress", "0.0.0.0/0", ("not-an-ip",), False, id="IpAddress-garbage-request-value"),
    pytest.param("IpAddress", "192.0.2.0/24", None, False, id="IpAddress-absent-false"),
    pytest.param("NotIpAddress", "192.0.2.0/24", ("198.51.100.1",), True, id="NotIpAddress-outside"),
    pytest.param("NotIpAddress", "192.0.2.0/24", ("192.0.2.1",), False, id="NotIpAddress-inside"),
    pytest.param("NotIpAddress", "192.0.2.0/24", None, True, id="NotIpAddress-absent-true"),
    # -- ARNs
    pytest.param("ArnLike", "arn:aws:s3:::b/*", ("arn:aws:s3:::b/k",), True, id="ArnLike"),
    pytest.param("ArnEquals", "arn:aws:s3:::b/*", ("arn:aws:s3:::b/k",), True, id="ArnEquals-takes-wildcards-too"),
    pytest.param("ArnNotLike", "arn:aws:s3:::b/*", None, True, id="ArnNotLike-absent-true"),
    # -- IfExists
    pytest.param("StringEqualsIfExists", "a", None, True, id="IfExists-absent-true"),
    pytest.param("StringEqualsIfExists", "a", ("b",), False, id="IfExists-present-checks"),
    pytest.param("StringNotEqualsIfExists", "a", None, True, id="NotEqualsIfExists-absent-true"),
    pytest.param("NumericLessThanIfExists", "5", ("4",), True, id="NumericIfExists-present"),
    pytest.param("IpAddressIfExists", "192.0.2.0/24", None, True, id="IpAddressIfExists-absent-true"),
    pytest.param("BoolIfExists", "true", None, True, id="BoolIfExists-absent-true"),
    # -- Null
    pytest.param("Null", "true", None, True, id="Null-true-key-absent"),
    pytest.param("Null", "true", ("x",), False, id="Null-true-key-present"),
    pytest.param("Null", "false", ("x",), True, id="Null-false-key-present"),
    pytest.param("Null", "false", None, False, id="Null-false-key-absent"),
    pytest.param("Null", True, None, True, id="Null-json-boolean"),
    pytest.param("Null", "false", ("",), True, id="Null-empty-string-is-present"),
    # -- set operators over multivalued keys
    pytest.param("ForAllValues:StringEquals", ["a", "b"], ("a", "b"), True, id="ForAllValues-subset-holds"),
    pytest.param("ForAllValues:StringEquals", ["a", "b"], ("a", "c"), False, id="ForAllValues-one-outside-fails"),
    pytest.param("ForAllValues:StringEquals", ["a"], None, True, id="ForAllValues-absent-key-true"),
    pytest.param("ForAllValues:StringEquals", ["a"], (), True, id="ForAllValues-empty-set-true"),
    pytest.param("ForAllValues:StringLike", "Created*", ("CreatedBy", "CreatedAt"), True, id="ForAllValues-StringLike"),
    pytest.param("ForAllValues:StringNotEquals", ["a", "b"], ("c", "d"), True, id="ForAllValues-negated-none-listed"),
    pytest.param("ForAllValues:StringNotEquals", ["a", "b"], ("c", "a"), False, id="ForAllValues-negated-one-listed"),
    pytest.param("ForAllValues:StringNotEquals", ["a"], None, True, id="ForAllValues-negated-absent-true"),
    pytest.param("ForAnyValue:StringEquals", ["a", "b"], ("c", "b"), True, id="ForAnyValue-one-listed-holds"),
    pytest.param("ForAnyValue:StringEquals", ["a", "b"], ("c", "d"), False, id="ForAnyValue-none-listed"),
    pytest.param("ForAnyValue:StringEquals", ["a"], None, False, id="ForAnyValue-absent-key-false"),
    pytest.param("ForAnyValue:StringEquals", ["a"], (), False, id="ForAnyValue-empty-set-false"),
    pytest.param("ForAnyValue:StringNotEquals", ["a"], ("a", "b"), True, id="ForAnyValue-negated-one-unlisted"),
    pytest.param("ForAnyValue:StringNotEquals", ["a"], ("a",), False, id="ForAnyValue-negated-all-listed"),
    pytest.param("ForAnyValue:StringNotEquals", ["a"], None, False, id="ForAnyValue-negated-absent-false"),
    pytest.param("ForAnyValue:StringEqualsIfExists", ["a"], None, True, id="ForAnyValue-IfExists-absent-true"),
    pytest.param("forallvalues:stringequals", ["a"], ("a",), True, id="operator-names-case-insensitive"),
    # A plain operator over several request values: any may match; the
    # negated one holds only when none does.
    pytest.param("StringEquals", "a", ("b", "a"), True, id="plain-operator-multivalue-any"),
    pytest.param("StringNotEquals", "a", ("b", "a"), False, id="plain-negated-multivalue-none"),
]


@pytest.mark.parametrize(("op", "expected", "values", "result"), OPERATOR_ROWS)
def test_operator(op: str, expected: Any, values: tuple[str, ...] | None, result: bool) -> None:
    """Each operator decides as AWS documents for present, absent and multi-valued keys."""
    assert holds(one(op, expected), values) is result


BLOCK_ROWS: list[Any] = [
    pytest.param(
        {"StringEquals": {K: "a", "test:other": "b"}},
        {K: ("a",), "test:other": ("b",)},
        True,
        id="two-keys-both-hold",
    ),
    pytest.param(
        {"StringEquals": {K: "a", "test:other": "b"}},
        {K: ("a",), "test:other": ("c",)},
        False,
        id="two-keys-are-AND",
    ),
    pytest.param(
        {"StringLike": {K: "a*"}, "StringNotLike": {K: "*z"}},
        {K: ("abz",)},
        False,
        id="two-operators-are-AND",
    ),
    pytest.param(
        {"StringLike": {K: "a*"}, "StringNotLike": {K: "*z"}},
        {K: ("aby",)},
        True,
        id="two-operators-both-hold",
    ),
    pytest.param({}, {}, True, id="empty-condition-holds"),
    pytest.param(
        {"StringEquals": {"s3:ExistingObjectTag/Cost Center": "42"}},
        {"s3:existingobjecttag/cost center": ("42",)},
        True,
        id="key-with-space-in-tag-name",
    ),
    pytest.param(
        {"StringEquals": {"TEST:Key": "a"}},
        {K: ("a",)},
        True,
        id="condition-keys-case-insensitive",
    ),
]


@pytest.mark.parametrize(("block", "extra", "result"), BLOCK_ROWS)
def test_block(block: dict[str, Any], extra: dict[str, tuple[str, ...]], result: bool) -> None:
    """Several keys, and several operators, in one Condition element must all hold."""
    env = Env(RequestContext(extra=extra), ANONYMOUS)
    assert all_hold(parse_condition(block, True), env) is result


BOB = Principal("111122223333", "bob")

VARIABLE_ROWS: list[Any] = [
    pytest.param("StringLike", "home/${aws:username}/*", ("home/bob/x",), BOB, True, id="variable-in-StringLike"),
    pytest.param("StringLike", "home/${aws:username}/*", ("home/eve/x",), BOB, False, id="variable-other-user"),
    pytest.param("StringEquals", "${aws:username}", ("bob",), BOB, True, id="variable-in-StringEquals"),
    pytest.param("StringLike", "home/${aws:username}/*", ("home//x",), Principal("111122223333"), False, id="variable-absent-matches-nothing"),
    pytest.param("StringNotLike", "home/${aws:username}/*", ("home/x",), ANONYMOUS, True, id="variable-absent-negated-holds"),
    pytest.param("StringEquals", "${aws:username, 'nobody'}", ("nobody",), ANONYMOUS, True, id="variable-default-when-absent"),
    pytest.param("StringEquals", "${aws:username, 'it''s'}", ("it's",), ANONYMOUS, True, id="variable-default-doubled-quote"),
    pytest.param("StringEquals", "${AWS:UserName}", ("bob",), BOB, True, id="variable-key-case-insensitive"),
    pytest.param("StringLike", "a${*}", ("a*",), BOB, True, id="escape-star-is-literal"),
    pytest.param("StringLike", "a${*}", ("ab",), BOB, False, id="escape-star-no-wildcard"),
    pytest.param("StringLike", "a${?}", ("ab",), BOB, False, id="escape-question-no-wildcard"),
    pytest.param("StringEquals", "${$}{x}", ("${x}",), BOB, True, id="escape-dollar"),
    pytest.param("StringLike", "${aws:username}", ("b*",), Principal("1", "b*"), True, id="variable-value-star-is-literal"),
    pytest.param("StringLike", "${aws:username}", ("bob",), Principal("1", "b*"), False, id="variable-value-star-not-wildcard"),
    pytest.param("StringEqualsIgnoreCase", "${aws:username}", ("BOB",), BOB, True, id="variable-ignore-case"),
    pytest.param("Bool", "${test:flag}", ("true",), BOB, False, id="variable-absent-in-bool"),
]


@pytest.mark.parametrize(("op", "expected", "values", "who", "result"), VARIABLE_ROWS)
def test_policy_variables(
    op: str, expected: str, values: tuple[str, ...], who: Principal, result: bool
) -> None:
    """Policy variables resolve from the request, absent ones match nothing, and ${*} ${?} ${$} are literal."""
    assert holds(one(op, expected), values, principal=who) is result


def test_variables_only_in_version_2012() -> None:
    """Under Version 2008-10-17 a ${...} is plain text, as AWS documents."""
    block = one("StringEquals", "${aws:username}")
    assert holds(block, ("${aws:username}",), variables=False, principal=BOB)
    assert not holds(block, ("bob",), variables=False, principal=BOB)


MALFORMED_ROWS: list[Any] = [
    pytest.param({"StringEqualz": {K: "a"}}, "Invalid Condition type : StringEqualz", id="unknown-operator"),
    pytest.param({"ForSomeValues:StringEquals": {K: "a"}}, "Invalid Condition type : ForSomeValues:StringEquals", id="unknown-set-qualifier"),
    pytest.param({"NullIfExists": {K: "true"}}, "Invalid Condition type : NullIfExists", id="Null-takes-no-IfExists"),
    pytest.param({"ForAnyValue:Null": {K: "true"}}, "Invalid Condition type : ForAnyValue:Null", id="Null-takes-no-set-qualifier"),
    pytest.param({"NumericLessThan": {K: "ten"}}, "Invalid value for NumericLessThan: ten", id="numeric-value"),
    pytest.param({"DateLessThan": {K: "yesterday"}}, "Invalid value for DateLessThan: yesterday", id="date-value"),
    pytest.param({"IpAddress": {K: "192.0.2.0/33"}}, "Invalid value for IpAddress: 192.0.2.0/33", id="cidr-value"),
    pytest.param({"Null": {K: "maybe"}}, "Invalid value for Null: maybe", id="null-value"),
    pytest.param({"StringEquals": {K: []}}, "Condition StringEquals has no value for test:key", id="no-values"),
    pytest.param({"StringEquals": {K: {"a": 1}}}, "Invalid value for StringEquals: {'a': 1}", id="object-value"),
    pytest.param({"StringEquals": {"nokey": "a"}}, "Policy has an invalid condition key: nokey", id="key-without-service"),
    pytest.param({"StringEquals": "a"}, "Invalid Condition block for StringEquals", id="operator-not-object"),
    pytest.param(["StringEquals"], "Invalid Condition element", id="condition-not-object"),
]


@pytest.mark.parametrize(("block", "message"), MALFORMED_ROWS)
def test_malformed_condition(block: Any, message: str) -> None:
    """A Condition element that cannot be evaluated is MalformedPolicy, naming what is wrong."""
    with pytest.raises(S3Error) as e:
        parse_condition(block, True)
    assert (e.value.code, e.value.status, e.value.message) == ("MalformedPolicy", 400, message)


# -- the request context ----------------------------------------------------------

NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC).timestamp()

CONTEXT = RequestContext(
    now=NOW,
    secure_transport=True,
    source_ip="::ffff:192.0.2.9",
    headers={
        "user-agent": "aws-cli/2",
        "referer": "https://example.com/",
        "x-amz-acl": "bucket-owner-full-control",
        "x-amz-server-side-encryption": "AES256",
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        "x-amz-object-lock-mode": "GOVERNANCE",
    },
    query={"prefix": "home/", "delimiter": "/", "max-keys": "100", "versionId": "v1"},
    signature_version="AWS4-HMAC-SHA256",
    auth_type="REST-HEADER",
    request_tags={"Project": "blue", "Env": "prod"},
    existing_tags={"Classification": "secret", "Cost Center": "42"},
    tls_version="1.3",
)

KEY_ROWS: list[Any] = [
    pytest.param("aws:SecureTransport", BOB, ("true",), id="SecureTransport"),
    pytest.param("aws:SourceIp", BOB, ("192.0.2.9",), id="SourceIp-v4-mapped-unwrapped"),
    pytest.param("aws:UserAgent", BOB, ("aws-cli/2",), id="UserAgent-header"),
    pytest.param("aws:Referer", BOB, ("https://example.com/",), id="Referer-header"),
    pytest.param("aws:CurrentTime", BOB, ("2030-01-01T00:00:00Z",), id="CurrentTime-iso"),
    pytest.param("aws:EpochTime", BOB, ("1893456000",), id="EpochTime-seconds"),
    pytest.param("aws:username", BOB, ("bob",), id="username-of-user"),
    pytest.param("aws:username", Principal("111122223333"), None, id="username-absent-for-account"),
    pytest.param("aws:username", ANONYMOUS, None, id="username-absent-for-anonymous"),
    pytest.param("aws:PrincipalType", ANONYMOUS, ("Anonymous",), id="PrincipalType-anonymous"),
    pytest.param("aws:PrincipalType", Principal("1"), ("Account",), id="PrincipalType-account"),
    pytest.param("aws:PrincipalType", BOB, ("User",), id="PrincipalType-user"),
    pytest.param("aws:PrincipalAccount", BOB, ("111122223333",), id="PrincipalAccount"),
    pytest.param("aws:PrincipalArn", BOB, ("arn:aws:iam::111122223333:user/bob",), id="PrincipalArn-user"),
    pytest.param("s3:prefix", BOB, ("home/",), id="prefix-query"),
    pytest.param("s3:delimiter", BOB, ("/",), id="delimiter-query"),
    pytest.param("s3:max-keys", BOB, ("100",), id="max-keys-query"),
    pytest.param("s3:VersionId", BOB, ("v1",), id="VersionId-query"),
    pytest.param("s3:x-amz-acl", BOB, ("bucket-owner-full-control",), id="x-amz-acl-header"),
    pytest.param("s3:x-amz-server-side-encryption", BOB, ("AES256",), id="sse-header"),
    pytest.param("s3:x-amz-content-sha256", BOB, ("UNSIGNED-PAYLOAD",), id="content-sha256-header"),
    pytest.param("s3:x-amz-storage-class", BOB, None, id="missing-header-absent"),
    pytest.param("s3:object-lock-mode", BOB, ("GOVERNANCE",), id="object-lock-mode-header"),
    pytest.param("s3:signatureversion", BOB, ("AWS4-HMAC-SHA256",), id="signatureversion"),
    pytest.param("s3:authType", BOB, ("REST-HEADER",), id="authType"),
    pytest.param("s3:TlsVersion", BOB, ("1.3",), id="TlsVersion"),
    pytest.param("s3:RequestObjectTag/Project", BOB, ("blue",), id="RequestObjectTag"),
    pytest.param("s3:RequestObjectTag/project", BOB, ("blue",), id="RequestObjectTag-key-case-insensitive"),
    pytest.param("s3:RequestObjectTag/Owner", BOB, None, id="RequestObjectTag-absent"),
    pytest.param("s3:RequestObjectTagKeys", BOB, ("Project", "Env"), id="RequestObjectTagKeys-multivalued"),
    pytest.param("s3:ExistingObjectTag/Classification", BOB, ("secret",), id="ExistingObjectTag"),
    pytest.param("s3:ExistingObjectTag/Cost Center", BOB, ("42",), id="ExistingObjectTag-key-with-space"),
    pytest.param("aws:SourceVpce", BOB, None, id="unknown-global-key-absent"),
]


@pytest.mark.parametrize(("key", "who", "values"), KEY_ROWS)
def test_context_key(key: str, who: Principal, values: tuple[str, ...] | None) -> None:
    """Each condition key is answered from the request context, case-insensitively, or is absent."""
    assert CONTEXT.values(key.lower(), who) == values


def test_empty_context_has_no_keys() -> None:
    """A context built with nothing carries no key at all, so negated operators hold and positive ones fail."""
    empty = RequestContext()
    for key in ("aws:securetransport", "aws:sourceip", "aws:currenttime", "s3:prefix",
                "s3:requestobjecttagkeys", "s3:existingobjecttag/a", "s3:x-amz-acl"):
        assert empty.values(key, BOB) is None, key


def test_bad_source_ip_is_absent() -> None:
    """An unparseable client address is no address: IpAddress fails and NotIpAddress holds."""
    ctx = RequestContext(source_ip="unix:/tmp/socket")
    assert ctx.values("aws:sourceip", ANONYMOUS) is None


def test_context_drives_conditions() -> None:
    """Real context fields feed the operators: a TLS request from 192.0.2.9 before 2031 with a tag key set."""
    block = {
        "Bool": {"aws:SecureTransport": "true"},
        "IpAddress": {"aws:SourceIp": "192.0.2.0/24"},
        "DateLessThan": {"aws:CurrentTime": "2031-01-01T00:00:00Z"},
        "ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["Project", "Env", "Team"]},
        "StringEquals": {"s3:ExistingObjectTag/Classification": "secret"},
    }
    assert all_hold(parse_condition(block, True), Env(CONTEXT, BOB))
    insecure = RequestContext(secure_transport=False, source_ip="192.0.2.9", now=NOW)
    assert not all_hold(parse_condition(block, True), Env(insecure, BOB))
