"""Bucket operations: CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation."""

from __future__ import annotations

from txs3 import xml
from txs3.access import ACL, OWNERSHIP, PUBLIC_ACCESS_BLOCK
from txs3.api.acl import bucket_acl_setting, new_bucket_ownership
from txs3.api.locking import new_bucket_lock
from txs3.authz import BLOCK_ALL
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.operation import validate_bucket_name
from txs3.response import Response, no_content, xml_response


def _bucket(call: S3Call) -> str:
    name = call.operation.bucket
    assert name is not None
    return name


async def create_bucket(call: S3Call) -> Response:
    """
    Create the bucket, optionally with a C{CreateBucketConfiguration} body
    naming its region (any region is accepted: txs3 serves them all from one
    place, and SigV4 verifies under whatever region the client signs for).
    """
    name = _bucket(call)
    validate_bucket_name(name)
    region = call.config.region
    body = call.xml_body()
    if body.strip():
        root = xml.parse(body)
        if root.tag != "CreateBucketConfiguration":
            raise S3Error.of("MalformedXML")
        constraint = xml.child_text(root, "LocationConstraint")
        if constraint:
            region = constraint
    await call.config.store.create_bucket(
        name, call.identity.owner_id, region, new_bucket_settings(call)
    )
    return Response(200, {"Location": "/" + name})


def new_bucket_settings(call: S3Call) -> dict[str, str]:
    """
    The access settings a CreateBucket gives its bucket, in the same
    commit: its Object Ownership (header or server default), every Block
    Public Access setting when the server gives them to new buckets, and
    the ACL its headers ask for (checked before the body), and with
    C{x-amz-bucket-object-lock-enabled: true}, Object Lock and versioning
    C{Enabled}.
    """
    settings: dict[str, str] = {OWNERSHIP: new_bucket_ownership(call)}
    settings.update(new_bucket_lock(call))
    if call.config.new_buckets.block_public_access:
        settings[PUBLIC_ACCESS_BLOCK] = BLOCK_ALL.to_xml().decode("utf-8")
    acl = bucket_acl_setting(call)
    if acl is not None:
        settings[ACL] = acl
    return settings


async def head_bucket(call: S3Call) -> Response:
    """200 with the bucket's region; access was checked before the body."""
    info = call.config.store.get_bucket(_bucket(call))
    return Response(200, {"x-amz-bucket-region": info.region})


async def delete_bucket(call: S3Call) -> Response:
    """204 once the (empty) bucket is gone."""
    await call.config.store.delete_bucket(_bucket(call))
    return no_content()


async def get_bucket_location(call: S3Call) -> Response:
    """The bucket's region; empty for us-east-1, as S3 answers."""
    info = call.config.store.get_bucket(_bucket(call))
    region = None if info.region == "us-east-1" else info.region
    body = (
        xml.document("LocationConstraint", [])
        if region is None
        else (
            xml.DECLARATION
            + f'<LocationConstraint xmlns="{xml.S3_NS}">{xml.escape(region)}'
            f"</LocationConstraint>".encode()
        )
    )
    return xml_response(body)
