"""
Object and bucket tagging in the memory store.
"""

from __future__ import annotations

import dataclasses

from twisted.internet.defer import Deferred, fail, succeed

from txs3.errors import S3Error
from txs3.store.memory.core import MemoryCore


class TaggingMixin(MemoryCore):
    """Tags."""

    # -- tagging --------------------------------------------------------------

    def put_object_tagging(
        self,
        bucket: str,
        key: str,
        tags: tuple[tuple[str, str], ...],
        version_id: str | None = None,
    ) -> Deferred[None]:
        """See L{IObjectStore.put_object_tagging}."""
        try:
            self._replace_version(
                bucket, key, version_id, lambda m: dataclasses.replace(m, tags=tags)
            )
        except S3Error as e:
            return fail(e)
        return succeed(None)

    def get_bucket_tagging(self, bucket: str) -> tuple[tuple[str, str], ...]:
        """See L{IObjectStore.get_bucket_tagging}."""
        return self._bucket(bucket).tags

    def put_bucket_tagging(
        self, bucket: str, tags: tuple[tuple[str, str], ...]
    ) -> Deferred[None]:
        """See L{IObjectStore.put_bucket_tagging}."""
        try:
            self._bucket(bucket).tags = tuple(tags)
        except S3Error as e:
            return fail(e)
        return succeed(None)
