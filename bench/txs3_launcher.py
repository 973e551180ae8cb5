"""
A minimal txs3 launcher, for when C{twistd txs3} cannot be used (the
benchmarks pass C{--launcher}): the same store and site as the plugin, one
access key, HTTPS on 127.0.0.1 only, no logging of requests.

    python bench/txs3_launcher.py --data DIR --port N --cert C --key K \
        --access-key AK --secret-key SK
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    args = parser.parse_args()

    from twisted.internet import reactor, ssl

    from txs3.auth.types import Secret
    from txs3.server import build_site
    from txs3.store.sqlite import SQLiteStore

    store = SQLiteStore.open(args.data, reactor)
    secrets = {
        args.access_key: Secret(args.access_key, args.secret_key, "owner", "owner")
    }
    site = build_site(store, secrets.get, reactor=reactor)
    ctx = ssl.DefaultOpenSSLContextFactory(args.key, args.cert)
    reactor.listenSSL(args.port, site, ctx, interface="127.0.0.1")  # type: ignore[attr-defined]
    print(f"txs3 launcher on https://127.0.0.1:{args.port}", flush=True)
    reactor.run()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
