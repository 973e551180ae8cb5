"""
A full disk can always be emptied through S3.

The test mounts a small tmpfs of its own (it needs root, or at least the
right to mount; it is skipped, saying why, where that is not permitted),
runs a real TLS server whose data directory is on it, fills it through S3
and then to the last byte from outside (as another program would), and
proves, also across a restart on the full disk: uploads are refused with
507 InsufficientStorage, the objects already stored are intact and
readable, DELETE, DeleteObjects and AbortMultipartUpload work and free
space, and uploads work again once they have.  Readiness
(C{/_txs3/health/ready}) says 503 while the disk is full, 200 again after.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import pytest_twisted
from twisted.logger import globalLogPublisher

from tests.functional import RunningTLSServer, Server
from tests.s3client import key_path

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
MiB = 1024 * 1024
#: The filesystem: room for the reserve, the index and a few objects.
SIZE = 64 * MiB
CHUNK = 2 * MiB


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of SIZE bytes mounted for this test only."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        pytest.skip("no mount command: cannot make a small filesystem to fill")
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill_to_the_last_byte(path: Path) -> None:
    """Take every byte left, as another program writing there would."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (MiB, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as e:
                assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)


def error_code(body: bytes) -> str | None:
    root = ElementTree.fromstring(body)
    assert root.tag == "Error", body
    return root.findtext("Code")


async def put(s: Server, key: str, data: bytes) -> Any:
    return await s.client.request("PUT", key_path("bucket", key), body=data)


async def delete_objects(s: Server, keys: list[str]) -> Any:
    objects = "".join(f"<Object><Key>{k}</Key></Object>" for k in keys)
    body = f"<Delete>{objects}</Delete>".encode()
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    return await s.client.request(
        "POST", "/bucket", "delete", headers={"Content-MD5": md5}, body=body
    )


async def readiness(s: Server) -> tuple[int, dict[str, Any]]:
    """The status and the checks of the readiness endpoint."""
    head = b"GET /_txs3/health/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    status, _, body = await s.exchange(head, b"", "GET")
    return status, json.loads(body)["checks"]


async def assert_full(s: Server, kept: bytes) -> None:
    """Uploads refused with 507, not ready; what is stored reads back whole."""
    status, checks = await readiness(s)
    assert status == 503 and checks["disk"]["ok"] is False, checks
    assert checks["index"]["ok"] is True
    r = await put(s, "refused", b"x" * 1000)
    assert r.code == 507, r.body
    assert error_code(r.body) == "InsufficientStorage"
    r = await s.client.request("GET", key_path("bucket", "kept"))
    assert r.code == 200 and r.body == kept
    r = await s.client.request("HEAD", key_path("bucket", "kept"))
    assert r.code == 200
    r = await s.client.request("GET", "/bucket", "list-type=2")
    assert r.code == 200 and b"<Key>kept</Key>" in r.body


@pytest.mark.parametrize("restart", [False, True], ids=["running", "restarted"])
@pytest_twisted.ensureDeferred
async def test_full_disk_can_be_emptied(
    small_disk: Path, tmp_path: Path, restart: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a disk full to the last byte (also after a restart on it), uploads
    get 507, reads and deletes work, and deleting makes uploads work again."""
    from txs3.store import blobs

    # The disk-full line is logged at most once a minute: this test's counts.
    monkeypatch.setattr(blobs, "_last_full_log", -1e9)
    logged: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(logged.append)
    running = RunningTLSServer(tmp_path, small_disk / "data")
    try:
        s = await running.start()
        assert (await s.client.request("PUT", "/bucket")).code == 200
        kept = os.urandom(MiB)
        assert (await put(s, "kept", kept)).code == 200
        r = await s.client.request("POST", key_path("bucket", "mp"), "uploads")
        upload_id = ElementTree.fromstring(r.body).findtext(NS + "UploadId")
        r = await s.client.request(
            "PUT",
            key_path("bucket", "mp"),
            f"partNumber=1&uploadId={upload_id}",
            body=os.urandom(CHUNK),
        )
        assert r.code == 200

        # Fill it through S3 until it refuses.
        fills: list[str] = []
        for n in range(SIZE // CHUNK + 2):
            r = await put(s, f"fill-{n}", os.urandom(CHUNK))
            if r.code != 200:
                break
            fills.append(f"fill-{n}")
        assert r.code == 507 and error_code(r.body) == "InsufficientStorage"
        fill_to_the_last_byte(small_disk / "someone-else")
        assert free(small_disk) == 0
        await assert_full(s, kept)

        if restart:
            # The operator restarts the server: it starts, and is usable.
            await running.stop()
            s = await running.start()
            await assert_full(s, kept)

        # Deleting works, and frees space.
        r = await s.client.request("DELETE", key_path("bucket", fills[0]))
        assert r.code == 204, r.body
        assert free(small_disk) > 0
        r = await s.client.request(
            "DELETE", key_path("bucket", "mp"), f"uploadId={upload_id}"
        )
        assert r.code == 204, r.body
        before = free(small_disk)
        r = await delete_objects(s, fills[1:])
        assert r.code == 200, r.body
        assert b"<Error>" not in r.body
        assert free(small_disk) > before

        # Room again: ready, and uploads work.
        status, checks = await readiness(s)
        assert status == 200, checks
        again = os.urandom(CHUNK)
        r = await put(s, "after", again)
        assert r.code == 200, r.body
        r = await s.client.request("GET", key_path("bucket", "after"))
        assert r.code == 200 and r.body == again
        r = await s.client.request("GET", key_path("bucket", "kept"))
        assert r.code == 200 and r.body == kept
    finally:
        globalLogPublisher.removeObserver(logged.append)
        await running.stop()
    # The deletes could commit because the reserve was released for them.
    assert any("Released the" in e.get("log_format", "") for e in logged)
    # The operator was told, in one line, what is refused and what works.
    [line] = {e["log_format"] for e in logged if "is full" in e.get("log_format", "")}
    assert "uploads are refused" in line and "deletes" in line and "\n" not in line


def test_reserve_fill_release(tmp_path: Path) -> None:
    """The reserve is allocated whole, released to nothing, and allocated again."""
    from txs3.store.reserve import SpaceReserve

    reserve = SpaceReserve(str(tmp_path), 1 * MiB)
    assert reserve.fill() and reserve.held() == MiB
    assert os.stat(reserve.path).st_blocks * 512 >= MiB  # really allocated
    assert reserve.release() and reserve.held() == 0
    assert not reserve.release()
    reserve.mark_full()
    assert reserve.recover() is False  # plenty of room here
    assert not reserve.full and reserve.held() == MiB


@pytest_twisted.ensureDeferred
async def test_uploads_under_way_stop_when_full(tmp_path: Path) -> None:
    """Once the disk counts as full, uploads already streaming are refused at
    their next chunk, and new ones before their body."""
    from txs3.errors import S3Error
    from txs3.store.sqlite import SQLiteStore

    store = SQLiteStore.open(str(tmp_path / "data"), reserve_size=MiB)
    try:
        streaming = store.open_staging()
        streaming.write(b"first chunk")
        store._reserve.mark_full()
        with pytest.raises(S3Error) as info:
            streaming.write(b"second chunk")
        assert info.value.code == "InsufficientStorage"
        with pytest.raises(S3Error) as info:
            store.open_staging()
        assert info.value.code == "InsufficientStorage"
        staged = (tmp_path / "data" / "staging").glob("*/*")
        assert [p.name for p in staged] == ["lock"]  # the first upload is gone
    finally:
        await store.close()
