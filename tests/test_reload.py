"""
Reload without a restart: a real C{twistd txs3} whose certificate files
are replaced serves the new certificate to new connections after
C{txs3-admin reload} (and after SIGHUP), while a connection opened before
keeps working; a file that does not load keeps the certificate in use.
"""

from __future__ import annotations

import shutil
import signal
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import pytest

from tests.certs import TestCA, make_test_ca
from tests.conftest import free_port
from txs3.admin.cli import main


def handshake(port: int, ca: Path) -> ssl.SSLSocket:
    """A TLS connection to the server, verified against C{ca}."""
    context = ssl.create_default_context(cafile=str(ca))
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="localhost")


def trusted_by(port: int, ca: Path, within: float = 15.0) -> None:
    """Wait until a new connection verifies against C{ca}."""
    deadline = time.monotonic() + within
    while True:
        try:
            handshake(port, ca).close()
            return
        except ssl.SSLError:
            assert time.monotonic() < deadline, "the new certificate never came"
            time.sleep(0.2)


def still_answers(tls: ssl.SSLSocket) -> None:
    """An unsigned request on an open connection gets an HTTP answer."""
    tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert tls.recv(64).startswith(b"HTTP/1.1 403")


def install(ca: TestCA, cert: Path, key: Path) -> None:
    shutil.copyfile(ca.cert_file, cert)
    shutil.copyfile(ca.key_file, key)


def test_certificate_reload(
    tmp_path: Path, start_txs3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """txs3-admin reload and SIGHUP swap the certificate; open connections are kept; a broken file is refused."""
    first = make_test_ca(tmp_path / "first")
    second = make_test_ca(tmp_path / "second")
    cert, key = tmp_path / "live.pem", tmp_path / "live.key"
    install(first, cert, key)
    port = free_port()
    data = tmp_path / "data"
    server = start_txs3(
        ["--data", str(data), "--port",
         f"ssl:{port}:interface=127.0.0.1:privateKey={key}:certKey={cert}"],
        cwd=tmp_path,
    )  # fmt: skip
    try:
        server.wait_for_tls(port, first.ca_file)
        before = handshake(port, first.ca_file)
        install(second, cert, key)
        assert main(["--data", str(data), "reload"]) == 0
        trusted_by(port, second.ca_file)
        still_answers(before)
        before.close()
        # A file that does not load: the certificate in use stays.
        cert.write_text("not a certificate\n")
        assert main(["--data", str(data), "reload"]) == 0
        time.sleep(2.5)  # two polls; the old certificate must still be served
        handshake(port, second.ca_file).close()
        assert "Kept the certificate in use" in server.log()
        install(first, cert, key)
        server.process.send_signal(signal.SIGHUP)
        trusted_by(port, first.ca_file)
    finally:
        server.stop()
    capsys.readouterr()
