"""Service-level operations: ListBuckets."""

from __future__ import annotations

from collections.abc import Mapping

from txs3 import xml
from txs3.api.listing import decode_token, encode_token
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.response import Response, xml_response
from txs3.store.interface import BucketInfo

#: The largest page, and the page size when max-buckets is not given
#: (AWS's default page size for paginated ListBuckets).
MAX_BUCKETS = 10_000


def _max_buckets(query: Mapping[str, str]) -> int:
    raw = query.get("max-buckets")
    if raw is None:
        return MAX_BUCKETS
    value = raw.strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_BUCKETS:
        raise S3Error.of(
            "InvalidArgument",
            f"Argument max-buckets must be an integer between 1 and {MAX_BUCKETS}",
            ArgumentName="max-buckets",
            ArgumentValue=raw,
        )
    return int(value)


def bucket_page(
    buckets: list[BucketInfo], query: Mapping[str, str]
) -> tuple[list[BucketInfo], str | None]:
    """
    The page of C{buckets} (sorted by name) that a ListBuckets query asks
    for, and the continuation token of the next page (None on the last).

    Reads ``prefix`` (names that begin with it), ``bucket-region`` (buckets
    in that region), ``continuation-token`` (names after the last one of
    the previous page) and ``max-buckets`` (1 to 10,000; 10,000 when
    absent).

    @raise S3Error: C{InvalidArgument} for a bad max-buckets or token.
    """
    limit = _max_buckets(query)
    prefix = query.get("prefix", "")
    region = query.get("bucket-region")
    token = query.get("continuation-token")
    after = decode_token(token) if token else None
    chosen = [
        b
        for b in buckets
        if b.name.startswith(prefix)
        and (region is None or b.region == region)
        and (after is None or b.name > after)
    ]
    page = chosen[:limit]
    more = len(chosen) > limit
    return page, encode_token(page[-1].name) if more else None


async def list_buckets(call: S3Call) -> Response:
    """
    The caller's own buckets, sorted by name, with their owner; paged and
    filtered as L{bucket_page} says.  The answer names the ``Prefix``
    when one was sent, and a ``ContinuationToken`` when more remain.
    """
    owner = call.identity
    query = call.operation.query
    buckets, token = bucket_page(call.config.store.list_buckets(owner.owner_id), query)
    children: list[xml.Node] = [
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
    ]
    if token is not None:
        children.append(("ContinuationToken", token))
    if "prefix" in query:
        children.append(("Prefix", query["prefix"]))
    return xml_response(xml.document("ListAllMyBucketsResult", children))
