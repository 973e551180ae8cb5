"""
The primitives of AWS Signature Version 4, shared by the request checks
(L{txs3.auth.sigv4}) and anything else that signs the SigV4 way (chunk
signatures, POST policies): the signing key, the canonical request and
query string, the string to sign, and the credential scope.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from txs3.auth.canonical import uri_encode
from txs3.auth.fields import field_lines
from txs3.operation import decode_query_part, split_query

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
TERMINATOR = "aws4_request"


@functools.lru_cache(maxsize=256)
def signing_key(
    secret_key: str, date: str, region: str, service: str = SERVICE
) -> bytes:
    """
    The SigV4 signing key: HMAC chain over date (``YYYYMMDD``), region,
    service and ``aws4_request``, keyed by ``"AWS4" + secret_key``.

    Cached: a key is good for a whole day, and deriving it costs four
    HMACs per request otherwise.
    """
    key = ("AWS4" + secret_key).encode("utf-8")
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def hmac_hex(key: bytes, message: str) -> str:
    """Lower-case hex HMAC-SHA256 of C{message} (UTF-8) under C{key}."""
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def canonical_query_string(
    raw_query: str,
    *,
    exclude: Iterable[str] = (),
    plus_is_space: bool = True,
) -> str:
    """
    The SigV4 canonical query string of a raw query.

    Each name and value is percent-decoded and re-encoded with AWS's URI
    encoding; pairs are sorted by encoded name, then encoded value; a
    parameter sent without ``=`` becomes ``name=``.

    @param exclude: decoded names to leave out (``X-Amz-Signature`` for a
        presigned URL).
    @param plus_is_space: how a literal ``+`` is read (see
        L{txs3.operation.decode_query_part}).
    @raise S3Error: C{InvalidURI} for a name or value that is not UTF-8.
    """
    excluded = set(exclude)
    pairs: list[tuple[str, str]] = []
    for raw_name, raw_value in split_query(raw_query):
        name = decode_query_part(raw_name, plus_is_space=plus_is_space)
        if name in excluded:
            continue
        value = decode_query_part(raw_value or "", plus_is_space=plus_is_space)
        pairs.append((uri_encode(name), uri_encode(value)))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def canonical_header_value(value: str) -> str:
    """A header value trimmed, with inner runs of white space collapsed."""
    return " ".join(value.split())


def canonical_request(
    method: str,
    canonical_uri: str,
    canonical_query: str,
    headers: Mapping[str, str],
    signed_headers: Sequence[str],
    payload_hash: str,
) -> str:
    """
    The SigV4 canonical request.  Headers are taken in the order of
    C{signed_headers} (clients send them sorted); a signed header absent
    from the request counts as empty, so the signature will not match.  A
    header sent on several lines is its lines' values, each canonicalised,
    joined with ``","`` (AWS's rule, botocore's practice).
    """
    header_block = "".join(
        f"{name.lower()}:{_canonical_field(headers, name.lower())}\n"
        for name in signed_headers
    )
    return "\n".join(
        [
            method,
            canonical_uri,
            canonical_query,
            header_block,
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def _canonical_field(headers: Mapping[str, str], name: str) -> str:
    return ",".join(canonical_header_value(v) for v in field_lines(headers, name))


def string_to_sign(amz_date: str, scope: str, canonical: str) -> str:
    """The SigV4 string to sign for a canonical request."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return "\n".join([ALGORITHM, amz_date, scope, digest])


@dataclass(frozen=True)
class Credential:
    """The parts of ``AKID/YYYYMMDD/region/service/aws4_request``."""

    access_key: str
    date: str
    region: str
    service: str
    terminator: str

    @property
    def scope(self) -> str:
        """``date/region/service/terminator``: the credential scope."""
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


def parse_credential(value: str) -> Credential | None:
    """Split a credential string; None when it does not have five parts."""
    parts = value.rsplit("/", 4)
    if len(parts) != 5 or not all(parts):
        return None
    return Credential(*parts)
