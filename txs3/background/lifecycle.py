"""
The lifecycle pass: every bucket's lifecycle rules applied to its
versions and multipart uploads, inside the server, every so often.

Shape (after Tahoe-LAFS's C{ShareCrawler}, on the injected clock):

  - L{LifecyclePass} runs a pass every C{interval} seconds of its clock
    (L{txs3.store.periodic.PeriodicPass}: passes never overlap);
  - a pass first takes the C{lifecycle} lease in the index
    (L{IObjectStore.take_lease}) until at least one interval after it
    began, so of all the processes sharing a data directory exactly one
    runs a pass, and no rule is applied twice in one interval; a process
    that stops mid-pass (a crash) loses the lease when its time runs out,
    and another takes over then;
  - the work goes in batches of at most C{batch} versions or uploads: the
    store reads each batch in its threads (L{IObjectStore.lifecycle_candidates},
    L{IObjectStore.uploads_started_before}), the rules are weighed on the
    reactor (L{txs3.lifecycle.evaluate}: pure, O(batch)), the deletions
    of a batch are one commit in the store's writer
    (L{IObjectStore.delete_versions}); between batches the pass gives the
    reactor a turn (a C{callLater(0)}) and renews its lease, so requests
    are never stalled behind it;
  - every deletion names the version it was decided on
    (L{Deletion.expected}: a version written meanwhile is never expired
    in its place) and carries L{lifecycle_guard} (a locked version is
    never removed);
  - one log line per pass says what it did.

What each action does is AWS's: an expired current object is removed
(bucket never versioned) or hidden under a new delete marker (versioning
on or suspended: DeleteObject's rules); an expired object delete marker
(the key's only version) is removed; a noncurrent version is removed for
good once old enough, the C{NewerNoncurrentVersions} newest kept; an
incomplete multipart upload is aborted and its parts' bytes freed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial

from twisted.internet.defer import Deferred, ensureDeferred, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater
from twisted.logger import Logger

from txs3.access import LIFECYCLE, BucketAccess, read_access
from txs3.background.guard import lifecycle_guard
from txs3.errors import S3Error
from txs3.lifecycle.config import LifecycleConfiguration
from txs3.lifecycle.evaluate import Days, Due, Version, abort_due, due_now
from txs3.store.interface import (
    Candidate,
    Deleted,
    Deletion,
    IObjectStore,
    VersionCursor,
)
from txs3.store.periodic import PeriodicPass

_log = Logger()

#: The lease's name in the index.
LEASE = "lifecycle"
#: Versions (or uploads) read, weighed and deleted per batch.
BATCH = 500
#: Seconds each renewal keeps the lease past now, at least: a holder
#: whose reactor stalls longer loses it (and stops at its next batch).
RENEWAL = 60.0
#: Seconds between passes by default (C{--lifecycle-interval}).
DEFAULT_INTERVAL = 3600.0


@dataclass
class PassCounts:
    """
    What one pass did.

    @ivar kept: deletions the store refused: a locked version, or one
        changed since the pass read it.
    """

    buckets: int = 0
    expired: int = 0
    markers: int = 0
    noncurrent: int = 0
    aborted: int = 0
    kept: int = 0


class _LeaseLost(Exception):
    """Another process holds the lease now (ours ran out), or we stop."""


class LifecyclePass:
    """
    The lifecycle pass over C{store}, every C{interval} seconds of
    C{clock}, a lifecycle day lasting C{days} (AWS's 86,400 s by
    default).  The store's clock must be C{clock}'s (leases expire by the
    store's).

    @ivar holder: this runner's name in the lease.
    """

    def __init__(
        self,
        store: IObjectStore,
        clock: IReactorTime,
        *,
        interval: float = DEFAULT_INTERVAL,
        days: Days | None = None,
        batch: int = BATCH,
    ) -> None:
        self._store = store
        self._clock = clock
        self._interval = interval
        self._days = days or Days()
        self._batch = batch
        self._stopping = False
        self._began = 0.0
        self.holder = uuid.uuid4().hex
        self._schedule = PeriodicPass(self.run, clock, interval, "lifecycle pass")

    @property
    def running(self) -> Deferred[None] | None:
        """The pass in progress (fires when it has ended), or None."""
        return self._schedule.running

    def start(self) -> None:
        """Run a pass every interval, the first one an interval from now."""
        self._stopping = False
        self._schedule.start()

    def stop(self) -> Deferred[None]:
        """
        Stop the schedule; a pass in progress stops at its next batch.
        Fires once no pass runs (then the store may be closed).
        """
        self._stopping = True
        self._schedule.stop()
        running = self._schedule.running
        if running is None:
            return succeed(None)
        ended: Deferred[None] = Deferred()

        def end(result: object) -> object:
            ended.callback(None)
            return result

        running.addBoth(end)
        return ended

    def run(self) -> Deferred[PassCounts | None]:
        """
        One pass now; fires with what it did, or None when another
        process holds the lease.
        """
        return ensureDeferred(self._run())

    # -- the pass ---------------------------------------------------------------

    async def _run(self) -> PassCounts | None:
        self._began = self._clock.seconds()
        if not await self._take_lease():
            _log.debug("lifecycle pass skipped: another process runs it")
            return None
        counts = PassCounts()
        try:
            for bucket in await self._store.buckets_with_setting(LIFECYCLE):
                try:
                    access = read_access(
                        bucket, dict(self._store.get_bucket_settings(bucket.name))
                    )
                    if access.lifecycle is None:
                        continue
                    counts.buckets += 1
                    await self._versions(access, access.lifecycle, counts)
                    await self._uploads(access, access.lifecycle, counts)
                except S3Error as e:
                    # Deleted meanwhile, or damaged settings: the others go on.
                    _log.info(
                        "lifecycle pass: bucket {bucket} skipped: {code}",
                        bucket=bucket.name,
                        code=e.code,
                    )
        except _LeaseLost:
            _log.info("lifecycle pass stopped before its end (lease lost or stopping)")
        _log.info(
            "lifecycle pass: {buckets} buckets; expired {expired} objects, removed "
            "{markers} expired delete markers and {noncurrent} noncurrent versions, "
            "aborted {aborted} uploads; {kept} left (locked or changed meanwhile)",
            buckets=counts.buckets,
            expired=counts.expired,
            markers=counts.markers,
            noncurrent=counts.noncurrent,
            aborted=counts.aborted,
            kept=counts.kept,
        )
        return counts

    async def _take_lease(self) -> bool:
        """Take or renew the lease: until an interval after the pass began."""
        until = max(self._began + self._interval, self._clock.seconds() + RENEWAL)
        return await self._store.take_lease(LEASE, self.holder, until)

    async def _next_batch(self) -> None:
        """
        Between batches: give the reactor a turn, then renew the lease.

        @raise _LeaseLost: when stopping, or the lease is someone else's.
        """
        await deferLater(self._clock, 0, lambda: None)
        if self._stopping or not await self._take_lease():
            raise _LeaseLost()

    async def _versions(
        self, access: BucketAccess, rules: LifecycleConfiguration, counts: PassCounts
    ) -> None:
        """Expire what is due among the bucket's versions, batch by batch."""
        bucket = access.bucket.name
        cursor: VersionCursor | None = None
        while True:
            await self._next_batch()
            page = await self._store.lifecycle_candidates(bucket, cursor, self._batch)
            now = self._clock.seconds()
            decided = [
                (due, self._deletion(access, candidate, due, now))
                for candidate in page.versions
                if (due := self._due(rules, candidate, now)) is not None
            ]
            if decided:
                results = await self._store.delete_versions(
                    bucket, [deletion for _, deletion in decided]
                )
                for (due, _), result in zip(decided, results, strict=True):
                    _tally(counts, due, result)
            if page.next is None:
                return
            cursor = page.next

    def _due(
        self, rules: LifecycleConfiguration, candidate: Candidate, now: float
    ) -> Due | None:
        info = candidate.info
        version = Version(
            key=info.key,
            size=info.size,
            tags=dict(info.meta.tags),
            created=info.last_modified,
            is_delete_marker=info.delete_marker,
            noncurrent_since=candidate.noncurrent_since,
            newer_noncurrent=candidate.newer_noncurrent,
            only_version=candidate.only_version,
        )
        return due_now(rules, version, now, self._days)

    @staticmethod
    def _deletion(
        access: BucketAccess, candidate: Candidate, due: Due, now: float
    ) -> Deletion:
        """
        The deletion C{due} asks for: the current version's (DeleteObject
        without a version id, under the bucket's versioning) to expire an
        object, else the version's own, for good.
        """
        info = candidate.info
        return Deletion(
            bucket=access.bucket.name,
            key=info.key,
            versioning=access.versioning_state,
            version_id=None if due.action == "expire" else info.version_id,
            guard=partial(lifecycle_guard, now=now),
            expected=info,
        )

    async def _uploads(
        self, access: BucketAccess, rules: LifecycleConfiguration, counts: PassCounts
    ) -> None:
        """Abort the bucket's incomplete uploads that are due, batch by batch."""
        days = [
            rule.abort_after_days
            for rule in rules.rules
            if rule.enabled and rule.abort_after_days is not None
        ]
        if not days:
            return
        bucket = access.bucket.name
        # No upload started later than this can be due (rounding only
        # makes a due date later).
        before = self._clock.seconds() - min(days) * self._days.seconds
        cursor: tuple[float, str] | None = None
        while True:
            await self._next_batch()
            batch = await self._store.uploads_started_before(
                bucket, before, cursor, self._batch
            )
            now = self._clock.seconds()
            for upload in batch.uploads:
                due = abort_due(rules, upload.key, upload.initiated, self._days)
                if due is None or due.at > now:
                    continue
                try:
                    await self._store.abort_multipart_upload(
                        bucket, upload.key, upload.upload_id
                    )
                except S3Error as e:
                    if e.code != "NoSuchUpload":  # completed or aborted meanwhile
                        raise
                else:
                    counts.aborted += 1
            if batch.next is None:
                return
            cursor = batch.next


def _tally(counts: PassCounts, due: Due, result: Deleted | S3Error) -> None:
    if isinstance(result, S3Error) or not result.existed:
        counts.kept += 1
    elif due.action == "expire":
        counts.expired += 1
    elif due.action == "remove-delete-marker":
        counts.markers += 1
    else:
        counts.noncurrent += 1
