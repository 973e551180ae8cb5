"""
Access to a bucket: its settings, parsed and cached, and the authorizer a
request carries.

A bucket's access settings are stored as text by the store
(L{txs3.store.interface.IObjectStore.get_bucket_settings}):

  - C{policy}: the bucket policy, exactly as sent (GetBucketPolicy);
  - C{acl}: the bucket ACL's grants (L{txs3.authz.acl.encode_grants});
    its owner is the bucket's;
  - C{public-access-block}: the C{PublicAccessBlockConfiguration} XML;
  - C{ownership}: C{BucketOwnerEnforced}, C{BucketOwnerPreferred} or
    C{ObjectWriter};
  - C{versioning}: the C{VersioningConfiguration} document
    GetBucketVersioning answers (absent: never enabled);
  - C{object-lock}: the C{ObjectLockConfiguration} document
    GetObjectLockConfiguration answers (absent: no Object Lock; once set,
    never removed);
  - C{lifecycle}: the C{LifecycleConfiguration} document as
    GetBucketLifecycleConfiguration answers it (absent: none).

L{AccessCache} parses them once per change: an entry is good while the
bucket row's C{created} and C{serial} are those it was read with, and the
gate reads the bucket row on every request anyway, so a change made by
any process sharing the data directory is seen by the next request
without another query.

L{Authorizer} is what the gate hands a request: the caller, the request
context and the bucket's settings, able to decide any action on the
bucket or one of its objects (L{txs3.authz.authorize}).  Handlers use it
for the resources they learn of only from the body (DeleteObjects keys)
or from headers they parse (copy sources).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from txs3.authz import (
    NO_BLOCK,
    Acl,
    Decision,
    Owner,
    Policy,
    Principal,
    PublicAccessBlock,
    RequestContext,
    authorize,
    parse_policy,
    private_acl,
    resource_arn,
)
from txs3.authz.acl import decode_grants
from txs3.authz.decide import OWNER_DECISION
from txs3.errors import S3Error
from txs3.lifecycle.config import LifecycleConfiguration, parse_lifecycle
from txs3.objectlock import (
    UNVERSIONED,
    ObjectLockConfiguration,
    parse_lock_configuration,
    parse_versioning,
)
from txs3.objectlock import Versioning as VersioningConfig
from txs3.store.interface import BucketInfo, IObjectStore, ObjectInfo, Versioning

Ownership = Literal["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"]
OWNERSHIPS: tuple[Ownership, ...] = (
    "BucketOwnerEnforced",
    "BucketOwnerPreferred",
    "ObjectWriter",
)

POLICY = "policy"
ACL = "acl"
PUBLIC_ACCESS_BLOCK = "public-access-block"
OWNERSHIP = "ownership"
VERSIONING = "versioning"
OBJECT_LOCK = "object-lock"
LIFECYCLE = "lifecycle"


@dataclass(frozen=True)
class NewBuckets:
    """
    What a bucket gets when CreateBucket does not say: its Object
    Ownership, and whether every Block Public Access setting is on.  The
    defaults are the classic ones (ACLs enabled, nothing blocked), which
    Cyberduck's permissions panel, s3cmd C{setacl} and most self-hosted
    tools expect; AWS's since April 2023 are C{BucketOwnerEnforced} and
    all blocked.
    """

    ownership: Ownership = "ObjectWriter"
    block_public_access: bool = False


@dataclass(frozen=True)
class BucketAccess:
    """
    A bucket's access settings, parsed.

    @ivar policy: its policy, or None.
    @ivar grants: its ACL's grants (its owner is the bucket's); ignored
        while ACLs are disabled.
    @ivar public_access_block: its Block Public Access settings, or None
        when it has none (GetPublicAccessBlock answers 404).
    @ivar ownership: its Object Ownership, or None when it has none (S3
        then applies C{ObjectWriter}, the rule before the setting existed).
    @ivar versioning: its versioning configuration.
    @ivar lock: its Object Lock configuration, None without Object Lock.
    @ivar lifecycle: its lifecycle configuration, or None.
    """

    bucket: BucketInfo
    policy: Policy | None = None
    grants: Acl | None = None
    public_access_block: PublicAccessBlock | None = None
    ownership: Ownership | None = None
    versioning: VersioningConfig = UNVERSIONED
    lock: ObjectLockConfiguration | None = None
    lifecycle: LifecycleConfiguration | None = None

    @property
    def object_lock(self) -> bool:
        """Whether Object Lock is on (at creation, or put on since)."""
        return self.lock is not None

    @property
    def versioning_state(self) -> Versioning:
        """The versioning the store applies to writes and deletes."""
        return self.versioning.status or ""

    @property
    def owner(self) -> str:
        """The bucket owner's id."""
        return self.bucket.owner_id

    @property
    def acls_enabled(self) -> bool:
        """Whether ACLs count (every ownership but C{BucketOwnerEnforced})."""
        return self.ownership != "BucketOwnerEnforced"

    @property
    def block(self) -> PublicAccessBlock:
        """The Block Public Access settings in force (all off when none)."""
        return self.public_access_block or NO_BLOCK

    @property
    def acl(self) -> Acl:
        """The bucket's ACL: its stored grants, or the owner's full control."""
        return self.grants or private_acl(Owner(self.owner))


def read_access(bucket: BucketInfo, settings: dict[str, str]) -> BucketAccess:
    """
    Parse C{settings} as stored for C{bucket}.  They were checked when
    they were set; a setting that no longer parses (a file edited by
    hand) raises C{InternalError} rather than being read as "none", which
    could open the bucket.
    """
    try:
        policy_text = settings.get(POLICY)
        acl_text = settings.get(ACL)
        block_text = settings.get(PUBLIC_ACCESS_BLOCK)
        ownership = settings.get(OWNERSHIP)
        if ownership is not None and ownership not in OWNERSHIPS:
            raise ValueError(f"unknown ownership {ownership!r}")
        versioning_text = settings.get(VERSIONING)
        versioning = UNVERSIONED
        if versioning_text is not None:
            change = parse_versioning(versioning_text.encode("utf-8"))
            if change is None:
                raise ValueError("versioning setting without a configuration")
            versioning = VersioningConfig(change.status, change.mfa_delete)
        lock_text = settings.get(OBJECT_LOCK)
        lifecycle_text = settings.get(LIFECYCLE)
        return BucketAccess(
            bucket=bucket,
            policy=(
                None if policy_text is None else parse_policy(policy_text, bucket.name)
            ),
            grants=(
                None
                if acl_text is None
                else Acl(Owner(bucket.owner_id), decode_grants(acl_text))
            ),
            public_access_block=(
                None
                if block_text is None
                else PublicAccessBlock.from_xml(block_text.encode("utf-8"))
            ),
            ownership=ownership,
            versioning=versioning,
            lock=(
                None
                if lock_text is None
                else parse_lock_configuration(lock_text.encode("utf-8"))
            ),
            lifecycle=(
                None
                if lifecycle_text is None
                else parse_lifecycle(lifecycle_text.encode("utf-8"))
            ),
        )
    except (S3Error, ValueError, TypeError) as e:
        raise S3Error.of(
            "InternalError", f"The access settings of {bucket.name} are damaged"
        ) from e


@dataclass
class AccessCache:
    """Parsed access settings by bucket name (see the module docstring)."""

    _entries: dict[str, BucketAccess] = field(default_factory=dict)

    def get(self, store: IObjectStore, bucket: BucketInfo) -> BucketAccess:
        """The access settings of C{bucket}, as read with its row."""
        cached = self._entries.get(bucket.name)
        if (
            cached is not None
            and cached.bucket.created == bucket.created
            and cached.bucket.serial == bucket.serial
        ):
            return cached
        access = read_access(bucket, dict(store.get_bucket_settings(bucket.name)))
        self._entries[bucket.name] = access
        return access


def object_acl(info: ObjectInfo, access: BucketAccess) -> Acl | None:
    """
    The ACL of the object C{info} as authorization reads it: None while
    the bucket's ACLs are disabled (only the policy and the bucket owner
    count), else its stored grants or its owner's full control.
    """
    if not access.acls_enabled:
        return None
    owner = Owner(info.owner_id)
    if info.meta.acl is None:
        return private_acl(owner)
    return Acl(owner, decode_grants(info.meta.acl))


@dataclass
class Authorizer:
    """
    Decides actions of one caller on one bucket and its objects, for one
    request (L{txs3.authz.authorize} over the bucket's settings).

    @ivar make_context: builds the request context; called at most once,
        and only when a decision reads it (a policy applies), since most
        requests (the owner's, on buckets without a policy) never do.
    """

    principal: Principal
    access: BucketAccess
    make_context: Callable[[], RequestContext]
    store: IObjectStore
    cache: AccessCache

    @cached_property
    def context(self) -> RequestContext:
        """What policy conditions read of the request."""
        return self.make_context()

    @property
    def bucket(self) -> str:
        return self.access.bucket.name

    def for_bucket(self, name: str) -> Authorizer:
        """
        The same caller and request on bucket C{name} (a copy's source).

        @raise S3Error: C{NoSuchBucket}.
        """
        info = self.store.get_bucket(name)
        access = self.cache.get(self.store, info)
        return Authorizer(
            self.principal, access, lambda: self.context, self.store, self.cache
        )

    def decide(self, action: str, key: str | None = None) -> Decision:
        """The decision on C{action} over the bucket (C{key} None) or C{key}."""
        access = self.access
        if access.policy is None and self.principal.owner_id == access.owner:
            # The bucket owner's keys, no policy to deny them: the answer
            # authorize() would give, without building a context.
            return OWNER_DECISION
        bucket_acl = access.acl if access.acls_enabled else None
        return authorize(
            self.principal,
            action,
            resource_arn(self.bucket, key),
            self.context,
            access.owner,
            access.policy,
            bucket_acl,
            (lambda: self._object_acl(key)) if key is not None else None,
            access.block,
        )

    def allows(self, action: str, key: str | None = None) -> bool:
        """Whether C{action} on the bucket or C{key} is allowed."""
        return self.decide(action, key).allowed

    def require(self, action: str, key: str | None = None) -> None:
        """
        @raise S3Error: C{AccessDenied} unless C{action} is allowed.
        """
        if not self.decide(action, key).allowed:
            raise S3Error.of("AccessDenied")

    def _object_acl(self, key: str) -> Acl | None:
        try:
            info = self.store.head_object(self.bucket, key)
        except S3Error:
            return None
        return object_acl(info, self.access)
