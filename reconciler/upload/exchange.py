"""The HTTP sessions of uploads and webhooks: what they send goes only to the origin the user named.

requests follows redirects to any origin by default and re-sends the body and every header but
`Authorization` there: an upload answered `307` to another port gave that port the bundle and its
`X-Up` header, a webhook its `X-Hook-Key` (issue 17). A guarded session follows a redirect only when it
is a 307 or 308 (the method and body are re-sent unchanged) to the same scheme, host and port, so
https is never downgraded, at most MAX_REDIRECTS times; any other redirect is a permanent failure that
names its Location. 301, 302 and 303 are refused even to the same origin: requests re-sends the PUT or
POST as a GET without its body, and a 200 to that GET looked like a delivery. OpenSSH and kubectl make
the same choice in spirit: credentials go to the host that was named, never to where it points.
"""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import urljoin, urlsplit

import requests

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


def guard_redirects(session: requests.Session, *, what: str, show: Callable[[str], str]) -> requests.Session:
    """`session`, changed in place: it follows only same-origin 307/308 redirects. `what` starts the
    error message (e.g. `PUT <url>`); `show` renders the Location as messages may show it."""
    session.max_redirects = MAX_REDIRECTS

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
