"""
Cyberduck connection profiles for a txs3 server.

A ``.cyberduckprofile`` is an XML property list that Cyberduck (and its CLI,
``duck``) installs with a double click: it names the protocol (``s3``), the
host, port and region to use, and properties such as path-style requests.
With it a user connects to txs3 by entering nothing but the access key and
secret.

The server serves one, made for the host and port the request came in on,
at L{PROFILE_PATH} without credentials (L{txs3.api.profile}); the command
line writes the same document::

    python -m txs3.profile --host s3.example.net --port 8443 [--region R]
"""

from __future__ import annotations

import argparse
import plistlib
import sys
from collections.abc import Sequence

#: Where the server serves the profile.  No bucket can be named
#: ``.well-known`` (bucket names start with a letter or digit), so the path
#: never shadows a path-style request.
PROFILE_PATH = "/.well-known/txs3/cyberduck.cyberduckprofile"
PROFILE_FILENAME = "txs3.cyberduckprofile"
PROFILE_CONTENT_TYPE = "application/x-plist"

#: Path-style requests.  Cyberduck 7+ reads C{s3.bucket.virtualhost.disable}
#: from a profile's properties; older releases (and the bundled "S3
#: (Deprecated path style requests)" profile) use the jets3t name.
PATH_STYLE_PROPERTIES = (
    "s3.bucket.virtualhost.disable=true",
    "s3service.disable-dns-buckets=true",
)

#: Cyberduck's name for SigV4 (S3Protocol.AuthenticationHeaderSignatureVersion
#: is looked up by enum name, so "AWS4-HMAC-SHA256" would not match).
SIGV4 = "AWS4HMACSHA256"


def cyberduck_profile(
    host: str, port: int, region: str = "us-east-1", scheme: str = "https"
) -> bytes:
    """
    A Cyberduck connection profile for the txs3 server at C{host}:C{port}
    (C{host} without port or brackets; an IPv6 address as is), as an XML
    property list that C{plistlib.loads} reads back.

    @param scheme: ``https`` (txs3 terminating TLS) or ``http``.
    @raise ValueError: for a port outside 1-65535, an empty host or
        another scheme.
    """
    if not host:
        raise ValueError("host must not be empty")
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is outside 1-65535")
    if scheme not in ("https", "http"):
        raise ValueError(f"scheme must be https or http, not {scheme!r}")
    where = host if port == (443 if scheme == "https" else 80) else f"{host}:{port}"
    profile = {
        "Protocol": "s3",
        "Vendor": "txs3",
        "Scheme": scheme,
        "Description": f"txs3 ({where})",
        "Default Hostname": host,
        "Default Port": str(port),
        "Hostname Configurable": True,
        "Port Configurable": True,
        "Username Configurable": True,
        "Username Placeholder": "Access Key ID",
        "Password Placeholder": "Secret Access Key",
        "Region": region,
        "Regions": [region],
        "Authorization": SIGV4,
        "Properties": list(PATH_STYLE_PROPERTIES),
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML, sort_keys=False)


def main(argv: Sequence[str] | None = None) -> int:
    """Print a profile for C{--host}/C{--port}/C{--region} to stdout."""
    parser = argparse.ArgumentParser(
        prog="txs3-profile",
        description="Write a Cyberduck connection profile for a txs3 server.",
    )
    parser.add_argument("--host", required=True, help="server host name or address")
    parser.add_argument("--port", type=int, default=443, help="HTTPS port (443)")
    parser.add_argument("--region", default="us-east-1", help="txs3's --region")
    parser.add_argument(
        "--http", action="store_true", help="plain HTTP (behind a TLS proxy: no)"
    )
    args = parser.parse_args(argv)
    host = args.host.strip("[]")
    try:
        data = cyberduck_profile(
            host, args.port, args.region, "http" if args.http else "https"
        )
    except ValueError as e:
        parser.error(str(e))
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
