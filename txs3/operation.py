"""
Classify first, then act.

L{classify} turns a request head (method, raw target, Host) into one
L{Operation} value naming the S3 operation, in a pure function that runs
before any body byte is read and is tested without a server.  Klein's
werkzeug routing cannot do this job: S3 selects the operation by query
sub-resource (``?uploads``, ``?delete``) and by headers, the bucket may come
from the Host header, and keys must be taken from the raw path (werkzeug
merges ``//`` and decodes ``%2F``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from txs3.errors import S3Error

MAX_KEY_BYTES = 1024

# Query parameters that select a sub-resource.  A request naming one that
# txs3 does not implement yet gets 501 NotImplemented, never a 404 or the
# plain bucket/object operation.
SUBRESOURCES = frozenset(
    {
        "accelerate", "acl", "analytics", "attributes", "cors", "delete",
        "encryption", "intelligent-tiering", "inventory", "legal-hold",
        "lifecycle", "location", "logging", "metadataConfiguration",
        "metrics", "notification", "object-lock", "ownershipControls",
        "partNumber", "policy", "policyStatus", "publicAccessBlock",
        "replication", "requestPayment", "restore", "retention", "select",
        "tagging", "torrent", "uploadId", "uploads", "versionId",
        "versioning", "versions", "website", "session", "renameObject",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Operation:
    """
    One classified S3 request.

    @ivar name: the S3 API operation (``PutObject``, ``ListObjectsV2``, ...)
        or ``NotImplemented`` for a known sub-resource txs3 lacks.
    @ivar bucket: the bucket, or None for service-level requests.
    @ivar key: the decoded object key, or None for bucket-level requests.
    @ivar query: decoded query parameters, first value of each; a valueless
        parameter (``?prefix``) maps to ``""``.
    @ivar resource: the path S3 reports in error documents (``/bucket/key``).
    """

    name: str
    bucket: str | None = None
    key: str | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    resource: str = "/"
    virtual_host: bool = False

    @property
    def has_body(self) -> bool:
        """Whether this operation streams an object body to the store."""
        return self.name in STREAMED_BODIES


# Operations whose body is object data, streamed to a staging file.  Every
# other body (XML documents) is small and read into memory with a cap.
STREAMED_BODIES = frozenset({"PutObject"})


def parse_query(raw_query: str) -> dict[str, str]:
    """
    Decode a raw query string as S3 does: ``+`` is a space in query values
    (form encoding, which boto and the CLI rely on), a name without ``=`` has
    the empty value, the first occurrence of a name wins.

    @raise S3Error: C{InvalidURI} if a part is not UTF-8.
    """
    out: dict[str, str] = {}
    if not raw_query:
        return out
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        try:
            dname = unquote_to_bytes(name.replace("+", " ")).decode("utf-8")
            dvalue = unquote_to_bytes(value.replace("+", " ")).decode("utf-8")
        except UnicodeDecodeError as e:
            raise S3Error.of("InvalidURI") from e
        out.setdefault(dname, dvalue)
    return out


def _decode_path(raw: str) -> str:
    # Percent-decoding happens exactly once; "+" in a path is a plus sign.
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError as e:
        raise S3Error.of("InvalidURI") from e


def bucket_from_host(host: str, domains: Sequence[str]) -> str | None:
    """
    The bucket named by C{host} under virtual-host addressing: the labels in
    front of one of the configured C{domains}.  None for path style (any
    other host, IP addresses, ``localhost``).
    """
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.lower().rstrip(".")
    for domain in domains:
        d = domain.lower().rstrip(".")
        if name.endswith("." + d) and len(name) > len(d) + 1:
            return name[: -len(d) - 1]
    return None


def classify(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    domains: Sequence[str] = (),
) -> Operation:
    """
    Name the S3 operation a request asks for.

    @param headers: lower-case header names to values.
    @raise S3Error: C{InvalidURI}, C{KeyTooLongError}, C{MethodNotAllowed}.
    """
    query = parse_query(raw_query)
    host_bucket = bucket_from_host(headers.get("host", ""), domains)
    path = _decode_path(raw_path or "/")
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
    name = _operation_name(method, bucket, key, query, headers)
    return Operation(name, bucket, key, query, resource, host_bucket is not None)


def _operation_name(
    method: str,
    bucket: str | None,
    key: str | None,
    query: Mapping[str, str],
    headers: Mapping[str, str],
) -> str:
    subs = SUBRESOURCES.intersection(query)
    if bucket is None:
        if method in ("GET", "HEAD"):
            return "ListBuckets"
        raise S3Error.of("MethodNotAllowed")
    if key is None:
        return _bucket_operation(method, subs, query)
    return _object_operation(method, subs, headers)


_BUCKET_GET = {
    "location": "GetBucketLocation",
}


def _bucket_operation(
    method: str, subs: frozenset[str], query: Mapping[str, str]
) -> str:
    if method == "GET":
        if not subs:
            return "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"
        for sub, op in _BUCKET_GET.items():
            if sub in subs:
                return op
        return "NotImplemented"
    if method == "HEAD":
        return "HeadBucket"
    if method == "PUT":
        return "CreateBucket" if not subs else "NotImplemented"
    if method == "DELETE":
        return "DeleteBucket" if not subs else "NotImplemented"
    if method == "POST":
        if "delete" in subs:
            return "DeleteObjects"
        return "NotImplemented" if subs else _method_not_allowed()
    return _method_not_allowed()


def _object_operation(
    method: str, subs: frozenset[str], headers: Mapping[str, str]
) -> str:
    # versionId on an unversioned bucket is answered by the plain operation
    # (S3 accepts versionId=null); other sub-resources are not built yet.
    subs = subs - {"versionId"}
    if method in ("GET", "HEAD"):
        if subs:
            return "NotImplemented"
        return "GetObject" if method == "GET" else "HeadObject"
    if method == "PUT":
        if subs:
            return "NotImplemented"
        if "x-amz-copy-source" in headers:
            return "NotImplemented"
        return "PutObject"
    if method == "DELETE":
        return "DeleteObject" if not subs else "NotImplemented"
    if method == "POST":
        return "NotImplemented" if subs else _method_not_allowed()
    return _method_not_allowed()


def _method_not_allowed() -> str:
    raise S3Error.of("MethodNotAllowed")


_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def validate_bucket_name(name: str) -> None:
    """
    Apply S3's bucket naming rules (general purpose buckets).

    @raise S3Error: C{InvalidBucketName}.
    """
    bad = (
        not _BUCKET_NAME.match(name)
        or ".." in name
        or ".-" in name
        or "-." in name
        or name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
        or name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3"))
        or _is_ip_address(name)
    )
    if bad:
        raise S3Error.of("InvalidBucketName", BucketName=name)


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True
