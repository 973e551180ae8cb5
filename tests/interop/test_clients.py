"""
Real clients against a real C{twistd txs3}: boto3 (newest, default
settings: aws-chunked uploads with a CRC trailer over HTTPS; and SigV2),
s3cmd (SigV4 and SigV2) and the AWS CLI (v1 from PyPI, v2 from Debian).
Each creates a bucket, uploads, lists, downloads, compares bytes and
deletes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.interop.conftest import Txs3Server

BIN = Path(sys.executable).parent
AWS_V1 = BIN / "aws"
AWS_V2 = Path("/usr/bin/aws")
S3CMD = BIN / "s3cmd"


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes."""
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:size])


def run(args: list[str], env: dict[str, str] | None = None) -> str:
    """Run a client; fail the test with its output if it fails."""
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f"{args}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    )
    return proc.stdout


def boto3_round_trip(s3: Any, server: Txs3Server, tmp_path: Path, hint: str) -> None:
    bucket = server.bucket_name(hint)
    s3.create_bucket(Bucket=bucket)
    small = payload(1000, 1)
    medium = payload(3 * 1024 * 1024 + 17, 2)
    s3.put_object(
        Bucket=bucket,
        Key="dir/small.bin",
        Body=small,
        ContentType="text/plain",
        Metadata={"mtime": "1700000000"},
    )
    source = tmp_path / f"{hint}-medium.bin"
    source.write_bytes(medium)
    s3.upload_file(str(source), bucket, "dir/sub/medium bin+x")
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="dir/", Delimiter="/")
    assert [o["Key"] for o in listing["Contents"]] == ["dir/small.bin"]
    assert [p["Prefix"] for p in listing["CommonPrefixes"]] == ["dir/sub/"]
    got = s3.get_object(Bucket=bucket, Key="dir/small.bin", ChecksumMode="ENABLED")
    assert got["Body"].read() == small
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"mtime": "1700000000"}
    target = tmp_path / f"{hint}-download.bin"
    s3.download_file(bucket, "dir/sub/medium bin+x", str(target))
    assert target.read_bytes() == medium
    head = s3.head_object(Bucket=bucket, Key="dir/sub/medium bin+x")
    assert head["ContentLength"] == len(medium)
    s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "dir/small.bin"}, {"Key": "dir/sub/medium bin+x"}]},
    )
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.delete_bucket(Bucket=bucket)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert bucket not in names


def test_boto3_default_settings(txs3_server: Txs3Server, tmp_path: Path) -> None:
    """boto3 with its default settings (chunked uploads with a CRC32 trailer) round-trips objects."""
    s3 = txs3_server.boto3_client(defaults=True)
    boto3_round_trip(s3, txs3_server, tmp_path, "boto3")


def test_boto3_sigv2(txs3_server: Txs3Server, tmp_path: Path) -> None:
    """boto3 signing with SigV2 (signature_version 's3') round-trips objects."""
    s3 = txs3_server.boto3_client(signature_version="s3")
    boto3_round_trip(s3, txs3_server, tmp_path, "boto3v2")


def test_boto3_wrong_secret(txs3_server: Txs3Server) -> None:
    """boto3 with a wrong secret gets SignatureDoesNotMatch."""
    from botocore.exceptions import ClientError

    s3 = txs3_server.boto3_client(
        defaults=True, secret_key="wrong" + txs3_server.secret_key
    )
    with pytest.raises(ClientError) as info:
        s3.list_buckets()
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def s3cmd_config(server: Txs3Server, path: Path, signature_v2: bool) -> Path:
    host = f"{server.host}:{server.port}"
    path.write_text(
        "[default]\n"
        f"access_key = {server.access_key}\n"
        f"secret_key = {server.secret_key}\n"
        f"host_base = {host}\n"
        f"host_bucket = {host}\n"
        "use_https = True\n"
        "check_ssl_certificate = True\n"
        f"ca_certs_file = {server.ca_file}\n"
        f"signature_v2 = {signature_v2}\n"
        f"bucket_location = {server.region}\n"
    )
    return path


@pytest.mark.parametrize("signature_v2", [False, True], ids=["sigv4", "sigv2"])
def test_s3cmd(txs3_server: Txs3Server, tmp_path: Path, signature_v2: bool) -> None:
    """s3cmd (both signature versions) makes a bucket, puts, lists, gets, deletes."""
    config = s3cmd_config(txs3_server, tmp_path / "s3cfg", signature_v2)
    bucket = txs3_server.bucket_name("s3cmd")
    s3cmd = [str(S3CMD), "-c", str(config), "--no-progress"]
    data = payload(2 * 1024 * 1024 + 5, 3)
    source = tmp_path / "upload file.bin"
    source.write_bytes(data)
    run([*s3cmd, "mb", f"s3://{bucket}"])
    run([*s3cmd, "put", str(source), f"s3://{bucket}/folder/upload file.bin"])
    listing = run([*s3cmd, "ls", "--recursive", f"s3://{bucket}"])
    assert f"s3://{bucket}/folder/upload file.bin" in listing
    target = tmp_path / "download.bin"
    run([*s3cmd, "get", f"s3://{bucket}/folder/upload file.bin", str(target)])
    assert target.read_bytes() == data
    info = run([*s3cmd, "info", f"s3://{bucket}/folder/upload file.bin"])
    assert hashlib.md5(data).hexdigest() in info
    run([*s3cmd, "del", f"s3://{bucket}/folder/upload file.bin"])
    run([*s3cmd, "rb", f"s3://{bucket}"])


def aws_clis() -> list[Any]:
    clis = [pytest.param(AWS_V1, id="aws-cli-v1")]
    marks = (
        []
        if AWS_V2.exists()
        else [pytest.mark.skip(reason="Debian awscli not installed")]
    )
    clis.append(pytest.param(AWS_V2, id="aws-cli-v2", marks=marks))
    return clis


@pytest.mark.parametrize("aws", aws_clis())
def test_aws_cli_s3api(txs3_server: Txs3Server, tmp_path: Path, aws: Path) -> None:
    """The AWS CLI's s3api commands create, upload, list, download, compare and delete."""
    env = txs3_server.aws_env()
    base = [str(aws), "--endpoint-url", txs3_server.endpoint, "--output", "json"]
    bucket = txs3_server.bucket_name("awscli")
    data = payload(1024 * 1024 + 3, 4)
    source = tmp_path / "body.bin"
    source.write_bytes(data)
    run([*base, "s3api", "create-bucket", "--bucket", bucket], env)
    run(
        [
            *base,
            "s3api",
            "put-object",
            "--bucket",
            bucket,
            "--key",
            "a/b c.bin",
            "--body",
            str(source),
            "--content-type",
            "application/x-test",
        ],
        env,
    )
    import json

    listing = json.loads(
        run([*base, "s3api", "list-objects-v2", "--bucket", bucket], env)
    )
    assert [o["Key"] for o in listing["Contents"]] == ["a/b c.bin"]
    assert listing["Contents"][0]["Size"] == len(data)
    target = tmp_path / "out.bin"
    head = json.loads(
        run(
            [
                *base,
                "s3api",
                "get-object",
                "--bucket",
                bucket,
                "--key",
                "a/b c.bin",
                str(target),
            ],
            env,
        )
    )
    assert head["ContentType"] == "application/x-test"
    assert target.read_bytes() == data
    run([*base, "s3api", "head-object", "--bucket", bucket, "--key", "a/b c.bin"], env)
    run(
        [*base, "s3api", "delete-object", "--bucket", bucket, "--key", "a/b c.bin"], env
    )
    run([*base, "s3api", "delete-bucket", "--bucket", bucket], env)


def test_clients_present() -> None:
    """The interop clients this suite relies on are installed (so no test skips silently)."""
    assert AWS_V1.exists() and S3CMD.exists()
    if os.environ.get("CI"):
        assert AWS_V2.exists(), "CI must install Debian's awscli"
        assert shutil.which("rclone"), "CI must install rclone"
