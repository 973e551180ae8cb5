"""
Usage counters and quotas: the index's triggers count every stored
version as rows come and go; a quota refuses, before the body, a write
that would pass it (403 QuotaExceeded naming the limit), and the index
refuses it again inside the commit, where racing workers cannot both win;
txs3-admin sets, lists and removes quotas and reports usage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted

from tests.functional import Server, server  # noqa: F401
from tests.s3client import error_code
from tests.test_store_contract import OWNER, put
from tests.test_store_contract import error_code as store_error
from txs3.admin.cli import main
from txs3.store.interface import Deletion, Quota, Usage
from txs3.store.memory import MemoryStore
from txs3.store.sqlite import SQLiteStore, users


@pytest_twisted.ensureDeferred
async def test_usage_counters_follow_rows(tmp_path: Path) -> None:
    """Puts, overwrites, versions, markers and deletes keep the bucket's usage exact."""
    store = SQLiteStore.open(str(tmp_path))
    try:
        await store.create_bucket("b", OWNER, "us-east-1")
        await put(store, "b", "k", b"12345")
        await put(store, "b", "k", b"123")
        assert store.quota_state("b").usage == Usage(1, 3)
        await put(store, "b", "v", b"1234567890", versioning="Enabled")
        await put(store, "b", "v", b"12", versioning="Enabled")
        assert store.quota_state("b").usage == Usage(3, 15)
        await store.delete_version(Deletion("b", "v", "Enabled"))
        assert store.quota_state("b").usage == Usage(3, 15)
        await store.delete_version(Deletion("b", "k"))
        assert store.quota_state("b").usage == Usage(2, 12)
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_index_refuses_past_a_quota(tmp_path: Path) -> None:
    """Inside the commit: a new object past a bucket quota is refused and changes nothing; a deletion never is."""
    store = SQLiteStore.open(str(tmp_path))
    try:
        await store.create_bucket("b", OWNER, "us-east-1")
        await put(store, "b", "a", b"x" * 60, versioning="Enabled")
        conn = users.open_index(str(tmp_path))
        with conn:
            conn.execute(
                "INSERT INTO quotas (kind, name, max_bytes) VALUES ('bucket', 'b', 100)"
            )
        conn.close()
        code = await store_error(put(store, "b", "c", b"y" * 50))
        assert code == "QuotaExceeded"
        assert store.quota_state("b").usage == Usage(1, 60)
        await put(store, "b", "c", b"y" * 40)
        assert store.quota_state("b").usage == Usage(2, 100)
        conn = users.open_index(str(tmp_path))
        with conn:
            conn.execute("UPDATE quotas SET max_bytes = 1000")
        await put(store, "b", "a", b"z", versioning="Enabled")
        with conn:
            conn.execute("UPDATE quotas SET max_bytes = 0")
        conn.close()
        # Deleting the current version by id makes the old one current:
        # never refused, whatever the quota.
        current = store.head_object("b", "a")
        await store.delete_version(Deletion("b", "a", "Enabled", current.version_id))
        assert store.head_object("b", "a").size == 60
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_quota_before_the_body(server: Server) -> None:
    """PUT, UploadPart, copy and completion past a quota are 403 QuotaExceeded naming the limit; an overwrite frees what it replaces."""
    store = server.store
    assert isinstance(store, MemoryStore)
    c = server.client
    await c.request("PUT", "/quo")
    assert (await c.request("PUT", "/quo/a", body=b"x" * 600)).code == 200
    store.quotas[("bucket", "quo")] = Quota(max_bytes=1000, max_objects=3)
    r = await c.request("PUT", "/quo/b", body=b"y" * 500)
    assert (r.code, error_code(r.body)) == (403, "QuotaExceeded")
    assert b"The quota of bucket quo is 1000 bytes" in r.body
    assert (await c.request("PUT", "/quo/a", body=b"x" * 900)).code == 200
    r = await c.request("PUT", "/quo/c", headers={"x-amz-copy-source": "/quo/a"})
    assert (r.code, error_code(r.body)) == (403, "QuotaExceeded")
    assert (await c.request("HEAD", "/quo/c")).code == 404
    store.quotas[("bucket", "quo")] = Quota(max_objects=1)
    r = await c.request("PUT", "/quo/d", body=b"")
    assert (r.code, error_code(r.body)) == (403, "QuotaExceeded")
    assert b"1 objects" in r.body
    store.quotas[("user", "owner-one")] = Quota(max_bytes=950)
    del store.quotas[("bucket", "quo")]
    r = await c.request("POST", "/quo/mp", "uploads")
    upload = r.body.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()
    r = await c.request("PUT", "/quo/mp", f"partNumber=1&uploadId={upload}", body=b"p" * 100)
    assert (r.code, error_code(r.body)) == (403, "QuotaExceeded")
    assert b"The quota of user owner-one is 950 bytes" in r.body


def run(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> tuple[int, Any]:
    status = main(["--data", str(data), "--json", *args])
    out = capsys.readouterr()
    return status, (json.loads(out.out) if status == 0 else out.err)


@pytest_twisted.ensureDeferred
async def test_admin_quotas_and_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """quota set/list/remove and usage; a quota below what is held, or for nobody, is refused."""
    status, alice = run(capsys, tmp_path, "user", "add", "alice")
    store = SQLiteStore.open(str(tmp_path))
    try:
        await store.create_bucket("pics", alice["owner_id"], "us-east-1")
        await put(store, "pics", "a.jpg", b"j" * 2048)
    finally:
        await store.close()
    assert run(capsys, tmp_path, "usage", "alice")[1] == [
        {"kind": "user", "name": "alice", "objects": 1, "bytes": 2048}
    ]
    status, err = run(capsys, tmp_path, "quota", "set", "alice", "--bytes", "1K")
    assert status == 1 and "already holds 2048 bytes" in err
    status, err = run(capsys, tmp_path, "quota", "set", "nobody", "--bytes", "1K")
    assert status == 1 and "neither a user nor a bucket" in err
    status, out = run(capsys, tmp_path, "quota", "set", "pics", "--objects", "5")
    assert status == 0 and out["kind"] == "bucket"
    status, out = run(capsys, tmp_path, "quota", "set", "alice", "--bytes", "1M")
    assert out == {"kind": "user", "name": "alice", "max_bytes": 1 << 20,
                   "max_objects": None}  # fmt: skip
    rows = run(capsys, tmp_path, "quota", "list")[1]
    assert [(r["kind"], r["name"], r["bytes"]) for r in rows] == [
        ("bucket", "pics", 2048),
        ("user", "alice", 2048),
    ]
    assert run(capsys, tmp_path, "quota", "remove", "pics")[0] == 0
    assert len(run(capsys, tmp_path, "quota", "list")[1]) == 1
