"""Service-level operations: ListBuckets."""

from __future__ import annotations

from typing import Any

from txs3 import xml
from txs3.api.render import send_xml
from txs3.server import S3Call


async def list_buckets(call: S3Call, request: Any) -> bytes:
    """The caller's own buckets, sorted by name, with their owner."""
    owner = call.identity
    buckets = call.config.store.list_buckets(owner.owner_id)
    body = xml.document(
        "ListAllMyBucketsResult",
        [
            ("Owner", [("ID", owner.owner_id), ("DisplayName", owner.display_name)]),
            (
                "Buckets",
                [
                    (
                        "Bucket",
                        [
                            ("Name", b.name),
                            ("CreationDate", xml.iso8601(b.created)),
                            ("BucketRegion", b.region),
                        ],
                    )
                    for b in buckets
                ],
            ),
        ],
    )
    return send_xml(request, body)
