"""
Request header fields: names, values, and the lines a value was sent on.

A field sent on several lines (``Content-Encoding: deflate`` then
``Content-Encoding: gzip``) is one value, the lines joined with ``", "``
(RFC 9110 section 5.3): that is what is stored and sent back.  Signatures
cover the lines joined with ``","``, each trimmed (SigV4's canonical
headers, SigV2's ``x-amz-*`` lines), so the lines are kept too
(L{field_lines}).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence


class HeaderFields(dict[str, str]):
    """
    Lower-case header name to value, a field sent on several lines joined
    with ``", "``; and the lines of each field, as text and as bytes, for
    L{field_lines}.  Built by L{from_raw}.
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
        decode: Callable[[bytes], str] = lambda b: b.decode("latin-1"),
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
