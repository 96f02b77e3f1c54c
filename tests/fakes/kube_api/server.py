"""The fake cluster on HTTP: a stdlib ThreadingHTTPServer on loopback speaking HTTP/1.1 with keep-alive,
as the real `kubernetes` client's connection pool expects, plus the WebSocket upgrade for exec.

Also what a test sets about the transport itself: a fixed latency on every request, slower paths, and
the log of requests received."""
from __future__ import annotations

import json
import socket
import socketserver
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from .bundle import Bundle, extract, find_root, load
from .cluster import ExecCall, FakeCluster, Reply, Request, json_reply
from .errors import ApiError, bad_request, too_many_requests
from .websocket import (CHANNEL_PROTOCOL, ERROR, STDERR, STDOUT, accept_key, await_close, exit_status,
                        send_channels)

# Delays wait on this Event, which nothing sets (a wait that reads as one, not a sleep).
_NEVER = threading.Event()


class RecordedRequest(NamedTuple):
    method: str
    path: str
    query: dict[str, list[str]]   # as urllib.parse.parse_qs gives it: every value of a repeated key


class Received(NamedTuple):
    """A request with when it arrived (time.monotonic()) and whether it was answered 429."""
    at: float
    throttled: bool
    request: RecordedRequest
    authorization: str = ""   # the Authorization header sent (the server checks no credentials)


class FakeKubeApi(FakeCluster):
    """A Kubernetes API server serving a support bundle's cluster on 127.0.0.1 (see the package doc).

    `start()` returns once the port listens; `url` is then the server's address; `stop()` hangs up
    every connection and ends it (for good when made from an archive: the extracted copy is removed).
    Safe to use from many threads."""

    def __init__(self, bundle: Bundle, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._extracted: tempfile.TemporaryDirectory[str] | None = None
        self._in_flight = 0   # not reset: a request of the test before may still be served
        super().__init__(bundle)

    @classmethod
    def from_archive(cls, archive: Path, *, host: str = "127.0.0.1", port: int = 0) -> FakeKubeApi:
        """Serve a bundle archive (`.tar.gz`), extracted to a temporary directory until `stop()`."""
        extracted = tempfile.TemporaryDirectory(prefix="fake-kube-api-")
        api = cls(load(extract(archive, Path(extracted.name))), host=host, port=port)
        api._extracted = extracted
        return api

    @classmethod
    def from_directory(cls, directory: Path, *, host: str = "127.0.0.1", port: int = 0) -> FakeKubeApi:
        """Serve an extracted bundle: the directory holding `cluster-resources/`, or its parent."""
        return cls(load(find_root(directory)), host=host, port=port)

    def reset(self) -> None:
        """Also: no latency, no slow paths, an empty request log, no limit on requests in flight."""
        super().reset()
        with self._lock:
            self.latency = 0.0
            self.max_in_flight: int | None = None   # more at once are answered 429, as API Priority and
            self.retry_after = 1                    # Fairness answers them, with Retry-After: this
            self._slow: dict[str, float] = {}
            self._requests: list[RecordedRequest] = []
            self._received_log: list[Received] = []

    # Lifecycle.

    def start(self) -> FakeKubeApi:
        if self._httpd is not None:
            raise RuntimeError("the fake API server is already started")
        self._httpd = _HttpServer(self._address, self)  # bound and listening from here on
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-kube-api {self.url}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None and self._thread is not None:
            self._httpd.shutdown()
            self._httpd.close_connections()
            self._httpd.server_close()
            self._thread.join()
            self._httpd = self._thread = None
        if self._extracted is not None:
            self._extracted.cleanup()
            self._extracted = None

    def __enter__(self) -> FakeKubeApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake API server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # The transport, per test.

    def slow(self, path_prefix: str, seconds: float) -> None:
        """Delay requests whose path starts with `path_prefix` by `seconds` more than `latency`."""
        with self._lock:
            self._slow[path_prefix] = seconds

    @property
    def requests(self) -> list[RecordedRequest]:
        """(method, path, query) of every request received since the last reset, in order."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self._requests)

    @property
    def received(self) -> list[Received]:
        """Every request since the last reset, in order, with its arrival time and whether it was throttled."""
        with self._lock:
            return list(self._received_log)

    @property
    def throttled_count(self) -> int:
        """Requests answered 429 since the last reset."""
        with self._lock:
            return sum(received.throttled for received in self._received_log)

    def _received(self, method: str, path: str, query: dict[str, list[str]],
                  authorization: str = "") -> tuple[float, bool]:
        """Log a request; the delay to impose on it (`latency` plus the slowest matching prefix's) and
        whether it is admitted (counted in flight until `_done`) or to be answered 429."""
        with self._lock:
            admitted = self.max_in_flight is None or self._in_flight < self.max_in_flight
            self._in_flight += admitted
            self._requests.append(RecordedRequest(method, path, query))
            self._received_log.append(Received(time.monotonic(), not admitted, self._requests[-1], authorization))
            return self.latency + max((seconds for prefix, seconds in self._slow.items()
                                       if path.startswith(prefix)), default=0.0), admitted

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], api: FakeKubeApi) -> None:
        self.api = api
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer's own resolves the host's FQDN: a DNS lookup a loopback server has no use for.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up the kept-alive connections, whose handler threads would otherwise wait on them."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the client

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is no error
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm the body would wait for the
    # client's delayed ACK of the headers, 40 ms a request.
    disable_nagle_algorithm = True
    server: _HttpServer

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: `requests` is the log."""

    def _serve(self) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        delay, admitted = api._received(self.command, url.path, query, self.headers.get("Authorization") or "")
        if not admitted:
            self._throttle(delay)
            return
        try:
            self._admitted(delay, url.path, query)
        finally:
            api._done()

    def _throttle(self, delay: float) -> None:
        """APF's refusal: answered at once (after the network's latency), without queueing."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if delay > 0:
            _NEVER.wait(delay)
        retry_after = self.server.api.retry_after
        self._reply(json_reply(too_many_requests(retry_after).status(), 429), {"Retry-After": str(retry_after)})

    def _admitted(self, delay: float, path: str, query: dict[str, list[str]]) -> None:
        api = self.server.api
        if delay > 0:
            _NEVER.wait(delay)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer: Reply | ExecCall
        try:
            answer = api.answer(Request(self.command, path, query, body,
                                        self.headers.get("Content-Type") or ""))
        except ApiError as error:
            answer = json_reply(error.status(), error.code)
        except Exception as error:  # a bug here or in a test's runner: answered, and shown
            traceback.print_exc()
            failure = ApiError(500, "InternalError", f"the fake API server failed: {error!r}")
            answer = json_reply(failure.status(), 500)
        if isinstance(answer, ExecCall):
            self._exec(answer)
        else:
            self._reply(answer)

    def _reply(self, reply: Reply, headers: dict[str, str] | None = None) -> None:
        self.send_response(reply.code)
        self.send_header("Content-Type", reply.content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if isinstance(reply.body, bytes):
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in reply.body:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except Exception as error:  # hang up mid-body: the client sees a truncated answer, as it should
            if not isinstance(error, ConnectionError):
                traceback.print_exc()
            self.close_connection = True

    def _exec(self, call: ExecCall) -> None:
        """Upgrade to WebSocket, run the command through the exec handler, send its channels, close."""
        key = self.headers.get("Sec-WebSocket-Key")
        offered = [offer.strip() for offer in (self.headers.get("Sec-WebSocket-Protocol") or "").split(",")]
        if (self.headers.get("Upgrade") or "").lower() != "websocket" or not key:
            self._reply(json_reply(bad_request("Upgrade request required").status(), 400))
            return
        if CHANNEL_PROTOCOL not in offered:
            refusal = bad_request(f"the fake API server speaks {CHANNEL_PROTOCOL} only, offered: {offered}")
            self._reply(json_reply(refusal.status(), 400))
            return
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept_key(key))
        self.send_header("Sec-WebSocket-Protocol", CHANNEL_PROTOCOL)
        self.end_headers()
        self.close_connection = True
        stdout, stderr, exit_code = self.server.api.exec_handler(call.namespace, call.pod, call.container,
                                                                 call.command)
        channels = [(STDOUT, stdout if call.stdout else b""), (STDERR, stderr if call.stderr else b""),
                    (ERROR, json.dumps(exit_status(call.command, exit_code)).encode())]
        send_channels(self.wfile, channels)
        await_close(self.connection, self.rfile, self.wfile)
