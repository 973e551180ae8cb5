"""
The Klein application: one route, thin.

The request was classified and authenticated before its body
(L{txs3.server.S3Request.gotLength}); here it is dispatched by operation
name to a handler of the resource family's module, and any L{S3Error} is
rendered as S3's XML by one error handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from klein import Klein
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource

from txs3.api import (
    bucket,
    copy,
    listing,
    multidelete,
    multipart,
    obj,
    profile,
    service,
    subresources,
    tagging,
    versions,
)
from txs3.api.render import write_error
from txs3.errors import S3Error
from txs3.server import S3Call, S3Config

log = Logger()

Handler = Callable[[S3Call, Any], Awaitable[bytes | None]]

HANDLERS: dict[str, Handler] = {
    "ListBuckets": service.list_buckets,
    "CreateBucket": bucket.create_bucket,
    "HeadBucket": bucket.head_bucket,
    "DeleteBucket": bucket.delete_bucket,
    "GetBucketLocation": bucket.get_bucket_location,
    "ListObjects": listing.list_objects,
    "ListObjectsV2": listing.list_objects_v2,
    "DeleteObjects": multidelete.delete_objects,
    "PutObject": obj.put_object,
    "GetObject": obj.get_object,
    "HeadObject": obj.head_object,
    "DeleteObject": obj.delete_object,
    "CopyObject": copy.copy_object,
    "CreateMultipartUpload": multipart.create_multipart_upload,
    "UploadPart": multipart.upload_part,
    "UploadPartCopy": copy.upload_part_copy,
    "CompleteMultipartUpload": multipart.complete_multipart_upload,
    "AbortMultipartUpload": multipart.abort_multipart_upload,
    "ListParts": multipart.list_parts,
    "ListMultipartUploads": multipart.list_multipart_uploads,
}

# Configuration sub-resources, tagging, ListObjectVersions and the
# connection profile, each in its own module.
HANDLERS.update(subresources.SUBRESOURCE_HANDLERS)
HANDLERS.update(
    {
        "ListObjectVersions": versions.list_object_versions,
        "GetObjectTagging": tagging.get_object_tagging,
        "PutObjectTagging": tagging.put_object_tagging,
        "DeleteObjectTagging": tagging.delete_object_tagging,
        "GetBucketTagging": tagging.get_bucket_tagging,
        "PutBucketTagging": tagging.put_bucket_tagging,
        "DeleteBucketTagging": tagging.delete_bucket_tagging,
        "GetConnectionProfile": profile.get_connection_profile,
    }
)


class S3Root(Resource):
    """
    The site's root: requests refused before their body are answered here,
    without routing (their path may not even decode); the rest go to Klein.
    """

    isLeaf = True

    def __init__(self, klein_resource: Any) -> None:
        super().__init__()
        self._klein = klein_resource

    def render(self, request: Any) -> Any:
        refusal = getattr(request, "refusal", None)
        if refusal is not None:
            request.setHeader("Server", "txs3")
            return write_error(request, refusal, request.resource_path)
        return self._klein.render(request)


class S3Application:
    """Dispatches prepared S3 calls to their handlers."""

    app = Klein()

    def __init__(self, config: S3Config) -> None:
        self.config = config
        # Keys may hold "//": werkzeug must neither merge nor redirect.
        self.app.url_map.merge_slashes = False

    def resource(self) -> Any:
        return S3Root(self.app.resource())

    @app.route("/", branch=True, strict_slashes=False)
    async def dispatch(self, request: Any) -> bytes | None:
        request.setHeader("x-amz-request-id", request.request_id)
        request.setHeader("Server", "txs3")
        call: S3Call | None = request.call
        if call is None:
            raise S3Error.of("InternalError")
        handler = HANDLERS.get(call.operation.name)
        if handler is None:
            raise S3Error.of("NotImplemented")
        return await handler(call, request)

    @app.handle_errors(S3Error)
    def s3_error(self, request: Any, failure: Failure) -> bytes:
        error = failure.value
        assert isinstance(error, S3Error)
        return write_error(request, error, _resource(request))

    @app.handle_errors(Exception)
    def internal_error(self, request: Any, failure: Failure) -> bytes:
        log.failure("handling {uri}", failure, uri=request.uri)
        return write_error(request, S3Error.of("InternalError"), _resource(request))


def _resource(request: Any) -> str:
    call = getattr(request, "call", None)
    if call is not None:
        return str(call.operation.resource)
    return str(getattr(request, "resource_path", "/"))
