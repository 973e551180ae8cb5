"""
The S3 additional checksums: CRC32, CRC32C, CRC64NVME, SHA1 and SHA256.

S3 (and botocore, which clients use to compute them) transmits a checksum
as the base64 of its big-endian digest: 4 bytes for the CRC32s, 8 for
CRC64NVME, the plain digest for the SHAs.  The CRCs come from
C{awscrt.checksums}, whose functions take the running value, so a checksum
is updated piece by piece as the body streams past and nothing is buffered.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Protocol

from awscrt import checksums as _crt

ALGORITHMS: tuple[str, ...] = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")

_HEADER_PREFIX = "x-amz-checksum-"


class Checksum(Protocol):
    """A running checksum over a stream of bytes."""

    algorithm: str

    def update(self, data: bytes) -> None:
        """Add C{data} to the checksummed stream."""

    def b64digest(self) -> str:
        """
        The checksum of everything given so far, base64 of the big-endian
        digest, as S3 sends it in ``x-amz-checksum-*``.  Does not end the
        stream: more updates may follow.
        """


class _CrcChecksum:
    """A CRC kept as a running integer, as the awscrt functions want it."""

    def __init__(
        self, algorithm: str, function: Callable[[bytes, int], int], width: int
    ) -> None:
        self.algorithm = algorithm
        self._function = function
        self._width = width
        self._mask = (1 << (8 * width)) - 1
        self._value = 0

    def update(self, data: bytes) -> None:
        if data:
            self._value = self._function(data, self._value) & self._mask

    def b64digest(self) -> str:
        digest = self._value.to_bytes(self._width, byteorder="big")
        return base64.b64encode(digest).decode("ascii")


class _HashlibChecksum:
    """A SHA digest from hashlib."""

    def __init__(self, algorithm: str, name: str) -> None:
        self.algorithm = algorithm
        self._hash = hashlib.new(name)

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def b64digest(self) -> str:
        return base64.b64encode(self._hash.digest()).decode("ascii")


def new_checksum(algorithm: str) -> Checksum:
    """
    A fresh running checksum.

    @param algorithm: one of L{ALGORITHMS}, upper case.
    @raise ValueError: for any other name (callers validate client input
        first, with L{algorithm_for_header} or against L{ALGORITHMS}).
    """
    if algorithm == "CRC32":
        return _CrcChecksum(algorithm, _crt.crc32, 4)
    if algorithm == "CRC32C":
        return _CrcChecksum(algorithm, _crt.crc32c, 4)
    if algorithm == "CRC64NVME":
        return _CrcChecksum(algorithm, _crt.crc64nvme, 8)
    if algorithm == "SHA1":
        return _HashlibChecksum(algorithm, "sha1")
    if algorithm == "SHA256":
        return _HashlibChecksum(algorithm, "sha256")
    raise ValueError(f"unknown checksum algorithm {algorithm!r}")


def digest_length(algorithm: str) -> int:
    """
    The length in bytes of C{algorithm}'s digest (before base64), to
    validate a checksum value sent by a client.

    @raise ValueError: for a name not in L{ALGORITHMS}.
    """
    lengths = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
    try:
        return lengths[algorithm]
    except KeyError:
        raise ValueError(f"unknown checksum algorithm {algorithm!r}") from None


def header_name(algorithm: str) -> str:
    """
    The (lower-case) header or trailer that carries C{algorithm}'s value,
    e.g. ``x-amz-checksum-crc32``.
    """
    return _HEADER_PREFIX + algorithm.lower()


def algorithm_for_header(name: str) -> str | None:
    """
    The algorithm whose value header C{name} carries (any case), or None
    when C{name} is not an ``x-amz-checksum-<algorithm>`` header of a known
    algorithm (``x-amz-checksum-mode`` and ``x-amz-checksum-type`` are not).
    """
    lowered = name.strip().lower()
    if not lowered.startswith(_HEADER_PREFIX):
        return None
    candidate = lowered[len(_HEADER_PREFIX) :].upper()
    return candidate if candidate in ALGORITHMS else None
