"""
The body sink of a browser upload (PostObject): a ``multipart/form-data``
body parsed as it streams, its file checked before a byte of it is
stored.

L{FormSink} is a request-body sink like those of L{txs3.body}: it decodes
the request's framing and hashes the whole body against the request's own
digests, and hands the decoded bytes to a L{txs3.postform.multipart.FormParser}.
The fields before the file are small and collected.  When the file part
begins, the sink calls its C{start} callback with them (the API's
decision, L{txs3.api.postobject.accept_form}: signature, policy,
authorization, ACL, metadata), which returns an L{AcceptedForm} or raises
the form's L{S3Error}; only then is a staging file opened, and the file's
bytes stream into it, hashed (MD5 for the ETag, the S3 checksums) and
limited (the policy's ``content-length-range`` maximum, and 5 GiB), with
nothing buffered beyond one network chunk.  Parts after the file are read
and ignored, as AWS ignores them.

A form refused while its body streams (a bad signature, a failed policy
condition, a file over the limit, a malformed body) is refused for good:
the staging file is discarded, nothing more is parsed, and L{refused}
holds the error so that the server answers it at once and stops reading
(L{txs3.server.S3Request.handleContentChunk}).

Nothing here knows HTTP objects or the store beyond its staging files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from txs3.auth.integrity import BodyDigests
from txs3.auth.types import Identity, PayloadPlan
from txs3.authz import Acl
from txs3.body import DEFAULT_CHECKSUM, CheckedSink, Upload
from txs3.errors import S3Error
from txs3.objectlock import LockRequest
from txs3.operation import MAX_PUT_SIZE
from txs3.postform.check import limited_sink
from txs3.postform.multipart import FileInfo, FileSink, FormParser, PostForm
from txs3.postform.policy import PostPolicy, check_length
from txs3.store.interface import IStagingFile


@dataclass(frozen=True)
class AcceptedForm:
    """
    A form whose fields before the file were accepted: what its file may
    be, and what the object it makes will be.

    @ivar identity: who signed the form; None for an anonymous form.
    @ivar key: the object key (``${filename}`` replaced).
    @ivar headers: the fields that stand for a PUT's request headers,
        under those headers' names (``acl`` as ``x-amz-acl``, the standard
        headers, ``x-amz-meta-*``, the other ``x-amz-*``), lower case.
    @ivar fields: every field before the file, lower-case names.
    @ivar policy: the form's policy, if any (its length range applies).
    @ivar acl: the ACL its ``acl`` field asks for, checked; None for none.
    @ivar tags: the tag set of its ``tagging`` field.
    @ivar content_md5: its ``Content-MD5`` field (the file's MD5), if any.
    @ivar checksums: the file's S3 checksums its ``x-amz-checksum-*``
        fields name, algorithm to base64 value.
    @ivar lock: the Object Lock its ``x-amz-object-lock-*`` fields ask
        for, checked.
    """

    identity: Identity | None
    key: str
    headers: Mapping[str, str]
    fields: Mapping[str, str]
    policy: PostPolicy | None = None
    acl: Acl | None = None
    tags: tuple[tuple[str, str], ...] = ()
    content_md5: str | None = None
    checksums: Mapping[str, str] | None = None
    lock: LockRequest | None = None


#: The decision on a form, once its fields before the file are in.
StartForm = Callable[[Mapping[str, str], FileInfo], AcceptedForm]


@dataclass(frozen=True)
class PostedFile:
    """A complete, verified form: what was accepted, and its stored file."""

    form: AcceptedForm
    upload: Upload
    posted: PostForm


class FormSink(CheckedSink):
    """
    Streams a ``multipart/form-data`` body, its file into a staging file
    (see the module docstring).

    @param boundary: the body's boundary (from its Content-Type).
    @param plan: how the request body itself is framed and verified.
    @param digests: the request body's digests (its Content-MD5 and
        checksum headers; not the file's).
    @param start: decides the form when its file begins.
    @param open_staging: opens the staging file the file goes to, once
        the form is accepted.
    @ivar refused: the error that refused the form while its body
        streamed; None while it has not been refused.
    """

    def __init__(
        self,
        boundary: str,
        plan: PayloadPlan,
        digests: BodyDigests,
        start: StartForm,
        open_staging: Callable[[], IStagingFile],
    ) -> None:
        super().__init__(plan, digests)
        self._start = start
        self._open_staging = open_staging
        self._parser = FormParser(boundary, self._start_file)
        self._accepted: AcceptedForm | None = None
        self._staging: IStagingFile | None = None
        self._file_digests: BodyDigests | None = None
        self._file_size = 0
        self._posted: PostedFile | None = None
        self.refused: S3Error | None = None

    @property
    def buffered(self) -> int:
        """Bytes the parser holds (bounded whatever the file's size)."""
        return self._parser.buffered

    def _start_file(self, fields: Mapping[str, str], info: FileInfo) -> FileSink:
        accepted = self._start(fields, info)
        checksums = dict(accepted.checksums or {})
        self._file_digests = BodyDigests(
            PayloadPlan(),
            accepted.content_md5,
            checksums,
            [] if checksums else [DEFAULT_CHECKSUM],
            md5=True,
        )
        self._staging = self._open_staging()
        self._accepted = accepted
        return limited_sink(self._file_piece, accepted.policy)

    def _file_piece(self, piece: bytes) -> None:
        self._file_size += len(piece)
        if self._file_size > MAX_PUT_SIZE:
            raise S3Error.of(
                "EntityTooLarge",
                ProposedSize=str(self._file_size),
                MaxSizeAllowed=str(MAX_PUT_SIZE),
            )
        assert self._file_digests is not None and self._staging is not None
        self._file_digests.update(piece)
        self._staging.write(piece)

    def _keep(self, piece: bytes) -> None:
        self._parser.feed(piece)

    def _fail(self, error: S3Error) -> None:
        super()._fail(error)
        if self.refused is None:
            self.refused = error
        if self._staging is not None:
            self._staging.discard()

    def finish(self) -> PostedFile:
        """
        Verify the complete body and hand the staging file on.  A second
        call returns the same L{PostedFile}.

        Checks, in order: the request body's framing and digests; the form
        is complete and had a file (C{MalformedPOSTRequest},
        C{IncorrectNumberOfFilesInPostRequest}); the file's size against
        the policy (C{EntityTooSmall}, C{EntityTooLarge}); the file's
        ``Content-MD5`` and checksum fields (C{BadDigest}).

        @raise S3Error: the first problem found; the staging file is gone.
        """
        if self._posted is not None:
            return self._posted
        self._complete()
        try:
            posted = self._parser.close()
            accepted, staging = self._accepted, self._staging
            assert accepted is not None and staging is not None
            assert self._file_digests is not None
            if accepted.policy is not None:
                check_length(accepted.policy, posted.size)
            self._file_digests.verify({})
        except S3Error as e:
            self._fail(e)
            raise
        upload = Upload(
            staging,
            posted.size,
            self._file_digests.md5_hex(),
            self._file_digests.checksums(),
        )
        self._posted = PostedFile(accepted, upload, posted)
        return self._posted

    def verify(self) -> None:
        """Check the complete body (L{finish}, keeping its result)."""
        self.finish()

    def close(self) -> None:
        """Twisted is done with the request: drop the staging file unless handed on."""
        if self._posted is None and self._staging is not None:
            self._staging.discard()
