"""
Object Lock in the store, against both stores: a version's retention and
legal hold kept with it (through moves to noncurrent, and a reopen of the
SQLite store), L{IObjectStore.put_object_lock} deciding inside its commit,
and the guards of L{txs3.versionlock} refusing removals there.  Also
L{txs3.versionlock.removable}, the question the lifecycle pass asks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_twisted

from tests.test_store_contract import OWNER, error_code, put, read
from txs3.errors import S3Error
from txs3.objectlock import Retention
from txs3.store.interface import (
    Completion,
    Deleted,
    Deletion,
    IObjectStore,
    LockRetention,
    NewPart,
    NewUpload,
    ObjectInfo,
    ObjectMeta,
)
from txs3.store.memory import MemoryStore
from txs3.store.sqlite import SQLiteStore
from txs3.store.sqlite.rows import decode_meta, encode_meta
from txs3.versionlock import (
    legal_hold_change,
    removable,
    removal_guard,
    retention_change,
    retention_of,
)

B = "bkt"
NOW = 1_700_000_000.0
LATER = NOW + 86400
GOVERNANCE = LockRetention("GOVERNANCE", LATER)
COMPLIANCE = LockRetention("COMPLIANCE", LATER)
LOCKED = "Access Denied because object protected by object lock."


@pytest.fixture(params=["memory", "sqlite"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_twisted.async_yield_fixture
async def store(kind: str, tmp_path: Path) -> AsyncIterator[IObjectStore]:
    made: IObjectStore = (
        MemoryStore() if kind == "memory" else SQLiteStore.open(str(tmp_path / "d"))
    )
    await made.create_bucket(B, OWNER, "us-east-1")
    yield made
    await made.close()


def info(meta: ObjectMeta, marker: bool = False) -> ObjectInfo:
    return ObjectInfo(B, "k", 1, "e", NOW, meta=meta, delete_marker=marker)


def test_meta_json_keeps_the_lock() -> None:
    """Retention and legal hold survive the meta JSON; a meta without them reads as unlocked."""
    meta = ObjectMeta(retention=COMPLIANCE, legal_hold=False)
    assert decode_meta(encode_meta(meta)) == meta
    assert decode_meta(encode_meta(ObjectMeta(legal_hold=True))).legal_hold is True
    old = decode_meta('{"headers":[],"user":[],"checksums":[]}')
    assert (old.retention, old.legal_hold) == (None, None)


@pytest.mark.parametrize(
    ("meta", "marker", "at", "expected"),
    [
        (ObjectMeta(), False, NOW, True),
        (ObjectMeta(retention=GOVERNANCE), False, NOW, False),
        (ObjectMeta(retention=COMPLIANCE), False, NOW, False),
        (ObjectMeta(retention=COMPLIANCE), False, LATER, True),
        (ObjectMeta(legal_hold=True), False, LATER + 1e9, False),
        (ObjectMeta(legal_hold=False), False, NOW, True),
        (ObjectMeta(retention=COMPLIANCE, legal_hold=True), True, NOW, True),
    ],
)
def test_removable(meta: ObjectMeta, marker: bool, at: float, expected: bool) -> None:
    """removable(): a hold or an active retention of either mode keeps a version; a marker never is kept."""
    assert removable(info(meta, marker), at) is expected


@pytest.mark.parametrize(
    ("meta", "bypass", "may", "refused"),
    [
        (ObjectMeta(), False, False, False),
        (ObjectMeta(retention=GOVERNANCE), False, False, True),
        (ObjectMeta(retention=GOVERNANCE), True, False, True),
        (ObjectMeta(retention=GOVERNANCE), False, True, True),
        (ObjectMeta(retention=GOVERNANCE), True, True, False),
        (ObjectMeta(retention=COMPLIANCE), True, True, True),
        (ObjectMeta(legal_hold=True), True, True, True),
        (ObjectMeta(retention=LockRetention("UNKNOWN", LATER)), True, True, True),
    ],
)
def test_removal_guard(meta: ObjectMeta, bypass: bool, may: bool, refused: bool) -> None:
    """The guard gives way to governance only with the header and the permission; a damaged mode counts as COMPLIANCE."""
    guard = removal_guard(NOW, bypass=bypass, may_bypass=may)
    if not refused:
        guard(info(meta))
        return
    with pytest.raises(S3Error) as e:
        guard(info(meta))
    assert (e.value.code, e.value.message) == ("AccessDenied", LOCKED)


@pytest_twisted.ensureDeferred
async def test_lock_follows_the_version(store: IObjectStore) -> None:
    """A version's lock is kept when it becomes noncurrent, and read back by version id."""
    one = await put(store, B, "k", b"one", ObjectMeta(retention=GOVERNANCE), "Enabled")
    await put(store, B, "k", b"two", ObjectMeta(legal_hold=True), "Enabled")
    old = store.head_object(B, "k", one.version_id)
    assert (old.meta.retention, old.meta.legal_hold) == (GOVERNANCE, None)
    now = store.head_object(B, "k")
    assert (now.meta.retention, now.meta.legal_hold) == (None, True)


@pytest_twisted.ensureDeferred
async def test_put_object_lock_decides_in_the_commit(store: IObjectStore) -> None:
    """put_object_lock applies the change to the version as stored; a refused change changes nothing."""
    one = await put(store, B, "k", b"one", ObjectMeta(tags=(("t", "v"),)), "Enabled")
    await put(store, B, "k", b"two", versioning="Enabled")
    place = retention_change(
        Retention("COMPLIANCE", LATER), NOW, bypass=False, may_bypass=False
    )
    await store.put_object_lock(B, "k", one.version_id, place)
    await store.put_object_lock(B, "k", one.version_id, legal_hold_change(True))
    old = store.head_object(B, "k", one.version_id)
    assert old.meta == ObjectMeta(
        tags=(("t", "v"),), retention=COMPLIANCE, legal_hold=True
    )
    assert store.head_object(B, "k").meta == ObjectMeta()
    shorten = retention_change(
        Retention("COMPLIANCE", NOW + 60), NOW, bypass=True, may_bypass=True
    )
    code = await error_code(store.put_object_lock(B, "k", one.version_id, shorten))
    assert code == "AccessDenied"
    assert store.head_object(B, "k", one.version_id).meta == old.meta
    # The current version, by no version id.
    await store.put_object_lock(B, "k", None, place)
    assert retention_of(store.head_object(B, "k").meta) == Retention(
        "COMPLIANCE", LATER
    )


@pytest_twisted.ensureDeferred
async def test_put_object_lock_errors(store: IObjectStore) -> None:
    """No key, no version, a delete marker, no bucket: S3's errors."""
    hold = legal_hold_change(True)
    assert await error_code(store.put_object_lock(B, "none", None, hold)) == "NoSuchKey"
    await put(store, B, "k", b"one", versioning="Enabled")
    code = await error_code(store.put_object_lock(B, "k", "0" * 32, hold))
    assert code == "NoSuchVersion"
    marker = await store.delete_version(Deletion(B, "k", "Enabled"))
    assert marker.version_id is not None
    code = await error_code(store.put_object_lock(B, "k", marker.version_id, hold))
    assert code == "MethodNotAllowed"
    code = await error_code(store.put_object_lock("nope", "k", None, hold))
    assert code == "NoSuchBucket"


@pytest_twisted.ensureDeferred
async def test_locked_versions_are_not_deleted(store: IObjectStore) -> None:
    """The guard refuses a locked version, in one deletion and in a batch; a marker above it is allowed."""
    one = await put(store, B, "k", b"one", ObjectMeta(retention=COMPLIANCE), "Enabled")
    free = await put(store, B, "j", b"jj", versioning="Enabled")
    guard = removal_guard(NOW, bypass=True, may_bypass=True)
    code = await error_code(
        store.delete_version(Deletion(B, "k", "Enabled", one.version_id, guard))
    )
    assert code == "AccessDenied"
    results = await store.delete_versions(
        B,
        [
            Deletion(B, "k", "Enabled", one.version_id, guard),
            Deletion(B, "j", "Enabled", free.version_id, guard),
        ],
    )
    assert isinstance(results[0], S3Error) and results[0].message == LOCKED
    assert results[1] == Deleted(True, free.version_id, False)
    marker = await store.delete_version(Deletion(B, "k", "Enabled", None, guard))
    assert marker.delete_marker
    assert read(store, B, "k", one.version_id) == b"one"
    assert await error_code(store.delete_bucket(B)) == "BucketNotEmpty"
    # Once the retention has run out, the same deletion goes through.
    later = removal_guard(LATER)
    await store.delete_version(Deletion(B, "k", "Enabled", one.version_id, later))
    with pytest.raises(S3Error) as e:
        store.head_object(B, "k", one.version_id)
    assert e.value.code == "NoSuchVersion"


@pytest_twisted.ensureDeferred
async def test_completion_default_retention(store: IObjectStore) -> None:
    """A completion gives the bucket's default retention to an upload that asked for none, and keeps an upload's own."""
    results = []
    for key, meta in (("plain", ObjectMeta()), ("own", ObjectMeta(retention=GOVERNANCE))):
        upload = await store.create_multipart_upload(NewUpload(B, key, meta, OWNER))
        staging = store.open_staging()
        staging.write(b"x")
        done = await store.upload_part(
            NewPart(B, key, upload.upload_id, 1, "9dd4e461268c8034f5c8564e155c67a6"),
            staging,
        )
        completed = await store.complete_multipart_upload(
            Completion(
                B, key, upload.upload_id, [(1, done.etag)], "etag-2",
                versioning="Enabled", retention=COMPLIANCE,
            )
        )  # fmt: skip
        results.append(completed.meta.retention)
    assert results == [COMPLIANCE, GOVERNANCE]
