"""
Bucket and object configuration sub-resources txs3 has no configuration
for, answered the way S3 answers a bucket or object without one.

Clients probe these (Cyberduck's info panel asks ``?logging``,
``?versioning``, ``?lifecycle``, ``?acl``, ``?ownershipControls`` ...).
Each answer is what S3 sends for a new bucket today: an empty document
where S3 sends one (versioning, logging, accelerate, notification), S3's
own 404 where S3 has no document (lifecycle, policy, CORS, website,
object lock, replication), and the fixed settings of a new bucket where
S3 has defaults (object ownership ``BucketOwnerEnforced``, every public
access block on, the bucket owner paying).

ACLs: txs3 behaves as a bucket with ``BucketOwnerEnforced`` ownership, the
S3 default since April 2023: ACLs are disabled, every object belongs to
the bucket owner, who has full control.  Reading an ACL shows exactly that;
writing one is accepted only when it says exactly that (L{check_acl_headers},
L{put_bucket_acl}), and refused with C{AccessControlListNotSupported}
otherwise.

Default encryption: S3 has applied SSE-S3 to every new bucket since January
2023, but txs3 does not encrypt data at rest, so it answers what S3
answered for a bucket without default encryption
(C{ServerSideEncryptionConfigurationNotFoundError}) rather than claim an
encryption that is not there.

Every handler here runs after L{txs3.server.prepare} found the bucket and
checked that the caller owns it, so a missing bucket never gets this far.
"""

from __future__ import annotations

from txs3 import xml
from txs3.api.acl import access_control_policy, check_acl_body, check_acl_headers
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.response import Response, xml_response


def _bucket(call: S3Call) -> str:
    assert call.operation.bucket is not None
    return call.operation.bucket


def _empty(root: str) -> Response:
    return xml_response(xml.document(root, []))


def _missing(call: S3Call, code: str) -> S3Error:
    # S3 adds the bucket's name to these 404s.
    return S3Error.of(code, BucketName=_bucket(call))


# -- ACLs ------------------------------------------------------------------


def _owner(call: S3Call) -> tuple[str, str]:
    # prepare() let the call through only if its identity owns the bucket,
    # and with ACLs disabled the bucket owner owns every object in it.
    return call.identity.owner_id, call.identity.display_name


async def get_bucket_acl(call: S3Call) -> Response:
    """The bucket owner with full control, and nobody else."""
    return xml_response(access_control_policy(*_owner(call)))


async def get_object_acl(call: S3Call) -> Response:
    """The bucket owner with full control of the object; C{NoSuchKey}."""
    key = call.operation.key
    assert key is not None
    call.config.store.head_object(_bucket(call), key)
    return xml_response(access_control_policy(*_owner(call)))


async def _put_acl(call: S3Call) -> Response:
    check_acl_headers(call.head.headers, call.identity.owner_id)
    body = call.xml_body()
    if body.strip():
        if call.header("x-amz-acl") is not None:
            raise S3Error.of(
                "UnexpectedContent",
                "This request does not support content",
            )
        check_acl_body(body, call.identity.owner_id)
    return Response()


async def put_bucket_acl(call: S3Call) -> Response:
    """
    Accept an ACL that gives the owner full control and nobody anything
    (a no-op: that is the bucket's ACL already); refuse any other.
    """
    return await _put_acl(call)


async def put_object_acl(call: S3Call) -> Response:
    """As L{put_bucket_acl}, for an existing object; C{NoSuchKey}."""
    key = call.operation.key
    assert key is not None
    call.config.store.head_object(_bucket(call), key)
    return await _put_acl(call)


# -- object ownership ------------------------------------------------------


def _ownership_document() -> bytes:
    return xml.document(
        "OwnershipControls",
        [("Rule", [("ObjectOwnership", "BucketOwnerEnforced")])],
    )


async def get_bucket_ownership_controls(call: S3Call) -> Response:
    """C{BucketOwnerEnforced}: the default of every new S3 bucket."""
    return xml_response(_ownership_document())


async def put_bucket_ownership_controls(call: S3Call) -> Response:
    """
    Accept C{BucketOwnerEnforced} (what the bucket has); refuse any other
    setting with 501, since txs3 has no object ACLs to enable.

    @raise S3Error: C{MalformedXML}; C{NotImplemented}.
    """
    root = xml.parse(call.xml_body())
    rules = root.findall("Rule") if root.tag == "OwnershipControls" else []
    if not rules:
        raise S3Error.of("MalformedXML")
    for rule in rules:
        value = (xml.child_text(rule, "ObjectOwnership") or "").strip()
        if value not in ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"):
            raise S3Error.of("MalformedXML")
        if value != "BucketOwnerEnforced":
            raise S3Error.of(
                "NotImplemented",
                "txs3 supports only the BucketOwnerEnforced object ownership",
            )
    return Response()


async def delete_bucket_ownership_controls(call: S3Call) -> Response:
    """501: removing the setting would enable ACLs, which txs3 lacks."""
    raise S3Error.of(
        "NotImplemented",
        "txs3 supports only the BucketOwnerEnforced object ownership",
    )


# -- versioning ------------------------------------------------------------


async def get_bucket_versioning(call: S3Call) -> Response:
    """An empty C{VersioningConfiguration}: versioning was never enabled."""
    return _empty("VersioningConfiguration")


async def put_bucket_versioning(call: S3Call) -> Response:
    """501: txs3 keeps one version of each object."""
    raise S3Error.of("NotImplemented", "txs3 does not support bucket versioning")


# -- configurations a new bucket does not have -----------------------------


async def get_bucket_logging(call: S3Call) -> Response:
    """An empty C{BucketLoggingStatus}: logging is off."""
    return _empty("BucketLoggingStatus")


async def get_bucket_accelerate_configuration(call: S3Call) -> Response:
    """An empty C{AccelerateConfiguration}: acceleration was never set."""
    return _empty("AccelerateConfiguration")


async def get_bucket_notification_configuration(call: S3Call) -> Response:
    """An empty C{NotificationConfiguration}: no notifications."""
    return _empty("NotificationConfiguration")


async def get_bucket_request_payment(call: S3Call) -> Response:
    """C{BucketOwner}: the bucket owner pays."""
    return xml_response(
        xml.document("RequestPaymentConfiguration", [("Payer", "BucketOwner")])
    )


async def get_public_access_block(call: S3Call) -> Response:
    """
    All four blocks on, S3's setting for new buckets since April 2023, and
    true of txs3, which serves nothing to anonymous callers.
    """
    flags = (
        "BlockPublicAcls",
        "IgnorePublicAcls",
        "BlockPublicPolicy",
        "RestrictPublicBuckets",
    )
    return xml_response(
        xml.document("PublicAccessBlockConfiguration", [(f, True) for f in flags]),
    )


async def get_bucket_lifecycle_configuration(call: S3Call) -> Response:
    """404 C{NoSuchLifecycleConfiguration}, S3's answer for a bucket without."""
    raise _missing(call, "NoSuchLifecycleConfiguration")


async def get_bucket_policy(call: S3Call) -> Response:
    """404 C{NoSuchBucketPolicy}."""
    raise _missing(call, "NoSuchBucketPolicy")


async def get_bucket_website(call: S3Call) -> Response:
    """404 C{NoSuchWebsiteConfiguration}."""
    raise _missing(call, "NoSuchWebsiteConfiguration")


async def get_bucket_encryption(call: S3Call) -> Response:
    """
    404 C{ServerSideEncryptionConfigurationNotFoundError}: txs3 stores
    bytes unencrypted (see the module docstring).
    """
    raise _missing(call, "ServerSideEncryptionConfigurationNotFoundError")


async def get_object_lock_configuration(call: S3Call) -> Response:
    """404 C{ObjectLockConfigurationNotFoundError}."""
    raise _missing(call, "ObjectLockConfigurationNotFoundError")


async def get_bucket_replication(call: S3Call) -> Response:
    """404 C{ReplicationConfigurationNotFoundError}."""
    raise _missing(call, "ReplicationConfigurationNotFoundError")


#: Operation name -> handler, merged into L{txs3.api.app.HANDLERS}.
SUBRESOURCE_HANDLERS = {
    "GetBucketVersioning": get_bucket_versioning,
    "PutBucketVersioning": put_bucket_versioning,
    "GetBucketLogging": get_bucket_logging,
    "GetBucketLifecycleConfiguration": get_bucket_lifecycle_configuration,
    "GetBucketAcl": get_bucket_acl,
    "PutBucketAcl": put_bucket_acl,
    "GetObjectAcl": get_object_acl,
    "PutObjectAcl": put_object_acl,
    "GetBucketOwnershipControls": get_bucket_ownership_controls,
    "PutBucketOwnershipControls": put_bucket_ownership_controls,
    "DeleteBucketOwnershipControls": delete_bucket_ownership_controls,
    "GetBucketPolicy": get_bucket_policy,
    "GetBucketWebsite": get_bucket_website,
    "GetBucketEncryption": get_bucket_encryption,
    "GetPublicAccessBlock": get_public_access_block,
    "GetBucketRequestPayment": get_bucket_request_payment,
    "GetBucketAccelerateConfiguration": get_bucket_accelerate_configuration,
    "GetBucketNotificationConfiguration": get_bucket_notification_configuration,
    "GetObjectLockConfiguration": get_object_lock_configuration,
    "GetBucketReplication": get_bucket_replication,
}
