"""Pure: which time zone names a schedule may use. Timing owns this check because the scheduling
decisions, `next` and the manifest's validation all ask it."""
from __future__ import annotations

import zoneinfo
from functools import cache


@cache
def timezone_error(name: str) -> str | None:
    """None when `name` is an IANA zone; the host's own zone is refused so a manifest means the same everywhere."""
    if name in ("localtime", "posixrules", "Factory") or name.startswith(("/", ".")):
        return f"unknown time zone {name!r}: use an IANA name such as UTC or Europe/Berlin"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {name!r}: use an IANA name such as UTC or Europe/Berlin"
    return None
