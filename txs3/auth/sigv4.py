"""
AWS Signature Version 4 for S3: the ``Authorization`` header and presigned
(``X-Amz-*`` query) forms, and the payload plan that follows from
``x-amz-content-sha256``.

S3's dialect of SigV4 differs from the generic one in ways that matter
here: the canonical URI is the raw path exactly as sent (no normalisation,
no double encoding), the payload hash is whatever ``x-amz-content-sha256``
says (a hex digest, ``UNSIGNED-PAYLOAD`` or one of the ``STREAMING-*``
markers), and presigned URLs sign ``UNSIGNED-PAYLOAD``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from urllib.parse import unquote_to_bytes

from txs3.auth.canonical import (
    MAX_SKEW_SECONDS,
    check_skew,
    format_amz_date,
    format_iso8601,
    parse_amz_date,
    parse_http_date,
    uri_encode,
)
from txs3.auth.fields import signing_readings
from txs3.auth.sigv4_signing import (
    ALGORITHM,
    SERVICE,
    TERMINATOR,
    Credential,
    canonical_query_string,
    canonical_request,
    hmac_hex,
    parse_credential,
    signing_key,
    string_to_sign,
)
from txs3.auth.types import (
    Authenticated,
    ChunkSigning,
    PayloadPlan,
    RequestHead,
    Secret,
)
from txs3.errors import S3Error
from txs3.operation import parse_query

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# A presigned URL may live at most a week (AWS's limit).
MAX_EXPIRES_SECONDS = 7 * 24 * 3600

# The parameters of a presigned URL; all but X-Amz-Security-Token required.
QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_AUTH_COMPONENT = re.compile(r"(Credential|SignedHeaders|Signature)\s*=\s*([^,\s]*)")

_CONTENT_SHA256_MESSAGE = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER or a valid sha256 value."
)

Lookup = Callable[[str], Secret | None]


# --- the two entry points -----------------------------------------------------


def verify_header(head: RequestHead, lookup: Lookup, now: float) -> Authenticated:
    """
    Authenticate a request signed with an ``AWS4-HMAC-SHA256``
    ``Authorization`` header.

    @return: the caller's identity and the plan for the body.
    @raise S3Error: C{AuthorizationHeaderMalformed} for a header that cannot
        be parsed or whose scope is wrong; C{AccessDenied} without a usable
        date or with unsigned ``x-amz-*`` headers; C{InvalidRequest} without
        ``x-amz-content-sha256``; C{InvalidArgument} for an unknown
        ``x-amz-content-sha256`` value; C{InvalidAccessKeyId};
        C{RequestTimeTooSkewed}; C{SignatureDoesNotMatch};
        C{MissingContentLength} for streaming without
        ``x-amz-decoded-content-length``.
    """
    authorization = head.headers.get("authorization", "")
    credential, signed_headers, signature = _parse_authorization(authorization)
    _check_scope_header(credential)

    raw_time, amz_date, request_time = _header_time(head)
    if credential.date != amz_date[:8]:
        raise _malformed(
            "The authorization header is malformed; Invalid credential date. "
            "Date is not the same as X-Amz-Date."
        )
    if "host" not in signed_headers:
        raise _malformed(
            "The authorization header is malformed; SignedHeaders must include host."
        )
    _check_all_amz_headers_signed(head, signed_headers)

    content_sha256 = head.headers.get("x-amz-content-sha256")
    if content_sha256 is None:
        raise S3Error.of(
            "InvalidRequest",
            "Missing required header for this request: x-amz-content-sha256",
        )
    content_sha256 = content_sha256.strip()
    _check_content_sha256(content_sha256)

    secret = _lookup(lookup, credential.access_key)
    check_skew(raw_time, request_time, now)
    key = signing_key(secret.secret_key, credential.date, credential.region)
    _verify_signature(
        head,
        key,
        credential,
        amz_date,
        signed_headers,
        signature,
        payload_hashes=[content_sha256],
        exclude=(),
    )
    signing = ChunkSigning(key, amz_date, credential.scope, signature.lower())
    return Authenticated(
        identity=secret.identity(),
        payload=payload_plan(head, content_sha256, signing),
    )


def verify_query(head: RequestHead, lookup: Lookup, now: float) -> Authenticated:
    """
    Authenticate a presigned SigV4 request (``X-Amz-Algorithm`` & co. in the
    query).

    The canonical request signs ``UNSIGNED-PAYLOAD`` unless the URL carries
    ``X-Amz-Content-Sha256`` (or the request an ``x-amz-content-sha256``
    header), which is then tried first.

    @raise S3Error: C{AuthorizationQueryParametersError} for missing or
        malformed parameters or an ``X-Amz-Expires`` over a week;
        C{InvalidAccessKeyId}; C{AccessDenied} "Request has expired" after
        the expiry, "Request is not valid yet" for an ``X-Amz-Date`` more
        than 15 minutes ahead, or with unsigned ``x-amz-*`` headers;
        C{SignatureDoesNotMatch}.
    """
    params = parse_query(head.raw_query)
    if any(name not in params for name in QUERY_AUTH_PARAMS):
        raise _query_error(
            "Query-string authentication version 4 requires the "
            "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, "
            "X-Amz-SignedHeaders, and X-Amz-Expires parameters."
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise _query_error('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    credential = parse_credential(params["X-Amz-Credential"])
    if credential is None:
        raise _query_error(
            "Error parsing the X-Amz-Credential parameter; the Credential is "
            'mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/'
            'aws4_request".'
        )
    if credential.service != SERVICE:
        raise _query_error(
            "Error parsing the X-Amz-Credential parameter; incorrect service "
            f'"{credential.service}". This endpoint belongs to "{SERVICE}".'
        )
    if credential.terminator != TERMINATOR:
        raise _query_error(
            "Error parsing the X-Amz-Credential parameter; incorrect terminal "
            f'"{credential.terminator}". This endpoint uses "{TERMINATOR}".'
        )
    amz_date = params["X-Amz-Date"]
    request_time = parse_amz_date(amz_date)
    if request_time is None:
        raise _query_error(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    expires = _parse_expires(params["X-Amz-Expires"])
    if credential.date != amz_date[:8]:
        raise _query_error(
            f'Invalid credential date "{credential.date}". This date is not '
            f'the same as X-Amz-Date: "{amz_date[:8]}".'
        )
    signed_headers = params["X-Amz-SignedHeaders"].split(";")
    if "host" not in signed_headers:
        raise _query_error(
            "Query-string authentication requires the host header to be "
            "signed (X-Amz-SignedHeaders)."
        )
    _check_all_amz_headers_signed(head, signed_headers)

    declared = params.get("X-Amz-Content-Sha256") or head.headers.get(
        "x-amz-content-sha256"
    )
    declared = declared.strip() if declared else UNSIGNED_PAYLOAD
    _check_content_sha256(declared)

    secret = _lookup(lookup, credential.access_key)
    if request_time - now > MAX_SKEW_SECONDS:
        raise S3Error.of(
            "AccessDenied",
            "Request is not valid yet",
            ServerTime=format_iso8601(now),
        )
    if now > request_time + expires:
        raise S3Error.of(
            "AccessDenied",
            "Request has expired",
            **{
                "X-Amz-Expires": str(expires),
                "Expires": format_iso8601(request_time + expires),
                "ServerTime": format_iso8601(now),
            },
        )
    signature = params["X-Amz-Signature"]
    key = signing_key(secret.secret_key, credential.date, credential.region)
    # Presigned URLs sign UNSIGNED-PAYLOAD (AWS's rule, botocore's practice);
    # a client may sign a declared hash instead.  Either way the declared
    # value, which is itself signed (a query parameter, or an x-amz-* header
    # that must be in SignedHeaders), decides how the body is read.
    _verify_signature(
        head,
        key,
        credential,
        amz_date,
        signed_headers,
        signature,
        payload_hashes=[declared, UNSIGNED_PAYLOAD],
        exclude=("X-Amz-Signature",),
    )
    signing = ChunkSigning(key, amz_date, credential.scope, signature.lower())
    return Authenticated(
        identity=secret.identity(),
        payload=payload_plan(head, declared, signing),
    )


def payload_plan(
    head: RequestHead, content_sha256: str, signing: ChunkSigning | None
) -> PayloadPlan:
    """
    How to read the body of a SigV4 request, from its ``x-amz-content-sha256``.

    The framing is decided by that value alone: ``Content-Encoding:
    aws-chunked`` is accepted (AWS asks for it, not every SDK sends it) but
    neither required nor sufficient.  The server must drop ``aws-chunked``
    from the Content-Encoding it stores.

    @param content_sha256: the (already validated) payload hash value.
    @param signing: what chunk signatures are verified with, for the signed
        streaming modes.
    @raise S3Error: C{MissingContentLength} for a streaming mode without
        ``x-amz-decoded-content-length``; C{InvalidArgument} when that
        header is not a non-negative integer.
    """
    if content_sha256 == UNSIGNED_PAYLOAD:
        return PayloadPlan()
    if _HEX64.fullmatch(content_sha256):
        return PayloadPlan(content_sha256=content_sha256.lower())
    trailer = content_sha256 in (STREAMING_PAYLOAD_TRAILER, STREAMING_UNSIGNED_TRAILER)
    signed = content_sha256 in (STREAMING_PAYLOAD, STREAMING_PAYLOAD_TRAILER)
    names: tuple[str, ...] = ()
    if trailer:
        names = tuple(
            name.strip().lower()
            for name in head.headers.get("x-amz-trailer", "").split(",")
            if name.strip()
        )
    return PayloadPlan(
        mode="aws-chunked",
        chunk_signing=signing if signed else None,
        trailer=trailer,
        trailer_names=names,
        decoded_length=_decoded_length(head),
    )


# --- helpers ------------------------------------------------------------------


def _malformed(message: str) -> S3Error:
    return S3Error.of("AuthorizationHeaderMalformed", message)


def _query_error(message: str) -> S3Error:
    return S3Error.of("AuthorizationQueryParametersError", message)


def _parse_authorization(value: str) -> tuple[Credential, list[str], str]:
    """
    Split ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``.

    Components may be separated by commas and/or spaces, in any order.
    """
    _, _, rest = value.strip().partition(" ")
    found: dict[str, str] = {}
    for match in _AUTH_COMPONENT.finditer(rest):
        name, component = match.group(1), match.group(2)
        if name in found:
            raise _malformed(
                "The authorization header is malformed; the authorization "
                f'component "{name}" appears more than once.'
            )
        found[name] = component
    if len(found) != 3 or not all(found.values()):
        raise _malformed(
            "The authorization header is malformed; the authorization header "
            "requires three components: Credential, SignedHeaders, and "
            "Signature."
        )
    credential = parse_credential(found["Credential"])
    if credential is None:
        raise _malformed(
            "The authorization header is malformed; the Credential is "
            'mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/'
            'aws4_request".'
        )
    return credential, found["SignedHeaders"].split(";"), found["Signature"]


def _check_scope_header(credential: Credential) -> None:
    # Any region is accepted: txs3 is one endpoint, and clients pick the
    # region they were configured with (often us-east-1 by default).
    if credential.service != SERVICE:
        raise _malformed(
            "The authorization header is malformed; incorrect service "
            f'"{credential.service}". This endpoint belongs to "{SERVICE}".'
        )
    if credential.terminator != TERMINATOR:
        raise _malformed(
            "The authorization header is malformed; incorrect terminal "
            f'"{credential.terminator}". This endpoint uses "{TERMINATOR}".'
        )


def _header_time(head: RequestHead) -> tuple[str, str, float]:
    """
    The request time of a header-signed request: the raw value, the
    ``YYYYMMDDTHHMMSSZ`` form that goes into the string to sign, and POSIX
    seconds.  ``x-amz-date`` wins over ``Date``.
    """
    raw = head.headers.get("x-amz-date")
    if raw is not None:
        parsed = parse_amz_date(raw)
        if parsed is not None:
            return raw, raw.strip(), parsed
    else:
        raw = head.headers.get("date")
        if raw is not None:
            parsed = parse_http_date(raw)
            if parsed is not None:
                return raw, format_amz_date(parsed), parsed
    raise S3Error.of(
        "AccessDenied",
        "AWS authentication requires a valid Date or x-amz-date header",
    )


def _check_all_amz_headers_signed(head: RequestHead, signed: Sequence[str]) -> None:
    """
    Refuse ``x-amz-*`` headers that the signature does not cover, as AWS
    does: they change what a request does (``x-amz-copy-source``,
    ``x-amz-acl``, ...), so a captured or presigned request must not gain
    them.
    """
    signed_set = {name.lower() for name in signed}
    unsigned = sorted(
        name
        for name in head.headers
        if name.lower().startswith("x-amz-") and name.lower() not in signed_set
    )
    if unsigned:
        raise S3Error.of(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            HeadersNotSigned=", ".join(unsigned),
        )


def _check_content_sha256(value: str) -> None:
    if value in (
        UNSIGNED_PAYLOAD,
        STREAMING_PAYLOAD,
        STREAMING_PAYLOAD_TRAILER,
        STREAMING_UNSIGNED_TRAILER,
    ) or _HEX64.fullmatch(value):
        return
    raise S3Error.of(
        "InvalidArgument",
        _CONTENT_SHA256_MESSAGE,
        ArgumentName="x-amz-content-sha256",
        ArgumentValue=value,
    )


def _parse_expires(value: str) -> int:
    try:
        expires = int(value)
    except ValueError:
        raise _query_error("X-Amz-Expires should be a number") from None
    if expires < 0:
        raise _query_error("X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES_SECONDS:
        raise _query_error(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800"
        )
    return expires


def _decoded_length(head: RequestHead) -> int:
    raw = head.headers.get("x-amz-decoded-content-length")
    if raw is None:
        raise S3Error.of("MissingContentLength")
    raw = raw.strip()
    if not raw.isdigit():
        raise S3Error.of(
            "InvalidArgument",
            "x-amz-decoded-content-length must be a non-negative integer",
            ArgumentName="x-amz-decoded-content-length",
            ArgumentValue=raw,
        )
    return int(raw)


def _lookup(lookup: Lookup, access_key: str) -> Secret:
    secret = lookup(access_key)
    if secret is None:
        raise S3Error.of("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    return secret


def _uri_candidates(raw_path: str) -> Iterator[str]:
    """
    Canonical URIs to try: the raw path as sent (what S3 signs), then the
    same path re-encoded the AWS way, for clients that send characters such
    as ``(`` or ``!`` literally but sign them percent-encoded.  Both stand
    for the same key, so accepting either grants nothing more.  Lazy: the
    alternative is computed only when the first form fails.
    """
    raw = raw_path or "/"
    yield raw
    reencoded = uri_encode(unquote_to_bytes(raw), keep_slash=True)
    if reencoded != raw:
        yield reencoded


def _query_candidates(raw_query: str, exclude: Sequence[str]) -> Iterator[str]:
    """
    Canonical query strings to try: with ``+`` read as a space (form
    encoding, as S3 reads queries), then as a literal plus.  Only a query
    with a bare ``+`` has two.  Lazy, like L{_uri_candidates}.
    """
    first = canonical_query_string(raw_query, exclude=exclude, plus_is_space=True)
    yield first
    if "+" in raw_query:
        second = canonical_query_string(raw_query, exclude=exclude, plus_is_space=False)
        if second != first:
            yield second


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _verify_signature(
    head: RequestHead,
    key: bytes,
    credential: Credential,
    amz_date: str,
    signed_headers: Sequence[str],
    signature: str,
    *,
    payload_hashes: Sequence[str],
    exclude: Sequence[str],
) -> None:
    """
    Check C{signature} against every canonical form of the request (each
    reading of its headers, L{signing_readings}, with each payload hash,
    URI and query form); the first form is S3's own and is the one
    reported on failure.

    @raise S3Error: C{SignatureDoesNotMatch} with AWS's debugging elements.
    """
    provided = signature.strip().lower().encode("ascii", "replace")
    first: tuple[str, str] | None = None
    for headers in signing_readings(head.headers):
        for payload_hash in _unique(payload_hashes):
            for uri in _uri_candidates(head.raw_path):
                for query in _query_candidates(head.raw_query, exclude):
                    canonical = canonical_request(
                        head.method,
                        uri,
                        query,
                        headers,
                        signed_headers,
                        payload_hash,
                    )
                    to_sign = string_to_sign(amz_date, credential.scope, canonical)
                    expected = hmac_hex(key, to_sign).encode("ascii")
                    if hmac.compare_digest(expected, provided):
                        return
                    if first is None:
                        first = (canonical, to_sign)
    assert first is not None
    raise S3Error.of(
        "SignatureDoesNotMatch",
        AWSAccessKeyId=credential.access_key,
        StringToSign=first[1],
        SignatureProvided=signature,
        CanonicalRequest=first[0],
    )
