"""
The orphan sweep while the server runs: L{PeriodicPass} on a
L{twisted.internet.task.Clock} (no waiting: the test advances the clock and
awaits the pass it started), and the SQLite store's schedule over it, whose
passes run in the store's thread pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from txs3.store.periodic import PeriodicPass
from txs3.store.sqlite import SQLiteStore
from txs3.store.sqlite.sweep import SWEEP_INTERVAL


def test_pass_every_interval() -> None:
    """A pass runs once per interval, the first one an interval after start."""
    clock = Clock()
    calls: list[float] = []
    periodic = PeriodicPass(lambda: calls.append(clock.seconds()), clock, 10, "t")
    periodic.start()
    clock.advance(9)
    assert calls == []
    clock.advance(1)
    clock.advance(10)
    assert calls == [10, 20]
    assert periodic.passes == 2
    periodic.stop()
    clock.advance(100)
    assert calls == [10, 20]


def test_passes_never_overlap() -> None:
    """While a pass's Deferred is pending, no other pass starts."""
    clock = Clock()
    pending: list[Deferred[None]] = []

    def work() -> Deferred[None]:
        pending.append(Deferred())
        return pending[-1]

    periodic = PeriodicPass(work, clock, 10, "t")
    periodic.start()
    clock.advance(10)
    assert len(pending) == 1 and periodic.running is not None
    clock.advance(50)
    assert len(pending) == 1
    pending[0].callback(None)
    assert periodic.running is None and periodic.passes == 1
    clock.advance(10)
    assert len(pending) == 2
    periodic.stop()


def test_failing_pass_keeps_schedule() -> None:
    """A pass that raises is logged and the next one runs on schedule."""
    clock = Clock()
    calls: list[int] = []

    def work() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk trouble")

    periodic = PeriodicPass(work, clock, 10, "t")
    periodic.start()
    clock.advance(10)
    clock.advance(10)
    assert len(calls) == 2 and periodic.passes == 2
    periodic.stop()


@pytest_twisted.async_yield_fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore.open(str(tmp_path / "data"), orphan_grace=0)
    await store.create_bucket("bkt", "owner", "us-east-1")
    yield store
    await store.close()


def orphan(store: SQLiteStore) -> Path:
    """A blob file the index does not name, as a crash leaves one."""
    path = Path(store.data_dir) / "blobs" / "ab" / ("ab" + "0" * 30)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"crashed between rename and commit")
    return path


@pytest_twisted.ensureDeferred
async def test_store_sweeps_on_schedule(store: SQLiteStore) -> None:
    """Orphans that appear while the store is open go at the next scheduled
    sweep, off the reactor thread; close() ends the schedule."""
    clock = Clock()
    sweeper = store.start_sweeping(SWEEP_INTERVAL, clock)
    assert store.start_sweeping(SWEEP_INTERVAL, clock) is sweeper
    left = orphan(store)
    clock.advance(SWEEP_INTERVAL - 1)
    assert sweeper.running is None and left.exists()
    clock.advance(1)
    assert sweeper.running is not None
    await sweeper.running
    assert not left.exists()
    assert sweeper.passes == 1
    await store.close()
    orphan(store)
    clock.advance(SWEEP_INTERVAL)
    assert sweeper.running is None and sweeper.passes == 1


@pytest_twisted.ensureDeferred
async def test_store_sweep_failure_is_not_fatal(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep that fails is logged; the next one still runs and cleans up."""
    clock = Clock()
    sweeper = store.start_sweeping(60, clock)
    real = store._sweep_files

    def broken() -> tuple[int, int]:
        raise OSError("EIO")

    monkeypatch.setattr(store, "_sweep_files", broken)
    clock.advance(60)
    assert sweeper.running is not None
    await sweeper.running
    monkeypatch.setattr(store, "_sweep_files", real)
    left = orphan(store)
    clock.advance(60)
    assert sweeper.running is not None
    await sweeper.running
    assert not left.exists() and sweeper.passes == 2


@pytest_twisted.ensureDeferred
async def test_server_store_sweeps(tmp_path: Path) -> None:
    """The store twistd txs3 opens has its periodic sweep started."""
    from twisted.internet import reactor

    from txs3.service import open_store

    opened = open_store(tmp_path / "data", reactor)
    try:
        assert isinstance(opened, SQLiteStore)
        assert opened._sweeper is not None
        assert opened._sweeper._loop.running
    finally:
        await opened.close()
    assert not opened._sweeper._loop.running
