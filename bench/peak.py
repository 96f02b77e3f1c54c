"""Run the sbsched CLI in this process, then write this process's peak RSS (VmHWM, KiB) to $BENCH_PEAK_FILE.

Why not `ru_maxrss` from wait4: on Linux a child's maxrss starts at the RSS of the process that spawned
it (the high-water mark is carried across fork and exec), so a child of a 250 MiB benchmark process
reports at least 250 MiB whatever it does itself. VmHWM belongs to the exec'd image alone.

    BENCH_PEAK_FILE=/tmp/peak .venv/bin/python bench/peak.py run nightly
"""
from __future__ import annotations

import os
import sys


def _vmhwm_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))


def main() -> int:
    from cli.main import run

    sys.argv = ["sbsched", *sys.argv[1:]]   # as the console script sees it (the audit log records it)
    try:
        return run(sys.argv[1:])
    finally:
        with open(os.environ["BENCH_PEAK_FILE"], "w", encoding="ascii") as out:
            out.write(str(_vmhwm_kib()))


if __name__ == "__main__":
    sys.exit(main())
