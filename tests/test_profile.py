"""
The Cyberduck connection profile: the plist builder and the command line
(pure), the Host header parsing, and the download over real TLS without
credentials.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet.threads import deferToThread

from tests.functional import Server, server  # noqa: F401
from tests.s3client import exchange
from txs3.api.profile import host_and_port
from txs3.classify import classify
from txs3.errors import S3Error
from txs3.operation import validate_bucket_name
from txs3.profile import PROFILE_PATH, cyberduck_profile


def test_profile_contents() -> None:
    """The profile is an XML plist naming s3, txs3, the host, port, region, SigV4 and path-style properties."""
    data = cyberduck_profile("s3.example.net", 8443, "eu-west-3")
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist')
    p = plistlib.loads(data)
    assert p["Protocol"] == "s3" and p["Vendor"] == "txs3" and p["Scheme"] == "https"
    assert p["Default Hostname"] == "s3.example.net"
    assert p["Default Port"] == "8443"
    assert p["Hostname Configurable"] is True and p["Port Configurable"] is True
    assert p["Region"] == "eu-west-3" and p["Regions"] == ["eu-west-3"]
    assert p["Authorization"] == "AWS4HMACSHA256"
    assert "s3.bucket.virtualhost.disable=true" in p["Properties"]
    assert "s3service.disable-dns-buckets=true" in p["Properties"]
    assert "8443" in p["Description"]
    with pytest.raises(ValueError):
        cyberduck_profile("h", 0)


def test_profile_path_cannot_be_a_bucket() -> None:
    """The profile's path is classified before any bucket: its first segment is not a valid bucket name, and virtual-host requests keep it as a key."""
    with pytest.raises(S3Error):
        validate_bucket_name(PROFILE_PATH.split("/")[1])
    assert classify("GET", PROFILE_PATH, "", {}).operation.name == "GetConnectionProfile"
    vhost = classify(
        "GET", PROFILE_PATH, "", {"host": "b.s3.test"}, ("s3.test",)
    ).operation
    assert vhost.name == "GetObject" and vhost.key == PROFILE_PATH[1:]
    assert classify("PUT", PROFILE_PATH, "", {}).operation.name != "GetConnectionProfile"


def test_host_and_port() -> None:
    """The profile's host and port come from the Host header, defaulting to the scheme's port."""
    assert host_and_port("example.net", True, 9) == ("example.net", 443)
    assert host_and_port("example.net:8443", True, 9) == ("example.net", 8443)
    assert host_and_port("[::1]:8443", True, 9) == ("::1", 8443)
    assert host_and_port("[::1]", False, 9) == ("::1", 80)
    with pytest.raises(S3Error):
        host_and_port("example.net:99999", True, 9)
    with pytest.raises(S3Error):
        host_and_port("", True, 9)


def test_command_line() -> None:
    """python -m txs3.profile prints the same profile the server serves."""
    out = subprocess.run(
        [sys.executable, "-m", "txs3.profile", "--host", "nas.local", "--port", "9443"],
        capture_output=True,
        check=True,
    ).stdout
    assert out == cyberduck_profile("nas.local", 9443, "us-east-1")


@pytest_twisted.ensureDeferred
async def test_download_without_credentials(server: Server) -> None:
    """GET of the profile over HTTPS with no Authorization returns a plist for this host, port and path style, as an attachment."""
    raw = (
        f"GET {PROFILE_PATH} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.port}\r\n"
        "User-Agent: Mozilla/5.0\r\nConnection: close\r\n\r\n"
    ).encode()
    status, headers, body = await deferToThread(
        exchange, server.port, str(server.cert), raw
    )
    assert status == 200
    assert headers["content-type"] == "application/x-plist"
    assert (
        headers["content-disposition"] == 'attachment; filename="txs3.cyberduckprofile"'
    )
    assert "x-amz-request-id" in headers
    p = plistlib.loads(body)
    assert p["Default Hostname"] == "127.0.0.1"
    assert int(p["Default Port"]) == server.port
    assert p["Region"] == "us-east-1"
    assert "s3.bucket.virtualhost.disable=true" in p["Properties"]
    # Nothing else is anonymous.
    r = await server.client.request("GET", "/", signed=False)
    assert r.code == 403


def test_installed_command() -> None:
    """The installed txs3-profile script prints the same profile (checked where the project is installed, as in CI)."""
    script = Path(sys.executable).parent / "txs3-profile"
    if not script.exists():
        assert not os.environ.get("CI"), (
            "CI installs the project: txs3-profile must exist"
        )
        pytest.skip("project not installed in this environment")
    out = subprocess.run(
        [str(script), "--host", "nas.local"], capture_output=True, check=True
    ).stdout
    assert out == cyberduck_profile("nas.local", 443, "us-east-1")
