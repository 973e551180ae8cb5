"""
Replay of Cyberduck 8/9's request sequences over a raw TLS socket, byte for
byte, signed as Cyberduck signs (C{shared/reference/clients.md}): SigV4
with the real SHA-256 of each body in ``x-amz-content-sha256`` (no
aws-chunked, no trailers), every header present at signing time in
``SignedHeaders`` (``expect`` included on PUTs), path-style requests
against the host name of the "S3 (Deprecated path style requests)"
profile.  The replies are checked for what Cyberduck's parsers read.

The SigV4 signer is botocore's, told to sign ``expect`` and
``user-agent`` too (botocore leaves them out; Cyberduck does not).
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from urllib.parse import quote
from xml.etree import ElementTree

import pytest_twisted
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.functional import CYBERDUCK_KEY, CYBERDUCK_SECRET, Server, server  # noqa: F401
from tests.test_multipart import complete_body
from txs3.store.interface import Destination, ObjectMeta

USER_AGENT = "Cyberduck/9.1.2.42722 (Mac OS X/15.2) (aarch64)"
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

Reply = tuple[int, dict[str, str], bytes]


class CyberduckSigV4(S3SigV4Auth):
    """botocore's S3 SigV4 signer, signing every header like Cyberduck."""

    def headers_to_sign(self, request: AWSRequest) -> object:
        signed = super().headers_to_sign(request)
        for name in ("expect", "user-agent"):
            if name in request.headers:
                signed[name] = request.headers[name]  # type: ignore[index]
        return signed


class Cyberduck:
    """Sends requests the way Cyberduck 8/9 writes them."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.host = f"127.0.0.1:{server.port}"
        self.credentials = Credentials(CYBERDUCK_KEY, CYBERDUCK_SECRET)

    def raw(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        expect: bool = False,
    ) -> tuple[bytes, bytes]:
        """The request head and body, signed over every header in it."""
        hdrs: dict[str, str] = {}
        if method in ("PUT", "POST"):
            hdrs["Content-Length"] = str(len(body))
        hdrs.update(headers or {})
        if expect:
            hdrs["Expect"] = "100-continue"
        hdrs["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
        hdrs["Host"] = self.host
        hdrs["User-Agent"] = USER_AGENT
        request = AWSRequest(
            method=method, url=f"https://{self.host}{target}", headers=hdrs, data=body
        )
        CyberduckSigV4(self.credentials, "s3", "us-east-1").add_auth(request)
        auth = request.headers["Authorization"]
        if expect:
            assert "expect;" in auth, auth
        lines = [f"{method} {target} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in request.headers.items()]
        lines.append("Connection: Keep-Alive")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), body

    async def send(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        expect: bool = False,
    ) -> Reply:
        head, data = self.raw(method, target, body, headers, expect)
        return await self.server.exchange(head, data, method)

    async def xml(self, target: str) -> ElementTree.Element:
        status, headers, body = await self.send("GET", target)
        assert status == 200, (target, body)
        assert headers["content-type"] == "application/xml"
        return ElementTree.fromstring(body)


def _keys(root: ElementTree.Element) -> list[str]:
    return [c.findtext(NS + "Key") or "" for c in root.findall(NS + "Contents")]


def _prefixes(root: ElementTree.Element) -> list[str]:
    return [
        c.findtext(NS + "Prefix") or "" for c in root.findall(NS + "CommonPrefixes")
    ]


@pytest_twisted.ensureDeferred
async def test_login_browse_upload_info_delete(server: Server) -> None:
    """Cyberduck 9's login, bucket creation, listing with the versioning probe, uploads with Expect, new folder, info panel, download and delete all get the answers its parsers need."""
    duck = Cyberduck(server)

    # Login: ListBuckets.
    status, _, body = await duck.send("GET", "/")
    assert status == 200, body
    assert ElementTree.fromstring(body).tag == NS + "ListAllMyBucketsResult"

    # New bucket, then the region probe.
    status, _, body = await duck.send("PUT", "/duck")
    assert status == 200, body
    root = await duck.xml("/duck?location")
    assert root.tag == NS + "LocationConstraint" and not root.text

    # First upload: ownership probe, then a canned ACL with Expect.
    root = await duck.xml("/duck?ownershipControls")
    assert root.findtext(f"{NS}Rule/{NS}ObjectOwnership") == "ObjectWriter"
    data = os.urandom(70_000)
    key = "a file + 100% sure.txt"
    target = "/duck/a%20file%20%2B%20100%25%20sure.txt"
    status, headers, body = await duck.send(
        "PUT",
        target,
        data,
        {
            "Content-Type": "text/plain",
            "x-amz-acl": "private",
            "x-amz-meta-mtime": "1718000000.123",
        },
        expect=True,
    )
    assert status == 200, body
    assert headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'

    # New folder.
    status, _, body = await duck.send(
        "PUT",
        "/duck/new%20folder/",
        b"",
        {"Content-Type": "application/x-directory", "x-amz-acl": "private"},
        expect=True,
    )
    assert status == 200, body

    # Browse: versioning probe, then ListObjects v1 with delimiter.
    root = await duck.xml("/duck?versioning")
    assert root.tag == NS + "VersioningConfiguration"
    assert root.find(NS + "Status") is None
    root = await duck.xml("/duck/?prefix=&delimiter=%2F&max-keys=1000")
    assert root.tag == NS + "ListBucketResult"
    assert _keys(root) == [key]
    assert _prefixes(root) == ["new folder/"]
    assert root.findtext(NS + "IsTruncated") == "false"
    root = await duck.xml("/duck/?prefix=new%20folder%2F&delimiter=%2F&max-keys=1000")
    assert _keys(root) == ["new folder/"]

    # Info panel of the bucket.
    root = await duck.xml("/duck?logging")
    assert root.tag == NS + "BucketLoggingStatus" and len(root) == 0
    status, _, body = await duck.send("GET", "/duck?lifecycle")
    assert status == 404
    assert (
        ElementTree.fromstring(body).findtext("Code") == "NoSuchLifecycleConfiguration"
    )
    root = await duck.xml("/duck?acl")
    assert root.findtext(f"{NS}Owner/{NS}ID") == "owner-duck"
    grantee = root.find(f"{NS}AccessControlList/{NS}Grant/{NS}Grantee")
    assert grantee is not None and grantee.get(XSI + "type") == "CanonicalUser"
    root = await duck.xml("/duck?versions&prefix=&delimiter=%2F&max-keys=1000")
    assert [v.findtext(NS + "VersionId") for v in root.findall(NS + "Version")] == [
        "null"
    ]

    # Info panel of the file: HEAD and ACL; the mtime survived.
    status, headers, _ = await duck.send("HEAD", target)
    assert status == 200
    assert headers["x-amz-meta-mtime"] == "1718000000.123"
    assert headers["content-length"] == str(len(data))
    root = await duck.xml(target + "?acl")
    assert (
        root.findtext(f"{NS}AccessControlList/{NS}Grant/{NS}Permission")
        == "FULL_CONTROL"
    )

    # Download.
    status, headers, body = await duck.send("GET", target)
    assert status == 200 and body == data
    assert headers["content-type"] == "text/plain"

    # A refused upload is refused before the body: no 100 Continue.
    status, _, body = await duck.send(
        "PUT", "/duck/public.txt", b"x" * 10, {"x-amz-acl": "public-all"}, expect=True
    )
    assert status == 400 and b"InvalidArgument" in body

    # Delete: DeleteObjects (Content-MD5), then the bucket.
    delete = (
        b'<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet>'
        b"<Object><Key>a file + 100% sure.txt</Key></Object>"
        b"<Object><Key>new folder/</Key></Object></Delete>"
    )
    md5 = base64.b64encode(hashlib.md5(delete).digest()).decode()
    status, _, body = await duck.send(
        "POST",
        "/duck/?delete",
        delete,
        {"Content-Type": "application/xml", "Content-MD5": md5},
    )
    assert status == 200, body
    assert _keys(await duck.xml("/duck/?prefix=&delimiter=%2F&max-keys=1000")) == []
    status, _, body = await duck.send("DELETE", "/duck/")
    assert status == 204, body


@pytest_twisted.ensureDeferred
async def test_paged_listing_of_5000(server: Server) -> None:
    """A folder of 5,000 entries lists in five pages of 1,000 by marker and NextMarker, every key once, in order."""
    duck = Cyberduck(server)
    status, _, body = await duck.send("PUT", "/duck")
    assert status == 200, body
    store = server.store
    names = [f"big/{i:04d} +%.bin" for i in range(5000)]
    for name in names:
        staging = store.open_staging()
        staging.write(b"x")
        await store.put_object(
            Destination("duck", name, "owner-duck"),
            staging,
            hashlib.md5(b"x").hexdigest(),
            ObjectMeta(),
        )
    seen: list[str] = []
    marker = ""
    pages = 0
    while True:
        target = f"/duck/?prefix=big%2F&delimiter=%2F&max-keys=1000&marker={quote(marker, safe='')}"
        root = await duck.xml(target)
        pages += 1
        page = _keys(root)
        seen += page
        if root.findtext(NS + "IsTruncated") != "true":
            break
        marker = root.findtext(NS + "NextMarker") or ""
        assert marker == page[-1]
    assert pages == 5
    assert seen == names


@pytest_twisted.ensureDeferred
async def test_rename_and_metadata_edit(server: Server) -> None:
    """Rename is CopyObject then DeleteObject, and a metadata edit is a self-copy with REPLACE, as Cyberduck sends them."""
    duck = Cyberduck(server)
    await duck.send("PUT", "/duck")
    await duck.send(
        "PUT",
        "/duck/old%20name.txt",
        b"hello",
        {"Content-Type": "text/plain"},
        expect=True,
    )
    status, _, body = await duck.send(
        "PUT",
        "/duck/new%20name.txt",
        b"",
        {"x-amz-copy-source": "/duck/old%20name.txt", "x-amz-acl": "private"},
        expect=True,
    )
    assert status == 200, body
    assert ElementTree.fromstring(body).tag == NS + "CopyObjectResult"
    status, _, _ = await duck.send("DELETE", "/duck/old%20name.txt")
    assert status == 204
    status, _, body = await duck.send("GET", "/duck/new%20name.txt")
    assert status == 200 and body == b"hello"
    status, _, body = await duck.send(
        "PUT",
        "/duck/new%20name.txt",
        b"",
        {
            "x-amz-copy-source": "/duck/new%20name.txt",
            "x-amz-metadata-directive": "REPLACE",
            "Content-Type": "text/markdown",
            "x-amz-meta-mtime": "1700000000",
        },
        expect=True,
    )
    assert status == 200, body
    status, headers, _ = await duck.send("HEAD", "/duck/new%20name.txt")
    assert headers["content-type"] == "text/markdown"
    assert headers["x-amz-meta-mtime"] == "1700000000"


@pytest_twisted.ensureDeferred
async def test_multipart_upload(server: Server) -> None:
    """Cyberduck's multipart upload (create, parts with Expect, list parts for resume, complete) yields the object and S3's multipart ETag."""
    duck = Cyberduck(server)
    await duck.send("PUT", "/duck")
    status, _, body = await duck.send(
        "POST",
        "/duck/big.bin?uploads",
        b"",
        {"Content-Type": "application/octet-stream", "x-amz-acl": "private"},
    )
    assert status == 200, body
    upload_id = ElementTree.fromstring(body).findtext(NS + "UploadId")
    assert upload_id
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(1234)]
    etags = []
    for n, data in enumerate(parts, 1):
        status, headers, body = await duck.send(
            "PUT",
            f"/duck/big.bin?partNumber={n}&uploadId={upload_id}",
            data,
            expect=True,
        )
        assert status == 200, body
        etags.append(headers["etag"])
    root = await duck.xml(f"/duck/big.bin?uploadId={upload_id}")
    assert [p.findtext(NS + "ETag") for p in root.findall(NS + "Part")] == etags
    root = await duck.xml("/duck?uploads")
    assert [u.findtext(NS + "UploadId") for u in root.findall(NS + "Upload")] == [
        upload_id
    ]
    complete = complete_body(list(enumerate(etags, 1)))
    status, _, body = await duck.send(
        "POST",
        f"/duck/big.bin?uploadId={upload_id}",
        complete,
        {"Content-Type": "application/xml"},
    )
    assert status == 200, body
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    assert ElementTree.fromstring(body).findtext(NS + "ETag") == f'"{digest}-2"'
    status, _, body = await duck.send("GET", "/duck/big.bin")
    assert status == 200 and body == b"".join(parts)


@pytest_twisted.ensureDeferred
async def test_rename_large_by_part_copy(server: Server) -> None:
    """Cyberduck's rename of a large file (multipart copy by x-amz-copy-source-range, then delete) keeps every byte."""
    duck = Cyberduck(server)
    await duck.send("PUT", "/duck")
    data = os.urandom(5 * 1024 * 1024) + os.urandom(3 * 1024 * 1024 + 5)
    status, _, body = await duck.send(
        "PUT", "/duck/large%20file.bin", data, expect=True
    )
    assert status == 200, body
    status, _, body = await duck.send(
        "POST", "/duck/renamed.bin?uploads", b"", {"x-amz-acl": "private"}
    )
    assert status == 200, body
    upload_id = ElementTree.fromstring(body).findtext(NS + "UploadId")
    ranges = [(0, 5 * 1024 * 1024 - 1), (5 * 1024 * 1024, len(data) - 1)]
    etags = []
    for n, (first, last) in enumerate(ranges, 1):
        status, _, body = await duck.send(
            "PUT",
            f"/duck/renamed.bin?partNumber={n}&uploadId={upload_id}",
            b"",
            {
                "x-amz-copy-source": "/duck/large%20file.bin",
                "x-amz-copy-source-range": f"bytes={first}-{last}",
            },
        )
        assert status == 200, body
        result = ElementTree.fromstring(body)
        assert result.tag == NS + "CopyPartResult"
        etags.append(result.findtext(NS + "ETag"))
    complete = complete_body(list(enumerate(etags, 1)))
    status, _, body = await duck.send(
        "POST", f"/duck/renamed.bin?uploadId={upload_id}", complete
    )
    assert status == 200, body
    status, _, _ = await duck.send("DELETE", "/duck/large%20file.bin")
    assert status == 204
    status, _, body = await duck.send("GET", "/duck/renamed.bin")
    assert status == 200 and body == data


@pytest_twisted.ensureDeferred
async def test_versions_and_revert(server: Server) -> None:
    """Cyberduck 9 with versioning on: it probes ?versioning, lists with ?versions, and reverts a file by copying its old version over it."""
    duck = Cyberduck(server)
    status, _, body = await duck.send("PUT", "/vduck")
    assert status == 200, body
    # Info panel, "Bucket Versioning" ticked.
    config = (
        b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Status>Enabled</Status></VersioningConfiguration>"
    )
    md5 = base64.b64encode(hashlib.md5(config).digest()).decode()
    status, _, body = await duck.send(
        "PUT", "/vduck/?versioning", config, {"Content-MD5": md5}
    )
    assert status == 200, body
    # Two saves of one file.
    for data in (b"first", b"second"):
        status, headers, body = await duck.send(
            "PUT", "/vduck/report.txt", data, {"x-amz-acl": "private"}, expect=True
        )
        assert status == 200, body
        assert headers["x-amz-version-id"]
    # Browse: the versioning probe, then the versions listing.
    root = await duck.xml("/vduck/?versioning")
    assert root.findtext(NS + "Status") == "Enabled"
    root = await duck.xml("/vduck/?versions&delimiter=%2F&max-keys=1000&prefix=")
    versions = root.findall(NS + "Version")
    assert [v.findtext(NS + "IsLatest") for v in versions] == ["true", "false"]
    old = versions[1].findtext(NS + "VersionId")
    assert old
    # Revert: copy the old version over the current one.
    status, _, body = await duck.send(
        "PUT",
        "/vduck/report.txt",
        headers={
            "x-amz-copy-source": f"/vduck/report.txt?versionId={old}",
            "x-amz-metadata-directive": "COPY",
        },
    )
    assert status == 200, body
    assert ElementTree.fromstring(body).tag == NS + "CopyObjectResult"
    status, _, body = await duck.send("GET", "/vduck/report.txt")
    assert (status, body) == (200, b"first")
    root = await duck.xml("/vduck/?versions&delimiter=%2F&max-keys=1000&prefix=")
    assert len(root.findall(NS + "Version")) == 3
