"""
Bucket policies: parsed once into typed, frozen statements.

L{parse_policy} reads a policy document as C{PutBucketPolicy} receives it
and either returns a L{Policy} or raises C{MalformedPolicy} with the
message S3 gives.  Elements (AWS's "IAM JSON policy elements reference"):

  - C{Version}: C{2012-10-17} or C{2008-10-17} (the default); policy
    variables are recognised only in C{2012-10-17};
  - C{Id}; C{Statement}: one object or a list;
  - per statement: C{Sid}, C{Effect} (C{Allow} or C{Deny}), exactly one
    of C{Principal}/C{NotPrincipal}, of C{Action}/C{NotAction} and of
    C{Resource}/C{NotResource}, and an optional C{Condition}.

Principals are txs3 owners (see L{txs3.authz.context}): C{"*"} or
C{{"AWS": "*"}} (everyone, anonymous included);
C{arn:aws:iam::OWNER_ID:root} or a bare C{OWNER_ID} (every key of that
owner); C{arn:aws:iam::OWNER_ID:user/NAME} (that user of that owner);
C{{"CanonicalUser": OWNER_ID}}.  C{Service} and C{Federated} principals
are accepted and never match a txs3 request.

Actions match case-insensitively, resources case-sensitively, both with
C{*} and C{?} (see L{txs3.authz.wildcard}).  Every resource must be this
bucket or inside it.

Messages S3 is known to give are used verbatim ("Policy has invalid
resource", "Invalid principal in policy", "Invalid effect: X", ...); for
the few cases where its wording is not documented (an unknown field, a
statement with both C{Action} and C{NotAction}) the message is txs3's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from txs3.authz.actions import ResourceKind, expand, resource_kind
from txs3.authz.conditions import Clause, Env, malformed, parse_condition
from txs3.authz.context import Principal
from txs3.authz.public import statement_is_public
from txs3.authz.wildcard import Pattern

Effect = Literal["Allow", "Deny"]

ARN_PREFIX = "arn:aws:s3:::"
VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"

INVALID_JSON = "This policy contains invalid Json"
FIRST_BYTE = "Policies must be valid JSON and the first byte must be '{'"
INVALID_RESOURCE = "Policy has invalid resource"
INVALID_ACTION = "Policy has invalid action"
INVALID_PRINCIPAL = "Invalid principal in policy"
RESOURCE_MISMATCH = "Action does not apply to any resource(s) in statement"

_OWNER_ID = re.compile(r"[A-Za-z0-9._~+@-]{1,128}")
_USER = re.compile(r"arn:aws:iam::([^:]+):user/((?:[^/*?:]+/)*)([^/*?:]+)")
_ROOT = re.compile(r"arn:aws:iam::([^:]+):root")
_POLICY_FIELDS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_FIELDS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)


@dataclass(frozen=True, slots=True)
class Principals:
    """
    The principals a C{Principal} or C{NotPrincipal} element names.

    @ivar everyone: C{"*"}: anyone, anonymous included.
    @ivar accounts: owner ids named as accounts (every key of the owner).
    @ivar users: C{(owner id, user name)} pairs.
    @ivar others: C{Service}/C{Federated} principals (they never match).
    """

    everyone: bool = False
    accounts: frozenset[str] = frozenset()
    users: frozenset[tuple[str, str]] = frozenset()
    others: tuple[str, ...] = ()

    def includes(self, principal: Principal) -> bool:
        """Whether a C{Principal} element naming these matches C{principal}."""
        if self.everyone:
            return True
        owner = principal.owner_id
        if not owner:
            return False
        if owner in self.accounts:
            return True
        return principal.user is not None and (owner, principal.user) in self.users

    def excludes(self, principal: Principal) -> bool:
        """
        Whether a C{NotPrincipal} element naming these leaves C{principal}
        out (so that the statement does not apply to it).  A named user is
        two principals to IAM, the user and its account: both must be
        listed (AWS's C{NotPrincipal} documentation).
        """
        if self.everyone:
            return True
        owner = principal.owner_id
        if not owner or owner not in self.accounts:
            return False
        return principal.user is None or (owner, principal.user) in self.users


@dataclass(frozen=True, slots=True, eq=False)
class Statement:
    """
    One parsed statement.  C{index} is its position in the policy (from
    0), for messages; C{actions} and C{resources} are the patterns of
    C{Action}/C{NotAction} and C{Resource}/C{NotResource}, as the C{not_*}
    flags say.
    """

    index: int
    sid: str | None
    effect: Effect
    principals: Principals
    not_principal: bool
    actions: tuple[Pattern, ...]
    not_action: bool
    resources: tuple[Pattern, ...]
    not_resource: bool
    conditions: tuple[Clause, ...]

    @property
    def label(self) -> str:
        """How logs name it: its Sid, or its position."""
        return f"Sid {self.sid!r}" if self.sid else f"statement #{self.index + 1}"

    def names_action(self, action: str) -> bool:
        """Whether the statement's action element covers C{action}."""
        named = any(p.match(action) for p in self.actions)
        return named is not self.not_action

    def names_principal(self, principal: Principal) -> bool:
        """Whether the statement's principal element covers C{principal}."""
        if self.not_principal:
            return not self.principals.excludes(principal)
        return self.principals.includes(principal)

    def applies(self, principal: Principal, resource: str, env: Env) -> bool:
        """
        Whether the statement applies to C{principal} acting on
        C{resource} (its action was checked by L{Policy.for_action}):
        principal, resource, then conditions.
        """
        if not self.names_principal(principal):
            return False
        named = False
        for pattern in self.resources:
            if pattern.match(resource, env.single):
                named = True
                break
        if named is self.not_resource:
            return False
        for clause in self.conditions:
            if not clause.holds(env):
                return False
        return True


@dataclass(frozen=True, eq=False)
class Policy:
    """
    A parsed bucket policy.

    @ivar text: the document as received (what C{GetBucketPolicy} returns).
    @ivar condition_keys: every condition key the policy reads, lower case,
        from conditions and policy variables.
    @ivar public: whether the policy is public (L{txs3.authz.public}).
    """

    bucket: str
    version: str
    id: str | None
    statements: tuple[Statement, ...]
    text: str
    condition_keys: frozenset[str]
    public: bool
    _by_action: dict[str, tuple[Statement, ...]] = field(
        default_factory=dict, repr=False
    )

    def for_action(self, action: str) -> tuple[Statement, ...]:
        """The statements whose action element covers C{action}, in order."""
        found = self._by_action.get(action)
        if found is None:
            found = tuple(s for s in self.statements if s.names_action(action))
            # Actions come from the catalogue: a few dozen names at most.
            self._by_action[action] = found
        return found

    @property
    def needs_existing_tags(self) -> bool:
        """Whether a condition reads C{s3:ExistingObjectTag/...}."""
        return any(k.startswith("s3:existingobjecttag/") for k in self.condition_keys)


def parse_policy(
    text: str | bytes,
    bucket: str,
    owner_exists: Callable[[str], bool] | None = None,
) -> Policy:
    """
    Parse and validate a bucket policy for C{bucket}.

    @param owner_exists: when given, every owner id a principal names must
        satisfy it (S3 refuses principals it does not know).
    @raise S3Error: C{MalformedPolicy}, with S3's message, for anything
        that is not a valid policy for this bucket.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise malformed(INVALID_JSON) from e
    if not text.lstrip().startswith("{"):
        raise malformed(FIRST_BYTE)
    try:
        document = json.loads(
            text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant
        )
    except ValueError as e:
        raise malformed(INVALID_JSON) from e
    _only_fields(document, _POLICY_FIELDS)
    version = document.get("Version", VERSION_2008)
    if version not in (VERSION_2012, VERSION_2008):
        raise malformed("The policy must contain a valid version string")
    policy_id = document.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise malformed(INVALID_JSON)
    if "Statement" not in document:
        raise malformed("Missing required field Statement")
    raw = document["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise malformed("Could not parse the policy: Statement is empty!")
    statements = tuple(
        _statement(i, item, bucket, version == VERSION_2012, owner_exists)
        for i, item in enumerate(items)
    )
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise malformed("Statement IDs (SID) in a single policy must be unique.")
    keys: set[str] = set()
    for s in statements:
        for clause in s.conditions:
            keys.add(clause.key)
            keys |= clause.variable_keys
        for p in s.resources:
            keys |= p.keys
    public = any(statement_is_public(s) for s in statements)
    return Policy(bucket, version, policy_id, statements, text, frozenset(keys), public)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # {"Effect": "Deny", "Effect": "Allow"}: refuse rather than guess.
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> object:
    # NaN, Infinity: Python's json takes them, JSON does not.
    raise ValueError(f"not JSON: {name}")


def _only_fields(obj: object, allowed: frozenset[str]) -> None:
    if not isinstance(obj, dict):
        raise malformed(INVALID_JSON)
    for name in obj:
        if name not in allowed:
            raise malformed(f"Unknown field {name}")


def _strings(value: object, error: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise malformed(error)
    return [v for v in items if isinstance(v, str)]


def _statement(
    index: int,
    item: object,
    bucket: str,
    variables: bool,
    owner_exists: Callable[[str], bool] | None,
) -> Statement:
    _only_fields(item, _STATEMENT_FIELDS)
    assert isinstance(item, dict)
    sid = item.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise malformed(INVALID_JSON)
    if "Effect" not in item:
        raise malformed("Missing required field Effect")
    effect = item["Effect"]
    if effect not in ("Allow", "Deny"):
        raise malformed(f"Invalid effect: {effect}")
    principal_key = _one_of(item, "Principal", "NotPrincipal", INVALID_PRINCIPAL)
    action_key = _one_of(item, "Action", "NotAction", INVALID_ACTION)
    resource_key = _one_of(item, "Resource", "NotResource", INVALID_RESOURCE)
    principals = _principals(item[principal_key], owner_exists)
    action_texts = _strings(item[action_key], INVALID_ACTION)
    actions = tuple(_action(a) for a in action_texts)
    resource_texts = _strings(item[resource_key], INVALID_RESOURCE)
    kinds = {_resource_kind(r, bucket) for r in resource_texts}
    if action_key == "Action" and resource_key == "Resource":
        for pattern in actions:
            if not _action_kinds(pattern) & kinds:
                raise malformed(RESOURCE_MISMATCH)
    resources = tuple(Pattern(r, variables) for r in resource_texts)
    conditions = (
        parse_condition(item["Condition"], variables) if "Condition" in item else ()
    )
    return Statement(
        index=index,
        sid=sid or None,
        effect=effect,
        principals=principals,
        not_principal=principal_key == "NotPrincipal",
        actions=actions,
        not_action=action_key == "NotAction",
        resources=resources,
        not_resource=resource_key == "NotResource",
        conditions=conditions,
    )


def _one_of(item: dict[str, object], name: str, negated: str, both: str) -> str:
    if name in item and negated in item:
        raise malformed(both)
    if name in item:
        return name
    if negated in item:
        return negated
    raise malformed(f"Missing required field {name}")


def _action(text: str) -> Pattern:
    if text != "*" and not (text.lower().startswith("s3:") and expand(text)):
        raise malformed(INVALID_ACTION)
    return Pattern(text, variables=False, ignore_case=True)


def _action_kinds(pattern: Pattern) -> set[ResourceKind]:
    kinds = {resource_kind(a) for a in expand(pattern.text)}
    return {k for k in kinds if k is not None}


def _resource_kind(text: str, bucket: str) -> ResourceKind:
    """C{bucket} or C{object}, for a resource of this bucket."""
    if not text.startswith(ARN_PREFIX):
        raise malformed(INVALID_RESOURCE)
    name, slash, _ = text[len(ARN_PREFIX) :].partition("/")
    if name != bucket:
        raise malformed(INVALID_RESOURCE)
    return "object" if slash else "bucket"


def _principals(
    element: object, owner_exists: Callable[[str], bool] | None
) -> Principals:
    if element == "*":
        return Principals(everyone=True)
    if not isinstance(element, dict) or not element:
        raise malformed(INVALID_PRINCIPAL)
    everyone = False
    accounts: set[str] = set()
    users: set[tuple[str, str]] = set()
    others: list[str] = []
    for kind, value in element.items():
        names = _strings(value, INVALID_PRINCIPAL)
        if kind == "AWS":
            for name in names:
                if name == "*":
                    everyone = True
                else:
                    _aws_principal(name, accounts, users)
        elif kind == "CanonicalUser":
            for name in names:
                if not _OWNER_ID.fullmatch(name):
                    raise malformed(INVALID_PRINCIPAL)
                accounts.add(name)
        elif kind in ("Service", "Federated"):
            others.extend(f"{kind}:{n}" for n in names)
        else:
            raise malformed(INVALID_PRINCIPAL)
    if owner_exists is not None:
        named: Iterable[str] = accounts | {owner for owner, _ in users}
        if not all(owner_exists(owner) for owner in named):
            raise malformed(INVALID_PRINCIPAL)
    return Principals(everyone, frozenset(accounts), frozenset(users), tuple(others))


def _aws_principal(name: str, accounts: set[str], users: set[tuple[str, str]]) -> None:
    root = _ROOT.fullmatch(name)
    user = _USER.fullmatch(name)
    if root is not None and _OWNER_ID.fullmatch(root.group(1)):
        accounts.add(root.group(1))
    elif user is not None and _OWNER_ID.fullmatch(user.group(1)):
        users.add((user.group(1), user.group(3)))
    elif _OWNER_ID.fullmatch(name):
        accounts.add(name)
    else:
        raise malformed(INVALID_PRINCIPAL)
