"""
A real ACME server for tests: Debian's C{pebble} (2.4) and
C{pebble-challtestsrv} as its DNS, on loopback ports.

L{Pebble.start} writes pebble's configuration (its HTTPS certificate from
L{tests.certs.make_test_ca}, for C{localhost} and C{127.0.0.1}), starts
challtestsrv answering every name with 127.0.0.1 (DNS only: its own
challenge servers are off) and pebble resolving through it, and waits
until pebble's directory answers.  Pebble validates TLS-ALPN-01 on
C{tls_port}, the port txs3 listens on.  L{Pebble.root} fetches the root
that signs what pebble issues, from its management interface.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.certs import make_test_ca
from tests.conftest import free_port

PEBBLE = "/usr/bin/pebble"
CHALLTESTSRV = "/usr/bin/pebble-challtestsrv"


def have_pebble() -> bool:
    """Whether pebble and pebble-challtestsrv are installed."""
    return all(shutil.which(p) for p in (PEBBLE, CHALLTESTSRV))


@dataclass
class Pebble:
    """
    A running pebble and its challtestsrv.

    @ivar directory: the ACME directory URL.
    @ivar ca_bundle: the CA file that verifies pebble's HTTPS.
    """

    directory: str
    ca_bundle: Path
    management: int
    dns_management: int
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        workdir: Path,
        tls_port: int,
        *,
        validity: int | None = None,
        http_port: int | None = None,
    ) -> Pebble:
        """
        Start challtestsrv and pebble in C{workdir}.

        @param validity: the lifetime of the certificates pebble issues, in
            seconds (pebble's default, five years, when None).
        @param http_port: where pebble validates HTTP-01 (a port nothing
            listens on when None).
        """
        workdir.mkdir(parents=True, exist_ok=True)
        ca = make_test_ca(workdir / "pebble-tls", names=("localhost", "127.0.0.1"))
        listen, management = free_port(), free_port()
        dns, dns_management = free_port(), free_port()
        config: dict[str, object] = {
            "listenAddress": f"127.0.0.1:{listen}",
            "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(ca.cert_file),
            "privateKey": str(ca.key_file),
            "httpPort": http_port or free_port(),
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
        if validity is not None:
            config["certificateValidityPeriod"] = validity
        config_file = workdir / "pebble-config.json"
        config_file.write_text(json.dumps({"pebble": config}))
        pebble = cls(
            directory=f"https://127.0.0.1:{listen}/dir",
            ca_bundle=ca.ca_file,
            management=management,
            dns_management=dns_management,
        )
        env = dict(os.environ)
        env.update(
            PEBBLE_VA_NOSLEEP="1",
            PEBBLE_WFE_NONCEREJECT="0",
            PEBBLE_VA_ALWAYS_VALID="0",
            PEBBLE_AUTHZREUSE="0",
        )
        pebble._spawn(
            workdir / "challtestsrv.log",
            [
                CHALLTESTSRV,
                "-dns01", f"127.0.0.1:{dns}",
                "-management", f"127.0.0.1:{dns_management}",
                "-defaultIPv4", "127.0.0.1",
                "-defaultIPv6", "",
                "-http01", "",
                "-https01", "",
                "-tlsalpn01", "",
            ],
            env,
        )  # fmt: skip
        pebble._spawn(
            workdir / "pebble.log",
            [PEBBLE, "-config", str(config_file), "-dnsserver", f"127.0.0.1:{dns}"],
            env,
        )
        pebble._wait()
        return pebble

    def _spawn(self, log: Path, argv: list[str], env: dict[str, str]) -> None:
        with log.open("wb") as out:
            self.processes.append(
                subprocess.Popen(
                    argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=log.parent
                )
            )
        self.logs.append(log)

    def log(self) -> str:
        """The output of both processes so far."""
        return "\n".join(p.read_text(errors="replace") for p in self.logs)

    def _get(self, url: str) -> bytes:
        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            body: bytes = response.read()
            return body

    def _wait(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._get(self.directory)
                self._post_dns("/set-default-ipv4", {"ip": "127.0.0.1"})
                return
            except OSError:
                if time.monotonic() > deadline or any(
                    p.poll() is not None for p in self.processes
                ):
                    self.stop()
                    raise RuntimeError(f"pebble did not start:\n{self.log()}") from None
                time.sleep(0.1)

    def _post_dns(self, path: str, body: dict[str, object]) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.dns_management}{path}",
            data=json.dumps(body).encode(),
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5):
            pass

    def add_a(self, host: str, address: str) -> None:
        """Make challtestsrv answer C{host}'s A queries with C{address}."""
        self._post_dns("/add-a", {"host": host, "addresses": [address]})

    def root(self, path: Path) -> Path:
        """Write the root that signs pebble's certificates to C{path}."""
        path.write_bytes(self._get(f"https://127.0.0.1:{self.management}/roots/0"))
        return path

    def stop(self) -> None:
        """Stop both processes."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
