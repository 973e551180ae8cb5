"""
Blob files and staging files in the data directory.

Layout (all on one filesystem, so a rename publishes atomically)::

    <data>/blobs/ab/ab12...ef        one object's bytes; the name is a uuid4
                                     hex id, sharded by its first two digits
    <data>/staging/<instance>/lock   flock()ed by the live process owning
                                     this directory
    <data>/staging/<instance>/<id>   an upload in progress

A key never becomes a path: names here are internal ids only.

A staging directory is created as C{<instance>.new}, locked, and only then
renamed to C{<instance>}: a sweeper in another process therefore never sees
an unlocked directory of a live process.  At start-up L{StagingArea.sweep}
removes every other C{staging/*} directory whose lock it can take (its owner
is dead) and C{*.new} directories older than the grace period (their
creator died before renaming them).

Orphan blobs (on disk but not in the index: a crash between rename and
commit, or between commit and unlinking the replaced blob) are removed by
L{BlobStore.sweep_orphans}, but only once their ctime is older than a grace
period, so that another process's rename-then-commit in flight is never hit.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from typing import BinaryIO

from twisted.logger import Logger
from zope.interface import implementer

from txs3.errors import S3Error
from txs3.store.interface import IStagingFile

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(error: BaseException) -> bool:
    """Whether C{error} is an C{OSError} meaning "no space left"."""
    return isinstance(error, OSError) and error.errno in _FULL_ERRNOS


_log = Logger()
_FULL_LOG_INTERVAL = 60.0
_last_full_log = -_FULL_LOG_INTERVAL


def insufficient_storage(where: str) -> S3Error:
    """
    The error a client sees when the disk is full (507).  The operator
    learns it from one log line naming the place, at most once a minute so
    that a full disk under load does not flood the log.
    """
    global _last_full_log
    now = time.monotonic()
    if now - _last_full_log >= _FULL_LOG_INTERVAL:
        _last_full_log = now
        _log.error(
            "The disk holding {where} is full: uploads are refused with 507 "
            "InsufficientStorage until space is freed; reads, deletes and "
            "aborts of multipart uploads still work (deleting frees space).",
            where=where,
        )
    return S3Error.of("InsufficientStorage")


def fsync_dir(path: str) -> None:
    """Make a directory's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


@implementer(IStagingFile)
class StagingFile:
    """
    One upload's bytes, written with C{os.write} in the caller's thread.

    Writes go to the page cache; durability comes later from L{publish},
    which the store runs off the reactor thread.  States: open (writable),
    then either discarded (file gone) or handed over to a store (no more
    writes; the store either publishes or discards it).
    """

    def __init__(self, path: str, fd: int, area: StagingArea | None = None) -> None:
        self.path = path
        self._area = area
        self._fd: int | None = fd
        self._size = 0
        self._handed_over = False
        self._published = False

    def write(self, data: bytes) -> None:
        """
        Append C{data}.

        @raise S3Error: C{InsufficientStorage} when the disk is full; the
            file is discarded first.
        @raise ValueError: after L{discard} or after the file was handed
            to a store.
        """
        if self._fd is None or self._handed_over:
            raise ValueError("staging file is closed")
        if self._area is not None and self._area.is_full():
            # The disk filled up during this upload: stop it, so that what
            # deletes free is not eaten by uploads already under way.
            self.discard()
            raise insufficient_storage(os.path.dirname(self.path))
        view = memoryview(data)
        try:
            while view:
                # os.write may write less than asked (signals, some
                # filesystems): loop until everything is in.
                n = os.write(self._fd, view)
                view = view[n:]
                self._size += n
        except OSError as e:
            self.discard()
            if is_disk_full(e):
                if self._area is not None:
                    self._area.on_full()
                raise insufficient_storage(os.path.dirname(self.path)) from e
            raise

    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    def discard(self) -> None:
        """Close and delete the file; idempotent, a no-op once published."""
        if self._published:
            return
        self._close_fd()
        _unlink_quietly(self.path)

    def hand_over(self) -> None:
        """
        Stop accepting writes: a store now owns the file.

        @raise ValueError: if the file was discarded or already handed over.
        """
        if self._fd is None or self._handed_over:
            raise ValueError("staging file is not open")
        self._handed_over = True

    def fsync(self) -> None:
        """Flush the bytes to stable storage and close the descriptor."""
        assert self._fd is not None
        os.fsync(self._fd)
        self._close_fd()

    def mark_published(self) -> None:
        """Record that the file was renamed away: discard becomes a no-op."""
        self._published = True
        self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class StagingArea:
    """
    This process's staging directory, held by an C{flock} for its lifetime.

    @ivar is_full: whether the store counts the disk as full (then writes
        to its staging files are refused); the store sets it.
    @ivar on_full: called when a write to a staging file finds the disk
        full; the store sets it.
    """

    def __init__(self, root: str, instance: str, lock_fd: int) -> None:
        self.root = root
        self.instance = instance
        self.path = os.path.join(root, instance)
        self._lock_fd: int | None = lock_fd
        self.is_full: Callable[[], bool] = lambda: False
        self.on_full: Callable[[], None] = lambda: None

    @classmethod
    def create(cls, root: str) -> StagingArea:
        """
        Make and lock a fresh C{root/<instance>} directory.

        It is built as C{<instance>.new} and renamed once locked, so no
        sweeper ever sees it unlocked.
        """
        os.makedirs(root, exist_ok=True)
        instance = f"{os.getpid()}-{uuid.uuid4().hex}"
        tmp = os.path.join(root, instance + ".new")
        os.mkdir(tmp, 0o700)
        fd = os.open(
            os.path.join(tmp, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(tmp, os.path.join(root, instance))
        return cls(root, instance, fd)

    def open(self) -> StagingFile:
        """A new, empty staging file in this process's directory."""
        if self._lock_fd is None:
            raise ValueError("staging area is closed")
        path = os.path.join(self.path, uuid.uuid4().hex)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        return StagingFile(path, fd, self)

    def sweep(self, grace: float, now: Callable[[], float] = time.time) -> int:
        """
        Remove staging directories of dead processes; return how many.

        A directory counts as dead when its lock can be taken.  Directories
        still named C{*.new} are removed once older than C{grace} seconds.
        """
        removed = 0
        for name in os.listdir(self.root):
            if name == self.instance:
                continue
            path = os.path.join(self.root, name)
            if name.endswith(".new"):
                try:
                    if now() - os.stat(path).st_ctime < grace:
                        continue
                except FileNotFoundError:
                    continue
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
                continue
            if self._remove_if_dead(path):
                removed += 1
        return removed

    @staticmethod
    def _remove_if_dead(path: str) -> bool:
        try:
            fd = os.open(os.path.join(path, "lock"), os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            # A renamed directory always has its lock file; without one it
            # is the remains of an interrupted sweep.
            shutil.rmtree(path, ignore_errors=True)
            return True
        except NotADirectoryError:
            return False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a live process holds it
            # Holding the lock while deleting: a concurrent sweeper cannot
            # take it until we are done.
            shutil.rmtree(path, ignore_errors=True)
            return True
        finally:
            os.close(fd)

    def close(self) -> None:
        """Delete this directory (and any abandoned uploads), release the lock."""
        if self._lock_fd is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        fd, self._lock_fd = self._lock_fd, None
        os.close(fd)


class BlobStore:
    """
    Immutable blob files named by id under C{root}, sharded into 256
    directories created up front (so publishing never creates a directory
    that would itself need an fsync of its parent).
    """

    def __init__(self, root: str) -> None:
        self.root = root

    def prepare(self) -> None:
        """Create C{root} and its shard directories, durably."""
        os.makedirs(self.root, exist_ok=True)
        created = False
        for i in range(256):
            shard = os.path.join(self.root, f"{i:02x}")
            if not os.path.isdir(shard):
                os.makedirs(shard, exist_ok=True)
                created = True
        if created:
            fsync_dir(self.root)

    @staticmethod
    def new_id() -> str:
        """A fresh blob id."""
        return uuid.uuid4().hex

    def path(self, blob_id: str) -> str:
        """Where blob C{blob_id} lives; ids are ours, never user input."""
        if len(blob_id) != 32 or not all(c in "0123456789abcdef" for c in blob_id):
            raise ValueError(f"not a blob id: {blob_id!r}")
        return os.path.join(self.root, blob_id[:2], blob_id)

    def publish(self, staging: StagingFile) -> str:
        """
        Make C{staging} durable and rename it into place; return its blob id.

        fsync the file, rename it, fsync the shard directory.  On failure
        the staging file (or the renamed blob) is removed and the error
        propagates.
        """
        blob_id = self.new_id()
        target = self.path(blob_id)
        try:
            staging.fsync()
            os.rename(staging.path, target)
        except BaseException:
            staging.discard()
            raise
        staging.mark_published()
        try:
            fsync_dir(os.path.dirname(target))
        except BaseException:
            self.unlink(blob_id)
            raise
        return blob_id

    def open(self, blob_id: str) -> BinaryIO:
        """
        Open blob C{blob_id} for reading.

        @raise FileNotFoundError: if it is gone (replaced and unlinked).
        """
        return open(self.path(blob_id), "rb")  # the caller closes it

    def unlink(self, blob_id: str) -> None:
        """Delete blob C{blob_id}; already gone is fine."""
        _unlink_quietly(self.path(blob_id))

    def iter_ids(self) -> Iterator[tuple[str, float]]:
        """Every blob on disk, as C{(id, ctime)}, shard by shard."""
        for i in range(256):
            shard = os.path.join(self.root, f"{i:02x}")
            try:
                entries = os.scandir(shard)
            except FileNotFoundError:
                continue
            with entries:
                for entry in entries:
                    try:
                        ctime = entry.stat(follow_symlinks=False).st_ctime
                    except FileNotFoundError:
                        continue
                    yield entry.name, ctime

    def sweep_orphans(
        self,
        is_referenced: Callable[[str], bool],
        grace: float,
        now: Callable[[], float] = time.time,
    ) -> int:
        """
        Delete blobs that C{is_referenced} denies and whose ctime is more
        than C{grace} seconds old; return how many were deleted.
        """
        removed = 0
        cutoff = now() - grace
        for blob_id, ctime in self.iter_ids():
            if ctime > cutoff:
                continue  # maybe another process's commit in flight
            try:
                self.path(blob_id)
            except ValueError:
                continue  # not ours: leave foreign files alone
            if not is_referenced(blob_id):
                self.unlink(blob_id)
                removed += 1
        return removed
