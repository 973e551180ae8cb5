"""
txs3-admin fsck, backup and restore: fsck finds a corrupt, a short and a
missing blob, an orphan and a dangling part, and --repair quarantines
and marks (a damaged object then answers 500, never wrong bytes); a
backup taken while writes go on is fsck-clean and restores every object
acknowledged before it began, none torn; non-empty targets are refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.threads import deferToThread

from tests.functional import RunningTLSServer
from tests.s3client import error_code
from tests.test_store_contract import OWNER, put, read
from txs3.admin.cli import main
from txs3.store.sqlite import SQLiteStore
from txs3.store.sqlite.backup import backup
from txs3.store.sqlite.fsck import fsck


def blob_path(data: Path, blob_id: str) -> Path:
    return data / "blobs" / blob_id[:2] / blob_id


def admin(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    status = main([*args])
    out = capsys.readouterr()
    return status, (json.loads(out.out) if out.out.strip() else out.err)


@pytest_twisted.ensureDeferred
async def test_fsck_finds_and_repairs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each kind of damage is reported; --repair quarantines orphans and marks damaged objects, which then answer 500."""
    data = tmp_path / "data"
    running = RunningTLSServer(tmp_path / "certs", data)
    s = await running.start()
    try:
        await s.client.request("PUT", "/fsck")
        for key, body in (("good", b"g" * 100), ("flipped", b"f" * 100),
                          ("short", b"s" * 100), ("gone", b"x" * 10)):  # fmt: skip
            assert (await s.client.request("PUT", f"/fsck/{key}", body=body)).code == 200
        store = s.store
        assert isinstance(store, SQLiteStore)
        blobs = {k: store.head_object("fsck", k).blob for k in ("flipped", "short", "gone")}
        with open(blob_path(data, blobs["flipped"]), "r+b") as f:
            f.write(b"F")
        os.truncate(blob_path(data, blobs["short"]), 50)
        os.unlink(blob_path(data, blobs["gone"]))
        orphan = blob_path(data, "ab" + "0" * 30)
        orphan.parent.mkdir(exist_ok=True)
        orphan.write_bytes(b"orphan")
        index = sqlite3.connect(data / "index.sqlite3")
        with index:
            index.execute(
                "INSERT INTO part_extents (upload_id, part_number, seq, blob, start,"
                " length) VALUES ('lost-upload', 1, 0, ?, 0, 6)",
                ("ab" + "0" * 30,),
            )
        index.close()
        status, report = admin(capsys, "--data", str(data), "--json", "fsck")
        assert status == 2
        kinds = sorted((f["kind"], f["where"].split("?")[0]) for f in report["findings"])
        assert kinds == [
            ("dangling-part", "upload lost-upload part 1"),
            ("missing-blob", "fsck/gone"),
            ("size-mismatch", "fsck/short"),
        ]
        status, report = admin(
            capsys, "--data", str(data), "--json", "fsck", "--verify-content", "--repair"
        )
        assert status == 0 and report["repaired"] == 4
        assert ("content-mismatch", "fsck/flipped") in [
            (f["kind"], f["where"].split("?")[0]) for f in report["findings"]
        ]
        for key in ("flipped", "short", "gone"):
            r = await s.client.request("GET", f"/fsck/{key}")
            assert (r.code, error_code(r.body)) == (500, "InternalError"), key
        assert (await s.client.request("GET", "/fsck/good")).body == b"g" * 100
        # The dangling part is gone: its blob is an orphan, quarantined by
        # the next repair once older than the grace (a commit in flight
        # is not an orphan).
        assert not fsck(str(data), repair=True).findings
        later = fsck(str(data), repair=True, now=time.time() + 7200)
        assert [f.kind for f in later.findings] == ["orphan-blob"]
        assert (data / "quarantine" / orphan.name).exists() and not orphan.exists()
    finally:
        await running.stop()


@pytest_twisted.ensureDeferred
async def test_backup_during_writes_restores_whole_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A backup taken while writes and deletes go on is fsck-clean and restores every acknowledged object whole."""
    data, dest, restored = tmp_path / "data", tmp_path / "backup", tmp_path / "restored"
    store = SQLiteStore.open(str(data), reactor)
    written: dict[str, set[bytes]] = {}
    try:
        await store.create_bucket("live", OWNER, "us-east-1")
        before = {}
        for n in range(30):
            body = os.urandom(5000 + n)
            await put(store, "live", f"k{n}", body)
            before[f"k{n}"] = body
            written.setdefault(f"k{n}", set()).add(body)
        stop = False

        async def load() -> None:
            n = 0
            while not stop:
                key = f"k{n % 30}"
                body = os.urandom(4000 + n)
                written.setdefault(key, set()).add(body)
                await put(store, "live", key, body)
                extra = f"new{n}"
                written[extra] = {b"new"}
                await put(store, "live", extra, b"new")
                await store.delete_object("live", extra)
                n += 1

        running = defer.ensureDeferred(load())
        copied = await deferToThread(backup, str(data), str(dest))
        stop = True
        await running
    finally:
        await store.close()
    assert copied.blobs >= 30
    assert fsck(str(dest)).clean
    status, _ = admin(capsys, "--data", str(data), "backup", str(dest))
    assert status == 1  # not empty
    assert admin(capsys, "--data", str(restored), "restore", str(dest))[0] == 0
    assert admin(capsys, "--data", str(restored), "restore", str(dest))[0] == 1
    back = SQLiteStore.open(str(restored), reactor)
    try:
        for key in before:
            body = read(back, "live", key)
            assert body in written[key]
            assert hashlib.md5(body).hexdigest() == back.head_object("live", key).etag
    finally:
        await back.close()
