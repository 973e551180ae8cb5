"""
The JSON access log (L{txs3.accesslog}), written by the real site in
memory: to a file, and to the process log through C{twisted.logger}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from twisted.internet import reactor
from twisted.logger import globalLogPublisher

from tests.functional import SECRETS, VHOST_DOMAIN
from tests.inmemory import SiteAgent, exchange
from tests.s3client import ACCESS_KEY, SECRET_KEY, S3Client
from txs3.accesslog import NAMESPACE, fields
from txs3.ops import LIVE_PATH
from txs3.record import RequestRecord
from txs3.server import S3Site, build_site
from txs3.store.memory import MemoryStore

KEYS = [
    "time", "request_id", "remote", "access_key", "method", "operation",
    "bucket", "key", "status", "bytes_in", "bytes_out", "duration",
]  # fmt: skip


def json_site(destination: str) -> S3Site:
    site = build_site(
        MemoryStore(),
        SECRETS.get,
        reactor=reactor,
        domains=(VHOST_DOMAIN,),
        access_log=destination,
        access_log_format="json",
    )
    site.doStart()
    return site


def presigned_target(path: str) -> tuple[str, str]:
    """A SigV4 presigned GET of C{path}: its request target, and its signature."""
    request = AWSRequest(method="GET", url=f"https://127.0.0.1{path}")
    auth = S3SigV4QueryAuth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1")
    auth.add_auth(request)
    url = request.url
    assert url is not None
    target = url.split("127.0.0.1", 1)[1]
    signature = target.rsplit("X-Amz-Signature=", 1)[1].split("&")[0]
    return target, signature


async def raw(site: S3Site, head: str, body: bytes = b"") -> int:
    data = head.replace("\n", "\r\n").encode() + b"\r\n"
    status, _, _ = await exchange(site, reactor, data, body, head.split()[0])
    return status


@pytest_twisted.ensureDeferred
async def test_json_lines_in_a_file(tmp_path: Path) -> None:
    """Each request is one JSON object on one line in the file, with its facts and without any secret."""
    path = tmp_path / "access.log"
    site = json_site(str(path))
    agent = SiteAgent(site, reactor)
    client = S3Client(reactor, "https://127.0.0.1", None, agent=agent)
    try:
        assert (await client.request("PUT", "/bucket")).code == 200
        assert (await client.request("PUT", "/bucket/a%20key", body=b"12345")).code == 200
        target, signature = presigned_target("/bucket/a%20key")
        status = await raw(site, f"GET {target} HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n")
        assert status == 200
        # Refused before its body by the channel, claiming a key.
        refused = (
            "PUT /bucket/b HTTP/1.1\nHost: 127.0.0.1\nContent-Length: 3\n"
            "Expect: 100-continue\nAuthorization: AWS4-HMAC-SHA256 "
            "Credential=NOSUCHKEY/20250101/us-east-1/s3/aws4_request, "
            "SignedHeaders=host, Signature=abcdef\n"
        )
        assert await raw(site, refused, b"abc") == 403
        assert await raw(site, f"GET {LIVE_PATH} HTTP/1.1\nHost: 127.0.0.1\n") == 200
    finally:
        agent.close()
        site.doStop()
    text = path.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [list(line) for line in lines] == [KEYS] * 5
    create, put, get, refusal, live = lines
    assert create["operation"] == "CreateBucket" and create["bucket"] == "bucket"
    assert create["key"] is None
    assert put["operation"] == "PutObject"
    assert (put["key"], put["status"], put["bytes_in"]) == ("a key", 200, 5)
    assert put["access_key"] == ACCESS_KEY
    assert put["remote"] == "127.0.0.1"
    assert put["method"] == "PUT"
    assert put["duration"] >= 0
    assert put["time"].endswith("Z")
    assert len(put["request_id"]) == 16
    assert (get["operation"], get["bytes_out"], get["access_key"]) == (
        "GetObject", 5, ACCESS_KEY,
    )  # fmt: skip
    assert (refusal["operation"], refusal["status"]) == ("PutObject", 403)
    assert refusal["access_key"] == "NOSUCHKEY"
    assert refusal["bytes_out"] > 0
    assert (live["operation"], live["status"]) == ("HealthLive", 200)
    assert len({line["request_id"] for line in lines}) == 5
    for secret in (SECRET_KEY, signature, "X-Amz-Signature", "abcdef"):
        assert secret not in text


@pytest_twisted.ensureDeferred
async def test_json_to_the_process_log() -> None:
    """With '-' the objects are events of the process log, namespace txs3.access."""
    events: list[dict[str, Any]] = []

    def observer(event: dict[str, Any]) -> None:
        if event.get("log_namespace") == NAMESPACE:
            events.append(event)

    globalLogPublisher.addObserver(observer)
    site = json_site("-")
    try:
        assert await raw(site, "GET /nobucket HTTP/1.1\nHost: 127.0.0.1\n") == 403
    finally:
        site.doStop()
        globalLogPublisher.removeObserver(observer)
    [event] = events
    assert json.loads(event["access_json"]) == event["access"]
    assert event["access"]["operation"] == "ListObjects"
    assert event["access"]["status"] == 403


def test_fields_of_a_record() -> None:
    """A record's object has the fixed keys, its time in UTC ISO 8601."""
    record = RequestRecord(
        "GetObject", "GET", "b", "k\n", 200, 0, 10, 0.0012345, "ID", "AK", "::1",
        0.5,
    )  # fmt: skip
    got = fields(record)
    assert list(got) == KEYS
    assert got["time"] == "1970-01-01T00:00:00.500Z"
    assert got["duration"] == 0.001234 or got["duration"] == 0.001235
    assert "\n" not in json.dumps(got)


def test_unknown_format_refused() -> None:
    """The site refuses an access log format it does not know."""
    with pytest.raises(ValueError, match="xml"):
        build_site(
            MemoryStore(), SECRETS.get, reactor=reactor, access_log="-",
            access_log_format="xml",
        )  # fmt: skip
