"""The daemon as an operating-system service: one per state dir, signals, logs, background start.

`serve` runs the loop in the foreground (systemd, containers, `reconcile --once`); `start_background`
re-executes sbsched in its own session with its output appended to logs/daemon.log and returns once
the child holds daemon.pid; `stop` asks for a drain (SIGTERM), then, past the grace period, for the
active runs to be cancelled (SIGUSR2), then kills.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .clock import SystemClock
from .daemon import Daemon
from .errors import SbschedError
from .paths import FILE_MODE, ensure_dir
from .pidfile import PidFile, process_alive
from .state_store import StateStore

POLL = 0.05


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                           "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage()})


def configure_logging(log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("sbsched")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def serve(root: Path, *, max_concurrent: int, log_format: str, once: bool = False,
          lock_timeout: float = 30.0) -> list[dict[str, Any]]:
    """Run the reconcile loop here until SIGTERM (or one pass with `once`)."""
    configure_logging(log_format)
    clock = SystemClock()
    pidfile = PidFile(ensure_dir(root))
    pidfile.acquire(clock.now())
    daemon = Daemon(StateStore(root), clock, max_concurrent=max_concurrent, lock_timeout=lock_timeout, once=once)
    handlers = {signal.SIGTERM: lambda *_: daemon.stop(), signal.SIGINT: lambda *_: daemon.stop(),
                signal.SIGHUP: lambda *_: daemon.request_reload(), signal.SIGUSR1: lambda *_: daemon.request_reload(),
                signal.SIGUSR2: lambda *_: daemon.cancel_all("shutdown")}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    logging.getLogger("sbsched.daemon").info("serving %s (pid %d, max %d concurrent runs)%s", root, os.getpid(),
                                             max_concurrent, " once" if once else "")
    try:
        return daemon.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        pidfile.release()
        logging.getLogger("sbsched.daemon").info("stopped")


def start_background(root: Path, *, max_concurrent: int, log_format: str, timeout: float = 15.0) -> dict[str, Any]:
    """Start `sbsched daemon start --foreground` detached; return its pid-file info once it serves."""
    pidfile = PidFile(ensure_dir(root))
    running = pidfile.running()
    if running:
        from .pidfile import AlreadyRunning

        raise AlreadyRunning(f"a daemon already serves this state dir: pid {running['pid']} on {running['host']}")
    log_path = ensure_dir(root / "logs") / "daemon.log"
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    command = [sys.executable, "-m", "cli", "--state-dir", str(root), "daemon", "start", "--foreground",
               "--max-concurrent", str(max_concurrent), "--log-format", log_format]
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, start_new_session=True,
                             close_fds=True)
    os.close(fd)
    tick = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = pidfile.running()
        if info and info.get("pid") == child.pid:
            return {**info, "log": str(log_path)}
        if child.poll() is not None:
            tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-1:] or [""]
            raise SbschedError(f"the daemon exited at start (code {child.returncode}): {tail[0]}",
                               hint=f"see {log_path}")
        tick.wait(POLL)
    raise SbschedError(f"the daemon did not start within {timeout:g}s", hint=f"see {log_path}")


def stop(root: Path, *, grace: float) -> dict[str, Any] | None:
    """Drain, then cancel, then kill. None when no daemon ran."""
    info = PidFile(root).running()
    if info is None:
        return None
    pid = int(info["pid"])
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGUSR2, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return info
        if _wait_gone(pid, wait):
            return info
    return info


def _wait_gone(pid: int, timeout: float) -> bool:
    tick = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process_alive(pid):
            return True
        tick.wait(POLL)
    return False
