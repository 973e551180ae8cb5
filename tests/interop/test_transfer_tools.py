"""
Directory-tree and file tools against a real C{twistd txs3}: the AWS CLI's
high-level ``aws s3`` commands (v1 from PyPI, v2 from Debian), rclone
(Debian, S3 provider ``Other``) and the MinIO Python client; every round
trip ends with a byte-for-byte comparison.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.interop.conftest import Txs3Server
from tests.interop.test_clients import aws_clis, payload, run

TREE_FILES = 1000


def make_tree(root: Path, files: int = TREE_FILES) -> Path:
    """A tree of small files in nested folders, names with spaces and plus signs."""
    for i in range(files):
        folder = root / f"d{i % 7}" / f"sub {i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file+{i}.txt").write_bytes(payload(100 + i % 500, i))
    return root


def assert_same_tree(a: Path, b: Path) -> None:
    """Same relative file names, same bytes."""
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


@pytest.mark.parametrize("aws", aws_clis())
def test_aws_s3_tree(txs3_server: Txs3Server, tmp_path: Path, aws: Path) -> None:
    """aws s3 sync up and down, cp, mv and rm --recursive move a 1,000-file tree intact."""
    env = txs3_server.aws_env()
    s3 = [str(aws), "--endpoint-url", txs3_server.endpoint, "s3"]
    bucket = txs3_server.bucket_name("awss3")
    tree = make_tree(tmp_path / "tree")
    run([*s3, "mb", f"s3://{bucket}"], env)
    run([*s3, "sync", str(tree), f"s3://{bucket}/tree", "--only-show-errors"], env)
    down = tmp_path / "down"
    run([*s3, "sync", f"s3://{bucket}/tree", str(down), "--only-show-errors"], env)
    assert_same_tree(tree, down)
    # A second sync has nothing to do.
    out = run([*s3, "sync", str(tree), f"s3://{bucket}/tree"], env)
    assert "upload:" not in out
    single = tmp_path / "single file.bin"
    single.write_bytes(payload(300_000, 99))
    run([*s3, "cp", str(single), f"s3://{bucket}/one/single file.bin"], env)
    run(
        [
            *s3,
            "mv",
            f"s3://{bucket}/one/single file.bin",
            f"s3://{bucket}/two/moved.bin",
        ],
        env,
    )
    back = tmp_path / "back.bin"
    run([*s3, "cp", f"s3://{bucket}/two/moved.bin", str(back)], env)
    assert back.read_bytes() == single.read_bytes()
    listing = run([*s3, "ls", "--recursive", f"s3://{bucket}/"], env)
    assert "two/moved.bin" in listing and "one/single file.bin" not in listing
    run([*s3, "rm", f"s3://{bucket}", "--recursive", "--only-show-errors"], env)
    api = txs3_server.aws_api(aws)
    remaining = json.loads(
        run([*api, "list-objects-v2", "--bucket", bucket], env) or "{}"
    )
    assert remaining.get("KeyCount", 0) == 0
    run([*s3, "rb", f"s3://{bucket}"], env)


def rclone_env(server: Txs3Server) -> dict[str, str]:
    # AWS_* variables would reach rclone's AWS SDK (an AWS_CA_BUNDLE there
    # breaks rclone's own TLS transport): the remote is configured only here.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env.update(
        RCLONE_CONFIG_TXS3_TYPE="s3",
        RCLONE_CONFIG_TXS3_PROVIDER="Other",
        RCLONE_CONFIG_TXS3_ACCESS_KEY_ID=server.access_key,
        RCLONE_CONFIG_TXS3_SECRET_ACCESS_KEY=server.secret_key,
        RCLONE_CONFIG_TXS3_ENDPOINT=server.endpoint,
        RCLONE_CONFIG_TXS3_REGION=server.region,
        RCLONE_CONFIG_TXS3_FORCE_PATH_STYLE="true",
        RCLONE_CONFIG=os.devnull,
    )
    return env


@pytest.mark.skipif(
    shutil.which("rclone") is None, reason="Debian rclone not installed"
)
def test_rclone_copy_sync_check(txs3_server: Txs3Server, tmp_path: Path) -> None:
    """rclone copy, sync and check (provider Other, path style) keep a tree byte-identical, mtimes included."""
    env = rclone_env(txs3_server)
    rclone = [
        "rclone",
        "--ca-cert",
        str(txs3_server.ca_file),
        "--low-level-retries",
        "1",
        "--retries",
        "1",
    ]
    bucket = txs3_server.bucket_name("rclone")
    tree = make_tree(tmp_path / "tree", 300)
    os.utime(tree / "d0" / "sub 0" / "file+0.txt", (1_600_000_000, 1_600_000_000))
    run([*rclone, "mkdir", f"txs3:{bucket}"], env)
    run([*rclone, "copy", str(tree), f"txs3:{bucket}/tree"], env)
    run([*rclone, "check", str(tree), f"txs3:{bucket}/tree"], env)
    (tree / "d1" / "sub 1" / "file+1.txt").unlink()
    (tree / "new file.txt").write_bytes(b"fresh")
    run([*rclone, "sync", str(tree), f"txs3:{bucket}/tree"], env)
    run([*rclone, "check", str(tree), f"txs3:{bucket}/tree"], env)
    down = tmp_path / "down"
    run([*rclone, "copy", f"txs3:{bucket}/tree", str(down)], env)
    assert_same_tree(tree, down)
    assert int((down / "d0" / "sub 0" / "file+0.txt").stat().st_mtime) == 1_600_000_000
    run([*rclone, "purge", f"txs3:{bucket}"], env)


def minio_client(server: Txs3Server) -> Any:
    """The MinIO Python client for C{server}, verifying its certificate."""
    import urllib3
    from minio import Minio

    http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(server.ca_file))
    return Minio(
        f"{server.host}:{server.port}",
        access_key=server.access_key,
        secret_key=server.secret_key,
        secure=True,
        region=server.region,
        http_client=http,
    )


def test_minio_client(txs3_server: Txs3Server, tmp_path: Path) -> None:
    """The MinIO Python client's fput_object / fget_object round-trip a file."""
    client = minio_client(txs3_server)
    bucket = txs3_server.bucket_name("minio")
    client.make_bucket(bucket)
    assert client.bucket_exists(bucket)
    source = tmp_path / "minio source.bin"
    source.write_bytes(payload(4 * 1024 * 1024 + 1, 7))
    client.fput_object(bucket, "path/to/minio source.bin", str(source))
    target = tmp_path / "minio target.bin"
    client.fget_object(bucket, "path/to/minio source.bin", str(target))
    assert target.read_bytes() == source.read_bytes()
    names = [o.object_name for o in client.list_objects(bucket, recursive=True)]
    assert names == ["path/to/minio source.bin"]
    client.remove_object(bucket, "path/to/minio source.bin")
    client.remove_bucket(bucket)
