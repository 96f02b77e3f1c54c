"""The daemon as an operating-system service: one per state dir, signals, logs, background start.

`serve` runs the loop in the foreground (systemd, containers, `reconcile --once`), with the metrics and
health endpoint when given an address; `start_background` re-executes sbsched in its own session,
logging to logs/daemon.log (rotated), and returns once the child holds daemon.pid (and serves its
endpoint); `stop` asks for a drain (SIGTERM), then, past the grace period, for the active runs to be
cancelled (SIGUSR2), then kills.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..base.clock import SystemClock
from ..base.errors import SbschedError
from .logs import configure_logging
from .loop import MAX_SLEEP, Daemon
from ..store.paths import ensure_dir, file_mode
from ..store.pidfile import PidFile, process_alive
from ..store.state import StateStore

if TYPE_CHECKING:
    from .health import MetricsServer
    from .metrics import Metrics

POLL = 0.05


def serve(root: Path, *, max_concurrent: int, log_format: str, once: bool = False, lock_timeout: float = 30.0,
          metrics_addr: tuple[str, int] | None = None, log_file: Path | None = None,
          started_with: dict[str, Any] | None = None, log_level: str = "info",
          check_interval: float = MAX_SLEEP, recover: bool = False) -> list[dict[str, Any]]:
    """Run the reconcile loop here until SIGTERM (or one pass with `once`); with `metrics_addr`, serve
    /metrics, /healthz and /readyz there; with `log_file`, log there (rotated) instead of to stderr."""
    configure_logging(log_format, log_file=log_file, level=log_level,
                      owned=log_file is None or log_file.absolute().parent == (root / "logs").absolute())
    clock = SystemClock()
    pidfile = PidFile(ensure_dir(root))
    pidfile.acquire(clock.now())
    if started_with is not None and not once:
        pidfile.annotate(startedWith=started_with)   # `daemon restart` starts it again with these flags
    daemon = Daemon(StateStore(root), clock, max_concurrent=max_concurrent, lock_timeout=lock_timeout, once=once,
                    metrics=_new_metrics() if metrics_addr else None, max_sleep=check_interval,
                    recover_runs=recover)
    try:
        server = _endpoint(daemon, metrics_addr, pidfile) if metrics_addr else None
    except BaseException:
        pidfile.release()
        raise
    keeping = threading.Event()
    keeper = threading.Thread(target=pidfile.keep, args=(keeping,), name="sbsched-pidfile", daemon=True)
    keeper.start()
    handlers = {signal.SIGTERM: lambda *_: daemon.stop(), signal.SIGINT: lambda *_: daemon.stop(),
                signal.SIGHUP: lambda *_: daemon.request_reload(), signal.SIGUSR1: lambda *_: daemon.request_reload(),
                signal.SIGUSR2: lambda *_: daemon.cancel_all("shutdown")}
    previous = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    logging.getLogger("sbsched.daemon").info("serving %s (pid %d, max %d concurrent runs)%s", root, os.getpid(),
                                             max_concurrent, " once" if once else "")
    started = clock.now()
    if not once:
        _audit(root, clock, "daemon-start", {"stateDir": str(root), "maxConcurrent": max_concurrent,
                                             "metricsAddr": server.address if server is not None else None})
        from .state_mirror import publish_quietly   # a stateMirror just configured is filled without an apply

        threading.Thread(target=publish_quietly, args=(root,), name="sbsched-mirror", daemon=True).start()
    try:
        return daemon.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if server is not None:
            server.close()
        if not once:
            _audit(root, clock, "daemon-stop", {"stateDir": str(root),
                                                "uptimeSeconds": int((clock.now() - started).total_seconds())})
        keeping.set()
        keeper.join()
        pidfile.release()
        logging.getLogger("sbsched.daemon").info("stopped")


def _audit(root: Path, clock: SystemClock, event: str, details: dict[str, Any]) -> None:
    """The daemon's start and stop in logs/audit.log; a failed write is logged, never fatal to the loop."""
    from ..store.audit import audit, command_line

    try:
        audit(root / "logs" / "audit.log", now=clock.now(), command=command_line(sys.argv[1:]), event=event,
              details=details)
    except OSError as exc:
        logging.getLogger("sbsched.daemon").warning("cannot write the audit log: %s", exc)


def _new_metrics() -> Metrics:
    from .metrics import Metrics  # prometheus_client only in a daemon that serves metrics

    return Metrics()


def _endpoint(daemon: Daemon, address: tuple[str, int], pidfile: PidFile) -> MetricsServer:
    """/metrics, /healthz and /readyz of `daemon`, its bound address recorded in daemon.pid."""
    from .health import STALL_AFTER, Health, MetricsServer

    assert daemon.metrics is not None
    health = Health(daemon.store, daemon.clock, lambda: daemon.last_tick,
                    stall_after=max(STALL_AFTER, 3 * daemon.max_sleep))   # the loop may sleep that long
    server = MetricsServer(address, daemon.metrics, health)
    pidfile.annotate(metrics=server.address)
    logging.getLogger("sbsched.daemon").info("metrics on http://%s/metrics, health on /healthz and /readyz",
                                             server.address)
    return server


def start_background(root: Path, *, flags: list[str], serves_metrics: bool = False,
                     timeout: float = 15.0, log_file: Path | None = None) -> dict[str, Any]:
    """Start `sbsched daemon start --foreground FLAGS` detached, logging to `log_file` (default
    logs/daemon.log); return its pid-file info once it serves (and, when it `serves_metrics`, once its
    endpoint listens). The child resolves the configuration itself, so `flags` are only what the user
    gave."""
    pidfile = PidFile(ensure_dir(root))
    running = pidfile.running()
    if running:
        from ..store.pidfile import AlreadyRunning

        raise AlreadyRunning(f"a daemon already serves this state dir: pid {running['pid']} on {running['host']}")
    log_path = log_file or ensure_dir(root / "logs") / "daemon.log"
    ensure_dir(log_path.parent)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, file_mode())
    command = [sys.executable, "-m", "cli", "--state-dir", str(root), "daemon", "start", "--foreground", *flags,
               *(["--log-file", str(log_path)] if log_file is None else [])]   # else a flag or configured
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, start_new_session=True,
                             close_fds=True)
    os.close(fd)
    tick = threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = pidfile.running()
        if info and info.get("pid") == child.pid and (not serves_metrics or "metrics" in info):
            return {**info, "log": str(log_path)}
        if child.poll() is not None:
            raise SbschedError(f"the daemon exited at start (code {child.returncode}): {_last_error(log_path)}",
                               hint=f"see {log_path}")
        tick.wait(POLL)
    raise SbschedError(f"the daemon did not start within {timeout:g}s", hint=f"see {log_path}")


def _last_error(log_path: Path) -> str:
    """The child's error line (the CLI's `sbsched: error: ...`, not the hint after it), else its last line."""
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines() or [""]
    errors = [line.removeprefix("sbsched: error: ") for line in lines if line.startswith("sbsched: error: ")]
    return (errors or lines)[-1]


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
