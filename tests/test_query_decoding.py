"""
One query decoder: the classifier (L{txs3.operation.parse_query}) and the
signature checks (SigV4's canonical query, SigV2's canonical resource, the
choice of scheme) read a query string the same way, and refuse the same
queries with the same error, C{InvalidURI}.

Pure functions, no server: a table of bad UTF-8, then a property test over
arbitrary raw queries, well-formed or not.
"""

from __future__ import annotations

from urllib.parse import quote_from_bytes, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from txs3.auth import authenticate
from txs3.auth.sigv2 import canonical_resource
from txs3.auth.sigv4_signing import canonical_query_string
from txs3.auth.types import RequestHead, Secret
from txs3.classify import classify
from txs3.errors import S3Error
from txs3.operation import decode_query_part, parse_query, split_query

SECRET = Secret("AKIDQUERYTEST", "secret", "owner", "Owner")
NOW = 1_700_000_000.0
SIGNED = {
    "host": "s3.test",
    "x-amz-date": "20231114T221320Z",
    "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    "authorization": (
        "AWS4-HMAC-SHA256 Credential=AKIDQUERYTEST/20231114/us-east-1/s3/"
        "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
        "Signature=" + "0" * 64
    ),
}
BAD_UTF8 = ["prefix=%FF", "%C3=1", "acl&versionId=%E9t%E9", "tagging=%C3%28"]


def outcome(f: object, *args: object) -> object:
    """What C{f(*args)} returns, or the code of the S3Error it raises."""
    assert callable(f)
    try:
        return f(*args)
    except S3Error as e:
        return e.code


@pytest.mark.parametrize("raw_query", BAD_UTF8)
def test_bad_utf8_is_invalid_uri_everywhere(raw_query: str) -> None:
    """A query that is not UTF-8 is InvalidURI to the classifier, to SigV4, to SigV2 and to authentication as a whole."""
    assert outcome(parse_query, raw_query) == "InvalidURI"
    assert outcome(classify, "GET", "/b/k", raw_query, {}) == "InvalidURI"
    assert outcome(canonical_query_string, raw_query) == "InvalidURI"
    pairs = split_query(raw_query)
    head = RequestHead("GET", "/b/k", raw_query, SIGNED)
    # SigV2 signs the names as sent, and decodes the values it signs.
    bad_value = any(
        outcome(decode_query_part, v or "") == "InvalidURI" for _, v in pairs
    )
    v2 = outcome(canonical_resource, head, [name for name, _ in pairs])
    assert (v2 == "InvalidURI") == bad_value
    lookup = {SECRET.access_key: SECRET}.get
    assert outcome(authenticate, head, lookup, NOW) == "InvalidURI"


# Raw queries from pieces that exercise the decoder: separators, "+",
# escapes of ASCII, of UTF-8 and of bytes that are not UTF-8, stray "%".
_pieces = st.sampled_from(
    ["a", "B", "=", "&", "+", " ", "%", "%2", "%20", "%2B", "%3D", "%26",
     "%C3%A9", "%C3", "%A9", "%FF", "%e2%82%ac", "é", "~", "/"]
)  # fmt: skip
_raw_queries = st.one_of(
    st.lists(_pieces, max_size=12).map("".join),
    st.lists(st.tuples(st.binary(max_size=6), st.binary(max_size=6)), max_size=4).map(
        lambda pairs: "&".join(
            f"{quote_from_bytes(n, safe='')}={quote_from_bytes(v, safe='')}"
            for n, v in pairs
        )
    ),
)


@settings(max_examples=500)
@given(_raw_queries)
def test_classifier_and_signatures_agree(raw_query: str) -> None:
    """For any raw query, the classifier and the canonical query fail together, and otherwise hold the same parameters."""
    params = outcome(parse_query, raw_query)
    canonical = outcome(canonical_query_string, raw_query)
    assert (params == "InvalidURI") == (canonical == "InvalidURI")
    if not isinstance(params, dict):
        return
    assert isinstance(canonical, str)
    # The canonical query holds every parameter, decoded exactly as the
    # classifier decodes it (then AWS-encoded, which unquote undoes).
    in_canonical = {
        (unquote(n, errors="strict"), unquote(v, errors="strict"))
        for n, _, v in (part.partition("=") for part in canonical.split("&") if part)
    }
    decoded = {
        (decode_query_part(n), decode_query_part(v or ""))
        for n, v in split_query(raw_query)
    }
    assert in_canonical == decoded
    assert set(params.items()) <= decoded
    assert set(params) == {n for n, _ in decoded}
