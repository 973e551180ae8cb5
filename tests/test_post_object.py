"""
PostObject (browser form uploads) through the real site, in memory.

Forms are signed by botocore's C{generate_presigned_post} (SigV4, and
SigV2 with C{signature_version="s3"}) and encoded as a browser encodes
them (L{tests.postforms}).  Each refusal is checked for AWS's code and
status, and for leaving the object that was there untouched.  The pure
pieces (parser, policy, signature) are tested in C{tests/test_postform.py};
the form sink's memory and the channel's early answer in
C{tests/test_post_object_stream.py}.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
import pytest_twisted
import treq

from tests.functional import VHOST_DOMAIN, Server, server  # noqa: F401
from tests.postforms import encode, presigned_fields
from tests.s3client import (
    OTHER_ACCESS_KEY,
    OTHER_SECRET_KEY,
    Response,
    error_code,
    xml_of,
)

BUCKET = "forms"
OLD = b"the object that was there"
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


async def post(
    s: Server,
    fields: Any,
    file: bytes | None = b"form bytes",
    path: str = f"/{BUCKET}",
    headers: dict[str, str] | None = None,
    **encoding: Any,
) -> Response:
    """POST a form, unsigned (the form signs itself); redirects not followed."""
    content_type, body = encode(fields, file, **encoding)
    sent = {"Content-Type": content_type, **(headers or {})}
    response = await treq.request(
        "POST",
        s.client.url(path),
        headers={k: [v] for k, v in sent.items()},
        data=body,
        agent=s.client.agent,
        allow_redirects=False,
    )
    content = await response.content()
    received = {
        k.decode().lower(): b",".join(v).decode("latin-1")
        for k, v in response.headers.getAllRawHeaders()
    }
    return Response(response.code, received, content)


async def bucket_with_old_object(s: Server, key: str = "k.txt") -> None:
    assert (await s.client.request("PUT", f"/{BUCKET}")).code == 200
    assert (await s.client.request("PUT", f"/{BUCKET}/{key}", body=OLD)).code == 200


async def unchanged(s: Server, key: str = "k.txt") -> bool:
    return (await s.client.request("GET", f"/{BUCKET}/{key}")).body == OLD


@pytest_twisted.ensureDeferred
async def test_presigned_post_lands(server: Server) -> None:
    """A SigV4 form from generate_presigned_post stores the file; 204 with ETag and Location by default."""
    s = server
    await bucket_with_old_object(s)
    data = bytes(range(256)) * 300
    r = await post(s, presigned_fields(BUCKET, "k.txt"), data)
    assert r.code == 204, r.body
    etag = f'"{hashlib.md5(data).hexdigest()}"'
    assert r.header("etag") == etag
    assert r.header("location") == f"https://127.0.0.1/{BUCKET}/k.txt"
    got = await s.client.request("GET", f"/{BUCKET}/k.txt")
    assert got.body == data and got.header("etag") == etag


@pytest_twisted.ensureDeferred
async def test_sigv2_form_lands(server: Server) -> None:
    """A SigV2 form (AWSAccessKeyId, signature) stores the file."""
    s = server
    await bucket_with_old_object(s)
    fields = presigned_fields(BUCKET, "v2.txt", signature_version="s3")
    assert "AWSAccessKeyId" in fields and "signature" in fields
    r = await post(s, fields, b"v2 bytes")
    assert r.code == 204, r.body
    assert (await s.client.request("GET", f"/{BUCKET}/v2.txt")).body == b"v2 bytes"


@pytest_twisted.ensureDeferred
async def test_stored_like_put(server: Server) -> None:
    """Headers, metadata, tags and ACL of a form are stored exactly as a PUT with the same headers stores them."""
    s = server
    await bucket_with_old_object(s)
    headers = {
        "Content-Type": "text/plain; charset=utf-8",
        "Cache-Control": "max-age=60",
        "Content-Disposition": 'attachment; filename="a.txt"',
        "Content-Encoding": "identity",
        "Expires": "Thu, 01 Dec 2094 16:00:00 GMT",
        "x-amz-meta-colour": "blue",
    }
    tagging = (
        "<Tagging><TagSet><Tag><Key>team</Key><Value>web</Value></Tag>"
        "</TagSet></Tagging>"
    )
    fields = presigned_fields(
        BUCKET, "form.txt", {**headers, "acl": "public-read", "tagging": tagging}
    )
    assert (await post(s, fields, b"same bytes")).code == 204
    put = await s.client.request(
        "PUT",
        f"/{BUCKET}/put.txt",
        headers={**headers, "x-amz-acl": "public-read", "x-amz-tagging": "team=web"},
        body=b"same bytes",
    )
    assert put.code == 200
    volatile = {"date", "x-amz-request-id", "last-modified"}
    heads = []
    for key in ("form.txt", "put.txt"):
        r = await s.client.request("HEAD", f"/{BUCKET}/{key}")
        heads.append({k: v for k, v in r.headers.items() if k not in volatile})
        acl = await s.client.request("GET", f"/{BUCKET}/{key}", "acl")
        tags = await s.client.request("GET", f"/{BUCKET}/{key}", "tagging")
        heads.append(acl.body)
        heads.append(tags.body)
    assert heads[:3] == heads[3:]
    assert heads[0]["x-amz-meta-colour"] == "blue"
    assert b"AllUsers" in heads[1]
    anonymous = await s.other.request("GET", f"/{BUCKET}/form.txt", signed=False)
    assert anonymous.body == b"same bytes"


@pytest_twisted.ensureDeferred
async def test_filename_substituted(server: Server) -> None:
    """${filename} in the key is replaced by the file's base name."""
    s = server
    await bucket_with_old_object(s)
    fields = presigned_fields(BUCKET, "up/${filename}")
    r = await post(s, fields, b"named", filename="some/dir/photo.jpg")
    assert r.code == 204, r.body
    assert r.header("location") == f"https://127.0.0.1/{BUCKET}/up%2Fphoto.jpg"
    got = await s.client.request("GET", f"/{BUCKET}/up/photo.jpg")
    assert got.body == b"named"


@pytest_twisted.ensureDeferred
async def test_success_action_status(server: Server) -> None:
    """201 answers a PostResponse document; 200 an empty one; anything else 204."""
    s = server
    await bucket_with_old_object(s)
    for status, expected in (("201", 201), ("200", 200), ("204", 204), ("302", 204)):
        fields = presigned_fields(BUCKET, "s.txt", {"success_action_status": status})
        r = await post(s, fields, b"status bytes")
        assert r.code == expected, (status, r.body)
        etag = f'"{hashlib.md5(b"status bytes").hexdigest()}"'
        if expected == 201:
            root = ElementTree.fromstring(r.body)
            assert root.tag == "PostResponse"
            assert [(c.tag, c.text) for c in root] == [
                ("Location", f"https://127.0.0.1/{BUCKET}/s.txt"),
                ("Bucket", BUCKET),
                ("Key", "s.txt"),
                ("ETag", etag),
            ]
        else:
            assert r.body == b""


@pytest_twisted.ensureDeferred
async def test_success_action_redirect(server: Server) -> None:
    """A redirect answers 303 to the URL with bucket, key and etag added; a URL that is not one is ignored."""
    s = server
    await bucket_with_old_object(s)
    url = "https://app.example/done?from=form"
    fields = presigned_fields(BUCKET, "r.txt", {"success_action_redirect": url})
    r = await post(s, fields, b"redirected")
    assert r.code == 303, r.body
    target = urlsplit(r.header("location"))
    assert target.netloc == "app.example" and target.path == "/done"
    assert parse_qs(target.query) == {
        "from": ["form"],
        "bucket": [BUCKET],
        "key": ["r.txt"],
        "etag": [f'"{hashlib.md5(b"redirected").hexdigest()}"'],
    }
    fields = presigned_fields(BUCKET, "r.txt", {"success_action_redirect": "nowhere"})
    assert (await post(s, fields, b"redirected")).code == 204


@pytest_twisted.ensureDeferred
async def test_virtual_host_post(server: Server) -> None:
    """POST / on a virtual-host bucket name is a PostObject too."""
    s = server
    await bucket_with_old_object(s)
    fields = presigned_fields(BUCKET, "vh.txt", {"success_action_status": "201"})
    r = await post(s, fields, b"vh", path="/", headers={"Host": f"{BUCKET}.{VHOST_DOMAIN}"})
    assert r.code == 201, r.body
    assert xml_of(r.body).findtext("Location") == f"https://{BUCKET}.{VHOST_DOMAIN}/vh.txt"
    assert (await s.client.request("GET", f"/{BUCKET}/vh.txt")).body == b"vh"


@pytest_twisted.ensureDeferred
async def test_fields_after_the_file_are_ignored(server: Server) -> None:
    """Fields after the file are read and ignored: not refused as extra, not stored."""
    s = server
    await bucket_with_old_object(s)
    fields = presigned_fields(BUCKET, "after.txt")
    r = await post(s, fields, b"first", after=[("x-amz-meta-late", "no"), ("key", "x")])
    assert r.code == 204, r.body
    head = await s.client.request("HEAD", f"/{BUCKET}/after.txt")
    assert head.code == 200 and head.header("x-amz-meta-late") is None


@pytest_twisted.ensureDeferred
async def test_checksum_and_md5_fields(server: Server) -> None:
    """The Content-MD5 and x-amz-checksum-* fields are checked against the file: BadDigest, nothing stored."""
    s = server
    await bucket_with_old_object(s)
    data = b"checked bytes"
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    good = presigned_fields(BUCKET, "k.txt", {"x-amz-checksum-sha256": sha})
    r = await post(s, good, data)
    assert r.code == 204 and r.header("x-amz-checksum-sha256") == sha
    assert (await s.client.request("PUT", f"/{BUCKET}/k.txt", body=OLD)).code == 200
    for name, value in (("x-amz-checksum-sha256", sha), ("Content-MD5", md5)):
        fields = presigned_fields(BUCKET, "k.txt", {name: value})
        r = await post(s, fields, b"other bytes")
        assert (r.code, error_code(r.body)) == (400, "BadDigest"), name
        assert await unchanged(s)


def _policy_of(fields: dict[str, str]) -> dict[str, Any]:
    return json.loads(base64.b64decode(fields["policy"]))


@pytest_twisted.ensureDeferred
async def test_refusals(server: Server) -> None:
    """Each kind of bad form gets AWS's code and status, and the object there is untouched."""
    s = server
    await bucket_with_old_object(s)
    base = presigned_fields(BUCKET, "k.txt")
    tampered = dict(base, policy=base64.b64encode(
        json.dumps({**_policy_of(base), "conditions": []}).encode()).decode())  # fmt: skip
    other_key = presigned_fields(
        BUCKET, "k.txt", access_key="UNKNOWNKEY0000000000", secret_key="x"
    )
    cases: list[tuple[str, Any, bytes | None, int, str, str | None]] = [
        ("expired", presigned_fields(BUCKET, "k.txt", expires=-60), b"x",
         403, "AccessDenied", "Invalid according to Policy: Policy expired."),
        ("condition", presigned_fields(BUCKET, "k.txt", conditions=[
            ["starts-with", "$key", "uploads/"]]), b"x",
         403, "AccessDenied",
         'Invalid according to Policy: Policy Condition failed: '
         '["starts-with", "$key", "uploads/"]'),
        ("extra field", {**base, "x-amz-meta-sneaky": "1"}, b"x",
         403, "AccessDenied",
         "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky"),
        ("too large", presigned_fields(BUCKET, "k.txt", conditions=[
            ["content-length-range", 1, 4]]), b"12345",
         400, "EntityTooLarge", None),
        ("too small", presigned_fields(BUCKET, "k.txt", conditions=[
            ["content-length-range", 10, 40]]), b"12345",
         400, "EntityTooSmall", None),
        ("tampered policy", tampered, b"x", 403, "SignatureDoesNotMatch", None),
        ("unknown key", other_key, b"x", 403, "InvalidAccessKeyId", None),
        ("bad policy", {"key": "k.txt", "policy": "not base64!"}, b"x",
         400, "InvalidPolicyDocument", None),
        ("no key", {k: v for k, v in base.items() if k != "key"}, b"x",
         400, "InvalidArgument", None),
        ("no file", base, None, 400, "IncorrectNumberOfFilesInPostRequest", None),
        ("encryption", presigned_fields(BUCKET, "k.txt", {
            "x-amz-server-side-encryption": "AES256"}), b"x",
         501, "NotImplemented", None),
        ("bad tagging", presigned_fields(BUCKET, "k.txt", {
            "tagging": "<Tagging><TagSet>"}), b"x", 400, "MalformedXML", None),
    ]  # fmt: skip
    for name, fields, file, status, code, message in cases:
        r = await post(s, fields, file)
        assert (r.code, error_code(r.body)) == (status, code), (name, r.body)
        if message is not None:
            assert xml_of(r.body).findtext("Message") == message, name
        assert await unchanged(s), name


@pytest_twisted.ensureDeferred
async def test_not_a_form(server: Server) -> None:
    """A bucket POST that is not multipart/form-data is 412 with AWS's condition; a bad body is MalformedPOSTRequest."""
    s = server
    await bucket_with_old_object(s)
    r = await s.client.request(
        "POST", f"/{BUCKET}", headers={"Content-Type": "text/plain"},
        body=b"key=k.txt", signed=False)  # fmt: skip
    assert (r.code, error_code(r.body)) == (412, "PreconditionFailed")
    assert xml_of(r.body).findtext("Condition") == (
        "Bucket POST must be of the enclosure-type multipart/form-data"
    )
    r = await s.client.request(
        "POST", f"/{BUCKET}",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        body=b"--xyz\r\nno colon here\r\n\r\nvalue\r\n--xyz--\r\n", signed=False)  # fmt: skip
    assert (r.code, error_code(r.body)) == (400, "MalformedPOSTRequest")
    assert await unchanged(s)


@pytest_twisted.ensureDeferred
async def test_missing_bucket(server: Server) -> None:
    """A form to a bucket that does not exist is AccessDenied (the caller is anonymous before the form is read)."""
    r = await post(server, presigned_fields("nothere", "k.txt"))
    assert (r.code, error_code(r.body)) == (403, "AccessDenied")


@pytest_twisted.ensureDeferred
async def test_anonymous_and_other_users(server: Server) -> None:
    """A form is authorized for its signer or as anonymous: denied without a grant, allowed by a bucket policy, owned as a PUT's would be."""
    s = server
    await bucket_with_old_object(s)
    anonymous = {"key": "anon.txt"}
    other = presigned_fields(
        BUCKET, "two.txt", access_key=OTHER_ACCESS_KEY, secret_key=OTHER_SECRET_KEY
    )
    for fields in (anonymous, other):
        r = await post(s, fields)
        assert (r.code, error_code(r.body)) == (403, "AccessDenied")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*"}]})  # fmt: skip
    r = await s.client.request("PUT", f"/{BUCKET}", "policy", body=policy.encode())
    assert r.code in (200, 204)
    assert (await post(s, anonymous, b"from anyone")).code == 204
    assert (await post(s, other, b"from two")).code == 204
    owners = {}
    for key in ("anon.txt", "two.txt"):
        r = await s.client.request("GET", f"/{BUCKET}/{key}", "acl")
        owners[key] = xml_of(r.body).findtext(f"{NS}Owner/{NS}ID")
    assert owners == {"anon.txt": "owner-one", "two.txt": "owner-two"}


@pytest_twisted.ensureDeferred
async def test_acl_rules(server: Server) -> None:
    """The acl field obeys the bucket's rules: BlockPublicAcls refuses a public one, BucketOwnerEnforced any but the owner's."""
    s = server
    await bucket_with_old_object(s)
    block = (
        b'<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>"
    )
    r = await s.client.request("PUT", f"/{BUCKET}", "publicAccessBlock", body=block)
    assert r.code == 200
    public = presigned_fields(BUCKET, "k.txt", {"acl": "public-read"})
    r = await post(s, public)
    assert (r.code, error_code(r.body)) == (403, "AccessDenied")
    assert await unchanged(s)
    enforced = (
        b"<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced"
        b"</ObjectOwnership></Rule></OwnershipControls>"
    )
    r = await s.client.request("PUT", f"/{BUCKET}", "ownershipControls", body=enforced)
    assert r.code == 200
    r = await s.client.request("DELETE", f"/{BUCKET}", "publicAccessBlock")
    assert r.code == 204
    r = await post(s, presigned_fields(BUCKET, "k.txt", {"acl": "public-read"}))
    assert (r.code, error_code(r.body)) == (400, "AccessControlListNotSupported")
    assert await unchanged(s)
    owner_only = presigned_fields(BUCKET, "k.txt", {"acl": "bucket-owner-full-control"})
    assert (await post(s, owner_only, b"accepted")).code == 204


@pytest.mark.parametrize("status", ["201"])
@pytest_twisted.ensureDeferred
async def test_policy_conditions_hold(server: Server, status: str) -> None:
    """A form meeting starts-with, eq and content-length-range conditions is stored."""
    s = server
    await bucket_with_old_object(s)
    fields = presigned_fields(
        BUCKET,
        "uploads/${filename}",
        {"success_action_status": status, "Content-Type": "image/png"},
        [
            ["starts-with", "$key", "uploads/"],
            ["content-length-range", 1, 64],
            ["starts-with", "$x-amz-meta-note", ""],
        ],
    )
    fields["x-amz-meta-note"] = "anything"
    r = await post(s, fields, b"\x89PNG fake", filename="pic.png")
    assert r.code == 201, r.body
    head = await s.client.request("HEAD", f"/{BUCKET}/uploads/pic.png")
    assert head.header("content-type") == "image/png"
    assert head.header("x-amz-meta-note") == "anything"
