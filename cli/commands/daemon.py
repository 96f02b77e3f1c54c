"""sbsched daemon start|stop|status|reload|restart, and reconcile --once."""
from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, Mapping

from .. import render
from ..render_daemon import daemon_status_text
from ._common import store


def start(*, state_dir: str | None, foreground: bool, flags: Mapping[str, Any], recover: bool = False) -> int:
    """`flags`: the settings given on the command line; the configuration files and the defaults fill in
    the rest (in the background child too, which gets only these flags and records them for `restart`)."""
    from reconciler.daemon import control

    root = store(state_dir, writes=True).root
    info = control.start(root, flags, foreground=foreground, recover=recover)
    if info is not None:
        served = f", metrics http://{info['metrics']}/metrics" if info.get("metrics") else ""
        render.out(f"sbsched daemon started: pid {info['pid']}, state {root}, log {info['log']}{served}")
    return 0


def restart(*, state_dir: str | None, grace: float | None, flags: Mapping[str, Any], recover: bool = False) -> int:
    """Stop (as `stop`), then start in the background with the flags the daemon was started with, these
    flags on top; the config files are read anew. Not running: start it. `recover`: the new daemon runs
    again each schedule's latest run if the stop (or a crash) cut it short."""
    from reconciler.daemon import control

    root = store(state_dir, writes=True).root
    running, merged = control.restart_flags(root, flags)
    if running is not None:
        info = control.stop(root, grace=grace)
        render.out(f"sbsched daemon stopped (was pid {info['pid'] if info else running['pid']})")
    return start(state_dir=state_dir, foreground=False, flags=merged, recover=recover)


def reconcile_once(*, state_dir: str | None, flags: Mapping[str, Any], output: str) -> int:
    from reconciler.daemon import control

    results = control.reconcile_once(store(state_dir, writes=True).root, flags)
    if output != "text":
        render.out(render.document({"items": results}, output))
    else:
        for record in results:
            render.out(render.execution_text(record))
        if not results:
            render.out("Nothing was due.")
    return 1 if any(r["status"] == "failed" for r in results) else 0


def stop(*, state_dir: str | None, grace: float | None) -> int:
    from reconciler.daemon import control

    info = control.stop(store(state_dir).root, grace=grace)
    render.out("sbsched daemon is not running" if info is None else f"sbsched daemon stopped (was pid {info['pid']})")
    return 0


def reload(*, state_dir: str | None) -> int:
    from reconciler.base.errors import SbschedError
    from reconciler.store.pidfile import signal_daemon

    info = signal_daemon(store(state_dir).root, signal.SIGHUP)
    if info is None:
        raise SbschedError("sbsched daemon is not running", hint="sbsched daemon start")
    render.out(f"sbsched daemon (pid {info['pid']}) reloads the state")
    return 0


def status(*, state_dir: str | None, output: str, watch: bool = False, interval: float = 2.0,
           iterations: int | None = None) -> int:
    """Exit 0 when the daemon runs, 3 when it does not (as `systemctl status`). `watch`: show it again
    every `interval` seconds (on a terminal, in place) until interrupted, or `iterations` times; the CPU
    figure is then the use between two refreshes."""
    import sys
    import threading
    import time

    from reconciler.base.clock import SystemClock
    from reconciler.daemon.procstat import Sample
    from reconciler.daemon.status_view import daemon_status

    state_store = store(state_dir)
    before: Sample | None = None
    shown = 0
    tick = threading.Event()
    while True:
        found = daemon_status(state_store, SystemClock(), before=before, taken=time.monotonic())
        if output != "text":
            text = render.document(found.view or {"running": False}, output)
        else:
            text = daemon_status_text(found.view, refreshed=before is not None)
        before = found.process
        if watch and output == "text" and sys.stdout.isatty():
            render.out("\x1b[H\x1b[2J" + text)
        else:
            render.out(text)
        shown += 1
        if not watch or (iterations is not None and shown >= iterations):
            return 0 if found.view is not None else 3
        sys.stdout.flush()
        tick.wait(interval)


def install(*, system: bool, unit_dir: str | None) -> int:
    """Write (and, where systemd runs, enable and start) the system-wide unit, and make its state dir:
    private, or 2770 with the first of the system file's allowedGroups. Exit 0 when the unit is written,
    enabled or not (then a warning says why and how)."""
    import sys

    from reconciler.base.errors import UsageError
    from reconciler.daemon.install import UNIT, UNIT_DIR, install as write_unit, make_state_dir
    from reconciler.store.config_files import system_access
    from reconciler.store.paths import dir_mode

    if not system:
        raise UsageError("daemon install writes the system-wide unit: pass --system",
                         hint="a daemon of your own: sbsched daemon start")
    installed_binary = Path(sys.executable).parent / "sbsched"
    command = [str(installed_binary)] if installed_binary.exists() else [sys.executable, "-m", "cli"]
    groups = system_access()[1]
    done = write_unit(command=command, group=groups[0] if groups else None,
                      unit_dir=Path(unit_dir) if unit_dir else UNIT_DIR)
    gid = make_state_dir(done.state_dir, lambda path: store(str(path), writes=True).root)  # store() admits
    shared = f", shared with group {groups[0]} ({dir_mode():04o})" if gid is not None else " (0700)"
    render.out(f"wrote {done.unit}: state dir {done.state_dir}{shared}")
    if done.config_written is not None:
        render.out(f"wrote {done.config_written}: storageConfig.baseDir {done.state_dir}, so every user's sbsched "
                   "uses it")
    if done.enabled:
        render.out(f"enabled and started {UNIT}")
    else:
        sys.stderr.write(f"sbsched: warning: wrote the unit but could not enable it: {done.not_enabled_why}; where "
                         f"systemd runs: systemctl daemon-reload && systemctl enable --now {UNIT}\n")
    return 0
