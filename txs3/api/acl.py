"""
ACLs and Object Ownership: the ACL headers every write may carry, the
ACL operations, and the ownership controls.

A bucket's Object Ownership (L{txs3.access.Ownership}) says who owns an
object another user writes, and whether ACLs count at all:

  - C{ObjectWriter} (txs3's default, and S3's before April 2023): the
    writer owns it; its ACL is the one the request asks for, or its
    owner's full control;
  - C{BucketOwnerPreferred}: as C{ObjectWriter}, except that an object
    written with the C{bucket-owner-full-control} canned ACL belongs to
    the bucket owner;
  - C{BucketOwnerEnforced}: ACLs are disabled.  The bucket owner owns
    every object; only a policy grants anything to others.  A request
    asking for any ACL but the owner's full control (C{private},
    C{bucket-owner-full-control}, or the same as grants or XML) gets
    C{AccessControlListNotSupported}.

An anonymous writer (a bucket whose policy or ACL lets anyone write)
owns nothing: its objects belong to the bucket owner.

With Block Public Access' C{BlockPublicAcls}, a request that sets a
public ACL (one granting C{AllUsers} or C{AuthenticatedUsers} anything)
is refused with C{AccessDenied}, as S3 does.
"""

from __future__ import annotations

from txs3 import xml
from txs3.access import ACL, OWNERSHIP, OWNERSHIPS, BucketAccess, Ownership, object_acl
from txs3.authz import (
    Acl,
    Owner,
    acl_from_headers,
    acl_is_public,
    parse_acl_xml,
    private_acl,
    render_acl_xml,
)
from txs3.authz.acl import encode_grants
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.response import Response, xml_response

#: Canned ACLs that say "the owner has full control and nobody else
#: anything" of an object whose owner is the bucket owner: accepted while
#: ACLs are disabled (S3 accepts C{bucket-owner-full-control}; txs3 also
#: C{private}, which Cyberduck sends on every upload).
_OWNER_ONLY_CANNED = frozenset({"private", "bucket-owner-full-control"})


def _access(call: S3Call) -> BucketAccess:
    assert call.authorizer is not None, "a bucket operation has an authorizer"
    return call.authorizer.access


def new_object_owner(call: S3Call) -> str:
    """
    Who owns an object the call writes (PutObject, CopyObject,
    CreateMultipartUpload, POST), by the bucket's Object Ownership.
    """
    access = _access(call)
    writer = call.identity.owner_id
    if not writer or access.ownership == "BucketOwnerEnforced":
        return access.owner
    if access.ownership == "BucketOwnerPreferred":
        canned = (call.header("x-amz-acl") or "").strip().lower()
        if canned == "bucket-owner-full-control":
            return access.owner
    return writer


def new_object_access(call: S3Call) -> tuple[str, str | None]:
    """
    The owner and the stored ACL (L{stored_acl}) of the object a write
    makes, from the ACL headers checked before the body (C{call.acl}).
    """
    return new_object_owner(call), stored_acl(call.acl, _access(call))


def stored_acl(acl: Acl | None, access: BucketAccess) -> str | None:
    """
    The ACL as the index keeps it: None for the owner's full control (the
    default) and while ACLs are disabled; its grants otherwise.
    """
    if acl is None or not access.acls_enabled:
        return None
    if acl.grants == private_acl(acl.owner).grants:
        return None
    return encode_grants(acl.grants)


def _check_allowed(acl: Acl, access: BucketAccess, canned: str | None) -> None:
    """
    Refuse an ACL the bucket does not take: any but the owner's full
    control while ACLs are disabled; a public one under C{BlockPublicAcls}.
    """
    if not access.acls_enabled:
        owner_only = canned in _OWNER_ONLY_CANNED or all(
            g.permission == "FULL_CONTROL" and g.grantee.id == access.owner
            for g in acl.grants
        )
        if not owner_only:
            raise S3Error.of("AccessControlListNotSupported")
    if access.block.block_public_acls and acl_is_public(acl):
        raise S3Error.of("AccessDenied")


def _canned(call: S3Call) -> str | None:
    canned = call.header("x-amz-acl")
    return None if canned is None else canned.strip().lower()


def _headers_acl(call: S3Call, owner: str, bucket_owner: str | None) -> Acl | None:
    directory = call.config.directory
    return acl_from_headers(
        call.head.headers,
        Owner(owner),
        None if bucket_owner is None else Owner(bucket_owner),
        directory.owner_of_email,
        directory.exists,
    )


def check_acl_headers(call: S3Call) -> None:
    """
    Read the request's C{x-amz-acl} / C{x-amz-grant-*} headers into
    C{call.acl}, before the body, refusing what the bucket does not take
    (see the module docstring).  CreateBucket's are checked against the
    ownership and Block Public Access the new bucket will have.

    @raise S3Error: C{InvalidArgument}, C{InvalidRequest},
        C{UnresolvableGrantByEmailAddress} for headers that do not parse;
        C{AccessControlListNotSupported}, C{AccessDenied},
        C{InvalidBucketAclWithObjectOwnership}.
    """
    if call.operation.name == "CreateBucket":
        _check_new_bucket_acl(call)
        return
    access = _access(call)
    if call.operation.key is None:
        acl = _headers_acl(call, access.owner, None)
    else:
        acl = _headers_acl(call, new_object_owner(call), access.owner)
    if acl is not None:
        _check_allowed(acl, access, _canned(call))
    call.acl = acl


def _check_new_bucket_acl(call: S3Call) -> None:
    ownership = new_bucket_ownership(call)
    acl = _headers_acl(call, call.identity.owner_id, None)
    if acl is None:
        return
    owner_only = acl.grants == private_acl(acl.owner).grants
    if ownership == "BucketOwnerEnforced" and not owner_only:
        raise S3Error.of("InvalidBucketAclWithObjectOwnership")
    if call.config.new_buckets.block_public_access and acl_is_public(acl):
        raise S3Error.of("AccessDenied")
    call.acl = acl


def _requested(call: S3Call, owner: str, bucket_owner: str | None) -> Acl:
    """
    The ACL a PutBucketAcl / PutObjectAcl asks for: its headers, or its
    C{AccessControlPolicy} body (not both, and not neither).
    """
    body = call.xml_body()
    headers_acl = _headers_acl(call, owner, bucket_owner)
    if body.strip():
        if headers_acl is not None:
            raise S3Error.of("UnexpectedContent")
        directory = call.config.directory
        acl = parse_acl_xml(body, directory.owner_of_email, directory.exists)
        if acl.owner.id != owner:
            raise S3Error.of("AccessDenied")
        return Acl(Owner(owner), acl.grants)
    if headers_acl is None:
        raise S3Error.of("MissingSecurityHeader", MissingHeaderName="x-amz-acl")
    return headers_acl


def _render(call: S3Call, acl: Acl) -> Response:
    return xml_response(render_acl_xml(acl, call.config.directory.display_name))


async def get_bucket_acl(call: S3Call) -> Response:
    """The bucket's ACL (its owner's full control while ACLs are disabled)."""
    access = _access(call)
    acl = access.acl if access.acls_enabled else private_acl(Owner(access.owner))
    return _render(call, acl)


async def put_bucket_acl(call: S3Call) -> Response:
    """Replace the bucket's ACL, from headers or an XML body."""
    access = _access(call)
    acl = _requested(call, access.owner, None)
    _check_allowed(acl, access, _canned(call))
    await call.config.store.put_bucket_setting(
        call.bucket, ACL, stored_acl(acl, access)
    )
    return Response()


async def get_object_acl(call: S3Call) -> Response:
    """The object's ACL; C{NoSuchKey}."""
    access = _access(call)
    version_id = call.operation.query.get("versionId")
    info = call.config.store.head_object(call.bucket, call.key, version_id)
    acl = object_acl(info, access) or private_acl(Owner(access.owner))
    return _render(call, acl)


async def put_object_acl(call: S3Call) -> Response:
    """Replace the object's ACL, from headers or an XML body; C{NoSuchKey}."""
    access = _access(call)
    version_id = call.operation.query.get("versionId")
    info = call.config.store.head_object(call.bucket, call.key, version_id)
    owner = info.owner_id if access.acls_enabled else access.owner
    acl = _requested(call, owner, access.owner)
    _check_allowed(acl, access, _canned(call))
    await call.config.store.put_object_acl(
        call.bucket, call.key, stored_acl(acl, access), version_id
    )
    return Response()


def bucket_acl_setting(call: S3Call) -> str | None:
    """The C{acl} setting a CreateBucket's checked headers ask for."""
    acl = call.acl
    if acl is None or acl.grants == private_acl(acl.owner).grants:
        return None
    return encode_grants(acl.grants)


# -- Object Ownership ----------------------------------------------------------


def new_bucket_ownership(call: S3Call) -> Ownership:
    """
    The Object Ownership a CreateBucket gives its bucket: its
    C{x-amz-object-ownership} header, or the server's default.

    @raise S3Error: C{InvalidArgument} for an unknown value.
    """
    value = call.header("x-amz-object-ownership")
    if value is None:
        return call.config.new_buckets.ownership
    for ownership in OWNERSHIPS:
        if value.strip() == ownership:
            return ownership
    raise S3Error.of(
        "InvalidArgument",
        "Invalid x-amz-object-ownership header",
        ArgumentName="x-amz-object-ownership",
        ArgumentValue=value,
    )


async def get_bucket_ownership_controls(call: S3Call) -> Response:
    """The bucket's Object Ownership; 404 C{OwnershipControlsNotFoundError}."""
    ownership = _access(call).ownership
    if ownership is None:
        raise S3Error.of("OwnershipControlsNotFoundError", BucketName=call.bucket)
    return xml_response(
        xml.document("OwnershipControls", [("Rule", [("ObjectOwnership", ownership)])])
    )


async def put_bucket_ownership_controls(call: S3Call) -> Response:
    """
    Set the bucket's Object Ownership.  C{BucketOwnerEnforced} is refused
    while the bucket's ACL grants anyone but its owner
    (C{InvalidBucketAclWithObjectOwnership}): disabling ACLs must not
    silently take away access the ACL gives.

    @raise S3Error: C{MalformedXML}.
    """
    root = xml.parse(call.xml_body())
    rules = root.findall("Rule") if root.tag == "OwnershipControls" else []
    values = [(xml.child_text(rule, "ObjectOwnership") or "").strip() for rule in rules]
    if len(values) != 1 or values[0] not in OWNERSHIPS:
        raise S3Error.of("MalformedXML")
    access = _access(call)
    if values[0] == "BucketOwnerEnforced" and access.grants is not None:
        if any(g.grantee.id != access.owner for g in access.grants.grants):
            raise S3Error.of("InvalidBucketAclWithObjectOwnership")
    await call.config.store.put_bucket_setting(call.bucket, OWNERSHIP, values[0])
    return Response()


async def delete_bucket_ownership_controls(call: S3Call) -> Response:
    """Remove the setting: the bucket behaves as C{ObjectWriter}."""
    await call.config.store.put_bucket_setting(call.bucket, OWNERSHIP, None)
    return Response(status=204)
