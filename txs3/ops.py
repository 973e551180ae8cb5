"""
The operator's endpoints, beside the S3 API on the same ports:

  - C{GET /_txs3/health/live}: 200 while the process serves requests.
  - C{GET /_txs3/health/ready}: 200 when the store is ready (its index
    answers, the data directory takes a new file, the disk is not full:
    L{txs3.store.health.IStoreHealth.readiness}), else 503; a JSON body
    names each check.  A check that takes over L{READINESS_TIMEOUT}
    seconds counts as failed.
  - C{GET /_txs3/metrics}: the Prometheus metrics (L{txs3.metrics}), for
    a bearer token unless public (L{txs3.opsauth.MetricsAccess}).

They never shadow a bucket: a path-style request's first segment is its
bucket, and no bucket name may hold C{_} (L{txs3.operation}'s bucket
name rule).  Under virtual-host addressing (a Host naming a bucket) the
same path is an object key and goes to S3 as before.

L{ops_path} picks such a request out by its head, before the gate
(L{txs3.server.S3Request.gotLength}); L{SiteRoot} then answers it with
L{Ops} instead of the S3 application.  Nothing here blocks the reactor:
readiness runs in the store's threads, the metrics are rendered in a
thread.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.threads import deferToThread
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from txs3.metrics import CONTENT_TYPE, ServerMetrics
from txs3.operation import bucket_from_host
from txs3.opsauth import MetricsAccess
from txs3.record import UNKNOWN
from txs3.store.health import Check, IStoreHealth, Readiness

log = Logger()

PREFIX = "/_txs3/"
LIVE_PATH = PREFIX + "health/live"
READY_PATH = PREFIX + "health/ready"
METRICS_PATH = PREFIX + "metrics"

#: Each endpoint's name, as the access log shows it.
ENDPOINTS: Mapping[str, str] = {
    LIVE_PATH: "HealthLive",
    READY_PATH: "HealthReady",
    METRICS_PATH: "GetMetrics",
}

#: Seconds the readiness checks may take before the answer is 503.
READINESS_TIMEOUT = 5.0

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"

_T = TypeVar("_T")


def ops_path(target: str, host: str, domains: Sequence[str]) -> str | None:
    """
    The path of an operator endpoint request with this raw request
    C{target} and C{Host} header, or None for an S3 request.
    """
    if not target.startswith(PREFIX):
        return None
    if bucket_from_host(host, domains) is not None:
        return None
    return target.partition("?")[0]


def endpoint_name(path: str) -> str:
    """The access log's name of the endpoint at C{path}."""
    return ENDPOINTS.get(path, UNKNOWN)


class Ops:
    """
    Answers the operator endpoints of one site.

    @param store: the site's store; readiness is asked of it when it
        provides L{IStoreHealth}, else it counts as ready once serving.
    @param in_thread: runs a blocking callable in a thread (the metrics
        rendering); L{deferToThread} by default.
    """

    def __init__(
        self,
        store: object,
        metrics: ServerMetrics,
        access: MetricsAccess,
        clock: IReactorTime,
        in_thread: Callable[[Callable[[], bytes]], Deferred[bytes]] = deferToThread,
    ) -> None:
        self._store = store
        self.metrics = metrics
        self.access = access
        self._clock = clock
        self._in_thread = in_thread

    def render(self, request: Any, path: str) -> bytes | int:
        """Answer C{request} for endpoint C{path}: its body, or NOT_DONE_YET."""
        if path not in ENDPOINTS:
            return _answer(request, 404, TEXT_TYPE, b"No such txs3 endpoint.\n")
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader("Allow", "GET, HEAD")
            return _answer(request, 405, TEXT_TYPE, b"Only GET and HEAD.\n")
        if path == LIVE_PATH:
            return _answer(request, 200, JSON_TYPE, b'{"status":"live"}\n')
        if path == READY_PATH:
            return _later(request, self._readiness())
        refusal = self.access.refusal(request.getHeader("authorization"))
        if refusal == 401:
            request.setHeader("WWW-Authenticate", 'Bearer realm="txs3 metrics"')
            return _answer(request, 401, TEXT_TYPE, b"A bearer token is required.\n")
        if refusal is not None:
            return _answer(request, refusal, TEXT_TYPE, b"Wrong token.\n")
        return _later(request, self._metrics())

    def _readiness(self) -> Deferred[tuple[int, str, bytes]]:
        if IStoreHealth.providedBy(self._store):
            checked: Deferred[Readiness] = self._store.readiness()
        else:
            checked = Deferred()
            checked.callback(Readiness(()))
        checked.addTimeout(READINESS_TIMEOUT, self._clock)

        def failed(failure: Failure) -> Readiness:
            why = failure.getErrorMessage() or repr(failure.value)
            return Readiness((Check("store", False, f"no answer: {why}"),))

        return checked.addErrback(failed).addCallback(_readiness_answer)

    def _metrics(self) -> Deferred[tuple[int, str, bytes]]:
        rendered = self._in_thread(self.metrics.render)
        return rendered.addCallback(lambda body: (200, CONTENT_TYPE, body))


def _readiness_answer(readiness: Readiness) -> tuple[int, str, bytes]:
    status = "ready" if readiness.ready else "not ready"
    checks = {c.name: {"ok": c.ok, "detail": c.detail} for c in readiness.checks}
    body = json.dumps({"status": status, "checks": checks}, indent=1) + "\n"
    return (200 if readiness.ready else 503, JSON_TYPE, body.encode())


def _headers(request: Any, status: int, content_type: str, length: int) -> None:
    request.setResponseCode(status)
    request.setHeader("Content-Type", content_type)
    request.setHeader("Content-Length", str(length))
    request.setHeader("Cache-Control", "no-store")
    request.setHeader("Server", "txs3")
    request.setHeader("x-amz-request-id", request.request_id)


def _answer(request: Any, status: int, content_type: str, body: bytes) -> bytes:
    """Set the answer's head; the body to return to Twisted (none for HEAD)."""
    _headers(request, status, content_type, len(body))
    return b"" if request.method == b"HEAD" else body


def _later(request: Any, answer: Deferred[tuple[int, str, bytes]]) -> int:
    """Write C{answer} when it fires, unless the client has gone by then."""
    gone: list[bool] = []
    request.notifyFinish().addErrback(lambda _: gone.append(True))

    def write(result: tuple[int, str, bytes]) -> None:
        if gone:
            return
        status, content_type, body = result
        _headers(request, status, content_type, len(body))
        request.write(body)  # nothing is sent for HEAD
        request.finish()

    def failed(failure: Failure) -> None:
        log.failure("answering {uri}", failure, uri=request.uri)
        if not gone:
            write((500, TEXT_TYPE, b"Internal error.\n"))

    answer.addCallback(write).addErrback(failed)
    return NOT_DONE_YET


class SiteRoot(Resource):
    """
    The site's root: operator endpoint requests (marked C{ops_path} by the
    request before the gate) go to L{Ops}, every other request to the S3
    application's root.
    """

    isLeaf = True

    def __init__(self, s3: Resource, ops: Ops) -> None:
        super().__init__()
        self._s3 = s3
        self.ops = ops

    def render(self, request: Any) -> Any:
        path = getattr(request, "ops_path", None)
        if path is None:
            return self._s3.render(request)
        return self.ops.render(request, path)
