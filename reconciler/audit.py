"""The audit trail: one JSON line per state-changing action (who, what, when), in logs/audit.log."""
from __future__ import annotations

import getpass
import json
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

from .state_store import append_line


def audit(path: Path, *, now: datetime, command: str, event: str, details: dict[str, Any]) -> None:
    """One JSON line per state-changing action: who, what, when."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    entry = {"time": now.isoformat(timespec="seconds"), "event": event, "user": user,
             "host": socket.gethostname(), "pid": os.getpid(), "command": command}
    entry.update(details)
    append_line(path, json.dumps(entry, sort_keys=True))
