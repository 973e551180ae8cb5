"""
Backup and restore of a data directory, live.

A backup is the index, copied with SQLite's online backup API (one
consistent snapshot, taken while the server keeps reading and writing),
plus every blob that snapshot references: hard links when the destination
is on the same filesystem (blobs are immutable, so a link is a copy), real
copies otherwise.

What could go wrong: a blob the snapshot references is freed by the live
server (its object overwritten or deleted) before it is linked.  So while a
backup runs it holds C{DATA/backup.hold} locked (L{BackupHold}), and every
store process leaves freed blobs in place while that lock is held
(L{backup_running}); they are orphans then, which the periodic sweep
removes afterwards.  The sweep itself skips orphans while a backup runs.

L{restore} refuses a target that is not empty, and copies (or links) a
backup into it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from txs3.store.sqlite.users import INDEX_NAME, AdminError, harden

HOLD_NAME = "backup.hold"
#: Small files of the data directory a backup carries (secrets: 0600).
EXTRA_FILES = ("credentials", "metrics-token")

_REFERENCED = (
    "SELECT blob FROM objects WHERE blob IS NOT NULL"
    " UNION SELECT blob FROM object_extents"
    " UNION SELECT blob FROM part_extents"
    " UNION SELECT blob FROM versions WHERE blob IS NOT NULL"
    " UNION SELECT blob FROM version_extents"
)


def backup_running(data_dir: str) -> bool:
    """Whether a backup holds C{data_dir}'s hold lock now (cheap: one flock)."""
    path = os.path.join(data_dir, HOLD_NAME)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextmanager
def BackupHold(data_dir: str) -> Iterator[None]:
    """Hold C{data_dir}'s backup lock: no store process frees blobs meanwhile."""
    fd = os.open(
        os.path.join(data_dir, HOLD_NAME), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
    )
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@dataclass
class Copied:
    """What a backup or restore wrote."""

    blobs: int = 0
    bytes: int = 0
    linked: int = 0
    copied: int = 0


def _blob_path(root: str, blob_id: str) -> str:
    return os.path.join(root, "blobs", blob_id[:2], blob_id)


def _place(source: str, target: str, copied: Copied) -> None:
    """Hard-link C{source} to C{target}, or copy it (fsynced) across filesystems."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        os.link(source, target)
        copied.linked += 1
    except OSError as e:
        if e.errno not in (18, 1):  # EXDEV, EPERM: another filesystem
            raise
        with open(source, "rb") as src, open(target, "xb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        copied.copied += 1
    copied.blobs += 1
    copied.bytes += os.stat(target).st_size


def _empty_target(path: str) -> None:
    if os.path.exists(path) and (not os.path.isdir(path) or os.listdir(path)):
        raise AdminError(f"{path} is not an empty directory: give a new one")
    os.makedirs(path, exist_ok=True)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(
    data_dir: str, dest: str, progress: Callable[[Copied], None] | None = None
) -> Copied:
    """
    Copy the live data directory C{data_dir} to C{dest} (see the module
    docstring); the server may serve throughout.

    @raise AdminError: C{dest} not empty, no index in C{data_dir}, or a
        referenced blob missing (the source needs C{txs3-admin fsck}).
    """
    index = os.path.join(data_dir, INDEX_NAME)
    if not os.path.exists(index):
        raise AdminError(f"no index in {data_dir} (give --data DIR)")
    _empty_target(dest)
    copied = Copied()
    with BackupHold(data_dir):
        source = sqlite3.connect(index, timeout=30)
        target = sqlite3.connect(os.path.join(dest, INDEX_NAME))
        try:
            source.backup(target)
        finally:
            source.close()
        try:
            for (blob_id,) in target.execute(_REFERENCED):
                path = _blob_path(data_dir, blob_id)
                if not os.path.exists(path):
                    raise AdminError(
                        f"blob {blob_id} is in the index but not on disk:"
                        f" run txs3-admin fsck --data {data_dir}"
                    )
                _place(path, _blob_path(dest, blob_id), copied)
                if progress is not None and copied.blobs % 1000 == 0:
                    progress(copied)
        finally:
            target.close()
    for name in EXTRA_FILES:
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            shutil.copy2(path, os.path.join(dest, name))
            os.chmod(os.path.join(dest, name), 0o600)
    harden(os.path.join(dest, INDEX_NAME))
    _fsync_dir(dest)
    return copied


def restore(source: str, data_dir: str) -> Copied:
    """
    Make C{data_dir} (empty or new) a copy of the backup C{source}.

    @raise AdminError: C{data_dir} not empty, or C{source} not a backup.
    """
    index = os.path.join(source, INDEX_NAME)
    if not os.path.exists(index):
        raise AdminError(f"{source} holds no txs3 index: not a backup")
    _empty_target(data_dir)
    copied = Copied()
    with (
        open(index, "rb") as src,
        open(os.path.join(data_dir, INDEX_NAME), "xb") as dst,
    ):
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    blobs = os.path.join(source, "blobs")
    for directory, _, names in os.walk(blobs):
        for name in names:
            _place(
                os.path.join(directory, name),
                os.path.join(
                    data_dir, "blobs", os.path.relpath(directory, blobs), name
                ),
                copied,
            )
    for name in EXTRA_FILES:
        path = os.path.join(source, name)
        if os.path.exists(path):
            shutil.copy2(path, os.path.join(data_dir, name))
    harden(os.path.join(data_dir, INDEX_NAME))
    _fsync_dir(data_dir)
    return copied
