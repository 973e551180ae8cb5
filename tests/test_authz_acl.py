"""
ACLs as values (L{txs3.authz.acl}): canned ACLs, C{x-amz-grant-*}
headers, the C{AccessControlPolicy} document, and which ACL permission
each IAM action needs; then what counts as public (L{txs3.authz.public}).

Tables follow AWS's "Access control list (ACL) overview" (canned ACLs,
grantees, the permission-to-action mapping) and "Blocking public access"
("The meaning of public").
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

import pytest

from txs3.api.catalogue import CATALOGUE
from txs3.authz.acl import (
    ALL_USERS,
    AUTHENTICATED_USERS,
    LOG_DELIVERY,
    Acl,
    Grant,
    Grantee,
    Owner,
    acl_from_headers,
    canned_acl,
    parse_acl_xml,
    parse_grantees,
    private_acl,
    render_acl_xml,
    required_permission,
)
from txs3.authz.context import ANONYMOUS, Principal
from txs3.authz.policy import parse_policy
from txs3.authz.public import (
    BLOCK_ALL,
    NO_BLOCK,
    PublicAccessBlock,
    acl_is_public,
    policy_is_public,
    policy_status_xml,
)
from txs3.errors import S3Error

BUCKET_OWNER = Owner("bucketowner", "Bucket Owner")
OBJECT_OWNER = Owner("objectowner", "Object Owner")
U = Grantee.user
G = Grantee.group

# (canned ACL, owner, bucket owner or None for a bucket ACL, expected grants)
CANNED: list[Any] = [
    pytest.param("private", BUCKET_OWNER, None, [(U("bucketowner"), "FULL_CONTROL")], id="private"),
    pytest.param("public-read", BUCKET_OWNER, None, [(U("bucketowner"), "FULL_CONTROL"), (G(ALL_USERS), "READ")], id="public-read"),
    pytest.param(
        "public-read-write",
        BUCKET_OWNER,
        None,
        [(U("bucketowner"), "FULL_CONTROL"), (G(ALL_USERS), "READ"), (G(ALL_USERS), "WRITE")],
        id="public-read-write",
    ),
    pytest.param(
        "authenticated-read",
        OBJECT_OWNER,
        BUCKET_OWNER,
        [(U("objectowner"), "FULL_CONTROL"), (G(AUTHENTICATED_USERS), "READ")],
        id="authenticated-read",
    ),
    pytest.param(
        "bucket-owner-read",
        OBJECT_OWNER,
        BUCKET_OWNER,
        [(U("objectowner"), "FULL_CONTROL"), (U("bucketowner"), "READ")],
        id="bucket-owner-read-object",
    ),
    pytest.param(
        "bucket-owner-full-control",
        OBJECT_OWNER,
        BUCKET_OWNER,
        [(U("objectowner"), "FULL_CONTROL"), (U("bucketowner"), "FULL_CONTROL")],
        id="bucket-owner-full-control-object",
    ),
    pytest.param(
        "bucket-owner-full-control",
        BUCKET_OWNER,
        BUCKET_OWNER,
        [(U("bucketowner"), "FULL_CONTROL")],
        id="bucket-owner-full-control-same-owner-once",
    ),
    pytest.param("bucket-owner-read", BUCKET_OWNER, None, [(U("bucketowner"), "FULL_CONTROL")], id="bucket-owner-read-ignored-on-bucket"),
    pytest.param(
        "log-delivery-write",
        BUCKET_OWNER,
        None,
        [(U("bucketowner"), "FULL_CONTROL"), (G(LOG_DELIVERY), "WRITE"), (G(LOG_DELIVERY), "READ_ACP")],
        id="log-delivery-write",
    ),
    pytest.param("aws-exec-read", BUCKET_OWNER, None, [(U("bucketowner"), "FULL_CONTROL")], id="aws-exec-read-owner-only"),
    pytest.param(" Public-Read ", BUCKET_OWNER, None, [(U("bucketowner"), "FULL_CONTROL"), (G(ALL_USERS), "READ")], id="trimmed-case-insensitive"),
]


@pytest.mark.parametrize(("name", "owner", "bucket_owner", "grants"), CANNED)
def test_canned_acl(name: str, owner: Owner, bucket_owner: Owner | None, grants: list[tuple[Grantee, str]]) -> None:
    """Each canned ACL expands to the grants AWS's canned ACL table lists."""
    acl = canned_acl(name, owner, bucket_owner)
    assert acl.owner == owner
    assert [(g.grantee, g.permission) for g in acl.grants] == grants


def test_unknown_canned_acl() -> None:
    """An unknown x-amz-acl value is InvalidArgument naming the header."""
    with pytest.raises(S3Error) as e:
        canned_acl("public", BUCKET_OWNER)
    assert e.value.code == "InvalidArgument"
    assert e.value.extra == {"ArgumentName": "x-amz-acl", "ArgumentValue": "public"}


def test_private_acl() -> None:
    """The default ACL is the owner's full control, the same as canned private."""
    assert private_acl(BUCKET_OWNER) == canned_acl("private", BUCKET_OWNER)


EMAILS = {"alice@example.com": "aliceid"}

GRANTEES: list[Any] = [
    pytest.param('id="abc"', [U("abc")], id="id-quoted"),
    pytest.param("id=abc", [U("abc")], id="id-unquoted"),
    pytest.param(f'uri="{ALL_USERS}"', [G(ALL_USERS)], id="group-uri"),
    pytest.param('emailAddress="alice@example.com"', [U("aliceid")], id="email-resolved"),
    pytest.param('EmailAddress = "alice@example.com"', [U("aliceid")], id="type-case-and-spaces"),
    pytest.param(
        f'id="a", uri="{AUTHENTICATED_USERS}",id="b"',
        [U("a"), G(AUTHENTICATED_USERS), U("b")],
        id="comma-separated-list",
    ),
]


@pytest.mark.parametrize(("value", "grantees"), GRANTEES)
def test_grant_header(value: str, grantees: list[Grantee]) -> None:
    """x-amz-grant-* values are comma-separated id=, uri= and emailAddress= grantees, e-mail resolved to ids."""
    assert parse_grantees("x-amz-grant-read", value, EMAILS.get) == grantees


GRANTEE_ERRORS: list[Any] = [
    pytest.param('name="x"', "InvalidArgument", "Argument format not recognized", id="unknown-type"),
    pytest.param("id", "InvalidArgument", "Argument format not recognized", id="no-equals"),
    pytest.param("", "InvalidArgument", "Argument format not recognized", id="empty"),
    pytest.param('id="a" id="b"', "InvalidArgument", "Argument format not recognized", id="missing-comma"),
    pytest.param('uri="http://acs.amazonaws.com/groups/global/Everyone"', "InvalidArgument", "Invalid group uri", id="unknown-group"),
    pytest.param('emailAddress="eve@example.com"', "UnresolvableGrantByEmailAddress", "The email address you provided does not match any account on record.", id="unknown-email"),
    pytest.param('id="ghost"', "InvalidArgument", "Invalid id", id="unknown-id"),
]


@pytest.mark.parametrize(("value", "code", "message"), GRANTEE_ERRORS)
def test_grant_header_errors(value: str, code: str, message: str) -> None:
    """Grant headers that do not parse or name nobody get S3's error codes and messages."""
    with pytest.raises(S3Error) as e:
        parse_grantees("x-amz-grant-read", value, EMAILS.get, lambda i: i != "ghost")
    assert (e.value.code, e.value.status, e.value.message) == (code, 400, message)


def test_email_without_lookup() -> None:
    """Without an e-mail lookup no address resolves."""
    with pytest.raises(S3Error) as e:
        parse_grantees("x-amz-grant-read", 'emailAddress="alice@example.com"')
    assert e.value.code == "UnresolvableGrantByEmailAddress"


def test_acl_from_headers() -> None:
    """Grant headers give exactly the grants listed, each with its header's permission; no ACL header gives None."""
    acl = acl_from_headers(
        {
            "x-amz-grant-read": f'uri="{ALL_USERS}"',
            "x-amz-grant-full-control": 'id="bucketowner"',
            "x-amz-grant-write-acp": 'id="x"',
        },
        BUCKET_OWNER,
    )
    assert acl is not None
    assert [(g.grantee, g.permission) for g in acl.grants] == [
        (G(ALL_USERS), "READ"),
        (U("x"), "WRITE_ACP"),
        (U("bucketowner"), "FULL_CONTROL"),
    ]
    assert acl_from_headers({"content-type": "text/plain"}, BUCKET_OWNER) is None
    canned = acl_from_headers({"x-amz-acl": "bucket-owner-read"}, OBJECT_OWNER, BUCKET_OWNER)
    assert canned == canned_acl("bucket-owner-read", OBJECT_OWNER, BUCKET_OWNER)


def test_canned_and_grant_headers_together() -> None:
    """A canned ACL with grant headers is InvalidRequest, as S3 answers."""
    with pytest.raises(S3Error) as e:
        acl_from_headers({"x-amz-acl": "private", "x-amz-grant-read": 'id="a"'}, BUCKET_OWNER)
    assert (e.value.code, e.value.message) == (
        "InvalidRequest",
        "Specifying both Canned ACLs and Header Grants is not allowed",
    )


ROUND_TRIPS: list[Any] = [
    pytest.param(private_acl(BUCKET_OWNER), id="private"),
    pytest.param(canned_acl("log-delivery-write", BUCKET_OWNER), id="groups"),
    pytest.param(
        Acl(
            Owner("o&<>\"'"),
            (Grant(Grantee.user("x", "X & Y"), "READ_ACP"), Grant(Grantee.user("y"), "WRITE")),
        ),
        id="escaping-and-no-display-names",
    ),
    pytest.param(Acl(BUCKET_OWNER, ()), id="no-grants"),
]


@pytest.mark.parametrize("acl", ROUND_TRIPS)
def test_xml_round_trip(acl: Acl) -> None:
    """Rendering an ACL and parsing the document gives the same ACL, display names included."""
    back = parse_acl_xml(render_acl_xml(acl))
    assert back == acl
    assert back.owner.display_name == acl.owner.display_name
    assert [g.grantee.display_name for g in back.grants] == [g.grantee.display_name for g in acl.grants]


def test_rendered_document_shape() -> None:
    """The rendered document is S3's: namespace, Owner, grants typed by xsi:type, ids and URIs."""
    body = render_acl_xml(canned_acl("public-read", BUCKET_OWNER))
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">')
    root = ElementTree.fromstring(body)
    ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
    xsi = "{http://www.w3.org/2001/XMLSchema-instance}type"
    grants = root.findall(f"{ns}AccessControlList/{ns}Grant")
    assert [g.find(f"{ns}Grantee").get(xsi) for g in grants] == ["CanonicalUser", "Group"]  # type: ignore[union-attr]
    assert grants[1].findtext(f"{ns}Grantee/{ns}URI") == ALL_USERS
    assert root.findtext(f"{ns}Owner/{ns}DisplayName") == "Bucket Owner"


def test_render_display_name_lookup() -> None:
    """Grantees without a display name get one from the caller's lookup."""
    body = render_acl_xml(Acl(Owner("o"), (Grant(Grantee.user("o"), "READ"),)), {"o": "Olga"}.get)
    assert body.count(b"<DisplayName>Olga</DisplayName>") == 2


def _document(grants: str, owner: str = "<Owner><ID>o</ID></Owner>") -> bytes:
    return (
        '<AccessControlPolicy xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{owner}<AccessControlList>{grants}</AccessControlList></AccessControlPolicy>"
    ).encode()


def _grant(grantee: str, permission: str = "READ", kind: str = "CanonicalUser") -> str:
    return f'<Grant><Grantee xsi:type="{kind}">{grantee}</Grantee><Permission>{permission}</Permission></Grant>'


def test_xml_email_grantee() -> None:
    """An AmazonCustomerByEmail grantee becomes the canonical user its address belongs to."""
    body = _document(_grant("<EmailAddress>alice@example.com</EmailAddress>", kind="AmazonCustomerByEmail"))
    assert parse_acl_xml(body, EMAILS.get).grants == (Grant(U("aliceid"), "READ"),)


XML_ERRORS: list[Any] = [
    pytest.param(b"<AccessControlPolicy>", "MalformedACLError", id="not-well-formed"),
    pytest.param(b"", "MalformedACLError", id="empty"),
    pytest.param(b"<Tagging/>", "MalformedACLError", id="other-document"),
    pytest.param(_document(_grant("<ID>a</ID>"), owner=""), "MalformedACLError", id="no-owner"),
    pytest.param(_document(_grant("<ID>a</ID>"), owner="<Owner><ID> </ID></Owner>"), "MalformedACLError", id="empty-owner-id"),
    pytest.param(b"<AccessControlPolicy><Owner><ID>o</ID></Owner></AccessControlPolicy>", "MalformedACLError", id="no-list"),
    pytest.param(_document(_grant("<ID>a</ID>", permission="ALL")), "MalformedACLError", id="unknown-permission"),
    pytest.param(_document(_grant("<ID>a</ID>", kind="Robot")), "MalformedACLError", id="unknown-grantee-type"),
    pytest.param(_document("<Grant><Grantee><ID>a</ID></Grantee><Permission>READ</Permission></Grant>"), "MalformedACLError", id="untyped-grantee"),
    pytest.param(_document(_grant("<URI></URI>", kind="Group")), "MalformedACLError", id="group-without-uri"),
    pytest.param(_document(_grant("<URI>http://example.com/g</URI>", kind="Group")), "InvalidArgument", id="unknown-group"),
    pytest.param(_document(_grant("<EmailAddress>eve@example.com</EmailAddress>", kind="AmazonCustomerByEmail")), "UnresolvableGrantByEmailAddress", id="unknown-email"),
    pytest.param(_document("<Deny/>"), "MalformedACLError", id="not-a-grant"),
]


@pytest.mark.parametrize(("body", "code"), XML_ERRORS)
def test_xml_errors(body: bytes, code: str) -> None:
    """Documents that are not valid AccessControlPolicy bodies get S3's error codes."""
    with pytest.raises(S3Error) as e:
        parse_acl_xml(body, EMAILS.get)
    assert e.value.code == code


# AWS's "Mapping of ACL permissions and access policy permissions".
PERMISSIONS: list[Any] = [
    pytest.param("s3:ListBucket", ("bucket", "READ"), id="ListBucket"),
    pytest.param("s3:ListBucketVersions", ("bucket", "READ"), id="ListBucketVersions"),
    pytest.param("s3:ListBucketMultipartUploads", ("bucket", "READ"), id="ListBucketMultipartUploads"),
    pytest.param("s3:PutObject", ("bucket", "WRITE"), id="PutObject"),
    pytest.param("s3:DeleteObject", ("bucket", "WRITE"), id="DeleteObject"),
    pytest.param("s3:GetBucketAcl", ("bucket", "READ_ACP"), id="GetBucketAcl"),
    pytest.param("s3:PutBucketAcl", ("bucket", "WRITE_ACP"), id="PutBucketAcl"),
    pytest.param("s3:GetObject", ("object", "READ"), id="GetObject"),
    pytest.param("s3:GetObjectVersion", ("object", "READ"), id="GetObjectVersion"),
    pytest.param("s3:GetObjectAcl", ("object", "READ_ACP"), id="GetObjectAcl"),
    pytest.param("s3:GetObjectVersionAcl", ("object", "READ_ACP"), id="GetObjectVersionAcl"),
    pytest.param("s3:PutObjectAcl", ("object", "WRITE_ACP"), id="PutObjectAcl"),
    pytest.param("s3:PutObjectVersionAcl", ("object", "WRITE_ACP"), id="PutObjectVersionAcl"),
    pytest.param("S3:GETOBJECT", ("object", "READ"), id="case-insensitive"),
    pytest.param("s3:GetObjectTagging", None, id="tagging-not-acl"),
    pytest.param("s3:PutBucketPolicy", None, id="policy-not-acl"),
    pytest.param("s3:DeleteBucket", None, id="delete-bucket-not-acl"),
    pytest.param("s3:AbortMultipartUpload", None, id="abort-not-acl"),
]


@pytest.mark.parametrize(("action", "needed"), PERMISSIONS)
def test_required_permission(action: str, needed: tuple[str, str] | None) -> None:
    """Each action needs the ACL permission AWS's mapping table gives, on the bucket's or the object's ACL."""
    assert required_permission(action) == needed


def test_catalogue_acl_coverage() -> None:
    """The catalogue's reads, writes, listings and ACL operations all have an ACL permission; the rest need a policy."""
    covered = {e.name for e in CATALOGUE if e.action is not None and required_permission(e.action)}
    assert {
        "GetObject", "HeadObject", "PutObject", "CopyObject", "DeleteObject", "DeleteObjects",
        "ListObjects", "ListObjectsV2", "ListObjectVersions", "HeadBucket", "ListMultipartUploads",
        "GetBucketAcl", "PutBucketAcl", "GetObjectAcl", "PutObjectAcl",
        "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
    } <= covered
    assert "PutBucketTagging" not in covered and "DeleteBucket" not in covered


GRANTEE_MATCH: list[Any] = [
    pytest.param(U("o"), Principal("o"), True, id="user-owner"),
    pytest.param(U("o"), Principal("o", "bob"), True, id="user-owner-any-key"),
    pytest.param(U("o"), Principal("p"), False, id="user-other"),
    pytest.param(U(""), ANONYMOUS, False, id="empty-id-never-anonymous"),
    pytest.param(G(ALL_USERS), ANONYMOUS, True, id="all-users-anonymous"),
    pytest.param(G(AUTHENTICATED_USERS), ANONYMOUS, False, id="authenticated-not-anonymous"),
    pytest.param(G(AUTHENTICATED_USERS), Principal("p"), True, id="authenticated-any-key"),
    pytest.param(G(LOG_DELIVERY), Principal("p"), False, id="log-delivery-nobody"),
]


@pytest.mark.parametrize(("grantee", "who", "included"), GRANTEE_MATCH)
def test_grantee_includes(grantee: Grantee, who: Principal, included: bool) -> None:
    """Grantees cover the callers AWS's grantee definitions say they cover."""
    assert grantee.includes(who) is included


# -- public-ness ---------------------------------------------------------------

ACL_PUBLIC: list[Any] = [
    pytest.param("private", False, id="private"),
    pytest.param("public-read", True, id="public-read"),
    pytest.param("public-read-write", True, id="public-read-write"),
    pytest.param("authenticated-read", True, id="authenticated-read"),
    pytest.param("log-delivery-write", False, id="log-delivery-not-public"),
    pytest.param("bucket-owner-full-control", False, id="bucket-owner-full-control"),
]


@pytest.mark.parametrize(("name", "public"), ACL_PUBLIC)
def test_acl_is_public(name: str, public: bool) -> None:
    """An ACL is public when it grants anything to AllUsers or AuthenticatedUsers."""
    assert acl_is_public(canned_acl(name, OBJECT_OWNER, BUCKET_OWNER)) is public


B = "amzn-s3-demo-bucket"
OBJ = f"arn:aws:s3:::{B}/*"


def _public(**fields: Any) -> bool:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": OBJ, **fields}
    statement = {k: v for k, v in statement.items() if v is not None}
    return policy_is_public(parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [statement]}), B))


POLICY_PUBLIC: list[Any] = [
    pytest.param({}, True, id="star-principal-get"),
    pytest.param({"Principal": {"AWS": "*"}}, True, id="aws-star"),
    pytest.param({"Principal": {"AWS": "111122223333"}}, False, id="fixed-account"),
    pytest.param({"Principal": {"CanonicalUser": "abc"}}, False, id="fixed-canonical-user"),
    pytest.param({"Principal": {"AWS": ["111122223333", "*"]}}, True, id="star-among-fixed"),
    pytest.param({"Effect": "Deny"}, False, id="deny-never-public"),
    pytest.param({"Principal": None, "NotPrincipal": {"AWS": "111122223333"}}, True, id="allow-notprincipal"),
    pytest.param({"Condition": {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}, False, id="cidr-limited"),
    pytest.param({"Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}, True, id="cidr-everything"),
    pytest.param({"Condition": {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "::/0"]}}}, True, id="cidr-list-with-everything"),
    pytest.param({"Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}}, True, id="not-ip-limits-nothing"),
    pytest.param({"Condition": {"IpAddressIfExists": {"aws:SourceIp": "192.0.2.0/24"}}}, True, id="ip-if-exists-limits-nothing"),
    pytest.param({"Condition": {"StringEquals": {"aws:SourceVpc": "vpc-91237329"}}}, False, id="fixed-source-vpc"),
    pytest.param({"Condition": {"StringLike": {"aws:SourceVpc": "vpc-*"}}}, True, id="wildcard-source-vpc"),
    pytest.param({"Condition": {"StringLike": {"aws:SourceVpc": "vpc-91237329"}}}, False, id="like-without-wildcard-is-fixed"),
    pytest.param({"Condition": {"StringEquals": {"aws:SourceAccount": "${aws:username}"}}}, True, id="variable-is-not-fixed"),
    pytest.param({"Condition": {"StringNotEquals": {"aws:SourceAccount": "1"}}}, True, id="negated-is-not-fixed"),
    pytest.param({"Condition": {"ForAllValues:StringEquals": {"aws:SourceAccount": "1"}}}, True, id="forallvalues-is-not-fixed"),
    pytest.param({"Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-123"}}}, False, id="fixed-org"),
    pytest.param({"Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:cloudfront::1:distribution/D"}}}, False, id="fixed-source-arn"),
    pytest.param({"Condition": {"StringEquals": {"s3:prefix": "public/"}}}, True, id="other-keys-do-not-count"),
    pytest.param({"Condition": {"Bool": {"aws:SecureTransport": "true"}}}, True, id="tls-does-not-count"),
    pytest.param({"Action": "s3:BypassGovernanceRetention"}, False, id="no-bad-action"),
    pytest.param({"Action": "s3:*"}, True, id="all-actions"),
    pytest.param({"Action": None, "NotAction": "s3:GetObject"}, True, id="notaction"),
]


@pytest.mark.parametrize(("fields", "public"), POLICY_PUBLIC)
def test_policy_is_public(fields: dict[str, Any], public: bool) -> None:
    """A policy is public unless each Allow is limited to fixed principals or fixed condition values, as AWS defines it."""
    assert _public(**fields) is public


def test_policy_status_document() -> None:
    """GetBucketPolicyStatus's document says IsPublic true only for a public policy."""
    public = parse_policy(json.dumps({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": OBJ}}), B)
    assert policy_status_xml(public).endswith(b"<PolicyStatus xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><IsPublic>true</IsPublic></PolicyStatus>")
    assert b"<IsPublic>false</IsPublic>" in policy_status_xml(None)


PAB_DOCUMENTS: list[Any] = [
    pytest.param(b"<PublicAccessBlockConfiguration/>", NO_BLOCK, id="empty-is-all-off"),
    pytest.param(
        b"<PublicAccessBlockConfiguration><BlockPublicAcls>TRUE</BlockPublicAcls><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>",
        PublicAccessBlock(block_public_acls=True, restrict_public_buckets=True),
        id="some-on-case-insensitive",
    ),
    pytest.param(BLOCK_ALL.to_xml(), BLOCK_ALL, id="round-trip-all-on"),
    pytest.param(PublicAccessBlock(ignore_public_acls=True).to_xml(), PublicAccessBlock(ignore_public_acls=True), id="round-trip-one-on"),
]


@pytest.mark.parametrize(("body", "expected"), PAB_DOCUMENTS)
def test_public_access_block_xml(body: bytes, expected: PublicAccessBlock) -> None:
    """PublicAccessBlockConfiguration documents read as the four settings, missing ones off, and round-trip."""
    assert PublicAccessBlock.from_xml(body) == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<Other/>", id="other-root"),
        pytest.param(b"<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>", id="not-a-boolean"),
        pytest.param(b"<PublicAccessBlockConfiguration>", id="not-well-formed"),
    ],
)
def test_public_access_block_xml_errors(body: bytes) -> None:
    """A PublicAccessBlockConfiguration that is not four booleans is MalformedXML."""
    with pytest.raises(S3Error) as e:
        PublicAccessBlock.from_xml(body)
    assert e.value.code == "MalformedXML"
