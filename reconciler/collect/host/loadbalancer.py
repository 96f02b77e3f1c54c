"""httpLoadBalancer: serve HTTP on `port` and POST a random token to `address` (the load balancer's
URL) until our own server answers with its token (troubleshoot pkg/collect/host_httploadbalancer.go),
written as NetworkStatusResult {status, message} to host-collectors/httpLoadBalancer/<name>.json.

An address that is not an http(s) URL fails at once (troubleshoot retries it until its timeout).
As in troubleshoot, a refused connection ends at once; a timeout or any other failure (another
server answering, a proxy error) is tried again a second later until `timeout`; a listen failure
ends with address-in-use, bind-permission-denied or error, and the collector then fails.
"""
from __future__ import annotations

import errno
import http.server
import os
import threading
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from .. import CollectContext, CollectorSpec
from .goerr import syscall_text
from .limits import Deadline, duration_param, stop_if_cancelled
from .network import ADDRESS_IN_USE, CONNECTED, OTHER, REFUSED, TIMEOUT
from .proxy import environment_proxy
from ..params import bundle_path, collector_name, integer, text

PERMISSION_DENIED = "bind-permission-denied"
_POST_SECONDS = 0.1   # troubleshoot's per-attempt budget


def http_load_balancer(spec: CollectorSpec, ctx: CollectContext) -> None:
    port = integer(spec.params, "port")
    if not 0 < port < 65536:
        raise ValueError(f"httpLoadBalancer needs a port from 1 to 65535, not {port}")
    address = text(spec.params, "address")
    seconds, _ = duration_param(spec.params)   # troubleshoot's default, 60m, is past any collector timeout
    relative = bundle_path("host-collectors/httpLoadBalancer", collector_name(spec, "httpLoadBalancer") + ".json")
    if urlsplit(address).scheme not in ("http", "https"):
        message = f"address {address!r} is not an http:// or https:// URL"
        ctx.output.write_json(relative, {"status": OTHER, "message": message})
        raise ValueError(message)
    status, message = check(("0.0.0.0", port), address, Deadline(ctx, seconds), ctx)
    stop_if_cancelled(ctx)
    ctx.output.write_json(relative, {"status": status, "message": message})
    if message:   # only a listen failure is an error of the collector, as in troubleshoot
        raise RuntimeError(f"failed to listen on HTTP port: {message}")


def check(listen: tuple[str, int], address: str, deadline: Deadline, ctx: CollectContext) -> tuple[str, str]:
    request, response = os.urandom(20), os.urandom(20)
    try:
        server = http.server.ThreadingHTTPServer(listen, _handler(request, response))
    except OSError as exc:
        status = {errno.EADDRINUSE: ADDRESS_IN_USE, errno.EACCES: PERMISSION_DENIED}.get(exc.errno or 0, OTHER)
        return status, f"listen tcp {listen[0]}:{listen[1]}: bind: {syscall_text(exc)}"
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    serving.start()
    try:
        status = TIMEOUT
        while not deadline.expired():
            status = _post(address, request, response, ctx)
            if status not in (OTHER, TIMEOUT):
                break
            deadline.wait(1.0)
        return status, ""
    finally:
        server.shutdown()
        server.server_close()


def _handler(request: bytes, response: bytes) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        """Answers only a POST that brings our request token; anything else gets an empty 200."""

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answer = response if body == request else b""
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: the collector's result is the record."""
    return Handler


def _post(address: str, request: bytes, response: bytes, ctx: CollectContext) -> str:
    proxy = environment_proxy(address, ctx.env)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy, "https": proxy} if proxy else {}))
    try:
        with opener.open(urllib.request.Request(address, data=request, method="POST"), timeout=_POST_SECONDS) as got:
            return CONNECTED if got.read() == response else OTHER
    except urllib.error.URLError as exc:
        reason = exc.reason if isinstance(exc.reason, OSError) else None
        if isinstance(reason, ConnectionRefusedError):
            return REFUSED
        return TIMEOUT if isinstance(reason, TimeoutError) else OTHER
    except ConnectionRefusedError:
        return REFUSED
    except TimeoutError:
        return TIMEOUT
    except (OSError, ValueError):
        return OTHER
