"""
Access control lists as values: an owner and grants.

AWS's "Access control list (ACL) overview" is the specification:

  - a grantee is a canonical user (a txs3 owner id) or one of three
    groups: C{AllUsers} (anyone, anonymous included),
    C{AuthenticatedUsers} (any caller with a key) and C{LogDelivery}
    (S3's log writer, which txs3 does not have: it matches nobody).  A
    grant by e-mail address is resolved to a canonical user when the ACL
    is set, by a lookup the caller supplies;
  - permissions are C{READ}, C{WRITE}, C{READ_ACP}, C{WRITE_ACP} and
    C{FULL_CONTROL} (all four); L{required_permission} says which one an
    IAM action needs, on the bucket's ACL or on the object's;
  - canned ACLs (L{canned_acl}) and C{x-amz-grant-*} headers
    (L{acl_from_headers}) build an ACL from request headers;
    L{parse_acl_xml} and L{render_acl_xml} read and write the
    C{AccessControlPolicy} document.

This module replaces, in time, L{txs3.api.acl}'s owner-only ACLs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from xml.etree.ElementTree import Element

from txs3 import xml
from txs3.authz.context import Principal
from txs3.errors import S3Error

Permission = Literal["READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL"]
PERMISSIONS: tuple[Permission, ...] = (
    "READ",
    "WRITE",
    "READ_ACP",
    "WRITE_ACP",
    "FULL_CONTROL",
)
GranteeType = Literal["CanonicalUser", "Group"]
AclTarget = Literal["bucket", "object"]

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY})
#: The groups that make a grant public (AWS's "The meaning of public").
PUBLIC_GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS})

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_TYPE = "{" + XSI_NS + "}type"

#: Gives the owner id an e-mail address belongs to, or None.
EmailLookup = Callable[[str], "str | None"]
#: Whether an owner id exists.
OwnerExists = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Grantee:
    """A canonical user (C{id} is an owner id) or a group (C{id} is its URI)."""

    type: GranteeType
    id: str
    display_name: str | None = field(default=None, compare=False)

    @classmethod
    def user(cls, owner_id: str, display_name: str | None = None) -> Grantee:
        """The canonical user C{owner_id}."""
        return cls("CanonicalUser", owner_id, display_name)

    @classmethod
    def group(cls, uri: str) -> Grantee:
        """The group C{uri} (one of L{GROUPS})."""
        return cls("Group", uri)

    @property
    def public(self) -> bool:
        """Whether this is C{AllUsers} or C{AuthenticatedUsers}."""
        return self.type == "Group" and self.id in PUBLIC_GROUPS

    def includes(self, principal: Principal) -> bool:
        """Whether C{principal} is, or belongs to, this grantee."""
        if self.type == "CanonicalUser":
            return bool(principal.owner_id) and principal.owner_id == self.id
        if self.id == ALL_USERS:
            return True
        if self.id == AUTHENTICATED_USERS:
            return not principal.anonymous
        return False


@dataclass(frozen=True, slots=True)
class Grant:
    """One grant: a grantee and a permission."""

    grantee: Grantee
    permission: Permission


@dataclass(frozen=True, slots=True)
class Owner:
    """The owner of a bucket or object."""

    id: str
    display_name: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Acl:
    """An owner and its grants, in order."""

    owner: Owner
    grants: tuple[Grant, ...]

    @property
    def public(self) -> bool:
        """Whether any grant is to C{AllUsers} or C{AuthenticatedUsers}."""
        return any(g.grantee.public for g in self.grants)

    def grant_for(
        self, principal: Principal, permission: Permission, ignore_public: bool = False
    ) -> Grant | None:
        """
        The first grant giving C{principal} C{permission} (or
        C{FULL_CONTROL}); public grants are skipped when C{ignore_public}.
        """
        for grant in self.grants:
            if grant.permission != permission and grant.permission != "FULL_CONTROL":
                continue
            if ignore_public and grant.grantee.public:
                continue
            if grant.grantee.includes(principal):
                return grant
        return None


def private_acl(owner: Owner) -> Acl:
    """The default ACL: the owner has full control, nobody else anything."""
    return Acl(
        owner, (Grant(Grantee.user(owner.id, owner.display_name), "FULL_CONTROL"),)
    )


# -- which permission an action needs ----------------------------------------

_PERMISSION_FOR: Mapping[str, tuple[AclTarget, Permission]] = {
    # Bucket ACL.  WRITE on a bucket also allows s3:DeleteObjectVersion
    # when the grantee is the bucket owner, who is allowed anyway.
    "s3:listbucket": ("bucket", "READ"),
    "s3:listbucketversions": ("bucket", "READ"),
    "s3:listbucketmultipartuploads": ("bucket", "READ"),
    "s3:putobject": ("bucket", "WRITE"),
    "s3:deleteobject": ("bucket", "WRITE"),
    "s3:getbucketacl": ("bucket", "READ_ACP"),
    "s3:putbucketacl": ("bucket", "WRITE_ACP"),
    # Object ACL (WRITE means nothing on an object).
    "s3:getobject": ("object", "READ"),
    "s3:getobjectversion": ("object", "READ"),
    "s3:getobjecttorrent": ("object", "READ"),
    "s3:getobjectacl": ("object", "READ_ACP"),
    "s3:getobjectversionacl": ("object", "READ_ACP"),
    "s3:putobjectacl": ("object", "WRITE_ACP"),
    "s3:putobjectversionacl": ("object", "WRITE_ACP"),
}


def required_permission(action: str) -> tuple[AclTarget, Permission] | None:
    """
    Which ACL (the bucket's or the object's) must grant which permission
    for C{action}, per AWS's table "Mapping of ACL permissions and access
    policy permissions"; None when no ACL permission allows the action.
    """
    return _PERMISSION_FOR.get(action.lower())


# -- canned ACLs and grant headers -----------------------------------------------

CANNED_ACLS = frozenset(
    {
        "private",
        "public-read",
        "public-read-write",
        "aws-exec-read",
        "authenticated-read",
        "bucket-owner-read",
        "bucket-owner-full-control",
        "log-delivery-write",
    }
)

_CANNED_EXTRA: Mapping[str, tuple[tuple[str, Permission], ...]] = {
    "private": (),
    # The EC2 grantee has no counterpart in txs3: owner only.
    "aws-exec-read": (),
    "public-read": ((ALL_USERS, "READ"),),
    "public-read-write": ((ALL_USERS, "READ"), (ALL_USERS, "WRITE")),
    "authenticated-read": ((AUTHENTICATED_USERS, "READ"),),
    "log-delivery-write": ((LOG_DELIVERY, "WRITE"), (LOG_DELIVERY, "READ_ACP")),
}

GRANT_HEADERS: Mapping[str, Permission] = {
    "x-amz-grant-read": "READ",
    "x-amz-grant-write": "WRITE",
    "x-amz-grant-read-acp": "READ_ACP",
    "x-amz-grant-write-acp": "WRITE_ACP",
    "x-amz-grant-full-control": "FULL_CONTROL",
}


def _dedupe(grants: list[Grant]) -> tuple[Grant, ...]:
    return tuple(dict.fromkeys(grants))


def canned_acl(name: str, owner: Owner, bucket_owner: Owner | None = None) -> Acl:
    """
    The ACL canned ACL C{name} stands for.

    @param owner: the resource's owner (of the bucket, or of the object).
    @param bucket_owner: for an object, its bucket's owner; None for a
        bucket, where C{bucket-owner-read} and C{bucket-owner-full-control}
        are ignored (AWS) and give the owner-only ACL.
    @raise S3Error: C{InvalidArgument} for an unknown name.
    """
    canned = name.strip().lower()
    if canned not in CANNED_ACLS:
        raise S3Error.of(
            "InvalidArgument", ArgumentName="x-amz-acl", ArgumentValue=name
        )
    grants = [Grant(Grantee.user(owner.id, owner.display_name), "FULL_CONTROL")]
    if canned.startswith("bucket-owner-"):
        if bucket_owner is not None:
            permission: Permission = (
                "READ" if canned == "bucket-owner-read" else "FULL_CONTROL"
            )
            grants.append(
                Grant(
                    Grantee.user(bucket_owner.id, bucket_owner.display_name), permission
                )
            )
    else:
        grants += [Grant(Grantee.group(uri), p) for uri, p in _CANNED_EXTRA[canned]]
    return Acl(owner, _dedupe(grants))


_GRANTEE_ITEM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^",\s]+))\s*(?:,|$)')


def parse_grantees(
    header: str,
    value: str,
    email_lookup: EmailLookup | None = None,
    owner_exists: OwnerExists | None = None,
) -> list[Grantee]:
    """
    The grantees of one C{x-amz-grant-*} header value:
    C{id="..."}, C{uri="..."} or C{emailAddress="..."}, comma-separated.

    @raise S3Error: C{InvalidArgument} for a value that does not parse
        (C{Argument format not recognized}), an unknown group URI or an
        unknown id (when C{owner_exists} is given);
        C{UnresolvableGrantByEmailAddress} for an address C{email_lookup}
        does not know (or any address, without a lookup).
    """
    grantees: list[Grantee] = []
    pos = 0
    while pos < len(value):
        match = _GRANTEE_ITEM.match(value, pos)
        if match is None or match.end() == pos:
            raise S3Error.of(
                "InvalidArgument",
                "Argument format not recognized",
                ArgumentName=header,
                ArgumentValue=value,
            )
        kind = match.group(1).lower()
        text = match.group(2) if match.group(2) is not None else match.group(3)
        grantees.append(_grantee(kind, text, header, value, email_lookup, owner_exists))
        pos = match.end()
    if not grantees:
        raise S3Error.of(
            "InvalidArgument",
            "Argument format not recognized",
            ArgumentName=header,
            ArgumentValue=value,
        )
    return grantees


def _grantee(
    kind: str,
    text: str,
    header: str,
    value: str,
    email_lookup: EmailLookup | None,
    owner_exists: OwnerExists | None,
) -> Grantee:
    if kind == "id":
        return _user(text, owner_exists)
    if kind == "uri":
        return _group(text)
    if kind == "emailaddress":
        return Grantee.user(_resolve_email(text, email_lookup))
    raise S3Error.of(
        "InvalidArgument",
        "Argument format not recognized",
        ArgumentName=header,
        ArgumentValue=value,
    )


def _user(
    owner_id: str, owner_exists: OwnerExists | None, name: str | None = None
) -> Grantee:
    if not owner_id or (owner_exists is not None and not owner_exists(owner_id)):
        raise S3Error.of(
            "InvalidArgument",
            "Invalid id",
            ArgumentName="CanonicalUser/ID",
            ArgumentValue=owner_id,
        )
    return Grantee.user(owner_id, name)


def _group(uri: str) -> Grantee:
    if uri not in GROUPS:
        raise S3Error.of(
            "InvalidArgument",
            "Invalid group uri",
            ArgumentName="uri",
            ArgumentValue=uri,
        )
    return Grantee.group(uri)


def _resolve_email(address: str, email_lookup: EmailLookup | None) -> str:
    owner_id = email_lookup(address) if email_lookup is not None else None
    if owner_id is None:
        raise S3Error.of("UnresolvableGrantByEmailAddress")
    return owner_id


def acl_from_headers(
    headers: Mapping[str, str],
    owner: Owner,
    bucket_owner: Owner | None = None,
    email_lookup: EmailLookup | None = None,
    owner_exists: OwnerExists | None = None,
) -> Acl | None:
    """
    The ACL a request's C{x-amz-acl} or C{x-amz-grant-*} headers ask for,
    or None when it has neither.  With grant headers the ACL is exactly
    the grants listed (the owner gets nothing it is not granted).

    @param headers: lower-case names.
    @param owner, bucket_owner: as for L{canned_acl}.
    @raise S3Error: C{InvalidRequest} when both kinds of header are given;
        the errors of L{canned_acl} and L{parse_grantees}.
    """
    canned = headers.get("x-amz-acl")
    present = [(h, headers[h]) for h in GRANT_HEADERS if h in headers]
    if canned is not None and present:
        raise S3Error.of(
            "InvalidRequest",
            "Specifying both Canned ACLs and Header Grants is not allowed",
        )
    if canned is not None:
        return canned_acl(canned, owner, bucket_owner)
    if not present:
        return None
    grants = [
        Grant(grantee, GRANT_HEADERS[header])
        for header, value in present
        for grantee in parse_grantees(header, value, email_lookup, owner_exists)
    ]
    return Acl(owner, _dedupe(grants))


# -- AccessControlPolicy XML ------------------------------------------------------


def _malformed_acl() -> S3Error:
    return S3Error.of("MalformedACLError")


def parse_acl_xml(
    body: bytes,
    email_lookup: EmailLookup | None = None,
    owner_exists: OwnerExists | None = None,
) -> Acl:
    """
    Read an C{AccessControlPolicy} document (PutBucketAcl, PutObjectAcl).
    Grantees are typed by C{xsi:type}: C{CanonicalUser} (C{ID}), C{Group}
    (C{URI}) or C{AmazonCustomerByEmail} (C{EmailAddress}, resolved to a
    canonical user).  Whether the C{Owner} is the resource's owner is the
    caller's to check.

    @raise S3Error: C{MalformedACLError} for anything that is not such a
        document (no owner id, an unknown permission or grantee type);
        C{InvalidArgument} for an unknown group URI or id;
        C{UnresolvableGrantByEmailAddress}.
    """
    try:
        root = xml.parse(body)
    except S3Error as e:
        raise _malformed_acl() from e
    owner_el = root.find("Owner")
    acl_el = root.find("AccessControlList")
    if root.tag != "AccessControlPolicy" or owner_el is None or acl_el is None:
        raise _malformed_acl()
    owner_id = (xml.child_text(owner_el, "ID") or "").strip()
    if not owner_id:
        raise _malformed_acl()
    owner = Owner(owner_id, _optional(owner_el, "DisplayName"))
    grants = [_grant(el, email_lookup, owner_exists) for el in acl_el]
    return Acl(owner, tuple(grants))


def _optional(el: Element, name: str) -> str | None:
    text = xml.child_text(el, name)
    return text.strip() if text is not None and text.strip() else None


def _grant(
    el: Element, email_lookup: EmailLookup | None, owner_exists: OwnerExists | None
) -> Grant:
    grantee_el = el.find("Grantee")
    permission = (xml.child_text(el, "Permission") or "").strip()
    if el.tag != "Grant" or grantee_el is None or permission not in PERMISSIONS:
        raise _malformed_acl()
    kind = grantee_el.get(_XSI_TYPE)
    if kind == "CanonicalUser":
        owner_id = (xml.child_text(grantee_el, "ID") or "").strip()
        if not owner_id:
            raise _malformed_acl()
        grantee = _user(owner_id, owner_exists, _optional(grantee_el, "DisplayName"))
    elif kind == "Group":
        uri = (xml.child_text(grantee_el, "URI") or "").strip()
        if not uri:
            raise _malformed_acl()
        grantee = _group(uri)
    elif kind == "AmazonCustomerByEmail":
        address = (xml.child_text(grantee_el, "EmailAddress") or "").strip()
        if not address:
            raise _malformed_acl()
        grantee = Grantee.user(_resolve_email(address, email_lookup))
    else:
        raise _malformed_acl()
    return Grant(grantee, permission)


def render_acl_xml(
    acl: Acl, display_name: Callable[[str], str | None] | None = None
) -> bytes:
    """
    The C{AccessControlPolicy} document for C{acl}, as GetBucketAcl and
    GetObjectAcl return it.  Display names come from the values, or from
    C{display_name} (owner id to name) where they have none.
    """

    def name_of(owner_id: str, known: str | None) -> str:
        if known is None and display_name is not None:
            known = display_name(owner_id)
        return (
            "" if known is None else f"<DisplayName>{xml.escape(known)}</DisplayName>"
        )

    out = [
        f'<AccessControlPolicy xmlns="{xml.S3_NS}"><Owner>',
        f"<ID>{xml.escape(acl.owner.id)}</ID>",
        name_of(acl.owner.id, acl.owner.display_name),
        "</Owner><AccessControlList>",
    ]
    for grant in acl.grants:
        g = grant.grantee
        out.append(f'<Grant><Grantee xmlns:xsi="{XSI_NS}" xsi:type="{g.type}">')
        if g.type == "CanonicalUser":
            out.append(f"<ID>{xml.escape(g.id)}</ID>{name_of(g.id, g.display_name)}")
        else:
            out.append(f"<URI>{xml.escape(g.id)}</URI>")
        out.append(f"</Grantee><Permission>{grant.permission}</Permission></Grant>")
    out.append("</AccessControlList></AccessControlPolicy>")
    return xml.DECLARATION + "".join(out).encode("utf-8")


# -- stored form ----------------------------------------------------------------


def encode_grants(grants: tuple[Grant, ...]) -> str:
    """
    The grants as compact JSON, for the index (the owner is stored apart:
    the bucket's or the object's).  L{decode_grants} reads it back.
    """
    return json.dumps(
        [[g.grantee.type, g.grantee.id, g.permission] for g in grants],
        separators=(",", ":"),
    )


def decode_grants(text: str) -> tuple[Grant, ...]:
    """The grants L{encode_grants} wrote."""
    return tuple(
        Grant(Grantee(kind, grantee_id), permission)
        for kind, grantee_id, permission in json.loads(text)
    )
