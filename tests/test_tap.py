"""
Tests for L{txs3.tap}: the options, the service's start and stop order, and
C{twistd txs3} itself.

Start-up failures are tested the way an operator meets them: by running
C{twistd -n txs3 ...} as a subprocess (this working tree's code, see
L{tests.conftest.txs3_env}) and checking for a non-zero exit, exactly one
line on stderr, and no traceback anywhere.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.error import CannotListenError
from twisted.web.server import Site

from tests.conftest import TWIST, TWISTD, TestCA, Txs3Process, free_port, txs3_env
from txs3 import service as txs3_service
from txs3 import tap, tls
from txs3.lifecycle.evaluate import Days
from txs3.limits import Limits

Start = Callable[..., Txs3Process]


# -- options -----------------------------------------------------------------


def parse(*args: str) -> tap.Options:
    options = tap.Options()
    options.parseOptions(list(args))
    return options


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no options: ssl:443, ./data and ./certs (made absolute), us-east-1."""
    monkeypatch.chdir(tmp_path)
    options = parse()
    assert options["port"] == ["ssl:443"]
    assert options["data"] == str(tmp_path / "data")
    assert options["certs"] == str(tmp_path / "certs")
    assert options["credentials"] is None
    assert options["domain"] == []
    assert options["region"] == "us-east-1"


def test_repeatable_options() -> None:
    """--port and --domain may be given several times; domains are normalised."""
    options = parse(
        "--port",
        "tcp:8080",
        "-p",
        "ssl:8443",
        "--domain",
        "S3.Example.com.",
        "--domain",
        "s3.example.com",
        "--domain",
        "other.test",
        "--region",
        "garage",
    )
    assert options["port"] == ["tcp:8080", "ssl:8443"]
    assert options["domain"] == ["s3.example.com", "other.test"]
    assert options["region"] == "garage"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--region", "us east"], "--region"),
        (["--region", ""], "--region"),
        (["--domain", "bad_domain"], "--domain"),
        (["--domain", "a..b"], "--domain"),
        (["--port", " "], "--port"),
        (["--data", ""], "--data"),
        (["--no-such-option"], "no-such-option"),
        (["--max-connections", "0"], "--max-connections"),
        (["--max-connections", "lots"], "--max-connections"),
        (["--header-timeout", "0"], "--header-timeout"),
        (["--header-timeout", "never"], "--header-timeout"),
        (["--min-upload-rate", "-5"], "--min-upload-rate"),
        (["--min-upload-rate", "fast"], "--min-upload-rate"),
        (["--lifecycle-interval", "0"], "--lifecycle-interval"),
        (["--lifecycle-interval", "hourly"], "--lifecycle-interval"),
        (["--lifecycle-day-seconds", "-1"], "--lifecycle-day-seconds"),
        (["--lifecycle-day-seconds", "nan"], "--lifecycle-day-seconds"),
    ],
)
def test_bad_option_value(args: list[str], fragment: str) -> None:
    """A bad option value exits with one 'txs3: ...' line naming the option."""
    with pytest.raises(SystemExit) as e:
        parse(*args)
    message = str(e.value.code)
    assert message.startswith("txs3: ")
    assert fragment in message
    assert "\n" not in message


def test_limit_options() -> None:
    """The connection limits default as documented and take the values given."""
    default = parse()["limits"]
    assert default == Limits()
    assert (default.max_connections, default.header_timeout) == (4096, 20.0)
    assert default.min_upload_rate == 4096
    given = parse(
        "--max-connections",
        "100",
        "--header-timeout",
        "7.5",
        "--min-upload-rate",
        "16K",
    )["limits"]
    assert given == Limits(max_connections=100, header_timeout=7.5, min_upload_rate=16384)
    assert parse("--min-upload-rate", "0")["limits"].min_upload_rate == 0


def test_lifecycle_options() -> None:
    """The lifecycle pass runs hourly with AWS's days by default; both options take seconds."""
    default = parse()
    assert default["lifecycle-interval"] == 3600.0
    assert default["lifecycle-days"] == Days(86400)
    given = parse("--lifecycle-interval", "1", "--lifecycle-day-seconds", "2.5")
    assert given["lifecycle-interval"] == 1.0
    assert given["lifecycle-days"] == Days(2.5)


def listen_error(code: int, port: int = 443, interface: str = "") -> CannotListenError:
    return CannotListenError(interface, port, OSError(code, os.strerror(code)))


def test_describe_privileged_port() -> None:
    """EACCES says what to do: root, setcap on the real interpreter, or a high port."""
    message = txs3_service.describe_listen_error("ssl:443", listen_error(errno.EACCES))
    assert message.startswith("port 443 needs root or CAP_NET_BIND_SERVICE; ")
    assert "run as root" in message
    python = os.path.realpath(sys.executable)
    assert f"`setcap cap_net_bind_service=+ep {python}`" in message
    assert "--port ssl:8443" in message


def test_describe_port_in_use() -> None:
    """EADDRINUSE says the port is in use, and where."""
    message = txs3_service.describe_listen_error(
        "tcp:80", listen_error(errno.EADDRINUSE, 80, "127.0.0.1")
    )
    assert (
        message == "port 80 on 127.0.0.1 is already in use (is another server running?)"
    )


# -- the service, in process --------------------------------------------------


class RecordingStore:
    """Stands in for the store: records when it is opened and closed."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        events.append("open")

    def close(self) -> Deferred[None]:
        self.events.append("close")
        return succeed(None)


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Replace txs3.server with a module whose build_site records its calls."""
    calls: list[Any] = []

    def build_site(store: object, lookup: object, **kwargs: Any) -> Site:
        from twisted.web.resource import Resource

        calls.append((store, lookup, kwargs))
        return Site(Resource())

    module = types.ModuleType("txs3.server")
    module.build_site = build_site  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "txs3.server", module)
    return calls


@pytest_twisted.ensureDeferred
async def test_service_binds_then_opens_then_closes(
    tmp_path: Path, fake_server: list[Any]
) -> None:
    """Ports bind before the store opens; the store closes after they stop."""
    events: list[str] = []

    def lookup(key: str) -> None:
        return None

    service = txs3_service.TXS3Service(
        data=tmp_path,
        endpoints=[
            ("tcp:0", TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")),
            ("tcp:0 again", TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")),
        ],
        lookup=lookup,
        domains=["s3.test"],
        region="garage",
        reactor=reactor,
        open_store=lambda data, r: RecordingStore(events),  # type: ignore[arg-type,return-value]
    )
    service.privilegedStartService()
    assert events == []
    assert len(list(service)) == 2
    service.startService()
    assert events == ["open"]
    assert service.site is not None
    [(store, given_lookup, kwargs)] = fake_server
    assert store is service.store
    assert given_lookup is lookup
    assert kwargs == {
        "reactor": reactor,
        "domains": ("s3.test",),
        "region": "garage",
        "access_log": None,
        "access_log_format": "combined",
        "limits": None,
        "directory": None,
        "new_buckets": None,
        "lifecycle_days": None,
        "metrics_access": None,
    }
    lifecycle = service.lifecycle
    assert lifecycle is not None and lifecycle.running is None
    await service.stopService()
    assert events == ["open", "close"]
    assert service.store is None and service.lifecycle is None


def test_service_bind_failure_opens_no_store(
    tmp_path: Path, fake_server: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A port that cannot bind raises StartupError before the store is opened."""
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    events: list[str] = []
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        service = txs3_service.TXS3Service(
            data=tmp_path,
            endpoints=[
                (
                    f"tcp:{port}",
                    TCP4ServerEndpoint(reactor, port, interface="127.0.0.1"),
                )
            ],
            lookup=lambda key: None,
            domains=(),
            region="us-east-1",
            reactor=reactor,
            open_store=lambda data, r: RecordingStore(events),  # type: ignore[arg-type,return-value]
        )
        with pytest.raises(txs3_service.StartupError, match="already in use"):
            service.startService()
    assert events == []


# -- twistd txs3, as a subprocess --------------------------------------------


def run_txs3(
    args: Sequence[str],
    cwd: Path,
    *,
    command: Sequence[str] = (TWISTD, "-n", "--pidfile="),
    prefix: Sequence[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run C{prefix command txs3 args} in C{cwd} to completion."""
    return subprocess.run(
        [*prefix, *command, "txs3", *args],
        cwd=cwd,
        env=txs3_env(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_failure(
    result: subprocess.CompletedProcess[str], fragment: str
) -> str:
    """Non-zero exit, one line on stderr containing C{fragment}, no traceback."""
    output = f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode != 0, output
    assert "Traceback" not in result.stdout + result.stderr, output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, output
    assert fragment in lines[0], output
    return lines[0]


def tls_port(port: int, ca: TestCA, *extra: str) -> str:
    return (
        f"ssl:{port}:interface=127.0.0.1:privateKey={ca.key_file}:certKey={ca.cert_file}"
        + "".join(f":{e}" for e in extra)
    )


def test_bad_option_exits_cleanly(tmp_path: Path) -> None:
    """twistd txs3 with a bad option value prints one line and exits non-zero."""
    result = run_txs3(["--region", "not a region"], tmp_path)
    assert_one_line_failure(result, "txs3: --region")
    assert result.stdout == ""


def test_unknown_option_exits_cleanly(tmp_path: Path) -> None:
    """An unknown option gets one line, not twistd's full usage text."""
    result = run_txs3(["--bogus"], tmp_path)
    assert_one_line_failure(result, "--bogus")


@pytest.mark.parametrize(
    ("port", "fragment"),
    [
        ("nosuchtype:443", "Unknown endpoint type"),
        ("tcp:notaport", "bad --port 'tcp:notaport'"),
        ("tcp:8080:nosuchoption=1", "nosuchoption"),
        ("systemd:domain=INET:index=0", "systemd"),
    ],
)
def test_bad_endpoint_exits_cleanly(tmp_path: Path, port: str, fragment: str) -> None:
    """A bad endpoint string is one line naming it."""
    result = run_txs3(["--data", "d", "--port", port], tmp_path)
    assert_one_line_failure(result, fragment)


def test_missing_certificate_exits_cleanly(tmp_path: Path, test_ca: TestCA) -> None:
    """An endpoint naming a certificate file that does not exist names the file."""
    missing = tmp_path / "missing.pem"
    port = f"ssl:0:privateKey={test_ca.key_file}:certKey={missing}"
    result = run_txs3(["--data", "d", "--port", port], tmp_path)
    assert_one_line_failure(result, str(missing))


def test_unreadable_key_exits_cleanly(tmp_path: Path, test_ca: TestCA) -> None:
    """An endpoint naming a key file that cannot be read names the file."""
    unreadable = tmp_path / "key-is-a-directory"
    unreadable.mkdir()
    port = f"ssl:0:privateKey={unreadable}:certKey={test_ca.cert_file}"
    result = run_txs3(["--data", "d", "--port", port], tmp_path)
    assert_one_line_failure(result, str(unreadable))


def test_bad_key_exits_cleanly(tmp_path: Path, test_ca: TestCA) -> None:
    """A key file that holds no key is one line naming the file."""
    junk = tmp_path / "junk.key"
    junk.write_text("not a key\n")
    port = f"ssl:0:privateKey={junk}:certKey={test_ca.cert_file}"
    result = run_txs3(["--data", "d", "--port", port], tmp_path)
    assert_one_line_failure(result, f"{junk} holds no unencrypted PEM private key")


def test_bad_credentials_file_exits_cleanly(tmp_path: Path) -> None:
    """An unparseable credentials line is one error naming file and line."""
    creds = tmp_path / "creds"
    creds.write_text("# keys\nAKEY secret\nbroken\n")
    result = run_txs3(
        [
            "--data",
            "d",
            "--port",
            "tcp:0:interface=127.0.0.1",
            "--credentials",
            str(creds),
        ],
        tmp_path,
    )
    assert_one_line_failure(result, f"{creds}:3:")


@contextlib.contextmanager
def taken_port() -> Iterator[int]:
    """A port on 127.0.0.1 that a listening socket holds meanwhile."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_port_in_use_exits_cleanly(tmp_path: Path) -> None:
    """A port another socket holds is one line saying it is in use."""
    with taken_port() as port:
        result = run_txs3(
            ["--data", "d", "--port", f"tcp:{port}:interface=127.0.0.1"], tmp_path
        )
    assert_one_line_failure(result, f"port {port} on 127.0.0.1 is already in use")
    assert not (tmp_path / "d" / "index.sqlite3").exists()


def test_port_in_use_under_twist(tmp_path: Path) -> None:
    """`twist txs3` (the Procfile's command) reports a taken port the same way."""
    with taken_port() as port:
        result = run_txs3(
            ["--data", "d", "--port", f"tcp:{port}:interface=127.0.0.1"],
            tmp_path,
            command=(TWIST,),
        )
    assert_one_line_failure(result, "already in use")


def drop_capabilities(*names: str) -> list[str]:
    """
    A command prefix that runs the rest as root without capabilities
    C{names}, or skips the test when that is not possible.
    """
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv to drop root's capabilities")
    caps = ",".join(f"-{name}" for name in names)
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_privileged_port_exits_cleanly(tmp_path: Path) -> None:
    """Without CAP_NET_BIND_SERVICE, the default ssl:443 says how to fix it."""
    start = Path("/proc/sys/net/ipv4/ip_unprivileged_port_start")
    if start.exists() and int(start.read_text()) <= 443:
        pytest.skip("this kernel lets anyone bind port 443")
    prefix = drop_capabilities("net_bind_service") if os.geteuid() == 0 else []
    result = run_txs3(["--data", "d"], tmp_path, prefix=prefix)
    line = assert_one_line_failure(
        result, "port 443 needs root or CAP_NET_BIND_SERVICE"
    )
    assert "setcap cap_net_bind_service=+ep" in line
    assert "--port ssl:8443" in line


def test_unwritable_data_directory_exits_cleanly(tmp_path: Path) -> None:
    """A data directory that cannot be written is one line naming it."""
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o500)
    prefix = (
        drop_capabilities("dac_override", "dac_read_search")
        if os.geteuid() == 0
        else []
    )
    try:
        result = run_txs3(
            ["--data", str(data), "--port", "tcp:0:interface=127.0.0.1"],
            tmp_path,
            prefix=prefix,
        )
    finally:
        data.chmod(0o700)
    assert_one_line_failure(result, f"cannot write to data directory {data}")


def test_daemonized_startup_error(tmp_path: Path) -> None:
    """Daemonized, a taken port is reported by the waiting parent: non-zero, no traceback."""
    pidfile = tmp_path / "twistd.pid"
    logfile = tmp_path / "twistd.log"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_txs3(
            ["--data", "d", "--port", f"tcp:{port}:interface=127.0.0.1"],
            tmp_path,
            command=(TWISTD, f"--pidfile={pidfile}", f"--logfile={logfile}"),
        )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output
    assert "already in use" in result.stderr
    assert not pidfile.exists()
    assert "already in use" in logfile.read_text()


def test_daemonized_option_error(tmp_path: Path) -> None:
    """Daemonized, a bad endpoint fails before forking: one line, non-zero."""
    result = run_txs3(
        ["--data", "d", "--port", "nosuchtype:1"],
        tmp_path,
        command=(TWISTD, f"--pidfile={tmp_path / 'p'}", f"--logfile={tmp_path / 'l'}"),
    )
    assert_one_line_failure(result, "Unknown endpoint type")


def assert_clean_stop(server: Txs3Process) -> None:
    """
    SIGTERM stops C{server} through the reactor's shutdown.  Twisted then
    re-raises the signal, so the status is -SIGTERM rather than 0.
    """
    status = server.stop()
    assert status in (0, -signal.SIGTERM), server.log()
    assert "Main loop terminated." in server.log()


def test_start_with_generated_certificate(tmp_path: Path, start_txs3: Start) -> None:
    """
    Started with an ssl: port naming no files, txs3 makes and uses a
    self-signed certificate, logs its fingerprint, creates credentials and
    logs them once, and stops cleanly on SIGTERM.
    """
    port = free_port()
    args = [
        "--data",
        "data",
        "--certs",
        "certs",
        "--port",
        f"ssl:{port}:interface=127.0.0.1",
    ]
    server = start_txs3(args, cwd=tmp_path)
    try:
        server.wait_for_tls(port, tmp_path / "certs" / "server.pem")
    finally:
        assert_clean_stop(server)
    log = server.log()
    cert = tmp_path / "certs" / "server.pem"
    key = tmp_path / "certs" / "server.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert f"SHA-256 fingerprint {tls.certificate_fingerprint(cert)}" in log
    creds = tmp_path / "data" / "credentials"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    access, secret = creds.read_text().splitlines()[1].split()[:2]
    assert f"access key {access} secret key {secret}" in log
    assert "Connection limits: 4096 connections, 20 s for a request head" in log
    assert "Traceback" not in log

    server = start_txs3(args, cwd=tmp_path)
    try:
        server.wait_for_tls(port, cert)
    finally:
        assert_clean_stop(server)
    again = server.log()[len(log) :]
    assert secret not in again
    assert "Created a self-signed" not in again
    assert f"SHA-256 fingerprint {tls.certificate_fingerprint(cert)}" in again


def test_start_with_named_certificate_and_env_credentials(
    tmp_path: Path, test_ca: TestCA, start_txs3: Start
) -> None:
    """
    An ssl: port naming its files uses them (no certs/ directory is made);
    TXS3_ACCESS_KEY/TXS3_SECRET_KEY are used and no credentials file is
    written; two --port options both listen.
    """
    port, plain = free_port(), free_port()
    server = start_txs3(
        [
            "--data",
            "data",
            "--port",
            tls_port(port, test_ca),
            "--port",
            f"tcp:{plain}:interface=127.0.0.1",
        ],
        cwd=tmp_path,
        env={"TXS3_ACCESS_KEY": "ENVKEY", "TXS3_SECRET_KEY": "envsecret"},
    )
    try:
        server.wait_for_tls(port, test_ca.ca_file)
        with socket.create_connection(("127.0.0.1", plain), timeout=10) as conn:
            conn.sendall(
                b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
            assert conn.recv(12).startswith(b"HTTP/1.1 ")
    finally:
        assert_clean_stop(server)
    assert not (tmp_path / "certs").exists()
    assert not (tmp_path / "data" / "credentials").exists()
    assert "1 access key(s) from environment" in server.log()
    fingerprint = tls.certificate_fingerprint(test_ca.cert_file)
    assert f"SHA-256 fingerprint {fingerprint}" in server.log()


# -- the plugin ---------------------------------------------------------------


def test_twistd_lists_plugin(tmp_path: Path) -> None:
    """`twistd --help` lists txs3 with its description."""
    result = subprocess.run(
        [TWISTD, "--help"], cwd=tmp_path, env=txs3_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "txs3" in result.stdout
    assert "An S3-compatible object storage server" in result.stdout


def test_python_m_twisted_help(tmp_path: Path) -> None:
    """`python -m twisted txs3 --help` shows the txs3 options."""
    result = subprocess.run(
        [sys.executable, "-m", "twisted", "txs3", "--help"],
        cwd=tmp_path,
        env=txs3_env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    for option in (
        "--port",
        "--data",
        "--certs",
        "--credentials",
        "--domain",
        "--region",
    ):
        assert option in result.stdout


def test_plugin_module_is_import_light() -> None:
    """Importing the plugin module does not import txs3 itself."""
    code = (
        "import sys; import twisted.plugins.txs3_plugin as p; "
        "assert p.txs3.tapname == 'txs3'; "
        "assert not [m for m in sys.modules if m.startswith('txs3')], sys.modules"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=txs3_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_access_log_option(tmp_path: Path, start_txs3: Start) -> None:
    """With --access-log FILE each request gets a combined-format line in FILE; without it, none."""
    import urllib.error
    import urllib.request

    port = free_port()
    args = ["--data", "data", "--certs", "certs", "--port", f"ssl:{port}:interface=127.0.0.1"]
    server = start_txs3([*args, "--access-log", "access.log"], cwd=tmp_path)
    cert = tmp_path / "certs" / "server.pem"
    try:
        server.wait_for_tls(port, cert)
        context = ssl.create_default_context(cafile=str(cert))
        try:
            urllib.request.urlopen(f"https://127.0.0.1:{port}/", context=context)
        except urllib.error.HTTPError as e:
            assert e.code == 403  # anonymous
    finally:
        assert_clean_stop(server)
    assert '"GET / HTTP/1.1" 403' in (tmp_path / "access.log").read_text()
    assert '"GET / HTTP/1.1"' not in server.log()
