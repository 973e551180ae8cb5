"""
ACLs on a store whose buckets all behave as S3's ``BucketOwnerEnforced``
(the default for new buckets since April 2023): ACLs are disabled, the
bucket owner owns every object and has full control, nobody else has
anything.  Reading an ACL shows exactly that; writing one, in headers or a
body, is accepted only when it says exactly that, and otherwise refused
with S3's C{AccessControlListNotSupported}.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from xml.etree.ElementTree import Element

from txs3 import xml
from txs3.errors import S3Error

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE = "{" + XSI_NS + "}type"

# Canned ACLs that say "the bucket owner has full control, nobody else has
# anything", which is all txs3 can honour.  AWS itself refuses even
# "private" on a BucketOwnerEnforced bucket; txs3 accepts it because it is
# exactly what happens, and Cyberduck sends it on uploads.
ACCEPTED_CANNED_ACLS = frozenset({"private", "bucket-owner-full-control"})

# Grant headers; any of them names a grantee.
_GRANT_HEADERS = (
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
)
_GRANTEE = re.compile(r'\s*([A-Za-z]+)\s*=\s*"?([^",]*)"?\s*')


def _acl_not_supported() -> S3Error:
    return S3Error.of("AccessControlListNotSupported")


def check_acl_headers(headers: Mapping[str, str], owner_id: str) -> None:
    """
    Refuse a request whose ``x-amz-acl`` or ``x-amz-grant-*`` headers ask
    for anything but the owner's full control.  Called by every operation
    that takes them: CreateBucket, PutObject, CopyObject,
    CreateMultipartUpload, PutBucketAcl and PutObjectAcl.

    Accepted: no ACL header; ``x-amz-acl: private`` or
    ``bucket-owner-full-control``; ``x-amz-grant-full-control`` naming only
    the owner's canonical id.

    @raise S3Error: C{AccessControlListNotSupported} for any other ACL;
        C{InvalidRequest} when a canned ACL and grant headers are both given
        (S3's answer).
    """
    canned = headers.get("x-amz-acl")
    grants = [name for name in _GRANT_HEADERS if headers.get(name) is not None]
    if canned is not None and grants:
        raise S3Error.of(
            "InvalidRequest",
            "Specifying both Canned ACLs and Header Grants is not allowed",
        )
    if canned is not None and canned.strip().lower() not in ACCEPTED_CANNED_ACLS:
        raise _acl_not_supported()
    for name in grants:
        if name != "x-amz-grant-full-control":
            raise _acl_not_supported()
        value = headers.get(name) or ""
        for grantee in value.split(","):
            match = _GRANTEE.fullmatch(grantee)
            if (
                match is None
                or match.group(1).lower() != "id"
                or match.group(2) != owner_id
            ):
                raise _acl_not_supported()


def access_control_policy(owner_id: str, display_name: str) -> bytes:
    """
    S3's C{AccessControlPolicy} for a resource whose owner has full control
    and nobody else anything, with the grantee typed by C{xsi:type} as S3
    sends it.
    """
    owner = (
        f"<ID>{xml.escape(owner_id)}</ID>"
        f"<DisplayName>{xml.escape(display_name)}</DisplayName>"
    )
    body = (
        f'<AccessControlPolicy xmlns="{xml.S3_NS}">'
        f"<Owner>{owner}</Owner>"
        "<AccessControlList><Grant>"
        f'<Grantee xmlns:xsi="{XSI_NS}" xsi:type="CanonicalUser">{owner}</Grantee>'
        "<Permission>FULL_CONTROL</Permission>"
        "</Grant></AccessControlList>"
        "</AccessControlPolicy>"
    )
    return xml.DECLARATION + body.encode("utf-8")


def check_acl_body(body: bytes, owner_id: str) -> None:
    """
    Accept an C{AccessControlPolicy} body only if every grant gives
    C{FULL_CONTROL} to C{owner_id} (and there is at least one).

    @raise S3Error: C{MalformedACLError} for a body that is not an
        C{AccessControlPolicy}; C{AccessControlListNotSupported} for any
        other grant.
    """
    try:
        root = xml.parse(body)
    except S3Error as e:
        raise S3Error.of("MalformedACLError") from e
    if root.tag != "AccessControlPolicy":
        raise S3Error.of("MalformedACLError")
    acl = root.find("AccessControlList")
    if acl is None:
        raise S3Error.of("MalformedACLError")
    grants = list(acl)
    if not grants:
        # No grant at all would lock the owner out: not what ACLs-disabled
        # buckets do.
        raise _acl_not_supported()
    for grant in grants:
        if grant.tag != "Grant" or not _is_owner_full_control(grant, owner_id):
            raise _acl_not_supported()


def _is_owner_full_control(grant: Element, owner_id: str) -> bool:
    grantee = grant.find("Grantee")
    if grantee is None:
        return False
    kind = grantee.get(_XSI_TYPE, "CanonicalUser")
    return (
        kind == "CanonicalUser"
        and (xml.child_text(grantee, "ID") or "").strip() == owner_id
        and (xml.child_text(grant, "Permission") or "").strip() == "FULL_CONTROL"
    )
