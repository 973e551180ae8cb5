"""
IAM string patterns, compiled once.

Two kinds of text appear in a policy where a request's value is compared:

  - a L{Pattern}: C{*} matches any run of characters (also none), C{?}
    exactly one, everything else itself (no C{[...]} classes, unlike
    C{fnmatch});
  - a L{Template}: literal text, compared whole.

Either may hold policy variables (C{${aws:username}},
C{${s3:prefix, 'default'}}) when the policy's C{Version} is
C{2012-10-17}.  C{${*}}, C{${?}} and C{${$}} stand for a literal C{*},
C{?} and C{$}.  A variable whose key is absent from the request (and has
no default) makes the value unmatchable: AWS says such a value is
"effectively null", equal to and like nothing.  A variable's value is
data: a C{*} in a user name is not a wildcard.

Matching a pattern without variables is a string comparison, a prefix
test or one precompiled regular expression; only patterns with variables
build a regular expression per request (and C{re} caches it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

#: Gives the single value of a condition key (lower-case name), or None.
Resolver = Callable[[str], "str | None"]

_VARIABLE = re.compile(r"\$\{\s*([^\s,'}]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?\}")
_ESCAPES = frozenset("*?$")


@dataclass(frozen=True, slots=True)
class _Var:
    """A policy variable: a condition key, and the text used when absent."""

    key: str  # lower-case
    default: str | None


@dataclass(frozen=True, slots=True)
class _Raw:
    """Text that is literal even in a pattern (an escape, a variable's value)."""

    text: str


# Plain str parts are policy text: in a Pattern their * and ? are wildcards.
_Part = str | _Raw | _Var


def split_variables(text: str) -> tuple[_Part, ...]:
    """Split C{text} into policy text, escapes and variables."""
    if "${" not in text:
        return (text,)
    parts: list[_Part] = []
    pos = 0
    for match in _VARIABLE.finditer(text):
        if match.start() > pos:
            parts.append(text[pos : match.start()])
        key, default = match.group(1), match.group(2)
        if key in _ESCAPES and default is None:
            parts.append(_Raw(key))
        else:
            parts.append(
                _Var(
                    key.lower(), None if default is None else default.replace("''", "'")
                )
            )
        pos = match.end()
    if pos < len(text):
        parts.append(text[pos:])
    return tuple(parts)


def _variable_keys(parts: tuple[_Part, ...]) -> frozenset[str]:
    return frozenset(p.key for p in parts if isinstance(p, _Var))


def _resolved(parts: tuple[_Part, ...], resolve: Resolver) -> list[str | _Raw] | None:
    """Parts with variables replaced by their values; None if one is absent."""
    out: list[str | _Raw] = []
    for part in parts:
        if isinstance(part, _Var):
            value = resolve(part.key)
            if value is None:
                value = part.default
            if value is None:
                return None
            out.append(_Raw(value))
        else:
            out.append(part)
    return out


def _text(parts: list[str | _Raw] | tuple[_Part, ...]) -> str:
    return "".join(
        p if isinstance(p, str) else p.text for p in parts if not isinstance(p, _Var)
    )


def _regex_source(parts: list[str | _Raw] | tuple[_Part, ...]) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, _Raw):
            out.append(re.escape(part.text))
        elif isinstance(part, str):
            out.extend(
                ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in part
            )
    return "".join(out)


def _never(_: str) -> str | None:
    return None


class Template:
    """Literal text (with optional variables), compared whole."""

    __slots__ = ("_literal", "_parts", "text")

    def __init__(self, text: str, variables: bool) -> None:
        self.text = text
        parts = split_variables(text) if variables else (text,)
        self._parts = parts
        self._literal = None if _variable_keys(parts) else _text(parts)

    @property
    def keys(self) -> frozenset[str]:
        """Condition keys named by variables."""
        return _variable_keys(self._parts)

    def value(self, resolve: Resolver = _never) -> str | None:
        """The text with variables resolved; None if one is absent."""
        if self._literal is not None:
            return self._literal
        parts = _resolved(self._parts, resolve)
        return None if parts is None else _text(parts)

    def __repr__(self) -> str:
        return f"Template({self.text!r})"


_ANY, _EXACT, _PREFIX, _REGEX, _VARS = range(5)


class Pattern:
    """
    A C{*}/C{?} pattern (with optional variables), matched against the
    whole of a string; C{ignore_case} folds both sides to lower case.
    """

    __slots__ = ("_kind", "_literal", "_parts", "_regex", "ignore_case", "text")

    def __init__(self, text: str, variables: bool, ignore_case: bool = False) -> None:
        self.text = text
        self.ignore_case = ignore_case
        if ignore_case:
            text = text.lower()
        parts = split_variables(text) if variables else (text,)
        self._parts = parts
        self._literal = ""
        self._regex: re.Pattern[str] | None = None
        if _variable_keys(parts):
            self._kind = _VARS
        elif not any(isinstance(p, str) and ("*" in p or "?" in p) for p in parts):
            self._kind = _EXACT
            self._literal = _text(parts)
        elif parts == ("*",):
            self._kind = _ANY
        elif (
            len(parts) == 1
            and isinstance(parts[0], str)
            and parts[0].endswith("*")
            and "*" not in parts[0][:-1]
            and "?" not in parts[0]
        ):
            self._kind = _PREFIX
            self._literal = parts[0][:-1]
        else:
            self._kind = _REGEX
            self._regex = re.compile(_regex_source(parts), re.DOTALL)

    @property
    def keys(self) -> frozenset[str]:
        """Condition keys named by variables."""
        return _variable_keys(self._parts)

    @property
    def has_wildcard(self) -> bool:
        """Whether the pattern has a C{*} or C{?} wildcard."""
        return any(isinstance(p, str) and ("*" in p or "?" in p) for p in self._parts)

    @property
    def has_variables(self) -> bool:
        """Whether the pattern holds policy variables."""
        return self._kind == _VARS

    def match(self, value: str, resolve: Resolver = _never) -> bool:
        """Whether all of C{value} matches, variables resolved by C{resolve}."""
        kind = self._kind
        if self.ignore_case:
            value = value.lower()
        if kind == _EXACT:
            return value == self._literal
        if kind == _ANY:
            return True
        if kind == _PREFIX:
            return value.startswith(self._literal)
        if kind == _REGEX:
            assert self._regex is not None
            return self._regex.fullmatch(value) is not None
        parts = _resolved(self._parts, resolve)
        if parts is None:
            return False
        flags = re.DOTALL | (re.IGNORECASE if self.ignore_case else 0)
        return re.fullmatch(_regex_source(parts), value, flags) is not None

    def __repr__(self) -> str:
        return f"Pattern({self.text!r})"
