"""
Listings on a big versioned bucket: 100,000 keys x 10 versions.

The index is filled directly with SQL (one transaction; the versions are
metadata rows sharing one blob, which is all a listing reads), then one
page of ListObjects, of ListObjectVersions, and a page deep in the bucket
are timed through the store, with the index rows each read.  The claim:
a page reads O(page) rows, not O(versions).

    /work/main/.venv/bin/python bench/versions_scale.py [--keys 100000] [--versions 10]
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
import time
from typing import Any

from twisted.internet import defer, reactor

from txs3.store.interface import ListQuery, ObjectMeta
from txs3.store.sqlite import SQLiteStore
from txs3.store.sqlite.rows import encode_meta


def fill(path: str, keys: int, versions: int) -> None:
    """Rows for C{keys} keys with C{versions} versions each, in one commit."""
    meta = encode_meta(ObjectMeta())
    conn = sqlite3.connect(path)
    with conn:
        for k in range(keys):
            raw = f"dir{k // 1000:04d}/key{k:07d}".encode()
            rows = [
                ("big", raw, n, f"V{k:07d}{n:03d}".ljust(32, "0"), 0, 4096, "e" * 32,
                 1.7e9 + n, "o", meta, "shared", f"w{k}-{n}")
                for n in range(versions - 1)
            ]  # fmt: skip
            conn.executemany(
                "INSERT INTO versions (bucket, key, seq, version_id, marker, size,"
                " etag, last_modified, owner_id, meta, blob, version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute(
                "INSERT INTO objects (bucket, key, size, etag, last_modified,"
                " owner_id, meta, blob, version, version_id, seq)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ("big", raw, 4096, "e" * 32, 1.8e9, "o", meta, "shared",
                 f"w{k}-c", f"C{k:07d}".ljust(32, "0"), versions),
            )  # fmt: skip
    conn.close()


@defer.inlineCallbacks
def main(args: argparse.Namespace) -> Any:
    directory = tempfile.mkdtemp(prefix="txs3-versions-")
    try:
        store = SQLiteStore(directory, reactor)
        yield store.create_bucket("big", "o", "us-east-1")
        start = time.perf_counter()
        fill(f"{directory}/index.sqlite3", args.keys, args.versions)
        built = time.perf_counter() - start
        total = args.keys * args.versions
        print(
            f"{args.keys} keys x {args.versions} versions ({total} rows): {built:.1f} s"
        )
        for label, query, versions in (
            ("ListObjects, first page", ListQuery(), False),
            ("ListObjects, page at key 90%", ListQuery(
                marker=f"dir{args.keys * 9 // 10 // 1000:04d}/"), False),
            ("ListObjects, delimiter /", ListQuery(delimiter="/"), False),
            ("ListObjectVersions, first page", ListQuery(), True),
            ("ListObjectVersions, page at key 90%", ListQuery(
                marker=f"dir{args.keys * 9 // 10 // 1000:04d}/"), True),
        ):  # fmt: skip
            start = time.perf_counter()
            if versions:
                page = yield store.list_object_versions("big", query)
                n = len(page.versions)
            else:
                page = yield store.list_objects("big", query)
                n = len(page.contents) + len(page.common_prefixes)
            seconds = time.perf_counter() - start
            print(
                f"  {label:<38} {n:>5} entries, {page.rows_read:>5} rows read,"
                f" {seconds * 1000:7.1f} ms"
            )
        yield store.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        reactor.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--versions", type=int, default=10)
    arguments = parser.parse_args()
    reactor.callWhenRunning(main, arguments)
    reactor.run()
