"""Service-level operations: ListBuckets."""

from __future__ import annotations

from txs3 import xml
from txs3.call import S3Call
from txs3.response import Response, xml_response


async def list_buckets(call: S3Call) -> Response:
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
    return xml_response(body)
