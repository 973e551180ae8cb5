"""
The gate: everything that happens between a request's headers and its
body.

L{prepare} runs once all headers are in and before any body byte is read
(from L{txs3.server.S3Request.gotLength}).  In order, it:

  1. classifies the request (L{txs3.classify.classify});
  2. authenticates it (L{txs3.auth.authenticate}), unless its operation is
     public; a request without any signature goes on as anonymous;
  3. refuses a sub-resource txs3 does not implement;
  4. authorizes it (L{txs3.admission.admit}): the caller's permission for
     the operation's IAM action, by the bucket's policy and ACLs;
  5. runs the operation's pre-body checks (L{txs3.api.prechecks});
  6. chooses the sink the body goes to, by the operation's body kind,
     with the digests the body must match (refusing a malformed
     Content-MD5 or checksum header, and an XML body declared over the
     cap, here).  A browser upload's form (PostObject) is decided by its
     sink when its file begins (L{txs3.api.postobject}).

Why before the body: a refused request must cost neither disk nor
bandwidth.  The server answers it without ``100 Continue`` and without
reading the body it declared, and nothing reaches the disk.

This module knows no HTTP plumbing (nothing of C{twisted.web}): it takes
the request head as strings and returns values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from txs3.admission import admit
from txs3.api.catalogue import Entry
from txs3.api.postobject import form_sink
from txs3.auth import authenticate
from txs3.auth.integrity import BodyDigests, parse_content_md5
from txs3.auth.types import PayloadPlan, RequestHead
from txs3.body import (
    DEFAULT_CHECKSUM,
    BufferSink,
    UploadSink,
    requested_checksums,
)
from txs3.call import ANONYMOUS, Connection, S3Call, S3Config, Sink
from txs3.classify import classify
from txs3.errors import S3Error
from txs3.operation import MAX_PUT_SIZE
from txs3.store.interface import UploadInfo

# XML request bodies (DeleteObjects with 1,000 keys of 1,024 bytes, escaped)
# stay well below this.
XML_BODY_LIMIT = 8 * 1024 * 1024


@dataclass(frozen=True)
class Prepared:
    """An accepted request: its catalogue entry, and the call to hand it."""

    entry: Entry
    call: S3Call


def prepare(
    config: S3Config,
    request_id: str,
    method: str,
    target: str,
    headers: Mapping[str, str],
    length: int | None,
    connection: Connection | None = None,
) -> Prepared:
    """
    Classify, authenticate and authorise a request, and choose its body
    sink.

    @param target: the raw request target (path and query, as sent).
    @param headers: lower-case header names to values.
    @param length: the declared body length (None: chunked or unknown).
    @raise S3Error: when the request is refused; nothing has been read of
        its body, nor written anywhere.
    """
    raw_path, _, raw_query = target.partition("?")
    classified = classify(method, raw_path, raw_query, headers, config.domains)
    operation = classified.operation
    host_bucket = operation.bucket if operation.virtual_host else None
    head = RequestHead(method, raw_path, raw_query, headers, host_bucket)
    connection = connection or Connection()
    entry = classified.entry
    if entry is not None and entry.public:
        call = S3Call(request_id, operation, ANONYMOUS, head, config,
                      connection=connection)  # fmt: skip
        return Prepared(entry, call)
    auth = authenticate(head, config.lookup, config.reactor.seconds())
    if entry is None:
        raise S3Error.of("AccessDenied" if auth.identity is None else "NotImplemented")
    call = S3Call(
        request_id,
        operation,
        auth.identity or ANONYMOUS,
        head,
        config,
        payload=auth.payload,
        connection=connection,
        content_length=length,
    )
    call.authorizer = admit(call, entry)
    for check in entry.checks:
        check(call)
    call.body = _sink(entry, call, length)
    return Prepared(entry, call)


def _sink(entry: Entry, call: S3Call, length: int | None) -> Sink:
    """
    The sink for the body, by the operation's body kind.  Every one checks
    the body against the request's digests before the handler runs.

    @raise S3Error: C{InvalidDigest} for a malformed Content-MD5, checksum
        header errors, C{MaxMessageLengthExceeded} for an XML body declared
        over the cap, and as L{_upload_sink} and L{form_sink}.
    """
    headers = call.head.headers
    parse_content_md5(headers.get("content-md5"))
    if entry.body == "object":
        also = _part_checksums(call.upload) if call.upload is not None else []
        return _upload_sink(call, length, also)
    plan: PayloadPlan = call.payload
    checksums, error = requested_checksums(headers, plan)
    if error is not None:
        raise error
    digests = BodyDigests(plan, headers.get("content-md5"), checksums)
    if entry.body == "form":
        return form_sink(call, digests)
    if entry.body == "xml":
        size = plan.decoded_length if plan.decoded_length is not None else length
        if size is not None and size > XML_BODY_LIMIT:
            raise S3Error.of("MaxMessageLengthExceeded")
        return BufferSink(XML_BODY_LIMIT, plan, digests)
    return BufferSink(0, plan, digests, keep=False)


def _part_checksums(upload: UploadInfo) -> list[str]:
    # Every part carries the upload's algorithm (for the composite or
    # full-object checksum) and CRC64NVME (the default full-object checksum
    # of uploads created without one).
    algs = [upload.checksum_algorithm] if upload.checksum_algorithm else []
    return [*algs, DEFAULT_CHECKSUM]


def _upload_sink(call: S3Call, length: int | None, also: list[str]) -> UploadSink:
    """
    A sink streaming object data to a new staging file.

    @raise S3Error: C{EntityTooLarge} over 5 GiB, C{MissingContentLength}
        when no length is declared, and checksum header errors.
    """
    plan: PayloadPlan = call.payload
    size = plan.decoded_length if plan.decoded_length is not None else length
    if size is not None and size > MAX_PUT_SIZE:
        raise S3Error.of(
            "EntityTooLarge",
            ProposedSize=str(size),
            MaxSizeAllowed=str(MAX_PUT_SIZE),
        )
    if length is None and plan.decoded_length is None:
        raise S3Error.of("MissingContentLength")
    headers = call.head.headers
    checksums, error = requested_checksums(headers, plan)
    if error is not None:
        raise error
    staging = call.config.store.open_staging()
    return UploadSink(
        staging, plan, headers.get("content-md5"), checksums, length, also
    )
