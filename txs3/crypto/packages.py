"""
The on-disk format of encrypted objects: AES-256-GCM over fixed-size
packages, so that a Range read decrypts only the packages it overlaps.

An object of C{n} plaintext bytes is cut into packages of L{PACKAGE}
bytes (the last may be shorter; an empty object is one empty package).
Each package is sealed on its own, and stored as its ciphertext followed by
its 16-byte tag, back to back, with nothing else in the file.

Each package's 96-bit nonce is the object's random 7-byte prefix, the
package's sequence number (32 bits, big-endian) and one byte that is 1 for
the last package and 0 for the others: the STREAM construction of Hoang,
Reyhanitabar, Rogaway and Vizár ("Online Authenticated-Encryption and its
Nonce-Reuse Misuse-Resistance", 2015).  So a package moved to another
place fails its tag (the number is wrong), and so does a stream cut after a
whole package (that package was not sealed as the last).  Every object has
its own random data key as well, so no nonce is ever used twice under one
key.

Nothing here does I/O or knows HTTP: L{Sealer} and L{Opener} take bytes
and give bytes, in pieces of any size, holding at most one package.  A
package that fails its tag raises L{DamagedObject}: wrong bytes are never
returned.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

#: Plaintext bytes per package.
PACKAGE = 64 * 1024
#: The GCM tag after each package's ciphertext.
TAG = 16
#: A sealed package's size on disk when it is full.
SEALED_PACKAGE = PACKAGE + TAG
KEY_BYTES = 32
PREFIX_BYTES = 7
#: The largest object the format can hold: 2**32 packages.
MAX_PLAINTEXT = PACKAGE * 2**32


class DamagedObject(Exception):
    """Stored bytes failed authentication: damaged, truncated or reordered."""


@dataclass(frozen=True)
class DataKey:
    """
    One object's data key and nonce prefix, both random, never reused.

    @ivar key: 32 bytes for AES-256-GCM.
    @ivar prefix: the 7 bytes that open every package's nonce.
    """

    key: bytes
    prefix: bytes

    @classmethod
    def generate(cls) -> DataKey:
        return cls(os.urandom(KEY_BYTES), os.urandom(PREFIX_BYTES))

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES or len(self.prefix) != PREFIX_BYTES:
            raise ValueError("a data key is 32 bytes and its prefix 7")

    def __repr__(self) -> str:
        # Keys never reach a log through repr().
        return "DataKey(<secret>)"


def package_count(size: int) -> int:
    """How many packages an object of C{size} plaintext bytes is stored in."""
    return max(1, -(-size // PACKAGE))


def sealed_size(size: int) -> int:
    """The stored size of an object of C{size} plaintext bytes."""
    return size + package_count(size) * TAG


def _nonce(prefix: bytes, number: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", number, 1 if last else 0)


class Sealer:
    """
    Encrypts one object as it streams in.  Feed plaintext with L{update} in
    pieces of any size; L{finish} seals the last package.  Each call
    returns the sealed bytes ready to write (possibly none).
    """

    def __init__(self, data_key: DataKey) -> None:
        self._aead = AESGCM(data_key.key)
        self._prefix = data_key.prefix
        self._pending = bytearray()
        self._number = 0
        self.plaintext_size = 0

    def update(self, data: bytes) -> bytes:
        self.plaintext_size += len(data)
        if self.plaintext_size > MAX_PLAINTEXT:
            raise ValueError("object too large for the package format")
        self._pending += data
        out = bytearray()
        # A full package is sealed only once more bytes follow it: until
        # then it may be the last, and the last is sealed differently.
        while len(self._pending) > PACKAGE:
            out += self._seal(bytes(self._pending[:PACKAGE]), last=False)
            del self._pending[:PACKAGE]
        return bytes(out)

    def finish(self) -> bytes:
        """Seal what is pending as the last package (empty for an empty object)."""
        sealed = self._seal(bytes(self._pending), last=True)
        self._pending.clear()
        return sealed

    def _seal(self, plaintext: bytes, last: bool) -> bytes:
        nonce = _nonce(self._prefix, self._number, last)
        self._number += 1
        return self._aead.encrypt(nonce, plaintext, None)


@dataclass(frozen=True)
class Span:
    """
    Where a plaintext byte range lies in the stored object.

    @ivar first: the number of the first package read.
    @ivar offset: the stored offset of that package.
    @ivar length: stored bytes to read from C{offset} (whole packages).
    @ivar skip: plaintext bytes to drop from the front of the first package.
    @ivar take: plaintext bytes to return in all.
    """

    first: int
    offset: int
    length: int
    skip: int
    take: int


def span(size: int, start: int, length: int) -> Span:
    """
    The packages to read for plaintext bytes C{[start, start + length)} of
    an object of C{size} plaintext bytes: only those the range overlaps.

    @raise ValueError: if the range is not within the object.
    """
    if start < 0 or length < 0 or start + length > size:
        raise ValueError(f"range {start}+{length} outside an object of {size}")
    if length == 0:
        return Span(start // PACKAGE, 0, 0, 0, 0)
    first = start // PACKAGE
    last = (start + length - 1) // PACKAGE
    end = min(size, (last + 1) * PACKAGE)
    stored_end = end + (last + 1) * TAG
    offset = first * SEALED_PACKAGE
    return Span(first, offset, stored_end - offset, start - first * PACKAGE, length)


class Opener:
    """
    Decrypts the packages of a L{Span} as their stored bytes stream in.
    Feed stored bytes with L{update}; each call returns the plaintext of
    the range that became available.  L{finish} raises if bytes are
    missing.

    @raise DamagedObject: from L{update} or L{finish}, when a package fails
        its tag or the stored bytes end early or run long.
    """

    def __init__(self, data_key: DataKey, size: int, where: Span) -> None:
        self._aead = AESGCM(data_key.key)
        self._prefix = data_key.prefix
        self._last_number = package_count(size) - 1
        self._size = size
        self._number = where.first
        self._skip = where.skip
        self._left = where.take
        self._stored_left = where.length
        self._pending = bytearray()

    def update(self, data: bytes) -> bytes:
        if len(data) > self._stored_left:
            raise DamagedObject("more stored bytes than the object holds")
        self._stored_left -= len(data)
        self._pending += data
        out = bytearray()
        while self._left > 0:
            need = self._package_size(self._number) + TAG
            if len(self._pending) < need:
                break
            out += self._open(bytes(self._pending[:need]))
            del self._pending[:need]
        return bytes(out)

    def finish(self) -> None:
        if self._left > 0 or self._pending:
            raise DamagedObject("stored object ends before its last package")

    def _package_size(self, number: int) -> int:
        if number < self._last_number:
            return PACKAGE
        return self._size - self._last_number * PACKAGE

    def _open(self, sealed: bytes) -> bytes:
        number = self._number
        nonce = _nonce(self._prefix, number, number == self._last_number)
        try:
            plaintext = self._aead.decrypt(nonce, sealed, None)
        except InvalidTag:
            raise DamagedObject(f"package {number} failed authentication") from None
        self._number += 1
        piece = plaintext[self._skip : self._skip + self._left]
        self._skip = 0
        self._left -= len(piece)
        return piece
