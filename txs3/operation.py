"""
The names and parameters of S3 operations: the values that the classifier
(L{txs3.classify}) produces and handlers read.

L{OperationName} lists every operation txs3 answers; mypy checks each use
of a name against it, and the catalogue (L{txs3.api.catalogue}) declares
each one exactly once.  The helpers here decode the parts of a request
target exactly once, as S3 does.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote_to_bytes

from txs3.errors import S3Error

MAX_KEY_BYTES = 1024
#: The largest object one PutObject (or one part, or one copy) may create.
MAX_PUT_SIZE = 5 * 1024**3

OperationName = Literal[
    # service
    "ListBuckets",
    "GetConnectionProfile",
    # buckets
    "CreateBucket",
    "HeadBucket",
    "DeleteBucket",
    "GetBucketLocation",
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "DeleteObjects",
    "ListMultipartUploads",
    "GetBucketVersioning",
    "PutBucketVersioning",
    "GetBucketLogging",
    "GetBucketLifecycleConfiguration",
    "PutBucketLifecycleConfiguration",
    "DeleteBucketLifecycle",
    "GetBucketAcl",
    "PutBucketAcl",
    "GetBucketOwnershipControls",
    "PutBucketOwnershipControls",
    "DeleteBucketOwnershipControls",
    "GetBucketPolicy",
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "GetBucketPolicyStatus",
    "GetBucketCors",
    "PutBucketCors",
    "DeleteBucketCors",
    "GetBucketWebsite",
    "GetBucketEncryption",
    "GetPublicAccessBlock",
    "PutPublicAccessBlock",
    "DeletePublicAccessBlock",
    "GetBucketRequestPayment",
    "GetBucketAccelerateConfiguration",
    "GetBucketNotificationConfiguration",
    "GetObjectLockConfiguration",
    "PutObjectLockConfiguration",
    "GetBucketReplication",
    "GetBucketTagging",
    "PutBucketTagging",
    "DeleteBucketTagging",
    # the CORS preflight, on any path (AWS's "OPTIONS object")
    "OptionsObject",
    # objects
    "PutObject",
    "PostObject",
    "GetObject",
    "HeadObject",
    "DeleteObject",
    "CopyObject",
    "GetObjectAcl",
    "PutObjectAcl",
    "GetObjectTagging",
    "PutObjectTagging",
    "DeleteObjectTagging",
    "GetObjectAttributes",
    "GetObjectRetention",
    "PutObjectRetention",
    "GetObjectLegalHold",
    "PutObjectLegalHold",
    # multipart uploads
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "ListParts",
]

#: What a request naming a known sub-resource that txs3 lacks is called
#: until authentication has run: it is then refused with 501.
NOT_IMPLEMENTED: Literal["NotImplemented"] = "NotImplemented"

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
    One classified S3 request: which operation, and on what.

    @ivar name: the S3 API operation, or C{NotImplemented} for a known
        sub-resource txs3 lacks.
    @ivar bucket: the bucket, or None for service-level requests.
    @ivar key: the decoded object key, or None for bucket-level requests.
    @ivar query: decoded query parameters, first value of each; a valueless
        parameter (``?prefix``) maps to ``""``.
    @ivar resource: the path S3 reports in error documents (``/bucket/key``).
    @ivar virtual_host: whether the bucket came from the Host header.
    """

    name: OperationName | Literal["NotImplemented"]
    bucket: str | None = None
    key: str | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    resource: str = "/"
    virtual_host: bool = False


def split_query(raw_query: str) -> list[tuple[str, str | None]]:
    """
    Split a raw query string into its parameters, in order, undecoded.

    A parameter without ``=`` (``?acl``, Cyberduck's bare ``prefix``) has
    the value None; empty segments (``a=1&&b=2``) are dropped.
    """
    pairs: list[tuple[str, str | None]] = []
    for segment in raw_query.split("&"):
        if not segment:
            continue
        name, sep, value = segment.partition("=")
        pairs.append((name, value if sep else None))
    return pairs


def decode_query_part(raw: str, *, plus_is_space: bool = True) -> str:
    """
    The text a raw query name or value stands for: percent-decoded once,
    then UTF-8.  This is the one query decoder: the classifier, the
    handlers (through L{parse_query}) and the signature checks all use it,
    so they cannot disagree on what a query says.

    @param plus_is_space: whether a literal ``+`` is a space (form
        encoding, which S3 assumes and boto and the CLI rely on) or itself
        (tried by SigV4 for clients that sign it so).
    @raise S3Error: C{InvalidURI} if the bytes are not UTF-8.
    """
    if plus_is_space:
        raw = raw.replace("+", " ")
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError as e:
        raise S3Error.of("InvalidURI") from e


def parse_query(raw_query: str) -> dict[str, str]:
    """
    Decode a raw query string as S3 does (L{decode_query_part}): a name
    without ``=`` has the empty value, the first occurrence of a name wins.

    @raise S3Error: C{InvalidURI} if any part is not UTF-8, the value of a
        repeated name included (signatures cover every part).
    """
    out: dict[str, str] = {}
    for name, value in split_query(raw_query):
        decoded = decode_query_part(name), decode_query_part(value or "")
        out.setdefault(*decoded)
    return out


def decode_path(raw: str) -> str:
    """
    Percent-decode a raw request path exactly once; ``+`` in a path is a
    plus sign.

    @raise S3Error: C{InvalidURI} if the result is not UTF-8.
    """
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
