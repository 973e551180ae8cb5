"""
Odd but valid input on the full request path (classify, gate, handler,
writer), in memory: keys with control characters, Host headers that are
not DNS names, ``x-amz-copy-source`` in either URL encoding, and
hypothesis-driven requests that must never get a 5xx or log a failure.
"""

from __future__ import annotations

import hashlib
import string
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus
from xml.etree import ElementTree

import pytest
import pytest_twisted
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import Clock
from twisted.logger import ILogObserver, globalLogPublisher
from twisted.web.server import Site
from zope.interface import provider

from tests.functional import SECRETS, VHOST_DOMAIN, Server, server  # noqa: F401
from tests.inmemory import Reply, exchange
from tests.s3client import ACCESS_KEY, SECRET_KEY
from txs3.server import build_site
from txs3.store.memory import MemoryStore

HOST = "127.0.0.1"


def signed_head(
    method: str,
    target: str,
    host: str = HOST,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> bytes:
    """
    The head of a SigV4-signed request for the raw C{target}, with the
    C{Host} header exactly as given (it is signed as sent).
    """
    request = AWSRequest(
        method=method,
        url="https://" + HOST + target,
        headers={"Host": host, **(headers or {})},
        data=body,
    )
    request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(
        request
    )
    lines = [f"{method} {target} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


async def send(s: Server, method: str, target: str, **request: Any) -> Reply:
    """
    Send a request signed by L{signed_head} (C{request}: its C{host},
    C{headers} and C{body}) to C{s}, and read the reply.
    """
    head = signed_head(method, target, **request)
    return await s.exchange(head, request.get("body", b""), method)


def error_code(reply: Reply) -> str | None:
    status, _, body = reply
    if status < 300 or not body:
        return None
    return ElementTree.fromstring(body).findtext("Code")


@contextmanager
def failures_logged() -> Iterator[list[dict[str, Any]]]:
    """Collect every event logged with a failure (a traceback) meanwhile."""
    seen: list[dict[str, Any]] = []

    @provider(ILogObserver)
    def observe(event: dict[str, Any]) -> None:
        if event.get("log_failure") is not None or event.get("isError"):
            seen.append(event)

    globalLogPublisher.addObserver(observe)
    try:
        yield seen
    finally:
        globalLogPublisher.removeObserver(observe)


def listed_keys(listing: bytes, encoded: bool) -> list[str]:
    names = [
        element.text or ""
        for element in ElementTree.fromstring(listing).iter()
        if element.tag.endswith("}Key")
    ]
    return [unquote_plus(name) for name in names] if encoded else names


printable_with_breaks = set(string.printable)
CONTROL_KEYS = [
    "a\nb",
    "a\rb",
    "line\r\nbreak",
    "tab\there",
    "\n",
    "nul\x00x",
    "del\x7f",
]


@pytest.mark.parametrize("key", CONTROL_KEYS)
@pytest_twisted.ensureDeferred
async def test_keys_with_control_characters_round_trip(
    server: Server, key: str
) -> None:
    """S3 keys may hold any UTF-8 character: PUT, GET, HEAD, list, DELETE."""
    await send(server, "PUT", "/odd")
    target = "/odd/" + quote(key, safe="")
    with failures_logged() as failures:
        assert (await send(server, "PUT", target, body=b"data"))[0] == 200
        status, _, body = await send(server, "GET", target)
        assert (status, body) == (200, b"data")
        assert (await send(server, "HEAD", target))[0] == 200
        # XML 1.0 cannot carry NUL or DEL-free C0 controls at all: clients
        # list such keys with encoding-type=url.
        status, _, listing = await send(server, "GET", "/odd?encoding-type=url")
        assert status == 200
        assert listed_keys(listing, encoded=True) == [key]
        if key.isprintable() or set(key) <= set(printable_with_breaks):
            status, _, listing = await send(server, "GET", "/odd")
            assert listed_keys(listing, encoded=False) == [key]
        assert (await send(server, "DELETE", target))[0] == 204
        assert (await send(server, "GET", target))[0] == 404
    assert failures == []


@pytest.mark.parametrize(
    "host",
    [
        "a" * 64 + ".example.com",
        "a..b",
        ".",
        "a" * 64 + ".s3.test",
        "x..s3.test",
        "bücher.example",
        "[::1]",
        "[::1]:443",
        "127.0.0.1:notaport",
        "exa mple",
    ],
)
@pytest_twisted.ensureDeferred
async def test_odd_hosts_answer_s3_xml(server: Server, host: str) -> None:
    """
    A signed request with a Host that is no DNS name is answered by S3
    (served path style, or refused with S3's XML), never a 500.
    """
    await send(server, "PUT", "/hosts")
    with failures_logged() as failures:
        status, headers, body = await send(server, "GET", "/hosts", host=host)
    assert failures == []
    assert status < 500
    if status == 200:
        assert b"<ListBucketResult" in body
    else:
        assert headers.get("content-type") == "application/xml"
        assert error_code((status, headers, body))


COPY_KEYS = ["a+b", "with space", "100% sure", "plus+and space", "grüße/ünï", "a%2Bb"]
ENCODINGS = {
    "percent": lambda key: quote(key, safe="/"),
    "form": lambda key: quote_plus(key, safe="/"),
}


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("key", COPY_KEYS)
@pytest_twisted.ensureDeferred
async def test_copy_source_decoding(server: Server, key: str, encoding: str) -> None:
    """
    ``x-amz-copy-source`` is form-decoded as AWS decodes it (``+`` a space,
    ``%2B`` a plus), whichever encoding the client chose; for CopyObject
    and UploadPartCopy.
    """
    await send(server, "PUT", "/copies")
    source_target = "/copies/" + quote(key, safe="/")
    body = key.encode("utf-8") * 3
    assert (await send(server, "PUT", source_target, body=body))[0] == 200
    source = "/copies/" + ENCODINGS[encoding](key)

    status, _, answer = await send(
        server, "PUT", "/copies/copied", headers={"x-amz-copy-source": source}
    )
    assert status == 200, answer
    assert (await send(server, "GET", "/copies/copied"))[2] == body

    status, _, created = await send(server, "POST", "/copies/parted?uploads")
    upload = ElementTree.fromstring(created).findtext("{*}UploadId")
    status, _, answer = await send(
        server,
        "PUT",
        f"/copies/parted?partNumber=1&uploadId={upload}",
        headers={"x-amz-copy-source": source},
    )
    assert status == 200, answer


# Sub-resources and parameters the catalogue reads, with random values, and
# random names beside them.
QUERY_NAMES = [
    "uploads",
    "uploadId",
    "partNumber",
    "tagging",
    "acl",
    "versioning",
    "delete",
    "location",
    "attributes",
    "versionId",
    "list-type",
    "max-keys",
    "continuation-token",
    "start-after",
    "prefix",
    "delimiter",
    "marker",
    "encoding-type",
    "max-parts",
    "part-number-marker",
    "max-uploads",
    "key-marker",
    "upload-id-marker",
    "versions",
    "fetch-owner",
    "response-content-type",
    "response-expires",
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "Signature",
    "Expires",
    "AWSAccessKeyId",
    "max-buckets",
    "bucket-region",
    "policy",
    "cors",
]
HEADER_NAMES = [
    "x-amz-meta-note",
    "content-type",
    "range",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "x-amz-tagging",
    "x-amz-tagging-directive",
    "x-amz-metadata-directive",
    "x-amz-copy-source",
    "x-amz-copy-source-range",
    "x-amz-object-attributes",
    "x-amz-acl",
    "content-md5",
    "x-amz-max-parts",
    "x-amz-checksum-mode",
    "x-amz-checksum-crc32",
    "x-amz-sdk-checksum-algorithm",
    "content-encoding",
    "cache-control",
    "expires",
    "x-amz-storage-class",
    "x-amz-grant-read",
    "x-amz-part-number-marker",
    "x-amz-expected-bucket-owner",
]

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
# Header values travel on one line: no CR, LF or NUL.
header_values = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")), max_size=40
).map(str.strip)
safe_sets = st.sampled_from(["", "/", "/~", "/+ ", "/%"])


@st.composite
def targets(draw: st.DrawFn) -> str:
    bucket = draw(
        st.sampled_from(["props", "Props", "no-such-bucket", "", "a", "x" * 70])
    )
    key = draw(st.one_of(st.just(""), texts))
    safe = draw(safe_sets)
    path = (
        "/"
        + bucket
        + ("/" + quote(key, safe=safe) if key or draw(st.booleans()) else "")
    )
    path = path.replace(" ", "%20")
    pairs = draw(
        st.lists(
            st.tuples(st.one_of(st.sampled_from(QUERY_NAMES), texts), texts),
            max_size=4,
        )
    )
    query = "&".join(
        quote(name, safe="") + ("=" + quote(value, safe="") if value else "")
        for name, value in pairs
    )
    return path + ("?" + query if query else "")


hosts = st.one_of(
    st.sampled_from(
        ["127.0.0.1", "localhost", "props.s3.test", "s3.test", "[::1]:443", "a..b"]
    ),
    st.from_regex(r"\A[a-zA-Z0-9.\-]{1,80}(\.s3\.test)?(:[0-9]{1,5})?\Z"),
)


# Hypothesis calls a test synchronously, and pytest-twisted runs tests on
# the reactor's own greenlet, where nothing can be waited for: the site
# under property test runs on a clock that the test turns itself.
CLOCK = Clock()
SITE: Site = build_site(
    MemoryStore(), SECRETS.get, reactor=CLOCK, domains=(VHOST_DOMAIN,)
)


def send_now(method: str, target: str, **request: Any) -> Reply:
    """
    L{send} to L{SITE} (C{request}: L{signed_head}'s C{host}, C{headers}
    and C{body}), turning L{CLOCK} until the reply is in.
    """
    # Signatures are dated now: the clock must agree.
    CLOCK.advance(max(0.0, time.time() - CLOCK.seconds()))
    head = signed_head(method, target, **request)
    done = ensureDeferred(exchange(SITE, CLOCK, head, request.get("body", b""), method))
    replies: list[Reply] = []
    done.addCallback(replies.append)
    for _ in range(10_000):
        if replies:
            return replies[0]
        CLOCK.advance(0)
    raise AssertionError(f"no reply to {method} {target}: {done}")


@settings(
    max_examples=300,
    deadline=None,
)
@given(
    method=st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE"]),
    target=targets(),
    host=hosts,
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_values, max_size=4),
    body=st.one_of(st.just(b""), st.binary(max_size=64)),
)
def test_full_request_path_never_fails(
    method: str,
    target: str,
    host: str,
    headers: dict[str, str],
    body: bytes,
) -> None:
    """
    Any signed request, whatever its key, query, Host and header values,
    gets an answer below 500 (an S3 XML error when refused), and nothing is
    logged as a failure.
    """
    # The bucket exists and the signatures verify: the requests below
    # reach the handlers.
    assert send_now("PUT", "/props")[0] in (200, 409)
    with failures_logged() as failures:
        status, reply_headers, reply = send_now(
            method, target, host=host, headers=headers, body=body
        )
    assert failures == []
    if status >= 400 and method != "HEAD":
        assert reply_headers.get("content-type") == "application/xml", reply
        code = ElementTree.fromstring(reply).findtext("Code")
        assert code
        # Sub-resources txs3 does not build are S3's 501 NotImplemented.
        assert status < 500 or code == "NotImplemented", reply
