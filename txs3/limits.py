"""
Connection limits: what a client may cost the server before it is cut off.

Values and pure decisions only, no Twisted: the channel (L{txs3.channel})
applies them on the reactor's clock, L{txs3.tap} parses them from the
command line.

  - C{max_connections}: open connections per process.  At the cap the
    oldest idle connection is closed to make room (L{txs3.connections}).
  - C{header_timeout}: seconds to receive a whole request head, counted
    from the connection (TLS handshake included) for its first request and
    from the first byte for later ones.  Trickling bytes does not extend it.
  - C{min_upload_rate}: bytes per second a request body must average over
    C{rate_window} seconds, once the first window has passed (the grace
    period); 0 turns the floor off.
  - C{refused_body_allowance}: body bytes read (and dropped) after a
    refusal that was answered before its body, before the connection
    closes.  Reading a little lets a client that is still sending see the
    answer instead of a reset.
  - C{close_grace}: seconds a connection being closed may take to go away
    (a TLS peer that never sends its close_notify) before it is aborted.
  - C{send_stall_timeout}: seconds a client may leave the server's send
    buffer full (reading nothing of a response) before the connection is
    aborted.  Twisted turns its idle timeout off while a request is being
    answered, so without this a client that never reads holds its
    connection, busy and never evicted, for ever.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

DEFAULT_MAX_CONNECTIONS = 4096
DEFAULT_HEADER_TIMEOUT = 20.0
DEFAULT_MIN_UPLOAD_RATE = 4096
DEFAULT_RATE_WINDOW = 30.0
REFUSED_BODY_ALLOWANCE = 64 * 1024
CLOSE_GRACE = 5.0
SEND_STALL_TIMEOUT = 120.0


@dataclass(frozen=True)
class Limits:
    """The limits one process applies to its connections (see the module)."""

    max_connections: int = DEFAULT_MAX_CONNECTIONS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    min_upload_rate: int = DEFAULT_MIN_UPLOAD_RATE
    rate_window: float = DEFAULT_RATE_WINDOW
    refused_body_allowance: int = REFUSED_BODY_ALLOWANCE
    close_grace: float = CLOSE_GRACE
    send_stall_timeout: float = SEND_STALL_TIMEOUT

    @property
    def rate_check_interval(self) -> float:
        """How often a body's rate is sampled: six samples per window."""
        return self.rate_window / 6


def parse_max_connections(text: str) -> int:
    """
    C{--max-connections}: a whole number from 1.

    @raise ValueError: with a one-line message naming the option.
    """
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"--max-connections {text!r} must be a whole number of connections "
            "from 1, e.g. 4096"
        )
    return value


def parse_header_timeout(text: str) -> float:
    """
    C{--header-timeout}: seconds, more than 0 and at most a day.

    @raise ValueError: with a one-line message naming the option.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 < value <= 86400):
        raise ValueError(
            f"--header-timeout {text!r} must be a number of seconds above 0, e.g. 20"
        )
    return value


def parse_min_upload_rate(text: str) -> int:
    """
    C{--min-upload-rate}: bytes per second, a whole number from 0 (off),
    with an optional K or M suffix (1024 and 1048576).

    @raise ValueError: with a one-line message naming the option.
    """
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = 1
    if cleaned.endswith("K"):
        cleaned, scale = cleaned[:-1], 1024
    elif cleaned.endswith("M"):
        cleaned, scale = cleaned[:-1], 1024 * 1024
    try:
        value = int(cleaned) * scale
    except ValueError:
        value = -1
    if value < 0:
        raise ValueError(
            f"--min-upload-rate {text!r} must be bytes per second (0 for no "
            "floor), e.g. 4096 or 4K"
        )
    return value


class RateFloor:
    """
    Decides whether a body arrives too slowly: below C{min_rate} bytes per
    second on average over the last C{window} seconds.  Nothing is judged
    before C{window} seconds have passed since C{start} (the grace period).

    Feed it samples with L{too_slow}, at any interval shorter than the window.
    """

    def __init__(self, min_rate: int, window: float, start: float) -> None:
        self._min_rate = min_rate
        self._window = window
        self._start = start
        self._samples: deque[tuple[float, int]] = deque([(start, 0)])

    def too_slow(self, now: float, received: int) -> bool:
        """
        Record that C{received} bytes had arrived in all by C{now}, and say
        whether the average over the last window is below the floor.
        """
        self._samples.append((now, received))
        horizon = now - self._window
        # Keep the newest sample at or before the horizon: the base of the window.
        while len(self._samples) > 1 and self._samples[1][0] <= horizon:
            self._samples.popleft()
        if self._min_rate <= 0 or now - self._start < self._window:
            return False
        base_time, base_bytes = self._samples[0]
        elapsed = now - base_time
        return (received - base_bytes) < self._min_rate * elapsed


# File descriptors a process needs beside its connections: listening
# sockets, the index, staging and blob files being read or written, logs.
FILE_DESCRIPTOR_MARGIN = 256


def file_limit_warning(max_connections: int, soft: int | None = None) -> str | None:
    """
    A one-line warning if this process may open fewer files than
    C{max_connections} plus L{FILE_DESCRIPTOR_MARGIN}, else None.  Past the
    file limit, accepting fails (EMFILE) before the cap can act.

    @param soft: the open-file limit; by default this process's soft
        C{RLIMIT_NOFILE}.  Negative means unlimited.
    """
    if soft is None:
        try:
            import resource

            soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        except (ImportError, OSError, ValueError):
            return None
    needed = max_connections + FILE_DESCRIPTOR_MARGIN
    if soft < 0 or soft >= needed:
        return None
    return (
        f"the open-file limit ({soft}) is below --max-connections "
        f"{max_connections} plus {FILE_DESCRIPTOR_MARGIN} for the server's own "
        f"files: raise it to at least {needed} (LimitNOFILE= in a systemd unit, "
        "ulimit -n) or lower --max-connections"
    )
