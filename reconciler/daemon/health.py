"""The daemon's HTTP endpoint (`daemon start --metrics-addr HOST:PORT`): /metrics, /healthz, /readyz.

- /healthz (liveness): the process answers and its loop iterates. The loop wakes at least once a
  minute (daemon.MAX_SLEEP), so an iteration older than `stall_after` (180 s) means it is stuck.
- /readyz (readiness): state.json can be read, state.lock can be taken within `lock_timeout` (1 s),
  and the loop iterates.
Both answer `{"status": "ok"|"failing", "checks": {name: {"status": ..., ...}}}`, 200 or 503.
`sbsched daemon status` fetches the same two documents (`probe`).

The server is a small `ThreadingHTTPServer` on its own daemon thread; the metrics come from the
daemon's own CollectorRegistry. The address is loopback unless the user names another host: an empty
host (`:9090`) or a bare port means 127.0.0.1, and port 0 takes any free port (the bound address is
written into daemon.pid for `daemon status` and scripts).
"""
from __future__ import annotations

import json
import os
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..base.clock import Clock
from ..base.errors import SbschedError, UsageError
from ..store.state import StateStore

if TYPE_CHECKING:
    from .metrics import Metrics

STALL_AFTER = 180.0       # seconds without a loop iteration before the loop counts as stalled
LOCK_TIMEOUT = 1.0        # how long /readyz waits for state.lock
LOOPBACK = "127.0.0.1"
OK, FAILING = "ok", "failing"


# -- the address -----------------------------------------------------------------------------------
def parse_addr(text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT, :PORT or PORT (the last two on 127.0.0.1); UsageError otherwise."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = LOOPBACK, text.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise UsageError(f"--metrics-addr {text!r}: write an IPv6 address in brackets, e.g. [::1]:9090")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(f"--metrics-addr {text!r}: expected HOST:PORT with a port from 0 to 65535",
                         hint="e.g. --metrics-addr 127.0.0.1:9090 (0 takes a free port)")
    return host or LOOPBACK, int(port)


def format_addr(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# -- the checks ------------------------------------------------------------------------------------
@dataclass
class Health:
    """What /healthz and /readyz report. `last_tick` is the daemon's latest loop iteration (None: no
    loop to ask, as in `daemon status` without an endpoint: the loop check is left out). `read_state`
    is the readability probe, replaceable in tests to inject a fault."""

    store: StateStore
    clock: Clock
    last_tick: Callable[[], datetime] | None = None
    stall_after: float = STALL_AFTER
    lock_timeout: float = LOCK_TIMEOUT
    read_state: Callable[[Path], None] | None = None

    def live(self) -> dict[str, Any]:
        checks = {"process": {"status": OK, "pid": os.getpid()}}
        return _report(self._with_loop(checks))

    def ready(self) -> dict[str, Any]:
        return _report(self._with_loop({"state": self._state(), "lock": self._lock()}))

    def _with_loop(self, checks: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if self.last_tick is not None:
            age = (self.clock.now() - self.last_tick()).total_seconds()
            checks["loop"] = {"status": OK if age <= self.stall_after else FAILING,
                              "lastIterationAgeSeconds": round(age, 3), "limitSeconds": self.stall_after}
        return checks

    def _state(self) -> dict[str, Any]:
        try:
            (self.read_state or _read_bytes)(self.store.path)
        except (OSError, SbschedError) as exc:
            return {"status": FAILING, "path": str(self.store.path), "error": _message(exc)}
        return {"status": OK, "path": str(self.store.path)}

    def _lock(self) -> dict[str, Any]:
        try:
            with self.store.locked(timeout=self.lock_timeout, command="sbsched daemon (readyz)", now=self.clock.now()):
                pass
        except (OSError, SbschedError) as exc:
            return {"status": FAILING, "path": str(self.store.lock_path), "error": _message(exc)}
        return {"status": OK, "path": str(self.store.lock_path)}


def _read_bytes(path: Path) -> None:
    """Read state.json through (not parse it: the loop does that when it changes). None yet is fine."""
    try:
        with open(path, "rb") as handle:
            while handle.read(1024 * 1024):
                pass
    except FileNotFoundError:
        pass


def _message(exc: BaseException) -> str:
    if isinstance(exc, SbschedError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {exc}"


def _report(checks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    status = OK if all(c["status"] == OK for c in checks.values()) else FAILING
    return {"status": status, "checks": checks}


# -- the server ------------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    metrics: Metrics
    health: Health


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "sbsched"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            from prometheus_client.exposition import choose_encoder

            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._send(200, content_type, encoder(self.server.metrics.registry))
        elif path in ("/healthz", "/readyz"):
            report = self.server.health.live() if path == "/healthz" else self.server.health.ready()
            self._send(200 if report["status"] == OK else 503, "application/json",
                       (json.dumps(report, indent=2) + "\n").encode())
        elif path == "/":
            self._send(200, "text/plain; charset=utf-8", b"sbsched daemon: /metrics /healthz /readyz\n")
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found: try /metrics, /healthz or /readyz\n")

    def _send(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        """Scrapes are not events worth a log line."""


class MetricsServer:
    """/metrics, /healthz and /readyz on `address`, served from a daemon thread until `close()`."""

    def __init__(self, address: tuple[str, int], metrics: Metrics, health: Health) -> None:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        server_class = type("_BoundServer", (_Server,), {"address_family": family})
        try:
            self.httpd: _Server = server_class(address, _Handler)
        except OSError as exc:
            raise SbschedError(f"cannot serve metrics on {format_addr(*address)}: {exc.strerror or exc}",
                               hint="choose another --metrics-addr (port 0 takes a free one)") from None
        self.httpd.metrics, self.httpd.health = metrics, health
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="sbsched-metrics", daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return format_addr(str(host), int(port))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


# -- the client (daemon status) ---------------------------------------------------------------------
def base_url(address: str) -> str:
    """The URL to reach a daemon bound to `address` from this host (a wildcard bind is reached on loopback)."""
    host, port = parse_addr(address)
    host = {"0.0.0.0": LOOPBACK, "::": "::1"}.get(host, host)
    return f"http://{format_addr(host, port)}"


def probe(address: str, *, timeout: float = 5.0) -> dict[str, Any]:
    """{healthz, readyz} as the daemon at `address` reports them; a check `endpoint` failing when it
    cannot be reached. Never through a proxy: the endpoint is on this host."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    reports: dict[str, Any] = {}
    for name in ("healthz", "readyz"):
        url = f"{base_url(address)}/{name}"
        try:
            with opener.open(url, timeout=timeout) as response:
                reports[name] = json.loads(response.read())
        except urllib.error.HTTPError as exc:  # 503 carries the report too
            try:
                reports[name] = json.loads(exc.read())
            except ValueError:
                reports[name] = _report({"endpoint": {"status": FAILING, "url": url, "error": f"HTTP {exc.code}"}})
        except (OSError, ValueError) as exc:
            reports[name] = _report({"endpoint": {"status": FAILING, "url": url, "error": _message(exc)}})
    return reports
