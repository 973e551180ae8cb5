"""
An incremental decoder for S3's ``aws-chunked`` body framing.

Wire format (SigV4 streaming and the modern SDKs' unsigned trailers)::

    hex-size[;chunk-signature=<64 hex>]\\r\\n  <size bytes>  \\r\\n
    ...
    0[;chunk-signature=<64 hex>]\\r\\n
    [name:value\\r\\n ...  [x-amz-trailer-signature:<64 hex>\\r\\n]]
    \\r\\n

Chunk signatures chain from the request's seed signature; each signs
``AWS4-HMAC-SHA256-PAYLOAD``, the request date and scope, the previous
signature, the hash of the empty string and the hash of the chunk's data.
The trailer signature signs ``AWS4-HMAC-SHA256-TRAILER``, date, scope, the
final chunk's signature and the hash of the trailers as ``name:value\\n``
lines.

Memory stays bounded whatever the body: data bytes are handed on as they
arrive and hashed incrementally; only one header or trailer line (at most
L{MAX_LINE} bytes) is ever held back.  Consequently a chunk's data is
returned by L{ChunkedDecoder.feed} before its signature can be checked (the
check happens at the chunk's closing CRLF): a caller must treat nothing as
valid until L{ChunkedDecoder.finish} has returned.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum, auto

from txs3.auth.types import PayloadPlan
from txs3.errors import S3Error

# Longest header or trailer line accepted, CRLF included.  A chunk header
# is at most ~100 bytes (16 hex digits + ";chunk-signature=" + 64 hex); a
# trailer line a checksum header.  Anything longer is not aws-chunked.
MAX_LINE = 4096

# Most trailer lines accepted (S3 sends one checksum and a signature).
MAX_TRAILERS = 32

_MAX_SIZE_DIGITS = 16
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_TRAILER_SIGNATURE = "x-amz-trailer-signature"


class _State(Enum):
    CHUNK_HEADER = auto()
    DATA = auto()
    DATA_END = auto()
    TRAILER = auto()
    DONE = auto()


def _malformed(detail: str) -> S3Error:
    return S3Error.of("InvalidRequest", f"Malformed aws-chunked body: {detail}")


class ChunkedDecoder:
    """
    Decode one ``aws-chunked`` body fed in arbitrary pieces.

    Once any call has raised, the decoder is spent: every later call raises
    the same error.
    """

    def __init__(self, plan: PayloadPlan) -> None:
        """
        @param plan: the request's plan; its C{chunk_signing} (when set)
            verifies every chunk, C{trailer} says whether trailer lines may
            follow the last chunk, C{trailer_names} (when not empty) lists
            the only trailers accepted, and C{decoded_length} (when set) is
            the exact decoded size.
        """
        self._signing = plan.chunk_signing
        self._trailer_allowed = plan.trailer
        self._trailer_names = frozenset(plan.trailer_names)
        self._decoded_length = plan.decoded_length
        self._previous = plan.chunk_signing.seed_signature if plan.chunk_signing else ""
        self._state = _State.CHUNK_HEADER
        self._line = bytearray()
        self._remaining = 0
        self._crlf_seen = 0
        self._chunk_hash: hashlib._Hash | None = None
        self._chunk_signature = ""
        self._total = 0
        self._trailers: dict[str, str] = {}
        self._trailer_signature: str | None = None
        self._error: S3Error | None = None

    # --- public ---------------------------------------------------------------

    def feed(self, data: bytes) -> list[bytes]:
        """
        Decode the next piece of the body.

        @return: the payload bytes found in C{data}, in order (possibly none).
        @raise S3Error: C{SignatureDoesNotMatch} for a chunk (or trailer)
            whose signature is wrong or missing; C{IncompleteBody} when the
            last chunk arrives before C{decoded_length} bytes;
            C{InvalidRequest} for malformed framing, an over-long line, more
            data than C{decoded_length}, an unexpected trailer, or bytes
            after the end of the body.
        """
        if self._error is not None:
            raise self._error
        try:
            return self._feed(data)
        except S3Error as e:
            self._error = e
            raise

    def finish(self) -> dict[str, str]:
        """
        The body has ended: check that its framing did.

        Like AWS, a body whose trailer lines are all complete but which
        lacks the final empty line is accepted (some SDKs stop there).

        @return: the trailers, lower-case name to value, without
            ``x-amz-trailer-signature``.
        @raise S3Error: C{IncompleteBody} when the body stopped early;
            C{SignatureDoesNotMatch} for a missing or wrong trailer
            signature.
        """
        if self._error is not None:
            raise self._error
        try:
            if self._state is _State.DONE:
                return dict(self._trailers)
            lenient_end = (
                self._state is _State.TRAILER
                and not self._line
                and (self._trailers or self._trailer_signature is not None)
            )
            if not lenient_end:
                raise S3Error.of("IncompleteBody")
            self._end_trailers()
            return dict(self._trailers)
        except S3Error as e:
            self._error = e
            raise

    # --- the state machine ------------------------------------------------------

    def _feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        pos = 0
        end = len(data)
        while pos < end:
            state = self._state
            if state is _State.DATA:
                take = min(self._remaining, end - pos)
                piece = data[pos : pos + take]
                pos += take
                self._remaining -= take
                self._total += take
                if (
                    self._decoded_length is not None
                    and self._total > self._decoded_length
                ):
                    raise S3Error.of(
                        "InvalidRequest",
                        "The aws-chunked body is longer than "
                        "x-amz-decoded-content-length.",
                    )
                if self._chunk_hash is not None:
                    self._chunk_hash.update(piece)
                out.append(piece)
                if self._remaining == 0:
                    self._state = _State.DATA_END
                    self._crlf_seen = 0
            elif state is _State.DATA_END:
                if data[pos] != b"\r\n"[self._crlf_seen]:
                    raise _malformed("chunk data is not followed by CRLF")
                pos += 1
                self._crlf_seen += 1
                if self._crlf_seen == 2:
                    self._end_chunk()
                    self._state = _State.CHUNK_HEADER
            elif state is _State.DONE:
                raise _malformed("data after the end of the body")
            else:
                newline = data.find(b"\n", pos)
                stop = end if newline < 0 else newline + 1
                if len(self._line) + (stop - pos) > MAX_LINE:
                    raise _malformed("line too long")
                self._line += data[pos:stop]
                pos = stop
                if newline >= 0:
                    line = bytes(self._line)
                    self._line.clear()
                    if not line.endswith(b"\r\n"):
                        raise _malformed("line not terminated by CRLF")
                    text = self._text(line[:-2])
                    if state is _State.CHUNK_HEADER:
                        self._chunk_header(text)
                    else:
                        self._trailer_line(text)
        return out

    @staticmethod
    def _text(line: bytes) -> str:
        try:
            return line.decode("ascii")
        except UnicodeDecodeError:
            raise _malformed("non-ASCII framing") from None

    def _chunk_header(self, text: str) -> None:
        size_text, *extensions = text.split(";")
        size_text = size_text.strip()
        if (
            not size_text
            or len(size_text) > _MAX_SIZE_DIGITS
            or not set(size_text) <= _HEX_DIGITS
        ):
            raise _malformed("bad chunk size")
        size = int(size_text, 16)
        signature = ""
        for extension in extensions:
            name, _, value = extension.partition("=")
            if name.strip() == "chunk-signature":
                signature = value.strip()
        if self._signing is not None and not signature:
            raise S3Error.of(
                "SignatureDoesNotMatch", "A chunk of the body is not signed."
            )
        self._chunk_signature = signature
        self._chunk_hash = hashlib.sha256() if self._signing is not None else None
        if size > 0:
            self._remaining = size
            self._state = _State.DATA
            return
        # The final, empty chunk.
        self._end_chunk()
        if self._decoded_length is not None and self._total < self._decoded_length:
            raise S3Error.of("IncompleteBody")
        self._state = _State.TRAILER

    def _end_chunk(self) -> None:
        """Verify the signature of the chunk just completed, if signed."""
        signing = self._signing
        if signing is None:
            return
        digest = self._chunk_hash.hexdigest() if self._chunk_hash else _EMPTY_SHA256
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                signing.amz_date,
                signing.scope,
                self._previous,
                _EMPTY_SHA256,
                digest,
            ]
        )
        self._check(to_sign, self._chunk_signature)
        self._previous = self._chunk_signature.lower()
        self._chunk_hash = None

    def _trailer_line(self, text: str) -> None:
        if not text:
            self._end_trailers()
            self._state = _State.DONE
            return
        if not self._trailer_allowed:
            raise _malformed("trailer sent without a trailer mode")
        if self._trailer_signature is not None:
            raise _malformed("trailer after x-amz-trailer-signature")
        name, sep, value = text.partition(":")
        name = name.strip().lower()
        if not sep or not name:
            raise _malformed("bad trailer line")
        value = value.strip()
        if name == _TRAILER_SIGNATURE:
            self._trailer_signature = value
            return
        if self._trailer_names and name not in self._trailer_names:
            raise S3Error.of(
                "InvalidRequest",
                f"The trailer {name} was not announced in x-amz-trailer.",
            )
        if name in self._trailers or len(self._trailers) >= MAX_TRAILERS:
            raise _malformed(f"repeated or too many trailers ({name})")
        self._trailers[name] = value

    def _end_trailers(self) -> None:
        """Verify the trailer signature, in the signed trailer mode."""
        signing = self._signing
        if signing is None or not self._trailer_allowed:
            return
        if self._trailer_signature is None:
            raise S3Error.of(
                "SignatureDoesNotMatch", "The trailer of the body is not signed."
            )
        canonical = "".join(
            f"{name}:{value}\n" for name, value in sorted(self._trailers.items())
        )
        to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-TRAILER",
                signing.amz_date,
                signing.scope,
                self._previous,
                hashlib.sha256(canonical.encode("ascii")).hexdigest(),
            ]
        )
        self._check(to_sign, self._trailer_signature)

    def _check(self, to_sign: str, provided: str) -> None:
        assert self._signing is not None
        expected = hmac.new(
            self._signing.signing_key, to_sign.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(
            expected.encode("ascii"), provided.lower().encode("ascii", "replace")
        ):
            raise S3Error.of(
                "SignatureDoesNotMatch",
                StringToSign=to_sign,
                SignatureProvided=provided,
            )
