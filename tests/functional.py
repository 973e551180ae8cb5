"""
The functional-test servers, with clients signing with botocore (SigV4 for
two owners, and SigV2).

  - L{server}: the real txs3 site (gate, handlers, writer) over a
    L{MemoryStore}, reached in memory through L{tests.inmemory.SiteAgent}:
    no sockets, no TLS, no fsync.  Most handler tests use it.
  - L{tls_server}: the same site over real TLS on 127.0.0.1, backed by a
    real L{SQLiteStore} in a temporary directory.  For what only a real
    connection or the real store shows: raw byte replays, ports and
    certificates, durability.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_twisted
from botocore.config import Config
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.web.server import Site

from tests.inmemory import Reply, SiteAgent, exchange
from tests.s3client import (
    ACCESS_KEY,
    OTHER_ACCESS_KEY,
    OTHER_SECRET_KEY,
    SECRET_KEY,
    S3Client,
    boto3_client,
    make_test_certificate,
    server_tls_options,
)
from tests.s3client import (
    raw_exchange as tls_exchange,
)
from txs3.auth.directory import Directory
from txs3.auth.types import Secret
from txs3.server import build_site
from txs3.store.memory import MemoryStore
from txs3.store.sqlite import SQLiteStore

VHOST_DOMAIN = "s3.test"
CYBERDUCK_KEY = "hogehoge_user1"
CYBERDUCK_SECRET = "hogehoge_secret1"

SECRETS = {
    ACCESS_KEY: Secret(ACCESS_KEY, SECRET_KEY, "owner-one", "one"),
    CYBERDUCK_KEY: Secret(CYBERDUCK_KEY, CYBERDUCK_SECRET, "owner-duck", "duck"),
    OTHER_ACCESS_KEY: Secret(
        OTHER_ACCESS_KEY, OTHER_SECRET_KEY, "owner-two", "two", "two@example.com"
    ),
}


DIRECTORY = Directory.of(SECRETS.values())


class Server:
    """
    A running test server and clients for it.

    @ivar port: the TCP port (443, nominally, in memory).
    @ivar cert: the certificate clients trust; None in memory.
    """

    def __init__(
        self,
        site: Site,
        store: Any,
        port: int,
        cert: Path | None,
        client: S3Client,
        other: S3Client,
        v2: S3Client,
    ) -> None:
        self.site = site
        self.store = store
        self.port = port
        self.cert = cert
        self.client = client
        self.other = other
        self.v2 = v2

    def boto3(self, signature_version: str = "s3v4", **s3: Any) -> Any:
        """
        A boto3 S3 client for this (TLS) server, path style, one attempt
        per call; C{s3} adds to botocore's C{s3} configuration.
        """
        assert self.cert is not None, "boto3 needs the tls_server"
        config = Config(
            signature_version=signature_version,
            s3={"addressing_style": "path", **s3},
            retries={"max_attempts": 1},
        )
        return boto3_client(self.port, self.cert, ACCESS_KEY, SECRET_KEY, config)

    async def exchange(self, head: bytes, body: bytes, method: str) -> Reply:
        """
        Send one raw request (head and body bytes, exactly as given) on a
        new connection and read the response: in memory, or over TLS.
        """
        if self.cert is None:
            return await exchange(self.site, reactor, head, body, method)
        return await deferToThread(
            tls_exchange, self.port, str(self.cert), head, body, method
        )


def _clients(base: str, cert: Path | None, agent: Any = None) -> list[S3Client]:
    return [
        S3Client(reactor, base, cert, agent=agent),
        S3Client(reactor, base, cert, OTHER_ACCESS_KEY, OTHER_SECRET_KEY, agent=agent),
        S3Client(reactor, base, cert, signature="v2", agent=agent),
    ]


@pytest_twisted.async_yield_fixture
async def server() -> AsyncIterator[Server]:
    store = MemoryStore()
    site = build_site(
        store,
        SECRETS.get,
        reactor=reactor,
        domains=(VHOST_DOMAIN,),
        directory=DIRECTORY,
    )
    agent = SiteAgent(site, reactor)
    clients = _clients("https://127.0.0.1", None, agent)
    yield Server(site, store, 443, None, *clients)
    agent.close()


class RunningTLSServer:
    """
    Start and stop a real TLS server over a L{SQLiteStore} in any data
    directory (L{tls_server} uses one in C{tmp_path}; the disk-full test
    one on a filesystem of its own, and restarts it).
    """

    def __init__(self, certs: Path, data: Path, **store_options: Any) -> None:
        self._cert, self._key = make_test_certificate(certs)
        self._data = data
        self._options = store_options
        self._stop: list[Any] = []

    async def start(self) -> Server:
        store = SQLiteStore.open(str(self._data), reactor, **self._options)
        site = build_site(
            store,
            SECRETS.get,
            reactor=reactor,
            domains=(VHOST_DOMAIN,),
            directory=DIRECTORY,
        )
        port = reactor.listenSSL(
            0, site, server_tls_options(self._cert, self._key), interface="127.0.0.1"
        )
        base = f"https://127.0.0.1:{port.getHost().port}"
        clients = _clients(base, self._cert)
        self._stop = [*(c.close for c in clients), port.stopListening, store.close]
        return Server(site, store, port.getHost().port, self._cert, *clients)

    async def stop(self) -> None:
        """Close the clients, stop listening, close the store."""
        stop, self._stop = self._stop, []
        for step in stop:
            await step()


@pytest_twisted.async_yield_fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[Server]:
    running = RunningTLSServer(tmp_path, tmp_path / "data")
    yield await running.start()
    await running.stop()
