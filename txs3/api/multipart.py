"""
Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
AbortMultipartUpload, ListParts, ListMultipartUploads.  (UploadPartCopy is
in L{txs3.api.copy}.)

Parts stream to disk exactly like PutObject bodies (the gate,
L{txs3.gate.prepare}, finds the upload and installs an
L{txs3.body.UploadSink}), and completing an upload is an index transaction
that makes the parts' blobs the object's extents: no byte is copied.  The
rules S3 applies at completion (ascending part numbers, ETags that match,
5 MiB minimum for every part but the last, 5 TiB maximum, checksums) are
checked here against the stored parts, and the store re-checks the parts'
ETags inside its transaction.  The checksum rules themselves are
L{txs3.auth.multipart_checksums}.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from txs3 import xml
from txs3.api.acl import new_object_access
from txs3.api.conditions import check_write_condition, write_condition
from txs3.api.locking import completion_retention, upload_lock
from txs3.api.obj import object_meta, sent_checksums
from txs3.api.quota import check_quota
from txs3.api.render import owner_xml
from txs3.api.tagging import with_request_tags
from txs3.api.versions import bucket_access, version_headers
from txs3.auth.checksums import ALGORITHMS, header_name
from txs3.auth.multipart_checksums import (
    COMPOSITE,
    FULL_OBJECT,
    checksum_settings,
    composite_checksum,
    full_object_crc,
    multipart_etag,
)
from txs3.body import DEFAULT_CHECKSUM, UploadSink
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.operation import MAX_PART_NUMBER, part_number
from txs3.response import Response, no_content, xml_response
from txs3.store.interface import (
    CompletedUpload,
    Completion,
    ListQuery,
    NewPart,
    NewUpload,
    PartInfo,
    UploadInfo,
)

MIN_PART_SIZE = 5 * 1024**2
MAX_OBJECT_SIZE = 5 * 1024**4
MAX_LISTED = 1000


def _where(call: S3Call) -> tuple[str, str]:
    return call.bucket, call.key


def _upload(call: S3Call) -> UploadInfo:
    # Found before the body by the multipart_upload pre-check.
    assert call.upload is not None, "the gate found the upload"
    return call.upload


def _upload_id(call: S3Call) -> str:
    return call.operation.query.get("uploadId", "")


async def create_multipart_upload(call: S3Call) -> Response:
    """Start an upload; the metadata headers are stored now, as PutObject's are."""
    bucket, key = _where(call)
    alg, ctype = checksum_settings(
        call.header("x-amz-checksum-algorithm"), call.header("x-amz-checksum-type")
    )
    owner, acl = new_object_access(call)
    meta = dataclasses.replace(with_request_tags(call, object_meta(call, {})), acl=acl)
    meta = upload_lock(call, meta)
    info = await call.config.store.create_multipart_upload(
        NewUpload(bucket, key, meta, owner, alg, ctype),
    )
    headers = {}
    if alg is not None and ctype is not None:
        headers = {"x-amz-checksum-algorithm": alg, "x-amz-checksum-type": ctype}
    body = xml.document(
        "InitiateMultipartUploadResult",
        [("Bucket", bucket), ("Key", key), ("UploadId", info.upload_id)],
    )
    return xml_response(body, headers=headers)


async def upload_part(call: S3Call) -> Response:
    """
    Verify the streamed part and publish it (replacing a part with the same
    number).  The upload was found and the part number checked before the
    body (L{txs3.gate.prepare}).
    """
    bucket, key = _where(call)
    upload = _upload(call)
    number = part_number(call.operation.query.get("partNumber"))
    sink = call.body
    assert isinstance(sink, UploadSink)
    finished = sink.finish()
    checksums = tuple(sorted(finished.checksums.items()))
    part = await call.config.store.upload_part(
        NewPart(bucket, key, upload.upload_id, number, finished.etag, checksums),
        finished.staging,
    )
    headers = {"ETag": f'"{part.etag}"'}
    always = [upload.checksum_algorithm] if upload.checksum_algorithm else []
    for alg, value in sent_checksums(call, part.checksums, *always):
        headers[header_name(alg)] = value
    return Response(200, headers)


def _requested_parts(body: bytes) -> list[tuple[int, str, dict[str, str]]]:
    """
    The parts a CompleteMultipartUpload document lists: number, ETag (no
    quotes), and any checksums given, in document order.

    @raise S3Error: C{MalformedXML}; C{InvalidPartOrder} unless the numbers
        are strictly ascending.
    """
    root = xml.parse(body)
    if root.tag != "CompleteMultipartUpload":
        raise S3Error.of("MalformedXML")
    out: list[tuple[int, str, dict[str, str]]] = []
    for element in root.findall("Part"):
        raw_number = (xml.child_text(element, "PartNumber") or "").strip()
        etag = xml.child_text(element, "ETag")
        if not raw_number.isdigit() or etag is None:
            raise S3Error.of("MalformedXML")
        number = int(raw_number)
        if not 1 <= number <= MAX_PART_NUMBER:
            raise S3Error.of(
                "InvalidArgument",
                "Part number must be an integer between 1 and 10000, inclusive",
                ArgumentName="partNumber",
                ArgumentValue=raw_number,
            )
        sums = {}
        for alg in ALGORITHMS:
            value = xml.child_text(element, "Checksum" + alg)
            if value:
                sums[alg] = value.strip()
        out.append((number, etag.strip().strip('"'), sums))
    if not out:
        raise S3Error.of("MalformedXML")
    for (a, _, _), (b, _, _) in itertools.pairwise(out):
        if b <= a:
            raise S3Error.of("InvalidPartOrder")
    return out


def _object_checksum(
    upload: UploadInfo,
    parts: Sequence[PartInfo],
    requested: Sequence[dict[str, str]],
) -> tuple[tuple[tuple[str, str], ...], str]:
    """
    The completed object's checksums and checksum type.

    @raise S3Error: C{InvalidPart} when a checksum given for a part is not
        the stored one; C{InvalidRequest} when a COMPOSITE upload's part
        lacks its checksum in the request (S3 requires it).
    """
    alg = upload.checksum_algorithm
    for part, sums in zip(parts, requested, strict=True):
        for given_alg, value in sums.items():
            if part.checksum(given_alg) not in (None, value):
                raise S3Error.of(
                    "InvalidPart",
                    UploadId=upload.upload_id,
                    PartNumber=str(part.part_number),
                    ETag=part.etag,
                )
        if alg is not None and upload.checksum_type == COMPOSITE and alg not in sums:
            raise S3Error.of(
                "InvalidRequest",
                f"The upload was created using a {alg.lower()} checksum. The "
                "complete request must include the checksum for each part. It "
                f"was missing for part {part.part_number} in the request.",
            )
    if alg is None:
        # No algorithm chosen: S3's default full-object CRC64NVME, when
        # every part has one (parts uploaded through txs3 always do).
        crcs = [(p.checksum(DEFAULT_CHECKSUM), p.size) for p in parts]
        if all(v is not None for v, _ in crcs):
            value = full_object_crc(DEFAULT_CHECKSUM, [(v or "", n) for v, n in crcs])
            return ((DEFAULT_CHECKSUM, value),), FULL_OBJECT
        return (), FULL_OBJECT
    values = [p.checksum(alg) for p in parts]
    if any(v is None for v in values):
        return (), upload.checksum_type or COMPOSITE
    if upload.checksum_type == FULL_OBJECT:
        value = full_object_crc(
            alg, [(v or "", p.size) for v, p in zip(values, parts, strict=True)]
        )
        return ((alg, value),), FULL_OBJECT
    return ((alg, composite_checksum(alg, [v or "" for v in values])),), COMPOSITE


async def complete_multipart_upload(call: S3Call) -> Response:
    """
    Check the listed parts against the stored ones with S3's rules, then
    publish them as the object in one index transaction (no bytes move).
    """
    bucket, key = _where(call)
    requested = _requested_parts(call.xml_body())
    if call.completed is not None:
        return _retried_completion(call, requested, call.completed)
    upload = _upload(call)
    store = call.config.store
    try:
        page = await store.list_parts(bucket, key, upload.upload_id, 0, MAX_PART_NUMBER)
    except S3Error as e:
        return _completed_meanwhile(call, requested, e)
    stored = {p.part_number: p for p in page.parts}
    parts: list[PartInfo] = []
    for number, etag, _ in requested:
        part = stored.get(number)
        if part is None or part.etag != etag:
            raise S3Error.of(
                "InvalidPart",
                UploadId=upload.upload_id,
                PartNumber=str(number),
                ETag=etag,
            )
        parts.append(part)
    for part in parts[:-1]:
        if part.size < MIN_PART_SIZE:
            raise S3Error.of(
                "EntityTooSmall",
                ProposedSize=str(part.size),
                MinSizeAllowed=str(MIN_PART_SIZE),
                PartNumber=str(part.part_number),
                ETag=f'"{part.etag}"',
            )
    total = sum(p.size for p in parts)
    if total > MAX_OBJECT_SIZE:
        raise S3Error.of(
            "EntityTooLarge",
            ProposedSize=str(total),
            MaxSizeAllowed=str(MAX_OBJECT_SIZE),
        )
    check_quota(call, total)
    checksums, ctype = _object_checksum(upload, parts, [s for _, _, s in requested])
    _verify_whole_checksum(call, checksums, ctype)
    condition = write_condition(call.head.headers)
    # Checked before the body already; again now that the parts are known
    # good (412), and a third time inside the commit (409 if a racing
    # writer got there in between).
    check_write_condition(store, call.operation, condition)
    try:
        info = await store.complete_multipart_upload(
            Completion(
                bucket,
                key,
                upload.upload_id,
                [(p.part_number, p.etag) for p in parts],
                multipart_etag([p.etag for p in parts]),
                checksums,
                ctype,
                condition,
                bucket_access(call).versioning_state,
                completion_retention(call),
            ),
        )
    except S3Error as e:
        return _completed_meanwhile(call, requested, e)
    response = _completion_result(
        call, info.etag, checksums, ctype, upload.checksum_algorithm
    )
    response.headers.update(version_headers(call, info))
    return response


def _completion_result(
    call: S3Call,
    etag: str,
    checksums: tuple[tuple[str, str], ...],
    ctype: str,
    algorithm: str | None,
) -> Response:
    """The CompleteMultipartUploadResult document for object C{etag}."""
    bucket, key = _where(call)
    host = call.header("host") or "localhost"
    children: list[xml.Node] = [
        ("Location", f"https://{host}/{quote(bucket)}/{quote(key, safe='/~')}"),
        ("Bucket", bucket),
        ("Key", key),
        ("ETag", f'"{etag}"'),
    ]
    if algorithm is not None:
        children += [("Checksum" + alg, value) for alg, value in checksums]
        children.append(("ChecksumType", ctype))
    return xml_response(xml.document("CompleteMultipartUploadResult", children))


def _retried_completion(
    call: S3Call,
    requested: list[tuple[int, str, dict[str, str]]],
    record: CompletedUpload,
) -> Response:
    """
    Answer a CompleteMultipartUpload for an upload already completed (a
    client retrying after a timeout) as the completion was answered: 200
    and the same ETag, when it lists the same parts with the same ETags.
    Another part list is C{NoSuchUpload}, as for any upload that no longer
    exists: the record proves only that this very request succeeded, and
    AWS documents C{NoSuchUpload} for a completed upload.
    """
    if [(n, etag) for n, etag, _ in requested] != list(record.parts):
        raise S3Error.of("NoSuchUpload", UploadId=record.upload_id)
    return _completion_result(
        call,
        record.etag,
        record.checksums,
        record.checksum_type,
        record.checksum_algorithm,
    )


def _completed_meanwhile(
    call: S3Call,
    requested: list[tuple[int, str, dict[str, str]]],
    error: S3Error,
) -> Response:
    """
    The upload vanished (C{error} is C{NoSuchUpload}) between the gate and
    the commit: a first attempt that the client gave up on may have
    completed it meanwhile.  Answer from its record if there is one,
    else raise C{error}.
    """
    if error.code != "NoSuchUpload":
        raise error
    try:
        record = call.config.store.get_completed_upload(
            call.bucket, call.key, _upload_id(call)
        )
    except S3Error:
        raise error from None
    return _retried_completion(call, requested, record)


def _verify_whole_checksum(
    call: S3Call, checksums: tuple[tuple[str, str], ...], ctype: str
) -> None:
    """
    A client may send the expected whole-object checksum with the
    completion (``x-amz-checksum-<alg>``): it must match (C{BadDigest}).
    """
    for alg, value in checksums:
        sent = call.header(header_name(alg))
        if sent is None:
            continue
        if ctype == COMPOSITE and "-" not in sent:
            sent = f"{sent}-{value.rsplit('-', 1)[-1]}"
        if sent != value:
            raise S3Error.of(
                "BadDigest",
                f"The {alg} you specified did not match the calculated checksum.",
            )


async def abort_multipart_upload(call: S3Call) -> Response:
    """204 once the upload and its parts are gone (their blobs freed)."""
    bucket, key = _where(call)
    await call.config.store.abort_multipart_upload(bucket, key, _upload_id(call))
    return no_content()


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit():
        raise S3Error.of(
            "InvalidArgument",
            f"Provided {name} not an integer or within integer range",
            ArgumentName=name,
            ArgumentValue=raw,
        )
    return int(raw)


async def list_parts(call: S3Call) -> Response:
    """ListParts, paged by C{part-number-marker} and C{max-parts} (up to 1000)."""
    bucket, key = _where(call)
    q = call.operation.query
    marker = _int_param(q, "part-number-marker", 0)
    max_parts = _int_param(q, "max-parts", MAX_LISTED)
    page = await call.config.store.list_parts(
        bucket, key, _upload_id(call), marker, min(max_parts, MAX_LISTED)
    )
    upload = page.upload
    children: list[xml.Node] = [
        ("Bucket", bucket),
        ("Key", key),
        ("UploadId", upload.upload_id),
        ("PartNumberMarker", marker),
    ]
    if page.next_marker is not None:
        children.append(("NextPartNumberMarker", page.next_marker))
    children += [("MaxParts", max_parts), ("IsTruncated", page.is_truncated)]
    for part in page.parts:
        entry: list[xml.Node] = [
            ("PartNumber", part.part_number),
            ("LastModified", xml.iso8601(part.last_modified)),
            ("ETag", f'"{part.etag}"'),
            ("Size", part.size),
        ]
        if upload.checksum_algorithm is not None:
            value = part.checksum(upload.checksum_algorithm)
            if value is not None:
                entry.append(("Checksum" + upload.checksum_algorithm, value))
        children.append(("Part", entry))
    children += [
        ("Initiator", owner_xml(call, upload.owner_id)),
        ("Owner", owner_xml(call, upload.owner_id)),
        ("StorageClass", "STANDARD"),
    ]
    if upload.checksum_algorithm is not None:
        children.append(("ChecksumAlgorithm", upload.checksum_algorithm))
        children.append(("ChecksumType", upload.checksum_type))
    return xml_response(xml.document("ListPartsResult", children))


async def list_multipart_uploads(call: S3Call) -> Response:
    """
    ListMultipartUploads: uploads in progress by key then initiation,
    C{prefix}/C{delimiter} roll-up, paged by C{key-marker} and
    C{upload-id-marker}, C{max-uploads} up to 1000, C{encoding-type=url}.
    """
    bucket = call.bucket
    q = call.operation.query
    prefix = q.get("prefix", "")
    delimiter = q.get("delimiter", "")
    key_marker = q.get("key-marker", "")
    # S3 ignores upload-id-marker without key-marker.
    upload_id_marker = q.get("upload-id-marker", "") if key_marker else ""
    max_uploads = _int_param(q, "max-uploads", MAX_LISTED)
    encoding = q.get("encoding-type")
    if encoding is not None and encoding.lower() != "url":
        raise S3Error.of(
            "InvalidArgument",
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=encoding,
        )

    def enc(text: str) -> str:
        return quote(text, safe="/") if encoding is not None else text

    page = await call.config.store.list_multipart_uploads(
        bucket,
        ListQuery(prefix, delimiter, key_marker, min(max_uploads, MAX_LISTED)),
        upload_id_marker,
    )
    children: list[xml.Node] = [
        ("Bucket", bucket),
        ("KeyMarker", enc(key_marker)),
        ("UploadIdMarker", upload_id_marker),
    ]
    if page.is_truncated:
        children.append(("NextKeyMarker", enc(page.next_key_marker or "")))
        children.append(("NextUploadIdMarker", page.next_upload_id_marker or ""))
    if delimiter:
        children.append(("Delimiter", enc(delimiter)))
    children += [
        ("Prefix", enc(prefix)),
        ("MaxUploads", max_uploads),
        ("IsTruncated", page.is_truncated),
    ]
    for upload in page.uploads:
        entry: list[xml.Node] = [
            ("Key", enc(upload.key)),
            ("UploadId", upload.upload_id),
            ("Initiator", owner_xml(call, upload.owner_id)),
            ("Owner", owner_xml(call, upload.owner_id)),
            ("StorageClass", "STANDARD"),
            ("Initiated", xml.iso8601(upload.initiated)),
        ]
        if upload.checksum_algorithm is not None:
            entry.append(("ChecksumAlgorithm", upload.checksum_algorithm))
            entry.append(("ChecksumType", upload.checksum_type))
        children.append(("Upload", entry))
    children += [("CommonPrefixes", [("Prefix", enc(p))]) for p in page.common_prefixes]
    if encoding is not None:
        children.append(("EncodingType", "url"))
    return xml_response(xml.document("ListMultipartUploadsResult", children))
