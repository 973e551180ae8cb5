"""
Versioning through the whole site: PutBucketVersioning and
GetBucketVersioning, version ids on writes, reads and deletes by version,
delete markers and their headers, ListObjectVersions, DeleteObjects with
versions, copying (restoring) an old version, and Suspended buckets.
"""

from __future__ import annotations

import base64
import hashlib
from xml.etree import ElementTree

import pytest_twisted

from tests.functional import Server, server  # noqa: F401
from tests.s3client import error_code

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def versioning(status: str) -> bytes:
    return (
        f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Status>{status}</Status></VersioningConfiguration>"
    ).encode()


async def enable(s: Server, bucket: str = "ver", status: str = "Enabled") -> None:
    r = await s.client.request("PUT", f"/{bucket}", "versioning", body=versioning(status))
    assert r.code == 200, r.body


async def put(s: Server, path: str, body: bytes) -> str:
    r = await s.client.request("PUT", path, body=body)
    assert r.code == 200, r.body
    return r.header("x-amz-version-id") or ""


def listed(body: bytes) -> list[tuple[str, str, str, str]]:
    """(kind, key, version id, is latest) of a ListVersionsResult."""
    root = ElementTree.fromstring(body)
    return [
        (el.tag[len(NS):], el.findtext(NS + "Key") or "",
         el.findtext(NS + "VersionId") or "", el.findtext(NS + "IsLatest") or "")
        for el in root
        if el.tag in (NS + "Version", NS + "DeleteMarker")
    ]  # fmt: skip


@pytest_twisted.ensureDeferred
async def test_configuration(server: Server) -> None:
    """Versioning starts empty, is Enabled then Suspended; bad bodies change nothing; it cannot be unset."""
    c = server.client
    await c.request("PUT", "/ver")
    r = await c.request("GET", "/ver", "versioning")
    assert ElementTree.fromstring(r.body).find(NS + "Status") is None
    await enable(server)
    r = await c.request("GET", "/ver", "versioning")
    assert ElementTree.fromstring(r.body).findtext(NS + "Status") == "Enabled"
    for bad, code in (
        (versioning("enabled"), "MalformedXML"),
        (versioning(""), "IllegalVersioningConfigurationException"),
        (b"<VersioningConfiguration><Status>Enabled</Status>"
         b"<MfaDelete>Enabled</MfaDelete></VersioningConfiguration>", "AccessDenied"),
        (b"not xml", "MalformedXML"),
    ):  # fmt: skip
        r = await c.request("PUT", "/ver", "versioning", body=bad)
        assert error_code(r.body) == code, r.body
    await enable(server, status="Suspended")
    r = await c.request("GET", "/ver", "versioning")
    assert ElementTree.fromstring(r.body).findtext(NS + "Status") == "Suspended"


@pytest_twisted.ensureDeferred
async def test_versions_markers_and_undelete(server: Server) -> None:
    """PUTs make versions, DELETE a marker (404 with headers), GET by id reads any, deleting the marker restores."""
    c = server.client
    await c.request("PUT", "/ver")
    unversioned = await c.request("PUT", "/ver/pre", body=b"pre")
    assert unversioned.header("x-amz-version-id") is None
    await enable(server)
    v1 = await put(server, "/ver/k", b"one")
    v2 = await put(server, "/ver/k", b"two")
    assert v1 and v2 and v1 != v2
    r = await c.request("GET", "/ver/k")
    assert (r.body, r.header("x-amz-version-id")) == (b"two", v2)
    r = await c.request("GET", "/ver/k", f"versionId={v1}")
    assert (r.body, r.header("x-amz-version-id")) == (b"one", v1)
    r = await c.request("HEAD", "/ver/pre")
    assert r.header("x-amz-version-id") == "null"
    r = await c.request("DELETE", "/ver/k")
    assert r.code == 204 and r.header("x-amz-delete-marker") == "true"
    marker = r.header("x-amz-version-id")
    assert marker
    r = await c.request("GET", "/ver/k")
    assert (r.code, error_code(r.body)) == (404, "NoSuchKey")
    assert r.header("x-amz-delete-marker") == "true"
    assert r.header("x-amz-version-id") == marker
    r = await c.request("GET", "/ver/k", f"versionId={marker}")
    assert (r.code, error_code(r.body)) == (405, "MethodNotAllowed")
    assert r.header("x-amz-delete-marker") == "true"
    r = await c.request("GET", "/ver", "versions")
    assert listed(r.body) == [
        ("DeleteMarker", "k", marker, "true"),
        ("Version", "k", v2, "false"),
        ("Version", "k", v1, "false"),
        ("Version", "pre", "null", "true"),
    ]
    r = await c.request("GET", "/ver", "list-type=2")
    assert b"<Key>k</Key>" not in r.body
    r = await c.request("DELETE", "/ver/k", f"versionId={marker}")
    assert r.code == 204 and r.header("x-amz-delete-marker") == "true"
    assert (await c.request("GET", "/ver/k")).body == b"two"
    r = await c.request("DELETE", "/ver/k", f"versionId={v2}")
    assert r.code == 204 and r.header("x-amz-version-id") == v2
    assert (await c.request("GET", "/ver/k")).body == b"one"
    r = await c.request("GET", "/ver/k", "versionId=bogus")
    assert (r.code, error_code(r.body)) == (400, "InvalidArgument")
    r = await c.request("GET", "/ver/k", "versionId=" + "0" * 32)
    assert (r.code, error_code(r.body)) == (404, "NoSuchVersion")


@pytest_twisted.ensureDeferred
async def test_restore_previous_version_by_copy(server: Server) -> None:
    """Copying an old version over the key (Cyberduck's restore) makes it current again."""
    c = server.client
    await c.request("PUT", "/ver")
    await enable(server)
    v1 = await put(server, "/ver/doc.txt", b"first draft")
    await put(server, "/ver/doc.txt", b"ruined")
    r = await c.request(
        "PUT", "/ver/doc.txt", headers={"x-amz-copy-source": f"/ver/doc.txt?versionId={v1}"}
    )
    assert r.code == 200, r.body
    assert r.header("x-amz-copy-source-version-id") == v1
    assert r.header("x-amz-version-id") not in (None, v1)
    assert (await c.request("GET", "/ver/doc.txt")).body == b"first draft"
    r = await c.request("GET", "/ver", "versions")
    assert len(listed(r.body)) == 3


@pytest_twisted.ensureDeferred
async def test_delete_objects_with_versions(server: Server) -> None:
    """DeleteObjects writes markers for plain keys and removes named versions."""
    c = server.client
    await c.request("PUT", "/ver")
    await enable(server)
    v1 = await put(server, "/ver/a", b"a1")
    await put(server, "/ver/b", b"b1")
    body = (
        f"<Delete><Object><Key>a</Key><VersionId>{v1}</VersionId></Object>"
        "<Object><Key>b</Key></Object></Delete>"
    ).encode()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    r = await c.request("POST", "/ver", "delete", headers={"Content-MD5": md5}, body=body)
    assert r.code == 200, r.body
    deleted = ElementTree.fromstring(r.body).findall(NS + "Deleted")
    assert deleted[0].findtext(NS + "VersionId") == v1
    assert deleted[1].findtext(NS + "DeleteMarker") == "true"
    assert deleted[1].findtext(NS + "DeleteMarkerVersionId")
    r = await c.request("GET", "/ver", "versions")
    assert [(k, key) for k, key, _, _ in listed(r.body)] == [
        ("DeleteMarker", "b"),
        ("Version", "b"),
    ]


@pytest_twisted.ensureDeferred
async def test_suspended_bucket(server: Server) -> None:
    """On a Suspended bucket PUTs replace the null version and DELETE writes a null marker."""
    c = server.client
    await c.request("PUT", "/ver")
    await enable(server)
    kept = await put(server, "/ver/k", b"kept")
    await enable(server, status="Suspended")
    assert await put(server, "/ver/k", b"n1") == "null"
    assert await put(server, "/ver/k", b"n2") == "null"
    r = await c.request("GET", "/ver", "versions")
    assert listed(r.body) == [
        ("Version", "k", "null", "true"),
        ("Version", "k", kept, "false"),
    ]
    r = await c.request("DELETE", "/ver/k")
    assert r.header("x-amz-version-id") == "null"
    r = await c.request("DELETE", "/ver")
    assert (r.code, error_code(r.body)) == (409, "BucketNotEmpty")
