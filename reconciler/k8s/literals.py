"""Pure: the secrets a schedule writes literally, which an export would put into its ConfigMap as they
are. Whoever may read ConfigMaps in the namespace would read them, so `export kubernetes` (and `apply
--target kubernetes`) refuses them unless told otherwise; references (`{env}`, `{file}`) are fine.

Found: a literal header value (upload or webhook: headers carry credentials far more often than not),
an upload or webhook URL with a query string or a user-info password (a presigned URL's signature is a
bearer credential), and a webhook path segment that looks like a token (16+ letters and digits mixed,
as in Slack, Discord and Teams incoming-webhook URLs, whose path is the only credential)."""
from __future__ import annotations

import re
from typing import Any, Mapping
from urllib.parse import urlsplit

_TOKEN_SEGMENT = re.compile(r"(?=[^/]*[A-Za-z])(?=[^/]*[0-9])[A-Za-z0-9_\-]{16,}")

SUGGESTION = ("ConfigMaps hold no secrets: put the value in a Secret and reference it as {env: NAME}, the "
              "CronJob getting NAME from the Secret through envFrom (a kustomize patch over the export); for "
              "a URL, use s3:// or gs:// with credentials references, or a URL without the secret and its "
              "credential in a header {env: NAME}; or pass --allow-literal-secrets to export them as written")


def literal_secrets(name: str, spec: Mapping[str, Any]) -> list[str]:
    """One line per secret that `spec` (schedule `name`, normalized) holds literally; never the value."""
    found: list[str] = []
    upload = spec.get("upload") or {}
    places = [("upload.options.headers", (upload.get("options") or {}).get("headers") or {})]
    places += [(f"notify[{i}].headers", hook.get("headers") or {}) for i, hook in enumerate(spec.get("notify") or [])]
    for where, headers in places:
        found += [f"{name}: {where}.{key} is a literal header value"
                  for key, value in sorted(headers.items()) if isinstance(value, str)]
    if upload.get("url"):
        found += [f"{name}: upload.url {why}" for why in _url_secrets(str(upload["url"]))]
    for i, hook in enumerate(spec.get("notify") or []):
        why = _url_secrets(str(hook.get("webhook") or ""), path_tokens=True)
        found += [f"{name}: notify[{i}].webhook {reason}" for reason in why]
    return found


def _url_secrets(url: str, *, path_tokens: bool = False) -> list[str]:
    parts = urlsplit(url)
    reasons = []
    if parts.password:
        reasons.append("has a password in its user info")
    if parts.query:
        reasons.append("has a query string (a presigned URL's signature or a token)")
    if path_tokens and any(_TOKEN_SEGMENT.fullmatch(segment) for segment in parts.path.split("/")):
        reasons.append("has a path segment that looks like a token (an incoming-webhook URL's secret)")
    return reasons
