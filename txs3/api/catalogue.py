"""
The catalogue: every S3 operation txs3 answers, declared once, as data.

An L{Entry} says everything the server needs to know of an operation
before and after its body:

  - C{name}: the S3 name, checked by mypy against L{OperationName};
  - C{routes}: the method, level (service, bucket, object), sub-resources,
    and the header or query value that select it (L{txs3.classify} reads
    the routes; no other table exists);
  - C{handler}: the coroutine that answers it with a L{Response};
  - C{body}: what its request body is: C{none} (dropped), C{xml} (a small
    document, read into memory with a cap), C{object} (object data,
    streamed to a staging file) or C{form} (a browser upload's
    ``multipart/form-data``, its file streamed to a staging file:
    L{txs3.formbody});
  - C{checks}: what must be checked before the body (L{txs3.api.prechecks});
  - C{action}: the IAM action it needs, as AWS's "Actions defined by
    Amazon S3" names it, and C{version_action}, the one it needs when the
    request names a C{versionId}; C{None} for an operation answered to
    anyone (C{public});
  - C{per_key}: the action applies to the keys the body names, so it is
    decided once the body names them, not by the gate: key by key by the
    handler (DeleteObjects), or by the form's signer when a browser
    upload's file begins (PostObject, L{txs3.api.postobject}).

Adding an operation is one entry here, one handler, and its tests; the
tests check that every name has an entry, every entry a handler, and that
no two routes can match the same request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from txs3.api import (
    acl,
    attributes,
    bucket,
    bucket_cors,
    copy,
    lifecycle,
    listing,
    locking,
    multidelete,
    multipart,
    obj,
    policy,
    postobject,
    prechecks,
    profile,
    quota,
    service,
    subresources,
    tagging,
    versions,
)
from txs3.api.prechecks import PreCheck
from txs3.call import S3Call
from txs3.operation import SUBRESOURCES, OperationName
from txs3.response import Response

Handler = Callable[[S3Call], Awaitable[Response]]
BodyKind = Literal["none", "xml", "object", "form"]
Level = Literal["service", "bucket", "object"]
Method = Literal["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]

# Sub-resources an object operation may carry without changing which
# operation it is: versionId names one version of the object.
VERSION = frozenset({"versionId"})


@dataclass(frozen=True)
class Route:
    """
    Which requests an operation answers.

    A request matches when its method and level are these, the
    sub-resources it names include every one of C{subresources} and
    nothing beyond C{subresources | optional}, and, when set, it carries
    header C{header} and query parameter C{query[0]} equal to C{query[1]}.
    Among matching routes, one with a header or query condition wins over
    one without (CopyObject over PutObject).
    """

    method: Method
    level: Level
    subresources: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()
    header: str | None = None
    query: tuple[str, str] | None = None

    @property
    def conditional(self) -> bool:
        return self.header is not None or self.query is not None


@dataclass(frozen=True)
class Entry:
    """One S3 operation (see the module docstring)."""

    name: OperationName
    routes: tuple[Route, ...]
    handler: Handler
    action: str | None
    body: BodyKind = "none"
    checks: tuple[PreCheck, ...] = ()
    version_action: str | None = None
    public: bool = False
    per_key: bool = False

    def action_for(self, version_id: str | None) -> str | None:
        """The IAM action a request needs, naming C{version_id} or not."""
        if version_id is not None and self.version_action is not None:
            return self.version_action
        return self.action


def _sub(*names: str) -> frozenset[str]:
    return frozenset(names)


def _bucket(
    method: Method, *subresources: str, query: tuple[str, str] | None = None
) -> tuple[Route]:
    return (Route(method, "bucket", _sub(*subresources), query=query),)


def _object(
    method: Method,
    *subresources: str,
    optional: frozenset[str] = VERSION,
    header: str | None = None,
) -> tuple[Route]:
    return (Route(method, "object", _sub(*subresources), optional, header),)


_ACL = prechecks.acl_headers
_TAGGING = prechecks.tagging_header
_CONDITION = prechecks.write_conditions
_PART = prechecks.part_number_param
_UPLOAD = prechecks.multipart_upload
_COMPLETION = prechecks.completion_target
_INTEGRITY = prechecks.integrity_header
_LOCK = locking.lock_headers
_QUOTA = quota.quota_before_body
# Listed on every operation whose AWS request syntax takes encryption
# headers (SSE-S3/KMS on writes; SSE-C wherever object data is written or
# read, or its checksums shown).  Other operations do not read them in
# AWS either, which ignores them there; so does txs3, rather than refuse
# a listing to a client that sends its SSE headers on every request.
_SSE = prechecks.no_encryption
_COPY_SOURCE = "x-amz-copy-source"
_GET_PART = frozenset({"partNumber", "versionId"})

CATALOGUE: tuple[Entry, ...] = (
    # -- the service -------------------------------------------------------
    # Sub-resources on the service are ignored, as S3 does.
    Entry("ListBuckets",
          (Route("GET", "service", optional=SUBRESOURCES),
           Route("HEAD", "service", optional=SUBRESOURCES)),
          service.list_buckets, "s3:ListAllMyBuckets"),
    # Served at txs3.profile.PROFILE_PATH, matched by path in classify().
    Entry("GetConnectionProfile", (), profile.get_connection_profile, None,
          public=True),
    # -- buckets -----------------------------------------------------------
    Entry("CreateBucket", _bucket("PUT"), bucket.create_bucket,
          "s3:CreateBucket", body="xml", checks=(_ACL,)),
    Entry("HeadBucket", (Route("HEAD", "bucket", optional=SUBRESOURCES),),
          bucket.head_bucket, "s3:ListBucket"),
    Entry("DeleteBucket", _bucket("DELETE"), bucket.delete_bucket,
          "s3:DeleteBucket"),
    Entry("GetBucketLocation", _bucket("GET", "location"),
          bucket.get_bucket_location, "s3:GetBucketLocation"),
    Entry("ListObjects", _bucket("GET"), listing.list_objects, "s3:ListBucket"),
    Entry("ListObjectsV2", _bucket("GET", query=("list-type", "2")),
          listing.list_objects_v2, "s3:ListBucket"),
    Entry("ListObjectVersions", _bucket("GET", "versions"),
          versions.list_object_versions, "s3:ListBucketVersions"),
    Entry("DeleteObjects", _bucket("POST", "delete"),
          multidelete.delete_objects, "s3:DeleteObject", body="xml",
          checks=(_INTEGRITY,), per_key=True),
    Entry("ListMultipartUploads", _bucket("GET", "uploads"),
          multipart.list_multipart_uploads, "s3:ListBucketMultipartUploads"),
    Entry("GetBucketVersioning", _bucket("GET", "versioning"),
          versions.get_bucket_versioning, "s3:GetBucketVersioning"),
    Entry("PutBucketVersioning", _bucket("PUT", "versioning"),
          versions.put_bucket_versioning, "s3:PutBucketVersioning",
          body="xml"),
    Entry("GetBucketLogging", _bucket("GET", "logging"),
          subresources.get_bucket_logging, "s3:GetBucketLogging"),
    Entry("GetBucketLifecycleConfiguration", _bucket("GET", "lifecycle"),
          lifecycle.get_bucket_lifecycle_configuration,
          "s3:GetLifecycleConfiguration"),
    Entry("PutBucketLifecycleConfiguration", _bucket("PUT", "lifecycle"),
          lifecycle.put_bucket_lifecycle_configuration,
          "s3:PutLifecycleConfiguration", body="xml", checks=(_INTEGRITY,)),
    Entry("DeleteBucketLifecycle", _bucket("DELETE", "lifecycle"),
          lifecycle.delete_bucket_lifecycle, "s3:PutLifecycleConfiguration"),
    Entry("GetBucketAcl", _bucket("GET", "acl"), acl.get_bucket_acl,
          "s3:GetBucketAcl"),
    Entry("PutBucketAcl", _bucket("PUT", "acl"), acl.put_bucket_acl,
          "s3:PutBucketAcl", body="xml", checks=(_ACL,)),
    Entry("GetBucketOwnershipControls", _bucket("GET", "ownershipControls"),
          acl.get_bucket_ownership_controls, "s3:GetBucketOwnershipControls"),
    Entry("PutBucketOwnershipControls", _bucket("PUT", "ownershipControls"),
          acl.put_bucket_ownership_controls, "s3:PutBucketOwnershipControls",
          body="xml"),
    Entry("DeleteBucketOwnershipControls",
          _bucket("DELETE", "ownershipControls"),
          acl.delete_bucket_ownership_controls,
          "s3:PutBucketOwnershipControls"),
    Entry("GetBucketPolicy", _bucket("GET", "policy"),
          policy.get_bucket_policy, "s3:GetBucketPolicy"),
    Entry("PutBucketPolicy", _bucket("PUT", "policy"),
          policy.put_bucket_policy, "s3:PutBucketPolicy", body="xml"),
    Entry("DeleteBucketPolicy", _bucket("DELETE", "policy"),
          policy.delete_bucket_policy, "s3:DeleteBucketPolicy"),
    Entry("GetBucketPolicyStatus", _bucket("GET", "policyStatus"),
          policy.get_bucket_policy_status, "s3:GetBucketPolicyStatus"),
    Entry("GetPublicAccessBlock", _bucket("GET", "publicAccessBlock"),
          policy.get_public_access_block, "s3:GetBucketPublicAccessBlock"),
    Entry("PutPublicAccessBlock", _bucket("PUT", "publicAccessBlock"),
          policy.put_public_access_block, "s3:PutBucketPublicAccessBlock",
          body="xml"),
    Entry("DeletePublicAccessBlock", _bucket("DELETE", "publicAccessBlock"),
          policy.delete_public_access_block, "s3:PutBucketPublicAccessBlock"),
    Entry("GetBucketWebsite", _bucket("GET", "website"),
          subresources.get_bucket_website, "s3:GetBucketWebsite"),
    Entry("GetBucketEncryption", _bucket("GET", "encryption"),
          subresources.get_bucket_encryption, "s3:GetEncryptionConfiguration"),
    Entry("GetBucketRequestPayment", _bucket("GET", "requestPayment"),
          subresources.get_bucket_request_payment,
          "s3:GetBucketRequestPayment"),
    Entry("GetBucketAccelerateConfiguration", _bucket("GET", "accelerate"),
          subresources.get_bucket_accelerate_configuration,
          "s3:GetAccelerateConfiguration"),
    Entry("GetBucketNotificationConfiguration", _bucket("GET", "notification"),
          subresources.get_bucket_notification_configuration,
          "s3:GetBucketNotification"),
    Entry("GetObjectLockConfiguration", _bucket("GET", "object-lock"),
          locking.get_object_lock_configuration,
          "s3:GetBucketObjectLockConfiguration"),
    Entry("PutObjectLockConfiguration", _bucket("PUT", "object-lock"),
          locking.put_object_lock_configuration,
          "s3:PutBucketObjectLockConfiguration", body="xml",
          checks=(_INTEGRITY,)),
    Entry("GetBucketReplication", _bucket("GET", "replication"),
          subresources.get_bucket_replication,
          "s3:GetReplicationConfiguration"),
    Entry("GetBucketTagging", _bucket("GET", "tagging"),
          tagging.get_bucket_tagging, "s3:GetBucketTagging"),
    Entry("PutBucketTagging", _bucket("PUT", "tagging"),
          tagging.put_bucket_tagging, "s3:PutBucketTagging", body="xml"),
    Entry("DeleteBucketTagging", _bucket("DELETE", "tagging"),
          tagging.delete_bucket_tagging, "s3:PutBucketTagging"),
    # -- CORS --------------------------------------------------------------
    Entry("GetBucketCors", _bucket("GET", "cors"), bucket_cors.get_bucket_cors,
          "s3:GetBucketCORS"),
    Entry("PutBucketCors", _bucket("PUT", "cors"), bucket_cors.put_bucket_cors,
          "s3:PutBucketCORS", body="xml", checks=(_INTEGRITY,)),
    Entry("DeleteBucketCors", _bucket("DELETE", "cors"),
          bucket_cors.delete_bucket_cors, "s3:PutBucketCORS"),
    # A browser's preflight carries no credentials.  It may carry the
    # query of the request it asks about, so any sub-resource is allowed.
    Entry("OptionsObject",
          (Route("OPTIONS", "service", optional=SUBRESOURCES),
           Route("OPTIONS", "bucket", optional=SUBRESOURCES),
           Route("OPTIONS", "object", optional=SUBRESOURCES)),
          bucket_cors.options_object, None, public=True),
    # -- objects -----------------------------------------------------------
    Entry("PutObject", _object("PUT"), obj.put_object, "s3:PutObject",
          body="object", checks=(_SSE, _ACL, _TAGGING, _CONDITION, _LOCK, _QUOTA)),
    # A browser form: the key, the signer and the headers are form fields,
    # checked by txs3.api.postobject when the file begins.
    Entry("PostObject", _bucket("POST"), postobject.post_object,
          "s3:PutObject", body="form", per_key=True),
    Entry("CopyObject", _object("PUT", header=_COPY_SOURCE), copy.copy_object,
          "s3:PutObject", checks=(_SSE, _ACL, _TAGGING, _LOCK)),
    Entry("GetObject", _object("GET", optional=_GET_PART), obj.get_object,
          "s3:GetObject", checks=(_SSE,), version_action="s3:GetObjectVersion"),
    Entry("HeadObject", _object("HEAD", optional=_GET_PART), obj.head_object,
          "s3:GetObject", checks=(_SSE,), version_action="s3:GetObjectVersion"),
    Entry("DeleteObject", _object("DELETE"), obj.delete_object,
          "s3:DeleteObject", version_action="s3:DeleteObjectVersion"),
    Entry("GetObjectAcl", _object("GET", "acl"), acl.get_object_acl,
          "s3:GetObjectAcl", version_action="s3:GetObjectVersionAcl"),
    Entry("PutObjectAcl", _object("PUT", "acl"), acl.put_object_acl,
          "s3:PutObjectAcl", body="xml", checks=(_ACL,),
          version_action="s3:PutObjectVersionAcl"),
    Entry("GetObjectTagging", _object("GET", "tagging"),
          tagging.get_object_tagging, "s3:GetObjectTagging",
          version_action="s3:GetObjectVersionTagging"),
    Entry("PutObjectTagging", _object("PUT", "tagging"),
          tagging.put_object_tagging, "s3:PutObjectTagging", body="xml",
          version_action="s3:PutObjectVersionTagging"),
    Entry("DeleteObjectTagging", _object("DELETE", "tagging"),
          tagging.delete_object_tagging, "s3:DeleteObjectTagging",
          version_action="s3:DeleteObjectVersionTagging"),
    Entry("GetObjectAttributes", _object("GET", "attributes"),
          attributes.get_object_attributes, "s3:GetObjectAttributes",
          checks=(_SSE,), version_action="s3:GetObjectVersionAttributes"),
    # S3 has no separate version actions for these.
    Entry("GetObjectRetention", _object("GET", "retention"),
          locking.get_object_retention, "s3:GetObjectRetention"),
    Entry("PutObjectRetention", _object("PUT", "retention"),
          locking.put_object_retention, "s3:PutObjectRetention", body="xml",
          checks=(_INTEGRITY,)),
    Entry("GetObjectLegalHold", _object("GET", "legal-hold"),
          locking.get_object_legal_hold, "s3:GetObjectLegalHold"),
    Entry("PutObjectLegalHold", _object("PUT", "legal-hold"),
          locking.put_object_legal_hold, "s3:PutObjectLegalHold", body="xml",
          checks=(_INTEGRITY,)),
    # -- multipart uploads -------------------------------------------------
    Entry("CreateMultipartUpload", _object("POST", "uploads"),
          multipart.create_multipart_upload, "s3:PutObject",
          checks=(_SSE, _ACL, _TAGGING, _LOCK)),
    Entry("UploadPart", _object("PUT", "partNumber", "uploadId"),
          multipart.upload_part, "s3:PutObject", body="object",
          checks=(_SSE, _PART, _UPLOAD, _LOCK, _QUOTA)),
    Entry("UploadPartCopy",
          _object("PUT", "partNumber", "uploadId", header=_COPY_SOURCE),
          copy.upload_part_copy, "s3:PutObject",
          checks=(_SSE, _PART, _UPLOAD)),
    Entry("CompleteMultipartUpload", _object("POST", "uploadId"),
          multipart.complete_multipart_upload, "s3:PutObject", body="xml",
          checks=(_SSE, _COMPLETION)),
    Entry("AbortMultipartUpload", _object("DELETE", "uploadId"),
          multipart.abort_multipart_upload, "s3:AbortMultipartUpload"),
    Entry("ListParts", _object("GET", "uploadId"), multipart.list_parts,
          "s3:ListMultipartUploadParts", checks=(_SSE,)),
)  # fmt: skip

#: Operation name -> its entry.
BY_NAME: Mapping[OperationName, Entry] = {e.name: e for e in CATALOGUE}
