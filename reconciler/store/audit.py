"""The audit trail: one JSON line per state-changing action (who, what, when), in logs/audit.log.

Who: the real user (store/identity.py), host, pid. What: the event (apply, suspend, resume, cleanup, daemon-start, daemon-stop),
the command line with any secret-looking value masked, and the event's details (plan summary and
serials, what was removed). When: the time, with its offset. Never a credential: manifests hold only
references, and the command line is scrubbed in case one was typed there anyway."""
from __future__ import annotations

import json
import os
import re
import shlex
import socket
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from ..base.masking import MASK, mask_text
from .identity import real_user
from .state import append_line

_SECRET_NAME = re.compile(r"pass|secret|token|credential|key|auth", re.I)


def command_line(argv: Sequence[str], program: str = "sbsched") -> str:
    """The command as typed, shell-quoted, with secret values masked: the value of an option whose name
    looks secret (`--token X`, `--api-key=X`), `NAME=value` where NAME does, and URL passwords and query
    values (`create --upload` with a presigned URL)."""
    out: list[str] = []
    mask_next = False
    for arg in argv:
        if mask_next:
            out.append(MASK)
            mask_next = False
            continue
        name, eq, _value = arg.partition("=")
        if arg.startswith("-") and _SECRET_NAME.search(name):
            if eq:
                out.append(f"{name}={MASK}")
            else:
                out.append(arg)
                mask_next = True
            continue
        if eq and not arg.startswith("-") and re.fullmatch(r"[\w.\-]+", name) and _SECRET_NAME.search(name):
            out.append(f"{name}={MASK}")
            continue
        out.append(mask_text(arg))
    return shlex.join([program, *out])


def audit(path: Path, *, now: datetime, command: str, event: str, details: dict[str, Any]) -> None:
    """One JSON line per state-changing action: who, what, when; none when the config files say
    `auditLogEnabled: false` (a config file that cannot be read leaves the audit on: store/config_files.py)."""
    from .config_files import audit_enabled

    if not audit_enabled(path.parent.parent):
        return
    entry = {"time": now.isoformat(timespec="seconds"), "event": event, "user": real_user(),
             "host": socket.gethostname(), "pid": os.getpid(), "command": command}
    entry.update(details)
    append_line(path, json.dumps(entry, sort_keys=True))
