"""
Body integrity: the digests a request body must match, computed as the
bytes pass and compared once, at the end of the body.

A request names what its body must hash to in up to three places:

  - ``x-amz-content-sha256`` (SigV4): a hex SHA-256 that the signature
    covers, so it binds the body to the signature.  C{UNSIGNED-PAYLOAD}
    and the streaming modes name none here (streaming bodies carry chunk
    signatures instead, verified by L{txs3.auth.chunked});
  - ``Content-MD5``: base64 MD5.  SigV2 signs it; SigV4 signs it when the
    client lists it in SignedHeaders;
  - ``x-amz-checksum-*``, in a header or in the trailer of an
    ``aws-chunked`` body.

L{BodyDigests} holds the running hashes for all of them; the sinks of
L{txs3.body} feed it each decoded piece and call L{BodyDigests.verify}
before the request is allowed to take effect.  Pure code: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence

from txs3.auth.checksums import Checksum, header_name, new_checksum
from txs3.auth.types import PayloadPlan
from txs3.errors import S3Error

_DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}


def parse_content_md5(value: str | None) -> bytes | None:
    """
    The 16-byte digest a ``Content-MD5`` header names, or None without one.

    @raise S3Error: C{InvalidDigest} when the value is not the base64 of
        16 bytes.
    """
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise S3Error.of("InvalidDigest")
    return raw


def valid_b64_digest(alg: str, value: str) -> bool:
    """Whether C{value} is the base64 of a digest of C{alg}'s size."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == _DIGEST_SIZES[alg]


class BodyDigests:
    """
    The running hashes of one request body, and the values they must match.

    @param plan: the request's payload plan; its C{content_sha256}, when
        set, is the SHA-256 the whole (decoded) body must have.
    @param content_md5: the ``Content-MD5`` header as sent, if any (already
        checked by L{parse_content_md5}, and checked again here).
    @param checksums: algorithm to expected base64 value (None: it comes
        in the trailer), as L{txs3.body.requested_checksums} returns.
    @param also: algorithms to compute without an expected value (the
        caller reads them from L{checksums} afterwards).
    @param md5: compute the MD5 even without ``Content-MD5`` (an object's
        ETag).
    """

    def __init__(
        self,
        plan: PayloadPlan,
        content_md5: str | None = None,
        checksums: Mapping[str, str | None] | None = None,
        also: Sequence[str] = (),
        md5: bool = False,
    ) -> None:
        expected = dict(checksums or {})
        self._content_md5 = content_md5
        self._sha256_expected = plan.content_sha256
        self._md5 = (
            hashlib.md5(usedforsecurity=False)
            if md5 or content_md5 is not None
            else None
        )
        self._sha256 = hashlib.sha256() if plan.content_sha256 else None
        self._expected = expected
        algs = list(dict.fromkeys([*expected, *also]))
        self._checksums: dict[str, Checksum] = {a: new_checksum(a) for a in algs}

    def update(self, piece: bytes) -> None:
        """Hash the next piece of the (decoded) body."""
        if self._md5 is not None:
            self._md5.update(piece)
        if self._sha256 is not None:
            self._sha256.update(piece)
        for c in self._checksums.values():
            c.update(piece)

    def md5_hex(self) -> str:
        """The body's MD5 in hex (the ETag of a single-part object)."""
        assert self._md5 is not None, "MD5 not requested"
        return self._md5.hexdigest()

    def checksums(self) -> dict[str, str]:
        """Every computed checksum: algorithm to base64 value."""
        return {alg: c.b64digest() for alg, c in self._checksums.items()}

    def verify(self, trailers: Mapping[str, str]) -> None:
        """
        Compare the complete body's hashes with what the request named.

        Checks, in S3's order: Content-MD5 (C{InvalidDigest} when malformed,
        C{BadDigest} when it differs), the signed payload hash
        (C{XAmzContentSHA256Mismatch}, with both values), then the S3
        checksums (C{BadDigest}; C{InvalidRequest} for a missing or
        malformed trailer value).

        @param trailers: the trailer lines of an ``aws-chunked`` body.
        @raise S3Error: the first mismatch.
        """
        if self._content_md5 is not None:
            expected_md5 = parse_content_md5(self._content_md5)
            assert self._md5 is not None
            if expected_md5 != self._md5.digest():
                raise S3Error.of("BadDigest", ExpectedDigest=self._content_md5)
        if self._sha256 is not None and self._sha256_expected is not None:
            computed = self._sha256.hexdigest()
            if computed != self._sha256_expected.lower():
                raise S3Error.of(
                    "XAmzContentSHA256Mismatch",
                    ClientComputedContentSHA256=self._sha256_expected,
                    S3ComputedContentSHA256=computed,
                )
        for alg, value in self._expected.items():
            if value is None:
                value = _trailer_value(alg, trailers)
            if self._checksums[alg].b64digest() != value:
                raise S3Error.of(
                    "BadDigest",
                    f"The {alg} you specified did not match the calculated checksum.",
                )


def _trailer_value(alg: str, trailers: Mapping[str, str]) -> str:
    name = header_name(alg)
    value = trailers.get(name)
    if value is None:
        raise S3Error.of(
            "InvalidRequest",
            f"The {name} trailer was announced in x-amz-trailer but not sent.",
        )
    if not valid_b64_digest(alg, value):
        raise S3Error.of(
            "InvalidRequest", f"Value for {name} trailing header is invalid."
        )
    return value
