"""
Property tests of the pure request classifier and the range parser: any
key a client percent-encodes comes back exactly, and single ranges agree
with a plain reference model of RFC 9110's byte ranges.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from txs3.api.conditions import parse_range
from txs3.classify import classify
from txs3.errors import S3Error
from txs3.operation import parse_query

keys = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200
).filter(lambda k: len(k.encode("utf-8")) <= 1024)


@given(keys, st.sampled_from(["/~", "", "/"]))
def test_any_encoded_key_round_trips(key: str, safe: str) -> None:
    """Whatever a client leaves unencoded, the classifier decodes the key exactly once."""
    path = "/bucket/" + quote(key, safe=safe)
    operation = classify("GET", path, "", {"host": "s3.test"}).operation
    assert operation.bucket == "bucket"
    assert operation.key == key
    assert operation.name == "GetObject"


@given(keys)
def test_virtual_host_key_round_trips(key: str) -> None:
    """Under virtual-host addressing the whole path is the key."""
    operation = classify(
        "PUT",
        "/" + quote(key, safe="/"),
        "",
        {"host": "photos.s3.test:8443"},
        ["s3.test"],
    ).operation
    assert (operation.bucket, operation.key) == ("photos", key)
    assert operation.virtual_host


@given(
    st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=5)
)
def test_query_round_trips(params: dict[str, str]) -> None:
    """Form-encoded query parameters decode to what was encoded."""
    raw = "&".join(
        f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params.items()
    )
    assert parse_query(raw) == params


def reference_range(
    first: int | None, last: int | None, size: int
) -> tuple[int, int] | str | None:
    """RFC 9110 single byte range, as S3 applies it; "416" when unsatisfiable."""
    if first is None:
        assert last is not None
        if last == 0 or size == 0:
            return "416"
        return max(0, size - last), size - 1
    if first >= size:
        return "416"
    end = size - 1 if last is None else min(last, size - 1)
    if last is not None and last < first:
        return None
    return first, end


@given(
    st.one_of(st.none(), st.integers(0, 2000)),
    st.one_of(st.none(), st.integers(0, 2000)),
    st.integers(0, 1500),
)
def test_single_ranges_match_reference(
    first: int | None, last: int | None, size: int
) -> None:
    """parse_range agrees with the reference for every bytes=a-b, a- and -n."""
    if first is None and last is None:
        return
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    expected = reference_range(first, last, size)
    if expected == "416":
        with pytest.raises(S3Error) as info:
            parse_range(header, size)
        assert info.value.code == "InvalidRange"
        assert info.value.headers["Content-Range"] == f"bytes */{size}"
    else:
        assert parse_range(header, size) == expected


@given(st.text(max_size=30), st.integers(0, 100))
def test_garbage_ranges_are_ignored_or_refused(header: str, size: int) -> None:
    """Any Range header either parses to a span inside the object, is ignored, or is InvalidRange."""
    try:
        span = parse_range(header, size)
    except S3Error as e:
        assert e.code == "InvalidRange"
        return
    if span is not None:
        first, last = span
        assert 0 <= first <= last < size
