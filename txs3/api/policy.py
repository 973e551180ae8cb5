"""
Bucket policies and Block Public Access: PutBucketPolicy,
GetBucketPolicy, DeleteBucketPolicy, GetBucketPolicyStatus, and
Put/Get/DeletePublicAccessBlock.

A policy is checked whole when it is set (L{txs3.authz.parse_policy}:
C{MalformedPolicy} with S3's message) and stored exactly as sent, which
is what GetBucketPolicy returns.  Principals must name owners the
credentials know.

Only the bucket owner's keys may read, replace or delete its policy: a
caller another statement lets in gets 405 C{MethodNotAllowed}, as S3
answers a caller outside the owning account.  And a C{Deny} in the
policy never locks the owner out of these three (L{txs3.authz.decide}).

With C{BlockPublicPolicy}, a public policy (L{txs3.authz.policy_is_public})
is refused with C{AccessDenied}.
"""

from __future__ import annotations

from txs3.access import POLICY, PUBLIC_ACCESS_BLOCK, BucketAccess
from txs3.authz import PublicAccessBlock, parse_policy, policy_status_xml
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.response import Response, xml_response


def _access(call: S3Call) -> BucketAccess:
    assert call.authorizer is not None, "a bucket operation has an authorizer"
    return call.authorizer.access


def _owner_only(call: S3Call) -> BucketAccess:
    access = _access(call)
    if call.identity.owner_id != access.owner:
        raise S3Error.of("MethodNotAllowed", Method=call.head.method,
                         ResourceType="BUCKETPOLICY")  # fmt: skip
    return access


async def put_bucket_policy(call: S3Call) -> Response:
    """
    Set the bucket's policy (204).

    @raise S3Error: C{MalformedPolicy}; C{AccessDenied} for a public policy
        under C{BlockPublicPolicy}.
    """
    access = _owner_only(call)
    body = call.xml_body()
    policy = parse_policy(body, call.bucket, call.config.directory.exists)
    if access.block.block_public_policy and policy.public:
        raise S3Error.of("AccessDenied")
    await call.config.store.put_bucket_setting(call.bucket, POLICY, policy.text)
    return Response(status=204)


async def get_bucket_policy(call: S3Call) -> Response:
    """The policy as it was sent; 404 C{NoSuchBucketPolicy}."""
    policy = _owner_only(call).policy
    if policy is None:
        raise S3Error.of("NoSuchBucketPolicy", BucketName=call.bucket)
    return Response(
        headers={"Content-Type": "application/json"},
        body=policy.text.encode("utf-8"),
    )


async def delete_bucket_policy(call: S3Call) -> Response:
    """Remove the policy (204, also when there is none)."""
    _owner_only(call)
    await call.config.store.put_bucket_setting(call.bucket, POLICY, None)
    return Response(status=204)


async def get_bucket_policy_status(call: S3Call) -> Response:
    """
    Whether the policy makes the bucket public; 404 C{NoSuchBucketPolicy}
    without one.
    """
    policy = _access(call).policy
    if policy is None:
        raise S3Error.of("NoSuchBucketPolicy", BucketName=call.bucket)
    return xml_response(policy_status_xml(policy))


async def put_public_access_block(call: S3Call) -> Response:
    """Set the bucket's four Block Public Access settings; C{MalformedXML}."""
    block = PublicAccessBlock.from_xml(call.xml_body())
    text = block.to_xml().decode("utf-8")
    await call.config.store.put_bucket_setting(call.bucket, PUBLIC_ACCESS_BLOCK, text)
    return Response()


async def get_public_access_block(call: S3Call) -> Response:
    """The settings; 404 C{NoSuchPublicAccessBlockConfiguration} without."""
    block = _access(call).public_access_block
    if block is None:
        raise S3Error.of("NoSuchPublicAccessBlockConfiguration", BucketName=call.bucket)
    return xml_response(block.to_xml())


async def delete_public_access_block(call: S3Call) -> Response:
    """Remove the settings (204): nothing is blocked."""
    await call.config.store.put_bucket_setting(call.bucket, PUBLIC_ACCESS_BLOCK, None)
    return Response(status=204)
