"""
HTTP dates in conditional requests are GMT in all three forms RFC 9110
allows (IMF-fixdate, RFC 850, asctime), whatever the server's time zone.

Every test here runs with the process's zone set to New York (L{new_york}),
five hours behind GMT in winter, so that a date read as local time would
be five hours off and flip the outcome of each condition.  The pure tests
call L{txs3.api.conditions.evaluate}; one test goes through the server.
"""

from __future__ import annotations

import calendar
import os
import time
from collections.abc import Iterator

import pytest
import pytest_twisted

from tests.functional import Server, server  # noqa: F401
from txs3.api.conditions import evaluate
from txs3.auth.canonical import parse_http_date

# 2024-01-02 03:04:05 GMT, a Tuesday, and the same instant in each form.
MOMENT = calendar.timegm((2024, 1, 2, 3, 4, 5, 0, 0, 0))
FORMS = {
    "imf": "Tue, 02 Jan 2024 03:04:05 GMT",
    "rfc850": "Tuesday, 02-Jan-24 03:04:05 GMT",
    "asctime": "Tue Jan  2 03:04:05 2024",
}


@pytest.fixture(autouse=True)
def new_york() -> Iterator[None]:
    """Run the test in America/New_York, then restore the process's zone."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        # The premise: local time is not GMT, so a zone-less date read as
        # local time would be misplaced.
        assert time.localtime(MOMENT).tm_hour != time.gmtime(MOMENT).tm_hour
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def _asctime(posix: float) -> str:
    return time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(posix))


def _rfc850(posix: float) -> str:
    return time.strftime("%A, %d-%b-%y %H:%M:%S GMT", time.gmtime(posix))


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_form_is_gmt(form: str) -> None:
    """IMF-fixdate, RFC 850 and asctime dates name the same GMT instant in a non-GMT zone."""
    assert parse_http_date(FORMS[form]) == MOMENT


@pytest.mark.parametrize("form", [_asctime, _rfc850])
def test_conditions_read_zone_less_dates_as_gmt(form: object) -> None:
    """If-Modified-Since and If-Unmodified-Since in asctime or RFC 850 form compare as GMT, not local time."""
    assert callable(form)
    an_hour_before = form(MOMENT - 3600)
    an_hour_after = form(MOMENT + 3600)

    def status(name: str, value: str) -> int:
        return evaluate({name: value}, "etag", MOMENT).status

    # Read as New York time, "an hour before" would be four hours after.
    assert status("if-modified-since", an_hour_before) == 200
    assert status("if-modified-since", form(MOMENT)) == 304
    assert status("if-unmodified-since", an_hour_before) == 412
    assert status("if-unmodified-since", an_hour_after) == 200


@pytest_twisted.ensureDeferred
async def test_get_with_asctime_and_rfc850_dates(server: Server) -> None:
    """A GET's If-Modified-Since and If-Unmodified-Since in asctime and RFC 850 form are read as GMT."""
    c = server.client
    assert (await c.request("PUT", "/dates")).code == 200
    assert (await c.request("PUT", "/dates/k", body=b"x")).code == 200
    modified = server.store.head_object("dates", "k").last_modified
    for form in (_asctime, _rfc850):
        before = form(modified - 3600)

        async def get(name: str, value: str) -> int:
            r = await c.request("GET", "/dates/k", headers={name: value})
            return r.code

        assert await get("If-Modified-Since", before) == 200
        assert await get("If-Modified-Since", form(modified + 1)) == 304
        assert await get("If-Unmodified-Since", before) == 412
