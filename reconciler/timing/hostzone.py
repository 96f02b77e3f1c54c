"""The host's time zone as an IANA name, read as Go's time.Local reads it (troubleshoot's jobs ran in it):
TZ first (empty: UTC; a path: the zone file it names), then /etc/localtime's link, then /etc/timezone."""
from __future__ import annotations

import os
from typing import Mapping


def host_zone(env: Mapping[str, str] = os.environ, *, localtime: str = "/etc/localtime",
              timezone_file: str = "/etc/timezone") -> str | None:
    """The zone's name, or None when the host does not say (a copied /etc/localtime, no /etc/timezone)."""
    return host_zone_source(env, localtime=localtime, timezone_file=timezone_file)[0]


def host_zone_source(env: Mapping[str, str] = os.environ, *, localtime: str = "/etc/localtime",
                     timezone_file: str = "/etc/timezone") -> tuple[str | None, str]:
    """(the zone's name or None, where the answer came from: "TZ", `localtime`, `timezone_file`, or ""
    when nothing said), for those that report where they looked (the time host collector)."""
    if "TZ" in env:
        value = env["TZ"].removeprefix(":")
        if not value:
            return "UTC", "TZ"
        return (_from_path(value) if value.startswith("/") else value), "TZ"
    named = _from_path(os.path.realpath(localtime)) if os.path.islink(localtime) else None
    if named:
        return named, localtime
    try:
        with open(timezone_file, encoding="utf-8") as handle:
            return handle.read().strip() or None, timezone_file
    except OSError:
        return None, ""


def _from_path(path: str) -> str | None:
    marker = "zoneinfo/"
    return path.split(marker, 1)[1] if marker in path else None
