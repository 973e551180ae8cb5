"""
Presigned URLs made by real clients (boto3's generate_presigned_url, the
AWS CLI's ``aws s3 presign``, s3cmd's ``signurl``), used by ``curl`` against
a real C{twistd txs3}: downloads and uploads with nothing but the URL.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.interop.conftest import Txs3Server
from tests.interop.test_clients import AWS_V1, S3CMD, payload, run, s3cmd_config


def curl(server: Txs3Server, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--cacert", str(server.ca_file), *args],
        capture_output=True,
        timeout=60,
    )


def presigner(server: Txs3Server, version: str) -> Any:
    return server.boto3_client(signature_version=version)


@pytest.mark.parametrize("version", ["s3v4", "s3"], ids=["sigv4", "sigv2"])
def test_curl_with_boto3_presigned_urls(
    txs3_server: Txs3Server, tmp_path: Path, version: str
) -> None:
    """curl uploads with a presigned PUT URL and downloads with a presigned GET URL."""
    _, bucket = txs3_server.new_bucket("curl")
    data = payload(200_000, 11)
    source = tmp_path / "up.bin"
    source.write_bytes(data)
    signer = presigner(txs3_server, version)
    put = signer.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "shared file.bin"}, ExpiresIn=600
    )
    result = curl(txs3_server, "--fail", "-T", str(source), put)
    assert result.returncode == 0, result.stderr
    get = signer.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "shared file.bin"}, ExpiresIn=600
    )
    result = curl(txs3_server, "--fail", get)
    assert result.returncode == 0, result.stderr
    assert result.stdout == data
    # A tampered URL is refused with S3's XML.
    result = curl(txs3_server, get.replace("Signature=", "Signature=A"))
    assert b"<Code>" in result.stdout and (
        b"SignatureDoesNotMatch" in result.stdout or b"AccessDenied" in result.stdout
    )


def test_curl_with_cli_presigned_urls(txs3_server: Txs3Server, tmp_path: Path) -> None:
    """URLs from `aws s3 presign` (SigV4) and `s3cmd signurl` (SigV2) download with curl."""
    s3, bucket = txs3_server.new_bucket("clipresign")
    data = payload(50_000, 12)
    s3.put_object(Bucket=bucket, Key="dir/report.pdf", Body=data)
    env = txs3_server.aws_env()
    url = run(
        [
            str(AWS_V1),
            "--endpoint-url",
            txs3_server.endpoint,
            "s3",
            "presign",
            f"s3://{bucket}/dir/report.pdf",
            "--expires-in",
            "600",
        ],
        env,
    ).strip()
    result = curl(txs3_server, "--fail", url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == data
    config = s3cmd_config(txs3_server, tmp_path / "s3cfg", signature_v2=False)
    expiry = str(int(time.time()) + 600)
    url = run(
        [
            str(S3CMD),
            "-c",
            str(config),
            "signurl",
            f"s3://{bucket}/dir/report.pdf",
            expiry,
        ]
    ).strip()
    # s3cmd prints http:// URLs for its host_base; this server speaks HTTPS.
    url = url.replace("http://", "https://", 1)
    result = curl(txs3_server, "--fail", url)
    assert result.returncode == 0, (url, result.stderr)
    assert result.stdout == data


@pytest.mark.parametrize("expect", ["Expect:", "Expect: 100-continue"])
def test_curl_refused_upload_answered_before_body(
    txs3_server: Txs3Server, tmp_path: Path, expect: str
) -> None:
    """curl's anonymous 50 MB PUT gets 403 XML before sending (Expect) or while sending (no Expect)."""
    _, bucket = txs3_server.new_bucket("refused")
    source = tmp_path / "big.bin"
    with source.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    result = curl(
        txs3_server,
        "-H",
        expect,
        "-T",
        str(source),
        "-w",
        "\n%{http_code} %{size_upload}",
        f"{txs3_server.endpoint}/{bucket}/big.bin",
    )
    body, _, summary = result.stdout.rpartition(b"\n")
    code, uploaded = summary.split()
    assert code == b"403", result
    assert b"<Code>AccessDenied</Code>" in body
    # Far less than the file: the answer came before the body was read.
    assert int(uploaded) < 20 * 1024 * 1024
