"""
The Klein application: one branch route, one error handler, and the one
place a L{Response} is written to Twisted's request.

The request was classified, authenticated and checked before its body
(L{txs3.gate.prepare}, from L{txs3.server.S3Request.gotLength}); its
catalogue entry and call ride on the request.  Here the complete body is
verified against the request's signed hash and digests (its sink's
C{verify()}), then the entry's handler is awaited, and what it returns is
written by L{write_response}.  Any L{S3Error} is rendered as S3's XML by
one error handler.  Both add the CORS headers the bucket's rules give a
request with an ``Origin`` (L{txs3.api.bucket_cors}).

Klein routes nothing here: werkzeug cannot route S3 (the operation
depends on query sub-resources and headers, the bucket may come from the
Host header, and keys must come from the raw path, which werkzeug would
decode and whose ``//`` it would merge).  Worse, werkzeug refuses what S3
allows: a key holding a line feed matches no rule, and a Host label over
63 characters fails its IDNA check.  So werkzeug is shown neither: every
request binds to C{/} on a fixed name (L{_BindNothing}).  Klein gives the
application its coroutine handling, cancellation on disconnect, and error
handlers.
"""

from __future__ import annotations

from typing import Any

from klein import Klein
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from werkzeug.routing import Map, MapAdapter

from txs3.api.bucket_cors import response_cors_headers
from txs3.api.render import error_response
from txs3.api.streaming import send_range
from txs3.call import S3Call, S3Config
from txs3.errors import S3Error
from txs3.response import Response, StoredBytes

log = Logger()

SERVER = "txs3"


async def write_response(request: Any, response: Response) -> bytes | None:
    """
    Write C{response} to Twisted's C{request}: status, headers (with
    ``Content-Length`` from the body unless the handler set it) and body.
    Bytes are returned for Twisted to write; stored bytes are streamed
    with backpressure, and the coroutine returns once they are sent.  No
    body is sent for HEAD.
    """
    request.setResponseCode(response.status)
    request.setHeader("x-amz-request-id", request.request_id)
    request.setHeader("Server", SERVER)
    for name, value in response.headers.items():
        request.setHeader(name, value)
    for name, value in _cors_headers(request).items():
        request.setHeader(name, value)
    body = response.body
    if response.header("Content-Length") is None and response.status != 304:
        request.setHeader("Content-Length", str(response.content_length()))
    if isinstance(body, StoredBytes):
        if request.method == b"HEAD" or body.length == 0:
            body.close()
            return b""
        await send_range(request, body.file, body.offset, body.length)
        return None
    return b"" if request.method == b"HEAD" else body


class _BindNothing(Map):
    """
    A werkzeug map that ignores the request's host and path: the request
    was classified from its raw head before it got here (L{txs3.classify}).
    """

    def bind(
        self,
        server_name: str,
        script_name: str | None = None,
        subdomain: str | None = None,
        url_scheme: str = "http",
        default_method: str = "GET",
        path_info: str | None = None,
        query_args: Any = None,
    ) -> MapAdapter:
        return super().bind(
            "s3", "/", None, url_scheme, default_method, "/", query_args
        )


class _S3Klein(Klein):
    """Klein over L{_BindNothing}, with ``//`` neither merged nor redirected."""

    def __init__(self) -> None:
        super().__init__()
        self._url_map = _BindNothing(merge_slashes=False)


class S3Root(Resource):
    """
    The site's root: requests refused before their body are answered here,
    without routing (their path may not even decode); the rest go to Klein.
    """

    isLeaf = True

    def __init__(self, klein_resource: Any) -> None:
        super().__init__()
        self._klein = klein_resource

    def render(self, request: Any) -> Any:
        refusal = getattr(request, "refusal", None)
        if refusal is not None:
            return _write_error(request, refusal, request.resource_path)
        # Klein still decodes the path it is shown as UTF-8; the path was
        # read from the raw head already, so it is shown none.
        request.prepath, request.postpath = [], []
        return self._klein.render(request)


class S3Application:
    """Dispatches prepared S3 calls to their handlers."""

    app = _S3Klein()

    def __init__(self, config: S3Config) -> None:
        self.config = config

    def resource(self) -> Any:
        return S3Root(self.app.resource())

    @app.route("/", branch=True, strict_slashes=False)
    async def dispatch(self, request: Any) -> bytes | None:
        prepared = request.prepared
        if prepared is None:
            raise S3Error.of("InternalError")
        # The body is complete: it must be the one that was signed and
        # digested before any handler may act on it.
        prepared.call.body.verify()
        response = await prepared.entry.handler(prepared.call)
        return await write_response(request, response)

    @app.handle_errors(S3Error)
    def s3_error(self, request: Any, failure: Failure) -> bytes:
        error = failure.value
        assert isinstance(error, S3Error)
        prepared = getattr(request, "prepared", None)
        if prepared is not None:
            error = _visible(prepared.call, error)
        return _write_error(request, error, _resource(request))

    @app.handle_errors(Exception)
    def internal_error(self, request: Any, failure: Failure) -> bytes:
        log.failure("handling {uri}", failure, uri=request.uri)
        return _write_error(request, S3Error.of("InternalError"), _resource(request))


def _cors_headers(request: Any) -> dict[str, str]:
    """
    The CORS headers of the response to an accepted request
    (L{response_cors_headers}): nothing, and nothing read, without an
    ``Origin``.  A request refused before its body has none here: its
    error carries them (L{txs3.server}).
    """
    prepared = getattr(request, "prepared", None)
    if prepared is None:
        return {}
    call = prepared.call
    origin = call.header("origin")
    if origin is None:
        return {}
    return response_cors_headers(
        call.config,
        call.operation.bucket,
        call.head.method,
        origin,
        call.header("access-control-request-method"),
    )


def _visible(call: S3Call, error: S3Error) -> S3Error:
    """
    The error the caller may see: a missing key is C{NoSuchKey} only to a
    caller who may list the bucket (C{s3:ListBucket}), and C{AccessDenied}
    to others, as S3 answers, so that keys cannot be probed for.
    """
    authorizer = call.authorizer
    if error.code != "NoSuchKey" or authorizer is None:
        return error
    if authorizer.allows("s3:ListBucket"):
        return error
    return S3Error.of("AccessDenied")


def _write_error(request: Any, error: S3Error, resource: str) -> bytes:
    """Set C{request}'s status and headers for C{error}; return its body."""
    response = error_response(error, request.request_id, resource)
    request.setResponseCode(response.status)
    request.setHeader("Server", SERVER)
    for name, value in response.headers.items():
        request.setHeader(name, value)
    for name, value in _cors_headers(request).items():
        request.setHeader(name, value)
    assert isinstance(response.body, bytes)
    request.setHeader("Content-Length", str(len(response.body)))
    return b"" if request.method == b"HEAD" else response.body


def _resource(request: Any) -> str:
    prepared = getattr(request, "prepared", None)
    if prepared is not None:
        return str(prepared.call.operation.resource)
    return str(getattr(request, "resource_path", "/"))
