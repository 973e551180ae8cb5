"""
What counts as public, and the four Block Public Access settings.

From AWS's "Blocking public access to your Amazon S3 storage", section
"The meaning of 'public'":

  - an ACL is public if it grants anything to C{AllUsers} or
    C{AuthenticatedUsers};
  - a bucket policy is public unless every C{Allow} statement is limited
    to fixed values: a principal that is not C{"*"}, or a condition that
    pins one of the keys below to fixed values (no wildcard, no policy
    variable), or limits C{aws:SourceIp} to CIDR blocks (C{0.0.0.0/0} and
    C{::/0} limit nothing).  A statement that grants none of the "bad
    actions" (C{s3:Get*}, C{s3:List*}, C{s3:AbortMultipartUpload},
    C{s3:Delete*}, C{s3:Put*}, C{s3:RestoreObject}) is not public either.

C{Deny} statements never make a policy public.  A pinning condition must
be a positive operator without C{IfExists} and without C{ForAllValues:}
(both hold when the key is absent, so they pin nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from txs3 import xml
from txs3.authz.acl import Acl
from txs3.authz.actions import expand
from txs3.authz.conditions import Clause, parse_network
from txs3.authz.wildcard import Pattern
from txs3.errors import S3Error

if TYPE_CHECKING:
    # policy.py asks statement_is_public() when it parses.
    from txs3.authz.policy import Policy, Statement


@dataclass(frozen=True, slots=True)
class PublicAccessBlock:
    """
    A bucket's Block Public Access settings (all off by default).

    L{txs3.authz.decide.authorize} applies C{ignore_public_acls} and
    C{restrict_public_buckets}; the other two are checked when an ACL or a
    policy is set: refuse a public one (L{acl_is_public},
    L{policy_is_public}) with C{AccessDenied}, as S3 does.
    """

    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False

    @classmethod
    def from_xml(cls, body: bytes) -> PublicAccessBlock:
        """
        Read a C{PublicAccessBlockConfiguration} document
        (PutPublicAccessBlock); a missing element is C{false}.

        @raise S3Error: C{MalformedXML} for any other document, or a value
            other than C{true}/C{false}.
        """
        root = xml.parse(body)
        if root.tag != "PublicAccessBlockConfiguration":
            raise S3Error.of("MalformedXML")
        values: dict[str, bool] = {}
        for f in fields(cls):
            text = xml.child_text(root, _ELEMENTS[f.name])
            if text is None:
                continue
            flag = text.strip().lower()
            if flag not in ("true", "false"):
                raise S3Error.of("MalformedXML")
            values[f.name] = flag == "true"
        return cls(**values)

    def to_xml(self) -> bytes:
        """The C{PublicAccessBlockConfiguration} document (GetPublicAccessBlock)."""
        return xml.document(
            "PublicAccessBlockConfiguration",
            [(_ELEMENTS[f.name], bool(getattr(self, f.name))) for f in fields(self)],
        )


_ELEMENTS = {
    "block_public_acls": "BlockPublicAcls",
    "ignore_public_acls": "IgnorePublicAcls",
    "block_public_policy": "BlockPublicPolicy",
    "restrict_public_buckets": "RestrictPublicBuckets",
}

#: Every setting off.
NO_BLOCK = PublicAccessBlock()
#: Every setting on (S3's default for new buckets since April 2023).
BLOCK_ALL = PublicAccessBlock(True, True, True, True)

#: Condition keys that make a statement non-public when pinned to fixed values.
FIXED_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceowner",
        "aws:sourceaccount",
        "aws:principalorgid",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:userid",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "s3:dataaccesspointarn",
        "s3:dataaccesspointaccount",
    }
)
_PINNING_KINDS = frozenset({"string", "string_ic", "like", "arn"})

# AWS's "bad actions": those that expose a bucket's data to the public.
_BAD = frozenset().union(
    *map(
        expand,
        (
            "s3:Get*",
            "s3:List*",
            "s3:AbortMultipartUpload",
            "s3:Delete*",
            "s3:Put*",
            "s3:RestoreObject",
        ),
    )
)


def acl_is_public(acl: Acl) -> bool:
    """Whether C{acl} grants anything to C{AllUsers} or C{AuthenticatedUsers}."""
    return acl.public


def policy_is_public(policy: Policy) -> bool:
    """Whether C{policy} is public by AWS's definition (module docstring)."""
    return policy.public


def policy_status_xml(policy: Policy | None) -> bytes:
    """The C{PolicyStatus} document GetBucketPolicyStatus returns."""
    public = policy is not None and policy.public
    return xml.document("PolicyStatus", [("IsPublic", public)])


def statement_is_public(statement: Statement) -> bool:
    """Whether one statement makes its policy public."""
    if statement.effect != "Allow":
        return False
    # NotPrincipal with Allow admits everyone it does not name.
    if not (statement.not_principal or statement.principals.everyone):
        return False
    if not _grants_bad_action(statement):
        return False
    return not any(_pins(c) for c in statement.conditions)


def _grants_bad_action(statement: Statement) -> bool:
    if statement.not_action:
        return True
    return any(expand(p.text) & _BAD for p in statement.actions)


def _pins(clause: Clause) -> bool:
    """Whether C{clause} restricts the statement to fixed values."""
    if clause.negated or clause.if_exists or clause.set_mode == "all":
        return False
    if clause.kind == "ip":
        if clause.key != "aws:sourceip":
            return False
        networks = [parse_network(v) for v in clause.values]
        return all(n is not None and n.prefixlen > 0 for n in networks)
    if clause.key not in FIXED_KEYS or clause.kind not in _PINNING_KINDS:
        return False
    if clause.variable_keys:
        return False
    if clause.kind in ("like", "arn"):
        return not any(Pattern(v, variables=False).has_wildcard for v in clause.values)
    return True
