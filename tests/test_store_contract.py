"""
The L{IObjectStore} contract, run against every implementation.

L{StoreContract} is one mixin of tests; each subclass supplies a store
(C{make_store}).  Whatever passes here for L{MemoryStore} may be relied on
by handler tests and holds for L{SQLiteStore} in production.  The property
test at the end compares both stores' listings, page by page, with a
reference model written directly from S3's rules.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zope.interface.verify import verifyObject

from txs3.errors import S3Error
from txs3.store.interface import (
    Completion,
    Destination,
    IObjectStore,
    IStagingFile,
    ListPage,
    ListQuery,
    NewPart,
    NewUpload,
    ObjectMeta,
    SourceChanged,
    UploadInfo,
    Versioning,
    WriteCondition,
)
from txs3.store.memory import MemoryStore
from txs3.store.sqlite import SQLiteStore

OWNER = "owner-1"
OTHER = "owner-2"

NASTY_KEYS = [
    "a",
    "a/b",
    "a/",
    "//",
    "a//b",
    "%2F",
    "a%2Fb",
    "+",
    "a b",
    " ",
    "..",
    "../../etc/passwd",
    "./x",
    "?",
    "a?b=c",
    "#",
    "x#y",
    "é",
    "日本語/ファイル",
    "\U0001f600",
    "\ue000",
    "\U00010000",
    "trailing/",
    "back\\slash",
    "nul\x00byte",
    "k" * 1024,
    "é" * 512,
]


async def put(
    store: IObjectStore,
    bucket: str,
    key: str,
    data: bytes,
    meta: ObjectMeta | None = None,
    versioning: Versioning = "",
) -> Any:
    """Upload C{data} to C{bucket}/C{key} the way the server does."""
    staging = store.open_staging()
    for i in range(0, len(data), 65536):
        staging.write(data[i : i + 65536])
    return await store.put_object(
        Destination(bucket, key, OWNER, versioning=versioning),
        staging,
        hashlib.md5(data).hexdigest(),
        meta or ObjectMeta(),
    )


async def start_upload(store: IObjectStore, key: str = "mp") -> UploadInfo:
    """Start a multipart upload of C{bkt/key} with no metadata."""
    return await store.create_multipart_upload(
        NewUpload("bkt", key, ObjectMeta(), OWNER)
    )


def read(
    store: IObjectStore, bucket: str, key: str, version_id: str | None = None
) -> bytes:
    """The bytes of C{bucket}/C{key}, read through open_object."""
    _, f = store.open_object(bucket, key, version_id)
    with f:
        return f.read()


async def error_code(d: Any) -> str:
    """Await C{d}, which must fail with an S3Error; return its code."""
    with pytest.raises(S3Error) as info:
        await d
    return info.value.code


def entries(page: ListPage) -> list[str]:
    """A page's keys and common prefixes, merged in byte order."""
    names = [o.key for o in page.contents] + page.common_prefixes
    return sorted(names, key=lambda n: n.encode())


class StoreContract:
    """Tests every IObjectStore must pass; subclasses define make_store."""

    def make_store(self, tmp_path: Path) -> IObjectStore:
        raise NotImplementedError

    @pytest_twisted.async_yield_fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[IObjectStore]:
        store = self.make_store(tmp_path)
        yield store
        await store.close()

    @pytest_twisted.async_yield_fixture
    async def bucket(self, store: IObjectStore) -> AsyncIterator[str]:
        await store.create_bucket("bkt", OWNER, "us-east-1")
        yield "bkt"

    # -- buckets --

    @pytest_twisted.ensureDeferred
    async def test_provides_interface(self, store: IObjectStore) -> None:
        """The store and its staging files provide the interfaces."""
        assert verifyObject(IObjectStore, store)
        staging = store.open_staging()
        assert verifyObject(IStagingFile, staging)
        staging.discard()

    @pytest_twisted.ensureDeferred
    async def test_create_and_get_bucket(self, store: IObjectStore) -> None:
        """A created bucket is returned by get_bucket with its owner and region."""
        info = await store.create_bucket("b1", OWNER, "eu-west-1")
        assert (info.name, info.owner_id, info.region) == ("b1", OWNER, "eu-west-1")
        assert store.get_bucket("b1") == info

    @pytest_twisted.ensureDeferred
    async def test_get_missing_bucket(self, store: IObjectStore) -> None:
        """get_bucket of an unknown name raises NoSuchBucket naming it."""
        with pytest.raises(S3Error) as info:
            store.get_bucket("nope")
        assert info.value.code == "NoSuchBucket"
        assert info.value.extra["BucketName"] == "nope"

    @pytest_twisted.ensureDeferred
    async def test_create_existing_bucket(self, store: IObjectStore) -> None:
        """Re-creating fails: BucketAlreadyOwnedByYou or BucketAlreadyExists."""
        await store.create_bucket("b1", OWNER, "us-east-1")
        code = await error_code(store.create_bucket("b1", OWNER, "us-east-1"))
        assert code == "BucketAlreadyOwnedByYou"
        code = await error_code(store.create_bucket("b1", OTHER, "us-east-1"))
        assert code == "BucketAlreadyExists"

    @pytest_twisted.ensureDeferred
    async def test_list_buckets(self, store: IObjectStore) -> None:
        """list_buckets returns only the owner's buckets, sorted by name."""
        for name, owner in [("zz", OWNER), ("aa", OWNER), ("mm", OTHER)]:
            await store.create_bucket(name, owner, "us-east-1")
        assert [b.name for b in store.list_buckets(OWNER)] == ["aa", "zz"]
        assert [b.name for b in store.list_buckets(OTHER)] == ["mm"]
        assert store.list_buckets("nobody") == []

    @pytest_twisted.ensureDeferred
    async def test_delete_bucket(self, store: IObjectStore, bucket: str) -> None:
        """An empty bucket can be deleted, after which it does not exist."""
        await store.delete_bucket(bucket)
        with pytest.raises(S3Error):
            store.get_bucket(bucket)
        assert await error_code(store.delete_bucket(bucket)) == "NoSuchBucket"

    @pytest_twisted.ensureDeferred
    async def test_delete_nonempty_bucket(
        self, store: IObjectStore, bucket: str
    ) -> None:
        """Deleting a bucket that holds an object fails with BucketNotEmpty."""
        await put(store, bucket, "k", b"x")
        assert await error_code(store.delete_bucket(bucket)) == "BucketNotEmpty"
        await store.delete_object(bucket, "k")
        await store.delete_bucket(bucket)

    # -- objects --

    @pytest_twisted.ensureDeferred
    async def test_put_head_open(self, store: IObjectStore, bucket: str) -> None:
        """A put object is returned by head_object and open_object with its metadata."""
        meta = ObjectMeta(
            headers=(("content-type", "text/plain"), ("cache-control", "no-cache")),
            user_metadata=(("colour", "blue"), ("x", "é")),
            checksums=(("CRC32", "AAAAAA=="),),
        )
        data = b"hello world" * 10000
        info = await put(store, bucket, "dir/file.txt", data, meta)
        assert info.size == len(data)
        assert info.etag == hashlib.md5(data).hexdigest()
        assert info.owner_id == OWNER
        assert info.meta == meta
        head = store.head_object(bucket, "dir/file.txt")
        assert head == info
        assert head.meta.header("content-type") == "text/plain"
        assert read(store, bucket, "dir/file.txt") == data

    @pytest_twisted.ensureDeferred
    async def test_empty_object(self, store: IObjectStore, bucket: str) -> None:
        """A zero-byte object round-trips."""
        info = await put(store, bucket, "empty", b"")
        assert info.size == 0
        assert read(store, bucket, "empty") == b""

    @pytest_twisted.ensureDeferred
    async def test_replace(self, store: IObjectStore, bucket: str) -> None:
        """A second put replaces the object's bytes and entry."""
        await put(store, bucket, "k", b"old")
        info = await put(store, bucket, "k", b"new bytes")
        assert store.head_object(bucket, "k") == info
        assert read(store, bucket, "k") == b"new bytes"

    @pytest_twisted.ensureDeferred
    async def test_open_survives_replace(
        self, store: IObjectStore, bucket: str
    ) -> None:
        """A file from open_object still reads the old bytes after a replace."""
        old = b"o" * 300_000
        await put(store, bucket, "k", old)
        info, f = store.open_object(bucket, "k")
        with f:
            await put(store, bucket, "k", b"new")
            await store.delete_object(bucket, "k")
            assert f.read() == old
        assert info.size == len(old)

    @pytest_twisted.ensureDeferred
    async def test_nasty_keys_round_trip(
        self, store: IObjectStore, bucket: str
    ) -> None:
        """Keys unsafe or ambiguous as paths coexist and round-trip."""
        for i, key in enumerate(NASTY_KEYS):
            await put(store, bucket, key, f"{i}".encode())
        for i, key in enumerate(NASTY_KEYS):
            assert store.head_object(bucket, key).key == key
            assert read(store, bucket, key) == f"{i}".encode()
        page = await store.list_objects(bucket, ListQuery())
        assert [o.key for o in page.contents] == sorted(
            NASTY_KEYS, key=lambda k: k.encode()
        )

    @pytest_twisted.ensureDeferred
    async def test_key_too_long(self, store: IObjectStore, bucket: str) -> None:
        """A key over 1024 UTF-8 bytes is KeyTooLongError; the staging file is gone."""
        staging = store.open_staging()
        staging.write(b"data")
        d = store.put_object(
            Destination(bucket, "é" * 513, OWNER),
            staging,
            "x",
            ObjectMeta(),
        )
        assert await error_code(d) == "KeyTooLongError"
        with pytest.raises(ValueError):
            staging.write(b"more")
        staging.discard()
        with pytest.raises(S3Error) as info:
            store.head_object(bucket, "k" * 1025)
        assert info.value.code == "KeyTooLongError"

    @pytest_twisted.ensureDeferred
    async def test_empty_key(self, store: IObjectStore, bucket: str) -> None:
        """An empty key is refused with InvalidArgument."""
        staging = store.open_staging()
        d = store.put_object(Destination(bucket, "", OWNER), staging, "x", ObjectMeta())
        assert await error_code(d) == "InvalidArgument"

    @pytest_twisted.ensureDeferred
    async def test_put_missing_bucket(self, store: IObjectStore) -> None:
        """A put into a bucket that does not exist fails with NoSuchBucket."""
        staging = store.open_staging()
        staging.write(b"x")
        d = store.put_object(
            Destination("nope", "k", OWNER), staging, "x", ObjectMeta()
        )
        assert await error_code(d) == "NoSuchBucket"

    @pytest_twisted.ensureDeferred
    async def test_head_missing(self, store: IObjectStore, bucket: str) -> None:
        """head/open of a missing key is NoSuchKey; of a missing bucket NoSuchBucket."""
        for f in (store.head_object, store.open_object):
            with pytest.raises(S3Error) as info:
                f(bucket, "missing")
            assert info.value.code == "NoSuchKey"
            assert info.value.extra["Key"] == "missing"
            with pytest.raises(S3Error) as info:
                f("nope", "k")
            assert info.value.code == "NoSuchBucket"

    @pytest_twisted.ensureDeferred
    async def test_delete_object(self, store: IObjectStore, bucket: str) -> None:
        """delete_object reports whether the key existed and removes it."""
        await put(store, bucket, "k", b"x")
        assert await store.delete_object(bucket, "k") is True
        assert await store.delete_object(bucket, "k") is False
        with pytest.raises(S3Error):
            store.head_object(bucket, "k")
        assert await error_code(store.delete_object("nope", "k")) == "NoSuchBucket"

    @pytest_twisted.ensureDeferred
    async def test_delete_objects(self, store: IObjectStore, bucket: str) -> None:
        """delete_objects removes a batch in one call and reports which keys existed."""
        for k in ("a", "b", "c"):
            await put(store, bucket, k, b"x")
        result = await store.delete_objects(bucket, ["a", "b", "missing", "a"])
        assert result == {"a": True, "b": True, "missing": False}
        assert read(store, bucket, "c") == b"x"
        with pytest.raises(S3Error):
            store.head_object(bucket, "a")
        assert await error_code(store.delete_objects("nope", ["k"])) == "NoSuchBucket"

    @pytest_twisted.ensureDeferred
    async def test_tagging(self, store: IObjectStore, bucket: str) -> None:
        """Object and bucket tags are replaced in place, cleared by an overwrite, and checked for existence."""
        await put(store, bucket, "k", b"bytes")
        before = store.head_object(bucket, "k")
        await store.put_object_tagging(bucket, "k", (("a", "1"),))
        after = store.head_object(bucket, "k")
        assert after.meta.tags == (("a", "1"),)
        assert (after.etag, after.size, after.last_modified) == (
            before.etag,
            before.size,
            before.last_modified,
        )
        assert read(store, bucket, "k") == b"bytes"
        await put(store, bucket, "k", b"new")
        assert store.head_object(bucket, "k").meta.tags == ()
        code = await error_code(store.put_object_tagging(bucket, "missing", ()))
        assert code == "NoSuchKey"
        assert store.get_bucket_tagging(bucket) == ()
        await store.put_bucket_tagging(bucket, (("team", "x"),))
        assert store.get_bucket_tagging(bucket) == (("team", "x"),)
        await store.put_bucket_tagging(bucket, ())
        assert store.get_bucket_tagging(bucket) == ()
        with pytest.raises(S3Error):
            store.get_bucket_tagging("nope")

    @pytest_twisted.ensureDeferred
    async def test_bucket_settings(self, store: IObjectStore, bucket: str) -> None:
        """Settings are set, replaced and removed, each bumping the serial; a bucket created again has none."""
        assert store.get_bucket_settings(bucket) == {}
        serial = store.get_bucket(bucket).serial
        await store.put_bucket_setting(bucket, "policy", '{"a": 1}')
        await store.put_bucket_setting(bucket, "cors", "<x/>")
        await store.put_bucket_setting(bucket, "policy", '{"b": 2}')
        assert store.get_bucket_settings(bucket) == {"policy": '{"b": 2}', "cors": "<x/>"}
        await store.put_bucket_setting(bucket, "cors", None)
        assert store.get_bucket_settings(bucket) == {"policy": '{"b": 2}'}
        assert store.get_bucket(bucket).serial == serial + 4
        await store.delete_bucket(bucket)
        await store.create_bucket(bucket, OWNER, "us-east-1", {"acl": "[]"})
        assert store.get_bucket_settings(bucket) == {"acl": "[]"}
        code = await error_code(store.put_bucket_setting("nope", "policy", "{}"))
        assert code == "NoSuchBucket"
        with pytest.raises(S3Error):
            store.get_bucket_settings("nope")

    @pytest_twisted.ensureDeferred
    async def test_object_acl(self, store: IObjectStore, bucket: str) -> None:
        """An object's ACL is replaced in place, travels with its entry, and goes with an overwrite."""
        await put(store, bucket, "k", b"bytes")
        assert store.head_object(bucket, "k").meta.acl is None
        await store.put_object_acl(bucket, "k", '[["Group","all","READ"]]')
        info = store.head_object(bucket, "k")
        assert info.meta.acl == '[["Group","all","READ"]]'
        assert read(store, bucket, "k") == b"bytes"
        await store.put_object_acl(bucket, "k", None)
        assert store.head_object(bucket, "k").meta.acl is None
        code = await error_code(store.put_object_acl(bucket, "missing", None))
        assert code == "NoSuchKey"

    @pytest_twisted.ensureDeferred
    async def test_staging_discard_idempotent(self, store: IObjectStore) -> None:
        """discard may be called twice, and writing after it is refused."""
        staging = store.open_staging()
        staging.write(b"abc")
        assert staging.size() == 3
        staging.discard()
        staging.discard()
        with pytest.raises(ValueError):
            staging.write(b"x")

    @pytest_twisted.ensureDeferred
    async def test_staging_reuse_refused(
        self, store: IObjectStore, bucket: str
    ) -> None:
        """A staging file cannot be written to or published again once put."""
        staging = store.open_staging()
        staging.write(b"abc")
        await store.put_object(
            Destination(bucket, "k", OWNER), staging, "e", ObjectMeta()
        )
        staging.discard()  # a no-op once committed
        assert read(store, bucket, "k") == b"abc"
        with pytest.raises(ValueError):
            staging.write(b"x")
        with pytest.raises(ValueError):
            store.put_object(
                Destination(bucket, "k2", OWNER),
                staging,
                "e",
                ObjectMeta(),
            )

    # -- listing --

    @pytest_twisted.async_yield_fixture
    async def tree(self, store: IObjectStore, bucket: str) -> AsyncIterator[str]:
        for key in ["a", "a/b", "a/c/d", "a/c/e", "b", "b/x", "c//d", "d-e-f", "é"]:
            await put(store, bucket, key, b"")
        yield bucket

    @pytest_twisted.ensureDeferred
    async def test_list_all(self, store: IObjectStore, tree: str) -> None:
        """Without a delimiter every key is listed in byte order, untruncated."""
        page = await store.list_objects(tree, ListQuery())
        assert [o.key for o in page.contents] == [
            "a", "a/b", "a/c/d", "a/c/e", "b", "b/x", "c//d", "d-e-f", "é",
        ]  # fmt: skip
        assert page.common_prefixes == []
        assert (page.is_truncated, page.next_marker) == (False, None)

    @pytest_twisted.ensureDeferred
    async def test_list_delimiter(self, store: IObjectStore, tree: str) -> None:
        """A delimiter rolls keys up into common prefixes."""
        page = await store.list_objects(tree, ListQuery("", "/", "", 1000))
        assert [o.key for o in page.contents] == ["a", "b", "d-e-f", "é"]
        assert page.common_prefixes == ["a/", "b/", "c/"]

    @pytest_twisted.ensureDeferred
    async def test_list_prefix_delimiter(self, store: IObjectStore, tree: str) -> None:
        """With a prefix, roll-up happens after the prefix."""
        page = await store.list_objects(tree, ListQuery("a/", "/", "", 1000))
        assert [o.key for o in page.contents] == ["a/b"]
        assert page.common_prefixes == ["a/c/"]
        page = await store.list_objects(tree, ListQuery("a/c", "/", "", 1000))
        assert page.contents == []
        assert page.common_prefixes == ["a/c/"]

    @pytest_twisted.ensureDeferred
    async def test_list_multichar_delimiter(
        self, store: IObjectStore, tree: str
    ) -> None:
        """A delimiter may be several characters long."""
        page = await store.list_objects(tree, ListQuery("", "//", "", 1000))
        assert page.common_prefixes == ["c//"]
        page = await store.list_objects(tree, ListQuery("d", "-e-", "", 1000))
        assert page.common_prefixes == ["d-e-"]

    @pytest_twisted.ensureDeferred
    async def test_list_start_after(self, store: IObjectStore, tree: str) -> None:
        """start_after is exclusive and need not be an existing key."""
        page = await store.list_objects(tree, ListQuery("", "", "a/c/d", 1000))
        assert [o.key for o in page.contents][:2] == ["a/c/e", "b"]
        page = await store.list_objects(tree, ListQuery("", "", "a/bb", 1000))
        assert page.contents[0].key == "a/c/d"

    @pytest_twisted.ensureDeferred
    async def test_start_after_common_prefix(
        self, store: IObjectStore, tree: str
    ) -> None:
        """start_after equal to (or inside) a common prefix skips all of it."""
        page = await store.list_objects(tree, ListQuery("", "/", "a/", 1000))
        assert entries(page) == ["b", "b/", "c/", "d-e-f", "é"]
        page = await store.list_objects(tree, ListQuery("", "/", "a/b", 1000))
        assert entries(page) == ["b", "b/", "c/", "d-e-f", "é"]

    @pytest_twisted.ensureDeferred
    async def test_max_keys_truncates(self, store: IObjectStore, tree: str) -> None:
        """max_keys counts keys and prefixes; next_marker is the page's last entry."""
        page = await store.list_objects(tree, ListQuery("", "/", "", 3))
        assert entries(page) == ["a", "a/", "b"]
        assert page.is_truncated
        assert page.next_marker == "b"
        page = await store.list_objects(tree, ListQuery("", "/", "", 2))
        assert page.next_marker == "a/"
        page = await store.list_objects(tree, ListQuery("", "/", "a/", 2))
        assert entries(page) == ["b", "b/"]
        assert page.next_marker == "b/"

    @pytest_twisted.ensureDeferred
    async def test_exact_fit_not_truncated(
        self, store: IObjectStore, tree: str
    ) -> None:
        """A page that holds exactly the remaining entries is not truncated."""
        page = await store.list_objects(tree, ListQuery("", "/", "", 7))
        assert len(entries(page)) == 7
        assert (page.is_truncated, page.next_marker) == (False, None)

    @pytest_twisted.ensureDeferred
    async def test_paging(self, store: IObjectStore, tree: str) -> None:
        """Following next_marker visits every entry exactly once."""
        seen: list[str] = []
        marker = ""
        while True:
            page = await store.list_objects(tree, ListQuery("", "/", marker, 2))
            seen += entries(page)
            if not page.is_truncated:
                break
            assert page.next_marker is not None
            marker = page.next_marker
        assert seen == ["a", "a/", "b", "b/", "c/", "d-e-f", "é"]

    @pytest_twisted.ensureDeferred
    async def test_max_keys_zero(self, store: IObjectStore, tree: str) -> None:
        """max_keys=0 returns an empty page that is not truncated (as AWS does)."""
        page = await store.list_objects(tree, ListQuery("", "", "", 0))
        assert (page.contents, page.common_prefixes) == ([], [])
        assert (page.is_truncated, page.next_marker) == (False, None)

    @pytest_twisted.ensureDeferred
    async def test_max_keys_bounds(self, store: IObjectStore, tree: str) -> None:
        """max_keys above 1000 is clamped; a negative one is InvalidArgument."""
        page = await store.list_objects(tree, ListQuery("", "", "", 5000))
        assert len(page.contents) == 9
        code = await error_code(store.list_objects(tree, ListQuery("", "", "", -1)))
        assert code == "InvalidArgument"

    @pytest_twisted.ensureDeferred
    async def test_list_missing_bucket(self, store: IObjectStore) -> None:
        """Listing a bucket that does not exist fails with NoSuchBucket."""
        code = await error_code(store.list_objects("nope", ListQuery("", "", "", 10)))
        assert code == "NoSuchBucket"

    @pytest_twisted.ensureDeferred
    async def test_list_byte_order(self, store: IObjectStore, bucket: str) -> None:
        """Keys list in UTF-8 byte order, not UTF-16 order."""
        for key in ["\U00010000", "\ue000", "z", "Z", "é"]:
            await put(store, bucket, key, b"")
        page = await store.list_objects(bucket, ListQuery())
        assert [o.key for o in page.contents] == ["Z", "z", "é", "\ue000", "\U00010000"]


class TestMemoryStore(StoreContract):
    """The contract, against the in-memory store."""

    def make_store(self, tmp_path: Path) -> IObjectStore:
        return MemoryStore()


class TestSQLiteStore(StoreContract):
    """The contract, against the SQLite store in a temporary directory."""

    def make_store(self, tmp_path: Path) -> IObjectStore:
        return SQLiteStore.open(str(tmp_path / "data"))


# -- listing property test ---------------------------------------------------

ALPHABET = ["a", "b", "/", "-", "%", "+", " ", ".", "?", "#", "é", "\U0001f600", "ÿ"]
keys_st = st.text(alphabet=ALPHABET, min_size=1, max_size=6)


def reference_listing(
    keys: set[str], prefix: str, delimiter: str, start_after: str
) -> list[tuple[str, bool]]:
    """
    Every entry S3 lists, in order, as (name, is_common_prefix): computed
    from the rules alone, with no skipping and no paging.
    """
    p, d, s = prefix.encode(), delimiter.encode(), start_after.encode()
    found: dict[bytes, bool] = {}
    for key in keys:
        k = key.encode()
        if not k.startswith(p):
            continue
        rest = k[len(p) :]
        if d and d in rest:
            found[p + rest[: rest.index(d) + len(d)]] = True
        else:
            found[k] = False
    return [(n.decode(), cp) for n, cp in sorted(found.items()) if n > s]


def page_entries(page: ListPage) -> list[tuple[str, bool]]:
    """A page's entries as (name, is_common_prefix), in byte order."""
    out = [(o.key, False) for o in page.contents]
    out += [(p, True) for p in page.common_prefixes]
    return sorted(out, key=lambda e: e[0].encode())


@pytest.fixture(scope="module")
def two_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    """One MemoryStore and one SQLiteStore shared by the property examples."""
    sqlite = SQLiteStore.open(str(tmp_path_factory.mktemp("prop")))
    yield [MemoryStore(), sqlite, 0]
    pytest_twisted.blockon(sqlite.close())


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    keys=st.sets(keys_st, max_size=14),
    prefix=st.one_of(st.just(""), st.text(alphabet=ALPHABET, max_size=2)),
    delimiter=st.sampled_from(["", "/", "//", "a", "é", "/a", "ÿ"]),
    start_after=st.one_of(st.just(""), keys_st),
    max_keys=st.one_of(st.integers(0, 4), st.just(1000)),
)
@pytest_twisted.ensureDeferred
async def test_listing_matches_reference(
    two_stores: list[Any],
    keys: set[str],
    prefix: str,
    delimiter: str,
    start_after: str,
    max_keys: int,
) -> None:
    """Paged listings of both stores equal the reference model and each other."""
    memory, sqlite, n = two_stores
    two_stores[2] = n + 1
    bucket = f"prop-{n}"
    for store in (memory, sqlite):
        await store.create_bucket(bucket, OWNER, "us-east-1")
        for key in keys:
            await put(store, bucket, key, b"")

    expected = reference_listing(keys, prefix, delimiter, start_after)
    got: list[tuple[str, bool]] = []
    marker = start_after
    while True:
        mem_page = await memory.list_objects(
            bucket, ListQuery(prefix, delimiter, marker, max_keys)
        )
        sql_page = await sqlite.list_objects(
            bucket, ListQuery(prefix, delimiter, marker, max_keys)
        )
        assert page_entries(sql_page) == page_entries(mem_page)
        assert (sql_page.is_truncated, sql_page.next_marker) == (
            mem_page.is_truncated,
            mem_page.next_marker,
        )
        page = page_entries(sql_page)
        assert len(page) <= max_keys
        got += page
        if not sql_page.is_truncated:
            assert sql_page.next_marker is None
            break
        assert page and sql_page.next_marker == page[-1][0]
        marker = sql_page.next_marker
    if max_keys == 0:
        assert got == []
    else:
        assert got == expected


# -- multipart uploads, copies and conditional writes ----------------------


async def upload_parts(
    store: IObjectStore, upload_id: str, parts: dict[int, bytes], key: str = "mp"
) -> dict[int, str]:
    """Upload C{parts} (number -> bytes) to the upload; return their ETags."""
    etags = {}
    for number, data in parts.items():
        staging = store.open_staging()
        staging.write(data)
        etag = hashlib.md5(data).hexdigest()
        info = await store.upload_part(
            NewPart("bkt", key, upload_id, number, etag, (("CRC32", "x"),)),
            staging,
        )
        assert (info.part_number, info.size, info.etag) == (number, len(data), etag)
        etags[number] = etag
    return etags


class MultipartCopyContract:
    """
    The multipart, copy and conditional-write methods of L{IObjectStore};
    subclasses define make_store.
    """

    def make_store(self, tmp_path: Path) -> IObjectStore:
        raise NotImplementedError

    @pytest_twisted.async_yield_fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[IObjectStore]:
        store = self.make_store(tmp_path)
        await store.create_bucket("bkt", OWNER, "us-east-1")
        yield store
        await store.close()

    @pytest_twisted.ensureDeferred
    async def test_complete_concatenates_parts(self, store: IObjectStore) -> None:
        """Completing an upload makes the listed parts, in order, the object."""
        meta = ObjectMeta(headers=(("content-type", "text/x"),))
        up = await store.create_multipart_upload(NewUpload("bkt", "mp", meta, OWNER))
        assert store.get_upload("bkt", "mp", up.upload_id) == up
        etags = await upload_parts(
            store, up.upload_id, {1: b"a" * 1000, 2: b"b" * 10, 3: b"c" * 7}
        )
        info = await store.complete_multipart_upload(
            Completion(
                "bkt",
                "mp",
                up.upload_id,
                [(1, etags[1]), (3, etags[3])],
                "e-2",
                (("CRC32", "v-2"),),
                "COMPOSITE",
            ),
        )
        assert (info.size, info.etag, info.parts) == (1007, "e-2", (1000, 7))
        assert info.meta.header("content-type") == "text/x"
        assert info.meta.checksums == (("CRC32", "v-2"),)
        assert info.meta.checksum_type == "COMPOSITE"
        assert read(store, "bkt", "mp") == b"a" * 1000 + b"c" * 7
        head = store.head_object("bkt", "mp")
        assert head.parts == (1000, 7) and head.etag == "e-2"
        with pytest.raises(S3Error) as e:
            store.get_upload("bkt", "mp", up.upload_id)
        assert e.value.code == "NoSuchUpload"

    @pytest_twisted.ensureDeferred
    async def test_extent_reader_seeks(self, store: IObjectStore) -> None:
        """The file of a multipart object reads any span across part boundaries."""
        up = await start_upload(store)
        parts = {n: bytes([n]) * (100 + n) for n in range(1, 6)}
        etags = await upload_parts(store, up.upload_id, parts)
        await store.complete_multipart_upload(
            Completion("bkt", "mp", up.upload_id, sorted(etags.items()), "e-5"),
        )
        whole = b"".join(parts[n] for n in range(1, 6))
        _, f = store.open_object("bkt", "mp")
        with f:
            for start, n in [(0, 3), (99, 5), (150, 300), (500, 100), (0, 9999)]:
                f.seek(start)
                assert f.read(n) == whole[start : start + n]
            f.seek(-4, 2)
            assert f.read() == whole[-4:]

    @pytest_twisted.ensureDeferred
    async def test_part_replaced(self, store: IObjectStore) -> None:
        """Uploading a part number again replaces the part."""
        up = await start_upload(store)
        await upload_parts(store, up.upload_id, {1: b"old"})
        etags = await upload_parts(store, up.upload_id, {1: b"new!"})
        page = await store.list_parts("bkt", "mp", up.upload_id, 0, 100)
        assert [(p.part_number, p.size) for p in page.parts] == [(1, 4)]
        await store.complete_multipart_upload(
            Completion("bkt", "mp", up.upload_id, [(1, etags[1])], "e-1"),
        )
        assert read(store, "bkt", "mp") == b"new!"

    @pytest_twisted.ensureDeferred
    async def test_complete_invalid_part(self, store: IObjectStore) -> None:
        """A missing part or an ETag mismatch is InvalidPart and changes nothing."""
        up = await start_upload(store)
        etags = await upload_parts(store, up.upload_id, {1: b"x"})
        for parts in ([(2, etags[1])], [(1, "0" * 32)]):
            d = store.complete_multipart_upload(
                Completion("bkt", "mp", up.upload_id, parts, "e"),
            )
            assert await error_code(d) == "InvalidPart"
        assert store.get_upload("bkt", "mp", up.upload_id) == up

    @pytest_twisted.ensureDeferred
    async def test_no_such_upload(self, store: IObjectStore) -> None:
        """Unknown ids, and ids of another key, are NoSuchUpload everywhere."""
        up = await start_upload(store)
        for key, uid in [("mp", "nope"), ("other", up.upload_id)]:
            with pytest.raises(S3Error) as e:
                store.get_upload("bkt", key, uid)
            assert e.value.code == "NoSuchUpload"
            staging = store.open_staging()
            d = store.upload_part(NewPart("bkt", key, uid, 1, "e"), staging)
            assert await error_code(d) == "NoSuchUpload"
            assert await error_code(store.list_parts("bkt", key, uid, 0, 9)) == (
                "NoSuchUpload"
            )
            d = store.complete_multipart_upload(
                Completion("bkt", key, uid, [], "e", (), "C"),
            )
            assert await error_code(d) == "NoSuchUpload"
            d = store.abort_multipart_upload("bkt", key, uid)
            assert await error_code(d) == "NoSuchUpload"

    @pytest_twisted.ensureDeferred
    async def test_completed_upload_record(self, store: IObjectStore) -> None:
        """Completing an upload records its parts and result; abort records nothing."""
        up = await start_upload(store)
        with pytest.raises(S3Error) as e:
            store.get_completed_upload("bkt", "mp", up.upload_id)
        assert e.value.code == "NoSuchUpload"
        etags = await upload_parts(store, up.upload_id, {1: b"a", 2: b"b"})
        info = await store.complete_multipart_upload(
            Completion(
                "bkt",
                "mp",
                up.upload_id,
                [(1, etags[1]), (2, etags[2])],
                "e-2",
                (("CRC32", "v-2"),),
                "COMPOSITE",
            ),
        )
        record = store.get_completed_upload("bkt", "mp", up.upload_id)
        assert record.parts == ((1, etags[1]), (2, etags[2]))
        assert (record.etag, record.version) == ("e-2", info.version)
        assert record.checksums == (("CRC32", "v-2"),)
        assert record.checksum_type == "COMPOSITE"
        assert record.completed == info.last_modified
        for bucket, key, uid in [("bkt", "other", up.upload_id), ("bkt", "mp", "x")]:
            with pytest.raises(S3Error) as e:
                store.get_completed_upload(bucket, key, uid)
            assert e.value.code == "NoSuchUpload"
        with pytest.raises(S3Error) as e:
            store.get_completed_upload("nobkt", "mp", up.upload_id)
        assert e.value.code == "NoSuchBucket"
        aborted = await start_upload(store)
        await store.abort_multipart_upload("bkt", "mp", aborted.upload_id)
        with pytest.raises(S3Error) as e:
            store.get_completed_upload("bkt", "mp", aborted.upload_id)
        assert e.value.code == "NoSuchUpload"
        # A bucket deleted and made again keeps no record of old completions.
        await store.delete_object("bkt", "mp")
        await store.delete_bucket("bkt")
        await store.create_bucket("bkt", OWNER, "us-east-1")
        with pytest.raises(S3Error) as e:
            store.get_completed_upload("bkt", "mp", up.upload_id)
        assert e.value.code == "NoSuchUpload"

    @pytest_twisted.ensureDeferred
    async def test_abort(self, store: IObjectStore) -> None:
        """An aborted upload is gone: no object, no upload, not listed."""
        up = await start_upload(store)
        await upload_parts(store, up.upload_id, {1: b"x"})
        await store.abort_multipart_upload("bkt", "mp", up.upload_id)
        page = await store.list_multipart_uploads("bkt", ListQuery("", "", "", 100), "")
        assert page.uploads == []
        with pytest.raises(S3Error):
            store.head_object("bkt", "mp")

    @pytest_twisted.ensureDeferred
    async def test_uploads_invisible_to_listing(self, store: IObjectStore) -> None:
        """Uploads in progress are not objects, and do not block DeleteBucket."""
        await start_upload(store)
        page = await store.list_objects("bkt", ListQuery("", "", "", 100))
        assert page.contents == []
        await store.delete_bucket("bkt")
        with pytest.raises(S3Error):
            store.get_bucket("bkt")

    @pytest_twisted.ensureDeferred
    async def test_list_parts_paging(self, store: IObjectStore) -> None:
        """list_parts pages by part number marker and reports truncation."""
        up = await start_upload(store)
        await upload_parts(store, up.upload_id, {n: b"p" for n in (1, 2, 5, 7, 9)})
        seen: list[int] = []
        marker = 0
        while True:
            page = await store.list_parts("bkt", "mp", up.upload_id, marker, 2)
            seen += [p.part_number for p in page.parts]
            if not page.is_truncated:
                assert page.next_marker is None
                break
            assert page.next_marker == page.parts[-1].part_number
            marker = page.next_marker
        assert seen == [1, 2, 5, 7, 9]
        assert page.upload == up

    @pytest_twisted.ensureDeferred
    async def test_list_uploads_paging(self, store: IObjectStore) -> None:
        """Uploads list by key then id, page by both markers, roll up prefixes."""
        ids: list[tuple[str, str]] = []
        for key in ["b", "a", "b", "dir/x", "dir/y", "c", "b"]:
            up = await start_upload(store, key)
            ids.append((key, up.upload_id))
        expected = sorted(ids)
        seen: list[tuple[str, str]] = []
        key_marker, id_marker = "", ""
        for _ in range(10):
            page = await store.list_multipart_uploads(
                "bkt",
                ListQuery("", "", key_marker, 2),
                id_marker,
            )
            seen += [(u.key, u.upload_id) for u in page.uploads]
            if not page.is_truncated:
                break
            assert page.next_key_marker == page.uploads[-1].key
            key_marker = page.next_key_marker
            id_marker = page.next_upload_id_marker or ""
        assert seen == expected
        page = await store.list_multipart_uploads(
            "bkt", ListQuery("", "/", "", 100), ""
        )
        assert [u.key for u in page.uploads] == ["a", "b", "b", "b", "c"]
        assert page.common_prefixes == ["dir/"]
        page = await store.list_multipart_uploads(
            "bkt", ListQuery("dir/", "/", "", 100), ""
        )
        assert [u.key for u in page.uploads] == ["dir/x", "dir/y"]

    @pytest_twisted.ensureDeferred
    async def test_copy_object(self, store: IObjectStore) -> None:
        """A copy has the source's bytes and ETag and survives the source's deletion."""
        src = await put(store, "bkt", "src", b"payload" * 1000)
        meta = ObjectMeta(user_metadata=(("k", "v"),))
        info = await store.copy_object(src, Destination("bkt", "dst", OWNER), meta)
        assert (info.size, info.etag, info.meta) == (src.size, src.etag, meta)
        assert info.version != src.version
        await store.delete_object("bkt", "src")
        assert read(store, "bkt", "dst") == b"payload" * 1000
        assert store.head_object("bkt", "dst") == info

    @pytest_twisted.ensureDeferred
    async def test_copy_multipart_object_onto_itself(self, store: IObjectStore) -> None:
        """A multipart object copied onto itself keeps its bytes and parts."""
        up = await start_upload(store)
        etags = await upload_parts(store, up.upload_id, {1: b"one", 2: b"two"})
        src = await store.complete_multipart_upload(
            Completion("bkt", "mp", up.upload_id, sorted(etags.items()), "e-2"),
        )
        meta = ObjectMeta(user_metadata=(("new", "1"),))
        info = await store.copy_object(src, Destination("bkt", "mp", OWNER), meta)
        assert info.parts == (3, 3)
        assert read(store, "bkt", "mp") == b"onetwo"
        assert store.head_object("bkt", "mp").meta == meta

    @pytest_twisted.ensureDeferred
    async def test_copy_current_object(self, store: IObjectStore) -> None:
        """copy_current_object copies the source as it is at commit, shows that
        entry to make_meta, and keeps the copy after the source is replaced."""
        await put(store, "bkt", "src", b"v1")
        current = await put(store, "bkt", "src", b"v2")
        seen: list[Any] = []
        meta = ObjectMeta(user_metadata=(("k", "v"),))

        def make_meta(source: Any) -> ObjectMeta:
            seen.append(source)
            return meta

        info = await store.copy_current_object(
            "bkt",
            "src",
            Destination("bkt", "dst", OWNER),
            make_meta,
        )
        assert [(s.etag, s.version) for s in seen] == [(current.etag, current.version)]
        assert (info.size, info.etag, info.meta) == (2, current.etag, meta)
        await put(store, "bkt", "src", b"v3")
        assert read(store, "bkt", "dst") == b"v2"
        assert store.head_object("bkt", "dst") == info

    @pytest_twisted.ensureDeferred
    async def test_copy_current_object_refused(self, store: IObjectStore) -> None:
        """make_meta raising refuses the copy and changes nothing; a missing
        source or bucket is NoSuchKey / NoSuchBucket."""
        await put(store, "bkt", "src", b"v1")
        old = await put(store, "bkt", "dst", b"old")

        def refuse(source: Any) -> ObjectMeta:
            raise S3Error.of("PreconditionFailed")

        d = store.copy_current_object(
            "bkt",
            "src",
            Destination("bkt", "dst", OWNER),
            refuse,
        )
        assert await error_code(d) == "PreconditionFailed"
        assert store.head_object("bkt", "dst") == old
        assert read(store, "bkt", "dst") == b"old"
        keep = lambda source: source.meta  # noqa: E731
        for (src_bucket, src_key, bucket), code in [
            (("bkt", "missing", "bkt"), "NoSuchKey"),
            (("nobkt", "src", "bkt"), "NoSuchBucket"),
            (("bkt", "src", "nobkt"), "NoSuchBucket"),
        ]:
            dest = Destination(bucket, "dst", OWNER)
            d = store.copy_current_object(src_bucket, src_key, dest, keep)
            assert await error_code(d) == code, (src_bucket, src_key, bucket)

    @pytest_twisted.ensureDeferred
    async def test_copy_current_multipart_onto_itself(
        self, store: IObjectStore
    ) -> None:
        """A multipart object copied onto itself by copy_current_object keeps
        its bytes and parts."""
        up = await start_upload(store)
        etags = await upload_parts(store, up.upload_id, {1: b"one", 2: b"two"})
        await store.complete_multipart_upload(
            Completion("bkt", "mp", up.upload_id, sorted(etags.items()), "e-2"),
        )
        meta = ObjectMeta(user_metadata=(("new", "1"),))
        info = await store.copy_current_object(
            "bkt",
            "mp",
            Destination("bkt", "mp", OWNER),
            lambda source: meta,
        )
        assert (info.parts, info.etag) == ((3, 3), "e-2")
        assert read(store, "bkt", "mp") == b"onetwo"
        assert store.head_object("bkt", "mp").meta == meta

    @pytest_twisted.ensureDeferred
    async def test_copy_stale_source(self, store: IObjectStore) -> None:
        """A copy of a source replaced or deleted since it was read is refused."""
        src = await put(store, "bkt", "src", b"v1")
        await put(store, "bkt", "src", b"v2")
        with pytest.raises(SourceChanged):
            await store.copy_object(src, Destination("bkt", "dst", OWNER), ObjectMeta())
        up = await start_upload(store)
        with pytest.raises(SourceChanged):
            await store.upload_part_copy(
                NewPart("bkt", "mp", up.upload_id, 1, "e"),
                src,
                0,
                1,
            )

    @pytest_twisted.ensureDeferred
    async def test_upload_part_copy_ranges(self, store: IObjectStore) -> None:
        """Part copies take byte ranges of single and multipart sources."""
        single = await put(store, "bkt", "single", bytes(range(256)))
        up = await start_upload(store)
        etags = await upload_parts(store, up.upload_id, {1: b"A" * 50, 2: b"B" * 50})
        multi = await store.complete_multipart_upload(
            Completion("bkt", "mp", up.upload_id, sorted(etags.items()), "e-2"),
        )
        multi = store.head_object("bkt", "mp")
        up2 = await start_upload(store, "out")
        p1 = await store.upload_part_copy(
            NewPart("bkt", "out", up2.upload_id, 1, "e1"),
            single,
            10,
            20,
        )
        p2 = await store.upload_part_copy(
            NewPart("bkt", "out", up2.upload_id, 2, "e2"),
            multi,
            40,
            20,
        )
        assert (p1.size, p2.size) == (20, 20)
        await store.complete_multipart_upload(
            Completion("bkt", "out", up2.upload_id, [(1, "e1"), (2, "e2")], "x-2"),
        )
        assert read(store, "bkt", "out") == bytes(range(10, 30)) + b"A" * 10 + b"B" * 10

    @pytest_twisted.ensureDeferred
    async def test_conditional_put(self, store: IObjectStore) -> None:
        """If-None-Match and If-Match are enforced at commit: ConditionalRequestConflict."""
        create = WriteCondition(if_none_match=True)
        first = await put_if(store, "k", b"one", create)
        assert await error_code(put_if(store, "k", b"two", create)) == (
            "ConditionalRequestConflict"
        )
        assert read(store, "bkt", "k") == b"one"
        stale = WriteCondition(if_match='"' + "0" * 32 + '"')
        assert await error_code(put_if(store, "k", b"two", stale)) == (
            "ConditionalRequestConflict"
        )
        await put_if(store, "k", b"three", WriteCondition(if_match=f'"{first.etag}"'))
        assert read(store, "bkt", "k") == b"three"
        missing = WriteCondition(if_match="*")
        assert await error_code(put_if(store, "nope", b"x", missing)) == (
            "ConditionalRequestConflict"
        )

    @pytest_twisted.ensureDeferred
    async def test_conditional_complete(self, store: IObjectStore) -> None:
        """Completion under If-None-Match fails when the key exists and keeps the upload."""
        await put(store, "bkt", "mp", b"winner")
        up = await start_upload(store)
        etags = await upload_parts(store, up.upload_id, {1: b"loser"})
        d = store.complete_multipart_upload(
            Completion(
                "bkt",
                "mp",
                up.upload_id,
                [(1, etags[1])],
                "e-1",
                (),
                "FULL_OBJECT",
                WriteCondition(if_none_match=True),
            ),
        )
        assert await error_code(d) == "ConditionalRequestConflict"
        assert read(store, "bkt", "mp") == b"winner"
        assert store.get_upload("bkt", "mp", up.upload_id) == up


async def put_if(
    store: IObjectStore, key: str, data: bytes, condition: WriteCondition
) -> Any:
    """Put C{data} at bkt/C{key} under C{condition}."""
    staging = store.open_staging()
    staging.write(data)
    return await store.put_object(
        Destination("bkt", key, OWNER, condition),
        staging,
        hashlib.md5(data).hexdigest(),
        ObjectMeta(),
    )


class TestMemoryMultipartCopy(MultipartCopyContract):
    """Multipart, copy and conditional writes, against the in-memory store."""

    def make_store(self, tmp_path: Path) -> IObjectStore:
        return MemoryStore()


class TestSQLiteMultipartCopy(MultipartCopyContract):
    """Multipart, copy and conditional writes, against the SQLite store."""

    def make_store(self, tmp_path: Path) -> IObjectStore:
        return SQLiteStore.open(str(tmp_path / "data"))
