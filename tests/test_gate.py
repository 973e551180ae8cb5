"""
The gate, called directly: L{txs3.gate.prepare} with a request head as
strings, a MemoryStore and a Clock, no HTTP at all; and handlers called
with the call it prepares, their L{Response} compared as a value.

Requests are signed with botocore's SigV4 signer, the reference the server
is checked against everywhere else.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping

import pytest
import pytest_twisted
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from twisted.internet.task import Clock

from tests.s3client import ACCESS_KEY, OTHER_ACCESS_KEY, OTHER_SECRET_KEY, SECRET_KEY
from txs3.api import bucket as bucket_api
from txs3.api import obj
from txs3.auth.types import Secret
from txs3.body import BufferSink, UploadSink
from txs3.call import ANONYMOUS, Connection, S3Config
from txs3.errors import S3Error
from txs3.gate import MAX_PUT_SIZE, XML_BODY_LIMIT, Prepared, prepare
from txs3.response import Response, StoredBytes
from txs3.store.interface import Destination, NewPart, NewUpload, ObjectMeta
from txs3.store.memory import MemoryStore

HOST = "s3.test"
SECRETS = {
    ACCESS_KEY: Secret(ACCESS_KEY, SECRET_KEY, "owner-one", "one"),
    OTHER_ACCESS_KEY: Secret(OTHER_ACCESS_KEY, OTHER_SECRET_KEY, "owner-two", "two"),
}


@pytest.fixture
def config() -> S3Config:
    clock = Clock()
    clock.advance(time.time())
    store = MemoryStore(now=clock.seconds)
    store.create_bucket("bucket", "owner-one", "eu-west-1")
    return S3Config(store, SECRETS.get, clock)


def signed(
    method: str,
    target: str,
    body: bytes = b"",
    extra: Mapping[str, str] | None = None,
    key: tuple[str, str] = (ACCESS_KEY, SECRET_KEY),
) -> dict[str, str]:
    """The lower-case headers of a SigV4-signed request for C{body}."""
    headers = {"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()}
    headers.update(extra or {})
    request = AWSRequest(
        method=method, url=f"https://{HOST}{target}", headers=headers, data=body
    )
    S3SigV4Auth(Credentials(*key), "s3", "us-east-1").add_auth(request)
    out = {k.lower(): v for k, v in request.headers.items()}
    out["host"] = HOST
    return out


def run(
    config: S3Config,
    method: str,
    target: str,
    headers: Mapping[str, str],
    length: int | None = None,
) -> Prepared:
    return prepare(config, "REQ1", method, target, headers, length, Connection())


def refused(config: S3Config, method: str, target: str, headers: Mapping[str, str],
            length: int | None = None) -> str:  # fmt: skip
    with pytest.raises(S3Error) as e:
        run(config, method, target, headers, length)
    return e.value.code


def test_anonymous_is_refused(config: S3Config) -> None:
    """A request without credentials is AccessDenied, whatever it asks."""
    assert refused(config, "GET", "/bucket", {"host": HOST}) == "AccessDenied"
    assert refused(config, "GET", "/bucket?analytics", {"host": HOST}) == "AccessDenied"


def test_denied_upload_is_refused_before_the_body(config: S3Config) -> None:
    """An upload the bucket's settings do not allow is refused by prepare(), before any body byte, and no staging file is opened."""
    store = config.store
    assert isinstance(store, MemoryStore)
    anonymous = {"host": HOST, "content-length": "5"}
    assert refused(config, "PUT", "/bucket/k", anonymous, 5) == "AccessDenied"
    other = signed("PUT", "/bucket/k", b"hello", key=(OTHER_ACCESS_KEY, OTHER_SECRET_KEY))
    assert refused(config, "PUT", "/bucket/k", other, 5) == "AccessDenied"
    assert store.staging_count() == 0
    grant = (
        '[["CanonicalUser","owner-one","FULL_CONTROL"],'
        '["CanonicalUser","owner-two","WRITE"]]'
    )
    store.put_bucket_setting("bucket", "acl", grant)
    prepared = run(config, "PUT", "/bucket/k", other, 5)
    assert prepared.entry.name == "PutObject"
    prepared.call.body.close()
    assert store.staging_count() == 0


def test_bad_signature(config: S3Config) -> None:
    """A request whose signature does not verify is refused before anything else."""
    headers = signed("GET", "/bucket")
    headers["authorization"] = headers["authorization"][:-4] + "0000"
    assert refused(config, "GET", "/bucket", headers) == "SignatureDoesNotMatch"


def test_other_owners_bucket(config: S3Config) -> None:
    """A key of another owner cannot reach the bucket."""
    headers = signed("GET", "/bucket", key=(OTHER_ACCESS_KEY, OTHER_SECRET_KEY))
    assert refused(config, "GET", "/bucket", headers) == "AccessDenied"


def test_not_implemented_after_authentication(config: S3Config) -> None:
    """An unbuilt sub-resource is 501 for its owner (and 403 for anyone else)."""
    target = "/bucket?analytics"
    assert refused(config, "GET", target, signed("GET", target)) == "NotImplemented"


def test_missing_bucket(config: S3Config) -> None:
    """An unknown bucket is NoSuchBucket."""
    target = "/nobucket/key"
    assert refused(config, "GET", target, signed("GET", target)) == "NoSuchBucket"


def test_sinks_follow_the_body_kind(config: S3Config) -> None:
    """Object data streams to staging, XML is buffered, anything else is checked and dropped."""
    put = run(config, "PUT", "/bucket/k", signed("PUT", "/bucket/k", b"abc"), 3)
    assert put.entry.name == "PutObject" and isinstance(put.call.body, UploadSink)
    put.call.body.close()
    tagging = run(config, "PUT", "/bucket/k?tagging",
                  signed("PUT", "/bucket/k?tagging", b"<x/>"), 4)  # fmt: skip
    assert isinstance(tagging.call.body, BufferSink)
    get = run(config, "GET", "/bucket/k", signed("GET", "/bucket/k"), 5)
    assert isinstance(get.call.body, BufferSink)
    assert get.call.body.body() == b""


def test_object_size_limits(config: S3Config) -> None:
    """PutObject over 5 GiB and PutObject without a length are refused before the body."""
    headers = signed("PUT", "/bucket/k", b"")
    too_big = MAX_PUT_SIZE + 1
    assert refused(config, "PUT", "/bucket/k", headers, too_big) == "EntityTooLarge"
    assert refused(config, "PUT", "/bucket/k", headers, None) == "MissingContentLength"


def test_upload_part_checks(config: S3Config) -> None:
    """UploadPart needs a valid part number and an existing upload, found before the body."""
    bad_part = "/bucket/k?partNumber=0&uploadId=x"
    code = refused(config, "PUT", bad_part, signed("PUT", bad_part), 1)
    assert code == "InvalidArgument"
    target = "/bucket/k?partNumber=1&uploadId=nope"
    assert refused(config, "PUT", target, signed("PUT", target), 1) == "NoSuchUpload"


@pytest_twisted.ensureDeferred
async def test_upload_is_recorded_on_the_call(config: S3Config) -> None:
    """The upload found before the body rides on the call to the handler."""
    upload = await config.store.create_multipart_upload(
        NewUpload("bucket", "k", ObjectMeta(), "owner-one"),
    )
    target = f"/bucket/k?partNumber=1&uploadId={upload.upload_id}"
    prepared = run(config, "PUT", target, signed("PUT", target, b"x"), 1)
    assert prepared.call.upload is not None
    assert prepared.call.upload.upload_id == upload.upload_id
    prepared.call.body.close()


@pytest_twisted.ensureDeferred
async def test_write_condition_before_body(config: S3Config) -> None:
    """If-None-Match: * on an existing key is 412 before the body."""
    staging = config.store.open_staging()
    staging.write(b"old")
    await config.store.put_object(
        Destination("bucket", "k", "owner-one"),
        staging,
        hashlib.md5(b"old").hexdigest(),
        ObjectMeta(),
    )
    headers = signed("PUT", "/bucket/k", b"new", {"If-None-Match": "*"})
    assert refused(config, "PUT", "/bucket/k", headers, 3) == "PreconditionFailed"


def test_acl_header_before_body(config: S3Config) -> None:
    """An ACL header that does not parse is refused before the body."""
    headers = signed("PUT", "/bucket/k", b"x", {"x-amz-acl": "public-everything"})
    code = refused(config, "PUT", "/bucket/k", headers, 1)
    assert code == "InvalidArgument"


def test_public_operation_needs_no_credentials(config: S3Config) -> None:
    """The connection profile is served to anyone, as the anonymous identity."""
    target = "/.well-known/txs3/cyberduck.cyberduckprofile"
    prepared = run(config, "GET", target, {"host": HOST})
    assert prepared.entry.public and prepared.call.identity == ANONYMOUS


@pytest_twisted.ensureDeferred
async def test_handlers_return_values(config: S3Config) -> None:
    """Handlers answer with Response values that a test compares directly."""
    head = run(config, "HEAD", "/bucket", signed("HEAD", "/bucket"))
    assert await bucket_api.head_bucket(head.call) == Response(
        200, {"x-amz-bucket-region": "eu-west-1"}
    )
    staging = config.store.open_staging()
    staging.write(b"hello world")
    etag = hashlib.md5(b"hello world").hexdigest()
    await config.store.put_object(
        Destination("bucket", "k", "owner-one"),
        staging,
        etag,
        ObjectMeta(),
    )
    get = run(
        config,
        "GET",
        "/bucket/k",
        signed("GET", "/bucket/k", extra={"Range": "bytes=6-"}),
    )
    response = await obj.get_object(get.call)
    assert response.status == 206
    assert response.headers["Content-Range"] == "bytes 6-10/11"
    assert response.headers["ETag"] == f'"{etag}"'
    assert isinstance(response.body, StoredBytes)
    assert (response.body.offset, response.body.length) == (6, 5)
    response.body.file.seek(6)
    assert response.body.file.read(5) == b"world"
    response.body.close()


async def _one_part_upload(config: S3Config) -> tuple[str, bytes]:
    """An upload of "k" with one part; its id and the CMU body."""
    store = config.store
    upload = await store.create_multipart_upload(
        NewUpload("bucket", "k", ObjectMeta(), "owner-one"),
    )
    staging = store.open_staging()
    staging.write(b"part")
    etag = hashlib.md5(b"part").hexdigest()
    await store.upload_part(NewPart("bucket", "k", upload.upload_id, 1, etag), staging)
    body = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f'<ETag>"{etag}"</ETag></Part></CompleteMultipartUpload>'
    ).encode()
    return upload.upload_id, body


def _completion(config: S3Config, upload_id: str, body: bytes) -> Prepared:
    target = f"/bucket/k?uploadId={upload_id}"
    prepared = run(config, "POST", target, signed("POST", target, body), len(body))
    prepared.call.body.write(body)
    return prepared


@pytest_twisted.ensureDeferred
async def test_completion_found_completed_before_the_body(config: S3Config) -> None:
    """A CMU for an upload already completed carries the record, not the upload."""
    from txs3.api import multipart

    upload_id, body = await _one_part_upload(config)
    first = _completion(config, upload_id, body)
    assert first.call.upload is not None and first.call.completed is None
    done = await multipart.complete_multipart_upload(first.call)
    retry = _completion(config, upload_id, body)
    assert retry.call.upload is None and retry.call.completed is not None
    again = await multipart.complete_multipart_upload(retry.call)
    assert (again.status, again.body) == (200, done.body)


@pytest_twisted.ensureDeferred
async def test_completion_completed_meanwhile(config: S3Config) -> None:
    """A CMU whose upload another attempt completes after the gate is answered
    from that completion's record."""
    from txs3.api import multipart

    upload_id, body = await _one_part_upload(config)
    slow = _completion(config, upload_id, body)
    fast = _completion(config, upload_id, body)
    done = await multipart.complete_multipart_upload(fast.call)
    late = await multipart.complete_multipart_upload(slow.call)
    assert (late.status, late.body) == (200, done.body)
    other = body.replace(b"<PartNumber>1<", b"<PartNumber>2<")
    stale = _completion(config, upload_id, other)
    with pytest.raises(S3Error) as info:
        await multipart.complete_multipart_upload(stale.call)
    assert info.value.code == "NoSuchUpload"


def test_body_digest_refusals_before_body(config: S3Config) -> None:
    """A malformed Content-MD5, an XML body declared over the cap, and a DeleteObjects without any digest are refused before the body."""
    target = "/bucket/k?tagging"
    bad_md5 = signed("PUT", target, extra={"Content-MD5": "nope"})
    assert refused(config, "PUT", target, bad_md5, 10) == "InvalidDigest"
    bad_md5 = signed("PUT", "/bucket/k", extra={"Content-MD5": "nope"})
    assert refused(config, "PUT", "/bucket/k", bad_md5, 10) == "InvalidDigest"
    big = XML_BODY_LIMIT + 1
    assert refused(config, "PUT", target, signed("PUT", target), big) == (
        "MaxMessageLengthExceeded"
    )
    target = "/bucket?delete"
    assert refused(config, "POST", target, signed("POST", target), 10) == (
        "InvalidRequest"
    )
