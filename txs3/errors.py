"""
S3 errors as data.

Every failure a client can see is an L{S3Error}: an S3 error code, the HTTP
status AWS answers with for that code, a human message, and optional extra
elements that AWS adds to the error document (``BucketName``, ``Key``, ...).
The catalogue below is the single place where codes, statuses and default
messages live; handlers raise ``S3Error.of("NoSuchKey", Key=key)``.
"""

from __future__ import annotations

from collections.abc import Mapping

# code -> (HTTP status, default message).  Statuses and messages follow the
# AWS S3 API reference ("Error responses", "List of error codes").
CATALOGUE: Mapping[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied"),
    "AuthorizationHeaderMalformed": (
        400,
        "The authorization header is malformed.",
    ),
    "AuthorizationQueryParametersError": (
        400,
        "Error parsing the X-Amz-Credential parameter.",
    ),
    "BadDigest": (
        400,
        "The Content-MD5 or checksum value that you specified did not match "
        "what the server received.",
    ),
    "BucketAlreadyExists": (
        409,
        "The requested bucket name is not available. The bucket namespace is "
        "shared by all users of the system. Please select a different name "
        "and try again.",
    ),
    "BucketAlreadyOwnedByYou": (
        409,
        "Your previous request to create the named bucket succeeded and you "
        "already own it.",
    ),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty"),
    "EntityTooLarge": (
        400,
        "Your proposed upload exceeds the maximum allowed object size.",
    ),
    "EntityTooSmall": (
        400,
        "Your proposed upload is smaller than the minimum allowed object size.",
    ),
    "IllegalLocationConstraintException": (
        400,
        "The specified location-constraint is not valid.",
    ),
    "IncompleteBody": (
        400,
        "You did not provide the number of bytes specified by the "
        "Content-Length HTTP header.",
    ),
    "InternalError": (
        500,
        "We encountered an internal error. Please try again.",
    ),
    "InvalidAccessKeyId": (
        403,
        "The AWS access key Id you provided does not exist in our records.",
    ),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidChunkSizeError": (
        403,
        "Only the last chunk is allowed to have a size less than 8192 bytes",
    ),
    "KMS.NotFoundException": (400, "Invalid keyId"),
    "InvalidEncryptionAlgorithmError": (
        400,
        "The encryption request you specified is not valid. The valid value is AES256.",
    ),
    "InvalidDigest": (
        400,
        "The Content-MD5 you specified is not valid.",
    ),
    "InvalidLocationConstraint": (
        400,
        "The specified location constraint is not valid.",
    ),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidRequest": (400, "Invalid Request"),
    "InvalidURI": (400, "Couldn't parse the specified URI."),
    "KeyTooLongError": (400, "Your key is too long"),
    "MalformedXML": (
        400,
        "The XML you provided was not well-formed or did not validate "
        "against our published schema",
    ),
    "MaxMessageLengthExceeded": (
        400,
        "Your request was too big.",
    ),
    "MetadataTooLarge": (
        400,
        "Your metadata headers exceed the maximum allowed metadata size.",
    ),
    "MethodNotAllowed": (
        405,
        "The specified method is not allowed against this resource.",
    ),
    "MissingContentLength": (
        411,
        "You must provide the Content-Length HTTP header.",
    ),
    "MissingSecurityHeader": (
        400,
        "Your request is missing a required header.",
    ),
    "NoSuchBucket": (404, "The specified bucket does not exist"),
    "NoSuchKey": (404, "The specified key does not exist."),
    "QuotaExceeded": (
        403,
        "This write would exceed a storage quota.",
    ),
    "NoSuchVersion": (
        404,
        "The specified version does not exist.",
    ),
    "NotImplemented": (
        501,
        "A header you provided implies functionality that is not implemented",
    ),
    "PreconditionFailed": (
        412,
        "At least one of the pre-conditions you specified did not hold",
    ),
    "RequestHeaderSectionTooLarge": (
        400,
        "The request header and query parameters used to make the request "
        "exceed the maximum allowed size.",
    ),
    "RequestTimeout": (
        400,
        "Your socket connection to the server was not read from or written "
        "to within the timeout period.",
    ),
    "RequestTimeTooSkewed": (
        403,
        "The difference between the request time and the current time is too large.",
    ),
    "SignatureDoesNotMatch": (
        403,
        "The request signature we calculated does not match the signature "
        "you provided. Check your key and signing method.",
    ),
    "XAmzContentSHA256Mismatch": (
        400,
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
    "InvalidStorageClass": (
        400,
        "The storage class you specified is not valid",
    ),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "NoSuchUpload": (
        404,
        "The specified upload does not exist. The upload ID may be invalid, "
        "or the upload may have been aborted or completed.",
    ),
    "InvalidPart": (
        400,
        "One or more of the specified parts could not be found.  The part may "
        "not have been uploaded, or the specified entity tag may not match "
        "the part's entity tag.",
    ),
    "InvalidPartOrder": (
        400,
        "The list of parts was not in ascending order. Parts must be ordered "
        "by part number.",
    ),
    "InvalidPartNumber": (416, "The requested partnumber is not satisfiable"),
    "ConditionalRequestConflict": (
        409,
        "A conflicting conditional operation is currently in progress against "
        "this resource. Try again.",
    ),
    "SlowDown": (503, "Please reduce your request rate."),
    "InsufficientStorage": (
        507,
        "The server has no space left to store this object.",
    ),
    # Sub-resources without a configuration, ACLs, tagging
    # (txs3.api.subresources, txs3.api.tagging).
    "AccessControlListNotSupported": (400, "The bucket does not allow ACLs"),
    "BadRequest": (400, "Bad Request"),
    "InvalidTag": (400, "The TagKey you have provided is invalid"),
    "MalformedPolicy": (400, "This policy contains invalid Json"),
    "UnresolvableGrantByEmailAddress": (
        400,
        "The email address you provided does not match any account on record.",
    ),
    "MalformedACLError": (
        400,
        "The ACL that you provided was not well formed or did not validate "
        "against our published schema",
    ),
    "NoSuchBucketPolicy": (404, "The bucket policy does not exist"),
    "NoSuchPublicAccessBlockConfiguration": (
        404,
        "The public access block configuration was not found",
    ),
    "OwnershipControlsNotFoundError": (
        404,
        "The bucket ownership controls were not found",
    ),
    "InvalidBucketAclWithObjectOwnership": (
        400,
        "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced "
        "setting",
    ),
    "NoSuchCORSConfiguration": (404, "The CORS configuration does not exist"),
    "NoSuchLifecycleConfiguration": (
        404,
        "The lifecycle configuration does not exist",
    ),
    "NoSuchTagSet": (404, "The TagSet does not exist"),
    "UnexpectedContent": (400, "This request does not support content"),
    "NoSuchWebsiteConfiguration": (
        404,
        "The specified bucket does not have a website configuration",
    ),
    "ObjectLockConfigurationNotFoundError": (
        404,
        "Object Lock configuration does not exist for this bucket",
    ),
    # Versioning and Object Lock (txs3.objectlock).  Messages as S3 sends
    # them; the callers pass the specific text where S3 has several.
    "IllegalVersioningConfigurationException": (
        400,
        "The Versioning element must be specified",
    ),
    "InvalidBucketState": (
        409,
        "The request is not valid with the current state of the bucket.",
    ),
    "NoSuchObjectLockConfiguration": (
        404,
        "The specified object does not have a ObjectLock configuration",
    ),
    "ReplicationConfigurationNotFoundError": (
        404,
        "The replication configuration was not found",
    ),
    "ServerSideEncryptionConfigurationNotFoundError": (
        404,
        "The server side encryption configuration was not found",
    ),
    # CORS (txs3.cors) and browser POST uploads (txs3.postform).
    "AccessForbidden": (
        403,
        "CORSResponse: This CORS request is not allowed. This is usually "
        "because the evalution of Origin, request method / "
        "Access-Control-Request-Method or Access-Control-Request-Headers are "
        "not whitelisted by the resource's CORS spec.",
    ),
    "MalformedPOSTRequest": (
        400,
        "The body of your POST request is not well-formed multipart/form-data.",
    ),
    "IncorrectNumberOfFilesInPostRequest": (
        400,
        "POST requires exactly one file upload per request.",
    ),
    "MaxPostPreDataLengthExceededError": (
        400,
        "Your POST request fields preceding the upload file were too large.",
    ),
    "InvalidPolicyDocument": (
        400,
        "The content of the form does not meet the conditions specified in "
        "the policy document.",
    ),
}


class S3Error(Exception):
    """
    An S3 error response waiting to be rendered.

    @ivar code: the S3 error code, a key of L{CATALOGUE}.
    @ivar status: the HTTP status code.
    @ivar message: the human-readable message.
    @ivar extra: further child elements of ``<Error>``, in order.
    @ivar headers: response headers to send with the error (for example
        ``Allow`` on 405, ``x-amz-expected-..``); lower-case names.
    """

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        status: int | None = None,
        extra: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        default_status, default_message = CATALOGUE[code]
        self.code = code
        self.status = status if status is not None else default_status
        self.message = message if message is not None else default_message
        self.extra: dict[str, str] = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(f"{code}: {self.message}")

    @classmethod
    def of(cls, code: str, message: str | None = None, **extra: str) -> S3Error:
        """
        Build an error from the catalogue, with extra ``<Error>`` children
        given as keyword arguments (``S3Error.of("NoSuchKey", Key="a")``).
        """
        return cls(code, message, extra=extra)

    def __repr__(self) -> str:
        return f"S3Error({self.code!r}, {self.message!r}, status={self.status})"
