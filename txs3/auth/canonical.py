"""
Pieces of request canonicalisation shared by SigV2 and SigV4: splitting
the raw query string, AWS's URI encoding, and request time stamps.

Everything here works on the request as sent (raw path and raw query), so
that a signature is checked against the bytes the client signed, not
against a server-side reinterpretation of them.
"""

from __future__ import annotations

import calendar
import email.utils
import time
from urllib.parse import quote, unquote_to_bytes

from txs3.errors import S3Error

# AWS's unreserved set is A-Z a-z 0-9 - _ . ~; quote() never encodes those
# (nor anything else when safe="") and writes upper-case hex, as AWS wants.
_AWS_SAFE = "-_.~"


def split_query(raw_query: str) -> list[tuple[str, str | None]]:
    """
    Split a raw query string into its parameters, in order, undecoded.

    A parameter without ``=`` (``?acl``, Cyberduck's bare ``prefix``) has
    the value None; empty segments (``a=1&&b=2``) are dropped.
    """
    pairs: list[tuple[str, str | None]] = []
    for segment in raw_query.split("&"):
        if not segment:
            continue
        name, sep, value = segment.partition("=")
        pairs.append((name, value if sep else None))
    return pairs


def percent_decode(raw: str, *, plus_is_space: bool) -> bytes:
    """
    The bytes that a raw query name or value stands for.

    @param plus_is_space: whether a literal ``+`` means a space (form
        encoding, what S3 assumes for query strings) or itself.
    """
    if plus_is_space:
        raw = raw.replace("+", " ")
    return unquote_to_bytes(raw)


def decode_query_value(raw: str) -> str:
    """A raw query name or value decoded to text (``+`` is a space)."""
    return percent_decode(raw, plus_is_space=True).decode("utf-8", "replace")


def query_params(raw_query: str) -> dict[str, str]:
    """
    The decoded query parameters, first occurrence of each name winning;
    a valueless parameter maps to ``""``.
    """
    params: dict[str, str] = {}
    for name, value in split_query(raw_query):
        decoded = decode_query_value(name)
        if decoded not in params:
            params[decoded] = decode_query_value(value or "")
    return params


def uri_encode(data: bytes | str, *, keep_slash: bool = False) -> str:
    """
    AWS's URI encoding: unreserved characters as they are, every other byte
    as ``%XY`` with upper-case hex (a space is ``%20``, never ``+``).
    """
    return quote(data, safe=_AWS_SAFE + ("/" if keep_slash else ""))


def format_amz_date(posix: float) -> str:
    """POSIX seconds as SigV4's ISO 8601 basic format, ``20130524T000000Z``."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(posix))


def format_iso8601(posix: float) -> str:
    """POSIX seconds as ``2013-05-24T00:00:00Z``, as S3 error documents."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(posix))


def parse_amz_date(value: str) -> float | None:
    """
    Parse SigV4's ``YYYYMMDDTHHMMSSZ`` to POSIX seconds; None when
    C{value} has any other shape.
    """
    value = value.strip()
    # Parsed by hand: time.strptime costs more than the rest of a SigV4
    # verification, and this runs on every request.
    if len(value) != 16 or value[8] != "T" or value[15] != "Z":
        return None
    digits = value[:8] + value[9:15]
    if not (digits.isascii() and digits.isdigit()):
        return None
    year, month, day = int(value[0:4]), int(value[4:6]), int(value[6:8])
    hour, minute, second = int(value[9:11]), int(value[11:13]), int(value[13:15])
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        return None
    if hour > 23 or minute > 59 or second > 61:
        return None
    return float(calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0)))


def parse_http_date(value: str) -> float | None:
    """
    Parse an HTTP date (RFC 1123, RFC 850, asctime; s3cmd's ``+0000`` zone
    too) to POSIX seconds; None when it is not one.
    """
    try:
        parsed = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        # RFC 2616: an HTTP date is always in GMT, whatever it says.
        return float(calendar.timegm(parsed.timetuple()))
    return parsed.timestamp()


def parse_any_date(value: str) -> float | None:
    """An HTTP date or a SigV4 basic-format date, else None."""
    parsed = parse_amz_date(value)
    return parsed if parsed is not None else parse_http_date(value)


# S3 refuses header-signed requests whose time is further than this from
# the server's clock (AWS: 15 minutes).
MAX_SKEW_SECONDS = 15 * 60


def check_skew(raw_time: str, request_time: float, now: float) -> None:
    """
    Refuse a request whose signed time is more than L{MAX_SKEW_SECONDS}
    away from C{now}, either way.

    @param raw_time: the time as the client sent it, echoed in the error.
    @raise S3Error: C{RequestTimeTooSkewed}, with AWS's ``RequestTime``,
        ``ServerTime`` and ``MaxAllowedSkewMilliseconds`` elements.
    """
    if abs(request_time - now) > MAX_SKEW_SECONDS:
        raise S3Error.of(
            "RequestTimeTooSkewed",
            RequestTime=raw_time,
            ServerTime=format_iso8601(now),
            MaxAllowedSkewMilliseconds=str(MAX_SKEW_SECONDS * 1000),
        )
