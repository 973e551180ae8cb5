"""
End to end, nothing is lost: a real C{twistd txs3} is killed with SIGKILL
while a client is halfway through replacing an object, and started again
on the same data directory.  The old object must come back byte for byte,
and the half-written upload must be gone from disk.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.conftest import TestCA, Txs3Process, free_port
from tests.s3client import boto3_client

ACCESS, SECRET = "CRASHTESTKEY00000001", "crash-test-secret-0000000000000000000001"


def client(port: int, ca: Path) -> Any:
    return boto3_client(port, ca, ACCESS, SECRET, None)


def staged_bytes(data_dir: Path) -> int:
    """Bytes in staging files (anything under staging/ but lock files)."""
    return sum(
        p.stat().st_size
        for p in (data_dir / "staging").rglob("*")
        if p.is_file() and p.name != "lock"
    )


@pytest.mark.parametrize("versioned", [False, True], ids=["plain", "versioned"])
def test_sigkill_mid_upload_keeps_old_object(
    tmp_path: Path, test_ca: TestCA, start_txs3: Any, versioned: bool
) -> None:
    """After SIGKILL mid-PUT and a restart, the previous object (and, versioned, every older version) is intact, no version is half-made, and no staging bytes remain."""
    port = free_port()
    cert, key, ca = test_ca.cert_file, test_ca.key_file, test_ca.ca_file
    credentials = tmp_path / "credentials"
    credentials.write_text(f"{ACCESS} {SECRET}\n")
    args = [
        "--data",
        "data",
        "--credentials",
        str(credentials),
        "--port",
        f"ssl:{port}:interface=127.0.0.1:privateKey={key}:certKey={cert}",
    ]
    server: Txs3Process = start_txs3(args, cwd=tmp_path)
    server.wait_for_tls(port, ca)
    s3 = client(port, ca)
    s3.create_bucket(Bucket="keep")
    older = b""
    if versioned:
        s3.put_bucket_versioning(
            Bucket="keep", VersioningConfiguration={"Status": "Enabled"}
        )
        older = os.urandom(1024 * 1024)
        s3.put_object(Bucket="keep", Key="precious", Body=older)
    old = os.urandom(3 * 1024 * 1024)
    s3.put_object(Bucket="keep", Key="precious", Body=old)

    # Start replacing it with 64 MiB, send 8 MiB, then kill the server.
    size = 64 * 1024 * 1024
    request = AWSRequest(
        method="PUT",
        url=f"https://127.0.0.1:{port}/keep/precious",
        headers={
            "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
            "Content-Length": str(size),
        },
    )
    S3SigV4Auth(Credentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(request)
    head = ["PUT /keep/precious HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    head += [f"{k}: {v}" for k, v in request.headers.items()]
    context = ssl.create_default_context(cafile=str(ca))
    data_dir = tmp_path / "data"
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            chunk = os.urandom(1024 * 1024)
            for _ in range(8):
                tls.sendall(chunk)
            # Wait until the server has staged some of it, so the kill lands
            # mid-upload rather than before the body.
            for _ in range(400):
                if staged_bytes(data_dir) > 0:
                    break
                time.sleep(0.05)
            assert staged_bytes(data_dir) > 0
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait()

    server = start_txs3(args, cwd=tmp_path)
    try:
        server.wait_for_tls(port, ca)
        s3 = client(port, ca)
        body = s3.get_object(Bucket="keep", Key="precious")["Body"].read()
        assert hashlib.sha256(body).digest() == hashlib.sha256(old).digest()
        assert staged_bytes(data_dir) == 0
        blobs = [p for p in (data_dir / "blobs").rglob("*") if p.is_file()]
        assert len(blobs) == (2 if versioned else 1)
        if versioned:
            listing = s3.list_object_versions(Bucket="keep")["Versions"]
            assert [v["Size"] for v in listing] == [len(old), len(older)]
            first = s3.get_object(
                Bucket="keep", Key="precious", VersionId=listing[1]["VersionId"]
            )
            assert first["Body"].read() == older
    finally:
        server.stop()
