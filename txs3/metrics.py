"""
L{ServerMetrics}: the Prometheus metrics of one site, in a registry of its
own (tests run many servers in one process; the global default registry
would mix them and refuse the second set of names).

Counted from one value per answered request (L{RequestRecord}), which
L{txs3.server} makes where each request ends:

  - C{txs3_requests_total{operation,status}}: S3 requests answered, by the
    catalogue's operation name (C{Unknown} when the request could not be
    classified) and HTTP status;
  - C{txs3_request_duration_seconds{operation}}: a histogram, from the end
    of the request head to the end of the answer;
  - C{txs3_request_body_bytes_total{operation}},
    C{txs3_response_body_bytes_total{operation}}: body bytes in and out;
  - C{txs3_uploads_in_progress}: accepted requests whose body is arriving
    now (kept by the request, L{upload_started} and L{upload_ended});
  - C{txs3_open_connections}: connections open now;
  - from the store, at scrape time (L{IStoreHealth}): C{txs3_disk_free_bytes},
    C{txs3_disk_full}, C{txs3_sweeps_total}, C{txs3_sweep_failures_total}
    and C{txs3_swept_total{kind}};
  - C{process_*} (CPU, memory, file descriptors, start time) and
    C{python_info}, from prometheus_client's collectors.

The operator endpoints (L{txs3.ops}) are not S3 requests and are not
counted.  Counting happens on the reactor thread; L{render} may run in any
thread (prometheus_client's metrics are thread-safe), and should not run
on the reactor's: it reads C{/proc} and calls C{statvfs}.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from txs3.record import RequestRecord
from txs3.store.health import IStoreHealth

#: The exposition format's content type.
CONTENT_TYPE = CONTENT_TYPE_LATEST

#: Latency buckets (seconds): small requests land in the first few, large
#: uploads and downloads in the last.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, float("inf"),
)  # fmt: skip


class _StoreCollector(Collector):
    """Disk space and sweep counts, read from the store at each scrape."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def describe(self) -> Iterable[Metric]:
        # Without this, registering would collect once, on the reactor.
        return list(self._families(None))

    def collect(self) -> Iterable[Metric]:
        return list(self._families(self._store))

    def _families(self, store: Any) -> Iterator[Metric]:
        free = GaugeMetricFamily(
            "txs3_disk_free_bytes",
            "Bytes free for the server on the data directory's filesystem.",
        )
        full = GaugeMetricFamily(
            "txs3_disk_full",
            "1 while the store is in its disk-full state (uploads refused).",
        )
        sweeps = CounterMetricFamily(
            "txs3_sweeps", "Sweeps of leftovers that ended (start-up included)."
        )
        failures = CounterMetricFamily(
            "txs3_sweep_failures", "Sweeps of leftovers that failed."
        )
        swept = CounterMetricFamily(
            "txs3_swept", "Leftovers the sweeps removed, by kind.", labels=["kind"]
        )
        if store is not None:
            space = store.disk_space()
            if space is not None:
                free.add_metric([], space.free)
                full.add_metric([], 1 if space.full else 0)
            counts = store.sweep_counts()
            sweeps.add_metric([], counts.passes)
            failures.add_metric([], counts.failures)
            swept.add_metric(["staging"], counts.staging)
            swept.add_metric(["blob"], counts.blobs)
            swept.add_metric(["completed_upload"], counts.completed)
        yield from (free, full, sweeps, failures, swept)


class ServerMetrics:
    """
    The metrics of one site (see the module docstring).

    @ivar registry: the site's own registry.
    """

    def __init__(
        self,
        store: object = None,
        connections: Callable[[], int] | None = None,
    ) -> None:
        """
        @param store: the site's store; its disk space and sweep counts are
            exported when it provides L{IStoreHealth}.
        @param connections: how many connections are open now.
        """
        registry = self.registry = CollectorRegistry()
        self._requests = Counter(
            "txs3_requests",
            "S3 requests answered, by operation and HTTP status.",
            ["operation", "status"],
            registry=registry,
        )
        self._latency = Histogram(
            "txs3_request_duration_seconds",
            "Seconds from the end of a request's head to the end of its answer.",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._bytes_in = Counter(
            "txs3_request_body_bytes",
            "Request body bytes received, by operation.",
            ["operation"],
            registry=registry,
        )
        self._bytes_out = Counter(
            "txs3_response_body_bytes",
            "Response body bytes sent, by operation.",
            ["operation"],
            registry=registry,
        )
        self._uploads = Gauge(
            "txs3_uploads_in_progress",
            "Accepted requests whose body is arriving now.",
            registry=registry,
        )
        if connections is not None:
            Gauge(
                "txs3_open_connections", "Client connections open now.",
                registry=registry,
            ).set_function(lambda: float(connections()))  # fmt: skip
        if IStoreHealth.providedBy(store):
            registry.register(_StoreCollector(store))
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        # Looking a labelled child up takes a lock and a dict; a request
        # should cost as little as possible, so each is looked up once.
        self._children: dict[tuple[str, int], tuple[Any, Any, Any, Any]] = {}

    def observe(self, record: RequestRecord) -> None:
        """Count one answered request (nothing for an operator endpoint)."""
        if not record.s3:
            return
        children = self._children.get((record.operation, record.status))
        if children is None:
            operation = record.operation
            children = (
                self._requests.labels(operation, str(record.status)),
                self._latency.labels(operation),
                self._bytes_in.labels(operation),
                self._bytes_out.labels(operation),
            )
            self._children[record.operation, record.status] = children
        requests, latency, bytes_in, bytes_out = children
        requests.inc()
        latency.observe(max(record.duration, 0.0))
        if record.bytes_in:
            bytes_in.inc(record.bytes_in)
        if record.bytes_out:
            bytes_out.inc(record.bytes_out)

    def upload_started(self) -> None:
        """An accepted request's body starts arriving."""
        self._uploads.inc()

    def upload_ended(self) -> None:
        """That body is complete, or its connection is gone."""
        self._uploads.dec()

    def render(self) -> bytes:
        """
        Every metric in Prometheus's text format (L{CONTENT_TYPE}).
        Blocking: reads C{/proc} and the disk's free space.
        """
        return generate_latest(self.registry)
