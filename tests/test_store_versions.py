"""
Versions in the store, against both stores: S3's rules for Enabled and
Suspended versioning, delete markers, deletion by version id (and the
promotion of the next version), guards, version listings with their
markers, and the row counts that show listings stay O(page).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted

from tests.test_store_contract import OWNER, error_code, put, read
from txs3.errors import S3Error
from txs3.store.interface import (
    Deleted,
    Deletion,
    Destination,
    IObjectStore,
    ListQuery,
    ObjectInfo,
    ObjectMeta,
    VersionsPage,
)
from txs3.store.memory import MemoryStore
from txs3.store.sqlite import SQLiteStore

B = "bkt"


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


async def versions(store: IObjectStore, **query: Any) -> list[tuple[str, str, bool, bool]]:
    """(key, version id, is latest, is delete marker) of one listing page."""
    page = await store.list_object_versions(B, ListQuery(**query))
    return [(v.key, v.version_id, v.is_latest, v.delete_marker) for v in page.versions]


@pytest_twisted.ensureDeferred
async def test_enabled_keeps_every_version(store: IObjectStore) -> None:
    """Each PUT under Enabled makes a new version; old ones stay readable by id."""
    one: ObjectInfo = await put(store, B, "k", b"one", versioning="Enabled")
    two: ObjectInfo = await put(store, B, "k", b"two", versioning="Enabled")
    assert one.version_id != two.version_id and "null" not in (one.version_id, two.version_id)
    assert read(store, B, "k") == b"two"
    assert read(store, B, "k", one.version_id) == b"one"
    assert store.head_object(B, "k").version_id == two.version_id
    assert await versions(store) == [
        ("k", two.version_id, True, False),
        ("k", one.version_id, False, False),
    ]
    # ListObjects shows the current version only.
    page = await store.list_objects(B, ListQuery())
    assert [(o.key, o.size) for o in page.contents] == [("k", 3)]


@pytest_twisted.ensureDeferred
async def test_delete_marker_and_undelete(store: IObjectStore) -> None:
    """A DELETE under Enabled hides the key behind a marker; deleting the marker brings it back."""
    one = await put(store, B, "k", b"one", versioning="Enabled")
    deleted = await store.delete_version(Deletion(B, "k", "Enabled"))
    assert deleted.existed and deleted.delete_marker and deleted.version_id
    with pytest.raises(S3Error) as e:
        store.head_object(B, "k")
    assert e.value.code == "NoSuchKey"
    assert e.value.headers == {
        "x-amz-delete-marker": "true",
        "x-amz-version-id": deleted.version_id,
    }
    with pytest.raises(S3Error) as e:
        store.head_object(B, "k", deleted.version_id)
    assert (e.value.code, e.value.status) == ("MethodNotAllowed", 405)
    assert (await store.list_objects(B, ListQuery())).contents == []
    assert await versions(store) == [
        ("k", deleted.version_id, True, True),
        ("k", one.version_id, False, False),
    ]
    undo = await store.delete_version(Deletion(B, "k", "Enabled", deleted.version_id))
    assert undo == Deleted(True, deleted.version_id, True)
    assert read(store, B, "k") == b"one"
    assert store.head_object(B, "k").version_id == one.version_id


@pytest_twisted.ensureDeferred
async def test_delete_current_version_promotes_previous(store: IObjectStore) -> None:
    """Deleting the current version by id makes the previous one current; deleting the last leaves nothing."""
    one = await put(store, B, "k", b"one", versioning="Enabled")
    two = await put(store, B, "k", b"two", versioning="Enabled")
    await store.delete_version(Deletion(B, "k", "Enabled", two.version_id))
    assert read(store, B, "k") == b"one"
    await store.delete_version(Deletion(B, "k", "Enabled", one.version_id))
    assert await versions(store) == []
    with pytest.raises(S3Error) as e:
        store.head_object(B, "k")
    assert e.value.headers == {}
    gone = await store.delete_version(Deletion(B, "k", "Enabled", one.version_id))
    assert not gone.existed
    with pytest.raises(S3Error) as e:
        store.head_object(B, "k", one.version_id)
    assert e.value.code == "NoSuchVersion"


@pytest_twisted.ensureDeferred
async def test_suspended_replaces_the_null_version(store: IObjectStore) -> None:
    """Suspended: PUTs replace the null version, an id'd version stays; DELETE writes a null marker."""
    before = await put(store, B, "k", b"pre-versioning")
    assert before.version_id == "null"
    one = await put(store, B, "k", b"one", versioning="Enabled")
    await put(store, B, "k", b"null-a", versioning="Suspended")
    await put(store, B, "k", b"null-b", versioning="Suspended")
    listed = await versions(store)
    assert listed == [
        ("k", "null", True, False),
        ("k", one.version_id, False, False),
    ]
    assert read(store, B, "k") == b"null-b"
    assert read(store, B, "k", one.version_id) == b"one"
    deleted = await store.delete_version(Deletion(B, "k", "Suspended"))
    assert deleted.version_id == "null" and deleted.delete_marker
    assert await versions(store) == [
        ("k", "null", True, True),
        ("k", one.version_id, False, False),
    ]


@pytest_twisted.ensureDeferred
async def test_unversioned_delete_is_for_good(store: IObjectStore) -> None:
    """With versioning never enabled a DELETE removes the object and leaves no history."""
    await put(store, B, "k", b"x")
    assert (await store.delete_version(Deletion(B, "k"))).existed
    assert await versions(store) == []
    assert not (await store.delete_version(Deletion(B, "k"))).existed


@pytest_twisted.ensureDeferred
async def test_guard_refuses_and_changes_nothing(store: IObjectStore) -> None:
    """A guard that raises keeps the version; in a batch, only that entry fails."""
    one = await put(store, B, "k", b"one", versioning="Enabled")
    await put(store, B, "j", b"jj", versioning="Enabled")
    seen: list[str] = []

    def locked(info: ObjectInfo) -> None:
        seen.append(info.version_id)
        if info.key == "k":
            raise S3Error.of("AccessDenied")

    code = await error_code(
        store.delete_version(Deletion(B, "k", "Enabled", one.version_id, locked))
    )
    assert code == "AccessDenied" and seen == [one.version_id]
    assert read(store, B, "k", one.version_id) == b"one"
    j = store.head_object(B, "j")
    results = await store.delete_versions(
        B,
        [
            Deletion(B, "k", "Enabled", one.version_id, locked),
            Deletion(B, "j", "Enabled", j.version_id, locked),
        ],
    )
    assert isinstance(results[0], S3Error) and results[0].code == "AccessDenied"
    assert results[1] == Deleted(True, j.version_id, False)
    assert read(store, B, "k") == b"one"
    # A marker on top of a locked version is not a removal: no guard call.
    seen.clear()
    await store.delete_version(Deletion(B, "k", "Enabled", None, locked))
    assert seen == []


@pytest_twisted.ensureDeferred
async def test_metadata_by_version(store: IObjectStore) -> None:
    """Tags and ACLs can be set on a noncurrent version without touching the current one."""
    one = await put(store, B, "k", b"one", versioning="Enabled")
    await put(store, B, "k", b"two", versioning="Enabled")
    await store.put_object_tagging(B, "k", (("old", "yes"),), one.version_id)
    await store.put_object_acl(B, "k", "[]", one.version_id)
    old = store.head_object(B, "k", one.version_id)
    assert (old.meta.tags, old.meta.acl) == ((("old", "yes"),), "[]")
    assert store.head_object(B, "k").meta == ObjectMeta()
    assert await error_code(store.put_object_tagging(B, "k", (), "0" * 32)) == (
        "NoSuchVersion"
    )


@pytest_twisted.ensureDeferred
async def test_copy_from_a_version(store: IObjectStore) -> None:
    """copy_current_object copies the named version of its source."""
    one = await put(store, B, "k", b"one", versioning="Enabled")
    await put(store, B, "k", b"two", versioning="Enabled")
    await store.copy_current_object(
        B, "k", Destination(B, "restored", OWNER), lambda s: s.meta, one.version_id
    )
    assert read(store, B, "restored") == b"one"


@pytest_twisted.ensureDeferred
async def test_bucket_with_versions_is_not_empty(store: IObjectStore) -> None:
    """A bucket holding only noncurrent versions or markers cannot be deleted."""
    await put(store, B, "k", b"one", versioning="Enabled")
    await store.delete_version(Deletion(B, "k", "Enabled"))
    assert await error_code(store.delete_bucket(B)) == "BucketNotEmpty"


async def _history(store: IObjectStore) -> dict[str, list[str]]:
    """Keys a, b/1, b/2, c with 3 versions each; c's latest is a marker."""
    made: dict[str, list[str]] = {}
    for key in ("a", "b/1", "b/2", "c"):
        for n in range(3):
            info = await put(store, B, key, f"{key}{n}".encode(), versioning="Enabled")
            made.setdefault(key, []).insert(0, info.version_id)
    marker = await store.delete_version(Deletion(B, "c", "Enabled"))
    assert marker.version_id is not None
    made["c"].insert(0, marker.version_id)
    return made


@pytest_twisted.ensureDeferred
async def test_version_listing_pages(store: IObjectStore) -> None:
    """Paging with key and version-id markers visits every version once, in order."""
    made = await _history(store)
    expected = [(k, v) for k in ("a", "b/1", "b/2", "c") for v in made[k]]
    seen: list[tuple[str, str]] = []
    key_marker, vid_marker = "", ""
    while True:
        page: VersionsPage = await store.list_object_versions(
            B, ListQuery(marker=key_marker, limit=4), vid_marker
        )
        seen += [(v.key, v.version_id) for v in page.versions]
        if not page.is_truncated:
            break
        assert page.next_key_marker is not None
        key_marker = page.next_key_marker
        vid_marker = page.next_version_id_marker or ""
    assert seen == expected


@pytest_twisted.ensureDeferred
async def test_version_listing_prefix_delimiter(store: IObjectStore) -> None:
    """Prefix, delimiter and common prefixes work for versions as for objects."""
    made = await _history(store)
    page = await store.list_object_versions(B, ListQuery(delimiter="/"))
    assert page.common_prefixes == ["b/"]
    assert [(v.key, v.version_id) for v in page.versions] == [
        *(("a", v) for v in made["a"]),
        *(("c", v) for v in made["c"]),
    ]
    latest = [v for v in page.versions if v.is_latest]
    assert [(v.key, v.delete_marker) for v in latest] == [("a", False), ("c", True)]
    page = await store.list_object_versions(B, ListQuery(prefix="b/2"))
    assert [v.version_id for v in page.versions] == made["b/2"]


@pytest_twisted.ensureDeferred
async def test_listings_read_rows_by_page(kind: str, store: IObjectStore) -> None:
    """ListObjects reads one row per current key however many versions exist; a version page reads O(page) rows."""
    for n in range(10):
        for key in ("k1", "k2", "k3"):
            await put(store, B, key, b"%d" % n, versioning="Enabled")
    page = await store.list_objects(B, ListQuery(limit=2))
    assert [o.key for o in page.contents] == ["k1", "k2"]
    if kind == "sqlite":
        assert page.rows_read == 3
    vpage = await store.list_object_versions(B, ListQuery(limit=5))
    assert len(vpage.versions) == 5 and vpage.is_truncated
    if kind == "sqlite":
        assert vpage.rows_read == 6
