"""What the sigterm-run and orphans scenarios share: finding the processes of one trial, and a state dir's
leftovers of interrupted runs.

Each trial starts sbsched with its own marker in the environment (STRESS_TRIAL=<scenario>-<n>); the
collectors' children inherit it, so after the trial every live process carrying the marker is one that
outlived its run, found without trusting what sbsched recorded. The harness kills them by pid afterwards,
so one trial's survivors never count against the next.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from .common import leftovers, read_json, records, wait_until

MARKER = "STRESS_TRIAL"


def marked(marker: str) -> list[int]:
    """Live (not zombie) processes whose environment has STRESS_TRIAL=`marker`."""
    wanted = f"{MARKER}={marker}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if wanted in Path(f"/proc/{name}/environ").read_bytes().split(b"\0") and not _zombie(int(name)):
                found.append(int(name))
        except OSError:
            continue
    return found


def survivors(marker: str, grace: float = 5.0) -> list[int]:
    """The trial's processes still alive `grace` seconds on (a SIGKILL is not instant), then killed by pid."""
    wait_until(lambda: not marked(marker), timeout=grace, interval=0.05)
    left = marked(marker)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def debris(state_dir: Path) -> dict[str, Any]:
    """What an interrupted run must not leave: records `running`, ids in `active`, staging dirs."""
    state = read_json(state_dir / "state.json")
    return {"running": [r["id"] for r in records(state_dir) if r.get("status") == "running"],
            "active": sorted(a for rec in state["schedules"].values() for a in rec["status"].get("active") or []),
            "staging": leftovers(state_dir)["staging dirs"]}


def secret_files(state_dir: Path, secret: bytes) -> list[str]:
    """Files under the state dir holding `secret` in the clear (archives are compressed: their redaction
    is the bundle tests' business; this finds unredacted staging output, records, logs)."""
    found = []
    for path in state_dir.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and secret in path.read_bytes():
                found.append(str(path.relative_to(state_dir)))
        except OSError:
            continue
    return found
