"""
Rendering shared by every handler: S3 error documents, HTTP dates and
owners.
"""

from __future__ import annotations

import email.utils
import os

from txs3 import xml
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.response import XML_TYPE, Response

HOST_ID = os.urandom(24).hex()


def owner_xml(call: S3Call, owner_id: str) -> list[xml.Node]:
    """
    The C{ID} and C{DisplayName} of an owner (of an object, upload or
    bucket) as listings show them: the name the credentials give, the
    owner id where they give none.
    """
    name = call.config.directory.display_name(owner_id)
    if name is None and owner_id == call.identity.owner_id:
        name = call.identity.display_name
    return [("ID", owner_id), ("DisplayName", name or owner_id)]


def http_date(ts: float) -> str:
    """RFC 7231 IMF-fixdate, as S3 sends Last-Modified."""
    return email.utils.formatdate(int(ts), usegmt=True)


# S3's refusal of a CORS preflight names the method and resource type
# instead: Code, Message, Method, ResourceType, RequestId, HostId.
_WITHOUT_RESOURCE = frozenset({"AccessForbidden"})


def error_response(error: S3Error, request_id: str, resource: str) -> Response:
    """
    C{error} as S3 sends it:
    ``<Error><Code/><Message/>...<Resource/><RequestId/><HostId/></Error>``
    (without ``Resource`` for C{AccessForbidden}, the CORS refusal).
    """
    children: list[xml.Node] = [("Code", error.code), ("Message", error.message)]
    children += [(name, xml.printable(value)) for name, value in error.extra.items()]
    if error.code not in _WITHOUT_RESOURCE:
        children.append(("Resource", xml.printable(resource)))
    children += [("RequestId", request_id), ("HostId", HOST_ID)]
    body = xml.document("Error", children, namespace=False)
    headers = {
        "Content-Type": XML_TYPE,
        "x-amz-request-id": request_id,
        "x-amz-id-2": HOST_ID,
        **error.headers,
    }
    return Response(error.status, headers, body)
