"""
The S3 key namespace: key validation, byte order, and the listing walk.

Keys are compared as UTF-8 bytes, which is the order S3 lists in (for valid
UTF-8 it equals code point order, but not UTF-16 order: U+E000 sorts before
U+10000).  Both stores list with L{list_page} over their own ordered index,
so the semantics below are defined once:

  - The listing is a sequence of I{entries} in byte order: a key whose
    remainder after C{prefix} contains no C{delimiter} is an entry by
    itself; every key that does contain it is rolled up into the common
    prefix C{P = prefix + remainder[:i] + delimiter} (C{i} the first
    occurrence), and C{P} is one entry, placed in the order at C{P} itself
    (every key under C{P} sorts at or after C{P}).
  - Only entries strictly greater than C{start_after} are returned.  So a
    C{start_after} equal to a common prefix skips that whole prefix (what a
    client paging with C{NextMarker} needs), and a C{start_after} that falls
    I{inside} a common prefix skips it too: the prefix sorts before the
    marker, so it was on an earlier page.
  - C{max_keys} bounds entries (objects plus common prefixes) and is clamped
    to 1000.  C{max_keys=0} returns an empty page with C{is_truncated}
    false and reads nothing, as AWS does.
  - Common prefixes are found by skipping ahead: after emitting C{P} the
    walk re-seeks at the smallest byte string greater than every string
    starting with C{P} (L{successor}), so a prefix costs one row, however
    many keys it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from txs3.errors import S3Error
from txs3.store.interface import (
    ListPage,
    ListQuery,
    ObjectInfo,
    UploadInfo,
    UploadsPage,
    VersionsPage,
)

MAX_KEY_BYTES = 1024
MAX_KEYS = 1000

T = TypeVar("T")

Scan = Callable[[bytes, bool, "bytes | None", int], Iterator[tuple[bytes, T]]]
"""
C{scan(lo, inclusive, hi, limit)}: index rows of one bucket with
C{lo <= key} (C{lo < key} when not C{inclusive}) and C{key < hi} (no upper
bound when C{hi} is None), in byte order, at most C{limit} of them, as
C{(key bytes, row)} pairs.  The walk may stop iterating early; a scan must
tolerate that (close its cursor in a C{finally}).
"""


def encode_key(key: str) -> bytes:
    """
    The UTF-8 bytes of object key C{key}.

    @raise S3Error: C{KeyTooLongError} above 1024 bytes; C{InvalidArgument}
        for an empty key or one that is not valid Unicode (lone
        surrogates).
    """
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError:
        raise S3Error.of(
            "InvalidArgument", "Object keys must be valid UTF-8.", Key=repr(key)
        ) from None
    if not raw:
        raise S3Error.of("InvalidArgument", "Object keys must not be empty.")
    if len(raw) > MAX_KEY_BYTES:
        raise S3Error.of("KeyTooLongError", Size=str(len(raw)), MaxSizeAllowed="1024")
    return raw


def encode_text(value: str, what: str) -> bytes:
    """UTF-8 of a listing parameter; C{InvalidArgument} if not encodable."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise S3Error.of(
            "InvalidArgument", f"{what} must be valid UTF-8.", ArgumentName=what
        ) from None


def successor(prefix: bytes) -> bytes | None:
    """
    The smallest byte string greater than every string that starts with
    C{prefix}, or None when there is none (C{prefix} empty or all 0xFF).
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


@dataclass(frozen=True)
class Walk(Generic[T]):
    """
    The outcome of L{list_page}: rows for objects, raw common prefixes.

    @ivar next_marker: the last entry of a truncated page, else None.
    """

    contents: list[T]
    common_prefixes: list[bytes]
    is_truncated: bool
    next_marker: bytes | None
    rows_read: int


def list_page(
    scan: Scan[T],
    prefix: bytes,
    delimiter: bytes,
    start_after: bytes,
    max_keys: int,
) -> Walk[T]:
    """
    Walk one page of a listing over C{scan}, with the semantics described in
    the module docstring.

    @raise S3Error: C{InvalidArgument} for a negative C{max_keys}.
    """
    if max_keys < 0:
        raise S3Error.of(
            "InvalidArgument", "max-keys must be non-negative.", ArgumentName="max-keys"
        )
    max_keys = min(max_keys, MAX_KEYS)
    contents: list[T] = []
    prefixes: list[bytes] = []
    rows = 0
    if max_keys == 0:
        return Walk(contents, prefixes, False, None, 0)

    hi = successor(prefix) if prefix else None
    lo, inclusive = prefix, True
    if start_after >= prefix:
        lo, inclusive = start_after, False
        if delimiter and start_after.startswith(prefix):
            cut = start_after.find(delimiter, len(prefix))
            if cut >= 0:
                # start_after lies under common prefix P (or is P): P sorts
                # at or before it, so P belongs to an earlier page and all
                # of P is skipped.
                after = successor(start_after[: cut + len(delimiter)])
                if after is None:
                    return Walk(contents, prefixes, False, None, 0)
                lo, inclusive = after, True
    if hi is not None and lo >= hi:
        return Walk(contents, prefixes, False, None, 0)

    last: bytes | None = None
    while True:
        entries = len(contents) + len(prefixes)
        # One more row than entries still wanted: the extra one proves that
        # the page is truncated.
        rows_iter = scan(lo, inclusive, hi, max_keys - entries + 1)
        seek: bytes | None = None
        try:
            for key, row in rows_iter:
                rows += 1
                if len(contents) + len(prefixes) == max_keys:
                    return Walk(contents, prefixes, True, last, rows)
                cut = key.find(delimiter, len(prefix)) if delimiter else -1
                if cut < 0:
                    contents.append(row)
                    last = key
                    continue
                common = key[: cut + len(delimiter)]
                prefixes.append(common)
                last = common
                seek = successor(common)
                if seek is None:
                    return Walk(contents, prefixes, False, None, rows)
                break
        finally:
            close = getattr(rows_iter, "close", None)
            if close is not None:
                close()
        if seek is None:
            # The scan ran dry (or hit its limit, which cannot happen before
            # the page is full): no more entries.
            return Walk(contents, prefixes, False, None, rows)
        lo, inclusive = seek, True
        if hi is not None and lo >= hi:
            return Walk(contents, prefixes, False, None, rows)


def encode_query(query: ListQuery, marker_name: str) -> tuple[bytes, bytes, bytes]:
    """
    The prefix, delimiter and marker of C{query} as UTF-8 bytes, the
    arguments L{list_page} takes before the limit.

    @raise S3Error: C{InvalidArgument} naming C{prefix}, C{delimiter} or
        C{marker_name} (the marker's query parameter, such as
        C{start-after}) for text that is not valid Unicode.
    """
    return (
        encode_text(query.prefix, "prefix"),
        encode_text(query.delimiter, "delimiter"),
        encode_text(query.marker, marker_name),
    )


def objects_page(contents: list[ObjectInfo], walk: Walk[Any]) -> ListPage:
    """The L{ListPage} of C{walk}, whose rows are the objects C{contents}."""
    return ListPage(
        contents=contents,
        common_prefixes=[p.decode("utf-8") for p in walk.common_prefixes],
        is_truncated=walk.is_truncated,
        next_marker=(
            walk.next_marker.decode("utf-8") if walk.next_marker is not None else None
        ),
        rows_read=walk.rows_read,
    )


def uploads_page(uploads: list[UploadInfo], walk: Walk[Any]) -> UploadsPage:
    """
    The L{UploadsPage} of a listing walk over uploads, whose rows are
    C{uploads} (one row per upload, so a key may appear several times): the
    next upload-id marker is the last upload's id when the page ends with an
    upload.
    """
    is_truncated = walk.is_truncated
    next_marker = walk.next_marker
    last_is_upload = bool(uploads) and (
        next_marker is not None and uploads[-1].key.encode("utf-8") == next_marker
    )
    return UploadsPage(
        uploads=uploads,
        common_prefixes=[p.decode("utf-8") for p in walk.common_prefixes],
        is_truncated=is_truncated,
        next_key_marker=next_marker.decode("utf-8")
        if next_marker is not None
        else None,
        next_upload_id_marker=(
            uploads[-1].upload_id if is_truncated and last_is_upload else None
        ),
    )


def versions_page(versions: list[ObjectInfo], walk: Walk[Any]) -> VersionsPage:
    """
    The L{VersionsPage} of a listing walk over versions (several rows per
    key): the next version-id marker is the last version's id when the
    page ends with a version.
    """
    next_marker = walk.next_marker
    last_is_version = bool(versions) and (
        next_marker is not None and versions[-1].key.encode("utf-8") == next_marker
    )
    return VersionsPage(
        versions=versions,
        common_prefixes=[p.decode("utf-8") for p in walk.common_prefixes],
        is_truncated=walk.is_truncated,
        next_key_marker=(
            next_marker.decode("utf-8") if next_marker is not None else None
        ),
        next_version_id_marker=(
            versions[-1].version_id if walk.is_truncated and last_is_version else None
        ),
        rows_read=walk.rows_read,
    )
