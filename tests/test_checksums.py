"""
Tests for L{txs3.auth.checksums}.

The reference for every value is botocore, the code that computes the
checksums S3 clients send: its checksum classes are run on the same data,
whole and in pieces, and the base64 strings must be identical.  Known check
values pin the CRC parameters independently of botocore.
"""

from __future__ import annotations

import base64

import pytest
from botocore import httpchecksum
from hypothesis import given
from hypothesis import strategies as st

from txs3.auth.checksums import (
    ALGORITHMS,
    algorithm_for_header,
    digest_length,
    header_name,
    new_checksum,
)

BOTOCORE = {
    "CRC32": httpchecksum.CrtCrc32Checksum,
    "CRC32C": httpchecksum.CrtCrc32cChecksum,
    "CRC64NVME": httpchecksum.CrtCrc64NvmeChecksum,
    "SHA1": httpchecksum.Sha1Checksum,
    "SHA256": httpchecksum.Sha256Checksum,
}


def _b64(value: int, width: int) -> str:
    return base64.b64encode(value.to_bytes(width, "big")).decode("ascii")


def test_crc64nvme_check_value() -> None:
    """CRC64NVME of ASCII "123456789" is the published 0xAE8B14860A799888."""
    checksum = new_checksum("CRC64NVME")
    checksum.update(b"123456789")
    assert checksum.b64digest() == _b64(0xAE8B14860A799888, 8)


@pytest.mark.parametrize(
    ("algorithm", "value", "width"),
    [("CRC32", 0xCBF43926, 4), ("CRC32C", 0xE3069283, 4)],
)
def test_crc32_check_values(algorithm: str, value: int, width: int) -> None:
    """CRC32 and CRC32C of "123456789" are their standard check values."""
    checksum = new_checksum(algorithm)
    checksum.update(b"123456789")
    assert checksum.b64digest() == _b64(value, width)


def test_empty_input() -> None:
    """The checksum of nothing is the all-zero CRC and the SHA of b""."""
    assert new_checksum("CRC32").b64digest() == "AAAAAA=="
    assert new_checksum("CRC64NVME").b64digest() == "AAAAAAAAAAA="
    assert (
        new_checksum("SHA256").b64digest()
        == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    )


def test_aws_documented_crc32c_of_example_object() -> None:
    """CRC32C of AWS's 66,560-byte example object is the documented sOO8/Q==."""
    checksum = new_checksum("CRC32C")
    checksum.update(b"a" * 66560)
    assert checksum.b64digest() == "sOO8/Q=="


@given(
    algorithm=st.sampled_from(ALGORITHMS),
    pieces=st.lists(st.binary(max_size=300), max_size=8),
)
def test_matches_botocore(algorithm: str, pieces: list[bytes]) -> None:
    """Every algorithm gives botocore's value, whatever the pieces fed."""
    ours = new_checksum(algorithm)
    theirs = BOTOCORE[algorithm]()
    for piece in pieces:
        ours.update(piece)
        theirs.update(piece)
    assert ours.b64digest() == theirs.b64digest()
    assert len(base64.b64decode(ours.b64digest())) == digest_length(algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_digest_does_not_end_stream(algorithm: str) -> None:
    """Asking for the digest midway does not disturb the running value."""
    checksum = new_checksum(algorithm)
    checksum.update(b"hello ")
    checksum.b64digest()
    checksum.update(b"world")
    whole = new_checksum(algorithm)
    whole.update(b"hello world")
    assert checksum.b64digest() == whole.b64digest()


def test_unknown_algorithm() -> None:
    """An unknown algorithm is a programming error, not a silent default."""
    with pytest.raises(ValueError):
        new_checksum("MD5")
    with pytest.raises(ValueError):
        digest_length("crc32")


def test_header_names_round_trip() -> None:
    """header_name and algorithm_for_header are inverse for every algorithm."""
    assert header_name("CRC64NVME") == "x-amz-checksum-crc64nvme"
    for algorithm in ALGORITHMS:
        assert algorithm_for_header(header_name(algorithm)) == algorithm
        assert algorithm_for_header(header_name(algorithm).upper()) == algorithm


@pytest.mark.parametrize(
    "name",
    ["x-amz-checksum-mode", "x-amz-checksum-type", "x-amz-checksum-md5", "crc32"],
)
def test_algorithm_for_other_headers(name: str) -> None:
    """Headers that share the prefix but carry no value are not algorithms."""
    assert algorithm_for_header(name) is None
