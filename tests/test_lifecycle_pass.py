"""
The lifecycle pass against both stores, on a L{Clock}: the store's clock
is the same Clock, lifecycle days last ten of its seconds, and nothing
sleeps.  A pass yields a reactor turn between batches (a C{callLater(0)}
on the Clock), so the tests step the Clock until it ends; the SQLite
store's reads and commits run in its threads, so the tests also give the
real reactor turns meanwhile (no durations are asserted).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock, deferLater

from tests.test_store_contract import OWNER, put
from txs3.background.guard import lifecycle_guard
from txs3.background.lifecycle import LifecyclePass, PassCounts
from txs3.errors import S3Error
from txs3.lifecycle.config import parse_lifecycle, render_lifecycle
from txs3.lifecycle.evaluate import Days
from txs3.store.interface import (
    Deletion,
    IObjectStore,
    LockRetention,
    NewUpload,
    ObjectInfo,
    ObjectMeta,
)
from txs3.store.memory import MemoryStore
from txs3.store.sqlite import SQLiteStore

B = "bkt"
DAYS = Days(10)
#: Some time after 2020-01-01 (rules' Dates are at midnight UTC).
START = 1_700_000_000.0


def rules(*bodies: str) -> str:
    """A stored lifecycle configuration of rules C{bodies}."""
    document = "".join(f"<Rule>{b}</Rule>" for b in bodies)
    parsed = parse_lifecycle(f"<LifecycleConfiguration>{document}</LifecycleConfiguration>".encode())
    return render_lifecycle(parsed).decode()


def versioning(status: str) -> str:
    return f"<VersioningConfiguration><Status>{status}</Status></VersioningConfiguration>"


@pytest.fixture(params=["memory", "sqlite"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> Clock:
    made = Clock()
    made.advance(START)
    return made


def open_store(kind: str, path: Path, clock: Clock) -> IObjectStore:
    if kind == "memory":
        return MemoryStore(now=clock.seconds)
    return SQLiteStore.open(str(path), now=clock.seconds)


@pytest_twisted.async_yield_fixture
async def store(kind: str, tmp_path: Path, clock: Clock) -> AsyncIterator[IObjectStore]:
    made = open_store(kind, tmp_path / "d", clock)
    await made.create_bucket(B, OWNER, "us-east-1")
    yield made
    await made.close()


async def settle(clock: Clock, d: Deferred[Any]) -> Any:
    """Step C{clock} (and give the reactor turns) until C{d} has fired."""
    while not d.called:
        clock.advance(0)
        await deferLater(reactor, 0, lambda: None)
    return await d


#: One runner per store (a runner renews its own lease; another one would
#: wait for it to run out).
_RUNNERS: dict[int, LifecyclePass] = {}


async def run(store: IObjectStore, clock: Clock) -> PassCounts | None:
    """One pass now, to its end, by the store's runner."""
    lifecycle = _RUNNERS.setdefault(
        id(store), LifecyclePass(store, clock, interval=60, days=DAYS)
    )
    return await settle(clock, lifecycle.run())


def one_turn(clock: Clock) -> None:
    """Run only the earliest call waiting on C{clock} (advance runs them all)."""
    first = min(clock.getDelayedCalls(), key=lambda call: call.getTime())
    clock.calls.remove(first)
    first.func(*first.args, **first.kw)


def keys(store: IObjectStore, *names: str) -> list[str]:
    """Which of C{names} have a current object."""
    found = []
    for name in names:
        try:
            store.head_object(B, name)
        except S3Error:
            continue
        found.append(name)
    return found


async def versions_of(store: IObjectStore, key: str) -> list[tuple[str, bool]]:
    """(size or 'marker', latest) of each version of C{key}, newest first."""
    page = await store.lifecycle_candidates(B, None, 1000)
    return [
        ("marker" if c.info.delete_marker else str(c.info.size), c.info.is_latest)
        for c in page.versions
        if c.info.key == key
    ]


@pytest_twisted.ensureDeferred
async def test_expiration_days_unversioned(store: IObjectStore, clock: Clock) -> None:
    """On an unversioned bucket an object under the rule's prefix disappears once its days have passed; others stay."""
    await store.put_bucket_setting(
        B, "lifecycle", rules("<ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter>"
                              "<Status>Enabled</Status><Expiration><Days>2</Days></Expiration>")
    )  # fmt: skip
    await put(store, B, "tmp/a", b"a")
    await put(store, B, "keep", b"k")
    clock.advance(19)
    counts = await run(store, clock)
    assert counts == PassCounts(buckets=1)
    assert keys(store, "tmp/a", "keep") == ["tmp/a", "keep"]
    clock.advance(1)
    counts = await run(store, clock)
    assert counts == PassCounts(buckets=1, expired=1)
    assert keys(store, "tmp/a", "keep") == ["keep"]
    assert await versions_of(store, "tmp/a") == []


@pytest_twisted.ensureDeferred
async def test_expiration_date_versioned(store: IObjectStore, clock: Clock) -> None:
    """On a versioned bucket a Date in the past hides each current object under a delete marker, and keeps the object as noncurrent."""
    await store.put_bucket_setting(B, "versioning", versioning("Enabled"))
    await store.put_bucket_setting(
        B, "lifecycle", rules("<Filter/><Status>Enabled</Status>"
                              "<Expiration><Date>2020-01-01T00:00:00Z</Date></Expiration>")
    )  # fmt: skip
    await put(store, B, "k", b"data", versioning="Enabled")
    counts = await run(store, clock)
    assert counts == PassCounts(buckets=1, expired=1)
    assert keys(store, "k") == []
    assert await versions_of(store, "k") == [("marker", True), ("4", False)]
    # The marker is not a current object: the next pass leaves it.
    assert await run(store, clock) == PassCounts(buckets=1)


@pytest_twisted.ensureDeferred
async def test_size_and_tag_filters(store: IObjectStore, clock: Clock) -> None:
    """A rule with a tag and a size bound expires only the objects that have both."""
    await store.put_bucket_setting(
        B, "lifecycle", rules("<Filter><And><Tag><Key>t</Key><Value>x</Value></Tag>"
                              "<ObjectSizeGreaterThan>2</ObjectSizeGreaterThan></And></Filter>"
                              "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>")
    )  # fmt: skip
    tagged = ObjectMeta(tags=(("t", "x"),))
    await put(store, B, "big-tagged", b"xxxx", meta=tagged)
    await put(store, B, "small-tagged", b"xx", meta=tagged)
    await put(store, B, "big", b"xxxx")
    clock.advance(10)
    assert await run(store, clock) == PassCounts(buckets=1, expired=1)
    assert keys(store, "big-tagged", "small-tagged", "big") == ["small-tagged", "big"]


@pytest_twisted.ensureDeferred
async def test_noncurrent_expiration_keeps_newer(store: IObjectStore, clock: Clock) -> None:
    """NoncurrentVersionExpiration removes noncurrent versions old enough, keeping the NewerNoncurrentVersions newest whatever their age."""
    await store.put_bucket_setting(B, "versioning", versioning("Enabled"))
    await store.put_bucket_setting(
        B, "lifecycle", rules("<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration>"
                              "<NoncurrentDays>1</NoncurrentDays>"
                              "<NewerNoncurrentVersions>2</NewerNoncurrentVersions>"
                              "</NoncurrentVersionExpiration>")
    )  # fmt: skip
    for size in range(1, 6):
        await put(store, B, "k", b"x" * size, versioning="Enabled")
        clock.advance(1)
    # Version 4 became noncurrent 1 s ago, version 1 4 s ago: none a day.
    assert await run(store, clock) == PassCounts(buckets=1)
    clock.advance(6)
    # Version 1 (noncurrent 10 s) is due, version 2 (9 s) not yet.
    assert await run(store, clock) == PassCounts(buckets=1, noncurrent=1)
    clock.advance(10)
    # Versions 2 and 3 are old enough now, 4 and 3 are the two kept.
    assert await run(store, clock) == PassCounts(buckets=1, noncurrent=1)
    assert await versions_of(store, "k") == [("5", True), ("4", False), ("3", False)]


@pytest_twisted.ensureDeferred
async def test_expired_delete_marker(store: IObjectStore, clock: Clock) -> None:
    """ExpiredObjectDeleteMarker removes a delete marker that is its key's only version, and only such a one."""
    await store.put_bucket_setting(B, "versioning", versioning("Enabled"))
    await store.put_bucket_setting(
        B, "lifecycle", rules("<Filter/><Status>Enabled</Status><Expiration>"
                              "<ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
                              "</Expiration>")
    )  # fmt: skip
    await store.delete_version(Deletion(B, "lone", "Enabled"))
    await put(store, B, "hidden", b"h", versioning="Enabled")
    await store.delete_version(Deletion(B, "hidden", "Enabled"))
    assert await run(store, clock) == PassCounts(buckets=1, markers=1)
    assert await versions_of(store, "lone") == []
    assert await versions_of(store, "hidden") == [("marker", True), ("1", False)]


@pytest_twisted.ensureDeferred
async def test_abort_incomplete_uploads(
    store: IObjectStore, clock: Clock, kind: str, tmp_path: Path
) -> None:
    """AbortIncompleteMultipartUpload aborts uploads started long enough ago under its prefix, and their parts' bytes are freed."""
    from txs3.store.interface import NewPart

    await store.put_bucket_setting(
        B, "lifecycle", rules("<Filter><Prefix>up/</Prefix></Filter><Status>Enabled</Status>"
                              "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1"
                              "</DaysAfterInitiation></AbortIncompleteMultipartUpload>")
    )  # fmt: skip
    old = await store.create_multipart_upload(NewUpload(B, "up/old", ObjectMeta(), OWNER))
    other = await store.create_multipart_upload(NewUpload(B, "else", ObjectMeta(), OWNER))
    staging = store.open_staging()
    staging.write(b"p" * 1000)
    await store.upload_part(NewPart(B, "up/old", old.upload_id, 1, "e"), staging)
    clock.advance(5)
    young = await store.create_multipart_upload(NewUpload(B, "up/young", ObjectMeta(), OWNER))
    clock.advance(5)
    assert await run(store, clock) == PassCounts(buckets=1, aborted=1)
    left = {u.upload_id for u in (await store.uploads_started_before(B, 1e12, None, 10)).uploads}
    assert left == {other.upload_id, young.upload_id}
    if kind == "sqlite":
        blobs = [p for p in (tmp_path / "d" / "blobs").rglob("*") if p.is_file()]
        assert blobs == []


@pytest_twisted.ensureDeferred
async def test_disabled_rule_does_nothing(store: IObjectStore, clock: Clock) -> None:
    """A Disabled rule expires nothing."""
    await store.put_bucket_setting(
        B, "lifecycle", rules("<Filter/><Status>Disabled</Status>"
                              "<Expiration><Days>1</Days></Expiration>")
    )  # fmt: skip
    await put(store, B, "k", b"k")
    clock.advance(100)
    assert await run(store, clock) == PassCounts(buckets=1)
    assert keys(store, "k") == ["k"]


@pytest_twisted.ensureDeferred
async def test_bounded_batches(clock: Clock) -> None:
    """A pass works in batches of at most its batch size, one per reactor turn it is given."""
    store = MemoryStore(now=clock.seconds)
    await store.create_bucket(B, OWNER, "us-east-1")
    await store.put_bucket_setting(
        B, "lifecycle", rules("<Filter/><Status>Enabled</Status>"
                              "<Expiration><Days>1</Days></Expiration>")
    )  # fmt: skip
    names = [f"k{i}" for i in range(5)]
    for name in names:
        await put(store, B, name, b"x")
    clock.advance(10)
    done = LifecyclePass(store, clock, interval=60, days=DAYS, batch=2).run()
    left = []
    while not done.called:
        left.append(len(keys(store, *names)))
        one_turn(clock)
    # Before the first turn, then after each: a batch of two per turn.
    assert left == [5, 3, 1]
    assert (await done) == PassCounts(buckets=1, expired=5)


@pytest_twisted.ensureDeferred
async def test_version_written_meanwhile_is_not_expired(clock: Clock) -> None:
    """An object replaced between the batch that read it and its deletion is not expired in its place."""
    store = MemoryStore(now=clock.seconds)
    await store.create_bucket(B, OWNER, "us-east-1")
    await store.put_bucket_setting(
        B, "lifecycle", rules("<Filter/><Status>Enabled</Status>"
                              "<Expiration><Days>1</Days></Expiration>")
    )  # fmt: skip
    await put(store, B, "k", b"old")
    clock.advance(10)
    real = store.delete_versions

    async def after_a_write(bucket: str, deletions: list[Deletion]) -> Any:
        await put(store, B, "k", b"new")
        return await real(bucket, deletions)

    store.delete_versions = after_a_write  # type: ignore[method-assign,assignment]
    assert await run(store, clock) == PassCounts(buckets=1, kept=1)
    assert store.head_object(B, "k").size == 3
    _, f = store.open_object(B, "k")
    assert f.read() == b"new"


def test_guard_refuses_locked_versions() -> None:
    """The guard refuses a version under legal hold or active retention, and lets others go."""
    def version(meta: ObjectMeta) -> ObjectInfo:
        return ObjectInfo(B, "k", 1, "e", 0.0, meta=meta)

    for locked in (ObjectMeta(legal_hold=True), ObjectMeta(retention=LockRetention("GOVERNANCE", 200.0))):
        with pytest.raises(S3Error) as info:
            lifecycle_guard(version(locked), 100.0)
        assert info.value.code == "AccessDenied"
    lifecycle_guard(version(ObjectMeta(retention=LockRetention("COMPLIANCE", 100.0))), 100.0)
    lifecycle_guard(version(ObjectMeta()), 100.0)


@pytest_twisted.ensureDeferred
async def test_locked_version_is_kept(clock: Clock) -> None:
    """A noncurrent version under legal hold is never removed by a rule; the pass counts it as kept."""
    store = MemoryStore(now=clock.seconds)
    await store.create_bucket(B, OWNER, "us-east-1")
    await store.put_bucket_setting(B, "versioning", versioning("Enabled"))
    await store.put_bucket_setting(
        B, "lifecycle", rules("<Filter/><Status>Enabled</Status><NoncurrentVersionExpiration>"
                              "<NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>")
    )  # fmt: skip
    await put(store, B, "k", b"held", meta=ObjectMeta(legal_hold=True), versioning="Enabled")
    await put(store, B, "k", b"free", versioning="Enabled")
    await put(store, B, "k", b"current", versioning="Enabled")
    clock.advance(10)
    assert await run(store, clock) == PassCounts(buckets=1, noncurrent=1, kept=1)
    assert await versions_of(store, "k") == [("7", True), ("4", False)]


@pytest_twisted.ensureDeferred
async def test_lease_one_process_runs(tmp_path: Path, clock: Clock) -> None:
    """Two stores on one data directory: while one runner holds the lease (a pass, and the rest of its interval) the other does nothing, until its time has run out."""
    one = SQLiteStore.open(str(tmp_path / "shared"), now=clock.seconds)
    two = SQLiteStore.open(str(tmp_path / "shared"), now=clock.seconds)
    try:
        await one.create_bucket(B, OWNER, "us-east-1")
        await one.put_bucket_setting(
            B, "lifecycle", rules("<Filter/><Status>Enabled</Status>"
                                  "<Expiration><Days>1</Days></Expiration>")
        )  # fmt: skip
        await put(one, B, "a", b"a")
        clock.advance(10)
        first = LifecyclePass(one, clock, interval=60, days=DAYS)
        second = LifecyclePass(two, clock, interval=60, days=DAYS)
        assert await settle(clock, first.run()) == PassCounts(buckets=1, expired=1)
        await put(two, B, "b", b"b")
        # Within the interval the first pass began, nobody else runs one.
        assert await settle(clock, second.run()) is None
        clock.advance(59)
        assert await settle(clock, second.run()) is None
        clock.advance(1)
        assert await settle(clock, second.run()) == PassCounts(buckets=1, expired=1)
        assert await settle(clock, first.run()) is None
    finally:
        await one.close()
        await two.close()


@pytest_twisted.ensureDeferred
async def test_schedule(store: IObjectStore, clock: Clock) -> None:
    """Started, a pass runs once per interval, the first one an interval later; after stop() (which waits for a pass in progress) none runs."""
    await store.put_bucket_setting(
        B, "lifecycle", rules("<Filter/><Status>Enabled</Status>"
                              "<Expiration><Days>1</Days></Expiration>")
    )  # fmt: skip
    await put(store, B, "a", b"a")
    passes: list[float] = []
    real = store.buckets_with_setting

    def counted(name: str) -> Deferred[Any]:
        passes.append(clock.seconds())
        return real(name)

    store.buckets_with_setting = counted  # type: ignore[method-assign]
    lifecycle = LifecyclePass(store, clock, interval=60, days=DAYS)
    lifecycle.start()
    clock.advance(59)
    assert passes == [] and keys(store, "a") == ["a"]
    clock.advance(1)
    if lifecycle.running is not None:
        await settle(clock, lifecycle.running)
    assert passes == [START + 60] and keys(store, "a") == []
    clock.advance(59)
    assert passes == [START + 60]
    clock.advance(1)
    await settle(clock, lifecycle.stop())
    assert lifecycle.running is None
    clock.advance(600)
    for _ in range(3):  # a pass that started anyway would have read by now
        await deferLater(reactor, 0, lambda: None)
    assert passes == [START + 60, START + 120]
