"""
Sending one byte range of one open file to a request, with backpressure.

L{send_range} registers a small pull producer (in the spirit of Twisted's
C{static.SingleRangeStaticProducer}): the transport asks for more only when
its buffer has drained, so memory stays flat whatever the object size.
"""

from __future__ import annotations

from typing import BinaryIO

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IConsumer, IPullProducer
from zope.interface import implementer

READ_SIZE = 64 * 1024


@implementer(IPullProducer)
class RangeSender:
    """
    Writes C{length} bytes of C{file} from C{offset} to C{request}, one
    C{READ_SIZE} piece per C{resumeProducing}; fires L{done} at the end
    (the caller finishes the request) and closes the file either way.
    """

    def __init__(
        self, request: IConsumer, file: BinaryIO, offset: int, length: int
    ) -> None:
        self._request = request
        self._file = file
        self._remaining = length
        self.done: Deferred[None] = Deferred(lambda d: self.stopProducing())
        file.seek(offset)

    def start(self) -> Deferred[None]:
        self._request.registerProducer(self, False)
        return self.done

    def resumeProducing(self) -> None:
        if self._file.closed:
            return
        data = (
            self._file.read(min(READ_SIZE, self._remaining)) if self._remaining else b""
        )
        if not data:
            self._finish()
            if self._remaining:
                # The file is shorter than its index entry said: fail loudly
                # rather than send a short body under a full Content-Length.
                self.done.errback(OSError(f"blob ended {self._remaining} bytes early"))
            else:
                self.done.callback(None)
            return
        self._remaining -= len(data)
        self._request.write(data)

    def _finish(self) -> None:
        self._file.close()
        self._request.unregisterProducer()

    def stopProducing(self) -> None:
        if not self._file.closed:
            self._file.close()


async def send_range(
    request: IConsumer, file: BinaryIO, offset: int, length: int
) -> None:
    """Stream C{length} bytes of C{file} from C{offset}; small ones at once."""
    if length <= READ_SIZE:
        try:
            file.seek(offset)
            request.write(file.read(length))
        finally:
            file.close()
        return
    await RangeSender(request, file, offset, length).start()
