"""The HTTP sessions of uploads and webhooks: what they send goes only to the origin the user named.

requests follows redirects to any origin by default and re-sends the body and every header but
`Authorization` there: an upload answered `307` to another port gave that port the bundle and its
`X-Up` header, a webhook its `X-Hook-Key` (issue 17). A guarded session follows a redirect only when it
is a 307 or 308 (the method and body are re-sent unchanged) to the same scheme, host and port, so
https is never downgraded, at most MAX_REDIRECTS times; any other redirect is a permanent failure that
names its Location. 301, 302 and 303 are refused even to the same origin: requests re-sends the PUT or
POST as a GET without its body, and a 200 to that GET looked like a delivery.

Deadlines: requests' timeouts are per socket operation, so a server that trickles its answer a byte at
a time held an upload for as long as it liked (issue 16). A `Watchdog` bounds the whole exchange:
every connection a watched session opens is handed to it, and at the deadline it shuts those sockets
down, so the blocked read returns at once. SOCKS proxies (urllib3's own connection classes) are not
watched; their exchanges are bounded by the per-read timeouts only.
"""
from __future__ import annotations

import contextvars
import socket
import threading
import time
from types import TracebackType
from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .retry import UploadError

MAX_REDIRECTS = 5
FOLLOWED = frozenset({307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in; an unparseable port never matches."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def guard(session: requests.Session, *, what: str, show: Callable[[str], str],
          watchdog: Watchdog | None = None) -> requests.Session:
    """`session`, changed in place: it follows only same-origin 307/308 redirects, and with a `watchdog`
    every connection it opens ends at the watchdog's deadline. `what` starts the error message (e.g.
    `PUT <url>`); `show` renders the Location as messages may show it."""
    session.max_redirects = MAX_REDIRECTS
    if watchdog is not None:
        adapter = _WatchedAdapter(watchdog)
        session.mount("http://", adapter)
        session.mount("https://", adapter)

    def check(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        if not response.is_redirect:
            return response
        target = urljoin(response.url, response.headers["Location"])
        if response.status_code in FOLLOWED and origin(target) == origin(response.url):
            return response
        response.close()
        raise UploadError(f"{what}: HTTP {response.status_code} redirect to {show(target)} refused: only a 307 or "
                          "308 redirect to the same scheme, host and port is followed", transient=False)

    session.hooks["response"].append(check)
    return session


class Watchdog:
    """Ends an exchange at `deadline` (a `time.monotonic()` time; None: never) by shutting down the
    sockets adopted while it watches. Use as a context manager around the whole exchange, the reading
    of the answer included; `error(what)` is the failure to report when it had to step in."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._began = time.monotonic()

    def __enter__(self) -> Watchdog:
        if self.deadline is not None:
            self._thread = threading.Thread(target=self._watch, name="sbsched-exchange-deadline", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def adopt(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.fired:
                _shut(sock)

    def error(self, what: str) -> UploadError | None:
        """The failure to report when the watchdog ended the exchange (transient: a slow server may
        recover, and the retry loop knows whether a deadline of its own has passed), else None."""
        if not self.fired:
            return None
        seconds = (self.deadline or self._began) - self._began
        return UploadError(f"{what}: no complete answer within {seconds:.1f}s", transient=True)

    def _watch(self) -> None:
        assert self.deadline is not None
        if self._done.wait(max(0.0, self.deadline - time.monotonic())):
            return
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Shut the TCP socket down (not close: the fd stays valid for the thread blocked on it, which then
    reads an end of file). socket.socket's own method, so that an SSLSocket's TLS state is left alone."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass   # already closed by its owner


_WATCHING: contextvars.ContextVar[Watchdog | None] = contextvars.ContextVar("sbsched_watchdog", default=None)


class _Adopted:
    """Hands each new TCP connection (before TLS, proxy tunnels or the request) to the watchdog of the
    exchange sending it: requests is synchronous, so that is the one set in this thread's context."""

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        watchdog = _WATCHING.get()
        if watchdog is not None:
            watchdog.adopt(sock)
        return sock


class _HTTPConnection(_Adopted, HTTPConnection):
    pass


class _HTTPSConnection(_Adopted, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter with urllib3 pools whose connections the adapter's watchdog can end."""

    def __init__(self, watchdog: Watchdog) -> None:
        self.watchdog = watchdog
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        token = _WATCHING.set(self.watchdog)
        try:
            return super().send(request, *args, **kwargs)
        finally:
            _WATCHING.reset(token)
