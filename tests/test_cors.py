"""
CORS as a pure decision (L{txs3.cors}): PutBucketCors documents in,
GetBucketCors documents out, and tables of preflight and actual requests
against configurations.

Behaviour follows AWS's "Elements of a CORS configuration", "How does
Amazon S3 evaluate the CORS configuration on a bucket?", the OPTIONS object
reference and the CORS troubleshooting page (error texts).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from txs3.cors import (
    NOT_ALLOWED,
    NOT_ENABLED,
    VARY,
    CorsConfiguration,
    CorsRule,
    _matches,
    actual_request_headers,
    parse_cors_xml,
    preflight,
    preflight_without_bucket,
    render_cors_xml,
)
from txs3.errors import S3Error


def cors_xml(*rules: str) -> bytes:
    body = "".join(f"<CORSRule>{r}</CORSRule>" for r in rules)
    return (
        '<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"{body}</CORSConfiguration>"
    ).encode()


EXAMPLE = cors_xml(
    "<ID>site</ID><AllowedOrigin>http://www.example.com</AllowedOrigin>"
    "<AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod>"
    "<AllowedMethod>DELETE</AllowedMethod><AllowedHeader>*</AllowedHeader>"
    "<ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-amz-version-id</ExposeHeader>"
    "<MaxAgeSeconds>3000</MaxAgeSeconds>",
    "<AllowedOrigin>https://*.example.org</AllowedOrigin>"
    "<AllowedMethod>GET</AllowedMethod><AllowedHeader>x-amz-*</AllowedHeader>"
    "<AllowedHeader>Content-Type</AllowedHeader>",
    "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
    "<AllowedMethod>HEAD</AllowedMethod>",
)


def test_parse_example() -> None:
    """AWS's example configuration parses to rules in document order."""
    config = parse_cors_xml(EXAMPLE)
    assert config.rules[0] == CorsRule(
        allowed_origins=("http://www.example.com",),
        allowed_methods=("PUT", "POST", "DELETE"),
        allowed_headers=("*",),
        expose_headers=("ETag", "x-amz-version-id"),
        max_age_seconds=3000,
        id="site",
    )
    assert config.rules[1].allowed_headers == ("x-amz-*", "Content-Type")
    assert config.rules[2].allowed_origins == ("*",)


def test_render_round_trips() -> None:
    """GetBucketCors renders what PutBucketCors parsed, and it parses back equal."""
    config = parse_cors_xml(EXAMPLE)
    rendered = render_cors_xml(config)
    assert rendered.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<CORSConfiguration xmlns=')
    assert b"<CORSRule><AllowedHeader>*</AllowedHeader><AllowedMethod>PUT</AllowedMethod>" in rendered
    assert parse_cors_xml(rendered) == config


ORIGIN_GET = "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"

# (body, error code, message or None)
INVALID: list[Any] = [
    pytest.param(b"<CORSConfiguration/>", "MalformedXML", None, id="no-rules"),
    pytest.param(b"<Other><CORSRule/></Other>", "MalformedXML", None, id="wrong-root"),
    pytest.param(b"not xml", "MalformedXML", None, id="not-xml"),
    pytest.param(cors_xml("<AllowedMethod>GET</AllowedMethod>"), "MalformedXML", None, id="no-origin"),
    pytest.param(cors_xml("<AllowedOrigin>*</AllowedOrigin>"), "MalformedXML", None, id="no-method"),
    pytest.param(cors_xml(ORIGIN_GET + "<Bogus>1</Bogus>"), "MalformedXML", None, id="unknown-element"),
    pytest.param(cors_xml(ORIGIN_GET + "<MaxAgeSeconds>-1</MaxAgeSeconds>"), "MalformedXML", None, id="negative-max-age"),
    pytest.param(cors_xml(ORIGIN_GET + "<MaxAgeSeconds>x</MaxAgeSeconds>"), "MalformedXML", None, id="text-max-age"),
    pytest.param(cors_xml(ORIGIN_GET + "<ID>a</ID><ID>b</ID>"), "MalformedXML", None, id="two-ids"),
    pytest.param(cors_xml(ORIGIN_GET + f"<ID>{'a' * 256}</ID>"), "MalformedXML", None, id="long-id"),
    pytest.param(cors_xml(*[ORIGIN_GET] * 101), "MalformedXML", None, id="101-rules"),
    pytest.param(
        cors_xml("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"),
        "InvalidRequest",
        "Found unsupported HTTP method in CORS config. Unsupported method is PATCH",
        id="patch",
    ),
    pytest.param(
        cors_xml("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>"),
        "InvalidRequest",
        "Found unsupported HTTP method in CORS config. Unsupported method is get",
        id="lower-case-method",
    ),
    pytest.param(
        cors_xml("<AllowedOrigin>http://*.*.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
        "InvalidRequest",
        'AllowedOrigin "http://*.*.com" can not have more than one wildcard.',
        id="origin-two-wildcards",
    ),
    pytest.param(
        cors_xml(ORIGIN_GET + "<AllowedHeader>x-*-*</AllowedHeader>"),
        "InvalidRequest",
        'AllowedHeader "x-*-*" can not have more than one wildcard.',
        id="header-two-wildcards",
    ),
]


@pytest.mark.parametrize(("body", "code", "message"), INVALID)
def test_invalid_configurations(body: bytes, code: str, message: str | None) -> None:
    """Invalid configurations are refused with AWS's code and message."""
    with pytest.raises(S3Error) as e:
        parse_cors_xml(body)
    assert e.value.code == code
    assert e.value.status == 400
    if message is not None:
        assert e.value.message == message


def test_hundred_rules_accepted() -> None:
    """Exactly 100 rules is within AWS's limit."""
    assert len(parse_cors_xml(cors_xml(*[ORIGIN_GET] * 100)).rules) == 100


CONFIG = parse_cors_xml(EXAMPLE)

SITE = {
    "Access-Control-Allow-Origin": "http://www.example.com",
    "Access-Control-Allow-Methods": "PUT, POST, DELETE",
    "Access-Control-Expose-Headers": "ETag, x-amz-version-id",
    "Access-Control-Max-Age": "3000",
    "Access-Control-Allow-Credentials": "true",
    "Vary": VARY,
}

# (origin, method, requested headers, expected headers)
PREFLIGHTS: list[Any] = [
    pytest.param("http://www.example.com", "PUT", None, SITE, id="exact-origin"),
    pytest.param(
        "http://www.example.com",
        "DELETE",
        "Content-Type, X-Amz-Meta-A",
        {**SITE, "Access-Control-Allow-Headers": "content-type, x-amz-meta-a"},
        id="any-header-echoed",
    ),
    pytest.param(
        "https://app.example.org",
        "GET",
        "x-amz-date,content-type",
        {
            "Access-Control-Allow-Origin": "https://app.example.org",
            "Access-Control-Allow-Methods": "GET",
            "Access-Control-Allow-Credentials": "true",
            "Vary": VARY,
            "Access-Control-Allow-Headers": "x-amz-date, content-type",
        },
        id="wildcard-origin-and-headers",
    ),
    pytest.param(
        "http://elsewhere.test",
        "HEAD",
        None,
        {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD", "Vary": VARY},
        id="star-origin-no-credentials",
    ),
    pytest.param(
        "http://www.example.com",
        "GET",
        None,
        {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD", "Vary": VARY},
        id="method-refused-next-rule-wins",
    ),
]


@pytest.mark.parametrize(("origin", "method", "requested", "expected"), PREFLIGHTS)
def test_preflight_allowed(origin: str, method: str, requested: str | None, expected: dict[str, str]) -> None:
    """The first rule allowing origin, method and every header answers."""
    headers = {"origin": origin, "access-control-request-method": method}
    if requested is not None:
        headers["access-control-request-headers"] = requested
    assert preflight(CONFIG, headers) == expected


# (config, headers, code, status, message)
REFUSALS: list[Any] = [
    pytest.param(CONFIG, {"origin": "http://x.test", "access-control-request-method": "PUT"}, "AccessForbidden", 403, NOT_ALLOWED, id="method-nowhere"),
    pytest.param(
        CONFIG,
        {"origin": "http://x.test", "access-control-request-method": "GET", "access-control-request-headers": "x-amz-date"},
        "AccessForbidden",
        403,
        NOT_ALLOWED,
        id="header-nowhere",
    ),
    pytest.param(
        CONFIG,
        {"origin": "https://app.example.org", "access-control-request-method": "GET", "access-control-request-headers": "x-amz-date, authorization"},
        "AccessForbidden",
        403,
        NOT_ALLOWED,
        id="one-header-refused-by-every-rule",
    ),
    pytest.param(None, {"origin": "http://x.test", "access-control-request-method": "GET"}, "AccessForbidden", 403, NOT_ENABLED, id="not-enabled"),
    pytest.param(None, {"origin": "http://x.test"}, "AccessForbidden", 403, NOT_ENABLED, id="not-enabled-before-method"),
    pytest.param(None, {}, "BadRequest", 400, "Insufficient information. Origin request header needed.", id="not-enabled-after-origin"),
    pytest.param(CONFIG, {"access-control-request-method": "GET"}, "BadRequest", 400, "Insufficient information. Origin request header needed.", id="no-origin"),
    pytest.param(CONFIG, {"origin": "http://x.test"}, "BadRequest", 400, "Invalid Access-Control-Request-Method: null", id="no-method"),
    pytest.param(CONFIG, {"origin": "http://x.test", "access-control-request-method": "PATCH"}, "BadRequest", 400, "Invalid Access-Control-Request-Method: PATCH", id="bad-method"),
]


@pytest.mark.parametrize(("config", "headers", "code", "status", "message"), REFUSALS)
def test_preflight_refused(config: CorsConfiguration | None, headers: dict[str, str], code: str, status: int, message: str) -> None:
    """A preflight no rule allows is refused with AWS's status and text."""
    with pytest.raises(S3Error) as e:
        preflight(config, headers)
    assert (e.value.code, e.value.status, e.value.message) == (code, status, message)


def test_refusal_names_method_and_resource() -> None:
    """A 403 carries the Method and ResourceType elements AWS adds."""
    with pytest.raises(S3Error) as e:
        preflight(CONFIG, {"origin": "http://x.test", "access-control-request-method": "PUT"}, "BUCKET")
    assert e.value.extra == {"Method": "PUT", "ResourceType": "BUCKET"}


def test_not_enabled_names_bucket_and_method() -> None:
    """Without a configuration the 403 names BUCKET even for an object path, and the requested method, or OPTIONS when none was sent (S3's recorded answers)."""
    for headers, method in (
        ({"origin": "http://x.test", "access-control-request-method": "PUT"}, "PUT"),
        ({"origin": "http://x.test"}, "OPTIONS"),
    ):
        with pytest.raises(S3Error) as e:
            preflight(None, headers, "OBJECT")
        assert e.value.extra == {"Method": method, "ResourceType": "BUCKET"}


def test_preflight_without_bucket() -> None:
    """A preflight for a missing bucket is 400 without Origin, else 403 AccessForbidden "Bucket not found" naming the method (OPTIONS when none) and BUCKET."""
    e = preflight_without_bucket({"access-control-request-method": "GET"})
    assert (e.code, e.status) == ("BadRequest", 400)
    e = preflight_without_bucket({"origin": "http://x.test", "access-control-request-method": "GET"})
    assert (e.code, e.status, e.message) == ("AccessForbidden", 403, "CORSResponse: Bucket not found")
    assert e.extra == {"Method": "GET", "ResourceType": "BUCKET"}
    assert preflight_without_bucket({"origin": "http://x.test"}).extra["Method"] == "OPTIONS"


def test_origin_is_case_sensitive() -> None:
    """Origins compare case-sensitively: an upper-case host matches only the * rule."""
    answer = preflight(CONFIG, {"origin": "http://WWW.example.com", "access-control-request-method": "GET"})
    assert answer["Access-Control-Allow-Origin"] == "*"


# (method, origin, expected)
ACTUAL: list[Any] = [
    pytest.param("PUT", "http://www.example.com", SITE, id="allowed"),
    pytest.param(
        "GET",
        "https://a.example.org",
        {"Access-Control-Allow-Origin": "https://a.example.org", "Access-Control-Allow-Methods": "GET", "Access-Control-Allow-Credentials": "true", "Vary": VARY},
        id="wildcard-origin",
    ),
    # S3 sends neither CORS headers nor Vary when no rule matches
    # (LocalStack's recordings against S3, test_cors_match_origins).
    pytest.param("PUT", "http://x.test", {}, id="no-rule-nothing"),
    pytest.param("GET", None, {}, id="no-origin"),
]


@pytest.mark.parametrize(("method", "origin", "expected"), ACTUAL)
def test_actual_request_headers(method: str, origin: str | None, expected: dict[str, str]) -> None:
    """An actual request gets the first matching rule's headers, never a refusal."""
    assert actual_request_headers(CONFIG, method, origin) == expected


def test_actual_request_without_configuration() -> None:
    """A bucket without CORS adds nothing to any response."""
    assert actual_request_headers(None, "GET", "http://x.test") == {}


TEXT = st.text(alphabet="ab.:/*-", max_size=12)


@given(pattern=TEXT.filter(lambda p: p.count("*") <= 1), value=TEXT)
def test_wildcard_matches_like_a_regex(pattern: str, value: str) -> None:
    """An origin or header pattern's one * matches any run of characters, the rest itself."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    assert _matches(pattern, value) == (re.fullmatch(regex, value, re.DOTALL) is not None)


# --- the real SDK's documents -----------------------------------------------------

SDK_RULES: list[dict[str, Any]] = [
    {
        "ID": "site",
        "AllowedHeaders": ["*"],
        "AllowedMethods": ["PUT", "POST", "DELETE"],
        "AllowedOrigins": ["http://www.example.com"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3000,
    },
    {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]},
]


def _s3_operation(name: str) -> Any:
    from botocore.session import get_session

    return get_session().get_service_model("s3").operation_model(name)


def test_botocore_put_bucket_cors_body_parses() -> None:
    """The body botocore sends for PutBucketCors parses to the rules it describes."""
    from botocore.serialize import create_serializer

    request = create_serializer("rest-xml").serialize_to_request(
        {"Bucket": "b", "CORSConfiguration": {"CORSRules": SDK_RULES}}, _s3_operation("PutBucketCors")
    )
    config = parse_cors_xml(request["body"])
    assert config.rules[0] == CorsRule(("http://www.example.com",), ("PUT", "POST", "DELETE"), ("*",), ("ETag",), 3000, "site")
    assert config.rules[1] == CorsRule(("*",), ("GET",))


def test_botocore_reads_get_bucket_cors() -> None:
    """botocore reads the GetBucketCors document back into the rules it sent."""
    from botocore.parsers import create_parser

    config = CorsConfiguration(
        (
            CorsRule(("http://www.example.com",), ("PUT", "POST", "DELETE"), ("*",), ("ETag",), 3000, "site"),
            CorsRule(("*",), ("GET",)),
        )
    )
    parsed = create_parser("rest-xml").parse(
        {"status_code": 200, "headers": {}, "body": render_cors_xml(config)},
        _s3_operation("GetBucketCors").output_shape,
    )
    assert parsed["CORSRules"] == SDK_RULES
