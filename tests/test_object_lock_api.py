"""
Object Lock through the whole site (in memory): CreateBucket with Object
Lock, Put/GetObjectLockConfiguration, the lock headers on writes and
reads, Put/GetObjectRetention and Put/GetObjectLegalHold, deletions of
locked versions refused (and the governance bypass), DeleteObjects,
copies and multipart uploads.  The decisions' tables are in
tests/test_object_lock.py and tests/test_store_lock.py; these tests show
each is wired, with AWS's codes and messages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from xml.etree import ElementTree

import pytest_twisted

from tests.functional import Server, server  # noqa: F401
from tests.s3client import error_code

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
LOCKED = "Access Denied because object protected by object lock."
FUTURE = "2099-01-01T00:00:00.000Z"
LATER = "2100-01-01T00:00:00.000Z"
BYPASS = {"x-amz-bypass-governance-retention": "true"}


def md5(body: bytes) -> dict[str, str]:
    return {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}


def message(body: bytes) -> str:
    return ElementTree.fromstring(body).findtext("Message") or ""


def lock_config(rule: str = "") -> bytes:
    return (
        "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
        f"{rule}</ObjectLockConfiguration>"
    ).encode()


def retention(mode: str = "GOVERNANCE", until: str = FUTURE) -> bytes:
    return (
        f"<Retention><Mode>{mode}</Mode><RetainUntilDate>{until}</RetainUntilDate>"
        "</Retention>"
    ).encode()


def hold(status: str) -> bytes:
    return f"<LegalHold><Status>{status}</Status></LegalHold>".encode()


async def locked_bucket(s: Server, name: str = "locked") -> None:
    r = await s.client.request(
        "PUT", f"/{name}", headers={"x-amz-bucket-object-lock-enabled": "true"}
    )
    assert r.code == 200, r.body


async def put(s: Server, path: str, body: bytes = b"data", **headers: str) -> str:
    r = await s.client.request("PUT", path, headers={**md5(body), **headers}, body=body)
    assert r.code == 200, r.body
    return r.header("x-amz-version-id") or ""


async def xml_put(
    s: Server, path: str, sub: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """(status, error code, message) of a PUT ?sub with a Content-MD5."""
    r = await s.client.request("PUT", path, sub, {**md5(body), **(headers or {})}, body)
    if r.code < 300:
        return r.code, "", ""
    return r.code, error_code(r.body), message(r.body)


async def delete(
    s: Server, path: str, version: str, headers: dict[str, str] | None = None, other: bool = False
) -> tuple[int, str, str]:
    client = s.other if other else s.client
    r = await client.request("DELETE", path, f"versionId={version}", headers)
    if r.code < 300:
        return r.code, "", ""
    return r.code, error_code(r.body), message(r.body)


@pytest_twisted.ensureDeferred
async def test_create_bucket_with_object_lock(server: Server) -> None:
    """The header makes a versioned bucket with Object Lock that cannot be suspended; without it there is no configuration."""
    c = server.client
    await locked_bucket(server)
    r = await c.request("GET", "/locked", "versioning")
    assert ElementTree.fromstring(r.body).findtext(NS + "Status") == "Enabled"
    r = await c.request("GET", "/locked", "object-lock")
    assert r.code == 200
    root = ElementTree.fromstring(r.body)
    assert root.findtext(NS + "ObjectLockEnabled") == "Enabled"
    assert root.find(NS + "Rule") is None
    suspend = (
        b"<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>"
    )
    r = await c.request("PUT", "/locked", "versioning", body=suspend)
    assert (r.code, error_code(r.body)) == (409, "InvalidBucketState")
    await c.request("PUT", "/plain")
    r = await c.request("GET", "/plain", "object-lock")
    assert (r.code, error_code(r.body)) == (404, "ObjectLockConfigurationNotFoundError")
    assert b"<BucketName>plain</BucketName>" in r.body


@pytest_twisted.ensureDeferred
async def test_put_object_lock_configuration(server: Server) -> None:
    """Only on an Enabled bucket (which it turns Object Lock on for); bad documents change nothing; the default applies to new versions."""
    s, c = server, server.client
    await c.request("PUT", "/bkt")
    assert await xml_put(s, "/bkt", "object-lock", lock_config()) == (
        409,
        "InvalidBucketState",
        "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration",
    )
    enable = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
    await c.request("PUT", "/bkt", "versioning", body=enable)
    assert (await xml_put(s, "/bkt", "object-lock", lock_config()))[0] == 200
    rule = "<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days></DefaultRetention></Rule>"
    bad = [
        (lock_config("<Rule></Rule>"), 400, "MalformedXML"),
        (lock_config(rule.replace("<Days>1", "<Days>0").replace("</Days>", "</Days>")), 400, "InvalidArgument"),
        (lock_config(rule.replace("COMPLIANCE", "compliance")), 400, "MalformedXML"),
        (b"<ObjectLockConfiguration/>", 400, "MalformedXML"),
    ]  # fmt: skip
    for body, status, code in bad:
        assert (await xml_put(s, "/bkt", "object-lock", body))[:2] == (status, code)
    r = await c.request("GET", "/bkt", "object-lock")
    assert ElementTree.fromstring(r.body).find(NS + "Rule") is None
    # Content-MD5 (or a checksum) is required, as AWS requires it.
    r = await c.request("PUT", "/bkt", "object-lock", body=lock_config(rule))
    assert (r.code, error_code(r.body)) == (400, "InvalidRequest")
    assert (await xml_put(s, "/bkt", "object-lock", lock_config(rule)))[0] == 200
    r = await c.request("GET", "/bkt", "object-lock")
    default = ElementTree.fromstring(r.body).find(f"{NS}Rule/{NS}DefaultRetention")
    assert default is not None
    assert (default.findtext(NS + "Mode"), default.findtext(NS + "Days")) == ("COMPLIANCE", "1")
    # A PUT to a bucket with a default retention needs an integrity header.
    r = await c.request("PUT", "/bkt/k", body=b"data")
    assert (r.code, error_code(r.body)) == (400, "InvalidRequest")
    assert message(r.body) == (
        "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object "
        "requests with Object Lock parameters"
    )
    before = time.time()
    version = await put(s, "/bkt/k")
    r = await c.request("HEAD", "/bkt/k")
    assert r.header("x-amz-object-lock-mode") == "COMPLIANCE"
    r = await c.request("GET", "/bkt/k", f"retention&versionId={version}")
    until = ElementTree.fromstring(r.body).findtext(NS + "RetainUntilDate") or ""
    stamp = time.mktime(time.strptime(until[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    assert before + 86400 - 2 <= stamp <= time.time() + 86400 + 1
    assert await delete(s, "/bkt/k", version, BYPASS) == (403, "AccessDenied", LOCKED)


@pytest_twisted.ensureDeferred
async def test_lock_headers_on_put_and_read(server: Server) -> None:
    """x-amz-object-lock-* on PUT: stored and shown on GET/HEAD; errors as AWS's, before anything is stored."""
    s, c = server, server.client
    await locked_bucket(s)
    lock = {
        "x-amz-object-lock-mode": "GOVERNANCE",
        "x-amz-object-lock-retain-until-date": FUTURE,
        "x-amz-object-lock-legal-hold": "ON",
    }
    await put(s, "/locked/k", **lock)
    for method in ("GET", "HEAD"):
        r = await c.request(method, "/locked/k")
        assert {n: r.header(n) for n in lock} == lock
    r = await c.request("GET", "/locked/k", "legal-hold")
    assert ElementTree.fromstring(r.body).findtext(NS + "Status") == "ON"
    r = await c.request("PUT", "/locked/j", headers=lock, body=b"x")
    assert (r.code, error_code(r.body)) == (400, "InvalidRequest")
    r = await c.request("PUT", "/locked/j", headers={**lock, **md5(b"x"), "x-amz-object-lock-mode": "governance"}, body=b"x")
    assert (r.code, error_code(r.body), message(r.body)) == (400, "InvalidArgument", "Unknown wormMode directive.")
    past = {**lock, **md5(b"x"), "x-amz-object-lock-retain-until-date": "2001-01-01T00:00:00Z"}
    r = await c.request("PUT", "/locked/j", headers=past, body=b"x")
    assert (r.code, message(r.body)) == (400, "The retain until date must be in the future!")
    r = await c.request("HEAD", "/locked/j")
    assert r.code == 404
    await c.request("PUT", "/plain")
    r = await c.request("PUT", "/plain/j", headers={**lock, **md5(b"x")}, body=b"x")
    assert (r.code, error_code(r.body), message(r.body)) == (
        400, "InvalidRequest", "Bucket is missing ObjectLockConfiguration")  # fmt: skip
    # A version without a lock shows none.
    await put(s, "/locked/free")
    r = await c.request("HEAD", "/locked/free")
    assert not [h for h in r.headers if h.startswith("x-amz-object-lock")]


@pytest_twisted.ensureDeferred
async def test_retention_changes(server: Server) -> None:
    """Placing and extending is allowed; shortening needs the governance bypass; COMPLIANCE never weakens."""
    s, c = server, server.client
    await locked_bucket(s)
    version = await put(s, "/locked/k")
    r = await c.request("GET", "/locked/k", "retention")
    assert (r.code, error_code(r.body)) == (404, "NoSuchObjectLockConfiguration")
    r = await c.request("GET", "/locked/k", "legal-hold")
    assert (r.code, error_code(r.body)) == (404, "NoSuchObjectLockConfiguration")
    path = "/locked/k"
    sub = f"retention&versionId={version}"
    assert (await xml_put(s, path, sub, retention()))[0] == 200
    assert (await xml_put(s, path, sub, retention(until=LATER)))[0] == 200
    assert await xml_put(s, path, sub, retention()) == (403, "AccessDenied", LOCKED)
    assert (await xml_put(s, path, sub, retention(), BYPASS))[0] == 200
    assert (await xml_put(s, path, sub, b"<Retention/>", BYPASS))[0] == 200
    r = await c.request("GET", "/locked/k", "retention")
    assert error_code(r.body) == "NoSuchObjectLockConfiguration"
    assert (await xml_put(s, path, sub, retention("COMPLIANCE")))[0] == 200
    for body in (retention("GOVERNANCE", LATER), retention("COMPLIANCE", "2098-01-01T00:00:00Z"), b"<Retention/>"):
        assert await xml_put(s, path, sub, body, BYPASS) == (403, "AccessDenied", LOCKED)
    assert (await xml_put(s, path, sub, retention("COMPLIANCE", LATER)))[0] == 200
    r = await c.request("GET", "/locked/k", "retention")
    root = ElementTree.fromstring(r.body)
    assert (root.findtext(NS + "Mode"), root.findtext(NS + "RetainUntilDate")) == ("COMPLIANCE", LATER)
    # Bad documents, and a bucket without Object Lock.
    assert (await xml_put(s, path, sub, b"<Retention><Mode>GOVERNANCE</Mode></Retention>"))[1] == "MalformedXML"
    assert (await xml_put(s, path, sub, retention(until="2001-01-01T00:00:00Z")))[1] == "InvalidArgument"
    await c.request("PUT", "/plain")
    await put(s, "/plain/k")
    assert await xml_put(s, "/plain/k", "retention", retention()) == (
        400, "InvalidRequest", "Bucket is missing Object Lock Configuration")  # fmt: skip
    assert (await xml_put(s, "/plain/k", "legal-hold", hold("ON")))[1] == "InvalidRequest"
    r = await c.request("DELETE", "/plain/k", headers=BYPASS)
    assert (r.code, error_code(r.body)) == (400, "InvalidArgument")


@pytest_twisted.ensureDeferred
async def test_delete_locked_versions(server: Server) -> None:
    """A version under retention or legal hold is not deleted (a marker on top is); bypass works for GOVERNANCE only."""
    s, c = server, server.client
    await locked_bucket(s)
    gov = await put(s, "/locked/g", **{"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": FUTURE})
    comp = await put(s, "/locked/c", **{"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": FUTURE})
    held = await put(s, "/locked/h", **{"x-amz-object-lock-legal-hold": "ON"})
    for path, version in (("/locked/g", gov), ("/locked/c", comp), ("/locked/h", held)):
        assert await delete(s, path, version) == (403, "AccessDenied", LOCKED)
    assert await delete(s, "/locked/c", comp, BYPASS) == (403, "AccessDenied", LOCKED)
    assert await delete(s, "/locked/h", held, BYPASS) == (403, "AccessDenied", LOCKED)
    # A delete marker above a locked version is allowed.
    r = await c.request("DELETE", "/locked/c")
    assert r.code == 204 and r.header("x-amz-delete-marker") == "true"
    r = await c.request("GET", "/locked/c", f"versionId={comp}")
    assert r.code == 200 and r.body == b"data"
    # The legal hold lifted, the version goes.
    assert (await xml_put(s, "/locked/h", f"legal-hold&versionId={held}", hold("OFF")))[0] == 200
    assert (await delete(s, "/locked/h", held))[0] == 204
    # Governance: the bypass by the owner (allowed everything) works.
    assert (await delete(s, "/locked/g", gov, BYPASS))[0] == 204
    r = await c.request("DELETE", "/locked")
    assert (r.code, error_code(r.body)) == (409, "BucketNotEmpty")


def policy(*actions: str) -> bytes:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "owner-two"},
                       "Action": list(actions), "Resource": "arn:aws:s3:::locked/*"}],
    }).encode()  # fmt: skip


@pytest_twisted.ensureDeferred
async def test_bypass_needs_the_permission(server: Server) -> None:
    """Another user allowed to delete versions bypasses governance only once allowed s3:BypassGovernanceRetention."""
    s, c = server, server.client
    await locked_bucket(s)
    lock = {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": FUTURE}
    version = await put(s, "/locked/g", **lock)
    r = await c.request("PUT", "/locked", "policy", body=policy("s3:DeleteObjectVersion", "s3:GetObject"))
    assert r.code == 204, r.body
    assert await delete(s, "/locked/g", version, BYPASS, other=True) == (403, "AccessDenied", LOCKED)
    # The lock headers need s3:GetObjectRetention / s3:GetObjectLegalHold to be shown.
    r = await s.other.request("HEAD", "/locked/g")
    assert r.code == 200 and r.header("x-amz-object-lock-mode") is None
    r = await c.request("PUT", "/locked", "policy", body=policy(
        "s3:DeleteObjectVersion", "s3:GetObject", "s3:GetObjectRetention",
        "s3:BypassGovernanceRetention"))  # fmt: skip
    assert r.code == 204, r.body
    r = await s.other.request("HEAD", "/locked/g")
    assert r.header("x-amz-object-lock-mode") == "GOVERNANCE"
    assert await delete(s, "/locked/g", version, other=True) == (403, "AccessDenied", LOCKED)
    assert (await delete(s, "/locked/g", version, BYPASS, other=True))[0] == 204


@pytest_twisted.ensureDeferred
async def test_delete_objects_reports_locked_versions(server: Server) -> None:
    """DeleteObjects: a locked version is an AccessDenied entry with AWS's message; the others go."""
    s, c = server, server.client
    await locked_bucket(s)
    locked = await put(s, "/locked/a", **{"x-amz-object-lock-legal-hold": "ON"})
    free = await put(s, "/locked/b")
    body = (
        f"<Delete><Object><Key>a</Key><VersionId>{locked}</VersionId></Object>"
        f"<Object><Key>b</Key><VersionId>{free}</VersionId></Object></Delete>"
    ).encode()
    r = await c.request("POST", "/locked", "delete", {**md5(body), **BYPASS}, body)
    assert r.code == 200, r.body
    root = ElementTree.fromstring(r.body)
    errors = [(e.findtext(NS + "Key"), e.findtext(NS + "Code"), e.findtext(NS + "Message")) for e in root.iter(NS + "Error")]
    assert errors == [("a", "AccessDenied", LOCKED)]
    assert [d.findtext(NS + "Key") for d in root.iter(NS + "Deleted")] == ["b"]
    assert (await c.request("GET", "/locked/a", f"versionId={locked}")).code == 200


@pytest_twisted.ensureDeferred
async def test_copy_and_multipart_locks(server: Server) -> None:
    """A copy gets the request's lock, never the source's; a multipart upload carries its lock, or gets the default at completion."""
    s, c = server, server.client
    await locked_bucket(s)
    await put(s, "/locked/src", **{"x-amz-object-lock-legal-hold": "ON"})
    r = await c.request("PUT", "/locked/dst", headers={"x-amz-copy-source": "/locked/src"})
    assert r.code == 200, r.body
    r = await c.request("HEAD", "/locked/dst")
    assert r.header("x-amz-object-lock-legal-hold") is None
    lock = {"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": FUTURE}
    r = await c.request("PUT", "/locked/dst2", headers={"x-amz-copy-source": "/locked/src", **lock})
    assert r.code == 200, r.body
    r = await c.request("HEAD", "/locked/dst2")
    assert r.header("x-amz-object-lock-mode") == "COMPLIANCE"
    # Multipart: the lock asked at creation; a part then needs a Content-MD5.
    r = await c.request("POST", "/locked/mp", "uploads", headers=lock)
    upload = ElementTree.fromstring(r.body).findtext(NS + "UploadId")
    query = f"partNumber=1&uploadId={upload}"
    r = await c.request("PUT", "/locked/mp", query, body=b"part")
    assert (r.code, error_code(r.body)) == (400, "InvalidRequest")
    assert message(r.body).endswith("for Put Part requests with Object Lock parameters")
    r = await c.request("PUT", "/locked/mp", query, md5(b"part"), b"part")
    assert r.code == 200, r.body
    done = (
        f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{r.header('etag')}"
        "</ETag></Part></CompleteMultipartUpload>"
    ).encode()
    r = await c.request("POST", "/locked/mp", f"uploadId={upload}", body=done)
    assert r.code == 200, r.body
    r = await c.request("HEAD", "/locked/mp")
    assert (r.header("x-amz-object-lock-mode"), r.header("x-amz-object-lock-retain-until-date")) == ("COMPLIANCE", FUTURE)
    # The bucket's default, applied at completion to an upload without a lock.
    rule = "<Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Years>1</Years></DefaultRetention></Rule>"
    assert (await xml_put(s, "/locked", "object-lock", lock_config(rule)))[0] == 200
    r = await c.request("POST", "/locked/mp2", "uploads")
    upload = ElementTree.fromstring(r.body).findtext(NS + "UploadId")
    r = await c.request("PUT", "/locked/mp2", f"partNumber=1&uploadId={upload}", md5(b"p"), b"p")
    done = done.replace(done.split(b"<ETag>")[1].split(b"</ETag>")[0], r.header("etag").encode())
    r = await c.request("POST", "/locked/mp2", f"uploadId={upload}", body=done)
    assert r.code == 200, r.body
    r = await c.request("HEAD", "/locked/mp2")
    assert r.header("x-amz-object-lock-mode") == "GOVERNANCE"
