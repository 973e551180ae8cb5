"""
PostObject while its body streams: raw bytes fed to the real site over a
StringTransport (as in C{tests/test_server_channel.py}), and the form sink
fed directly.

A refused form is answered as soon as the refusal is known and the rest
of its body is not read (beyond the channel's allowance); the file's
bytes reach a staging file only once the form is accepted, and the sink
holds at most a chunk and a boundary whatever the file's size.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from tests.postforms import encode, presigned_fields
from tests.test_server_channel import connect, make_site
from txs3.auth.integrity import BodyDigests
from txs3.auth.types import PayloadPlan
from txs3.errors import S3Error
from txs3.formbody import AcceptedForm, FormSink
from txs3.postform.multipart import FileInfo
from txs3.store.memory import MemoryStore

CHUNK = 64 * 1024


def form_head(content_type: str, length: int) -> bytes:
    return (
        f"POST /bucket HTTP/1.1\r\nHost: s3.test\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def opening(fields: Mapping[str, str], declared_file: int) -> tuple[bytes, bytes, int]:
    """
    The head, and the body up to the file's first bytes, of a form whose
    file is C{declared_file} bytes long (the rest is for the caller to
    send, or not).
    """
    content_type, body = encode(fields, b"\0")
    at = body.index(b"\r\n\r\n\0") + 4
    length = len(body) - 1 + declared_file
    return form_head(content_type, length), body[:at], length


def test_refused_form_answered_before_its_file() -> None:
    """A form with a bad signature is answered 403 when its file begins; no staging file, and the rest is not read."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    fields = presigned_fields("bucket", "k", secret_key="wrong secret")
    head, start, _ = opening(fields, 50 * 1024 * 1024)
    proto.dataReceived(head)  # type: ignore[attr-defined]
    proto.dataReceived(start + b"x" * 1000)  # type: ignore[attr-defined]
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 403 "), out[:200]
    assert b"<Code>SignatureDoesNotMatch</Code>" in out
    assert b"Connection: close" in out
    assert store.staging_count() == 0
    for _ in range(2):
        proto.dataReceived(b"x" * CHUNK)  # type: ignore[attr-defined]
    assert transport.disconnecting
    assert transport.value() == out


def test_file_over_policy_limit_stopped_mid_file() -> None:
    """A file growing past the policy's content-length-range is refused EntityTooLarge as it crosses it; its staging file is gone."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    fields = presigned_fields(
        "bucket", "k", conditions=[["content-length-range", 0, 100_000]]
    )
    head, start, _ = opening(fields, 10 * 1024 * 1024)
    proto.dataReceived(head)  # type: ignore[attr-defined]
    proto.dataReceived(start)  # type: ignore[attr-defined]
    sent = 0
    while not transport.value() and sent < 1024 * 1024:
        proto.dataReceived(b"y" * CHUNK)  # type: ignore[attr-defined]
        sent += CHUNK
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 400 "), out[:200]
    assert b"<Code>EntityTooLarge</Code>" in out
    assert b"<MaxSizeAllowed>100000</MaxSizeAllowed>" in out
    assert sent < 100_000 + 2 * CHUNK
    assert store.staging_count() == 0


def test_refusal_in_the_last_chunk_answered_once() -> None:
    """A whole refused form in one chunk gets one answer, and the request goes no further."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    content_type, body = encode({"key": "k"}, b"anonymous bytes")
    proto.dataReceived(form_head(content_type, len(body)) + body)  # type: ignore[attr-defined]
    out = transport.value()
    assert out.count(b"HTTP/1.1 ") == 1
    assert out.startswith(b"HTTP/1.1 403 ")
    assert b"<Code>AccessDenied</Code>" in out
    assert transport.disconnecting
    assert store.staging_count() == 0


def test_accepted_form_over_the_wire() -> None:
    """A signed form fed in small pieces (boundaries split across them) is stored and answered 204."""
    site, store, _ = make_site()
    proto, transport = connect(site)
    data = b"0123456789abcdef" * 5000
    content_type, body = encode(presigned_fields("bucket", "k"), data)
    proto.dataReceived(form_head(content_type, len(body)))  # type: ignore[attr-defined]
    for at in range(0, len(body), 997):
        proto.dataReceived(body[at : at + 997])  # type: ignore[attr-defined]
    out = transport.value()
    assert out.startswith(b"HTTP/1.1 204 "), out[:300]
    assert f'"{hashlib.md5(data).hexdigest()}"'.encode() in out
    _, file = store.open_object("bucket", "k")
    with file:
        assert file.read() == data


def test_sink_memory_stays_flat() -> None:
    """The form sink holds at most a chunk and a delimiter of a 16 MiB file; the staging file gets every byte."""
    store = MemoryStore()
    opened = []

    def open_staging():  # type: ignore[no-untyped-def]
        opened.append(store.open_staging())
        return opened[-1]

    def start(fields: Mapping[str, str], info: FileInfo) -> AcceptedForm:
        assert not opened, "no staging file before the form is accepted"
        return AcceptedForm(None, fields["key"], {}, fields)

    sink = FormSink("b0undary", PayloadPlan(), BodyDigests(PayloadPlan()), start,
                    open_staging)  # fmt: skip
    piece = bytes(range(256)) * (CHUNK // 256)
    md5 = hashlib.md5()
    sink.write(
        b'--b0undary\r\nContent-Disposition: form-data; name="key"\r\n\r\nbig\r\n'
        b'--b0undary\r\nContent-Disposition: form-data; name="file"; '
        b'filename="f"\r\n\r\n'
    )
    most = 0
    for _ in range(256):
        sink.write(piece)
        md5.update(piece)
        most = max(most, sink.buffered)
    sink.write(b"\r\n--b0undary--\r\n")
    posted = sink.finish()
    assert most <= CHUNK + 64
    assert posted.upload.size == 256 * CHUNK
    assert posted.upload.etag == md5.hexdigest()
    assert posted.form.key == "big"
    assert len(opened) == 1 and opened[0].size() == 256 * CHUNK


def test_sink_refusal_opens_nothing() -> None:
    """A form its start refuses opens no staging file, records the refusal, and ignores the rest."""
    opened: list[object] = []

    def start(fields: Mapping[str, str], info: FileInfo) -> AcceptedForm:
        raise S3Error.of("AccessDenied")

    sink = FormSink("b", PayloadPlan(), BodyDigests(PayloadPlan()), start,
                    lambda: opened.append(1))  # type: ignore[arg-type,func-returns-value]  # fmt: skip
    sink.write(b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc')
    assert sink.refused is not None and sink.refused.code == "AccessDenied"
    sink.write(b"more\r\n--b--\r\n")
    assert opened == []
    try:
        sink.finish()
    except S3Error as e:
        assert e.code == "AccessDenied"
    else:
        raise AssertionError("a refused form finished")
