"""
Tests for L{txs3.limits} and L{txs3.connections}: the pure decisions behind
the channel's limits (option values, the body-rate floor, the connection
cap with idle-first eviction), without a channel or a clock.
"""

from __future__ import annotations

import pytest

from txs3 import limits
from txs3.connections import ConnectionRegistry


@pytest.mark.parametrize(
    ("text", "expected"), [("1", 1), ("4096", 4096), (" 100 ", 100)]
)
def test_parse_max_connections(text: str, expected: int) -> None:
    """--max-connections takes whole numbers from 1."""
    assert limits.parse_max_connections(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "many", "1.5", ""])
def test_parse_max_connections_refuses(text: str) -> None:
    """Anything but a whole number from 1 is one line naming the option."""
    with pytest.raises(ValueError, match="^--max-connections .*e.g. 4096$"):
        limits.parse_max_connections(text)


@pytest.mark.parametrize(("text", "expected"), [("20", 20.0), ("0.5", 0.5)])
def test_parse_header_timeout(text: str, expected: float) -> None:
    """--header-timeout takes seconds above 0."""
    assert limits.parse_header_timeout(text) == expected


@pytest.mark.parametrize("text", ["0", "-3", "nan", "inf", "soon", "100000"])
def test_parse_header_timeout_refuses(text: str) -> None:
    """Zero, negative, non-finite, over a day or not a number: refused."""
    with pytest.raises(ValueError, match="^--header-timeout "):
        limits.parse_header_timeout(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("4096", 4096),
        ("4K", 4096),
        ("4k", 4096),
        ("1M", 1048576),
        ("2KiB", 2048),
    ],
)
def test_parse_min_upload_rate(text: str, expected: int) -> None:
    """--min-upload-rate takes bytes per second, with K or M, 0 for off."""
    assert limits.parse_min_upload_rate(text) == expected


@pytest.mark.parametrize("text", ["-1", "fast", "1.5K", "", "K"])
def test_parse_min_upload_rate_refuses(text: str) -> None:
    """Negative or unreadable rates are one line naming the option."""
    with pytest.raises(ValueError, match="^--min-upload-rate "):
        limits.parse_min_upload_rate(text)


def test_rate_floor_grace_period() -> None:
    """Nothing is judged slow before one whole window has passed."""
    floor = limits.RateFloor(4096, 30.0, start=1000.0)
    for t in range(5, 30, 5):
        assert not floor.too_slow(1000.0 + t, 0)
    assert floor.too_slow(1030.0, 0)


def test_rate_floor_average_over_window() -> None:
    """The floor judges the average over the last window, not the whole upload."""
    floor = limits.RateFloor(1000, 30.0, start=0.0)
    received = 0
    # 60 s at 2000 B/s: fine.
    for t in range(5, 65, 5):
        received += 10000
        assert not floor.too_slow(float(t), received)
    # Then it stalls: 1000 B/s over 30 s needs 30000 bytes in the window;
    # the window still holds enough for a while, then not.
    verdicts = [floor.too_slow(float(t), received) for t in range(65, 100, 5)]
    assert verdicts[0] is False
    assert verdicts[-1] is True


def test_rate_floor_exactly_at_rate() -> None:
    """A body exactly at the floor is not cut off."""
    floor = limits.RateFloor(4096, 30.0, start=0.0)
    for t in range(5, 300, 5):
        assert not floor.too_slow(float(t), 4096 * t)


def test_rate_floor_off() -> None:
    """A floor of 0 never judges a body slow."""
    floor = limits.RateFloor(0, 30.0, start=0.0)
    assert not floor.too_slow(1000.0, 0)


def test_file_limit_warning_names_the_fix() -> None:
    """A cap above the open-file limit gets one line saying what to raise."""
    message = limits.file_limit_warning(4096, soft=1024)
    assert message is not None
    assert "(1024)" in message
    assert "at least 4352" in message
    assert "LimitNOFILE" in message
    assert "\n" not in message


def test_file_limit_enough() -> None:
    """No warning when the open-file limit covers the cap and the margin, or is unlimited."""
    assert limits.file_limit_warning(4096, soft=8192) is None
    assert limits.file_limit_warning(4096, soft=-1) is None


class Conn:
    """A connection that records being closed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.closed = False

    def close_idle(self) -> None:
        self.closed = True

    def __repr__(self) -> str:
        return self.name


def test_registry_evicts_longest_idle_first() -> None:
    """At the cap the connection idle longest is closed for the new one."""
    registry = ConnectionRegistry(3)
    a, b, c, d = Conn("a"), Conn("b"), Conn("c"), Conn("d")
    for conn in (a, b, c):
        assert registry.admit(conn)
    registry.busy(a)
    registry.idle(a)  # a finished a request: now the most recently idle
    assert registry.admit(d)
    assert b.closed
    assert not a.closed and not c.closed
    assert len(registry) == 3


def test_registry_busy_connections_are_not_evicted() -> None:
    """Busy connections are never closed to make room; the newcomer is refused."""
    registry = ConnectionRegistry(2)
    a, b, c = Conn("a"), Conn("b"), Conn("c")
    registry.admit(a)
    registry.admit(b)
    registry.busy(a)
    registry.busy(b)
    assert not registry.admit(c)
    assert registry.refused == 1
    assert not a.closed and not b.closed
    registry.remove(a)
    assert registry.admit(c)


def test_registry_thousand_idle_never_lock_out() -> None:
    """With a thousand idle connections at the cap, new clients still get in."""
    registry = ConnectionRegistry(1000)
    idle = [Conn(str(i)) for i in range(1000)]
    for conn in idle:
        assert registry.admit(conn)
    newcomers = [Conn(f"new{i}") for i in range(10)]
    for conn in newcomers:
        assert registry.admit(conn)
        registry.busy(conn)
    assert [c.closed for c in idle[:10]] == [True] * 10
    assert not any(c.closed for c in idle[10:])
    assert registry.evicted == 10
    assert len(registry) == 1000


def test_registry_remove_is_idempotent() -> None:
    """Forgetting a connection twice, or one never admitted, is harmless."""
    registry = ConnectionRegistry(1)
    a = Conn("a")
    registry.remove(a)
    registry.admit(a)
    registry.remove(a)
    registry.remove(a)
    assert len(registry) == 0
