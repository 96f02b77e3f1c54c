"""http(s)://...: PUT (default) or POST the archive, streamed from disk, as troubleshoot's upload does.

- PUT sends the archive as the body with no Content-Type of its own, so that a presigned URL signed
  without one still matches. troubleshoot's rule for presigned URLs: a `Content-Type` query parameter,
  if present, must be `application/tar+gzip`, and is then sent as the Content-Type header.
- POST sends the raw archive (not a multipart form) with `Content-Type: application/gzip`.
- `options.bearerToken` (a reference) is sent as `Authorization: Bearer <token>`, troubleshoot's
  `auth=bearer,token=...`.
- `options.headers` are added (values literal or secret references); they override the above.
- TLS: `options.caFile`, else `REQUESTS_CA_BUNDLE` / `SSL_CERT_FILE` from the environment, else the
  system's (certifi) bundle. A certificate that does not verify is a permanent error.
- Redirects: only a 307/308 to the same origin is followed; the request's deadline bounds the whole
  exchange, not only each read (exchange.py).
The body is the open file: requests streams it with a Content-Length and never reads it whole.
"""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from . import UploadRequest, public_url
from .exchange import Watchdog, guard
from .retry import UploadError, from_http_status, from_requests

PRESIGNED_CONTENT_TYPE = "application/tar+gzip"
POST_CONTENT_TYPE = "application/gzip"
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 120.0)  # (connect, read between bytes): a stalled server is a
                                                       # transient error even before the run's deadline


def presigned_content_type(url: str) -> str | None:
    """The `Content-Type` query parameter of a presigned URL, checked against troubleshoot's rule."""
    values = parse_qs(urlsplit(url).query).get("Content-Type")
    if not values:
        return None
    if values[0] != PRESIGNED_CONTENT_TYPE:
        raise UploadError(f"{public_url(url)}: the presigned URL's Content-Type is {values[0]!r}; only "
                          f"{PRESIGNED_CONTENT_TYPE!r} can carry a support bundle", transient=False)
    return values[0]


def request_headers(request: UploadRequest, method: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    presigned = presigned_content_type(request.url)
    if presigned is not None:
        headers["Content-Type"] = presigned
    elif method == "POST":
        headers["Content-Type"] = POST_CONTENT_TYPE
    if request.options.get("bearerToken"):
        token = request.secrets.resolve(request.options["bearerToken"], what="upload.options.bearerToken")
        headers["Authorization"] = f"Bearer {token}"
    given: Mapping[str, Any] = request.options.get("headers") or {}
    for name, value in given.items():
        headers[name] = request.secrets.header(name, value, what="upload.options.headers")
    return headers


def verify_setting(options: Mapping[str, Any], env: Mapping[str, str]) -> str | bool:
    ca_file = options.get("caFile") or env.get("REQUESTS_CA_BUNDLE") or env.get("SSL_CERT_FILE")
    return str(ca_file) if ca_file else True


class HttpUploader:
    def __init__(self, *, timeout: tuple[float, float] | None = None) -> None:
        self.timeout = timeout or DEFAULT_TIMEOUT

    def upload(self, request: UploadRequest) -> None:
        method = str(request.options.get("method") or "PUT").upper()
        if method not in ("PUT", "POST"):
            raise UploadError(f"upload.options.method {method!r}: use PUT or POST", transient=False)
        headers = request_headers(request, method)
        parts = urlsplit(request.url)
        if parts.password:
            request.secrets.remember(unquote(parts.password))
        what = f"{method} {public_url(request.url)}"
        verify = verify_setting(request.options, request.secrets.env)
        with Watchdog(request.deadline) as watchdog:
            try:
                with open(request.archive, "rb") as body, \
                        guard(requests.Session(), what=what, show=public_url, watchdog=watchdog) as session:
                    response = session.request(method, request.url, data=body, headers=headers, verify=verify,
                                               timeout=self.timeout, stream=True)   # its body is never read
                    with response:
                        if not 200 <= response.status_code < 300:
                            raise from_http_status(response.status_code, response.reason or "", response.headers,
                                                   what=what)
            except UploadError:
                raise
            except (requests.exceptions.RequestException, OSError) as exc:
                raise watchdog.error(what) or from_requests(exc, what=what) from exc


def fetch(request: UploadRequest, limit: int) -> bytes:
    """GET the object an http(s):// URL names (a published state mirror: a presigned or a plain URL), with
    `options.headers`, the CA settings of an upload, and only same-origin redirects."""
    headers = {name: request.secrets.header(name, value, what="options.headers")
               for name, value in (request.options.get("headers") or {}).items()}
    what = f"GET {public_url(request.url)}"
    try:
        with guard(requests.Session(), what=what, show=public_url) as session:
            response = session.get(request.url, headers=headers, timeout=DEFAULT_TIMEOUT, stream=True,
                                   verify=verify_setting(request.options, request.secrets.env))
            with response:
                if not 200 <= response.status_code < 300:
                    raise from_http_status(response.status_code, response.reason or "", response.headers, what=what)
                data: bytes = response.raw.read(limit + 1, decode_content=True)
                return data
    except UploadError:
        raise
    except (requests.exceptions.RequestException, OSError) as exc:
        raise from_requests(exc, what=what) from exc


def default() -> HttpUploader:
    return HttpUploader()
