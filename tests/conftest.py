"""
Fixtures and helpers shared by all txs3 tests.

  - L{test_ca} (session): a throwaway certificate authority and a server
    certificate it signed for C{localhost}, C{*.localhost}, C{127.0.0.1}
    and C{::1}, as PEM files (L{tests.certs.make_test_ca}).  Clients trust
    the CA file; the server uses the leaf and its key.
  - L{free_port}: a TCP port on 127.0.0.1 that nothing listens on now.
  - L{txs3_env}: the environment for a C{twistd txs3} subprocess that runs
    this working tree's code (not an installed copy) and its plugin.
  - L{start_txs3} (fixture giving L{Txs3Process.start}): run
    C{twistd -n txs3 ...} in the background, wait until it answers TLS,
    stop it.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

# Re-exported: tests import TestCA from here.
from tests.certs import TestCA as TestCA
from tests.certs import make_test_ca

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TWISTD = str(BIN / "twistd")
TWIST = str(BIN / "twist")


def free_port() -> int:
    """
    A TCP port on 127.0.0.1 free at the time of the call.  Another process
    may take it before the caller binds it: callers that start servers
    retry on "already in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def txs3_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """
    The environment for a txs3 subprocess: the repository root first on
    C{PYTHONPATH}, so C{txs3} and C{twisted/plugins/txs3_plugin.py} come
    from this working tree even when an older copy is installed; no
    C{TXS3_*} variables from the caller's environment, unless in C{extra}.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("TXS3_")}
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + path if path else "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """A session-wide test CA and server certificate (see L{make_test_ca})."""
    return make_test_ca(tmp_path_factory.mktemp("test-ca"))


class Txs3Process:
    """
    A C{twistd -n --pidfile= txs3 ARGS} subprocess, its output (stdout and
    stderr together) going to C{log_path}.
    """

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    @classmethod
    def start(
        cls,
        args: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
    ) -> Txs3Process:
        """
        Start C{twistd -n --pidfile= txs3 *args} in C{cwd} with
        L{txs3_env}C{(env)}; the log goes to C{cwd/txs3.log}.
        """
        log_path = cwd / "txs3.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [TWISTD, "-n", "--pidfile=", "txs3", *args],
                cwd=cwd,
                env=txs3_env(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return cls(process, log_path)

    def log(self) -> str:
        """Everything the process has written so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_tls(
        self,
        port: int,
        ca_file: Path,
        *,
        host: str = "127.0.0.1",
        server_hostname: str = "localhost",
        timeout: float = 30.0,
    ) -> None:
        """
        Return once C{host:port} completes a TLS handshake verified against
        C{ca_file}.

        @raise RuntimeError: with the log, if the process exits first or
            C{timeout} seconds pass.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"txs3 exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                # Made afresh each time: txs3 may be about to write ca_file.
                context = ssl.create_default_context(cafile=str(ca_file))
                with socket.create_connection((host, port), timeout=2) as raw:
                    with context.wrap_socket(raw, server_hostname=server_hostname):
                        return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"txs3 did not answer TLS on {host}:{port} within "
                        f"{timeout}s:\n{self.log()}"
                    ) from None
                time.sleep(0.1)

    def stop(self, timeout: float = 15.0) -> int:
        """
        SIGTERM (then SIGKILL after C{timeout}s); return the exit status:
        -SIGTERM after a clean shutdown, as Twisted re-raises the signal.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture(scope="session")
def start_txs3() -> Callable[..., Txs3Process]:
    """L{Txs3Process.start}, for tests and fixtures in any directory."""
    return Txs3Process.start
