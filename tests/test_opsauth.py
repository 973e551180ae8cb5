"""
Who may read the metrics (L{txs3.opsauth}), the data directory's token
file, and the command-line options that choose them and the access log's
format.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from txs3 import tap
from txs3.opsauth import TOKEN_FILE, MetricsAccess, TokenError, data_dir_token

TOKEN = "0123456789abcdefXYZ"


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (None, 401),
        ("", 401),
        ("Bearer", 401),
        ("Bearer ", 401),
        (f"Basic {TOKEN}", 401),
        ("Bearer wrong", 403),
        (f"Bearer {TOKEN}x", 403),
        (f"Bearer {TOKEN}", None),
        (f"bearer  {TOKEN} ", None),
    ],
)
def test_token_rule(authorization: str | None, expected: int | None) -> None:
    """Only the bearer token opens the metrics: 401 without one, 403 for a wrong one."""
    assert MetricsAccess(TOKEN).refusal(authorization) == expected


def test_public_and_closed() -> None:
    """Public needs nothing; with neither token nor public every token is wrong."""
    assert MetricsAccess(public=True).refusal(None) is None
    assert MetricsAccess().refusal(f"Bearer {TOKEN}") == 403
    assert MetricsAccess().refusal(None) == 401


def test_token_file_created_once(tmp_path: Path) -> None:
    """The first start makes a private token file; later starts read the same token."""
    token, created = data_dir_token(tmp_path)
    assert created
    assert len(token) >= 32
    path = tmp_path / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == token + "\n"
    assert data_dir_token(tmp_path) == (token, False)
    assert not [p for p in tmp_path.iterdir() if p.name != TOKEN_FILE]


def test_token_file_written_by_the_operator(tmp_path: Path) -> None:
    """A token the operator wrote is used as is, surrounding white space dropped."""
    (tmp_path / TOKEN_FILE).write_text("  my-own-token \n")
    assert data_dir_token(tmp_path) == ("my-own-token", False)


@pytest.mark.parametrize("content", ["", "\n", "two words\n"])
def test_bad_token_file(tmp_path: Path, content: str) -> None:
    """An empty token file, or one with white space inside the token, is an error."""
    (tmp_path / TOKEN_FILE).write_text(content)
    with pytest.raises(TokenError, match="one token on one line"):
        data_dir_token(tmp_path)


def parse(*args: str) -> tap.Options:
    options = tap.Options()
    options.parseOptions(list(args))
    return options


def test_option_defaults() -> None:
    """By default: combined access log format, the metrics token from the data directory."""
    options = parse()
    assert options["access-log-format"] == "combined"
    assert options["metrics-token"] is None
    assert not options["metrics-public"]


def test_json_access_log_option() -> None:
    """--access-log-format json is taken with an access log."""
    options = parse("--access-log", "-", "--access-log-format", "json")
    assert options["access-log-format"] == "json"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--access-log", "-", "--access-log-format", "xml"], "combined or json"),
        (["--access-log-format", "json"], "needs --access-log"),
        (["--metrics-token", TOKEN, "--metrics-public"], "give one"),
        (["--metrics-token", "short"], "at least 16"),
        (["--metrics-token", "has a space in it!"], "without spaces"),
    ],
)
def test_bad_ops_options(args: list[str], fragment: str) -> None:
    """Contradictory or malformed access log and metrics options are one-line errors."""
    with pytest.raises(SystemExit) as raised:
        parse(*args)
    assert fragment in str(raised.value)
