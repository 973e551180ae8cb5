"""
The checksum rules of multipart uploads, as S3 defines them.  Pure
functions over values, tested without a server.

  - COMPOSITE: the algorithm over the concatenated binary checksums of the
    parts, base64, with ``-N`` appended (N parts);
  - FULL_OBJECT: the CRC of the whole object, combined from the parts' CRCs
    without reading bytes (C{awscrt.checksums.combine_*}).  Uploads created
    without an algorithm get a FULL_OBJECT CRC64NVME, as S3 does.
  - The object's ETag: the MD5 of the parts' binary MD5s, with ``-N``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence

from awscrt import checksums as crt

from txs3.auth.checksums import ALGORITHMS, new_checksum
from txs3.errors import S3Error

COMPOSITE = "COMPOSITE"
FULL_OBJECT = "FULL_OBJECT"

# awscrt's combine functions and digest widths, per CRC algorithm.
COMBINE: dict[str, tuple[Callable[[int, int, int], int], int]] = {
    "CRC32": (crt.combine_crc32, 4),
    "CRC32C": (crt.combine_crc32c, 4),
    "CRC64NVME": (crt.combine_crc64nvme, 8),
}


def checksum_settings(
    algorithm: str | None, checksum_type: str | None
) -> tuple[str | None, str | None]:
    """
    Validate CreateMultipartUpload's ``x-amz-checksum-algorithm`` and
    ``x-amz-checksum-type``; return them upper-cased, the type defaulted
    as S3 does (FULL_OBJECT for CRC64NVME, COMPOSITE otherwise).

    @raise S3Error: C{InvalidRequest} for an unknown value or a combination
        S3 refuses (FULL_OBJECT with a SHA, COMPOSITE with CRC64NVME, a
        type without an algorithm).
    """
    alg = algorithm.strip().upper() if algorithm else None
    ctype = checksum_type.strip().upper() if checksum_type else None
    if alg is not None and alg not in ALGORITHMS:
        raise S3Error.of(
            "InvalidRequest",
            "Checksum algorithm provided is unsupported. Please try again with "
            "any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
        )
    if ctype is not None and ctype not in (COMPOSITE, FULL_OBJECT):
        raise S3Error.of(
            "InvalidRequest", "Value for x-amz-checksum-type header is invalid."
        )
    if alg is None:
        if ctype is not None:
            raise S3Error.of(
                "InvalidRequest",
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header.",
            )
        return None, None
    if ctype is None:
        ctype = FULL_OBJECT if alg == "CRC64NVME" else COMPOSITE
    if ctype == FULL_OBJECT and alg not in COMBINE:
        raise S3Error.of(
            "InvalidRequest",
            f"The FULL_OBJECT checksum type cannot be used with the {alg.lower()} "
            "checksum algorithm.",
        )
    if ctype == COMPOSITE and alg == "CRC64NVME":
        raise S3Error.of(
            "InvalidRequest",
            "The COMPOSITE checksum type cannot be used with the crc64nvme "
            "checksum algorithm.",
        )
    return alg, ctype


def multipart_etag(etags: Sequence[str]) -> str:
    """S3's ETag of a multipart object: MD5 of the parts' binary MD5s, ``-N``."""
    digest = hashlib.md5(usedforsecurity=False)
    for etag in etags:
        try:
            digest.update(bytes.fromhex(etag))
        except ValueError:
            digest.update(etag.encode())
    return f"{digest.hexdigest()}-{len(etags)}"


def decode_b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""


def composite_checksum(algorithm: str, values: Sequence[str]) -> str:
    """C{algorithm} over the concatenated binary part checksums, ``-N``."""
    checksum = new_checksum(algorithm)
    for value in values:
        checksum.update(decode_b64(value))
    return f"{checksum.b64digest()}-{len(values)}"


def full_object_crc(algorithm: str, parts: Sequence[tuple[str, int]]) -> str:
    """
    The CRC of the concatenation of parts given as (base64 CRC, length),
    combined without the bytes.
    """
    combine, width = COMBINE[algorithm]
    value = 0
    for i, (b64, length) in enumerate(parts):
        crc = int.from_bytes(decode_b64(b64), "big")
        value = crc if i == 0 else combine(value, crc, length)
    return base64.b64encode(value.to_bytes(width, "big")).decode("ascii")
