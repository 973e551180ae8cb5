"""DeleteObjects: up to 1,000 keys in one POST ?delete."""

from __future__ import annotations

import base64
import hashlib

from txs3 import xml
from txs3.auth.checksums import ALGORITHMS, header_name, new_checksum
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.operation import MAX_KEY_BYTES
from txs3.response import Response, xml_response

MAX_OBJECTS = 1000


def _verify_integrity(call: S3Call, body: bytes) -> None:
    """
    S3 requires Content-MD5 or an x-amz-checksum-* header on DeleteObjects
    and verifies whichever is given.
    """
    given = False
    md5 = call.header("content-md5")
    if md5 is not None:
        given = True
        if (
            base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
            != md5
        ):
            raise S3Error.of("BadDigest")
    for alg in ALGORITHMS:
        value = call.header(header_name(alg))
        if value is None:
            continue
        given = True
        c = new_checksum(alg)
        c.update(body)
        if c.b64digest() != value:
            raise S3Error.of(
                "BadDigest",
                f"The {alg} you specified did not match the calculated checksum.",
            )
    if not given:
        raise S3Error.of(
            "InvalidRequest",
            "Missing required header for this request: Content-MD5",
        )


async def delete_objects(call: S3Call) -> Response:
    """
    Delete each listed key; report each as Deleted (unless C{Quiet}) or as a
    per-key Error.  Missing keys count as deleted, as in S3.
    """
    bucket = call.operation.bucket
    assert bucket is not None
    body = call.xml_body()
    root = xml.parse(body)
    _verify_integrity(call, body)
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
    # One commit for the whole batch: a thousand keys, one fsync.
    await call.config.store.delete_objects(bucket, valid)
    results: list[xml.Node] = []
    for key, version in entries:
        if not key:
            results.append(_error(key, "InvalidArgument"))
        elif len(key.encode("utf-8")) > MAX_KEY_BYTES:
            results.append(_error(key, "KeyTooLongError"))
        elif not quiet:
            entry: list[xml.Node] = [("Key", key)]
            if version:
                entry.append(("VersionId", version))
            results.append(("Deleted", entry))
    return xml_response(xml.document("DeleteResult", results))


def _error(key: str, code: str, message: str | None = None) -> xml.Node:
    text = message if message is not None else S3Error.of(code).message
    return ("Error", [("Key", key), ("Code", code), ("Message", text)])
