"""The daemon's views: `daemon status` as text (JSON and YAML are its document as it is)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from .render import NONE, duration


def daemon_status_text(view: dict[str, Any] | None, *, refreshed: bool) -> str:
    """`refreshed`: the CPU figure is the use since the last refresh, not the average since the start."""
    if view is None:
        return "sbsched daemon is not running"
    rss, cpu, invalid, upcoming = view["rssBytes"], view["cpuPercent"], view["notScheduled"], view["nextDue"]
    address, health = view["metrics"], view["health"]
    over = "since the last refresh" if refreshed else "on average since it started"
    return "\n".join([
        f"sbsched daemon is running: pid {view['pid']} on {view['host']}",
        f"Up:        {duration(timedelta(seconds=view['uptimeSeconds']))} (since {view['since']})",
        f"Memory:    {rss / 2**20:.1f} MiB resident" if rss is not None else "Memory:    n/a (not on this host)",
        f"CPU:       {cpu:.1f}% of one CPU, {over}" if cpu is not None else "CPU:       n/a (not on this host)",
        f"Schedules: {view['schedules']}" + (f" ({len(invalid)} not scheduled: {', '.join(invalid)}; "
                                             "`sbsched status NAME` says why)" if invalid else ""),
        f"Next due:  {upcoming['schedule']} at {upcoming['time']}" if upcoming else "Next due:  <none>",
        f"Active:    {', '.join(view['active']) or NONE}",
        f"Metrics:   http://{address}/metrics" if address else "Metrics:   not served (daemon start --metrics-addr)",
        "Health:    " + (health_line(health["healthz"]) if "healthz" in health else "not served"),
        "Ready:     " + health_line(health["readyz"])])


def health_line(report: dict[str, Any]) -> str:
    """`ok` or `failing`, then each check: `failing (state failing: Permission denied: ...; lock ok)`."""
    parts = []
    for name, check in report["checks"].items():
        detail = check.get("error") or (f"last iteration {check['lastIterationAgeSeconds']:g}s ago"
                                        if "lastIterationAgeSeconds" in check else "")
        parts.append(f"{name} {check['status']}" + (f": {detail}" if detail else ""))
    return f"{report['status']} ({'; '.join(parts)})"
