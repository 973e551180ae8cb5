"""
Server CPU per small GET, in process: no TLS, no sockets, no load generator.

The real txs3 Site (SQLiteStore in a temporary directory) is fed one signed
4 KiB GET after another over a StringTransport, and the time per request is
printed (best of 5 rounds).  Steadier than the wrk figures on a shared VM,
and with ``--profile`` it prints where the time goes (cProfile).

    /work/venv/bin/python bench/inprocess_get.py [--requests 2000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import shutil
import tempfile
import time
from typing import Any

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from twisted.internet import defer, reactor
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from txs3.auth.types import Secret
from txs3.server import build_site
from txs3.store.interface import Destination, ObjectMeta
from txs3.store.sqlite import SQLiteStore

ACCESS, SECRET = "BENCHKEY", "bench-secret"
BODY = b"x" * 4096


def signed_get(path: str) -> bytes:
    """The raw bytes of a SigV4-signed GET of C{path}."""
    request = AWSRequest(
        method="GET",
        url=f"https://bench.test{path}",
        headers={"X-Amz-Content-SHA256": hashlib.sha256(b"").hexdigest()},
    )
    S3SigV4Auth(Credentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(request)
    lines = [f"GET {path} HTTP/1.1", "Host: bench.test", "User-Agent: bench"]
    lines += [f"{k}: {v}" for k, v in request.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def per_request(site: Any, raw: bytes, n: int, rounds: int = 5) -> float:
    """Best seconds per request over C{rounds} rounds of C{n} requests."""
    proto = site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
    transport = StringTransport()
    proto.makeConnection(transport)
    proto.dataReceived(raw)
    if b" 200 " not in transport.value()[:20]:
        raise SystemExit(f"GET did not answer 200: {transport.value()[:300]!r}")
    transport.clear()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            proto.dataReceived(raw)
            transport.clear()
        best = min(best, (time.perf_counter() - start) / n)
    return best


@defer.inlineCallbacks
def main(args: argparse.Namespace) -> Any:
    directory = tempfile.mkdtemp(prefix="txs3-bench-")
    try:
        store = SQLiteStore(directory, reactor)
        site = build_site(
            store, {ACCESS: Secret(ACCESS, SECRET, "o", "o")}.get, reactor=reactor
        )
        yield store.create_bucket("bench", "o", "us-east-1")
        staging = store.open_staging()
        staging.write(BODY)
        yield store.put_object(
            Destination("bench", "get4k", "o"),
            staging,
            hashlib.md5(BODY).hexdigest(),
            ObjectMeta(),
        )
        raw = signed_get("/bench/get4k")
        seconds = per_request(site, raw, args.requests)
        print(f"4 KiB GET, in process (no TLS): {seconds * 1e6:.0f} us per request")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            per_request(site, raw, args.requests, rounds=1)
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        yield store.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        reactor.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    arguments = parser.parse_args()
    reactor.callWhenRunning(main, arguments)
    reactor.run()
