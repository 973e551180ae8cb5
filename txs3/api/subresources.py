"""
Bucket and object configuration sub-resources txs3 has no configuration
for, answered the way S3 answers a bucket or object without one.

Clients probe these (Cyberduck's info panel asks ``?logging``,
``?versioning``, ``?lifecycle`` ...).  Each answer is what S3 sends for a
new bucket today: an empty document where S3 sends one (versioning,
logging, accelerate, notification), S3's own 404 where S3 has no document
(CORS, website, replication), and the fixed
settings of a new bucket where S3 has defaults (the bucket owner paying).
ACLs, ownership, policies and Block Public Access are real settings:
L{txs3.api.acl} and L{txs3.api.policy}.

Default encryption: S3 has applied SSE-S3 to every new bucket since January
2023, but txs3 does not encrypt data at rest, so it answers what S3
answered for a bucket without default encryption
(C{ServerSideEncryptionConfigurationNotFoundError}) rather than claim an
encryption that is not there.

Every handler here runs after L{txs3.gate.prepare} found the bucket and
authorized the caller, so a missing bucket never gets this far.
"""

from __future__ import annotations

from txs3 import xml
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


async def get_bucket_website(call: S3Call) -> Response:
    """404 C{NoSuchWebsiteConfiguration}."""
    raise _missing(call, "NoSuchWebsiteConfiguration")


async def get_bucket_encryption(call: S3Call) -> Response:
    """
    404 C{ServerSideEncryptionConfigurationNotFoundError}: txs3 stores
    bytes unencrypted (see the module docstring).
    """
    raise _missing(call, "ServerSideEncryptionConfigurationNotFoundError")


async def get_bucket_replication(call: S3Call) -> Response:
    """404 C{ReplicationConfigurationNotFoundError}."""
    raise _missing(call, "ReplicationConfigurationNotFoundError")


#: Operation name -> handler, merged into L{txs3.api.app.HANDLERS}.
SUBRESOURCE_HANDLERS = {
    "GetBucketLogging": get_bucket_logging,
    "GetBucketWebsite": get_bucket_website,
    "GetBucketEncryption": get_bucket_encryption,
    "GetBucketRequestPayment": get_bucket_request_payment,
    "GetBucketAccelerateConfiguration": get_bucket_accelerate_configuration,
    "GetBucketNotificationConfiguration": get_bucket_notification_configuration,
    "GetBucketReplication": get_bucket_replication,
}
