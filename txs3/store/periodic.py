"""
L{PeriodicPass}: background work that runs every so often on an injected
clock, one pass at a time, and survives a failing pass.

The stores use it for the orphan sweep while the server runs (not only at
start-up), so a crash followed by an immediate restart does not leave
orphans until the next restart.  The pass itself must keep its blocking
work off the reactor thread (the SQLite store's sweep runs in a thread
pool and returns a Deferred); this class only schedules it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

_log = Logger()


class PeriodicPass:
    """
    Call C{work} every C{interval} seconds of C{clock}, the first time one
    interval after L{start}.

    A pass that returns a Deferred is waited for before the next interval
    is counted (LoopingCall's rule), so passes never overlap.  A pass that
    fails is logged and the schedule goes on.

    @ivar running: the Deferred of the pass in progress, or None; it fires
        (with None) when the pass has ended, whether or not it failed.
    @ivar passes: how many passes have ended.
    """

    def __init__(
        self,
        work: Callable[[], Deferred[Any] | Any],
        clock: IReactorTime,
        interval: float,
        name: str,
    ) -> None:
        self._work = work
        self._interval = interval
        self._name = name
        self._loop = LoopingCall(self._one_pass)
        self._loop.clock = clock
        self.running: Deferred[None] | None = None
        self.passes = 0

    def start(self) -> None:
        """Start the schedule (idempotent)."""
        if not self._loop.running:
            self._loop.start(self._interval, now=False)

    def stop(self) -> None:
        """Stop the schedule; a pass in progress is left to finish."""
        if self._loop.running:
            self._loop.stop()

    def _one_pass(self) -> Deferred[None]:
        def ended(result: object) -> None:
            self.passes += 1
            self.running = None
            if isinstance(result, Failure):
                _log.failure(
                    "{name} failed; the next pass runs on schedule",
                    result,
                    name=self._name,
                )

        d: Deferred[None] = maybeDeferred(self._work).addBoth(ended)
        self.running = None if d.called else d
        return d
