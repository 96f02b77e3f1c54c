"""Pure: the credentials inside URLs, masked wherever sbsched shows or keeps a URL that is not the state
itself (the audit log, the log lines, execution records, plan output): the password of a URL's user info
(`https://user:***HIDDEN***@host/`) and the value of every query parameter (`?X-Amz-Signature=***HIDDEN***`),
because a presigned URL's signature, or a `token=`, lets whoever reads it do what the URL does. Parameter
names stay, so a reader still sees what kind of URL it was.

A URL is `scheme://...` up to a space or quote, or a bare `/path?query` (what HTTP libraries print in their
errors). A secret written elsewhere in free text is not recognised here."""
from __future__ import annotations

import re
from typing import Any

MASK = "***HIDDEN***"
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+|(?<![\w/.])/[^\s\"'<>?]*\?[^\s\"'<>]+")
_USERINFO = re.compile(r"(?<=://)([^/@\s:]*):[^/@\s]*@")


def mask_url(url: str) -> str:
    """`url` with its user-info password and every query value masked (fragment kept)."""
    head, question, rest = url.partition("?")
    head = _USERINFO.sub(lambda m: f"{m.group(1)}:{MASK}@", head, count=1)
    if not question:
        return head
    query, hash_, fragment = rest.partition("#")
    return f"{head}?{'&'.join(_mask_parameter(p) for p in query.split('&'))}{hash_}{fragment}"


def _mask_parameter(parameter: str) -> str:
    name, equals, _ = parameter.partition("=")
    if not parameter:
        return parameter
    return f"{name}={MASK}" if equals else MASK   # a bare `?abc123` may be the secret itself


def mask_text(text: str) -> str:
    """Every URL in `text` masked as `mask_url` does."""
    if "://" not in text and "?" not in text:
        return text
    return _URL.sub(lambda m: mask_url(m.group(0)), text)


def mask_data(data: Any) -> Any:
    """`data` (JSON-like) with every string passed through `mask_text`; a new value, `data` is unchanged."""
    if isinstance(data, str):
        return mask_text(data)
    if isinstance(data, dict):
        return {key: mask_data(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [mask_data(value) for value in data]
    return data
