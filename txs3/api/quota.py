"""
Quotas, checked before the body wherever the size is known: PutObject
and UploadPart (the declared length), CopyObject and UploadPartCopy (the
source's size), CompleteMultipartUpload (the parts' total).  A refused
write is 403 C{QuotaExceeded}, with a message naming the limit.

The index has the last word (a trigger in the commit of every new object,
L{txs3.store.sqlite.schema}): two workers racing past a quota cannot both
commit, and a POST upload, whose size is known only as it streams, is
refused there.
"""

from __future__ import annotations

from txs3.api.versions import bucket_access
from txs3.call import S3Call
from txs3.errors import S3Error


def check_quota(call: S3Call, size: int, objects: int = 1) -> None:
    """
    Refuse a write adding C{size} bytes and C{objects} objects to the
    call's bucket when it would pass its quota or its owner's.  On a
    bucket without versioning an overwrite frees what it replaces.

    @raise S3Error: C{QuotaExceeded}.
    """
    store = call.config.store
    state = store.quota_state(call.bucket)
    if state.quota is None and state.owner_quota is None:
        return
    if objects and not bucket_access(call).versioning_state:
        try:
            replaced = store.head_object(call.bucket, call.key)
        except S3Error:
            pass
        else:
            size -= replaced.size
            objects -= 1
    why = state.refusal(max(size, 0), objects)
    if why is not None:
        raise S3Error.of("QuotaExceeded", why)


def quota_before_body(call: S3Call) -> None:
    """
    The pre-body check of PutObject (an object) and UploadPart (bytes
    only: a part is no object until the upload completes).
    """
    size = call.payload.decoded_length
    if size is None:
        size = call.content_length
    if size is None:
        return
    check_quota(call, size, 0 if call.operation.name == "UploadPart" else 1)


def check_copy_quota(
    call: S3Call, src_bucket: str, src_key: str, src_version: str | None
) -> None:
    """L{check_quota} for a CopyObject, with its source's size."""
    state = call.config.store.quota_state(call.bucket)
    if state.quota is None and state.owner_quota is None:
        return
    source = call.config.store.head_object(src_bucket, src_key, src_version)
    check_quota(call, source.size)
