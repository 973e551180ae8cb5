"""
The running service of C{twistd txs3}: binding the ports, opening the
store and serving (L{TXS3Service}), and how its start-up failures reach the
operator as one line (L{StartupError}).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import (
    IAddress,
    ILoggingContext,
    IProtocolFactory,
    IProtocolNegotiationFactory,
    IStreamServerEndpoint,
)
from twisted.internet.protocol import Protocol
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import implementer

from txs3 import limits

if TYPE_CHECKING:
    from twisted.web.server import Site

    from txs3.access import NewBuckets
    from txs3.auth.directory import Directory
    from txs3.auth.types import Secret
    from txs3.background.lifecycle import LifecyclePass
    from txs3.keysource import KeySource
    from txs3.lifecycle.evaluate import Days
    from txs3.opsauth import MetricsAccess
    from txs3.store.interface import IObjectStore
    from txs3.tlsendpoint import ReplaceableTLS

log = Logger()

#: Seconds between two looks at the index's users and the credentials file.
KEY_POLL_SECONDS = 1.0


def _on_sighup(reactor: Any, reload: Callable[[], None]) -> None:
    """Run C{reload} in the reactor on SIGHUP (main thread only, POSIX)."""
    if threading.current_thread() is not threading.main_thread():
        return
    if not hasattr(signal, "SIGHUP"):
        return
    signal.signal(signal.SIGHUP, lambda *_: reactor.callFromThread(reload))


class StartupError(Exception):
    """
    The service cannot start.  The message is one line for the operator.
    """


def _print_startup_error(
    previous: Callable[[type[BaseException], BaseException, TracebackType | None], Any],
) -> Callable[[type[BaseException], BaseException, TracebackType | None], None]:
    """
    An C{excepthook} that prints a L{StartupError} reaching the top of the
    process as one line on the real stderr (twistd has redirected
    C{sys.stderr} into its log by then) and hands anything else to
    C{previous}.
    """

    def hook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if isinstance(value, StartupError):
            stream = sys.__stderr__
            if stream is not None:
                stream.write(f"txs3: {value}\n")
                stream.flush()
        else:
            previous(kind, value, tb)

    return hook


def _startup_failed(message: str) -> NoReturn:
    """Log C{message}, arrange for it to be printed as one line, and raise."""
    # error, not critical: before logging begins (under `twist`) Twisted
    # copies critical events to stderr, which would print the line twice.
    log.error("txs3 cannot start: {message}", message=message)
    sys.excepthook = _print_startup_error(sys.excepthook)
    raise StartupError(message)


def describe_listen_error(description: str, error: CannotListenError) -> str:
    """
    One line saying why C{description} could not listen, and what to do.
    """
    port = error.port
    where = f"port {port}" + (f" on {error.interface}" if error.interface else "")
    cause = error.socketError
    code = cause.errno if isinstance(cause, OSError) else None
    if code == errno.EACCES:
        python = os.path.realpath(sys.executable)
        return (
            f"port {port} needs root or CAP_NET_BIND_SERVICE; run as root, "
            f"`setcap cap_net_bind_service=+ep {python}`, or use --port ssl:8443"
        )
    if code == errno.EADDRINUSE:
        return f"{where} is already in use (is another server running?)"
    if code == errno.EADDRNOTAVAIL:
        return f"cannot listen on {where}: no such local address"
    reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else cause
    return f"cannot listen on {where} ({description}): {reason}"


def open_store(data: Path, reactor: Any) -> IObjectStore:
    """
    Open the default store (SQLite index + blob files) in C{data}, sweeping
    leftovers of interrupted writes now and then every ten minutes while it
    is open (so a crash and a quick restart do not keep orphans until the
    next restart).

    Imported here, not at module level: C{twistd txs3 --help} imports this
    module and needs neither SQLite nor the store.
    """
    from txs3.store.sqlite import SQLiteStore

    sqlite = SQLiteStore.open(str(data), reactor)
    sqlite.start_sweeping()
    store: IObjectStore = sqlite
    return store


@implementer(IProtocolFactory, IProtocolNegotiationFactory, ILoggingContext)
class _SiteSlot:
    """
    The factory every port listens with, standing in for the site until it
    exists, then passing everything to it.

    Ports bind first (in L{TXS3Service.privilegedStartService}, as root if
    twistd runs as root); the store is opened after that, once privileges
    are shed and only when every port is bound, so a port that cannot bind
    leaves no store threads behind to keep the process from exiting.  The
    reactor is not running in between: no connection can arrive before
    L{ready}; one that did anyway would be refused.

    It passes on the site's ALPN protocols too: Twisted's TLS layer asks the
    factory it wraps, and refuses the handshake of a client that offers ALPN
    (curl, browsers) when the factory names none.
    """

    def __init__(self) -> None:
        self.site: Site | None = None
        self._starts = 0

    def ready(self, site: Site) -> None:
        """Serve with C{site} from now on, starting it once per bound port."""
        self.site = site
        for _ in range(self._starts):
            site.doStart()

    def doStart(self) -> None:
        self._starts += 1
        if self.site is not None:
            self.site.doStart()

    def doStop(self) -> None:
        self._starts -= 1
        if self.site is not None:
            self.site.doStop()

    def buildProtocol(self, addr: IAddress) -> Protocol | None:
        if self.site is None:
            return None
        protocol: Protocol | None = self.site.buildProtocol(addr)
        return protocol

    def acceptableProtocols(self) -> list[bytes]:
        if self.site is None:
            return [b"http/1.1"]
        protocols: list[bytes] = self.site.acceptableProtocols()
        return protocols

    def logPrefix(self) -> str:
        return "txs3"


class TXS3Service(MultiService):
    """
    The running server: one listening service per endpoint, the store, and
    the site over it.

    Start order: bind every port (L{privilegedStartService}, or the start of
    L{startService} under C{twist}), then open the store (which sweeps
    leftovers of interrupted writes) and build the site.  The store is
    opened in L{startService} because that runs after twistd has
    daemonized (a SQLite connection or thread pool must not cross a fork)
    and shed privileges (files it creates belong to the --uid user).  Stop
    order: stop listening, then close the store.

    @ivar store: the open store, or None before start and after stop.
    """

    def __init__(
        self,
        *,
        data: Path,
        endpoints: Sequence[tuple[str, IStreamServerEndpoint]],
        lookup: Callable[[str], Secret | None],
        domains: Sequence[str],
        region: str,
        reactor: Any,
        open_store: Callable[[Path, Any], IObjectStore] = open_store,
        access_log: str | None = None,
        access_log_format: str = "combined",
        metrics_access: MetricsAccess | None = None,
        limits: limits.Limits | None = None,
        acme: Service | None = None,
        wrap_factory: Callable[[str, IProtocolFactory], IProtocolFactory] | None = None,
        directory: Directory | None = None,
        new_buckets: NewBuckets | None = None,
        lifecycle_interval: float = 3600.0,
        lifecycle_days: Days | None = None,
        keys: KeySource | None = None,
        tls_ports: Sequence[ReplaceableTLS] = (),
    ) -> None:
        """
        @param endpoints: C{(--port string as given, parsed endpoint)} pairs;
            the string names the port in error messages.
        @param access_log, access_log_format, limits, metrics_access: see
            L{txs3.server.S3Site}.
        @param acme: the service that keeps the ports' certificate
            (L{txs3.acme.service.AcmeService}), started once the site
            serves and stopped first.
        @param wrap_factory: given a --port string and the site's factory,
            the factory that port listens with (ACME's HTTP-01 responder
            wraps the C{tcp:} ones).
        @param directory, new_buckets: see L{txs3.call.S3Config}.
        @param lifecycle_interval: seconds between lifecycle passes
            (L{txs3.background.lifecycle}), started once the store is open.
        @param lifecycle_days: how long a lifecycle day is (AWS's by
            default; shorter only for tests).
        @param keys: the live key map behind C{lookup} and C{directory}:
            polled every second while serving (C{txs3-admin} changes, an
            edited credentials file), and reloaded on SIGHUP.
        @param tls_ports: the C{ssl:} ports whose certificate and key files
            are read again on SIGHUP and C{txs3-admin reload}.
        """
        super().__init__()
        self._limits = limits
        self.acme = acme
        self._data = data
        self._lookup = lookup
        self._directory = directory
        self._new_buckets = new_buckets
        self._keys = keys
        self._tls_ports = tuple(tls_ports)
        self._key_poll: LoopingCall | None = None
        self._domains = tuple(domains)
        self._region = region
        self._access_log = access_log
        self._access_log_format = access_log_format
        self._metrics_access = metrics_access
        self._reactor = reactor
        self._open_store = open_store
        self._lifecycle_interval = lifecycle_interval
        self._lifecycle_days = lifecycle_days
        self._slot = _SiteSlot()
        self.store: IObjectStore | None = None
        self.lifecycle: LifecyclePass | None = None
        for description, endpoint in endpoints:
            factory: IProtocolFactory = self._slot
            if wrap_factory is not None:
                factory = wrap_factory(description, factory)
            listener = StreamServerEndpointService(endpoint, factory)
            # Raise a bind failure to us, instead of logging it and running
            # a server that listens nowhere (strports.service does the same).
            listener._raiseSynchronously = True
            listener.setName(description)
            listener.setServiceParent(self)

    @property
    def site(self) -> Site | None:
        """The site, once the store is open."""
        return self._slot.site

    def _each_listener(
        self, start: Callable[[StreamServerEndpointService], None]
    ) -> None:
        """Call C{start} on each listener, turning a bind failure into one line."""
        for listener in list(self):
            assert isinstance(listener, StreamServerEndpointService)
            try:
                start(listener)
            except CannotListenError as e:
                _startup_failed(describe_listen_error(str(listener.name), e))
            except OSError as e:
                _startup_failed(f"cannot listen on {listener.name}: {e.strerror or e}")

    def privilegedStartService(self) -> None:
        """Bind every port, with root privileges if the process has them."""
        Service.privilegedStartService(self)
        self._each_listener(lambda listener: listener.privilegedStartService())

    def startService(self) -> None:
        """
        Bind any port not bound yet (C{twist} calls only this), then open
        the store and serve.

        @raise StartupError: if a port cannot bind or the store cannot open.
        """
        Service.startService(self)
        self._each_listener(lambda listener: listener.startService())
        if self.store is not None:
            return
        try:
            store = self._open_store(self._data, self._reactor)
        except Exception as e:
            _startup_failed(f"cannot open the store in {self._data}: {e}")
        from txs3.background.lifecycle import LifecyclePass
        from txs3.server import build_site

        self.store = store
        self._slot.ready(
            build_site(
                store,
                self._lookup,
                reactor=self._reactor,
                domains=self._domains,
                region=self._region,
                access_log=self._access_log,
                access_log_format=self._access_log_format,
                limits=self._limits,
                directory=self._directory,
                new_buckets=self._new_buckets,
                lifecycle_days=self._lifecycle_days,
                metrics_access=self._metrics_access,
            )
        )
        self.lifecycle = LifecyclePass(
            store,
            self._reactor,
            interval=self._lifecycle_interval,
            days=self._lifecycle_days,
        )
        self.lifecycle.start()
        if self.acme is not None:
            self.acme.startService()
        if self._keys is not None:
            self._keys.on_reload_request = self.reload
            # The index exists now: its users and reload serial are the
            # baseline later polls compare with.
            self._keys.poll()
            self._key_poll = LoopingCall(self._keys.poll)
            self._key_poll.clock = self._reactor
            self._key_poll.start(KEY_POLL_SECONDS, now=False)
            _on_sighup(self._reactor, self.reload)

    def reload(self) -> None:
        """
        SIGHUP or C{txs3-admin reload}: read the certificate and key files
        of the C{ssl:} ports, the credentials file and the index's keys
        again.  New connections get the new certificate at once; open ones
        keep theirs.
        """
        log.info("Reloading certificates and access keys")
        for port in self._tls_ports:
            port.reload()
        if self._keys is not None:
            self._keys.reload()

    def stopService(self) -> Deferred[None]:
        """
        Stop listening and the lifecycle pass, then close the store.  Fires
        when all are done.
        """
        if self._key_poll is not None and self._key_poll.running:
            self._key_poll.stop()
        if self._keys is not None:
            self._keys.close()
        if self.acme is not None and self.acme.running:
            self.acme.stopService()
        stopped: Deferred[Any] = maybeDeferred(super().stopService)
        lifecycle, self.lifecycle = self.lifecycle, None
        if lifecycle is not None:
            passed = lifecycle.stop()
            stopped.addBoth(lambda _: passed)

        def close(_: object) -> Deferred[None] | None:
            store, self.store = self.store, None
            if store is None:
                return None
            return maybeDeferred(store.close)

        return stopped.addBoth(close)
