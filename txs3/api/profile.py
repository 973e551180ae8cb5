"""
GetConnectionProfile: the Cyberduck connection profile for this server,
served at L{txs3.profile.PROFILE_PATH} to anyone (it holds no secret, and
the client that needs it has no credentials yet), so a user connects in
one click.

The profile names the host and port the request came in on, so the URL a
user opens in a browser is also the server Cyberduck will talk to.
"""

from __future__ import annotations

from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.profile import (
    PROFILE_CONTENT_TYPE,
    PROFILE_FILENAME,
    cyberduck_profile,
)
from txs3.response import Response


def host_and_port(
    host_header: str | None, secure: bool, socket_port: int
) -> tuple[str, int]:
    """
    The host name (without port or IPv6 brackets) and port a request was
    addressed to: from its Host header, the port defaulting to the
    scheme's, or C{socket_port} when there is no usable Host header
    (HTTP/1.0).

    @raise S3Error: C{InvalidArgument} when there is no host at all.
    """
    value = (host_header or "").strip()
    default = 443 if secure else 80
    if not value:
        raise S3Error.of("InvalidArgument", "A Host header is required.")
    if value.startswith("["):
        address, _, rest = value[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        return address, _port(port_text, default)
    if value.count(":") == 1:
        name, _, port_text = value.partition(":")
        return name, _port(port_text, default)
    if value.count(":") > 1:
        # A bare IPv6 address, which HTTP requires in brackets; take it as is.
        return value, socket_port
    return value, default


def _port(text: str, default: int) -> int:
    if not text:
        return default
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise S3Error.of("InvalidArgument", "The Host header's port is not valid.")
    return int(text)


async def get_connection_profile(call: S3Call) -> Response:
    """The profile as a download named C{txs3.cyberduckprofile}."""
    secure = call.connection.secure
    host, port = host_and_port(call.header("host"), secure, call.connection.local_port)
    body = cyberduck_profile(
        host, port, call.config.region, "https" if secure else "http"
    )
    headers = {
        "Content-Type": PROFILE_CONTENT_TYPE,
        "Content-Disposition": f'attachment; filename="{PROFILE_FILENAME}"',
        "Cache-Control": "no-store",
    }
    return Response(200, headers, body)
