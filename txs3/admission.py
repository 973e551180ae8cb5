"""
Admission: may this caller make this request?  The authorization step of
the gate (L{txs3.gate.prepare}), before any body byte is read.

The caller is the authenticated key's owner, or anonymous for a request
that carries no signature at all (a bad signature never gets here: it is
refused by authentication).  Then, AWS's order:

  - the service (ListBuckets) and CreateBucket need a key;
  - a request naming a bucket that does not exist gets C{NoSuchBucket}
    when signed, and C{AccessDenied} when anonymous: an anonymous caller
    learns nothing of which names exist;
  - C{x-amz-expected-bucket-owner}, when sent, must be the bucket's
    owner (C{AccessDenied} otherwise, as S3 answers);
  - the operation's IAM action on the bucket, or on the object the
    request names, is decided by L{txs3.authz.authorize} over the bucket's
    policy, ACLs and Block Public Access settings (L{txs3.access});
    anything but an allow is C{AccessDenied}.  An operation whose action
    applies to the keys its body names (DeleteObjects; PostObject, whose
    form also names its principal) is decided once the body names them,
    with the authorizer returned here.

The request context that policy conditions read (L{request_context}) is
built from the head and the connection only.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl

from txs3.access import Authorizer
from txs3.api.catalogue import Entry
from txs3.auth.types import RequestHead
from txs3.authz import RequestContext
from txs3.authz.context import AuthType
from txs3.call import Connection, S3Call
from txs3.errors import S3Error
from txs3.operation import Operation

# Query parameters that make a request presigned (SigV4, SigV2).
_V4_QUERY = "X-Amz-Algorithm"
_V2_QUERY = "Signature"


def admit(call: S3Call, entry: Entry) -> Authorizer | None:
    """
    Decide whether C{call} may go on; return the authorizer for its
    bucket (None for the service and CreateBucket).

    @raise S3Error: C{AccessDenied}, C{NoSuchBucket}.
    """
    operation = call.operation
    principal = call.principal
    if operation.bucket is None or operation.name == "CreateBucket":
        if principal.anonymous:
            raise S3Error.of("AccessDenied")
        return None
    config = call.config
    store = config.store
    try:
        bucket = store.get_bucket(operation.bucket)
    except S3Error as e:
        if e.code == "NoSuchBucket" and principal.anonymous:
            raise S3Error.of("AccessDenied") from None
        raise
    expected = call.header("x-amz-expected-bucket-owner")
    if expected is not None and expected.strip() != bucket.owner_id:
        raise S3Error.of("AccessDenied")
    access = config.access.get(store, bucket)
    key = operation.key

    def context() -> RequestContext:
        existing_tags = None
        if key is not None and access.policy is not None:
            if access.policy.needs_existing_tags:
                existing_tags = _tags_of(call, key)
        return request_context(
            call.head,
            operation,
            call.connection,
            config.reactor.seconds(),
            existing_tags,
        )

    authorizer = Authorizer(principal, access, context, store, config.access)
    action = entry.action_for(operation.query.get("versionId"))
    if action is not None and not entry.per_key:
        authorizer.require(action, key)
    return authorizer


def _tags_of(call: S3Call, key: str) -> dict[str, str] | None:
    try:
        info = call.config.store.head_object(call.bucket, key)
    except S3Error:
        return None
    return dict(info.meta.tags)


def request_context(
    head: RequestHead,
    operation: Operation,
    connection: Connection,
    now: float,
    existing_tags: Mapping[str, str] | None = None,
) -> RequestContext:
    """What policy conditions may read of a request, from its head."""
    signature, auth_type = _signature(head, operation)
    tagging = head.headers.get("x-amz-tagging")
    tags = None if tagging is None else dict(parse_qsl(tagging, keep_blank_values=True))
    return RequestContext(
        now=now,
        secure_transport=connection.secure,
        source_ip=connection.peer or None,
        headers=head.headers,
        query=operation.query,
        signature_version=signature,
        auth_type=auth_type,
        request_tags=tags,
        existing_tags=existing_tags,
    )


def _signature(
    head: RequestHead, operation: Operation
) -> tuple[str | None, AuthType | None]:
    """C{s3:signatureversion} and C{s3:authType} of a request."""
    authorization = head.headers.get("authorization", "")
    if authorization.startswith("AWS4-"):
        return "AWS4-HMAC-SHA256", "REST-HEADER"
    if authorization.startswith("AWS "):
        return "AWS", "REST-HEADER"
    if _V4_QUERY in operation.query:
        return "AWS4-HMAC-SHA256", "REST-QUERY-STRING"
    if _V2_QUERY in operation.query:
        return "AWS", "REST-QUERY-STRING"
    return None, None
