"""
Browser POST uploads as pure pieces (L{txs3.postform}): the streaming
``multipart/form-data`` parser, the POST policy and the form's signature.

The parser is fed bodies in every chunking (hypothesis splits them
anywhere, boundaries included) and must give the same fields and file
bytes.  Policies and signatures are tested against forms built by
botocore's C{generate_presigned_post} offline (fake credentials, no
network), so the real SDK's forms are what verify and evaluate.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from typing import Any

import boto3
import pytest
from botocore.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from txs3.auth.types import Identity, Secret
from txs3.errors import S3Error
from txs3.postform.check import FormDecision, check_form, limited_sink
from txs3.postform.multipart import (
    FileInfo,
    FileSink,
    FormParser,
    PostForm,
    boundary_from_content_type,
)
from txs3.postform.policy import (
    Condition,
    PostPolicy,
    check_length,
    check_policy,
    object_key,
    parse_post_policy,
    substitute_filename,
)
from txs3.postform.signature import verify_form

BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
SECRET = Secret("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "owner1", "Owner One")


def lookup(access_key: str) -> Secret | None:
    return SECRET if access_key == SECRET.access_key else None


def form_body(
    fields: list[tuple[str, str]],
    file: bytes | None = b"hello, world",
    after: tuple[tuple[str, str], ...] = (),
    filename: str = "photo.png",
    content_type: str | None = "image/png",
    boundary: str = BOUNDARY,
) -> bytes:
    """A body as a browser sends it: fields, then the file, then any stragglers."""
    out = b"preamble to ignore\r\n"
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode() + b"\r\n"
    if file is not None:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'.encode()
        if content_type is not None:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + file + b"\r\n"
    for name, value in after:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    return out + f"--{boundary}--\r\nepilogue".encode()


class Collector:
    """A start_file that records what it was given and the pieces of the file."""

    def __init__(self) -> None:
        self.fields: dict[str, str] | None = None
        self.info: FileInfo | None = None
        self.pieces: list[bytes] = []

    def __call__(self, fields: Mapping[str, str], info: FileInfo) -> FileSink:
        self.fields = dict(fields)
        self.info = info
        return self.pieces.append


def parse(body: bytes, chunks: list[int] | None = None, **kw: Any) -> tuple[PostForm, Collector, int]:
    """Feed C{body} in pieces of the given sizes (the rest at once); return the form, collector and peak buffer."""
    collector = Collector()
    parser = FormParser(BOUNDARY, collector, **kw)
    pos, peak = 0, 0
    for size in chunks or []:
        parser.feed(body[pos : pos + size])
        peak = max(peak, parser.buffered)
        pos += size
    parser.feed(body[pos:])
    return parser.close(), collector, peak


FIELDS = [("key", "user/${filename}"), ("acl", "public-read"), ("X-Amz-Meta-Tag", "naïve ✓"), ("empty", "")]


def test_parse_fields_and_file() -> None:
    """Fields before the file are collected by lower-case name; the file goes to the sink."""
    form, collector, _ = parse(form_body(FIELDS, b"\x00\r\n--binary\r\n" * 3))
    expected = {"key": "user/${filename}", "acl": "public-read", "x-amz-meta-tag": "naïve ✓", "empty": ""}
    assert dict(form.fields) == expected
    assert collector.fields == expected
    assert form.file == collector.info == FileInfo("photo.png", "image/png")
    assert b"".join(collector.pieces) == b"\x00\r\n--binary\r\n" * 3
    assert form.size == 3 * 13


def test_fields_after_file_are_ignored() -> None:
    """As AWS does, fields after the file are neither returned nor checked."""
    form, _, _ = parse(form_body([("key", "k")], after=(("acl", "private"), ("file", "second"))))
    assert dict(form.fields) == {"key": "k"}


def test_parts_after_file_are_not_checked() -> None:
    """A part after the file is ignored even when its headers would be refused before it."""
    body = form_body([("key", "k")]).replace(
        f"--{BOUNDARY}--".encode(), f"--{BOUNDARY}\r\nX-Odd: 1\r\n\r\nzzz\r\n--{BOUNDARY}--".encode()
    )
    form, collector, _ = parse(body)
    assert dict(form.fields) == {"key": "k"}
    assert b"".join(collector.pieces) == b"hello, world"


def test_non_ascii_signature_refused() -> None:
    """A signature holding non-ASCII text is a mismatch, not a crash."""
    fields = {**V4, "x-amz-signature": "é" * 64}
    with pytest.raises(S3Error) as e:
        verify_form(fields, lookup)
    assert e.value.code == "SignatureDoesNotMatch"


def test_file_without_type_or_name() -> None:
    """A file part may lack a Content-Type and a filename."""
    body = form_body([("key", "k")], filename="", content_type=None)
    form, _, _ = parse(body)
    assert form.file == FileInfo("", None)


def test_empty_file() -> None:
    """An empty file is a file of size 0, and the sink is never called."""
    form, collector, _ = parse(form_body([("key", "k")], b""))
    assert form.size == 0
    assert collector.pieces == []


def test_memory_stays_flat() -> None:
    """A large file passes through in pieces; the parser never holds more than a chunk and a boundary."""
    big = bytes(range(256)) * 4096  # 1 MiB
    body = form_body([("key", "k")], big)
    form, collector, peak = parse(body, [4096] * (len(body) // 4096))
    assert form.size == len(big)
    assert b"".join(collector.pieces) == big
    assert peak <= 4096 + len(BOUNDARY) + 4
    assert max(len(p) for p in collector.pieces) <= 4096 + len(BOUNDARY) + 4


@settings(max_examples=200, deadline=None)
@given(
    file=st.binary(max_size=300),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_any_chunking_gives_the_same_form(file: bytes, cuts: list[int]) -> None:
    """Any split of a valid body, boundaries included, yields the same fields and file bytes."""
    body = form_body(FIELDS, file)
    points = sorted({min(c, len(body)) for c in cuts})
    sizes = [b - a for a, b in zip([0, *points], points, strict=False)]
    form, collector, _ = parse(body, sizes)
    whole, _, _ = parse(body)
    assert dict(form.fields) == dict(whole.fields)
    assert b"".join(collector.pieces) == file
    assert form.size == len(file)


# Pieces that look like the start of a delimiter, to trip a parser that
# forgets a partial match across chunks (never the whole boundary: a file
# cannot hold its own delimiter).
NEAR_MISSES = st.sampled_from(
    [b"\r", b"\n", b"-", b"--", b"\r\n", b"\r\n-", b"\r\n--", f"\r\n--{BOUNDARY[:-1]}".encode(), f"--{BOUNDARY[:-1]}".encode(), b"x"]
)


@settings(max_examples=200, deadline=None)
@given(
    file=st.lists(NEAR_MISSES, max_size=20).map(b"".join),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_near_miss_delimiters_survive_chunking(file: bytes, cuts: list[int]) -> None:
    """File bytes that almost form a delimiter come through whole, however the body is split."""
    body = form_body([("key", "k")], file)
    points = sorted({min(c, len(body)) for c in cuts})
    sizes = [b - a for a, b in zip([0, *points], points, strict=False)]
    form, collector, _ = parse(body, sizes)
    assert b"".join(collector.pieces) == file
    assert form.size == len(file)


@settings(max_examples=100, deadline=None)
@given(file=st.binary(max_size=200))
def test_byte_at_a_time(file: bytes) -> None:
    """Feeding one byte at a time gives the same file."""
    body = form_body(FIELDS, file)
    _, collector, _ = parse(body, [1] * len(body))
    assert b"".join(collector.pieces) == file


def _header_only(extra: str) -> bytes:
    return f"--{BOUNDARY}\r\n{extra}\r\n\r\nvalue\r\n--{BOUNDARY}--".encode()


# (body, error code)
MALFORMED: list[Any] = [
    pytest.param(b"", "MalformedPOSTRequest", id="empty"),
    pytest.param(b"no boundary at all", "MalformedPOSTRequest", id="no-boundary"),
    pytest.param(form_body([("key", "k")])[:-30], "MalformedPOSTRequest", id="truncated"),
    pytest.param(_header_only("Content-Type: text/plain"), "MalformedPOSTRequest", id="no-disposition"),
    pytest.param(_header_only("Content-Disposition: attachment; name=x"), "MalformedPOSTRequest", id="not-form-data"),
    pytest.param(_header_only("Content-Disposition: form-data"), "MalformedPOSTRequest", id="no-name"),
    pytest.param(_header_only('Content-Disposition: form-data; name="x'), "MalformedPOSTRequest", id="unterminated-quote"),
    pytest.param(_header_only("no colon here"), "MalformedPOSTRequest", id="header-without-colon"),
    pytest.param(f"--{BOUNDARY}junk\r\n\r\nx\r\n--{BOUNDARY}--".encode(), "MalformedPOSTRequest", id="text-after-boundary"),
    pytest.param(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="k"\r\n\r\n\xff\r\n--{BOUNDARY}--'.encode("latin-1"),
        "MalformedPOSTRequest",
        id="value-not-utf8",
    ),
    pytest.param(form_body([("key", "k")], file=None), "IncorrectNumberOfFilesInPostRequest", id="no-file"),
    pytest.param(form_body([("key", "k"), ("Key", "j")]), "InvalidArgument", id="duplicate-field"),
    pytest.param(form_body([("key", "k"), ("x-ignore-pad", "x" * 30000)]), "MaxPostPreDataLengthExceededError", id="fields-too-large"),
]


@pytest.mark.parametrize(("body", "code"), MALFORMED)
def test_malformed_bodies(body: bytes, code: str) -> None:
    """Malformed forms are refused with AWS's codes, whatever the chunking."""
    for chunks in (None, [1] * len(body)):
        with pytest.raises(S3Error) as e:
            parse(body, chunks)
        assert e.value.code == code
        assert e.value.status == 400


def test_long_part_headers_refused() -> None:
    """A part's header block is capped, so a header without end cannot grow memory."""
    body = f"--{BOUNDARY}\r\nX-Pad: ".encode() + b"a" * 10000
    parser = FormParser(BOUNDARY, Collector(), max_pre_data=10**9)
    with pytest.raises(S3Error) as e:
        parser.feed(body)
    assert e.value.code == "MalformedPOSTRequest"


def test_start_file_may_refuse() -> None:
    """An error raised by start_file (a failed policy) stops the parse before any file byte."""

    def refuse(fields: Mapping[str, str], info: FileInfo) -> FileSink:
        raise S3Error.of("AccessDenied")

    with pytest.raises(S3Error) as e:
        FormParser(BOUNDARY, refuse).feed(form_body([("key", "k")]))
    assert e.value.code == "AccessDenied"


# (Content-Type, boundary or None for MalformedPOSTRequest)
CONTENT_TYPES: list[Any] = [
    pytest.param(f"multipart/form-data; boundary={BOUNDARY}", BOUNDARY, id="plain"),
    pytest.param('Multipart/Form-Data; charset=utf-8; boundary="a b;c"', "a b;c", id="quoted"),
    pytest.param("multipart/form-data", None, id="no-boundary"),
    pytest.param('multipart/form-data; boundary=""', None, id="empty-boundary"),
    pytest.param("multipart/form-data; boundary=" + "b" * 71, None, id="long-boundary"),
    pytest.param("application/x-www-form-urlencoded", None, id="urlencoded"),
    pytest.param("multipart/form-data; boundary=été", None, id="non-ascii-boundary"),
    pytest.param(None, None, id="absent"),
]


@pytest.mark.parametrize(("value", "expected"), CONTENT_TYPES)
def test_boundary_from_content_type(value: str | None, expected: str | None) -> None:
    """The boundary comes from a multipart/form-data Content-Type, or the POST is malformed."""
    if expected is None:
        with pytest.raises(S3Error) as e:
            boundary_from_content_type(value)
        assert e.value.code == "MalformedPOSTRequest"
    else:
        assert boundary_from_content_type(value) == expected


# --- the policy ---------------------------------------------------------------


def encode(document: object) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
LATER = "2027-01-15T09:00:00.000Z"

POLICY = parse_post_policy(
    encode(
        {
            "expiration": LATER,
            "conditions": [
                {"bucket": "photos"},
                ["starts-with", "$key", "user/eric/"],
                {"acl": "public-read"},
                ["eq", "$Content-Type", "image/png"],
                ["starts-with", "$x-amz-meta-tag", ""],
                ["content-length-range", 10, 100],
            ],
        }
    )
)


def test_parse_policy() -> None:
    """A policy parses to its expiry, conditions (names folded) and length range."""
    assert POLICY == PostPolicy(
        NOW + 3600,
        (
            Condition("eq", "bucket", "bucket", "photos"),
            Condition("starts-with", "key", "key", "user/eric/"),
            Condition("eq", "acl", "acl", "public-read"),
            Condition("eq", "content-type", "Content-Type", "image/png"),
            Condition("starts-with", "x-amz-meta-tag", "x-amz-meta-tag", ""),
        ),
        (10, 100),
    )
    assert POLICY.max_length == 100


GOOD = {"key": "user/eric/a.png", "acl": "public-read", "content-type": "image/png", "x-amz-meta-tag": "anything", "policy": "...", "x-amz-signature": "...", "x-ignore-me": "1", "file": "x"}

# (field changes, bucket, now, message or None when allowed)
POLICY_CASES: list[Any] = [
    pytest.param({}, "photos", NOW, None, id="allowed"),
    pytest.param({"x-amz-meta-tag": None}, "photos", NOW, None, id="any-content-absent"),
    pytest.param({}, "photos", NOW + 3600, "Invalid according to Policy: Policy expired.", id="expired"),
    pytest.param({}, "other", NOW, 'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "photos"]', id="bucket"),
    pytest.param({"key": "user/bob/a.png"}, "photos", NOW, 'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/eric/"]', id="starts-with"),
    pytest.param({"acl": "Public-Read"}, "photos", NOW, 'Invalid according to Policy: Policy Condition failed: ["eq", "$acl", "public-read"]', id="values-case-sensitive"),
    pytest.param({"content-type": None}, "photos", NOW, 'Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", "image/png"]', id="missing-field"),
    pytest.param({"x-amz-meta-other": "1", "success_action_status": "201"}, "photos", NOW, "Invalid according to Policy: Extra input fields: x-amz-meta-other, success_action_status", id="extra-fields"),
]


# (Content-Type, allowed) against ["starts-with", "$Content-Type", "image/"]
CONTENT_TYPE_LISTS: list[Any] = [
    pytest.param("image/png", True, id="one"),
    pytest.param("image/jpg,image/png,image/gif", True, id="list"),
    pytest.param("image/jpg, image/png", True, id="list-with-space"),
    pytest.param("image/jpg,text/plain", False, id="one-member-fails"),
    pytest.param("text/plain", False, id="other"),
]


@pytest.mark.parametrize(("content_type", "allowed"), CONTENT_TYPE_LISTS)
def test_content_type_list(content_type: str, allowed: bool) -> None:
    """A Content-Type holding commas is a list, and every member must match a starts-with."""
    policy = PostPolicy(NOW + 60, (Condition("starts-with", "content-type", "Content-Type", "image/"),))
    fields = {"content-type": content_type}
    if allowed:
        check_policy(policy, fields, bucket="b", now=NOW)
    else:
        with pytest.raises(S3Error):
            check_policy(policy, fields, bucket="b", now=NOW)


@pytest.mark.parametrize(("changes", "bucket", "now", "message"), POLICY_CASES)
def test_check_policy(changes: dict[str, str | None], bucket: str, now: float, message: str | None) -> None:
    """Forms are allowed, or refused AccessDenied with AWS's reason."""
    fields = {**GOOD, **changes}
    fields = {k: v for k, v in fields.items() if v is not None}
    if message is None:
        check_policy(POLICY, fields, bucket=bucket, now=now)
        return
    with pytest.raises(S3Error) as e:
        check_policy(POLICY, fields, bucket=bucket, now=now)
    assert (e.value.code, e.value.status, e.value.message) == ("AccessDenied", 403, message)


# (size, code or None)
LENGTHS: list[Any] = [
    pytest.param(10, None, id="min"),
    pytest.param(100, None, id="max"),
    pytest.param(9, "EntityTooSmall", id="small"),
    pytest.param(101, "EntityTooLarge", id="large"),
]


@pytest.mark.parametrize(("size", "code"), LENGTHS)
def test_content_length_range(size: int, code: str | None) -> None:
    """content-length-range is inclusive at both ends; outside it is EntityTooSmall or EntityTooLarge."""
    if code is None:
        check_length(POLICY, size)
        return
    with pytest.raises(S3Error) as e:
        check_length(POLICY, size)
    assert e.value.code == code
    assert e.value.extra["ProposedSize"] == str(size)


def test_no_length_range() -> None:
    """Without content-length-range any size is allowed."""
    check_length(PostPolicy(NOW, ()), 10**12)


# (policy field text, message)
BAD_POLICIES: list[Any] = [
    pytest.param("not base64!", "Invalid Policy: Invalid JSON.", id="not-base64"),
    pytest.param(base64.b64encode(b"{nope").decode(), "Invalid Policy: Invalid JSON.", id="not-json"),
    pytest.param(encode([1]), "Invalid Policy: Invalid JSON.", id="not-object"),
    pytest.param(encode({"conditions": []}), "Invalid Policy: Policy missing expiration.", id="no-expiration"),
    pytest.param(encode({"expiration": LATER}), "Invalid Policy: Policy missing conditions.", id="no-conditions"),
    pytest.param(encode({"expiration": "tomorrow", "conditions": []}), "Invalid Policy: Invalid 'expiration' value: 'tomorrow'", id="bad-expiration"),
    pytest.param(encode({"expiration": LATER, "conditions": [["in", "$key", "a"]]}), 'Invalid Policy: Invalid Condition: ["in", "$key", "a"]', id="unknown-op"),
    pytest.param(encode({"expiration": LATER, "conditions": [["eq", "key", "a"]]}), 'Invalid Policy: Invalid Condition: ["eq", "key", "a"]', id="no-dollar"),
    pytest.param(encode({"expiration": LATER, "conditions": [{"a": "1", "b": "2"}]}), 'Invalid Policy: Invalid Simple-Condition: {"a": "1", "b": "2"}', id="two-key-object"),
    pytest.param(encode({"expiration": LATER, "conditions": [["content-length-range", 5, 1]]}), 'Invalid Policy: Invalid content-length-range: ["content-length-range", 5, 1]', id="inverted-range"),
    pytest.param(encode({"expiration": LATER, "conditions": [["content-length-range", "a", 1]]}), 'Invalid Policy: Invalid content-length-range: ["content-length-range", "a", 1]', id="text-range"),
    pytest.param(encode({"expiration": LATER, "conditions": ["key"]}), 'Invalid Policy: Invalid Condition: "key"', id="bare-string"),
]


@pytest.mark.parametrize(("text", "message"), BAD_POLICIES)
def test_invalid_policies(text: str, message: str) -> None:
    """A policy that does not parse is InvalidPolicyDocument."""
    with pytest.raises(S3Error) as e:
        parse_post_policy(text)
    assert (e.value.code, e.value.status, e.value.message) == ("InvalidPolicyDocument", 400, message)


@pytest.mark.parametrize(
    ("key", "filename", "expected"),
    [
        ("user/${filename}", "photo.png", "user/photo.png"),
        ("user/${filename}", "C:\\Users\\eric\\photo.png", "user/photo.png"),
        ("a/${filename}/${filename}", "x", "a/x/x"),
        ("fixed", "photo.png", "fixed"),
    ],
)
def test_substitute_filename(key: str, filename: str, expected: str) -> None:
    """${filename} becomes the base name of the uploaded file."""
    assert substitute_filename(key, filename) == expected


def test_object_key() -> None:
    """The key field, with ${filename} replaced, is the object's key."""
    assert object_key({"key": "a/${filename}"}, "b.txt") == "a/b.txt"


@pytest.mark.parametrize("fields", [{}, {"key": ""}])
def test_object_key_required(fields: dict[str, str]) -> None:
    """A form without a key (before the file) is InvalidArgument, as AWS answers."""
    with pytest.raises(S3Error) as e:
        object_key(fields, "b.txt")
    assert e.value.code == "InvalidArgument"
    assert e.value.extra["ArgumentName"] == "key"


# --- signatures, against botocore's forms ---------------------------------------


def presigned(signature_version: str, **kw: Any) -> dict[str, Any]:
    client = boto3.client(
        "s3",
        aws_access_key_id=SECRET.access_key,
        aws_secret_access_key=SECRET.secret_key,
        region_name="eu-west-1",
        endpoint_url="https://127.0.0.1",
        config=Config(signature_version=signature_version),
    )
    result: dict[str, Any] = client.generate_presigned_post("photos", "uploads/${filename}", **kw)
    return result


IDENTITY = Identity("AKIDEXAMPLE", "owner1", "Owner One")


@pytest.mark.parametrize("version", ["s3v4", "s3"])
def test_botocore_forms_verify(version: str) -> None:
    """botocore's SigV4 and SigV2 forms verify, naming the signer."""
    fields = {k.lower(): v for k, v in presigned(version)["fields"].items()}
    assert verify_form(fields, lookup) == IDENTITY


@pytest.mark.parametrize("version", ["s3v4", "s3"])
def test_tampered_policy_refused(version: str) -> None:
    """A policy changed after signing does not match its signature."""
    fields = {k.lower(): v for k, v in presigned(version)["fields"].items()}
    fields["policy"] = encode({"expiration": LATER, "conditions": []})
    with pytest.raises(S3Error) as e:
        verify_form(fields, lookup)
    assert e.value.code == "SignatureDoesNotMatch"


def test_wrong_secret_refused() -> None:
    """A form signed with another secret does not verify."""
    fields = {k.lower(): v for k, v in presigned("s3v4")["fields"].items()}
    other = Secret(SECRET.access_key, "another-secret", "owner1", "Owner One")
    with pytest.raises(S3Error) as e:
        verify_form(fields, lambda _: other)
    assert e.value.code == "SignatureDoesNotMatch"


V4 = {k.lower(): v for k, v in presigned("s3v4")["fields"].items()}

# (field changes, code)
V4_ERRORS: list[Any] = [
    pytest.param({"x-amz-credential": V4["x-amz-credential"].replace("AKIDEXAMPLE", "NOPE")}, "InvalidAccessKeyId", id="unknown-key"),
    pytest.param({"x-amz-algorithm": "AWS4-HMAC-SHA1"}, "InvalidArgument", id="algorithm"),
    pytest.param({"x-amz-credential": "AKIDEXAMPLE/2027"}, "InvalidArgument", id="short-credential"),
    pytest.param({"x-amz-credential": V4["x-amz-credential"].replace("/s3/", "/ec2/")}, "InvalidArgument", id="service"),
    pytest.param({"x-amz-date": "yesterday"}, "InvalidArgument", id="date"),
    pytest.param({"x-amz-date": "19990101T000000Z"}, "InvalidArgument", id="date-not-credential-date"),
    pytest.param({"policy": None}, "InvalidArgument", id="no-policy"),
    pytest.param({"x-amz-date": None}, "InvalidArgument", id="no-date"),
    pytest.param({"x-amz-signature": "0" * 64}, "SignatureDoesNotMatch", id="signature"),
]


@pytest.mark.parametrize(("changes", "code"), V4_ERRORS)
def test_v4_errors(changes: dict[str, str | None], code: str) -> None:
    """Broken SigV4 forms are refused with the code that says why."""
    fields = {k: v for k, v in {**V4, **changes}.items() if v is not None}
    with pytest.raises(S3Error) as e:
        verify_form(fields, lookup)
    assert e.value.code == code


def test_v2_unknown_key() -> None:
    """A SigV2 form with an unknown access key is InvalidAccessKeyId."""
    fields = {k.lower(): v for k, v in presigned("s3")["fields"].items()}
    fields["awsaccesskeyid"] = "NOPE"
    with pytest.raises(S3Error) as e:
        verify_form(fields, lookup)
    assert e.value.code == "InvalidAccessKeyId"


def test_anonymous_form() -> None:
    """A form without signature fields is anonymous."""
    assert verify_form({"key": "k", "acl": "public-read"}, lookup) is None


def botocore_form(version: str) -> dict[str, Any]:
    return presigned(
        version,
        Fields={"acl": "public-read", "Content-Type": "image/png", "x-amz-meta-tag": "holiday"},
        Conditions=[
            {"acl": "public-read"},
            ["starts-with", "$Content-Type", "image/"],
            ["starts-with", "$x-amz-meta-tag", ""],
            ["content-length-range", 1, 1000],
        ],
        ExpiresIn=3600,
    )


def run_form(post: dict[str, Any], file: bytes, bucket: str = "photos") -> tuple[FormDecision, bytes]:
    """Post a form as a browser would, in 7-byte chunks, through check_form and limited_sink."""
    body = form_body(list(post["fields"].items()), file, filename="holiday.png")
    decisions: list[FormDecision] = []
    pieces: list[bytes] = []

    def start_file(fields: Mapping[str, str], info: FileInfo) -> FileSink:
        decision = check_form(fields, info, bucket=bucket, lookup=lookup, now=time.time())
        decisions.append(decision)
        return limited_sink(pieces.append, decision.policy)

    parser = FormParser(BOUNDARY, start_file)
    for i in range(0, len(body), 7):
        parser.feed(body[i : i + 7])
    form = parser.close()
    assert decisions[0].policy is not None
    check_length(decisions[0].policy, form.size)
    return decisions[0], b"".join(pieces)


@pytest.mark.parametrize("version", ["s3v4", "s3"])
def test_botocore_form_end_to_end(version: str) -> None:
    """A botocore form, sent as a browser would, parses, verifies and passes its policy while streaming."""
    post = botocore_form(version)
    assert post["url"] == "https://127.0.0.1/photos"
    decision, stored = run_form(post, b"\x89PNG" + b"\x00" * 100)
    assert decision.identity == IDENTITY
    assert decision.key == "uploads/holiday.png"
    assert stored == b"\x89PNG" + b"\x00" * 100


def test_botocore_form_too_large_stops_early() -> None:
    """A file beyond content-length-range is refused EntityTooLarge before it is all stored."""
    with pytest.raises(S3Error) as e:
        run_form(botocore_form("s3v4"), b"x" * 5000)
    assert e.value.code == "EntityTooLarge"
    assert e.value.extra["MaxSizeAllowed"] == "1000"


def test_botocore_form_empty_file_too_small() -> None:
    """An empty file under a range starting at 1 is EntityTooSmall."""
    with pytest.raises(S3Error) as e:
        run_form(botocore_form("s3"), b"")
    assert e.value.code == "EntityTooSmall"


def test_botocore_form_extra_field_refused() -> None:
    """A field the user adds to a signed form is refused, naming the field."""
    post = botocore_form("s3v4")
    post["fields"]["x-amz-meta-added"] = "sneaky"
    with pytest.raises(S3Error) as e:
        run_form(post, b"data")
    assert e.value.message == "Invalid according to Policy: Extra input fields: x-amz-meta-added"


def test_anonymous_form_without_policy() -> None:
    """An anonymous form with no policy proceeds, unauthenticated, to authorization."""
    decision = check_form({"key": "k/${filename}"}, FileInfo("a.txt", None), bucket="b", lookup=lookup, now=NOW)
    assert decision == FormDecision(None, "k/a.txt", None)


def test_limited_sink_without_policy_is_the_sink() -> None:
    """Without a policy (or a range) nothing limits the file."""
    pieces: list[bytes] = []
    assert limited_sink(pieces.append, None) == pieces.append
    assert limited_sink(pieces.append, PostPolicy(NOW, ())) == pieces.append


def test_botocore_form_other_bucket_refused() -> None:
    """botocore's policy names its bucket: the same form posted to another bucket is refused."""
    fields = {k.lower(): v for k, v in presigned("s3v4")["fields"].items()}
    policy = parse_post_policy(fields["policy"])
    fields["key"] = substitute_filename(fields["key"], "a.txt")
    with pytest.raises(S3Error) as e:
        check_policy(policy, fields, bucket="elsewhere", now=time.time())
    assert e.value.message == 'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "photos"]'


def test_pure_modules_import_no_twisted_or_store() -> None:
    """Importing the CORS and POST form modules loads no Twisted, Klein, werkzeug or store."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, txs3.cors, txs3.postform.check\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('twisted', 'klein', "
        "'werkzeug', 'txs3.store', 'txs3.api')))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).parent.parent, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
