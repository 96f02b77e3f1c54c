"""daemon.pid: one daemon per state dir. The daemon holds a flock on the file for its whole life, and
the file says who it is, so a second daemon (or `reconcile --once`) can name the one that runs. The lock
is the kernel's: a daemon that died leaves no stale lock, only a stale file that `running()` sees through."""
from __future__ import annotations

import json
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import SbschedError
from .paths import FILE_MODE, ensure_dir


PROBE_GRACE = 1.0   # seconds: `running()` probes take the flock for an instant (`daemon start` polls with
                    # them while its child starts); a daemon starting in that instant must not give up


class AlreadyRunning(SbschedError):
    """Another daemon holds this state dir."""


# -- the pid file ------------------------------------------------------------------------------------
class PidFile:
    """daemon.pid: holds a flock for the daemon's whole life and says who it is (pid, host, since)."""

    def __init__(self, root: Path) -> None:
        self.path = root / "daemon.pid"
        self._lock: Any = None

    def acquire(self, now: datetime) -> None:
        import filelock

        ensure_dir(self.path.parent)
        lock = filelock.FileLock(str(self.path), mode=FILE_MODE)
        try:
            lock.acquire(timeout=PROBE_GRACE, poll_interval=0.01)
        except filelock.Timeout:
            info = self.read()
            who = f"pid {info['pid']} on {info['host']} since {info['since']}" if info else "another process"
            raise AlreadyRunning(f"a daemon already serves this state dir: {who}",
                                 hint="`sbsched daemon stop` it first, or use another --state-dir") from None
        self._lock = lock
        with open(self.path, "r+", encoding="utf-8") as handle:
            handle.truncate(0)
            handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "since": now.isoformat(timespec="seconds")}))

    def annotate(self, **extra: Any) -> None:
        """Add facts to the holder's info (the metrics address, once bound). Requires `acquire`.
        Rewritten in place (the flock is on this inode); the new text is longer, so it is whole once written."""
        info = {**(self.read() or {}), **extra}
        with open(self.path, "r+", encoding="utf-8") as handle:
            handle.write(json.dumps(info))
            handle.truncate()

    def release(self) -> None:
        if self._lock is not None:
            os.truncate(self.path, 0)
            self._lock.release()
            self._lock = None

    def read(self) -> dict[str, Any] | None:
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
            return info if isinstance(info, dict) and "pid" in info else None
        except (OSError, ValueError):
            return None

    def running(self) -> dict[str, Any] | None:
        """The holder's info when a daemon really runs (its flock is held); None otherwise."""
        import filelock

        info = self.read()
        if info is None or not self.path.exists():
            return None
        probe = filelock.FileLock(str(self.path), mode=FILE_MODE)
        try:
            probe.acquire(timeout=0)
        except filelock.Timeout:
            return info
        probe.release()
        return None


def process_alive(pid: object) -> bool:
    """True while `pid` is a live process. A zombie is dead: a daemon killed with SIGKILL whose parent
    never reaps it (init in some containers does not) must not look like it still runs its runs."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def signal_daemon(root: Path, sig: int) -> dict[str, Any] | None:
    """Send `sig` to the daemon serving `root`; None when there is none."""
    info = PidFile(root).running()
    if info is None:
        return None
    try:
        os.kill(int(info["pid"]), sig)
    except (ProcessLookupError, PermissionError):  # gone, or another user's: it sees the change on its next wake
        return None
    return info
