"""A container registry on 127.0.0.1 that speaks enough of the distribution API for registryImages:
a Bearer token challenge (tokens only for the right Basic credentials when `password` is set),
manifests for the images in `images`, MANIFEST_UNKNOWN for other tags of those repositories and
NAME_UNKNOWN for other repositories."""
from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "fake-registry-token"


@contextmanager
def registry(images: set[tuple[str, str]], *, username: str = "", password: str = "") -> Iterator[Any]:
    """Yields the server; `server.server_address[1]` is its port and `server.requests` what it was asked."""
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode() if password else None

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            server.requests.append((parts.path, self.headers.get("Authorization")))
            if parts.path == "/token":
                if expected and self.headers.get("Authorization") != expected:
                    return self._send(401, {"errors": [{"code": "UNAUTHORIZED"}]})
                scope = parse_qs(parts.query).get("scope", [""])[0]
                return self._send(200, {"token": TOKEN, "scope": scope})
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                realm = f"http://127.0.0.1:{server.server_address[1]}/token"
                return self._send(401, {"errors": [{"code": "UNAUTHORIZED"}]},
                                  {"WWW-Authenticate": f'Bearer realm="{realm}",service="fake"'})
            repo, _, reference = parts.path.removeprefix("/v2/").rpartition("/manifests/")
            if (repo, reference) in images:
                return self._send(200, {"schemaVersion": 2})
            code = "MANIFEST_UNKNOWN" if any(r == repo for r, _ in images) else "NAME_UNKNOWN"
            return self._send(404, {"errors": [{"code": code}]})

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
