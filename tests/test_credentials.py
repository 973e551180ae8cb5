"""
Tests for L{txs3.auth.credentials}: the file format, the order of sources,
and the credentials file created on first start.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from txs3.auth.credentials import (
    CredentialsError,
    format_credentials,
    generate_secret,
    load_credentials,
    make_secret,
    owner_id_for,
    parse_credentials,
)
from txs3.auth.types import Secret


def test_parse_fields_and_defaults() -> None:
    """Each line gives a Secret; display name and owner id default sensibly."""
    text = (
        "# a comment\n"
        "\n"
        "AKONE secret/one+x=\n"
        "  AKTWO\tsecret2   Alice  \n"
        "AKTHREE s3 Bob shared-owner\n"
        "   # an indented comment\n"
    )
    found = parse_credentials(text, "creds")
    assert list(found) == ["AKONE", "AKTWO", "AKTHREE"]
    assert found["AKONE"] == Secret(
        "AKONE", "secret/one+x=", owner_id_for("AKONE"), "AKONE"
    )
    assert found["AKTWO"] == Secret("AKTWO", "secret2", owner_id_for("AKTWO"), "Alice")
    assert found["AKTHREE"] == Secret("AKTHREE", "s3", "shared-owner", "Bob")


def test_owner_id_is_stable_and_distinct() -> None:
    """The derived owner id depends only on the access key: 64 hex digits."""
    assert owner_id_for("AK") == owner_id_for("AK")
    assert owner_id_for("AK") != owner_id_for("AK2")
    assert re.fullmatch(r"[0-9a-f]{64}", owner_id_for("AK"))


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("AK\n", 1, "found 1 field"),
        ("# ok\nAK S N O a@b extra\n", 2, "found 6 field"),
        ("AK S N O not-an-address\n", 1, "e-mail address"),
        ("AK:colon secret\n", 1, "access key"),
        ("AK/slash secret\n", 1, "access key"),
        ("AK secret\nAK other\n", 2, "listed twice"),
        ("AK s\xe9cret\n", 1, "secret key"),
        ("AK secret name bad/owner\n", 1, "owner id"),
    ],
)
def test_bad_line_names_file_and_line(text: str, line: int, fragment: str) -> None:
    """An unparseable line is one error naming the file and the line number."""
    with pytest.raises(CredentialsError) as e:
        parse_credentials(text, "/etc/txs3/creds")
    message = str(e.value)
    assert message.startswith(f"/etc/txs3/creds:{line}: ")
    assert fragment in message
    assert "\n" not in message


def test_format_round_trips() -> None:
    """L{format_credentials} writes what L{parse_credentials} reads back."""
    secrets = [
        make_secret("AKA", "sa"),
        make_secret("AKB", "sb", "Bea"),
        make_secret("AKC", "sc", "Cid", "owner-c"),
        make_secret("AKD", "sd", email="dee@example.com"),
        make_secret("AKE", "se", "Eve", "owner-e", "eve@example.com"),
    ]
    parsed = parse_credentials(format_credentials(secrets), "x")
    assert list(parsed.values()) == secrets


def test_generated_secret_shape() -> None:
    """Generated keys are 20 chars of A-Z0-9 and 40 alphanumerics, and differ."""
    one, two = generate_secret(), generate_secret()
    assert re.fullmatch(r"[A-Z0-9]{20}", one.access_key)
    assert re.fullmatch(r"[A-Za-z0-9]{40}", one.secret_key)
    assert one.access_key != two.access_key
    assert one.secret_key != two.secret_key


def test_file_comes_first(tmp_path: Path) -> None:
    """A credentials file wins over the environment and the data directory."""
    creds = tmp_path / "creds"
    creds.write_text("FILEKEY filesecret\n")
    env = {"TXS3_ACCESS_KEY": "ENVKEY", "TXS3_SECRET_KEY": "envsecret"}
    loaded = load_credentials(creds, env, tmp_path)
    assert set(loaded.secrets) == {"FILEKEY"}
    assert loaded.source == str(creds)
    assert loaded.created is None
    assert not (tmp_path / "credentials").exists()


def test_environment_second(tmp_path: Path) -> None:
    """Without a file, TXS3_ACCESS_KEY and TXS3_SECRET_KEY give one key."""
    env = {"TXS3_ACCESS_KEY": "ENVKEY", "TXS3_SECRET_KEY": "envsecret"}
    loaded = load_credentials(None, env, tmp_path)
    assert loaded.lookup("ENVKEY") == make_secret("ENVKEY", "envsecret")
    assert loaded.source == "environment"
    assert not (tmp_path / "credentials").exists()


@pytest.mark.parametrize("name", ["TXS3_ACCESS_KEY", "TXS3_SECRET_KEY"])
def test_environment_half_set(tmp_path: Path, name: str) -> None:
    """Setting only one of the two variables is an error naming both."""
    with pytest.raises(CredentialsError, match="TXS3_ACCESS_KEY|TXS3_SECRET_KEY"):
        load_credentials(None, {name: "x"}, tmp_path)


def test_data_file_created_once(tmp_path: Path) -> None:
    """With no other source, DATA/credentials is created (0600) and reported once."""
    first = load_credentials(None, {}, tmp_path)
    path = tmp_path / "credentials"
    assert first.created is not None
    assert first.source == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.lookup(first.created.access_key) == first.created
    second = load_credentials(None, {}, tmp_path)
    assert second.created is None
    assert second.secrets == first.secrets
    assert [p.name for p in tmp_path.iterdir()] == ["credentials"]


def test_data_file_used_when_present(tmp_path: Path) -> None:
    """An existing DATA/credentials is read, not replaced."""
    (tmp_path / "credentials").write_text("MINE mysecret Me\n")
    loaded = load_credentials(None, {}, tmp_path)
    assert loaded.created is None
    assert loaded.lookup("MINE") == make_secret("MINE", "mysecret", "Me")


def test_lookup_unknown_is_none(tmp_path: Path) -> None:
    """Looking up an access key that is not configured gives None."""
    loaded = load_credentials(None, {}, tmp_path)
    assert loaded.lookup("NOSUCHKEY") is None
    assert loaded.lookup("") is None


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    """A credentials file with no key in it is refused, naming the file."""
    creds = tmp_path / "creds"
    creds.write_text("# nothing here\n\n")
    with pytest.raises(CredentialsError, match=re.escape(str(creds))):
        load_credentials(creds, {}, tmp_path)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    """A credentials file that does not exist is one error naming it."""
    creds = tmp_path / "nope"
    with pytest.raises(CredentialsError, match="cannot read credentials file .*nope"):
        load_credentials(creds, {}, tmp_path)
