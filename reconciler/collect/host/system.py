"""cpu, memory, hostOS and diskUsage: what troubleshoot reads through gopsutil, read here from /proc,
/sys, uname and statvfs the same way, so the numbers match what `support-bundle` would write.

Shapes: troubleshoot pkg/collect host_cpu.go (CPUInfo), host_memory.go (MemoryInfo),
host_os_info.go (HostOSInfo), host_disk_usage.go (DiskUsageInfo).
"""
from __future__ import annotations

import glob
import os
import socket
from pathlib import Path

from .. import CollectContext, CollectorSpec
from .osinfo import platform_information
from ..params import bundle_path, collector_name, text

HOST_CPU_PATH = "host-collectors/system/cpu.json"
HOST_MEMORY_PATH = "host-collectors/system/memory.json"
HOST_OS_INFO_PATH = "host-collectors/system/hostos_info.json"
_TOPOLOGY = ("/sys/devices/system/cpu/cpu[0-9]*/topology/core_cpus_list",
             "/sys/devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list")


def cpu(spec: CollectorSpec, ctx: CollectContext) -> None:
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    ctx.output.write_json(HOST_CPU_PATH, {
        "logicalCount": _logical_count(cpuinfo),
        "physicalCount": _physical_count(cpuinfo),
        "flags": _flags(cpuinfo) or None,   # Go marshals a nil slice as null
        "machineArch": os.uname().machine,
    })


def memory(spec: CollectorSpec, ctx: CollectContext) -> None:
    for line in Path("/proc/meminfo").read_text(encoding="ascii", errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key == "MemTotal":
            ctx.output.write_json(HOST_MEMORY_PATH, {"total": int(value.split()[0]) * 1024})
            return
    raise RuntimeError("failed to read virtual memory: no MemTotal in /proc/meminfo")


def host_os(spec: CollectorSpec, ctx: CollectContext) -> None:
    platform, family, version = platform_information(Path("/etc"))
    ctx.output.write_json(HOST_OS_INFO_PATH, {
        "name": socket.gethostname(),
        "kernelVersion": os.uname().release,
        "platformVersion": version,
        "platform": platform,
        "platformFamily": family,
    })


def disk_usage(spec: CollectorSpec, ctx: CollectContext) -> None:
    wanted = text(spec.params, "path")
    if not wanted:
        raise ValueError("diskUsage needs a path")
    path = _existing_ancestor(wanted)
    stat = os.statvfs(path)
    name = collector_name(spec, "diskUsage")
    ctx.output.write_json(bundle_path("host-collectors/diskUsage", name + ".json"), {
        "total_bytes": stat.f_blocks * stat.f_bsize,
        "used_bytes": (stat.f_blocks - stat.f_bfree) * stat.f_bsize,
    })


def _existing_ancestor(path: str) -> str:
    """The path, or its nearest existing parent: a volume that is not created yet still has a disk."""
    current = os.path.normpath(path)
    for _ in range(50):
        if os.path.exists(current) or current == "/":
            return current
        current = os.path.dirname(current)
    raise RuntimeError(f"traverse file tree: no existing parent of {path} within 50 levels")


def _logical_count(cpuinfo: list[str]) -> int:
    count = sum(1 for line in cpuinfo
                if line.lower().startswith("processor") and _is_int(line.partition(":")[2]))
    if count:
        return count
    stat = Path("/proc/stat").read_text(encoding="ascii", errors="replace").splitlines()
    return sum(1 for line in stat if len(line) >= 4 and line.startswith("cpu") and line[3].isdigit())


def _physical_count(cpuinfo: list[str]) -> int:
    """Distinct core sibling sets in sysfs; else, as psutil does, `cpu cores` per `physical id`."""
    siblings: set[str] = set()
    for pattern in _TOPOLOGY:
        for name in glob.glob(pattern):
            lines = Path(name).read_text(encoding="ascii", errors="replace").splitlines()
            if len(lines) == 1:
                siblings.add(lines[0])
        if siblings:
            return len(siblings)
    cores_by_socket: dict[int, int] = {}
    current: dict[str, int] = {}
    for line in cpuinfo:
        line = line.strip().lower()
        if not line:
            if "physical id" in current and "cpu cores" in current:
                cores_by_socket[current["physical id"]] = current["cpu cores"]
            current = {}
            continue
        key, sep, value = line.partition(":")
        if sep and key.strip() in ("physical id", "cpu cores") and _is_int(value):
            current[key.strip()] = int(value)
    return sum(cores_by_socket.values())


def _flags(cpuinfo: list[str]) -> list[str]:
    """Every flag any processor reports, in first-seen order (x86 `flags`, arm `Features`, riscv `isa`)."""
    seen: dict[str, None] = {}
    current: list[str] | None = None
    for line in cpuinfo + ["processor: end"]:
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep:
            continue
        if key in ("processor", "cpu number"):
            seen.update(dict.fromkeys(current or []))
            current = []
        elif current is not None and key in ("flags", "Features"):
            current = value.replace(",", " ").split()
        elif current == [] and key in ("isa", "hart isa") and value.startswith("rv64"):
            base, *extensions = value.split("_")
            current = list(base[4:]) + extensions if len(base) > 4 else []
    return list(seen)


def _is_int(value: str) -> bool:
    try:
        int(value.strip())
    except ValueError:
        return False
    return True
