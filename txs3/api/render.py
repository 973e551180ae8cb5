"""
Rendering shared by every handler: S3 error documents, HTTP dates, the
headers every response carries.
"""

from __future__ import annotations

import email.utils
import os
from typing import Any

from twisted.web.iweb import IRequest

from txs3 import xml
from txs3.errors import S3Error

XML_TYPE = "application/xml"
HOST_ID = os.urandom(24).hex()


def http_date(ts: float) -> str:
    """RFC 7231 IMF-fixdate, as S3 sends Last-Modified."""
    return email.utils.formatdate(int(ts), usegmt=True)


def parse_http_date(value: str) -> float | None:
    """POSIX seconds of an HTTP date, or None when it does not parse."""
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed.timestamp()


def error_response(
    error: S3Error, request_id: str, resource: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """
    The status, headers and body of C{error} as S3 sends it:
    ``<Error><Code/><Message/>...<Resource/><RequestId/><HostId/></Error>``.
    """
    children: list[xml.Node] = [("Code", error.code), ("Message", error.message)]
    children += list(error.extra.items())
    children += [("Resource", resource), ("RequestId", request_id), ("HostId", HOST_ID)]
    body = xml.document("Error", children, namespace=False)
    headers = [
        ("Content-Type", XML_TYPE),
        ("x-amz-request-id", request_id),
        ("x-amz-id-2", HOST_ID),
    ]
    headers += list(error.headers.items())
    return error.status, headers, body


def write_error(request: Any, error: S3Error, resource: str) -> bytes:
    """
    Set status and headers of C{request} for C{error}; return the body (empty
    for HEAD, where S3 sends the status alone).
    """
    status, headers, body = error_response(error, request.request_id, resource)
    request.setResponseCode(status)
    for name, value in headers:
        request.setHeader(name, value)
    if request.method == b"HEAD":
        request.setHeader("Content-Length", str(len(body)))
        return b""
    request.setHeader("Content-Length", str(len(body)))
    return body


def send_xml(request: IRequest, body: bytes, status: int = 200) -> bytes:
    """Answer with an XML document."""
    request.setResponseCode(status)
    request.setHeader("Content-Type", XML_TYPE)
    request.setHeader("Content-Length", str(len(body)))
    return body
