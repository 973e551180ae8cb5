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
L{IObjectStore.open_object}, L{IObjectStore.get_upload},
L{IObjectStore.get_completed_upload}) are synchronous:
in WAL mode a reader never waits for a writer, and the GET path is latency
bound.  Errors are L{txs3.errors.S3Error} with S3's codes.

The value types (L{ObjectInfo}, L{UploadInfo}, ...) live in
L{txs3.store.values} and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import BinaryIO

from twisted.internet.defer import Deferred
from zope.interface import Interface

from txs3.errors import S3Error
from txs3.store.candidates import (
    Candidate,
    CandidatesPage,
    UploadsBatch,
    VersionCursor,
)
from txs3.store.values import (
    COMPLETED_UPLOAD_TTL,
    NULL_VERSION,
    BucketInfo,
    CompletedUpload,
    Completion,
    Deleted,
    Deletion,
    Destination,
    ListPage,
    ListQuery,
    LockRetention,
    NewPart,
    NewUpload,
    ObjectInfo,
    ObjectMeta,
    PartInfo,
    PartsPage,
    Quota,
    QuotaState,
    SourceChanged,
    UploadInfo,
    UploadsPage,
    Usage,
    Versioning,
    VersionsPage,
    WriteCondition,
    new_version_id,
)

__all__ = [
    "COMPLETED_UPLOAD_TTL",
    "NULL_VERSION",
    "BucketInfo",
    "Candidate",
    "CandidatesPage",
    "CompletedUpload",
    "Completion",
    "Deleted",
    "Deletion",
    "Destination",
    "IObjectStore",
    "IStagingFile",
    "ListPage",
    "ListQuery",
    "LockRetention",
    "NewPart",
    "NewUpload",
    "ObjectInfo",
    "ObjectMeta",
    "PartInfo",
    "PartsPage",
    "Quota",
    "QuotaState",
    "SourceChanged",
    "UploadInfo",
    "UploadsBatch",
    "UploadsPage",
    "Usage",
    "VersionCursor",
    "Versioning",
    "VersionsPage",
    "WriteCondition",
    "new_version_id",
]


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

    def create_bucket(
        name: str,
        owner_id: str,
        region: str,
        settings: Mapping[str, str] | None = None,
    ) -> Deferred[BucketInfo]:
        """
        Create bucket C{name} owned by C{owner_id}, with C{settings} (as
        L{put_bucket_setting} sets them) in the same commit.

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
        dest: Destination, staging: IStagingFile, etag: str, meta: ObjectMeta
    ) -> Deferred[ObjectInfo]:
        """
        Publish C{staging} (whose bytes have the hex MD5 C{etag}) with
        metadata C{meta} as the object at C{dest}, replacing any object there.

        Order: fsync the staging file, rename it into place, commit the index
        row, then free the replaced object's blobs (those nothing else
        references any more).  The Deferred fires only after the commit: a
        success means the bytes are on disk and indexed.  On any failure the
        previous object is untouched and the staging file is gone.
        C{NoSuchBucket} if the bucket vanished meanwhile;
        C{ConditionalRequestConflict} if C{dest.condition} does not hold
        inside the commit transaction.
        """

    def head_object(bucket: str, key: str, version_id: str | None = None) -> ObjectInfo:
        """
        The index entry of C{bucket}/C{key}'s current version, or of version
        C{version_id}.  C{NoSuchBucket}; C{NoSuchKey} (with the header
        C{x-amz-delete-marker: true} when the newest version is a delete
        marker); C{NoSuchVersion}; C{MethodNotAllowed} (405) when
        C{version_id} names a delete marker.
        """

    def open_object(
        bucket: str, key: str, version_id: str | None = None
    ) -> tuple[ObjectInfo, BinaryIO]:
        """
        As L{head_object}, with the version's bytes:
        The entry and an open, seekable binary file of its bytes (across all
        of its extents), consistent with each other even if the object is
        replaced concurrently (the file stays readable after a replacement
        unlinks its blobs).  The caller closes the file.
        C{NoSuchBucket} / C{NoSuchKey}.
        """

    def copy_object(
        source: ObjectInfo, dest: Destination, meta: ObjectMeta
    ) -> Deferred[ObjectInfo]:
        """
        Make the object at C{dest} a copy of C{source} (an entry from
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
        dest: Destination,
        make_meta: Callable[[ObjectInfo], ObjectMeta],
        src_version_id: str | None = None,
    ) -> Deferred[ObjectInfo]:
        """
        Make the object at C{dest} a copy of whatever object C{src_bucket}/
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

        With C{src_version_id}, the source is that version of the key (an
        immutable one, so it never races).

        C{NoSuchBucket} (either bucket), C{NoSuchKey} (the source),
        C{NoSuchVersion}, C{ConditionalRequestConflict} as L{put_object}.
        """

    def create_multipart_upload(upload: NewUpload) -> Deferred[UploadInfo]:
        """
        Start C{upload}, with a new upload id; it is durable (in the index)
        and invisible to object listings.  C{NoSuchBucket};
        C{KeyTooLongError} / C{InvalidArgument} for a bad key.
        """

    def get_upload(bucket: str, key: str, upload_id: str) -> UploadInfo:
        """
        The upload C{upload_id} to C{bucket}/C{key}.  C{NoSuchBucket};
        C{NoSuchUpload} if there is none, or it is for another key.
        """

    def upload_part(part: NewPart, staging: IStagingFile) -> Deferred[PartInfo]:
        """
        Publish C{staging} as C{part}, replacing (and freeing) any part of
        the upload with that number.  Durable before it fires,
        like L{put_object}.  C{NoSuchUpload} if the upload is gone at
        commit (aborted or completed meanwhile); the staging file is gone
        after any failure.
        """

    def upload_part_copy(
        part: NewPart, source: ObjectInfo, offset: int, length: int
    ) -> Deferred[PartInfo]:
        """
        Make bytes C{offset} to C{offset + length} of C{source} the part
        C{part}, sharing the source's blobs.  The caller computed the
        part's ETag and checksums from those bytes (as read through
        L{open_object}).  L{SourceChanged}; C{NoSuchUpload}.
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
        bucket: str, query: ListQuery, upload_id_marker: str = ""
    ) -> Deferred[UploadsPage]:
        """
        Uploads in progress in C{bucket} in the order of L{UploadsPage},
        after the key marker C{query.marker} (and, for uploads of that key
        itself, with an upload id above C{upload_id_marker} when that is
        given), with prefix and delimiter rolled up as in L{list_objects};
        at most C{query.limit} entries, clamped to 1000.  C{NoSuchBucket}.
        """

    def complete_multipart_upload(done: Completion) -> Deferred[ObjectInfo]:
        """
        Publish the upload's C{done.parts} (part number and ETag, in the
        order given: the caller validated order and sizes) as the object
        C{done.bucket}/C{done.key} with ETag C{done.etag} and the upload's
        metadata plus C{done.checksums} and C{done.checksum_type}, in
        one index transaction that moves the parts' blob references to the
        object: no byte is read or written, whatever the size.  The upload
        and any parts not listed are removed (unlisted parts' blobs freed),
        and the replaced object's blobs are freed.  The same transaction
        records a L{CompletedUpload} (see L{get_completed_upload}).

        C{NoSuchUpload}; C{InvalidPart} if a listed part is missing or has
        another ETag at commit; C{ConditionalRequestConflict} if
        C{done.condition} does not hold, as L{put_object}.
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

    def delete_version(deletion: Deletion) -> Deferred[Deleted]:
        """
        Delete as S3's DeleteObject does under C{deletion.versioning}:

          - no version id, versioning never enabled: remove the object;
          - no version id, C{Enabled}: keep the current version as
            noncurrent and make a delete marker the newest version;
          - no version id, C{Suspended}: remove the C{null} version (current
            or not), keep any other current one as noncurrent, and make a
            C{null} delete marker the newest version;
          - a version id: remove that version (or delete marker) for good;
            if it was the newest, the next newest becomes current.

        A version that does not exist is no error (C{existed} false).
        C{NoSuchBucket}; whatever C{deletion.guard} raises.
        """

    def delete_versions(
        bucket: str, deletions: Sequence[Deletion]
    ) -> Deferred[list[Deleted | S3Error]]:
        """
        L{delete_version} for each of C{deletions} (all in C{bucket}), in
        one commit; a deletion its guard refuses is reported as the error
        it raised and changes nothing, the others go on.  C{NoSuchBucket}.
        """

    def list_object_versions(
        bucket: str, query: ListQuery, version_id_marker: str = ""
    ) -> Deferred[VersionsPage]:
        """
        One page of versions and delete markers, by key in byte order and
        newest first within a key, with L{list_objects}'s prefix, delimiter
        and paging rules over keys; C{query.marker} is the key marker, and
        with C{version_id_marker} the page starts after that version of
        the marker key.  It reads O(page) index rows.  C{NoSuchBucket}.
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

    def list_objects(bucket: str, query: ListQuery) -> Deferred[ListPage]:
        """
        List keys of C{bucket} greater than C{query.marker} (start-after)
        and starting with C{query.prefix}, at most C{query.limit} entries
        (objects plus common prefixes).

        With a non-empty C{query.delimiter}, keys with the delimiter after
        the prefix are rolled up into a common prefix, found by skipping
        ahead in the index past every key under it, not by reading them.  A
        marker that falls inside a common prefix resumes after the whole
        prefix when it equals that prefix (or lies under it: every entry
        returned, key or common prefix, is greater than the marker).  The
        limit is clamped to 1000; 0 gives an empty, untruncated page.
        C{NoSuchBucket}; C{InvalidArgument} for a negative limit.  Exact
        rules: L{txs3.store.namespace}.
        """

    def close() -> Deferred[None]:
        """Finish pending work and release files and connections."""

    # -- tagging ------------------------------------------------------------

    def put_object_tagging(
        bucket: str,
        key: str,
        tags: tuple[tuple[str, str], ...],
        version_id: str | None = None,
    ) -> Deferred[None]:
        """
        Replace the tags of C{bucket}/C{key} (of its version C{version_id},
        or the current one) (empty: remove them) in its index entry,
        leaving its bytes, ETag, version and Last-Modified as they are.
        C{NoSuchBucket} / C{NoSuchKey} / C{NoSuchVersion}.
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

    # -- access settings ----------------------------------------------------

    def get_bucket_settings(bucket: str) -> Mapping[str, str]:
        """
        The bucket's settings, name to value (text the store does not
        read): C{policy}, C{acl}, C{cors}, C{public-access-block},
        C{ownership}.  Empty for a new bucket, also one created again after
        a deletion.  C{NoSuchBucket}.
        """

    def put_bucket_setting(bucket: str, name: str, value: str | None) -> Deferred[None]:
        """
        Set (None: remove) the bucket's setting C{name}, bumping
        L{BucketInfo.serial} in the same commit.  C{NoSuchBucket}.
        """

    def put_object_acl(
        bucket: str, key: str, acl: str | None, version_id: str | None = None
    ) -> Deferred[None]:
        """
        Replace the ACL of C{bucket}/C{key} (L{ObjectMeta.acl}) in its
        index entry, as L{put_object_tagging} replaces tags.
        C{NoSuchBucket} / C{NoSuchKey} / C{NoSuchVersion}.
        """

    def put_object_lock(
        bucket: str,
        key: str,
        version_id: str | None,
        change: Callable[[ObjectMeta], tuple[LockRetention | None, bool | None]],
    ) -> Deferred[None]:
        """
        Replace the Object Lock of C{bucket}/C{key} (of its version
        C{version_id}, or the current one): C{change} is called inside the
        commit with the version's metadata as it is then, and returns its
        new retention and legal hold; everything else of the version stays
        as it is.  C{change} decides whether the change is allowed (the
        current retention may not be weakened without a bypass) and
        raises to refuse it, which then changes nothing; it must be quick
        and pure, as L{Deletion.guard}.

        C{NoSuchBucket} / C{NoSuchKey} / C{NoSuchVersion};
        C{MethodNotAllowed} for a delete marker; whatever C{change} raises.
        """

    # -- background passes --------------------------------------------------

    def buckets_with_setting(name: str) -> Deferred[list[BucketInfo]]:
        """
        Every bucket that has setting C{name} (L{put_bucket_setting}), by
        name, read off the reactor thread: the buckets a background pass
        has work in (C{lifecycle}).
        """

    def lifecycle_candidates(
        bucket: str, cursor: VersionCursor | None, limit: int
    ) -> Deferred[CandidatesPage]:
        """
        The next at most C{limit} (at least 1) versions of C{bucket} after
        C{cursor} (None: from the first key), by key in byte order and
        newest first within a key, each with what lifecycle rules weigh
        (L{Candidate}); the page's C{next} continues the walk, also in the
        middle of a key's history.  It reads O(limit) index rows, off the
        reactor thread.  Versions written or removed meanwhile may or may
        not be seen.  C{NoSuchBucket}.
        """

    def uploads_started_before(
        bucket: str, before: float, cursor: tuple[float, str] | None, limit: int
    ) -> Deferred[UploadsBatch]:
        """
        The next at most C{limit} multipart uploads in progress in
        C{bucket} initiated at or before C{before}, oldest first (then by
        upload id), after C{cursor} (a batch's C{next}; None: from the
        oldest).  O(limit) index rows, off the reactor thread.
        C{NoSuchBucket}.
        """

    def take_lease(name: str, holder: str, until: float) -> Deferred[bool]:
        """
        Take or renew lease C{name} for C{holder} until C{until} (POSIX
        seconds of the store's clock), in one commit: it fires True, and
        the lease is C{holder}'s until then, when nobody held it, its
        holder's time had run out (at or before now), or C{holder} held
        it already; otherwise False, and nothing changes.  Every process
        sharing the data directory sees the same holder: this is how one
        of them, and only one, runs a background pass.
        """

    # -- usage and quotas ---------------------------------------------------

    def quota_state(bucket: str) -> QuotaState:
        """
        The usage and quotas a write into C{bucket} is checked against,
        read now (C{txs3-admin quota} sets them; the index counts usage as
        rows change).  C{NoSuchBucket}.
        """
