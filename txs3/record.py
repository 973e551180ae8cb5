"""
L{RequestRecord}: what is known of one request once its answer is
complete, the one value the metrics (L{txs3.metrics}) and the JSON access
log (L{txs3.accesslog}) are made from.  L{txs3.server} builds it, at the
one place a request ends (C{S3Site.log}, or the channel's answer to a
request refused before its body).

It holds no secret: no signature, no query string, no header.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The operation of a request that could not be classified (a bad path, a
#: method no route takes).
UNKNOWN = "Unknown"


@dataclass(frozen=True)
class RequestRecord:
    """
    One answered request.

    @ivar operation: the catalogue's operation name (L{txs3.operation}),
        L{UNKNOWN}, or the name of an operator endpoint (L{txs3.ops}).
    @ivar s3: False for the operator endpoints, which the S3 request
        metrics do not count.
    @ivar bucket: the bucket named, if any.
    @ivar key: the key named, if any.
    @ivar status: the HTTP status answered.
    @ivar bytes_in: request body bytes received (after HTTP chunked
        decoding; C{aws-chunked} framing included).
    @ivar bytes_out: response body bytes sent.
    @ivar duration: seconds from the complete request head to the end of
        the answer.
    @ivar request_id: the C{x-amz-request-id} answered.
    @ivar access_key: the access key that signed it; for a request refused
        before it was authenticated, the key it claimed; empty if none.
    @ivar remote: the client's address.
    @ivar time: when the answer ended (seconds since the epoch).
    """

    operation: str
    method: str
    bucket: str | None
    key: str | None
    status: int
    bytes_in: int
    bytes_out: int
    duration: float
    request_id: str
    access_key: str
    remote: str
    time: float
    s3: bool = True
