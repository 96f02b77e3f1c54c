"""make stress: the real sbsched binary under faults, load and hostile input; a table, a JSON report.

    .venv/bin/python stress/run.py                 # every scenario (~7 min on 2 cores), seed from the clock
    .venv/bin/python stress/run.py --seed 42       # the same random choices again (make stress SEED=42)
    .venv/bin/python stress/run.py --only kill     # scenarios whose name contains "kill"

Writes bench/results/stress-<date>.json (machine, seed, commit, every scenario's trials, failures and
details) and exits 1 when any scenario has a failure. docs/reliability.md says what each one checks.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # `python stress/run.py` from the repo

from stress import (cancel_backoff, concurrent_apply, concurrent_manual_runs, disk_full, fuzz,  # noqa: E402
                    hostile, hostile_files, hostile_inputs, kill9, lock_removal, lost_reload, redirects,
                    orphans, sigterm_run, upload_flap)
from stress import kill9_snapshots  # noqa: E402
from stress.common import ROOT, WORKDIRS, Result  # noqa: E402

BUDGET_S = 600


def machine() -> dict[str, object]:
    model = "unknown"
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="utf-8")
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = "unknown"
    try:
        kib = next(int(line.split()[1]) for line in open("/proc/meminfo", encoding="utf-8")
                   if line.startswith("MemTotal:"))
        memory = f"{kib / 2**20:.1f} GiB"
    except (OSError, StopIteration):
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "memory": memory, "python": platform.python_version(),
            "kernel": platform.release(), "load average": [round(x, 2) for x in os.getloadavg()]}


def commit() -> str:
    proc = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True).stdout.strip()
    return proc.stdout.strip() + ("+dirty" if dirty else "")


def table(results: list[Result]) -> str:
    rows = [("scenario", "trials", "failures", "seconds", "notes")]
    for r in results:
        notes = "; ".join(r.notes) or "-"
        rows.append((r.name, f"{r.trials:,}", str(len(r.failures)), f"{r.seconds:.0f}", notes))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) if i < 4 else cell
                               for i, cell in enumerate(row)))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 5)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--only", default=None, help="run the scenarios whose name contains this")
    parser.add_argument("--out", default=None, help="the JSON report (default bench/results/stress-<date>.json)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    rng = random.Random(seed)
    scenarios: list[tuple[str, Callable[[], Result]]] = [
        ("kill -9 (apply, daemon)", lambda: kill9.run(rng, trials=100)),
        ("kill -9 (apply with spec snapshots)", lambda: kill9_snapshots.run(rng, trials=40)),
        ("concurrent apply", lambda: concurrent_apply.run(rng)),
        ("lost reload", lambda: lost_reload.run()),
        ("concurrent manual runs", lambda: concurrent_manual_runs.run()),
        ("lock-file-removal", lambda: lock_removal.run(rng)),
        ("disk full", lambda: disk_full.run()),
        ("upload endpoint flapping", lambda: upload_flap.run(seed)),
        ("cancel-during-backoff", lambda: cancel_backoff.run()),
        ("hostile manifests", lambda: hostile.run()),
        ("hostile files", lambda: hostile_files.run()),
        ("hostile redirects", lambda: redirects.run()),
        ("hostile inputs and credentials", lambda: hostile_inputs.run(rng)),
        ("fuzz (hypothesis)", lambda: fuzz.run(seed, total=10_000)),
        ("sigterm-run", lambda: sigterm_run.run(rng, trials=48)),
        ("orphans", lambda: orphans.run(rng, trials=24)),
    ]
    info = machine()
    print(f"make stress: seed {seed}, {info['nproc']} CPU ({info['cpu']}), Python {info['python']}, "
          f"commit {commit()}", flush=True)
    started = time.monotonic()
    results: list[Result] = []
    for name, scenario in scenarios:
        if args.only and args.only.lower() not in name.lower():
            continue
        print(f"  {name} ...", end="", flush=True)
        begun = time.monotonic()
        try:
            result = scenario()
        except Exception:  # a harness crash is a failure of the scenario, shown in full
            result = Result(name, failures=[f"the scenario crashed:\n{traceback.format_exc()}"])
        result.seconds = time.monotonic() - begun
        results.append(result)
        kept = list(WORKDIRS)
        WORKDIRS.clear()
        if result.failures:
            result.notes.append(f"work dirs kept: {', '.join(map(str, kept))}")
        else:
            for path in kept:
                shutil.rmtree(path, ignore_errors=True)
        print(f" {result.trials:,} trials, {len(result.failures)} failure(s), {result.seconds:.0f} s", flush=True)
    total = time.monotonic() - started
    print()
    print(table(results))
    print(f"\ntotal {total:.0f} s (budget {BUDGET_S} s), seed {seed}: `make stress SEED={seed}` replays it")
    failures = [(r.name, f) for r in results for f in r.failures]
    for name, failure in failures:
        print(f"FAIL {name}: {failure}")
    day = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"stress-{day}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "seed": seed, "commit": commit(),
              "machine": info, "seconds": round(total, 1), "budget seconds": BUDGET_S,
              "scenarios": [r.to_json() for r in results]}
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"report: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    if total > BUDGET_S and not args.only:
        print(f"over the {BUDGET_S} s budget")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
