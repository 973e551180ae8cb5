"""
The encrypted-object format and its keys (L{txs3.crypto}), without a
server: round trips in pieces of any size, Range reads that open only the
packages they overlap, and every kind of damage detected.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from txs3.crypto.keyring import KeyFileError, KeyRing, load_master_key
from txs3.crypto.keys import (
    COPY_SOURCE_SSE_C,
    WRAPPED_BYTES,
    KeyCheck,
    WrongKey,
    customer_key,
    unwrap,
    wrap,
)
from txs3.crypto.packages import (
    PACKAGE,
    SEALED_PACKAGE,
    TAG,
    DamagedObject,
    DataKey,
    Opener,
    Sealer,
    package_count,
    sealed_size,
    span,
)
from txs3.errors import S3Error

KEY = DataKey(bytes(range(32)), b"prefix7")


def seal(plaintext: bytes, key: DataKey = KEY, piece: int = 10_000) -> bytes:
    sealer = Sealer(key)
    out = b"".join(
        sealer.update(plaintext[i : i + piece]) for i in range(0, len(plaintext), piece)
    )
    return out + sealer.finish()


def read(
    stored: bytes, size: int, start: int, length: int, piece: int = 7_000
) -> bytes:
    where = span(size, start, length)
    opener = Opener(KEY, size, where)
    chunk = stored[where.offset : where.offset + where.length]
    out = b"".join(
        opener.update(chunk[i : i + piece]) for i in range(0, len(chunk), piece)
    )
    opener.finish()
    return out


@pytest.mark.parametrize(
    "size",
    [0, 1, PACKAGE - 1, PACKAGE, PACKAGE + 1, 3 * PACKAGE, 3 * PACKAGE + 17],
)
def test_round_trip_at_package_edges(size: int) -> None:
    plaintext = os.urandom(size)
    stored = seal(plaintext)
    assert len(stored) == sealed_size(size) == size + package_count(size) * TAG
    # (A short plaintext may turn up in random ciphertext by chance.)
    assert size < 16 or plaintext not in stored
    assert read(stored, size, 0, size) == plaintext


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(0, 4 * PACKAGE + 100),
    data=st.data(),
    piece=st.integers(1, 3 * PACKAGE),
)
def test_any_range_in_any_pieces(size: int, data: st.DataObject, piece: int) -> None:
    plaintext = bytes(i % 251 for i in range(size))
    stored = seal(plaintext, piece=piece)
    start = data.draw(st.integers(0, size))
    length = data.draw(st.integers(0, size - start))
    assert read(stored, size, start, length, piece) == plaintext[start : start + length]


def test_a_small_range_reads_at_most_two_packages() -> None:
    """A 1 KiB range of a 1 GiB object: the span covers at most two packages."""
    size = 1024**3
    for start in (0, PACKAGE - 512, 500 * PACKAGE + 3, size - 1024):
        where = span(size, start, 1024)
        assert where.length <= 2 * SEALED_PACKAGE
        assert where.offset == (start // PACKAGE) * SEALED_PACKAGE


def test_range_outside_object_is_refused() -> None:
    with pytest.raises(ValueError):
        span(10, 5, 6)


def damaged(stored: bytes, size: int) -> None:
    with pytest.raises(DamagedObject):
        read(stored, size, 0, size)


def test_flipped_bit_is_detected() -> None:
    size = 2 * PACKAGE + 10
    stored = bytearray(seal(os.urandom(size)))
    stored[PACKAGE + 100] ^= 0x01
    damaged(bytes(stored), size)


def test_swapped_packages_are_detected() -> None:
    size = 2 * PACKAGE
    stored = seal(os.urandom(size))
    first, second = stored[:SEALED_PACKAGE], stored[SEALED_PACKAGE:]
    damaged(second + first, size)


def test_truncation_after_a_whole_package_is_detected() -> None:
    """Dropping the last package and claiming the shorter size fails: the
    package now read as last was not sealed as the last."""
    plaintext = os.urandom(2 * PACKAGE + 5)
    stored = seal(plaintext)
    damaged(stored[: 2 * SEALED_PACKAGE], 2 * PACKAGE)


def test_short_stored_bytes_are_detected() -> None:
    size = PACKAGE + 5
    stored = seal(os.urandom(size))
    where = span(size, 0, size)
    opener = Opener(KEY, size, where)
    opener.update(stored[:-3])
    with pytest.raises(DamagedObject):
        opener.finish()


def test_another_key_cannot_open() -> None:
    stored = seal(b"secret bytes")
    other = Opener(DataKey(os.urandom(32), KEY.prefix), 12, span(12, 0, 12))
    with pytest.raises(DamagedObject):
        other.update(stored)


def test_data_keys_are_random_and_never_printed() -> None:
    one, two = DataKey.generate(), DataKey.generate()
    assert one.key != two.key and one.prefix != two.prefix
    assert one.key.hex() not in repr(one) and "secret" in repr(one)


def test_wrapped_keys_unwrap_only_under_their_key() -> None:
    kek, data_key = os.urandom(32), DataKey.generate()
    wrapped = wrap(kek, data_key)
    assert data_key.key not in wrapped
    assert unwrap(kek, wrapped, data_key.prefix) == data_key
    with pytest.raises(WrongKey):
        unwrap(os.urandom(32), wrapped, data_key.prefix)
    with pytest.raises(WrongKey):
        unwrap(kek, wrapped[:-1] + bytes([wrapped[-1] ^ 1]), data_key.prefix)
    assert len(wrapped) == WRAPPED_BYTES
    assert wrap(kek, data_key) != wrapped  # a fresh nonce each time


def test_wrapped_keys_are_bound_to_their_context() -> None:
    kek, data_key = os.urandom(32), DataKey.generate()
    wrapped = wrap(kek, data_key, b'{"project":"a"}')
    assert unwrap(kek, wrapped, data_key.prefix, b'{"project":"a"}') == data_key
    with pytest.raises(WrongKey):
        unwrap(kek, wrapped, data_key.prefix, b'{"project":"b"}')


def test_key_check_tells_right_from_wrong_and_keeps_no_key() -> None:
    key = os.urandom(32)
    check = KeyCheck.of(key)
    assert check.matches(key)
    assert not check.matches(os.urandom(32))
    assert key not in check.salt + check.digest
    assert KeyCheck.of(key).digest != check.digest  # salted


def sse_c_headers(
    key: bytes, prefix: str = "x-amz-server-side-encryption-customer-"
) -> dict[str, str]:
    return {
        prefix + "algorithm": "AES256",
        prefix + "key": base64.b64encode(key).decode(),
        prefix + "key-md5": base64.b64encode(hashlib.md5(key).digest()).decode(),
    }


def test_customer_key_read_from_headers() -> None:
    key = os.urandom(32)
    assert customer_key(sse_c_headers(key)) == key
    assert customer_key(sse_c_headers(key, COPY_SOURCE_SSE_C), COPY_SOURCE_SSE_C) == key
    assert customer_key({}) is None


BAD = os.urandom(32)


@pytest.mark.parametrize(
    "change, code, message",
    [
        (
            {"algorithm": "AES128"},
            "InvalidEncryptionAlgorithmError",
            "valid value is AES256",
        ),
        ({"algorithm": None}, "InvalidArgument", "valid encryption algorithm"),
        ({"key": None}, "InvalidArgument", "appropriate secret key"),
        ({"key-md5": None}, "InvalidArgument", "calculated MD5 of the secret key"),
        (
            {"key": base64.b64encode(BAD[:16]).decode()},
            "InvalidArgument",
            "secret key was invalid",
        ),
        ({"key": "not base64!"}, "InvalidArgument", "secret key was invalid"),
        (
            {"key-md5": base64.b64encode(b"0" * 16).decode()},
            "InvalidArgument",
            "did not match",
        ),
    ],
)
def test_customer_key_errors(
    change: dict[str, str | None], code: str, message: str
) -> None:
    headers = sse_c_headers(BAD)
    for name, value in change.items():
        full = "x-amz-server-side-encryption-customer-" + name
        if value is None:
            del headers[full]
        else:
            headers[full] = value
    with pytest.raises(S3Error) as raised:
        customer_key(headers)
    assert raised.value.code == code
    assert message in raised.value.message
    # The secret key is never echoed in the error.
    assert base64.b64encode(BAD).decode() not in str(raised.value.extra)


def test_master_key_made_once_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "data" / "master.key"
    key = load_master_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(path) == key


@pytest.mark.parametrize(
    "content, mode, words",
    [
        (b"not base64!\n", 0o600, "32 bytes in base64"),
        (base64.b64encode(b"short") + b"\n", 0o600, "32 bytes in base64"),
        (base64.b64encode(os.urandom(32)) + b"\n", 0o644, "chmod 600"),
    ],
)
def test_bad_master_key_files_say_what_to_do(
    tmp_path: Path, content: bytes, mode: int, words: str
) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(content)
    path.chmod(mode)
    with pytest.raises(KeyFileError) as raised:
        load_master_key(path)
    assert words in str(raised.value) and str(path) in str(raised.value)
    with pytest.raises(KeyFileError):
        load_master_key(tmp_path / "absent.key", create=False)


def test_key_ring_names_keys_as_aws_does(tmp_path: Path) -> None:
    path = tmp_path / "kms" / "keys.json"
    ring = KeyRing.load(path)
    photos = ring.create_key("photos")
    arn = photos.arn("us-east-1", "owner-one")
    for name in (
        photos.key_id,
        "alias/photos",
        arn,
        "arn:aws:kms:us-east-1:owner-one:alias/photos",
    ):
        assert ring.resolve(name) == photos
    default = ring.resolve(None)
    assert default.alias == "aws/s3" and ring.resolve(None) == default
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Saved and read back whole.
    again = KeyRing.load(path)
    assert again.keys() == ring.keys()
    assert photos.material.hex() not in repr(photos)


@pytest.mark.parametrize(
    "name",
    [
        "alias/nope",
        "00000000-0000-0000-0000-000000000000",
        "arn:aws:kms:us-east-1:x:key/missing",
    ],
)
def test_unknown_kms_keys_are_kms_not_found(tmp_path: Path, name: str) -> None:
    ring = KeyRing.load(tmp_path / "keys.json")
    with pytest.raises(S3Error) as raised:
        ring.resolve(name)
    assert (raised.value.code, raised.value.status) == ("KMS.NotFoundException", 400)
    assert name in raised.value.message


def test_key_ring_refuses_bad_aliases_and_files(tmp_path: Path) -> None:
    ring = KeyRing.load(tmp_path / "keys.json")
    ring.create_key("team")
    with pytest.raises(ValueError):
        ring.create_key("alias/team")
    with pytest.raises(ValueError):
        ring.create_key("bad alias!")
    broken = tmp_path / "broken.json"
    broken.write_text('{"keys": [{"id": 1}]}')
    with pytest.raises(KeyFileError):
        KeyRing.load(broken)
