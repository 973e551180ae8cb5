"""
A minimal txs3 launcher, for when C{twistd txs3} cannot be used (the
benchmarks pass C{--launcher}): the same store and site as the plugin, one
access key, HTTPS on 127.0.0.1 only, no logging of requests.

    python bench/txs3_launcher.py --data DIR --port N --cert C --key K \
        --access-key AK --secret-key SK
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _serve import serve, tls_parser


def main() -> None:
    parser = tls_parser(__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    args = parser.parse_args()

    from twisted.internet import reactor

    from txs3.auth.types import Secret
    from txs3.server import build_site
    from txs3.store.sqlite import SQLiteStore

    store = SQLiteStore.open(args.data, reactor)
    secrets = {
        args.access_key: Secret(args.access_key, args.secret_key, "owner", "owner")
    }
    site = build_site(store, secrets.get, reactor=reactor)
    serve(site, args, f"txs3 launcher on https://127.0.0.1:{args.port}")


if __name__ == "__main__":
    main()
