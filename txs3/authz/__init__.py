"""
Authorization: a pure decision over a principal, an action, a resource, the
request context, the bucket policy, the ACLs and the Block Public Access
settings.  No HTTP, no store, no Twisted: the gate supplies everything.

  - L{txs3.authz.policy}: bucket policies, parsed once (L{parse_policy});
  - L{txs3.authz.conditions}: the C{Condition} operators;
  - L{txs3.authz.context}: L{Principal}, L{RequestContext} (condition keys);
  - L{txs3.authz.acl}: ACL values, canned ACLs, grant headers, XML;
  - L{txs3.authz.public}: what is public; L{PublicAccessBlock};
  - L{txs3.authz.decide}: L{authorize} and its L{Decision}.
"""

from txs3.authz.acl import (
    Acl,
    Grant,
    Grantee,
    Owner,
    acl_from_headers,
    canned_acl,
    parse_acl_xml,
    private_acl,
    render_acl_xml,
    required_permission,
)
from txs3.authz.context import ANONYMOUS, Principal, RequestContext
from txs3.authz.decide import Decision, authorize, resource_arn
from txs3.authz.policy import Policy, Statement, parse_policy
from txs3.authz.public import (
    BLOCK_ALL,
    NO_BLOCK,
    PublicAccessBlock,
    acl_is_public,
    policy_is_public,
    policy_status_xml,
)

__all__ = [
    "ANONYMOUS",
    "BLOCK_ALL",
    "NO_BLOCK",
    "Acl",
    "Decision",
    "Grant",
    "Grantee",
    "Owner",
    "Policy",
    "Principal",
    "PublicAccessBlock",
    "RequestContext",
    "Statement",
    "acl_from_headers",
    "acl_is_public",
    "authorize",
    "canned_acl",
    "parse_acl_xml",
    "parse_policy",
    "policy_is_public",
    "policy_status_xml",
    "private_acl",
    "render_acl_xml",
    "required_permission",
    "resource_arn",
]
