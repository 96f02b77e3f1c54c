"""time and hostServices: systemd's view of the host.

troubleshoot asks timedated over D-Bus (pkg/collect/host_time.go, TimeInfo); `timedatectl show`
reads the same three properties through the same service without a D-Bus library; where timedated
is not there (a container, a host without systemd), time falls back to the zone files and the kernel
clock (kernelclock.py) and says so in `source`, an sbsched addition. hostServices
lists service units as pkg/collect/host_services.go does (ServiceInfo), with systemctl's "●" mark
for failed units dropped so the unit name lands in "Unit"; a host without systemd (no binary, or
not booted with it) makes it not applicable: skipped, where troubleshoot reports an error.
"""
from __future__ import annotations

from typing import Any

from .. import CollectContext, CollectorSpec, Skipped
from .kernelclock import kernel_ntp_synchronized, local_zone
from .limits import Deadline
from .proc import capture, find

HOST_TIME_PATH = "host-collectors/system/time.json"
HOST_SERVICES_PATH = "host-collectors/system/systemctl_services.json"
_NO_SYSTEMD = ("has not been booted with systemd", "Failed to connect to bus")
_MARKS = ("●", "*", "×")


def host_time(spec: CollectorSpec, ctx: CollectContext) -> None:
    try:
        out = _systemd_tool(ctx, "timedatectl", "show", "-p", "Timezone", "-p", "NTPSynchronized", "-p", "NTP")
    except Skipped:
        ctx.output.write_json(HOST_TIME_PATH, _without_timedated(ctx))
        return
    properties = dict(line.partition("=")[::2] for line in out.splitlines() if "=" in line)
    ctx.output.write_json(HOST_TIME_PATH, {
        "timezone": _troubleshoot_zone(properties.get("Timezone", "")),
        "ntp_synchronized": _yes_no(properties, "NTPSynchronized"),
        "ntp_active": _yes_no(properties, "NTP"),
        "source": "timedated",
    })


def _without_timedated(ctx: CollectContext) -> dict[str, Any]:
    """No timedated to ask whether an NTP service is enabled: a kernel clock kept synchronised means
    one is running (on this host, or on the node under this container), so ntp_active follows it."""
    zone, where = local_zone(ctx.env)
    synchronized = kernel_ntp_synchronized()
    return {"timezone": _troubleshoot_zone(zone), "ntp_synchronized": synchronized, "ntp_active": synchronized,
            "source": f"{where}, adjtimex"}


def _troubleshoot_zone(timezone: str) -> str:
    if timezone.lower() == "etc/utc":
        timezone = "UTC"   # Ubuntu's name for it; troubleshoot's analyzers expect "UTC"
    return timezone.upper()


def host_services(spec: CollectorSpec, ctx: CollectContext) -> None:
    out = _systemd_tool(ctx, "systemctl", "list-units", "--type=service", "--no-legend", "--all")
    services = [_service(line.split()) for line in out.splitlines() if line.strip()]
    ctx.output.write_json(HOST_SERVICES_PATH, services or None)   # Go marshals a nil slice as null


def _service(words: list[str]) -> dict[str, Any]:
    if words and words[0] in _MARKS:
        words = words[1:]
    unit, load, active, sub = (words + ["", "", "", ""])[:4]
    return {"Unit": unit, "Load": load, "Active": active, "Sub": sub}


def _systemd_tool(ctx: CollectContext, name: str, *args: str) -> str:
    code, out, err = capture([find(name, ctx), *args], ctx, Deadline(ctx))
    message = err.decode("utf-8", errors="replace").strip()
    if code != 0 and any(sign in message for sign in _NO_SYSTEMD):
        raise Skipped(f"{name}: {message.splitlines()[0]}")
    if code != 0:
        raise RuntimeError(f"failed to execute {name}: exit status {code}: {message}")
    return out.decode("utf-8", errors="replace")


def _yes_no(properties: dict[str, str], key: str) -> bool:
    value = properties.get(key)
    if value not in ("yes", "no"):
        raise RuntimeError(f"Unexpected value for property org.freedesktop.timedate1.{key}: {value}")
    return value == "yes"
