"""
Lifecycle configuration: PutBucketLifecycleConfiguration,
GetBucketLifecycleConfiguration, DeleteBucketLifecycle, and the
C{x-amz-expiration} header of objects a rule will expire.

The configuration is the bucket setting C{lifecycle} (L{txs3.access}),
stored as GetBucketLifecycleConfiguration answers it: parsed and written
back once (L{txs3.lifecycle.config}), so a rule sent without an ID keeps
the one it was given.  The rules are run by the lifecycle pass
(L{txs3.background.lifecycle}), not here.
"""

from __future__ import annotations

from txs3.access import LIFECYCLE
from txs3.api.versions import bucket_access
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.lifecycle.config import parse_lifecycle, render_lifecycle
from txs3.lifecycle.evaluate import Version, expiration_header
from txs3.response import Response, no_content, xml_response
from txs3.store.interface import ObjectInfo

#: What AWS answers about transitions of small objects (txs3 has one
#: storage class, so nothing transitions; the header says AWS's default).
_MINIMUM_SIZE = {
    "x-amz-transition-default-minimum-object-size": "all_storage_classes_128K"
}


async def put_bucket_lifecycle_configuration(call: S3Call) -> Response:
    """
    Replace the bucket's lifecycle configuration.  The body's integrity
    (C{Content-MD5} or a checksum, required) was checked before the
    handler runs.

    @raise S3Error: C{MalformedXML} or C{InvalidArgument} (AWS's messages:
        duplicate IDs, more than 1,000 rules, bad days or dates...); the
        stored configuration is then unchanged.
    """
    configuration = parse_lifecycle(call.xml_body())
    await call.config.store.put_bucket_setting(
        call.bucket, LIFECYCLE, render_lifecycle(configuration).decode("utf-8")
    )
    return Response(200, dict(_MINIMUM_SIZE))


async def get_bucket_lifecycle_configuration(call: S3Call) -> Response:
    """
    The stored configuration.

    @raise S3Error: 404 C{NoSuchLifecycleConfiguration} when there is none.
    """
    configuration = bucket_access(call).lifecycle
    if configuration is None:
        raise S3Error.of("NoSuchLifecycleConfiguration", BucketName=call.bucket)
    return xml_response(render_lifecycle(configuration), headers=_MINIMUM_SIZE)


async def delete_bucket_lifecycle(call: S3Call) -> Response:
    """Remove the configuration (204, also when there was none, as AWS)."""
    await call.config.store.put_bucket_setting(call.bucket, LIFECYCLE, None)
    return no_content()


def expiration_headers(call: S3Call, info: ObjectInfo) -> dict[str, str]:
    """
    C{x-amz-expiration} for the current object C{info}, when a rule of its
    bucket will expire it: when, and by which rule.  Empty otherwise (no
    configuration, no rule for it, or a noncurrent version).
    """
    configuration = bucket_access(call).lifecycle
    if configuration is None or not info.is_latest or info.delete_marker:
        return {}
    version = Version(
        key=info.key,
        size=info.size,
        tags=dict(info.meta.tags),
        created=info.last_modified,
    )
    value = expiration_header(configuration, version, call.config.lifecycle_days)
    return {} if value is None else {"x-amz-expiration": value}
