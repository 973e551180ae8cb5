"""
Where a txs3 process spends its time serving 4 KiB GETs (optional).

Starts C{twistd -n txs3} as in L{small_objects}, drives it with the same
signed 4 KiB GET (C{wrk -t2 -c16}), and meanwhile lets py-spy sample the
server process for C{--duration} seconds (100 Hz, non-blocking, idle
samples dropped).  Prints the top functions by own ("self") time, by
inclusive time, and own time grouped by package, so that it shows what
bounds small-GET speed.

Needs py-spy (C{/work/venv/bin/pip install py-spy}) and wrk
(C{apt-get install -y wrk}); py-spy needs ptrace rights on the server
process (root, or C{kernel.yama.ptrace_scope=0}).

    /work/venv/bin/python bench/profile_get.py [--duration 10] [--native]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _common import make_certificate, start_txs3
from small_objects import WRK_INSTALL, run_wrk, txs3_targets

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")

# Own time grouped by where the leaf frame's code lives.
_GROUPS = [
    ("txs3.auth (SigV4)", "txs3/auth/"),
    ("txs3.store", "txs3/store/"),
    ("txs3.api", "txs3/api/"),
    ("txs3 (server, body, other)", "txs3/"),
    ("klein", "klein/"),
    ("werkzeug (routing)", "werkzeug/"),
    ("twisted.web", "twisted/web/"),
    ("twisted.protocols.tls", "twisted/protocols/tls"),
    ("twisted.logger/python.log", "twisted/logger/"),
    ("twisted.logger/python.log", "twisted/python/log"),
    ("twisted.internet (reactor, Deferred)", "twisted/internet/"),
    ("syscalls in untilConcludes (socket send, log write)", "twisted/python/util.py"),
    ("twisted (other)", "twisted/"),
    ("pyOpenSSL / cffi", "OpenSSL/"),
    ("sqlite3", "sqlite3/"),
    ("zope.interface", "zope/"),
    ("hmac/hashlib", "hmac.py"),
    ("hmac/hashlib", "hashlib.py"),
    ("threading/queue (thread pool)", "threading.py"),
    ("threading/queue (thread pool)", "queue.py"),
]


# Inclusive time of the stages of one GET: a sample counts for a stage when
# any frame of its stack matches.  Stages may nest (SigV4 is inside
# "gotLength"), so the column does not add up to 100%.  TLS, HTTP parsing
# and socket calls wrap everything else on the stack: see own time by
# package for them.
_STAGES = [
    ("S3Request.gotLength: classify + auth + bucket owner check",
     r"^S3Request\.gotLength "),
    ("  SigV4 verification (txs3.auth)", r"\(.*txs3/auth/"),
    ("  bucket lookup (SQLiteStore.get_bucket)", r"^SQLiteStore\.get_bucket "),
    ("Klein resource + werkzeug routing + handler", r"^KleinResource\.render "),
    ("  txs3 GetObject handler (api/obj.py)", r"^get_object \(.*txs3/api/"),
    ("  object metadata lookup (SQLite)",
     r"^SQLiteStore\.(open_object|head_object) "),
    ("  body out (streaming.send_range)", r"^send_range "),
    ("all SQLite (txs3/store/sqlite*.py)", r"\(.*txs3/store/sqlite(_index)?\.py"),
    ("access log (HTTPFactory.log + log observers)",
     r"^(HTTPFactory\.log|FileLogObserver|LogPublisher\.__call__|LoggingFile\.write) "),
]  # fmt: skip

# Plumbing that is on (nearly) every stack; left out of the inclusive list.
_PLUMBING = re.compile(
    r"\((twistd|twisted/(internet|application|scripts)/|twisted/python/"
    r"(log|context|failure)\.py)"
)


def short(frame: str) -> str:
    """C{func (path/to/site-packages/pkg/mod.py:12)} -> C{func (pkg/mod.py)}."""
    m = _FRAME.match(frame)
    if not m:
        return frame
    path = m.group("file")
    for marker in ("site-packages/", "/work/main/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m.group('func')} ({path})"


def group_of(frame: str) -> str:
    m = _FRAME.match(frame)
    path = m.group("file") if m else frame
    for name, marker in _GROUPS:
        if marker in path:
            return name
    if "/lib/python3" in path or path.startswith("<"):
        return "stdlib / other"
    return "native / other"


def analyse(raw: Path, top: int) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    stages: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        # py-spy puts "process ..." / "thread ..." pseudo-frames first.
        frames = [f for f in frames if not re.match(r"^(process|thread) ", f)]
        if not frames:
            continue
        total += count
        own[short(frames[-1])] += count
        groups[group_of(frames[-1])] += count
        names = {short(f) for f in frames}
        for f in names:
            inclusive[f] += count
        for label, pattern in _STAGES:
            if any(re.search(pattern, f) for f in names):
                stages[label] += count
    if not total:
        return "py-spy recorded no samples."

    def pct(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    lines = [f"{total} samples (busy time only; idle waits dropped)", ""]
    lines.append(f"Top {top} functions by own time:")
    lines += [f"  {pct(n)}  {name}" for name, n in own.most_common(top)]
    lines += ["", f"Top {top} functions by inclusive time (reactor plumbing left out):"]
    useful = [(k, n) for k, n in inclusive.most_common() if not _PLUMBING.search(k)]
    lines += [f"  {pct(n)}  {name}" for name, n in useful[:top]]
    lines += ["", "Own time by package:"]
    lines += [f"  {pct(n)}  {name}" for name, n in groups.most_common()]
    lines += ["", "Inclusive time by stage of a GET (stages nest):"]
    lines += [f"  {pct(stages[label])}  {label}" for label, _ in _STAGES]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds to record")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--native", action="store_true", help="include C frames (py-spy --native)"
    )
    parser.add_argument("--launcher", action="store_true",
                        help="start txs3 with bench/txs3_launcher.py")  # fmt: skip
    parser.add_argument("--raw", help="also keep py-spy's collapsed stacks here")
    args = parser.parse_args()

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not os.path.exists(py_spy):
        raise SystemExit("py-spy is not installed: /work/venv/bin/pip install py-spy")
    if not shutil.which("wrk"):
        raise SystemExit(f"wrk is not installed: {WRK_INSTALL}")

    workdir = Path(tempfile.mkdtemp(prefix="txs3-bench-profile-"))
    cert = make_certificate(workdir / "tls")
    server = start_txs3(workdir / "txs3", cert, launcher=args.launcher)
    raw = workdir / "get.collapsed"
    try:
        target = txs3_targets(server, cert, os.urandom(4096))["GET"]
        spy_cmd = [
            py_spy, "record",
            "--pid", str(server.proc.pid),
            "--duration", str(args.duration),
            "--rate", "100",
            "--nonblocking",
            "--format", "raw",
            "--output", str(raw),
        ]  # fmt: skip
        if args.native:
            spy_cmd.append("--native")
        # Load first, so that py-spy sees the steady state only.
        wrk_run: dict[str, object] = {}
        import threading

        load = threading.Thread(
            target=lambda: wrk_run.update(
                result=run_wrk(target, workdir, args.duration + 3)
            )
        )
        load.start()
        time.sleep(1)
        spy = subprocess.run(spy_cmd, capture_output=True, text=True, check=False)
        load.join()
        if spy.returncode != 0 or not raw.exists():
            raise SystemExit(f"py-spy failed ({spy.returncode}): {spy.stderr.strip()}")
        result = wrk_run["result"]
        print(
            f"GET 4KiB under py-spy: {result.ops:.0f} ops/s "  # type: ignore[attr-defined]
            f"(non-2xx {result.non2xx}, socket errors "  # type: ignore[attr-defined]
            f"{result.socket_errors}; sampling slows the server a little)"  # type: ignore[attr-defined]
        )
        print(analyse(raw, args.top))
        lag = [ln for ln in spy.stderr.splitlines() if "behind" in ln or "lag" in ln]
        if lag:
            print(f"\npy-spy: {lag[-1].strip()}")
        if args.raw:
            shutil.copy(raw, args.raw)
            print(f"\ncollapsed stacks kept in {args.raw} (feed to flamegraph.pl)")
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
