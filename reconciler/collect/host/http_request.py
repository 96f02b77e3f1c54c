"""http: one GET, POST or PUT, recorded as troubleshoot records it (pkg/collect/http.go,
responseToOutput) in host-collectors/http/<collectorName or "result">.json:

  {"response": {"status", "body", "headers", "raw_json"?}}   raw_json only when the body is JSON
  {"error": {"message"}}                                       the request failed (the collector succeeds)

as troubleshoot does: the host http analyzer's `error` outcome reads exactly that. Header names
are canonicalised and repeated values joined with "," as Go's http.Header holds them. Redirects
are followed. TLS: 1.2 at least; `tls.cacert` is PEM text or a file or directory of CAs;
`insecureSkipVerify` turns checking off. Proxy: the spec's `proxy`, else the environment's, but
only when HTTPS_PROXY is set (troubleshoot's rule), never for loopback or NO_PROXY hosts.
"""
from __future__ import annotations

import json
import os
import ssl
import stat
import urllib.error
import urllib.request
from http.client import HTTPException
from typing import Any, Mapping
from urllib.parse import urlsplit

from .. import CollectContext, CollectorSpec
from .limits import Deadline, duration_param, stop_if_cancelled
from ..params import bundle_path, collector_name, flag, section, text, text_map
from .proxy import proxy_for

_METHODS = ("get", "post", "put")
_CHUNK = 1 << 16
_NOT_JSON = object()
_HEADERS_TIMEOUT = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
_BODY_TIMEOUT = "context deadline exceeded (Client.Timeout or context cancellation while reading body)"


class _RequestFailed(Exception):
    """The request did not get a response; str() is the message troubleshoot would record."""


def http(spec: CollectorSpec, ctx: CollectContext) -> None:
    result = request_result(spec, ctx)
    name = collector_name(spec, "result")
    ctx.output.write_json(bundle_path("host-collectors/http", name + ".json"), result)


def request_result(spec: CollectorSpec, ctx: CollectContext) -> dict[str, Any]:
    """The spec's one request, as troubleshoot records it; shared with the in-cluster `http` collector."""
    method = next((name for name in _METHODS if section(spec.params, name) is not None), None)
    if method is None:
        raise ValueError("no supported http request type")
    request = section(spec.params, method) or {}
    try:
        result: dict[str, Any] = {"response": _fetch(method.upper(), request, ctx)}
    except _RequestFailed as exc:
        result = {"error": {"message": str(exc)}}
    stop_if_cancelled(ctx)
    return result


def _fetch(method: str, params: Mapping[str, Any], ctx: CollectContext) -> dict[str, Any]:
    url = text(params, "url")
    operation = f'{method[:1]}{method[1:].lower()} "{url}"'   # Go's url.Error prefix: Get "http://…"
    scheme = urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise _RequestFailed(f'{operation}: unsupported protocol scheme "{scheme}"')
    try:
        seconds, _ = duration_param(params)
        if seconds is not None and seconds < 0:
            raise ValueError("timeout must be a positive duration")
        opener = _opener(params, url, ctx)
    except (ValueError, OSError) as exc:
        raise _RequestFailed(str(exc)) from None
    deadline = Deadline(ctx, seconds)
    body = text(params, "body").encode("utf-8") if method != "GET" else None
    request = urllib.request.Request(url, data=body, headers=text_map(params, "headers"), method=method)
    try:
        response = opener.open(request, timeout=max(deadline.remaining(), 0.001))
    except urllib.error.HTTPError as exc:
        response = exc   # a 4xx/5xx is a response like any other, as in Go
    except (OSError, ValueError, HTTPException) as exc:   # URLError is an OSError
        raise _RequestFailed(f"{operation}: {_reason(url, exc)}") from None
    with response:
        try:
            content = _read(response, deadline)
        except (OSError, HTTPException) as exc:   # socket errors, the deadline between reads
            detail = _BODY_TIMEOUT if isinstance(exc, TimeoutError) else _reason(url, exc)
            raise _RequestFailed(f"{operation}: {detail}") from None
        headers: dict[str, str] = {}
        for name, value in response.headers.items():
            key = _canonical(name)
            if key != "Transfer-Encoding":   # Go moves it out of Header
                headers[key] = f"{headers[key]},{value}" if key in headers else value
        status = response.status
    decoded = content.decode("utf-8", errors="replace")
    result: dict[str, Any] = {"status": status, "body": decoded, "headers": headers}
    if (parsed := _json_or_marker(decoded)) is not _NOT_JSON:
        result["raw_json"] = parsed
    return result


def _read(response: Any, deadline: Deadline) -> bytes:
    parts = []
    while chunk := response.read(_CHUNK):
        parts.append(chunk)
        if deadline.expired():
            raise TimeoutError(_BODY_TIMEOUT)
    return b"".join(parts)


def _opener(params: Mapping[str, Any], url: str, ctx: CollectContext) -> urllib.request.OpenerDirector:
    proxy = proxy_for(url, text(params, "proxy"), ctx.env)
    proxies = {"http": proxy, "https": proxy} if proxy else {}
    return urllib.request.build_opener(urllib.request.ProxyHandler(proxies), _NoFormContentType(),
                                       urllib.request.HTTPSHandler(context=_tls_context(params)))


def _tls_context(params: Mapping[str, Any]) -> ssl.SSLContext:
    """TLS 1.2 at least; CAs from `tls.cacert`: PEM text in the spec, a file, or a directory of them."""
    cacert = text(section(params, "tls") or {}, "cacert")
    if not cacert:
        context = ssl.create_default_context()
    elif "BEGIN CERTIFICATE" in cacert:
        context = ssl.create_default_context(cadata=cacert)
    else:
        try:
            is_dir = stat.S_ISDIR(os.stat(cacert).st_mode)
        except OSError as exc:
            raise OSError(f"failed to handle cacert file path: stat {cacert}: {exc.strerror}") from None
        context = ssl.create_default_context(capath=cacert) if is_dir else \
            ssl.create_default_context(cafile=cacert)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if flag(params, "insecureSkipVerify"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _NoFormContentType(urllib.request.BaseHandler):
    """urllib labels every body as a form; Go sends no Content-Type unless the spec sets one."""

    handler_order = 600   # after AbstractHTTPHandler added its defaults

    def http_request(self, request: urllib.request.Request) -> urllib.request.Request:
        if "Content-type" not in request.headers:
            request.unredirected_hdrs.pop("Content-type", None)
        return request

    https_request = http_request


def _reason(url: str, exc: BaseException) -> str:
    reason = exc
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        reason = exc.reason
    if isinstance(reason, ConnectionRefusedError):   # it was dialled, so the URL's port is sound
        parts = urlsplit(url)
        return f"dial tcp {parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}: " \
               "connect: connection refused"
    if isinstance(reason, TimeoutError):
        return _HEADERS_TIMEOUT
    return str(getattr(reason, "strerror", None) or reason)


def _canonical(name: str) -> str:
    """Go's CanonicalMIMEHeaderKey: content-type -> Content-Type."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _json_or_marker(body: str) -> Any:
    """The body's JSON value (null included), or _NOT_JSON; Go's decoder takes no NaN or Infinity."""
    if not body:
        return _NOT_JSON
    try:
        return json.loads(body, parse_constant=_reject)
    except ValueError:
        return _NOT_JSON


def _reject(constant: str) -> Any:
    raise ValueError(f"not JSON: {constant}")
