"""
Versioning: PutBucketVersioning, GetBucketVersioning, ListObjectVersions,
and what every object operation needs to speak of versions (the
C{versionId} parameter, the C{x-amz-version-id} header).

A bucket starts unversioned: each key has one version, C{null}, replaced
in place.  Once versioning is enabled it can only be suspended again,
never undone (L{txs3.objectlock.versioning}); the store keeps the history
(L{txs3.store.sqlite.versions}).  The state is a bucket setting
(L{txs3.access}), read with the bucket's other settings on every request.
"""

from __future__ import annotations

import dataclasses

from txs3 import xml
from txs3.access import VERSIONING, BucketAccess
from txs3.api.listing import Encoder, _encoder, entries_of, limits, listing_query
from txs3.api.render import owner_xml
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.objectlock import apply_versioning, parse_versioning
from txs3.response import Response, xml_response
from txs3.store.interface import ObjectInfo, VersionsPage
from txs3.store.namespace import MAX_KEYS
from txs3.store.versionid import is_version_id


def bucket_access(call: S3Call) -> BucketAccess:
    """The settings of the call's bucket, as the gate read them."""
    assert call.authorizer is not None, "a bucket operation has an authorizer"
    return call.authorizer.access


def version_param(call: S3Call) -> str | None:
    """
    The request's C{versionId}, or None.

    @raise S3Error: C{InvalidArgument} "Invalid version id specified" for
        a value that cannot name a version (S3's answer, not
        C{NoSuchVersion}).
    """
    value = call.operation.query.get("versionId")
    if value is None:
        return None
    if not is_version_id(value):
        raise S3Error.of(
            "InvalidArgument",
            "Invalid version id specified",
            ArgumentName="versionId",
            ArgumentValue=value,
        )
    return value


def version_headers(call: S3Call, info: ObjectInfo) -> dict[str, str]:
    """
    C{x-amz-version-id} of C{info}, on a bucket that has versioning (S3
    sends none for a bucket that never had it).
    """
    if bucket_access(call).versioning.status is None:
        return {}
    return {"x-amz-version-id": info.version_id}


# -- the bucket's configuration -------------------------------------------------


async def get_bucket_versioning(call: S3Call) -> Response:
    """The versioning configuration: empty for a bucket that never had one."""
    return xml_response(bucket_access(call).versioning.to_xml())


async def put_bucket_versioning(call: S3Call) -> Response:
    """
    Enable or suspend versioning.

    @raise S3Error: C{MalformedXML}, C{IllegalVersioningConfigurationException},
        C{AccessDenied} for MFA delete, C{InvalidBucketState} to suspend a
        bucket with Object Lock.
    """
    change = parse_versioning(call.xml_body())
    if change is None:
        return Response()
    access = bucket_access(call)
    new = apply_versioning(access.versioning, change, object_lock=access.object_lock)
    await call.config.store.put_bucket_setting(
        call.bucket, VERSIONING, new.to_xml().decode("utf-8")
    )
    return Response()


# -- ListObjectVersions -----------------------------------------------------------


def _version(info: ObjectInfo, enc: Encoder, call: S3Call) -> xml.Node:
    common: list[xml.Node] = [
        ("Key", enc(info.key)),
        ("VersionId", info.version_id),
        ("IsLatest", info.is_latest),
        ("LastModified", xml.iso8601(info.last_modified)),
    ]
    owner = ("Owner", owner_xml(call, info.owner_id or call.identity.owner_id))
    if info.delete_marker:
        return ("DeleteMarker", [*common, owner])
    return (
        "Version",
        [
            *common,
            ("ETag", f'"{info.etag}"'),
            ("Size", info.size),
            owner,
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
    if not is_version_id(version_marker):
        raise S3Error.of(
            "InvalidArgument",
            "Invalid version id specified",
            ArgumentName="version-id-marker",
            ArgumentValue=version_marker,
        )


async def list_object_versions(call: S3Call) -> Response:
    """
    Versions and delete markers, by key and newest first within a key,
    with C{prefix}, C{delimiter}, C{key-marker}, C{version-id-marker},
    C{max-keys} and C{encoding-type} as in S3.  A truncated page carries
    C{NextKeyMarker}, and C{NextVersionIdMarker} when it ends with a
    version rather than a common prefix.

    @raise S3Error: C{InvalidArgument} for a bad C{max-keys},
        C{encoding-type} or version-id marker.
    """
    q = call.operation.query
    version_marker = q.get("version-id-marker", "")
    query = listing_query(q, "key-marker")
    encoded, enc = _encoder(q)
    _check_version_marker(query.marker, version_marker)
    if query.limit == 0:
        page = VersionsPage([], [], False, None, None)
    else:
        page = await call.config.store.list_object_versions(
            call.bucket,
            dataclasses.replace(query, limit=min(query.limit, MAX_KEYS)),
            version_marker,
        )
    children: list[xml.Node] = [
        ("Name", call.bucket),
        ("Prefix", enc(query.prefix)),
        ("KeyMarker", enc(query.marker)),
        ("VersionIdMarker", version_marker),
    ]
    if page.is_truncated and page.next_key_marker is not None:
        children.append(("NextKeyMarker", enc(page.next_key_marker)))
        if page.next_version_id_marker is not None:
            children.append(("NextVersionIdMarker", page.next_version_id_marker))
    children += limits(query, enc)
    children.append(("IsTruncated", page.is_truncated))
    children += entries_of(
        encoded, enc, [_version(i, enc, call) for i in page.versions],
        page.common_prefixes,
    )  # fmt: skip
    return xml_response(xml.document("ListVersionsResult", children))
