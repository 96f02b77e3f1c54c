"""sbsched daemon start|stop|status|reload|restart, and reconcile --once."""
from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from .. import render
from ._common import store


def start(*, state_dir: str | None, foreground: bool, flags: Mapping[str, Any], recover: bool = False) -> int:
    """`flags`: the settings given on the command line; the configuration files and the defaults fill in
    the rest (in the background child too, which gets only these flags and records them for `restart`)."""
    from reconciler.daemon import config as daemon_config, service
    from reconciler.daemon.health import parse_addr

    root = store(state_dir, writes=True).root
    settings = daemon_config.resolve(root, flags)   # a bad setting fails here, not in the child
    address = parse_addr(settings.metrics_addr) if settings.metrics_addr is not None else None
    log_file = Path(settings.log_file).absolute() if settings.log_file else None
    if foreground:
        default_log = root / "logs" / "daemon.log"   # what a background start gives its child: not a user's flag
        service.serve(root, max_concurrent=settings.max_concurrent, log_format=settings.log_format,
                      metrics_addr=address, log_file=log_file, log_level=settings.log_level,
                      check_interval=settings.check_interval, recover=recover,
                      started_with={k: v for k, v in flags.items()
                                    if v is not None and not (k == "logFile" and Path(v) == default_log)})
        return 0
    info = service.start_background(root, flags=[*daemon_config.as_flags(flags), *(["--recover"] if recover else [])],
                                    serves_metrics=address is not None, log_file=log_file)
    served = f", metrics http://{info['metrics']}/metrics" if info.get("metrics") else ""
    render.out(f"sbsched daemon started: pid {info['pid']}, state {root}, log {info['log']}{served}")
    return 0


def restart(*, state_dir: str | None, grace: float | None, flags: Mapping[str, Any], recover: bool = False) -> int:
    """Stop (as `stop`), then start in the background with the flags the daemon was started with, these
    flags on top; the config files are read anew. Not running: start it. `recover`: the new daemon runs
    again each schedule's latest run if the stop (or a crash) cut it short."""
    from reconciler.daemon import config as daemon_config, service
    from reconciler.store.pidfile import PidFile

    root = store(state_dir, writes=True).root
    running = PidFile(root).running()
    recorded = dict((running or {}).get("startedWith") or {})
    merged = {**recorded, **{k: v for k, v in flags.items() if v is not None}}
    daemon_config.resolve(root, merged)   # refuse a bad setting before stopping anything
    if running is not None:
        info = service.stop(root, grace=grace if grace is not None else daemon_config.resolve(root, {}).grace)
        render.out(f"sbsched daemon stopped (was pid {info['pid'] if info else running['pid']})")
    return start(state_dir=state_dir, foreground=False, flags=merged, recover=recover)


def reconcile_once(*, state_dir: str | None, flags: Mapping[str, Any], output: str) -> int:
    from reconciler.daemon import config as daemon_config, service

    root = store(state_dir, writes=True).root
    settings = daemon_config.resolve(root, flags)
    results = service.serve(root, max_concurrent=settings.max_concurrent, log_format=settings.log_format, once=True,
                            log_level=settings.log_level)
    if output != "text":
        render.out(render.document({"items": results}, output))
    else:
        for record in results:
            render.out(render.execution_text(record))
        if not results:
            render.out("Nothing was due.")
    return 1 if any(r["status"] == "failed" for r in results) else 0


def stop(*, state_dir: str | None, grace: float | None) -> int:
    from reconciler.daemon import config as daemon_config, service

    root = store(state_dir).root
    info = service.stop(root, grace=grace if grace is not None else daemon_config.resolve(root, {}).grace)
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
    """Exit 0 when the daemon runs, 3 when it does not (as `systemctl status`). Health is what the daemon's
    /healthz and /readyz say; without an endpoint, the state and lock checks are made here. `watch`:
    show it again every `interval` seconds (on a terminal, in place) until interrupted, or `iterations`
    times; the CPU figure is then the use between two refreshes."""
    import sys
    import threading
    import time

    from reconciler.daemon.procstat import Sample

    state_store = store(state_dir)
    before: Sample | None = None
    shown = 0
    tick = threading.Event()
    while True:
        code, text, before = _status_once(state_store, output, before, taken=time.monotonic())
        if watch and output == "text" and sys.stdout.isatty():
            render.out("\x1b[H\x1b[2J" + text)
        else:
            render.out(text)
        shown += 1
        if not watch or (iterations is not None and shown >= iterations):
            return code
        sys.stdout.flush()
        tick.wait(interval)


def _status_once(state_store: Any, output: str, before: Any, *, taken: float) -> tuple[int, str, Any]:
    """(exit code, the view, this refresh's process sample)."""
    import socket

    from reconciler.base.clock import SystemClock
    from reconciler.daemon.health import Health, probe
    from reconciler.daemon.procstat import cpu_percent, sample
    from reconciler.store.pidfile import PidFile
    from reconciler.timing.decisions import next_due, record_problem

    info = PidFile(state_store.root).running()
    now = SystemClock().now()
    if info is None:
        return 3, render.document({"running": False}, output) if output != "text" else \
            "sbsched daemon is not running", None
    state = state_store.read()
    upcoming = next_due(state, now)
    invalid = sorted(name for name, rec in state["schedules"].items() if record_problem(rec) is not None)
    active = sorted(a for rec in state["schedules"].values() for a in (rec.get("status") or {}).get("active") or [])
    address = info.get("metrics")
    health = probe(address) if address else {"readyz": Health(state_store, SystemClock()).ready()}
    up = now - datetime.fromisoformat(info["since"])
    process = sample(int(info["pid"]), taken=taken) if info["host"] == socket.gethostname() else None
    cpu = round(cpu_percent(process, before, uptime_seconds=up.total_seconds()), 1) if process else None
    view = {"running": True, "pid": info["pid"], "host": info["host"], "since": info["since"],
            "uptimeSeconds": int(up.total_seconds()), "rssBytes": process.rss_bytes if process else None,
            "cpuPercent": cpu, "schedules": len(state["schedules"]), "notScheduled": invalid, "active": active,
            "nextDue": {"schedule": upcoming[0], "time": upcoming[1].isoformat()} if upcoming else None,
            "metrics": address, "health": health}
    if output != "text":
        return 0, render.document(view, output), process
    over = "since the last refresh" if before is not None else "on average since it started"
    return 0, "\n".join([
        f"sbsched daemon is running: pid {info['pid']} on {info['host']}",
        f"Up:        {render.duration(up)} (since {info['since']})",
        f"Memory:    {process.rss_bytes / 2**20:.1f} MiB resident" if process else "Memory:    n/a (not on this host)",
        f"CPU:       {cpu:.1f}% of one CPU, {over}" if process else "CPU:       n/a (not on this host)",
        f"Schedules: {view['schedules']}" + (f" ({len(invalid)} not scheduled: {', '.join(invalid)}; "
                                             "`sbsched status NAME` says why)" if invalid else ""),
        f"Next due:  {upcoming[0]} at {upcoming[1].isoformat()}" if upcoming else "Next due:  <none>",
        f"Active:    {', '.join(active) or render.NONE}",
        f"Metrics:   http://{address}/metrics" if address else "Metrics:   not served (daemon start --metrics-addr)",
        "Health:    " + (_health_line(health["healthz"]) if "healthz" in health else "not served"),
        "Ready:     " + _health_line(health["readyz"])]), process


def _health_line(report: dict[str, Any]) -> str:
    """`ok` or `failing`, then each check: `failing (state failing: Permission denied: ...; lock ok)`."""
    parts = []
    for name, check in report["checks"].items():
        detail = check.get("error") or (f"last iteration {check['lastIterationAgeSeconds']:g}s ago"
                                        if "lastIterationAgeSeconds" in check else "")
        parts.append(f"{name} {check['status']}" + (f": {detail}" if detail else ""))
    return f"{report['status']} ({'; '.join(parts)})"


def install(*, system: bool, unit_dir: str | None) -> int:
    """Write (and, where systemd runs, enable and start) the system-wide unit, and make its state dir:
    private, or 2770 with the first of the system file's allowedGroups. Exit 0 when the unit is written,
    enabled or not (then a warning says why and how)."""
    import os
    import sys

    from reconciler.base.errors import UsageError
    from reconciler.daemon.install import UNIT, UNIT_DIR, install as write_unit
    from reconciler.store.config_files import system_access
    from reconciler.store.paths import dir_mode, ensure_dir, shared_gid

    if not system:
        raise UsageError("daemon install writes the system-wide unit: pass --system",
                         hint="a daemon of your own: sbsched daemon start")
    installed_binary = Path(sys.executable).parent / "sbsched"
    command = [str(installed_binary)] if installed_binary.exists() else [sys.executable, "-m", "cli"]
    groups = system_access()[1]
    done = write_unit(command=command, group=groups[0] if groups else None,
                      unit_dir=Path(unit_dir) if unit_dir else UNIT_DIR)
    os.makedirs(done.state_dir.parent, mode=0o755, exist_ok=True)   # as /var/lib: every member passes through
    root = ensure_dir(store(str(done.state_dir), writes=True).root)   # store(): admits, and sets the modes
    gid = shared_gid()
    if gid is not None:
        os.chown(root, -1, gid)   # before the mode: a chown clears the setgid bit
        os.chmod(root, dir_mode())
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
