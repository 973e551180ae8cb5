"""
C{txs3-admin}: users and keys in the index, the live key map a server
keeps from them (L{txs3.keysource}), and a running C{twistd txs3} that
accepts a user's key within seconds of C{txs3-admin user add}, without a
restart, and refuses it once the user is disabled.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import TestCA, free_port
from tests.s3client import boto3_client
from txs3.admin.cli import main
from txs3.auth.types import Secret
from txs3.keysource import KeySource
from txs3.store.sqlite import users


def admin(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> Any:
    """Run txs3-admin --json; return its parsed output (exit status 0)."""
    assert main(["--data", str(data), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def refused(capsys: pytest.CaptureFixture[str], data: Path, *args: str) -> str:
    """Run txs3-admin expecting failure; return its one error line."""
    assert main(["--data", str(data), *args]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("txs3-admin: ")
    return err


def test_users_and_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Add, list, disable, enable, rotate keys and remove users; bad input is one line and changes nothing."""
    alice = admin(capsys, tmp_path, "user", "add", "alice", "--email", "a@example.com")
    assert alice["user"] == "alice" and len(alice["secret_key"]) == 40
    index = tmp_path / "index.sqlite3"
    assert stat.S_IMODE(index.stat().st_mode) == 0o600
    assert "exists already" in refused(capsys, tmp_path, "user", "add", "alice")
    assert "must be" in refused(capsys, tmp_path, "user", "add", "bad name!")
    second = admin(capsys, tmp_path, "key", "add", "alice")
    listed = admin(capsys, tmp_path, "user", "list")
    assert [(u["name"], u["status"], u["keys"]) for u in listed] == [
        ("alice", "enabled", f"{alice['access_key']},{second['access_key']}")
    ]
    admin(capsys, tmp_path, "user", "disable", "alice")
    assert admin(capsys, tmp_path, "user", "list")[0]["status"] == "disabled"
    admin(capsys, tmp_path, "user", "enable", "alice")
    admin(capsys, tmp_path, "key", "remove", alice["access_key"])
    assert "no access key" in refused(capsys, tmp_path, "key", "remove", "NOPE")
    assert "no user named" in refused(capsys, tmp_path, "key", "add", "bob")
    conn = users.open_index(str(tmp_path))
    with conn:
        conn.execute(
            "INSERT INTO buckets (name, owner_id, created, region) VALUES (?, ?, 1, 'x')",
            ("photos", alice["owner_id"]),
        )
    conn.close()
    assert "owns 1 bucket(s) (photos)" in refused(capsys, tmp_path, "user", "remove", "alice")
    gone = admin(capsys, tmp_path, "user", "remove", "alice", "--force")
    assert gone["orphaned_buckets"] == ["photos"]
    buckets = admin(capsys, tmp_path, "bucket", "list")
    assert [(b["bucket"], b["objects"]) for b in buckets] == [("photos", 0)]
    assert "not a directory" in refused(capsys, tmp_path / "missing", "user", "list")


def test_key_source(tmp_path: Path) -> None:
    """The configured keys win, the index's follow changes on poll, disabled users are refused, a bad file keeps the old keys."""
    creds = tmp_path / "credentials"
    creds.write_text("FILEKEY filesecret file-owner\n")
    conn = users.open_index(str(tmp_path))
    configured = {"FILEKEY": Secret("FILEKEY", "filesecret", "owner", "file")}
    keys = KeySource(configured, creds, str(tmp_path / "index.sqlite3"))
    try:
        assert keys.lookup("FILEKEY") is not None
        bob = users.add_user(conn, "bob", "bob@example.com")
        assert keys.lookup(bob.access_key) is None
        keys.poll()
        found = keys.lookup(bob.access_key)
        assert found is not None and found.owner_id == bob.owner_id
        assert keys.directory.owner_of_email("BOB@example.com") == bob.owner_id
        users.set_disabled(conn, "bob", True)
        keys.poll()
        assert keys.lookup(bob.access_key) is None
        creds.write_text("OTHERKEY othersecret\n")
        os.utime(creds, (time.time() + 5, time.time() + 5))
        keys.poll()
        assert keys.lookup("FILEKEY") is None and keys.lookup("OTHERKEY") is not None
        creds.write_text("a line that is not a key\n")
        keys.reload()
        assert keys.lookup("OTHERKEY") is not None
    finally:
        keys.close()
        conn.close()


def test_running_server_sees_new_users(
    tmp_path: Path,
    test_ca: TestCA,
    start_txs3: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A user added with txs3-admin while twistd txs3 runs can sign requests within seconds; disabled, it is refused."""
    port = free_port()
    creds = tmp_path / "credentials"
    creds.write_text("ADMINTESTKEY0000001 admin-secret-000000000000000000000001\n")
    data = tmp_path / "data"
    args = [
        "--data", str(data), "--credentials", str(creds), "--port",
        f"ssl:{port}:interface=127.0.0.1:privateKey={test_ca.key_file}"
        f":certKey={test_ca.cert_file}",
    ]  # fmt: skip
    server = start_txs3(args, cwd=tmp_path)
    try:
        server.wait_for_tls(port, test_ca.ca_file)
        carol = admin(capsys, data, "user", "add", "carol")
        s3 = boto3_client(
            port, test_ca.ca_file, carol["access_key"], carol["secret_key"], None
        )

        def answer() -> str:
            try:
                s3.list_buckets()
            except ClientError as e:
                return str(e.response["Error"]["Code"])
            return "ok"

        deadline = time.monotonic() + 15
        while answer() != "ok":
            assert time.monotonic() < deadline, "the server never accepted the new key"
            time.sleep(0.2)
        s3.create_bucket(Bucket="carols")
        admin(capsys, data, "user", "disable", "carol")
        deadline = time.monotonic() + 15
        while answer() != "InvalidAccessKeyId":
            assert time.monotonic() < deadline, "the disabled key still works"
            time.sleep(0.2)
        buckets = admin(capsys, data, "bucket", "list")
        assert [(b["bucket"], b["owner"]) for b in buckets] == [("carols", "carol")]
    finally:
        server.stop()
