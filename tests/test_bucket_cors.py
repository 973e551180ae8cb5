"""
CORS wired end to end: the three configuration operations, the public
preflight, and the ``Access-Control-*`` headers of actual responses,
successes, errors and refusals alike.

Strategy: most tests drive the real site (gate, handlers, writer) over a
L{MemoryStore} in memory (the L{server} fixture), signing with botocore
or sending unsigned requests as a browser's preflight is.  The cache is
tested against two L{SQLiteStore}s sharing a directory, as two processes
would; one test runs over real TLS with boto3 against the SQLite store.
The expected answers are S3's as recorded by others against AWS (the
messages and elements are in L{txs3.cors}).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import pytest_twisted
from twisted.internet.threads import deferToThread

from tests.functional import VHOST_DOMAIN, Server, server, tls_server  # noqa: F401
from tests.s3client import Response
from txs3.cors import NOT_ALLOWED, NOT_ENABLED, VARY, parse_cors_xml
from txs3.cors_cache import BucketCorsCache
from txs3.store.sqlite import SQLiteStore

APP = "https://app.example"
CONFIG = (
    b"<CORSConfiguration>"
    b"<CORSRule><ID>app</ID><AllowedOrigin>https://*.example</AllowedOrigin>"
    b"<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"
    b"<AllowedHeader>x-amz-*</AllowedHeader><AllowedHeader>Content-Type</AllowedHeader>"
    b"<ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>"
    b"<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod>"
    b"</CORSRule>"
    b"</CORSConfiguration>"
)
APP_HEADERS = {
    "access-control-allow-origin": APP,
    "access-control-allow-methods": "GET, PUT",
    "access-control-expose-headers": "ETag",
    "access-control-max-age": "3000",
    "access-control-allow-credentials": "true",
    "vary": VARY,
}
BAD_REQUEST = "Insufficient information. Origin request header needed."


def md5(body: bytes) -> dict[str, str]:
    return {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}


def cors_headers(r: Response) -> dict[str, str]:
    """The response's Access-Control-* headers and Vary."""
    return {
        k: v for k, v in r.headers.items() if k.startswith("access-control-") or k == "vary"
    }


def error(r: Response) -> ElementTree.Element:
    return ElementTree.fromstring(r.body)


def children(r: Response) -> list[str]:
    return [child.tag for child in error(r)]


async def configure(s: Server, bucket: str = "corsb", body: bytes = CONFIG) -> None:
    r = await s.client.request("PUT", "/" + bucket)
    assert r.code == 200, r.body
    r = await s.client.request("PUT", "/" + bucket, "cors", md5(body), body)
    assert r.code == 200, r.body


async def options(
    s: Server, path: str, headers: dict[str, str], query: str = ""
) -> Response:
    """An unsigned OPTIONS, as a browser sends it."""
    return await s.client.request("OPTIONS", path, query, headers, signed=False)


# -- PutBucketCors, GetBucketCors, DeleteBucketCors --------------------------


@pytest_twisted.ensureDeferred
async def test_configuration_lifecycle(server: Server) -> None:
    """GetBucketCors is 404 with the bucket's name until a PUT (200, empty body), then the same rules; DELETE is 204, with or without a configuration."""
    c = server.client
    await c.request("PUT", "/corsb")
    r = await c.request("GET", "/corsb", "cors")
    assert r.code == 404
    assert error(r).findtext("Code") == "NoSuchCORSConfiguration"
    assert error(r).findtext("Message") == "The CORS configuration does not exist"
    assert error(r).findtext("BucketName") == "corsb"
    r = await c.request("PUT", "/corsb", "cors", md5(CONFIG), CONFIG)
    assert (r.code, r.body) == (200, b"")
    r = await c.request("GET", "/corsb", "cors")
    assert r.code == 200 and r.header("content-type") == "application/xml"
    assert parse_cors_xml(r.body) == parse_cors_xml(CONFIG)
    assert (await c.request("DELETE", "/corsb", "cors")).code == 204
    assert (await c.request("GET", "/corsb", "cors")).code == 404
    assert (await c.request("DELETE", "/corsb", "cors")).code == 204
    # A bucket deleted and created again has no configuration.
    assert (await c.request("PUT", "/corsb", "cors", md5(CONFIG), CONFIG)).code == 200
    assert (await c.request("DELETE", "/corsb")).code == 204
    await c.request("PUT", "/corsb")
    assert (await c.request("GET", "/corsb", "cors")).code == 404


@pytest_twisted.ensureDeferred
async def test_put_requires_an_integrity_header(server: Server) -> None:
    """PutBucketCors without Content-MD5 or a checksum is AWS's InvalidRequest; botocore's CRC32 alone is accepted."""
    c = server.client
    await c.request("PUT", "/corsb")
    r = await c.request("PUT", "/corsb", "cors", body=CONFIG)
    assert r.code == 400 and error(r).findtext("Code") == "InvalidRequest"
    assert error(r).findtext("Message") == (
        "Missing required header for this request: Content-MD5"
    )
    assert (await c.request("GET", "/corsb", "cors")).code == 404
    crc = base64.b64encode(zlib.crc32(CONFIG).to_bytes(4, "big")).decode()
    headers = {"x-amz-checksum-crc32": crc, "x-amz-sdk-checksum-algorithm": "CRC32"}
    r = await c.request("PUT", "/corsb", "cors", headers, CONFIG)
    assert r.code == 200, r.body
    assert (await c.request("GET", "/corsb", "cors")).code == 200


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b"<CORSConfiguration/>", "MalformedXML", None),
        (
            b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
            b"<AllowedMethod>MYMETHOD</AllowedMethod></CORSRule></CORSConfiguration>",
            "InvalidRequest",
            "Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD",
        ),
    ],
)
@pytest_twisted.ensureDeferred
async def test_put_refused_changes_nothing(
    server: Server, body: bytes, code: str, message: str | None
) -> None:
    """An invalid document is refused with AWS's code and message, and the configuration stays as it was."""
    await configure(server)
    r = await server.client.request("PUT", "/corsb", "cors", md5(body), body)
    assert (r.code, error(r).findtext("Code")) == (400, code)
    if message is not None:
        assert error(r).findtext("Message") == message
    r = await server.client.request("GET", "/corsb", "cors")
    assert parse_cors_xml(r.body) == parse_cors_xml(CONFIG)


@pytest_twisted.ensureDeferred
async def test_configuration_is_the_owners(server: Server) -> None:
    """Another account and an anonymous caller can neither read, write nor delete a bucket's CORS configuration."""
    await configure(server)
    for method, body in (("GET", b""), ("PUT", CONFIG), ("DELETE", b"")):
        r = await server.other.request(method, "/corsb", "cors", md5(body), body)
        assert (r.code, error(r).findtext("Code")) == (403, "AccessDenied"), method
        r = await server.client.request(
            method, "/corsb", "cors", md5(body), body, signed=False
        )
        assert (r.code, error(r).findtext("Code")) == (403, "AccessDenied"), method
    r = await server.client.request("GET", "/corsb", "cors")
    assert parse_cors_xml(r.body) == parse_cors_xml(CONFIG)


# -- the preflight -----------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_preflight_allowed(server: Server) -> None:
    """An allowed preflight is 200 with no body and the first matching rule's headers; the key need not exist, and the actual request's query may ride along."""
    await configure(server)
    asked = {"Origin": APP, "Access-Control-Request-Method": "PUT"}
    for path, query in (("/corsb/no/such key", ""), ("/corsb", ""), ("/corsb/k", "uploads")):
        r = await options(server, path, asked, query)
        assert (r.code, r.body) == (200, b""), (path, r.body)
        assert cors_headers(r) == APP_HEADERS
        assert r.header("x-amz-request-id")
    r = await options(
        server,
        "/corsb/k",
        {**asked, "Access-Control-Request-Headers": "X-Amz-Date,content-type"},
    )
    assert r.code == 200
    assert r.header("access-control-allow-headers") == "x-amz-date, content-type"
    # The second rule answers any origin for HEAD, with "*" and no credentials.
    r = await options(
        server, "/corsb/k", {"Origin": "http://else", "Access-Control-Request-Method": "HEAD"}
    )
    assert cors_headers(r) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "HEAD",
        "vary": VARY,
    }


@pytest_twisted.ensureDeferred
async def test_preflight_refused(server: Server) -> None:
    """A preflight no rule allows is 403 AccessForbidden naming the method and resource type (no Resource element) and carries no CORS headers."""
    await configure(server)
    for path, kind in (("/corsb/k", "OBJECT"), ("/corsb", "BUCKET")):
        for headers in (
            {"Origin": "https://app.elsewhere", "Access-Control-Request-Method": "GET"},
            {"Origin": APP, "Access-Control-Request-Method": "DELETE"},
            {
                "Origin": APP,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        ):
            r = await options(server, path, headers)
            assert r.code == 403, (path, headers)
            assert children(r) == [
                "Code", "Message", "Method", "ResourceType", "RequestId", "HostId"
            ]  # fmt: skip
            assert error(r).findtext("Code") == "AccessForbidden"
            assert error(r).findtext("Message") == NOT_ALLOWED
            assert error(r).findtext("Method") == headers["Access-Control-Request-Method"]
            assert error(r).findtext("ResourceType") == kind
            assert cors_headers(r) == {}


@pytest_twisted.ensureDeferred
async def test_preflight_without_configuration_or_bucket(server: Server) -> None:
    """Without Origin a preflight is 400 anywhere; with one, a bucket without CORS is 403 "not enabled" and a missing bucket 403 "Bucket not found", both naming BUCKET and the method (OPTIONS when none was asked)."""
    await server.client.request("PUT", "/plain")
    for path in ("/plain/k", "/missing/k", "/"):
        r = await options(server, path, {"Access-Control-Request-Method": "GET"})
        assert r.code == 400 and error(r).findtext("Code") == "BadRequest"
        assert error(r).findtext("Message") == BAD_REQUEST
    cases = [
        ("/plain/k", NOT_ENABLED),
        ("/plain", NOT_ENABLED),
        ("/missing/k", "CORSResponse: Bucket not found"),
        ("/", "CORSResponse: Bucket not found"),
    ]
    for path, message in cases:
        for asked, method in (("PUT", "PUT"), (None, "OPTIONS")):
            headers = {"Origin": APP}
            if asked is not None:
                headers["Access-Control-Request-Method"] = asked
            r = await options(server, path, headers)
            assert (r.code, error(r).findtext("Code")) == (403, "AccessForbidden"), path
            assert error(r).findtext("Message") == message
            assert error(r).findtext("Method") == method
            assert error(r).findtext("ResourceType") == "BUCKET"


@pytest_twisted.ensureDeferred
async def test_preflight_method_checked_once_configured(server: Server) -> None:
    """On a configured bucket, a missing or non-CORS Access-Control-Request-Method is 400 BadRequest."""
    await configure(server)
    r = await options(server, "/corsb/k", {"Origin": APP})
    assert r.code == 400
    assert error(r).findtext("Message") == "Invalid Access-Control-Request-Method: null"
    r = await options(
        server, "/corsb/k", {"Origin": APP, "Access-Control-Request-Method": "PATCH"}
    )
    assert r.code == 400
    assert error(r).findtext("Message") == "Invalid Access-Control-Request-Method: PATCH"


@pytest_twisted.ensureDeferred
async def test_preflight_virtual_host(server: Server) -> None:
    """A preflight addressed by Host (BUCKET.domain) is evaluated against that bucket, at bucket and object level."""
    await configure(server)
    host = {"Host": f"corsb.{VHOST_DOMAIN}"}
    asked = {"Origin": APP, "Access-Control-Request-Method": "GET"}
    for path in ("/k", "/"):
        r = await options(server, path, {**host, **asked})
        assert r.code == 200 and cors_headers(r) == APP_HEADERS
    r = await options(
        server, "/k", {"Host": f"nosuch.{VHOST_DOMAIN}", **asked}
    )
    assert r.code == 403
    assert error(r).findtext("Message") == "CORSResponse: Bucket not found"


# -- actual requests ---------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_actual_requests_carry_the_rules_headers(server: Server) -> None:
    """Successes and handler errors from a matching origin carry the first matching rule's headers; others, and requests without Origin, carry none."""
    await configure(server)
    c = server.client
    origin = {"Origin": APP}
    r = await c.request("PUT", "/corsb/k", headers=origin, body=b"data")
    assert r.code == 200 and cors_headers(r) == APP_HEADERS
    r = await c.request("GET", "/corsb/k", headers=origin)
    assert r.body == b"data" and cors_headers(r) == APP_HEADERS
    r = await c.request("GET", "/corsb/missing", headers=origin)
    assert r.code == 404 and cors_headers(r) == APP_HEADERS
    r = await c.request("HEAD", "/corsb/k", headers={"Origin": "http://else"})
    assert r.header("access-control-allow-origin") == "*"
    # No rule allows DELETE, nor GET from another origin: no headers, no Vary.
    r = await c.request("DELETE", "/corsb/missing", headers=origin)
    assert r.code == 204 and cors_headers(r) == {}
    r = await c.request("GET", "/corsb/k", headers={"Origin": "http://else"})
    assert r.code == 200 and cors_headers(r) == {}
    # Access-Control-Request-Method, when sent, is the method matched.
    r = await c.request(
        "GET", "/corsb/k", headers={**origin, "Access-Control-Request-Method": "DELETE"}
    )
    assert r.code == 200 and cors_headers(r) == {}
    r = await c.request(
        "DELETE", "/corsb/gone", headers={**origin, "Access-Control-Request-Method": "GET"}
    )
    assert r.code == 204 and cors_headers(r) == APP_HEADERS
    r = await c.request("GET", "/corsb/k")
    assert r.code == 200 and cors_headers(r) == {}


@pytest_twisted.ensureDeferred
async def test_refusals_carry_the_rules_headers(server: Server) -> None:
    """Requests refused before their body (another owner, a bad signature, a refused upload with its body) carry the CORS headers too, so a script can read why."""
    await configure(server)
    origin = {"Origin": APP}
    r = await server.other.request("GET", "/corsb/k", headers=origin)
    assert r.code == 403 and cors_headers(r) == APP_HEADERS
    r = await server.client.request("GET", "/corsb/k", headers=origin, signed=False)
    assert r.code == 403 and cors_headers(r) == APP_HEADERS
    hdrs = server.client.sign("GET", "/corsb/k", headers=origin)
    hdrs["Authorization"] = hdrs["Authorization"][:-4] + "0000"
    r = await server.client.request("GET", "/corsb/k", headers=hdrs, signed=False)
    assert error(r).findtext("Code") == "SignatureDoesNotMatch"
    assert cors_headers(r) == APP_HEADERS
    # Answered by the channel, before the body it declared.
    r = await server.other.request("PUT", "/corsb/up", headers=origin, body=b"x" * 1000)
    assert r.code == 403 and cors_headers(r) == APP_HEADERS
    # A bucket that does not exist has no rules.
    r = await server.client.request("GET", "/missing/k", headers=origin)
    assert r.code == 404 and cors_headers(r) == {}


@pytest_twisted.ensureDeferred
async def test_no_origin_reads_nothing(server: Server, monkeypatch: Any) -> None:
    """A request without Origin never asks for the bucket's CORS configuration; with one, the document is parsed once until it changes."""
    import txs3.cors_cache

    await configure(server)
    lookups: list[str] = []
    parses: list[bytes] = []
    real_lookup = BucketCorsCache.configuration

    def lookup(self: BucketCorsCache, store: Any, bucket: str) -> Any:
        lookups.append(bucket)
        return real_lookup(self, store, bucket)

    def parse(body: bytes) -> Any:
        parses.append(body)
        return parse_cors_xml(body)

    monkeypatch.setattr(BucketCorsCache, "configuration", lookup)
    monkeypatch.setattr(txs3.cors_cache, "parse_cors_xml", parse)
    c = server.client
    await c.request("PUT", "/corsb/k", body=b"x")
    await c.request("GET", "/corsb/k")
    await c.request("GET", "/corsb/missing")
    assert lookups == [] and parses == []
    for _ in range(3):
        r = await c.request("GET", "/corsb/k", headers={"Origin": APP})
        assert cors_headers(r) == APP_HEADERS
    assert len(lookups) == 3 and len(parses) == 1
    # A change through the store (as another process would make it) is
    # seen at the next request.
    await server.store.put_bucket_setting("corsb", "cors", None)
    r = await c.request("GET", "/corsb/k", headers={"Origin": APP})
    assert cors_headers(r) == {} and len(parses) == 1
    await server.store.put_bucket_setting("corsb", "cors", CONFIG.decode())
    r = await c.request("GET", "/corsb/k", headers={"Origin": APP})
    assert cors_headers(r) == APP_HEADERS and len(parses) == 2


@pytest_twisted.ensureDeferred
async def test_cache_sees_another_process(tmp_path: Path) -> None:
    """A cache over one SQLite store sees a change committed through a second store on the same directory, and a bucket deleted and created again."""
    one = SQLiteStore.open(str(tmp_path))
    two = SQLiteStore.open(str(tmp_path))
    try:
        cache = BucketCorsCache()
        await one.create_bucket("shared", "owner", "us-east-1")
        assert cache.configuration(one, "shared") is None
        await two.put_bucket_setting("shared", "cors", CONFIG.decode())
        assert cache.configuration(one, "shared") == parse_cors_xml(CONFIG)
        await two.delete_bucket("shared")
        with pytest.raises(Exception, match="NoSuchBucket"):
            cache.configuration(one, "shared")
        await two.create_bucket("shared", "owner", "us-east-1")
        assert cache.configuration(one, "shared") is None
    finally:
        await one.close()
        await two.close()


# -- over TLS, against the SQLite store --------------------------------------


@pytest_twisted.ensureDeferred
async def test_boto3_and_a_browser_over_tls(tls_server: Server) -> None:
    """boto3 puts, reads and deletes a configuration over TLS; a preflight and a GET with Origin are then answered by its rules."""
    s = tls_server
    client = s.boto3()
    rules = [
        {
            "AllowedOrigins": [APP],
            "AllowedMethods": ["GET", "PUT"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["ETag"],
            "MaxAgeSeconds": 600,
        }
    ]

    def setup() -> Any:
        client.create_bucket(Bucket="tlscors")
        client.put_bucket_cors(Bucket="tlscors", CORSConfiguration={"CORSRules": rules})
        client.put_object(Bucket="tlscors", Key="k", Body=b"hello")
        return client.get_bucket_cors(Bucket="tlscors")["CORSRules"]

    assert await deferToThread(setup) == rules
    r = await options(
        s,
        "/tlscors/k",
        {
            "Origin": APP,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,x-amz-date",
        },
    )
    assert r.code == 200
    assert r.header("access-control-allow-origin") == APP
    assert r.header("access-control-allow-headers") == "authorization, x-amz-date"
    assert r.header("access-control-max-age") == "600"
    r = await s.client.request("GET", "/tlscors/k", headers={"Origin": APP})
    assert r.body == b"hello" and r.header("access-control-expose-headers") == "ETag"

    def delete() -> str:
        client.delete_bucket_cors(Bucket="tlscors")
        try:
            client.get_bucket_cors(Bucket="tlscors")
        except client.exceptions.ClientError as e:
            return str(e.response["Error"]["Code"])
        return "found"

    assert await deferToThread(delete) == "NoSuchCORSConfiguration"
    r = await options(s, "/tlscors/k", {"Origin": APP, "Access-Control-Request-Method": "PUT"})
    assert r.code == 403 and error(r).findtext("Message") == NOT_ENABLED


@pytest_twisted.ensureDeferred
async def test_refusal_survives_a_cors_failure(server: Server, monkeypatch: Any) -> None:
    """If working out a refusal's CORS headers fails, the request is still refused with its own error, on a working connection."""
    import txs3.server

    await configure(server)

    def broken(*args: object) -> dict[str, str]:
        raise RuntimeError("no CORS today")

    monkeypatch.setattr(txs3.server, "response_cors_headers", broken)
    r = await server.other.request("GET", "/corsb/k", headers={"Origin": APP})
    assert (r.code, error(r).findtext("Code")) == (403, "AccessDenied")
    assert cors_headers(r) == {}
