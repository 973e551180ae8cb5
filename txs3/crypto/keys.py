"""
Keys for encryption at rest: data keys wrapped under a key-encryption key,
and SSE-C customer keys read from headers and checked without being kept.

A data key is stored only wrapped under the key that protects it: the
customer's key for SSE-C, the server's master key for SSE-S3, a key-ring
key for SSE-KMS.  Wrapping is AES-256-GCM with a random nonce, so that a
context (SSE-KMS's encryption context) can be bound to the wrapped key as
associated data: unwrapping under another context fails.  The data key's
nonce prefix is not secret and is stored as it is.

A customer key is never stored.  What is stored is a random salt and the
HMAC-SHA256 of the key under that salt (as AWS documents for SSE-C), enough
to tell a later request's key right or wrong, and nothing to recover it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from txs3.crypto.packages import KEY_BYTES, DataKey
from txs3.errors import S3Error

SALT_BYTES = 16
SSE_C_ALGORITHM = "AES256"


class WrongKey(Exception):
    """A wrapped data key did not unwrap: the key-encryption key is not its own."""


WRAP_NONCE_BYTES = 12
#: The size of a wrapped data key: nonce, key, tag.
WRAPPED_BYTES = WRAP_NONCE_BYTES + KEY_BYTES + 16


def wrap(kek: bytes, data_key: DataKey, context: bytes = b"") -> bytes:
    """
    C{data_key}'s key wrapped under the 32-byte C{kek}, bound to
    C{context} (L{WRAPPED_BYTES} long).
    """
    nonce = os.urandom(WRAP_NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, data_key.key, context)


def unwrap(kek: bytes, wrapped: bytes, prefix: bytes, context: bytes = b"") -> DataKey:
    """
    The data key C{wrapped} under C{kek} and C{context}, with its stored
    nonce C{prefix}.

    @raise WrongKey: if C{kek} or C{context} is not the one it was wrapped
        under, or the stored bytes were changed.
    """
    nonce, sealed = wrapped[:WRAP_NONCE_BYTES], wrapped[WRAP_NONCE_BYTES:]
    try:
        return DataKey(AESGCM(kek).decrypt(nonce, sealed, context), prefix)
    except (InvalidTag, ValueError):
        raise WrongKey() from None


@dataclass(frozen=True)
class KeyCheck:
    """What is stored to recognise a customer key: a salt and an HMAC."""

    salt: bytes
    digest: bytes

    @classmethod
    def of(cls, customer_key: bytes) -> KeyCheck:
        salt = os.urandom(SALT_BYTES)
        return cls(salt, _digest(salt, customer_key))

    def matches(self, customer_key: bytes) -> bool:
        return hmac.compare_digest(self.digest, _digest(self.salt, customer_key))


def _digest(salt: bytes, customer_key: bytes) -> bytes:
    return hmac.new(salt, customer_key, hashlib.sha256).digest()


#: The SSE-C headers of the object a request names, and of a copy source.
SSE_C = "x-amz-server-side-encryption-customer-"
COPY_SOURCE_SSE_C = "x-amz-copy-source-server-side-encryption-customer-"


def customer_key(headers: Mapping[str, str], prefix: str = SSE_C) -> bytes | None:
    """
    The SSE-C key a request sends in the C{prefix} headers (``algorithm``,
    ``key``, ``key-MD5``; C{headers} with lower-case names), checked as
    AWS checks it; None when it sends none of them.

    @raise S3Error: C{InvalidEncryptionAlgorithmError} for an algorithm
        other than AES256; C{InvalidArgument} when one of the three is
        missing, the key is not 256 bits of base64, or its MD5 differs.
    """
    algorithm = headers.get(prefix + "algorithm")
    encoded = headers.get(prefix + "key")
    md5 = headers.get(prefix + "key-md5")
    if algorithm is None and encoded is None and md5 is None:
        return None
    if algorithm is None:
        raise _invalid(
            prefix + "algorithm",
            "Requests specifying Server Side Encryption with Customer provided "
            "keys must provide a valid encryption algorithm.",
        )
    if algorithm != SSE_C_ALGORITHM:
        raise S3Error.of(
            "InvalidEncryptionAlgorithmError",
            ArgumentName=prefix + "algorithm",
            ArgumentValue=algorithm,
        )
    if encoded is None:
        raise _invalid(
            prefix + "key",
            "Requests specifying Server Side Encryption with Customer provided "
            "keys must provide an appropriate secret key.",
        )
    if md5 is None:
        raise _invalid(
            prefix + "key-MD5",
            "Requests specifying Server Side Encryption with Customer provided "
            "keys must provide the client calculated MD5 of the secret key.",
        )
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise _invalid(
            prefix + "key", "The secret key was invalid for the specified algorithm."
        )
    try:
        sent_md5 = base64.b64decode(md5, validate=True)
    except (binascii.Error, ValueError):
        sent_md5 = b""
    if not hmac.compare_digest(sent_md5, hashlib.md5(key).digest()):
        raise _invalid(
            prefix + "key-MD5",
            "The calculated MD5 hash of the key did not match the hash that was "
            "provided.",
        )
    return key


def _invalid(name: str, message: str) -> S3Error:
    # The header's value is not echoed: it may be the secret key.
    return S3Error.of("InvalidArgument", message, ArgumentName=name)
