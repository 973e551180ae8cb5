"""
Version ids.

The contract, which is all a client or the store may rely on:

  - an id is 32 characters of RFC 4648 "base32hex" (C{0-9}, C{A-V}):
    URL-safe, needs no escaping in a query or in XML, and cannot be
    mistaken for the C{null} version;
  - ids are unique: 96 random bits in each, so ids made by different
    processes (worker processes share one index) do not collide;
  - within one L{VersionIds}, ids compare as strings in the order they
    were made, even if the clock steps back, because the time part is
    kept strictly increasing.  Across processes they are ordered by clock
    only.  A listing that wants newest first reads them descending.  The
    C{null} version has no place in this order: the store keeps its own
    creation order for it;
  - ids are opaque: clients get no meaning from them, and txs3 reads none
    back except through L{is_version_id}.

The layout (20 bytes, encoded without padding): 8 bytes of big-endian
microseconds since the epoch, then 12 random bytes.  Base32hex keeps byte
order in string order, which is why it is used and not base64url.
"""

from __future__ import annotations

import base64
import os
import re
import threading
import time
from collections.abc import Callable

NULL_VERSION = "null"

_VERSION_ID = re.compile(r"[0-9A-V]{32}")


class VersionIds:
    """
    A source of version ids (see the module docstring for the contract).

    @param clock: POSIX seconds now; the store's injected clock.
    @param entropy: C{n} -> C{n} random bytes; tests pass a fixed one.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        entropy: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._clock = clock
        self._entropy = entropy
        self._last = -1
        # The store's writer thread and the reactor may both ask.
        self._lock = threading.Lock()

    def new(self) -> str:
        """A fresh version id, later (as a string) than any this one made."""
        with self._lock:
            micros = max(int(self._clock() * 1_000_000), self._last + 1)
            self._last = micros
        raw = micros.to_bytes(8, "big") + self._entropy(12)
        return base64.b32hexencode(raw).decode("ascii")


def is_version_id(value: str) -> bool:
    """
    Whether C{value} could name a version: C{null}, or an id of this form.
    A C{versionId} that is neither is S3's C{InvalidArgument} "Invalid
    version id specified" (C{ArgumentName} C{versionId}), not C{NoSuchVersion}.
    """
    return value == NULL_VERSION or _VERSION_ID.fullmatch(value) is not None


def created_micros(version_id: str) -> int:
    """
    The creation time (microseconds since the epoch) recorded in an id
    this module made; for tests and diagnostics, not for clients.

    @raise ValueError: if C{version_id} is not such an id.
    """
    if _VERSION_ID.fullmatch(version_id) is None:
        raise ValueError(f"not a version id: {version_id!r}")
    return int.from_bytes(base64.b32hexdecode(version_id)[:8], "big")


#: The process's source of version ids (the store's writes take theirs
#: from it, so they are ordered within the process).
VERSION_IDS = VersionIds()
