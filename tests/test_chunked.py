"""
Tests for L{txs3.auth.chunked.ChunkedDecoder}.

Strategy: AWS's published chunked uploads (the 65,536 + 1,024 byte example
with its chunk signatures, and its signed-trailer variant) pin the signature
chain; botocore's C{AwsChunkedWrapper} produces the unsigned-trailer bodies
that boto3 sends today.  An encoder written here from AWS's description
(independent of the decoder) produces arbitrary bodies for hypothesis, which
checks that the decoded result does not depend on how the body is split.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from collections.abc import Iterable, Sequence

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, CrtCrc32Checksum
from hypothesis import given, settings
from hypothesis import strategies as st

from txs3.auth import ChunkedDecoder, ChunkSigning, PayloadPlan
from txs3.auth.checksums import new_checksum
from txs3.auth.chunked import MAX_LINE
from txs3.errors import S3Error

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
DATE = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"


def _key(secret: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in ("20130524", "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


KEY = _key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

# AWS's "Example: PUT Object" for chunked uploads.
SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = (
    "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
)
# The same upload with a CRC32C trailer (sigv4-streaming-trailers).
TRAILER_SEED = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
TRAILER_CHUNK_SIGNATURES = (
    "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
    "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
    "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
)
TRAILER_SIGNATURE = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
EXAMPLE_DATA = b"a" * 66560


def _aws_body(signatures: Sequence[str], trailer: bytes = b"") -> bytes:
    sizes = (65536, 1024, 0)
    body = b""
    for size, signature in zip(sizes, signatures, strict=True):
        body += b"%x;chunk-signature=%s\r\n" % (size, signature.encode())
        if size:
            body += b"a" * size + b"\r\n"
    return body + trailer + b"\r\n"


def _signed_plan(
    seed: str, *, trailer: bool = False, length: int | None = 66560
) -> PayloadPlan:
    return PayloadPlan(
        mode="aws-chunked",
        chunk_signing=ChunkSigning(KEY, DATE, SCOPE, seed),
        trailer=trailer,
        trailer_names=("x-amz-checksum-crc32c",) if trailer else (),
        decoded_length=length,
    )


def _decode(
    plan: PayloadPlan, body: bytes, split: int | Iterable[int] = 65536
) -> tuple[bytes, dict[str, str]]:
    """Feed C{body} in pieces of C{split} bytes (or at the given cut points)."""
    decoder = ChunkedDecoder(plan)
    if isinstance(split, int):
        cuts = list(range(split, len(body), split))
    else:
        cuts = sorted(set(split))
    out = bytearray()
    start = 0
    for cut in [*cuts, len(body)]:
        for piece in decoder.feed(body[start:cut]):
            out += piece
        start = cut
    return bytes(out), decoder.finish()


def _fails(plan: PayloadPlan, body: bytes, code: str) -> S3Error:
    with pytest.raises(S3Error) as caught:
        _decode(plan, body)
    assert caught.value.code == code, caught.value
    return caught.value


# --- AWS's examples -------------------------------------------------------------


@pytest.mark.parametrize("split", [1, 7, 8192, 65537, 10**6])
def test_aws_example_decodes(split: int) -> None:
    """AWS's signed chunked upload decodes to its 66,560 bytes, however split."""
    data, trailers = _decode(_signed_plan(SEED), _aws_body(CHUNK_SIGNATURES), split)
    assert data == EXAMPLE_DATA
    assert trailers == {}


@pytest.mark.parametrize("split", [1, 4096, 10**6])
def test_aws_trailer_example_decodes(split: int) -> None:
    """AWS's signed upload with a signed CRC32C trailer decodes; trailer returned."""
    trailer = (
        b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
        b"x-amz-trailer-signature:" + TRAILER_SIGNATURE.encode() + b"\r\n"
    )
    body = _aws_body(TRAILER_CHUNK_SIGNATURES, trailer)
    data, trailers = _decode(_signed_plan(TRAILER_SEED, trailer=True), body, split)
    assert data == EXAMPLE_DATA
    assert trailers == {"x-amz-checksum-crc32c": "sOO8/Q=="}


def test_aws_example_corrupted_data() -> None:
    """One changed data byte in the second chunk breaks that chunk's signature."""
    body = bytearray(_aws_body(CHUNK_SIGNATURES))
    body[-200] = ord("b")
    error = _fails(_signed_plan(SEED), bytes(body), "SignatureDoesNotMatch")
    assert error.extra["SignatureProvided"] == CHUNK_SIGNATURES[1]


def test_aws_example_wrong_seed() -> None:
    """Chunk signatures chain from the seed: another seed fails the first chunk."""
    error = _fails(
        _signed_plan(TRAILER_SEED), _aws_body(CHUNK_SIGNATURES), "SignatureDoesNotMatch"
    )
    assert error.extra["SignatureProvided"] == CHUNK_SIGNATURES[0]


def test_aws_example_reordered_signatures() -> None:
    """Chunks cannot be replayed in another chain position."""
    swapped = (CHUNK_SIGNATURES[1], CHUNK_SIGNATURES[0], CHUNK_SIGNATURES[2])
    _fails(_signed_plan(SEED), _aws_body(swapped), "SignatureDoesNotMatch")


def test_aws_example_truncated_chain() -> None:
    """Dropping the final signed chunk leaves the body incomplete."""
    body = _aws_body(CHUNK_SIGNATURES)
    cut = body.index(b"0;chunk-signature=")
    decoder = ChunkedDecoder(_signed_plan(SEED))
    decoder.feed(body[:cut])
    with pytest.raises(S3Error) as caught:
        decoder.finish()
    assert caught.value.code == "IncompleteBody"


@pytest.mark.parametrize(
    "trailer",
    [
        b"x-amz-checksum-crc32c:AAAAAA==\r\nx-amz-trailer-signature:"
        + TRAILER_SIGNATURE.encode()
        + b"\r\n",
        b"x-amz-checksum-crc32c:sOO8/Q==\r\n",
        b"x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:"
        + b"0" * 64
        + b"\r\n",
    ],
)
def test_aws_trailer_tampered(trailer: bytes) -> None:
    """A changed, unsigned or wrongly signed trailer is refused."""
    body = _aws_body(TRAILER_CHUNK_SIGNATURES, trailer)
    _fails(_signed_plan(TRAILER_SEED, trailer=True), body, "SignatureDoesNotMatch")


def test_unsigned_chunk_in_signed_mode() -> None:
    """In a signed mode every chunk must carry a chunk-signature."""
    body = b"5\r\nhello\r\n0\r\n\r\n"
    _fails(_signed_plan(SEED, length=5), body, "SignatureDoesNotMatch")


# --- botocore's unsigned trailers (boto3 >= 1.36 uploads) -------------------


@pytest.mark.parametrize("chunk_size", [1, 3, 1024 * 1024])
def test_botocore_unsigned_trailer(chunk_size: int) -> None:
    """Bodies from botocore's AwsChunkedWrapper decode, and their CRC32
    trailer is the value of the decoded data."""
    data = bytes(range(256)) * 20
    wrapper = AwsChunkedWrapper(
        io.BytesIO(data),
        checksum_cls=CrtCrc32Checksum,
        checksum_name="x-amz-checksum-crc32",
        chunk_size=chunk_size,
    )
    body = wrapper.read()
    plan = PayloadPlan(
        mode="aws-chunked",
        trailer=True,
        trailer_names=("x-amz-checksum-crc32",),
        decoded_length=len(data),
    )
    decoded, trailers = _decode(plan, body, 4093)
    assert decoded == data
    expected = new_checksum("CRC32")
    expected.update(data)
    assert trailers == {"x-amz-checksum-crc32": expected.b64digest()}


def test_botocore_empty_body() -> None:
    """An empty upload is the final chunk and the trailer only."""
    wrapper = AwsChunkedWrapper(
        io.BytesIO(b""),
        checksum_cls=CrtCrc32Checksum,
        checksum_name="x-amz-checksum-crc32",
    )
    plan = PayloadPlan(mode="aws-chunked", trailer=True, decoded_length=0)
    assert _decode(plan, wrapper.read()) == (b"", {"x-amz-checksum-crc32": "AAAAAA=="})


UNSIGNED = PayloadPlan(mode="aws-chunked", trailer=True, decoded_length=5)


def test_missing_final_crlf_after_trailer_tolerated() -> None:
    """Complete trailer lines without the closing empty line are accepted."""
    body = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n"
    assert _decode(UNSIGNED, body) == (b"hello", {"x-amz-checksum-crc32": "NhCmhg=="})


@pytest.mark.parametrize(
    "body",
    [
        b"5\r\nhello\r\n0\r\n",
        b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==",
        b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r",
        b"5\r\nhel",
        b"5\r\nhello\r",
        b"",
    ],
)
def test_truncated_bodies(body: bytes) -> None:
    """A body that stops before its framing ends is IncompleteBody."""
    _fails(UNSIGNED, body, "IncompleteBody")


# --- lengths ------------------------------------------------------------------


def test_shorter_than_decoded_length() -> None:
    """Fewer bytes than x-amz-decoded-content-length is IncompleteBody."""
    plan = PayloadPlan(mode="aws-chunked", trailer=True, decoded_length=6)
    _fails(plan, b"5\r\nhello\r\n0\r\n\r\n", "IncompleteBody")


def test_longer_than_decoded_length() -> None:
    """More bytes than x-amz-decoded-content-length is refused at once."""
    plan = PayloadPlan(mode="aws-chunked", trailer=True, decoded_length=4)
    decoder = ChunkedDecoder(plan)
    with pytest.raises(S3Error) as caught:
        decoder.feed(b"5\r\nhello")
    assert caught.value.code == "InvalidRequest"


# --- malformed framing --------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nhello\r\n0\r\n\r\n",
        b"\r\nhello\r\n0\r\n\r\n",
        b"12345678901234567\r\n",
        b"5\nhello\r\n0\r\n\r\n",
        b"5\r\nhelloXX0\r\n\r\n",
        b"5\r\nhello\r\n0\r\n\r\nextra",
        b"5\r\nhello\r\n0\r\nno-colon\r\n\r\n",
        b"5\r\nhello\r\n0\r\nx-amz-checksum-sha1:x\r\n\r\n",
        b"5\xff\r\nhello\r\n0\r\n\r\n",
    ],
)
def test_malformed_framing(body: bytes) -> None:
    """Garbage where framing belongs is InvalidRequest, not data."""
    plan = PayloadPlan(
        mode="aws-chunked",
        trailer=True,
        trailer_names=("x-amz-checksum-crc32",),
        decoded_length=5,
    )
    _fails(plan, body, "InvalidRequest")


def test_trailer_without_trailer_mode() -> None:
    """Trailer lines are refused when the request did not announce a trailer."""
    plan = _signed_plan(SEED)
    body = _aws_body(CHUNK_SIGNATURES, b"x-amz-checksum-crc32c:sOO8/Q==\r\n")
    _fails(plan, body, "InvalidRequest")


def test_line_length_is_capped() -> None:
    """A header line longer than MAX_LINE is refused before it is all buffered."""
    decoder = ChunkedDecoder(UNSIGNED)
    decoder.feed(b"0" * (MAX_LINE - 1))
    with pytest.raises(S3Error) as caught:
        decoder.feed(b"0" * 2)
    assert caught.value.code == "InvalidRequest"


def test_errors_are_sticky() -> None:
    """After an error, the decoder keeps raising it."""
    decoder = ChunkedDecoder(UNSIGNED)
    with pytest.raises(S3Error) as first:
        decoder.feed(b"zz\r\n")
    with pytest.raises(S3Error) as again:
        decoder.feed(b"5\r\nhello\r\n")
    assert again.value is first.value
    with pytest.raises(S3Error):
        decoder.finish()


def test_data_passes_through_before_chunk_ends() -> None:
    """Chunk data is returned as it arrives, not held until the chunk ends."""
    decoder = ChunkedDecoder(PayloadPlan(mode="aws-chunked", decoded_length=10**6))
    assert decoder.feed(b"f4240\r\n") == []
    assert b"".join(decoder.feed(b"x" * 1000)) == b"x" * 1000
    assert b"".join(decoder.feed(b"y" * 3)) == b"yyy"


def test_chunk_extensions_and_case() -> None:
    """Upper-case hex sizes and unknown chunk extensions are accepted."""
    plan = PayloadPlan(mode="aws-chunked", decoded_length=26)
    body = b"1A;foo=bar\r\n" + b"z" * 26 + b"\r\n0\r\n\r\n"
    assert _decode(plan, body, 5) == (b"z" * 26, {})


# --- split independence (hypothesis) ------------------------------------------


def _encode(
    chunks: Sequence[bytes],
    *,
    signed: bool,
    trailers: dict[str, str],
    trailer_mode: bool,
    seed: str = SEED,
) -> bytes:
    """aws-chunked encoding as AWS describes it, written independently of
    the decoder (chunk and trailer signatures chained from C{seed})."""
    previous = seed
    out = b""

    def chunk_signature(data: bytes) -> str:
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                DATE,
                SCOPE,
                previous,
                EMPTY_SHA256,
                hashlib.sha256(data).hexdigest(),
            ]
        )
        return hmac.new(KEY, to_sign.encode(), hashlib.sha256).hexdigest()

    for data in [*chunks, b""]:
        header = b"%x" % len(data)
        if signed:
            previous = chunk_signature(data)
            header += b";chunk-signature=" + previous.encode()
        out += header + b"\r\n"
        if data:
            out += data + b"\r\n"
    if trailer_mode:
        lines = "".join(f"{k}:{v}\n" for k, v in sorted(trailers.items()))
        for name, value in trailers.items():
            out += f"{name}:{value}\r\n".encode()
        if signed:
            to_sign = "\n".join(
                [
                    "AWS4-HMAC-SHA256-TRAILER",
                    DATE,
                    SCOPE,
                    previous,
                    hashlib.sha256(lines.encode()).hexdigest(),
                ]
            )
            signature = hmac.new(KEY, to_sign.encode(), hashlib.sha256).hexdigest()
            out += f"x-amz-trailer-signature:{signature}\r\n".encode()
    return out + b"\r\n"


@settings(max_examples=150, deadline=None)
@given(
    chunks=st.lists(st.binary(min_size=1, max_size=200), max_size=6),
    signed=st.booleans(),
    trailer_mode=st.booleans(),
    trailer_value=st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=",
        max_size=12,
    ),
    data=st.data(),
)
def test_split_independence(
    chunks: list[bytes],
    signed: bool,
    trailer_mode: bool,
    trailer_value: str,
    data: st.DataObject,
) -> None:
    """Whatever the chunking and wherever the body is cut, the decoder
    returns the same payload and trailers."""
    trailers = {"x-amz-checksum-crc32": trailer_value} if trailer_mode else {}
    body = _encode(chunks, signed=signed, trailers=trailers, trailer_mode=trailer_mode)
    payload = b"".join(chunks)
    plan = PayloadPlan(
        mode="aws-chunked",
        chunk_signing=ChunkSigning(KEY, DATE, SCOPE, SEED) if signed else None,
        trailer=trailer_mode,
        trailer_names=tuple(trailers),
        decoded_length=len(payload),
    )
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=20))
    assert _decode(plan, body, cuts) == (payload, trailers)
    assert _decode(plan, body, 1) == (payload, trailers)


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(st.binary(min_size=1, max_size=50), min_size=1, max_size=4),
    data=st.data(),
)
def test_any_flipped_byte_is_caught(chunks: list[bytes], data: st.DataObject) -> None:
    """In signed mode, flipping any one byte of the body never yields
    different data silently: decoding fails or gives the original payload."""
    body = bytearray(_encode(chunks, signed=True, trailers={}, trailer_mode=False))
    position = data.draw(st.integers(0, len(body) - 1))
    body[position] ^= data.draw(st.integers(1, 255))
    plan = PayloadPlan(
        mode="aws-chunked",
        chunk_signing=ChunkSigning(KEY, DATE, SCOPE, SEED),
        decoded_length=sum(map(len, chunks)),
    )
    try:
        decoded, _ = _decode(plan, bytes(body), 7)
    except S3Error:
        return
    assert decoded == b"".join(chunks)
