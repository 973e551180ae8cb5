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
from txs3.profile import PROFILE_PATH

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
STREAMED_BODIES = frozenset({"PutObject", "UploadPart"})


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
    if host_bucket is None and raw_path == PROFILE_PATH and method in ("GET", "HEAD"):
        return Operation("GetConnectionProfile", resource=PROFILE_PATH)
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


def _bucket_operation(
    method: str, subs: frozenset[str], query: Mapping[str, str]
) -> str:
    if method == "GET":
        if not subs:
            return "ListObjectsV2" if query.get("list-type") == "2" else "ListObjects"
        return _configuration(method, subs, BUCKET_CONFIGURATIONS)
    if method == "HEAD":
        return "HeadBucket"
    if method == "PUT":
        if subs:
            return _configuration(method, subs, BUCKET_CONFIGURATIONS)
        return "CreateBucket"
    if method == "DELETE":
        if subs:
            return _configuration(method, subs, BUCKET_CONFIGURATIONS)
        return "DeleteBucket"
    if method == "POST":
        if "delete" in subs:
            return "DeleteObjects"
        return "NotImplemented" if subs else _method_not_allowed()
    return _method_not_allowed()


def _object_operation(
    method: str, subs: frozenset[str], headers: Mapping[str, str]
) -> str:
    # versionId on an unversioned bucket is answered by the plain operation
    # (S3 accepts versionId=null).  partNumber without uploadId selects one
    # part of a GET or HEAD.  Other sub-resources are not built yet.
    subs = subs - {"versionId"}
    copy = "x-amz-copy-source" in headers
    if method in ("GET", "HEAD"):
        if method == "GET" and subs == {"uploadId"}:
            return "ListParts"
        if subs - {"partNumber"}:
            return _configuration(method, subs, OBJECT_CONFIGURATIONS)
        return "GetObject" if method == "GET" else "HeadObject"
    if method == "PUT":
        if subs == {"partNumber", "uploadId"}:
            return "UploadPartCopy" if copy else "UploadPart"
        if subs:
            return _configuration(method, subs, OBJECT_CONFIGURATIONS)
        return "CopyObject" if copy else "PutObject"
    if method == "DELETE":
        if subs == {"uploadId"}:
            return "AbortMultipartUpload"
        if subs:
            return _configuration(method, subs, OBJECT_CONFIGURATIONS)
        return "DeleteObject"
    if method == "POST":
        if subs == {"uploads"}:
            return "CreateMultipartUpload"
        if subs == {"uploadId"}:
            return "CompleteMultipartUpload"
        return "NotImplemented" if subs else _method_not_allowed()
    return _method_not_allowed()


MAX_PART_NUMBER = 10_000


def part_number(raw: str | None) -> int:
    """
    The part number of a C{partNumber} query value: 1 to 10,000.

    @raise S3Error: C{InvalidArgument} otherwise (missing included).
    """
    value = raw.strip() if raw is not None else ""
    if value.isdigit() and 1 <= int(value) <= MAX_PART_NUMBER:
        return int(value)
    raise S3Error.of(
        "InvalidArgument",
        "Part number must be an integer between 1 and 10000, inclusive",
        ArgumentName="partNumber",
        ArgumentValue=raw or "",
    )


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


# -- bucket and object sub-resources --

#: (method, sub-resource) -> operation, for bucket requests naming exactly
#: one sub-resource.  Anything else with a sub-resource is NotImplemented.
BUCKET_CONFIGURATIONS = {
    ("GET", "location"): "GetBucketLocation",
    ("GET", "uploads"): "ListMultipartUploads",
    ("GET", "versioning"): "GetBucketVersioning",
    ("PUT", "versioning"): "PutBucketVersioning",
    ("GET", "versions"): "ListObjectVersions",
    ("GET", "logging"): "GetBucketLogging",
    ("GET", "lifecycle"): "GetBucketLifecycleConfiguration",
    ("GET", "acl"): "GetBucketAcl",
    ("PUT", "acl"): "PutBucketAcl",
    ("GET", "ownershipControls"): "GetBucketOwnershipControls",
    ("PUT", "ownershipControls"): "PutBucketOwnershipControls",
    ("DELETE", "ownershipControls"): "DeleteBucketOwnershipControls",
    ("GET", "policy"): "GetBucketPolicy",
    ("GET", "cors"): "GetBucketCors",
    ("GET", "website"): "GetBucketWebsite",
    ("GET", "encryption"): "GetBucketEncryption",
    ("GET", "publicAccessBlock"): "GetPublicAccessBlock",
    ("GET", "requestPayment"): "GetBucketRequestPayment",
    ("GET", "accelerate"): "GetBucketAccelerateConfiguration",
    ("GET", "notification"): "GetBucketNotificationConfiguration",
    ("GET", "object-lock"): "GetObjectLockConfiguration",
    ("GET", "replication"): "GetBucketReplication",
    ("GET", "tagging"): "GetBucketTagging",
    ("PUT", "tagging"): "PutBucketTagging",
    ("DELETE", "tagging"): "DeleteBucketTagging",
}

#: The same for object requests (``versionId`` already set aside).
OBJECT_CONFIGURATIONS = {
    ("GET", "acl"): "GetObjectAcl",
    ("PUT", "acl"): "PutObjectAcl",
    ("GET", "tagging"): "GetObjectTagging",
    ("PUT", "tagging"): "PutObjectTagging",
    ("DELETE", "tagging"): "DeleteObjectTagging",
}

#: Operations answered without authentication: they reveal nothing about
#: buckets or objects, and their caller may have no credentials yet.
PUBLIC_OPERATIONS = frozenset({"GetConnectionProfile"})


def _configuration(
    method: str, subs: frozenset[str], table: Mapping[tuple[str, str], str]
) -> str:
    """The operation of a request naming one sub-resource of C{table}."""
    if len(subs) == 1:
        (sub,) = subs
        return table.get((method, sub), "NotImplemented")
    return "NotImplemented"
