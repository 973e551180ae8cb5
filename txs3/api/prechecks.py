"""
Checks that run before the body, named by the catalogue entries that need
them (L{txs3.api.catalogue}).

Each check takes the prepared call and raises L{S3Error} to refuse it.  The
gate (L{txs3.gate.prepare}) runs an entry's checks after authentication and
before choosing the body sink, so a request refused here is refused before
``100 Continue`` and nothing reaches the disk.  A check may record what it
found on the call (L{multipart_upload} sets C{call.upload}) so the handler
does not look it up again.
"""

from __future__ import annotations

from collections.abc import Callable

from txs3.api.acl import check_acl_headers
from txs3.api.conditions import check_write_condition, write_condition
from txs3.api.tagset import parse_tagging_header
from txs3.body import requested_checksums
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.operation import part_number

PreCheck = Callable[[S3Call], None]

# Every header that asks for server-side encryption: SSE-S3 and SSE-KMS
# (x-amz-server-side-encryption, -aws-kms-key-id, -context,
# -bucket-key-enabled), SSE-C (-customer-algorithm, -customer-key,
# -customer-key-MD5), and SSE-C for a copy's source.
_ENCRYPTION_PREFIXES = (
    "x-amz-server-side-encryption",
    "x-amz-copy-source-server-side-encryption",
)


def no_encryption(call: S3Call) -> None:
    """
    Refuse (501 C{NotImplemented}) a request that asks for server-side
    encryption, by header or, for a SigV2 presigned URL (which carries
    signed ``x-amz-*`` headers in its query), by query parameter.

    txs3 stores object data as sent.  Accepting such a request would tell
    the client its data is encrypted (SSE-C: under its own key) while it
    lies on disk in plaintext; refusing before the body keeps the data off
    the disk altogether.
    """
    names = [*call.head.headers, *(n.lower() for n in call.operation.query)]
    asked = sorted(n for n in names if n.startswith(_ENCRYPTION_PREFIXES))
    if asked:
        raise S3Error.of("NotImplemented", Header=asked[0])


def acl_headers(call: S3Call) -> None:
    """
    Read ``x-amz-acl`` / ``x-amz-grant-*`` headers into C{call.acl},
    refusing an ACL the bucket does not take (L{txs3.api.acl}).
    """
    check_acl_headers(call)


def tagging_header(call: S3Call) -> None:
    """
    Refuse an ``x-amz-tagging`` header that is not a valid tag set.
    CopyObject reads it only with ``x-amz-tagging-directive: REPLACE``.
    """
    value = call.header("x-amz-tagging")
    if value is None:
        return
    directive = (call.header("x-amz-tagging-directive") or "COPY").upper()
    if call.operation.name != "CopyObject" or directive == "REPLACE":
        parse_tagging_header(value)


def write_conditions(call: S3Call) -> None:
    """
    Refuse now (412) a conditional write that would be refused at commit;
    the store re-checks atomically when it commits.
    """
    check_write_condition(
        call.config.store, call.operation, write_condition(call.head.headers)
    )


def part_number_param(call: S3Call) -> None:
    """Refuse a missing or out-of-range ``partNumber`` (C{InvalidArgument})."""
    part_number(call.operation.query.get("partNumber"))


def multipart_upload(call: S3Call) -> None:
    """
    Find the upload that ``uploadId`` names (C{NoSuchUpload}) and record it
    on the call.  A part that carries a checksum of another algorithm than
    the upload's is refused (C{InvalidRequest}).
    """
    upload = call.config.store.get_upload(
        call.bucket, call.key, call.operation.query.get("uploadId", "")
    )
    if call.operation.name == "UploadPart" and upload.checksum_algorithm is not None:
        sent, _ = requested_checksums(call.head.headers, call.payload)
        for alg in sent:
            if alg != upload.checksum_algorithm:
                raise S3Error.of(
                    "InvalidRequest",
                    "Checksum Type mismatch occurred, expected checksum Type: "
                    f"{upload.checksum_algorithm.lower()}, actual checksum "
                    f"Type: {alg.lower()}",
                )
    call.upload = upload


def completion_target(call: S3Call) -> None:
    """
    CompleteMultipartUpload: find the upload in progress (then refuse now,
    412, a write condition that would be refused at commit), or else the
    record of its completion, for a retried request (recorded as
    C{call.completed}: the handler answers it as the first one was
    answered, and the write conditions, which the completion itself made
    false, are not checked again).

    @raise S3Error: C{NoSuchUpload} if neither exists.
    """
    store = call.config.store
    upload_id = call.operation.query.get("uploadId", "")
    try:
        call.upload = store.get_upload(call.bucket, call.key, upload_id)
    except S3Error as e:
        if e.code != "NoSuchUpload":
            raise
        try:
            call.completed = store.get_completed_upload(
                call.bucket, call.key, upload_id
            )
        except S3Error:
            raise e from None
        return
    write_conditions(call)


def integrity_header(call: S3Call) -> None:
    """
    Refuse a request without Content-MD5 or an S3 checksum (a header, or a
    trailer announced in ``x-amz-trailer``): AWS requires one on
    DeleteObjects and answers C{InvalidRequest} "Missing required header
    for this request: Content-MD5".  Whichever is given is verified by the
    body's sink (L{txs3.body}) before the handler runs.
    """
    if call.header("content-md5") is not None:
        return
    sent, error = requested_checksums(call.head.headers, call.payload)
    if error is not None:
        raise error
    if not sent:
        raise S3Error.of(
            "InvalidRequest",
            "Missing required header for this request: Content-MD5",
        )
