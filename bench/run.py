"""`make bench`: every sbsched benchmark in one process run, one report.

Why one runner: the figures are only comparable when they come from the same machine state, so they
are printed together with the load they were taken under. A benchmark that crashes is reported and
the others still run. MISS rows are reported, not fatal (timings on a shared CI machine are noisy);
the exit status is 1 only when a benchmark crashed or a command FAILed (wrong exit code, a no-op
apply that rewrote state.json), i.e. when something is broken rather than slow. `--strict` also
fails on MISS.

    .venv/bin/python bench/run.py [--strict]
"""
from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_cli  # noqa: E402  (siblings, found through the line above)
import bench_cluster  # noqa: E402
import bench_collect  # noqa: E402
import bench_manifest  # noqa: E402
import bench_run  # noqa: E402
import bench_upload  # noqa: E402


def load_sibling(name: str) -> ModuleType | None:
    """Import bench/<name>.py by path, or None when the file does not exist (yet)."""
    path = HERE / f"{name}.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_one(title: str, main: Callable[[], object]) -> tuple[str, str]:
    """Run one benchmark's main(); (title, outcome). Ours return a Counter of verdicts (PASS, MISS, FAIL,
    SKIP); a main written elsewhere may return anything, which is shown as it is."""
    start = time.monotonic()
    try:
        result = main()
    except Exception:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        return title, "ERROR (see traceback above)"
    finally:
        print(f"[{title}: {time.monotonic() - start:.0f} s]\n", flush=True)
    if isinstance(result, Counter):
        return title, ", ".join(f"{count} {word}" for word, count in sorted(result.items())) or "no targets"
    return title, "done" if result in (None, 0, True) else f"returned {result!r}"


def cron_benchmark() -> tuple[str, str]:
    try:
        module = load_sibling("bench_cron")
    except Exception:
        traceback.print_exc()
        return "cron", "ERROR (bench_cron.py does not import)"
    if module is None or not hasattr(module, "main"):
        print("== Cron: bench/bench_cron.py is missing (or has no main()); skipped\n")
        return "cron", "skipped (bench_cron.py missing)"
    return run_one("cron", module.main)


def main(argv: list[str]) -> int:
    strict = "--strict" in argv
    start = time.monotonic()
    print(f"sbsched benchmarks — {bench_cli.environment_note()}\n", flush=True)
    outcomes = [
        run_one("CLI responsiveness", bench_cli.main),
        run_one("manifest scale", bench_manifest.main),
        run_one("bundle streaming", bench_run.main),
        cron_benchmark(),
        run_one("daemon vs APScheduler", getattr(load_sibling("bench_daemon"), "main", lambda: "missing")),
        run_one("S3 upload", bench_upload.main),
        run_one("Kubernetes collection", bench_collect.main),   # last: it imports the kubernetes client here
        run_one("Large clusters", bench_cluster.main),
    ]
    print(f"== Summary ({time.monotonic() - start:.0f} s in total)")
    print(bench_cli.table(["benchmark", "outcome"], [list(o) for o in outcomes]))
    broken = any("ERROR" in o or "FAIL" in o for _, o in outcomes)
    missed = any("MISS" in o or "SKIP" in o for _, o in outcomes)
    return 1 if broken or (strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
