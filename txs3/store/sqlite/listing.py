"""
Listings of the SQLite store: ListObjects (V1 and V2) and
ListMultipartUploads, each one read snapshot in the listing pool, walking the
index with L{txs3.store.namespace.list_page}.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from twisted.internet.defer import Deferred, fail

from txs3.errors import S3Error
from txs3.store.interface import ListPage, ListQuery, UploadsPage
from txs3.store.namespace import (
    encode_query,
    list_page,
    objects_page,
    uploads_page,
)
from txs3.store.sqlite.core import StoreCore
from txs3.store.sqlite.rows import no_such_bucket, object_info, upload_info
from txs3.store.sqlite.schema import SCANS, UPLOAD_SCANS, UPLOADS_OF_KEY


class ListingMixin(StoreCore):
    """Range scans of C{objects} and C{uploads}."""

    def list_multipart_uploads(
        self, bucket: str, query: ListQuery, upload_id_marker: str = ""
    ) -> Deferred[UploadsPage]:
        """
        See L{IObjectStore.list_multipart_uploads}: the listing walk of
        L{txs3.store.namespace} over the C{uploads_key} index, one row per
        upload.
        """
        try:
            raw = encode_query(query, "key-marker")
        except S3Error as e:
            return fail(e)
        return self._in_lister(
            self._list_uploads, bucket, raw, upload_id_marker, query.limit
        )

    def _list_uploads(
        self,
        bucket: str,
        raw: tuple[bytes, bytes, bytes],
        upload_id_marker: str,
        max_uploads: int,
    ) -> UploadsPage:
        key_marker = raw[2]
        conn = self._connection()
        conn.execute("BEGIN")
        try:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)

            def rows(sql: str, params: list[Any]) -> Iterator[tuple[bytes, Any]]:
                cursor = conn.execute(sql, params)
                try:
                    for row in cursor:
                        yield bytes(row[2]), row
                finally:
                    cursor.close()

            def scan(
                lo: bytes, inclusive: bool, hi: bytes | None, limit: int
            ) -> Iterator[tuple[bytes, Any]]:
                given = 0
                if upload_id_marker and not inclusive and lo == key_marker:
                    # The marker key's own later uploads come before any
                    # greater key.
                    for item in rows(
                        UPLOADS_OF_KEY, [bucket, lo, upload_id_marker, limit]
                    ):
                        given += 1
                        yield item
                params: list[Any] = [bucket, lo]
                if hi is not None:
                    params.append(hi)
                params.append(limit - given)
                if limit - given > 0:
                    yield from rows(UPLOAD_SCANS[inclusive, hi is not None], params)

            walk = list_page(scan, *raw, max_uploads)
        finally:
            conn.execute("COMMIT")
        return uploads_page([upload_info(row) for row in walk.contents], walk)

    def list_objects(self, bucket: str, query: ListQuery) -> Deferred[ListPage]:
        """
        See L{IObjectStore.list_objects} and L{txs3.store.namespace} for the
        exact semantics.  Runs in the listing pool, inside one read
        transaction, so the page is one consistent snapshot.
        """
        try:
            raw = encode_query(query, "start-after")
        except S3Error as e:
            return fail(e)
        return self._in_lister(self._list, bucket, raw, query.limit)

    def _list(
        self, bucket: str, raw: tuple[bytes, bytes, bytes], max_keys: int
    ) -> ListPage:
        conn = self._connection()
        conn.execute("BEGIN")  # deferred: a read snapshot, no lock
        try:
            if not self._bucket_exists(conn, bucket):
                raise no_such_bucket(bucket)

            def scan(
                lo: bytes, inclusive: bool, hi: bytes | None, limit: int
            ) -> Iterator[tuple[bytes, tuple[Any, ...]]]:
                params: list[Any] = [bucket, lo]
                if hi is not None:
                    params.append(hi)
                params.append(limit)
                cursor = conn.execute(SCANS[inclusive, hi is not None], params)
                try:
                    for row in cursor:
                        yield bytes(row[0]), row
                finally:
                    cursor.close()

            walk = list_page(scan, *raw, max_keys)
        finally:
            conn.execute("COMMIT")
        return objects_page([object_info(bucket, row) for row in walk.contents], walk)
