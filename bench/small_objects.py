"""
4 KiB PUT and GET operations per second: txs3 against a bare twisted.web.

Starts, side by side on 127.0.0.1, both over HTTPS with the same
test certificate:

- C{twistd -n txs3} (fresh data directory, one access key);
- C{bench/static_server.py}: C{twisted.web.static.File} for GET and a
  C{render_PUT} that writes the body to the file, with no fsync, no
  hashing, no auth and no metadata.  It is the floor of what twisted.web
  does on this machine, not a fair durability comparison: txs3 fsyncs,
  renames and commits SQLite for every PUT.

The load comes from C{wrk -t2 -c16 -d10s} (16 keep-alive connections, 2
threads) with a Lua script that sets the method, headers and body.  txs3
requests are SigV4-signed once, up front, by botocore (a GET of one 4 KiB
key; a PUT of a fixed 4 KiB body, payload SHA-256 signed, to one key) and
replayed: a signature stays valid for 15 minutes.  Each fixed request is
sent once with http.client first and must succeed.  A run with non-2xx
answers or socket errors is reported as invalid.

Without wrk (C{apt-get install -y wrk} on Debian/Ubuntu), or with
C{--client python}, a Python load generator is used instead: 2 processes
x 8 threads, one keep-alive connection each; it is much slower than wrk
and is then the bottleneck for GET.

    /work/venv/bin/python bench/small_objects.py [--duration 10] [--only get]
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from _common import (
    BUCKET,
    HOST,
    CertFiles,
    Server,
    client_context,
    ensure_bucket,
    make_certificate,
    request,
    send_head,
    sign,
    start_static,
    start_txs3,
)

SIZE = 4096
CONNECTIONS = 16
THREADS = 2
GET_KEY = "get4k"
PUT_KEY = "put4k"
WRK_INSTALL = "apt-get install -y wrk   (Debian/Ubuntu; brew install wrk on macOS)"


@dataclass
class Target:
    """One fixed request to replay."""

    label: str
    server: Server
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class Result:
    ops: float = 0.0
    requests: int = 0
    non2xx: int = 0
    socket_errors: int = 0
    latency: str = ""
    server_cpu: float = 0.0
    raw: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.requests > 0 and self.non2xx == 0 and self.socket_errors == 0


def send_target(conn: http.client.HTTPConnection, target: Target) -> None:
    """Send the request C{target} on C{conn}."""
    length = len(target.body) if target.method == "PUT" else None
    send_head(
        conn, target.method, target.path, target.headers, target.body or None, length
    )


def check_once(target: Target, cert: CertFiles) -> None:
    """Send C{target} once with http.client; exit with the details if it fails."""
    conn = http.client.HTTPSConnection(
        HOST, target.server.port, context=client_context(cert), timeout=30
    )
    try:
        send_target(conn, target)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200 or (target.method == "GET" and len(body) != SIZE):
        raise SystemExit(
            f"{target.label}: {target.method} {target.path} with headers "
            f"{target.headers} answered {response.status} {response.reason}, "
            f"{response.getheaders()}, body {body[:2000]!r}"
        )


def lua_string(value: str | bytes) -> str:
    """A Lua long-free string literal (escape every byte that is not plain)."""
    data = value.encode("latin-1") if isinstance(value, str) else value
    out = []
    for b in data:
        c = chr(b)
        if c.isalnum() or c in " -_.:/=,;+*()%":
            out.append(c)
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


def write_lua(target: Target, directory: Path) -> Path:
    """The wrk script that sends C{target} over and over."""
    lines = [f"wrk.method = {lua_string(target.method)}", "wrk.headers = {}"]
    for name, value in target.headers.items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    if target.body:
        body_file = directory / f"{target.label}-{target.method}.body"
        body_file.write_bytes(target.body)
        lines += [
            f"local f = assert(io.open({lua_string(str(body_file))}, 'rb'))",
            "wrk.body = f:read('*a')",
            "f:close()",
        ]
    script = directory / f"{target.label}-{target.method}.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


def _server_cpu(server: Server) -> float:
    try:
        t = psutil.Process(server.proc.pid).cpu_times()
        return float(t.user + t.system)
    except psutil.NoSuchProcess:
        return 0.0


def run_wrk(target: Target, directory: Path, duration: float) -> Result:
    script = write_lua(target, directory)
    url = target.server.url + target.path
    cmd = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{duration:g}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    cpu0, t0 = _server_cpu(target.server), time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    cpu1, t1 = _server_cpu(target.server), time.monotonic()
    out = proc.stdout + proc.stderr
    result = Result(raw=out, server_cpu=100 * (cpu1 - cpu0) / (t1 - t0))
    if proc.returncode != 0:
        result.notes.append(f"wrk exited {proc.returncode}")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    result.ops = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", out)
    result.requests = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result.non2xx = int(m.group(1)) if m else 0
    m = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    result.socket_errors = sum(int(g) for g in m.groups()) if m else 0
    m = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", out, re.MULTILINE)
    if m:
        result.latency = f"avg {m.group(1)}, max {m.group(3)}"
    m = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    if m:
        result.latency += f", p99 {m.group(1)}"
    return result


# -- Python fallback load generator ------------------------------------------


def _python_worker(
    target: Target,
    cafile: str,
    connections: int,
    duration: float,
    queue: multiprocessing.Queue[tuple[int, int, int]],
) -> None:
    import ssl

    counts = [0, 0, 0]  # ok, non-2xx, errors
    lock = threading.Lock()
    deadline = time.monotonic() + duration

    def loop() -> None:
        ctx = ssl.create_default_context(cafile=cafile)
        ok = bad = err = 0
        conn = http.client.HTTPSConnection(HOST, target.server.port, context=ctx)
        while time.monotonic() < deadline:
            try:
                send_target(conn, target)
                response = conn.getresponse()
                response.read()
                if 200 <= response.status < 400:
                    ok += 1
                else:
                    bad += 1
            except (OSError, http.client.HTTPException):
                err += 1
                conn.close()
                conn = http.client.HTTPSConnection(
                    HOST, target.server.port, context=ctx
                )
        conn.close()
        with lock:
            counts[0] += ok
            counts[1] += bad
            counts[2] += err

    threads = [threading.Thread(target=loop) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put((counts[0], counts[1], counts[2]))


def run_python(target: Target, cert: CertFiles, duration: float) -> Result:
    queue: multiprocessing.Queue[tuple[int, int, int]] = multiprocessing.Queue()
    per = CONNECTIONS // THREADS
    procs = [
        multiprocessing.Process(
            target=_python_worker,
            args=(target, str(cert.ca), per, duration, queue),
        )
        for _ in range(THREADS)
    ]
    cpu0, t0 = _server_cpu(target.server), time.monotonic()
    for p in procs:
        p.start()
    totals = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    cpu1, t1 = _server_cpu(target.server), time.monotonic()
    ok = sum(t[0] for t in totals)
    result = Result(
        ops=ok / duration,
        requests=ok + sum(t[1] for t in totals),
        non2xx=sum(t[1] for t in totals),
        socket_errors=sum(t[2] for t in totals),
        server_cpu=100 * (cpu1 - cpu0) / (t1 - t0),
        notes=["python client (2 processes x 8 threads)"],
    )
    return result


# -- set-up -------------------------------------------------------------------


def txs3_targets(server: Server, cert: CertFiles, body: bytes) -> dict[str, Target]:
    """Create the bucket and the GET object; sign the two fixed requests."""
    ensure_bucket(server, cert)
    status, _, answer = request(server, cert, "PUT", f"/{BUCKET}/{GET_KEY}", body)
    if status != 200:
        raise SystemExit(f"txs3: PUT /{BUCKET}/{GET_KEY} answered {status}: {answer!r}")
    get_path, put_path = f"/{BUCKET}/{GET_KEY}", f"/{BUCKET}/{PUT_KEY}"
    return {
        "GET": Target(
            "txs3",
            server,
            "GET",
            get_path,
            sign("GET", server.url + get_path, body=b""),
        ),
        "PUT": Target(
            "txs3",
            server,
            "PUT",
            put_path,
            sign(
                "PUT",
                server.url + put_path,
                body=body,
                headers={"Content-Type": "application/octet-stream"},
            ),
            body,
        ),
    }


def static_targets(server: Server, body: bytes, root: Path) -> dict[str, Target]:
    (root / GET_KEY).write_bytes(body)
    host = {"Host": f"{HOST}:{server.port}"}
    return {
        "GET": Target("twisted.web", server, "GET", f"/{GET_KEY}", dict(host)),
        "PUT": Target(
            "twisted.web",
            server,
            "PUT",
            f"/{PUT_KEY}",
            {**host, "Content-Type": "application/octet-stream"},
            body,
        ),
    }


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per run")
    parser.add_argument("--warmup", type=float, default=2, help="seconds, discarded")
    parser.add_argument("--only", choices=["get", "put"], help="run one operation")
    parser.add_argument(
        "--client", choices=["wrk", "python"], default=None,
        help="load generator (default: wrk if installed, else python)",
    )  # fmt: skip
    parser.add_argument("--launcher", action="store_true",
                        help="start txs3 with bench/txs3_launcher.py")  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="print wrk output")
    args = parser.parse_args()

    client = args.client or ("wrk" if have_wrk() else "python")
    if client == "wrk" and not have_wrk():
        raise SystemExit(f"wrk is not installed: {WRK_INSTALL}")
    if client == "python":
        print(
            "NOTE: using the Python load generator (wrk "
            + ("not installed: " + WRK_INSTALL if not have_wrk() else "not chosen")
            + "); it is slower than wrk and may be the bottleneck."
        )

    workdir = Path(tempfile.mkdtemp(prefix="txs3-bench-small-"))
    cert = make_certificate(workdir / "tls")
    body = os.urandom(SIZE)
    servers: list[Server] = []
    rows: dict[str, dict[str, Result]] = {}
    try:
        txs3 = start_txs3(workdir / "txs3", cert, launcher=args.launcher)
        servers.append(txs3)
        static = start_static(workdir / "twisted", cert)
        servers.append(static)
        targets = {
            "txs3": txs3_targets(txs3, cert, body),
            "twisted.web": static_targets(static, body, workdir / "twisted" / "static"),
        }
        ops = ["GET", "PUT"] if not args.only else [args.only.upper()]
        print(
            f"{client}: {THREADS} threads, {CONNECTIONS} connections, "
            f"{args.duration:g} s per run (+{args.warmup:g} s warm-up), "
            f"4 KiB bodies, HTTPS on {HOST}"
        )
        for op in ops:
            for label in ("txs3", "twisted.web"):
                target = targets[label][op]
                check_once(target, cert)
                if client == "wrk":
                    if args.warmup > 0:
                        run_wrk(target, workdir, args.warmup)
                    result = run_wrk(target, workdir, args.duration)
                else:
                    if args.warmup > 0:
                        run_python(target, cert, args.warmup)
                    result = run_python(target, cert, args.duration)
                rows.setdefault(op, {})[label] = result
                state = "ok" if result.valid else "INVALID"
                print(
                    f"  {op} {label:<12} {result.ops:>9.1f} ops/s  "
                    f"{result.requests} requests, non-2xx {result.non2xx}, "
                    f"socket errors {result.socket_errors}, server CPU "
                    f"{result.server_cpu:.0f}%, latency {result.latency or '-'} "
                    f"[{state}]"
                )
                if args.verbose or not result.valid:
                    print("    " + result.raw.replace("\n", "\n    "))
    finally:
        for s in servers:
            s.stop()
        for s in servers:
            if s.proc.returncode not in (0, -15, None):
                print(f"{s.name} exited {s.proc.returncode}; log tail:\n{s.tail()}")
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(
        f"{'operation':<10} {'txs3 ops/s':>12} {'twisted.web ops/s':>18} {'ratio':>7}"
    )
    for op, results in rows.items():
        a, b = results["txs3"], results["twisted.web"]
        ratio = a.ops / b.ops if b.ops else float("nan")
        flag = "" if a.valid and b.valid else "  (INVALID: errors in a run)"
        print(f"{op + ' 4KiB':<10} {a.ops:>12.1f} {b.ops:>18.1f} {ratio:>7.3f}{flag}")
    print()
    for op, results in rows.items():
        a, b = results["txs3"], results["twisted.web"]
        ratio = a.ops / b.ops if b.ops else float("nan")
        print(
            f"{op} 4KiB: txs3 {a.ops:.0f} ops/s, twisted.web {b.ops:.0f} ops/s, "
            f"ratio {ratio:.2f}"
        )
    print(
        "\ntwisted.web PUT writes the file with no fsync, no hashing, no auth and "
        "no metadata: it is the floor, not a fair durability comparison (txs3 "
        "fsyncs, renames and commits its index on every PUT)."
    )
    if any(not r.valid for results in rows.values() for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
