"""
L{SQLiteStore}: blob files plus a SQLite index, both in one data directory.

Open a store with::

    store = SQLiteStore.open(data_dir, reactor)      # sweeps leftovers
    ...
    await store.close()

C{SQLiteStore(data_dir, reactor, ...)} builds the same store without the
start-up sweep; L{SQLiteStore.sweep} runs one later, off the reactor thread.

Data directory layout::

    index.sqlite3 (+ -wal, -shm)   the index: WAL mode, synchronous=FULL
    reserve                        16 MiB held back so that deletes can
                                   commit on a full disk (see
                                   L{txs3.store.reserve})
    blobs/ab/<id>                  object bytes, see L{txs3.store.blobs}
    staging/<instance>/            this process's uploads in progress

Schema (version 6; C{schema_version} holds the version for migrations;
the statements are in L{txs3.store.sqlite.schema})::

    buckets(name TEXT PRIMARY KEY, owner_id, created REAL, region)
    objects(bucket TEXT, key BLOB, size, etag, last_modified REAL,
            owner_id, meta TEXT (JSON), blob TEXT, version TEXT,
            PRIMARY KEY (bucket, key)) WITHOUT ROWID
    object_extents(bucket, key, seq, part, blob, start, length,
                   PRIMARY KEY (bucket, key, seq)) WITHOUT ROWID
    uploads(upload_id PRIMARY KEY, bucket, key BLOB, initiated, owner_id,
            meta, checksum_algorithm, checksum_type) WITHOUT ROWID
    parts(upload_id, part_number, size, etag, last_modified, checksums,
          PRIMARY KEY (upload_id, part_number)) WITHOUT ROWID
    part_extents(upload_id, part_number, seq, blob, start, length,
                 PRIMARY KEY (upload_id, part_number, seq)) WITHOUT ROWID
    INDEX on blob of objects, object_extents, part_extents
    INDEX uploads_key ON uploads(bucket, key, upload_id)
    completed_uploads(upload_id PRIMARY KEY, bucket, key BLOB, parts TEXT
                      (JSON), etag, version, completed REAL, checksums,
                      checksum_type, checksum_algorithm) WITHOUT ROWID:
        completions kept for retried CompleteMultipartUpload requests,
        purged by the sweep after COMPLETED_UPLOAD_TTL
    bucket_tags(bucket PRIMARY KEY, created REAL, tags TEXT (JSON))
        WITHOUT ROWID; object tags are in objects.meta
    versions, version_extents: noncurrent versions and delete markers
        (L{txs3.store.sqlite.versions}); bucket_settings
    leases(name PRIMARY KEY, holder, until REAL) WITHOUT ROWID: who runs
        a background pass (L{txs3.store.sqlite.background})
    INDEX uploads_age ON uploads(bucket, initiated, upload_id)

Keys are stored as BLOBs of their UTF-8 bytes, so the primary key orders
them the way S3 lists (memcmp), and listing is a range scan on it.

An object's bytes are either one whole blob (the C{blob} column: every
PutObject) or, when C{blob} is NULL, the concatenation of its
C{object_extents} rows in C{seq} order (ranges of blobs, grouped by
C{part}: objects completed from multipart uploads and copies of them).  A
part of an upload in progress is likewise a list of C{part_extents}.  So
completing an upload moves rows from C{part_extents} to C{object_extents}
and copying an object copies rows: no byte is read or written.

Blobs are immutable and may be shared (a copy references its source's
blobs; a copied part references a range of a blob).  Sharing is tracked by
reference checking, not counting: a transaction that drops references
collects the blobs involved and, before committing, keeps those that no
row of the three tables still names; they are unlinked after the commit.
This is safe because a blob that no committed row names can never be named
again: new references are only ever made by copying an existing reference
inside one transaction (copy, part copy, completion), and transactions are
serialised (C{BEGIN IMMEDIATE}).  A crash between commit and unlink leaves
an orphan, which the start-up sweep removes with the same reference check.

Threads:

  - Commits (create/delete bucket, put/delete object) run in one
    single-thread pool: in-process writes are serialised, and SQLite's
    C{BEGIN IMMEDIATE} plus C{busy_timeout} serialises them with other
    processes sharing the directory.
  - Listings (and L{sweep}) run in a small pool of their own.
  - Point reads (C{get_bucket}, C{list_buckets}, C{head_object},
    C{open_object}) run in the caller's thread: in WAL mode a reader never
    waits for a writer.
  - Each thread has its own connection.

Nothing another process must see lives only in this process's memory: the
index and the blob files are the whole state.

Modules: C{core} (threads, connections, transactions, blob publishing),
C{schema} (tables, migrations, statements), C{rows} (row mapping and the
reference-checking helpers), and one mixin per operation family:
C{buckets}, C{objects}, C{multipart}, C{listing}, C{sweep}, C{tagging},
C{settings}, C{versioned}, C{background},
C{health} (readiness, disk space and sweep counts: L{IStoreHealth}).
L{SQLiteStore} is only their combination.
"""

from __future__ import annotations

from typing import Unpack

from twisted.internet.interfaces import IReactorCore
from twisted.python.filepath import FilePath
from zope.interface import implementer

from txs3.store.health import IStoreHealth
from txs3.store.interface import IObjectStore
from txs3.store.sqlite.background import BackgroundMixin
from txs3.store.sqlite.buckets import BucketsMixin
from txs3.store.sqlite.core import BUSY_TIMEOUT_MS, DEFAULT_ORPHAN_GRACE, StoreOptions
from txs3.store.sqlite.health import HealthMixin
from txs3.store.sqlite.listing import ListingMixin
from txs3.store.sqlite.multipart import MultipartMixin
from txs3.store.sqlite.objects import ObjectsMixin
from txs3.store.sqlite.settings import SettingsMixin
from txs3.store.sqlite.sweep import SweepMixin
from txs3.store.sqlite.tagging import TaggingMixin
from txs3.store.sqlite.usage import UsageMixin
from txs3.store.sqlite.versioned import VersionsMixin

__all__ = ["BUSY_TIMEOUT_MS", "DEFAULT_ORPHAN_GRACE", "SQLiteStore"]


@implementer(IObjectStore, IStoreHealth)
class SQLiteStore(
    BucketsMixin,
    ObjectsMixin,
    MultipartMixin,
    ListingMixin,
    SweepMixin,
    TaggingMixin,
    SettingsMixin,
    VersionsMixin,
    BackgroundMixin,
    HealthMixin,
    UsageMixin,
):
    """
    An L{IObjectStore} over a data directory shared safely by processes.
    Constructor: see L{txs3.store.sqlite.core.StoreCore}.
    """

    @classmethod
    def open(
        cls,
        data_dir: FilePath[str] | str,
        reactor: IReactorCore | None = None,
        **options: Unpack[StoreOptions],
    ) -> SQLiteStore:
        """
        Open the store (C{options} as the constructor's, L{StoreCore}) and
        sweep crash leftovers before returning: staging directories of dead
        processes, and orphan blobs older than C{orphan_grace}.  Blocking:
        call it at start-up, before serving.
        """
        store = cls(data_dir, reactor, **options)
        store._sweep()
        return store
