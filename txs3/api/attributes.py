"""
GetObjectAttributes (``GET /bucket/key?attributes``): what HeadObject and
ListParts would say of an object, in one XML document, from the index
alone (the blob is never opened).

The request names the attributes it wants in ``x-amz-object-attributes``
(``ETag``, ``Checksum``, ``ObjectParts``, ``StorageClass``,
``ObjectSize``); only those are answered.  The parts of an object
completed from a multipart upload are paged with the
``x-amz-max-parts`` and ``x-amz-part-number-marker`` headers (headers,
not query parameters, as AWS defines them).

What txs3 keeps of a completed upload's parts is their sizes, not their
checksums: each ``Part`` carries its number and size only.  The object's
own checksums (full-object or composite) are in ``Checksum``.
"""

from __future__ import annotations

from collections.abc import Mapping

from txs3 import xml
from txs3.api.render import http_date
from txs3.call import S3Call
from txs3.errors import S3Error
from txs3.response import Response, xml_response
from txs3.store.interface import ObjectInfo

ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")
#: The default and largest page of parts, as ListParts.
MAX_PARTS = 1000


def requested_attributes(header: str | None) -> frozenset[str]:
    """
    The attributes an ``x-amz-object-attributes`` value names (a comma
    separated list; a header sent on several lines arrives joined so).

    @raise S3Error: C{InvalidRequest} when it is missing or empty,
        C{InvalidArgument} for a name that is not an attribute.
    """
    names = {n.strip() for n in (header or "").split(",")} - {""}
    if not names:
        raise S3Error.of(
            "InvalidRequest",
            "The x-amz-object-attributes header specifying the attributes to "
            "be retrieved is either missing or empty",
        )
    unknown = sorted(names - set(ATTRIBUTES))
    if unknown:
        raise S3Error.of(
            "InvalidArgument",
            "Invalid attribute name specified.",
            ArgumentName="x-amz-object-attributes",
            ArgumentValue=unknown[0],
        )
    return frozenset(names)


def _count_header(headers: Mapping[str, str], name: str, default: int) -> int:
    raw = headers.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip()
    if not (value.isascii() and value.isdigit()):
        raise S3Error.of(
            "InvalidArgument",
            f"Provided {name} not an integer or within integer range",
            ArgumentName=name,
            ArgumentValue=raw,
        )
    return int(value)


def object_parts(sizes: tuple[int, ...], marker: int, max_parts: int) -> list[xml.Node]:
    """
    The children of ``ObjectParts`` for a multipart object whose parts have
    C{sizes}: the parts numbered above C{marker}, at most C{max_parts} (up
    to L{MAX_PARTS}) of them.
    """
    limit = min(max_parts, MAX_PARTS)
    numbered = list(enumerate(sizes, 1))[marker:]
    page, truncated = numbered[:limit], len(numbered) > limit
    children: list[xml.Node] = [
        ("PartsCount", len(sizes)),
        ("PartNumberMarker", marker),
    ]
    if page:
        children.append(("NextPartNumberMarker", page[-1][0]))
    children += [("MaxParts", max_parts), ("IsTruncated", truncated)]
    children += [
        ("Part", [("PartNumber", number), ("Size", size)]) for number, size in page
    ]
    return children


def attributes_document(
    info: ObjectInfo, wanted: frozenset[str], marker: int, max_parts: int
) -> bytes:
    """The ``GetObjectAttributesResponse`` of C{info}, with C{wanted} only."""
    children: list[xml.Node] = []
    if "ETag" in wanted:
        # Unquoted, unlike the ETag header and ListParts (AWS's own form here).
        children.append(("ETag", info.etag))
    if "Checksum" in wanted and info.meta.checksums:
        checksum: list[xml.Node] = [
            ("Checksum" + alg, value) for alg, value in info.meta.checksums
        ]
        checksum.append(("ChecksumType", info.meta.checksum_type))
        children.append(("Checksum", checksum))
    # Only an object completed from a multipart upload has parts to list.
    if "ObjectParts" in wanted and info.parts:
        children.append(("ObjectParts", object_parts(info.parts, marker, max_parts)))
    if "StorageClass" in wanted:
        children.append(("StorageClass", "STANDARD"))
    if "ObjectSize" in wanted:
        children.append(("ObjectSize", info.size))
    return xml.document("GetObjectAttributesResponse", children)


async def get_object_attributes(call: S3Call) -> Response:
    """
    GetObjectAttributes: the attributes named in ``x-amz-object-attributes``
    of the object, with its ``Last-Modified``.

    @raise S3Error: as L{requested_attributes}; C{InvalidArgument} for a
        max-parts or part-number-marker header that is not a number;
        C{NoSuchKey}.
    """
    headers = call.head.headers
    wanted = requested_attributes(headers.get("x-amz-object-attributes"))
    max_parts = _count_header(headers, "x-amz-max-parts", MAX_PARTS)
    marker = _count_header(headers, "x-amz-part-number-marker", 0)
    info = call.config.store.head_object(
        call.bucket, call.key, call.operation.query.get("versionId")
    )
    body = attributes_document(info, wanted, marker, max_parts)
    return xml_response(body, headers={"Last-Modified": http_date(info.last_modified)})
