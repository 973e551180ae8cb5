"""
What the two benchmark servers (C{static_server.py}, C{txs3_launcher.py})
share: their TLS options, and serving a site over HTTPS on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse

from twisted.internet import reactor, ssl
from twisted.web.server import Site


def tls_parser(description: str | None) -> argparse.ArgumentParser:
    """An argument parser with the required C{--port}, C{--cert}, C{--key}."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    return parser


def serve(site: Site, args: argparse.Namespace, banner: str) -> None:
    """
    Serve C{site} over TLS (C{args.cert}, C{args.key}) on 127.0.0.1 port
    C{args.port}, print C{banner}, and run the reactor until stopped.
    """
    ctx = ssl.DefaultOpenSSLContextFactory(args.key, args.cert)
    reactor.listenSSL(args.port, site, ctx, interface="127.0.0.1")  # type: ignore[attr-defined]
    print(banner, flush=True)
    reactor.run()  # type: ignore[attr-defined]
