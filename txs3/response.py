"""
Responses as values.

Every handler returns a L{Response}: a status, headers, and a body that is
either bytes or L{StoredBytes}, one byte range of stored object data to be
streamed.  Handlers never touch Twisted's request; one function
(L{txs3.api.app.write_response}) writes a L{Response} to it.  So a handler
is tested by calling it and comparing values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

XML_TYPE = "application/xml"


@dataclass
class StoredBytes:
    """
    C{length} bytes of an open stored object, from C{offset}.

    The writer streams them with backpressure and closes C{file} whether or
    not the client stays to the end; a response that is never written must
    be L{close}d by whoever drops it.
    """

    file: BinaryIO
    offset: int
    length: int

    def close(self) -> None:
        self.file.close()


@dataclass
class Response:
    """
    One S3 answer.

    @ivar headers: header name to value, in the order they were set.  Names
        are sent as given (``x-amz-*`` in lower case, the rest as HTTP
        spells them).  Without ``Content-Length`` the writer sets it from
        the body.
    @ivar body: the bytes to send (never sent for HEAD), or a range of
        stored data.
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | StoredBytes = b""

    def header(self, name: str) -> str | None:
        """The value of header C{name}, matched without regard to case."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def content_length(self) -> int:
        """The length of the body as the client will be told it."""
        if isinstance(self.body, StoredBytes):
            return self.body.length
        return len(self.body)


def xml_response(
    body: bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """An XML document, with its content type."""
    return Response(status, {"Content-Type": XML_TYPE, **(headers or {})}, body)


def no_content(headers: Mapping[str, str] | None = None) -> Response:
    """204 with no body: what S3 answers a successful DELETE."""
    return Response(204, dict(headers or {}))
