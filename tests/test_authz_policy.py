"""
Bucket policy parsing (L{txs3.authz.policy}) and IAM wildcards
(L{txs3.authz.wildcard}), as tables.

The malformed-policy table gives a document and the C{MalformedPolicy}
message S3 answers with; the other tables give a policy element and what
it matches.  Everything is pure: no server, no store.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from txs3.api.catalogue import CATALOGUE
from txs3.authz.actions import KNOWN, resource_kind
from txs3.authz.conditions import Env
from txs3.authz.context import ANONYMOUS, Principal, RequestContext
from txs3.authz.policy import parse_policy
from txs3.authz.wildcard import Pattern, Template
from txs3.errors import S3Error

B = "amzn-s3-demo-bucket"
BUCKET = f"arn:aws:s3:::{B}"
OBJECTS = f"arn:aws:s3:::{B}/*"
OWNER = "111122223333"


def statement(**fields: Any) -> dict[str, Any]:
    """A valid Allow statement, with C{fields} replacing or adding elements (None removes)."""
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": OBJECTS,
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def doc(*statements: dict[str, Any], **top: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements), **top})


MALFORMED: list[Any] = [
    pytest.param("", "Policies must be valid JSON and the first byte must be '{'", id="empty"),
    pytest.param("[]", "Policies must be valid JSON and the first byte must be '{'", id="not-an-object"),
    pytest.param("{", "This policy contains invalid Json", id="bad-json"),
    pytest.param(b"{\xff}", "This policy contains invalid Json", id="not-utf8"),
    pytest.param('{"Statement": [], "Statement": []}', "This policy contains invalid Json", id="duplicate-key"),
    pytest.param('{"Statement": NaN}', "This policy contains invalid Json", id="nan-is-not-json"),
    pytest.param('{"Version": "2012-10-17"}', "Missing required field Statement", id="no-statement"),
    pytest.param(doc(), "Could not parse the policy: Statement is empty!", id="statement-empty-list"),
    pytest.param(doc(statement(), Version="2011-01-01"), "The policy must contain a valid version string", id="bad-version"),
    pytest.param(doc(statement(), Extra=1), "Unknown field Extra", id="unknown-policy-field"),
    pytest.param(doc(statement(Conditon={})), "Unknown field Conditon", id="unknown-statement-field-typo"),
    pytest.param(doc(statement(Effect=None)), "Missing required field Effect", id="no-effect"),
    pytest.param(doc(statement(Effect="hello")), "Invalid effect: hello", id="unknown-effect"),
    pytest.param(doc(statement(Effect="allow")), "Invalid effect: allow", id="effect-case-sensitive"),
    pytest.param(doc(statement(Principal=None)), "Missing required field Principal", id="no-principal"),
    pytest.param(doc(statement(NotPrincipal="*")), "Invalid principal in policy", id="principal-and-notprincipal"),
    pytest.param(doc(statement(Principal="someone")), "Invalid principal in policy", id="principal-bare-string"),
    pytest.param(doc(statement(Principal={})), "Invalid principal in policy", id="principal-empty-object"),
    pytest.param(doc(statement(Principal={"AWS": []})), "Invalid principal in policy", id="principal-empty-list"),
    pytest.param(doc(statement(Principal={"Friend": "x"})), "Invalid principal in policy", id="principal-unknown-type"),
    pytest.param(doc(statement(Principal={"AWS": "arn:aws:iam::1:role/r"})), "Invalid principal in policy", id="principal-role"),
    pytest.param(doc(statement(Principal={"AWS": "arn:aws:iam::1:user/*"})), "Invalid principal in policy", id="principal-partial-wildcard"),
    pytest.param(doc(statement(Principal={"AWS": "bad id"})), "Invalid principal in policy", id="principal-bad-owner-id"),
    pytest.param(doc(statement(Principal={"CanonicalUser": "*"})), "Invalid principal in policy", id="canonical-user-wildcard"),
    pytest.param(doc(statement(Action=None)), "Missing required field Action", id="no-action"),
    pytest.param(doc(statement(NotAction="s3:PutObject")), "Policy has invalid action", id="action-and-notaction"),
    pytest.param(doc(statement(Action="iam:CreateUser")), "Policy has invalid action", id="action-other-service"),
    pytest.param(doc(statement(Action="s3:GetObjekt")), "Policy has invalid action", id="action-typo"),
    pytest.param(doc(statement(Action="s3:Frob*")), "Policy has invalid action", id="action-wildcard-matching-nothing"),
    pytest.param(doc(statement(Action=[])), "Policy has invalid action", id="action-empty-list"),
    pytest.param(doc(statement(Action=7)), "Policy has invalid action", id="action-not-string"),
    pytest.param(doc(statement(Resource=None)), "Missing required field Resource", id="no-resource"),
    pytest.param(doc(statement(NotResource=BUCKET)), "Policy has invalid resource", id="resource-and-notresource"),
    pytest.param(doc(statement(Resource="*")), "Policy has invalid resource", id="resource-star"),
    pytest.param(doc(statement(Resource="arn:aws:s3:::other/*")), "Policy has invalid resource", id="resource-other-bucket"),
    pytest.param(doc(statement(Resource=f"arn:aws:s3:::{B}x/*")), "Policy has invalid resource", id="resource-bucket-name-prefix"),
    pytest.param(doc(statement(Resource="arn:aws:s3:::*")), "Policy has invalid resource", id="resource-any-bucket"),
    pytest.param(doc(statement(Resource=f"{B}/*")), "Policy has invalid resource", id="resource-not-arn"),
    pytest.param(doc(statement(Resource=BUCKET)), "Action does not apply to any resource(s) in statement", id="object-action-on-bucket"),
    pytest.param(doc(statement(Action="s3:ListBucket")), "Action does not apply to any resource(s) in statement", id="bucket-action-on-objects"),
    pytest.param(doc(statement(Action="s3:ListAllMyBuckets")), "Action does not apply to any resource(s) in statement", id="account-action"),
    pytest.param(doc(statement(Sid="a"), statement(Sid="a")), "Statement IDs (SID) in a single policy must be unique.", id="duplicate-sid"),
    pytest.param(doc(statement(Condition={"StringEqualz": {"s3:prefix": "a"}})), "Invalid Condition type : StringEqualz", id="unknown-condition-operator"),
    pytest.param(doc("not a statement"), "This policy contains invalid Json", id="statement-not-object"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed(text: str | bytes, message: str) -> None:
    """Each malformed document is refused with MalformedPolicy (400) and S3's message."""
    with pytest.raises(S3Error) as e:
        parse_policy(text, B)
    assert (e.value.code, e.value.status, e.value.message) == ("MalformedPolicy", 400, message)


def test_unknown_owner_is_invalid_principal() -> None:
    """With an owner lookup, a principal naming an unknown owner is refused, as S3 refuses unknown accounts."""
    text = doc(statement(Principal={"AWS": [f"arn:aws:iam::{OWNER}:root", "999"]}))
    with pytest.raises(S3Error) as e:
        parse_policy(text, B, owner_exists=lambda o: o == OWNER)
    assert e.value.message == "Invalid principal in policy"
    assert parse_policy(text, B, owner_exists=lambda o: True).statements


def test_accepted_shapes() -> None:
    """A single statement object, a missing Version (2008-10-17), NotX elements, Id and bytes are all accepted."""
    policy = parse_policy(
        json.dumps(
            {
                "Id": "p1",
                "Statement": {
                    "Effect": "Deny",
                    "NotPrincipal": {"AWS": OWNER},
                    "NotAction": "s3:GetObject",
                    "NotResource": OBJECTS,
                },
            }
        ).encode(),
        B,
    )
    assert policy.version == "2008-10-17" and policy.id == "p1"
    (s,) = policy.statements
    assert (s.not_principal, s.not_action, s.not_resource, s.sid) == (True, True, True, None)


def test_text_kept() -> None:
    """The document is kept as sent, for GetBucketPolicy to return."""
    text = '  {"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "OBJ"}}'
    text = text.replace("OBJ", OBJECTS)
    assert parse_policy(text, B).text == text


PRINCIPALS: list[Any] = [
    # (Principal element, caller, included)
    pytest.param("*", ANONYMOUS, True, id="star-includes-anonymous"),
    pytest.param({"AWS": "*"}, ANONYMOUS, True, id="aws-star-includes-anonymous"),
    pytest.param({"AWS": ["*"]}, Principal("9"), True, id="aws-star-list"),
    pytest.param({"AWS": f"arn:aws:iam::{OWNER}:root"}, Principal(OWNER), True, id="root-arn-account"),
    pytest.param({"AWS": f"arn:aws:iam::{OWNER}:root"}, Principal(OWNER, "bob"), True, id="root-arn-covers-users"),
    pytest.param({"AWS": f"arn:aws:iam::{OWNER}:root"}, Principal("9"), False, id="root-arn-other-owner"),
    pytest.param({"AWS": f"arn:aws:iam::{OWNER}:root"}, ANONYMOUS, False, id="root-arn-not-anonymous"),
    pytest.param({"AWS": OWNER}, Principal(OWNER), True, id="bare-owner-id"),
    pytest.param({"AWS": f"arn:aws:iam::{OWNER}:user/bob"}, Principal(OWNER, "bob"), True, id="user-arn"),
    pytest.param({"AWS": f"arn:aws:iam::{OWNER}:user/bob"}, Principal(OWNER, "eve"), False, id="user-arn-other-user"),
    pytest.param({"AWS": f"arn:aws:iam::{OWNER}:user/bob"}, Principal(OWNER), False, id="user-arn-not-account"),
    pytest.param({"AWS": f"arn:aws:iam::{OWNER}:user/div/bob"}, Principal(OWNER, "bob"), True, id="user-arn-with-path"),
    pytest.param({"CanonicalUser": OWNER}, Principal(OWNER, "bob"), True, id="canonical-user"),
    pytest.param({"Service": "logging.s3.amazonaws.com"}, Principal(OWNER), False, id="service-never-matches"),
    pytest.param({"AWS": ["9", OWNER]}, Principal(OWNER), True, id="list-any"),
]


@pytest.mark.parametrize(("element", "who", "included"), PRINCIPALS)
def test_principal(element: Any, who: Principal, included: bool) -> None:
    """Each Principal form names the txs3 callers AWS's documentation says it names."""
    policy = parse_policy(doc(statement(Principal=element)), B)
    assert policy.statements[0].names_principal(who) is included


NOT_PRINCIPALS: list[Any] = [
    # (NotPrincipal element, caller, statement applies)
    pytest.param({"AWS": f"arn:aws:iam::{OWNER}:root"}, Principal(OWNER), False, id="account-excluded"),
    pytest.param({"AWS": f"arn:aws:iam::{OWNER}:root"}, Principal("9"), True, id="others-included"),
    pytest.param({"AWS": f"arn:aws:iam::{OWNER}:root"}, ANONYMOUS, True, id="anonymous-included"),
    pytest.param({"AWS": f"arn:aws:iam::{OWNER}:user/bob"}, Principal(OWNER, "bob"), True, id="user-alone-not-excluded"),
    pytest.param(
        {"AWS": [f"arn:aws:iam::{OWNER}:user/bob", f"arn:aws:iam::{OWNER}:root"]},
        Principal(OWNER, "bob"),
        False,
        id="user-and-account-excluded",
    ),
    pytest.param(
        {"AWS": [f"arn:aws:iam::{OWNER}:user/bob", f"arn:aws:iam::{OWNER}:root"]},
        Principal(OWNER, "eve"),
        True,
        id="other-user-of-account-included",
    ),
]


@pytest.mark.parametrize(("element", "who", "applies"), NOT_PRINCIPALS)
def test_not_principal(element: Any, who: Principal, applies: bool) -> None:
    """NotPrincipal covers everyone not listed; a user is left out only when both it and its account are listed (AWS)."""
    policy = parse_policy(doc(statement(Principal=None, NotPrincipal=element)), B)
    assert policy.statements[0].names_principal(who) is applies


ACTIONS: list[Any] = [
    pytest.param("s3:GetObject", "s3:GetObject", True, id="exact"),
    pytest.param("S3:getobject", "s3:GetObject", True, id="case-insensitive"),
    pytest.param("s3:Get*", "s3:GetObjectVersion", True, id="star"),
    pytest.param("s3:Get*", "s3:PutObject", False, id="star-other"),
    pytest.param("s3:*Object", "s3:DeleteObject", True, id="leading-star"),
    pytest.param("s3:?etObject", "s3:GetObject", True, id="question"),
    pytest.param("s3:*", "s3:PutObject", True, id="service-star"),
    pytest.param("*", "s3:PutObject", True, id="global-star"),
]


@pytest.mark.parametrize(("element", "action", "named"), ACTIONS)
def test_action(element: str, action: str, named: bool) -> None:
    """Action elements match IAM actions case-insensitively, with * and ?."""
    policy = parse_policy(doc(statement(Action=element, Resource=[BUCKET, OBJECTS])), B)
    assert bool(policy.for_action(action)) is named


def test_not_action() -> None:
    """NotAction covers every action it does not name."""
    policy = parse_policy(doc(statement(Action=None, NotAction="s3:Delete*")), B)
    assert policy.for_action("s3:GetObject") and not policy.for_action("s3:DeleteObject")


RESOURCES: list[Any] = [
    pytest.param(OBJECTS, f"{BUCKET}/a/b.txt", True, id="all-objects"),
    pytest.param(OBJECTS, BUCKET, False, id="objects-not-bucket"),
    pytest.param(f"{BUCKET}/home/*", f"{BUCKET}/home/", True, id="prefix-star-empty-rest"),
    pytest.param(f"{BUCKET}/home/*", f"{BUCKET}/Home/x", False, id="case-sensitive"),
    pytest.param(f"{BUCKET}/*.jpg", f"{BUCKET}/a/b.jpg", True, id="suffix"),
    pytest.param(f"{BUCKET}/a?c", f"{BUCKET}/abc", True, id="question"),
    pytest.param(f"{BUCKET}/a[b]c", f"{BUCKET}/a[b]c", True, id="brackets-literal"),
    pytest.param(f"{BUCKET}/a+b", f"{BUCKET}/a+b", True, id="regex-characters-literal"),
    pytest.param(f"{BUCKET}/x", f"{BUCKET}/x/", False, id="exact-key"),
    pytest.param(f"{BUCKET}/*", f"{BUCKET}/line\nbreak", True, id="star-matches-newline"),
]


@pytest.mark.parametrize(("element", "resource", "named"), RESOURCES)
def test_resource(element: str, resource: str, named: bool) -> None:
    """Resource elements match ARNs case-sensitively with * and ?, and nothing else is special."""
    policy = parse_policy(doc(statement(Action="s3:*", Resource=[element, BUCKET])), B)
    s = policy.statements[0]
    env = Env(RequestContext(), ANONYMOUS)
    object_named = any(p.match(resource) for p in s.resources if p.text != BUCKET)
    assert object_named is named
    assert s.applies(ANONYMOUS, resource, env) is (named or resource == BUCKET)


def test_resource_variables() -> None:
    """A policy variable in a Resource is the caller's value; absent, the resource matches nothing."""
    policy = parse_policy(
        doc(statement(Principal={"AWS": OWNER}, Resource=f"{BUCKET}/home/${{aws:username}}/*")), B
    )
    s = policy.statements[0]
    bob, root = Principal(OWNER, "bob"), Principal(OWNER)
    assert s.applies(bob, f"{BUCKET}/home/bob/f", Env(RequestContext(), bob))
    assert not s.applies(bob, f"{BUCKET}/home/eve/f", Env(RequestContext(), bob))
    assert not s.applies(root, f"{BUCKET}/home//f", Env(RequestContext(), root))
    assert "aws:username" in policy.condition_keys


def test_condition_keys() -> None:
    """The policy lists the condition keys it reads, so the gate fetches existing tags only when asked."""
    policy = parse_policy(
        doc(statement(Condition={"StringEquals": {"s3:ExistingObjectTag/Team": "a"}})), B
    )
    assert policy.condition_keys == {"s3:existingobjecttag/team"}
    assert policy.needs_existing_tags
    assert not parse_policy(doc(statement()), B).needs_existing_tags


WILDCARDS: list[Any] = [
    pytest.param("*", "", True, id="star-empty"),
    pytest.param("a*b*c", "aXXbYYc", True, id="two-stars"),
    pytest.param("a*b*c", "aXXcYYb", False, id="two-stars-order"),
    pytest.param("a??", "abc", True, id="two-questions"),
    pytest.param("a??", "ab", False, id="two-questions-short"),
    pytest.param("*.txt", "a.txt", True, id="suffix"),
    pytest.param("*.txt", "a.txt.gz", False, id="suffix-anchored"),
    pytest.param("ab*", "ab", True, id="prefix-fast-path-empty-rest"),
    pytest.param("ab*", "a", False, id="prefix-fast-path-short"),
    pytest.param("a\\*", "a\\b", True, id="backslash-literal"),
    pytest.param("(a|b)", "a", False, id="regex-syntax-literal"),
]


@pytest.mark.parametrize(("pattern", "value", "matched"), WILDCARDS)
def test_wildcard(pattern: str, value: str, matched: bool) -> None:
    """Patterns know * and ? only, anchored at both ends, as IAM does."""
    assert Pattern(pattern, variables=False).match(value) is matched


def test_template_without_variables_is_literal() -> None:
    """Outside 2012-10-17 policies a ${...} in a value is text."""
    assert Template("${aws:username}", variables=False).value() == "${aws:username}"
    assert Template("a${$}b", variables=True).value() == "a$b"


def test_catalogue_actions_are_known() -> None:
    """Every IAM action the catalogue names is a known S3 action, so a policy can name it."""
    for entry in CATALOGUE:
        for action in (entry.action, entry.version_action):
            if action is not None:
                assert action.lower() in KNOWN, (entry.name, action)


def test_catalogue_action_resources() -> None:
    """Object operations name object actions and bucket operations bucket actions, except the documented few."""
    # DeleteObjects and PostObject are bucket-level requests authorised
    # per key (s3:DeleteObject, s3:PutObject on the keys their bodies
    # name); ListBuckets is not a bucket action at all.
    exceptions = {"DeleteObjects", "PostObject", "ListBuckets"}
    for entry in CATALOGUE:
        if entry.action is None or entry.name in exceptions or not entry.routes:
            continue
        level = entry.routes[0].level
        assert resource_kind(entry.action) == level, (entry.name, entry.action)
