"""
Credentials: access key -> L{Secret}.

Where they come from, first match wins (L{load_credentials}):

  1. C{--credentials FILE}: any number of keys, in the format below;
  2. the environment variables C{TXS3_ACCESS_KEY} and C{TXS3_SECRET_KEY}:
     one key (both must be set, or neither);
  3. C{<data>/credentials}, same format.  If it does not exist, it is created
     with one random key pair (a 20-character access key of C{A-Z0-9}, a
     40-character secret of C{A-Za-z0-9}), mode 0600, and the caller is told
     so that it can show the pair once.

The file format, one key per line::

    # comment lines and blank lines are ignored
    ACCESS_KEY SECRET_KEY [DISPLAY_NAME [OWNER_ID [EMAIL]]]

Fields are separated by spaces or tabs.  C{ACCESS_KEY} is 1 to 128 of
C{A-Z a-z 0-9 . _ ~ + @ -} (no C{:}, C{/}, C{,} or C{=}: the signature
headers use them as separators); C{SECRET_KEY} is any run of printable ASCII
without spaces.  C{DISPLAY_NAME} (default: the access key) is what
C{ListBuckets} and C{ListObjects} show as the owner's name.  C{OWNER_ID} is
the canonical user id that owns buckets; by default it is derived from the
access key (hex SHA-256 of C{"txs3-owner:" + ACCESS_KEY}), so it is stable
across restarts and machines.  Give two keys the same C{OWNER_ID} to let them
share buckets.  C{EMAIL} is the owner's e-mail address, for ACL grants by
e-mail (C{emailAddress="..."}); it needs the two fields before it.

A line that does not parse makes the whole file invalid
(L{CredentialsError}, naming the file and line): a server that silently
dropped a key would answer that user with C{InvalidAccessKeyId} and no clue.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from txs3.auth.types import Secret

ACCESS_ENV = "TXS3_ACCESS_KEY"
SECRET_ENV = "TXS3_SECRET_KEY"  # noqa: S105 (a variable name, not a secret)
DATA_FILE_NAME = "credentials"

_ACCESS_KEY = re.compile(r"[A-Za-z0-9._~+@-]{1,128}")
_SECRET_KEY = re.compile(r"[\x21-\x7e]{1,256}")
_DISPLAY_NAME = re.compile(r"[\x21-\x7e]{1,256}")
_OWNER_ID = re.compile(r"[A-Za-z0-9._~+@-]{1,128}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")

_ACCESS_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits


class CredentialsError(Exception):
    """
    Credentials cannot be loaded.  The message is one line for the operator
    and names the file (and line) or variable at fault.
    """


def owner_id_for(access_key: str) -> str:
    """The default owner id of C{access_key}: stable, 64 hex digits."""
    return hashlib.sha256(f"txs3-owner:{access_key}".encode()).hexdigest()


def make_secret(
    access_key: str,
    secret_key: str,
    display_name: str | None = None,
    owner_id: str | None = None,
    email: str | None = None,
) -> Secret:
    """
    A L{Secret} with the defaults of the file format applied: the display
    name defaults to the access key, the owner id to L{owner_id_for}.

    @raise ValueError: if a field breaks the format's rules.
    """
    if not _ACCESS_KEY.fullmatch(access_key):
        raise ValueError(
            f"access key {access_key!r} must be 1-128 of A-Z a-z 0-9 . _ ~ + @ -"
        )
    if not _SECRET_KEY.fullmatch(secret_key):
        raise ValueError(
            "secret key must be 1-256 printable ASCII characters, no spaces"
        )
    if display_name is not None and not _DISPLAY_NAME.fullmatch(display_name):
        raise ValueError(f"display name {display_name!r} must be printable ASCII")
    if owner_id is not None and not _OWNER_ID.fullmatch(owner_id):
        raise ValueError(
            f"owner id {owner_id!r} must be 1-128 of A-Z a-z 0-9 . _ ~ + @ -"
        )
    if email is not None and not _EMAIL.fullmatch(email):
        raise ValueError(f"e-mail address {email!r} must look like name@host")
    return Secret(
        email=email,
        access_key=access_key,
        secret_key=secret_key,
        owner_id=owner_id if owner_id is not None else owner_id_for(access_key),
        display_name=display_name if display_name is not None else access_key,
    )


def parse_credentials(text: str, source: str) -> dict[str, Secret]:
    """
    Parse the credentials file format (see the module docstring).

    @param source: how to name the file in errors, usually its path.
    @return: access key -> L{Secret}, in file order.
    @raise CredentialsError: C{"SOURCE:LINE: what is wrong"} for the first
        bad line, including a repeated access key.
    """
    found: dict[str, Secret] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if not 2 <= len(fields) <= 5:
            raise CredentialsError(
                f"{source}:{number}: expected ACCESS_KEY SECRET_KEY "
                f"[DISPLAY_NAME [OWNER_ID [EMAIL]]], found {len(fields)} field(s)"
            )
        try:
            secret = make_secret(*fields)
        except ValueError as e:
            raise CredentialsError(f"{source}:{number}: {e}") from None
        if secret.access_key in found:
            raise CredentialsError(
                f"{source}:{number}: access key {secret.access_key} is listed twice"
            )
        found[secret.access_key] = secret
    return found


def format_credentials(secrets_: Iterable[Secret]) -> str:
    """The file format for C{secrets_}, readable by L{parse_credentials}."""
    lines = [
        "# txs3 credentials: ACCESS_KEY SECRET_KEY [DISPLAY_NAME [OWNER_ID [EMAIL]]]"
    ]
    for s in secrets_:
        fields = [s.access_key, s.secret_key]
        own_id = s.owner_id != owner_id_for(s.access_key) or s.email is not None
        if s.display_name != s.access_key or own_id:
            fields.append(s.display_name)
        if own_id:
            fields.append(s.owner_id)
        if s.email is not None:
            fields.append(s.email)
        lines.append(" ".join(fields))
    return "\n".join(lines) + "\n"


def generate_secret() -> Secret:
    """A random key pair: 20-char C{A-Z0-9} access key, 40-char secret."""
    access = "".join(secrets.choice(_ACCESS_ALPHABET) for _ in range(20))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return make_secret(access, secret)


@dataclass(frozen=True)
class Credentials:
    """
    The loaded credentials.

    @ivar secrets: access key -> L{Secret}.
    @ivar source: where they came from, for the log: a path or
        C{"environment"}.
    @ivar created: the key pair just generated into C{<data>/credentials}, or
        None when nothing was created.  Show it once.
    """

    secrets: Mapping[str, Secret]
    source: str
    created: Secret | None = None

    def lookup(self, access_key: str) -> Secret | None:
        """The L{Secret} for C{access_key}, or None if it is unknown."""
        return self.secrets.get(access_key)


def read_credentials_file(path: Path) -> dict[str, Secret]:
    """
    Read and parse the credentials file at C{path}.

    @raise CredentialsError: if it cannot be read, has a bad line, or holds
        no key at all.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise CredentialsError(
            f"cannot read credentials file {path}: {reason}"
        ) from None
    found = parse_credentials(text, str(path))
    if not found:
        raise CredentialsError(f"{path}: no credentials in this file")
    return found


def _create_data_file(path: Path) -> Secret | None:
    """
    Create C{path} holding one generated key pair, unless it exists.

    The content is written to a private temporary file and then hard-linked
    into place: the link fails if C{path} appeared meanwhile (another txs3
    process sharing the data directory won the race), and no process can
    ever read a half-written file.

    @return: the new L{Secret}, or None if C{path} already existed.
    """
    secret = generate_secret()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(format_credentials([secret]))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)  # O_CREAT's mode is filtered by the umask
        try:
            os.link(tmp, path)
        except FileExistsError:
            return None
    finally:
        tmp.unlink(missing_ok=True)
    return secret


def load_credentials(
    credentials_file: Path | None,
    environ: Mapping[str, str],
    data_dir: Path,
) -> Credentials:
    """
    Load credentials from the first source that is configured: the file
    given, else C{TXS3_ACCESS_KEY}/C{TXS3_SECRET_KEY} in C{environ}, else
    C{data_dir/credentials}, which is created (with a random key pair) if it
    does not exist.  C{data_dir} must exist.

    @raise CredentialsError: for an unreadable or invalid file, only one of
        the two environment variables, or an invalid value in them.
    """
    if credentials_file is not None:
        return Credentials(
            read_credentials_file(credentials_file), str(credentials_file)
        )
    access, secret = environ.get(ACCESS_ENV), environ.get(SECRET_ENV)
    if access or secret:
        if not (access and secret):
            have, lack = (
                (ACCESS_ENV, SECRET_ENV) if access else (SECRET_ENV, ACCESS_ENV)
            )
            raise CredentialsError(
                f"{have} is set but {lack} is not: set both, or neither"
            )
        try:
            one = make_secret(access, secret)
        except ValueError as e:
            raise CredentialsError(f"{ACCESS_ENV}/{SECRET_ENV}: {e}") from None
        return Credentials({one.access_key: one}, "environment")
    path = data_dir / DATA_FILE_NAME
    created: Secret | None = None
    if not path.exists():
        try:
            created = _create_data_file(path)
        except OSError as e:
            raise CredentialsError(
                f"cannot create credentials file {path}: {e.strerror}"
            ) from None
    return Credentials(read_credentials_file(path), str(path), created)
