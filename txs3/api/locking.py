"""
Object Lock: PutObjectLockConfiguration, GetObjectLockConfiguration,
Put/GetObjectRetention, Put/GetObjectLegalHold, and what the writes,
reads and deletions of other modules need of it.

The pure rules are L{txs3.objectlock}; the decisions over stored
versions, which the store runs inside its commits, are
L{txs3.versionlock}.  Here they meet the request:

  - the bucket's configuration is its C{object-lock} setting
    (L{txs3.access}), written by CreateBucket with
    C{x-amz-bucket-object-lock-enabled: true} (L{new_bucket_lock}) or by
    PutObjectLockConfiguration on a bucket whose versioning is
    C{Enabled}, and never removed; such a bucket's versioning can then not
    be suspended (L{txs3.api.versions});
  - a write's C{x-amz-object-lock-*} headers are read before the body
    (L{lock_headers}, into C{call.lock}), with AWS's order of errors, and
    a PutObject or UploadPart that asks for a lock, or goes to a bucket
    with a default retention, must carry C{Content-MD5} or an
    C{x-amz-checksum-*};
  - the new version's lock (L{new_lock}) is the request's, with the
    bucket's default retention where it names none, counted from now;
  - a deletion by version id carries L{deletion_guard}; a bypass of
    governance retention needs both the header and
    C{s3:BypassGovernanceRetention} on the key.
"""

from __future__ import annotations

from collections.abc import Callable

from txs3.access import OBJECT_LOCK, VERSIONING
from txs3.api.versions import bucket_access, version_param
from txs3.call import S3Call
from txs3.objectlock import (
    NO_LOCK,
    LockRequest,
    ObjectLockConfiguration,
    Versioning,
    check_integrity_header,
    check_lock_configuration_allowed,
    legal_hold_xml,
    lock_configuration_xml,
    lock_response_headers,
    needs_integrity_header,
    new_version_lock,
    parse_bypass,
    parse_legal_hold,
    parse_lock_configuration,
    parse_lock_headers,
    parse_retention,
    require_object_lock,
    retention_xml,
)
from txs3.response import Response, xml_response
from txs3.store.interface import LockRetention, ObjectInfo, ObjectMeta
from txs3.versionlock import (
    legal_hold_change,
    removal_guard,
    retention_change,
    retention_of,
    stored,
    with_lock,
)

BYPASS_ACTION = "s3:BypassGovernanceRetention"
BUCKET_LOCK_HEADER = "x-amz-bucket-object-lock-enabled"


def _now(call: S3Call) -> float:
    return call.config.reactor.seconds()


# -- what other operations need ---------------------------------------------------


def new_bucket_lock(call: S3Call) -> dict[str, str]:
    """
    The settings CreateBucket adds for C{x-amz-bucket-object-lock-enabled:
    true} (any case): Object Lock on, without a default retention, and
    versioning C{Enabled}, written with the bucket in one commit.  Any
    other value, or none, adds nothing.
    """
    if (call.header(BUCKET_LOCK_HEADER) or "").strip().lower() != "true":
        return {}
    return {
        VERSIONING: Versioning("Enabled").to_xml().decode("utf-8"),
        OBJECT_LOCK: ObjectLockConfiguration().to_xml().decode("utf-8"),
    }


def lock_headers(call: S3Call) -> None:
    """
    Pre-check of PutObject, CopyObject, CreateMultipartUpload and
    UploadPart: read the C{x-amz-object-lock-*} headers into C{call.lock}.

    @raise S3Error: C{InvalidArgument} for a bad header
        (L{parse_lock_headers}); C{InvalidRequest} "Bucket is missing
        ObjectLockConfiguration" for a lock asked of a bucket without
        Object Lock; C{InvalidRequest} "Content-MD5 OR x-amz-checksum-
        HTTP header is required ..." for a PutObject or UploadPart that
        needs one (L{needs_integrity_header}).
    """
    config = bucket_access(call).lock
    if call.operation.name == "UploadPart":
        # A part has no lock of its own: its upload's, or the bucket's default.
        assert call.upload is not None, "the multipart_upload check ran first"
        meta = call.upload.meta
        upload_lock = LockRequest(retention_of(meta), meta.legal_hold)
        if needs_integrity_header(upload_lock, config):
            check_integrity_header(call.head.headers, "Put Part")
        return
    request = parse_lock_headers(call.head.headers, _now(call))
    new_version_lock(request, config, _now(call))  # refused without Object Lock
    call.lock = request
    if call.operation.name == "PutObject" and needs_integrity_header(request, config):
        check_integrity_header(call.head.headers)


def new_lock(call: S3Call) -> LockRequest:
    """
    The lock of the version this write creates now: C{call.lock} (read by
    L{lock_headers}) with the bucket's default retention from now where it
    names none.
    """
    return new_version_lock(call.lock or NO_LOCK, bucket_access(call).lock, _now(call))


def locked_meta(call: S3Call, meta: ObjectMeta) -> ObjectMeta:
    """C{meta} with the lock of the version the write creates (L{new_lock})."""
    return with_lock(meta, new_lock(call))


def upload_lock(call: S3Call, meta: ObjectMeta) -> ObjectMeta:
    """
    C{meta} of a new multipart upload with the lock its headers ask for;
    the bucket's default, if it needs one, is added at completion
    (L{completion_retention}), when the version is created.
    """
    return with_lock(meta, call.lock or NO_LOCK)


def completion_retention(call: S3Call) -> LockRetention | None:
    """
    The bucket's default retention counted from now, for a completion
    (L{Completion.retention}: used if the upload asked for none).
    """
    default = new_version_lock(NO_LOCK, bucket_access(call).lock, _now(call))
    return stored(default.retention)


def bypass_requested(call: S3Call) -> bool:
    """
    Whether the request sends C{x-amz-bypass-governance-retention: true}.

    @raise S3Error: C{InvalidArgument} for the header, whatever its value,
        on a bucket without Object Lock (L{parse_bypass}).
    """
    return parse_bypass(call.head.headers, bucket_access(call).object_lock)


def deletion_guard(
    call: S3Call, key: str, bypass: bool
) -> Callable[[ObjectInfo], None]:
    """
    The L{Deletion.guard} of a deletion of C{key} by this request: with
    C{bypass} (L{bypass_requested}) and C{s3:BypassGovernanceRetention} on
    C{key}, governance retention gives way; nothing else does.
    """
    may_bypass = _may_bypass(call, key, bypass)
    return removal_guard(_now(call), bypass=bypass, may_bypass=may_bypass)


def _may_bypass(call: S3Call, key: str, bypass: bool) -> bool:
    # Asked only of a request that asks to bypass: most never do, and a
    # policy evaluation is not free.
    if not bypass:
        return False
    assert call.authorizer is not None, "an object operation has an authorizer"
    return call.authorizer.allows(BYPASS_ACTION, key)


def response_headers(call: S3Call, info: ObjectInfo) -> dict[str, str]:
    """
    The C{x-amz-object-lock-*} headers of a GetObject or HeadObject of
    C{info}: its retention if the caller may read it
    (C{s3:GetObjectRetention}), its legal hold likewise
    (C{s3:GetObjectLegalHold}), as S3 leaves out what the caller may not
    read.
    """
    retention = retention_of(info.meta)
    hold = info.meta.legal_hold
    if retention is None and hold is None:
        return {}
    assert call.authorizer is not None, "an object operation has an authorizer"
    if retention is not None and not call.authorizer.allows(
        "s3:GetObjectRetention", info.key
    ):
        retention = None
    if hold is not None and not call.authorizer.allows(
        "s3:GetObjectLegalHold", info.key
    ):
        hold = None
    return lock_response_headers(retention, hold)


# -- the bucket's configuration -------------------------------------------------


async def put_object_lock_configuration(call: S3Call) -> Response:
    """
    Replace the bucket's Object Lock configuration (its default
    retention), or turn Object Lock on for a bucket whose versioning is
    C{Enabled}, as S3 does since 2023.  Object Lock can never be turned
    off: the document must say C{Enabled}.

    @raise S3Error: C{MalformedXML} or C{InvalidArgument} for a bad
        document (L{parse_lock_configuration}); C{InvalidBucketState} when
        versioning is not C{Enabled}.
    """
    config = parse_lock_configuration(call.xml_body())
    check_lock_configuration_allowed(bucket_access(call).versioning)
    await call.config.store.put_bucket_setting(
        call.bucket, OBJECT_LOCK, config.to_xml().decode("utf-8")
    )
    return Response()


async def get_object_lock_configuration(call: S3Call) -> Response:
    """
    The bucket's C{ObjectLockConfiguration}.

    @raise S3Error: C{ObjectLockConfigurationNotFoundError} (404) for a
        bucket without Object Lock.
    """
    return xml_response(lock_configuration_xml(bucket_access(call).lock, call.bucket))


# -- a version's retention and legal hold -----------------------------------------


async def put_object_retention(call: S3Call) -> Response:
    """
    Place, extend, or (with a bypass of governance mode) shorten or remove
    the retention of the key's current version or of C{versionId}.  The
    decision is made inside the store's commit against the retention as it
    is then (L{txs3.versionlock.retention_change}).

    @raise S3Error: C{InvalidRequest} on a bucket without Object Lock;
        C{MalformedXML}, C{InvalidArgument} for a bad document;
        C{AccessDenied} for a change that weakens an active retention
        without the right to; C{NoSuchKey}, C{NoSuchVersion},
        C{MethodNotAllowed} (a delete marker).
    """
    access = bucket_access(call)
    require_object_lock(access.lock)
    new = parse_retention(call.xml_body(), _now(call))
    bypass = parse_bypass(call.head.headers, True)
    change = retention_change(
        new,
        _now(call),
        bypass=bypass,
        may_bypass=_may_bypass(call, call.key, bypass),
    )
    await call.config.store.put_object_lock(
        call.bucket, call.key, version_param(call), change
    )
    return Response()


async def get_object_retention(call: S3Call) -> Response:
    """
    The C{Retention} of the key's current version or of C{versionId}.

    @raise S3Error: C{InvalidRequest} on a bucket without Object Lock;
        C{NoSuchObjectLockConfiguration} for a version without one.
    """
    require_object_lock(bucket_access(call).lock)
    info = call.config.store.head_object(call.bucket, call.key, version_param(call))
    return xml_response(retention_xml(retention_of(info.meta)))


async def put_object_legal_hold(call: S3Call) -> Response:
    """
    Place (C{ON}) or lift (C{OFF}) the legal hold of the key's current
    version or of C{versionId}.

    @raise S3Error: C{InvalidRequest} on a bucket without Object Lock;
        C{MalformedXML}; C{NoSuchKey}, C{NoSuchVersion},
        C{MethodNotAllowed} (a delete marker).
    """
    require_object_lock(bucket_access(call).lock)
    on = parse_legal_hold(call.xml_body())
    await call.config.store.put_object_lock(
        call.bucket, call.key, version_param(call), legal_hold_change(on)
    )
    return Response()


async def get_object_legal_hold(call: S3Call) -> Response:
    """
    The C{LegalHold} of the key's current version or of C{versionId}.

    @raise S3Error: C{InvalidRequest} on a bucket without Object Lock;
        C{NoSuchObjectLockConfiguration} for a version that never had one.
    """
    require_object_lock(bucket_access(call).lock)
    info = call.config.store.head_object(call.bucket, call.key, version_param(call))
    return xml_response(legal_hold_xml(info.meta.legal_hold))
