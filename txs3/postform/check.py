"""
The pieces of a browser upload put together, still without I/O.

L{check_form} is what a C{start_file} callback of
L{txs3.postform.multipart.FormParser} does when the file part begins:
authenticate the form, work out the key, and hold the fields against the
policy, so that a refused form is answered before a byte of the file is
stored.  L{limited_sink} enforces the policy's largest size while the file
streams; L{txs3.postform.policy.check_length} checks the final size.

The server (not yet wired) would run, per POST::

    boundary = boundary_from_content_type(content_type)
    def start_file(fields, info):
        decision = check_form(fields, info, bucket=b, lookup=l, now=t)
        ...  # authorize decision.identity for s3:PutObject on decision.key
        return limited_sink(staging.write, decision.policy)
    parser = FormParser(boundary, start_file)
    ...  # parser.feed(chunk) for each chunk
    form = parser.close()
    check_length(decision.policy, form.size)   # then commit the object
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from txs3.auth.types import Identity
from txs3.errors import S3Error
from txs3.postform.multipart import FileInfo, FileSink
from txs3.postform.policy import (
    PostPolicy,
    check_policy,
    object_key,
    parse_post_policy,
)
from txs3.postform.signature import Lookup, verify_form


@dataclass(frozen=True)
class FormDecision:
    """
    A form that may proceed: who signed it (None: anonymous), the key it
    writes, and its policy (None when it has none).
    """

    identity: Identity | None
    key: str
    policy: PostPolicy | None


def check_form(
    fields: Mapping[str, str],
    info: FileInfo,
    *,
    bucket: str,
    lookup: Lookup,
    now: float,
) -> FormDecision:
    """
    Authenticate a form and hold it against its policy.

    @param fields: the fields before the file, lower-case names.
    @param info: the file part's name and type (for ``${filename}``).
    @param bucket: the bucket the form is posted to.
    @param now: POSIX seconds, for the policy's expiry.
    @raise S3Error: as L{verify_form} (signature), L{object_key} (no
        ``key``), L{parse_post_policy} (C{InvalidPolicyDocument}) and
        L{check_policy} (C{AccessDenied}); a policy is checked whenever
        the form carries one, signed or not.
    """
    identity = verify_form(fields, lookup)
    key = object_key(fields, info.filename)
    policy: PostPolicy | None = None
    if "policy" in fields:
        policy = parse_post_policy(fields["policy"])
        check_policy(policy, {**fields, "key": key}, bucket=bucket, now=now)
    return FormDecision(identity, key, policy)


def limited_sink(sink: FileSink, policy: PostPolicy | None) -> FileSink:
    """
    C{sink}, refusing as soon as the file grows beyond the policy's
    ``content-length-range`` maximum (so an oversized upload is not stored
    to the end).

    @return: a sink that passes pieces on, or raises C{EntityTooLarge}
        (``ProposedSize`` is the size reached so far) before passing on the
        piece that crosses the limit.
    """
    limit = None if policy is None else policy.max_length
    if limit is None:
        return sink
    seen = 0

    def limited(piece: bytes) -> None:
        nonlocal seen
        seen += len(piece)
        if seen > limit:
            raise S3Error.of(
                "EntityTooLarge", ProposedSize=str(seen), MaxSizeAllowed=str(limit)
            )
        sink(piece)

    return limited
