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

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from xml.etree import ElementTree

import pytest
import pytest_twisted

from tests.forgery import (
    complete,
    delete,
    error_of,
    forge,
    honest,
    listing,
    make_bucket,
    make_object,
    md5_of,
    sha256_of,
    tagging,
    two_part_upload,
)
from tests.functional import Server, server  # noqa: F401
from txs3.api.catalogue import CATALOGUE

OWNER = "owner-one"


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
SHARED_READ = acl(
    f'<Grantee xsi:type="CanonicalUser"><ID>{OWNER}</ID></Grantee>'
    "<Permission>FULL_CONTROL</Permission></Grant><Grant>"
    '<Grantee xsi:type="CanonicalUser"><ID>owner-two</ID></Grantee>'
    "<Permission>READ</Permission>"
)
PUBLIC_READ = acl(
    '<Grantee xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers'
    "</URI></Grantee><Permission>READ</Permission>"
)


async def observe(s: Server, method: str, path: str, query: str = "") -> object:
    """What a read shows: the status and body, or the error code."""
    r = await s.client.request(method, path, query)
    return (r.code, r.body if r.code < 300 else error_of(r))


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


async def create_bucket(s: Server) -> Scenario:
    def config(region: str) -> bytes:
        return (
            "<CreateBucketConfiguration><LocationConstraint>"
            f"{region}</LocationConstraint></CreateBucketConfiguration>"
        ).encode()

    return Scenario("PUT", "/fresh", "", config("eu-west-1"), config("attacker-1"),
                    lambda: observe(s, "GET", "/fresh", "location"))  # fmt: skip


async def delete_objects(s: Server) -> Scenario:
    await make_object(s, "a")
    await make_object(s, "b")
    return Scenario("POST", "/bucket", "delete", delete("a"), delete("b"),
                    lambda: listing(s))  # fmt: skip


async def put_bucket_versioning(s: Server) -> Scenario:
    def config(status: str) -> bytes:
        return (
            f"<VersioningConfiguration><Status>{status}</Status>"
            "</VersioningConfiguration>"
        ).encode()

    await make_bucket(s)
    return Scenario("PUT", "/bucket", "versioning", config("Enabled"),
                    config("Suspended"),
                    lambda: observe(s, "GET", "/bucket", "versioning"))  # fmt: skip


async def put_bucket_lifecycle_configuration(s: Server) -> Scenario:
    def config(days: int) -> bytes:
        return (
            "<LifecycleConfiguration><Rule><ID>r</ID><Filter/>"
            f"<Status>Enabled</Status><Expiration><Days>{days}</Days>"
            "</Expiration></Rule></LifecycleConfiguration>"
        ).encode()

    await make_bucket(s)
    return Scenario("PUT", "/bucket", "lifecycle", config(30), config(1),
                    lambda: observe(s, "GET", "/bucket", "lifecycle"))  # fmt: skip


async def put_bucket_acl(s: Server) -> Scenario:
    await make_bucket(s)
    return Scenario("PUT", "/bucket", "acl", SHARED_READ, PUBLIC_READ,
                    lambda: observe(s, "GET", "/bucket", "acl"))  # fmt: skip


async def put_bucket_ownership_controls(s: Server) -> Scenario:
    def config(value: str) -> bytes:
        return (
            "<OwnershipControls><Rule><ObjectOwnership>"
            f"{value}</ObjectOwnership></Rule></OwnershipControls>"
        ).encode()

    await make_bucket(s)
    return Scenario("PUT", "/bucket", "ownershipControls",
                    config("BucketOwnerEnforced"), config("BucketOwnerPreferred"),
                    lambda: observe(s, "GET", "/bucket", "ownershipControls"))  # fmt: skip


def bucket_policy(principal: object) -> bytes:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal,
                       "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::bucket/*"}],
    }).encode()  # fmt: skip


async def put_bucket_policy(s: Server) -> Scenario:
    await make_bucket(s)
    return Scenario("PUT", "/bucket", "policy", bucket_policy({"AWS": "owner-two"}),
                    bucket_policy("*"),
                    lambda: observe(s, "GET", "/bucket", "policy"), status=204)  # fmt: skip


async def put_public_access_block(s: Server) -> Scenario:
    def config(flag: str) -> bytes:
        return (
            "<PublicAccessBlockConfiguration><BlockPublicAcls>"
            f"{flag}</BlockPublicAcls></PublicAccessBlockConfiguration>"
        ).encode()

    await make_bucket(s)
    return Scenario("PUT", "/bucket", "publicAccessBlock", config("true"),
                    config("false"),
                    lambda: observe(s, "GET", "/bucket", "publicAccessBlock"))  # fmt: skip


async def put_bucket_tagging(s: Server) -> Scenario:
    await make_bucket(s)
    return Scenario("PUT", "/bucket", "tagging", tagging(team="good"),
                    tagging(team="evil"),
                    lambda: observe(s, "GET", "/bucket", "tagging"), status=204)  # fmt: skip


async def put_bucket_cors(s: Server) -> Scenario:
    def config(origin: str) -> bytes:
        return (
            "<CORSConfiguration><CORSRule><AllowedOrigin>"
            f"{origin}</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
            "</CORSRule></CORSConfiguration>"
        ).encode()

    await make_bucket(s)
    return Scenario("PUT", "/bucket", "cors", config("https://good.example"),
                    config("*"), lambda: observe(s, "GET", "/bucket", "cors"))  # fmt: skip


async def put_object_acl(s: Server) -> Scenario:
    await make_object(s)
    return Scenario("PUT", "/bucket/k", "acl", SHARED_READ, PUBLIC_READ,
                    lambda: observe(s, "GET", "/bucket/k", "acl"))  # fmt: skip


async def put_object_tagging(s: Server) -> Scenario:
    await make_object(s)
    return Scenario("PUT", "/bucket/k", "tagging", tagging(team="good"),
                    tagging(team="evil"),
                    lambda: observe(s, "GET", "/bucket/k", "tagging"))  # fmt: skip


async def complete_multipart_upload(s: Server) -> Scenario:
    upload_id, parts = await two_part_upload(s)

    async def state() -> object:
        head = await s.client.request("HEAD", "/bucket/mp")
        return head.code, head.header("content-length")

    return Scenario("POST", "/bucket/mp", f"uploadId={upload_id}",
                    complete(parts), complete(parts[:1]), state)  # fmt: skip


async def make_locked_object(s: Server) -> None:
    """Bucket ``bucket`` with Object Lock, and object ``k`` in it, unlocked."""
    headers = {"x-amz-bucket-object-lock-enabled": "true"}
    r = await s.client.request("PUT", "/bucket", headers=headers)
    assert r.code == 200, r.body
    r = await s.client.request("PUT", "/bucket/k", body=b"data")
    assert r.code == 200, r.body


async def put_object_lock_configuration(s: Server) -> Scenario:
    def config(mode: str, period: str) -> bytes:
        return (
            "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
            f"<Rule><DefaultRetention><Mode>{mode}</Mode>{period}</DefaultRetention>"
            "</Rule></ObjectLockConfiguration>"
        ).encode()

    await make_locked_object(s)
    return Scenario("PUT", "/bucket", "object-lock",
                    config("GOVERNANCE", "<Days>1</Days>"),
                    config("COMPLIANCE", "<Years>100</Years>"),
                    lambda: observe(s, "GET", "/bucket", "object-lock"))  # fmt: skip


async def put_object_retention(s: Server) -> Scenario:
    def retention(mode: str, year: int) -> bytes:
        return (
            f"<Retention><Mode>{mode}</Mode><RetainUntilDate>{year}-01-01T00:00:00Z"
            "</RetainUntilDate></Retention>"
        ).encode()

    await make_locked_object(s)
    return Scenario("PUT", "/bucket/k", "retention", retention("GOVERNANCE", 2099),
                    retention("COMPLIANCE", 2199),
                    lambda: observe(s, "GET", "/bucket/k", "retention"))  # fmt: skip


async def put_object_legal_hold(s: Server) -> Scenario:
    def hold(status: str) -> bytes:
        return f"<LegalHold><Status>{status}</Status></LegalHold>".encode()

    await make_locked_object(s)
    return Scenario("PUT", "/bucket/k", "legal-hold", hold("ON"), hold("OFF"),
                    lambda: observe(s, "GET", "/bucket/k", "legal-hold"))  # fmt: skip


SCENARIOS: dict[str, Callable[[Server], Awaitable[Scenario]]] = {
    "CreateBucket": create_bucket,
    "DeleteObjects": delete_objects,
    "PutBucketVersioning": put_bucket_versioning,
    "PutBucketLifecycleConfiguration": put_bucket_lifecycle_configuration,
    "PutBucketAcl": put_bucket_acl,
    "PutBucketOwnershipControls": put_bucket_ownership_controls,
    "PutBucketTagging": put_bucket_tagging,
    "PutBucketCors": put_bucket_cors,
    "PutBucketPolicy": put_bucket_policy,
    "PutPublicAccessBlock": put_public_access_block,
    "PutObjectAcl": put_object_acl,
    "PutObjectTagging": put_object_tagging,
    "CompleteMultipartUpload": complete_multipart_upload,
    "PutObjectLockConfiguration": put_object_lock_configuration,
    "PutObjectRetention": put_object_retention,
    "PutObjectLegalHold": put_object_legal_hold,
}


def test_every_xml_body_has_a_scenario() -> None:
    """Every catalogue entry whose body kind is xml is covered by a scenario here."""
    xml_entries = {e.name for e in CATALOGUE if e.body == "xml"}
    assert xml_entries == set(SCENARIOS)


@pytest.mark.parametrize("mode", ["payload-hash", "content-md5"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest_twisted.ensureDeferred
async def test_forged_body(server: Server, name: str, mode: str) -> None:
    """
    A body other than the one that was signed changes nothing:
      - payload-hash: another body than x-amz-content-sha256 signed (even
        with a Content-MD5 that fits it) is XAmzContentSHA256Mismatch, and
        the signed body then succeeds;
      - content-md5: with UNSIGNED-PAYLOAD, another body than the signed
        Content-MD5 names is BadDigest.
    """
    s = server
    sc = await SCENARIOS[name](s)
    before = await sc.state()
    if mode == "content-md5":
        headers = {
            "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
            "Content-MD5": md5_of(sc.good),
        }
        r = await forge(s, sc.method, sc.path, sc.query, sc.good, sc.bad, headers)
        assert (r.code, error_of(r)) == (400, "BadDigest"), r.body
        assert await sc.state() == before
        return
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


# --- the three reproduced attacks ---------------------------------------------


@pytest_twisted.ensureDeferred
async def test_attack_put_object_tagging_other_tag_set(server: Server) -> None:
    """A PutObjectTagging signed for one tag set and sent with another stores neither."""
    s = server
    await make_object(s)
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
    await make_object(s, "victim")
    r = await forge(s, "POST", "/bucket", "delete", delete("nothing"), delete("victim"),
                    unsigned={"Content-MD5": md5_of(delete("victim"))})  # fmt: skip
    assert error_of(r) == "XAmzContentSHA256Mismatch"
    assert await listing(s) == ["victim"]
