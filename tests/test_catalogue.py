"""
The operation catalogue and the layers, checked as data.

Every operation name has exactly one entry, every entry a handler and an
IAM action, every handler an entry, and no request can take two routes.
The layers themselves are checked by import-linter in CI (``lint-imports``,
contracts in pyproject.toml); what it cannot name, twisted.web, is checked
here by importing the pre-body layer in a fresh interpreter.
"""

from __future__ import annotations

import inspect
import itertools
import subprocess
import sys
from typing import get_args

import pytest

from tests.conftest import REPO_ROOT
from txs3.api import catalogue
from txs3.api.catalogue import BY_NAME, CATALOGUE, Route
from txs3.classify import classify, matches
from txs3.errors import S3Error
from txs3.operation import SUBRESOURCES, OperationName

HANDLER_MODULES = {
    inspect.getmodule(entry.handler) for entry in CATALOGUE
}  # the modules that hold handlers


def test_every_name_has_one_entry() -> None:
    """Each OperationName is declared by exactly one catalogue entry."""
    names = [entry.name for entry in CATALOGUE]
    assert sorted(names) == sorted(set(names))
    assert set(names) == set(get_args(OperationName))


def test_every_handler_has_an_entry() -> None:
    """Every public coroutine in a handler module is some entry's handler."""
    handlers = {entry.handler for entry in CATALOGUE}
    for module in HANDLER_MODULES:
        for name, function in inspect.getmembers(module, inspect.iscoroutinefunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                assert function in handlers, f"{module.__name__}.{name} has no entry"


def test_every_entry_names_its_action() -> None:
    """Every entry but a public one needs an IAM action of the s3: namespace."""
    for entry in CATALOGUE:
        if entry.public:
            assert entry.action is None, entry.name
            continue
        assert entry.action is not None and entry.action.startswith("s3:"), entry.name
        if entry.version_action is not None:
            assert "Version" in entry.version_action, entry.name


def test_version_actions() -> None:
    """A request naming a versionId needs the version action where one exists."""
    get = BY_NAME["GetObject"]
    assert get.action_for(None) == "s3:GetObject"
    assert get.action_for("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY") == "s3:GetObjectVersion"
    assert BY_NAME["PutObject"].action_for("x") == "s3:PutObject"


def _overlap(a: Route, b: Route) -> bool:
    """Whether one request could take both routes."""
    if (a.method, a.level) != (b.method, b.level):
        return False
    if a.header != b.header or a.query != b.query:
        # The conditional one is tried first and wins: no ambiguity.
        return False
    subs = (a.subresources | b.subresources) & (
        (a.subresources | a.optional) & (b.subresources | b.optional)
    )
    return matches(a, subs, {}, {}) and matches(b, subs, {}, {})


def test_no_two_routes_overlap() -> None:
    """No set of sub-resources selects two operations (a table, not a precedence game)."""
    routes = [(route, entry.name) for entry in CATALOGUE for route in entry.routes]
    for (a, name_a), (b, name_b) in itertools.combinations(routes, 2):
        if name_a != name_b:
            assert not _overlap(a, b), (name_a, name_b)


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e.name)
def test_every_route_classifies_to_its_entry(entry: catalogue.Entry) -> None:
    """A request built from each route is classified as that entry's operation."""
    for route in entry.routes:
        path = {"service": "/", "bucket": "/bucket", "object": "/bucket/key"}[
            route.level
        ]
        query = "&".join(sorted(route.subresources))
        if route.query is not None:
            query += ("&" if query else "") + "=".join(route.query)
        headers = {route.header: "/src/key"} if route.header else {}
        classified = classify(route.method, path, query, headers)
        assert classified.entry is entry


def test_unknown_subresource_and_method() -> None:
    """A known but unbuilt sub-resource has no entry; a method S3 lacks is refused."""
    classified = classify("GET", "/bucket", "analytics", {})
    assert classified.entry is None
    assert classified.operation.name == "NotImplemented"
    assert "analytics" in SUBRESOURCES
    with pytest.raises(S3Error) as e:
        classify("PATCH", "/bucket/key", "", {})
    assert e.value.code == "MethodNotAllowed"


def test_gate_knows_no_twisted_web() -> None:
    """Importing the gate (and so the catalogue and every handler) loads no twisted.web or Klein."""
    code = (
        "import sys, txs3.gate\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('twisted.web', "
        "'klein', 'werkzeug')))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
