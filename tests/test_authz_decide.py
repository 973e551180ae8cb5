"""
The decision (L{txs3.authz.decide.authorize}) as tables of policies and
requests.

The first table is AWS's own examples ("Bucket policy examples",
"Amazon S3 condition key examples"), each with a request it allows and one
it refuses.  The second is the evaluation order ("Policy evaluation
logic"): explicit Deny first, the bucket owner, policy Allow, ACL grants,
then the implicit deny, and what Block Public Access changes.  Each row
checks the verdict and the rule that gave it; the row's id says what it
proves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from txs3.authz import (
    ANONYMOUS,
    BLOCK_ALL,
    NO_BLOCK,
    Acl,
    Owner,
    Principal,
    PublicAccessBlock,
    RequestContext,
    authorize,
    canned_acl,
    parse_policy,
    resource_arn,
)
from txs3.authz.acl import ALL_USERS, AUTHENTICATED_USERS, Grant, Grantee

B = "amzn-s3-demo-bucket"
BUCKET = resource_arn(B)
OBJECTS = f"{BUCKET}/*"
OWNER = "111122223333"
OTHER = "444455556666"
THIRD = "777788889999"
BOB = Principal(OTHER, "bob")


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(**fields: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": "*", **fields}


def deny(**fields: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": "*", **fields}


@dataclass
class Case:
    """One request against one bucket, and the expected decision."""

    doc: dict[str, Any] | None
    who: Principal
    action: str
    key: str | None
    allowed: bool
    rule: str
    sid: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    bucket_acl: Acl | None = None
    object_acl: Acl | None = None
    block: PublicAccessBlock = NO_BLOCK
    ignored: tuple[str, ...] = ()


def run(case: Case) -> None:
    parsed = None if case.doc is None else parse_policy(json.dumps(case.doc), B)
    decision = authorize(
        case.who,
        case.action,
        resource_arn(B, case.key),
        RequestContext(**case.context),
        OWNER,
        parsed,
        case.bucket_acl,
        case.object_acl,
        case.block,
    )
    got_sid = decision.statement.sid if decision.statement is not None else None
    assert (decision.allowed, decision.rule, got_sid) == (case.allowed, case.rule, case.sid), str(decision)
    assert decision.ignored == case.ignored


PUBLIC_READ = policy(allow(Sid="PublicRead", Action=["s3:GetObject", "s3:GetObjectVersion"], Resource=OBJECTS))

HTTPS_ONLY = policy(
    allow(Sid="Read", Action="s3:GetObject", Resource=OBJECTS),
    deny(
        Sid="HttpsOnly",
        Action="s3:*",
        Resource=[BUCKET, OBJECTS],
        Condition={"Bool": {"aws:SecureTransport": "false"}},
    ),
)

IP_ALLOW = policy(
    allow(
        Sid="IPAllow",
        Action="s3:*",
        Resource=[BUCKET, OBJECTS],
        Condition={
            "IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:DB8:1234:5678::/64"]},
            "NotIpAddress": {"aws:SourceIp": "192.0.2.188/32"},
        },
    )
)

IP_DENY = policy(
    deny(
        Sid="IPDeny",
        Action="s3:*",
        Resource=[BUCKET, OBJECTS],
        Condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    )
)

HOME_LISTING = policy(
    {
        "Sid": "ListHome",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": "s3:ListBucket",
        "Resource": BUCKET,
        "Condition": {"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}},
    },
    {
        "Sid": "HomeObjects",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": f"{BUCKET}/home/${{aws:username}}/*",
    },
)

FULL_CONTROL_UPLOADS = policy(
    {
        "Sid": "RequireFullControl",
        "Effect": "Allow",
        "Principal": {"AWS": OTHER},
        "Action": "s3:PutObject",
        "Resource": OBJECTS,
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
    }
)

NOT_PRINCIPAL_DENY = policy(
    {
        "Sid": "OnlyBob",
        "Effect": "Deny",
        "NotPrincipal": {"AWS": [f"arn:aws:iam::{OTHER}:user/bob", f"arn:aws:iam::{OTHER}:root"]},
        "Action": "s3:*",
        "Resource": [BUCKET, OBJECTS],
    },
    allow(Sid="Everyone", Action="s3:GetObject", Resource=OBJECTS),
)

TAGS = policy(
    allow(
        Sid="ReadProduction",
        Action="s3:GetObject",
        Resource=OBJECTS,
        Condition={"StringEquals": {"s3:ExistingObjectTag/environment": "production"}},
    ),
    allow(
        Sid="TaggedUploads",
        Action="s3:PutObject",
        Resource=OBJECTS,
        Condition={
            "ForAllValues:StringLike": {"s3:RequestObjectTagKeys": ["Owner", "CreationDate"]},
            "ForAnyValue:StringEquals": {"s3:RequestObjectTagKeys": "Owner"},
        },
    ),
)

REQUIRE_SSE = policy(
    allow(Sid="Uploads", Action="s3:PutObject", Resource=OBJECTS),
    deny(
        Sid="RequireSSE",
        Action="s3:PutObject",
        Resource=OBJECTS,
        Condition={"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
    ),
)

REFERER = policy(
    allow(
        Sid="Referer",
        Action="s3:GetObject",
        Resource=OBJECTS,
        Condition={"StringLike": {"aws:Referer": ["https://www.example.com/*", "https://example.com/*"]}},
    )
)

MAX_KEYS = policy(
    allow(
        Sid="SmallPages",
        Action="s3:ListBucket",
        Resource=BUCKET,
        Condition={"NumericLessThanEquals": {"s3:max-keys": "10"}},
    )
)

SIGV4_ONLY = policy(
    allow(Sid="Read", Action="s3:GetObject", Resource=OBJECTS),
    deny(
        Sid="SigV4Only",
        Action="s3:*",
        Resource=[BUCKET, OBJECTS],
        Condition={"StringNotEquals": {"s3:signatureversion": "AWS4-HMAC-SHA256"}},
    ),
)

EXAMPLES: list[Any] = [
    pytest.param(Case(PUBLIC_READ, ANONYMOUS, "s3:GetObject", "a.txt", True, "policy-allow", "PublicRead"), id="public-read-anonymous-get"),
    pytest.param(Case(PUBLIC_READ, ANONYMOUS, "s3:GetObjectVersion", "a.txt", True, "policy-allow", "PublicRead"), id="public-read-version"),
    pytest.param(Case(PUBLIC_READ, ANONYMOUS, "s3:PutObject", "a.txt", False, "implicit-deny"), id="public-read-no-put"),
    pytest.param(Case(PUBLIC_READ, ANONYMOUS, "s3:ListBucket", None, False, "implicit-deny"), id="public-read-no-list"),
    pytest.param(Case(HTTPS_ONLY, ANONYMOUS, "s3:GetObject", "a", True, "policy-allow", "Read", {"secure_transport": True}), id="https-only-tls-allowed"),
    pytest.param(Case(HTTPS_ONLY, ANONYMOUS, "s3:GetObject", "a", False, "explicit-deny", "HttpsOnly", {"secure_transport": False}), id="https-only-plain-denied"),
    pytest.param(Case(HTTPS_ONLY, Principal(OWNER), "s3:GetObject", "a", False, "explicit-deny", "HttpsOnly", {"secure_transport": False}), id="https-only-binds-owner"),
    pytest.param(Case(HTTPS_ONLY, ANONYMOUS, "s3:GetObject", "a", True, "policy-allow", "Read"), id="https-only-key-absent-not-denied"),
    pytest.param(Case(IP_ALLOW, ANONYMOUS, "s3:GetObject", "a", True, "policy-allow", "IPAllow", {"source_ip": "192.0.2.10"}), id="ip-allow-inside"),
    pytest.param(Case(IP_ALLOW, ANONYMOUS, "s3:GetObject", "a", False, "implicit-deny", None, {"source_ip": "192.0.2.188"}), id="ip-allow-excluded-address"),
    pytest.param(Case(IP_ALLOW, ANONYMOUS, "s3:GetObject", "a", True, "policy-allow", "IPAllow", {"source_ip": "2001:db8:1234:5678::1"}), id="ip-allow-ipv6"),
    pytest.param(Case(IP_ALLOW, ANONYMOUS, "s3:GetObject", "a", False, "implicit-deny", None, {"source_ip": "198.51.100.1"}), id="ip-allow-outside"),
    pytest.param(Case(IP_DENY, Principal(OWNER), "s3:ListBucket", None, False, "explicit-deny", "IPDeny", {"source_ip": "198.51.100.1"}), id="ip-deny-owner-outside"),
    pytest.param(Case(IP_DENY, Principal(OWNER), "s3:ListBucket", None, True, "owner", None, {"source_ip": "203.0.113.9"}), id="ip-deny-owner-inside"),
    pytest.param(Case(HOME_LISTING, BOB, "s3:ListBucket", None, True, "policy-allow", "ListHome", {"query": {"prefix": "home/bob/docs/"}}), id="home-list-own-prefix"),
    pytest.param(Case(HOME_LISTING, BOB, "s3:ListBucket", None, True, "policy-allow", "ListHome", {"query": {"prefix": ""}}), id="home-list-root"),
    pytest.param(Case(HOME_LISTING, BOB, "s3:ListBucket", None, False, "implicit-deny", None, {"query": {"prefix": "home/eve/"}}), id="home-list-other-home"),
    pytest.param(Case(HOME_LISTING, BOB, "s3:ListBucket", None, False, "implicit-deny"), id="home-list-no-prefix-param"),
    pytest.param(Case(HOME_LISTING, BOB, "s3:PutObject", "home/bob/f", True, "policy-allow", "HomeObjects"), id="home-put-own"),
    pytest.param(Case(HOME_LISTING, BOB, "s3:PutObject", "home/eve/f", False, "implicit-deny"), id="home-put-other"),
    pytest.param(Case(HOME_LISTING, Principal(OTHER), "s3:GetObject", "home//f", False, "implicit-deny"), id="home-no-username-no-match"),
    pytest.param(Case(FULL_CONTROL_UPLOADS, Principal(OTHER), "s3:PutObject", "k", True, "policy-allow", "RequireFullControl", {"headers": {"x-amz-acl": "bucket-owner-full-control"}}), id="full-control-upload"),
    pytest.param(Case(FULL_CONTROL_UPLOADS, Principal(OTHER), "s3:PutObject", "k", False, "implicit-deny", None, {"headers": {"x-amz-acl": "private"}}), id="full-control-other-acl"),
    pytest.param(Case(FULL_CONTROL_UPLOADS, Principal(OTHER), "s3:PutObject", "k", False, "implicit-deny"), id="full-control-no-header"),
    pytest.param(Case(FULL_CONTROL_UPLOADS, Principal(THIRD), "s3:PutObject", "k", False, "implicit-deny", None, {"headers": {"x-amz-acl": "bucket-owner-full-control"}}), id="full-control-other-account"),
    pytest.param(Case(NOT_PRINCIPAL_DENY, BOB, "s3:GetObject", "k", True, "policy-allow", "Everyone"), id="notprincipal-bob-spared"),
    pytest.param(Case(NOT_PRINCIPAL_DENY, Principal(OTHER, "eve"), "s3:GetObject", "k", False, "explicit-deny", "OnlyBob"), id="notprincipal-eve-denied"),
    pytest.param(Case(NOT_PRINCIPAL_DENY, ANONYMOUS, "s3:GetObject", "k", False, "explicit-deny", "OnlyBob"), id="notprincipal-anonymous-denied"),
    pytest.param(Case(NOT_PRINCIPAL_DENY, Principal(OWNER), "s3:GetObject", "k", False, "explicit-deny", "OnlyBob"), id="notprincipal-owner-denied"),
    pytest.param(Case(TAGS, ANONYMOUS, "s3:GetObject", "k", True, "policy-allow", "ReadProduction", {"existing_tags": {"environment": "production"}}), id="tag-existing-match"),
    pytest.param(Case(TAGS, ANONYMOUS, "s3:GetObject", "k", False, "implicit-deny", None, {"existing_tags": {"environment": "test"}}), id="tag-existing-other"),
    pytest.param(Case(TAGS, ANONYMOUS, "s3:PutObject", "k", True, "policy-allow", "TaggedUploads", {"request_tags": {"Owner": "a", "CreationDate": "b"}}), id="tag-request-keys-allowed"),
    pytest.param(Case(TAGS, ANONYMOUS, "s3:PutObject", "k", False, "implicit-deny", None, {"request_tags": {"Owner": "a", "Secret": "b"}}), id="tag-request-extra-key"),
    pytest.param(Case(TAGS, ANONYMOUS, "s3:PutObject", "k", False, "implicit-deny"), id="tag-request-none-set"),
    pytest.param(Case(REQUIRE_SSE, ANONYMOUS, "s3:PutObject", "k", True, "policy-allow", "Uploads", {"headers": {"x-amz-server-side-encryption": "AES256"}}), id="sse-given"),
    pytest.param(Case(REQUIRE_SSE, ANONYMOUS, "s3:PutObject", "k", False, "explicit-deny", "RequireSSE"), id="sse-missing-denied"),
    pytest.param(Case(REFERER, ANONYMOUS, "s3:GetObject", "k", True, "policy-allow", "Referer", {"headers": {"referer": "https://www.example.com/page"}}), id="referer-match"),
    pytest.param(Case(REFERER, ANONYMOUS, "s3:GetObject", "k", False, "implicit-deny", None, {"headers": {"referer": "https://evil.example/"}}), id="referer-other"),
    pytest.param(Case(MAX_KEYS, ANONYMOUS, "s3:ListBucket", None, True, "policy-allow", "SmallPages", {"query": {"max-keys": "10"}}), id="max-keys-small"),
    pytest.param(Case(MAX_KEYS, ANONYMOUS, "s3:ListBucket", None, False, "implicit-deny", None, {"query": {"max-keys": "1000"}}), id="max-keys-large"),
    pytest.param(Case(SIGV4_ONLY, Principal(OTHER), "s3:GetObject", "k", True, "policy-allow", "Read", {"signature_version": "AWS4-HMAC-SHA256"}), id="sigv4-allowed"),
    pytest.param(Case(SIGV4_ONLY, Principal(OTHER), "s3:GetObject", "k", False, "explicit-deny", "SigV4Only", {"signature_version": "AWS"}), id="sigv2-denied"),
    pytest.param(Case(SIGV4_ONLY, ANONYMOUS, "s3:GetObject", "k", False, "explicit-deny", "SigV4Only"), id="sigv4-only-denies-unsigned"),
]


@pytest.mark.parametrize("case", EXAMPLES)
def test_aws_examples(case: Case) -> None:
    """AWS's documented bucket policies allow and refuse what their pages say they do."""
    run(case)


OWNER_ACL = Owner(OWNER, "owner")
PUBLIC_READ_ACL = canned_acl("public-read", OWNER_ACL)
AUTH_READ_ACL = canned_acl("authenticated-read", OWNER_ACL)
BUCKET_WRITE_ACL = Acl(OWNER_ACL, (Grant(Grantee.user(OTHER), "WRITE"),))
FULL_CONTROL_ACL = Acl(OWNER_ACL, (Grant(Grantee.user(OTHER), "FULL_CONTROL"),))
ACP_ACL = Acl(OWNER_ACL, (Grant(Grantee.user(OTHER), "READ_ACP"), Grant(Grantee.user(OTHER), "WRITE_ACP")))
PUBLIC_WRITE_ACL = canned_acl("public-read-write", OWNER_ACL)

READ_ALL = policy(allow(Sid="ReadAll", Action="s3:GetObject", Resource=OBJECTS))
DENY_DELETE = policy(
    {"Sid": "AllowAll", "Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:*", "Resource": [BUCKET, OBJECTS]},
    deny(Sid="NoDelete", Action="s3:DeleteObject", Resource=OBJECTS),
)
DENY_ALL = policy(deny(Sid="Lockdown", Action="s3:*", Resource=[BUCKET, OBJECTS]))
CROSS_ACCOUNT = policy(
    {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:GetObject", "Resource": OBJECTS}
)
PUBLIC_AND_PARTNER = policy(
    allow(Sid="Public", Action="s3:GetObject", Resource=OBJECTS),
    {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:ListBucket", "Resource": BUCKET},
)
CONDITIONAL_ALLOW = policy(
    allow(Sid="OnlyFromLan", Action="s3:GetObject", Resource=OBJECTS, Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
)
RESTRICT = PublicAccessBlock(restrict_public_buckets=True)
IGNORE = PublicAccessBlock(ignore_public_acls=True)

ORDER: list[Any] = [
    pytest.param(Case(None, Principal(OWNER), "s3:GetObject", "k", True, "owner"), id="owner-allowed-without-policy"),
    pytest.param(Case(None, Principal(OWNER, "alice"), "s3:PutBucketAcl", None, True, "owner"), id="owner-user-allowed"),
    pytest.param(Case(None, Principal(OTHER), "s3:GetObject", "k", False, "implicit-deny"), id="stranger-denied-by-default"),
    pytest.param(Case(None, ANONYMOUS, "s3:GetObject", "k", False, "implicit-deny"), id="anonymous-denied-by-default"),
    pytest.param(Case(None, ANONYMOUS, "s3:ListBucket", None, False, "implicit-deny"), id="anonymous-denied-list"),
    pytest.param(Case(DENY_DELETE, Principal(OTHER), "s3:GetObject", "k", True, "policy-allow", "AllowAll"), id="allow-without-deny"),
    pytest.param(Case(DENY_DELETE, Principal(OTHER), "s3:DeleteObject", "k", False, "explicit-deny", "NoDelete"), id="deny-beats-allow"),
    pytest.param(Case(DENY_DELETE, Principal(OWNER), "s3:DeleteObject", "k", False, "explicit-deny", "NoDelete"), id="owner-denied-by-explicit-deny"),
    pytest.param(Case(DENY_ALL, Principal(OWNER), "s3:PutBucketPolicy", None, True, "owner-manages-policy"), id="owner-can-replace-locking-policy"),
    pytest.param(Case(DENY_ALL, Principal(OWNER), "s3:DeleteBucketPolicy", None, True, "owner-manages-policy"), id="owner-can-delete-locking-policy"),
    pytest.param(Case(DENY_ALL, Principal(OWNER), "s3:GetBucketPolicy", None, True, "owner-manages-policy"), id="owner-can-read-locking-policy"),
    pytest.param(Case(DENY_ALL, Principal(OTHER), "s3:PutBucketPolicy", None, False, "explicit-deny", "Lockdown"), id="stranger-cannot-manage-policy"),
    pytest.param(Case(DENY_ALL, Principal(OTHER), "s3:GetObject", "k", False, "explicit-deny", "Lockdown", object_acl=PUBLIC_READ_ACL), id="deny-beats-acl-grant"),
    pytest.param(Case(CONDITIONAL_ALLOW, ANONYMOUS, "s3:GetObject", "k", True, "acl-grant", object_acl=PUBLIC_READ_ACL, context={"source_ip": "192.0.2.1"}), id="unmet-allow-falls-to-acl"),
    pytest.param(Case(None, ANONYMOUS, "s3:GetObject", "k", True, "acl-grant", object_acl=PUBLIC_READ_ACL), id="acl-allusers-read-lets-anonymous-get"),
    pytest.param(Case(None, ANONYMOUS, "s3:GetObject", "k", False, "implicit-deny", object_acl=PUBLIC_READ_ACL, block=IGNORE, ignored=("ignore-public-acls",)), id="ignore-public-acls-cancels-it"),
    pytest.param(Case(None, Principal(OTHER), "s3:GetObject", "k", True, "acl-grant", object_acl=FULL_CONTROL_ACL, block=BLOCK_ALL), id="ignore-public-acls-keeps-user-grants"),
    pytest.param(Case(None, ANONYMOUS, "s3:GetObject", "k", False, "implicit-deny", bucket_acl=PUBLIC_READ_ACL), id="bucket-read-is-not-object-read"),
    pytest.param(Case(None, ANONYMOUS, "s3:ListBucket", None, True, "acl-grant", bucket_acl=PUBLIC_READ_ACL), id="bucket-read-allows-list"),
    pytest.param(Case(None, ANONYMOUS, "s3:ListBucketVersions", None, True, "acl-grant", bucket_acl=PUBLIC_READ_ACL), id="bucket-read-allows-list-versions"),
    pytest.param(Case(None, ANONYMOUS, "s3:GetBucketAcl", None, False, "implicit-deny", bucket_acl=PUBLIC_READ_ACL), id="read-is-not-read-acp"),
    pytest.param(Case(None, Principal(OTHER), "s3:ListBucket", None, True, "acl-grant", bucket_acl=AUTH_READ_ACL), id="authenticated-users-any-key"),
    pytest.param(Case(None, ANONYMOUS, "s3:ListBucket", None, False, "implicit-deny", bucket_acl=AUTH_READ_ACL), id="authenticated-users-not-anonymous"),
    pytest.param(Case(None, Principal(OTHER), "s3:PutObject", "k", True, "acl-grant", bucket_acl=BUCKET_WRITE_ACL), id="bucket-write-allows-put"),
    pytest.param(Case(None, Principal(OTHER), "s3:DeleteObject", "k", True, "acl-grant", bucket_acl=BUCKET_WRITE_ACL), id="bucket-write-allows-delete"),
    pytest.param(Case(None, Principal(OTHER), "s3:PutObject", "k", False, "implicit-deny", object_acl=FULL_CONTROL_ACL), id="object-acl-cannot-allow-put"),
    pytest.param(Case(None, Principal(OTHER), "s3:GetBucketTagging", None, False, "implicit-deny", bucket_acl=FULL_CONTROL_ACL), id="acl-has-no-say-on-tagging"),
    pytest.param(Case(None, Principal(OTHER), "s3:GetObjectAcl", "k", True, "acl-grant", object_acl=ACP_ACL), id="object-read-acp"),
    pytest.param(Case(None, Principal(OTHER), "s3:PutObjectVersionAcl", "k", True, "acl-grant", object_acl=ACP_ACL), id="object-write-acp-version"),
    pytest.param(Case(None, Principal(OTHER), "s3:GetObject", "k", False, "implicit-deny", object_acl=ACP_ACL), id="acp-is-not-read"),
    pytest.param(Case(None, Principal(OTHER), "s3:PutBucketAcl", None, True, "acl-grant", bucket_acl=FULL_CONTROL_ACL), id="full-control-implies-write-acp"),
    pytest.param(Case(READ_ALL, ANONYMOUS, "s3:GetObject", "k", False, "implicit-deny", block=RESTRICT, ignored=("restrict-public-buckets",)), id="restrict-public-buckets-anonymous"),
    pytest.param(Case(PUBLIC_AND_PARTNER, Principal(OTHER), "s3:ListBucket", None, False, "implicit-deny", block=RESTRICT, ignored=("restrict-public-buckets",)), id="restrict-blocks-cross-account-in-public-policy"),
    pytest.param(Case(PUBLIC_AND_PARTNER, Principal(OWNER), "s3:GetObject", "k", True, "owner", block=RESTRICT), id="restrict-keeps-owner"),
    pytest.param(Case(CROSS_ACCOUNT, Principal(OTHER), "s3:GetObject", "k", True, "policy-allow", "Partner", block=RESTRICT), id="restrict-ignores-non-public-policy"),
    pytest.param(Case(READ_ALL, ANONYMOUS, "s3:GetObject", "k", False, "implicit-deny", object_acl=PUBLIC_READ_ACL, block=RESTRICT, ignored=("restrict-public-buckets",)), id="restrict-also-blocks-acl-grants"),
    pytest.param(Case(None, ANONYMOUS, "s3:PutObject", "k", True, "acl-grant", bucket_acl=PUBLIC_WRITE_ACL), id="public-read-write-lets-anonymous-put"),
    pytest.param(Case(None, ANONYMOUS, "s3:PutObject", "k", False, "implicit-deny", bucket_acl=PUBLIC_WRITE_ACL, block=BLOCK_ALL, ignored=("ignore-public-acls",)), id="block-all-stops-public-write"),
]


@pytest.mark.parametrize("case", ORDER)
def test_evaluation_order(case: Case) -> None:
    """Explicit Deny, then the owner, then policy Allow, then ACL grants, then deny, with Block Public Access applied."""
    run(case)


def test_decision_text() -> None:
    """A decision says in one line which rule decided, and on what, for the log."""
    parsed = parse_policy(json.dumps(DENY_DELETE), B)
    denied = authorize(Principal(OTHER), "s3:DeleteObject", resource_arn(B, "k"), RequestContext(), OWNER, parsed)
    assert str(denied) == "deny by explicit-deny: Sid 'NoDelete'"
    granted = authorize(ANONYMOUS, "s3:GetObject", resource_arn(B, "k"), RequestContext(), OWNER, None, None, PUBLIC_READ_ACL)
    assert str(granted) == f"allow by acl-grant: object ACL grants READ to {ALL_USERS}"
    ignored = authorize(ANONYMOUS, "s3:GetObject", resource_arn(B, "k"), RequestContext(), OWNER, None, None, PUBLIC_READ_ACL, BLOCK_ALL)
    assert str(ignored) == "deny by implicit-deny (ignored: ignore-public-acls)"


def test_unnamed_statement_label() -> None:
    """A statement without Sid is named by its position."""
    parsed = parse_policy(json.dumps(policy(deny(Action="s3:*", Resource=[BUCKET, OBJECTS]))), B)
    decision = authorize(ANONYMOUS, "s3:ListBucket", BUCKET, RequestContext(), OWNER, parsed)
    assert str(decision) == "deny by explicit-deny: statement #1"


def test_version_2008_has_no_variables() -> None:
    """Under the default Version 2008-10-17, ${aws:username} in a resource is literal text."""
    doc = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "s3:GetObject", "Resource": f"{BUCKET}/${{aws:username}}/*"}
        ]
    }
    parsed = parse_policy(json.dumps(doc), B)
    ctx = RequestContext()
    assert not authorize(BOB, "s3:GetObject", resource_arn(B, "bob/f"), ctx, OWNER, parsed).allowed
    assert authorize(BOB, "s3:GetObject", resource_arn(B, "${aws:username}/f"), ctx, OWNER, parsed).allowed


def test_authenticated_group_grant_needs_key() -> None:
    """An AuthenticatedUsers grant is a grant to every key holder, including other owners' keys."""
    acl = Acl(OWNER_ACL, (Grant(Grantee.group(AUTHENTICATED_USERS), "READ"),))
    ctx = RequestContext()
    assert authorize(Principal(THIRD), "s3:GetObject", resource_arn(B, "k"), ctx, OWNER, object_acl=acl).allowed
    assert not authorize(ANONYMOUS, "s3:GetObject", resource_arn(B, "k"), ctx, OWNER, object_acl=acl).allowed


def test_policy_reused_across_requests() -> None:
    """One parsed policy serves many requests and actions; its per-action index changes no answer."""
    parsed = parse_policy(json.dumps(DENY_DELETE), B)
    ctx = RequestContext()
    for _ in range(3):
        assert authorize(Principal(OTHER), "s3:GetObject", resource_arn(B, "k"), ctx, OWNER, parsed).allowed
        assert not authorize(Principal(OTHER), "s3:DeleteObject", resource_arn(B, "k"), ctx, OWNER, parsed).allowed
        assert not authorize(Principal(THIRD), "s3:GetObject", resource_arn(B, "k"), ctx, OWNER, parsed).allowed


def test_object_acl_read_only_when_needed() -> None:
    """An object ACL given as a function is read only when the decision comes down to it."""
    reads: list[str] = []

    def object_acl() -> Acl:
        reads.append("read")
        return PUBLIC_READ_ACL

    ctx, key = RequestContext(), resource_arn(B, "k")
    parsed = parse_policy(json.dumps(READ_ALL), B)
    assert authorize(Principal(OWNER), "s3:GetObject", key, ctx, OWNER, None, None, object_acl).rule == "owner"
    assert authorize(ANONYMOUS, "s3:GetObject", key, ctx, OWNER, parsed, None, object_acl).rule == "policy-allow"
    assert authorize(ANONYMOUS, "s3:PutObject", key, ctx, OWNER, None, None, object_acl).rule == "implicit-deny"
    assert reads == []
    assert authorize(ANONYMOUS, "s3:GetObject", key, ctx, OWNER, None, None, object_acl).rule == "acl-grant"
    assert reads == ["read"]
