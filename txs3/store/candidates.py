"""
What background passes read of a bucket, in bounded batches: every
version of every key with what lifecycle rules need to know of it
(L{Candidate}), and multipart uploads started before a time.  The values,
and the walk both stores share (L{candidates_page}): each store feeds it
its rows, newest first within a key, and it works out which version is
the latest, since when each other one is noncurrent, and where the next
batch starts.  L{txs3.store.interface} re-exports the values.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from txs3.store.values import ObjectInfo, UploadInfo


@dataclass(frozen=True)
class Candidate:
    """
    One version of a key, as a lifecycle pass weighs it.

    @ivar info: the version's entry (C{is_latest}, C{delete_marker} set).
    @ivar noncurrent_since: when it stopped being the latest (the next
        newer version's write, POSIX seconds); None for the latest.
    @ivar newer_noncurrent: how many noncurrent versions of the key are
        newer than this one (0 for the latest).
    @ivar only_version: whether the key has no other version.
    """

    info: ObjectInfo
    noncurrent_since: float | None
    newer_noncurrent: int
    only_version: bool


@dataclass(frozen=True)
class VersionCursor:
    """
    Where a batch of candidates ended, to start the next one: produced by
    the store, passed back unchanged.

    @ivar key: the last key given.
    @ivar position: the last version given, in the store's own order of
        the key's history (opaque).
    @ivar newer: L{Candidate.newer_noncurrent} of the key's next version.
    @ivar since: L{Candidate.noncurrent_since} of the key's next version.
    """

    key: str
    position: int
    newer: int
    since: float


@dataclass(frozen=True)
class CandidatesPage:
    """One batch of versions; C{next} is None when the bucket is done."""

    versions: list[Candidate]
    next: VersionCursor | None


@dataclass(frozen=True)
class UploadsBatch:
    """
    One batch of uploads started before a time, oldest first; C{next}
    (the last upload's initiation time and id) is None when there are
    no more.
    """

    uploads: list[UploadInfo]
    next: tuple[float, str] | None


@dataclass(frozen=True)
class VersionRow:
    """
    A version as a store reads it for L{candidates_page}.

    @ivar position: its place in the key's history in the store's order.
    @ivar written: when it was written (its successor's noncurrent time).
    """

    key: str
    info: ObjectInfo
    position: int
    written: float


def candidates_page(
    rows: Iterable[VersionRow], cursor: VersionCursor | None, limit: int
) -> CandidatesPage:
    """
    The batch of at most C{limit} candidates that C{rows} begin with.

    C{rows} are the versions after C{cursor} in order (the rest of the
    cursor's key, oldest last, then every later key, newest version
    first); at most C{limit + 1} of them are read, the last one only to
    learn whether the last candidate's key goes on.
    """
    ahead = list(itertools.islice(rows, limit + 1))
    found: list[Candidate] = []
    key = cursor.key if cursor is not None else None
    newer = cursor.newer if cursor is not None else 0
    since = cursor.since if cursor is not None else 0.0
    for i, row in enumerate(ahead[:limit]):
        latest = row.key != key
        following = ahead[i + 1] if i + 1 < len(ahead) else None
        if latest:
            newer = 0
            found.append(
                Candidate(
                    dataclasses.replace(row.info, is_latest=True),
                    None,
                    0,
                    following is None or following.key != row.key,
                )
            )
        else:
            found.append(
                Candidate(
                    dataclasses.replace(row.info, is_latest=False), since, newer, False
                )
            )
            newer += 1
        key, since = row.key, row.written
    if len(ahead) <= limit or not found:
        return CandidatesPage(found, None)
    last = ahead[limit - 1]
    return CandidatesPage(found, VersionCursor(last.key, last.position, newer, since))
