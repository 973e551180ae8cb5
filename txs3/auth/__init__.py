"""
Authentication of S3 requests: SigV2 and SigV4 (header and presigned),
``aws-chunked`` body decoding with chunk signatures, and the S3 checksums.

Pure code: no HTTP, no Twisted.  The server builds a L{RequestHead} before
reading the body, calls L{authenticate}, and reads the body according to
the returned L{PayloadPlan} (through L{ChunkedDecoder} for ``aws-chunked``).
"""

from txs3.auth.checksums import (
    ALGORITHMS,
    Checksum,
    algorithm_for_header,
    header_name,
    new_checksum,
)
from txs3.auth.chunked import ChunkedDecoder
from txs3.auth.dispatch import authenticate
from txs3.auth.types import (
    Authenticated,
    ChunkSigning,
    Identity,
    PayloadMode,
    PayloadPlan,
    RequestHead,
    Secret,
)

__all__ = [
    "ALGORITHMS",
    "Authenticated",
    "Checksum",
    "ChunkSigning",
    "ChunkedDecoder",
    "Identity",
    "PayloadMode",
    "PayloadPlan",
    "RequestHead",
    "Secret",
    "algorithm_for_header",
    "authenticate",
    "header_name",
    "new_checksum",
]
