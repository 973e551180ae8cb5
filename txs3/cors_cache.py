"""
Each bucket's CORS configuration, parsed once and kept while it is current.

The store holds a bucket's configuration as the text of its ``cors``
setting (L{IObjectStore.get_bucket_settings}); every request from a browser
needs it parsed (L{txs3.cors.parse_cors_xml}).  L{BucketCorsCache} keeps
the parsed value with the bucket's C{(created, serial)}: the store bumps
C{serial} with every change of a setting, in the same commit, and a
bucket deleted and created again has another C{created}.  The bucket row
is read on every lookup, so a change made by another process sharing the
data directory is seen at the next request; only the settings are read
(and parsed) again, and only when the row says they changed.

Nothing here imports Twisted's web layer or the API.
"""

from __future__ import annotations

from txs3.cors import CorsConfiguration, parse_cors_xml
from txs3.errors import S3Error
from txs3.store.interface import IObjectStore

# A bucket row's (created, serial).
_Version = tuple[float, int]

#: The name of the bucket setting that holds the CORS document.
CORS_SETTING = "cors"


class BucketCorsCache:
    """
    Parsed CORS configurations by bucket name, each tagged with the
    C{(created, serial)} of the bucket row it was read under.

    The reactor thread alone uses it (the store's reads it makes are
    synchronous), so it needs no lock.  It holds one entry per bucket that
    was asked for and exists; a lookup that finds the bucket gone drops its
    entry.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[_Version, CorsConfiguration | None]] = {}

    def configuration(
        self, store: IObjectStore, bucket: str
    ) -> CorsConfiguration | None:
        """
        The CORS configuration of C{bucket} in C{store}, or None when it
        has none.

        @raise S3Error: C{NoSuchBucket}; C{MalformedXML} or
            C{InvalidRequest} if the stored document does not parse (only
            PutBucketCors writes it, after parsing it, so it always does).
        """
        try:
            info = store.get_bucket(bucket)
        except S3Error:
            self._entries.pop(bucket, None)
            raise
        version = (info.created, info.serial)
        cached = self._entries.get(bucket)
        if cached is not None and cached[0] == version:
            return cached[1]
        text = store.get_bucket_settings(bucket).get(CORS_SETTING)
        config = parse_cors_xml(text.encode("utf-8")) if text is not None else None
        # The settings were read after the row, so they are at least as new
        # as this version: a later change bumps the serial and is read then.
        self._entries[bucket] = (version, config)
        return config
