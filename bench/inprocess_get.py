"""
Server CPU per small GET, in process: no TLS, no sockets, no load generator.

The real txs3 Site (SQLiteStore in a temporary directory) is fed one signed
4 KiB GET after another over a StringTransport, and the time per request is
printed (best of 5 rounds).  Steadier than the wrk figures on a shared VM,
and with ``--profile`` it prints where the time goes (cProfile).

Authorization's share is measured in the same run, as ratios against a
gate whose decision only checks that the caller owns the bucket (what
txs3 did before bucket policies and ACLs):

  - the owner's GET on a bucket without a policy or extra ACLs;
  - another user's GET, allowed by the last of a 20-statement policy
    (bench/authz.py's, so every statement naming s3:GetObject is read);
  - the owner's GET of a key with 10 versions on a versioned bucket.

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

from authz import OTHER, plain_policy  # bench/authz.py
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from twisted.internet import defer, reactor
from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport

from txs3.access import Authorizer
from txs3.auth.types import Secret
from txs3.errors import S3Error
from txs3.server import build_site
from txs3.store.interface import Destination, ObjectMeta
from txs3.store.sqlite import SQLiteStore

ACCESS, SECRET = "BENCHKEY", "bench-secret"
OTHER_ACCESS = "BENCHOTHER"
BODY = b"x" * 4096


def signed_get(path: str, access: str = ACCESS) -> bytes:
    """The raw bytes of a SigV4-signed GET of C{path}."""
    request = AWSRequest(
        method="GET",
        url=f"https://bench.test{path}",
        headers={"X-Amz-Content-SHA256": hashlib.sha256(b"").hexdigest()},
    )
    S3SigV4Auth(Credentials(access, SECRET), "s3", "us-east-1").add_auth(request)
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


def owner_only(self: Authorizer, action: str, key: str | None = None) -> None:
    """The gate's check before bucket policies and ACLs: the owner only."""
    if self.principal.owner_id != self.access.owner:
        raise S3Error.of("AccessDenied")


@defer.inlineCallbacks
def main(args: argparse.Namespace) -> Any:
    directory = tempfile.mkdtemp(prefix="txs3-bench-")
    try:
        store = SQLiteStore(directory, reactor)
        keys = {
            ACCESS: Secret(ACCESS, SECRET, "o", "o"),
            OTHER_ACCESS: Secret(OTHER_ACCESS, SECRET, OTHER, "other"),
        }
        site = build_site(store, keys.get, reactor=reactor)
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
        require = Authorizer.require
        Authorizer.require = owner_only  # type: ignore[method-assign]
        floor = per_request(site, raw, args.requests)
        Authorizer.require = require  # type: ignore[method-assign]
        seconds = per_request(site, raw, args.requests)
        print(f"4 KiB GET, in process (no TLS): {seconds * 1e6:.0f} us per request")
        print(f"  owner-only gate (no authorization): {floor * 1e6:.0f} us")
        print(
            f"  owner, no policy:                   {seconds * 1e6:.0f} us"
            f" ({seconds / floor:.3f}x)"
        )
        # The same GET on a versioned bucket whose key has 10 versions: the
        # current version is read from the same row as before.
        yield store.create_bucket("vbench", "o", "us-east-1")
        yield store.put_bucket_setting(
            "vbench",
            "versioning",
            "<VersioningConfiguration><Status>Enabled</Status>"
            "</VersioningConfiguration>",
        )
        for _ in range(10):
            staging = store.open_staging()
            staging.write(BODY)
            yield store.put_object(
                Destination("vbench", "get4k", "o", versioning="Enabled"),
                staging,
                hashlib.md5(BODY).hexdigest(),
                ObjectMeta(),
            )
        versioned = per_request(site, signed_get("/vbench/get4k"), args.requests)
        print(
            f"  owner, versioned, 10 versions:      {versioned * 1e6:.0f} us"
            f" ({versioned / floor:.3f}x)"
        )
        yield store.put_bucket_setting("bench", "policy", plain_policy())
        other = per_request(site, signed_get("/bench/get4k", OTHER_ACCESS), args.requests)
        print(
            f"  other user, 20-statement policy:    {other * 1e6:.0f} us"
            f" ({other / floor:.3f}x)"
        )
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
