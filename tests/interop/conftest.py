"""
Interop tests: real S3 clients against a real C{twistd -n txs3} process.

The module-scoped L{txs3_server} fixture starts::

    twistd -n --pidfile= txs3 --data TMP/data --credentials TMP/credentials
        --port ssl:PORT:interface=127.0.0.1:privateKey=K:certKey=C

with a certificate from the session's test CA (L{tests.conftest.test_ca}),
waits until the port completes a verified TLS handshake, and yields a
L{Txs3Server}: the endpoint URL, the CA file to trust, and two key pairs
(two owners).  It listens on 127.0.0.1 only.  The process is stopped after
the module's last test; a failing test's report carries the tail of the
server's log (section "txs3 server log").

Tests in one module share the server: give buckets names unique to the test
(L{Txs3Server.bucket_name}).
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TestCA, Txs3Process, free_port

LOG_TAIL_LINES = 200


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this directory C{interop}."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.interop)


@dataclass
class Txs3Server:
    """
    A running C{twistd txs3} for interop tests.

    @ivar endpoint: e.g. C{https://127.0.0.1:40123} (the certificate also
        covers C{localhost}).
    @ivar ca_file: PEM file of the CA that signed the server's certificate:
        give it to clients (C{verify=}, C{AWS_CA_BUNDLE}, C{--ca-certs}).
    @ivar access_key: the first key pair, owner C{"owner-one"}.
    @ivar other_access_key: a second key pair, owner C{"owner-two"}.
    """

    endpoint: str
    host: str
    port: int
    ca_file: Path
    access_key: str
    secret_key: str
    other_access_key: str
    other_secret_key: str
    region: str
    data_dir: Path
    process: Txs3Process
    _names: Iterator[int] = field(default_factory=itertools.count)

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return self.process.log_path

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last C{lines} lines of the server's log."""
        return "\n".join(self.process.log().splitlines()[-lines:])

    def bucket_name(self, hint: str = "b") -> str:
        """A bucket name not used before by this server's tests."""
        hint = "".join(c for c in hint.lower() if c.isalnum() or c == "-")[:30]
        return f"{hint or 'b'}-{next(self._names)}-{secrets.token_hex(3)}"

    def aws_env(self, *, other: bool = False) -> dict[str, str]:
        """
        C{os.environ} plus what AWS CLI/SDK subprocesses need to reach this
        server: keys, region and C{AWS_CA_BUNDLE}, with no config files or
        profiles from the machine.  Pass C{--endpoint-url self.endpoint}.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ACCESS_KEY_ID=self.other_access_key if other else self.access_key,
            AWS_SECRET_ACCESS_KEY=self.other_secret_key if other else self.secret_key,
            AWS_DEFAULT_REGION=self.region,
            AWS_REGION=self.region,
            AWS_CA_BUNDLE=str(self.ca_file),
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
            AWS_PAGER="",
        )
        return env

    def new_bucket(self, hint: str, **client: Any) -> tuple[Any, str]:
        """A boto3 client (L{boto3_client} with C{client}) and a bucket it made."""
        s3 = self.boto3_client(**client)
        bucket = self.bucket_name(hint)
        s3.create_bucket(Bucket=bucket)
        return s3, bucket

    def aws_api(self, aws: Path) -> list[str]:
        """The AWS CLI C{aws}'s ``s3api`` command for this server, JSON output."""
        return [str(aws), "--endpoint-url", self.endpoint, "--output", "json", "s3api"]

    def boto3_client(
        self,
        *,
        other: bool = False,
        secret_key: str | None = None,
        defaults: bool = False,
        **config: object,
    ) -> Any:
        """
        A boto3 S3 client for this server: path-style addressing, and
        C{config} items for C{botocore.config.Config}; or, with
        C{defaults}, boto3's own defaults (virtual-host style falls back to
        path style for an IP endpoint).  C{secret_key} replaces the key's
        secret (to be refused).
        """
        import boto3
        from botocore.config import Config

        settings = (
            {}
            if defaults
            else {"config": Config(s3={"addressing_style": "path"}, **config)}
        )
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.other_access_key if other else self.access_key,
            aws_secret_access_key=secret_key
            or (self.other_secret_key if other else self.secret_key),
            region_name=self.region,
            verify=str(self.ca_file),
            **settings,
        )


def start_server(
    directory: Path,
    ca: TestCA,
    start_txs3: Callable[..., Txs3Process],
    extra_args: tuple[str, ...] = (),
) -> Txs3Server:
    """
    Start txs3 with its files in C{directory}; retry once on a new port if
    another process took the chosen one meanwhile.
    """
    region = "us-east-1"
    keys = [
        (
            f"IT{secrets.token_hex(9).upper()}",
            secrets.token_urlsafe(30),
            "one",
            "owner-one",
        ),
        (
            f"IT{secrets.token_hex(9).upper()}",
            secrets.token_urlsafe(30),
            "two",
            "owner-two",
        ),
    ]
    credentials = directory / "credentials"
    credentials.write_text("".join(" ".join(k) + "\n" for k in keys))
    credentials.chmod(0o600)
    for attempt in range(2):
        port = free_port()
        args = [
            "--data",
            str(directory / "data"),
            "--credentials",
            str(credentials),
            "--region",
            region,
            "--port",
            f"ssl:{port}:interface=127.0.0.1"
            f":privateKey={ca.key_file}:certKey={ca.cert_file}",
            *extra_args,
        ]
        process = start_txs3(args, cwd=directory)
        try:
            process.wait_for_tls(port, ca.ca_file)
        except RuntimeError:
            if attempt == 0 and "already in use" in process.log():
                continue
            raise
        return Txs3Server(
            endpoint=f"https://127.0.0.1:{port}",
            host="127.0.0.1",
            port=port,
            ca_file=ca.ca_file,
            access_key=keys[0][0],
            secret_key=keys[0][1],
            other_access_key=keys[1][0],
            other_secret_key=keys[1][1],
            region=region,
            data_dir=directory / "data",
            process=process,
        )
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def txs3_server(
    tmp_path_factory: pytest.TempPathFactory,
    test_ca: TestCA,
    start_txs3: Callable[..., Txs3Process],
) -> Generator[Txs3Server, None, None]:
    """A C{twistd -n txs3} subprocess shared by the tests of one module."""
    server = start_server(tmp_path_factory.mktemp("txs3-interop"), test_ca, start_txs3)
    try:
        yield server
    finally:
        server.process.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    """Attach the server's log tail to the report of a failing interop test."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        server = getattr(item, "funcargs", {}).get("txs3_server")
        if isinstance(server, Txs3Server):
            report.sections.append(("txs3 server log (tail)", server.log_tail()))
