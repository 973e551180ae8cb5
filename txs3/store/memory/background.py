"""
Reads for background passes, and leases, in the memory store, with the
SQLite store's rules (L{txs3.store.sqlite.background}).  A key's history
position is its index in C{[current] + history}; leases live in this
store only (one process).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

from twisted.internet.defer import Deferred, fail, succeed

from txs3.errors import S3Error
from txs3.store.candidates import (
    CandidatesPage,
    UploadsBatch,
    VersionCursor,
    VersionRow,
    candidates_page,
)
from txs3.store.interface import BucketInfo, ObjectInfo
from txs3.store.memory.core import Bucket, MemoryCore
from txs3.store.namespace import encode_key


def _history(target: Bucket, raw_key: bytes) -> list[ObjectInfo]:
    """The key's versions, newest first."""
    current = target.objects.get(raw_key)
    found = [current[0]] if current is not None else []
    return found + [info for info, _ in target.history.get(raw_key, ())]


class BackgroundMixin(MemoryCore):
    """Candidates, old uploads, buckets by setting, leases."""

    def buckets_with_setting(self, name: str) -> Deferred[list[BucketInfo]]:
        """See L{IObjectStore.buckets_with_setting}."""
        return succeed(
            [
                b.info
                for _, b in sorted(self._buckets.items())
                if name in b.settings
            ]
        )

    def lifecycle_candidates(
        self, bucket: str, cursor: VersionCursor | None, limit: int
    ) -> Deferred[CandidatesPage]:
        """See L{IObjectStore.lifecycle_candidates}."""
        try:
            target = self._bucket(bucket)
            after = encode_key(cursor.key) if cursor is not None else b""
        except S3Error as e:
            return fail(e)

        def rows() -> Iterator[VersionRow]:
            keys = sorted(set(target.keys) | set(target.history))
            start = bisect.bisect_left(keys, after)
            for raw_key in keys[start:]:
                history = _history(target, raw_key)
                first = 0
                if cursor is not None and raw_key == after:
                    first = cursor.position + 1
                for position in range(first, len(history)):
                    info = history[position]
                    yield VersionRow(info.key, info, position, info.last_modified)

        return succeed(candidates_page(rows(), cursor, limit))

    def uploads_started_before(
        self,
        bucket: str,
        before: float,
        cursor: tuple[float, str] | None,
        limit: int,
    ) -> Deferred[UploadsBatch]:
        """See L{IObjectStore.uploads_started_before}."""
        try:
            self._bucket(bucket)
        except S3Error as e:
            return fail(e)
        start = cursor if cursor is not None else (-1.0, "")
        found = sorted(
            (u.info for u in self._uploads.values()),
            key=lambda info: (info.initiated, info.upload_id),
        )
        uploads = [
            info
            for info in found
            if info.bucket == bucket
            and info.initiated <= before
            and (info.initiated, info.upload_id) > start
        ][:limit]
        last = uploads[-1] if len(uploads) == limit else None
        return succeed(
            UploadsBatch(
                uploads, None if last is None else (last.initiated, last.upload_id)
            )
        )

    def take_lease(self, name: str, holder: str, until: float) -> Deferred[bool]:
        """See L{IObjectStore.take_lease}."""
        current = self._leases.get(name)
        if current is None or current[0] == holder or current[1] <= self._now():
            self._leases[name] = (holder, until)
            return succeed(True)
        return succeed(False)
