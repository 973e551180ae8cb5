"""
boto3's C{generate_presigned_post}, unchanged, with C{requests} over TLS
against a real C{twistd txs3}: the form lands, its conditions hold, and a
form that breaks them is refused with AWS's error and stores nothing.
"""

from __future__ import annotations

import hashlib
import os
from xml.etree import ElementTree

import requests

from tests.interop.conftest import Txs3Server


def _post(server: Txs3Server, post: dict[str, object], data: bytes,
          name: str = "photo.png") -> requests.Response:  # fmt: skip
    return requests.post(
        str(post["url"]),
        data=post["fields"],
        files={"file": (name, data, "image/png")},
        verify=str(server.ca_file),
        allow_redirects=False,
        timeout=30,
    )


def test_presigned_post_with_requests(txs3_server: Txs3Server) -> None:
    """A presigned POST with conditions stores the file byte for byte; 201 answers PostResponse."""
    s3, bucket = txs3_server.new_bucket("post")
    data = os.urandom(300_000)
    post = s3.generate_presigned_post(
        bucket,
        "uploads/${filename}",
        Fields={"success_action_status": "201", "Content-Type": "image/png",
                "x-amz-meta-origin": "form"},
        Conditions=[
            ["starts-with", "$key", "uploads/"],
            ["content-length-range", 1, 1_000_000],
            {"success_action_status": "201"},
            ["starts-with", "$Content-Type", "image/"],
            {"x-amz-meta-origin": "form"},
        ],
        ExpiresIn=600,
    )  # fmt: skip
    r = _post(txs3_server, post, data)
    assert r.status_code == 201, r.text
    root = ElementTree.fromstring(r.content)
    assert root.findtext("Key") == "uploads/photo.png"
    assert root.findtext("ETag") == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="uploads/photo.png")
    assert got["Body"].read() == data
    assert got["ContentType"] == "image/png"
    assert got["Metadata"] == {"origin": "form"}


def test_presigned_post_conditions_refuse(txs3_server: Txs3Server) -> None:
    """Breaking a condition (size, key prefix, an expired policy) is refused with AWS's error, and nothing is stored."""
    s3, bucket = txs3_server.new_bucket("post-refused")
    small = s3.generate_presigned_post(
        bucket, "uploads/a.bin", Conditions=[["content-length-range", 1, 1000]]
    )
    r = _post(txs3_server, small, b"z" * 5000)
    assert r.status_code == 400 and "<Code>EntityTooLarge</Code>" in r.text
    prefixed = s3.generate_presigned_post(
        bucket, "elsewhere/a.bin", Conditions=[["starts-with", "$key", "uploads/"]]
    )
    r = _post(txs3_server, prefixed, b"z")
    assert r.status_code == 403 and "Policy Condition failed" in r.text
    expired = s3.generate_presigned_post(bucket, "uploads/a.bin", ExpiresIn=-5)
    r = _post(txs3_server, expired, b"z")
    assert r.status_code == 403 and "Policy expired." in r.text
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
