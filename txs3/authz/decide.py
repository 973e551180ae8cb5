"""
The decision: may this principal do this action on this resource?

AWS's "Policy evaluation logic" and "How Amazon S3 authorizes a request"
give the order; for txs3, where there are no IAM identity policies and
every bucket behaves as one account's:

  1. An applicable C{Deny} statement of the bucket policy denies
     (C{explicit-deny}), whoever asks, the owner included; except that the
     bucket owner may always read, replace and delete the policy itself
     (S3 lets the owning account's root do so, so that a policy cannot lock
     its owner out): C{owner-manages-policy}.
  2. The bucket owner's keys are allowed (C{owner}).
  3. An applicable C{Allow} statement allows (C{policy-allow}).
  4. An ACL grant allows (C{acl-grant}): the bucket's ACL for bucket
     permissions and object writes, the object's for object reads and its
     ACL (L{txs3.authz.acl.required_permission}).
  5. Anything else is denied (C{implicit-deny}).

Block Public Access: with C{IgnorePublicAcls}, grants to C{AllUsers} and
C{AuthenticatedUsers} are ignored; with C{RestrictPublicBuckets}, a bucket
whose policy is public allows nobody outside the owner's account, by
policy or by ACL.  Both leave a note in L{Decision.ignored}.

L{authorize} does no I/O: the caller supplies the parsed policy, the ACLs
and the request context.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from txs3.authz.acl import Acl, Grant, required_permission
from txs3.authz.conditions import Env
from txs3.authz.context import Principal, RequestContext
from txs3.authz.policy import ARN_PREFIX, Policy, Statement
from txs3.authz.public import NO_BLOCK, PublicAccessBlock

Rule = Literal[
    "explicit-deny",
    "owner-manages-policy",
    "owner",
    "policy-allow",
    "acl-grant",
    "implicit-deny",
]

_POLICY_ACTIONS = frozenset(
    {"s3:getbucketpolicy", "s3:putbucketpolicy", "s3:deletebucketpolicy"}
)


@dataclass(frozen=True, slots=True)
class Decision:
    """
    The answer, and the rule that gave it.

    @ivar statement: the policy statement that decided (explicit-deny,
        policy-allow).
    @ivar grant: the ACL grant that allowed (acl-grant), and C{acl} which
        ACL held it.
    @ivar ignored: what Block Public Access made the decision disregard:
        C{"restrict-public-buckets"}, C{"ignore-public-acls"}.
    """

    allowed: bool
    rule: Rule
    statement: Statement | None = None
    grant: Grant | None = None
    acl: Literal["bucket", "object"] | None = None
    ignored: tuple[str, ...] = ()

    def __str__(self) -> str:
        verdict = "allow" if self.allowed else "deny"
        detail = ""
        if self.statement is not None:
            detail = f": {self.statement.label}"
        elif self.grant is not None:
            g = self.grant
            detail = f": {self.acl} ACL grants {g.permission} to {g.grantee.id}"
        notes = f" (ignored: {', '.join(self.ignored)})" if self.ignored else ""
        return f"{verdict} by {self.rule}{detail}{notes}"


_OWNER = OWNER_DECISION = Decision(True, "owner")
_OWNER_POLICY = Decision(True, "owner-manages-policy")
_IMPLICIT = Decision(False, "implicit-deny")


def resource_arn(bucket: str, key: str | None = None) -> str:
    """The ARN policies name a bucket (C{key} None) or an object by."""
    return f"{ARN_PREFIX}{bucket}" if key is None else f"{ARN_PREFIX}{bucket}/{key}"


def authorize(
    principal: Principal,
    action: str,
    resource: str,
    context: RequestContext,
    bucket_owner: str,
    policy: Policy | None = None,
    bucket_acl: Acl | None = None,
    object_acl: Acl | Callable[[], Acl | None] | None = None,
    public_access_block: PublicAccessBlock = NO_BLOCK,
) -> Decision:
    """
    Decide whether C{principal} may perform C{action} on C{resource}.

    @param action: the IAM action, as the catalogue names it
        (C{s3:GetObject}).
    @param resource: the bucket's or object's ARN (L{resource_arn}).
    @param context: what conditions may read of the request.
    @param bucket_owner: the owner id of the bucket.
    @param policy: the bucket's parsed policy, if it has one.
    @param bucket_acl: the bucket's ACL; None grants nothing.
    @param object_acl: the object's ACL, for object actions; None grants
        nothing.  It may be a function giving it: it is called only when
        the decision comes down to the object's ACL (not for the owner,
        nor when the policy decides), so the gate need not read it for
        most requests.
    @return: a L{Decision}; never raises for a well-formed policy.
    """
    is_owner = bool(principal.owner_id) and principal.owner_id == bucket_owner
    allow: Statement | None = None
    if policy is not None:
        statements = policy.for_action(action)
        if statements:
            env = Env(context, principal)
            for statement in statements:
                if statement.effect == "Allow" and (is_owner or allow is not None):
                    continue  # cannot change the answer
                if not statement.applies(principal, resource, env):
                    continue
                if statement.effect == "Deny":
                    if is_owner and action.lower() in _POLICY_ACTIONS:
                        return _OWNER_POLICY
                    return Decision(False, "explicit-deny", statement=statement)
                allow = statement
    if is_owner:
        return _OWNER
    restricted = (
        public_access_block.restrict_public_buckets
        and policy is not None
        and policy.public
    )
    ignored: tuple[str, ...] = ()
    if allow is not None:
        if not restricted:
            return Decision(True, "policy-allow", statement=allow)
        ignored = ("restrict-public-buckets",)
    needed = required_permission(action)
    if needed is None:
        return (
            Decision(False, "implicit-deny", ignored=ignored) if ignored else _IMPLICIT
        )
    target, permission = needed
    if target == "bucket":
        acl = bucket_acl
    else:
        acl = object_acl() if callable(object_acl) else object_acl
    if acl is None:
        return (
            Decision(False, "implicit-deny", ignored=ignored) if ignored else _IMPLICIT
        )
    ignore_public = public_access_block.ignore_public_acls
    grant = acl.grant_for(principal, permission, ignore_public)
    if grant is not None and restricted:
        ignored = (*ignored, "restrict-public-buckets")
        grant = None
    elif grant is not None:
        return Decision(True, "acl-grant", grant=grant, acl=target, ignored=ignored)
    if ignore_public and acl.grant_for(principal, permission) is not None:
        ignored = (*ignored, "ignore-public-acls")
    return Decision(False, "implicit-deny", ignored=tuple(dict.fromkeys(ignored)))
