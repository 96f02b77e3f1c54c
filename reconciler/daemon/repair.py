"""`cleanup --repair`: put a state dir right after crashes, as troubleshoot's PRD recovery procedure asks,
and say what was fixed.

- Execution records left `running` by a process that is gone are settled (failed, `interrupted`), with
  their collectors' processes and half-written files, and `active` lists that name ended runs are
  cleared: the daemon's own recovery (`Daemon.recover`). Beside a running daemon only the first is done;
  its `active` lists and waiting retries are its own.
- Staging directories and half-written temporary files (`.<name>.<random>.tmp`, the atomic writers'
  names) that no live run owns are removed once they are MIN_AGE old: younger ones may be an atomic
  write in progress. Only sbsched's own names in sbsched's own directories are looked at, never through
  a link.
"""
from __future__ import annotations

import logging
import re
import socket
import time
from pathlib import Path
from typing import Any

from ..base.clock import SystemClock
from ..base.errors import UnsafePath
from ..run.bundle import bundle_name
from ..store import executions
from ..store.nofollow import rmtree_below, unlink_below
from ..store.pidfile import PidFile, process_alive
from ..store.state import StateStore
from .loop import Daemon

log = logging.getLogger("sbsched.repair")
MIN_AGE = 300.0   # seconds: a temporary file younger than this may still be being written
_BUNDLE = re.compile(r"support-bundle-\d{4}-\d\d-\d\dT\d\d_\d\d_\d\d")
_STRAYS = (("bundles/*/.staging-support-bundle-*", True), ("bundles/*/.support-bundle-*.tmp", False),
           ("executions/*/.*.json.*.tmp", False), (".state.json*.tmp", False), ("redaction-maps/.*.tmp", False),
           ("redaction-salts/.*.tmp", False))


def repair(root: Path, *, lock_timeout: float = 30.0, now: float | None = None) -> list[dict[str, str]]:
    """Fix what crashes left in state dir `root`; what was fixed, one entry each ({kind, id or path})."""
    daemon_alive = PidFile(root).running() is not None
    fixed = Daemon(StateStore(root), SystemClock(), lock_timeout=lock_timeout).recover(daemon_alive=daemon_alive)
    live = _live_bundles(root)
    moment = time.time() if now is None else now
    for pattern, is_dir in _STRAYS:
        for path in sorted(root.glob(pattern)):
            if path.is_symlink() or path.is_dir() != is_dir or _owner(path) in live:
                continue
            try:
                if moment - path.lstat().st_mtime < MIN_AGE:
                    continue
                if is_dir:
                    rmtree_below(root, path)
                else:
                    unlink_below(root, path)
            except FileNotFoundError:
                continue   # gone meanwhile: its writer finished
            except UnsafePath as exc:
                log.warning("%s left: %s", path, exc.message)
                continue
            fixed.append({"kind": "staging-dir" if is_dir else "temp-file", "path": str(path)})
    return fixed


def _live_bundles(root: Path) -> set[tuple[str, str]]:
    """(schedule, bundle name) of the runs alive on this host: their staging dirs and archives stay."""
    host = socket.gethostname()
    live: set[tuple[str, str]] = set()
    for record in executions.history(root, status="running"):
        runner: Any = record.get("runner") or {}
        if runner.get("host") == host and process_alive(runner.get("pid")) and record.get("startTime"):
            from datetime import datetime

            live.add((str(record["schedule"]), bundle_name(datetime.fromisoformat(record["startTime"]), set())))
    return live


def _owner(path: Path) -> tuple[str, str] | None:
    """(schedule, bundle name) a file under bundles/ belongs to, by its name; None elsewhere."""
    match = _BUNDLE.search(path.name)
    if match is None or path.parent.parent.name != "bundles":
        return None
    return path.parent.name, match.group(0)
