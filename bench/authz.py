"""
CPU per authorization decision (L{txs3.authz.authorize}), in process.

Prints microseconds per decision (best of several rounds) for:

  - no policy: the owner's GET, and an anonymous GET through a public-read
    object ACL;
  - a 20-statement policy without conditions: the owner's GET (only Deny
    statements are evaluated) and another account's GET allowed by the
    last statement (every statement naming s3:GetObject is evaluated);
  - a 20-statement policy where every statement has conditions (IP
    ranges, TLS, a time window, a prefix with ${aws:username}): the same
    two requests;

each with building the L{RequestContext} the gate would build, and the
parse time of each policy.  The issue's budget, against ~250 us of server
CPU per small GET (bench/inprocess_get.py): no policy <= 5% (12.5 us),
20 statements <= 20% (50 us).  Nothing is asserted.

    /work/main/.venv/bin/python bench/authz.py [--decisions 20000]
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from collections.abc import Callable
from typing import Any

from txs3.authz import (
    ANONYMOUS,
    Acl,
    Decision,
    Owner,
    Policy,
    Principal,
    RequestContext,
    authorize,
    canned_acl,
    parse_policy,
    resource_arn,
)

BUCKET = "bench"
OWNER = "0" * 64
OTHER = "1" * 64
HEADERS = {
    "host": "bench.test",
    "user-agent": "aws-cli/2.15 Python/3.11",
    "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "x-amz-date": "20300101T000000Z",
}


def context() -> RequestContext:
    """The context the gate builds for a small signed GET."""
    return RequestContext(
        now=1_893_456_000.0,
        secure_transport=True,
        source_ip="192.0.2.10",
        headers=HEADERS,
        query={},
        signature_version="AWS4-HMAC-SHA256",
        auth_type="REST-HEADER",
    )


def plain_policy() -> str:
    """20 statements naming GetObject for other accounts and prefixes; the last allows OTHER."""
    statements: list[dict[str, Any]] = []
    for i in range(19):
        effect = "Deny" if i % 5 == 0 else "Allow"
        statements.append(
            {
                "Sid": f"S{i}",
                "Effect": effect,
                "Principal": {"AWS": [f"arn:aws:iam::{i:012d}:root", f"{i + 100:012d}"]},
                "Action": ["s3:GetObject", "s3:PutObject", "s3:List*"],
                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/team{i}/*"],
            }
        )
    statements.append(
        {
            "Sid": "Partner",
            "Effect": "Allow",
            "Principal": {"AWS": OTHER},
            "Action": "s3:Get*",
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        }
    )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def conditional_policy() -> str:
    """20 statements that all apply to OTHER's GET and all have conditions to evaluate."""
    statements: list[dict[str, Any]] = []
    for i in range(19):
        statements.append(
            {
                "Sid": f"C{i}",
                "Effect": "Deny" if i % 2 else "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
                "Condition": {
                    "IpAddress": {"aws:SourceIp": [f"198.51.{i}.0/24", "2001:db8::/32"]},
                    "Bool": {"aws:SecureTransport": "true"},
                    "DateLessThan": {"aws:CurrentTime": "2031-01-01T00:00:00Z"},
                    "StringLike": {"aws:UserAgent": f"tool{i}/*"},
                },
            }
        )
    statements.append(
        {
            "Sid": "Partner",
            "Effect": "Allow",
            "Principal": {"AWS": OTHER},
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/home/${{aws:username}}/*",
            "Condition": {
                "IpAddress": {"aws:SourceIp": "192.0.2.0/24"},
                "Bool": {"aws:SecureTransport": "true"},
                "DateLessThan": {"aws:CurrentTime": "2031-01-01T00:00:00Z"},
                "StringNotEquals": {"s3:signatureversion": "AWS"},
            },
        }
    )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def per_call(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    """Best microseconds per call of C{fn} over C{rounds} rounds of C{n}."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=20000)
    n = parser.parse_args().decisions

    key = resource_arn(BUCKET, "home/bob/photo.jpg")
    owner, other = Principal(OWNER), Principal(OTHER, "bob")
    public_read = canned_acl("public-read", Owner(OWNER))
    plain = parse_policy(plain_policy(), BUCKET)
    conditional = parse_policy(conditional_policy(), BUCKET)

    def decide(who: Principal, policy: Policy | None = None, acl: Acl | None = None) -> Callable[[], Decision]:
        def run() -> Decision:
            return authorize(who, "s3:GetObject", key, context(), OWNER, policy, None, acl)

        return run

    # Sanity: each scenario decides as intended.
    checks = [
        (decide(owner)(), "owner"),
        (decide(ANONYMOUS, acl=public_read)(), "acl-grant"),
        (decide(owner, plain)(), "owner"),
        (decide(other, plain)(), "policy-allow"),
        (decide(owner, conditional)(), "owner"),
        (decide(other, conditional)(), "policy-allow"),
    ]
    for decision, rule in checks:
        if decision.rule != rule:
            raise SystemExit(f"expected {rule}, got {decision}")

    rows = [
        ("RequestContext only", context),
        ("no policy, owner GET", decide(owner)),
        ("no policy, anonymous GET via public-read ACL", decide(ANONYMOUS, acl=public_read)),
        ("20 statements, owner GET", decide(owner, plain)),
        ("20 statements, other account GET (last allows)", decide(other, plain)),
        ("20 conditional statements, owner GET", decide(owner, conditional)),
        ("20 conditional statements, other account GET", decide(other, conditional)),
    ]
    print(f"{'scenario':<52} {'us/decision':>11}")
    for name, fn in rows:
        print(f"{name:<52} {per_call(fn, n):>11.2f}")
    for name, text in (("20 statements", plain_policy()), ("20 conditional statements", conditional_policy())):
        us = per_call(functools.partial(parse_policy, text, BUCKET), max(n // 100, 20))
        print(f"{'parse ' + name:<52} {us:>11.2f}")


if __name__ == "__main__":
    main()
