"""
The functional-test server: the real txs3 site over real TLS on 127.0.0.1,
backed by a real SQLiteStore in a temporary directory, with clients signing
with botocore (SigV4 for two owners, and SigV2).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_twisted
from twisted.internet import reactor

from tests.s3client import (
    ACCESS_KEY,
    OTHER_ACCESS_KEY,
    OTHER_SECRET_KEY,
    SECRET_KEY,
    S3Client,
    make_test_certificate,
    server_tls_options,
)
from txs3.auth.types import Secret
from txs3.server import build_site
from txs3.store.sqlite import SQLiteStore

VHOST_DOMAIN = "s3.test"
CYBERDUCK_KEY = "hogehoge_user1"
CYBERDUCK_SECRET = "hogehoge_secret1"

SECRETS = {
    ACCESS_KEY: Secret(ACCESS_KEY, SECRET_KEY, "owner-one", "one"),
    CYBERDUCK_KEY: Secret(CYBERDUCK_KEY, CYBERDUCK_SECRET, "owner-duck", "duck"),
    OTHER_ACCESS_KEY: Secret(OTHER_ACCESS_KEY, OTHER_SECRET_KEY, "owner-two", "two"),
}


class Server:
    """A running test server and clients for it."""

    def __init__(
        self,
        store: SQLiteStore,
        port: int,
        cert: Path,
        client: S3Client,
        other: S3Client,
        v2: S3Client,
    ) -> None:
        self.store = store
        self.port = port
        self.cert = cert
        self.client = client
        self.other = other
        self.v2 = v2


@pytest_twisted.async_yield_fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    cert, key = make_test_certificate(tmp_path)
    store = SQLiteStore.open(str(tmp_path / "data"), reactor)
    site = build_site(store, SECRETS.get, reactor=reactor, domains=(VHOST_DOMAIN,))
    port = reactor.listenSSL(
        0, site, server_tls_options(cert, key), interface="127.0.0.1"
    )
    base = f"https://127.0.0.1:{port.getHost().port}"
    clients = [
        S3Client(reactor, base, cert),
        S3Client(reactor, base, cert, OTHER_ACCESS_KEY, OTHER_SECRET_KEY),
        S3Client(reactor, base, cert, signature="v2"),
    ]
    yield Server(store, port.getHost().port, cert, *clients)
    for c in clients:
        await c.close()
    await port.stopListening()
    await store.close()
