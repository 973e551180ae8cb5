"""
Non-ASCII user metadata with boto3 against a real C{twistd txs3}: boto3
refuses such C{Metadata} itself, so the header is set in the
C{before-sign} event, as an application that sets it by hand would; the
value comes back RFC 2047-encoded, S3's mail-safe form.
"""

from __future__ import annotations

from email.header import decode_header, make_header
from typing import Any

import pytest

from tests.interop.conftest import Txs3Server


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_boto3_non_ascii_metadata(
    txs3_server: Txs3Server, signature_version: str
) -> None:
    """boto3 stores x-amz-meta-title "Grüße, 世界" (SigV4 and SigV2) and head_object returns it RFC 2047-encoded."""
    s3, bucket = txs3_server.new_bucket(
        "meta-" + signature_version, signature_version=signature_version
    )
    title = "Grüße, 世界"

    def add(request: Any, **_: Any) -> None:
        request.headers["x-amz-meta-title"] = title

    s3.meta.events.register("before-sign.s3.PutObject", add)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.meta.events.unregister("before-sign.s3.PutObject", add)
    value = s3.head_object(Bucket=bucket, Key="k")["Metadata"]["title"]
    assert value.startswith("=?UTF-8?B?") and value.isascii()
    assert str(make_header(decode_header(value))) == title
