"""
The upload sink on its own: body pieces in, a verified staging file out.

Bodies are built the way botocore builds them (its AwsChunkedWrapper for
unsigned trailers), fed in awkward splits, and checked against a
MemoryStagingFile.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Callable

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

from txs3.auth.checksums import new_checksum
from txs3.auth.integrity import BodyDigests, parse_content_md5
from txs3.auth.types import PayloadPlan
from txs3.body import BufferSink, UploadSink, requested_checksums
from txs3.errors import S3Error
from txs3.store.memory import MemoryStagingFile

TRAILER_PLAN = PayloadPlan(
    mode="aws-chunked",
    trailer=True,
    trailer_names=("x-amz-checksum-crc32",),
    decoded_length=None,
)


def chunked_body(data: bytes) -> bytes:
    """An aws-chunked body with a CRC32 trailer, exactly as botocore sends it."""
    wrapper = AwsChunkedWrapper(
        io.BytesIO(data),
        checksum_cls=Crc32Checksum,
        checksum_name="x-amz-checksum-crc32",
        chunk_size=1000,
    )
    return wrapper.read()


def sink_for(
    plan: PayloadPlan, headers: dict[str, str], md5: str | None = None
) -> tuple[UploadSink, MemoryStagingFile]:
    wanted, error = requested_checksums(headers, plan)
    assert error is None
    staging = MemoryStagingFile()
    return UploadSink(staging, plan, md5, wanted, None), staging


def feed(sink: UploadSink | BufferSink, body: bytes, step: int) -> None:
    for i in range(0, len(body), step):
        sink.write(body[i : i + step])


@pytest.mark.parametrize("step", [1, 7, 1000, 100000])
def test_chunked_trailer_body_decodes_and_verifies(step: int) -> None:
    """A botocore aws-chunked body with a CRC32 trailer is decoded, hashed and verified in any split."""
    data = bytes(range(256)) * 20
    body = chunked_body(data)
    plan = PayloadPlan(
        "aws-chunked", None, None, True, ("x-amz-checksum-crc32",), len(data)
    )
    sink, staging = sink_for(plan, {})
    feed(sink, body, step)
    upload = sink.finish()
    assert upload.size == len(data)
    assert upload.etag == hashlib.md5(data).hexdigest()
    crc = new_checksum("CRC32")
    crc.update(data)
    assert upload.checksums == {"CRC32": crc.b64digest()}
    assert staging.take() == data


def test_wrong_trailer_checksum_is_bad_digest() -> None:
    """A trailer CRC that does not match the data is BadDigest and the staging file is dropped."""
    data = b"x" * 3000
    body = chunked_body(data)
    good = chunked_body(data).split(b"x-amz-checksum-crc32:")[1].split(b"\r\n")[0]
    bad_body = body.replace(good, base64.b64encode(b"\0\0\0\0"))
    sink, staging = sink_for(TRAILER_PLAN, {})
    feed(sink, bad_body, 4096)
    with pytest.raises(S3Error) as info:
        sink.finish()
    assert info.value.code == "BadDigest"
    assert not staging.is_open()


def test_truncated_chunked_body_is_incomplete() -> None:
    """An aws-chunked body cut short is IncompleteBody."""
    body = chunked_body(b"y" * 5000)
    sink, staging = sink_for(TRAILER_PLAN, {})
    feed(sink, body[: len(body) // 2], 100)
    with pytest.raises(S3Error) as info:
        sink.finish()
    assert info.value.code == "IncompleteBody"
    assert not staging.is_open()


def test_header_and_trailer_checksums_together_are_refused() -> None:
    """A checksum header plus a checksum trailer is InvalidRequest, decided before the body."""
    _, error = requested_checksums({"x-amz-checksum-sha256": "x"}, TRAILER_PLAN)
    assert error is not None and error.code == "InvalidRequest"


def test_malformed_checksum_header_is_refused() -> None:
    """A checksum header that is not a base64 digest of the right size is InvalidRequest."""
    _, error = requested_checksums(
        {"x-amz-checksum-crc32": "not base64!"}, PayloadPlan()
    )
    assert error is not None and error.code == "InvalidRequest"


def test_plain_body_with_sha256() -> None:
    """A plain body is checked against the signed x-amz-content-sha256."""
    data = b"signed payload"
    plan = PayloadPlan(content_sha256=hashlib.sha256(data).hexdigest())
    sink, _ = sink_for(plan, {})
    feed(sink, data, 3)
    assert sink.finish().size == len(data)
    sink, staging = sink_for(plan, {})
    feed(sink, data + b"!", 3)
    with pytest.raises(S3Error) as info:
        sink.finish()
    assert info.value.code == "XAmzContentSHA256Mismatch"
    assert not staging.is_open()


def test_disk_full_mid_body() -> None:
    """A full disk while streaming surfaces as InsufficientStorage at finish, staging gone."""
    sink, staging = sink_for(PayloadPlan(), {})
    sink.write(b"abc")
    staging.full = True
    sink.write(b"def")
    sink.write(b"ghi")  # dropped quietly once failed
    with pytest.raises(S3Error) as info:
        sink.finish()
    assert info.value.code == "InsufficientStorage"


def test_close_discards_unfinished_upload() -> None:
    """Closing a sink that was never finished (client vanished) discards its staging file."""
    sink, staging = sink_for(PayloadPlan(), {})
    sink.write(b"partial")
    sink.close()
    assert not staging.is_open()


def test_buffer_sink_cap() -> None:
    """An XML body over the cap is MaxMessageLengthExceeded, and nothing past the cap is kept."""
    sink = BufferSink(10, PayloadPlan(), BodyDigests(PayloadPlan()))
    sink.write(b"0123456789")
    assert sink.body() == b"0123456789"
    sink.write(b"x")
    with pytest.raises(S3Error) as info:
        sink.body()
    assert info.value.code == "MaxMessageLengthExceeded"


def buffer_for(
    plan: PayloadPlan,
    headers: dict[str, str],
    limit: int = 1 << 20,
    keep: bool = True,
) -> BufferSink:
    wanted, error = requested_checksums(headers, plan)
    assert error is None
    digests = BodyDigests(plan, headers.get("content-md5"), wanted)
    return BufferSink(limit, plan, digests, keep)


def _code(f: Callable[[], object]) -> S3Error:
    with pytest.raises(S3Error) as info:
        f()
    return info.value


def test_buffer_sink_checks_the_signed_payload_hash() -> None:
    """A buffered body is checked against x-amz-content-sha256 (AWS's two elements reported), every time it is asked for."""
    data = b"<Tagging/>"
    plan = PayloadPlan(content_sha256=hashlib.sha256(data).hexdigest())
    sink = buffer_for(plan, {})
    feed(sink, data, 3)
    assert sink.body() == data and sink.body() == data
    sink = buffer_for(plan, {})
    feed(sink, b"<Tagging />", 3)
    error = _code(sink.body)
    assert error.code == "XAmzContentSHA256Mismatch"
    assert error.extra == {
        "ClientComputedContentSHA256": hashlib.sha256(data).hexdigest(),
        "S3ComputedContentSHA256": hashlib.sha256(b"<Tagging />").hexdigest(),
    }
    assert _code(sink.verify).code == "XAmzContentSHA256Mismatch"


def test_buffer_sink_checks_content_md5_and_checksums() -> None:
    """Content-MD5 and x-amz-checksum-* headers are checked on buffered bodies: BadDigest when they differ."""
    data = b"<Delete/>"
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    sink = buffer_for(PayloadPlan(), {"content-md5": md5})
    feed(sink, data, 1)
    assert sink.body() == data
    sink = buffer_for(PayloadPlan(), {"content-md5": md5})
    feed(sink, data + b" ", 1)
    assert _code(sink.body).code == "BadDigest"
    crc = new_checksum("CRC32")
    crc.update(b"other")
    sink = buffer_for(PayloadPlan(), {"x-amz-checksum-crc32": crc.b64digest()})
    feed(sink, data, 4)
    assert _code(sink.body).code == "BadDigest"


@pytest.mark.parametrize("step", [1, 13, 100000])
def test_buffer_sink_decodes_aws_chunked(step: int) -> None:
    """An aws-chunked XML body is decoded into the buffer and its trailer checksum verified; a wrong one is BadDigest."""
    data = b"<Tagging><TagSet/></Tagging>" * 100
    sink = buffer_for(TRAILER_PLAN, {})
    feed(sink, chunked_body(data), step)
    assert sink.body() == data
    good = chunked_body(data).split(b"x-amz-checksum-crc32:")[1].split(b"\r\n")[0]
    bad = chunked_body(data).replace(good, base64.b64encode(b"\0\0\0\0"))
    sink = buffer_for(TRAILER_PLAN, {})
    feed(sink, bad, step)
    assert _code(sink.body).code == "BadDigest"


def test_buffer_sink_without_keeping() -> None:
    """A sink that keeps nothing (an operation without a body) has no cap but still checks the body."""
    plan = PayloadPlan(content_sha256=hashlib.sha256(b"").hexdigest())
    sink = buffer_for(plan, {}, limit=0, keep=False)
    assert sink.body() == b""
    sink = buffer_for(plan, {}, limit=0, keep=False)
    feed(sink, b"x" * 100, 7)
    assert sink.tell() == 100
    assert _code(sink.verify).code == "XAmzContentSHA256Mismatch"


@pytest.mark.parametrize(
    "value", ["", "nope", "AAAA", base64.b64encode(b"x" * 17).decode(), "=" * 24]
)
def test_malformed_content_md5(value: str) -> None:
    """A Content-MD5 that is not the base64 of 16 bytes is InvalidDigest."""
    assert _code(lambda: parse_content_md5(value)).code == "InvalidDigest"


def test_content_md5_parses() -> None:
    """A well-formed Content-MD5 gives its 16 bytes; none gives None."""
    digest = hashlib.md5(b"x").digest()
    assert parse_content_md5(base64.b64encode(digest).decode()) == digest
    assert parse_content_md5(None) is None
