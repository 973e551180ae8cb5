"""
Cross-origin resource sharing (CORS) as a pure decision.

A bucket's CORS configuration (PutBucketCors) is parsed once into a
L{CorsConfiguration}; GetBucketCors renders it back.  Two questions are
then answered without I/O:

  - L{preflight}: may a browser send this request?  (``OPTIONS`` with
    ``Origin``, ``Access-Control-Request-Method`` and, optionally,
    ``Access-Control-Request-Headers``.)  The answer is the headers of the
    200, or an L{S3Error} that is AWS's 403.
  - L{actual_request_headers}: which ``Access-Control-*`` headers does the
    response to a real cross-origin request carry?  A request no rule
    allows is not refused (the browser enforces CORS), it simply gets none.
  - L{preflight_without_bucket}: the refusal of a preflight that names no
    existing bucket.

Rules are tried in document order and the first that matches wins (AWS,
"How does Amazon S3 evaluate the CORS configuration on a bucket?").  A rule
matches when the ``Origin`` matches one of its ``AllowedOrigin`` patterns,
the method is one of its ``AllowedMethod``s and, for a preflight, every
requested header matches one of its ``AllowedHeader`` patterns.  Origins
and methods compare case-sensitively, header names case-insensitively; a
pattern holds at most one C{*}, which matches any run of characters.

Nothing here imports Twisted's web layer, the store or the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from txs3.errors import S3Error
from txs3.xml import Node, document, parse

#: The only methods a CORS rule may allow (PutBucketCors).
METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD"})
#: A configuration holds at most this many rules.
MAX_RULES = 100
#: A rule's ID is at most this long.
MAX_ID_LENGTH = 255

#: S3 varies every CORS answer on the request's CORS inputs.
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because "
    "the evalution of Origin, request method / Access-Control-Request-Method "
    "or Access-Control-Request-Headers are not whitelisted by the resource's "
    "CORS spec."
)
NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."
NO_BUCKET = "CORSResponse: Bucket not found"

_RULE_CHILDREN = frozenset(
    {
        "ID",
        "AllowedOrigin",
        "AllowedMethod",
        "AllowedHeader",
        "ExposeHeader",
        "MaxAgeSeconds",
    }
)


def _matches(pattern: str, value: str) -> bool:
    """Whether C{value} matches C{pattern}, whose one C{*} matches any run."""
    head, star, tail = pattern.partition("*")
    if not star:
        return value == pattern
    return (
        len(value) >= len(head) + len(tail)
        and value.startswith(head)
        and value.endswith(tail)
    )


@dataclass(frozen=True)
class CorsRule:
    """
    One ``CORSRule``.  Header patterns are kept as written (rendered back
    so); L{allows_header} folds case.
    """

    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None
    id: str | None = None

    def origin_match(self, origin: str) -> str | None:
        """The first C{AllowedOrigin} pattern C{origin} matches, or None."""
        for pattern in self.allowed_origins:
            if _matches(pattern, origin):
                return pattern
        return None

    def allows_header(self, name: str) -> bool:
        """Whether header C{name} (any case) matches an C{AllowedHeader}."""
        name = name.lower()
        return any(_matches(p.lower(), name) for p in self.allowed_headers)


@dataclass(frozen=True)
class CorsConfiguration:
    """A bucket's CORS configuration: its rules, in document order."""

    rules: tuple[CorsRule, ...]


def _invalid(message: str) -> S3Error:
    return S3Error.of("InvalidRequest", message)


def _one_wildcard(kind: str, values: Iterable[str]) -> None:
    for value in values:
        if value.count("*") > 1:
            raise _invalid(f'{kind} "{value}" can not have more than one wildcard.')


def _rule(el: Element) -> CorsRule:
    values: dict[str, list[str]] = {name: [] for name in _RULE_CHILDREN}
    for child in el:
        if child.tag not in _RULE_CHILDREN or len(child):
            raise S3Error.of("MalformedXML")
        values[child.tag].append((child.text or "").strip())
    if not values["AllowedOrigin"] or not values["AllowedMethod"]:
        raise S3Error.of("MalformedXML")
    if len(values["ID"]) > 1 or len(values["MaxAgeSeconds"]) > 1:
        raise S3Error.of("MalformedXML")
    for method in values["AllowedMethod"]:
        if method not in METHODS:
            raise _invalid(
                "Found unsupported HTTP method in CORS config. "
                f"Unsupported method is {method}"
            )
    _one_wildcard("AllowedOrigin", values["AllowedOrigin"])
    _one_wildcard("AllowedHeader", values["AllowedHeader"])
    max_age: int | None = None
    if values["MaxAgeSeconds"]:
        text = values["MaxAgeSeconds"][0]
        if not (text.isascii() and text.isdigit()):
            raise S3Error.of("MalformedXML")
        max_age = int(text)
    rule_id = values["ID"][0] if values["ID"] else None
    if rule_id is not None and len(rule_id) > MAX_ID_LENGTH:
        raise S3Error.of("MalformedXML")
    return CorsRule(
        allowed_origins=tuple(values["AllowedOrigin"]),
        allowed_methods=tuple(values["AllowedMethod"]),
        allowed_headers=tuple(values["AllowedHeader"]),
        expose_headers=tuple(values["ExposeHeader"]),
        max_age_seconds=max_age,
        id=rule_id,
    )


def parse_cors_xml(body: bytes) -> CorsConfiguration:
    """
    Parse a PutBucketCors body.

    @raise S3Error: C{MalformedXML} for a body that is not a
        ``CORSConfiguration`` of 1 to L{MAX_RULES} ``CORSRule``s, each with
        at least one ``AllowedOrigin`` and ``AllowedMethod``, at most one
        ``ID`` (up to L{MAX_ID_LENGTH} characters) and one non-negative
        integer ``MaxAgeSeconds``, and no other elements;
        C{InvalidRequest} (AWS's messages) for a method other than GET,
        PUT, POST, DELETE or HEAD, or an origin or allowed header with
        more than one C{*}.
    """
    root = parse(body)
    if root.tag != "CORSConfiguration":
        raise S3Error.of("MalformedXML")
    rules: list[CorsRule] = []
    for child in root:
        if child.tag != "CORSRule":
            raise S3Error.of("MalformedXML")
        rules.append(_rule(child))
    if not rules or len(rules) > MAX_RULES:
        raise S3Error.of("MalformedXML")
    return CorsConfiguration(tuple(rules))


def render_cors_xml(config: CorsConfiguration) -> bytes:
    """The GetBucketCors document for C{config}, in AWS's element order."""
    rules: list[Node] = []
    for rule in config.rules:
        children: list[Node] = [("AllowedHeader", h) for h in rule.allowed_headers]
        children += [("AllowedMethod", m) for m in rule.allowed_methods]
        children += [("AllowedOrigin", o) for o in rule.allowed_origins]
        children += [("ExposeHeader", h) for h in rule.expose_headers]
        if rule.id is not None:
            children.append(("ID", rule.id))
        if rule.max_age_seconds is not None:
            children.append(("MaxAgeSeconds", rule.max_age_seconds))
        rules.append(("CORSRule", children))
    return document("CORSConfiguration", rules)


def _requested_headers(value: str | None) -> list[str]:
    if not value:
        return []
    return [h.strip().lower() for h in value.split(",") if h.strip()]


def _rule_headers(rule: CorsRule, origin_pattern: str, origin: str) -> dict[str, str]:
    # A rule that allows any origin answers "*" and never allows
    # credentials; any other match echoes the origin and allows them.
    wildcard = origin_pattern == "*"
    headers = {
        "Access-Control-Allow-Origin": "*" if wildcard else origin,
        "Access-Control-Allow-Methods": ", ".join(rule.allowed_methods),
    }
    if rule.expose_headers:
        headers["Access-Control-Expose-Headers"] = ", ".join(rule.expose_headers)
    if rule.max_age_seconds is not None:
        headers["Access-Control-Max-Age"] = str(rule.max_age_seconds)
    if not wildcard:
        headers["Access-Control-Allow-Credentials"] = "true"
    headers["Vary"] = VARY
    return headers


def _forbidden(message: str, method: str, resource_type: str) -> S3Error:
    return S3Error.of(
        "AccessForbidden", message, Method=method, ResourceType=resource_type
    )


def _origin_of(headers: Mapping[str, str]) -> str:
    origin = headers.get("origin")
    if origin is None:
        raise S3Error.of(
            "BadRequest", "Insufficient information. Origin request header needed."
        )
    return origin


def preflight_without_bucket(headers: Mapping[str, str]) -> S3Error:
    """
    The answer to a preflight ``OPTIONS`` naming no bucket, or one that
    does not exist: C{BadRequest} without ``Origin`` (checked first, as
    for any preflight), else 403 C{AccessForbidden} "Bucket not found",
    naming the requested method (``OPTIONS`` when none was) and the
    resource type ``BUCKET``, as S3 answers.
    """
    try:
        _origin_of(headers)
    except S3Error as e:
        return e
    method = headers.get("access-control-request-method") or "OPTIONS"
    return _forbidden(NO_BUCKET, method, "BUCKET")


def preflight(
    config: CorsConfiguration | None,
    headers: Mapping[str, str],
    resource_type: str = "OBJECT",
) -> dict[str, str]:
    """
    Answer a preflight ``OPTIONS`` request.

    @param config: the bucket's configuration; None when it has none.
    @param headers: the request's headers, lower-case names.
    @param resource_type: ``OBJECT`` or ``BUCKET``, echoed in a refusal
        by the rules.
    @return: the headers of the 200: ``Access-Control-Allow-Origin`` (``*``
        when the matching origin pattern is ``*``, else the origin
        echoed), ``-Allow-Methods`` (all the rule's methods),
        ``-Allow-Headers`` (the requested headers, lower-cased, when any
        were requested), ``-Expose-Headers``, ``-Max-Age``,
        ``-Allow-Credentials: true`` (not with ``*``) and ``Vary``.
    @raise S3Error: C{BadRequest} without ``Origin``; C{AccessForbidden}
        (403) "CORS is not enabled" when the bucket has no configuration
        (naming the requested method, ``OPTIONS`` when none was, and
        ``BUCKET`` whatever the path, as S3 does); C{BadRequest} with an
        ``Access-Control-Request-Method`` that is absent or not a CORS
        method; C{AccessForbidden} "not allowed" when no rule allows the
        request.
    """
    origin = _origin_of(headers)
    method = headers.get("access-control-request-method")
    if config is None:
        raise _forbidden(NOT_ENABLED, method or "OPTIONS", "BUCKET")
    if method is None or method not in METHODS:
        # "null" as AWS prints an absent header.
        shown = "null" if method is None else method
        raise S3Error.of(
            "BadRequest", f"Invalid Access-Control-Request-Method: {shown}"
        )
    requested = _requested_headers(headers.get("access-control-request-headers"))
    for rule in config.rules:
        pattern = rule.origin_match(origin)
        if pattern is None or method not in rule.allowed_methods:
            continue
        if not all(rule.allows_header(h) for h in requested):
            continue
        answer = _rule_headers(rule, pattern, origin)
        if requested:
            answer["Access-Control-Allow-Headers"] = ", ".join(requested)
        return answer
    raise _forbidden(NOT_ALLOWED, method, resource_type)


def actual_request_headers(
    config: CorsConfiguration | None, method: str, origin: str | None
) -> dict[str, str]:
    """
    The CORS headers to add to the response to a request with C{method}
    from C{origin} (its ``Origin`` header, None when absent).

    S3 matches an actual request's method as it is, or as its
    ``Access-Control-Request-Method`` names it when one is sent: that is
    the caller's choice of C{method}.  The request's headers are not
    checked against ``AllowedHeader``.

    @return: the first matching rule's headers (as L{preflight}, without
        ``-Allow-Headers``); nothing when no rule matches (S3 then sends
        no ``Vary`` either), nor without a configuration or an
        ``Origin``.  Never raises: the browser, not S3, refuses.
    """
    if config is None or origin is None:
        return {}
    for rule in config.rules:
        pattern = rule.origin_match(origin)
        if pattern is not None and method in rule.allowed_methods:
            return _rule_headers(rule, pattern, origin)
    return {}
