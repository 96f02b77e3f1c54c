"""JSON documents sbsched reads back from outside the state dir (saved plans, state mirrors): bounded in
size, checked in shape, and refused with one line naming the file when they are not what they claim."""
from __future__ import annotations

import json
from typing import Any, Callable

from .errors import SbschedError


def decode(raw: bytes, *, limit: int, what: str, kind: str, problem: Callable[[Any], str | None],
           error: type[SbschedError], hint: str) -> Any:
    """The document in `raw` (read as at most `limit` + 1 bytes), or `error` saying why `what` is not a `kind`."""
    if len(raw) > limit:
        raise error(f"{what}: over the {limit // 2**20} MiB {kind} limit")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise error(f"{what}: not JSON, so not a {kind}", hint=hint) from None
    found = problem(document)
    if found:
        raise error(f"{what}: not a {kind} ({found})", hint=hint)
    return document
