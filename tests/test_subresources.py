"""
Configuration sub-resources: the classifier's names for them (pure), then
each answer over real TLS, parsed as XML and checked element by element
against what S3 sends for a new bucket without that configuration, plus
the ACL rules of a BucketOwnerEnforced bucket and ListObjectVersions.
"""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
import pytest_twisted

from tests.functional import Server, server  # noqa: F401
from txs3.api.acl import access_control_policy, check_acl_body, check_acl_headers
from txs3.classify import classify
from txs3.errors import S3Error

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def test_classifier_names() -> None:
    """Each probed sub-resource maps to its S3 operation; unknown ones and extra combinations stay NotImplemented."""
    cases = {
        ("GET", "/b", "versioning"): "GetBucketVersioning",
        ("PUT", "/b", "versioning"): "PutBucketVersioning",
        ("GET", "/b", "versions&prefix=a&max-keys=3"): "ListObjectVersions",
        ("GET", "/b", "logging"): "GetBucketLogging",
        ("GET", "/b", "lifecycle"): "GetBucketLifecycleConfiguration",
        ("GET", "/b", "acl"): "GetBucketAcl",
        ("PUT", "/b/k", "acl"): "PutObjectAcl",
        ("GET", "/b", "ownershipControls"): "GetBucketOwnershipControls",
        ("DELETE", "/b", "ownershipControls"): "DeleteBucketOwnershipControls",
        ("GET", "/b", "object-lock"): "GetObjectLockConfiguration",
        ("GET", "/b/k", "tagging&versionId=null"): "GetObjectTagging",
        ("DELETE", "/b", "tagging"): "DeleteBucketTagging",
        ("GET", "/b", "analytics"): "NotImplemented",
        ("PUT", "/b", "lifecycle"): "NotImplemented",
        ("GET", "/b", "acl&policy"): "NotImplemented",
        ("HEAD", "/b/k", "acl"): "NotImplemented",
    }
    for (method, path, query), name in cases.items():
        assert classify(method, path, query, {}).operation.name == name, (method, path, query)


def test_acl_document() -> None:
    """The ACL document has the owner and one CanonicalUser FULL_CONTROL grant typed with xsi:type."""
    root = ElementTree.fromstring(access_control_policy("abc", "Ann & Co"))
    assert root.tag == NS + "AccessControlPolicy"
    assert root.findtext(f"{NS}Owner/{NS}ID") == "abc"
    assert root.findtext(f"{NS}Owner/{NS}DisplayName") == "Ann & Co"
    [grant] = root.findall(f"{NS}AccessControlList/{NS}Grant")
    grantee = grant.find(NS + "Grantee")
    assert grantee is not None and grantee.get(XSI + "type") == "CanonicalUser"
    assert grantee.findtext(NS + "ID") == "abc"
    assert grant.findtext(NS + "Permission") == "FULL_CONTROL"


def test_acl_headers() -> None:
    """private and bucket-owner-full-control pass; other canned ACLs, grants to others, and canned plus grants are refused."""
    check_acl_headers({}, "me")
    check_acl_headers({"x-amz-acl": "private"}, "me")
    check_acl_headers({"x-amz-acl": "bucket-owner-full-control"}, "me")
    check_acl_headers({"x-amz-grant-full-control": 'id="me"'}, "me")
    for headers in (
        {"x-amz-acl": "public-read"},
        {"x-amz-grant-read": 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'},
        {"x-amz-grant-full-control": 'id="me", id="you"'},
    ):
        with pytest.raises(S3Error) as e:
            check_acl_headers(headers, "me")
        assert e.value.code == "AccessControlListNotSupported"
        assert e.value.message == "The bucket does not allow ACLs"
    with pytest.raises(S3Error) as e:
        check_acl_headers({"x-amz-acl": "private", "x-amz-grant-read": "id=me"}, "me")
    assert e.value.code == "InvalidRequest"


def test_acl_body() -> None:
    """An ACL body accepted is exactly the one GetBucketAcl returns; a grant to anyone else is refused, garbage is MalformedACLError."""
    check_acl_body(access_control_policy("me", "Me"), "me")
    other = access_control_policy("me", "Me").replace(
        b"<Permission>FULL_CONTROL", b"<Permission>READ"
    )
    for body, code in (
        (access_control_policy("you", "You"), "AccessControlListNotSupported"),
        (other, "AccessControlListNotSupported"),
        (b"<AccessControlPolicy/>", "MalformedACLError"),
        (b"<nope", "MalformedACLError"),
    ):
        with pytest.raises(S3Error) as e:
            check_acl_body(body, "me")
        assert e.value.code == code


async def _get(s: Server, query: str, path: str = "/subr") -> ElementTree.Element:
    r = await s.client.request("GET", path, query)
    assert r.code == 200, (query, r.body)
    assert r.header("content-type") == "application/xml"
    return ElementTree.fromstring(r.body)


@pytest_twisted.ensureDeferred
async def test_empty_documents(server: Server) -> None:
    """versioning, logging, accelerate and notification answer their empty documents in S3's namespace."""
    await server.client.request("PUT", "/subr")
    for query, root in (
        ("versioning", "VersioningConfiguration"),
        ("logging", "BucketLoggingStatus"),
        ("accelerate", "AccelerateConfiguration"),
        ("notification", "NotificationConfiguration"),
    ):
        el = await _get(server, query)
        assert el.tag == NS + root and len(el) == 0 and not (el.text or "").strip()


@pytest_twisted.ensureDeferred
async def test_default_documents(server: Server) -> None:
    """ownershipControls, publicAccessBlock and requestPayment answer S3's defaults for a new bucket."""
    await server.client.request("PUT", "/subr")
    el = await _get(server, "ownershipControls")
    assert el.tag == NS + "OwnershipControls"
    assert el.findtext(f"{NS}Rule/{NS}ObjectOwnership") == "BucketOwnerEnforced"
    el = await _get(server, "publicAccessBlock")
    assert el.tag == NS + "PublicAccessBlockConfiguration"
    assert [(c.tag[len(NS) :], c.text) for c in el] == [
        ("BlockPublicAcls", "true"),
        ("IgnorePublicAcls", "true"),
        ("BlockPublicPolicy", "true"),
        ("RestrictPublicBuckets", "true"),
    ]
    el = await _get(server, "requestPayment")
    assert el.tag == NS + "RequestPaymentConfiguration"
    assert el.findtext(NS + "Payer") == "BucketOwner"


@pytest_twisted.ensureDeferred
async def test_missing_configurations(server: Server) -> None:
    """lifecycle, policy, cors, website, encryption, object-lock and replication answer S3's 404 codes with the bucket name."""
    await server.client.request("PUT", "/subr")
    for query, code in (
        ("lifecycle", "NoSuchLifecycleConfiguration"),
        ("policy", "NoSuchBucketPolicy"),
        ("cors", "NoSuchCORSConfiguration"),
        ("website", "NoSuchWebsiteConfiguration"),
        ("encryption", "ServerSideEncryptionConfigurationNotFoundError"),
        ("object-lock", "ObjectLockConfigurationNotFoundError"),
        ("replication", "ReplicationConfigurationNotFoundError"),
    ):
        r = await server.client.request("GET", "/subr", query)
        assert r.code == 404, query
        el = ElementTree.fromstring(r.body)
        assert el.findtext("Code") == code and el.findtext("BucketName") == "subr"
    r = await server.client.request("GET", "/nosuchbucket", "lifecycle")
    assert r.code == 404 and b"NoSuchBucket<" in r.body


@pytest_twisted.ensureDeferred
async def test_versioning_and_ownership_writes(server: Server) -> None:
    """PUT ?versioning is 501; PUT ?ownershipControls accepts BucketOwnerEnforced only; DELETE is 501."""
    c = server.client
    await c.request("PUT", "/subr")
    body = b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>'
    r = await c.request("PUT", "/subr", "versioning", body=body)
    assert r.code == 501 and b"NotImplemented" in r.body
    rule = "<OwnershipControls><Rule><ObjectOwnership>{}</ObjectOwnership></Rule></OwnershipControls>"
    r = await c.request(
        "PUT",
        "/subr",
        "ownershipControls",
        body=rule.format("BucketOwnerEnforced").encode(),
    )
    assert r.code == 200, r.body
    r = await c.request(
        "PUT", "/subr", "ownershipControls", body=rule.format("ObjectWriter").encode()
    )
    assert r.code == 501
    r = await c.request(
        "PUT", "/subr", "ownershipControls", body=rule.format("Bogus").encode()
    )
    assert r.code == 400 and b"MalformedXML" in r.body
    assert (await c.request("DELETE", "/subr", "ownershipControls")).code == 501


@pytest_twisted.ensureDeferred
async def test_acls_over_the_wire(server: Server) -> None:
    """Bucket and object ACLs name the owner; PUT ?acl and x-amz-acl accept only the owner's full control."""
    c = server.client
    assert (
        await c.request("PUT", "/subr", headers={"x-amz-acl": "private"})
    ).code == 200
    r = await c.request("PUT", "/subr2", headers={"x-amz-acl": "public-read"})
    assert r.code == 400 and b"AccessControlListNotSupported" in r.body
    assert (await c.request("HEAD", "/subr2")).code == 404
    r = await c.request("PUT", "/subr/k", headers={"x-amz-acl": "private"}, body=b"x")
    assert r.code == 200
    r = await c.request(
        "PUT", "/subr/j", headers={"x-amz-acl": "public-read"}, body=b"x"
    )
    assert r.code == 400 and b"AccessControlListNotSupported" in r.body
    for path in ("/subr", "/subr/k"):
        el = await _get(server, "acl", path)
        assert el.findtext(f"{NS}Owner/{NS}ID") == "owner-one"
        assert el.findtext(f"{NS}Owner/{NS}DisplayName") == "one"
        grantee = el.find(f"{NS}AccessControlList/{NS}Grant/{NS}Grantee")
        assert grantee is not None and grantee.get(XSI + "type") == "CanonicalUser"
        r = await c.request(
            "PUT", path, "acl", body=access_control_policy("owner-one", "one")
        )
        assert r.code == 200, r.body
        r = await c.request("PUT", path, "acl", headers={"x-amz-acl": "private"})
        assert r.code == 200
        r = await c.request("PUT", path, "acl", headers={"x-amz-acl": "public-read"})
        assert r.code == 400 and b"AccessControlListNotSupported" in r.body
        r = await c.request(
            "PUT", path, "acl", body=access_control_policy("owner-two", "two")
        )
        assert r.code == 400 and b"AccessControlListNotSupported" in r.body
    r = await c.request("GET", "/subr/missing", "acl")
    assert r.code == 404 and b"NoSuchKey" in r.body
    # Another owner cannot read the ACL at all.
    assert (await server.other.request("GET", "/subr", "acl")).code == 403


def _versions(root: ElementTree.Element) -> list[str]:
    return [v.findtext(NS + "Key") or "" for v in root.findall(NS + "Version")]


@pytest_twisted.ensureDeferred
async def test_list_object_versions(server: Server) -> None:
    """?versions lists each object once as VersionId null, IsLatest true, paged by key-marker with NextVersionIdMarker null, with prefixes rolled up."""
    c = server.client
    await c.request("PUT", "/subr")
    for key in ("a", "b+c", "d/1", "d/2", "e"):
        await c.request("PUT", "/subr/" + key.replace("+", "%2B"), body=key.encode())
    root = await _get(server, "versions")
    assert root.tag == NS + "ListVersionsResult"
    assert _versions(root) == ["a", "b+c", "d/1", "d/2", "e"]
    first = root.find(NS + "Version")
    assert first is not None
    assert first.findtext(NS + "VersionId") == "null"
    assert first.findtext(NS + "IsLatest") == "true"
    assert first.findtext(NS + "ETag", "").startswith('"')
    assert first.findtext(f"{NS}Owner/{NS}ID") == "owner-one"
    assert root.findtext(NS + "IsTruncated") == "false"
    root = await _get(server, "versions&max-keys=2")
    assert _versions(root) == ["a", "b+c"]
    assert root.findtext(NS + "IsTruncated") == "true"
    assert root.findtext(NS + "NextKeyMarker") == "b+c"
    assert root.findtext(NS + "NextVersionIdMarker") == "null"
    root = await _get(
        server,
        "versions&max-keys=2&key-marker=b%2Bc&version-id-marker=null&delimiter=%2F",
    )
    assert _versions(root) == ["e"]
    assert [p.text for p in root.iter(NS + "Prefix") if p.text] == ["d/"]
    root = await _get(server, "versions&prefix=d%2F&encoding-type=url")
    assert _versions(root) == ["d/1", "d/2"]
    assert root.findtext(NS + "EncodingType") == "url"
    r = await c.request("GET", "/subr", "versions&version-id-marker=null")
    assert r.code == 400 and b"InvalidArgument" in r.body
    r = await c.request("GET", "/subr", "versions&key-marker=a&version-id-marker=xyz")
    assert r.code == 400 and b"InvalidArgument" in r.body
