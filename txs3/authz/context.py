"""
Who asks, and what IAM knows about the request: the principal and the
request context that policy conditions read.

A txs3 I{owner id} plays the part of an AWS account (and of its canonical
user id: they are one string in txs3).  A L{Principal} is an owner id and,
optionally, a user name within it; with no user name it is the account
itself (AWS's root user).  L{ANONYMOUS} is the caller without a key.

L{RequestContext} holds what the gate knows before the body, and answers
condition keys by name (L{RequestContext.values}).  Keys are
case-insensitive, as in IAM; a key the request does not carry is absent
(C{None}), which is not the same as an empty string.  Constructing one is
cheap (fields only): keys are computed when a condition asks.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

PrincipalType = Literal["Anonymous", "Account", "User"]


@dataclass(frozen=True, slots=True)
class Principal:
    """
    The caller: C{owner_id} (C{""} for anonymous) and, for a named user of
    that owner, C{user}.
    """

    owner_id: str
    user: str | None = None

    @property
    def anonymous(self) -> bool:
        """Whether the caller gave no key."""
        return not self.owner_id

    @property
    def type(self) -> PrincipalType:
        """C{aws:PrincipalType}: C{Anonymous}, C{Account} or C{User}."""
        if not self.owner_id:
            return "Anonymous"
        return "Account" if self.user is None else "User"

    @property
    def arn(self) -> str | None:
        """C{aws:PrincipalArn}; None for anonymous."""
        if not self.owner_id:
            return None
        if self.user is None:
            return f"arn:aws:iam::{self.owner_id}:root"
        return f"arn:aws:iam::{self.owner_id}:user/{self.user}"


#: The caller without a key.
ANONYMOUS = Principal("")

AuthType = Literal["REST-HEADER", "REST-QUERY-STRING", "POST"]


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(int(seconds), datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RequestContext:
    """
    What policy conditions may ask about one request.

    @ivar now: the request time, POSIX seconds (C{aws:CurrentTime},
        C{aws:EpochTime}); None leaves both absent.
    @ivar secure_transport: whether the request came over TLS
        (C{aws:SecureTransport}).
    @ivar source_ip: the client's address (C{aws:SourceIp}), IPv4 or IPv6
        text; an IPv4-mapped IPv6 address counts as its IPv4 address.
    @ivar headers: the request headers, lower-case names.  They give
        C{aws:UserAgent}, C{aws:Referer} and every C{s3:x-amz-*} key
        (C{s3:x-amz-acl}, C{s3:x-amz-server-side-encryption},
        C{s3:x-amz-content-sha256}, C{s3:x-amz-grant-*}, ...) and the
        C{s3:object-lock-*} keys from their C{x-amz-object-lock-*} headers.
    @ivar query: the request's query parameters, decoded: C{s3:prefix},
        C{s3:delimiter}, C{s3:max-keys}, C{s3:VersionId}.
    @ivar signature_version: C{s3:signatureversion}: C{"AWS"} (SigV2) or
        C{"AWS4-HMAC-SHA256"}; None when anonymous.
    @ivar auth_type: C{s3:authType}.
    @ivar request_tags: the tags the request sets (the C{x-amz-tagging}
        header, or a PutObjectTagging body): C{s3:RequestObjectTag/<key>}
        and the multi-valued C{s3:RequestObjectTagKeys}; None when it sets
        none.
    @ivar existing_tags: the tags of the object the request acts on
        (C{s3:ExistingObjectTag/<key>}); None when unknown.  Fetch them
        only when L{txs3.authz.policy.Policy.needs_existing_tags}.
    @ivar tls_version: C{s3:TlsVersion}, e.g. C{"1.3"}.
    @ivar extra: any other key, lower-case name to values.
    """

    now: float | None = None
    secure_transport: bool | None = None
    source_ip: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    signature_version: str | None = None
    auth_type: AuthType | None = None
    request_tags: Mapping[str, str] | None = None
    existing_tags: Mapping[str, str] | None = None
    tls_version: str | None = None
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @cached_property
    def source_address(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """C{source_ip} parsed (IPv4-mapped IPv6 unwrapped); None if absent or bad."""
        if self.source_ip is None:
            return None
        try:
            address = ipaddress.ip_address(self.source_ip.strip("[]"))
        except ValueError:
            return None
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            return address.ipv4_mapped
        return address

    def values(self, key: str, principal: Principal) -> tuple[str, ...] | None:
        """
        The values of condition key C{key} (lower-case) for this request
        made by C{principal}, or None when the request does not carry it.
        Every key but C{s3:RequestObjectTagKeys} has at most one value.

        The principal gives C{aws:username} (a named user only),
        C{aws:PrincipalType}, C{aws:PrincipalAccount} and
        C{aws:PrincipalArn} (not for anonymous), and C{aws:userid}
        (C{OWNER_ID}, C{OWNER_ID:USER} or C{anonymous}: txs3 has no IAM
        unique ids).
        """
        getter = _KEYS.get(key)
        if getter is not None:
            value = getter(self, principal)
            return None if value is None else (value,)
        if key in self.extra:
            return self.extra[key]
        if key.startswith("s3:x-amz-"):
            header = self.headers.get(key[3:])
            return None if header is None else (header,)
        if key.startswith("s3:object-lock-"):
            header = self.headers.get("x-amz-" + key[3:])
            return None if header is None else (header,)
        if key == "s3:requestobjecttagkeys":
            if self.request_tags is None:
                return None
            return tuple(self.request_tags)
        if key.startswith("s3:requestobjecttag/"):
            return _tag(self.request_tags, key[len("s3:requestobjecttag/") :])
        if key.startswith("s3:existingobjecttag/"):
            return _tag(self.existing_tags, key[len("s3:existingobjecttag/") :])
        return None

    def single(self, key: str, principal: Principal) -> str | None:
        """The one value of C{key}, or None if absent or multi-valued."""
        values = self.values(key, principal)
        if values is None or len(values) != 1:
            return None
        return values[0]


def _tag(tags: Mapping[str, str] | None, name: str) -> tuple[str, ...] | None:
    # Condition keys are case-insensitive, and the policy's key has been
    # folded to lower case by now: match the tag key the same way.
    if tags is None:
        return None
    for tag_key, tag_value in tags.items():
        if tag_key.lower() == name:
            return (tag_value,)
    return None


def _secure(c: RequestContext, _: Principal) -> str | None:
    return None if c.secure_transport is None else str(c.secure_transport).lower()


def _current_time(c: RequestContext, _: Principal) -> str | None:
    return None if c.now is None else _iso(c.now)


def _epoch_time(c: RequestContext, _: Principal) -> str | None:
    return None if c.now is None else str(int(c.now))


def _username(_: RequestContext, p: Principal) -> str | None:
    return p.user if p.owner_id else None


def _account(_: RequestContext, p: Principal) -> str | None:
    return p.owner_id or None


def _userid(_: RequestContext, p: Principal) -> str | None:
    if not p.owner_id:
        return "anonymous"
    return p.owner_id if p.user is None else f"{p.owner_id}:{p.user}"


def _header(name: str) -> Callable[[RequestContext, Principal], str | None]:
    def get(c: RequestContext, _: Principal) -> str | None:
        return c.headers.get(name)

    return get


def _param(name: str) -> Callable[[RequestContext, Principal], str | None]:
    def get(c: RequestContext, _: Principal) -> str | None:
        return c.query.get(name)

    return get


_KEYS: Mapping[str, Callable[[RequestContext, Principal], str | None]] = {
    "aws:securetransport": _secure,
    "aws:sourceip": lambda c, _: (
        None if c.source_address is None else str(c.source_address)
    ),
    "aws:useragent": _header("user-agent"),
    "aws:referer": _header("referer"),
    "aws:currenttime": _current_time,
    "aws:epochtime": _epoch_time,
    "aws:username": _username,
    "aws:userid": _userid,
    "aws:principaltype": lambda _, p: p.type,
    "aws:principalaccount": _account,
    "aws:principalarn": lambda _, p: p.arn,
    "s3:prefix": _param("prefix"),
    "s3:delimiter": _param("delimiter"),
    "s3:max-keys": _param("max-keys"),
    "s3:versionid": _param("versionId"),
    "s3:signatureversion": lambda c, _: c.signature_version,
    "s3:authtype": lambda c, _: c.auth_type,
    "s3:tlsversion": lambda c, _: c.tls_version,
}

#: Condition keys this module answers by name (the C{s3:x-amz-*},
#: C{s3:object-lock-*} and tag keys are answered by prefix).
KNOWN_KEYS = frozenset(_KEYS) | {"s3:requestobjecttagkeys"}
