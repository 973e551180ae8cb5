"""
The access keys a running server accepts, kept current without a restart.

Two sources, and which wins:

  1. the configured one (L{txs3.auth.credentials.load_credentials}):
     C{--credentials FILE}, else C{TXS3_ACCESS_KEY}/C{TXS3_SECRET_KEY},
     else C{DATA/credentials};
  2. the users in the index, managed with C{txs3-admin user ...} and
     C{txs3-admin key ...} (L{txs3.store.sqlite.users}).

An access key in both is the configured source's (the operator's explicit
file wins); a key of a disabled user is refused.

L{KeySource.poll}, run every second on the reactor's clock, reloads the
index's keys when its users serial moved (another process changed them),
and the credentials file when its modification time or size changed.
L{KeySource.reload} (SIGHUP) rereads the file whatever it looks like.
C{txs3-admin reload} asks through the index (a serial L{KeySource.poll}
watches), and the service then reloads certificates and keys as on
SIGHUP.  A file that no longer parses keeps the keys that
were loaded, with one log line saying why.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path

from twisted.logger import Logger

from txs3.auth.credentials import CredentialsError, read_credentials_file
from txs3.auth.directory import Directory
from txs3.auth.types import Secret
from txs3.store.sqlite import users

log = Logger()


class KeySource:
    """
    The live key map (see the module docstring).

    @param configured: the keys of the configured source, as loaded.
    @param credentials_file: the file they came from, when it is a
        C{--credentials} file (reloaded on change); None for the
        environment or the data directory's file.
    @param index_path: the index to read users from; None for none (the
        memory store).
    """

    def __init__(
        self,
        configured: Mapping[str, Secret],
        credentials_file: Path | None = None,
        index_path: str | None = None,
    ) -> None:
        self._configured = dict(configured)
        self._file = credentials_file
        self._file_stamp = self._stamp()
        self._index_path = index_path
        self._conn: sqlite3.Connection | None = None
        self._serial = -1
        self._reload_serial: int | None = None
        #: Called when C{txs3-admin reload} asks (L{poll} sees it).
        self.on_reload_request: Callable[[], None] | None = None
        self._indexed: dict[str, Secret] = {}
        self.directory = Directory()
        self.poll()
        self._rebuild_directory()

    def lookup(self, access_key: str) -> Secret | None:
        """The secret of C{access_key}, or None when no source has it."""
        return self._configured.get(access_key) or self._indexed.get(access_key)

    def poll(self) -> None:
        """Reload whatever changed (see the module docstring)."""
        if self._reload_requested():
            if self.on_reload_request is not None:
                self.on_reload_request()
            return
        changed = False
        if self._file is not None and self._stamp() != self._file_stamp:
            changed = self._reload_file() or changed
        changed = self._reload_index() or changed
        if changed:
            self._rebuild_directory()

    def reload(self) -> None:
        """Reread the credentials file now (SIGHUP), and the index."""
        changed = self._reload_file() if self._file is not None else False
        if self._reload_index() or changed:
            self._rebuild_directory()

    def _stamp(self) -> tuple[float, int] | None:
        if self._file is None:
            return None
        try:
            st = os.stat(self._file)
        except OSError:
            return None
        return st.st_mtime, st.st_size

    def _reload_file(self) -> bool:
        assert self._file is not None
        self._file_stamp = self._stamp()
        try:
            loaded = read_credentials_file(self._file)
        except CredentialsError as e:
            log.warn("Kept the keys loaded before: {reason}", reason=str(e))
            return False
        self._configured = loaded
        log.info(
            "Reloaded {count} access key(s) from {path}",
            count=len(loaded),
            path=str(self._file),
        )
        return True

    def _index(self) -> sqlite3.Connection | None:
        if self._index_path is None or not os.path.exists(self._index_path):
            return None
        if self._conn is None:
            self._conn = sqlite3.connect(
                self._index_path, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA busy_timeout = 1000")
            self._conn.execute("PRAGMA query_only = 1")
        return self._conn

    def _reload_requested(self) -> bool:
        """Whether C{txs3-admin reload} asked since the last look."""
        conn = self._index()
        if conn is None:
            return False
        try:
            now = users.reload_serial(conn)
        except sqlite3.Error:
            return False
        seen, self._reload_serial = self._reload_serial, now
        return seen is not None and now != seen

    def _reload_index(self) -> bool:
        conn = self._index()
        if conn is None:
            return False
        try:
            now = users.serial(conn)
            if now == self._serial:
                return False
            keys = users.active_keys(conn)
        except sqlite3.Error as e:
            log.warn("Cannot read the users in the index: {reason}", reason=str(e))
            return False
        self._serial = now
        self._indexed = {
            k.access_key: Secret(
                k.access_key, k.secret_key, k.owner_id, k.user, k.email
            )
            for k in keys
        }
        return True

    def _rebuild_directory(self) -> None:
        secrets = list(self._configured.values()) + list(self._indexed.values())
        self.directory.replace(Directory.of(secrets))

    def close(self) -> None:
        """Close the index connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
