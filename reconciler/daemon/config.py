"""The daemon's settings: built-in defaults, then `<state-dir>/config.yaml`, then the command's flags.

```yaml
maxConcurrent: 8          # runs at once (1-256)            --max-concurrent
metricsAddr: 127.0.0.1:9090   # /metrics, /healthz, /readyz  --metrics-addr (null: not served)
logFormat: json           # text | json                      --log-format
grace: 120                # seconds `daemon stop` lets runs finish   --grace
stateMirror: s3://bucket/prefix/   # publish the state for CI's `diff --state` (state_mirror.py)
```

A missing file is no settings; a file that cannot be read, is not a mapping, has an unknown key or a
value of the wrong type is an error naming the file (exit 2), so a typo never silently falls back to a
default. Flags are given as a mapping of the settings' names to the values the user typed: what the
daemon records in daemon.pid, so that `daemon restart` starts it again with the same flags and the
configuration file read anew.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..base.errors import UsageError

FILE = "config.yaml"
DEFAULTS: dict[str, Any] = {"maxConcurrent": 4, "metricsAddr": None, "logFormat": "text", "grace": 60.0}
KNOWN = (*DEFAULTS, "stateMirror")   # stateMirror is apply's (state_mirror.py), not the loop's: no default, no flag
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class Settings:
    max_concurrent: int
    metrics_addr: str | None
    log_format: str
    grace: float
    source: Mapping[str, str]   # setting -> "default" | "config.yaml" | "flag"


def read(root: Path) -> dict[str, Any]:
    """The settings `<root>/config.yaml` makes, checked; {} when there is none."""
    from ..base import yamlio

    path = root / FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        data = yamlio.load(text).data if text.strip() else {}
    except yamlio.YamlSyntaxError as exc:
        raise UsageError(f"{path}:{exc.line}:{exc.column}: {exc.message}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of {', '.join(KNOWN)}")
    for key, value in data.items():
        check(str(key), value, where=str(path))
    return dict(data)


def check(key: str, value: Any, *, where: str) -> None:
    """UsageError when `value` is not a valid `key` setting."""
    if key not in KNOWN:
        close = difflib.get_close_matches(str(key), list(KNOWN), n=1)
        raise UsageError(f"{where}: unknown setting {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""),
                         hint=f"settings: {', '.join(KNOWN)}")
    bad = None
    if key == "maxConcurrent" and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 256):
        bad = "an integer from 1 to 256"
    elif key == "logFormat" and value not in LOG_FORMATS:
        bad = "text or json"
    elif key == "grace" and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
        bad = "a number of seconds, 0 or more"
    elif key == "stateMirror" and value is not None:
        from .state_mirror import setting_problem

        bad = setting_problem(value)
    elif key == "metricsAddr" and value is not None:
        from .health import parse_addr

        if not isinstance(value, (str, int)) or isinstance(value, bool):
            bad = "HOST:PORT, or null"
        else:
            try:
                parse_addr(str(value))
            except UsageError:
                bad = "HOST:PORT (port 0-65535; [::1]:PORT for IPv6), or null"
    if bad:
        raise UsageError(f"{where}: {key}: expected {bad}, got {value!r}")


def resolve(root: Path, flags: Mapping[str, Any]) -> Settings:
    """Defaults < config.yaml < flags (None in `flags` means not given)."""
    configured = read(root)
    given = {k: v for k, v in flags.items() if v is not None}
    for key, value in given.items():
        check(key, value, where="flag")
    merged = {**DEFAULTS, **configured, **given}
    source = {k: "flag" if k in given else FILE if k in configured else "default" for k in DEFAULTS}
    address = merged["metricsAddr"]
    return Settings(max_concurrent=int(merged["maxConcurrent"]),
                    metrics_addr=str(address) if address is not None else None,
                    log_format=str(merged["logFormat"]), grace=float(merged["grace"]), source=source)


def as_flags(flags: Mapping[str, Any]) -> list[str]:
    """The given settings as `daemon start` options (for the background child and `restart`)."""
    names = {"maxConcurrent": "--max-concurrent", "metricsAddr": "--metrics-addr", "logFormat": "--log-format"}
    out: list[str] = []
    for key, option in names.items():
        if flags.get(key) is not None:
            out += [option, str(flags[key])]
    return out
