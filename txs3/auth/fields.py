"""
Request header fields as text, and the readings of them a signature may
cover.

HTTP gives header values as bytes.  Clients that send non-ASCII values
disagree on which bytes stand for their text, and sign accordingly:

  - most (botocore and so boto3 and the AWS CLI, the Go, Java and
    JavaScript SDKs, the AWS CRT, Twisted's client) send the UTF-8
    encoding of the text and sign those same bytes;
  - Python's C{http.client} used directly (and C{requests} or C{urllib3}
    on it) sends the text encoded as latin-1, while a signer such as
    botocore's signs its UTF-8 encoding.

So a value is read as UTF-8 when it is valid UTF-8 (its meaning for the
first group, and what is stored), else as latin-1 (the only reading left,
and the second group's meaning); L{signing_readings} also offers the
latin-1 reading of every value, which is what the second group signed
when its bytes happen to be valid UTF-8 too.  Both readings are of the
same bytes: accepting either grants nothing more.

A field sent on several lines (``Content-Encoding: deflate`` then
``Content-Encoding: gzip``) is one value, the lines joined with ``", "``
(RFC 9110 section 5.3): that is what is stored and sent back.  Signatures
cover the lines joined with ``","``, each trimmed (SigV4's canonical
headers, SigV2's ``x-amz-*`` lines), so the lines are kept too
(L{field_lines}).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence


def decode_field_value(raw: bytes) -> str:
    """One header line's value as text: UTF-8 when it is UTF-8, else latin-1."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class HeaderFields(dict[str, str]):
    """
    Lower-case header name to value, a field sent on several lines joined
    with ``", "``; and the lines of each field, as text and as bytes, for
    L{field_lines} and L{signing_readings}.  Built by L{from_raw}.
    """

    def __init__(
        self,
        lines: Mapping[str, tuple[str, ...]] | None = None,
        raw: Mapping[str, tuple[bytes, ...]] | None = None,
    ) -> None:
        """
        @param lines: field name to the text of each of its lines.
        @param raw: field name to the bytes of each of its lines, as sent.
        """
        self._lines = dict(lines or {})
        self._raw = dict(raw or {})
        super().__init__({name: ", ".join(vs) for name, vs in self._lines.items()})

    @classmethod
    def from_raw(
        cls,
        fields: Iterable[tuple[bytes, Sequence[bytes]]],
        decode: Callable[[bytes], str] = decode_field_value,
    ) -> HeaderFields:
        """
        Header fields from (name, [line value, ...]) pairs as sent, such as
        Twisted's C{Headers.getAllRawHeaders()}.

        @param decode: how a line's bytes become text.
        """
        raw: dict[str, tuple[bytes, ...]] = {}
        for name, values in fields:
            key = name.decode("latin-1").lower()
            raw[key] = raw.get(key, ()) + tuple(values)
        lines = {name: tuple(decode(v) for v in vs) for name, vs in raw.items()}
        return cls(lines, raw)

    def lines(self, name: str) -> tuple[str, ...]:
        """
        The text of each line of field C{name}; one line when the value was
        set otherwise than from the wire; none when absent.
        """
        value = self.get(name)
        if value is None:
            return ()
        lines = self._lines.get(name)
        if lines is not None and ", ".join(lines) == value:
            return lines
        return (value,)

    def with_values(self, extra: Mapping[str, str]) -> HeaderFields:
        """These fields, and C{extra} as fields of one line each."""
        lines = {**self._lines, **{name: (value,) for name, value in extra.items()}}
        return HeaderFields(lines, self._raw)

    def latin1(self) -> HeaderFields:
        """The same fields, every line read as latin-1."""
        fields = [(name.encode("latin-1"), vs) for name, vs in self._raw.items()]
        return HeaderFields.from_raw(fields, lambda b: b.decode("latin-1"))


def field_lines(headers: Mapping[str, str], name: str) -> tuple[str, ...]:
    """
    The values of the lines of field C{name} (lower case): several for a
    field sent on several lines (from a L{HeaderFields}), else its one
    value; none when absent.
    """
    if isinstance(headers, HeaderFields):
        return headers.lines(name)
    value = headers.get(name)
    return () if value is None else (value,)


def signed_value(headers: Mapping[str, str], name: str) -> str | None:
    """
    A field's value as signatures cover it: its lines, each trimmed, joined
    with ``","``; None when absent.
    """
    lines = field_lines(headers, name)
    if not lines:
        return None
    return ",".join(line.strip() for line in lines)


def signing_readings(headers: Mapping[str, str]) -> Iterator[Mapping[str, str]]:
    """
    The readings of C{headers} to verify a signature against: as decoded
    (L{decode_field_value}), then, only when some value is not ASCII and
    the fields came from the wire, every line read as latin-1.  Lazy: the
    second is built only if the first fails.
    """
    yield headers
    if isinstance(headers, HeaderFields) and not all(
        value.isascii() for value in headers.values()
    ):
        other = headers.latin1()
        if other != headers:
            yield other
