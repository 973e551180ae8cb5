"""
The operator's endpoints (L{txs3.ops}) and the metrics (L{txs3.metrics}),
on the real site in memory.

HTTP exchanges go through L{tests.inmemory} on the real reactor (the
metrics are rendered in a thread); what only the channel sees (a refusal
answered before the body, a body still arriving, a connection lost
mid-body) is fed as raw bytes over a C{StringTransport}, with the
helpers of L{tests.test_server_channel}, and read from the site's
registry.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_twisted
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.error import ConnectionLost
from twisted.internet.task import Clock, deferLater
from twisted.python.failure import Failure

from tests.functional import SECRETS, VHOST_DOMAIN
from tests.inmemory import Reply, SiteAgent, exchange
from tests.s3client import S3Client
from tests.test_server_channel import connect, signed_head
from tests.test_server_channel import make_site as make_clock_site
from txs3.errors import S3Error
from txs3.operation import validate_bucket_name
from txs3.ops import LIVE_PATH, METRICS_PATH, READINESS_TIMEOUT, READY_PATH
from txs3.opsauth import MetricsAccess
from txs3.server import S3Site, build_site
from txs3.store.health import Check, Readiness
from txs3.store.memory import MemoryStore

TOKEN = "scrape-token-0123456789"


def make_site(
    store: Any = None, access: MetricsAccess | None = None, clock: Any = reactor
) -> S3Site:
    return build_site(
        store if store is not None else MemoryStore(),
        SECRETS.get,
        reactor=clock,
        domains=(VHOST_DOMAIN,),
        metrics_access=access if access is not None else MetricsAccess(TOKEN),
    )


async def get(
    site: S3Site,
    path: str,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    host: str = "127.0.0.1",
) -> Reply:
    """One unsigned request for C{path} on a new in-memory connection."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return await exchange(site, reactor, head, b"", method)


async def scrape(site: S3Site) -> dict[str, Any]:
    """The site's metrics, parsed: sample name and labels to value."""
    status, headers, body = await get(
        site, METRICS_PATH, {"Authorization": f"Bearer {TOKEN}"}
    )
    assert status == 200, body
    assert headers["content-type"].startswith("text/plain; version=")
    samples: dict[str, Any] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            samples[sample.name, key[1]] = sample.value
    return samples


@pytest_twisted.async_yield_fixture
async def site_and_client() -> AsyncIterator[tuple[S3Site, S3Client]]:
    site = make_site()
    agent = SiteAgent(site, reactor)
    yield site, S3Client(reactor, "https://127.0.0.1", None, agent=agent)
    agent.close()


# -- health ------------------------------------------------------------------


def test_reserved_prefix_is_no_bucket_name() -> None:
    """No bucket can be named _txs3, so the endpoints shadow no path-style bucket."""
    with pytest.raises(S3Error) as raised:
        validate_bucket_name("_txs3")
    assert raised.value.code == "InvalidBucketName"


@pytest_twisted.ensureDeferred
async def test_live() -> None:
    """Liveness answers 200 and a small JSON body, for GET and HEAD, without credentials."""
    site = make_site()
    status, headers, body = await get(site, LIVE_PATH)
    assert (status, json.loads(body)) == (200, {"status": "live"})
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store"
    status, headers, body = await get(site, LIVE_PATH, method="HEAD")
    assert (status, body) == (200, b"")
    assert headers["content-length"] == str(len(b'{"status":"live"}\n'))


@pytest_twisted.ensureDeferred
async def test_ready_memory_store() -> None:
    """Readiness over a store that is ready answers 200 and names its checks; HEAD gets the head only."""
    site = make_site()
    status, headers, body = await get(site, READY_PATH)
    assert status == 200
    assert json.loads(body) == {
        "status": "ready",
        "checks": {"index": {"ok": True, "detail": "in memory"}},
    }
    status, head_headers, head_body = await get(site, READY_PATH, method="HEAD")
    assert (status, head_body) == (200, b"")
    assert head_headers["content-length"] == headers["content-length"]


class UnreadyStore(MemoryStore):
    """A memory store whose readiness reports a full disk."""

    def readiness(self) -> Deferred[Readiness]:
        checks = (Check("index", True, "answers"), Check("disk", False, "full"))
        d: Deferred[Readiness] = Deferred()
        d.callback(Readiness(checks))
        return d


class SilentStore(MemoryStore):
    """A memory store whose readiness never answers."""

    def readiness(self) -> Deferred[Readiness]:
        return Deferred()


@pytest_twisted.ensureDeferred
async def test_not_ready_is_503() -> None:
    """A failed check makes readiness 503, its body saying which check failed."""
    status, _, body = await get(make_site(UnreadyStore()), READY_PATH)
    assert status == 503
    answer = json.loads(body)
    assert answer["status"] == "not ready"
    assert answer["checks"]["disk"] == {"ok": False, "detail": "full"}
    assert answer["checks"]["index"]["ok"] is True


@pytest_twisted.ensureDeferred
async def test_readiness_that_hangs_is_503() -> None:
    """Readiness checks that do not answer within the timeout make it 503."""
    clock = Clock()
    site = make_site(SilentStore(), clock=clock)
    reply = ensureDeferred(get(site, READY_PATH))
    await deferLater(reactor, 0, lambda: None)
    assert not reply.called
    clock.advance(READINESS_TIMEOUT)
    status, _, body = await reply
    assert status == 503
    assert json.loads(body)["checks"]["store"]["ok"] is False


@pytest_twisted.ensureDeferred
async def test_unknown_endpoint_and_method() -> None:
    """An unknown path under /_txs3/ is 404; a method other than GET or HEAD is 405."""
    site = make_site()
    assert (await get(site, "/_txs3/nothing"))[0] == 404
    status, headers, _ = await get(site, READY_PATH, method="DELETE")
    assert (status, headers["allow"]) == (405, "GET, HEAD")


@pytest_twisted.ensureDeferred
async def test_virtual_host_keys_are_not_endpoints() -> None:
    """Under a Host that names a bucket, /_txs3/... is an object key, and S3 answers."""
    site = make_site()
    status, headers, body = await get(
        site, READY_PATH, host=f"bucket.{VHOST_DOMAIN}"
    )
    assert status == 403  # anonymous GetObject, refused by S3
    assert headers["content-type"] == "application/xml"
    assert b"<Code>AccessDenied</Code>" in body


# -- metrics -----------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_metrics_need_the_token() -> None:
    """Without a bearer token the metrics are 401, with a wrong one 403."""
    site = make_site()
    status, headers, _ = await get(site, METRICS_PATH)
    assert status == 401
    assert headers["www-authenticate"].startswith("Bearer ")
    status, _, body = await get(site, METRICS_PATH, {"Authorization": "Bearer nope"})
    assert status == 403
    assert b"txs3_" not in body
    status, _, _ = await get(site, METRICS_PATH, {"Authorization": f"Basic {TOKEN}"})
    assert status == 401


@pytest_twisted.ensureDeferred
async def test_metrics_closed_without_a_rule_and_open_when_public() -> None:
    """A site built without a metrics rule refuses every token; a public one needs none."""
    closed = build_site(MemoryStore(), SECRETS.get, reactor=reactor)
    status, _, _ = await get(closed, METRICS_PATH, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 403
    public = make_site(access=MetricsAccess(public=True))
    status, _, body = await get(public, METRICS_PATH)
    assert status == 200
    assert b"txs3_uploads_in_progress" in body


@pytest_twisted.ensureDeferred
async def test_requests_counted_by_operation_and_status(
    site_and_client: tuple[S3Site, S3Client],
) -> None:
    """Each S3 request is counted by operation and status, with its bytes and latency."""
    site, client = site_and_client
    body = b"metered" * 100
    assert (await client.request("PUT", "/bucket")).code == 200
    assert (await client.request("PUT", "/bucket/key", body=body)).code == 200
    got = await client.request("GET", "/bucket/key")
    assert got.body == body
    assert (await client.request("GET", "/bucket/missing")).code == 404
    await get(site, LIVE_PATH)
    samples = await scrape(site)

    def value(name: str, **labels: str) -> Any:
        return samples.get((name, tuple(sorted(labels.items()))))

    assert value("txs3_requests_total", operation="CreateBucket", status="200") == 1
    assert value("txs3_requests_total", operation="PutObject", status="200") == 1
    assert value("txs3_requests_total", operation="GetObject", status="200") == 1
    assert value("txs3_requests_total", operation="GetObject", status="404") == 1
    assert value("txs3_request_body_bytes_total", operation="PutObject") == len(body)
    assert value("txs3_response_body_bytes_total", operation="GetObject") >= len(body)
    assert value("txs3_request_duration_seconds_count", operation="GetObject") == 2
    inf = value("txs3_request_duration_seconds_bucket", operation="GetObject", le="+Inf")
    assert inf == 2
    assert value("txs3_uploads_in_progress") == 0
    # The operator endpoints are not S3 operations.
    assert not [k for k in samples if ("operation", "HealthLive") in k[1]]
    assert not [k for k in samples if ("operation", "GetMetrics") in k[1]]
    # Per-process metrics; a memory store has no disk.
    assert ("process_cpu_seconds_total", ()) in samples
    assert ("txs3_disk_free_bytes", ()) not in samples
    assert value("txs3_sweeps_total") == 0


def sample(site: Any, name: str, **labels: str) -> float | None:
    value: float | None = site.metrics.registry.get_sample_value(name, labels)
    return value


def test_refusal_answered_by_the_channel_is_counted() -> None:
    """A PUT refused before its body (answered by the channel) is counted as PutObject."""
    site, _store, _clock = make_clock_site()
    proto, transport = connect(site)
    head = signed_head("PUT", "/bucket/key", b"abc", {"Expect": "100-continue"})
    proto.dataReceived(head.replace(b"Signature=", b"Signature=0"))  # type: ignore[attr-defined]
    assert transport.value().startswith(b"HTTP/1.1 403 ")
    labels = {"operation": "PutObject", "status": "403"}
    assert sample(site, "txs3_requests_total", **labels) == 1
    sent = sample(site, "txs3_response_body_bytes_total", operation="PutObject")
    assert sent is not None and sent > 0


def test_unclassifiable_request_counted_as_unknown() -> None:
    """A request no route takes is counted under operation Unknown."""
    site, _store, _clock = make_clock_site()
    proto, transport = connect(site)
    proto.dataReceived(b"PATCH /bucket HTTP/1.1\r\nHost: s3.test\r\n\r\n")  # type: ignore[attr-defined]
    assert transport.value().startswith(b"HTTP/1.1 405 ")
    labels = {"operation": "Unknown", "status": "405"}
    assert sample(site, "txs3_requests_total", **labels) == 1


def test_uploads_in_progress() -> None:
    """An accepted body counts as an upload in progress until it is complete or its connection is lost."""
    site, _store, _clock = make_clock_site()
    body = b"u" * 10000
    proto, transport = connect(site)
    proto.dataReceived(signed_head("PUT", "/bucket/a", body) + body[:100])  # type: ignore[attr-defined]
    assert sample(site, "txs3_uploads_in_progress") == 1
    lost, _ = connect(site)
    lost.dataReceived(signed_head("PUT", "/bucket/b", body) + body[:100])  # type: ignore[attr-defined]
    assert sample(site, "txs3_uploads_in_progress") == 2
    proto.dataReceived(body[100:])  # type: ignore[attr-defined]
    assert transport.value().startswith(b"HTTP/1.1 200 ")
    assert sample(site, "txs3_uploads_in_progress") == 1
    lost.connectionLost(Failure(ConnectionLost()))  # type: ignore[attr-defined]
    assert sample(site, "txs3_uploads_in_progress") == 0
    # A GET has no body: never an upload.
    proto, _ = connect(site)
    proto.dataReceived(signed_head("GET", "/bucket/a", b""))  # type: ignore[attr-defined]
    assert sample(site, "txs3_uploads_in_progress") == 0
    labels = {"operation": "PutObject", "status": "200"}
    assert sample(site, "txs3_requests_total", **labels) == 1


def test_each_site_has_its_own_registry() -> None:
    """Two sites in one process count apart (no global registry)."""
    one, _, _ = make_clock_site()
    two, _, _ = make_clock_site()
    proto, _ = connect(one)
    proto.dataReceived(signed_head("GET", "/bucket/none", b""))  # type: ignore[attr-defined]
    labels = {"operation": "GetObject", "status": "404"}
    assert sample(one, "txs3_requests_total", **labels) == 1
    assert sample(two, "txs3_requests_total", **labels) is None
