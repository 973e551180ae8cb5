"""
Pieces of request canonicalisation shared by SigV2 and SigV4: AWS's URI
encoding and request time stamps.  Queries are split and decoded by the
one query decoder, L{txs3.operation.decode_query_part}.

Everything here works on the request as sent (raw path and raw query), so
that a signature is checked against the bytes the client signed, not
against a server-side reinterpretation of them.
"""

from __future__ import annotations

import calendar
import email.utils
import time
from urllib.parse import quote

from txs3.errors import S3Error

# AWS's unreserved set is A-Z a-z 0-9 - _ . ~; quote() never encodes those
# (nor anything else when safe="") and writes upper-case hex, as AWS wants.
_AWS_SAFE = "-_.~"


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
