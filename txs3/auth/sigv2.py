"""
AWS Signature Version 2 for S3 (``Authorization: AWS AKID:signature`` and
presigned ``AWSAccessKeyId``/``Expires``/``Signature`` URLs), as sent by
Cyberduck 4.7, s3cmd ``--signature-v2`` and botocore's ``s3`` signer.

The string to sign is::

    METHOD \\n Content-MD5 \\n Content-Type \\n Date (or Expires) \\n
    x-amz-name:value \\n ...   (lower-case names, sorted, values trimmed)
    /bucket/raw-path?sub-resources

Clients disagree on which query parameters are "sub-resources" that belong
in the canonical resource, and on whether their values are percent-decoded
there.  S3's list has grown over the years (AWS's documentation lists 14,
botocore 37, other servers more), and each client signs with its own list.
So the request is checked against a few canonical resources, one per
known client convention (see L{_RESOURCE_CONVENTIONS}); they differ only in
which of the parameters present are covered, and every convention covers
the parameters that select an operation on an object (``uploadId``,
``partNumber``, ``versionId``, ``acl``, ...).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping

from txs3.auth.canonical import (
    check_skew,
    format_iso8601,
    parse_any_date,
)
from txs3.auth.fields import HeaderFields, signed_value, signing_readings
from txs3.auth.types import Authenticated, RequestHead, Secret
from txs3.errors import S3Error
from txs3.operation import decode_query_part, parse_query, split_query

Lookup = Callable[[str], Secret | None]

QUERY_AUTH_PARAMS = ("AWSAccessKeyId", "Expires", "Signature")

# The sub-resources of AWS's SigV2 documentation (and s3cmd, which adds
# delete, cors and restore), plus the response-header overrides.
_DOCUMENTED = frozenset(
    {
        "acl",
        "delete",
        "cors",
        "lifecycle",
        "location",
        "logging",
        "notification",
        "partNumber",
        "policy",
        "requestPayment",
        "restore",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
        "response-content-type",
        "response-content-language",
        "response-expires",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
    }
)

# botocore's HmacV1Auth.QSAOfInterest.
_BOTOCORE = _DOCUMENTED | {
    "accelerate",
    "analytics",
    "defaultObjectAcl",
    "inventory",
    "metrics",
    "object-lock",
    "replication",
    "select",
    "select-type",
    "storageClass",
}

# Everything any client is known to sign: S3's sub-resources as of the
# newer bucket and object configuration APIs.  This is txs3's own list, the
# first one tried and the one reported in SignatureDoesNotMatch.
SUBRESOURCES = _BOTOCORE | {
    "encryption",
    "intelligent-tiering",
    "legal-hold",
    "ownershipControls",
    "policyStatus",
    "publicAccessBlock",
    "retention",
}

# (sub-resources, whether their values are percent-decoded): txs3/AWS,
# botocore (decodes values, as AWS documents), s3cmd (keeps them encoded).
_RESOURCE_CONVENTIONS: tuple[tuple[frozenset[str], bool], ...] = (
    (SUBRESOURCES, True),
    (_BOTOCORE, True),
    (_DOCUMENTED, True),
    (_DOCUMENTED, False),
)


def canonical_resource(
    head: RequestHead,
    subresources: Iterable[str] = SUBRESOURCES,
    *,
    decode_values: bool = True,
) -> str:
    """
    The SigV2 canonical resource: ``/bucket`` for virtual-host requests,
    the raw path as sent, then the sub-resources present in the query,
    sorted by name (stable for repeated names), ``name`` or ``name=value``.
    """
    wanted = set(subresources)
    resource = (f"/{head.host_bucket}" if head.host_bucket else "") + (
        head.raw_path or "/"
    )
    present: list[tuple[str, str | None]] = []
    for name, value in split_query(head.raw_query):
        if name not in wanted:
            continue
        if value is not None and decode_values:
            value = decode_query_part(value)
        present.append((name, value))
    if present:
        present.sort(key=lambda pair: pair[0])
        resource += "?" + "&".join(
            name if value is None else f"{name}={value}" for name, value in present
        )
    return resource


def string_to_sign(
    method: str,
    headers: Mapping[str, str],
    date_line: str,
    resource: str,
) -> str:
    """
    The SigV2 string to sign.

    @param headers: lower-case names to values; ``content-md5``,
        ``content-type`` and the ``x-amz-*`` headers are used, the latter
        trimmed, a header sent on several lines as its lines' values
        joined with ``","`` (AWS's rule; a comma inside one value, as in
        ``a, b``, is the client's and stays).
    @param date_line: the Date header, empty when ``x-amz-date`` is used,
        or ``Expires`` for a presigned URL.
    """
    lines = [
        method,
        headers.get("content-md5", "").strip(),
        headers.get("content-type", "").strip(),
        date_line,
    ]
    amz = sorted(name.lower() for name in headers if name.lower().startswith("x-amz-"))
    lines.extend(f"{name}:{signed_value(headers, name)}" for name in amz)
    lines.append(resource)
    return "\n".join(lines)


def sign(secret_key: str, to_sign: str) -> str:
    """Base64 HMAC-SHA1 of C{to_sign}, the SigV2 signature."""
    digest = hmac.new(
        secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_header(head: RequestHead, lookup: Lookup, now: float) -> Authenticated:
    """
    Authenticate ``Authorization: AWS AKID:signature``.

    @raise S3Error: C{InvalidArgument} for a header without ``AKID:sig``;
        C{AccessDenied} without a valid Date or x-amz-date;
        C{InvalidAccessKeyId}; C{RequestTimeTooSkewed};
        C{SignatureDoesNotMatch}.
    """
    authorization = head.headers.get("authorization", "").strip()
    credentials = authorization[len("AWS ") :].strip()
    access_key, sep, signature = credentials.rpartition(":")
    if not sep or not access_key or not signature:
        raise S3Error.of(
            "InvalidArgument",
            "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
            ArgumentName="Authorization",
            ArgumentValue=authorization,
        )
    # AWS: when x-amz-date is present, the Date line of the string to sign
    # is empty and x-amz-date (among the x-amz-* headers) carries the time.
    amz_date = head.headers.get("x-amz-date")
    raw_time = amz_date if amz_date is not None else head.headers.get("date")
    request_time = parse_any_date(raw_time) if raw_time is not None else None
    if raw_time is None or request_time is None:
        raise S3Error.of(
            "AccessDenied",
            "AWS authentication requires a valid Date or x-amz-date header",
        )
    secret = _lookup(lookup, access_key)
    check_skew(raw_time, request_time, now)
    date_line = "" if amz_date is not None else raw_time.strip()
    _verify(head, secret, date_line, signature)
    return Authenticated(identity=secret.identity())


def verify_query(head: RequestHead, lookup: Lookup, now: float) -> Authenticated:
    """
    Authenticate a presigned SigV2 URL.

    botocore moves the signed ``Content-MD5``, ``Content-Type`` and
    ``x-amz-*`` headers into the query of a presigned URL; such parameters
    stand in for headers that the request does not carry.

    @raise S3Error: C{AccessDenied} when a parameter is missing, Expires is
        not a number, or the URL has expired; C{InvalidAccessKeyId};
        C{SignatureDoesNotMatch}.
    """
    params = parse_query(head.raw_query)
    if any(name not in params for name in QUERY_AUTH_PARAMS):
        raise S3Error.of(
            "AccessDenied",
            "Query-string authentication requires the Signature, Expires and "
            "AWSAccessKeyId parameters",
        )
    raw_expires = params["Expires"].strip()
    if not raw_expires.isdigit():
        raise S3Error.of(
            "AccessDenied",
            f"Invalid date (should be seconds since epoch): {raw_expires}",
        )
    secret = _lookup(lookup, params["AWSAccessKeyId"])
    expires = int(raw_expires)
    if now > expires:
        raise S3Error.of(
            "AccessDenied",
            "Request has expired",
            Expires=format_iso8601(expires),
            ServerTime=format_iso8601(now),
        )
    hoisted: dict[str, str] = {}
    for name, value in params.items():
        lowered = name.lower()
        hoistable = lowered.startswith("x-amz-") or lowered in (
            "content-md5",
            "content-type",
        )
        if hoistable and lowered not in head.headers:
            hoisted.setdefault(lowered, value)
    # A "+" left unencoded in the signature was read as a space; base64 has
    # no spaces, so put it back.
    signature = params["Signature"].replace(" ", "+")
    _verify(head, secret, raw_expires, signature, hoisted)
    return Authenticated(identity=secret.identity())


def _lookup(lookup: Lookup, access_key: str) -> Secret:
    secret = lookup(access_key)
    if secret is None:
        raise S3Error.of("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    return secret


def _bucket_slash_variants(resources: list[str]) -> list[str]:
    """
    ``/bucket/`` forms of bucket-level resources sent as ``/bucket``:
    botocore signs a path-style bucket request (CreateBucket, ListObjects)
    over ``/bucket/`` while sending ``/bucket``, and AWS accepts it.
    """
    variants = []
    for resource in resources:
        path, mark, query = resource.partition("?")
        if path.count("/") == 1 and len(path) > 1:
            variants.append(path + "/" + mark + query)
    return variants


def _verify(
    head: RequestHead,
    secret: Secret,
    date_line: str,
    signature: str,
    hoisted: Mapping[str, str] | None = None,
) -> None:
    """
    Check C{signature} against each reading of the request's headers
    (L{signing_readings}) with each canonical resource.

    @param hoisted: headers a presigned URL carries in its query.
    """
    provided = signature.strip().encode("ascii", "replace")
    resources = list(
        dict.fromkeys(
            canonical_resource(head, names, decode_values=decode)
            for names, decode in _RESOURCE_CONVENTIONS
        )
    )
    first: str | None = None
    for reading in signing_readings(head.headers):
        headers = _with_hoisted(reading, hoisted or {})
        for resource in resources + _bucket_slash_variants(resources):
            to_sign = string_to_sign(head.method, headers, date_line, resource)
            expected = sign(secret.secret_key, to_sign).encode("ascii")
            if hmac.compare_digest(expected, provided):
                return
            if first is None:
                first = to_sign
    raise S3Error.of(
        "SignatureDoesNotMatch",
        AWSAccessKeyId=secret.access_key,
        StringToSign=first or "",
        SignatureProvided=signature,
    )


def _with_hoisted(
    headers: Mapping[str, str], hoisted: Mapping[str, str]
) -> Mapping[str, str]:
    if not hoisted:
        return headers
    if isinstance(headers, HeaderFields):
        return headers.with_values(hoisted)
    return {**headers, **hoisted}
