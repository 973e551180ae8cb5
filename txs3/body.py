"""
Request-body sinks: where the bytes of a request body go as they arrive.

Twisted hands every body chunk to C{request.content.write()} and later calls
C{tell()}, C{seek(0, 0)} and C{close()} on it (C{close} both after the
response and when the client vanishes).  txs3 installs one of three sinks
before the first body byte, once the request is authenticated:

  - L{UploadSink} for object data: writes into a staging file of the
    store.  Nothing is buffered beyond one network chunk.  Writes are
    synchronous page-cache writes in the reactor thread, which keeps
    backpressure implicit: the reactor reads no faster than it writes.
    The fsync happens later, in the store's thread.
  - L{BufferSink} for small XML documents, capped, and (keeping nothing)
    for the body, if any, of an operation that takes none.
  - L{DiscardSink} for refused requests: nothing reaches disk.  (The
    channel, L{txs3.channel}, answers a refused request with a body before
    the body and drops at most 64 KiB of it itself; the sink is what the
    request holds meanwhile.)

Every sink of an accepted request decodes ``aws-chunked`` framing (chunk
signatures verified as they pass) and hashes the decoded bytes as they
arrive (L{txs3.auth.integrity.BodyDigests}: the signed SHA-256, Content-MD5,
the S3 checksums), in one pass.  Its C{verify()} compares them once the
body is complete; the application calls it before any handler runs
(L{txs3.api.app}), so no body takes effect unless it is the body that was
signed and digested.

Errors found while the body streams are remembered, not raised (raising
inside Twisted's transfer decoder would drop the connection without an S3
error); C{verify()} raises the first one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from txs3.auth.checksums import ALGORITHMS, header_name
from txs3.auth.chunked import ChunkedDecoder
from txs3.auth.integrity import BodyDigests, valid_b64_digest
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

    def verify(self) -> None:
        """
        Nothing to check: a discarded body never takes effect.  The gate
        gives this sink only to refused requests and to public entries,
        which take no body.
        """


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
        if value is not None and not valid_b64_digest(alg, value):
            return {}, S3Error.of(
                "InvalidRequest",
                f"Value for {header_name(alg)} header is invalid.",
            )
    return wanted, None


class CheckedSink:
    """
    What every accepted request's sink does with its body: decode
    ``aws-chunked`` framing (chunk signatures verified as they pass), feed
    each decoded piece to the request's L{BodyDigests}, and hand it to
    L{_keep}.  The first error is remembered; L{_complete} raises it, or
    the first digest that does not match.
    """

    def __init__(self, plan: PayloadPlan, digests: BodyDigests) -> None:
        self._digests = digests
        self._decoder = ChunkedDecoder(plan) if plan.mode == "aws-chunked" else None
        self._received = 0
        self._size = 0
        self._error: S3Error | None = None
        self._verified = False

    def write(self, data: bytes) -> None:
        """Take one network chunk of the body."""
        self._received += len(data)
        if self._error is not None:
            return
        try:
            pieces = [data] if self._decoder is None else self._decoder.feed(data)
            for piece in pieces:
                self._size += len(piece)
                self._digests.update(piece)
                self._keep(piece)
        except S3Error as e:
            self._fail(e)
        except OSError:
            # An I/O error other than a full disk (the staging file turns
            # that into InsufficientStorage): answer it, don't drop the line.
            self._fail(S3Error.of("InternalError"))

    def _keep(self, piece: bytes) -> None:
        raise NotImplementedError

    def _fail(self, error: S3Error) -> None:
        self._error = error

    def tell(self) -> int:
        return self._received

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def read(self, size: int = -1) -> bytes:
        # The body is read through the sink's own methods, once verified;
        # nothing reads it this way, and nothing unverified leaves here.
        return b""

    def _complete(self) -> None:
        """
        Check the complete body: framing and trailer (``aws-chunked``), then
        the digests (L{BodyDigests.verify}).  Idempotent once it passed.

        @raise S3Error: the first problem found, each time it is called.
        """
        if self._verified:
            return
        try:
            if self._error is not None:
                raise self._error
            trailers = self._decoder.finish() if self._decoder is not None else {}
            self._digests.verify(trailers)
        except S3Error as e:
            self._fail(e)
            raise
        self._verified = True


class BufferSink(CheckedSink):
    """
    Keeps a small (decoded) body in memory, up to C{limit} bytes, checked
    against the request's digests.  Past the limit the rest is hashed and
    dropped, and L{verify} raises C{MaxMessageLengthExceeded}.

    @param keep: False for an operation that takes no body: it is checked
        all the same (a signed body must be the body sent), but nothing is
        kept and no limit applies.
    """

    def __init__(
        self, limit: int, plan: PayloadPlan, digests: BodyDigests, keep: bool = True
    ) -> None:
        super().__init__(plan, digests)
        self._limit = limit
        self._keep_body = keep
        self._parts: list[bytes] = []

    def _keep(self, piece: bytes) -> None:
        if self._keep_body and self._size <= self._limit:
            self._parts.append(piece)

    def verify(self) -> None:
        """
        Check the complete body before anything acts on it.

        @raise S3Error: C{MaxMessageLengthExceeded} over the limit, else as
            L{CheckedSink._complete}.
        """
        if self._keep_body and self._size > self._limit:
            raise S3Error.of("MaxMessageLengthExceeded")
        self._complete()

    def body(self) -> bytes:
        """The whole verified body.  @raise S3Error: as L{verify}."""
        self.verify()
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


class UploadSink(CheckedSink):
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
        extra = list(also) if checksums or also else [DEFAULT_CHECKSUM]
        digests = BodyDigests(plan, content_md5, checksums, extra, md5=True)
        super().__init__(plan, digests)
        self._staging = staging
        self._upload: Upload | None = None

    def _keep(self, piece: bytes) -> None:
        self._staging.write(piece)

    def _fail(self, error: S3Error) -> None:
        super()._fail(error)
        self._staging.discard()

    def finish(self) -> Upload:
        """
        Verify the complete body and hand the staging file on.  A second
        call returns the same L{Upload}.

        Checks, in S3's order: framing and trailer (aws-chunked), decoded
        length, Content-MD5 (C{BadDigest}), the signed payload hash
        (C{XAmzContentSHA256Mismatch}), the S3 checksums (C{BadDigest}).

        @raise S3Error: the first problem found; the staging file is gone.
        """
        if self._upload is None:
            self._complete()
            self._upload = Upload(
                self._staging,
                self._size,
                self._digests.md5_hex(),
                self._digests.checksums(),
            )
        return self._upload

    def verify(self) -> None:
        """Check the complete body (L{finish}, keeping its result)."""
        self.finish()

    def close(self) -> None:
        """Twisted is done with the request: drop the staging file unless handed on."""
        if self._upload is None:
            self._staging.discard()
