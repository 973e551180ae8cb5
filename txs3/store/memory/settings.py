"""
Access settings in the memory store: bucket settings, and object
versions' ACLs and Object Lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from twisted.internet.defer import Deferred, fail, succeed

from txs3.errors import S3Error
from txs3.store.interface import LockRetention, ObjectMeta
from txs3.store.memory.core import MemoryCore


class SettingsMixin(MemoryCore):
    """Bucket settings on the bucket; object ACLs in the entry's meta."""

    def get_bucket_settings(self, bucket: str) -> Mapping[str, str]:
        """See L{IObjectStore.get_bucket_settings}."""
        return dict(self._bucket(bucket).settings)

    def put_bucket_setting(
        self, bucket: str, name: str, value: str | None
    ) -> Deferred[None]:
        """See L{IObjectStore.put_bucket_setting}."""
        try:
            target = self._bucket(bucket)
        except S3Error as e:
            return fail(e)
        if value is None:
            target.settings.pop(name, None)
        else:
            target.settings[name] = value
        target.info = dataclasses.replace(target.info, serial=target.info.serial + 1)
        return succeed(None)

    def put_object_acl(
        self, bucket: str, key: str, acl: str | None, version_id: str | None = None
    ) -> Deferred[None]:
        """See L{IObjectStore.put_object_acl}."""
        try:
            self._replace_version(
                bucket, key, version_id, lambda m: dataclasses.replace(m, acl=acl)
            )
        except S3Error as e:
            return fail(e)
        return succeed(None)

    def put_object_lock(
        self,
        bucket: str,
        key: str,
        version_id: str | None,
        change: Callable[[ObjectMeta], tuple[LockRetention | None, bool | None]],
    ) -> Deferred[None]:
        """See L{IObjectStore.put_object_lock}."""

        def replaced(meta: ObjectMeta) -> ObjectMeta:
            retention, legal_hold = change(meta)
            return dataclasses.replace(meta, retention=retention, legal_hold=legal_hold)

        try:
            self._replace_version(bucket, key, version_id, replaced)
        except S3Error as e:
            return fail(e)
        return succeed(None)
