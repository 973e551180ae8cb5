"""
ListBuckets paging and filters (``max-buckets``, ``continuation-token``,
``prefix``, ``bucket-region``): the page rules as a pure function
(L{txs3.api.service.bucket_page}), then boto3's C{list_buckets} and its
paginator against the functional server.
"""

from __future__ import annotations

from typing import Any

import pytest
import pytest_twisted
from twisted.internet.threads import deferToThread

from tests.functional import Server, server, tls_server  # noqa: F401
from txs3.api.service import bucket_page
from txs3.errors import S3Error
from txs3.store.interface import BucketInfo

BUCKETS = [
    BucketInfo(name, "owner", 0.0, region)
    for name, region in [
        ("alpha-1", "us-east-1"),
        ("alpha-2", "eu-west-1"),
        ("alpha-3", "us-east-1"),
        ("beta-1", "us-east-1"),
        ("beta-2", "eu-west-1"),
    ]
]


def names(page: list[BucketInfo]) -> list[str]:
    return [b.name for b in page]


def test_pages_follow_each_other() -> None:
    """Pages of max-buckets names follow each other through the token, the last without one."""
    seen: list[str] = []
    query = {"max-buckets": "2"}
    while True:
        page, token = bucket_page(BUCKETS, query)
        seen += names(page)
        if token is None:
            break
        query = {"max-buckets": "2", "continuation-token": token}
    assert seen == names(BUCKETS)
    assert bucket_page(BUCKETS, {}) == (BUCKETS, None)
    assert bucket_page(BUCKETS, {"max-buckets": "5"}) == (BUCKETS, None)


def test_prefix_and_region_filter() -> None:
    """prefix and bucket-region keep only matching buckets, together and with paging."""
    assert names(bucket_page(BUCKETS, {"prefix": "beta"})[0]) == ["beta-1", "beta-2"]
    in_eu = bucket_page(BUCKETS, {"bucket-region": "eu-west-1"})[0]
    assert names(in_eu) == ["alpha-2", "beta-2"]
    page, token = bucket_page(
        BUCKETS, {"prefix": "alpha", "bucket-region": "us-east-1", "max-buckets": "1"}
    )
    assert names(page) == ["alpha-1"] and token is not None
    page, token = bucket_page(
        BUCKETS,
        {"prefix": "alpha", "bucket-region": "us-east-1", "continuation-token": token},
    )
    assert names(page) == ["alpha-3"] and token is None


@pytest.mark.parametrize(
    "query",
    [
        {"max-buckets": "0"},
        {"max-buckets": "10001"},
        {"max-buckets": "x"},
        {"continuation-token": "not a token"},
    ],
)
def test_bad_arguments(query: dict[str, str]) -> None:
    """max-buckets outside 1..10000 and tokens the server did not make are InvalidArgument."""
    with pytest.raises(S3Error) as e:
        bucket_page(BUCKETS, query)
    assert e.value.code == "InvalidArgument"


@pytest_twisted.ensureDeferred
async def test_boto3_list_buckets_paged(tls_server: Server) -> None:
    """boto3 pages through ListBuckets with MaxBuckets, Prefix and BucketRegion, and gets Prefix and ContinuationToken back as AWS documents."""
    for info in BUCKETS:
        location = (
            ""
            if info.region == "us-east-1"
            else "<CreateBucketConfiguration><LocationConstraint>"
            f"{info.region}</LocationConstraint></CreateBucketConfiguration>"
        )
        r = await tls_server.client.request("PUT", "/" + info.name, body=location.encode())
        assert r.code == 200, r.body
    s3 = tls_server.boto3()

    def scenario() -> tuple[Any, ...]:
        first = s3.list_buckets(MaxBuckets=2, Prefix="alpha")
        second = s3.list_buckets(
            MaxBuckets=2, Prefix="alpha", ContinuationToken=first["ContinuationToken"]
        )
        paginator = s3.get_paginator("list_buckets")
        pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
        in_eu = s3.list_buckets(BucketRegion="eu-west-1")
        return first, second, pages, in_eu, s3.list_buckets()

    first, second, pages, in_eu, everything = await deferToThread(scenario)
    assert [b["Name"] for b in first["Buckets"]] == ["alpha-1", "alpha-2"]
    assert first["Prefix"] == "alpha" and "ContinuationToken" in first
    assert [b["Name"] for b in second["Buckets"]] == ["alpha-3"]
    assert "ContinuationToken" not in second
    assert [len(p["Buckets"]) for p in pages] == [2, 2, 1]
    assert [b["Name"] for p in pages for b in p["Buckets"]] == names(BUCKETS)
    assert [b["Name"] for b in in_eu["Buckets"]] == ["alpha-2", "beta-2"]
    assert len(everything["Buckets"]) == 5 and "Prefix" not in everything
    assert "ContinuationToken" not in everything
    r = await tls_server.client.request("GET", "/", "max-buckets=0")
    assert r.code == 400 and b"<Code>InvalidArgument</Code>" in r.body
