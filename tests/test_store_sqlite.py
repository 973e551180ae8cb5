"""
What only L{SQLiteStore} promises: files on disk, durability across
crashes, sweeping of leftovers, failure paths, and listing that skips
common prefixes instead of reading them.

Crashes are real: a child process writes an object and is killed with
SIGKILL at a chosen step (the child patches its own copy of the store to
kill itself there) or at an arbitrary moment; the test then reopens the
data directory and checks that the object is either the old one or the new
one, whole, and that nothing is left over.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted

import txs3
from tests.test_store_contract import put, read, start_upload
from txs3.errors import S3Error
from txs3.store import blobs as blobs_module
from txs3.store.interface import (
    COMPLETED_UPLOAD_TTL,
    Completion,
    Destination,
    ListQuery,
    NewPart,
    ObjectMeta,
)
from txs3.store.sqlite import SQLiteStore

OWNER = "owner-1"
REPO = str(Path(txs3.__file__).parent.parent)


def blob_files(data: Path) -> set[str]:
    """Names of all blob files in data directory C{data}."""
    return {p.name for p in (data / "blobs").glob("*/*")}


def staging_files(data: Path) -> list[Path]:
    """Every file under C{data}/staging other than lock files."""
    return [
        p for p in (data / "staging").rglob("*") if p.is_file() and p.name != "lock"
    ]


def referenced_blobs(data: Path) -> set[str]:
    """Blob ids the index refers to, read with a separate connection."""
    with sqlite3.connect(data / "index.sqlite3") as conn:
        return {row[0] for row in conn.execute("SELECT blob FROM objects")}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest_twisted.async_yield_fixture
async def store(data: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore.open(str(data))
    await store.create_bucket("bkt", OWNER, "us-east-1")
    yield store
    await store.close()


# -- on disk ------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_index_settings(store: SQLiteStore, data: Path) -> None:
    """The index is WAL, synchronous=FULL, has a busy timeout and schema version 5."""
    conn = store._connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(6,)]
    assert (data / "index.sqlite3").exists()


@pytest_twisted.ensureDeferred
async def test_keys_are_blobs_not_paths(store: SQLiteStore, data: Path) -> None:
    """Keys are stored as UTF-8 BLOBs and never become file names."""
    await put(store, "bkt", "../../escape", b"x")
    await put(store, "bkt", "a/b/c", b"y")
    assert not (data.parent / "escape").exists()
    names = blob_files(data)
    assert len(names) == 2
    assert all(len(n) == 32 and int(n, 16) >= 0 for n in names)
    assert names == referenced_blobs(data)
    with sqlite3.connect(data / "index.sqlite3") as conn:
        types = {row[0] for row in conn.execute("SELECT typeof(key) FROM objects")}
    assert types == {"blob"}


@pytest_twisted.ensureDeferred
async def test_schema_from_the_future(store: SQLiteStore, data: Path) -> None:
    """Opening an index with a newer schema version is refused."""
    with sqlite3.connect(data / "index.sqlite3") as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(RuntimeError, match="schema version 99"):
        SQLiteStore(str(data))


@pytest_twisted.ensureDeferred
async def test_list_uses_primary_key(store: SQLiteStore) -> None:
    """The listing query is a range search on the (bucket, key) primary key."""
    from txs3.store.sqlite.schema import SCANS

    conn = store._connection()
    for sql in SCANS.values():
        args = [1] * sql.count("?")
        plan = " ".join(
            str(row[-1]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args)
        )
        assert "SEARCH objects USING PRIMARY KEY" in plan, plan
        assert "TEMP B-TREE" not in plan


# -- blob life cycle ----------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_replace_frees_old_blob(store: SQLiteStore, data: Path) -> None:
    """Replacing an object unlinks the replaced blob after the commit."""
    await put(store, "bkt", "k", b"old")
    first = blob_files(data)
    await put(store, "bkt", "k", b"new")
    assert len(blob_files(data)) == 1
    assert blob_files(data) != first
    assert blob_files(data) == referenced_blobs(data)


@pytest_twisted.ensureDeferred
async def test_delete_frees_blob(store: SQLiteStore, data: Path) -> None:
    """Deleting every object, then the bucket, leaves no blob behind."""
    for key in ["a", "b", "c/d"]:
        await put(store, "bkt", key, b"x")
    for key in ["a", "b", "c/d"]:
        await store.delete_object("bkt", key)
    await store.delete_bucket("bkt")
    assert blob_files(data) == set()
    assert staging_files(data) == []


@pytest_twisted.ensureDeferred
async def test_put_into_vanished_bucket(store: SQLiteStore, data: Path) -> None:
    """A put whose bucket is gone at commit leaves neither blob nor staging file."""
    staging = store.open_staging()
    staging.write(b"x" * 1000)
    await store.delete_bucket("bkt")
    with pytest.raises(S3Error) as info:
        await store.put_object(
            Destination("bkt", "k", OWNER), staging, "e", ObjectMeta()
        )
    assert info.value.code == "NoSuchBucket"
    assert blob_files(data) == set()
    assert staging_files(data) == []


@pytest_twisted.ensureDeferred
async def test_open_object_retries_vanished_blob(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """open_object re-reads the row when the blob vanishes between row and open."""
    await put(store, "bkt", "k", b"old")
    real_open = store._blobs.open
    calls: list[str] = []

    def racing_open(blob_id: str) -> Any:
        calls.append(blob_id)
        if len(calls) == 1:
            # Simulate a replace committing between our SELECT and open().
            raise FileNotFoundError(blob_id)
        return real_open(blob_id)

    monkeypatch.setattr(store._blobs, "open", racing_open)
    _, f = store.open_object("bkt", "k")
    with f:
        assert f.read() == b"old"
    assert len(calls) == 2


# -- failures -----------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_disk_full_on_write(
    store: SQLiteStore, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while staging is InsufficientStorage; staging gone, old object intact."""
    await put(store, "bkt", "k", b"old")
    staging = store.open_staging()
    staging.write(b"partial")
    real_write = os.write
    target_fd = staging._fd  # type: ignore[attr-defined]

    def full_write(fd: int, payload: Any) -> int:
        if fd == target_fd:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, payload)

    monkeypatch.setattr(blobs_module.os, "write", full_write)
    monkeypatch.setattr(blobs_module, "_last_full_log", -1e9)
    logged: list[dict[str, Any]] = []
    from twisted.logger import globalLogPublisher

    globalLogPublisher.addObserver(logged.append)
    try:
        with pytest.raises(S3Error) as info:
            staging.write(b"more")
    finally:
        globalLogPublisher.removeObserver(logged.append)
    monkeypatch.undo()
    assert info.value.code == "InsufficientStorage"
    assert info.value.status == 507
    # The operator is told, in one line naming where.
    [event] = [e for e in logged if "is full" in e.get("log_format", "")]
    assert event["where"].startswith(str(data))
    assert staging_files(data) == []
    staging.discard()
    assert read(store, "bkt", "k") == b"old"


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO])
@pytest_twisted.ensureDeferred
async def test_fsync_failure(
    store: SQLiteStore, data: Path, monkeypatch: pytest.MonkeyPatch, err: int
) -> None:
    """A failing fsync fails the put (ENOSPC: InsufficientStorage), old one kept."""
    await put(store, "bkt", "k", b"old")
    staging = store.open_staging()
    staging.write(b"new")
    target_fd = staging._fd  # type: ignore[attr-defined]
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        if fd == target_fd:
            raise OSError(err, os.strerror(err))
        real_fsync(fd)

    monkeypatch.setattr(blobs_module.os, "fsync", failing_fsync)
    with pytest.raises((S3Error, OSError)) as info:
        await store.put_object(
            Destination("bkt", "k", OWNER), staging, "e", ObjectMeta()
        )
    monkeypatch.undo()
    if err == errno.ENOSPC:
        assert isinstance(info.value, S3Error)
        assert info.value.code == "InsufficientStorage"
    assert read(store, "bkt", "k") == b"old"
    assert staging_files(data) == []
    assert blob_files(data) == referenced_blobs(data)


@pytest_twisted.ensureDeferred
async def test_commit_failure(
    store: SQLiteStore, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing index transaction removes the new blob and keeps the old object."""
    await put(store, "bkt", "k", b"old")

    def broken_txn(f: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "_write_txn", broken_txn)
    with pytest.raises(sqlite3.OperationalError):
        await put(store, "bkt", "k", b"new")
    monkeypatch.undo()
    assert read(store, "bkt", "k") == b"old"
    assert blob_files(data) == referenced_blobs(data)
    assert staging_files(data) == []


@pytest_twisted.ensureDeferred
async def test_close(data: Path) -> None:
    """close() is idempotent, removes the staging directory, and refuses new work."""
    store = SQLiteStore.open(str(data))
    staging = store.open_staging()
    staging.write(b"abandoned")
    await store.close()
    await store.close()
    assert list((data / "staging").iterdir()) == []
    with pytest.raises(ValueError):
        await store.create_bucket("b", OWNER, "us-east-1")


# -- leftovers ----------------------------------------------------------------


def make_dead_staging(data: Path, name: str) -> Path:
    """A staging directory whose owner died: lock file present, unlocked."""
    d = data / "staging" / name
    d.mkdir(parents=True)
    (d / "lock").write_bytes(b"")
    (d / "0123").write_bytes(b"half an upload")
    return d


@pytest_twisted.ensureDeferred
async def test_sweep_staging(store: SQLiteStore, data: Path) -> None:
    """Opening sweeps unlocked staging directories and keeps locked ones."""
    dead = make_dead_staging(data, "999-dead")
    live = make_dead_staging(data, "998-live")
    fd = os.open(live / "lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    young_new = data / "staging" / "997-x.new"
    young_new.mkdir()
    try:
        other = SQLiteStore.open(str(data))
        assert not dead.exists()
        assert (live / "0123").exists()
        assert young_new.exists()  # may be a process starting up right now
        # The first store's directory is live too.
        assert (data / "staging" / store._staging.instance).exists()
        await other.close()
    finally:
        os.close(fd)
    later = SQLiteStore.open(str(data), now=lambda: time.time() + 3600)
    assert not live.exists()
    assert not young_new.exists()
    await later.close()


@pytest_twisted.ensureDeferred
async def test_sweep_orphans_after_grace(store: SQLiteStore, data: Path) -> None:
    """Unreferenced blobs are deleted only once older than the grace period."""
    await put(store, "bkt", "k", b"kept")
    orphan = data / "blobs" / "ab" / ("ab" + "0" * 30)
    orphan.write_bytes(b"crashed before commit")
    foreign = data / "blobs" / "ab" / "README"
    foreign.write_bytes(b"not ours")

    fresh = SQLiteStore.open(str(data))
    assert orphan.exists()  # could be another process's commit in flight
    await fresh.close()

    later = SQLiteStore.open(str(data), now=lambda: time.time() + 3600)
    assert not orphan.exists()
    assert foreign.exists()
    assert read(later, "bkt", "k") == b"kept"
    assert len(blob_files(data) - {"README"}) == 1
    await later.close()


@pytest_twisted.ensureDeferred
async def test_sweep_deferred(store: SQLiteStore, data: Path) -> None:
    """sweep() runs off the reactor thread and reports what it removed."""
    make_dead_staging(data, "1-dead")
    orphan = data / "blobs" / "cd" / ("cd" + "1" * 30)
    orphan.write_bytes(b"x")
    store._orphan_grace = 0
    assert await store.sweep() == (1, 1)


@pytest_twisted.ensureDeferred
async def test_two_stores_share_a_directory(store: SQLiteStore, data: Path) -> None:
    """A second store on the same directory sees the first one's commits at once."""
    other = SQLiteStore.open(str(data))
    try:
        await put(store, "bkt", "k", b"one")
        assert read(other, "bkt", "k") == b"one"
        await put(other, "bkt", "k", b"two")
        assert read(store, "bkt", "k") == b"two"
        assert [b.name for b in other.list_buckets(OWNER)] == ["bkt"]
        page = await other.list_objects("bkt", ListQuery("", "", "", 10))
        assert [o.key for o in page.contents] == ["k"]
    finally:
        await other.close()


# -- listing efficiency -------------------------------------------------------


def bulk_insert(data: Path, bucket: str, keys: list[str]) -> None:
    """Insert index rows without blobs, fast: for listing tests only."""
    with sqlite3.connect(data / "index.sqlite3") as conn:
        conn.executemany(
            "INSERT INTO objects (bucket, key, size, etag, last_modified,"
            " owner_id, meta, blob) VALUES (?, ?, 0, 'e', 0, ?, ?, NULL)",
            (
                (bucket, k.encode(), OWNER, '{"headers":[],"user":[],"checksums":[]}')
                for k in keys
            ),
        )


@pytest_twisted.ensureDeferred
async def test_common_prefixes_are_skipped(store: SQLiteStore, data: Path) -> None:
    """Listing 100,000 keys under 100 prefixes with '/' reads about 100 rows."""
    keys = [f"dir{p:03d}/file{i:04d}" for p in range(100) for i in range(1000)]
    bulk_insert(data, "bkt", keys)
    page = await store.list_objects("bkt", ListQuery("", "/", "", 1000))
    assert page.common_prefixes == [f"dir{p:03d}/" for p in range(100)]
    assert page.contents == []
    assert not page.is_truncated
    assert page.rows_read < 300

    page = await store.list_objects(
        "bkt", ListQuery("dir050/", "/", "dir050/file0499", 10)
    )
    assert page.contents[0].key == "dir050/file0500"
    assert page.rows_read <= 11

    page = await store.list_objects("bkt", ListQuery("", "/", "dir041/", 5))
    assert page.common_prefixes == [f"dir{p:03d}/" for p in range(42, 47)]
    assert page.rows_read < 15


# -- crashes ------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import hashlib, os, signal, sys
    from twisted.internet import task
    from txs3.store import blobs, sqlite
    from txs3.store.interface import Destination, ObjectMeta

    data_dir, point = sys.argv[1], sys.argv[2]

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    def after(cls, name):
        original = getattr(cls, name)
        def patched(*args, **kwargs):
            result = original(*args, **kwargs)
            die()
            return result
        setattr(cls, name, patched)

    if point == "before-rename":
        after(blobs.StagingFile, "fsync")
    elif point == "before-commit":
        after(blobs.BlobStore, "publish")
    elif point == "before-unlink-old":
        sqlite.SQLiteStore._free_blob = die

    def content(version):
        return (b"%08d" % version) * (16384 + 997 * version)

    async def main(reactor):
        store = sqlite.SQLiteStore.open(data_dir, reactor)
        version = 1
        while True:
            body = content(version)
            staging = store.open_staging()
            for i in range(0, len(body), 65536):
                staging.write(body[i:i + 65536])
                if point == "mid-write" and i > 65536:
                    die()
            await store.put_object(
                Destination("bkt", "k", "owner-1"), staging,
                hashlib.md5(body).hexdigest(), ObjectMeta())
            print(version, flush=True)
            version += 1
            if point != "loop":
                break
        await store.close()

    task.react(main)
    """
)


def content(version: int) -> bytes:
    """What the child writes as version C{version} of the object."""
    return (b"%08d" % version) * (16384 + 997 * version)


def spawn(tmp_path: Path, data: Path, point: str) -> subprocess.Popen[bytes]:
    """Start the child writer for crash point C{point}."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.Popen(
        [sys.executable, str(script), str(data), point],
        stdout=subprocess.PIPE,
        env=env,
    )


async def check_after_crash(data: Path, versions: set[int]) -> int:
    """
    Reopen C{data} (grace 0, so every leftover is swept) and check that key
    C{k} is exactly one of C{versions}, whole; return which one.
    """
    store = SQLiteStore.open(str(data), orphan_grace=0)
    try:
        info = store.head_object("bkt", "k")
        body = read(store, "bkt", "k")
        version = int(body[:8])
        assert version in versions
        assert body == content(version)
        assert info.etag == hashlib.md5(body).hexdigest()
        assert info.size == len(body)
        assert staging_files(data) == []
        assert [p.name for p in (data / "staging").iterdir()] == [
            store._staging.instance
        ]
        assert blob_files(data) == referenced_blobs(data)
        return version
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("point", "survivor"),
    [
        ("mid-write", 0),
        ("before-rename", 0),
        ("before-commit", 0),
        ("before-unlink-old", 1),
    ],
)
@pytest_twisted.ensureDeferred
async def test_crash_at_step(
    tmp_path: Path, data: Path, point: str, survivor: int
) -> None:
    """A writer killed at each step leaves old or new object and no leftovers."""
    store = SQLiteStore.open(str(data))
    await store.create_bucket("bkt", OWNER, "us-east-1")
    await put(store, "bkt", "k", content(0))
    await store.close()

    child = spawn(tmp_path, data, point)
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert await check_after_crash(data, {0, 1}) == survivor


@pytest.mark.parametrize("kill_after", [1, 4, 9])
@pytest_twisted.ensureDeferred
async def test_crash_at_random_moment(
    tmp_path: Path, data: Path, kill_after: int
) -> None:
    """A writer killed at an arbitrary moment never leaves a mixed object."""
    store = SQLiteStore.open(str(data))
    await store.create_bucket("bkt", OWNER, "us-east-1")
    await put(store, "bkt", "k", content(0))
    await store.close()

    child = spawn(tmp_path, data, "loop")
    assert child.stdout is not None
    committed = 0
    while committed < kill_after:
        committed = int(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=60)
    # Version `committed` was acknowledged, so it or a later one is there.
    version = await check_after_crash(data, set(range(committed, committed + 3)))
    assert version >= committed


# -- multipart uploads and shared blobs ---------------------------------------


async def stage_part(
    store: SQLiteStore, upload_id: str, number: int, data: bytes, key: str = "mp"
) -> str:
    """Upload part C{number} of C{upload_id}; return its ETag."""
    staging = store.open_staging()
    staging.write(data)
    etag = hashlib.md5(data).hexdigest()
    await store.upload_part(NewPart("bkt", key, upload_id, number, etag), staging)
    return etag


def all_referenced(data: Path) -> set[str]:
    """Blob ids named by objects, object extents and part extents."""
    with sqlite3.connect(data / "index.sqlite3") as conn:
        rows = conn.execute(
            "SELECT blob FROM objects WHERE blob IS NOT NULL"
            " UNION SELECT blob FROM object_extents UNION SELECT blob FROM part_extents"
        )
        return {row[0] for row in rows}


@pytest_twisted.ensureDeferred
async def test_abort_frees_blobs(store: SQLiteStore, data: Path) -> None:
    """Aborting an upload unlinks its parts' blobs."""
    up = await start_upload(store)
    for n in (1, 2, 3):
        await stage_part(store, up.upload_id, n, b"x" * 100)
    assert len(blob_files(data)) == 3
    await store.abort_multipart_upload("bkt", "mp", up.upload_id)
    assert blob_files(data) == set()


@pytest_twisted.ensureDeferred
async def test_part_replacement_frees_old_blob(store: SQLiteStore, data: Path) -> None:
    """Re-uploading a part number unlinks the replaced part's blob."""
    up = await start_upload(store)
    await stage_part(store, up.upload_id, 1, b"old")
    first = blob_files(data)
    await stage_part(store, up.upload_id, 1, b"new")
    assert len(blob_files(data)) == 1 and blob_files(data) != first
    assert blob_files(data) == all_referenced(data)


@pytest_twisted.ensureDeferred
async def test_uploads_survive_reopen(store: SQLiteStore, data: Path) -> None:
    """An upload and its parts are in the index: another store opening later sees them."""
    up = await start_upload(store)
    etag = await stage_part(store, up.upload_id, 1, b"part one")
    await store.close()
    reopened = SQLiteStore.open(str(data), orphan_grace=0)
    try:
        assert reopened.get_upload("bkt", "mp", up.upload_id) == up
        page = await reopened.list_parts("bkt", "mp", up.upload_id, 0, 10)
        assert [p.etag for p in page.parts] == [etag]
        await reopened.complete_multipart_upload(
            Completion("bkt", "mp", up.upload_id, [(1, etag)], "e-1"),
        )
        assert read(reopened, "bkt", "mp") == b"part one"
    finally:
        await reopened.close()


@pytest_twisted.ensureDeferred
async def test_complete_reads_and_writes_no_bytes(
    store: SQLiteStore, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Completion opens no blob and creates none: the parts' blobs become the object's."""
    up = await start_upload(store)
    etags = [
        await stage_part(store, up.upload_id, n, os.urandom(70_000)) for n in (1, 2)
    ]
    before = {p: (data / "blobs" / p[:2] / p).stat().st_ino for p in blob_files(data)}

    def no_open(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("completion opened a file")

    monkeypatch.setattr(store._blobs, "open", no_open)
    monkeypatch.setattr(store._blobs, "publish", no_open)
    monkeypatch.setattr("builtins.open", no_open)
    info = await store.complete_multipart_upload(
        Completion("bkt", "mp", up.upload_id, [(1, etags[0]), (2, etags[1])], "e-2"),
    )
    monkeypatch.undo()
    after = {p: (data / "blobs" / p[:2] / p).stat().st_ino for p in blob_files(data)}
    assert after == before
    assert info.size == 140_000 and info.blob == ""


@pytest_twisted.ensureDeferred
async def test_copy_shares_blobs(store: SQLiteStore, data: Path) -> None:
    """A copy adds no blob; the shared blob lives until the last copy is deleted."""
    src = await put(store, "bkt", "src", b"shared bytes" * 10_000)
    copy = await store.copy_object(src, Destination("bkt", "dst", OWNER), ObjectMeta())
    assert copy.blob == src.blob and len(blob_files(data)) == 1
    await store.delete_object("bkt", "src")
    assert read(store, "bkt", "dst") == b"shared bytes" * 10_000
    assert blob_files(data) == {src.blob}
    await put(store, "bkt", "dst", b"replaced")
    assert src.blob not in blob_files(data)
    assert blob_files(data) == all_referenced(data)


@pytest_twisted.ensureDeferred
async def test_multipart_copy_and_part_copy_share_blobs(
    store: SQLiteStore, data: Path
) -> None:
    """Copies and part copies of a multipart object keep its blobs alive as long as needed."""
    up = await start_upload(store)
    etags = [await stage_part(store, up.upload_id, n, b"%d" % n * 1000) for n in (1, 2)]
    src = await store.complete_multipart_upload(
        Completion("bkt", "mp", up.upload_id, [(1, etags[0]), (2, etags[1])], "e-2"),
    )
    await store.copy_object(src, Destination("bkt", "copy", OWNER), ObjectMeta())
    up2 = await start_upload(store, "mp2")
    await store.upload_part_copy(
        NewPart("bkt", "mp2", up2.upload_id, 1, "p"),
        src,
        500,
        1000,
    )
    parts = blob_files(data)
    assert len(parts) == 2
    await store.delete_object("bkt", "mp")
    await store.delete_object("bkt", "copy")
    assert blob_files(data) == parts  # the part copy still names both
    await store.abort_multipart_upload("bkt", "mp2", up2.upload_id)
    assert blob_files(data) == set()


@pytest_twisted.ensureDeferred
async def test_sweep_keeps_shared_and_part_blobs(
    store: SQLiteStore, data: Path
) -> None:
    """The orphan sweep keeps blobs named only by extents or parts in flight."""
    up = await start_upload(store)
    etag = await stage_part(store, up.upload_id, 1, b"done")
    await store.complete_multipart_upload(
        Completion("bkt", "mp", up.upload_id, [(1, etag)], "e-1"),
    )
    up2 = await start_upload(store, "mp2")
    await stage_part(store, up2.upload_id, 1, b"in flight", key="mp2")
    orphan = data / "blobs" / "ef" / ("ef" + "2" * 30)
    orphan.write_bytes(b"orphan")
    store._orphan_grace = 0
    assert await store.sweep() == (0, 1)
    assert len(blob_files(data)) == 2
    assert read(store, "bkt", "mp") == b"done"


@pytest_twisted.ensureDeferred
async def test_delete_bucket_aborts_uploads(store: SQLiteStore, data: Path) -> None:
    """Deleting a bucket with uploads in flight succeeds (as AWS) and frees their blobs."""
    up = await start_upload(store)
    await stage_part(store, up.upload_id, 1, b"abandoned")
    await store.delete_bucket("bkt")
    assert blob_files(data) == set()
    with sqlite3.connect(data / "index.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM uploads").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM parts").fetchone() == (0,)


@pytest_twisted.ensureDeferred
async def test_replacing_multipart_object_frees_its_blobs(
    store: SQLiteStore, data: Path
) -> None:
    """Replacing a multipart object unlinks the blobs of all its parts."""
    up = await start_upload(store)
    etags = [await stage_part(store, up.upload_id, n, b"x" * n) for n in (1, 2, 3)]
    await store.complete_multipart_upload(
        Completion(
            "bkt", "mp", up.upload_id, list(zip((1, 2, 3), etags, strict=True)), "e-3"
        ),
    )
    assert len(blob_files(data)) == 3
    await put(store, "bkt", "mp", b"single")
    assert len(blob_files(data)) == 1
    assert blob_files(data) == all_referenced(data)


@pytest_twisted.ensureDeferred
async def test_open_multipart_survives_replace(store: SQLiteStore) -> None:
    """A multipart object opened before a replace reads the old bytes whole."""
    up = await start_upload(store)
    etags = [
        await stage_part(store, up.upload_id, n, bytes([n]) * 1000) for n in (1, 2)
    ]
    await store.complete_multipart_upload(
        Completion("bkt", "mp", up.upload_id, [(1, etags[0]), (2, etags[1])], "e-2"),
    )
    _, f = store.open_object("bkt", "mp")
    with f:
        await put(store, "bkt", "mp", b"new")
        assert f.read() == b"\x01" * 1000 + b"\x02" * 1000


async def migrated(data: Path, content: bytes, *statements: str) -> SQLiteStore:
    """
    Make a store in C{data} holding C{content} as C{bkt/k}, turn its index
    into an older schema's by running C{statements} on it, and open it
    again: the store, checked to be at version 5 with C{bkt/k} readable.
    """
    store = SQLiteStore.open(str(data))
    await store.create_bucket("bkt", OWNER, "us-east-1")
    await put(store, "bkt", "k", content)
    await store.close()
    with sqlite3.connect(data / "index.sqlite3") as conn:
        # No older schema had usage counters or quota triggers.
        for name in ("quota_objects", "usage_objects_in", "usage_objects_out",
                     "usage_versions_in", "usage_versions_out"):  # fmt: skip
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE bucket_usage")
        for sql in statements:
            conn.execute(sql)
    store = SQLiteStore.open(str(data))
    try:
        assert read(store, "bkt", "k") == content
        conn = store._connection()
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(6,)]
    except BaseException:
        await store.close()
        raise
    return store


@pytest_twisted.ensureDeferred
async def test_schema_1_migrates(tmp_path: Path) -> None:
    """A version 1 index is migrated to version 5 and its objects stay readable."""
    store = await migrated(
        tmp_path / "old",
        b"old data",
        *(
            f"DROP TABLE {table}"
            for table in (
                "object_extents",
                "uploads",
                "parts",
                "part_extents",
                "completed_uploads",
            )
        ),
        "ALTER TABLE objects DROP COLUMN version",
        "ALTER TABLE objects DROP COLUMN version_id",
        "ALTER TABLE objects DROP COLUMN seq",
        "DROP TABLE versions",
        "DROP TABLE version_extents",
        "ALTER TABLE buckets DROP COLUMN serial",
        "DROP TABLE bucket_settings",
        "UPDATE schema_version SET version = 1",
    )
    try:
        src = store.head_object("bkt", "k")
        await store.copy_object(src, Destination("bkt", "k2", OWNER), ObjectMeta())
        assert read(store, "bkt", "k2") == b"old data"
    finally:
        await store.close()


async def complete_one(store: SQLiteStore, key: str = "mp") -> str:
    """Complete a one-part upload of C{key}; return its upload id."""
    up = await start_upload(store, key)
    staging = store.open_staging()
    staging.write(b"part")
    etag = hashlib.md5(b"part").hexdigest()
    await store.upload_part(NewPart("bkt", key, up.upload_id, 1, etag), staging)
    await store.complete_multipart_upload(
        Completion("bkt", key, up.upload_id, [(1, etag)], "e-1"),
    )
    return up.upload_id


@pytest_twisted.ensureDeferred
async def test_schema_2_migrates(tmp_path: Path) -> None:
    """A version 2 index gains the completed-uploads table; completions are recorded."""
    store = await migrated(
        tmp_path / "v2",
        b"v2 data",
        "DROP TABLE completed_uploads",
        "UPDATE schema_version SET version = 2",
    )
    try:
        upload_id = await complete_one(store)
        assert store.get_completed_upload("bkt", "mp", upload_id).etag == "e-1"
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_schema_3_migrates(tmp_path: Path) -> None:
    """A version 3 index gains bucket settings and the bucket serial."""
    store = await migrated(
        tmp_path / "v3",
        b"v3 data",
        "DROP TABLE bucket_settings",
        "ALTER TABLE buckets DROP COLUMN serial",
        "UPDATE schema_version SET version = 3",
    )
    try:
        assert store.get_bucket("bkt").serial == 0
        await store.put_bucket_setting("bkt", "policy", "{}")
        assert store.get_bucket_settings("bkt") == {"policy": "{}"}
        assert store.get_bucket("bkt").serial == 1
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_schema_4_migrates(tmp_path: Path) -> None:
    """A version 4 index gains versions; its objects read as version null and keep their history from then on."""
    store = await migrated(
        tmp_path / "v4",
        b"v4 data",
        "DROP TABLE versions",
        "DROP TABLE version_extents",
        "ALTER TABLE objects DROP COLUMN version_id",
        "ALTER TABLE objects DROP COLUMN seq",
        "UPDATE schema_version SET version = 4",
    )
    try:
        assert store.head_object("bkt", "k").version_id == "null"
        await put(store, "bkt", "k", b"newer", versioning="Enabled")
        assert read(store, "bkt", "k") == b"newer"
        assert store.head_object("bkt", "k", "null").size == len(b"v4 data")
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_sweep_purges_old_completions(store: SQLiteStore, data: Path) -> None:
    """The sweep forgets completed uploads older than COMPLETED_UPLOAD_TTL only."""
    upload_id = await complete_one(store)
    await store.sweep()
    assert store.get_completed_upload("bkt", "mp", upload_id).etag == "e-1"
    store._now = lambda: time.time() + COMPLETED_UPLOAD_TTL + 60
    await store.sweep()
    with pytest.raises(S3Error) as info:
        store.get_completed_upload("bkt", "mp", upload_id)
    assert info.value.code == "NoSuchUpload"
