"""
The server's own keys: the SSE-S3 master key and the SSE-KMS key ring, txs3
being its own KMS.

Both live in files the operator owns (mode 0600), written atomically
(a temporary file, fsync, rename, directory fsync), so a crash leaves the
old file or the new one.  They are read at start and on change; requests
never touch the disk for them.

A KMS key is named as AWS names one: its id (a UUID), ``alias/NAME``, or
an ARN (``arn:aws:kms:REGION:ACCOUNT:key/ID`` or ``…:alias/NAME``).  The
key ``aws/s3`` is the one AWS uses for ``aws:kms`` without a key id; txs3
creates it on first use, as AWS does.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from txs3.crypto.packages import KEY_BYTES
from txs3.errors import S3Error
from txs3.files import write_atomically

DEFAULT_ALIAS = "aws/s3"
_ALIAS = re.compile(r"^[a-zA-Z0-9/_-]{1,256}$")
_ARN = re.compile(r"^arn:aws:kms:[^:]*:[^:]*:(key/.+|alias/.+)$")


class KeyFileError(Exception):
    """A key file is unreadable or malformed: one line that says which and why."""


def load_master_key(path: Path, create: bool = True) -> bytes:
    """
    The SSE-S3 master key in C{path} (32 bytes, base64 on one line), made
    on first use when C{create}.

    @raise KeyFileError: if the file is missing (and not C{create}),
        unreadable, not 32 bytes of base64, or readable by others.
    """
    if not path.exists():
        if not create:
            raise KeyFileError(f"{path}: no master key file")
        write_atomically(path, base64.b64encode(os.urandom(KEY_BYTES)) + b"\n")
    try:
        mode = path.stat().st_mode
        text = path.read_bytes().strip()
    except OSError as e:
        raise KeyFileError(f"{path}: cannot read the master key: {e.strerror}") from e
    if mode & 0o077:
        raise KeyFileError(
            f"{path}: the master key is readable by others; chmod 600 {path}"
        )
    try:
        key = base64.b64decode(text, validate=True)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"{path}: a master key is 32 bytes in base64 on one line")
    return key


@dataclass(frozen=True)
class KmsKey:
    """One key of the ring: its id, its alias (if any) and its material."""

    key_id: str
    alias: str | None
    material: bytes
    created: float

    def arn(self, region: str, account: str) -> str:
        return f"arn:aws:kms:{region}:{account}:key/{self.key_id}"

    def __repr__(self) -> str:
        return f"KmsKey({self.key_id!r}, alias={self.alias!r})"


class KeyRing:
    """
    The KMS keys in one JSON file (mode 0600):
    ``{"keys": [{"id", "alias", "material" (base64), "created"}]}``.
    """

    def __init__(self, path: Path, keys: Mapping[str, KmsKey]) -> None:
        self.path = path
        self._keys = dict(keys)

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        """
        The ring in C{path}; empty when there is no file yet.

        @raise KeyFileError: if the file is unreadable or malformed.
        """
        if not path.exists():
            return cls(path, {})
        try:
            document = json.loads(path.read_bytes())
            keys = {
                entry["id"]: KmsKey(
                    entry["id"],
                    entry.get("alias"),
                    base64.b64decode(entry["material"], validate=True),
                    float(entry["created"]),
                )
                for entry in document["keys"]
            }
        except OSError as e:
            raise KeyFileError(f"{path}: cannot read the key ring: {e.strerror}") from e
        except (ValueError, KeyError, TypeError) as e:
            raise KeyFileError(f"{path}: not a txs3 key ring ({e})") from e
        if any(len(key.material) != KEY_BYTES for key in keys.values()):
            raise KeyFileError(f"{path}: a key is not 32 bytes")
        return cls(path, keys)

    def keys(self) -> list[KmsKey]:
        return sorted(self._keys.values(), key=lambda key: key.created)

    def create_key(self, alias: str | None = None) -> KmsKey:
        """
        Add a new random key (with C{alias}, without its ``alias/``
        prefix), and save the ring.

        @raise ValueError: if the alias is malformed or taken.
        """
        if alias is not None:
            alias = alias.removeprefix("alias/")
            if not _ALIAS.match(alias):
                raise ValueError(f"{alias!r}: an alias is letters, digits, / _ and -")
            if self._by_alias(alias) is not None:
                raise ValueError(f"alias/{alias} already names a key")
        key = KmsKey(str(uuid.uuid4()), alias, os.urandom(KEY_BYTES), time.time())
        self._keys[key.key_id] = key
        self._save()
        return key

    def resolve(self, name: str | None) -> KmsKey:
        """
        The key C{name} names (id, ``alias/NAME`` or an ARN of either); for
        None, the ``aws/s3`` key, created on first use.

        @raise S3Error: C{KMS.NotFoundException} when no key has that name.
        """
        if name is None:
            return self._by_alias(DEFAULT_ALIAS) or self.create_key(DEFAULT_ALIAS)
        target = name
        match = _ARN.match(name)
        if match:
            target = match.group(1).removeprefix("key/")
        key = (
            self._by_alias(target.removeprefix("alias/"))
            if target.startswith("alias/")
            else self._keys.get(target)
        )
        if key is None:
            raise S3Error.of("KMS.NotFoundException", f"Key '{name}' does not exist")
        return key

    def _by_alias(self, alias: str) -> KmsKey | None:
        for key in self._keys.values():
            if key.alias == alias:
                return key
        return None

    def _save(self) -> None:
        document = {
            "keys": [
                {
                    "id": key.key_id,
                    "alias": key.alias,
                    "material": base64.b64encode(key.material).decode(),
                    "created": key.created,
                }
                for key in self.keys()
            ]
        }
        write_atomically(self.path, json.dumps(document, indent=1).encode() + b"\n")
