"""
L{SpaceReserve}: what keeps a full disk emptiable through S3.

A store holds a reserve file (C{reserve}, 16 MiB, allocated with
C{posix_fallocate}) in its data directory while the disk has room.  When the
disk fills up, the store enters the full state (L{SpaceReserve.full}): it
refuses uploads (507 C{InsufficientStorage}, before their body) and says so
in one log line.  Deletes still need the index to commit, which needs a few
pages of space (SQLite appends to its write-ahead log): a commit that frees
space and finds the disk full releases the reserve (truncates the file) and
tries again.  Reads need no space.  Once the freed space is back above
twice the reserve, the reserve is allocated again and uploads are accepted.

Every method that touches the disk blocks: the store calls them from its
writer thread (or at start-up), never from the reactor.
"""

from __future__ import annotations

import errno
import os
import threading

from twisted.logger import Logger

from txs3.store.blobs import is_disk_full

#: Bytes held back for the commits that free space.
RESERVE_SIZE = 16 * 1024 * 1024

#: The reserve file's name in the data directory.
RESERVE_NAME = "reserve"

_log = Logger()


def free_bytes(path: str) -> int:
    """Bytes an unprivileged writer may still use on C{path}'s filesystem."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


class SpaceReserve:
    """
    The reserve file of one data directory, and whether the disk is full.

    @ivar full: True from the moment a write found the disk full until
        L{recover} has allocated the reserve again.  Read from any thread.
    """

    def __init__(self, data_dir: str, size: int = RESERVE_SIZE) -> None:
        self.data_dir = data_dir
        self.path = os.path.join(data_dir, RESERVE_NAME)
        self.size = size
        self.full = False
        self._lock = threading.Lock()

    def held(self) -> int:
        """Bytes the reserve file holds now."""
        try:
            return os.stat(self.path).st_size
        except FileNotFoundError:
            return 0

    def fill(self) -> bool:
        """
        Allocate the reserve (a no-op when it is whole); return whether it
        is whole now.  A disk too full for it leaves it empty, not partial:
        a partial reserve would only hide how little room there is.
        """
        if self.size <= 0:
            return True
        with self._lock:
            if self.held() >= self.size:
                return True
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                try:
                    os.posix_fallocate(fd, 0, self.size)
                except OSError as e:
                    os.ftruncate(fd, 0)
                    if is_disk_full(e) or e.errno == errno.EFBIG:
                        return False
                    raise
            finally:
                os.close(fd)
            return True

    def release(self) -> bool:
        """
        Give the reserve's space back to the filesystem; return whether
        there was any to give.
        """
        with self._lock:
            if self.held() == 0:
                return False
            os.truncate(self.path, 0)
        _log.warn(
            "Released the {size} byte disk reserve in {where} so that deletes "
            "can commit on a full disk.",
            size=self.size,
            where=self.data_dir,
        )
        return True

    def mark_full(self) -> None:
        """Enter the full state (uploads refused until L{recover})."""
        self.full = True

    def recover(self) -> bool:
        """
        Leave the full state if there is room again: at least the reserve
        plus as much again free, and the reserve allocated.  Return whether
        the disk counts as full afterwards.
        """
        if not self.full:
            return False
        missing = self.size - self.held()
        if free_bytes(self.data_dir) < missing + self.size:
            return True
        if not self.fill():
            return True
        self.full = False
        _log.info(
            "The disk holding {where} has room again: uploads are accepted.",
            where=self.data_dir,
        )
        return False
