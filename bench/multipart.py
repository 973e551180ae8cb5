"""
Server memory and throughput for concurrent big multipart uploads.

Starts C{twistd -n txs3} on 127.0.0.1 (HTTPS, a fresh test
certificate, a fresh data directory), creates a bucket, then:

1. runs C{--uploads} multipart uploads at the same time (default 10), each
   of one C{--size} object (default 1 GiB) in C{--part-size} parts (default
   64 MiB), with boto3's C{create_multipart_upload} / C{upload_part} /
   C{complete_multipart_upload}.  Each upload has its own client process
   (so that the uploads really overlap and the GIL of one client does not
   serialise them) and sends its parts one after the other; all start
   together after a barrier.  A part body is a seekable file-like object
   that generates deterministic, incompressible bytes on the fly (a 1 MiB
   random block made once, each 1 MiB piece prefixed by its upload and piece
   number): no part is ever held whole by the client.  boto3's defaults
   otherwise: payload not signed (HTTPS), CRC32 trailer checksum in an
   C{aws-chunked} body (C{--checksum when_required} sends plain bodies);
2. times CompleteMultipartUpload: for each of those uploads (under the
   load of the others), then with the server quiet for one more C{--size}
   upload and for 1 MiB uploads of one part (median of 5);
3. verifies: each object's ETag has the C{-N} form and is the MD5 of the
   part ETags the server returned; two part ETags of upload 0 are the MD5 of
   the bytes generated; HEAD gives the right size; ranged GETs of a few
   bytes in the middle (one across a part boundary) match the bytes sent;

while a sampler thread reads the server process's RSS (plus any children)
with psutil every 20 ms, for the whole run.  Prints total bytes, wall time,
aggregate MiB/s, peak server RSS per phase, CPU seconds of server and
clients, and the completion times.  Target: peak server RSS < 200 MiB.

Refuses to start unless the temp directory's file system has
C{size * (uploads + 1) * 1.2} bytes free; removes the temp directory (data
included) at the end, also on failure, unless C{--keep}.

    /work/venv/bin/python bench/multipart.py [--uploads 10] [--size 1GiB] \
        [--part-size 64MiB] [--checksum when_supported|when_required] \
        [--tmpdir DIR] [--launcher] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import multiprocessing as mp
import os
import resource
import shutil
import statistics
import struct
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from _common import (
    ACCESS_KEY,
    BUCKET,
    REGION,
    SECRET_KEY,
    CertFiles,
    MiB,
    add_server_options,
    ensure_bucket,
    human,
    make_certificate,
    parse_size,
    start_txs3,
)
from memory import RSSSampler

TARGET_PEAK = 200 * MiB
SMALL = MiB
SMALL_REPEATS = 5
PREFIX = 16  # bytes of each 1 MiB piece that say which upload and piece it is


# -- deterministic data ------------------------------------------------------


def piece_bytes(block: bytes, upload: int, piece: int) -> bytes:
    """The 1 MiB piece number C{piece} of object number C{upload}."""
    return struct.pack(">QQ", upload, piece) + block[PREFIX:]


def expected(block: bytes, upload: int, offset: int, length: int) -> bytes:
    """Bytes C{offset} .. C{offset + length} of object number C{upload}."""
    out = bytearray()
    while length > 0:
        piece, within = divmod(offset, MiB)
        take = min(length, MiB - within)
        out += piece_bytes(block, upload, piece)[within : within + take]
        offset += take
        length -= take
    return bytes(out)


class PartStream(io.RawIOBase):
    """
    A seekable, read-only file of C{length} bytes: object number C{upload}
    from byte C{start} on, generated one 1 MiB piece at a time.
    """

    def __init__(self, block: bytes, upload: int, start: int, length: int) -> None:
        super().__init__()
        self._block = block
        self._upload = upload
        self._start = start
        self._length = length
        self._pos = 0
        self._piece = -1
        self._data = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}
        self._pos = max(0, base[whence] + offset)
        return self._pos

    def __len__(self) -> int:
        return self._length

    def read(self, size: int | None = -1) -> bytes:
        remaining = self._length - self._pos
        if remaining <= 0:
            return b""
        if size is None or size < 0 or size > remaining:
            size = remaining
        where = self._start + self._pos
        piece, within = divmod(where, MiB)
        if piece != self._piece:
            self._piece = piece
            self._data = piece_bytes(self._block, self._upload, piece)
        size = min(size, MiB - within)
        self._pos += size
        if within == 0 and size == MiB:
            return self._data
        return self._data[within : within + size]

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        chunks = []
        while chunk := self.read(MiB):
            chunks.append(chunk)
        return b"".join(chunks)


# -- client ------------------------------------------------------------------


def make_client(url: str, cafile: str, checksum: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        verify=cafile,
        config=Config(
            s3={"addressing_style": "path", "payload_signing_enabled": False},
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=30,
            read_timeout=600,
            request_checksum_calculation=checksum,
            response_checksum_validation="when_required",
            max_pool_connections=2,
        ),
    )


@dataclass
class UploadResult:
    index: int
    key: str
    size: int
    parts: list[tuple[int, str]] = field(default_factory=list)
    etag: str = ""
    started: float = 0.0  # time.time() at the start of CreateMultipartUpload
    uploaded: float = 0.0  # after the last UploadPart
    finished: float = 0.0  # after CompleteMultipartUpload
    complete_seconds: float = 0.0
    part_seconds: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    peak_rss: int = 0
    error: str = ""


def multipart_upload(
    client: Any,
    block: bytes,
    index: int,
    key: str,
    size: int,
    part_size: int,
    result: UploadResult,
) -> UploadResult:
    """One whole multipart upload, parts one after the other."""
    result.started = time.time()
    upload_id = client.create_multipart_upload(
        Bucket=BUCKET, Key=key, ContentType="application/octet-stream"
    )["UploadId"]
    try:
        for number, start in enumerate(range(0, size, part_size), 1):
            length = min(part_size, size - start)
            t0 = time.perf_counter()
            answer = client.upload_part(
                Bucket=BUCKET,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                ContentLength=length,
                Body=PartStream(block, index, start, length),
            )
            result.part_seconds.append(time.perf_counter() - t0)
            result.parts.append((number, answer["ETag"]))
        result.uploaded = time.time()
        t0 = time.perf_counter()
        done = client.complete_multipart_upload(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={
                "Parts": [{"PartNumber": n, "ETag": e} for n, e in result.parts]
            },
        )
        result.complete_seconds = time.perf_counter() - t0
        result.finished = time.time()
        result.etag = done["ETag"]
    except BaseException:
        try:
            client.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id)
        except Exception:
            pass
        raise
    return result


def worker(
    index: int,
    url: str,
    cafile: str,
    checksum: str,
    block: bytes,
    size: int,
    part_size: int,
    barrier: Any,
    results: Any,
) -> None:
    """Process body: one upload, after every worker is ready."""
    result = UploadResult(index, f"big-{index:02d}", size)
    try:
        client = make_client(url, cafile, checksum)
        client.head_bucket(Bucket=BUCKET)  # connect (TLS) before the start
        cpu0 = time.process_time()
        barrier.wait(timeout=120)
        multipart_upload(client, block, index, result.key, size, part_size, result)
        result.cpu_seconds = time.process_time() - cpu0
    except BaseException as e:
        result.error = f"{e!r}\n{traceback.format_exc()}"
        try:
            barrier.abort()
        except Exception:
            pass
    result.peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    results.put(result)


def run_concurrent(
    args: argparse.Namespace,
    url: str,
    cert: CertFiles,
    block: bytes,
    sampler: RSSSampler,
    server_proc: psutil.Process,
) -> tuple[list[UploadResult], float, float, float, dict[str, float]]:
    """
    The concurrent uploads; returns (results, wall seconds, server CPU
    seconds, start time, whole-machine CPU seconds by state).
    """
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(args.uploads + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=worker,
            args=(
                i,
                url,
                str(cert.ca),
                args.checksum,
                block,
                args.size,
                args.part_size,
                barrier,
                results,
            ),
            daemon=True,
        )
        for i in range(args.uploads)
    ]
    for p in procs:
        p.start()
    collected: list[UploadResult] = []
    try:
        barrier.wait(timeout=180)
        cpu = server_proc.cpu_times()
        server_cpu0 = cpu.user + cpu.system
        machine0 = psutil.cpu_times()
        sampler.set_phase("concurrent")
        t0 = time.time()
        for _ in procs:
            collected.append(results.get(timeout=3600))
            if collected[-1].error:
                break
        wall = time.time() - t0
        sampler.set_phase("after-concurrent")
        cpu = server_proc.cpu_times()
        server_cpu = cpu.user + cpu.system - server_cpu0
        machine1 = psutil.cpu_times()
        machine = {
            name: getattr(machine1, name) - getattr(machine0, name)
            for name in machine1._fields
        }
    except BaseException:
        for p in procs:
            if p.is_alive():
                p.terminate()
        raise
    finally:
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
                p.join()
    collected.sort(key=lambda r: r.index)
    return collected, wall, server_cpu, t0, machine


# -- verification ------------------------------------------------------------


def multipart_etag(part_etags: list[str]) -> str:
    digest = hashlib.md5(b"".join(bytes.fromhex(e.strip('"')) for e in part_etags))
    return f'"{digest.hexdigest()}-{len(part_etags)}"'


def verify(
    client: Any, block: bytes, results: list[UploadResult], part_size: int
) -> list[str]:
    """Returns a list of problems (empty when everything matches)."""
    problems = []
    for r in results:
        want = multipart_etag([e for _, e in r.parts])
        if r.etag != want:
            problems.append(f"{r.key}: ETag {r.etag} is not {want}")
        head = client.head_object(Bucket=BUCKET, Key=r.key)
        if head["ContentLength"] != r.size:
            problems.append(f"{r.key}: HEAD size {head['ContentLength']} != {r.size}")
        if head["ETag"] != r.etag:
            problems.append(f"{r.key}: HEAD ETag {head['ETag']} != {r.etag}")
    first = results[0]
    nparts = len(first.parts)
    for number in sorted({1, nparts}):
        start = (number - 1) * part_size
        length = min(part_size, first.size - start)
        md5 = hashlib.md5(expected(block, first.index, start, length)).hexdigest()
        got = first.parts[number - 1][1].strip('"')
        if got != md5:
            problems.append(f"{first.key} part {number}: ETag {got} != MD5 {md5}")
    # Ranged GETs: across the part boundary nearest the middle, and inside a
    # part across a 1 MiB piece boundary.
    size = first.size
    boundary = max(part_size, (nparts // 2) * part_size)
    ranges = [(min(boundary, size) - 7, 16), (size // 2 + MiB // 2 + MiB - 5, 11)]
    for r in (results[0], results[-1]):
        for offset, length in ranges:
            offset = max(0, min(offset, r.size - length))
            answer = client.get_object(
                Bucket=BUCKET, Key=r.key, Range=f"bytes={offset}-{offset + length - 1}"
            )
            data = answer["Body"].read()
            want_bytes = expected(block, r.index, offset, length)
            if data != want_bytes:
                problems.append(
                    f"{r.key} bytes {offset}+{length}: got {data.hex()}, "
                    f"want {want_bytes.hex()}"
                )
            if answer["ResponseMetadata"]["HTTPStatusCode"] != 206:
                problems.append(f"{r.key}: ranged GET status is not 206")
    return problems


# -- main --------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=10, help="concurrent uploads")
    parser.add_argument("--size", default="1GiB", help="object size (default 1GiB)")
    parser.add_argument(
        "--part-size", default="64MiB", help="part size (default 64MiB, >= 5MiB)"
    )
    parser.add_argument(
        "--checksum",
        choices=["when_supported", "when_required"],
        default="when_supported",
        help="botocore request_checksum_calculation (default: boto3's default, "
        "when_supported = CRC32 trailer in an aws-chunked body)",
    )
    parser.add_argument(
        "--tmpdir", default=None, help="parent of the temp directory (default: $TMPDIR)"
    )
    add_server_options(parser)
    args = parser.parse_args()
    args.size = parse_size(args.size)
    args.part_size = parse_size(args.part_size)
    if args.uploads < 1 or args.size < 1 or args.part_size < 5 * MiB:
        parser.error("need --uploads >= 1, --size >= 1 byte, --part-size >= 5MiB")
    if -(-args.size // args.part_size) > 10000:
        parser.error("more than 10000 parts per upload")

    parent = Path(args.tmpdir or tempfile.gettempdir())
    need = int(args.size * (args.uploads + 1) * 1.2)
    free = shutil.disk_usage(parent).free
    if free < need:
        raise SystemExit(
            f"refusing to run: {parent} has {human(free)} free; {args.uploads} + 1 "
            f"uploads of {human(args.size)} need {human(need)} (x1.2). "
            f"Use --tmpdir, or fewer/smaller uploads."
        )

    block = os.urandom(MiB)
    workdir = Path(tempfile.mkdtemp(prefix="txs3-bench-multipart-", dir=parent))
    results: list[UploadResult] = []
    problems: list[str] = []
    try:
        cert = make_certificate(workdir / "tls")
        server = start_txs3(workdir, cert, launcher=args.launcher)
        sampler = RSSSampler(server.proc.pid)
        try:
            ensure_bucket(server, cert)
            server_proc = psutil.Process(server.proc.pid)
            time.sleep(0.5)
            sampler.start()
            time.sleep(0.5)
            nparts = -(-args.size // args.part_size)
            print(f"server: {server.name}, pid {server.proc.pid}, {server.url}")
            print(
                f"{args.uploads} concurrent multipart uploads of {human(args.size)} "
                f"({nparts} parts of {human(args.part_size)}), one client process "
                f"each, checksum={args.checksum}; data in {workdir}"
            )
            sys.stdout.flush()
            sampler.set_phase("client start")
            results, wall, server_cpu, t0, machine = run_concurrent(
                args, server.url, cert, block, sampler, server_proc
            )
            failed = [r for r in results if r.error]
            if failed or len(results) != args.uploads:
                for r in failed:
                    print(f"upload {r.index} FAILED: {r.error}")
                print(f"server log tail:\n{server.tail()}")
                raise SystemExit("an upload failed")

            client = make_client(server.url, str(cert.ca), args.checksum)
            # CompleteMultipartUpload with the server quiet: one more big
            # upload, then small ones (1 part of 1 MiB).
            time.sleep(0.5)
            sampler.set_phase("quiet big")
            quiet = multipart_upload(
                client,
                block,
                args.uploads,
                "quiet-big",
                args.size,
                args.part_size,
                UploadResult(args.uploads, "quiet-big", args.size),
            )
            sampler.set_phase("quiet small")
            small_times = []
            for i in range(SMALL_REPEATS):
                r = multipart_upload(
                    client,
                    block,
                    args.uploads + 1 + i,
                    f"small-{i}",
                    SMALL,
                    args.part_size,
                    UploadResult(args.uploads + 1 + i, f"small-{i}", SMALL),
                )
                small_times.append(r.complete_seconds)
            sampler.set_phase("verify")
            problems = verify(client, block, [*results, quiet], args.part_size)
            sampler.set_phase("end")
            time.sleep(0.3)
        finally:
            if sampler.is_alive():
                sampler.stop()
            server.stop()
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    total = sum(r.size for r in results)
    peaks = sampler.peaks
    peak_all = max(peaks.values())
    uploaded_end = max(r.uploaded for r in results) - t0
    times = [r.finished - r.started for r in results]
    completes = [r.complete_seconds for r in results]
    parts = [s for r in results for s in r.part_seconds]
    client_cpu = sum(r.cpu_seconds for r in results)

    print()
    print(f"total bytes       {total} ({human(total)}) in {len(results)} objects")
    print(f"wall time         {wall:.2f} s (barrier -> last CompleteMultipartUpload)")
    print(f"aggregate         {total / MiB / wall:.1f} MiB/s")
    print(
        f"per upload        {min(times):.2f} .. {max(times):.2f} s "
        f"({args.size / MiB / max(times):.1f} .. {args.size / MiB / min(times):.1f} "
        f"MiB/s each); last part acknowledged at {uploaded_end:.2f} s"
    )
    print(
        f"per part          median {statistics.median(parts):.2f} s, "
        f"max {max(parts):.2f} s ({len(parts)} parts of {human(args.part_size)})"
    )
    print(
        f"CPU               server {server_cpu:.1f} s ({server_cpu / wall:.2f} cores), "
        f"clients {client_cpu:.1f} s ({client_cpu / wall:.2f} cores) of 2 cores"
    )
    states = ("user", "system", "softirq", "iowait", "steal", "idle")
    print(
        "machine CPU       "
        + ", ".join(
            f"{name} {machine.get(name, 0.0) / wall:.2f}"
            for name in states
            if name in machine
        )
        + f" cores (of {psutil.cpu_count()})"
    )
    quiet_secs = quiet.finished - quiet.started
    print(
        f"alone             one more {human(args.size)} upload with the server "
        f"quiet: {quiet_secs:.2f} s, {args.size / MiB / quiet_secs:.1f} MiB/s"
    )
    print()
    print(f"{'phase':<18} {'server peak RSS':>16} {'samples':>8}")
    for phase in (
        "idle",
        "client start",
        "concurrent",
        "after-concurrent",
        "quiet big",
        "quiet small",
        "verify",
        "end",
    ):
        if phase in peaks:
            print(
                f"{phase:<18} {human(peaks[phase]):>16} "
                f"{sampler.samples.get(phase, 0):>8}"
            )
    mark = "ok" if peak_all < TARGET_PEAK else "OVER TARGET"
    print(
        f"{'whole run':<18} {human(peak_all):>16}   "
        f"(target < {human(TARGET_PEAK)}: {mark})"
    )
    print()
    print("CompleteMultipartUpload (client-side round trip):")
    print(
        f"  {human(args.size)}, {len(results[0].parts)} parts, under load: "
        f"median {statistics.median(completes) * 1000:.1f} ms, "
        f"max {max(completes) * 1000:.1f} ms ({len(completes)} uploads)"
    )
    print(
        f"  {human(args.size)}, {len(quiet.parts)} parts, quiet:      "
        f"{quiet.complete_seconds * 1000:.1f} ms"
    )
    print(
        f"  {human(SMALL)}, 1 part, quiet:            "
        f"median {statistics.median(small_times) * 1000:.1f} ms "
        f"(min {min(small_times) * 1000:.1f}, max {max(small_times) * 1000:.1f}, "
        f"{SMALL_REPEATS} uploads)"
    )
    print(
        f"client processes peak RSS: max {human(max(r.peak_rss for r in results))} each"
    )
    print(
        f"checks: ETag {results[0].etag} (-N form, = MD5 of part ETags, all "
        f"{len(results) + 1}); part ETags = MD5 of data; HEAD sizes; ranged GETs: "
        + ("ok" if not problems else "FAILED")
    )
    if problems:
        for p in problems:
            print(f"  {p}")
        raise SystemExit("verification failed")


if __name__ == "__main__":
    main()
