"""
Tests for SigV4 authentication (L{txs3.auth.authenticate} with
``AWS4-HMAC-SHA256`` headers and presigned URLs).

Strategy: the signatures come from outside txs3.  AWS's published examples
(the "Examples: Signature Calculations" of the S3 API reference, credentials
C{AKIAIOSFODNN7EXAMPLE}) pin the algorithm; botocore's own signers
(C{S3SigV4Auth}, C{S3SigV4QueryAuth}) and awscrt's (the CRT that the AWS
CLI v2 uses) sign requests the way real clients do, and each request is
turned into the L{RequestHead} the server would build from the wire.  Then
each part of a request is tampered with to check that it is covered.
Hypothesis checks the canonical query string against botocore's encoder.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import replace
from unittest import mock
from urllib.parse import quote, quote_plus, urlsplit

import botocore.auth
import pytest
from awscrt import auth as crt_auth
from awscrt import http as crt_http
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from txs3.auth import (
    Authenticated,
    PayloadPlan,
    RequestHead,
    Secret,
    authenticate,
)
from txs3.auth.canonical import parse_amz_date
from txs3.auth.sigv4_signing import canonical_query_string, signing_key
from txs3.errors import S3Error

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z
SECRET = Secret("AKIDTXS3TEST", "s3cr3t/key+with/odd=chars", "owner-1", "Owner One")
OTHER = Secret("AKIDOTHER", "another-secret", "owner-2", "Owner Two")
KEYS = {s.access_key: s for s in (SECRET, OTHER)}

AWS_EXAMPLE = Secret(
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "example-owner",
    "Example",
)
AWS_NOW = 1369353600.0  # 20130524T000000Z, the time of every AWS example
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def lookup(access_key: str) -> Secret | None:
    return KEYS.get(access_key) or (
        AWS_EXAMPLE if access_key == AWS_EXAMPLE.access_key else None
    )


# --- helpers: real signers, and the request head the server would see --------


def _sign(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    *,
    payload: str | None = None,
    secret: Secret = SECRET,
    region: str = "us-east-1",
    when: float = NOW,
) -> AWSRequest:
    """Sign like boto3 does, at time C{when}, optionally forcing the payload
    hash string botocore puts in x-amz-content-sha256."""
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    signer_class: type[S3SigV4Auth] = S3SigV4Auth
    if payload is not None:
        forced = payload

        class Forced(S3SigV4Auth):
            def payload(self, request: AWSRequest) -> str:
                return forced

        signer_class = Forced
    signer = signer_class(
        Credentials(secret.access_key, secret.secret_key), "s3", region
    )
    fixed = datetime.datetime.fromtimestamp(when, datetime.UTC).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=fixed):
        signer.add_auth(request)
    return request


def _presign(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    expires: int = 3600,
    when: float = NOW,
) -> AWSRequest:
    """Presign like boto3's generate_presigned_url."""
    request = AWSRequest(method=method, url=url, headers=dict(headers or {}))
    signer = S3SigV4QueryAuth(
        Credentials(SECRET.access_key, SECRET.secret_key),
        "s3",
        "us-east-1",
        expires=expires,
    )
    fixed = datetime.datetime.fromtimestamp(when, datetime.UTC).replace(tzinfo=None)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=fixed):
        signer.add_auth(request)
    return request


def _head(
    request: AWSRequest,
    *,
    host_bucket: str | None = None,
    drop: tuple[str, ...] = (),
    **overrides: str,
) -> RequestHead:
    """The head the server builds from the request as sent on the wire."""
    parts = urlsplit(request.url)
    headers: dict[str, str] = {"host": parts.netloc}
    for name, value in request.headers.items():
        lowered = name.lower()
        headers[lowered] = (
            f"{headers[lowered]},{value}" if lowered in headers else str(value)
        )
    for name in drop:
        headers.pop(name, None)
    headers.update({k.replace("_", "-"): v for k, v in overrides.items()})
    return RequestHead(request.method, parts.path, parts.query, headers, host_bucket)


def _fails(head: RequestHead, code: str, now: float = NOW) -> S3Error:
    with pytest.raises(S3Error) as caught:
        authenticate(head, lookup, now)
    assert caught.value.code == code, caught.value
    return caught.value


# --- AWS's published examples -------------------------------------------------


def _example_authorization(signed_headers: str, signature: str) -> str:
    return (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
        f"s3/aws4_request,SignedHeaders={signed_headers},Signature={signature}"
    )


EXAMPLES = {
    "GET object": (
        "GET",
        "/test.txt",
        "",
        {"range": "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256},
        "host;range;x-amz-content-sha256;x-amz-date",
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    ),
    "PUT object": (
        "PUT",
        "/test%24file.text",
        "",
        {
            "date": "Fri, 24 May 2013 00:00:00 GMT",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
            "x-amz-content-sha256": (
                "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
            ),
        },
        "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
    ),
    "GET lifecycle": (
        "GET",
        "/",
        "lifecycle",
        {"x-amz-content-sha256": EMPTY_SHA256},
        "host;x-amz-content-sha256;x-amz-date",
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    ),
    "list objects": (
        "GET",
        "/",
        "max-keys=2&prefix=J",
        {"x-amz-content-sha256": EMPTY_SHA256},
        "host;x-amz-content-sha256;x-amz-date",
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    ),
}


def _example_head(name: str) -> RequestHead:
    method, path, query, extra, signed, signature = EXAMPLES[name]
    headers = {
        "host": "examplebucket.s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "authorization": _example_authorization(signed, signature),
        **extra,
    }
    return RequestHead(method, path, query, headers, "examplebucket")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_aws_documented_examples(name: str) -> None:
    """AWS's four header-signed examples verify, as the example key's owner."""
    result = authenticate(_example_head(name), lookup, AWS_NOW)
    assert result.identity == AWS_EXAMPLE.identity()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_aws_documented_examples_tampered(name: str) -> None:
    """Changing one character of the path of each example breaks its signature."""
    head = _example_head(name)
    tampered = replace(head, raw_path=head.raw_path + "x")
    error = _fails(tampered, "SignatureDoesNotMatch", AWS_NOW)
    assert error.extra["CanonicalRequest"].split("\n")[1] == head.raw_path + "x"


def test_aws_documented_put_object_plan() -> None:
    """The PUT example's x-amz-content-sha256 becomes the body hash to check."""
    result = authenticate(_example_head("PUT object"), lookup, AWS_NOW)
    assert result.payload == PayloadPlan(
        content_sha256="44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    )


def test_aws_documented_presigned_url() -> None:
    """AWS's presigned GET example verifies and signs UNSIGNED-PAYLOAD."""
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    head = RequestHead(
        "GET", "/test.txt", query, {"host": "examplebucket.s3.amazonaws.com"}
    )
    result = authenticate(head, lookup, AWS_NOW + 86399)
    assert result.identity == AWS_EXAMPLE.identity()
    assert result.payload == PayloadPlan()
    expired = _fails(head, "AccessDenied", AWS_NOW + 86401)
    assert expired.message == "Request has expired"


STREAMING_HEADERS = {
    "host": "s3.amazonaws.com",
    "x-amz-date": "20130524T000000Z",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    "content-encoding": "aws-chunked",
    "x-amz-decoded-content-length": "66560",
}


def test_aws_documented_streaming_seed() -> None:
    """AWS's chunked-upload example verifies and plans signed aws-chunked."""
    headers = {
        **STREAMING_HEADERS,
        "content-length": "66824",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "authorization": _example_authorization(
            "content-encoding;content-length;host;x-amz-content-sha256;"
            "x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
            "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        ),
    }
    head = RequestHead("PUT", "/examplebucket/chunkObject.txt", "", headers)
    plan = authenticate(head, lookup, AWS_NOW).payload
    assert plan.mode == "aws-chunked"
    assert plan.decoded_length == 66560
    assert not plan.trailer
    assert plan.chunk_signing is not None
    assert plan.chunk_signing.seed_signature == (
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    )
    assert plan.chunk_signing.scope == "20130524/us-east-1/s3/aws4_request"
    assert plan.chunk_signing.amz_date == "20130524T000000Z"
    assert plan.chunk_signing.signing_key == signing_key(
        AWS_EXAMPLE.secret_key, "20130524", "us-east-1"
    )


def test_aws_documented_streaming_trailer_seed() -> None:
    """AWS's signed-trailer example verifies and announces its CRC32C trailer."""
    headers = {
        **STREAMING_HEADERS,
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "x-amz-trailer": "x-amz-checksum-crc32c",
        "authorization": _example_authorization(
            "content-encoding;host;x-amz-content-sha256;x-amz-date;"
            "x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
            "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
        ),
    }
    head = RequestHead("PUT", "/examplebucket/chunkObject.txt", "", headers)
    plan = authenticate(head, lookup, AWS_NOW).payload
    assert plan.mode == "aws-chunked"
    assert plan.trailer
    assert plan.trailer_names == ("x-amz-checksum-crc32c",)
    assert plan.chunk_signing is not None


# --- botocore-signed requests -------------------------------------------------

BOTOCORE_URLS = [
    "https://s3.example.com/bucket/key",
    "https://s3.example.com/bucket/a%20b/c%2Bd%21%28%29%2A%27",
    "https://s3.example.com/bucket/%E2%82%AC%20%E6%97%A5%E6%9C%AC/x~y",
    "https://s3.example.com/bucket//double//slash/./dot/../dotdot",
    "https://s3.example.com/bucket?list-type=2&prefix=a%2Fb&delimiter=%2F",
    "https://s3.example.com/bucket/?prefix&max-keys=1000&delimiter=%2F",
    "https://s3.example.com/bucket/key?versionId=3%2Fx%3Dy&a=2&a=1",
    "https://s3.example.com/bucket?prefix=%E2%82%AC%20%2B%25",
    "https://s3.example.com/",
]


@pytest.mark.parametrize("url", BOTOCORE_URLS)
def test_botocore_signed_requests_verify(url: str) -> None:
    """A botocore-signed request verifies and yields the key's identity."""
    result = authenticate(_head(_sign("GET", url)), lookup, NOW)
    assert result.identity == SECRET.identity()
    assert result.payload == PayloadPlan(content_sha256=EMPTY_SHA256)


def test_botocore_virtual_host_request() -> None:
    """Virtual-host requests sign the path without the bucket."""
    request = _sign(
        "GET", "https://bucket.s3.example.com/key?uploadId=abc&partNumber=3"
    )
    result = authenticate(_head(request, host_bucket="bucket"), lookup, NOW)
    assert result.identity == SECRET.identity()


def test_botocore_put_with_metadata() -> None:
    """A PUT with a body and x-amz-meta headers verifies; the body hash is planned."""
    body = b"hello world"
    request = _sign(
        "PUT",
        "https://s3.example.com/bucket/obj",
        {
            "Content-Type": "text/plain",
            "x-amz-meta-Colour": "  blue   and  green ",
            "Expect": "100-continue",
        },
        body,
    )
    result = authenticate(_head(request), lookup, NOW)
    assert result.payload.content_sha256 == (
        "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
    )


def test_expect_header_in_signed_headers() -> None:
    """Cyberduck signs Expect: the server verifies against SignedHeaders as given."""
    request = AWSRequest(
        method="PUT",
        url="https://s3.example.com/bucket/obj",
        headers={"Expect": "100-continue"},
        data=b"x",
    )
    with mock.patch.object(botocore.auth, "SIGNED_HEADERS_BLACKLIST", []):
        fixed = datetime.datetime.fromtimestamp(NOW, datetime.UTC).replace(tzinfo=None)
        with mock.patch.object(
            botocore.auth, "get_current_datetime", return_value=fixed
        ):
            S3SigV4Auth(
                Credentials(SECRET.access_key, SECRET.secret_key), "s3", "us-east-1"
            ).add_auth(request)
    assert "expect" in request.headers["Authorization"]
    head = _head(request)
    assert authenticate(head, lookup, NOW).identity == SECRET.identity()
    _fails(_head(request, expect="nothing"), "SignatureDoesNotMatch")


def test_botocore_date_header_instead_of_x_amz_date() -> None:
    """A request timed by its Date header (no x-amz-date) verifies."""
    request = _sign("GET", "https://s3.example.com/bucket/key", {"Date": "x"})
    assert "X-Amz-Date" not in request.headers
    assert authenticate(_head(request), lookup, NOW).identity == SECRET.identity()


def test_any_region_is_accepted() -> None:
    """The region comes from the credential scope; any region verifies."""
    request = _sign("GET", "https://s3.example.com/bucket/key", region="eu-central-1")
    result = authenticate(_head(request), lookup, NOW)
    assert result.identity == SECRET.identity()


def test_awscrt_signed_request_verifies() -> None:
    """A request signed by awscrt (the AWS CLI v2 signer) verifies too."""
    request = crt_http.HttpRequest(
        "GET",
        "/bucket/some%20key?list-type=2&prefix=a%20b",
        crt_http.HttpHeaders([("Host", "s3.example.com")]),
    )
    config = crt_auth.AwsSigningConfig(
        algorithm=crt_auth.AwsSigningAlgorithm.V4,
        signature_type=crt_auth.AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=crt_auth.AwsCredentialsProvider.new_static(
            SECRET.access_key, SECRET.secret_key
        ),
        region="us-west-2",
        service="s3",
        date=datetime.datetime.fromtimestamp(NOW, datetime.UTC),
        signed_body_value=EMPTY_SHA256,
        signed_body_header_type=crt_auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
        use_double_uri_encode=False,
        should_normalize_uri_path=False,
    )
    crt_auth.aws_sign_request(request, config).result(timeout=10)
    path, _, query = request.path.partition("?")
    headers = {name.lower(): value for name, value in request.headers}
    result = authenticate(RequestHead("GET", path, query, headers), lookup, NOW)
    assert result.identity == SECRET.identity()


# --- tampering ----------------------------------------------------------------


def test_wrong_secret() -> None:
    """A signature made with another secret fails with AWS's debug elements."""
    impostor = Secret(SECRET.access_key, "not-the-secret", "x", "x")
    request = _sign("GET", "https://s3.example.com/bucket/key", secret=impostor)
    error = _fails(_head(request), "SignatureDoesNotMatch")
    assert error.status == 403
    assert error.extra["AWSAccessKeyId"] == SECRET.access_key
    assert error.extra["StringToSign"].startswith("AWS4-HMAC-SHA256\n")
    assert error.extra["CanonicalRequest"].startswith("GET\n/bucket/key\n")
    assert error.extra["SignatureProvided"] in request.headers["Authorization"]


@pytest.mark.parametrize(
    "change",
    [
        {"raw_path": "/bucket/other"},
        {"raw_path": "/bucket/key/"},
        {"raw_path": "/bucket/Key"},
        {"method": "DELETE"},
        {"raw_query": "versionId=2"},
        {"raw_query": "acl"},
        {"host_bucket": "another"},
    ],
)
def test_tampered_request_line(change: dict[str, str]) -> None:
    """Changing method, path or query of a signed request breaks it (the
    host bucket is not signed in v4, so that one still verifies)."""
    head = _head(_sign("GET", "https://s3.example.com/bucket/key"))
    tampered = replace(head, **change)
    if "host_bucket" in change:
        assert authenticate(tampered, lookup, NOW).identity is not None
    else:
        _fails(tampered, "SignatureDoesNotMatch")


def test_equivalent_path_encoding_accepted() -> None:
    """A path spelt with other percent-escapes of the same key still verifies
    (the re-encoded fallback), but a path naming another key does not."""
    request = _sign("GET", "https://s3.example.com/bucket/a%28b%29")
    head = _head(request)
    same_key = replace(head, raw_path="/bucket/a(b)")
    assert authenticate(same_key, lookup, NOW).identity is not None
    _fails(replace(head, raw_path="/bucket/a(c)"), "SignatureDoesNotMatch")
    _fails(replace(head, raw_path="/bucket/a%2528b%2529"), "SignatureDoesNotMatch")


def test_tampered_header() -> None:
    """Changing a signed header's value breaks the signature."""
    request = _sign("PUT", "https://s3.example.com/bucket/k", {"x-amz-acl": "private"})
    assert authenticate(_head(request), lookup, NOW).identity is not None
    _fails(_head(request, x_amz_acl="public-read"), "SignatureDoesNotMatch")
    _fails(_head(request, host="evil.example.com"), "SignatureDoesNotMatch")


def test_unsigned_amz_header_refused() -> None:
    """An x-amz-* header added after signing is refused, as AWS does."""
    request = _sign("PUT", "https://s3.example.com/bucket/k")
    head = _head(request, x_amz_copy_source="/bucket/secret")
    error = _fails(head, "AccessDenied")
    assert error.extra["HeadersNotSigned"] == "x-amz-copy-source"


def test_unknown_access_key() -> None:
    """An access key the store does not know is InvalidAccessKeyId."""
    stranger = Secret("AKIDNOBODY", "whatever", "x", "x")
    request = _sign("GET", "https://s3.example.com/bucket/key", secret=stranger)
    error = _fails(_head(request), "InvalidAccessKeyId")
    assert error.extra == {"AWSAccessKeyId": "AKIDNOBODY"}


def test_other_user_key() -> None:
    """Each key authenticates as its own owner."""
    request = _sign("GET", "https://s3.example.com/bucket/key", secret=OTHER)
    assert authenticate(_head(request), lookup, NOW).identity == OTHER.identity()


@pytest.mark.parametrize("offset", [-16 * 60, 16 * 60, 86400])
def test_clock_skew_refused(offset: float) -> None:
    """A request signed more than 15 minutes away from now is too skewed."""
    request = _sign("GET", "https://s3.example.com/bucket/key", when=NOW + offset)
    error = _fails(_head(request), "RequestTimeTooSkewed")
    assert error.status == 403
    assert error.extra["ServerTime"] == "2023-11-14T22:13:20Z"
    assert error.extra["RequestTime"] == request.headers["X-Amz-Date"]
    assert error.extra["MaxAllowedSkewMilliseconds"] == "900000"


@pytest.mark.parametrize("offset", [-14 * 60, 14 * 60])
def test_clock_skew_tolerated(offset: float) -> None:
    """Up to 15 minutes of skew either way is accepted."""
    request = _sign("GET", "https://s3.example.com/bucket/key", when=NOW + offset)
    assert authenticate(_head(request), lookup, NOW).identity is not None


def test_missing_date() -> None:
    """Without x-amz-date or Date the request is refused."""
    head = _head(_sign("GET", "https://s3.example.com/b/k"), drop=("x-amz-date",))
    error = _fails(head, "AccessDenied")
    assert "Date or x-amz-date" in error.message


def test_credential_date_must_match_request_date() -> None:
    """A scope date other than x-amz-date's is a malformed header."""
    request = _sign("GET", "https://s3.example.com/bucket/key")
    authorization = request.headers["Authorization"].replace("/20231114/", "/20231113/")
    _fails(_head(request, authorization=authorization), "AuthorizationHeaderMalformed")


# --- the payload plan ---------------------------------------------------------


def test_missing_content_sha256() -> None:
    """S3 SigV4 requires x-amz-content-sha256: InvalidRequest without it."""
    request = _sign("GET", "https://s3.example.com/bucket/key")
    head = _head(request, drop=("x-amz-content-sha256",))
    error = _fails(head, "InvalidRequest")
    assert "x-amz-content-sha256" in error.message


def test_bad_content_sha256() -> None:
    """An x-amz-content-sha256 that is neither a hash nor a marker is refused."""
    request = _sign("PUT", "https://s3.example.com/b/k", payload="STREAMING-NONSENSE")
    error = _fails(_head(request), "InvalidArgument")
    assert error.extra["ArgumentName"] == "x-amz-content-sha256"


@pytest.mark.parametrize(
    ("payload", "mode", "signed", "trailer"),
    [
        ("UNSIGNED-PAYLOAD", "plain", False, False),
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "aws-chunked", True, False),
        ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "aws-chunked", True, True),
        ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", "aws-chunked", False, True),
    ],
)
def test_payload_modes(payload: str, mode: str, signed: bool, trailer: bool) -> None:
    """Each x-amz-content-sha256 marker gives its framing, signing and trailer."""
    request = _sign(
        "PUT",
        "https://s3.example.com/bucket/key",
        {
            "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": "11",
            "x-amz-trailer": "X-Amz-Checksum-CRC32 ",
        },
        payload=payload,
    )
    plan = authenticate(_head(request), lookup, NOW).payload
    assert plan.mode == mode
    assert plan.content_sha256 is None
    assert (plan.chunk_signing is not None) == signed
    assert plan.trailer == trailer
    if mode == "aws-chunked":
        assert plan.decoded_length == 11
    if trailer:
        assert plan.trailer_names == ("x-amz-checksum-crc32",)
    if signed:
        assert plan.chunk_signing is not None
        signature = request.headers["Authorization"].rsplit("Signature=", 1)[1]
        assert plan.chunk_signing.seed_signature == signature


def test_streaming_requires_decoded_length() -> None:
    """Streaming without x-amz-decoded-content-length is MissingContentLength."""
    request = _sign(
        "PUT",
        "https://s3.example.com/bucket/key",
        payload="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    )
    error = _fails(_head(request), "MissingContentLength")
    assert error.status == 411


# --- malformed Authorization headers ----------------------------------------


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (
            "AWS4-HMAC-SHA256 Credential=AKIDTXS3TEST/20231114/us-east-1/s3/"
            "aws4_request, SignedHeaders=host",
            "AuthorizationHeaderMalformed",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDTXS3TEST/20231114/s3/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=ab",
            "AuthorizationHeaderMalformed",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDTXS3TEST/20231114/us-east-1/ec2/"
            "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
            "Signature=ab",
            "AuthorizationHeaderMalformed",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDTXS3TEST/20231114/us-east-1/s3/"
            "aws4_request, SignedHeaders=x-amz-content-sha256;x-amz-date, "
            "Signature=ab",
            "AuthorizationHeaderMalformed",
        ),
        (
            "AWS4-HMAC-SHA512 Credential=x, SignedHeaders=y, Signature=z",
            "InvalidArgument",
        ),
        ("Bearer token", "InvalidArgument"),
    ],
)
def test_malformed_authorization(authorization: str, code: str) -> None:
    """Unparseable or out-of-scope Authorization headers get AWS's codes."""
    request = _sign("GET", "https://s3.example.com/bucket/key")
    _fails(_head(request, authorization=authorization), code)


def test_anonymous() -> None:
    """A request without any credentials is anonymous, not an error."""
    head = RequestHead("GET", "/bucket/key", "prefix=a", {"host": "s3.example.com"})
    assert authenticate(head, lookup, NOW) == Authenticated(identity=None)


def test_two_mechanisms_refused() -> None:
    """An Authorization header together with a presigned query is refused."""
    presigned = _presign("GET", "https://s3.example.com/bucket/key")
    header = _sign("GET", "https://s3.example.com/bucket/key")
    head = replace(_head(header), raw_query=urlsplit(presigned.url).query)
    error = _fails(head, "InvalidArgument")
    assert "Only one auth mechanism" in error.message


# --- presigned URLs -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://s3.example.com/bucket/key",
        "https://s3.example.com/bucket/a%20b%2Bc?response-content-disposition="
        "attachment%3B%20filename%3D%22x%20y.txt%22",
        "https://s3.example.com/bucket/k?uploadId=u1&partNumber=2",
    ],
)
def test_botocore_presigned_verifies(url: str) -> None:
    """botocore's presigned URLs verify until they expire, and plan UNSIGNED."""
    head = _head(_presign("GET", url, expires=3600))
    for now in (NOW, NOW + 3600):
        result = authenticate(head, lookup, now)
        assert result.identity == SECRET.identity()
        assert result.payload == PayloadPlan()
    expired = _fails(head, "AccessDenied", NOW + 3601)
    assert expired.message == "Request has expired"
    assert expired.extra["X-Amz-Expires"] == "3600"


def test_presigned_future_date() -> None:
    """A presigned URL dated more than 15 minutes ahead is not valid yet."""
    head = _head(_presign("GET", "https://s3.example.com/b/k", when=NOW + 16 * 60))
    error = _fails(head, "AccessDenied")
    assert error.message == "Request is not valid yet"
    later = _head(_presign("GET", "https://s3.example.com/b/k", when=NOW + 14 * 60))
    assert authenticate(later, lookup, NOW).identity is not None


def test_presigned_expires_over_a_week() -> None:
    """X-Amz-Expires above 604800 seconds is refused."""
    head = _head(_presign("GET", "https://s3.example.com/b/k", expires=604801))
    error = _fails(head, "AuthorizationQueryParametersError")
    assert "604800" in error.message
    week = _head(_presign("GET", "https://s3.example.com/b/k", expires=604800))
    assert authenticate(week, lookup, NOW).identity is not None


def test_presigned_tampered() -> None:
    """Changing the path, a parameter or the signature of a presigned URL fails."""
    head = _head(_presign("GET", "https://s3.example.com/bucket/key?versionId=1"))
    _fails(replace(head, raw_path="/bucket/kez"), "SignatureDoesNotMatch")
    query = head.raw_query.replace("versionId=1", "versionId=2")
    _fails(replace(head, raw_query=query), "SignatureDoesNotMatch")
    _fails(replace(head, raw_query=head.raw_query + "&acl"), "SignatureDoesNotMatch")
    query = head.raw_query.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200")
    _fails(replace(head, raw_query=query), "SignatureDoesNotMatch")


def test_presigned_missing_parameter() -> None:
    """A presigned URL without one of its parameters is malformed."""
    head = _head(_presign("GET", "https://s3.example.com/bucket/key"))
    query = "&".join(
        part for part in head.raw_query.split("&") if "X-Amz-Date" not in part
    )
    _fails(replace(head, raw_query=query), "AuthorizationQueryParametersError")


def test_presigned_signed_and_unsigned_headers() -> None:
    """Headers signed into a presigned URL must be sent; extra x-amz-* refused."""
    head = _head(
        _presign("PUT", "https://s3.example.com/b/k", {"x-amz-acl": "private"})
    )
    assert authenticate(head, lookup, NOW).identity is not None
    _fails(_head_without(head, "x-amz-acl"), "SignatureDoesNotMatch")
    bare = _head(_presign("PUT", "https://s3.example.com/b/k"))
    extra = replace(bare, headers={**bare.headers, "x-amz-acl": "public-read"})
    error = _fails(extra, "AccessDenied")
    assert error.extra["HeadersNotSigned"] == "x-amz-acl"


def _head_without(head: RequestHead, name: str) -> RequestHead:
    return replace(head, headers={k: v for k, v in head.headers.items() if k != name})


def test_presigned_streaming_upload_plan() -> None:
    """A presigned PUT announcing unsigned trailers plans aws-chunked decoding."""
    headers = {
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": "5",
        "x-amz-trailer": "x-amz-checksum-crc32",
    }
    head = _head(_presign("PUT", "https://s3.example.com/b/k", headers))
    plan = authenticate(head, lookup, NOW).payload
    assert plan.mode == "aws-chunked"
    assert plan.trailer_names == ("x-amz-checksum-crc32",)
    assert plan.chunk_signing is None


# --- canonical query: properties against botocore ---------------------------

_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=12
)
_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8
)


@settings(max_examples=200)
@given(
    pairs=st.lists(st.tuples(_names, _text), max_size=6),
    encoder=st.sampled_from(
        [
            lambda s: quote(s, safe=""),
            quote_plus,
            lambda s: quote(s, safe="!$'()*,:@/;"),
        ]
    ),
)
def test_canonical_query_matches_botocore(
    pairs: list[tuple[str, str]], encoder: object
) -> None:
    """However a client percent-encodes its query, the canonical query equals
    what botocore computes from the decoded parameters."""
    assert callable(encoder)
    raw = "&".join(f"{encoder(n)}={encoder(v)}" for n, v in pairs)
    signer = S3SigV4Auth(Credentials("a", "b"), "s3", "us-east-1")
    expected = signer._canonical_query_string_params(pairs)
    assert canonical_query_string(raw) == expected


@given(names=st.lists(st.sampled_from(["prefix", "acl", "uploads", "a b"]), max_size=4))
def test_valueless_parameters(names: list[str]) -> None:
    """A parameter without '=' canonicalises as 'name=', like an empty value."""
    raw = "&".join(quote(n) for n in names)
    with_equals = "&".join(f"{quote(n)}=" for n in names)
    assert canonical_query_string(raw) == canonical_query_string(with_equals)
    assert all(
        part.endswith("=") for part in canonical_query_string(raw).split("&") if part
    )


_keys = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20
)


@settings(max_examples=60)
@given(key=_keys)
def test_any_key_botocore_signs_verifies(key: str) -> None:
    """Whatever the object key, botocore's signature of its URL verifies."""
    url = "https://s3.example.com/bucket/" + quote(key.encode("utf-8"), safe="/~")
    head = _head(_sign("GET", url))
    assert authenticate(head, lookup, NOW).identity == SECRET.identity()


def test_parse_amz_date() -> None:
    """SigV4 dates parse to POSIX seconds; other shapes do not parse."""
    assert parse_amz_date("20130524T000000Z") == AWS_NOW
    assert parse_amz_date("2013-05-24T00:00:00Z") is None
    assert parse_amz_date("20131324T000000Z") is None


@given(st.datetimes(min_value=datetime.datetime(1970, 1, 1), max_value=datetime.datetime(2999, 12, 31)))
def test_parse_amz_date_matches_strptime(moment: datetime.datetime) -> None:
    """The hand-written x-amz-date parser agrees with time.strptime on every valid date."""
    import calendar
    import time as _time

    from txs3.auth.canonical import parse_amz_date

    text = moment.strftime("%Y%m%dT%H%M%SZ")
    expected = float(calendar.timegm(_time.strptime(text, "%Y%m%dT%H%M%SZ")))
    assert parse_amz_date(text) == expected


@given(st.text(max_size=20))
def test_parse_amz_date_rejects_what_strptime_rejects(text: str) -> None:
    """Any string strptime refuses (or that is not 16 chars) is refused, never mis-parsed."""
    import time as _time

    from txs3.auth.canonical import parse_amz_date

    try:
        _time.strptime(text.strip(), "%Y%m%dT%H%M%SZ")
        ok = len(text.strip()) == 16
    except ValueError:
        ok = False
    if not ok:
        assert parse_amz_date(text) is None
