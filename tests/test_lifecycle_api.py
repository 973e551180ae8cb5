"""
Put/Get/DeleteBucketLifecycleConfiguration and C{x-amz-expiration}
through the whole server in memory (the C{server} fixture): AWS's codes
for what it refuses, nothing changed by a refused body, and the header
on the objects a rule will expire.
"""

from __future__ import annotations

import math
from email.utils import formatdate
from xml.etree import ElementTree

import pytest_twisted

from tests.forgery import error_of, md5_of
from tests.functional import Server, server  # noqa: F401
from tests.s3client import Response

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
DAY = 86400


def config(*rules: str) -> bytes:
    body = "".join(f"<Rule>{rule}</Rule>" for rule in rules)
    return f"<LifecycleConfiguration>{body}</LifecycleConfiguration>".encode()


EXPIRE_LOGS = (
    "<ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>"
    "<Expiration><Days>3</Days></Expiration>"
)
NO_ID = (
    "<Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload>"
    "<DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
)


async def put_config(s: Server, body: bytes, md5: bool = True) -> Response:
    headers = {"Content-MD5": md5_of(body)} if md5 else {}
    return await s.client.request("PUT", "/lcb", "lifecycle", headers, body)


async def stored(s: Server) -> object:
    r = await s.client.request("GET", "/lcb", "lifecycle")
    return (r.code, r.body if r.code == 200 else error_of(r))


@pytest_twisted.ensureDeferred
async def test_put_get_delete(server: Server) -> None:
    """A configuration is stored and answered back (a rule without an ID keeps the one it got), then deleted: 404 again."""
    s = server
    await s.client.request("PUT", "/lcb")
    assert await stored(s) == (404, "NoSuchLifecycleConfiguration")
    r = await put_config(s, config(EXPIRE_LOGS, NO_ID))
    assert r.code == 200, r.body
    r = await s.client.request("GET", "/lcb", "lifecycle")
    assert r.code == 200
    root = ElementTree.fromstring(r.body)
    assert root.tag == NS + "LifecycleConfiguration"
    rules = root.findall(NS + "Rule")
    assert rules[0].findtext(NS + "ID") == "logs"
    assert rules[0].findtext(f"{NS}Filter/{NS}Prefix") == "logs/"
    assert rules[0].findtext(f"{NS}Expiration/{NS}Days") == "3"
    given_id = rules[1].findtext(NS + "ID")
    assert given_id
    assert await stored(s) == (200, r.body)
    r = await s.client.request("DELETE", "/lcb", "lifecycle")
    assert r.code == 204
    assert await stored(s) == (404, "NoSuchLifecycleConfiguration")


@pytest_twisted.ensureDeferred
async def test_integrity_required(server: Server) -> None:
    """Without Content-MD5 or a checksum the configuration is refused as AWS refuses it, and nothing is stored."""
    s = server
    await s.client.request("PUT", "/lcb")
    r = await put_config(s, config(EXPIRE_LOGS), md5=False)
    assert (r.code, error_of(r)) == (400, "InvalidRequest")
    assert b"Content-MD5" in r.body
    assert await stored(s) == (404, "NoSuchLifecycleConfiguration")


@pytest_twisted.ensureDeferred
async def test_refused_bodies_change_nothing(server: Server) -> None:
    """Malformed XML, duplicate IDs, bad days and more than 1,000 rules get AWS's errors, and the stored configuration stays."""
    s = server
    await s.client.request("PUT", "/lcb")
    assert (await put_config(s, config(EXPIRE_LOGS))).code == 200
    before = await stored(s)
    many = [f"<ID>r{i}</ID><Filter/><Status>Enabled</Status>"
            "<Expiration><Days>1</Days></Expiration>" for i in range(1001)]  # fmt: skip
    maybe = "<ID>x</ID><Filter/><Status>Maybe</Status><Expiration><Days>1</Days></Expiration>"
    zero = "<ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration>"
    cases = [
        (b"<LifecycleConfiguration><Rule>", "MalformedXML"),
        (config(maybe), "MalformedXML"),
        (config(EXPIRE_LOGS, EXPIRE_LOGS), "InvalidArgument"),
        (config(zero), "InvalidArgument"),
        (config("<ID>x</ID><Filter/><Status>Enabled</Status>"), "InvalidArgument"),
        (config(*many), "InvalidArgument"),
    ]
    for body, code in cases:
        r = await put_config(s, body)
        assert (r.code, error_of(r)) == (400, code), body[:80]
        assert await stored(s) == before


@pytest_twisted.ensureDeferred
async def test_expiration_header(server: Server) -> None:
    """PUT, GET and HEAD of an object a rule will expire say when and by which rule; other objects say nothing."""
    s = server
    await s.client.request("PUT", "/lcb")
    assert (await put_config(s, config(EXPIRE_LOGS))).code == 200
    r = await s.client.request("PUT", "/lcb/logs/a", body=b"log")
    assert r.code == 200
    expiry = r.header("x-amz-expiration")
    info = s.store.head_object("lcb", "logs/a")
    at = math.ceil((info.last_modified + 3 * DAY) / DAY) * DAY
    assert expiry == f'expiry-date="{formatdate(at, usegmt=True)}", rule-id="logs"'
    for method in ("GET", "HEAD"):
        r = await s.client.request(method, "/lcb/logs/a")
        assert r.code == 200 and r.header("x-amz-expiration") == expiry
    r = await s.client.request("PUT", "/lcb/other", body=b"x")
    assert r.header("x-amz-expiration") is None
    r = await s.client.request("GET", "/lcb/other")
    assert r.header("x-amz-expiration") is None
    await s.client.request("DELETE", "/lcb", "lifecycle")
    r = await s.client.request("HEAD", "/lcb/logs/a")
    assert r.header("x-amz-expiration") is None
