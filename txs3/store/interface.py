"""
The storage interface: one method per S3 operation, no HTTP.

Everything above C{txs3.store} talks to an L{IObjectStore}; nothing above it
knows SQL or file paths.  Two implementations honour the same contract
(C{tests/test_store_contract.py} runs one suite against both):

  - L{txs3.store.sqlite.SQLiteStore}: blob files named by internal ids plus
    a SQLite (WAL) index, both in the data directory;
  - L{txs3.store.memory.MemoryStore}: dictionaries, for handler tests.

Methods that commit (create/delete bucket, put/delete object) return
Deferreds: their blocking work (fsync, rename, index transaction) runs off
the reactor thread.  Point reads (L{IObjectStore.get_bucket},
L{IObjectStore.head_object}, L{IObjectStore.open_object}) are synchronous:
in WAL mode a reader never waits for a writer, and the GET path is latency
bound.  Errors are L{txs3.errors.S3Error} with S3's codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from twisted.internet.defer import Deferred
from zope.interface import Interface


@dataclass(frozen=True)
class BucketInfo:
    """A bucket: its name, owner (an owner id), creation time, region."""

    name: str
    owner_id: str
    created: float  # POSIX seconds
    region: str


@dataclass(frozen=True)
class ObjectMeta:
    """
    What a client sets on an object and gets back on GET and HEAD.

    @ivar headers: stored standard headers with lower-case names
        (content-type, content-encoding, content-disposition, cache-control,
        expires, content-language), in the order given.
    @ivar user_metadata: ``x-amz-meta-*`` headers, names lower-cased and
        without the prefix.
    @ivar checksums: S3 checksum algorithm name (``CRC32``, ``CRC32C``,
        ``SHA1``, ``SHA256``, ``CRC64NVME``) to its base64 value.
    """

    headers: tuple[tuple[str, str], ...] = ()
    user_metadata: tuple[tuple[str, str], ...] = ()
    checksums: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        """The stored value of standard header C{name} (lower case), if any."""
        for k, v in self.headers:
            if k == name:
                return v
        return None


@dataclass(frozen=True)
class ObjectInfo:
    """
    One stored object's index entry.

    @ivar etag: the hex MD5 of the bytes, without quotes.
    @ivar last_modified: POSIX seconds.
    @ivar blob: internal id of the blob holding the bytes; meaningful only to
        the store that produced it.
    """

    bucket: str
    key: str
    size: int
    etag: str
    last_modified: float
    meta: ObjectMeta = field(default_factory=ObjectMeta)
    owner_id: str = ""
    blob: str = ""


@dataclass(frozen=True)
class ListPage:
    """
    One page of a listing, in UTF-8 byte order of keys.

    @ivar contents: objects on this page.
    @ivar common_prefixes: rolled-up prefixes (each ends with the delimiter).
    @ivar is_truncated: whether more entries follow.
    @ivar next_marker: the last key or common prefix on the page, when
        truncated: the marker / start-after that continues the listing.
    @ivar rows_read: index rows the store read to build the page; proves that
        common prefixes are skipped over rather than scanned.
    """

    contents: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_marker: str | None
    rows_read: int = 0


class IStagingFile(Interface):
    """
    A private file in the data directory that receives one upload's bytes.

    It becomes an object only through L{IObjectStore.put_object}; otherwise
    L{IStagingFile.discard} removes it.
    """

    def write(data: bytes) -> None:
        """
        Append C{data}.  Raises L{S3Error} C{InsufficientStorage} if the disk
        is full, after discarding the file.
        """

    def size() -> int:
        """Bytes written so far."""

    def discard() -> None:
        """Delete the file.  Idempotent; a no-op once committed."""


class IObjectStore(Interface):
    """Buckets and objects, durable and atomic."""

    def create_bucket(name: str, owner_id: str, region: str) -> Deferred[BucketInfo]:
        """
        Create bucket C{name} owned by C{owner_id}.

        Fails with C{BucketAlreadyOwnedByYou} if C{owner_id} owns it already,
        C{BucketAlreadyExists} if someone else does.
        """

    def get_bucket(name: str) -> BucketInfo:
        """Return bucket C{name}; raise C{NoSuchBucket} if there is none."""

    def list_buckets(owner_id: str) -> list[BucketInfo]:
        """Buckets owned by C{owner_id}, sorted by name."""

    def delete_bucket(name: str) -> Deferred[None]:
        """
        Delete empty bucket C{name}; C{NoSuchBucket}, or C{BucketNotEmpty}
        when it still holds objects.
        """

    def open_staging() -> IStagingFile:
        """A new, empty staging file."""

    def put_object(
        bucket: str,
        key: str,
        staging: IStagingFile,
        etag: str,
        meta: ObjectMeta,
        owner_id: str,
    ) -> Deferred[ObjectInfo]:
        """
        Publish C{staging} as C{bucket}/C{key}, replacing any object there.

        Order: fsync the staging file, rename it into place, commit the index
        row, then free the replaced object's blob.  The Deferred fires only
        after the commit: a success means the bytes are on disk and indexed.
        On any failure the previous object is untouched and the staging file
        is gone.  C{NoSuchBucket} if the bucket vanished meanwhile.
        """

    def head_object(bucket: str, key: str) -> ObjectInfo:
        """The index entry of C{bucket}/C{key}; C{NoSuchBucket} / C{NoSuchKey}."""

    def open_object(bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        """
        The entry and an open binary file of its bytes, consistent with each
        other even if the object is replaced concurrently (the file stays
        readable after a replacement unlinks it).  The caller closes the
        file.  C{NoSuchBucket} / C{NoSuchKey}.
        """

    def delete_object(bucket: str, key: str) -> Deferred[bool]:
        """
        Remove C{bucket}/C{key}; fires with whether it existed.
        C{NoSuchBucket} if the bucket does not exist.
        """

    def delete_objects(bucket: str, keys: list[str]) -> Deferred[dict[str, bool]]:
        """
        Remove every key of C{keys} from C{bucket} in one commit; fires with
        each key mapped to whether it existed.  C{NoSuchBucket}; an invalid
        key fails the whole call (validate keys first).
        """

    def list_objects(
        bucket: str,
        prefix: str,
        delimiter: str,
        start_after: str,
        max_keys: int,
    ) -> Deferred[ListPage]:
        """
        List keys of C{bucket} greater than C{start_after} and starting with
        C{prefix}, at most C{max_keys} entries (objects plus common prefixes).

        With a non-empty C{delimiter}, keys with the delimiter after the
        prefix are rolled up into a common prefix, found by skipping ahead in
        the index past every key under it, not by reading them.  A
        C{start_after} that falls inside a common prefix resumes after the
        whole prefix when it equals that prefix (or lies under it: every
        entry returned, key or common prefix, is greater than
        C{start_after}).  C{max_keys} is clamped to 1000; 0 gives an empty,
        untruncated page.  C{NoSuchBucket}; C{InvalidArgument} for a
        negative C{max_keys}.  Exact rules: L{txs3.store.namespace}.
        """

    def close() -> Deferred[None]:
        """Finish pending work and release files and connections."""
