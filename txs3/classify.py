"""
Classify first, then act.

L{classify} turns a request head (method, raw target, Host) into the
catalogue entry of the S3 operation it asks for, plus its parameters (an
L{Operation}), in a pure function that runs before any body byte is read
and is tested without a server.  The routes come from the catalogue
(L{txs3.api.catalogue}); this module only knows how to match them.

Klein's werkzeug routing cannot do this job: S3 selects the operation by
query sub-resource (``?uploads``, ``?delete``) and by headers, the bucket
may come from the Host header, and keys must be taken from the raw path
(werkzeug merges ``//`` and decodes ``%2F``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from txs3.api.catalogue import BY_NAME, CATALOGUE, Entry, Level, Route
from txs3.errors import S3Error
from txs3.operation import (
    MAX_KEY_BYTES,
    NOT_IMPLEMENTED,
    SUBRESOURCES,
    Operation,
    bucket_from_host,
    decode_path,
    parse_query,
)
from txs3.profile import PROFILE_PATH


@dataclass(frozen=True)
class Classified:
    """
    The outcome of L{classify}.

    @ivar entry: the operation's catalogue entry; None when the request
        names a sub-resource txs3 does not implement (answered 501 once the
        caller is authenticated).
    """

    entry: Entry | None
    operation: Operation


def _routes_by_method_and_level() -> dict[tuple[str, Level], list[tuple[Route, Entry]]]:
    table: dict[tuple[str, Level], list[tuple[Route, Entry]]] = defaultdict(list)
    for entry in CATALOGUE:
        for route in entry.routes:
            table[route.method, route.level].append((route, entry))
    # Conditional routes first: they win over the plain route they refine.
    for routes in table.values():
        routes.sort(key=lambda pair: not pair[0].conditional)
    return dict(table)


_ROUTES = _routes_by_method_and_level()
_METHODS = frozenset(method for method, _ in _ROUTES)


def matches(
    route: Route,
    subresources: frozenset[str],
    query: Mapping[str, str],
    headers: Mapping[str, str],
) -> bool:
    """Whether a request naming C{subresources} takes C{route}."""
    if not route.subresources <= subresources:
        return False
    if not subresources <= route.subresources | route.optional:
        return False
    if route.header is not None and route.header not in headers:
        return False
    return route.query is None or query.get(route.query[0]) == route.query[1]


def classify(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    domains: Sequence[str] = (),
) -> Classified:
    """
    Name the S3 operation a request asks for.

    @param headers: lower-case header names to values.
    @raise S3Error: C{InvalidURI}, C{KeyTooLongError}, C{MethodNotAllowed}.
    """
    query = parse_query(raw_query)
    host_bucket = bucket_from_host(headers.get("host", ""), domains)
    if host_bucket is None and raw_path == PROFILE_PATH and method in ("GET", "HEAD"):
        profile = BY_NAME["GetConnectionProfile"]
        return Classified(profile, Operation(profile.name, resource=PROFILE_PATH))
    path = decode_path(raw_path or "/")
    if host_bucket is not None:
        bucket: str | None = host_bucket
        key: str | None = path[1:] if path.startswith("/") else path
    else:
        trimmed = path[1:] if path.startswith("/") else path
        name, slash, rest = trimmed.partition("/")
        bucket = name or None
        key = rest if slash else None
    if not key:
        key = None
    if key is not None and len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise S3Error.of("KeyTooLongError")
    resource = "/" + (bucket or "") + ("/" + key if key is not None else "")
    level: Level = (
        "service" if bucket is None else "bucket" if key is None else "object"
    )
    entry = _entry(method, level, query, headers)
    operation = Operation(
        entry.name if entry is not None else NOT_IMPLEMENTED,
        bucket,
        key,
        query,
        resource,
        host_bucket is not None,
    )
    return Classified(entry, operation)


def _entry(
    method: str,
    level: Level,
    query: Mapping[str, str],
    headers: Mapping[str, str],
) -> Entry | None:
    """
    The entry whose route the request takes; None for an unknown
    sub-resource.

    @raise S3Error: C{MethodNotAllowed} when nothing could match.
    """
    subresources = SUBRESOURCES.intersection(query)
    for route, entry in _ROUTES.get((method, level), ()):
        if matches(route, subresources, query, headers):
            return entry
    if subresources and method in _METHODS and level != "service":
        return None
    raise S3Error.of("MethodNotAllowed")
