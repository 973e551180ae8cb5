"""
The C{Condition} element: parsed once into L{Clause} values, evaluated
per request.

Semantics, as AWS's "IAM JSON policy elements: Condition operators" and
"Single-valued vs. multivalued context keys" pages give them:

  - a statement's conditions all hold (operators AND, keys AND); the
    values listed for one key are alternatives (OR);
  - a key absent from the request makes a positive operator false and a
    negated one (C{StringNotEquals}, C{NotIpAddress}, ...) true;
  - C{...IfExists}: true when the key is absent, else the operator;
  - C{Null}: C{"true"} holds when the key is absent, C{"false"} when present;
  - C{ForAllValues:}: every request value matches (for a negated operator:
    matches none of the policy values); true when the key is absent or
    empty;
  - C{ForAnyValue:}: some request value matches; false when the key is
    absent or empty;
  - a negated operator is the negation of its positive form over all the
    request's values;
  - policy variables in string, ARN and Bool values (policy version
    C{2012-10-17} only); numbers, dates and addresses take none.

Errors are C{MalformedPolicy}.  C{"Invalid Condition type : X"} is the
message S3 gives for an unknown operator; the messages for bad values and
keys are txs3's own wording.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from txs3.authz.context import Principal, RequestContext
from txs3.authz.wildcard import Pattern, Resolver, Template
from txs3.errors import S3Error

SetMode = Literal["any", "all"] | None
# A policy value compared with one request value.
_Hit = Callable[[str, Resolver], bool]
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def malformed(message: str) -> S3Error:
    """A C{MalformedPolicy} error with C{message}."""
    return S3Error.of("MalformedPolicy", message)


class Env:
    """One request as conditions see it: its context and its principal."""

    __slots__ = ("context", "principal")

    def __init__(self, context: RequestContext, principal: Principal) -> None:
        self.context = context
        self.principal = principal

    def values(self, key: str) -> tuple[str, ...] | None:
        """All values of C{key} (lower-case), or None if absent."""
        return self.context.values(key, self.principal)

    def single(self, key: str) -> str | None:
        """The one value of C{key}: the resolver policy variables use."""
        return self.context.single(key, self.principal)


# -- values -------------------------------------------------------------


def parse_number(text: str) -> float | None:
    """A decimal number, or None."""
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return (
        value if value == value and value not in (float("inf"), float("-inf")) else None
    )


_EPOCH = re.compile(r"-?\d+(\.\d+)?")


def parse_date(text: str) -> float | None:
    """ISO 8601 (date, or date and time; naive means UTC) or POSIX seconds."""
    text = text.strip()
    if _EPOCH.fullmatch(text):
        return float(text)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def parse_network(text: str) -> _Network | None:
    """A CIDR block or a single address (IPv4 or IPv6), or None."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


# -- operators ------------------------------------------------------------

_Kind = Literal[
    "string",
    "string_ic",
    "like",
    "arn",
    "numeric",
    "date",
    "bool",
    "binary",
    "ip",
    "null",
]
_Compare = Literal["eq", "lt", "le", "gt", "ge"]


@dataclass(frozen=True, slots=True)
class _Operator:
    kind: _Kind
    negated: bool = False
    compare: _Compare = "eq"


def _numeric_family(prefix: str) -> dict[str, _Operator]:
    kind: _Kind = "numeric" if prefix == "Numeric" else "date"
    return {
        f"{prefix}Equals": _Operator(kind),
        f"{prefix}NotEquals": _Operator(kind, negated=True),
        f"{prefix}LessThan": _Operator(kind, compare="lt"),
        f"{prefix}LessThanEquals": _Operator(kind, compare="le"),
        f"{prefix}GreaterThan": _Operator(kind, compare="gt"),
        f"{prefix}GreaterThanEquals": _Operator(kind, compare="ge"),
    }


OPERATORS: Mapping[str, _Operator] = {
    "StringEquals": _Operator("string"),
    "StringNotEquals": _Operator("string", negated=True),
    "StringEqualsIgnoreCase": _Operator("string_ic"),
    "StringNotEqualsIgnoreCase": _Operator("string_ic", negated=True),
    "StringLike": _Operator("like"),
    "StringNotLike": _Operator("like", negated=True),
    **_numeric_family("Numeric"),
    **_numeric_family("Date"),
    "Bool": _Operator("bool"),
    "BinaryEquals": _Operator("binary"),
    "IpAddress": _Operator("ip"),
    "NotIpAddress": _Operator("ip", negated=True),
    "ArnEquals": _Operator("arn"),
    "ArnLike": _Operator("arn"),
    "ArnNotEquals": _Operator("arn", negated=True),
    "ArnNotLike": _Operator("arn", negated=True),
    "Null": _Operator("null"),
}
_BY_LOWER = {name.lower(): name for name in OPERATORS}

_ORDER: Mapping[_Compare, Callable[[float, float], bool]] = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


@dataclass(frozen=True, slots=True)
class OperatorName:
    """A parsed operator name: C{ForAnyValue:StringLikeIfExists}."""

    name: str  # the base operator, canonical spelling: StringLike
    set_mode: SetMode
    if_exists: bool


def parse_operator(text: str) -> OperatorName:
    """
    Split an operator name into set qualifier, base operator and
    C{IfExists} (case-insensitively).

    @raise S3Error: C{MalformedPolicy} for an unknown operator.
    """
    rest = text
    set_mode: SetMode = None
    prefix, colon, tail = text.partition(":")
    if colon:
        qualifier = prefix.lower()
        if qualifier == "foranyvalue":
            set_mode = "any"
        elif qualifier == "forallvalues":
            set_mode = "all"
        else:
            raise malformed(f"Invalid Condition type : {text}")
        rest = tail
    if_exists = rest.lower().endswith("ifexists") and rest.lower() not in _BY_LOWER
    if if_exists:
        rest = rest[: -len("IfExists")]
    name = _BY_LOWER.get(rest.lower())
    if name is None or (name == "Null" and (if_exists or set_mode is not None)):
        raise malformed(f"Invalid Condition type : {text}")
    return OperatorName(name, set_mode, if_exists)


# -- clauses --------------------------------------------------------------


class Clause:
    """
    One operator applied to one key: C{{"StringLike": {"s3:prefix": [...]}}}
    gives one clause per key.

    @ivar operator: the operator as written in the policy.
    @ivar key: the condition key, lower case.
    @ivar values: the policy values, as text.
    """

    __slots__ = (
        "_hit",
        "_null",
        "if_exists",
        "key",
        "kind",
        "negated",
        "operator",
        "set_mode",
        "values",
        "variable_keys",
    )

    def __init__(
        self,
        operator: str,
        key: str,
        values: Sequence[str],
        variables: bool,
    ) -> None:
        parsed = parse_operator(operator)
        op = OPERATORS[parsed.name]
        self.operator = operator
        self.key = key.lower()
        self.values = tuple(values)
        self.kind: _Kind = op.kind
        self.negated = op.negated
        self.set_mode = parsed.set_mode
        self.if_exists = parsed.if_exists
        self._null: bool | None = None
        self.variable_keys: frozenset[str] = frozenset()
        if not values:
            raise malformed(f"Condition {operator} has no value for {key}")
        self._hit = self._compile(op, operator, variables)

    def _compile(self, op: _Operator, operator: str, variables: bool) -> _Hit:
        values = self.values
        if op.kind == "null":
            flags = {v.lower() for v in values}
            if not flags <= {"true", "false"}:
                raise malformed(f"Invalid value for {operator}: {values[0]}")
            # Several values: any may hold ("true" and "false": always).
            self._null = (
                True if flags == {"true"} else False if flags == {"false"} else None
            )
            return lambda _v, _r: False
        if op.kind in ("string", "string_ic", "bool", "binary"):
            templates = [Template(v, variables) for v in values]
            self.variable_keys = frozenset().union(*(t.keys for t in templates))
            fold = op.kind in ("string_ic", "bool")
            return _equals(templates, fold)
        if op.kind in ("like", "arn"):
            patterns = [Pattern(v, variables) for v in values]
            self.variable_keys = frozenset().union(*(p.keys for p in patterns))
            return lambda v, r: any(p.match(v, r) for p in patterns)
        if op.kind == "ip":
            networks = [parse_network(v) for v in values]
            if any(n is None for n in networks):
                raise malformed(
                    f"Invalid value for {operator}: {values[networks.index(None)]}"
                )
            return _in_networks([n for n in networks if n is not None])
        parse = parse_number if op.kind == "numeric" else parse_date
        numbers = [parse(v) for v in values]
        if any(n is None for n in numbers):
            raise malformed(
                f"Invalid value for {operator}: {values[numbers.index(None)]}"
            )
        order = _ORDER[op.compare]
        bounds = [n for n in numbers if n is not None]

        def compare(v: str, _: Resolver) -> bool:
            number = parse(v)
            return number is not None and any(order(number, b) for b in bounds)

        return compare

    def holds(self, env: Env) -> bool:
        """Whether this clause holds for the request C{env} describes."""
        found = env.values(self.key)
        present = bool(found)
        if self.kind == "null":
            return self._null is None or self._null is not present
        if not present:
            if self.if_exists or self.set_mode == "all":
                return True
            if self.set_mode == "any":
                return False
            return self.negated
        assert found is not None
        hit, resolve = self._hit, env.single
        if self.set_mode is None:
            matched = any(hit(v, resolve) for v in found)
            return not matched if self.negated else matched
        if self.negated:
            per_value = (not hit(v, resolve) for v in found)
        else:
            per_value = (hit(v, resolve) for v in found)
        return all(per_value) if self.set_mode == "all" else any(per_value)

    def __repr__(self) -> str:
        return f"Clause({self.operator!r}, {self.key!r}, {list(self.values)!r})"


def _equals(templates: list[Template], fold: bool) -> _Hit:
    literals = [t.value() for t in templates if not t.keys]
    fixed = frozenset(v.lower() if fold else v for v in literals if v is not None)
    dynamic = [t for t in templates if t.keys]

    def hit(value: str, resolve: Resolver) -> bool:
        if fold:
            value = value.lower()
        if value in fixed:
            return True
        for template in dynamic:
            expected = template.value(resolve)
            if (
                expected is not None
                and (expected.lower() if fold else expected) == value
            ):
                return True
        return False

    return hit


def _in_networks(networks: list[_Network]) -> _Hit:
    def hit(value: str, _: Resolver) -> bool:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return any(address in n for n in networks if n.version == address.version)

    return hit


# -- the Condition element ----------------------------------------------------

_KEY = re.compile(r"[A-Za-z0-9-]+:[^\s]+")


def _text_value(value: object, operator: str) -> str:
    # JSON numbers and booleans are accepted where IAM takes text:
    # {"Bool": {"aws:SecureTransport": false}}, {"NumericLessThan": {...: 10}}.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise malformed(f"Invalid value for {operator}: {value!r}")


def parse_condition(element: object, variables: bool) -> tuple[Clause, ...]:
    """
    Parse a statement's C{Condition} element.

    @param variables: whether policy variables are recognised (policy
        version C{2012-10-17}).
    @raise S3Error: C{MalformedPolicy} for anything but an object of
        operators to objects of keys to values; unknown operators
        (C{Invalid Condition type : X}); bad keys or values.
    """
    if not isinstance(element, dict):
        raise malformed("Invalid Condition element")
    clauses: list[Clause] = []
    for operator, keys in element.items():
        parse_operator(operator)
        if not isinstance(keys, dict) or not keys:
            raise malformed(f"Invalid Condition block for {operator}")
        for key, raw in keys.items():
            if not _KEY.fullmatch(key):
                raise malformed(f"Policy has an invalid condition key: {key}")
            items = raw if isinstance(raw, list) else [raw]
            values = [_text_value(v, operator) for v in items]
            clauses.append(Clause(operator, key, values, variables))
    return tuple(clauses)


def all_hold(clauses: tuple[Clause, ...], env: Env) -> bool:
    """Whether every clause holds (an empty condition holds)."""
    for clause in clauses:
        if not clause.holds(env):
            return False
    return True
