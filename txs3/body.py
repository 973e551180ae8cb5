"""
Request-body sinks: where the bytes of a request body go as they arrive.

Twisted hands every body chunk to C{request.content.write()} and later calls
C{tell()}, C{seek(0, 0)} and C{close()} on it (C{close} both after the
response and when the client vanishes).  txs3 installs one of three sinks
before the first body byte, once the request is authenticated:

  - L{UploadSink} for object data: decodes ``aws-chunked`` framing (chunk
    signatures verified as they pass), hashes (MD5 for the ETag, SHA-256 when
    the client signed the payload, the S3 checksums), and writes into a
    staging file of the store.  Nothing is buffered beyond one network
    chunk.  Writes are synchronous page-cache writes in the reactor thread,
    which keeps backpressure implicit: the reactor reads no faster than it
    writes.  The fsync happens later, in the store's thread.
  - L{BufferSink} for small XML documents, capped.
  - L{DiscardSink} for refused requests: nothing reaches disk.  (The
    channel, L{txs3.channel}, answers a refused request with a body before
    the body and drops at most 64 KiB of it itself; the sink is what the
    request holds meanwhile.)

Errors found while the body streams are remembered, not raised (raising
inside Twisted's transfer decoder would drop the connection without an S3
error); L{UploadSink.finish} raises the first one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence

from txs3.auth.checksums import ALGORITHMS, Checksum, header_name, new_checksum
from txs3.auth.chunked import ChunkedDecoder
from txs3.auth.types import PayloadPlan
from txs3.errors import S3Error
from txs3.store.interface import IStagingFile

# S3 computes a CRC64NVME for objects uploaded without any checksum, and
# returns it when asked with x-amz-checksum-mode.
DEFAULT_CHECKSUM = "CRC64NVME"


class DiscardSink:
    """Counts and drops a body."""

    def __init__(self) -> None:
        self._received = 0

    def write(self, data: bytes) -> None:
        self._received += len(data)

    def tell(self) -> int:
        return self._received

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


class BufferSink:
    """
    Keeps a small body in memory, up to C{limit} bytes.  Past the limit the
    rest is dropped and L{BufferSink.body} raises C{MaxMessageLengthExceeded}.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._parts: list[bytes] = []
        self._received = 0

    def write(self, data: bytes) -> None:
        self._received += len(data)
        if self._received <= self._limit:
            self._parts.append(data)

    def tell(self) -> int:
        return self._received

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        return self.body()

    def body(self) -> bytes:
        """The whole body.  @raise S3Error: if it exceeded the limit."""
        if self._received > self._limit:
            raise S3Error.of("MaxMessageLengthExceeded")
        return b"".join(self._parts)

    def close(self) -> None:
        self._parts = []


class Upload:
    """What L{UploadSink.finish} learned about a complete, verified body."""

    def __init__(
        self, staging: IStagingFile, size: int, etag: str, checksums: dict[str, str]
    ) -> None:
        self.staging = staging
        self.size = size
        self.etag = etag
        self.checksums = checksums


def requested_checksums(
    headers: Mapping[str, str], plan: PayloadPlan
) -> tuple[dict[str, str | None], S3Error | None]:
    """
    The checksums a request asks the server to verify: algorithm to the
    base64 value from a header, or None when the value comes in the trailer.

    Returns the map and an error to raise later (header/trailer conflicts are
    refused before the body is read, as S3 does, by the caller).
    """
    wanted: dict[str, str | None] = {}
    for alg in ALGORITHMS:
        value = headers.get(header_name(alg))
        if value is not None:
            wanted[alg] = value
    trailer_algs = [alg for alg in ALGORITHMS if header_name(alg) in plan.trailer_names]
    if len(wanted) + len(trailer_algs) > 1:
        return {}, S3Error.of(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum "
            "Types are not allowed.",
        )
    for alg in trailer_algs:
        wanted[alg] = None
    sdk_alg = headers.get("x-amz-sdk-checksum-algorithm", "").upper()
    if sdk_alg and sdk_alg not in ALGORITHMS:
        return {}, S3Error.of(
            "InvalidRequest",
            "Value for x-amz-sdk-checksum-algorithm header is invalid.",
        )
    for alg, value in wanted.items():
        if value is not None and not _valid_b64_digest(alg, value):
            return {}, S3Error.of(
                "InvalidRequest",
                f"Value for {header_name(alg)} header is invalid.",
            )
    return wanted, None


_DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


def _valid_b64_digest(alg: str, value: str) -> bool:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == _DIGEST_SIZES[alg]


class UploadSink:
    """
    Streams an object body into a staging file, decoding and hashing.

    @param staging: the store's staging file; discarded on any failure and
        on L{close} unless L{finish} handed it on.
    @param plan: how to decode and which payload hash to verify.
    @param content_md5: the Content-MD5 header (base64), if any.
    @param checksums: from L{requested_checksums}.
    @param content_length: the declared body length on the wire, if any.
    @param also: algorithms to compute even if the client did not ask for
        them (a multipart upload's algorithm, and CRC64NVME for combining
        the parts' checksums into the object's).  Without any requested or
        extra algorithm, L{DEFAULT_CHECKSUM} is computed.
    """

    def __init__(
        self,
        staging: IStagingFile,
        plan: PayloadPlan,
        content_md5: str | None,
        checksums: Mapping[str, str | None],
        content_length: int | None,
        also: Sequence[str] = (),
    ) -> None:
        self._staging = staging
        self._plan = plan
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256() if plan.content_sha256 else None
        self._content_md5 = content_md5
        self._expected = dict(checksums)
        algs = list(dict.fromkeys([*checksums, *also])) or [DEFAULT_CHECKSUM]
        self._checksums: dict[str, Checksum] = {a: new_checksum(a) for a in algs}
        self._decoder = ChunkedDecoder(plan) if plan.mode == "aws-chunked" else None
        self._received = 0
        self._size = 0
        self._error: S3Error | None = None
        self._handed_on = False

    def write(self, data: bytes) -> None:
        """Take one network chunk of the body."""
        self._received += len(data)
        if self._error is not None:
            return
        try:
            if self._decoder is None:
                self._consume(data)
            else:
                for piece in self._decoder.feed(data):
                    self._consume(piece)
        except S3Error as e:
            self._fail(e)
        except OSError:
            # An I/O error other than a full disk (the staging file turns
            # that into InsufficientStorage): answer it, don't drop the line.
            self._fail(S3Error.of("InternalError"))

    def _consume(self, piece: bytes) -> None:
        self._size += len(piece)
        self._md5.update(piece)
        if self._sha256 is not None:
            self._sha256.update(piece)
        for c in self._checksums.values():
            c.update(piece)
        self._staging.write(piece)

    def _fail(self, error: S3Error) -> None:
        self._error = error
        self._staging.discard()

    def tell(self) -> int:
        return self._received

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        return b""

    def finish(self) -> Upload:
        """
        Verify the complete body and hand the staging file on.

        Checks, in S3's order: framing and trailer (aws-chunked), decoded
        length, Content-MD5 (C{BadDigest}), the signed payload hash
        (C{XAmzContentSHA256Mismatch}), the S3 checksums (C{BadDigest}).

        @raise S3Error: the first problem found; the staging file is gone.
        """
        try:
            if self._error is not None:
                raise self._error
            trailers: dict[str, str] = {}
            if self._decoder is not None:
                trailers = self._decoder.finish()
            self._verify(trailers)
        except S3Error as e:
            self._fail(e)
            raise
        self._handed_on = True
        return Upload(
            self._staging,
            self._size,
            self._md5.hexdigest(),
            {alg: c.b64digest() for alg, c in self._checksums.items()},
        )

    def _verify(self, trailers: Mapping[str, str]) -> None:
        if self._content_md5 is not None:
            try:
                expected_md5 = base64.b64decode(self._content_md5, validate=True)
            except (binascii.Error, ValueError):
                expected_md5 = b""
            if len(expected_md5) != 16:
                raise S3Error.of("InvalidDigest")
            if expected_md5 != self._md5.digest():
                raise S3Error.of("BadDigest", ExpectedDigest=self._content_md5)
        if self._sha256 is not None and self._plan.content_sha256 is not None:
            computed = self._sha256.hexdigest()
            if computed != self._plan.content_sha256.lower():
                raise S3Error.of(
                    "XAmzContentSHA256Mismatch",
                    ClientComputedContentSHA256=self._plan.content_sha256,
                    S3ComputedContentSHA256=computed,
                )
        for alg, value in self._expected.items():
            if value is None:
                value = trailers.get(header_name(alg))
                if value is None:
                    raise S3Error.of(
                        "InvalidRequest",
                        f"The {header_name(alg)} trailer was announced in "
                        "x-amz-trailer but not sent.",
                    )
                if not _valid_b64_digest(alg, value):
                    raise S3Error.of(
                        "InvalidRequest",
                        f"Value for {header_name(alg)} trailing header is invalid.",
                    )
            if self._checksums[alg].b64digest() != value:
                raise S3Error.of(
                    "BadDigest",
                    f"The {alg} you specified did not match the calculated checksum.",
                )

    def close(self) -> None:
        """Twisted is done with the request: drop the staging file unless handed on."""
        if not self._handed_on:
            self._staging.discard()
