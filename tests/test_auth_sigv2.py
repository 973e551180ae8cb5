"""
Tests for SigV2 authentication (``Authorization: AWS AKID:sig`` and
presigned ``AWSAccessKeyId``/``Expires``/``Signature`` URLs).

Strategy: AWS's own examples ("Signing and Authenticating REST Requests",
credentials C{AKIAIOSFODNN7EXAMPLE}) pin the string to sign, and botocore's
C{HmacV1Auth}/C{HmacV1QueryAuth} sign requests as boto3 does with
``signature_version='s3'``; Cyberduck 4.7's requests
(C{shared/reference/cyberduck-sigv2.md}) are signed from AWS's definition
in this file.  Each request is then tampered with to check what the
signature covers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import replace
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from txs3.auth import Authenticated, RequestHead, Secret, authenticate
from txs3.auth.canonical import parse_http_date
from txs3.auth.sigv2 import canonical_resource
from txs3.errors import S3Error

NOW = 1_700_000_000.0
NOW_HTTP = "Tue, 14 Nov 2023 22:13:20 GMT"
SECRET = Secret("AKIDTXS3TEST", "s3cr3t/key+with/odd=chars", "owner-1", "Owner One")
AWS_EXAMPLE = Secret(
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "example-owner",
    "Example",
)
CYBERDUCK = Secret("hogehoge_user1", "cyberduck-secret", "owner-cd", "Cyberduck")
KEYS = {s.access_key: s for s in (SECRET, AWS_EXAMPLE, CYBERDUCK)}


def lookup(access_key: str) -> Secret | None:
    return KEYS.get(access_key)


def _fails(head: RequestHead, code: str, now: float = NOW) -> S3Error:
    with pytest.raises(S3Error) as caught:
        authenticate(head, lookup, now)
    assert caught.value.code == code, caught.value
    return caught.value


# --- AWS's published examples -------------------------------------------------

AWS_EXAMPLES = {
    "object GET": (
        "GET",
        "/photos/puppy.jpg",
        "",
        {"date": "Tue, 27 Mar 2007 19:36:42 +0000"},
        "awsexamplebucket1",
        "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=",
    ),
    "object PUT": (
        "PUT",
        "/photos/puppy.jpg",
        "",
        {
            "date": "Tue, 27 Mar 2007 21:15:45 +0000",
            "content-type": "image/jpeg",
            "content-length": "94328",
        },
        "awsexamplebucket1",
        "iqRzw+ileNPu1fhspnRs8nOjjIA=",
    ),
    "list": (
        "GET",
        "/",
        "prefix=photos&max-keys=50&marker=puppy",
        {"date": "Tue, 27 Mar 2007 19:42:41 +0000"},
        "awsexamplebucket1",
        "m0WP8eCtspQl5Ahe6L1SozdX9YA=",
    ),
    "fetch ACL": (
        "GET",
        "/",
        "acl",
        {"date": "Tue, 27 Mar 2007 19:44:46 +0000"},
        "awsexamplebucket1",
        "82ZHiFIjc+WbcwFKGUVEQspPn+0=",
    ),
    "upload with metadata": (
        "PUT",
        "/db-backup.dat.gz",
        "",
        {
            "date": "Tue, 27 Mar 2007 21:06:08 +0000",
            "x-amz-acl": "public-read",
            "content-type": "application/x-download",
            "content-md5": "4gJE4saaMU4BqNR0kLY+lw==",
            # Two X-Amz-Meta-ReviewedBy headers, joined by the server.
            "x-amz-meta-reviewedby": (
                "joe@awsexamplebucket1.net,jane@awsexamplebucket1.net"
            ),
            "x-amz-meta-filechecksum": "0x02661779",
            "x-amz-meta-checksumalgorithm": "crc32",
            "content-disposition": "attachment; filename=database.dat",
            "content-encoding": "gzip",
            "content-length": "5913339",
        },
        "static.awsexamplebucket1.net",
        "dKZcB+bz2EPXgSdXZp9ozGeOM4I=",
    ),
    "list all my buckets": (
        "GET",
        "/",
        "",
        {"date": "Wed, 28 Mar 2007 01:29:59 +0000"},
        None,
        "qGdzdERIC03wnaRNKh6OqZehG9s=",
    ),
    "unicode keys": (
        "GET",
        "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
        "",
        {"date": "Wed, 28 Mar 2007 01:49:49 +0000"},
        None,
        "DNEZGsoieTZ92F3bUfSPQcbGmlM=",
    ),
}


def _aws_example(name: str) -> tuple[RequestHead, float]:
    method, path, query, headers, bucket, signature = AWS_EXAMPLES[name]
    headers = {**headers, "authorization": f"AWS AKIAIOSFODNN7EXAMPLE:{signature}"}
    now = parse_http_date(headers["date"])
    assert now is not None
    return RequestHead(method, path, query, headers, bucket), now


@pytest.mark.parametrize("name", sorted(AWS_EXAMPLES))
def test_aws_documented_examples(name: str) -> None:
    """AWS's SigV2 examples verify as the example key's owner."""
    head, now = _aws_example(name)
    assert authenticate(head, lookup, now).identity == AWS_EXAMPLE.identity()


@pytest.mark.parametrize("name", sorted(AWS_EXAMPLES))
def test_aws_documented_examples_bucket_is_signed(name: str) -> None:
    """The canonical resource covers the bucket: another bucket fails."""
    head, now = _aws_example(name)
    if head.host_bucket is None:
        tampered = replace(head, raw_path="/other" + head.raw_path)
    else:
        tampered = replace(head, host_bucket="other")
    _fails(tampered, "SignatureDoesNotMatch", now)


def test_x_amz_date_empties_the_date_line() -> None:
    """With x-amz-date, the Date line is empty and x-amz-date is a signed
    x-amz header (AWS's rule; the signature is the one s3s computes for
    AWS's Delete example, whose printed signature breaks that rule)."""
    headers = {
        "date": "Tue, 27 Mar 2007 21:20:27 +0000",
        "x-amz-date": "Tue, 27 Mar 2007 21:20:26 +0000",
        "authorization": "AWS AKIAIOSFODNN7EXAMPLE:Ri1hpB1zpS9pGqR7y8kuNFCl4sE=",
    }
    head = RequestHead("DELETE", "/awsexamplebucket1/photos/puppy.jpg", "", headers)
    now = parse_http_date(headers["x-amz-date"])
    assert now is not None
    assert authenticate(head, lookup, now).identity == AWS_EXAMPLE.identity()
    later = {**headers, "x-amz-date": "Tue, 27 Mar 2007 21:20:27 +0000"}
    _fails(replace(head, headers=later), "SignatureDoesNotMatch", now)


def test_aws_documented_presigned() -> None:
    """AWS's query-string example verifies until its Expires, then expires."""
    query = (
        "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE"
        "&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620"
    )
    head = RequestHead("GET", "/photos/puppy.jpg", query, {}, "johnsmith")
    assert authenticate(head, lookup, 1175139620).identity == AWS_EXAMPLE.identity()
    error = _fails(head, "AccessDenied", 1175139621)
    assert error.message == "Request has expired"
    assert error.extra["Expires"] == "2007-03-29T03:40:20Z"
    _fails(replace(head, raw_path="/photos/kitten.jpg"), "SignatureDoesNotMatch", 0)


# --- botocore (boto3 with signature_version='s3') ----------------------------


def _sign(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    auth_path: str | None = None,
    secret: Secret = SECRET,
    date: str = NOW_HTTP,
) -> AWSRequest:
    request = AWSRequest(
        method=method, url=url, headers=dict(headers or {}), auth_path=auth_path
    )
    signer = HmacV1Auth(Credentials(secret.access_key, secret.secret_key))
    with mock.patch.object(HmacV1Auth, "_get_date", return_value=date):
        signer.add_auth(request)
    return request


def _presign(url: str, expires: int = 3600, method: str = "GET") -> AWSRequest:
    request = AWSRequest(method=method, url=url)
    signer = HmacV1QueryAuth(
        Credentials(SECRET.access_key, SECRET.secret_key), expires=expires
    )
    with mock.patch.object(
        HmacV1QueryAuth, "_get_date", return_value=str(int(NOW) + expires)
    ):
        signer.add_auth(request)
    return request


def _head(request: AWSRequest, host_bucket: str | None = None) -> RequestHead:
    parts = urlsplit(request.url)
    headers: dict[str, str] = {"host": parts.netloc}
    for name, value in request.headers.items():
        lowered = name.lower()
        headers[lowered] = (
            f"{headers[lowered]},{value}" if lowered in headers else str(value)
        )
    return RequestHead(request.method, parts.path, parts.query, headers, host_bucket)


BOTOCORE_URLS = [
    "https://s3.example.com/bucket/key",
    "https://s3.example.com/bucket/a%20b%2Bc/%E2%82%AC",
    "https://s3.example.com/bucket/?acl",
    "https://s3.example.com/bucket/key?uploadId=abc%2Fdef&partNumber=7",
    "https://s3.example.com/bucket/key?versionId=v%2B1%3D",
    "https://s3.example.com/bucket/key?response-content-disposition="
    "attachment%3B%20filename%3D%22a%20b.txt%22&response-content-type=text%2Fplain",
    "https://s3.example.com/bucket/?prefix=a%2F&delimiter=%2F&max-keys=10",
    "https://s3.example.com/bucket/?uploads&prefix=x",
    "https://s3.example.com/bucket/?tagging",
    "https://s3.example.com/bucket/?object-lock",
    "https://s3.example.com/",
]


@pytest.mark.parametrize("url", BOTOCORE_URLS)
def test_botocore_signed_requests_verify(url: str) -> None:
    """A request signed by botocore's HmacV1Auth verifies, plain payload."""
    result = authenticate(_head(_sign("GET", url)), lookup, NOW)
    assert result == Authenticated(identity=SECRET.identity())


def test_botocore_put_with_headers() -> None:
    """Content-MD5, Content-Type and x-amz-* headers are signed and verified."""
    request = _sign(
        "PUT",
        "https://s3.example.com/bucket/obj",
        {
            "Content-MD5": "XrY7u+Ae7tCTyyK7j1rNww==",
            "Content-Type": "text/plain",
            "x-amz-meta-Colour": "  blue, green  ",
            "x-amz-acl": "private",
        },
    )
    head = _head(request)
    assert authenticate(head, lookup, NOW).identity == SECRET.identity()
    for name, value in [
        ("content-md5", "AAAAAAAAAAAAAAAAAAAAAA=="),
        ("content-type", "text/html"),
        ("x-amz-meta-colour", "red"),
        ("x-amz-acl", "public-read"),
        ("x-amz-copy-source", "/bucket/secret"),
    ]:
        tampered = replace(head, headers={**head.headers, name: value})
        _fails(tampered, "SignatureDoesNotMatch")


def test_botocore_virtual_host() -> None:
    """Virtual-host requests sign /bucket + path (botocore's auth_path)."""
    request = _sign(
        "GET", "https://bucket.s3.example.com/key?acl", auth_path="/bucket/key"
    )
    head = _head(request, host_bucket="bucket")
    assert authenticate(head, lookup, NOW).identity == SECRET.identity()
    _fails(replace(head, host_bucket=None), "SignatureDoesNotMatch")


@pytest.mark.parametrize(
    "change",
    [
        {"method": "DELETE"},
        {"raw_path": "/bucket/kez"},
        {"raw_query": "acl"},
        {"raw_query": "versionId=2"},
        {"raw_query": "uploadId=x&partNumber=1"},
    ],
)
def test_tampered_request_line(change: dict[str, str]) -> None:
    """Method, path and signed sub-resources are covered by the signature."""
    head = _head(_sign("GET", "https://s3.example.com/bucket/key"))
    _fails(replace(head, **change), "SignatureDoesNotMatch")


def test_list_parameters_not_signed() -> None:
    """Plain list parameters are outside the canonical resource, as in S3."""
    head = _head(_sign("GET", "https://s3.example.com/bucket/?prefix=a"))
    changed = replace(head, raw_query="prefix=b&max-keys=3")
    assert authenticate(changed, lookup, NOW).identity == SECRET.identity()


def test_wrong_secret() -> None:
    """A signature under another secret fails, with AWS's debug elements."""
    impostor = Secret(SECRET.access_key, "wrong", "x", "x")
    request = _sign("GET", "https://s3.example.com/bucket/key", secret=impostor)
    error = _fails(_head(request), "SignatureDoesNotMatch")
    assert error.extra["AWSAccessKeyId"] == SECRET.access_key
    assert error.extra["StringToSign"] == f"GET\n\n\n{NOW_HTTP}\n/bucket/key"
    assert request.headers["Authorization"].endswith(error.extra["SignatureProvided"])


def test_unknown_access_key() -> None:
    """An unknown key is InvalidAccessKeyId."""
    stranger = Secret("AKIDNOBODY", "x", "x", "x")
    request = _sign("GET", "https://s3.example.com/b/k", secret=stranger)
    error = _fails(_head(request), "InvalidAccessKeyId")
    assert error.extra["AWSAccessKeyId"] == "AKIDNOBODY"


@pytest.mark.parametrize("offset", [-16 * 60, 16 * 60])
def test_clock_skew(offset: float) -> None:
    """A Date more than 15 minutes off is RequestTimeTooSkewed; 14 is fine."""
    head = _head(_sign("GET", "https://s3.example.com/b/k"))
    error = _fails(head, "RequestTimeTooSkewed", NOW + offset)
    assert error.extra["RequestTime"] == NOW_HTTP
    near = NOW + (14 * 60 if offset > 0 else -14 * 60)
    assert authenticate(head, lookup, near).identity is not None


def test_missing_date() -> None:
    """Without Date or x-amz-date a SigV2 request is refused."""
    head = _head(_sign("GET", "https://s3.example.com/b/k"))
    headers = {k: v for k, v in head.headers.items() if k != "date"}
    _fails(replace(head, headers=headers), "AccessDenied")


@pytest.mark.parametrize("authorization", ["AWS AKIDTXS3TEST", "AWS :sig", "AWS"])
def test_malformed_authorization(authorization: str) -> None:
    """An Authorization without AKID:signature is InvalidArgument."""
    head = _head(_sign("GET", "https://s3.example.com/b/k"))
    tampered = replace(head, headers={**head.headers, "authorization": authorization})
    error = _fails(tampered, "InvalidArgument")
    assert error.extra["ArgumentName"] == "Authorization"


# --- presigned ------------------------------------------------------------------


def test_botocore_presigned() -> None:
    """botocore's presigned SigV2 URL verifies until Expires, then expires."""
    head = _head(_presign("https://s3.example.com/bucket/key?versionId=3"))
    assert authenticate(head, lookup, NOW + 3600).identity == SECRET.identity()
    error = _fails(head, "AccessDenied", NOW + 3601)
    assert error.message == "Request has expired"
    _fails(
        replace(head, raw_query=head.raw_query.replace("versionId=3", "versionId=4")),
        "SignatureDoesNotMatch",
    )
    later = head.raw_query.replace(f"Expires={int(NOW) + 3600}", "Expires=9999999999")
    _fails(replace(head, raw_query=later), "SignatureDoesNotMatch")


def test_botocore_presigned_hoisted_headers() -> None:
    """Headers botocore moves into a presigned URL's query are verified there."""
    request = AWSRequest(
        method="PUT",
        url="https://s3.example.com/bucket/key",
        headers={"Content-Type": "text/plain", "x-amz-acl": "private"},
    )
    signer = HmacV1QueryAuth(Credentials(SECRET.access_key, SECRET.secret_key))
    with mock.patch.object(HmacV1QueryAuth, "_get_date", return_value="1700003600"):
        signer.add_auth(request)
    parts = urlsplit(request.url)
    assert "x-amz-acl=private" in parts.query
    head = RequestHead("PUT", parts.path, parts.query, {"host": parts.netloc})
    assert authenticate(head, lookup, NOW).identity == SECRET.identity()
    changed = parts.query.replace("x-amz-acl=private", "x-amz-acl=public-read")
    _fails(replace(head, raw_query=changed), "SignatureDoesNotMatch")


def test_presigned_missing_parameter() -> None:
    """A presigned URL without Expires is refused."""
    head = _head(_presign("https://s3.example.com/bucket/key"))
    query = "&".join(p for p in head.raw_query.split("&") if "Expires" not in p)
    error = _fails(replace(head, raw_query=query), "AccessDenied")
    assert "requires the Signature, Expires and AWSAccessKeyId" in error.message


def test_presigned_unencoded_plus_in_signature() -> None:
    """A '+' left unencoded in Signature still verifies (read back from ' ')."""
    heads = (_head(_presign(f"https://s3.example.com/b/k{i}")) for i in range(200))
    head = next(h for h in heads if "%2B" in h.raw_query)
    raw = replace(head, raw_query=head.raw_query.replace("%2B", "+"))
    assert authenticate(raw, lookup, NOW).identity == SECRET.identity()


def test_header_and_presign_together() -> None:
    """Signing by header and by query at once is InvalidArgument."""
    head = _head(_sign("GET", "https://s3.example.com/bucket/key"))
    presigned = _head(_presign("https://s3.example.com/bucket/key"))
    error = _fails(replace(head, raw_query=presigned.raw_query), "InvalidArgument")
    assert "Only one auth mechanism" in error.message


# --- Cyberduck 4.7 --------------------------------------------------------------


def _cyberduck_sign(to_sign: str) -> str:
    mac = hmac.new(CYBERDUCK.secret_key.encode(), to_sign.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def test_cyberduck_list_folder() -> None:
    """Cyberduck's folder listing (bare prefix, x-amz-request-payer) verifies;
    its string to sign covers the payer header but no list parameters."""
    date = "Sun, 29 Jan 2017 01:02:23 GMT"
    to_sign = f"GET\n\n\n{date}\nx-amz-request-payer:requester\n/test-bucket/"
    headers = {
        "host": "s3.example.com",
        "date": date,
        "x-amz-request-payer": "requester",
        "user-agent": "Cyberduck/4.7.2.18004 (Mac OS X/10.10.5) (x86_64)",
        "connection": "upgrade",
        "authorization": f"AWS hogehoge_user1:{_cyberduck_sign(to_sign)}",
    }
    head = RequestHead(
        "GET", "/test-bucket/", "max-keys=1000&prefix&delimiter=%2F", headers
    )
    now = parse_http_date(date)
    assert now is not None
    assert authenticate(head, lookup, now).identity == CYBERDUCK.identity()
    without_payer = {k: v for k, v in headers.items() if k != "x-amz-request-payer"}
    _fails(replace(head, headers=without_payer), "SignatureDoesNotMatch", now)


def test_cyberduck_upload() -> None:
    """Cyberduck's PUT with Content-Type verifies; the type is signed."""
    date = "Sun, 29 Jan 2017 01:03:00 GMT"
    to_sign = f"PUT\n\nimage/png\n{date}\n/test-bucket/gopher.png"
    headers = {
        "date": date,
        "content-type": "image/png",
        "content-length": "114063",
        "authorization": f"AWS hogehoge_user1:{_cyberduck_sign(to_sign)}",
    }
    head = RequestHead("PUT", "/test-bucket/gopher.png", "", headers)
    now = parse_http_date(date)
    assert now is not None
    assert authenticate(head, lookup, now).identity == CYBERDUCK.identity()
    as_jpeg = {**headers, "content-type": "image/jpeg"}
    _fails(replace(head, headers=as_jpeg), "SignatureDoesNotMatch", now)


# --- canonical resource ---------------------------------------------------------


def test_canonical_resource_rules() -> None:
    """Sub-resources are kept, sorted and decoded; other parameters dropped."""
    head = RequestHead(
        "GET",
        "/key",
        "versionId=a%2Fb&max-keys=3&acl&uploadId=u&prefix",
        {},
        "bucket",
    )
    assert canonical_resource(head) == "/bucket/key?acl&uploadId=u&versionId=a/b"
    assert canonical_resource(head, decode_values=False) == (
        "/bucket/key?acl&uploadId=u&versionId=a%2Fb"
    )


def test_newer_subresources_signed_either_way() -> None:
    """?ownershipControls verifies whether the client signed it (txs3's list)
    or not (botocore's older list)."""
    date = NOW_HTTP
    head_plain = {"date": date, "host": "s3.example.com"}
    for resource in ("/bucket/?ownershipControls", "/bucket/"):
        signature = base64.b64encode(
            hmac.new(
                SECRET.secret_key.encode(),
                f"GET\n\n\n{date}\n{resource}".encode(),
                hashlib.sha1,
            ).digest()
        ).decode()
        headers = {
            **head_plain,
            "authorization": f"AWS {SECRET.access_key}:{signature}",
        }
        head = RequestHead("GET", "/bucket/", "ownershipControls", headers)
        assert authenticate(head, lookup, NOW).identity == SECRET.identity()


def test_bucket_request_signed_with_trailing_slash() -> None:
    """A path-style bucket request sent as /bucket but signed over /bucket/ (botocore's way) verifies."""
    import email.utils

    from txs3.auth import sigv2 as _sigv2
    from txs3.auth.dispatch import authenticate as _authenticate
    from txs3.auth.types import RequestHead as _Head
    from txs3.auth.types import Secret as _Secret

    secret = _Secret("AKSLASH", "secret-slash", "o", "o")
    date = email.utils.formatdate(1_700_000_000, usegmt=True)
    sig = _sigv2.sign("secret-slash", f"PUT\n\n\n{date}\n/slashbucket/")
    head = _Head("PUT", "/slashbucket", "", {"date": date, "authorization": f"AWS AKSLASH:{sig}"})
    result = _authenticate(head, {"AKSLASH": secret}.get, 1_700_000_000)
    assert result.identity is not None and result.identity.access_key == "AKSLASH"
