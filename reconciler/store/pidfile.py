"""daemon.pid: one daemon per state dir. The daemon holds a flock on the state directory itself for its
whole life (dirlock: no `rm` of a file can split it, and the directory cannot go while it holds the
state), and daemon.pid says who it is, so a second daemon (or `reconcile --once`) can name the one that
runs. It also holds daemon.pid's own flock, which is all that sbsched versions before the directory lock
look at. The locks are the kernel's: a daemon that died leaves no stale lock, only a stale file that
`running()` sees through. A daemon.pid removed under a running daemon is written again by `keep`."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from ..base.errors import SbschedError
from .dirlock import DirLock
from .paths import ensure_dir, file_mode


PROBE_GRACE = 1.0   # seconds: `running()` probes take the flock for an instant (`daemon start` polls with
                    # them while its child starts); a daemon starting in that instant must not give up


log = logging.getLogger("sbsched.daemon")


class AlreadyRunning(SbschedError):
    """Another daemon holds this state dir."""


# -- the pid file ------------------------------------------------------------------------------------
class PidFile:
    """daemon.pid: holds the state dir's lock for the daemon's whole life and says who it is (pid, host, since)."""

    def __init__(self, root: Path) -> None:
        self.path = root / "daemon.pid"
        self.guard = DirLock(root, follow_symlinks=True)   # the state dir may be a link, as the user's choice
        self._lock: Any = None
        self._info: dict[str, Any] = {}
        self._written: tuple[int, int] | None = None       # (st_dev, st_ino) of the daemon.pid this daemon wrote

    def acquire(self, now: datetime) -> None:
        import filelock

        ensure_dir(self.path.parent)
        if not self.guard.acquire(PROBE_GRACE, poll=0.01):
            raise self._already_running()
        lock = filelock.FileLock(str(self.path), mode=file_mode(), thread_local=False)
        try:
            lock.acquire(timeout=PROBE_GRACE, poll_interval=0.01)
        except filelock.Timeout:
            self.guard.release()
            raise self._already_running() from None
        self._lock = lock
        self._info = {"pid": os.getpid(), "host": socket.gethostname(), "since": now.isoformat(timespec="seconds")}
        self._write()

    def _already_running(self) -> AlreadyRunning:
        info = self.read()
        who = f"pid {info['pid']} on {info['host']} since {info['since']}" if info else "another process"
        return AlreadyRunning(f"a daemon already serves this state dir: {who}",
                              hint="`sbsched daemon stop` it first, or use another --state-dir")

    def annotate(self, **extra: Any) -> None:
        """Add facts to the holder's info (the metrics address, once bound). Requires `acquire`."""
        self._info.update(extra)
        self._write()

    def restore(self) -> bool:
        """Write daemon.pid again when it is no longer the file this daemon wrote (a stray `rm`); True if so."""
        if self._ours():
            return False
        self._write()
        return True

    def _ours(self) -> bool:
        try:
            found = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return (found.st_dev, found.st_ino) == self._written

    def keep(self, stop: threading.Event, *, every: float = 1.0) -> None:
        """Until `stop`: `restore` every `every` s, so that `daemon status` and `stop` find this daemon again
        soon after its daemon.pid went (a second daemon is kept out by the directory lock meanwhile)."""
        while not stop.wait(every):
            try:
                if self.restore():
                    log.warning("%s was removed or replaced; written again", self.path)
            except OSError as exc:
                log.warning("cannot write %s again: %s", self.path, exc.strerror or exc)

    def _write(self) -> None:
        """In place, never through a link: the new text over the old, then cut to its length, so that a
        reader of the file `annotate` rewrites sees the old info or the new, never an empty file."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, file_mode())
        try:
            data = json.dumps(self._info).encode("utf-8")
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
            found = os.fstat(fd)
            self._written = (found.st_dev, found.st_ino)
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                if self._ours():   # emptied as a sign of a clean stop; anything else at that name is left alone
                    os.truncate(self.path, 0)
            self._lock.release()
            self._lock = None
            self.guard.release()

    def read(self) -> dict[str, Any] | None:
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
            return info if isinstance(info, dict) and "pid" in info else None
        except (OSError, ValueError):
            return None

    def running(self) -> dict[str, Any] | None:
        """The holder's info when a daemon really runs (it holds the state dir, or, for a daemon of an
        earlier sbsched, daemon.pid's flock); None otherwise."""
        import filelock

        info = self.read()
        if info is None:
            return None
        if self.guard.held_elsewhere():
            return info
        probe = filelock.FileLock(str(self.path), mode=file_mode())
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
