"""A process's resident memory and CPU time, read from /proc (Linux), for `daemon status`.

CPU use is a rate: the CPU seconds a process used between two samples over the wall seconds between
them; with one sample, its CPU seconds over its uptime (the average since it started). None where
/proc does not answer (another OS, another PID namespace, a process that is gone)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class Sample:
    rss_bytes: int
    cpu_seconds: float
    taken: float          # time.monotonic() when read


def sample(pid: int, *, taken: float, proc: Path = PROC) -> Sample | None:
    try:
        status = (proc / str(pid) / "status").read_text()
        fields = (proc / str(pid) / "stat").read_text().rpartition(")")[2].split()
    except (OSError, ValueError):
        return None
    rss_kib = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    ticks = os.sysconf("SC_CLK_TCK")
    try:   # fields after the command name: utime and stime are the 12th and 13th
        cpu = (int(fields[11]) + int(fields[12])) / ticks
    except (IndexError, ValueError):
        return None
    return Sample(rss_kib * 1024, cpu, taken)


def cpu_percent(now: Sample, before: Sample | None, *, uptime_seconds: float) -> float:
    """Per cent of one CPU since `before`, or on average since the process started."""
    if before is not None and now.taken > before.taken:
        return 100 * max(0.0, now.cpu_seconds - before.cpu_seconds) / (now.taken - before.taken)
    return 100 * now.cpu_seconds / uptime_seconds if uptime_seconds > 0 else 0.0
