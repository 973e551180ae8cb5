"""
Tag sets: S3's rules for tags, the ``x-amz-tagging`` header and the
``<Tagging>`` document, without HTTP.

The limits and messages are S3's: at most 10 tags on an object, 50 on a
bucket, keys of 1 to 128 and values of 0 to 256
characters counted in UTF-16 code units, Unicode letters, digits, white
space and ``_ . : / = + - @`` only, unique keys, no ``aws:`` prefix
(C{InvalidTag}).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes
from xml.etree.ElementTree import Element

from txs3 import xml
from txs3.errors import S3Error

Tags = tuple[tuple[str, str], ...]

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256
_SYMBOLS = frozenset("_.:/=+-@")

_HEADER_ERROR = (
    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL "
    "query parameters without tag name duplicates."
)


def _utf16_length(text: str) -> int:
    # S3 represents tags in UTF-16 and counts code units.
    return len(text.encode("utf-16-le")) // 2


def _allowed(text: str) -> bool:
    for c in text:
        if c in _SYMBOLS:
            continue
        if unicodedata.category(c)[0] not in "LNZ":
            return False
    return True


def validate_tags(tags: Iterable[tuple[str, str]], limit: int) -> Tags:
    """
    Check C{tags} against S3's rules and return them sorted by key (S3
    answers tag sets in key order).

    @param limit: L{MAX_OBJECT_TAGS} or L{MAX_BUCKET_TAGS}.
    @raise S3Error: C{InvalidTag} (400) for any violation, with S3's message
        (PutObjectTagging's documented error for a tag set that fails
        validation, too many tags included).
    """
    out = list(tags)
    if len(out) > limit:
        if limit == MAX_OBJECT_TAGS:
            raise S3Error.of("InvalidTag", "Object tags cannot be greater than 10")
        raise S3Error.of(
            "InvalidTag", f"Bucket tag count cannot be greater than {limit}"
        )
    seen: set[str] = set()
    for key, value in out:
        if key in seen:
            raise S3Error.of(
                "InvalidTag", "Cannot provide multiple Tags with the same key"
            )
        seen.add(key)
        if _utf16_length(key) > MAX_KEY_LENGTH:
            raise S3Error.of(
                "InvalidTag", "The TagKey you have provided is too long, max 128"
            )
        if _utf16_length(value) > MAX_VALUE_LENGTH:
            raise S3Error.of(
                "InvalidTag", "The TagValue you have provided is too long, max 256"
            )
        if not key or not _allowed(key):
            raise S3Error.of("InvalidTag", "The TagKey you have provided is invalid")
        if key.startswith("aws:"):
            raise S3Error.of("InvalidTag", "Your TagKey cannot be prefixed with aws:")
        if not _allowed(value):
            raise S3Error.of("InvalidTag", "The TagValue you have provided is invalid")
    return tuple(sorted(out, key=lambda kv: kv[0]))


def parse_tagging_header(value: str) -> Tags:
    """
    The tags of an ``x-amz-tagging`` header: URL query form
    (``k1=v1&k2=v2``, ``+`` is a space, a name without ``=`` has the empty
    value), validated as object tags.

    @raise S3Error: C{InvalidArgument} for a pair with more than one ``=``,
        a repeated key or bytes that are not UTF-8; else as L{validate_tags}.
    """
    pairs: list[tuple[str, str]] = []
    for part in value.split("&"):
        if not part:
            continue
        if part.count("=") > 1:
            raise _header_error(value)
        name, _, val = part.partition("=")
        try:
            key = unquote_to_bytes(name.replace("+", " ")).decode("utf-8")
            val = unquote_to_bytes(val.replace("+", " ")).decode("utf-8")
        except UnicodeDecodeError as e:
            raise _header_error(value) from e
        pairs.append((key, val))
    if len({k for k, _ in pairs}) != len(pairs):
        raise _header_error(value)
    return validate_tags(pairs, MAX_OBJECT_TAGS)


def _header_error(value: str) -> S3Error:
    return S3Error.of(
        "InvalidArgument",
        _HEADER_ERROR,
        ArgumentName="x-amz-tagging",
        ArgumentValue=value,
    )


def parse_tagging_body(body: bytes, limit: int) -> Tags:
    """
    The tag set of a ``<Tagging><TagSet><Tag><Key/><Value/></Tag>...``
    request body.

    @raise S3Error: C{MalformedXML} for a body of another shape; as
        L{validate_tags}.
    """
    root = xml.parse(body)
    if root.tag != "Tagging":
        raise S3Error.of("MalformedXML")
    tag_set = root.find("TagSet")
    if tag_set is None:
        raise S3Error.of("MalformedXML")
    pairs = [_tag_of(tag) for tag in tag_set]
    return validate_tags(pairs, limit)


def _tag_of(tag: Element) -> tuple[str, str]:
    if tag.tag != "Tag":
        raise S3Error.of("MalformedXML")
    key = xml.child_text(tag, "Key")
    value = xml.child_text(tag, "Value")
    if key is None or value is None:
        raise S3Error.of("MalformedXML")
    return key, value


def tagging_document(tags: Tags) -> bytes:
    """S3's ``<Tagging>`` document for C{tags}."""
    return xml.document(
        "Tagging",
        [("TagSet", [("Tag", [("Key", k), ("Value", v)]) for k, v in tags])],
    )
