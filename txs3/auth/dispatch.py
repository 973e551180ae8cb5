"""
Choosing the authentication scheme of a request.

S3 accepts exactly one of: an ``Authorization`` header (SigV4
``AWS4-HMAC-SHA256 ...`` or SigV2 ``AWS AKID:sig``), a presigned SigV4
query (``X-Amz-Algorithm`` & co.), a presigned SigV2 query
(``AWSAccessKeyId``/``Signature``/``Expires``), or nothing (anonymous).
"""

from __future__ import annotations

from collections.abc import Callable

from txs3.auth import sigv2, sigv4, sigv4_signing
from txs3.auth.types import Authenticated, RequestHead, Secret
from txs3.errors import S3Error
from txs3.operation import decode_query_part, split_query

_V4_QUERY_MARKERS = frozenset(
    {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"}
)
_V2_QUERY_MARKERS = frozenset({"AWSAccessKeyId", "Signature"})


def authenticate(
    head: RequestHead, lookup: Callable[[str], Secret | None], now: float
) -> Authenticated:
    """
    Authenticate a request from its head alone, before any body byte.

    @param lookup: the credential store: access key to L{Secret}, or None
        for an unknown key.
    @param now: the server's time, POSIX seconds (a parameter so that tests
        control the clock).
    @return: C{Authenticated(identity=None)} for a request without any
        credentials (deciding whether anonymous access is allowed is the
        caller's business); otherwise the caller's identity and the
        L{PayloadPlan} for the body.
    @raise S3Error: with AWS's code for every way a signed request can be
        refused: C{InvalidArgument} for several mechanisms at once or an
        unsupported ``Authorization`` type, C{InvalidURI} for a query that
        is not UTF-8 (as the classifier), and the codes documented in
        L{txs3.auth.sigv2} and L{txs3.auth.sigv4}.
    """
    authorization = head.headers.get("authorization", "").strip()
    names = {decode_query_part(name) for name, _ in split_query(head.raw_query)}
    v4_query = bool(names & _V4_QUERY_MARKERS)
    v2_query = bool(names & _V2_QUERY_MARKERS)
    if sum([bool(authorization), v4_query, v2_query]) > 1:
        raise S3Error.of(
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
            "parameter, Signature query string parameter or the Authorization "
            "header should be specified",
            ArgumentName="Authorization",
            ArgumentValue=authorization,
        )
    if authorization:
        scheme = authorization.split(None, 1)[0]
        if scheme == sigv4_signing.ALGORITHM:
            return sigv4.verify_header(head, lookup, now)
        if scheme == "AWS":
            return sigv2.verify_header(head, lookup, now)
        raise S3Error.of(
            "InvalidArgument",
            "Unsupported Authorization Type",
            ArgumentName="Authorization",
            ArgumentValue=authorization,
        )
    if v4_query:
        return sigv4.verify_query(head, lookup, now)
    if v2_query:
        return sigv2.verify_query(head, lookup, now)
    return Authenticated(identity=None)
