"""
Checks of the ACL and tagging headers of write requests, made before the
body (L{txs3.server.prepare}): a request that would be refused for them is
refused before ``100 Continue``, and nothing reaches the disk.
"""

from __future__ import annotations

from collections.abc import Mapping

from txs3.api.acl import check_acl_headers
from txs3.api.tagset import parse_tagging_header

#: Operations that take ``x-amz-acl`` / ``x-amz-grant-*``.
ACL_OPERATIONS = frozenset(
    {
        "CreateBucket",
        "PutObject",
        "CopyObject",
        "CreateMultipartUpload",
        "PutBucketAcl",
        "PutObjectAcl",
    }
)

#: Operations that take ``x-amz-tagging`` (CopyObject only with
#: ``x-amz-tagging-directive: REPLACE``).
TAGGING_OPERATIONS = frozenset({"PutObject", "CreateMultipartUpload", "CopyObject"})


def check_write_headers(
    operation: str, headers: Mapping[str, str], owner_id: str
) -> None:
    """
    Refuse C{operation} now if its ACL headers ask for more than the
    owner's full control, or its ``x-amz-tagging`` header is not a valid
    tag set.  Other operations pass untouched.

    @param headers: lower-case header names to values.
    @raise S3Error: as L{check_acl_headers} and L{parse_tagging_header}.
    """
    if operation in ACL_OPERATIONS:
        check_acl_headers(headers, owner_id)
    if operation in TAGGING_OPERATIONS:
        value = headers.get("x-amz-tagging")
        if value is None:
            return
        directive = headers.get("x-amz-tagging-directive", "COPY").upper()
        if operation != "CopyObject" or directive == "REPLACE":
            parse_tagging_header(value)
