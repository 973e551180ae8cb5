"""DeleteObjects: up to 1,000 keys in one POST ?delete."""

from __future__ import annotations

from txs3 import xml
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.operation import MAX_KEY_BYTES
from txs3.response import Response, xml_response

MAX_OBJECTS = 1000


async def delete_objects(call: S3Call) -> Response:
    """
    Delete each listed key; report each as Deleted (unless C{Quiet}) or as a
    per-key Error.  Missing keys count as deleted, as in S3.
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
    valid = [k for k, _ in entries if k and len(k.encode("utf-8")) <= MAX_KEY_BYTES]
    # Each key is authorized on its own (the gate saw only the bucket), as
    # S3 does: a denied key is an AccessDenied entry, the others go.
    denied = {k for k, v in entries if k in valid and not _may_delete(call, k, v)}
    # One commit for the whole batch: a thousand keys, one fsync.
    await call.config.store.delete_objects(
        bucket, [k for k in valid if k not in denied]
    )
    results: list[xml.Node] = []
    for key, version in entries:
        if not key:
            results.append(_error(key, "InvalidArgument"))
        elif len(key.encode("utf-8")) > MAX_KEY_BYTES:
            results.append(_error(key, "KeyTooLongError"))
        elif key in denied:
            results.append(_error(key, "AccessDenied"))
        elif not quiet:
            entry: list[xml.Node] = [("Key", key)]
            if version:
                entry.append(("VersionId", version))
            results.append(("Deleted", entry))
    return xml_response(xml.document("DeleteResult", results))


def _may_delete(call: S3Call, key: str, version: str | None) -> bool:
    assert call.authorizer is not None, "a bucket operation has an authorizer"
    action = "s3:DeleteObjectVersion" if version else "s3:DeleteObject"
    return call.authorizer.allows(action, key)


def _error(key: str, code: str, message: str | None = None) -> xml.Node:
    text = message if message is not None else S3Error.of(code).message
    return ("Error", [("Key", key), ("Code", code), ("Message", text)])
