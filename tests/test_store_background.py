"""
What background passes read and hold in the store, against both stores:
candidates in bounded batches (every version, newest first per key, with
the time each became noncurrent, even across a batch that splits a key),
uploads by age, buckets by setting, leases, and deletions that name the
version they were decided on (C{Deletion.expected}).  The store's clock is
a variable the tests move.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_twisted

from tests.test_store_contract import OWNER, error_code, put
from tests.test_store_sqlite import migrated
from txs3.store.interface import (
    Candidate,
    Deleted,
    Deletion,
    IObjectStore,
    NewUpload,
    ObjectMeta,
    VersionCursor,
)
from txs3.store.memory import MemoryStore
from txs3.store.sqlite import SQLiteStore

B = "bkt"


class Time:
    """A store clock the test sets."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def time() -> Time:
    return Time()


@pytest_twisted.async_yield_fixture
async def store(kind: str, tmp_path: Path, time: Time) -> AsyncIterator[IObjectStore]:
    made: IObjectStore = (
        MemoryStore(now=time)
        if kind == "memory"
        else SQLiteStore.open(str(tmp_path / "d"), now=time)
    )
    await made.create_bucket(B, OWNER, "us-east-1")
    yield made
    await made.close()


async def walk(store: IObjectStore, limit: int) -> list[list[Candidate]]:
    """Every batch of candidates of bucket B, batch by batch."""
    batches: list[list[Candidate]] = []
    cursor: VersionCursor | None = None
    while True:
        page = await store.lifecycle_candidates(B, cursor, limit)
        assert len(page.versions) <= limit
        batches.append(page.versions)
        if page.next is None:
            return batches
        cursor = page.next


def summary(c: Candidate) -> tuple[str, str, bool, bool, float | None, int, bool]:
    """What a candidate says of its version: data, latest, marker, since, newer, only."""
    data = "marker" if c.info.delete_marker else str(c.info.size)
    return (
        c.info.key,
        data,
        c.info.is_latest,
        c.info.delete_marker,
        c.noncurrent_since,
        c.newer_noncurrent,
        c.only_version,
    )


async def history(store: IObjectStore, time: Time) -> None:
    """
    Key a: three versions written at t0, t0+10, t0+20; key b: one object;
    key c: an object deleted under versioning (a marker over it); key d: a
    lone delete marker.
    """
    t0 = time.now
    for i, data in enumerate((b"1", b"22", b"333")):
        time.now = t0 + 10 * i
        await put(store, B, "a", data, versioning="Enabled")
    await put(store, B, "b", b"bb", versioning="Enabled")
    await put(store, B, "c", b"c", versioning="Enabled")
    time.now = t0 + 30
    await store.delete_version(Deletion(B, "c", "Enabled"))
    await store.delete_version(Deletion(B, "d", "Enabled"))


EXPECTED = [
    ("a", "3", True, False, None, 0, False),
    ("a", "2", False, False, 1_000_020.0, 0, False),
    ("a", "1", False, False, 1_000_010.0, 1, False),
    ("b", "2", True, False, None, 0, True),
    ("c", "marker", True, True, None, 0, False),
    ("c", "1", False, False, 1_000_030.0, 0, False),
    ("d", "marker", True, True, None, 0, True),
]


@pytest.mark.parametrize("limit", [1, 2, 3, 100])
@pytest_twisted.ensureDeferred
async def test_candidates_in_batches(store: IObjectStore, time: Time, limit: int) -> None:
    """Batches of any size give every version once, in order, with when each became noncurrent and how many newer noncurrent ones it has."""
    await history(store, time)
    batches = await walk(store, limit)
    flat = [summary(c) for batch in batches for c in batch]
    assert flat == EXPECTED
    assert all(len(batch) == limit for batch in batches[:-1])


@pytest_twisted.ensureDeferred
async def test_candidates_of_unversioned_bucket(store: IObjectStore) -> None:
    """An unversioned bucket's objects are each their key's only, latest version, with their tags and size."""
    await put(store, B, "x", b"xx", meta=ObjectMeta(tags=(("t", "1"),)))
    [[c]] = await walk(store, 10)
    assert summary(c) == ("x", "2", True, False, None, 0, True)
    assert c.info.meta.tags == (("t", "1"),)


@pytest_twisted.ensureDeferred
async def test_candidates_of_missing_bucket(store: IObjectStore) -> None:
    """Asking for a bucket that does not exist is NoSuchBucket."""
    assert await error_code(store.lifecycle_candidates("nope", None, 5)) == "NoSuchBucket"


@pytest_twisted.ensureDeferred
async def test_uploads_started_before(store: IObjectStore, time: Time) -> None:
    """Uploads initiated at or before a time come oldest first, in batches; younger ones and other buckets' never."""
    await store.create_bucket("other", OWNER, "us-east-1")
    started = []
    for i in range(5):
        time.now = 2_000_000.0 + i
        up = await store.create_multipart_upload(NewUpload(B, f"k{i}", ObjectMeta(), OWNER))
        started.append(up.upload_id)
    await store.create_multipart_upload(NewUpload("other", "k", ObjectMeta(), OWNER))
    seen: list[str] = []
    cursor = None
    while True:
        batch = await store.uploads_started_before(B, 2_000_003.0, cursor, 2)
        assert len(batch.uploads) <= 2
        seen += [u.upload_id for u in batch.uploads]
        if batch.next is None:
            break
        cursor = batch.next
    assert seen == started[:4]


@pytest_twisted.ensureDeferred
async def test_buckets_with_setting(store: IObjectStore) -> None:
    """Only buckets that have the setting are listed, by name; removing it drops the bucket."""
    for name in ("zz", "aa", "mm"):
        await store.create_bucket(name, OWNER, "us-east-1")
    await store.put_bucket_setting("zz", "lifecycle", "<x/>")
    await store.put_bucket_setting("aa", "lifecycle", "<x/>")
    await store.put_bucket_setting("mm", "policy", "{}")
    assert [b.name for b in await store.buckets_with_setting("lifecycle")] == ["aa", "zz"]
    await store.put_bucket_setting("aa", "lifecycle", None)
    assert [b.name for b in await store.buckets_with_setting("lifecycle")] == ["zz"]


@pytest_twisted.ensureDeferred
async def test_lease(store: IObjectStore, time: Time) -> None:
    """A lease is one holder's until its time runs out; the holder renews it; then anyone may take it."""
    assert await store.take_lease("p", "one", time.now + 10)
    assert not await store.take_lease("p", "two", time.now + 100)
    assert await store.take_lease("p", "one", time.now + 20)
    assert await store.take_lease("q", "two", time.now + 5)
    time.now += 19
    assert not await store.take_lease("p", "two", time.now + 100)
    time.now += 1
    assert await store.take_lease("p", "two", time.now + 100)
    assert not await store.take_lease("p", "one", time.now + 100)


@pytest_twisted.ensureDeferred
async def test_expected_current_version(store: IObjectStore, time: Time) -> None:
    """A deletion that names the current version it was decided on does nothing once another write replaced it."""
    first = await put(store, B, "k", b"old")
    second = await put(store, B, "k", b"new")
    stale = Deletion(B, "k", expected=first)
    assert await error_code(store.delete_version(stale)) == "ConditionalRequestConflict"
    assert store.head_object(B, "k").etag == second.etag
    [result] = await store.delete_versions(B, [stale])
    assert isinstance(result, Exception)
    done = await store.delete_version(Deletion(B, "k", expected=second))
    assert done == Deleted(True)


@pytest_twisted.ensureDeferred
async def test_expected_null_version(store: IObjectStore, time: Time) -> None:
    """Under suspended versioning a new null version is not the null version a deletion was decided on."""
    await put(store, B, "k", b"v1", versioning="Enabled")
    time.now += 1
    await store.delete_version(Deletion(B, "k", "Suspended"))
    [[latest, _]] = await walk(store, 10)
    marker = latest.info
    time.now += 1
    newer = await put(store, B, "k", b"v2", versioning="Suspended")
    stale = Deletion(B, "k", "Suspended", "null", expected=marker)
    assert marker.delete_marker
    assert await error_code(store.delete_version(stale)) == "ConditionalRequestConflict"
    assert store.head_object(B, "k").etag == newer.etag


@pytest_twisted.ensureDeferred
async def test_schema_5_migrates(tmp_path: Path) -> None:
    """A version 5 index gains the leases table and the uploads-by-age index, and leases work."""
    store = await migrated(
        tmp_path / "v5",
        b"v5 data",
        "DROP TABLE leases",
        "DROP INDEX uploads_age",
        "UPDATE schema_version SET version = 5",
    )
    try:
        assert await store.take_lease("lifecycle", "me", 1e12)
        conn = store._connection()
        indexes = {r[1] for r in conn.execute("PRAGMA index_list(uploads)")}
        assert "uploads_age" in indexes
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "v5" / "index.sqlite3") as conn:
        assert conn.execute("SELECT holder FROM leases").fetchall() == [("me",)]
