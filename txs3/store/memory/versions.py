"""
Deletions and version listings in the memory store, with the SQLite
store's rules (L{txs3.store.sqlite.versioned}); the history itself is kept
by L{txs3.store.memory.core}.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

from twisted.internet.defer import Deferred, fail, succeed

from txs3.errors import S3Error
from txs3.store.extents import Extent
from txs3.store.interface import (
    Deleted,
    Deletion,
    ListQuery,
    ObjectInfo,
    VersionsPage,
    new_version_id,
)
from txs3.store.memory.core import Bucket, MemoryCore
from txs3.store.namespace import encode_key, encode_query, list_page, versions_page
from txs3.store.rules import check_expected

Entry = tuple[ObjectInfo, list[Extent] | None]


class VersionsMixin(MemoryCore):
    """Versions: writes keep history, deletions, version reads and listings."""

    # -- deletions --------------------------------------------------------------

    def _delete(self, target: Bucket, raw_key: bytes, d: Deletion) -> Deleted:
        if d.version_id is not None:
            found = self._find(target, raw_key, d.version_id)
            if found is None:
                check_expected(None, d.expected)
                return Deleted(False, d.version_id)
            (info, _), current = found
            check_expected(info, d.expected)
            if d.guard is not None and not info.delete_marker:
                d.guard(info)
            if current:
                self._drop_current(target, raw_key)
            else:
                history = target.history[raw_key]
                history[:] = [e for e in history if e[0].version_id != d.version_id]
            self._promote(target, raw_key)
            return Deleted(True, d.version_id, info.delete_marker)
        if d.expected is not None:
            found_current = target.objects.get(raw_key)
            check_expected(
                None if found_current is None else found_current[0], d.expected
            )
        if not d.versioning:
            existed = raw_key in target.objects
            self._make_room(target, raw_key, "", d.guard)
            return Deleted(existed)
        self._make_room(target, raw_key, d.versioning, d.guard)
        marker_id = new_version_id(d.versioning)
        marker = ObjectInfo(
            bucket=target.info.name,
            key=raw_key.decode("utf-8"),
            size=0,
            etag="",
            last_modified=self._now(),
            version_id=marker_id,
            delete_marker=True,
            is_latest=False,
        )
        target.history.setdefault(raw_key, []).insert(0, (marker, None))
        return Deleted(True, marker_id, True)

    def delete_version(self, deletion: Deletion) -> Deferred[Deleted]:
        """See L{IObjectStore.delete_version}."""
        try:
            target = self._bucket(deletion.bucket)
            return succeed(self._delete(target, encode_key(deletion.key), deletion))
        except S3Error as e:
            return fail(e)

    def delete_versions(
        self, bucket: str, deletions: Sequence[Deletion]
    ) -> Deferred[list[Deleted | S3Error]]:
        """See L{IObjectStore.delete_versions}."""
        try:
            target = self._bucket(bucket)
            raw_keys = [encode_key(d.key) for d in deletions]
        except S3Error as e:
            return fail(e)
        results: list[Deleted | S3Error] = []
        for deletion, raw_key in zip(deletions, raw_keys, strict=True):
            try:
                results.append(self._delete(target, raw_key, deletion))
            except S3Error as e:
                results.append(e)
        return succeed(results)

    def delete_object(self, bucket: str, key: str) -> Deferred[bool]:
        """See L{IObjectStore.delete_object}."""
        return self.delete_version(Deletion(bucket, key)).addCallback(
            lambda deleted: deleted.existed
        )

    def delete_objects(self, bucket: str, keys: list[str]) -> Deferred[dict[str, bool]]:
        """See L{IObjectStore.delete_objects}."""

        def existed(results: list[Deleted | S3Error]) -> dict[str, bool]:
            out: dict[str, bool] = {}
            for key, result in zip(keys, results, strict=True):
                gone = isinstance(result, Deleted) and result.existed
                out[key] = out.get(key, False) or gone
            return out

        done = self.delete_versions(bucket, [Deletion(bucket, k) for k in keys])
        return done.addCallback(existed)

    # -- listing -----------------------------------------------------------------

    def list_object_versions(
        self, bucket: str, query: ListQuery, version_id_marker: str = ""
    ) -> Deferred[VersionsPage]:
        """See L{IObjectStore.list_object_versions}."""
        try:
            target = self._bucket(bucket)
            raw = encode_query(query, "key-marker")
            key_marker = raw[2]
            rows: list[tuple[bytes, ObjectInfo]] = []
            for raw_key in sorted(set(target.keys) | set(target.history)):
                current = target.objects.get(raw_key)
                entries = [current[0]] if current is not None else []
                entries += [e[0] for e in target.history.get(raw_key, ())]
                for i, info in enumerate(entries):
                    rows.append((raw_key, dataclasses.replace(info, is_latest=i == 0)))

            def scan(
                lo: bytes, inclusive: bool, hi: bytes | None, limit: int
            ) -> Iterator[tuple[bytes, ObjectInfo]]:
                after_marker = False
                hits: list[tuple[bytes, ObjectInfo]] = []
                for raw_key, info in rows:
                    if hi is not None and raw_key >= hi:
                        break
                    if raw_key == lo and not inclusive:
                        if not (version_id_marker and lo == key_marker):
                            continue
                        if after_marker:
                            hits.append((raw_key, info))
                        after_marker = (
                            after_marker or info.version_id == version_id_marker
                        )
                        continue
                    if raw_key >= lo:
                        hits.append((raw_key, info))
                yield from hits[:limit]

            walk = list_page(scan, *raw, query.limit)
        except S3Error as e:
            return fail(e)
        return succeed(versions_page(walk.contents, walk))
