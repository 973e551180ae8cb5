"""DeleteObjects: up to 1,000 keys in one POST ?delete."""

from __future__ import annotations

from txs3 import xml
from txs3.api.locking import bypass_requested, deletion_guard
from txs3.api.versions import bucket_access
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.operation import MAX_KEY_BYTES
from txs3.response import Response, xml_response
from txs3.store.interface import Deleted, Deletion
from txs3.store.versionid import is_version_id

MAX_OBJECTS = 1000


async def delete_objects(call: S3Call) -> Response:
    """
    Delete each listed key; report each as Deleted (unless C{Quiet}) or as a
    per-key Error.  Missing keys count as deleted, as in S3.  A version
    that Object Lock protects is an C{AccessDenied} entry, decided inside
    the commit (L{deletion_guard}); the others go.

    @raise S3Error: C{InvalidArgument} for
        C{x-amz-bypass-governance-retention} on a bucket without Object
        Lock.
    """
    bucket = call.operation.bucket
    assert bucket is not None
    # Content-MD5 or a checksum was required before the body
    # (prechecks.integrity_header) and verified before this handler ran.
    root = xml.parse(call.xml_body())
    if root.tag != "Delete":
        raise S3Error.of("MalformedXML")
    quiet = (xml.child_text(root, "Quiet") or "").strip().lower() == "true"
    objects = root.findall("Object")
    if not objects or len(objects) > MAX_OBJECTS:
        raise S3Error.of("MalformedXML")
    entries: list[tuple[str, str | None]] = []
    for element in objects:
        key = xml.child_text(element, "Key")
        if key is None:
            raise S3Error.of("MalformedXML")
        entries.append((key, xml.child_text(element, "VersionId")))
    versioning = bucket_access(call).versioning_state
    bypass = bypass_requested(call)
    results: list[xml.Node | None] = [None] * len(entries)
    deletions: list[tuple[int, Deletion]] = []
    for i, (key, version) in enumerate(entries):
        if not key:
            results[i] = _error(key, "InvalidArgument")
        elif len(key.encode("utf-8")) > MAX_KEY_BYTES:
            results[i] = _error(key, "KeyTooLongError")
        elif version is not None and not is_version_id(version):
            results[i] = _error(key, "NoSuchVersion", version=version)
        elif not _may_delete(call, key, version):
            # Each key is authorized on its own (the gate saw only the
            # bucket), as S3 does: a denied key is an entry, the others go.
            results[i] = _error(key, "AccessDenied", version=version)
        else:
            guard = deletion_guard(call, key, bypass)
            deletions.append((i, Deletion(bucket, key, versioning, version, guard)))
    # One commit for the whole batch: a thousand keys, one fsync.
    done = await call.config.store.delete_versions(bucket, [d for _, d in deletions])
    for (i, deletion), result in zip(deletions, done, strict=True):
        if isinstance(result, S3Error):
            results[i] = _error(deletion.key, result.code, result.message,
                                deletion.version_id)  # fmt: skip
        elif not quiet:
            results[i] = _deleted(deletion, result)
    nodes = [r for r in results if r is not None]
    return xml_response(xml.document("DeleteResult", nodes))


def _deleted(deletion: Deletion, result: Deleted) -> xml.Node:
    """The C{Deleted} entry: the key, and what versioning made of it."""
    entry: list[xml.Node] = [("Key", deletion.key)]
    if deletion.version_id is not None:
        entry.append(("VersionId", deletion.version_id))
        if result.delete_marker:
            entry.append(("DeleteMarker", True))
    elif result.delete_marker and result.version_id is not None:
        entry += [("DeleteMarker", True), ("DeleteMarkerVersionId", result.version_id)]
    return ("Deleted", entry)


def _may_delete(call: S3Call, key: str, version: str | None) -> bool:
    assert call.authorizer is not None, "a bucket operation has an authorizer"
    action = "s3:DeleteObjectVersion" if version else "s3:DeleteObject"
    return call.authorizer.allows(action, key)


def _error(
    key: str, code: str, message: str | None = None, version: str | None = None
) -> xml.Node:
    text = message if message is not None else S3Error.of(code).message
    nodes: list[xml.Node] = [("Key", key)]
    if version is not None:
        nodes.append(("VersionId", version))
    return ("Error", [*nodes, ("Code", code), ("Message", text)])
