"""`sbsched daemon status`: what a running daemon is doing, as one plain document (the CLI renders it).
Health is what the daemon's /healthz and /readyz say; without an endpoint, the state and lock checks
are made here."""
from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..base.clock import Clock
from ..store.pidfile import PidFile
from ..store.state import StateStore
from ..timing.decisions import next_due, record_problem
from .health import Health, probe
from .procstat import Sample, cpu_percent, sample


@dataclass(frozen=True)
class DaemonStatus:
    """`view` is None when no daemon runs; `process` is this refresh's sample of it (None when it runs on
    another host), for the next refresh's CPU figure."""

    view: dict[str, Any] | None
    process: Sample | None


def daemon_status(state_store: StateStore, clock: Clock, *, before: Sample | None, taken: float) -> DaemonStatus:
    """The daemon of `state_store` now; the CPU figure is its use since `before` (None: since it started)."""
    info = PidFile(state_store.root).running()
    if info is None:
        return DaemonStatus(None, None)
    now = clock.now()
    state = state_store.read()
    upcoming = next_due(state, now)
    invalid = sorted(name for name, rec in state["schedules"].items() if record_problem(rec) is not None)
    active = sorted(a for rec in state["schedules"].values() for a in (rec.get("status") or {}).get("active") or [])
    address = info.get("metrics")
    health = probe(address) if address else {"readyz": Health(state_store, clock).ready()}
    up = now - datetime.fromisoformat(info["since"])
    process = sample(int(info["pid"]), taken=taken) if info["host"] == socket.gethostname() else None
    cpu = round(cpu_percent(process, before, uptime_seconds=up.total_seconds()), 1) if process else None
    return DaemonStatus({
        "running": True, "pid": info["pid"], "host": info["host"], "since": info["since"],
        "uptimeSeconds": int(up.total_seconds()), "rssBytes": process.rss_bytes if process else None,
        "cpuPercent": cpu, "schedules": len(state["schedules"]), "notScheduled": invalid, "active": active,
        "nextDue": {"schedule": upcoming[0], "time": upcoming[1].isoformat()} if upcoming else None,
        "metrics": address, "health": health}, process)
