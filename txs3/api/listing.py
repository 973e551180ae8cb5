"""ListObjects (v1) and ListObjectsV2."""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable, Mapping
from urllib.parse import quote

from txs3 import xml
from txs3.api.render import owner_xml
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.response import Response, xml_response
from txs3.store.interface import ListPage, ListQuery, ObjectInfo

MAX_KEYS = 1000

#: Encodes a key, prefix or marker for the listing (identity, or URL).
Encoder = Callable[[str], str]


def _max_keys(query: Mapping[str, str]) -> int:
    raw = query.get("max-keys")
    if raw is None or raw == "":
        return MAX_KEYS
    try:
        value = int(raw)
    except ValueError as e:
        raise S3Error.of(
            "InvalidArgument",
            "Provided max-keys not an integer or within integer range",
            ArgumentName="max-keys",
            ArgumentValue=raw,
        ) from e
    if value < 0:
        raise S3Error.of(
            "InvalidArgument",
            "Argument maxKeys must be an integer between 0 and 2147483647",
            ArgumentName="maxKeys",
            ArgumentValue=raw,
        )
    return value


def _encoder(query: Mapping[str, str]) -> tuple[bool, Encoder]:
    encoding = query.get("encoding-type")
    if encoding is None:
        return False, lambda s: s
    if encoding.lower() != "url":
        raise S3Error.of(
            "InvalidArgument",
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=encoding,
        )
    # Clients decode with unquote_plus: "+" must travel as %2B.
    return True, lambda s: quote(s, safe="/")


def _contents(info: ObjectInfo, enc: Encoder, call: S3Call | None) -> xml.Node:
    """One object of a listing; its C{Owner} when C{call} is given."""
    children: list[xml.Node] = [
        ("Key", enc(info.key)),
        ("LastModified", xml.iso8601(info.last_modified)),
        ("ETag", f'"{info.etag}"'),
        ("Size", info.size),
    ]
    if call is not None:
        children.append(("Owner", owner_xml(call, info.owner_id)))
    children.append(("StorageClass", "STANDARD"))
    return ("Contents", children)


def listing_query(query: Mapping[str, str], marker: str) -> ListQuery:
    """
    The C{prefix}, C{delimiter}, marker (query parameter C{marker}) and
    C{max-keys} (not clamped) of a listing request's C{query}.

    @raise S3Error: C{InvalidArgument} for a bad C{max-keys}.
    """
    return ListQuery(
        prefix=query.get("prefix", ""),
        delimiter=query.get("delimiter", ""),
        marker=query.get(marker, ""),
        limit=_max_keys(query),
    )


def limits(query: ListQuery, enc: Encoder) -> list[xml.Node]:
    """A listing answer's C{MaxKeys}, then C{Delimiter} when one was given."""
    nodes: list[xml.Node] = [("MaxKeys", query.limit)]
    if query.delimiter:
        nodes.append(("Delimiter", enc(query.delimiter)))
    return nodes


def entries(
    page: ListPage, encoded: bool, enc: Encoder, rows: list[xml.Node]
) -> list[xml.Node]:
    """
    The end of a listing answer: C{EncodingType} when keys are URL-encoded,
    the C{rows} of the page's objects, then its C{CommonPrefixes}.
    """
    return entries_of(encoded, enc, rows, page.common_prefixes)


def entries_of(
    encoded: bool, enc: Encoder, rows: list[xml.Node], common_prefixes: list[str]
) -> list[xml.Node]:
    """L{entries} for any listing: rows, then C{CommonPrefixes}."""
    nodes: list[xml.Node] = [("EncodingType", "url")] if encoded else []
    nodes += rows
    nodes += [("CommonPrefixes", [("Prefix", enc(p))]) for p in common_prefixes]
    return nodes


async def _page(call: S3Call, query: ListQuery) -> ListPage:
    bucket = call.operation.bucket
    assert bucket is not None
    if query.limit == 0:
        # S3 answers max-keys=0 with an empty, untruncated page.
        return ListPage([], [], False, None)
    clamped = dataclasses.replace(query, limit=min(query.limit, MAX_KEYS))
    return await call.config.store.list_objects(bucket, clamped)


async def list_objects(call: S3Call) -> Response:
    """ListObjects (v1): paged by C{marker}; C{NextMarker} when truncated."""
    q = call.operation.query
    query = listing_query(q, "marker")
    encoded, enc = _encoder(q)
    page = await _page(call, query)
    children: list[xml.Node] = [
        ("Name", call.operation.bucket),
        ("Prefix", enc(query.prefix)),
        ("Marker", enc(query.marker)),
        *limits(query, enc),
        ("IsTruncated", page.is_truncated),
    ]
    if page.is_truncated and page.next_marker is not None:
        # S3 documents NextMarker for delimiter listings only; sending it
        # always is harmless and saves clients a guess.
        children.append(("NextMarker", enc(page.next_marker)))
    children += entries(
        page, encoded, enc, [_contents(i, enc, call) for i in page.contents]
    )
    return xml_response(xml.document("ListBucketResult", children))


def encode_token(marker: str) -> str:
    """An opaque continuation token that resumes a listing after C{marker}."""
    return base64.urlsafe_b64encode(b"1:" + marker.encode("utf-8")).decode("ascii")


def decode_token(token: str) -> str:
    """
    The marker of a token from L{encode_token}.

    @raise S3Error: C{InvalidArgument} for any other token.
    """
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
        if not raw.startswith(b"1:"):
            raise ValueError(token)
        return raw[2:].decode("utf-8")
    except (binascii.Error, ValueError, UnicodeError) as e:
        raise S3Error.of(
            "InvalidArgument",
            "The continuation token provided is incorrect",
            ArgumentName="continuation-token",
        ) from e


async def list_objects_v2(call: S3Call) -> Response:
    """ListObjectsV2: C{continuation-token}, C{start-after}, C{fetch-owner}."""
    q = call.operation.query
    query = listing_query(q, "start-after")
    start_after = query.marker
    token = q.get("continuation-token")
    encoded, enc = _encoder(q)
    after = decode_token(token) if token else start_after
    # The token continues past start-after; whichever is further wins.
    after = max(after, start_after, key=lambda s: s.encode("utf-8"))
    page = await _page(call, dataclasses.replace(query, marker=after))
    owner = call if q.get("fetch-owner", "").lower() == "true" else None
    children: list[xml.Node] = [
        ("Name", call.operation.bucket),
        ("Prefix", enc(query.prefix)),
    ]
    if "start-after" in q:
        children.append(("StartAfter", enc(start_after)))
    if token is not None:
        children.append(("ContinuationToken", token))
    children.append(("KeyCount", len(page.contents) + len(page.common_prefixes)))
    children += limits(query, enc)
    children.append(("IsTruncated", page.is_truncated))
    if page.is_truncated and page.next_marker is not None:
        children.append(("NextContinuationToken", encode_token(page.next_marker)))
    children += entries(
        page, encoded, enc, [_contents(i, enc, owner) for i in page.contents]
    )
    return xml_response(xml.document("ListBucketResult", children))
