"""
Sharing, end to end through the real site: bucket policies, ACLs, Object
Ownership, Block Public Access and anonymous access, with two users
(owner-one, the bucket owner, and owner-two) and unsigned requests.

The decisions themselves are tested as tables in tests/test_authz_*.py;
here each test proves that the gate asks them, that the settings persist
and are read back, and that a refused request changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest_twisted

from tests.functional import (  # noqa: F401
    RunningTLSServer,
    Server,
    server,
    tls_server,
)
from tests.s3client import S3Client, error_code

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def policy(*statements: dict[str, object]) -> bytes:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}).encode()


def allow(principal: object, action: object, resource: object) -> dict[str, object]:
    return {"Effect": "Allow", "Principal": principal, "Action": action,
            "Resource": resource}  # fmt: skip


async def code_of(c: S3Client, method: str, path: str, query: str = "",
                  **kw: object) -> tuple[int, str | None]:  # fmt: skip
    r = await c.request(method, path, query, **kw)  # type: ignore[arg-type]
    return r.code, error_code(r.body) if r.code >= 300 else None


async def setup(s: Server, bucket: str = "share") -> None:
    assert (await s.client.request("PUT", f"/{bucket}")).code == 200
    r = await s.client.request("PUT", f"/{bucket}/doc.txt", body=b"shared bytes")
    assert r.code == 200


@pytest_twisted.ensureDeferred
async def test_private_by_default(server: Server) -> None:
    """Another user and anonymous callers get AccessDenied; unknown buckets are NoSuchBucket only to signed callers."""
    s = server
    await setup(s)
    for method, path, query in (
        ("GET", "/share/doc.txt", ""),
        ("HEAD", "/share/doc.txt", ""),
        ("GET", "/share", "list-type=2"),
        ("PUT", "/share/new", ""),
        ("DELETE", "/share/doc.txt", ""),
        ("GET", "/share", "acl"),
        ("GET", "/share", "policy"),
    ):
        assert (await s.other.request(method, path, query)).code == 403, (method, path)
        r = await s.client.request(method, path, query, signed=False)
        assert r.code == 403, (method, path, query)
    assert await code_of(s.other, "GET", "/nobucket/k") == (404, "NoSuchBucket")
    r = await s.client.request("GET", "/nobucket/k", signed=False)
    assert (r.code, error_code(r.body)) == (403, "AccessDenied")
    r = await s.client.request("GET", "/", signed=False)
    assert (r.code, error_code(r.body)) == (403, "AccessDenied")
    r = await s.client.request("GET", "/share/doc.txt")
    assert r.body == b"shared bytes"


@pytest_twisted.ensureDeferred
async def test_policy_grants_then_revokes(server: Server) -> None:
    """A policy naming owner-two lets it read and list, only that; deleting the policy takes it back."""
    s = server
    await setup(s)
    text = policy(
        allow({"AWS": "arn:aws:iam::owner-two:root"}, "s3:GetObject",
              "arn:aws:s3:::share/*"),
        allow({"AWS": "owner-two"}, "s3:ListBucket", "arn:aws:s3:::share"),
    )  # fmt: skip
    r = await s.client.request("PUT", "/share", "policy", body=text)
    assert r.code == 204, r.body
    r = await s.client.request("GET", "/share", "policy")
    assert (r.code, r.body) == (200, text)
    assert r.header("content-type") == "application/json"
    r = await s.other.request("GET", "/share/doc.txt")
    assert (r.code, r.body) == (200, b"shared bytes")
    r = await s.other.request("GET", "/share", "list-type=2")
    assert r.code == 200 and b"<Key>doc.txt</Key>" in r.body
    assert (await s.other.request("PUT", "/share/x", body=b"no")).code == 403
    assert (await s.client.request("GET", "/share/x")).code == 404
    # Not the owner: 405 for the policy itself, once a statement lets it ask.
    assert (await s.other.request("GET", "/share", "policy")).code == 403
    r = await s.client.request("GET", "/share", "policyStatus")
    assert ElementTree.fromstring(r.body).findtext(NS + "IsPublic") == "false"
    assert (await s.client.request("DELETE", "/share", "policy")).code == 204
    assert (await s.other.request("GET", "/share/doc.txt")).code == 403
    r = await s.client.request("GET", "/share", "policy")
    assert (r.code, error_code(r.body)) == (404, "NoSuchBucketPolicy")


@pytest_twisted.ensureDeferred
async def test_policy_for_another_user_is_405(server: Server) -> None:
    """A caller outside the owner's account that a policy lets at the policy gets 405, as S3."""
    s = server
    await setup(s)
    text = policy(allow({"AWS": "owner-two"}, "s3:GetBucketPolicy",
                        "arn:aws:s3:::share"))  # fmt: skip
    assert (await s.client.request("PUT", "/share", "policy", body=text)).code == 204
    assert await code_of(s.other, "GET", "/share", "policy") == (
        405,
        "MethodNotAllowed",
    )


@pytest_twisted.ensureDeferred
async def test_deny_wins_and_owner_keeps_the_policy(server: Server) -> None:
    """An explicit Deny beats the owner's own keys and any Allow, but never locks the owner out of the policy."""
    s = server
    await setup(s)
    text = policy(
        allow("*", "s3:GetObject", "arn:aws:s3:::share/*"),
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::share", "arn:aws:s3:::share/*"]},
    )  # fmt: skip
    assert (await s.client.request("PUT", "/share", "policy", body=text)).code == 204
    assert (await s.client.request("GET", "/share/doc.txt")).code == 403
    assert (await s.client.request("GET", "/share/doc.txt", signed=False)).code == 403
    assert (await s.client.request("GET", "/share", "policy")).code == 200
    assert (await s.client.request("DELETE", "/share", "policy")).code == 204
    assert (await s.client.request("GET", "/share/doc.txt")).code == 200


@pytest_twisted.ensureDeferred
async def test_malformed_policy_changes_nothing(server: Server) -> None:
    """Bad JSON, a foreign resource or an unknown principal is MalformedPolicy and the old policy stays."""
    s = server
    await setup(s)
    good = policy(allow({"AWS": "owner-two"}, "s3:GetObject", "arn:aws:s3:::share/*"))
    assert (await s.client.request("PUT", "/share", "policy", body=good)).code == 204
    for bad in (
        b"{not json",
        b"[]",
        policy(allow("*", "s3:GetObject", "arn:aws:s3:::elsewhere/*")),
        policy(allow({"AWS": "nobody-known"}, "s3:GetObject", "arn:aws:s3:::share/*")),
        policy(allow("*", "s3:GetObjekt", "arn:aws:s3:::share/*")),
    ):
        r = await s.client.request("PUT", "/share", "policy", body=bad)
        assert (r.code, error_code(r.body)) == (400, "MalformedPolicy"), bad
    assert (await s.client.request("GET", "/share", "policy")).body == good


@pytest_twisted.ensureDeferred
async def test_public_read_object_acl(server: Server) -> None:
    """A public-read object is served to anyone; its neighbours are not; setting it private takes it back."""
    s = server
    await setup(s)
    r = await s.client.request(
        "PUT", "/share/pub.txt", headers={"x-amz-acl": "public-read"}, body=b"public"
    )
    assert r.code == 200
    r = await s.client.request("GET", "/share/pub.txt", signed=False)
    assert (r.code, r.body) == (200, b"public")
    assert (await s.client.request("GET", "/share/doc.txt", signed=False)).code == 403
    assert (await s.client.request("PUT", "/share/pub.txt", signed=False)).code == 403
    root = ElementTree.fromstring((await s.client.request("GET", "/share/pub.txt", "acl")).body)
    uris = [g.findtext(f"{NS}Grantee/{NS}URI") for g in root.iter(NS + "Grant")]
    assert ALL_USERS in uris
    r = await s.client.request("PUT", "/share/pub.txt", "acl", headers={"x-amz-acl": "private"})
    assert r.code == 200
    assert (await s.client.request("GET", "/share/pub.txt", signed=False)).code == 403
    # An overwrite without an ACL header is private again (the ACL is the entry's).
    await s.client.request("PUT", "/share/pub.txt", "acl", headers={"x-amz-acl": "public-read"})
    await s.client.request("PUT", "/share/pub.txt", body=b"v2")
    assert (await s.client.request("GET", "/share/pub.txt", signed=False)).code == 403


@pytest_twisted.ensureDeferred
async def test_missing_key_hidden_without_list(server: Server) -> None:
    """A missing key is NoSuchKey to callers who may list the bucket, AccessDenied to others."""
    s = server
    await setup(s)
    text = policy(allow("*", "s3:GetObject", "arn:aws:s3:::share/*"))
    assert (await s.client.request("PUT", "/share", "policy", body=text)).code == 204
    assert (await s.client.request("GET", "/share/doc.txt", signed=False)).code == 200
    r = await s.client.request("GET", "/share/missing", signed=False)
    assert (r.code, error_code(r.body)) == (403, "AccessDenied")
    assert await code_of(s.client, "GET", "/share/missing") == (404, "NoSuchKey")
    text = policy(
        allow("*", "s3:GetObject", "arn:aws:s3:::share/*"),
        allow("*", "s3:ListBucket", "arn:aws:s3:::share"),
    )
    assert (await s.client.request("PUT", "/share", "policy", body=text)).code == 204
    r = await s.client.request("GET", "/share/missing", signed=False)
    assert (r.code, error_code(r.body)) == (404, "NoSuchKey")


@pytest_twisted.ensureDeferred
async def test_bucket_acl_write_grant_and_object_ownership(server: Server) -> None:
    """A WRITE grant by e-mail lets owner-two upload; under ObjectWriter it owns what it wrote, and listings say so."""
    s = server
    await setup(s)
    r = await s.client.request(
        "PUT", "/share", "acl",
        headers={"x-amz-grant-write": 'emailAddress="two@example.com"',
                 "x-amz-grant-full-control": 'id="owner-one"'},
    )  # fmt: skip
    assert r.code == 200, r.body
    r = await s.other.request("PUT", "/share/from-two", body=b"two's")
    assert r.code == 200, r.body
    r = await s.client.request("GET", "/share", "list-type=2&fetch-owner=true")
    owners = {
        c.findtext(NS + "Key"): c.findtext(f"{NS}Owner/{NS}ID")
        for c in ElementTree.fromstring(r.body).iter(NS + "Contents")
    }
    assert owners == {"doc.txt": "owner-one", "from-two": "owner-two"}
    # The writer owns its object and may read it and its ACL.
    assert (await s.other.request("GET", "/share/from-two")).body == b"two's"
    root = ElementTree.fromstring((await s.other.request("GET", "/share/from-two", "acl")).body)
    assert root.findtext(f"{NS}Owner/{NS}ID") == "owner-two"
    # ... but not the bucket's other objects, nor list it (WRITE only).
    assert (await s.other.request("GET", "/share/doc.txt")).code == 403
    assert (await s.other.request("GET", "/share", "list-type=2")).code == 403
    r = await s.client.request(
        "PUT", "/share", "acl", headers={"x-amz-grant-read": 'emailAddress="x@y.z"'}
    )
    assert (r.code, error_code(r.body)) == (400, "UnresolvableGrantByEmailAddress")
    r = await s.client.request("PUT", "/share", "acl", headers={"x-amz-acl": "private"})
    assert r.code == 200
    assert (await s.other.request("PUT", "/share/again", body=b"x")).code == 403


@pytest_twisted.ensureDeferred
async def test_bucket_owner_enforced(server: Server) -> None:
    """With ACLs disabled, only owner-only ACLs are taken and every object belongs to the bucket owner."""
    s = server
    await setup(s)
    body = (b"<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced"
            b"</ObjectOwnership></Rule></OwnershipControls>")  # fmt: skip
    r = await s.client.request("PUT", "/share", "ownershipControls", body=body)
    assert r.code == 200, r.body
    r = await s.client.request(
        "PUT", "/share/k", headers={"x-amz-acl": "public-read"}, body=b"x"
    )
    assert (r.code, error_code(r.body)) == (400, "AccessControlListNotSupported")
    assert (await s.client.request("GET", "/share/k")).code == 404
    r = await s.client.request(
        "PUT", "/share/k", headers={"x-amz-acl": "bucket-owner-full-control"}, body=b"x"
    )
    assert r.code == 200
    text = policy(allow({"AWS": "owner-two"}, "s3:PutObject", "arn:aws:s3:::share/*"))
    assert (await s.client.request("PUT", "/share", "policy", body=text)).code == 204
    assert (await s.other.request("PUT", "/share/by-two", body=b"y")).code == 200
    root = ElementTree.fromstring((await s.client.request("GET", "/share/by-two", "acl")).body)
    assert root.findtext(f"{NS}Owner/{NS}ID") == "owner-one"
    r = await s.client.request("PUT", "/share", "ownershipControls", body=b"<Nope/>")
    assert (r.code, error_code(r.body)) == (400, "MalformedXML")
    assert (await s.client.request("DELETE", "/share", "ownershipControls")).code == 204
    r = await s.client.request("GET", "/share", "ownershipControls")
    assert (r.code, error_code(r.body)) == (404, "OwnershipControlsNotFoundError")


@pytest_twisted.ensureDeferred
async def test_create_bucket_with_acl_and_ownership(server: Server) -> None:
    """CreateBucket takes x-amz-acl and x-amz-object-ownership, and refuses ACLs with BucketOwnerEnforced."""
    s = server
    r = await s.client.request("PUT", "/pubbucket", headers={"x-amz-acl": "public-read"})
    assert r.code == 200
    r = await s.client.request("GET", "/pubbucket", "list-type=2", signed=False)
    assert r.code == 200
    r = await s.client.request(
        "PUT", "/enforced",
        headers={"x-amz-acl": "public-read",
                 "x-amz-object-ownership": "BucketOwnerEnforced"},
    )  # fmt: skip
    assert (r.code, error_code(r.body)) == (400, "InvalidBucketAclWithObjectOwnership")
    assert (await s.client.request("HEAD", "/enforced")).code == 404
    r = await s.client.request(
        "PUT", "/enforced", headers={"x-amz-object-ownership": "BucketOwnerEnforced"}
    )
    assert r.code == 200
    r = await s.client.request("GET", "/enforced", "ownershipControls")
    assert b"BucketOwnerEnforced" in r.body
    r = await s.client.request("PUT", "/bad", headers={"x-amz-object-ownership": "Mine"})
    assert (r.code, error_code(r.body)) == (400, "InvalidArgument")


@pytest_twisted.ensureDeferred
async def test_block_public_access(server: Server) -> None:
    """BlockPublicAcls, BlockPublicPolicy, IgnorePublicAcls and RestrictPublicBuckets do what AWS documents."""
    s = server
    await setup(s)
    await s.client.request(
        "PUT", "/share/pub", headers={"x-amz-acl": "public-read"}, body=b"p"
    )

    async def block(**flags: bool) -> None:
        inner = "".join(f"<{k}>{str(v).lower()}</{k}>" for k, v in flags.items())
        body = f"<PublicAccessBlockConfiguration>{inner}</PublicAccessBlockConfiguration>"
        r = await s.client.request("PUT", "/share", "publicAccessBlock", body=body.encode())
        assert r.code == 200, r.body

    await block(BlockPublicAcls=True)
    r = await s.client.request(
        "PUT", "/share/pub2", headers={"x-amz-acl": "public-read"}, body=b"p"
    )
    assert (r.code, error_code(r.body)) == (403, "AccessDenied")
    # Existing public ACLs still count until IgnorePublicAcls.
    assert (await s.client.request("GET", "/share/pub", signed=False)).code == 200
    await block(IgnorePublicAcls=True)
    assert (await s.client.request("GET", "/share/pub", signed=False)).code == 403
    await block(BlockPublicPolicy=True)
    public = policy(allow("*", "s3:GetObject", "arn:aws:s3:::share/*"))
    r = await s.client.request("PUT", "/share", "policy", body=public)
    assert (r.code, error_code(r.body)) == (403, "AccessDenied")
    await block(RestrictPublicBuckets=True)
    assert (await s.client.request("PUT", "/share", "policy", body=public)).code == 204
    assert (await s.client.request("GET", "/share/doc.txt", signed=False)).code == 403
    r = await s.client.request("GET", "/share", "publicAccessBlock")
    assert b"<RestrictPublicBuckets>true</RestrictPublicBuckets>" in r.body
    assert (await s.client.request("DELETE", "/share", "publicAccessBlock")).code == 204
    assert (await s.client.request("GET", "/share/doc.txt", signed=False)).code == 200
    r = await s.client.request("GET", "/share", "policyStatus")
    assert ElementTree.fromstring(r.body).findtext(NS + "IsPublic") == "true"
    r = await s.client.request("GET", "/share", "publicAccessBlock")
    assert error_code(r.body) == "NoSuchPublicAccessBlockConfiguration"
    r = await s.client.request("PUT", "/share", "publicAccessBlock", body=b"<X/>")
    assert (r.code, error_code(r.body)) == (400, "MalformedXML")


@pytest_twisted.ensureDeferred
async def test_expected_bucket_owner(server: Server) -> None:
    """x-amz-expected-bucket-owner must name the bucket's owner."""
    s = server
    await setup(s)
    r = await s.client.request(
        "GET", "/share/doc.txt", headers={"x-amz-expected-bucket-owner": "owner-two"}
    )
    assert (r.code, error_code(r.body)) == (403, "AccessDenied")
    r = await s.client.request(
        "GET", "/share/doc.txt", headers={"x-amz-expected-bucket-owner": "owner-one"}
    )
    assert r.code == 200


@pytest_twisted.ensureDeferred
async def test_delete_objects_per_key_and_copy_source(server: Server) -> None:
    """DeleteObjects decides each key; a copy needs read access to its source bucket's object."""
    s = server
    await setup(s)
    await s.client.request("PUT", "/share/tmp/a", body=b"a")
    text = policy(
        allow({"AWS": "owner-two"}, "s3:DeleteObject", "arn:aws:s3:::share/tmp/*"),
    )
    assert (await s.client.request("PUT", "/share", "policy", body=text)).code == 204
    body = (b"<Delete><Object><Key>tmp/a</Key></Object>"
            b"<Object><Key>doc.txt</Key></Object></Delete>")  # fmt: skip
    import base64
    import hashlib

    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    r = await s.other.request("POST", "/share", "delete", headers={"Content-MD5": md5},
                              body=body)  # fmt: skip
    assert r.code == 200, r.body
    root = ElementTree.fromstring(r.body)
    assert [d.findtext(NS + "Key") for d in root.iter(NS + "Deleted")] == ["tmp/a"]
    [error] = root.iter(NS + "Error")
    assert (error.findtext(NS + "Key"), error.findtext(NS + "Code")) == (
        "doc.txt",
        "AccessDenied",
    )
    assert (await s.client.request("HEAD", "/share/doc.txt")).code == 200
    assert (await s.client.request("HEAD", "/share/tmp/a")).code == 404
    # Copy: owner-two copies into its own bucket only once it may read.
    assert (await s.other.request("PUT", "/twos")).code == 200
    copy = {"x-amz-copy-source": "/share/doc.txt"}
    r = await s.other.request("PUT", "/twos/copy", headers=copy)
    assert (r.code, error_code(r.body)) == (403, "AccessDenied")
    text = policy(allow({"AWS": "owner-two"}, "s3:GetObject", "arn:aws:s3:::share/*"))
    assert (await s.client.request("PUT", "/share", "policy", body=text)).code == 204
    assert (await s.other.request("PUT", "/twos/copy", headers=copy)).code == 200
    assert (await s.other.request("GET", "/twos/copy")).body == b"shared bytes"


@pytest_twisted.ensureDeferred
async def test_anonymous_over_tls(tls_server: Server) -> None:
    """Over real TLS with the SQLite store: a public-read object is a plain download link, and the setting persists."""
    s = tls_server
    await setup(s)
    await s.client.request("PUT", "/share/pub", "acl", headers={"x-amz-acl": "public-read"})
    r = await s.client.request("PUT", "/share/doc.txt", "acl", headers={"x-amz-acl": "public-read"})
    assert r.code == 200
    r = await s.client.request("GET", "/share/doc.txt", signed=False)
    assert (r.code, r.body) == (200, b"shared bytes")
    text = policy(allow("*", "s3:ListBucket", "arn:aws:s3:::share"))
    assert (await s.client.request("PUT", "/share", "policy", body=text)).code == 204
    r = await s.client.request("GET", "/share", "list-type=2", signed=False)
    assert r.code == 200 and b"doc.txt" in r.body


@pytest_twisted.ensureDeferred
async def test_settings_seen_by_another_store_on_the_same_data(tmp_path: Path) -> None:
    """Two servers over one data directory (as worker processes are): a policy set through one is obeyed, then revoked, by the other."""
    first = RunningTLSServer(tmp_path / "a", tmp_path / "data")
    second = RunningTLSServer(tmp_path / "b", tmp_path / "data")
    a, b = await first.start(), await second.start()
    try:
        await setup(a)
        r = await b.client.request("GET", "/share/doc.txt", signed=False)
        assert r.code == 403  # and b's cache now holds the bucket's settings
        public = policy(allow("*", "s3:GetObject", "arn:aws:s3:::share/*"))
        assert (await a.client.request("PUT", "/share", "policy", body=public)).code == 204
        r = await b.client.request("GET", "/share/doc.txt", signed=False)
        assert (r.code, r.body) == (200, b"shared bytes")
        assert (await a.client.request("DELETE", "/share", "policy")).code == 204
        assert (await b.client.request("GET", "/share/doc.txt", signed=False)).code == 403
    finally:
        await first.stop()
        await second.stop()
