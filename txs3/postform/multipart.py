"""
A streaming ``multipart/form-data`` parser for browser POST uploads.

The parser is pushed bytes as they arrive (L{FormParser.feed}, any
chunking: a boundary may be split across chunks) and keeps at most one
chunk plus a boundary's length of the file in memory.  The form fields
that precede the file are small and collected (their total size is capped,
as AWS caps them); when the ``file`` part begins, the caller's
C{start_file} is called with those fields and the file's name and type,
and returns the sink that then receives the file's bytes in pieces.  This
is the moment to check the policy and signature, before a byte is stored.

As AWS does, the ``file`` field must be the last one that counts: parts
after it are read (to find the end of the form) and ignored.  Field names
compare case-insensitively (AWS), so fields are keyed by lower-case name.

Nothing here knows HTTP objects, Twisted or the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from txs3.errors import S3Error

#: AWS refuses a form whose fields before the file exceed this many bytes.
MAX_PRE_DATA = 20 * 1024
#: A part's header block may be at most this long.
MAX_PART_HEADERS = 8 * 1024
#: RFC 2046: a boundary is 1 to 70 characters.
MAX_BOUNDARY = 70

FILE_FIELD = "file"


@dataclass(frozen=True)
class FileInfo:
    """The file part's ``filename`` (``""`` when absent) and Content-Type."""

    filename: str
    content_type: str | None


@dataclass(frozen=True)
class PostForm:
    """
    A complete form: the fields before the file (lower-case names), the
    file's description and its size in bytes.
    """

    fields: Mapping[str, str]
    file: FileInfo
    size: int


#: Receives the file's bytes, one non-empty piece at a time.
FileSink = Callable[[bytes], None]
#: Called once when the file part begins, with the fields before it;
#: returns the sink for the file's bytes or raises an S3Error.
StartFile = Callable[[Mapping[str, str], FileInfo], FileSink]


def malformed(detail: str | None = None) -> S3Error:
    """A C{MalformedPOSTRequest}; C{detail} is for logs, not the client."""
    error = S3Error.of("MalformedPOSTRequest")
    if detail:
        error.add_note(detail)
    return error


def boundary_from_content_type(value: str | None) -> str:
    """
    The boundary of a ``multipart/form-data`` Content-Type.

    @raise S3Error: C{MalformedPOSTRequest} for another type, or a missing,
        empty, over-long or non-ASCII boundary.
    """
    if value is None:
        raise malformed("no Content-Type")
    media, params = _parse_header_value(value)
    if media.lower() != "multipart/form-data":
        raise malformed(f"Content-Type {media!r}")
    boundary = params.get("boundary", "")
    if not boundary or len(boundary) > MAX_BOUNDARY or not boundary.isascii():
        raise malformed("bad boundary")
    return boundary


def _parse_header_value(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type; a=b; c="d"`` into the value and lower-case-named params."""
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    pos, n = 0, len(rest)
    while pos < n:
        while pos < n and rest[pos] in " \t;":
            pos += 1
        eq = rest.find("=", pos)
        if eq < 0:
            break
        name = rest[pos:eq].strip().lower()
        pos = eq + 1
        while pos < n and rest[pos] in " \t":
            pos += 1
        if pos < n and rest[pos] == '"':
            pos += 1
            out: list[str] = []
            while pos < n and rest[pos] != '"':
                if rest[pos] == "\\" and pos + 1 < n:
                    pos += 1
                out.append(rest[pos])
                pos += 1
            if pos >= n:
                raise malformed("unterminated quoted string")
            pos += 1
            param = "".join(out)
        else:
            end = rest.find(";", pos)
            end = n if end < 0 else end
            param = rest[pos:end].strip()
            pos = end
        params.setdefault(name, param)
    return head.strip(), params


_PREAMBLE, _BOUNDARY_LINE, _HEADERS, _BODY, _END = range(5)


class FormParser:
    """
    Push parser for one ``multipart/form-data`` body.

    @ivar fields: the fields read so far before the file, lower-case names.
    """

    def __init__(
        self, boundary: str, start_file: StartFile, *, max_pre_data: int = MAX_PRE_DATA
    ) -> None:
        self._delimiter = b"\r\n--" + boundary.encode("utf-8")
        self._start_file = start_file
        self._max_pre_data = max_pre_data
        self._pre_data = 0
        # The body may open with the boundary itself: a CRLF in front
        # lets one search find the first delimiter and the others alike.
        self._buffer = bytearray(b"\r\n")
        self._state = _PREAMBLE
        self._fields: dict[str, str] = {}
        self.fields: Mapping[str, str] = MappingProxyType(self._fields)
        self._file: FileInfo | None = None
        self._sink: FileSink | None = None
        self._size = 0
        # The current part: "field" (named _part_name), "file", or ""
        # (ignored: a part after the file).
        self._part_name: str | None = None
        self._part_kind = ""
        self._value = bytearray()

    @property
    def buffered(self) -> int:
        """
        How many bytes the parser holds: at most a chunk, a delimiter and the
        fields' cap (L{MAX_PRE_DATA}), whatever the file's size.
        """
        return len(self._buffer) + len(self._value)

    def feed(self, data: bytes) -> None:
        """
        Consume the next bytes of the body.

        @raise S3Error: C{MalformedPOSTRequest} for a body that is not
            well-formed; C{MaxPostPreDataLengthExceededError} when the fields
            before the file grow too large; C{InvalidArgument} for a field
            that appears twice; whatever C{start_file} or the sink raises.
            After an error the body is refused: do not feed the parser again.
        """
        if self._state == _END:
            return  # the epilogue, ignored
        self._buffer += data
        while self._step():
            pass

    def close(self) -> PostForm:
        """
        Declare the body complete.

        @return: the fields, the file's description and its size.
        @raise S3Error: C{MalformedPOSTRequest} when the closing boundary has
            not been seen; C{IncorrectNumberOfFilesInPostRequest} when the
            form had no ``file`` field.
        """
        if self._state != _END:
            raise malformed("truncated body")
        if self._file is None:
            raise S3Error.of("IncorrectNumberOfFilesInPostRequest")
        return PostForm(self.fields, self._file, self._size)

    # --- the state machine ----------------------------------------------------

    def _step(self) -> bool:
        """Advance one state if the buffer allows; False when it needs more."""
        if self._state == _PREAMBLE:
            return self._preamble()
        if self._state == _BOUNDARY_LINE:
            return self._boundary_line()
        if self._state == _HEADERS:
            return self._headers()
        if self._state == _BODY:
            return self._body()
        return False

    def _preamble(self) -> bool:
        at = self._buffer.find(self._delimiter)
        if at < 0:
            # Keep what may be the start of a delimiter; drop the rest.
            keep = len(self._delimiter) - 1
            if len(self._buffer) > keep:
                del self._buffer[: len(self._buffer) - keep]
            return False
        del self._buffer[: at + len(self._delimiter)]
        self._state = _BOUNDARY_LINE
        return True

    def _boundary_line(self) -> bool:
        if len(self._buffer) < 2:
            return False
        if self._buffer[:2] == b"--":
            self._end_part()
            self._state = _END
            self._buffer.clear()
            return False
        eol = self._buffer.find(b"\r\n")
        if eol < 0:
            if len(self._buffer) > 1024:
                raise malformed("boundary line too long")
            return False
        # RFC 2046 allows linear white space after a boundary.
        if self._buffer[:eol].strip(b" \t"):
            raise malformed("text after a boundary")
        del self._buffer[: eol + 2]
        self._end_part()
        self._state = _HEADERS
        return True

    def _headers(self) -> bool:
        if self._buffer[:2] == b"\r\n":
            block, used = b"", 2
        else:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_PART_HEADERS:
                    raise malformed("part headers too long")
                return False
            block, used = bytes(self._buffer[:end]), end + 4
        if self._file is None:
            self._count_pre_data(used)
        del self._buffer[:used]
        self._begin_part(block)
        self._state = _BODY
        return True

    def _body(self) -> bool:
        at = self._buffer.find(self._delimiter)
        if at < 0:
            keep = len(self._delimiter) - 1
            if len(self._buffer) > keep:
                self._part_data(bytes(self._buffer[: len(self._buffer) - keep]))
                del self._buffer[: len(self._buffer) - keep]
            return False
        if at:
            self._part_data(bytes(self._buffer[:at]))
        del self._buffer[: at + len(self._delimiter)]
        self._state = _BOUNDARY_LINE
        return True

    # --- parts ------------------------------------------------------------------

    def _count_pre_data(self, n: int) -> None:
        self._pre_data += n
        if self._pre_data > self._max_pre_data:
            raise S3Error.of("MaxPostPreDataLengthExceededError")

    def _begin_part(self, block: bytes) -> None:
        if self._file is not None:
            # After the file: ignored as AWS ignores it, headers unread.
            self._part_kind = ""
            return
        disposition: str | None = None
        content_type: str | None = None
        for raw in block.split(b"\r\n"):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise malformed("part header not UTF-8") from e
            name, colon, value = line.partition(":")
            if not colon:
                raise malformed("part header without a colon")
            name = name.strip().lower()
            if name == "content-disposition":
                disposition = value.strip()
            elif name == "content-type":
                content_type = value.strip()
        if disposition is None:
            raise malformed("part without Content-Disposition")
        kind, params = _parse_header_value(disposition)
        if kind.lower() != "form-data" or "name" not in params:
            raise malformed("part is not a named form-data field")
        field = params["name"].lower()
        if field == FILE_FIELD:
            info = FileInfo(params.get("filename", ""), content_type)
            self._sink = self._start_file(self.fields, info)
            self._file = info
            self._part_kind = "file"
        else:
            if field in self._fields:
                raise S3Error.of(
                    "InvalidArgument",
                    f"POST form field {field!r} appears more than once.",
                    ArgumentName=field,
                )
            self._part_kind = "field"
            self._part_name = field
            self._value.clear()

    def _part_data(self, data: bytes) -> None:
        if self._part_kind == "field":
            self._count_pre_data(len(data))
            self._value += data
        elif self._part_kind == "file":
            assert self._sink is not None
            self._size += len(data)
            self._sink(data)

    def _end_part(self) -> None:
        if self._part_kind == "field":
            assert self._part_name is not None
            try:
                self._fields[self._part_name] = self._value.decode("utf-8")
            except UnicodeDecodeError as e:
                raise malformed("field value not UTF-8") from e
            self._value.clear()
        self._part_kind = ""
        self._part_name = None
