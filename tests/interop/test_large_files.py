"""
Large files through real clients with their default settings, against a
real C{twistd txs3}: multipart uploads, parallel ranged downloads and
server-side copies, each ending with a byte-for-byte comparison.

The 1 GiB file is made once per module from a repeated block with a
per-MiB counter (fast to write, and no two MiB alike, so a misplaced part
is caught).
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop.conftest import Txs3Server
from tests.interop.test_clients import (
    S3CMD,
    aws_clis,
    run,
    s3cmd_config,
)
from tests.interop.test_transfer_tools import minio_client, rclone_env

MiB = 1024 * 1024
GiB = 1024 * MiB
NEEDED_FREE = 8 * GiB


def write_big_file(path: Path, size: int) -> Path:
    block = hashlib.sha256(b"txs3").digest() * (MiB // 32)
    with path.open("wb") as f:
        written = 0
        n = 0
        while written < size:
            piece = (n.to_bytes(8, "big") + block[8:])[: size - written]
            f.write(piece)
            written += len(piece)
            n += 1
    return path


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 1 GiB file (plus one byte, so the last part is short)."""
    directory = tmp_path_factory.mktemp("big")
    # The file, the server's copy, copies made by mv/sync and a download
    # exist at once: refuse to start on a nearly full disk rather than fail
    # halfway with ENOSPC.
    free = shutil.disk_usage(directory).free
    if free < NEEDED_FREE:
        pytest.skip(
            f"needs {NEEDED_FREE // GiB} GiB free in {directory}, has {free // GiB}"
        )
    path = write_big_file(directory / "big file.bin", GiB + 1)
    yield path
    shutil.rmtree(directory, ignore_errors=True)


def same(a: Path, b: Path) -> bool:
    return filecmp.cmp(a, b, shallow=False)


@pytest.mark.parametrize("aws", aws_clis())
def test_aws_s3_one_gib(
    txs3_server: Txs3Server, tmp_path: Path, big_file: Path, aws: Path
) -> None:
    """aws s3 cp up and down, mv (multipart copy) and rm move a 1 GiB file intact."""
    env = txs3_server.aws_env()
    s3 = [str(aws), "--endpoint-url", txs3_server.endpoint, "s3"]
    api = txs3_server.aws_api(aws)
    bucket = txs3_server.bucket_name("big")
    run([*s3, "mb", f"s3://{bucket}"], env)
    run(
        [
            *s3,
            "cp",
            str(big_file),
            f"s3://{bucket}/up/big file.bin",
            "--only-show-errors",
        ],
        env,
    )
    head = json.loads(
        run([*api, "head-object", "--bucket", bucket, "--key", "up/big file.bin"], env)
    )
    assert head["ContentLength"] == big_file.stat().st_size
    assert head["ETag"].strip('"').endswith(tuple(f"-{n}" for n in range(2, 10001)))
    run(
        [
            *s3,
            "mv",
            f"s3://{bucket}/up/big file.bin",
            f"s3://{bucket}/moved/big.bin",
            "--only-show-errors",
        ],
        env,
    )
    down = tmp_path / "down.bin"
    run(
        [*s3, "cp", f"s3://{bucket}/moved/big.bin", str(down), "--only-show-errors"],
        env,
    )
    assert same(big_file, down)
    down.unlink()
    sync_dir = tmp_path / "sync"
    run([*s3, "sync", f"s3://{bucket}/moved", str(sync_dir), "--only-show-errors"], env)
    assert same(big_file, sync_dir / "big.bin")
    run([*s3, "rm", f"s3://{bucket}", "--recursive", "--only-show-errors"], env)
    run([*s3, "rb", f"s3://{bucket}"], env)


def test_boto3_transfer_one_gib(
    txs3_server: Txs3Server, tmp_path: Path, big_file: Path
) -> None:
    """boto3's upload_file (parallel multipart) and download_file (parallel ranged GETs) on 1 GiB."""
    s3, bucket = txs3_server.new_bucket("boto3big", defaults=True)
    s3.upload_file(str(big_file), bucket, "big.bin")
    target = tmp_path / "big.bin"
    s3.download_file(bucket, "big.bin", str(target))
    assert same(big_file, target)
    target.unlink()
    parts = s3.head_object(Bucket=bucket, Key="big.bin", PartNumber=1)
    assert parts["PartsCount"] > 1
    s3.delete_object(Bucket=bucket, Key="big.bin")
    s3.delete_bucket(Bucket=bucket)


def test_s3cmd_multipart(txs3_server: Txs3Server, tmp_path: Path) -> None:
    """s3cmd put (multipart, 15 MiB chunks), get and sync round-trip a 40 MiB file."""
    config = s3cmd_config(txs3_server, tmp_path / "s3cfg", signature_v2=False)
    s3cmd = [str(S3CMD), "-c", str(config), "--no-progress"]
    source_dir = tmp_path / "src"
    source_dir.mkdir()
    source = write_big_file(source_dir / "forty.bin", 40 * MiB + 3)
    bucket = txs3_server.bucket_name("s3cmdmp")
    run([*s3cmd, "mb", f"s3://{bucket}"])
    run([*s3cmd, "put", str(source), f"s3://{bucket}/forty.bin"])
    head: Any = txs3_server.boto3_client()
    etag = head.head_object(Bucket=bucket, Key="forty.bin")["ETag"]
    assert etag.endswith('-3"'), etag  # 15 MiB chunks: s3cmd went multipart
    target = tmp_path / "forty.bin"
    run([*s3cmd, "get", f"s3://{bucket}/forty.bin", str(target)])
    assert same(source, target)
    run([*s3cmd, "sync", f"{source_dir}/", f"s3://{bucket}/synced/"])
    down = tmp_path / "down"
    down.mkdir()
    run([*s3cmd, "sync", f"s3://{bucket}/synced/", f"{down}/"])
    assert same(source, down / "forty.bin")
    run([*s3cmd, "del", "--recursive", "--force", f"s3://{bucket}"])
    run([*s3cmd, "rb", f"s3://{bucket}"])


@pytest.mark.skipif(
    shutil.which("rclone") is None, reason="Debian rclone not installed"
)
def test_rclone_multipart(
    txs3_server: Txs3Server, tmp_path: Path, big_file: Path
) -> None:
    """rclone copy (multipart above its 200 MiB cutoff) and check agree on a 1 GiB file."""
    env = rclone_env(txs3_server)
    rclone = ["rclone", "--ca-cert", str(txs3_server.ca_file), "--retries", "1"]
    bucket = txs3_server.bucket_name("rclonebig")
    run([*rclone, "mkdir", f"txs3:{bucket}"], env)
    run([*rclone, "copy", str(big_file), f"txs3:{bucket}/big"], env)
    run([*rclone, "check", str(big_file.parent), f"txs3:{bucket}/big"], env)
    run([*rclone, "copy", f"txs3:{bucket}/big", str(tmp_path)], env)
    assert same(big_file, tmp_path / big_file.name)
    run([*rclone, "purge", f"txs3:{bucket}"], env)


def test_minio_multipart(txs3_server: Txs3Server, tmp_path: Path) -> None:
    """The MinIO client's fput_object (multipart for this size) and fget_object round-trip 100 MiB."""
    client = minio_client(txs3_server)
    bucket = txs3_server.bucket_name("miniobig")
    client.make_bucket(bucket)
    source = write_big_file(tmp_path / "hundred.bin", 100 * MiB + 7)
    client.fput_object(bucket, "hundred.bin", str(source), part_size=16 * MiB)
    stat = client.stat_object(bucket, "hundred.bin")
    assert stat.etag is not None and "-" in stat.etag
    target = tmp_path / "back.bin"
    client.fget_object(bucket, "hundred.bin", str(target))
    assert same(source, target)
    client.remove_object(bucket, "hundred.bin")
    client.remove_bucket(bucket)
