"""
ListObjectVersions on txs3's unversioned buckets.

A bucket that never had versioning holds one version of each object, whose
version id is ``null``; S3 lists it as a C{<Version>} with C{IsLatest}
true.  So this is a listing of the bucket's objects (the store's
L{IObjectStore.list_objects}) in ListObjectVersions' shape, paged by
C{key-marker} (and C{version-id-marker}, which can only be ``null`` here).
"""

from __future__ import annotations

from txs3 import xml
from txs3.api.listing import (
    Encoder,
    _encoder,
    _page,
    entries,
    limits,
    listing_query,
)
from txs3.api.render import owner_xml
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.response import Response, xml_response
from txs3.store.interface import ObjectInfo

NULL_VERSION = "null"


def _version(info: ObjectInfo, enc: Encoder, call: S3Call) -> xml.Node:
    return (
        "Version",
        [
            ("Key", enc(info.key)),
            ("VersionId", NULL_VERSION),
            ("IsLatest", True),
            ("LastModified", xml.iso8601(info.last_modified)),
            ("ETag", f'"{info.etag}"'),
            ("Size", info.size),
            ("Owner", owner_xml(call, info.owner_id)),
            ("StorageClass", "STANDARD"),
        ],
    )


def _check_version_marker(key_marker: str, version_marker: str) -> None:
    if not version_marker:
        return
    if not key_marker:
        raise S3Error.of(
            "InvalidArgument",
            "A version-id marker cannot be specified without a key marker.",
            ArgumentName="version-id-marker",
            ArgumentValue=version_marker,
        )
    if version_marker != NULL_VERSION:
        raise S3Error.of(
            "InvalidArgument",
            "Invalid version id specified",
            ArgumentName="version-id-marker",
            ArgumentValue=version_marker,
        )


async def list_object_versions(call: S3Call) -> Response:
    """
    Every object as its one ``null`` version, in key order, with
    C{prefix}, C{delimiter}, C{key-marker}, C{version-id-marker},
    C{max-keys} and C{encoding-type} as in S3.  A truncated page carries
    C{NextKeyMarker}, and C{NextVersionIdMarker} (``null``) when it ends
    with a version rather than a common prefix.

    @raise S3Error: C{InvalidArgument} for a bad C{max-keys},
        C{encoding-type} or version-id marker.
    """
    q = call.operation.query
    version_marker = q.get("version-id-marker", "")
    query = listing_query(q, "key-marker")
    encoded, enc = _encoder(q)
    _check_version_marker(query.marker, version_marker)
    # One version per key: whether or not the null version of the key
    # marker is named, the listing resumes after the key marker.
    page = await _page(call, query)
    children: list[xml.Node] = [
        ("Name", call.operation.bucket),
        ("Prefix", enc(query.prefix)),
        ("KeyMarker", enc(query.marker)),
        ("VersionIdMarker", version_marker),
    ]
    if page.is_truncated and page.next_marker is not None:
        children.append(("NextKeyMarker", enc(page.next_marker)))
        if page.next_marker not in page.common_prefixes:
            children.append(("NextVersionIdMarker", NULL_VERSION))
    children += limits(query, enc)
    children.append(("IsTruncated", page.is_truncated))
    children += entries(
        page, encoded, enc, [_version(i, enc, call) for i in page.contents]
    )
    return xml_response(xml.document("ListVersionsResult", children))
