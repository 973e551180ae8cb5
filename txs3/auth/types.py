"""
Values shared by the authentication modules and the server.

The server turns the request head (before any body byte is read) into a
L{RequestHead}, asks L{txs3.auth.authenticate} for an L{Authenticated}, and
builds the body pipeline from its L{PayloadPlan}.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class RequestHead:
    """
    Everything authentication may look at, before the body.

    @ivar method: upper-case HTTP method.
    @ivar raw_path: the path of the request target exactly as sent
        (percent-encoded, no query), e.g. ``/bucket/a%20b``.
    @ivar raw_query: the query string exactly as sent, without ``?``.
    @ivar headers: lower-case header name to value; a header sent on
        several lines has their values joined with ``", "``.  From the
        server it is a L{txs3.auth.fields.HeaderFields}, which keeps each
        line for the signature checks.
    @ivar host_bucket: the bucket named by the Host header under
        virtual-host addressing, else None (SigV2 puts it into the canonical
        resource).
    """

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]
    host_bucket: str | None = None


@dataclass(frozen=True)
class Identity:
    """An authenticated principal: the access key used and its owner."""

    access_key: str
    owner_id: str
    display_name: str


@dataclass(frozen=True)
class Secret:
    """What the credential store knows about one access key."""

    access_key: str
    secret_key: str
    owner_id: str
    display_name: str
    email: str | None = None

    def identity(self) -> Identity:
        return Identity(self.access_key, self.owner_id, self.display_name)


@dataclass(frozen=True)
class ChunkSigning:
    """
    What is needed to verify ``aws-chunked`` chunk and trailer signatures
    (SigV4 streaming): each chunk's signature chains from the previous one,
    starting at the seed (the request's own signature).
    """

    signing_key: bytes
    amz_date: str  # e.g. 20130524T000000Z
    scope: str  # e.g. 20130524/us-east-1/s3/aws4_request
    seed_signature: str  # hex


PayloadMode = Literal["plain", "aws-chunked"]


@dataclass(frozen=True)
class PayloadPlan:
    """
    How the request body must be decoded and verified.

    @ivar mode: ``plain`` bytes, or ``aws-chunked`` framing to decode.
    @ivar content_sha256: hex SHA-256 the (decoded) body must have, when the
        client signed one; None for ``UNSIGNED-PAYLOAD``, streaming modes and
        SigV2.
    @ivar chunk_signing: set for the signed streaming modes
        (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]``).
    @ivar trailer: whether a trailer section follows the last chunk.
    @ivar trailer_names: lower-case names announced in ``x-amz-trailer``.
    @ivar decoded_length: ``x-amz-decoded-content-length``, when given.
    """

    mode: PayloadMode = "plain"
    content_sha256: str | None = None
    chunk_signing: ChunkSigning | None = None
    trailer: bool = False
    trailer_names: tuple[str, ...] = ()
    decoded_length: int | None = None


@dataclass(frozen=True)
class Authenticated:
    """The outcome of a successful authentication."""

    identity: Identity | None  # None: anonymous
    payload: PayloadPlan = field(default_factory=PayloadPlan)
