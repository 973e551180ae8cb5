"""
The storage interface: one method per S3 operation, no HTTP.

Everything above C{txs3.store} talks to an L{IObjectStore}; nothing above it
knows SQL or file paths.  Two implementations honour the same contract
(C{tests/test_store_contract.py} runs one suite against both):

  - L{txs3.store.sqlite.SQLiteStore}: blob files named by internal ids plus
    a SQLite (WAL) index, both in the data directory;
  - L{txs3.store.memory.MemoryStore}: dictionaries, for handler tests.

Methods that commit (create/delete bucket, put/delete/copy object, the
multipart operations) return Deferreds: their blocking work (fsync, rename,
index transaction) runs off the reactor thread.  Point reads
(L{IObjectStore.get_bucket}, L{IObjectStore.head_object},
L{IObjectStore.open_object}, L{IObjectStore.get_upload}) are synchronous:
in WAL mode a reader never waits for a writer, and the GET path is latency
bound.  Errors are L{txs3.errors.S3Error} with S3's codes.
"""

from __future__ import annotations

from collections.abc import Callable
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
        ``SHA1``, ``SHA256``, ``CRC64NVME``) to its base64 value (with a
        ``-N`` suffix for a composite checksum of a multipart object).
    @ivar checksum_type: ``FULL_OBJECT`` or ``COMPOSITE`` (multipart
        objects whose checksum is a checksum of the parts' checksums).
    @ivar tags: the object's tag set (key, value), sorted by key; validated
        above the store (L{txs3.api.tagset}).  Part of the entry, so it is
        replaced with the object and deleted with it.
    """

    headers: tuple[tuple[str, str], ...] = ()
    user_metadata: tuple[tuple[str, str], ...] = ()
    checksums: tuple[tuple[str, str], ...] = ()
    checksum_type: str = "FULL_OBJECT"
    tags: tuple[tuple[str, str], ...] = ()

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
    @ivar blob: internal id of the blob holding the bytes of a single-blob
        object, empty for an object made of extents (multipart, or copied
        from one); meaningful only to the store that produced it.
    @ivar version: an id unique to this write of the object (put, copy or
        completion): two entries with the same version have the same bytes.
        The copy operations use it to detect a source replaced meanwhile.
    @ivar parts: for an object completed from a multipart upload, the size
        of each of its parts, in order (GET/HEAD ``?partNumber=N``); empty
        otherwise.  Filled by L{IObjectStore.head_object} and
        L{IObjectStore.open_object}; listings leave it empty.
    """

    bucket: str
    key: str
    size: int
    etag: str
    last_modified: float
    meta: ObjectMeta = field(default_factory=ObjectMeta)
    owner_id: str = ""
    blob: str = ""
    version: str = ""
    parts: tuple[int, ...] = ()


@dataclass(frozen=True)
class WriteCondition:
    """
    A conditional write (S3 "conditional writes"): the write happens only if
    the object at the target key is as described when the write commits.

    @ivar if_match: an ``If-Match`` header value: the current object's ETag
        must be listed (quotes optional; ``*`` matches any existing object).
    @ivar if_none_match: ``If-None-Match: *``: there must be no object.
    """

    if_match: str | None = None
    if_none_match: bool = False

    def holds(self, current_etag: str | None) -> bool:
        """Whether the condition holds when the current object has
        C{current_etag} (None: there is no object)."""
        if self.if_none_match and current_etag is not None:
            return False
        if self.if_match is not None:
            if current_etag is None:
                return False
            tags = [
                t.strip().removeprefix("W/").strip('"')
                for t in self.if_match.split(",")
            ]
            if "*" not in tags and current_etag not in tags:
                return False
        return True


class SourceChanged(Exception):
    """
    The source of a copy was replaced or deleted after the caller read it
    (its L{ObjectInfo.version} no longer matches): read it again, re-check
    any copy-source conditions, and retry.
    """


@dataclass(frozen=True)
class UploadInfo:
    """
    A multipart upload in progress.

    @ivar initiated: POSIX seconds.
    @ivar meta: the object metadata given at creation (headers, user
        metadata); the checksums are filled in on completion.
    @ivar checksum_algorithm: the algorithm every part must carry
        (``x-amz-checksum-algorithm``), or None.
    @ivar checksum_type: ``COMPOSITE`` or ``FULL_OBJECT`` when an algorithm
        was given, else None.
    """

    upload_id: str
    bucket: str
    key: str
    initiated: float
    owner_id: str
    meta: ObjectMeta = field(default_factory=ObjectMeta)
    checksum_algorithm: str | None = None
    checksum_type: str | None = None


@dataclass(frozen=True)
class CompletedUpload:
    """
    The record of a completed multipart upload, kept for
    L{COMPLETED_UPLOAD_TTL} seconds so that a retried
    CompleteMultipartUpload (clients retry it on a timeout) is answered as
    the first one was.

    @ivar parts: the part numbers and ETags (no quotes) it was completed
        with, in order.
    @ivar etag: the ETag of the object it produced (no quotes).
    @ivar version: that object's L{ObjectInfo.version}.
    @ivar completed: POSIX seconds of the completion.
    @ivar checksums: the object's checksums, as the completion answered.
    @ivar checksum_algorithm: the upload's algorithm, or None.
    """

    upload_id: str
    bucket: str
    key: str
    parts: tuple[tuple[int, str], ...]
    etag: str
    version: str
    completed: float
    checksums: tuple[tuple[str, str], ...] = ()
    checksum_type: str = "FULL_OBJECT"
    checksum_algorithm: str | None = None


#: Seconds a L{CompletedUpload} record is kept after the completion.
COMPLETED_UPLOAD_TTL = 3 * 24 * 3600.0


@dataclass(frozen=True)
class PartInfo:
    """
    One uploaded part: number, size, ETag (hex MD5 of its bytes, no
    quotes), time, and checksums (algorithm to base64 value).
    """

    part_number: int
    size: int
    etag: str
    last_modified: float
    checksums: tuple[tuple[str, str], ...] = ()

    def checksum(self, algorithm: str) -> str | None:
        """The part's C{algorithm} checksum, if it was computed."""
        for alg, value in self.checksums:
            if alg == algorithm:
                return value
        return None


@dataclass(frozen=True)
class PartsPage:
    """
    One page of an upload's parts, in part-number order.

    @ivar next_marker: the last part number on the page, when truncated.
    """

    upload: UploadInfo
    parts: list[PartInfo]
    is_truncated: bool
    next_marker: int | None


@dataclass(frozen=True)
class UploadsPage:
    """
    One page of a bucket's uploads in progress, ordered by key (UTF-8 byte
    order), then by upload id (which orders uploads of one key by
    initiation time).

    @ivar next_key_marker: the last key or common prefix on a truncated page.
    @ivar next_upload_id_marker: the last upload id on a truncated page whose
        last entry is an upload.
    """

    uploads: list[UploadInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_upload_id_marker: str | None


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
        when it still holds objects.  Multipart uploads in progress do not
        keep a bucket from being deleted (as in AWS): they are aborted with
        it and their parts freed.
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
        condition: WriteCondition | None = None,
    ) -> Deferred[ObjectInfo]:
        """
        Publish C{staging} as C{bucket}/C{key}, replacing any object there.

        Order: fsync the staging file, rename it into place, commit the index
        row, then free the replaced object's blobs (those nothing else
        references any more).  The Deferred fires only after the commit: a
        success means the bytes are on disk and indexed.  On any failure the
        previous object is untouched and the staging file is gone.
        C{NoSuchBucket} if the bucket vanished meanwhile;
        C{ConditionalRequestConflict} if C{condition} does not hold inside
        the commit transaction.
        """

    def head_object(bucket: str, key: str) -> ObjectInfo:
        """The index entry of C{bucket}/C{key}; C{NoSuchBucket} / C{NoSuchKey}."""

    def open_object(bucket: str, key: str) -> tuple[ObjectInfo, BinaryIO]:
        """
        The entry and an open, seekable binary file of its bytes (across all
        of its extents), consistent with each other even if the object is
        replaced concurrently (the file stays readable after a replacement
        unlinks its blobs).  The caller closes the file.
        C{NoSuchBucket} / C{NoSuchKey}.
        """

    def copy_object(
        source: ObjectInfo,
        bucket: str,
        key: str,
        meta: ObjectMeta,
        owner_id: str,
        condition: WriteCondition | None = None,
    ) -> Deferred[ObjectInfo]:
        """
        Make C{bucket}/C{key} a copy of C{source} (an entry from
        L{head_object} or L{open_object}) with metadata C{meta}, replacing
        any object there, without copying bytes: the new entry shares the
        source's immutable blobs.  Same size and ETag as the source.  Copying
        an object onto itself is allowed (a metadata change).

        Fails with L{SourceChanged} if the source is no longer the version
        C{source} describes, C{NoSuchBucket} for a missing destination
        bucket, C{ConditionalRequestConflict} as L{put_object}.
        """

    def copy_current_object(
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        make_meta: Callable[[ObjectInfo], ObjectMeta],
        owner_id: str,
        condition: WriteCondition | None = None,
    ) -> Deferred[ObjectInfo]:
        """
        Make C{bucket}/C{key} a copy of whatever object C{src_bucket}/
        C{src_key} is when the copy commits: one index transaction reads
        the source's entry and makes the destination name its immutable
        blobs, so a concurrent overwrite of the source is never seen
        half-way and never makes the copy fail (no L{SourceChanged}, no
        retry).  Same size and ETag as that source; onto itself allowed.

        C{make_meta} is called once, inside the transaction, with the
        source's entry: it returns the destination's metadata, or raises
        (an L{S3Error} such as C{PreconditionFailed} for copy-source
        conditions) to refuse the copy, which then changes nothing.  It
        may run in the store's writer thread: it must be quick and pure (no
        I/O, no reactor).

        C{NoSuchBucket} (either bucket), C{NoSuchKey} (the source),
        C{ConditionalRequestConflict} as L{put_object}.
        """

    def create_multipart_upload(
        bucket: str,
        key: str,
        meta: ObjectMeta,
        owner_id: str,
        checksum_algorithm: str | None = None,
        checksum_type: str | None = None,
    ) -> Deferred[UploadInfo]:
        """
        Start a multipart upload to C{bucket}/C{key}; it is durable (in the
        index) and invisible to object listings.  C{NoSuchBucket};
        C{KeyTooLongError} / C{InvalidArgument} for a bad key.
        """

    def get_upload(bucket: str, key: str, upload_id: str) -> UploadInfo:
        """
        The upload C{upload_id} to C{bucket}/C{key}.  C{NoSuchBucket};
        C{NoSuchUpload} if there is none, or it is for another key.
        """

    def upload_part(
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        staging: IStagingFile,
        etag: str,
        checksums: tuple[tuple[str, str], ...],
    ) -> Deferred[PartInfo]:
        """
        Publish C{staging} as part C{part_number} of the upload, replacing
        (and freeing) any part with that number.  Durable before it fires,
        like L{put_object}.  C{NoSuchUpload} if the upload is gone at
        commit (aborted or completed meanwhile); the staging file is gone
        after any failure.
        """

    def upload_part_copy(
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        source: ObjectInfo,
        offset: int,
        length: int,
        etag: str,
        checksums: tuple[tuple[str, str], ...],
    ) -> Deferred[PartInfo]:
        """
        Make bytes C{offset} to C{offset + length} of C{source} part
        C{part_number} of the upload, sharing the source's blobs.  The
        caller computed C{etag} and C{checksums} from those bytes (as read
        through L{open_object}).  L{SourceChanged}; C{NoSuchUpload}.
        """

    def list_parts(
        bucket: str,
        key: str,
        upload_id: str,
        part_number_marker: int,
        max_parts: int,
    ) -> Deferred[PartsPage]:
        """
        Parts of the upload numbered above C{part_number_marker}, at most
        C{max_parts} (no clamping here), with the upload itself.
        C{NoSuchBucket}; C{NoSuchUpload}.
        """

    def list_multipart_uploads(
        bucket: str,
        prefix: str,
        delimiter: str,
        key_marker: str,
        upload_id_marker: str,
        max_uploads: int,
    ) -> Deferred[UploadsPage]:
        """
        Uploads in progress in C{bucket} in the order of L{UploadsPage},
        after C{key_marker} (and, for uploads of C{key_marker} itself, with
        an upload id above C{upload_id_marker} when that is given), with
        prefix and delimiter rolled up as in L{list_objects}; at most
        C{max_uploads} entries, clamped to 1000.  C{NoSuchBucket}.
        """

    def complete_multipart_upload(
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[tuple[int, str]],
        etag: str,
        checksums: tuple[tuple[str, str], ...],
        checksum_type: str,
        condition: WriteCondition | None = None,
    ) -> Deferred[ObjectInfo]:
        """
        Publish the upload's C{parts} (part number and ETag, in the order
        given: the caller validated order and sizes) as C{bucket}/C{key}
        with ETag C{etag} and the upload's metadata plus C{checksums}, in
        one index transaction that moves the parts' blob references to the
        object: no byte is read or written, whatever the size.  The upload
        and any parts not listed are removed (unlisted parts' blobs freed),
        and the replaced object's blobs are freed.  The same transaction
        records a L{CompletedUpload} (see L{get_completed_upload}).

        C{NoSuchUpload}; C{InvalidPart} if a listed part is missing or has
        another ETag at commit; C{ConditionalRequestConflict} as
        L{put_object}.
        """

    def get_completed_upload(bucket: str, key: str, upload_id: str) -> CompletedUpload:
        """
        The record of upload C{upload_id} to C{bucket}/C{key}, completed
        less than L{COMPLETED_UPLOAD_TTL} seconds ago (older records may be
        purged by the store's sweep).  A point read, like L{get_upload}.
        C{NoSuchBucket}; C{NoSuchUpload} if there is no such record (never
        completed, aborted, purged, or for another key).
        """

    def abort_multipart_upload(bucket: str, key: str, upload_id: str) -> Deferred[None]:
        """Remove the upload and free its parts' blobs.  C{NoSuchUpload}."""

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

    # -- tagging ------------------------------------------------------------

    def put_object_tagging(
        bucket: str, key: str, tags: tuple[tuple[str, str], ...]
    ) -> Deferred[None]:
        """
        Replace the tags of C{bucket}/C{key} (empty: remove them) in its
        index entry, leaving its bytes, ETag, version and Last-Modified as
        they are.  C{NoSuchBucket} / C{NoSuchKey}.
        """

    def get_bucket_tagging(bucket: str) -> tuple[tuple[str, str], ...]:
        """
        The bucket's tag set, empty when it has none (also after the bucket
        was deleted and created again).  C{NoSuchBucket}.
        """

    def put_bucket_tagging(
        bucket: str, tags: tuple[tuple[str, str], ...]
    ) -> Deferred[None]:
        """Replace the bucket's tag set (empty: remove it).  C{NoSuchBucket}."""
