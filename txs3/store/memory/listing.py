"""
ListObjects and ListMultipartUploads in the memory store: the walk of
L{txs3.store.namespace} over sorted lists.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator

from twisted.internet.defer import Deferred, fail, succeed

from txs3.errors import S3Error
from txs3.store.interface import (
    ListPage,
    ListQuery,
    ObjectInfo,
    UploadInfo,
    UploadsPage,
)
from txs3.store.memory.core import Bucket, MemoryCore
from txs3.store.namespace import (
    encode_query,
    list_page,
    objects_page,
    uploads_page,
)


class ListingMixin(MemoryCore):
    """Listings."""

    def list_multipart_uploads(
        self, bucket: str, query: ListQuery, upload_id_marker: str = ""
    ) -> Deferred[UploadsPage]:
        """See L{IObjectStore.list_multipart_uploads}."""
        try:
            self._bucket(bucket)
            raw = encode_query(query, "key-marker")
            marker = raw[2]
            rows = sorted(
                (u.info.key.encode("utf-8"), u.info.upload_id, u.info)
                for u in self._uploads.values()
                if u.info.bucket == bucket
            )

            def scan(
                lo: bytes, inclusive: bool, hi: bytes | None, limit: int
            ) -> Iterator[tuple[bytes, UploadInfo]]:
                def wanted(raw: bytes, upload_id: str) -> bool:
                    if hi is not None and raw >= hi:
                        return False
                    if raw == lo and not inclusive:
                        # The marker key's own uploads after the id marker.
                        return (
                            bool(upload_id_marker)
                            and lo == marker
                            and (upload_id > upload_id_marker)
                        )
                    return raw >= lo

                hits = [(raw, info) for raw, uid, info in rows if wanted(raw, uid)]
                yield from hits[:limit]

            walk = list_page(scan, *raw, query.limit)
        except S3Error as e:
            return fail(e)
        return succeed(uploads_page(walk.contents, walk))

    def list_objects(self, bucket: str, query: ListQuery) -> Deferred[ListPage]:
        """See L{IObjectStore.list_objects} and L{txs3.store.namespace}."""
        try:
            target = self._bucket(bucket)
            raw = encode_query(query, "start-after")
            walk = list_page(self._scanner(target), *raw, query.limit)
        except S3Error as e:
            return fail(e)
        return succeed(objects_page(walk.contents, walk))

    @staticmethod
    def _scanner(
        target: Bucket,
    ) -> Callable[[bytes, bool, bytes | None, int], Iterator[tuple[bytes, ObjectInfo]]]:
        def scan(
            lo: bytes, inclusive: bool, hi: bytes | None, limit: int
        ) -> Iterator[tuple[bytes, ObjectInfo]]:
            keys = target.keys
            find = bisect.bisect_left if inclusive else bisect.bisect_right
            i = find(keys, lo)
            end = len(keys) if hi is None else bisect.bisect_left(keys, hi)
            for raw in keys[i : min(end, i + limit)]:
                yield raw, target.objects[raw][0]

        return scan
