"""
What lifecycle rules do to one object version or one multipart upload, and
when: pure decisions that a lifecycle pass applies and that GET, HEAD and
PUT use for ``x-amz-expiration``.

Time, as AWS counts it: a rule's N days run from the version's creation
(``Expiration``), from when it became noncurrent (``NoncurrentDays``), or
from the upload's initiation (``DaysAfterInitiation``), and the result is
rounded up to the next midnight UTC.  A L{Days} with another length (the
operator's testing aid, ``--lifecycle-day-seconds``) counts without
rounding.

AWS's rules for versions, kept here:
  - ``Expiration`` acts on current versions only: a current object expires
    (deleted when the bucket is unversioned, hidden under a new delete
    marker otherwise); a current delete marker is acted on only when it is
    the key's only version (an "expired object delete marker"), by
    ``ExpiredObjectDeleteMarker`` at once or by ``Days`` once it is old
    enough;
  - ``NoncurrentVersionExpiration`` removes noncurrent versions for good,
    keeping the ``NewerNoncurrentVersions`` newest ones whatever their age;
  - disabled rules do nothing; locked versions are never touched (the
    caller says which are locked).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Literal

from txs3.lifecycle.config import DAY, Filter, LifecycleConfiguration, Rule


@dataclass(frozen=True)
class Days:
    """How long a lifecycle day is: AWS's 86,400 s, or shorter for tests."""

    seconds: float = DAY

    def after(self, start: float, days: int) -> float:
        """When C{days} days after C{start} have passed, rounded as AWS rounds."""
        end = start + days * self.seconds
        if self.seconds == DAY:
            return math.ceil(end / DAY) * DAY
        return end


@dataclass(frozen=True)
class Version:
    """
    What the rules need to know of one object version.

    @ivar noncurrent_since: when a newer version replaced it; None while
        it is current.
    @ivar newer_noncurrent: how many noncurrent versions of the key are
        newer than this one.
    @ivar only_version: the key has no other version (for delete markers).
    """

    key: str
    size: int
    tags: Mapping[str, str]
    created: float
    is_delete_marker: bool = False
    noncurrent_since: float | None = None
    newer_noncurrent: int = 0
    only_version: bool = True
    locked: bool = False


ActionName = Literal["expire", "remove-delete-marker", "delete-noncurrent"]


@dataclass(frozen=True)
class Due:
    """An action a rule asks for, and since when it is due."""

    action: ActionName
    rule_id: str
    at: float


def matches(which: Filter, key: str, size: int, tags: Mapping[str, str]) -> bool:
    """Whether an object with C{key}, C{size} and C{tags} is in C{which}."""
    if not key.startswith(which.prefix):
        return False
    if any(tags.get(name) != value for name, value in which.tags):
        return False
    if which.size_greater_than is not None and not size > which.size_greater_than:
        return False
    return which.size_less_than is None or size < which.size_less_than


def _rules_for(
    configuration: LifecycleConfiguration, version: Version
) -> Iterable[Rule]:
    for rule in configuration.rules:
        if rule.enabled and matches(
            rule.filter, version.key, version.size, version.tags
        ):
            yield rule


def due_actions(
    configuration: LifecycleConfiguration, version: Version, days: Days = Days()
) -> list[Due]:
    """
    Every action the enabled rules ask for on C{version}, earliest first:
    the caller applies the first whose time has come.  A locked version
    gets none.
    """
    if version.locked:
        return []
    found: list[Due] = []
    for rule in _rules_for(configuration, version):
        expiration = rule.expiration
        if version.noncurrent_since is None and expiration is not None:
            if not version.is_delete_marker:
                at = _expiry(expiration.days, expiration.date, version.created, days)
                if at is not None:
                    found.append(Due("expire", rule.rule_id, at))
            elif version.only_version:
                if expiration.expired_object_delete_marker:
                    found.append(
                        Due("remove-delete-marker", rule.rule_id, version.created)
                    )
                elif expiration.days is not None:
                    at = days.after(version.created, expiration.days)
                    found.append(Due("remove-delete-marker", rule.rule_id, at))
        if (
            version.noncurrent_since is not None
            and rule.noncurrent_days is not None
            and version.newer_noncurrent >= (rule.newer_noncurrent_versions or 0)
        ):
            at = days.after(version.noncurrent_since, rule.noncurrent_days)
            found.append(Due("delete-noncurrent", rule.rule_id, at))
    return sorted(found, key=lambda due: due.at)


def due_now(
    configuration: LifecycleConfiguration,
    version: Version,
    now: float,
    days: Days = Days(),
) -> Due | None:
    """The action to apply to C{version} at C{now}, if any is due."""
    for due in due_actions(configuration, version, days):
        if due.at <= now:
            return due
    return None


def _expiry(
    after_days: int | None, date: float | None, created: float, days: Days
) -> float | None:
    if after_days is not None:
        return days.after(created, after_days)
    return date


def abort_due(
    configuration: LifecycleConfiguration,
    key: str,
    initiated: float,
    days: Days = Days(),
) -> Due | None:
    """When an incomplete multipart upload of C{key} is to be aborted, if ever."""
    found = [
        Due("expire", rule.rule_id, days.after(initiated, rule.abort_after_days))
        for rule in configuration.rules
        if rule.enabled
        and rule.abort_after_days is not None
        and key.startswith(rule.filter.prefix)
    ]
    return min(found, key=lambda due: due.at) if found else None


def expiration_header(
    configuration: LifecycleConfiguration, version: Version, days: Days = Days()
) -> str | None:
    """
    The ``x-amz-expiration`` value for a current object: when the earliest
    rule will expire it, and which rule; None when none will.
    """
    for due in due_actions(configuration, version, days):
        if due.action == "expire":
            date = formatdate(due.at, usegmt=True)
            return f'expiry-date="{date}", rule-id="{due.rule_id}"'
    return None
