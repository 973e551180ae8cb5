"""
Smoke test of the interop fixture: boto3 reaches a real C{twistd txs3} over
verified TLS and is authenticated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.interop.conftest import Txs3Server


def test_boto3_list_buckets(txs3_server: Txs3Server) -> None:
    """boto3 lists buckets on a fresh server: an empty list, owned by the key's owner."""
    s3: Any = txs3_server.boto3_client()
    response = s3.list_buckets()
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["Buckets"] == []
    assert response["Owner"]["ID"] == "owner-one"
