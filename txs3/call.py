"""
The values a handler receives: the site's configuration and one prepared
call.

L{txs3.gate.prepare} builds an L{S3Call} from the request head before any
body byte is read; the handler named by the call's catalogue entry gets it
once the body is in.  Nothing here knows HTTP plumbing: a call carries the
head as plain strings, and the facts of the connection a handler may need
(L{Connection}).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from twisted.internet.interfaces import IReactorTime

from txs3.access import AccessCache, Authorizer, NewBuckets
from txs3.auth.directory import Directory
from txs3.auth.types import Identity, PayloadPlan, RequestHead, Secret
from txs3.authz import Acl, Principal
from txs3.body import BufferSink, DiscardSink, UploadSink
from txs3.cors_cache import BucketCorsCache
from txs3.formbody import FormSink
from txs3.lifecycle.evaluate import Days
from txs3.objectlock import LockRequest
from txs3.operation import Operation
from txs3.store.interface import CompletedUpload, IObjectStore, UploadInfo


def new_request_id() -> str:
    """A fresh S3-style request id: 16 upper-case hex digits."""
    return os.urandom(8).hex().upper()


@dataclass
class S3Config:
    """
    Site-wide settings and collaborators shared by every request.

    @ivar directory: the owners the credentials name (ACL grants).
    @ivar access: parsed bucket access settings (L{txs3.access}).
    @ivar new_buckets: what a new bucket gets when CreateBucket does not
        say.
    @ivar cors: the buckets' parsed CORS configurations, for this store.
    @ivar lifecycle_days: how long a lifecycle rule's day is
        (C{--lifecycle-day-seconds}), for C{x-amz-expiration}.
    """

    store: IObjectStore
    lookup: Callable[[str], Secret | None]
    reactor: IReactorTime
    domains: Sequence[str] = ()
    region: str = "us-east-1"
    directory: Directory = field(default_factory=Directory)
    access: AccessCache = field(default_factory=AccessCache)
    new_buckets: NewBuckets = field(default_factory=NewBuckets)
    cors: BucketCorsCache = field(default_factory=BucketCorsCache)
    lifecycle_days: Days = field(default_factory=Days)


@dataclass(frozen=True)
class Connection:
    """
    What a handler may need to know of the connection a request came on.

    @ivar secure: whether it is TLS.
    @ivar local_port: the server's port it arrived at.
    @ivar peer: the client's address (empty when unknown).
    """

    secure: bool = True
    local_port: int = 443
    peer: str = ""


#: The identity of a request served without authentication.
ANONYMOUS = Identity("", "", "anonymous")

Sink = UploadSink | BufferSink | DiscardSink | FormSink


@dataclass
class S3Call:
    """
    One classified, authenticated request on its way to a handler.

    @ivar head: the request head, as authentication saw it.
    @ivar payload: how the body is framed and verified.
    @ivar body: the sink the body goes to (chosen by the operation's body
        kind before the body is read).
    @ivar content_length: the declared length of the body on the wire.
    @ivar upload: the multipart upload a part or completion request names,
        found before the body.
    @ivar completed: for a CompleteMultipartUpload whose upload was already
        completed (a retry), the record of that completion, found before
        the body; C{upload} is then None.
    @ivar authorizer: decides the caller's actions on the request's bucket
        (None for service-level operations and CreateBucket).
    @ivar acl: the ACL the request's C{x-amz-acl} / C{x-amz-grant-*}
        headers ask for, checked before the body; None when it has none.
    @ivar lock: the lock its C{x-amz-object-lock-*} headers ask for,
        checked before the body (L{txs3.api.locking.lock_headers}); None
        for an operation that does not read them.
    """

    request_id: str
    operation: Operation
    identity: Identity
    head: RequestHead
    config: S3Config
    payload: PayloadPlan = field(default_factory=PayloadPlan)
    connection: Connection = field(default_factory=Connection)
    body: Sink = field(default_factory=DiscardSink)
    content_length: int | None = None
    upload: UploadInfo | None = None
    completed: CompletedUpload | None = None
    authorizer: Authorizer | None = None
    acl: Acl | None = None
    lock: LockRequest | None = None

    @property
    def principal(self) -> Principal:
        """
        The caller as policies name it: its owner (account) and, as user
        name, its key's display name; anonymous without a key.
        """
        identity = self.identity
        if not identity.owner_id:
            return Principal("")
        return Principal(identity.owner_id, identity.display_name)

    def header(self, name: str) -> str | None:
        """Request header C{name} (lower case), if present."""
        return self.head.headers.get(name)

    def xml_body(self) -> bytes:
        """
        The whole (small) request body, verified against the request's
        digests (L{BufferSink.body}).

        @raise S3Error: if over the cap, or not the body that was signed.
        """
        if isinstance(self.body, BufferSink):
            return self.body.body()
        return b""

    @property
    def bucket(self) -> str:
        """The bucket of a bucket or object operation."""
        bucket = self.operation.bucket
        assert bucket is not None, "a service-level call has no bucket"
        return bucket

    @property
    def key(self) -> str:
        """The key of an object operation."""
        key = self.operation.key
        assert key is not None, "a bucket-level call has no key"
        return key
