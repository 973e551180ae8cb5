"""
The values the storage interface (L{txs3.store.interface}) takes and
returns: buckets, objects and their metadata, uploads and parts, listing
pages, write conditions, and the parameter objects of the longer
operations (L{Destination}, L{ListQuery}, L{NewUpload}, L{NewPart},
L{Completion}).  Frozen
dataclasses, no behaviour beyond small pure helpers.
L{txs3.store.interface} re-exports every name, so callers import them from
there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from txs3.store.versionid import NULL_VERSION as NULL_VERSION
from txs3.store.versionid import VERSION_IDS

#: A bucket's versioning as the store applies it to a write or delete:
#: C{""} for a bucket whose versioning was never enabled (one version per
#: key, replaced in place), C{"Enabled"} or C{"Suspended"} (S3's rules for
#: the C{null} version).
Versioning = Literal["", "Enabled", "Suspended"]


@dataclass(frozen=True)
class BucketInfo:
    """
    A bucket: its name, owner (an owner id), creation time, region.

    @ivar serial: bumped by every change of the bucket's settings
        (L{IObjectStore.put_bucket_setting}); with C{created}, it tells a
        cache of the settings whether it is stale, in any process.
    """

    name: str
    owner_id: str
    created: float  # POSIX seconds
    region: str
    serial: int = 0


@dataclass(frozen=True)
class LockRetention:
    """
    An Object Lock retention as the store keeps it with a version: a mode
    (C{GOVERNANCE} or C{COMPLIANCE}, checked above the store) and a
    retain-until date, POSIX seconds.  What it forbids is decided above
    the store (L{txs3.versionlock}), inside the commit, through
    L{Deletion.guard}.
    """

    mode: str
    until: float

    def active(self, now: float) -> bool:
        """Whether it still protects its version at C{now} (until is exclusive)."""
        return now < self.until


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
    @ivar acl: the object's ACL grants, encoded by L{txs3.authz.acl}
        (opaque to the store); None for the default (its owner has full
        control).  Part of the entry, like the tags.
    @ivar retention: the version's Object Lock retention, or None.
    @ivar legal_hold: the version's legal hold (None: never placed).  Like
        the retention, it belongs to the version: set when it is written
        or by PutObjectRetention / PutObjectLegalHold
        (L{IObjectStore.put_object_lock}), never copied by CopyObject.
    @ivar damaged: set by C{txs3-admin fsck --repair} when the bytes on
        disk no longer match the entry: reads answer 500, never wrong bytes.
    """

    headers: tuple[tuple[str, str], ...] = ()
    user_metadata: tuple[tuple[str, str], ...] = ()
    checksums: tuple[tuple[str, str], ...] = ()
    checksum_type: str = "FULL_OBJECT"
    tags: tuple[tuple[str, str], ...] = ()
    acl: str | None = None
    retention: LockRetention | None = None
    legal_hold: bool | None = None
    damaged: bool = False

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
    @ivar version_id: S3's version id (C{x-amz-version-id}): C{"null"}
        unless written while the bucket's versioning was enabled.
    @ivar delete_marker: whether this is a delete marker (version listings
        and deletions only; it has no bytes).
    @ivar is_latest: whether this is the key's newest version (always, but
        in version listings).
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
    version_id: str = NULL_VERSION
    delete_marker: bool = False
    is_latest: bool = True


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


@dataclass(frozen=True)
class Destination:
    """
    Where a write (L{IObjectStore.put_object}, L{IObjectStore.copy_object},
    L{IObjectStore.copy_current_object}) puts an object: C{bucket}/C{key},
    owned by C{owner_id}, replacing any object there only if C{condition}
    (when given) holds inside the commit.  Under C{versioning} the object
    it replaces is kept as a noncurrent version (S3's rules; see
    L{Versioning}).
    """

    bucket: str
    key: str
    owner_id: str
    condition: WriteCondition | None = None
    versioning: Versioning = ""

    def entry(
        self,
        *,
        size: int,
        etag: str,
        meta: ObjectMeta,
        last_modified: float,
        version: str,
        blob: str = "",
        parts: tuple[int, ...] = (),
    ) -> ObjectInfo:
        """The index entry of the object written here with these values."""
        return ObjectInfo(
            bucket=self.bucket,
            key=self.key,
            size=size,
            etag=etag,
            last_modified=last_modified,
            meta=meta,
            owner_id=self.owner_id,
            blob=blob,
            version=version,
            parts=parts,
            version_id=new_version_id(self.versioning),
        )


@dataclass(frozen=True)
class ListQuery:
    """
    What a listing asks for (L{IObjectStore.list_objects},
    L{IObjectStore.list_multipart_uploads}): keys starting with C{prefix},
    rolled up at C{delimiter} when it is not empty, after C{marker} (the
    start-after or key marker), at most C{limit} entries.
    """

    prefix: str = ""
    delimiter: str = ""
    marker: str = ""
    limit: int = 1000


@dataclass(frozen=True)
class NewUpload:
    """
    A multipart upload to C{bucket}/C{key} as
    L{IObjectStore.create_multipart_upload} starts it: the object metadata
    C{meta} it will complete with, its owner, and the checksum algorithm
    and type every part must carry (None: none required).
    """

    bucket: str
    key: str
    meta: ObjectMeta
    owner_id: str
    checksum_algorithm: str | None = None
    checksum_type: str | None = None

    def info(self, upload_id: str, initiated: float) -> UploadInfo:
        """The L{UploadInfo} of this upload, started as C{upload_id}."""
        return UploadInfo(
            upload_id=upload_id,
            bucket=self.bucket,
            key=self.key,
            initiated=initiated,
            owner_id=self.owner_id,
            meta=self.meta,
            checksum_algorithm=self.checksum_algorithm,
            checksum_type=self.checksum_type,
        )


@dataclass(frozen=True)
class NewPart:
    """
    Part C{part_number} of upload C{upload_id} to C{bucket}/C{key}, as
    L{IObjectStore.upload_part} and L{IObjectStore.upload_part_copy} store
    it: the caller computed C{etag} (hex MD5, no quotes) and C{checksums}
    (algorithm to base64 value) from its bytes.
    """

    bucket: str
    key: str
    upload_id: str
    part_number: int
    etag: str
    checksums: tuple[tuple[str, str], ...] = ()

    def info(self, size: int, last_modified: float) -> PartInfo:
        """The L{PartInfo} of this part once stored with C{size} bytes."""
        return PartInfo(
            self.part_number, size, self.etag, last_modified, self.checksums
        )


@dataclass(frozen=True)
class Completion:
    """
    A CompleteMultipartUpload as L{IObjectStore.complete_multipart_upload}
    takes it: publish upload C{upload_id} to C{bucket}/C{key} from C{parts}
    (part number and ETag, in order) as an object with ETag C{etag},
    checksums C{checksums} of type C{checksum_type}, if C{condition} (when
    given) holds.

    @ivar retention: the bucket's default retention from the completion
        on, for an upload that asked for none (the version is created by
        the completion, so its default period starts then).
    """

    bucket: str
    key: str
    upload_id: str
    parts: Sequence[tuple[int, str]]
    etag: str
    checksums: tuple[tuple[str, str], ...] = ()
    checksum_type: str = "FULL_OBJECT"
    condition: WriteCondition | None = None
    versioning: Versioning = ""
    retention: LockRetention | None = None


def new_version_id(versioning: Versioning) -> str:
    """The S3 version id of a version written under C{versioning}."""
    return VERSION_IDS.new() if versioning == "Enabled" else NULL_VERSION


@dataclass(frozen=True)
class Deletion:
    """
    What L{IObjectStore.delete_version} removes: C{bucket}/C{key}'s
    current version (C{version_id} None), which under C{versioning} leaves
    a delete marker, or version C{version_id} for good.

    @ivar guard: called inside the commit with each version about to be
        removed for good; it raises (an L{S3Error} such as C{AccessDenied}
        for a locked version) to refuse the deletion, which then changes
        nothing.  It must be quick and pure, as C{make_meta} of
        L{IObjectStore.copy_current_object}.
    @ivar expected: the version the caller decided on (a background pass
        that read it earlier): the deletion acts only if the version it
        would act on (version C{version_id}, or the key's current version)
        is still that write (L{txs3.store.rules.same_version}), and
        otherwise changes nothing and raises C{ConditionalRequestConflict}.
    """

    bucket: str
    key: str
    versioning: Versioning = ""
    version_id: str | None = None
    guard: Callable[[ObjectInfo], None] | None = None
    expected: ObjectInfo | None = None


@dataclass(frozen=True)
class Deleted:
    """
    What a deletion did: C{existed} whether it removed or hid anything;
    C{version_id} the version removed, or of the delete marker it wrote;
    C{delete_marker} whether that version is a delete marker.
    """

    existed: bool
    version_id: str | None = None
    delete_marker: bool = False


@dataclass(frozen=True)
class VersionsPage:
    """
    One page of ListObjectVersions: versions and delete markers, by key,
    newest first within a key.

    @ivar next_key_marker: the last key or common prefix of a truncated page.
    @ivar next_version_id_marker: the last version's id, when a truncated
        page ends with a version.
    """

    versions: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_version_id_marker: str | None
    rows_read: int = 0


@dataclass(frozen=True)
class Usage:
    """Stored versions (current and noncurrent) and their bytes."""

    objects: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class Quota:
    """A limit set with C{txs3-admin quota set}; None: no limit of that kind."""

    max_bytes: int | None = None
    max_objects: int | None = None


@dataclass(frozen=True)
class QuotaState:
    """
    What a write into a bucket may add (L{IObjectStore.quota_state}): the
    bucket's usage and quota, and its owner's (a C{txs3-admin} user: all of
    its buckets together), when it has one.
    """

    bucket: str
    usage: Usage = Usage()
    quota: Quota | None = None
    owner: str | None = None
    owner_usage: Usage = Usage()
    owner_quota: Quota | None = None

    def refusal(self, size: int, objects: int = 1) -> str | None:
        """
        Why adding C{objects} objects of C{size} bytes in all would pass a
        quota, naming the limit; None when it would not.
        """
        for what, usage, quota in (
            (f"bucket {self.bucket}", self.usage, self.quota),
            (f"user {self.owner}", self.owner_usage, self.owner_quota),
        ):
            if quota is None:
                continue
            if quota.max_bytes is not None and usage.bytes + size > quota.max_bytes:
                return (
                    f"The quota of {what} is {quota.max_bytes} bytes; it holds"
                    f" {usage.bytes} and this write adds {size}."
                )
            if quota.max_objects is not None and (
                usage.objects + objects > quota.max_objects
            ):
                return (
                    f"The quota of {what} is {quota.max_objects} objects; it holds"
                    f" {usage.objects}."
                )
        return None
