"""
Versioning with real clients against a real C{twistd txs3}: boto3
(versions, reads and deletes by id, markers), the AWS CLI v1 and v2
(C{s3api list-object-versions}, and C{aws s3 rm} leaving a delete marker),
rclone (C{--s3-versions} listing and C{--s3-version-at}), and restic (a
repository in a versioned bucket survives C{forget --prune}: the bytes of
the forgotten snapshot stay reachable as noncurrent versions).
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.interop.conftest import Txs3Server
from tests.interop.test_clients import AWS_V1, AWS_V2, run
from tests.interop.test_transfer_tools import rclone_env


def versioned_bucket(server: Txs3Server, hint: str) -> tuple[object, str]:
    s3, bucket = server.new_bucket(hint)
    s3.put_bucket_versioning(  # type: ignore[attr-defined]
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    return s3, bucket


def test_boto3_versions(txs3_server: Txs3Server) -> None:
    """put_bucket_versioning, list_object_versions, get and delete by version, markers."""
    from botocore.exceptions import ClientError

    s3, bucket = txs3_server.new_bucket("boto-ver")
    s3.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one"
    marker = s3.delete_object(Bucket=bucket, Key="k")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k")
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
    listing = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listing["Versions"]] == [v2, v1]
    assert [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [
        (marker["VersionId"], True)
    ]
    s3.delete_object(Bucket=bucket, Key="k", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"
    s3.delete_object(Bucket=bucket, Key="k", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="k")["VersionId"] == v1
    answer = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": v1}]}
    )
    assert answer["Deleted"] == [{"Key": "k", "VersionId": v1}]
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)
    s3.delete_bucket(Bucket=bucket)


@pytest.mark.parametrize("aws", [AWS_V1, AWS_V2], ids=["v1", "v2"])
def test_aws_cli_versions(txs3_server: Txs3Server, tmp_path: Path, aws: Path) -> None:
    """aws s3 rm on a versioned bucket leaves a delete marker that list-object-versions shows."""
    if not aws.exists():
        pytest.skip(f"{aws} is not installed")
    _, bucket = versioned_bucket(txs3_server, "cli-ver")
    env = txs3_server.aws_env()
    source = tmp_path / "f.txt"
    source.write_bytes(b"cli version")
    s3_cmd = [str(aws), "--endpoint-url", txs3_server.endpoint, "s3"]
    run([*s3_cmd, "cp", str(source), f"s3://{bucket}/f.txt"], env)
    run([*s3_cmd, "rm", f"s3://{bucket}/f.txt"], env)
    listing = json.loads(
        run(
            [*txs3_server.aws_api(aws), "list-object-versions", "--bucket", bucket], env
        )
    )
    assert [v["Key"] for v in listing["Versions"]] == ["f.txt"]
    assert [(m["Key"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [
        ("f.txt", True)
    ]
    version = listing["Versions"][0]["VersionId"]
    target = tmp_path / "back.txt"
    run([*txs3_server.aws_api(aws), "get-object", "--bucket", bucket, "--key", "f.txt",
         "--version-id", version, str(target)], env)  # fmt: skip
    assert target.read_bytes() == b"cli version"


@pytest.mark.skipif(
    shutil.which("rclone") is None, reason="Debian rclone not installed"
)
def test_rclone_versions(txs3_server: Txs3Server, tmp_path: Path) -> None:
    """rclone lists old versions with --s3-versions and reads the past with --s3-version-at."""
    s3, bucket = versioned_bucket(txs3_server, "rclone-ver")
    s3.put_object(Bucket=bucket, Key="notes.txt", Body=b"old notes")  # type: ignore[attr-defined]
    # rclone resolves --s3-version-at to the second: keep the writes apart.
    time.sleep(1.5)
    between = datetime.datetime.now(datetime.UTC)
    time.sleep(1.5)
    s3.put_object(Bucket=bucket, Key="notes.txt", Body=b"new notes")  # type: ignore[attr-defined]
    env = rclone_env(txs3_server)
    rclone = ["rclone", "--ca-cert", str(txs3_server.ca_file), "--retries", "1",
              "--low-level-retries", "1"]  # fmt: skip
    names = run([*rclone, "lsf", "--s3-versions", f"txs3:{bucket}"], env).split()
    assert "notes.txt" in names and len(names) == 2, names
    at = between.strftime("%Y-%m-%dT%H:%M:%SZ")
    old = run([*rclone, "cat", "--s3-version-at", at, f"txs3:{bucket}/notes.txt"], env)
    assert old == "old notes"
    assert run([*rclone, "cat", f"txs3:{bucket}/notes.txt"], env) == "new notes"


@pytest.mark.skipif(
    shutil.which("restic") is None, reason="Debian restic not installed"
)
def test_restic_forget_prune_keeps_versions(
    txs3_server: Txs3Server, tmp_path: Path
) -> None:
    """restic backs up twice into a versioned bucket, forgets and prunes one snapshot; its pack files stay as noncurrent versions."""
    s3, bucket = versioned_bucket(txs3_server, "restic-ver")
    env = {
        **txs3_server.aws_env(),
        "RESTIC_PASSWORD": "interop-password",
        "RESTIC_REPOSITORY": f"s3:{txs3_server.endpoint}/{bucket}",
        "RESTIC_CACHE_DIR": str(tmp_path / "cache"),
        "HOME": str(tmp_path),
    }
    restic = ["restic", "--cacert", str(txs3_server.ca_file)]
    data = tmp_path / "data"
    data.mkdir()
    (data / "first.bin").write_bytes(os.urandom(300_000))
    run(["restic", "--cacert", str(txs3_server.ca_file), "init"], env)
    run([*restic, "backup", str(data)], env)
    (data / "first.bin").unlink()
    (data / "second.bin").write_bytes(os.urandom(300_000))
    run([*restic, "backup", str(data)], env)
    run([*restic, "forget", "--keep-last", "1", "--prune"], env)
    run([*restic, "check", "--read-data"], env)
    listing = s3.list_object_versions(Bucket=bucket)  # type: ignore[attr-defined]
    deleted_packs = {
        m["Key"]
        for m in listing.get("DeleteMarkers", [])
        if m["Key"].startswith("data/")
    }
    assert deleted_packs, "prune removed no pack file"
    kept = {
        v["Key"]
        for v in listing["Versions"]
        if not v["IsLatest"] or v["Key"] in deleted_packs
    }
    assert deleted_packs <= kept
