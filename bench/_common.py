"""
Shared plumbing for the benchmarks in this folder (not a benchmark itself).

- a test CA and a certificate it signed for 127.0.0.1 (from C{tests/certs.py});
- starting C{twistd -n txs3} (or, with C{--launcher}, a minimal launcher of
  this folder) as a subprocess on 127.0.0.1 and waiting until it answers;
- SigV4 signing of one request with botocore's C{S3SigV4Auth}.

Only 127.0.0.1 is ever used.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
ACCESS_KEY = "BENCHACCESSKEY000001"
SECRET_KEY = "benchSecretKey0000000000000000000000000"
REGION = "us-east-1"
BUCKET = "bench"
MiB = 1024 * 1024


def parse_size(text: str) -> int:
    """C{"1GiB"}, C{"64MiB"}, C{"4KiB"}, C{"1G"}, C{"1000000"} -> bytes."""
    t = text.strip().lower().removesuffix("b").removesuffix("i")
    units = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
    if t and t[-1] in units:
        return int(float(t[:-1]) * units[t[-1]])
    return int(t)


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n} B"


@dataclass(frozen=True)
class CertFiles:
    """
    @ivar cert: the server's certificate (signed by C{ca}).
    @ivar key: its private key.
    @ivar ca: the CA certificate clients trust.
    """

    cert: Path
    key: Path
    ca: Path


def make_certificate(directory: Path) -> CertFiles:
    """
    A test CA and a server certificate it signed for 127.0.0.1 (and
    localhost, ::1), from the tests' helper (C{tests/certs.py}).
    """
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.certs import make_test_ca

    ca = make_test_ca(directory)
    return CertFiles(ca.cert_file, ca.key_file, ca.ca_file)


def client_context(cert: CertFiles) -> ssl.SSLContext:
    """A client context that trusts exactly the test CA."""
    return ssl.create_default_context(cafile=str(cert.ca))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def ssl_endpoint(port: int, cert: CertFiles) -> str:
    return f"ssl:{port}:interface={HOST}:privateKey={cert.key}:certKey={cert.cert}"


def plugin_available() -> bool:
    return (REPO / "txs3" / "tap.py").exists() and (
        REPO / "twisted" / "plugins" / "txs3_plugin.py"
    ).exists()


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.pop("TXS3_ACCESS_KEY", None)
    env.pop("TXS3_SECRET_KEY", None)
    return env


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def wait_until_listening(server: Server, cert: CertFiles, timeout: float = 30) -> None:
    """Wait until a TLS handshake with C{server} succeeds."""
    ctx = client_context(cert)
    deadline = time.monotonic() + timeout
    while True:
        if server.proc.poll() is not None:
            raise SystemExit(
                f"{server.name} exited with status {server.proc.returncode} "
                f"before listening; its log ({server.log}):\n{server.tail()}"
            )
        try:
            with socket.create_connection((HOST, server.port), timeout=1) as raw:
                with ctx.wrap_socket(raw, server_hostname=HOST):
                    return
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise SystemExit(
                    f"{server.name} did not listen on {HOST}:{server.port} within "
                    f"{timeout:.0f} s; its log ({server.log}):\n{server.tail()}"
                ) from None
            time.sleep(0.1)


def start_txs3(
    workdir: Path, cert: CertFiles, *, launcher: bool = False, port: int = 0
) -> Server:
    """
    Start txs3 on 127.0.0.1:PORT with its data in C{workdir/data}, one
    access key (L{ACCESS_KEY}), and the test certificate.

    By default this is the real C{twistd -n txs3}; C{launcher=True} (or a tree
    without the plugin) uses C{bench/txs3_launcher.py} instead.
    """
    port = port or free_port()
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    creds = workdir / "credentials"
    creds.write_text(f"{ACCESS_KEY} {SECRET_KEY}\n")
    os.chmod(creds, 0o600)
    log = workdir / "txs3.log"
    if launcher or not plugin_available():
        cmd = _bench_server(
            "txs3_launcher.py", port, cert,
            "--data", str(data),
            "--access-key", ACCESS_KEY,
            "--secret-key", SECRET_KEY,
        )  # fmt: skip
        name = "txs3 (bench launcher)"
    else:
        twistd = Path(sys.executable).with_name("twistd")
        cmd = [
            str(twistd),
            "-n",
            "--pidfile=",
            "txs3",
            "--data", str(data),
            "--certs", str(workdir / "certs"),
            "--port", ssl_endpoint(port, cert),
            "--credentials", str(creds),
        ]  # fmt: skip
        name = "twistd txs3"
    proc = _spawn(cmd, log)
    server = Server(name, proc, port, log)
    wait_until_listening(server, cert)
    return server


def _bench_server(script: str, port: int, cert: CertFiles, *args: str) -> list[str]:
    """The command line of server C{script} of C{bench/} (see C{_serve.py})."""
    return [
        sys.executable,
        str(BENCH / script),
        "--port", str(port),
        "--cert", str(cert.cert),
        "--key", str(cert.key),
        *args,
    ]  # fmt: skip


def _spawn(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a benchmark server from the repository, its output going to C{log}."""
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd,
            cwd=REPO,
            env=server_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def start_static(workdir: Path, cert: CertFiles, *, port: int = 0) -> Server:
    """Start C{bench/static_server.py} serving C{workdir/static}."""
    port = port or free_port()
    root = workdir / "static"
    root.mkdir(parents=True, exist_ok=True)
    log = workdir / "static.log"
    cmd = _bench_server("static_server.py", port, cert, "--dir", str(root))
    proc = _spawn(cmd, log)
    server = Server("twisted.web (bench/static_server.py)", proc, port, log)
    wait_until_listening(server, cert)
    return server


def sign(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """
    The headers of a SigV4-signed request (header auth) for C{url}, as
    botocore's C{S3SigV4Auth} makes them: X-Amz-Date, X-Amz-Content-SHA256,
    Authorization, plus C{headers} and Host.

    @param body: the payload, whose SHA-256 is signed; None for
        C{X-Amz-Content-SHA256: UNSIGNED-PAYLOAD} (streamed bodies).
    """
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(
        method=method, url=url, headers=dict(headers or {}), data=body or b""
    )
    if body is None:
        # What botocore's S3 client does with payload signing off.
        request.context["client_config"] = SimpleNamespace(
            s3={"payload_signing_enabled": False}
        )
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", REGION).add_auth(request)
    signed = dict(request.headers.items())
    signed.setdefault("Host", url.split("/")[2])
    return signed


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def send_head(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None = None,
    length: int | None = None,
) -> None:
    """
    Send C{method} C{path} with exactly C{headers} on C{conn} (http.client
    adds no Host or Accept-Encoding), a Content-Length of C{length} when it
    is given, then C{body} if any.  The caller sends any further body.
    """
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in headers.items():
        conn.putheader(name, value)
    if length is not None:
        conn.putheader("Content-Length", str(length))
    conn.endheaders(body)


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """Add the options of a benchmark that starts txs3 in a temp directory."""
    parser.add_argument(
        "--launcher",
        action="store_true",
        help="start txs3 with bench/txs3_launcher.py instead of twistd txs3",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")


def request(
    server: Server,
    cert: CertFiles,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One signed request; returns (status, headers, body)."""
    signed = sign(method, server.url + path, body=body, headers=headers)
    conn = http.client.HTTPSConnection(
        HOST, server.port, context=client_context(cert), timeout=60
    )
    try:
        sized = body or method in ("PUT", "POST")
        send_head(
            conn, method, path, signed, body or None, len(body) if sized else None
        )
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def ensure_bucket(server: Server, cert: CertFiles, bucket: str = BUCKET) -> None:
    status, _, body = request(server, cert, "PUT", f"/{bucket}")
    if status != 200 and b"BucketAlreadyOwnedByYou" not in body:
        raise SystemExit(
            f"server bug? PUT /{bucket} (CreateBucket, SigV4 header auth) answered "
            f"{status}: {body[:2000]!r}"
        )
