"""
Configuration sub-resources: the classifier's names for them (pure), then
each answer over real TLS, parsed as XML and checked element by element
against what S3 sends for a new bucket without that configuration, plus
ListObjectVersions.  ACLs, ownership, policies and Block Public Access
are tested in tests/test_sharing.py.
"""

from __future__ import annotations

from xml.etree import ElementTree

import pytest_twisted

from tests.functional import Server, server  # noqa: F401
from txs3.classify import classify

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
        ("PUT", "/b", "lifecycle"): "PutBucketLifecycleConfiguration",
        ("DELETE", "/b", "lifecycle"): "DeleteBucketLifecycle",
        ("POST", "/b", "lifecycle"): "NotImplemented",
        ("GET", "/b", "acl&policy"): "NotImplemented",
        ("HEAD", "/b/k", "acl"): "NotImplemented",
    }
    for (method, path, query), name in cases.items():
        assert classify(method, path, query, {}).operation.name == name, (method, path, query)


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
    """A new bucket has ObjectWriter ownership, no public access block, and the owner pays."""
    await server.client.request("PUT", "/subr")
    el = await _get(server, "ownershipControls")
    assert el.tag == NS + "OwnershipControls"
    assert el.findtext(f"{NS}Rule/{NS}ObjectOwnership") == "ObjectWriter"
    r = await server.client.request("GET", "/subr", "publicAccessBlock")
    assert r.code == 404 and b"NoSuchPublicAccessBlockConfiguration" in r.body
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
