"""
L{MemoryStore}: the L{IObjectStore} contract in dictionaries, for handler
tests.

It honours the same contract as L{txs3.store.sqlite.SQLiteStore} (the suite
in C{tests/test_store_contract.py} runs against both), including the
listing walk of L{txs3.store.namespace}, over a sorted list of each
bucket's keys.  Deferreds fire synchronously: no threads, no reactor.
Object bytes live in memory, so it is for tests only.  Like the SQLite
store, an object is a list of L{Extent}s over immutable blobs (here: bytes
by id), so copies and completed uploads share their blobs and read through
the same L{ExtentReader}.

Modules: C{staging} (L{MemoryStagingFile}), C{core} (the state, shared
helpers, buckets), C{objects}, C{multipart}, C{listing}, C{tagging},
C{settings}, C{versions}, C{background}, C{health}.
"""

from __future__ import annotations

from zope.interface import implementer

from txs3.store.health import IStoreHealth
from txs3.store.interface import IObjectStore
from txs3.store.memory.background import BackgroundMixin
from txs3.store.memory.health import HealthMixin
from txs3.store.memory.listing import ListingMixin
from txs3.store.memory.multipart import MultipartMixin
from txs3.store.memory.objects import ObjectsMixin
from txs3.store.memory.settings import SettingsMixin
from txs3.store.memory.staging import MemoryStagingFile
from txs3.store.memory.tagging import TaggingMixin
from txs3.store.memory.versions import VersionsMixin

__all__ = ["MemoryStagingFile", "MemoryStore"]


@implementer(IObjectStore, IStoreHealth)
class MemoryStore(
    ObjectsMixin,
    MultipartMixin,
    ListingMixin,
    TaggingMixin,
    SettingsMixin,
    VersionsMixin,
    BackgroundMixin,
    HealthMixin,
):
    """An in-memory L{IObjectStore}; C{now} is its clock."""
