"""
Lifecycle configurations as values: S3's ``<LifecycleConfiguration>``
document read, checked as AWS checks it, and written back.

What is checked, and how AWS answers it: a rule needs ``Status`` Enabled
or Disabled and at least one action; IDs are unique and at most 255
characters (a rule without one gets a random ID, as AWS gives it); the
filter is the legacy top-level ``Prefix``, or ``Filter`` with one of
``Prefix``, ``Tag``, the object-size bounds, or ``And``; ``Expiration``
has exactly one of ``Days`` (positive), ``Date`` (midnight UTC) or
``ExpiredObjectDeleteMarker``; the noncurrent and multipart actions have
positive day counts; at most 1,000 rules.  Transitions are kept and
written back, but never run: txs3 has one storage class.
"""

from __future__ import annotations

import calendar
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from xml.etree.ElementTree import Element

from txs3 import xml
from txs3.errors import S3Error

MAX_RULES = 1000
MAX_ID_LENGTH = 255
MAX_FILTER_TAGS = 10
MAX_NEWER_NONCURRENT = 100
DAY = 86400

FilterForm = Literal["all", "legacy", "prefix", "tag", "size", "and"]


@dataclass(frozen=True)
class Filter:
    """
    Which objects a rule applies to: all of the given conditions hold.

    @ivar form: how the rule said it, so that it is written back the same
        way (``legacy`` is the top-level ``Prefix``; ``all`` no filter or
        an empty one).
    """

    form: FilterForm = "all"
    prefix: str = ""
    tags: tuple[tuple[str, str], ...] = ()
    size_greater_than: int | None = None
    size_less_than: int | None = None


@dataclass(frozen=True)
class Expiration:
    """Exactly one of the three is set."""

    days: int | None = None
    date: float | None = None
    expired_object_delete_marker: bool = False


@dataclass(frozen=True)
class Rule:
    rule_id: str
    enabled: bool
    filter: Filter
    expiration: Expiration | None = None
    noncurrent_days: int | None = None
    newer_noncurrent_versions: int | None = None
    abort_after_days: int | None = None
    #: Transition elements as sent (name, text) pairs: kept, never run.
    transitions: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = field(default=())


@dataclass(frozen=True)
class LifecycleConfiguration:
    rules: tuple[Rule, ...]


def _invalid(message: str) -> S3Error:
    return S3Error.of("InvalidArgument", message)


def _integer(text: str | None, least: int, message: str) -> int | None:
    """
    The integer C{text} holds (None for no element): C{MalformedXML} if it
    is no integer, C{InvalidArgument} with C{message} if below C{least}.
    """
    if text is None:
        return None
    try:
        value = int(text.strip())
    except ValueError:
        raise S3Error.of("MalformedXML") from None
    if value < least:
        raise _invalid(message)
    return value


def _positive(text: str | None, message: str) -> int | None:
    return _integer(text, 1, message)


def _size(text: str | None) -> int | None:
    return _integer(text, 0, "Object size must be a non-negative integer.")


def _midnight(text: str) -> float:
    """A ``Date``: ISO 8601, and midnight UTC, as AWS requires."""
    stripped = text.strip().removesuffix("Z").split(".")[0]
    try:
        parsed = time.strptime(stripped[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        try:
            parsed = time.strptime(stripped[:10], "%Y-%m-%d")
        except ValueError:
            raise _invalid("'Date' must be at midnight GMT") from None
    ts = float(calendar.timegm(parsed))
    if ts % DAY:
        raise _invalid("'Date' must be at midnight GMT")
    return ts


def _tag(el: Element) -> tuple[str, str]:
    key = xml.child_text(el, "Key")
    if key is None:
        raise S3Error.of("MalformedXML")
    return key, xml.child_text(el, "Value") or ""


def _filter(rule: Element) -> Filter:
    legacy = xml.child_text(rule, "Prefix")
    element = rule.find("Filter")
    if legacy is not None and element is not None:
        raise _invalid(
            "The Filter and Prefix elements are mutually exclusive. You can "
            "specify one or the other, but not both."
        )
    if legacy is not None:
        return Filter("legacy", prefix=legacy)
    if element is None or len(element) == 0:
        return Filter()
    names = [child.tag for child in element]
    if names == ["And"]:
        return _and(element[0])
    if names == ["Prefix"]:
        return Filter("prefix", prefix=element[0].text or "")
    if names == ["Tag"]:
        return Filter("tag", tags=(_tag(element[0]),))
    if set(names) <= {"ObjectSizeGreaterThan", "ObjectSizeLessThan"} and len(
        names
    ) == len(set(names)):
        return _sized(
            Filter("size"),
            xml.child_text(element, "ObjectSizeGreaterThan"),
            xml.child_text(element, "ObjectSizeLessThan"),
        )
    raise S3Error.of("MalformedXML")


def _and(element: Element) -> Filter:
    tags = tuple(_tag(tag) for tag in element.findall("Tag"))
    if len(tags) > MAX_FILTER_TAGS:
        raise _invalid(f"A Filter may contain at most {MAX_FILTER_TAGS} Tags.")
    if len({key for key, _ in tags}) != len(tags):
        raise _invalid("Duplicate Tag Keys are not allowed.")
    known = {"Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan"}
    if any(child.tag not in known for child in element):
        raise S3Error.of("MalformedXML")
    return _sized(
        Filter("and", prefix=xml.child_text(element, "Prefix") or "", tags=tags),
        xml.child_text(element, "ObjectSizeGreaterThan"),
        xml.child_text(element, "ObjectSizeLessThan"),
    )


def _sized(base: Filter, greater: str | None, less: str | None) -> Filter:
    low, high = _size(greater), _size(less)
    if low is not None and high is not None and low >= high:
        raise _invalid("ObjectSizeGreaterThan must be less than ObjectSizeLessThan.")
    return Filter(base.form, base.prefix, base.tags, low, high)


def _expiration(element: Element | None) -> Expiration | None:
    if element is None:
        return None
    names = [child.tag for child in element]
    if len(names) != 1 or names[0] not in ("Days", "Date", "ExpiredObjectDeleteMarker"):
        raise S3Error.of("MalformedXML")
    text = element[0].text or ""
    if names[0] == "Days":
        return Expiration(
            days=_positive(
                text, "'Days' for Expiration action must be a positive integer"
            )
        )
    if names[0] == "Date":
        return Expiration(date=_midnight(text))
    if text.strip().lower() not in ("true", "false"):
        raise S3Error.of("MalformedXML")
    return Expiration(expired_object_delete_marker=text.strip().lower() == "true")


def _action_days(action: Element | None, name: str) -> int | None:
    """
    The day count C{name} an action element (if given) must hold: a
    positive integer (C{InvalidArgument} otherwise, AWS's message), and
    present (C{MalformedXML}).
    """
    if action is None:
        return None
    days = _positive(
        xml.child_text(action, name),
        f"'{name}' for {action.tag} action must be a positive integer",
    )
    if days is None:
        raise S3Error.of("MalformedXML")
    return days


def _rule(element: Element) -> Rule:
    rule_id = xml.child_text(element, "ID")
    if rule_id is None or not rule_id:
        rule_id = str(uuid.uuid4())
    if len(rule_id) > MAX_ID_LENGTH:
        raise _invalid(f"ID length should not exceed allowed limit of {MAX_ID_LENGTH}")
    status = xml.child_text(element, "Status")
    if status not in ("Enabled", "Disabled"):
        raise S3Error.of("MalformedXML")
    which = _filter(element)
    expiration = _expiration(element.find("Expiration"))
    noncurrent = element.find("NoncurrentVersionExpiration")
    noncurrent_days = _action_days(noncurrent, "NoncurrentDays")
    newer = None
    if noncurrent is not None:
        newer = _positive(
            xml.child_text(noncurrent, "NewerNoncurrentVersions"),
            "NewerNoncurrentVersions must be a positive integer",
        )
        if newer is not None and newer > MAX_NEWER_NONCURRENT:
            raise _invalid(
                f"NewerNoncurrentVersions cannot be greater than {MAX_NEWER_NONCURRENT}"
            )
    abort = element.find("AbortIncompleteMultipartUpload")
    abort_days = _action_days(abort, "DaysAfterInitiation")
    if abort is not None:
        if which.tags:
            raise _invalid(
                "AbortIncompleteMultipartUpload cannot be specified with Tags."
            )
        if which.size_greater_than is not None or which.size_less_than is not None:
            raise _invalid(
                "AbortIncompleteMultipartUpload cannot be specified with an "
                "object size filter."
            )
    if (
        expiration is not None
        and expiration.expired_object_delete_marker
        and which.tags
    ):
        raise _invalid("ExpiredObjectDeleteMarker cannot be specified with Tags.")
    transitions = tuple(
        (child.tag, tuple((part.tag, part.text or "") for part in child))
        for child in element
        if child.tag in ("Transition", "NoncurrentVersionTransition")
    )
    if expiration is None and noncurrent is None and abort is None and not transitions:
        raise _invalid("At least one action needs to be specified in a rule")
    return Rule(
        rule_id,
        status == "Enabled",
        which,
        expiration,
        noncurrent_days,
        newer,
        abort_days,
        transitions,
    )


def parse_lifecycle(body: bytes) -> LifecycleConfiguration:
    """
    The configuration a PutBucketLifecycleConfiguration body states.

    @raise S3Error: C{MalformedXML} or C{InvalidArgument}, with AWS's
        messages, for anything AWS refuses.
    """
    root = xml.parse(body)
    if root.tag != "LifecycleConfiguration":
        raise S3Error.of("MalformedXML")
    elements = root.findall("Rule")
    if not elements or len(root) != len(elements):
        raise S3Error.of("MalformedXML")
    if len(elements) > MAX_RULES:
        raise _invalid(f"The number of lifecycle rules must not exceed {MAX_RULES}")
    rules = tuple(_rule(element) for element in elements)
    ids = [rule.rule_id for rule in rules]
    if len(set(ids)) != len(ids):
        raise _invalid("Rule ID must be unique. Found same ID for more than one rule")
    return LifecycleConfiguration(rules)


def _filter_nodes(which: Filter) -> Iterable[xml.Node]:
    size: list[xml.Node] = []
    if which.size_greater_than is not None:
        size.append(("ObjectSizeGreaterThan", which.size_greater_than))
    if which.size_less_than is not None:
        size.append(("ObjectSizeLessThan", which.size_less_than))
    tags: list[xml.Node] = [
        ("Tag", [("Key", key), ("Value", value)]) for key, value in which.tags
    ]
    if which.form == "legacy":
        return [("Prefix", which.prefix)]
    if which.form == "all":
        return [("Filter", [])]
    if which.form == "prefix":
        return [("Filter", [("Prefix", which.prefix)])]
    if which.form in ("tag", "size"):
        return [("Filter", tags + size)]
    prefix: list[xml.Node] = [("Prefix", which.prefix)] if which.prefix else []
    return [("Filter", [("And", prefix + tags + size)])]


def render_lifecycle(configuration: LifecycleConfiguration) -> bytes:
    """The GetBucketLifecycleConfiguration document for C{configuration}."""
    return xml.document(
        "LifecycleConfiguration",
        [("Rule", list(_rule_nodes(rule))) for rule in configuration.rules],
    )


def _rule_nodes(rule: Rule) -> Iterable[xml.Node]:
    yield ("ID", rule.rule_id)
    yield from _filter_nodes(rule.filter)
    yield ("Status", "Enabled" if rule.enabled else "Disabled")
    for name, parts in rule.transitions:
        yield (name, list(parts))
    if rule.expiration is not None:
        if rule.expiration.days is not None:
            yield ("Expiration", [("Days", rule.expiration.days)])
        elif rule.expiration.date is not None:
            yield ("Expiration", [("Date", xml.iso8601(rule.expiration.date))])
        else:
            yield (
                "Expiration",
                [
                    (
                        "ExpiredObjectDeleteMarker",
                        rule.expiration.expired_object_delete_marker,
                    )
                ],
            )
    if rule.noncurrent_days is not None:
        noncurrent: list[xml.Node] = [("NoncurrentDays", rule.noncurrent_days)]
        if rule.newer_noncurrent_versions is not None:
            noncurrent.append(
                ("NewerNoncurrentVersions", rule.newer_noncurrent_versions)
            )
        yield ("NoncurrentVersionExpiration", noncurrent)
    if rule.abort_after_days is not None:
        yield (
            "AbortIncompleteMultipartUpload",
            [("DaysAfterInitiation", rule.abort_after_days)],
        )
