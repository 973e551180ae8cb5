"""
The POST policy of a browser upload, parsed once and evaluated as values.

The policy is a base64-encoded UTF-8 JSON document (AWS, "Creating a POST
policy") with an ``expiration`` (ISO 8601, UTC) and a list of
``conditions``:

  - ``{"field": "value"}`` and ``["eq", "$field", "value"]``: the field's
    value is exactly C{value};
  - ``["starts-with", "$field", "prefix"]``: the value begins with
    C{prefix}; an empty prefix allows any content;
  - ``["content-length-range", min, max]``: the file's size in bytes, both
    ends inclusive.

A ``starts-with`` on ``Content-Type`` reads a value holding commas as a
list whose every member must start with the prefix (AWS, "Matching
Content-Types in a Comma-Separated List").  Field names compare
case-insensitively, values case-sensitively.  Every
form field must be named by some condition, except the ones AWS exempts
(L{EXEMPT_FIELDS} and any ``x-ignore-*``).  ``bucket`` is not a form field:
the caller passes the bucket of the request, and a ``bucket`` condition is
checked against it.  The ``key`` is checked after ``${filename}`` has been
replaced (L{substitute_filename}).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from txs3.errors import S3Error

#: Form fields no condition need name (AWS; the last two are SigV2's).
EXEMPT_FIELDS = frozenset(
    {"x-amz-signature", "file", "policy", "signature", "awsaccesskeyid"}
)
IGNORE_PREFIX = "x-ignore-"

_EXPIRATION = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z\Z"
)


@dataclass(frozen=True)
class Condition:
    """
    One ``eq`` or ``starts-with`` condition.  C{field} is lower-case, without
    the ``$``; C{written} is the name as the policy spells it, for messages.
    """

    op: Literal["eq", "starts-with"]
    field: str
    written: str
    value: str

    def describe(self) -> str:
        """The condition as AWS quotes it in a refusal."""
        return json.dumps([self.op, "$" + self.written, self.value])


@dataclass(frozen=True)
class PostPolicy:
    """
    A parsed policy: its expiry (POSIX seconds), its field conditions, and
    the ``content-length-range`` (inclusive bounds), if any.
    """

    expiration: float
    conditions: tuple[Condition, ...]
    length_range: tuple[int, int] | None = None

    @property
    def max_length(self) -> int | None:
        """The largest file the policy allows: stop reading beyond it."""
        return None if self.length_range is None else self.length_range[1]


def _invalid(message: str) -> S3Error:
    return S3Error.of("InvalidPolicyDocument", f"Invalid Policy: {message}")


def _denied(message: str) -> S3Error:
    return S3Error.of("AccessDenied", f"Invalid according to Policy: {message}")


def _parse_expiration(value: object) -> float:
    if not isinstance(value, str):
        raise _invalid("Invalid 'expiration' value.")
    match = _EXPIRATION.match(value)
    if match is None:
        raise _invalid(f"Invalid 'expiration' value: '{value}'")
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))
    except (ValueError, OverflowError) as e:
        raise _invalid(f"Invalid 'expiration' value: '{value}'") from e


def _field_name(text: object, condition: object) -> str:
    if not isinstance(text, str) or not text.startswith("$") or len(text) < 2:
        raise _invalid(f"Invalid Condition: {json.dumps(condition)}")
    return text[1:]


def _integer(value: object, condition: object) -> int:
    if isinstance(value, bool):
        raise _invalid(f"Invalid content-length-range: {json.dumps(condition)}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise _invalid(f"Invalid content-length-range: {json.dumps(condition)}")


def parse_post_policy(encoded: str) -> PostPolicy:
    """
    Decode and parse the ``policy`` form field.

    @raise S3Error: C{InvalidPolicyDocument} (400) when the field is not
        base64 of a UTF-8 JSON object with a valid ``expiration`` and a
        ``conditions`` list of well-formed conditions.
    """
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
        document: Any = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError) as e:
        raise _invalid("Invalid JSON.") from e
    if not isinstance(document, dict):
        raise _invalid("Invalid JSON.")
    if "expiration" not in document:
        raise _invalid("Policy missing expiration.")
    expiration = _parse_expiration(document["expiration"])
    raw_conditions = document.get("conditions")
    if not isinstance(raw_conditions, list):
        raise _invalid("Policy missing conditions.")
    conditions: list[Condition] = []
    length_range: tuple[int, int] | None = None
    for item in raw_conditions:
        if isinstance(item, dict):
            if len(item) != 1:
                raise _invalid(f"Invalid Simple-Condition: {json.dumps(item)}")
            ((name, value),) = item.items()
            if not isinstance(value, str):
                raise _invalid(f"Invalid Simple-Condition: {json.dumps(item)}")
            conditions.append(Condition("eq", name.lower(), name, value))
        elif isinstance(item, list) and len(item) == 3 and isinstance(item[0], str):
            op = item[0].lower()
            if op in ("eq", "starts-with"):
                name = _field_name(item[1], item)
                if not isinstance(item[2], str):
                    raise _invalid(f"Invalid Condition: {json.dumps(item)}")
                kind: Literal["eq", "starts-with"] = (
                    "eq" if op == "eq" else "starts-with"
                )
                conditions.append(Condition(kind, name.lower(), name, item[2]))
            elif op == "content-length-range":
                low, high = _integer(item[1], item), _integer(item[2], item)
                if low > high:
                    raise _invalid(f"Invalid content-length-range: {json.dumps(item)}")
                length_range = (low, high)
            else:
                raise _invalid(f"Invalid Condition: {json.dumps(item)}")
        else:
            raise _invalid(f"Invalid Condition: {json.dumps(item)}")
    return PostPolicy(expiration, tuple(conditions), length_range)


def substitute_filename(key: str, filename: str) -> str:
    """
    The object key: C{key} with each ``${filename}`` replaced by the base
    name of the uploaded file (browsers may send a path).
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return key.replace("${filename}", base)


def object_key(fields: Mapping[str, str], filename: str) -> str:
    """
    The key the form writes: its ``key`` field with ``${filename}``
    replaced (L{substitute_filename}).

    @raise S3Error: C{InvalidArgument} (AWS's message) when the form has no
        ``key`` field before the file, or an empty one.
    """
    key = fields.get("key")
    if not key:
        raise S3Error.of(
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.  If it is "
            "specified, please check the order of the fields.",
            ArgumentName="key",
            ArgumentValue="",
        )
    return substitute_filename(key, filename)


def is_exempt(field: str) -> bool:
    """Whether a form field (lower-case) needs no condition."""
    return field in EXEMPT_FIELDS or field.startswith(IGNORE_PREFIX)


def check_policy(
    policy: PostPolicy, fields: Mapping[str, str], *, bucket: str, now: float
) -> None:
    """
    Check a form's fields (lower-case names; ``key`` already substituted)
    against C{policy} at POSIX time C{now}.  A field a condition names but
    the form lacks counts as empty.

    @raise S3Error: C{AccessDenied} "Invalid according to Policy: Policy
        expired." at or after the expiration; "...: Policy Condition
        failed: [...]" naming the first condition that fails; "...: Extra
        input fields: ..." naming the fields no condition covers.
    """
    if now >= policy.expiration:
        raise _denied("Policy expired.")
    values = dict(fields)
    values["bucket"] = bucket
    for condition in policy.conditions:
        value = values.get(condition.field, "")
        if condition.op == "eq":
            ok = value == condition.value
        elif condition.field == "content-type":
            # AWS: a Content-Type holding commas is a list, and every
            # member must start with the prefix.
            ok = all(v.strip().startswith(condition.value) for v in value.split(","))
        else:
            ok = value.startswith(condition.value)
        if not ok:
            raise _denied(f"Policy Condition failed: {condition.describe()}")
    covered = {c.field for c in policy.conditions}
    extra = [f for f in fields if not is_exempt(f) and f not in covered]
    if extra:
        raise _denied(f"Extra input fields: {', '.join(extra)}")


def check_length(policy: PostPolicy, size: int) -> None:
    """
    Check the file's size against the policy's ``content-length-range``.

    @raise S3Error: C{EntityTooLarge} or C{EntityTooSmall}, with AWS's
        ``ProposedSize`` and ``MaxSizeAllowed`` or ``MinSizeAllowed``.
    """
    if policy.length_range is None:
        return
    low, high = policy.length_range
    if size > high:
        raise S3Error.of(
            "EntityTooLarge", ProposedSize=str(size), MaxSizeAllowed=str(high)
        )
    if size < low:
        raise S3Error.of(
            "EntityTooSmall", ProposedSize=str(size), MinSizeAllowed=str(low)
        )
