"""
Conditional writes over real TLS: ``If-None-Match: *`` and ``If-Match`` on
PutObject and CompleteMultipartUpload are refused before the body when they
cannot hold (412), and re-checked inside the commit, where a racing writer
that got there first turns the loser into 409 ConditionalRequestConflict.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest_twisted
from twisted.internet import defer

from tests.functional import Server, server, tls_server  # noqa: F401
from tests.s3client import error_code, key_path

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"



def staging_files(s: Server) -> list[Path]:
    root = Path(s.store.data_dir) / "staging"
    return [p for p in root.rglob("*") if p.is_file() and p.name != "lock"]


async def put(s: Server, key: str, data: bytes, **headers: str) -> Any:
    return await s.client.request(
        "PUT", key_path("bucket", key), headers=headers, body=data
    )


@pytest_twisted.ensureDeferred
async def test_if_none_match(tls_server: Server) -> None:
    """If-None-Match: * creates once; the second PUT is 412 and the first object stays."""
    await tls_server.client.request("PUT", "/bucket")
    r = await put(tls_server, "k", b"first", **{"If-None-Match": "*"})
    assert r.code == 200, r.body
    r = await put(
        tls_server, "k", b"second", **{"If-None-Match": "*", "Expect": "100-continue"}
    )
    assert r.code == 412 and error_code(r.body) == "PreconditionFailed"
    assert staging_files(tls_server) == []
    r = await tls_server.client.request("GET", key_path("bucket", "k"))
    assert r.body == b"first"
    r = await put(tls_server, "k", b"x", **{"If-None-Match": '"abc"'})
    assert r.code == 501 and error_code(r.body) == "NotImplemented"


@pytest_twisted.ensureDeferred
async def test_if_match(server: Server) -> None:
    """If-Match replaces only the named version: 412 on mismatch, 404 when absent."""
    await server.client.request("PUT", "/bucket")
    r = await put(server, "k", b"v1")
    etag = r.header("etag") or ""
    r = await put(server, "k", b"v2", **{"If-Match": '"' + "0" * 32 + '"'})
    assert r.code == 412 and error_code(r.body) == "PreconditionFailed"
    r = await put(server, "k", b"v2", **{"If-Match": etag})
    assert r.code == 200, r.body
    assert r.header("etag") == f'"{hashlib.md5(b"v2").hexdigest()}"'
    r = await put(server, "absent", b"x", **{"If-Match": etag})
    assert r.code == 404 and error_code(r.body) == "NoSuchKey"


@pytest_twisted.ensureDeferred
async def test_complete_if_none_match(server: Server) -> None:
    """CompleteMultipartUpload with If-None-Match: * is 412 when the key exists."""
    await server.client.request("PUT", "/bucket")
    await put(server, "k", b"exists")
    r = await server.client.request("POST", key_path("bucket", "k"), "uploads")
    upload_id = ElementTree.fromstring(r.body).findtext(NS + "UploadId")
    r = await server.client.request(
        "PUT", key_path("bucket", "k"), f"partNumber=1&uploadId={upload_id}", body=b"p"
    )
    body = (
        f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
        f"<ETag>{r.header('etag')}</ETag></Part></CompleteMultipartUpload>"
    ).encode()
    r = await server.client.request(
        "POST",
        key_path("bucket", "k"),
        f"uploadId={upload_id}",
        {"If-None-Match": "*"},
        body,
    )
    assert r.code == 412 and error_code(r.body) == "PreconditionFailed"
    r = await server.client.request("GET", key_path("bucket", "k"))
    assert r.body == b"exists"


@pytest_twisted.ensureDeferred
async def test_racing_creates(tls_server: Server) -> None:
    """Of two create-only PUTs whose commits interleave, exactly one wins; the other is 409."""
    await tls_server.client.request("PUT", "/bucket")
    store = tls_server.store
    real_put = store.put_object
    arrived: list[defer.Deferred[None]] = []
    both_in = defer.Deferred[None]()

    def held_put(*args: Any, **kwargs: Any) -> Any:
        # Both requests passed the early check (no object yet); hold each
        # commit until both are here, so they race inside the store.
        gate = defer.Deferred[None]()
        arrived.append(gate)
        if len(arrived) == 2:
            both_in.callback(None)

        async def go() -> Any:
            await both_in
            return await real_put(*args, **kwargs)

        return defer.ensureDeferred(go())

    store.put_object = held_put  # type: ignore[method-assign]
    try:
        results = await defer.gatherResults(
            [
                defer.ensureDeferred(
                    put(tls_server, "k", b"writer-%d" % i, **{"If-None-Match": "*"})
                )
                for i in range(2)
            ]
        )
    finally:
        del store.put_object
    codes = sorted(r.code for r in results)
    assert codes == [200, 409]
    loser = next(r for r in results if r.code == 409)
    assert error_code(loser.body) == "ConditionalRequestConflict"
    winner = next(r for r in results if r.code == 200)
    r = await tls_server.client.request("GET", key_path("bucket", "k"))
    assert r.header("etag") == winner.header("etag")
    assert r.body in (b"writer-0", b"writer-1")
    blobs = list((Path(store.data_dir) / "blobs").glob("*/*"))
    assert len(blobs) == 1 and staging_files(tls_server) == []
