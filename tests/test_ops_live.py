"""
The operator's endpoints over a real store: the SQLite store's readiness
and sweep counts, the endpoints over real TLS, and a real
C{twistd txs3} process scraped with its token.
"""

from __future__ import annotations

import json
import ssl
import stat
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from prometheus_client.parser import text_string_to_metric_families
from twisted.internet.threads import deferToThread

from tests.conftest import Txs3Process, free_port
from tests.functional import Server, tls_server  # noqa: F401
from tests.test_periodic_sweep import orphan, store  # noqa: F401
from tests.test_tap import assert_clean_stop
from txs3.ops import LIVE_PATH, METRICS_PATH, READY_PATH
from txs3.opsauth import TOKEN_FILE, MetricsAccess
from txs3.store.sqlite import SQLiteStore

TOKEN = "live-scrape-token-0123456789"


def families(text: str) -> dict[str, Any]:
    """Parsed exposition text: family name to family."""
    return {f.name: f for f in text_string_to_metric_families(text)}


def fetch(
    url: str, cafile: Path, token: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """GET C{url} over TLS trusting C{cafile}; any status is returned."""
    context = ssl.create_default_context(cafile=str(cafile))
    context.check_hostname = False
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


# -- the SQLite store -----------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_sqlite_readiness(store: SQLiteStore) -> None:
    """An open SQLite store is ready on all three checks; a closed one is not."""
    readiness = await store.readiness()
    assert readiness.ready
    assert [c.name for c in readiness.checks] == ["index", "writable", "disk"]
    assert not [p for p in Path(store.data_dir).iterdir() if p.name.startswith(".ready-")]
    space = store.disk_space()
    assert space is not None and space.free > 0 and not space.full
    await store.close()
    readiness = await store.readiness()
    assert not readiness.ready
    assert readiness.checks[0].detail == "the store is closed"


@pytest_twisted.ensureDeferred
async def test_sweep_counts(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store counts its sweeps (the start-up one too), what they removed, and failed ones."""
    assert store.sweep_counts().passes == 1
    orphan(store)
    assert await store.sweep() == (0, 1)
    counts = store.sweep_counts()
    assert (counts.passes, counts.failures, counts.blobs) == (2, 0, 1)

    def broken() -> tuple[int, int]:
        raise OSError("disk trouble")

    monkeypatch.setattr(store, "_sweep_files", broken)
    with pytest.raises(OSError):
        await store.sweep()
    counts = store.sweep_counts()
    assert (counts.passes, counts.failures) == (2, 1)


# -- over TLS -----------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_endpoints_over_tls(tls_server: Server) -> None:
    """Over real TLS and a SQLite store: ready, and metrics with the disk and the sweep."""
    s = tls_server
    s.site.ops.access = MetricsAccess(TOKEN)  # type: ignore[attr-defined]
    assert (await s.client.request("PUT", "/bucket")).code == 200
    base = f"https://127.0.0.1:{s.port}"
    assert s.cert is not None
    status, _, body = await deferToThread(fetch, base + READY_PATH, s.cert)
    assert status == 200
    checks = json.loads(body)["checks"]
    assert all(checks[name]["ok"] for name in ("index", "writable", "disk"))
    status, _, _ = await deferToThread(fetch, base + METRICS_PATH, s.cert)
    assert status == 401
    status, _, body = await deferToThread(fetch, base + METRICS_PATH, s.cert, TOKEN)
    assert status == 200
    found = families(body.decode())
    [free] = found["txs3_disk_free_bytes"].samples
    assert free.value > 0
    assert found["txs3_disk_full"].samples[0].value == 0
    assert found["txs3_sweeps"].samples[0].value == 1  # the start-up sweep
    kinds = {s.labels["kind"] for s in found["txs3_swept"].samples}
    assert kinds == {"staging", "blob", "completed_upload"}
    created = [
        x for x in found["txs3_requests"].samples
        if x.labels == {"operation": "CreateBucket", "status": "200"}
    ]  # fmt: skip
    assert [x.value for x in created] == [1]


# -- a real twistd txs3 ---------------------------------------------------------


def test_twistd_scrape(tmp_path: Path, start_txs3: Any) -> None:
    """
    A real C{twistd txs3} makes its metrics token on first start (mode
    0600) and keeps it; health answers without it, metrics only with it,
    the scrape parses, and the JSON access log has a line per request.
    """
    port = free_port()
    args = [
        "--data", "data", "--certs", "certs",
        "--port", f"ssl:{port}:interface=127.0.0.1",
        "--access-log", "access.log", "--access-log-format", "json",
    ]  # fmt: skip
    cert = tmp_path / "certs" / "server.pem"
    base = f"https://127.0.0.1:{port}"
    server: Txs3Process = start_txs3(args, cwd=tmp_path)
    try:
        server.wait_for_tls(port, cert)
        token_file = tmp_path / "data" / TOKEN_FILE
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert fetch(base + LIVE_PATH, cert)[0] == 200
        status, _, body = fetch(base + READY_PATH, cert)
        assert status == 200, body
        assert fetch(base + METRICS_PATH, cert)[0] == 401
        assert fetch(base + METRICS_PATH, cert, "not-the-token")[0] == 403
        assert fetch(base + "/", cert)[0] == 403  # anonymous ListBuckets
        status, headers, body = fetch(base + METRICS_PATH, cert, token)
        assert status == 200
        assert headers["content-type"].startswith("text/plain")
        found = families(body.decode())
        for name in (
            "txs3_requests", "txs3_request_duration_seconds",
            "txs3_uploads_in_progress", "txs3_disk_free_bytes",
            "txs3_sweeps", "process_cpu_seconds", "process_resident_memory_bytes",
        ):  # fmt: skip
            assert name in found, name
        listed = [
            x.value for x in found["txs3_requests"].samples
            if x.labels == {"operation": "ListBuckets", "status": "403"}
        ]  # fmt: skip
        assert listed == [1]
    finally:
        assert_clean_stop(server)
    log = server.log()
    assert token not in log
    assert f"bearer token in {tmp_path / 'data' / TOKEN_FILE} (created)" in log
    lines = [json.loads(x) for x in (tmp_path / "access.log").read_text().splitlines()]
    operations = [line["operation"] for line in lines]
    assert operations[:3] == ["HealthLive", "HealthReady", "GetMetrics"]
    assert "ListBuckets" in operations
    assert '"GET / HTTP/1.1"' not in log

    server = start_txs3(args, cwd=tmp_path)
    try:
        server.wait_for_tls(port, cert)
        assert fetch(base + METRICS_PATH, cert, token)[0] == 200
    finally:
        assert_clean_stop(server)
    assert "(created)" not in server.log()[len(log) :]
