"""
Conditional requests and byte ranges, as S3 evaluates them.

Pure functions over header values, tested without a server.  Precondition
order is RFC 9110 section 13.2.2, which is what S3 does:

  1. If-Match (412 when it fails); only when absent, If-Unmodified-Since;
  2. If-None-Match (304 for GET/HEAD when an ETag matches); only when
     absent, If-Modified-Since (304 when not modified);
  3. then Range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from txs3.auth.canonical import parse_http_date
from txs3.errors import S3Error
from txs3.operation import Operation
from txs3.store.interface import IObjectStore, WriteCondition


def _etags(header: str) -> list[str]:
    out = []
    for part in header.split(","):
        tag = part.strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        out.append(tag.strip('"'))
    return out


def etag_matches(header: str, etag: str) -> bool:
    """Whether an If-Match / If-None-Match list names C{etag} (or is ``*``)."""
    tags = _etags(header)
    return "*" in tags or etag in tags


@dataclass(frozen=True)
class Verdict:
    """The outcome of preconditions: 200 (go on), 304 or 412, and the
    condition that decided it."""

    status: int
    condition: str = ""


def evaluate(headers: Mapping[str, str], etag: str, last_modified: float) -> Verdict:
    """
    Evaluate GET/HEAD preconditions against an existing object.

    @param headers: lower-case request headers.
    """
    modified = int(last_modified)  # HTTP dates have one-second resolution
    if_match = headers.get("if-match")
    if if_match is not None:
        if not etag_matches(if_match, etag):
            return Verdict(412, "If-Match")
    else:
        ius = headers.get("if-unmodified-since")
        since = parse_http_date(ius) if ius else None
        if since is not None and modified > since:
            return Verdict(412, "If-Unmodified-Since")
    if_none = headers.get("if-none-match")
    if if_none is not None:
        if etag_matches(if_none, etag):
            return Verdict(304, "If-None-Match")
    else:
        ims = headers.get("if-modified-since")
        since = parse_http_date(ims) if ims else None
        if since is not None and modified <= since:
            return Verdict(304, "If-Modified-Since")
    return Verdict(200)


def precondition_failed(verdict: Verdict) -> S3Error:
    """The 412 error S3 sends for a failed precondition."""
    return S3Error.of("PreconditionFailed", Condition=verdict.condition)


def write_condition(headers: Mapping[str, str]) -> WriteCondition | None:
    """
    The conditional write a PutObject or CompleteMultipartUpload asks for:
    ``If-None-Match: *`` (create only) and/or ``If-Match: "etag"``.

    @raise S3Error: C{NotImplemented} for an If-None-Match other than
        ``*`` (S3 supports only that on writes).
    """
    if_none = headers.get("if-none-match")
    if_match = headers.get("if-match")
    if if_none is None and if_match is None:
        return None
    if if_none is not None and if_none.strip() != "*":
        raise S3Error.of(
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
            Header="If-None-Match",
        )
    return WriteCondition(if_match=if_match, if_none_match=if_none is not None)


def check_write_condition(
    store: IObjectStore, operation: Operation, condition: WriteCondition | None
) -> None:
    """
    Refuse a conditional write that cannot succeed, before its body: 412
    C{PreconditionFailed} when an object exists under If-None-Match or has
    another ETag than If-Match, C{NoSuchKey} for If-Match on a missing key.
    The store checks the condition again inside its commit.
    """
    if condition is None:
        return
    assert operation.bucket is not None and operation.key is not None
    try:
        etag: str | None = store.head_object(operation.bucket, operation.key).etag
    except S3Error as e:
        if e.code != "NoSuchKey":
            raise
        etag = None
    if condition.holds(etag):
        return
    if etag is None:
        raise S3Error.of("NoSuchKey", Key=operation.key)
    which = "If-None-Match" if condition.if_none_match else "If-Match"
    raise S3Error.of("PreconditionFailed", Condition=which)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """
    The single byte range C{header} asks for, as (first, last) inclusive.

    Returns None when the whole object is to be sent: no header, a header
    that does not parse, or several ranges (S3 serves one range only and
    ignores what it cannot use).

    @raise S3Error: C{InvalidRange} (416) when the range cannot be satisfied.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_s, dash, last_s = spec.strip().partition("-")
    if not dash:
        return None
    first_s, last_s = first_s.strip(), last_s.strip()
    if not (first_s.isdigit() or first_s == "") or not (
        last_s.isdigit() or last_s == ""
    ):
        return None
    if first_s == "":
        if last_s == "":
            return None
        suffix = int(last_s)
        if suffix == 0 or size == 0:
            raise _invalid_range(size)
        return max(0, size - suffix), size - 1
    first = int(first_s)
    if first >= size:
        raise _invalid_range(size)
    last = int(last_s) if last_s else size - 1
    if last < first:
        return None
    return first, min(last, size - 1)


def _invalid_range(size: int) -> S3Error:
    error = S3Error.of("InvalidRange", ActualObjectSize=str(size))
    error.headers["Content-Range"] = f"bytes */{size}"
    return error
