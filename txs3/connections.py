"""
The open connections of one process, and which to give up when there are
too many.

Every connection is either idle (connected or between requests, with no
request byte received) or busy (a request head, body or response in
progress).  When a new connection would go over the cap, the connection
that has been idle longest is closed to make room; idle connections cost a
file descriptor and nothing else, and a client whose idle keep-alive
connection is closed simply opens another.  Only when every connection is
busy is the new one refused.  So a thousand idle connections never lock
out a new client, and a flood of connections that send nothing evict each
other, oldest first, not the clients that are working.

Busy connections cannot be held forever either: the channel's head
deadline and body-rate floor (L{txs3.limits}) close them.
"""

from __future__ import annotations

from typing import Protocol


class Closable(Protocol):
    """A connection the registry may close to make room."""

    def close_idle(self) -> None:
        """Close this idle connection now (it will be forgotten by the registry)."""


class ConnectionRegistry:
    """
    Open connections, capped at C{limit}, idle ones in the order they
    became idle.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        # dict keeps insertion order: the first key is the longest idle.
        self._idle: dict[Closable, None] = {}
        self._busy: set[Closable] = set()
        self.evicted = 0
        self.refused = 0

    def __len__(self) -> int:
        return len(self._idle) + len(self._busy)

    def admit(self, conn: Closable) -> bool:
        """
        Take a new connection, idle.  At the cap, first close the longest
        idle one.

        @return: False, admitting nothing, if the cap is reached and no
            connection is idle: the caller must close C{conn}.
        """
        while len(self) >= self.limit:
            if not self._idle:
                self.refused += 1
                return False
            oldest = next(iter(self._idle))
            del self._idle[oldest]
            self.evicted += 1
            oldest.close_idle()
        self._idle[conn] = None
        return True

    def busy(self, conn: Closable) -> None:
        """C{conn} has started a request."""
        if conn in self._idle:
            del self._idle[conn]
            self._busy.add(conn)

    def idle(self, conn: Closable) -> None:
        """C{conn} has finished a request and waits for the next one."""
        if conn in self._busy:
            self._busy.discard(conn)
            self._idle[conn] = None

    def remove(self, conn: Closable) -> None:
        """C{conn} is closing or closed; forget it (idempotent)."""
        self._idle.pop(conn, None)
        self._busy.discard(conn)

    def idle_count(self) -> int:
        """How many connections are idle now."""
        return len(self._idle)
