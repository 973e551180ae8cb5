"""
Who may read the metrics (L{MetricsAccess}), and the metrics token kept in
the data directory (L{data_dir_token}).

Metrics say how busy the server is, which operations fail and how full
the disk is: not for everyone.  A scraper presents the token as
``Authorization: Bearer TOKEN``.  The token comes from C{--metrics-token},
else from C{DATA/metrics-token}, created on first start with a random
token (mode 0600, written atomically).  C{--metrics-public} needs none.
The health endpoints need no token: a load balancer's probe has none, and
they say no more than "serving" and "ready".
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from txs3.files import write_atomically

#: The token file's name in the data directory.
TOKEN_FILE = "metrics-token"  # noqa: S105 (a file name)


@dataclass(frozen=True)
class MetricsAccess:
    """
    The rule for the metrics endpoint.

    @ivar token: the bearer token a scraper must present; None for none.
    @ivar public: whether no token is needed.  With neither a token nor
        C{public} every scrape is refused (a site built without a rule).
    """

    token: str | None = None
    public: bool = False

    def refusal(self, authorization: str | None) -> int | None:
        """
        None when a request with this C{Authorization} header value may
        read the metrics; else the status to answer: 401 without a bearer
        token, 403 with a wrong one (or when no token could be right).
        """
        if self.public:
            return None
        scheme, _, presented = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return 401
        if self.token is None:
            return 403
        # Constant time: the token must not leak through response timing.
        if not hmac.compare_digest(presented.strip().encode(), self.token.encode()):
            return 403
        return None


class TokenError(Exception):
    """The token file cannot be read or made; the message says why."""


def data_dir_token(data: Path) -> tuple[str, bool]:
    """
    The metrics token of data directory C{data}, and whether it was just
    created: read from C{data/metrics-token} (surrounding white space
    ignored), or made (32 random bytes, URL-safe base64) and written there
    with mode 0600, atomically.  Blocking: call at start-up.

    @raise TokenError: if the file exists but is empty or unreadable, or
        cannot be written.
    """
    path = data / TOKEN_FILE
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = secrets.token_urlsafe(32)
        try:
            write_atomically(path, token.encode() + b"\n", 0o600)
        except OSError as e:
            raise TokenError(f"cannot write {path}: {e.strerror or e}") from None
        return token, True
    except (OSError, UnicodeDecodeError) as e:
        raise TokenError(f"cannot read {path}: {e}") from None
    if not token or any(c.isspace() for c in token):
        raise TokenError(f"{path} must hold one token on one line")
    return token, False
