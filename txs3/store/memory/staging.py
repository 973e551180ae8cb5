"""
L{MemoryStagingFile}: a staging file in memory.
"""

from __future__ import annotations

import io

from zope.interface import implementer

from txs3.errors import S3Error
from txs3.store.interface import IStagingFile


@implementer(IStagingFile)
class MemoryStagingFile:
    """
    A staging file backed by a C{BytesIO}.

    @ivar full: set to True to make the next L{write} fail as if the disk
        were full (for tests of the error path).
    """

    def __init__(self) -> None:
        self._buffer: io.BytesIO | None = io.BytesIO()
        self._handed_over = False
        self.full = False

    def write(self, data: bytes) -> None:
        """See L{IStagingFile.write}."""
        if self._buffer is None or self._handed_over:
            raise ValueError("staging file is closed")
        if self.full:
            self.discard()
            raise S3Error.of("InsufficientStorage")
        self._buffer.write(data)

    def size(self) -> int:
        """See L{IStagingFile.size}."""
        return 0 if self._buffer is None else self._buffer.tell()

    def discard(self) -> None:
        """See L{IStagingFile.discard}."""
        self._buffer = None

    def is_open(self) -> bool:
        """Whether the file is neither discarded nor published."""
        return self._buffer is not None and not self._handed_over

    def take(self) -> bytes:
        """
        The bytes written, closing the file to further use.

        @raise ValueError: if discarded or already taken.
        """
        if self._buffer is None or self._handed_over:
            raise ValueError("staging file is not open")
        self._handed_over = True
        data, self._buffer = self._buffer.getvalue(), None
        return data
