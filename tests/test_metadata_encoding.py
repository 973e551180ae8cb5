"""
Non-ASCII user metadata: signatures verify whichever bytes the client put
on the wire for its text (UTF-8, as botocore, most SDKs and Twisted send
it; latin-1, as Python's http.client sends it while botocore's signer
signs UTF-8), the text is stored, and it comes back in S3's mail-safe
form, RFC 2047 (``=?UTF-8?B?...?=``).

The readings are tested on L{txs3.auth.fields}; end to end, the
functional server is driven by the test client (treq) and by boto3, and
latin-1 bytes are fed to the real Site over a StringTransport (as in
L{tests.test_server_channel}).  boto3 refuses non-ASCII C{Metadata}
itself, so there the header is added after its validation, in the
C{before-sign} event, as an application setting it by hand would.
"""

from __future__ import annotations

import hashlib
from email.header import decode_header, make_header
from email.utils import formatdate
from typing import Any

import pytest
import pytest_twisted
from botocore.auth import HmacV1Auth, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from twisted.internet.threads import deferToThread

from tests.functional import Server, server, tls_server  # noqa: F401
from tests.s3client import ACCESS_KEY, SECRET_KEY, key_path
from tests.test_server_channel import HOST, connect, make_site
from txs3.api.obj import mail_safe
from txs3.auth.fields import HeaderFields, decode_field_value, signing_readings

CAFE = "café"
CAFE_2047 = "=?UTF-8?B?Y2Fmw6k=?="


def decoded(value: str) -> str:
    """What an RFC 2047-aware client makes of a header value."""
    return str(make_header(decode_header(value)))


def test_field_values_read_as_utf8_else_latin1() -> None:
    """Header bytes that are UTF-8 read as UTF-8; any other bytes read as latin-1."""
    assert decode_field_value(CAFE.encode("utf-8")) == CAFE
    assert decode_field_value(CAFE.encode("latin-1")) == CAFE
    assert decode_field_value(b"plain") == "plain"


def test_signing_readings() -> None:
    """Fields with non-ASCII UTF-8 bytes are also offered read as latin-1; ASCII fields only as they are."""
    ascii_only = HeaderFields.from_raw([(b"X-Amz-Meta-A", [b"plain"])])
    assert list(signing_readings(ascii_only)) == [ascii_only]
    raw = "Ã©".encode("latin-1")  # what http.client sends for "Ã©"
    fields = HeaderFields.from_raw([(b"X-Amz-Meta-A", [raw]), (b"Host", [b"h"])])
    readings = list(signing_readings(fields))
    assert [r["x-amz-meta-a"] for r in readings] == ["é", "Ã©"]
    assert all(r["host"] == "h" for r in readings)


def test_mail_safe() -> None:
    """ASCII values go back as stored, others RFC 2047-encoded in one UTF-8 word that decodes to the stored text."""
    assert mail_safe("plain =?x?=") == "plain =?x?="
    assert mail_safe(CAFE) == CAFE_2047
    long = "日本語" * 100
    assert mail_safe(long).isascii() and "\n" not in mail_safe(long)
    assert decoded(mail_safe(long)) == long


@pytest_twisted.ensureDeferred
async def test_utf8_on_the_wire(server: Server) -> None:
    """Metadata sent as UTF-8 bytes (SigV4 and SigV2) verifies, is stored as text and comes back RFC 2047-encoded."""
    await server.client.request("PUT", "/meta")
    for client, key in ((server.client, "v4"), (server.v2, "v2")):
        r = await client.request(
            "PUT", key_path("meta", key), headers={"x-amz-meta-m": CAFE}, body=b"x"
        )
        assert r.code == 200, r.body
        stored = server.store.head_object("meta", key).meta.user_metadata
        assert stored == (("m", CAFE),)
        r = await client.request("HEAD", key_path("meta", key))
        assert r.header("x-amz-meta-m") == CAFE_2047


def put_with_header(client: Any, key: str, name: str, value: str) -> None:
    """A boto3 PutObject carrying header C{name}, added after boto3's validation."""

    def add(request: Any, **_: Any) -> None:
        request.headers[name] = value

    client.meta.events.register("before-sign.s3.PutObject", add)
    try:
        client.put_object(Bucket="meta", Key=key, Body=b"x")
    finally:
        client.meta.events.unregister("before-sign.s3.PutObject", add)


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
@pytest_twisted.ensureDeferred
async def test_boto3_round_trip(tls_server: Server, signature_version: str) -> None:
    """boto3 stores non-ASCII metadata and reads it back RFC 2047-encoded; an encoded word it sends comes back as sent."""
    await tls_server.client.request("PUT", "/meta")
    client = tls_server.boto3(signature_version)
    values = {"cafe": CAFE, "kanji": "日本語"}

    def scenario() -> tuple[dict[str, dict[str, str]], dict[str, str]]:
        got = {}
        for key, value in values.items():
            put_with_header(client, key, "x-amz-meta-m", value)
            got[key] = client.head_object(Bucket="meta", Key=key)["Metadata"]
        client.put_object(
            Bucket="meta", Key="ascii", Body=b"x", Metadata={"m": CAFE_2047}
        )
        return got, client.head_object(Bucket="meta", Key="ascii")["Metadata"]

    got, ascii_meta = await deferToThread(scenario)
    assert got["cafe"] == {"m": CAFE_2047}
    for key, value in values.items():
        assert decoded(got[key]["m"]) == value
        stored = tls_server.store.head_object("meta", key).meta.user_metadata
        assert stored == (("m", value),)
    assert ascii_meta == {"m": CAFE_2047}


def latin1_request(value: str, signature: str) -> bytes:
    """A PUT of x-amz-meta-m: C{value}, signed by botocore, sent as http.client sends it: latin-1."""
    request = AWSRequest(
        method="PUT",
        url=f"https://{HOST}/bucket/key",
        headers={"x-amz-meta-m": value},
        data=b"x",
    )
    credentials = Credentials(ACCESS_KEY, SECRET_KEY)
    if signature == "v4":
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(b"x").hexdigest()
        S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    else:
        request.headers["Date"] = formatdate(usegmt=True)
        HmacV1Auth(credentials).add_auth(request)
    lines = ["PUT /bucket/key HTTP/1.1", f"Host: {HOST}", "Content-Length: 1"]
    lines += [f"{name}: {v}" for name, v in request.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + b"x"


@pytest.mark.parametrize("signature", ["v4", "v2"])
def test_latin1_on_the_wire(signature: str) -> None:
    """Metadata sent as latin-1 bytes but signed as UTF-8 verifies, also when the bytes happen to be UTF-8 too."""
    site, store, _ = make_site()
    for value, stored in ((CAFE, CAFE), ("Ã©", "é")):
        proto, transport = connect(site)
        proto.dataReceived(latin1_request(value, signature))  # type: ignore[attr-defined]
        out = transport.value()
        assert out.startswith(b"HTTP/1.1 200 "), out
        # Bytes that are valid UTF-8 are stored as UTF-8 says (see
        # txs3.auth.fields): "Ã©" in latin-1 is "é" in UTF-8.
        meta = store.head_object("bucket", "key").meta.user_metadata
        assert meta == (("m", stored),)
