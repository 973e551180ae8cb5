"""
A small S3 client for functional tests: treq over real TLS, requests signed
by botocore's own signers (SigV4 by default, SigV2 on request), so the
server is checked against the reference implementation of the signatures.
"""

from __future__ import annotations

import hashlib
import socket
import ssl as std_ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import boto3
import treq
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from twisted.internet import ssl
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS, HTTPConnectionPool

# Re-exported: the functional server imports its certificate from here.
from tests.certs import make_test_certificate as make_test_certificate
from tests.certs import server_tls_options as server_tls_options

ACCESS_KEY = "TESTACCESSKEY0000001"
SECRET_KEY = "testsecretkey/0000000000000000000000001"
OTHER_ACCESS_KEY = "TESTACCESSKEY0000002"
OTHER_SECRET_KEY = "testsecretkey/0000000000000000000000002"


class DeclaredPayloadAuth(S3SigV4Auth):
    """
    botocore's S3 SigV4 signer, signing exactly the payload hash it is
    given (a hex SHA-256, ``UNSIGNED-PAYLOAD`` or a ``STREAMING-*`` mode).
    botocore itself would replace a caller's ``X-Amz-Content-SHA256`` with
    the hash of the body it holds.
    """

    def __init__(self, credentials: Credentials, payload_hash: str) -> None:
        super().__init__(credentials, "s3", "us-east-1")
        self._payload_hash = payload_hash

    def payload(self, request: AWSRequest) -> str:
        return self._payload_hash


@dataclass
class Response:
    """A fully read response."""

    code: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class S3Client:
    """
    Signed requests against one txs3 endpoint.

    @ivar base: ``https://127.0.0.1:PORT``.
    """

    def __init__(
        self,
        reactor: Any,
        base: str,
        ca_cert: Path | None,
        access_key: str = ACCESS_KEY,
        secret_key: str = SECRET_KEY,
        signature: str = "v4",
        agent: Any = None,
    ) -> None:
        """
        @param ca_cert: the CA to trust for a real TLS server; None with
            C{agent}, an in-memory agent (L{tests.inmemory.SiteAgent}).
        """
        self.base = base
        self.credentials = Credentials(access_key, secret_key)
        self.signature = signature
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        if agent is not None:
            self.agent = agent
            return
        assert ca_cert is not None
        trust = ssl.Certificate.loadPEM(ca_cert.read_bytes())
        self.agent = Agent(
            reactor,
            contextFactory=BrowserLikePolicyForHTTPS(trustRoot=trust),
            pool=self.pool,
        )

    def url(self, path: str, query: str = "") -> str:
        return self.base + path + ("?" + query if query else "")

    def sign(
        self,
        method: str,
        path: str,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> dict[str, str]:
        """The headers of a signed request (botocore computes them)."""
        request = AWSRequest(
            method=method,
            url=self.url(path, query),
            headers=dict(headers or {}),
            data=body,
        )
        if self.signature == "v2":
            HmacV1Auth(self.credentials).add_auth(request)
        else:
            declared = request.headers.get("X-Amz-Content-SHA256")
            if declared is None:
                declared = hashlib.sha256(body).hexdigest()
            DeclaredPayloadAuth(self.credentials, declared).add_auth(request)
        return {k: v for k, v in request.headers.items()}

    async def request(
        self,
        method: str,
        path: str,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        signed: bool = True,
    ) -> Response:
        """Send one request and read the whole response."""
        hdrs = (
            self.sign(method, path, query, headers, body)
            if signed
            else dict(headers or {})
        )
        response = await treq.request(
            method,
            self.url(path, query),
            headers={k: [v] for k, v in hdrs.items()},
            data=body if body or method in ("PUT", "POST") else None,
            agent=self.agent,
        )
        content = await response.content()
        out = {
            k.decode().lower(): b",".join(v).decode("latin-1")
            for k, v in response.headers.getAllRawHeaders()
        }
        return Response(response.code, out, content)

    async def close(self) -> None:
        await self.pool.closeCachedConnections()


def boto3_client(
    port: int, ca: Path | str, access_key: str, secret_key: str, config: Config | None
) -> Any:
    """
    A boto3 S3 client for the txs3 server on https://127.0.0.1:C{port},
    trusting C{ca}, signing with C{access_key}/C{secret_key}; C{config}
    (botocore's) when given.
    """
    return boto3.client(
        "s3",
        endpoint_url=f"https://127.0.0.1:{port}",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        verify=str(ca),
        config=config,
    )


def key_path(bucket: str, key: str) -> str:
    """The request path of C{key} in C{bucket}, percent-encoded as clients do."""
    return "/" + bucket + "/" + quote(key, safe="/~")


def exchange(
    port: int, cafile: str, raw: bytes, expect_body: bool = True
) -> tuple[int, dict[str, str], bytes]:
    """Write C{raw} on a fresh TLS connection and read one response (blocking)."""
    context = std_ssl.create_default_context(cafile=cafile)
    with (
        socket.create_connection(("127.0.0.1", port)) as sock,
        context.wrap_socket(sock, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(raw)
        status, headers, rest = read_head(tls)
        body = _read_body(tls, headers, rest, "GET" if expect_body else "HEAD")
        return status, headers, body


def read_head(
    tls: std_ssl.SSLSocket, data: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """
    Read a response head from C{tls} (after C{data} already read): its
    status, headers (lower-case names) and the bytes read past it.
    """
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response head")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, rest


def raw_exchange(
    port: int, cafile: str, head: bytes, body: bytes, method: str
) -> tuple[int, dict[str, str], bytes]:
    """Send one request; with Expect, wait for 100 Continue before the body."""
    context = std_ssl.create_default_context(cafile=cafile)
    with (
        socket.create_connection(("127.0.0.1", port)) as sock,
        context.wrap_socket(sock, server_hostname="127.0.0.1") as tls,
    ):
        rest = b""
        if b"\r\nExpect: 100-continue\r\n" in head:
            tls.sendall(head)
            status, headers, rest = read_head(tls, b"")
            if status != 100:
                return status, headers, _read_body(tls, headers, rest, method)
            tls.sendall(body)
        else:
            tls.sendall(head + body)
        status, headers, rest = read_head(tls, rest)
        return status, headers, _read_body(tls, headers, rest, method)


def _read_body(
    tls: std_ssl.SSLSocket, headers: Mapping[str, str], rest: bytes, method: str
) -> bytes:
    length = 0 if method == "HEAD" else int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = tls.recv(65536)
        if not chunk:
            break
        rest += chunk
    return rest


def xml_of(body: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(body)


def error_code(body: bytes) -> str | None:
    """The S3 error code of an error document (which it must be)."""
    root = xml_of(body)
    assert root.tag == "Error", body
    return root.findtext("Code")


def complete_body(parts: list[tuple[int, str]], extra: str = "") -> bytes:
    """A CompleteMultipartUpload body listing C{parts} (number, ETag)."""
    inner = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag>{extra}</Part>"
        for n, e in parts
    )
    return f"<CompleteMultipartUpload>{inner}</CompleteMultipartUpload>".encode()
