"""Where the configuration files are and what two of their keys say to the store itself.

The files' full meaning (the daemon's settings, the schedule defaults) is `daemon/config.py`'s, which
checks every key; the store sits below it and needs only the state dir the system file names
(`storageConfig.baseDir` or `storageDir`), who may share it (`allowedUsers`, `allowedGroups`:
store/sharing.py) and whether the audit log is on (`auditLogEnabled`). It reads those raw, so that every command agrees with the daemon on where the state is and what is audited.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..base.errors import UsageError

FILE = "config.yaml"
SYSTEM_ENV = "SBSCHED_SYSTEM_CONFIG"
SYSTEM_FILE = "/etc/troubleshoot/scheduler.yaml"


def system_path() -> Path:
    return Path(os.environ.get(SYSTEM_ENV) or SYSTEM_FILE)


def load(path: Path, *, expected: str) -> dict[str, Any]:
    """The mapping file `path` holds; {} when there is none. UsageError naming the file when it cannot be
    read, does not parse, or is not a mapping (`expected` says of what)."""
    from ..base import yamlio

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
        raise UsageError(f"{path}: expected a mapping of {expected}")
    return dict(data)


def system_state_dir() -> str | None:
    """The state dir the system file names (storageConfig.baseDir or storageDir), if it names one."""
    path = system_path()
    data = load(path, expected="settings")
    storage = data.get("storageConfig")
    value = storage.get("baseDir") if isinstance(storage, dict) else None
    value = data.get("storageDir") if value is None else value
    if value is None:
        return None
    if not isinstance(value, str) or not value or any(c in value for c in "\0\n"):
        raise UsageError(f"{path}: storageConfig.baseDir: expected a path, got {value!r}")
    return os.path.expanduser(value)


def names(value: Any, key: str) -> tuple[str, ...]:
    """allowedUsers / allowedGroups: a list of account or group names (a single name is a list of one)."""
    items = [value] if isinstance(value, str) else value
    if items is None:
        return ()
    if not isinstance(items, list) or not all(isinstance(i, str) and i and i.strip() == i and ":" not in i
                                              for i in items):
        raise UsageError(f"{system_path()}: {key}: expected a list of user or group names")
    return tuple(items)


def system_access() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(allowedUsers, allowedGroups) of the system file: who shares the system state dir."""
    data = load(system_path(), expected="settings")
    return names(data.get("allowedUsers"), "allowedUsers"), names(data.get("allowedGroups"), "allowedGroups")


def audit_enabled(root: Path) -> bool:
    """auditLogEnabled of the system file then <root>/config.yaml (default true; anything but false,
    or a file that cannot be read, leaves the audit on)."""
    enabled = True
    for path in (system_path(), root / FILE):
        try:
            value = load(path, expected="settings").get("auditLogEnabled")
        except UsageError:
            continue
        if isinstance(value, bool):
            enabled = value
    return enabled
