"""
S3 XML in and out.

Out: small builders that produce the exact documents S3 returns (namespace,
element order), escaping every text node.  In: L{parse} reads a request body
with defusedxml, which refuses entity declarations, so a billion-laughs body
is a C{MalformedXML}, never an expansion.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from txs3.errors import S3Error

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

# A parser turns a literal CR (and CR LF) into LF: S3 writes CR as a
# reference so that keys holding it read back exactly.
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&apos;",
        "\r": "&#13;",
    }
)


def escape(text: str) -> str:
    """Escape C{text} for use in an element or attribute."""
    # XML 1.0 cannot carry most C0 controls even as references; S3 keys may
    # hold them, so clients that need them ask for encoding-type=url.
    out = text.translate(_ESCAPES)
    if any(ord(c) < 0x20 and c not in "\t\n\r" for c in out):
        out = "".join(f"&#x{ord(c):X};" if ord(c) < 0x20 else c for c in out)
    return out


def printable(text: str) -> str:
    """
    C{text} with the characters XML 1.0 cannot carry (C0 controls other
    than tab, LF and CR) percent-encoded: for error documents, which must
    parse and are read by people, where a key is quoted only to say which.
    """
    if not any(ord(c) < 0x20 and c not in "\t\n\r" for c in text):
        return text
    return "".join(
        f"%{ord(c):02X}" if ord(c) < 0x20 and c not in "\t\n\r" else c for c in text
    )


Node = tuple[str, "str | int | bool | Iterable[Node] | None"]


def element(name: str, content: str | int | bool | Iterable[Node] | None) -> str:
    """
    Render one element.  C{content} is text (str/int/bool: booleans as
    ``true``/``false``), None (empty element), or child nodes as
    ``(name, content)`` pairs.
    """
    if content is None:
        return f"<{name}/>"
    if isinstance(content, bool):
        return f"<{name}>{'true' if content else 'false'}</{name}>"
    if isinstance(content, int):
        return f"<{name}>{content}</{name}>"
    if isinstance(content, str):
        return f"<{name}>{escape(content)}</{name}>"
    inner = "".join(element(n, c) for n, c in content)
    return f"<{name}>{inner}</{name}>"


def document(root: str, children: Iterable[Node], namespace: bool = True) -> bytes:
    """A complete S3 response document with root element C{root}."""
    ns = f' xmlns="{S3_NS}"' if namespace else ""
    inner = "".join(element(n, c) for n, c in children)
    return DECLARATION + f"<{root}{ns}>{inner}</{root}>".encode()


def iso8601(ts: float) -> str:
    """S3's timestamp format in listings: ``2009-10-12T17:50:30.000Z``."""
    whole = int(ts)
    millis = int((ts - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def parse(body: bytes) -> Element:
    """
    Parse a request body; namespaces are stripped from tag names so callers
    match on local names (clients differ on whether they send the S3 one).

    @raise S3Error: C{MalformedXML} for anything that is not well-formed,
        declares entities, or is empty.
    """
    if not body.strip():
        raise S3Error.of("MalformedXML")
    try:
        root: Element = SafeET.fromstring(body, forbid_dtd=True)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as e:
        raise S3Error.of("MalformedXML") from e
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def child_text(el: Element, name: str) -> str | None:
    """Text of the first direct child called C{name}, or None."""
    child = el.find(name)
    if child is None:
        return None
    return child.text or ""
