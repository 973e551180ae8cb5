"""
Signed bodies: a request body takes effect only if it is the body the
request's signature and digests name.

Strategy: requests are signed by botocore (L{tests.s3client.S3Client.sign})
for one body and sent, through the in-memory L{server}, with another, as an
attacker replaying a captured request would.  Each catalogue entry with an
XML body has a scenario (L{SCENARIOS}): the forged request must fail with
AWS's error and leave the observable state as it was; the honest one must
take effect.  A catalogue test keeps the scenarios complete.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from xml.etree import ElementTree

import pytest
import pytest_twisted

from tests.functional import Server, server  # noqa: F401
from tests.s3client import Response
from txs3.api.catalogue import CATALOGUE

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
OWNER = "owner-one"
PART = 5 * 1024**2


def md5_of(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def sha256_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def error_of(r: Response) -> str | None:
    """The S3 error code of a response, None for a success."""
    if r.code < 300:
        return None
    return ElementTree.fromstring(r.body).findtext("Code")


async def forge(
    s: Server,
    method: str,
    path: str,
    query: str,
    signed: bytes,
    sent: bytes,
    headers: dict[str, str] | None = None,
    unsigned: dict[str, str] | None = None,
    v2: bool = False,
) -> Response:
    """
    Sign a request for body C{signed} (with C{headers}), then send it with
    body C{sent} and C{unsigned} headers added after signing.
    """
    client = s.v2 if v2 else s.client
    hdrs = client.sign(method, path, query, headers, signed)
    hdrs.update(unsigned or {})
    return await client.request(method, path, query, hdrs, sent, signed=False)


async def honest(
    s: Server, method: str, path: str, query: str, body: bytes
) -> Response:
    """A correctly signed request with a signed Content-MD5."""
    headers = {"Content-MD5": md5_of(body)}
    return await s.client.request(method, path, query, headers, body)


def tagging(**tags: str) -> bytes:
    inner = "".join(
        f"<Tag><Key>{k}</Key><Value>{v}</Value></Tag>" for k, v in tags.items()
    )
    return f"<Tagging><TagSet>{inner}</TagSet></Tagging>".encode()


def acl(grant: str) -> bytes:
    return (
        '<AccessControlPolicy xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<Owner><ID>{OWNER}</ID></Owner><AccessControlList><Grant>{grant}"
        "</Grant></AccessControlList></AccessControlPolicy>"
    ).encode()


OWNER_FULL = acl(
    f'<Grantee xsi:type="CanonicalUser"><ID>{OWNER}</ID></Grantee>'
    "<Permission>FULL_CONTROL</Permission>"
)
PUBLIC_READ = acl(
    '<Grantee xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers'
    "</URI></Grantee><Permission>READ</Permission>"
)


def delete(*keys: str) -> bytes:
    inner = "".join(f"<Object><Key>{k}</Key></Object>" for k in keys)
    return f"<Delete>{inner}</Delete>".encode()


def complete(parts: list[tuple[int, str]]) -> bytes:
    inner = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
        for n, etag in parts
    )
    return f"<CompleteMultipartUpload>{inner}</CompleteMultipartUpload>".encode()


async def observe(s: Server, method: str, path: str, query: str = "") -> object:
    """What a read shows: the status and body, or the error code."""
    r = await s.client.request(method, path, query)
    return (r.code, r.body if r.code < 300 else error_of(r))


async def listing(s: Server) -> object:
    r = await s.client.request("GET", "/bucket")
    return sorted(k.text or "" for k in ElementTree.fromstring(r.body).iter(NS + "Key"))


@dataclass
class Scenario:
    """
    One XML-body operation, set up: the request, the honest body and a
    forged one, the status the honest body gets, and how to see its effect.
    """

    method: str
    path: str
    query: str
    good: bytes
    bad: bytes
    state: Callable[[], Awaitable[object]]
    status: int = 200
    changes: bool = True


async def _bucket(s: Server) -> None:
    r = await s.client.request("PUT", "/bucket")
    assert r.code == 200, r.body


async def _object(s: Server, key: str = "k") -> None:
    if (await s.client.request("HEAD", "/bucket")).code == 404:
        await _bucket(s)
    r = await s.client.request("PUT", "/bucket/" + key, body=b"data")
    assert r.code == 200, r.body


async def create_bucket(s: Server) -> Scenario:
    def config(region: str) -> bytes:
        return (
            "<CreateBucketConfiguration><LocationConstraint>"
            f"{region}</LocationConstraint></CreateBucketConfiguration>"
        ).encode()

    return Scenario("PUT", "/fresh", "", config("eu-west-1"), config("attacker-1"),
                    lambda: observe(s, "GET", "/fresh", "location"))  # fmt: skip


async def delete_objects(s: Server) -> Scenario:
    await _object(s, "a")
    await _object(s, "b")
    return Scenario("POST", "/bucket", "delete", delete("a"), delete("b"),
                    lambda: listing(s))  # fmt: skip


async def put_bucket_versioning(s: Server) -> Scenario:
    def config(status: str) -> bytes:
        return (
            f"<VersioningConfiguration><Status>{status}</Status>"
            "</VersioningConfiguration>"
        ).encode()

    await _bucket(s)
    # txs3 answers 501 to any versioning change; the forged body must not
    # even reach the handler.
    return Scenario("PUT", "/bucket", "versioning", config("Enabled"),
                    config("Suspended"),
                    lambda: observe(s, "GET", "/bucket", "versioning"),
                    status=501, changes=False)  # fmt: skip


async def put_bucket_acl(s: Server) -> Scenario:
    await _bucket(s)
    return Scenario("PUT", "/bucket", "acl", OWNER_FULL, PUBLIC_READ,
                    lambda: observe(s, "GET", "/bucket", "acl"), changes=False)  # fmt: skip


async def put_bucket_ownership_controls(s: Server) -> Scenario:
    def config(value: str) -> bytes:
        return (
            "<OwnershipControls><Rule><ObjectOwnership>"
            f"{value}</ObjectOwnership></Rule></OwnershipControls>"
        ).encode()

    await _bucket(s)
    return Scenario("PUT", "/bucket", "ownershipControls",
                    config("BucketOwnerEnforced"), config("ObjectWriter"),
                    lambda: observe(s, "GET", "/bucket", "ownershipControls"),
                    changes=False)  # fmt: skip


async def put_bucket_tagging(s: Server) -> Scenario:
    await _bucket(s)
    return Scenario("PUT", "/bucket", "tagging", tagging(team="good"),
                    tagging(team="evil"),
                    lambda: observe(s, "GET", "/bucket", "tagging"), status=204)  # fmt: skip


async def put_object_acl(s: Server) -> Scenario:
    await _object(s)
    return Scenario("PUT", "/bucket/k", "acl", OWNER_FULL, PUBLIC_READ,
                    lambda: observe(s, "GET", "/bucket/k", "acl"), changes=False)  # fmt: skip


async def put_object_tagging(s: Server) -> Scenario:
    await _object(s)
    return Scenario("PUT", "/bucket/k", "tagging", tagging(team="good"),
                    tagging(team="evil"),
                    lambda: observe(s, "GET", "/bucket/k", "tagging"))  # fmt: skip


async def two_part_upload(s: Server) -> tuple[str, list[tuple[int, str]]]:
    """A multipart upload of ``mp`` with a 5 MiB part 1 and a small part 2."""
    await _bucket(s)
    r = await s.client.request("POST", "/bucket/mp", "uploads")
    upload_id = ElementTree.fromstring(r.body).findtext(NS + "UploadId") or ""
    parts = []
    for number, data in ((1, b"1" * PART), (2, b"2" * 10)):
        query = f"partNumber={number}&uploadId={upload_id}"
        r = await s.client.request("PUT", "/bucket/mp", query, body=data)
        assert r.code == 200, r.body
        parts.append((number, r.header("etag") or ""))
    return upload_id, parts


async def complete_multipart_upload(s: Server) -> Scenario:
    upload_id, parts = await two_part_upload(s)

    async def state() -> object:
        head = await s.client.request("HEAD", "/bucket/mp")
        return head.code, head.header("content-length")

    return Scenario("POST", "/bucket/mp", f"uploadId={upload_id}",
                    complete(parts), complete(parts[:1]), state)  # fmt: skip


SCENARIOS: dict[str, Callable[[Server], Awaitable[Scenario]]] = {
    "CreateBucket": create_bucket,
    "DeleteObjects": delete_objects,
    "PutBucketVersioning": put_bucket_versioning,
    "PutBucketAcl": put_bucket_acl,
    "PutBucketOwnershipControls": put_bucket_ownership_controls,
    "PutBucketTagging": put_bucket_tagging,
    "PutObjectAcl": put_object_acl,
    "PutObjectTagging": put_object_tagging,
    "CompleteMultipartUpload": complete_multipart_upload,
}


def test_every_xml_body_has_a_scenario() -> None:
    """Every catalogue entry whose body kind is xml is covered by a scenario here."""
    xml_entries = {e.name for e in CATALOGUE if e.body == "xml"}
    assert xml_entries == set(SCENARIOS)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest_twisted.ensureDeferred
async def test_forged_payload_hash(server: Server, name: str) -> None:
    """A body other than the one x-amz-content-sha256 signed is XAmzContentSHA256Mismatch (even with a Content-MD5 that fits it) and changes nothing; the signed body then succeeds."""
    s = server
    sc = await SCENARIOS[name](s)
    before = await sc.state()
    r = await forge(s, sc.method, sc.path, sc.query, sc.good, sc.bad,
                    unsigned={"Content-MD5": md5_of(sc.bad)})  # fmt: skip
    assert (r.code, error_of(r)) == (400, "XAmzContentSHA256Mismatch"), r.body
    root = ElementTree.fromstring(r.body)
    assert root.findtext("ClientComputedContentSHA256") == sha256_of(sc.good)
    assert root.findtext("S3ComputedContentSHA256") == sha256_of(sc.bad)
    assert await sc.state() == before
    r = await honest(s, sc.method, sc.path, sc.query, sc.good)
    assert r.code == sc.status, r.body
    if sc.changes:
        assert await sc.state() != before


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest_twisted.ensureDeferred
async def test_forged_content_md5(server: Server, name: str) -> None:
    """With UNSIGNED-PAYLOAD, a body other than the one the signed Content-MD5 names is BadDigest and changes nothing."""
    s = server
    sc = await SCENARIOS[name](s)
    before = await sc.state()
    headers = {
        "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
        "Content-MD5": md5_of(sc.good),
    }
    r = await forge(s, sc.method, sc.path, sc.query, sc.good, sc.bad, headers)
    assert (r.code, error_of(r)) == (400, "BadDigest"), r.body
    assert await sc.state() == before


# --- the three reproduced attacks ---------------------------------------------


@pytest_twisted.ensureDeferred
async def test_attack_put_object_tagging_other_tag_set(server: Server) -> None:
    """A PutObjectTagging signed for one tag set and sent with another stores neither."""
    s = server
    await _object(s)
    r = await forge(s, "PUT", "/bucket/k", "tagging", tagging(env="test"),
                    tagging(env="prod", owner="mallory"))  # fmt: skip
    assert error_of(r) == "XAmzContentSHA256Mismatch"
    r = await s.client.request("GET", "/bucket/k", "tagging")
    assert b"mallory" not in r.body and b"<Tag>" not in r.body


@pytest_twisted.ensureDeferred
async def test_attack_complete_multipart_with_fewer_parts(server: Server) -> None:
    """A CompleteMultipartUpload signed for parts 1+2 and sent listing part 1 completes nothing, and the upload stays open."""
    s = server
    upload_id, parts = await two_part_upload(s)
    query = f"uploadId={upload_id}"
    r = await forge(
        s, "POST", "/bucket/mp", query, complete(parts), complete(parts[:1])
    )
    assert error_of(r) == "XAmzContentSHA256Mismatch"
    assert (await s.client.request("HEAD", "/bucket/mp")).code == 404
    r = await s.client.request("GET", "/bucket/mp", query)
    assert r.code == 200 and r.body.count(b"<PartNumber>") == 2


@pytest_twisted.ensureDeferred
async def test_attack_delete_objects_with_unsigned_content_md5(server: Server) -> None:
    """A DeleteObjects signed for key nothing, sent for key victim with a fitting unsigned Content-MD5, deletes nothing."""
    s = server
    await _object(s, "victim")
    r = await forge(s, "POST", "/bucket", "delete", delete("nothing"), delete("victim"),
                    unsigned={"Content-MD5": md5_of(delete("victim"))})  # fmt: skip
    assert error_of(r) == "XAmzContentSHA256Mismatch"
    assert await listing(s) == ["victim"]
