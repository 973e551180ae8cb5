"""
Tagging: S3's tag-set rules as pure functions (L{txs3.api.tagset}), then the
six tagging operations and the ``x-amz-tagging`` header end to end over TLS
against the SQLite store, including durability across a reopened store.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import pytest
import pytest_twisted
from twisted.internet import reactor

from tests.functional import Server, server  # noqa: F401
from txs3.api.tagset import (
    MAX_BUCKET_TAGS,
    MAX_OBJECT_TAGS,
    parse_tagging_body,
    parse_tagging_header,
    tagging_document,
    validate_tags,
)
from txs3.errors import S3Error
from txs3.store.sqlite import SQLiteStore

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def _body(pairs: list[tuple[str, str]]) -> bytes:
    tags = "".join(f"<Tag><Key>{k}</Key><Value>{v}</Value></Tag>" for k, v in pairs)
    return f"<Tagging><TagSet>{tags}</TagSet></Tagging>".encode()


def _error(f: object, *args: object) -> S3Error:
    with pytest.raises(S3Error) as e:
        f(*args)  # type: ignore[operator]
    return e.value


def test_header_parsing() -> None:
    """x-amz-tagging is form-encoded, a name without = has the empty value, and tags come back sorted by key."""
    assert parse_tagging_header("foo=bar&bar") == (("bar", ""), ("foo", "bar"))
    assert parse_tagging_header("a+b=c%2Fd&k=%C3%A9") == (("a b", "c/d"), ("k", "é"))
    assert parse_tagging_header("") == ()


def test_header_errors() -> None:
    """Duplicate names and pairs with two = signs are InvalidArgument, as S3 answers."""
    for bad in ("a=1&a=2", "a=b=c"):
        e = _error(parse_tagging_header, bad)
        assert e.code == "InvalidArgument" and "x-amz-tagging" in e.message


def test_limits() -> None:
    """10 object tags, 50 bucket tags, 128-char keys and 256-char values pass; one more of each fails with InvalidTag and S3's message."""
    ten = [(f"k{i}", "v") for i in range(MAX_OBJECT_TAGS)]
    assert len(validate_tags(ten, MAX_OBJECT_TAGS)) == 10
    e = _error(validate_tags, [*ten, ("k10", "v")], MAX_OBJECT_TAGS)
    assert (e.code, e.status, e.message) == (
        "InvalidTag",
        400,
        "Object tags cannot be greater than 10",
    )
    fifty = [(f"k{i}", "v") for i in range(MAX_BUCKET_TAGS)]
    assert len(validate_tags(fifty, MAX_BUCKET_TAGS)) == 50
    assert (
        _error(validate_tags, [*fifty, ("x", "")], MAX_BUCKET_TAGS).code == "InvalidTag"
    )
    assert validate_tags([("k" * 128, "v" * 256)], MAX_OBJECT_TAGS)
    e = _error(validate_tags, [("k" * 129, "v")], MAX_OBJECT_TAGS)
    assert (e.code, e.message) == (
        "InvalidTag",
        "The TagKey you have provided is too long, max 128",
    )
    e = _error(validate_tags, [("k", "v" * 257)], MAX_OBJECT_TAGS)
    assert e.message == "The TagValue you have provided is too long, max 256"


def test_key_rules() -> None:
    """Keys are unique, non-empty, not aws:-prefixed, and letters, digits, spaces and _.:/=+-@ only; lengths count UTF-16 units."""
    cases = {
        (("a", "1"), ("a", "2")): "Cannot provide multiple Tags with the same key",
        (("", "v"),): "The TagKey you have provided is invalid",
        (("a{b", "v"),): "The TagKey you have provided is invalid",
        (("aws:x", "v"),): "Your TagKey cannot be prefixed with aws:",
        (("k", "v;"),): "The TagValue you have provided is invalid",
    }
    for tags, message in cases.items():
        e = _error(validate_tags, list(tags), MAX_OBJECT_TAGS)
        assert (e.code, e.message) == ("InvalidTag", message)
    assert validate_tags([("Ünï cödé 1_.:/=+-@", "ü é")], MAX_OBJECT_TAGS)
    # 65 astral characters are 130 UTF-16 code units: too long.
    assert _error(validate_tags, [("\U0001d400" * 65, "")], MAX_OBJECT_TAGS).code == (
        "InvalidTag"
    )


def test_body_parsing() -> None:
    """A Tagging body round-trips through tagging_document; other shapes are MalformedXML."""
    tags = parse_tagging_body(_body([("b", "2"), ("a", "1")]), MAX_OBJECT_TAGS)
    assert tags == (("a", "1"), ("b", "2"))
    assert parse_tagging_body(tagging_document(tags), MAX_OBJECT_TAGS) == tags
    for bad in (
        b"<Tags/>",
        b"<Tagging/>",
        b"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>",
        b"<",
    ):
        assert _error(parse_tagging_body, bad, MAX_OBJECT_TAGS).code == "MalformedXML"


def _tags(body: bytes) -> list[tuple[str, str]]:
    root = ElementTree.fromstring(body)
    assert root.tag == NS + "Tagging"
    return [
        (t.findtext(NS + "Key") or "", t.findtext(NS + "Value") or "")
        for t in root.iter(NS + "Tag")
    ]


@pytest_twisted.ensureDeferred
async def test_object_tagging_lifecycle(server: Server) -> None:
    """Tags set by header or PutObjectTagging are read back, counted on GET/HEAD, leave the bytes alone, are dropped by an overwrite and by delete."""
    c = server.client
    assert (await c.request("PUT", "/tagb")).code == 200
    r = await c.request(
        "PUT", "/tagb/k", headers={"x-amz-tagging": "b=2&a=1"}, body=b"data"
    )
    assert r.code == 200, r.body
    etag = r.header("etag")
    r = await c.request("GET", "/tagb/k", "tagging")
    assert r.code == 200 and _tags(r.body) == [("a", "1"), ("b", "2")]
    r = await c.request("GET", "/tagb/k")
    assert r.body == b"data" and r.header("x-amz-tagging-count") == "2"
    head = await c.request("HEAD", "/tagb/k")
    last_modified = head.header("last-modified")
    r = await c.request("PUT", "/tagb/k", "tagging", body=_body([("x", "y z")]))
    assert r.code == 200, r.body
    r = await c.request("GET", "/tagb/k", "tagging")
    assert _tags(r.body) == [("x", "y z")]
    head = await c.request("HEAD", "/tagb/k")
    assert head.header("etag") == etag and head.header("last-modified") == last_modified
    assert head.header("x-amz-tagging-count") == "1"
    r = await c.request("DELETE", "/tagb/k", "tagging")
    assert r.code == 204
    r = await c.request("GET", "/tagb/k", "tagging")
    assert r.code == 200 and _tags(r.body) == []
    assert (await c.request("GET", "/tagb/k")).header("x-amz-tagging-count") is None
    # An overwrite without x-amz-tagging clears the tags, as in S3.
    await c.request("PUT", "/tagb/k", "tagging", body=_body([("x", "1")]))
    await c.request("PUT", "/tagb/k", body=b"new")
    assert _tags((await c.request("GET", "/tagb/k", "tagging")).body) == []
    # Deleted with the object: a new object at the key starts untagged.
    await c.request("PUT", "/tagb/k", "tagging", body=_body([("x", "1")]))
    await c.request("DELETE", "/tagb/k")
    r = await c.request("GET", "/tagb/k", "tagging")
    assert r.code == 404 and b"NoSuchKey" in r.body
    await c.request("PUT", "/tagb/k", body=b"again")
    assert _tags((await c.request("GET", "/tagb/k", "tagging")).body) == []


@pytest_twisted.ensureDeferred
async def test_object_tagging_errors(server: Server) -> None:
    """Bad tags are refused with S3's errors, before the body for PutObject, and the object is left as it was."""
    c = server.client
    await c.request("PUT", "/tagb")
    eleven = "&".join(f"k{i}=v" for i in range(11))
    r = await c.request("PUT", "/tagb/k", headers={"x-amz-tagging": eleven}, body=b"x")
    assert r.code == 400 and b"<Code>InvalidTag</Code>" in r.body
    assert (await c.request("HEAD", "/tagb/k")).code == 404
    r = await c.request(
        "PUT", "/tagb/k", headers={"x-amz-tagging": "a=1&a=2"}, body=b"x"
    )
    assert r.code == 400 and b"InvalidArgument" in r.body
    await c.request("PUT", "/tagb/k", body=b"x")
    r = await c.request("PUT", "/tagb/k", "tagging", body=_body([("k" * 129, "v")]))
    assert r.code == 400 and b"InvalidTag" in r.body
    r = await c.request(
        "PUT", "/tagb/k", "tagging", body=_body([(f"k{i}", "v") for i in range(11)])
    )
    assert r.code == 400 and b"<Code>InvalidTag</Code>" in r.body
    r = await c.request("PUT", "/tagb/k", "tagging", body=b"<Tagging>")
    assert r.code == 400 and b"MalformedXML" in r.body
    r = await c.request("PUT", "/tagb/missing", "tagging", body=_body([("a", "b")]))
    assert r.code == 404 and b"NoSuchKey" in r.body


@pytest_twisted.ensureDeferred
async def test_bucket_tagging(server: Server) -> None:
    """GetBucketTagging is 404 NoSuchTagSet until tags are put, 204 on put and delete, and a re-created bucket has none."""
    c = server.client
    await c.request("PUT", "/tagb")
    r = await c.request("GET", "/tagb", "tagging")
    assert r.code == 404 and b"<Code>NoSuchTagSet</Code>" in r.body
    r = await c.request(
        "PUT", "/tagb", "tagging", body=_body([("team", "ops"), ("a", "")])
    )
    assert r.code == 204, r.body
    r = await c.request("GET", "/tagb", "tagging")
    assert r.code == 200 and _tags(r.body) == [("a", ""), ("team", "ops")]
    many = [(f"k{i}", "v") for i in range(51)]
    r = await c.request("PUT", "/tagb", "tagging", body=_body(many))
    assert r.code == 400 and b"InvalidTag" in r.body
    assert (await c.request("DELETE", "/tagb", "tagging")).code == 204
    assert (await c.request("GET", "/tagb", "tagging")).code == 404
    await c.request("PUT", "/tagb", "tagging", body=_body([("a", "b")]))
    assert (await c.request("DELETE", "/tagb")).code == 204
    await c.request("PUT", "/tagb")
    assert (await c.request("GET", "/tagb", "tagging")).code == 404


@pytest_twisted.ensureDeferred
async def test_tags_are_durable(tmp_path: Path) -> None:
    """Object and bucket tags survive closing and reopening the SQLite store."""
    from txs3.store.interface import Destination, ObjectMeta

    data = str(tmp_path / "data")
    store = SQLiteStore.open(data, reactor)
    await store.create_bucket("b", "o", "us-east-1")
    staging = store.open_staging()
    staging.write(b"x")
    await store.put_object(
        Destination("b", "k", "o"),
        staging,
        "e",
        ObjectMeta(tags=(("a", "1"),)),
    )
    await store.put_bucket_tagging("b", (("t", "u"),))
    await store.close()
    store = SQLiteStore.open(data, reactor)
    try:
        assert store.head_object("b", "k").meta.tags == (("a", "1"),)
        await store.put_object_tagging("b", "k", (("c", "3"),))
        assert store.head_object("b", "k").meta.tags == (("c", "3"),)
        assert store.get_bucket_tagging("b") == (("t", "u"),)
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_tags_follow_copy_and_multipart(server: Server) -> None:
    """CopyObject keeps or replaces tags per x-amz-tagging-directive; multipart uploads keep x-amz-tagging."""
    s = server
    await s.client.request("PUT", "/bucket")
    await s.client.request("PUT", "/bucket/src", headers={"x-amz-tagging": "a=1&b=2"}, body=b"x")
    r = await s.client.request("PUT", "/bucket/kept", headers={"x-amz-copy-source": "/bucket/src"})
    assert r.code == 200, r.body
    r = await s.client.request("GET", "/bucket/kept", "tagging")
    assert _tags(r.body) == [("a", "1"), ("b", "2")]
    r = await s.client.request(
        "PUT",
        "/bucket/replaced",
        headers={
            "x-amz-copy-source": "/bucket/src",
            "x-amz-tagging-directive": "REPLACE",
            "x-amz-tagging": "c=3",
        },
    )
    assert r.code == 200, r.body
    r = await s.client.request("GET", "/bucket/replaced", "tagging")
    assert _tags(r.body) == [("c", "3")]
    r = await s.client.request(
        "POST", "/bucket/mp", "uploads", headers={"x-amz-tagging": "m=p"}
    )
    upload_id = ElementTree.fromstring(r.body).findtext(
        "{http://s3.amazonaws.com/doc/2006-03-01/}UploadId"
    )
    r = await s.client.request(
        "PUT", "/bucket/mp", f"partNumber=1&uploadId={upload_id}", body=b"part"
    )
    etag = r.header("etag")
    body = (
        f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag>"
        "</Part></CompleteMultipartUpload>"
    ).encode()
    r = await s.client.request("POST", "/bucket/mp", f"uploadId={upload_id}", body=body)
    assert r.code == 200, r.body
    r = await s.client.request("GET", "/bucket/mp", "tagging")
    assert _tags(r.body) == [("m", "p")]
    r = await s.client.request("HEAD", "/bucket/mp")
    assert r.header("x-amz-tagging-count") == "1"
