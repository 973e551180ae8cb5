"""
Objects made of extents: byte ranges of immutable blobs.

A multipart object is not one blob but the concatenation of its parts'
blobs, and a copy shares its source's blobs instead of copying them.  Both
stores describe such an object as a sequence of L{Extent}s (blob, offset,
length), grouped by part, and read it through an L{ExtentReader}: one
seekable file over all of them.  Completing an upload or copying an object
therefore only writes index rows, whatever the size.
"""

from __future__ import annotations

import bisect
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO


@dataclass(frozen=True)
class Extent:
    """
    Bytes C{offset} to C{offset + length} of blob C{blob}; C{part} is the
    1-based position of the part it belongs to in its object (1 for objects
    that have no parts).
    """

    blob: str
    offset: int
    length: int
    part: int = 1


def slice_extents(extents: Sequence[Extent], offset: int, length: int) -> list[Extent]:
    """
    The extents covering bytes C{offset} to C{offset + length} of the
    concatenation of C{extents}, each trimmed to the range (part numbers
    kept; callers renumber).

    @raise ValueError: if the range is not inside the concatenation.
    """
    total = sum(e.length for e in extents)
    if offset < 0 or length < 0 or offset + length > total:
        raise ValueError(f"range {offset}+{length} outside {total} bytes")
    out: list[Extent] = []
    start = 0
    end = offset + length
    for e in extents:
        e_end = start + e.length
        lo, hi = max(start, offset), min(e_end, end)
        if lo < hi:
            out.append(Extent(e.blob, e.offset + lo - start, hi - lo, e.part))
        start = e_end
        if start >= end:
            break
    return out


def part_sizes(extents: Iterable[Extent]) -> tuple[int, ...]:
    """The size of each part, in part order, of extents listed in order."""
    sizes: dict[int, int] = {}
    for e in extents:
        sizes[e.part] = sizes.get(e.part, 0) + e.length
    return tuple(sizes[p] for p in sorted(sizes))


class ExtentReader(io.RawIOBase):
    """
    A read-only, seekable file over pieces of other files, in order.

    @param pieces: C{(file, offset, length)}: C{length} bytes of C{file}
        from C{offset}.  A file may appear in several pieces (a blob shared
        by two parts); every file is closed once, with the reader.  The
        files are opened by the caller up front, so the reader keeps
        working after their blobs are unlinked.
    """

    def __init__(self, pieces: Sequence[tuple[BinaryIO, int, int]]) -> None:
        super().__init__()
        self._pieces = list(pieces)
        self._starts: list[int] = []
        position = 0
        for _, _, length in self._pieces:
            self._starts.append(position)
            position += length
        self._size = position
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self._size + offset
        else:
            raise ValueError(f"bad whence {whence}")
        if target < 0:
            raise ValueError("negative seek position")
        self._pos = target
        return target

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        n = len(data)
        memoryview(buffer)[:n] = data
        return n

    def read(self, size: int | None = -1) -> bytes:
        """
        Up to C{size} bytes (all that remain when negative or None) from the
        current position, crossing pieces as needed.  Returns fewer only at
        the end, or when an underlying file is shorter than its piece says
        (the caller detects the short read).
        """
        if self.closed:
            raise ValueError("read from a closed file")
        remaining = self._size - self._pos
        want = remaining if size is None or size < 0 else min(size, remaining)
        chunks: list[bytes] = []
        while want > 0:
            i = bisect.bisect_right(self._starts, self._pos) - 1
            file, offset, length = self._pieces[i]
            within = self._pos - self._starts[i]
            n = min(want, length - within)
            file.seek(offset + within)
            data = file.read(n)
            if not data:
                break
            chunks.append(data)
            self._pos += len(data)
            want -= len(data)
            if len(data) < n:
                break
        return b"".join(chunks)

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if not self.closed:
            seen: set[int] = set()
            for file, _, _ in self._pieces:
                if id(file) not in seen:
                    seen.add(id(file))
                    file.close()
        super().close()
