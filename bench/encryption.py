"""
CPU cost of the encrypted-object format (L{txs3.crypto.packages}), in
process: MiB/s to seal and to open an object, beside MiB/s of the MD5 that
every plain PUT computes already (the floor a PUT pays today), measured in
the same run, and a 1 KiB Range read of a large object.

    .venv/bin/python bench/encryption.py [--mib 256] [--piece 65536]

Prints figures; asserts nothing.  The issue's budget is encrypted PUT and
GET at >= 0.7x the unencrypted figures end to end; this shows how much of
that budget the cipher itself takes (one core, no I/O).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from collections.abc import Callable

from txs3.crypto.packages import DataKey, Opener, Sealer, sealed_size, span


def rate(mib: int, work: Callable[[], object], rounds: int = 3) -> float:
    """Best MiB/s of C{rounds} runs of C{work} over C{mib} MiB."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return mib / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--piece", type=int, default=64 * 1024)
    args = parser.parse_args()
    size = args.mib * 1024 * 1024
    piece = os.urandom(args.piece)
    pieces = size // args.piece
    key = DataKey.generate()

    def md5() -> None:
        digest = hashlib.md5()
        for _ in range(pieces):
            digest.update(piece)

    stored = bytearray()

    def seal() -> None:
        stored.clear()
        sealer = Sealer(key)
        for _ in range(pieces):
            stored.extend(sealer.update(piece))
        stored.extend(sealer.finish())

    def open_all() -> None:
        opener = Opener(key, size, span(size, 0, size))
        view = memoryview(stored)
        step = args.piece + 16
        for i in range(0, len(view), step):
            opener.update(bytes(view[i : i + step]))
        opener.finish()

    floor = rate(args.mib, md5)
    sealed = rate(args.mib, seal)
    assert len(stored) == sealed_size(size)
    opened = rate(args.mib, open_all)

    where = span(size, size // 2 + 123, 1024)
    started = time.perf_counter()
    ranged = 0
    for _ in range(1000):
        opener = Opener(key, size, where)
        data = opener.update(bytes(stored[where.offset : where.offset + where.length]))
        opener.finish()
        ranged += len(data)
    range_us = (time.perf_counter() - started) * 1000

    print(f"object {args.mib} MiB, fed in {args.piece} B pieces, one core")
    print(f"  md5 (plain PUT floor): {floor:8.0f} MiB/s")
    print(f"  seal:                  {sealed:8.0f} MiB/s  ({sealed / floor:.2f}x md5)")
    print(f"  open:                  {opened:8.0f} MiB/s  ({opened / floor:.2f}x md5)")
    print(
        f"  1 KiB range: {where.length} stored bytes read, "
        f"{range_us:.1f} us per read"
    )
    print(f"  stored overhead: {sealed_size(size) - size} bytes")


if __name__ == "__main__":
    main()
