"""
Body integrity beyond the per-operation scenarios of
L{tests.test_signed_bodies}: SigV2's signed Content-MD5, UNSIGNED-PAYLOAD,
malformed digests, DeleteObjects' required digest, ``aws-chunked`` XML
bodies, a body sent to an operation that takes none, and the streamed
object bodies of UploadPart.  All in memory (the L{server} fixture), with
requests signed by botocore and then altered.
"""

from __future__ import annotations

import pytest_twisted

from tests.forgery import (
    aws_chunked,
    chunk_signing,
    crc32_of,
    delete,
    error_of,
    forge,
    listing,
    make_object,
    md5_of,
    sha256_of,
    tagging,
)
from tests.functional import Server, server  # noqa: F401

GOOD = tagging(team="good")
BAD = tagging(team="evil")


async def tags(s: Server) -> bytes:
    r = await s.client.request("GET", "/bucket/k", "tagging")
    assert r.code == 200, r.body
    return r.body


@pytest_twisted.ensureDeferred
async def test_sigv2_signed_content_md5(server: Server) -> None:
    """SigV2 signs Content-MD5: another body with it is BadDigest, another Content-MD5 is SignatureDoesNotMatch, the signed pair is stored."""
    s = server
    await make_object(s)
    before = await tags(s)
    signed = {"Content-MD5": md5_of(GOOD)}
    r = await forge(s, "PUT", "/bucket/k", "tagging", GOOD, BAD, signed, v2=True)
    assert error_of(r) == "BadDigest"
    r = await forge(s, "PUT", "/bucket/k", "tagging", GOOD, BAD, signed, v2=True,
                    unsigned={"Content-MD5": md5_of(BAD)})  # fmt: skip
    assert error_of(r) == "SignatureDoesNotMatch"
    assert await tags(s) == before
    r = await s.v2.request("PUT", "/bucket/k", "tagging", signed, GOOD)
    assert r.code == 200, r.body
    assert b"<Value>good</Value>" in await tags(s)


@pytest_twisted.ensureDeferred
async def test_unsigned_payload_accepted(server: Server) -> None:
    """UNSIGNED-PAYLOAD is accepted for an XML body, with or without a (matching) Content-MD5."""
    s = server
    await make_object(s)
    unsigned = {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    r = await s.client.request("PUT", "/bucket/k", "tagging", unsigned, GOOD)
    assert r.code == 200, r.body
    assert b"<Value>good</Value>" in await tags(s)
    with_md5 = {**unsigned, "Content-MD5": md5_of(BAD)}
    r = await s.client.request("PUT", "/bucket/k", "tagging", with_md5, BAD)
    assert r.code == 200, r.body
    assert b"<Value>evil</Value>" in await tags(s)


@pytest_twisted.ensureDeferred
async def test_malformed_content_md5(server: Server) -> None:
    """A Content-MD5 that is not the base64 of 16 bytes is InvalidDigest, for XML and object bodies alike."""
    s = server
    await make_object(s)
    before = await tags(s)
    for bad in ("garbage!", md5_of(GOOD)[:-4], "AAAA"):
        r = await s.client.request("PUT", "/bucket/k", "tagging",
                                   {"Content-MD5": bad}, GOOD)  # fmt: skip
        assert (r.code, error_of(r)) == (400, "InvalidDigest")
        r = await s.client.request("PUT", "/bucket/k", "", {"Content-MD5": bad}, b"x")
        assert (r.code, error_of(r)) == (400, "InvalidDigest")
    assert await tags(s) == before
    r = await s.client.request("GET", "/bucket/k")
    assert r.body == b"data"


@pytest_twisted.ensureDeferred
async def test_delete_objects_requires_a_digest(server: Server) -> None:
    """DeleteObjects without Content-MD5 or a checksum is InvalidRequest; a wrong CRC32 is BadDigest; a right one deletes."""
    s = server
    await make_object(s, "victim")
    body = delete("victim")
    r = await s.client.request("POST", "/bucket", "delete", body=body)
    assert (r.code, error_of(r)) == (400, "InvalidRequest")
    assert b"Missing required header for this request: Content-MD5" in r.body
    wrong = {"x-amz-checksum-crc32": crc32_of(b"other")}
    r = await s.client.request("POST", "/bucket", "delete", wrong, body)
    assert (r.code, error_of(r)) == (400, "BadDigest")
    assert await listing(s) == ["victim"]
    right = {"x-amz-checksum-crc32": crc32_of(body)}
    r = await s.client.request("POST", "/bucket", "delete", right, body)
    assert r.code == 200, r.body
    assert await listing(s) == []


async def _streamed_tagging(
    s: Server, chunks: list[bytes], signed: bool, tamper: bytes = b""
) -> int | str | None:
    """PutObjectTagging with an aws-chunked body; C{tamper} replaces the first chunk on the wire."""
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" if signed else (
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    )  # fmt: skip
    headers = {
        "X-Amz-Content-SHA256": mode,
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(sum(map(len, chunks))),
    }
    if not signed:
        headers["X-Amz-Trailer"] = "x-amz-checksum-crc32"
    hdrs = s.client.sign("PUT", "/bucket/k", "tagging", headers)
    if signed:
        wire = aws_chunked(chunks, signing=chunk_signing(hdrs))
    else:
        trailer = {"x-amz-checksum-crc32": crc32_of(b"".join(chunks))}
        wire = aws_chunked(chunks, trailers=trailer)
    if tamper:
        wire = wire.replace(chunks[0], tamper, 1)
    r = await s.client.request("PUT", "/bucket/k", "tagging", hdrs, wire, signed=False)
    return error_of(r) or r.code


@pytest_twisted.ensureDeferred
async def test_aws_chunked_xml_bodies(server: Server) -> None:
    """An aws-chunked XML body is decoded and verified (chunk signatures, or its trailer checksum) before it takes effect."""
    s = server
    await make_object(s)
    before = await tags(s)
    half = len(BAD) // 2
    evil = [BAD[:half], BAD[half:]]
    # Same length, so only the signature or the checksum can tell.
    swapped = evil[0].replace(b"<TagSet>", b"<TagSeT>")
    assert swapped != evil[0]
    assert await _streamed_tagging(s, evil, True, swapped) == "SignatureDoesNotMatch"
    assert await _streamed_tagging(s, evil, False, swapped) == "BadDigest"
    assert await tags(s) == before
    good = [GOOD[:half], GOOD[half:]]
    assert await _streamed_tagging(s, good, True) == 200
    assert b"<Value>good</Value>" in await tags(s)
    assert await _streamed_tagging(s, evil, False) == 200
    assert b"<Value>evil</Value>" in await tags(s)


@pytest_twisted.ensureDeferred
async def test_body_of_an_operation_without_one(server: Server) -> None:
    """A body sent to an operation that takes none must still be the signed one: DeleteObjectTagging then deletes nothing."""
    s = server
    await make_object(s)
    r = await s.client.request("PUT", "/bucket/k", "tagging", body=GOOD)
    assert r.code == 200
    r = await forge(s, "DELETE", "/bucket/k", "tagging", b"", b"junk")
    assert error_of(r) == "XAmzContentSHA256Mismatch"
    assert b"<Value>good</Value>" in await tags(s)


@pytest_twisted.ensureDeferred
async def test_upload_part_digests(server: Server) -> None:
    """UploadPart verifies the signed payload hash and Content-MD5 of the streamed part; a refused part is not stored."""
    s = server
    await make_object(s)
    r = await s.client.request("POST", "/bucket/mp", "uploads")
    upload_id = r.body.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
    query = f"partNumber=1&uploadId={upload_id}"
    r = await forge(s, "PUT", "/bucket/mp", query, b"part", b"evil",
                    unsigned={"Content-MD5": md5_of(b"evil")})  # fmt: skip
    assert error_of(r) == "XAmzContentSHA256Mismatch"
    assert r.body.count(sha256_of(b"part").encode()) == 1
    r = await s.client.request("PUT", "/bucket/mp", query,
                               {"Content-MD5": md5_of(b"other")}, b"part")  # fmt: skip
    assert error_of(r) == "BadDigest"
    r = await s.client.request("GET", "/bucket/mp", f"uploadId={upload_id}")
    assert b"<Part>" not in r.body
    r = await s.client.request("PUT", "/bucket/mp", query,
                               {"Content-MD5": md5_of(b"part")}, b"part")  # fmt: skip
    assert r.code == 200, r.body
