"""
The options of C{twistd txs3} (L{Options}): parsed and checked before
anything starts, each bad value one line on stderr.  What they do is
L{txs3.tap.makeService}'s business.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from twisted.python import usage

from txs3 import limits, tlsendpoint
from txs3.access import OWNERSHIPS, NewBuckets
from txs3.acme import LETSENCRYPT, LETSENCRYPT_STAGING
from txs3.lifecycle.config import DAY
from txs3.lifecycle.evaluate import Days

DEFAULT_PORT = "ssl:443"

# A region is a short identifier that goes into SigV4 credential scopes and
# LocationConstraint; AWS's own are like "us-east-1", self-hosted servers
# often use names like "garage".
_REGION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
_DOMAIN_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


class Options(usage.Options):
    """Options of C{twistd txs3}; see L{makeService} for what they do."""

    synopsis = "[options]"
    longdesc = (
        "An S3-compatible object storage server that terminates TLS itself. "
        "With no options: data in ./data, HTTPS on port 443 with the "
        "certificate in ./certs (made self-signed if there is none), "
        "credentials from TXS3_ACCESS_KEY/TXS3_SECRET_KEY or ./data/credentials "
        "(created with a random key pair on first start)."
    )

    optParameters = [
        [
            "data",
            "d",
            "data",
            "Directory for objects, the index and generated credentials.",
        ],
        [
            "certs",
            None,
            "certs",
            "Directory of server.pem and server.key, used by ssl: endpoints that "
            "name no privateKey=/certKey=; a self-signed pair is made there if "
            "neither exists.",
        ],
        [
            "tls-ciphers",
            None,
            tlsendpoint.DEFAULT_CIPHERS,
            "OpenSSL cipher string: the TLS 1.2 cipher suites ssl: ports offer "
            "(TLS 1.3's are OpenSSL's defaults). The default offers only "
            "forward-secret AEAD suites: ECDHE with AES-GCM or ChaCha20-Poly1305.",
        ],
        [
            "tls-min-version",
            None,
            "1.2",
            "The oldest TLS version ssl: ports offer: 1.2 or 1.3.",
        ],
        [
            "credentials",
            "c",
            None,
            "File of access keys, one per line: ACCESS_KEY SECRET_KEY "
            "[DISPLAY_NAME [OWNER_ID]]. Default: TXS3_ACCESS_KEY and "
            "TXS3_SECRET_KEY, else DATA/credentials.",
        ],
        ["region", None, "us-east-1", "The region this server claims to be."],
        [
            "acme-email",
            None,
            None,
            "The contact address of the ACME account.",
        ],
        [
            "acme-directory",
            None,
            None,
            "The ACME server's directory URL. Default: Let's Encrypt, "
            "https://acme-v02.api.letsencrypt.org/directory.",
        ],
        [
            "acme-ca-bundle",
            None,
            None,
            "Trust the CA certificates in this PEM file (only) for the ACME "
            "server's HTTPS, e.g. a test ACME server's own CA.",
        ],
        [
            "acme-challenge",
            None,
            "tls-alpn-01",
            "The ACME challenge: tls-alpn-01 (on the ssl: port) or http-01 "
            "(on the tcp: ports; the ACME server connects to port 80).",
        ],
        [
            "access-log",
            None,
            None,
            "Write a line per request to this file, or to the server's own log "
            "with '-'. Default: no access log.",
        ],
        [
            "access-log-format",
            None,
            "combined",
            "The access log's lines: combined (Apache's combined format) or "
            "json (one JSON object per request: operation, bucket, key, "
            "status, bytes, duration, request id, access key, remote address).",
        ],
        [
            "metrics-token",
            None,
            None,
            "The bearer token Prometheus must present to read /_txs3/metrics. "
            "Default: the token in DATA/metrics-token (made on first start).",
        ],
        [
            "max-connections",
            None,
            str(limits.DEFAULT_MAX_CONNECTIONS),
            "Open connections at most, over all ports; at the cap the longest "
            "idle one is closed for a new one. Needs as many file descriptors "
            "(LimitNOFILE, ulimit -n) plus some.",
        ],
        [
            "header-timeout",
            None,
            f"{limits.DEFAULT_HEADER_TIMEOUT:g}",
            "Seconds a client has to send a whole request head (slow clients "
            "are closed; 400 RequestTimeout).",
        ],
        [
            "min-upload-rate",
            None,
            str(limits.DEFAULT_MIN_UPLOAD_RATE),
            "Bytes per second (or with K/M) an upload must average over "
            f"{limits.DEFAULT_RATE_WINDOW:g} seconds, after its first "
            f"{limits.DEFAULT_RATE_WINDOW:g}; slower ones get 400 RequestTimeout. "
            "0: no floor.",
        ],
        [
            "lifecycle-interval",
            None,
            "3600",
            "Seconds between two lifecycle passes (buckets' lifecycle rules "
            "applied: expirations, aborted uploads). One process sharing the "
            "data directory runs each pass.",
        ],
        [
            "lifecycle-day-seconds",
            None,
            str(DAY),
            "A testing aid: how many seconds a lifecycle rule's day lasts "
            "(AWS's 86400, with expiry dates rounded to midnight UTC; any other "
            "value counts days of this length, unrounded). Never change it for "
            "real data.",
        ],
        [
            "default-object-ownership",
            None,
            "ObjectWriter",
            "The Object Ownership of a bucket created without "
            "x-amz-object-ownership: ObjectWriter (ACLs enabled, the classic "
            "S3 rule), BucketOwnerPreferred, or BucketOwnerEnforced (ACLs "
            "disabled, AWS's default since 2023).",
        ],
    ]

    optFlags = [
        [
            "block-public-access",
            None,
            "Give new buckets every Block Public Access setting (AWS's default "
            "since 2023): no public ACL or policy until the owner removes it.",
        ],
        [
            "acme-staging",
            None,
            "Use Let's Encrypt's staging server (untrusted certificates, high "
            "rate limits): try --acme with it first.",
        ],
        [
            "metrics-public",
            None,
            "Serve /_txs3/metrics to anyone, without a token.",
        ],
    ]

    def __init__(self) -> None:
        super().__init__()
        # opt_* docstrings span lines; --help should show them as one paragraph.
        self.docs = {k: " ".join(v.split()) if v else v for k, v in self.docs.items()}
        self["port"] = []
        self["domain"] = []
        self["acme"] = []

    def opt_port(self, description: str) -> None:
        """
        A Twisted server endpoint to listen on, e.g. ssl:8443,
        tcp:8080:interface=127.0.0.1, ssl:443:privateKey=key.pem:certKey=cert.pem
        or systemd:domain=INET:index=0. Repeatable. Default: ssl:443.
        """
        if not description.strip():
            raise usage.UsageError("--port needs an endpoint, e.g. ssl:8443")
        self["port"].append(description)

    opt_p = opt_port

    def opt_domain(self, name: str) -> None:
        """
        Serve virtual-host style requests (BUCKET.NAME) for this domain.
        Repeatable.
        """
        domain = name.strip().rstrip(".").lower()
        labels = domain.split(".")
        if not domain or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
            raise usage.UsageError(f"--domain {name!r} is not a valid domain name")
        if domain not in self["domain"]:
            self["domain"].append(domain)

    def opt_acme(self, name: str) -> None:
        """
        Get and renew the certificate of the ssl: ports that name no
        certificate files for this DNS name, from Let's Encrypt (see
        --acme-directory) with the TLS-ALPN-01 challenge on the TLS port.
        Repeatable: one certificate names them all.
        """
        domain = name.strip().rstrip(".").lower()
        labels = domain.split(".")
        if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(x) for x in labels):
            raise usage.UsageError(f"--acme {name!r} is not a fully qualified DNS name")
        if domain not in self["acme"]:
            self["acme"].append(domain)

    def _acme_options(self) -> None:
        """Check the --acme-* options, and pick the directory."""
        directory = self["acme-directory"]
        if self["acme-staging"]:
            if directory is not None:
                raise usage.UsageError(
                    "--acme-staging and --acme-directory name two ACME servers: "
                    "give one"
                )
            directory = LETSENCRYPT_STAGING
        if directory is None:
            directory = LETSENCRYPT
        if not directory.startswith("https://"):
            raise usage.UsageError(
                f"--acme-directory {directory!r} must be an https:// URL"
            )
        self["acme-directory"] = directory
        if self["acme-challenge"] not in ("tls-alpn-01", "http-01"):
            raise usage.UsageError(
                f"--acme-challenge {self['acme-challenge']!r} must be tls-alpn-01 "
                "or http-01"
            )
        email = self["acme-email"]
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise usage.UsageError(f"--acme-email {email!r} is not an e-mail address")
        if self["acme-ca-bundle"] is not None:
            self["acme-ca-bundle"] = os.path.abspath(self["acme-ca-bundle"])
        if not self["acme"] and (
            self["acme-email"] or self["acme-staging"] or self["acme-ca-bundle"]
        ):
            raise usage.UsageError("--acme-* options need --acme DOMAIN")

    def _ops_options(self) -> None:
        """Check the access log format and the metrics token options."""
        if self["access-log-format"] not in ("combined", "json"):
            raise usage.UsageError(
                f"--access-log-format {self['access-log-format']!r} must be "
                "combined or json"
            )
        if self["access-log-format"] == "json" and self["access-log"] is None:
            raise usage.UsageError(
                "--access-log-format json needs --access-log FILE (or - for the "
                "server's log)"
            )
        token = self["metrics-token"]
        if token is not None and self["metrics-public"]:
            raise usage.UsageError(
                "--metrics-token and --metrics-public contradict each other: give one"
            )
        # The token travels in an Authorization header: visible ASCII only.
        if token is not None and not re.fullmatch(r"[!-~]{16,}", token):
            raise usage.UsageError(
                "--metrics-token must be at least 16 visible ASCII characters, "
                "without spaces"
            )

    def postOptions(self) -> None:
        """
        Check option values and make paths absolute: twistd changes to its
        --rundir after L{makeService}.

        @raise usage.UsageError: for a bad value.
        """
        if not self["port"]:
            self["port"] = [DEFAULT_PORT]
        if not _REGION.fullmatch(self["region"]):
            raise usage.UsageError(
                f"--region {self['region']!r} must be 1-63 of A-Z a-z 0-9 _ -, "
                "e.g. us-east-1"
            )
        for name in ("data", "certs"):
            if not self[name]:
                raise usage.UsageError(f"--{name} needs a directory")
            self[name] = os.path.abspath(self[name])
        if self["credentials"] is not None:
            self["credentials"] = os.path.abspath(self["credentials"])
        self._acme_options()
        ownership = self["default-object-ownership"]
        if ownership not in OWNERSHIPS:
            raise usage.UsageError(
                f"--default-object-ownership {ownership!r} must be one of "
                + ", ".join(OWNERSHIPS)
            )
        self["new-buckets"] = NewBuckets(ownership, bool(self["block-public-access"]))
        self["lifecycle-interval"] = _positive_seconds(
            "lifecycle-interval", self["lifecycle-interval"]
        )
        self["lifecycle-days"] = Days(
            _positive_seconds("lifecycle-day-seconds", self["lifecycle-day-seconds"])
        )
        self._ops_options()
        try:
            self["tls-policy"] = tlsendpoint.TLSPolicy(
                self["tls-ciphers"], self["tls-min-version"]
            )
            self["limits"] = limits.Limits(
                max_connections=limits.parse_max_connections(self["max-connections"]),
                header_timeout=limits.parse_header_timeout(self["header-timeout"]),
                min_upload_rate=limits.parse_min_upload_rate(self["min-upload-rate"]),
            )
        except ValueError as e:
            raise usage.UsageError(str(e)) from None

    def parseOptions(self, options: Sequence[str] | None = None) -> None:
        """
        Parse C{options} (default: C{sys.argv[1:]}).

        @raise SystemExit: C{"txs3: <problem>"} instead of L{usage.UsageError},
            so twistd and twist print one line on stderr and exit non-zero.
        """
        try:
            super().parseOptions(options)
        except usage.UsageError as e:
            raise SystemExit(f"txs3: {e} (see --help)") from None


def _positive_seconds(name: str, value: str | float) -> float:
    """
    A positive number of seconds given to C{--name}.

    @raise usage.UsageError: for anything else.
    """
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise usage.UsageError(
            f"--{name} {value!r} must be a positive number of seconds"
        )
    return seconds
