"""
When to order a certificate, and what to do with it.

L{AcmeService} starts with the stored certificate when it names every
domain and is not due for renewal (no order then), and orders otherwise.
An order runs in a thread (L{txs3.acme.client.order}); its result comes
back to the reactor, which stores nothing (the thread did) but swaps the
certificate of every ACME port: new handshakes get the new certificate,
open connections keep theirs.  The next order is scheduled at the renewal
time (L{txs3.acme.storage.renewal_time}).  A failed order is logged as one
line, keeps the current certificate, and is retried after C{retry_first}
seconds, doubling each time up to C{retry_max}.  Every wait is a
C{callLater} on the injected clock, so tests step it.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.threads import blockingCallFromThread
from twisted.logger import Logger
from twisted.python.failure import Failure

from txs3.acme import client
from txs3.acme.http01 import HTTP01Responder
from txs3.acme.responder import TLSALPNResponder
from txs3.acme.storage import (
    AcmeStorage,
    StoredCertificate,
    renewal_time,
    server_directory,
)
from txs3.tlsendpoint import ReplaceableTLS, TLSPolicy, certificate_options

log = Logger()

T = TypeVar("T")

# Swaps the certificate of the ACME ports to the files (chain, key) given.
Install = Callable[[Path, Path], None]
# Runs one order and fires with what it stored.
RunOrder = Callable[[], "Deferred[client.Issued]"]


class AcmeService(Service):
    """
    Keeps the ACME ports' certificate valid.

    @ivar current: the certificate being served, or None while the
        self-signed one is.
    @ivar failures: consecutive failed orders (0 after a success).
    """

    def __init__(
        self,
        *,
        domains: Sequence[str],
        storage: AcmeStorage,
        install: Install,
        clock: IReactorTime,
        run_order: RunOrder,
        retry_first: float = 60.0,
        retry_max: float = 86400.0,
    ) -> None:
        self.domains = tuple(domains)
        self._storage = storage
        self._install = install
        self._clock = clock
        self._run_order = run_order
        self._retry_first = retry_first
        self._retry_max = retry_max
        self._call: IDelayedCall | None = None
        self._running_order: Deferred[client.Issued] | None = None
        self.current: StoredCertificate | None = None
        self.failures = 0

    def _now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self._clock.seconds(), datetime.UTC)

    def startService(self) -> None:
        """Serve the stored certificate if it fits, and schedule the next order."""
        super().startService()
        stored = self._storage.read_certificate()
        if (
            stored is not None
            and stored.covers(frozenset(self.domains))
            and stored.not_after > self._now()
            and self._serve_stored(stored)
        ):
            log.info(
                "ACME: serving the stored certificate for {domains}, valid "
                "until {until}",
                domains=", ".join(sorted(stored.names)),
                until=stored.not_after.isoformat(timespec="seconds"),
            )
            self._schedule_renewal(stored)
            return
        log.info(
            "ACME: no certificate for {domains} yet: serving the self-signed "
            "one until the first arrives",
            domains=", ".join(self.domains),
        )
        self._schedule(0)

    def stopService(self) -> None:
        """Cancel the next order (an order under way finishes in its thread)."""
        super().stopService()
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    def _serve_stored(self, stored: StoredCertificate) -> bool:
        """
        Serve C{stored}, read at start; False, logged, if it cannot be
        served (say, a crash between writing the key and the certificate
        left a pair that does not match): then a new order replaces it.
        """
        try:
            self._serve(stored)
        except Exception as e:
            log.error(
                "ACME: cannot serve the stored certificate {cert}: {reason}",
                cert=stored.cert,
                reason=str(e) or type(e).__name__,
            )
            return False
        return True

    def _serve(self, stored: StoredCertificate) -> None:
        self._install(stored.cert, stored.key)
        self.current = stored

    def _schedule(self, delay: float) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = self._clock.callLater(max(delay, 0.0), self._order)

    def _schedule_renewal(self, stored: StoredCertificate) -> None:
        when = renewal_time(stored)
        delay = (when - self._now()).total_seconds()
        log.info("ACME: renewing at {when}", when=when.isoformat(timespec="seconds"))
        self._schedule(delay)

    def _order(self) -> None:
        self._call = None
        if not self.running or self._running_order is not None:
            return
        log.info(
            "ACME: ordering a certificate for {domains}",
            domains=", ".join(self.domains),
        )
        d = self._running_order = self._run_order()
        # addCallback then addErrback: a certificate that arrives but cannot
        # be served is a failure too, logged and retried like the others.
        d.addCallback(self._ordered)
        d.addErrback(self._failed)
        d.addBoth(self._order_done)

    def _order_done(self, result: object) -> None:
        self._running_order = None

    def _ordered(self, issued: client.Issued) -> None:
        stored = self._storage.read_certificate()
        if stored is None:
            raise RuntimeError("the ACME order stored no certificate")
        self.failures = 0
        self._serve(stored)
        log.info(
            "ACME: new certificate for {domains}, valid until {until}; new "
            "connections get it",
            domains=", ".join(sorted(stored.names)),
            until=stored.not_after.isoformat(timespec="seconds"),
        )
        if self.running:
            self._schedule_renewal(stored)

    def _failed(self, failure: Failure) -> None:
        self.failures += 1
        delay = min(self._retry_first * 2 ** (self.failures - 1), self._retry_max)
        error = failure.value
        reason = str(error) or type(error).__name__
        keeping = (
            "keeping the current certificate"
            if self.current is not None
            else "still serving the self-signed certificate"
        )
        log.error(
            "ACME: could not get a certificate for {domains}: {reason}; {keeping}; "
            "retrying in {delay:.0f} s",
            domains=", ".join(self.domains),
            reason=" ".join(reason.split()),
            keeping=keeping,
            delay=delay,
        )
        if self.running:
            self._schedule(delay)


def in_daemon_thread(
    reactor: Any, f: Callable[..., T], *args: Any, **kwargs: Any
) -> Deferred[T]:
    """
    Call C{f} in a new daemon thread; the result fires on the reactor.

    Not the reactor's thread pool, which shutdown waits for: an order can
    block for minutes (a slow ACME server, polling an authorization), and
    stopping txs3 must not wait for it.  Nothing is lost by abandoning one:
    files are written atomically, and the next start orders again.
    """
    d: Deferred[T] = Deferred()

    def run() -> None:
        try:
            result = f(*args, **kwargs)
        except BaseException:
            reactor.callFromThread(d.errback, Failure())
        else:
            reactor.callFromThread(d.callback, result)

    threading.Thread(target=run, name="txs3-acme", daemon=True).start()
    return d


def threaded_order(
    reactor: Any,
    *,
    directory_url: str,
    storage: AcmeStorage,
    domains: Sequence[str],
    email: str | None,
    ca_bundle: Path | None,
    responder: TLSALPNResponder,
    http01: HTTP01Responder | None = None,
) -> RunOrder:
    """
    A L{RunOrder} that runs L{client.order} in a thread (L{in_daemon_thread});
    the client thread hands each challenge to C{responder} on the reactor
    thread and waits until it is in place (C{blockingCallFromThread}), and
    withdraws it with C{callFromThread}.
    """

    def publish(domain: str, cert: Any, key: Any) -> None:
        blockingCallFromThread(reactor, responder.add, domain, cert, key)

    def withdraw(domain: str) -> None:
        # Not waited for: nothing depends on it, and a reactor that is
        # shutting down would never answer a blocking call.
        reactor.callFromThread(responder.remove, domain)

    def publish_token(token: str, key_authorization: str) -> None:
        assert http01 is not None
        blockingCallFromThread(reactor, http01.add, token, key_authorization)

    def withdraw_token(token: str) -> None:
        assert http01 is not None
        reactor.callFromThread(http01.remove, token)

    def run() -> Deferred[client.Issued]:
        return in_daemon_thread(
            reactor,
            client.order,
            directory_url=directory_url,
            storage=storage,
            domains=domains,
            email=email,
            ca_bundle=ca_bundle,
            publish=publish,
            withdraw=withdraw,
            http01=None if http01 is None else (publish_token, withdraw_token),
        )

    return run


def acme_service(
    reactor: Any,
    *,
    data: Path,
    domains: Sequence[str],
    directory_url: str,
    email: str | None,
    ca_bundle: Path | None,
    ports: Sequence[ReplaceableTLS],
    policy: TLSPolicy,
    http01: HTTP01Responder | None = None,
) -> AcmeService:
    """
    The L{AcmeService} for C{ports}: a responder installed on each port's
    context (and each later one), orders in a daemon thread, and
    new certificates swapped into every port under C{policy}.  With
    C{http01}, orders answer HTTP-01 through it instead of TLS-ALPN-01.
    """
    responder = TLSALPNResponder()
    for port in ports:
        port.add_context_hook(responder.install)
    storage = AcmeStorage(server_directory(data, directory_url))

    def install(cert: Path, key: Path) -> None:
        options = certificate_options(cert, key, policy)
        for port in ports:
            port.replace(options)

    return AcmeService(
        domains=domains,
        storage=storage,
        install=install,
        clock=reactor,
        run_order=threaded_order(
            reactor,
            directory_url=directory_url,
            storage=storage,
            domains=domains,
            email=email,
            ca_bundle=ca_bundle,
            responder=responder,
            http01=http01,
        ),
    )
