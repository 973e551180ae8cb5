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
from typing import Any, Literal

from txs3.authz.context import Principal, RequestContext
from txs3.authz.wildcard import Pattern, Resolver, Template
from txs3.errors import S3Error

SetMode = Literal["any", "all"] | None
# The policy values compared with one request value (text, or parsed for
# addresses, numbers and dates: see Env.typed).
_Hit = Callable[[Any, Resolver], bool]
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def malformed(message: str) -> S3Error:
    """A C{MalformedPolicy} error with C{message}."""
    return S3Error.of("MalformedPolicy", message)


class Env:
    """
    One request as conditions see it: its context and its principal.  It
    remembers each key's values, and their parsed forms (addresses,
    numbers, dates), for the rest of the decision: twenty statements that
    test C{aws:SourceIp} parse the address once.
    """

    __slots__ = ("_typed", "_values", "context", "principal")

    def __init__(self, context: RequestContext, principal: Principal) -> None:
        self.context = context
        self.principal = principal
        self._values: dict[str, tuple[str, ...] | None] = {}
        self._typed: dict[tuple[str, str], tuple[Any, ...] | None] = {}

    def values(self, key: str) -> tuple[str, ...] | None:
        """All values of C{key} (lower-case), or None if absent."""
        try:
            return self._values[key]
        except KeyError:
            found = self._values[key] = self.context.values(key, self.principal)
            return found

    def single(self, key: str) -> str | None:
        """The one value of C{key}: the resolver policy variables use."""
        found = self.values(key)
        return found[0] if found is not None and len(found) == 1 else None

    def typed(self, key: str, kind: str) -> tuple[Any, ...] | None:
        """
        The values of C{key} parsed for C{kind} (C{ip}: C{(version, int)};
        C{numeric}, C{date}: a float), None for a value that does not
        parse; None if the key is absent.
        """
        memo = (kind, key)
        try:
            return self._typed[memo]
        except KeyError:
            pass
        context = self.context
        result: tuple[Any, ...] | None
        if kind == "ip" and key == "aws:sourceip":
            address = context.source_address
            result = None if address is None else ((address.version, int(address)),)
        elif kind == "date" and key in _TIME_KEYS and context.now is not None:
            # Both keys have whole seconds: skip formatting and parsing.
            result = (float(int(context.now)),)
        else:
            found = self.values(key)
            convert = _CONVERT[kind]
            result = None if found is None else tuple(convert(v) for v in found)
        self._typed[memo] = result
        return result


_TIME_KEYS = frozenset({"aws:currenttime", "aws:epochtime"})


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


def _address(text: str) -> tuple[int, int] | None:
    """An address as C{(version, integer)}; IPv4-mapped IPv6 as IPv4."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.version, int(address)


_CONVERT: Mapping[str, Callable[[str], Any]] = {
    "ip": _address,
    "numeric": parse_number,
    "date": parse_date,
}


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
        "typed",
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
        self.typed = op.kind if op.kind in _CONVERT else None
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

        def compare(number: float | None, _: Resolver) -> bool:
            return number is not None and any(order(number, b) for b in bounds)

        return compare

    def holds(self, env: Env) -> bool:
        """Whether this clause holds for the request C{env} describes."""
        typed = self.typed
        found = env.values(self.key) if typed is None else env.typed(self.key, typed)
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
            if len(found) == 1:
                matched = hit(found[0], resolve)
            else:
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
    blocks = [(n.version, int(n.network_address), int(n.netmask)) for n in networks]

    def hit(address: tuple[int, int] | None, _: Resolver) -> bool:
        if address is None:
            return False
        version, number = address
        for block_version, network, mask in blocks:
            if version == block_version and number & mask == network:
                return True
        return False

    return hit


# -- the Condition element ----------------------------------------------------

_KEY = re.compile(r"[A-Za-z0-9-]+:\S.*", re.DOTALL)


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
