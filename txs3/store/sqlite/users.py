"""
Users and their access keys, in the index (tables C{users},
C{access_keys}, C{users_serial}).

C{txs3-admin} writes them (L{txs3.admin}) whether or not a server runs on
the data directory; every running server polls C{users_serial} (one row,
bumped by every change) and reloads the keys when it moves
(L{txs3.keysource}), so a change is seen within about a second in every
worker process.

Secrets are stored as given: S3 signatures are HMACs keyed by the secret,
so the server needs it, not a hash of it.  The index file is therefore
kept at mode 0600 (L{open_index}, and the store at open).

Everything here is synchronous on a connection the caller holds; each
change is one C{BEGIN IMMEDIATE} transaction.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from txs3.store.sqlite.schema import init_schema

INDEX_NAME = "index.sqlite3"
_NAME = re.compile(r"[A-Za-z0-9._@+-]{1,64}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_ACCESS_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_SECRET_ALPHABET = _ACCESS_ALPHABET + "abcdefghijklmnopqrstuvwxyz"


class AdminError(Exception):
    """A refused change: the message is one line for the operator."""


@dataclass(frozen=True)
class User:
    """A user: its owner id (who owns its buckets) and its access keys."""

    name: str
    owner_id: str
    email: str | None
    disabled: bool
    created: float
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class AccessKey:
    """One access key of an enabled user, as authentication needs it."""

    access_key: str
    secret_key: str
    user: str
    owner_id: str
    email: str | None


def owner_id_of(name: str) -> str:
    """The owner id of user C{name}: stable, 64 hex digits."""
    return hashlib.sha256(f"txs3-user:{name}".encode()).hexdigest()


def harden(index_path: str) -> None:
    """Mode 0600 on the index and its WAL files: they hold secrets."""
    for suffix in ("", "-wal", "-shm"):
        try:
            os.chmod(index_path + suffix, 0o600)
        except FileNotFoundError:
            pass


def open_index(data_dir: str) -> sqlite3.Connection:
    """
    A connection to the data directory's index, created (with its whole
    schema) if there is none yet.

    @raise AdminError: if the directory or index cannot be opened.
    """
    if not os.path.isdir(data_dir):
        raise AdminError(f"{data_dir} is not a directory (give --data DIR)")
    path = os.path.join(data_dir, INDEX_NAME)
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA synchronous = FULL")
        init_schema(conn, path)
    except (sqlite3.Error, RuntimeError) as e:
        raise AdminError(f"cannot open the index {path}: {e}") from None
    harden(path)
    return conn


@contextmanager
def _change(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction that bumps C{users_serial}."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        if conn.execute("UPDATE users_serial SET serial = serial + 1").rowcount == 0:
            conn.execute("INSERT INTO users_serial (serial) VALUES (1)")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def serial(conn: sqlite3.Connection) -> int:
    """The users serial: it moves whenever a user or key changes."""
    row = conn.execute("SELECT max(serial) FROM users_serial").fetchone()
    return int(row[0] or 0)


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _new_key(conn: sqlite3.Connection, user: str, now: float) -> tuple[str, str]:
    access = "TX" + _random(_ACCESS_ALPHABET, 18)
    secret = _random(_SECRET_ALPHABET, 40)
    conn.execute(
        "INSERT INTO access_keys (access_key, secret_key, user_name, created)"
        " VALUES (?, ?, ?, ?)",
        (access, secret, user, now),
    )
    return access, secret


def _user_row(conn: sqlite3.Connection, name: str) -> tuple[str, str | None, int]:
    row = conn.execute(
        "SELECT owner_id, email, disabled FROM users WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        raise AdminError(f"no user named {name!r} (see: txs3-admin user list)")
    return row[0], row[1], row[2]


def add_user(
    conn: sqlite3.Connection, name: str, email: str | None = None
) -> AccessKey:
    """
    Add user C{name} with one new access key, and return the key (show
    its secret once).

    @raise AdminError: a bad name or address, or a name taken.
    """
    if not _NAME.fullmatch(name):
        raise AdminError(f"user name {name!r} must be 1-64 of A-Z a-z 0-9 . _ @ + -")
    if email is not None and not _EMAIL.fullmatch(email):
        raise AdminError(f"e-mail address {email!r} must look like name@host")
    owner = owner_id_of(name)
    with _change(conn):
        if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise AdminError(f"user {name!r} exists already")
        if (
            email is not None
            and conn.execute(
                "SELECT 1 FROM users WHERE lower(email) = lower(?)", (email,)
            ).fetchone()
        ):
            raise AdminError(f"another user has the address {email}")
        now = time.time()
        conn.execute(
            "INSERT INTO users (name, owner_id, email, disabled, created)"
            " VALUES (?, ?, ?, 0, ?)",
            (name, owner, email, now),
        )
        access, secret = _new_key(conn, name, now)
    return AccessKey(access, secret, name, owner, email)


def add_key(conn: sqlite3.Connection, name: str) -> AccessKey:
    """Give user C{name} another access key (for rotation); return it."""
    with _change(conn):
        owner, email, _ = _user_row(conn, name)
        access, secret = _new_key(conn, name, time.time())
    return AccessKey(access, secret, name, owner, email)


def remove_key(conn: sqlite3.Connection, access_key: str) -> str:
    """Remove one access key; return its user's name."""
    with _change(conn):
        row = conn.execute(
            "DELETE FROM access_keys WHERE access_key = ? RETURNING user_name",
            (access_key,),
        ).fetchone()
        if row is None:
            raise AdminError(f"no access key {access_key} in the index")
    return str(row[0])


def set_disabled(conn: sqlite3.Connection, name: str, disabled: bool) -> None:
    """Disable (its keys are refused) or enable user C{name}."""
    with _change(conn):
        _user_row(conn, name)
        conn.execute(
            "UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name)
        )


def owned_buckets(conn: sqlite3.Connection, owner_id: str) -> list[str]:
    """The buckets C{owner_id} owns, by name."""
    rows = conn.execute(
        "SELECT name FROM buckets WHERE owner_id = ? ORDER BY name", (owner_id,)
    ).fetchall()
    return [r[0] for r in rows]


def remove_user(conn: sqlite3.Connection, name: str, force: bool = False) -> list[str]:
    """
    Remove user C{name} and its keys; return the buckets it owned.

    @raise AdminError: while it owns buckets, unless C{force}: they then
        stay, with their data, owned by the user's owner id, which no key
        has any more (a user added again under the same name owns them
        again).
    """
    with _change(conn):
        owner, _, _ = _user_row(conn, name)
        buckets = owned_buckets(conn, owner)
        if buckets and not force:
            raise AdminError(
                f"user {name!r} owns {len(buckets)} bucket(s) ({', '.join(buckets[:5])}"
                f"{', ...' if len(buckets) > 5 else ''}): empty and delete them, or"
                " give --force to keep them without a user"
            )
        conn.execute("DELETE FROM access_keys WHERE user_name = ?", (name,))
        conn.execute("DELETE FROM users WHERE name = ?", (name,))
    return buckets


def list_users(conn: sqlite3.Connection) -> list[User]:
    """Every user, by name, with its access keys."""
    keys: dict[str, list[str]] = {}
    for access, user in conn.execute(
        "SELECT access_key, user_name FROM access_keys ORDER BY created, access_key"
    ):
        keys.setdefault(user, []).append(access)
    return [
        User(name, owner, email, bool(disabled), created, tuple(keys.get(name, ())))
        for name, owner, email, disabled, created in conn.execute(
            "SELECT name, owner_id, email, disabled, created FROM users ORDER BY name"
        )
    ]


def active_keys(conn: sqlite3.Connection) -> list[AccessKey]:
    """Every access key of an enabled user."""
    return [
        AccessKey(*row)
        for row in conn.execute(
            "SELECT k.access_key, k.secret_key, u.name, u.owner_id, u.email"
            " FROM access_keys AS k JOIN users AS u ON u.name = k.user_name"
            " WHERE u.disabled = 0"
        )
    ]


def reload_serial(conn: sqlite3.Connection) -> int:
    """The reload-request serial (L{request_reload})."""
    row = conn.execute("SELECT max(serial) FROM reload_requests").fetchone()
    return int(row[0] or 0)


def request_reload(conn: sqlite3.Connection) -> int:
    """
    Ask every server on this data directory to reload its certificates
    and keys (as SIGHUP does), within about a second; the new serial.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute("UPDATE reload_requests SET serial = serial + 1").rowcount == 0:
            conn.execute("INSERT INTO reload_requests (serial) VALUES (1)")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return reload_serial(conn)
