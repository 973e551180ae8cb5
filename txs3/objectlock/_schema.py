"""
The schema checks S3 applies to its small configuration documents.

S3 validates these bodies against its published schema: an element it does
not know, an element given twice, or text where it wants children is a
C{MalformedXML}, never silently ignored.  These helpers say so once.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TypeVar
from xml.etree.ElementTree import Element

from txs3.errors import S3Error

_T = TypeVar("_T", bound=str)


def children(el: Element, allowed: Collection[str]) -> dict[str, Element]:
    """
    The direct children of C{el} by (namespace-free) tag.

    @raise S3Error: C{MalformedXML} for a child not in C{allowed}, a child
        given twice, or non-blank text beside the children.
    """
    if (el.text or "").strip():
        raise S3Error.of("MalformedXML")
    found: dict[str, Element] = {}
    for child in el:
        if child.tag not in allowed or child.tag in found:
            raise S3Error.of("MalformedXML")
        if (child.tail or "").strip():
            raise S3Error.of("MalformedXML")
        found[child.tag] = child
    return found


def text(el: Element) -> str:
    """
    The text of a leaf element, exactly as sent (S3 does not trim:
    C{" Enabled "} is not C{Enabled}).

    @raise S3Error: C{MalformedXML} if C{el} has children.
    """
    if len(el):
        raise S3Error.of("MalformedXML")
    return el.text or ""


def one_of(value: str, allowed: tuple[_T, ...]) -> _T:
    """
    C{value} as the member of C{allowed} it equals (case matters).

    @raise S3Error: C{MalformedXML} if it equals none.
    """
    for candidate in allowed:
        if value == candidate:
            return candidate
    raise S3Error.of("MalformedXML")
