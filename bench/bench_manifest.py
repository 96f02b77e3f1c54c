"""Manifest scale: the real `sbsched` process on generated manifests of 1,000 and 10,000 schedules.

Why against a bare parse: sbsched's floor is reading the YAML. The reference is a bare
`yaml.load(text, Loader=yaml.CSafeLoader)` of the same file, timed in this process (median of 3);
the targets say how much sbsched may add on top of it, process start-up included. The same parse
with the cyclic GC paused is printed beside it, because PyYAML's constructor spends most of its time
in GC passes over the growing tree, and sbsched (yamlio.load) pauses the GC: that second, stricter
figure is what a ratio near 1 really means.

Each case runs in its own fresh state dir: validate; diff against an empty state (exit 1); the first
apply; diff against the applied state (exit 0); a second, no-op apply, which must leave state.json's
mtime and bytes alone. Every process is timed from spawn to reap with its peak RSS (os.wait4).
"""
from __future__ import annotations

import gc
import hashlib
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_manifest  # noqa: E402  (siblings, found through the line above)
from bench_cli import SBSCHED, Run, median, mib, run_process, sbsched_env, seconds, table  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
RUNS = 3
SLOW_RUN_S = 4.0            # a first run slower than this is measured once: keeps `make bench` bounded
BUDGET_S = 150.0            # the whole manifest benchmark; cases past it are skipped, not run
SMALL_N, SMALL_TARGET_S = 1_000, 1.0
LARGE_N, RATIO_TARGET, NOOP_TARGET_S = 10_000, 1.5, 2.0
# issue 23: 100,000 schedules (~34 MB). Its reference is the GC-paused parse alone, once: with the GC on,
# yaml.load of that file takes minutes. It has a budget and a per-process timeout of its own.
HUGE_N, HUGE_RATIO_TARGET, HUGE_RSS_TARGET_X = 100_000, 1.2, 8.0
HUGE_BUDGET_S, HUGE_RUN_TIMEOUT_S = 600.0, 300.0


# -- the reference: a bare C parse --------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    parse: float | None   # yaml.load with the GC as it is: the reference the targets use (None: not run)
    parse_gc_paused: float
    size: int = 0         # the file's bytes: the peak RSS target of the largest size is a multiple of it


def time_parse(text: str, *, pause_gc: bool) -> float:
    """One yaml.load of `text`, from a collected heap; the result is freed outside the timed part."""
    gc.collect()
    if pause_gc:
        gc.disable()
    try:
        start = time.perf_counter()
        data = yaml.load(text, Loader=yaml.CSafeLoader)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    del data
    return elapsed


def reference(text: str, size: int) -> Reference:
    if size >= HUGE_FILE_BYTES:
        return Reference(parse=None, parse_gc_paused=time_parse(text, pause_gc=True), size=size)
    return Reference(parse=median(time_parse(text, pause_gc=False) for _ in range(RUNS)),
                     parse_gc_paused=median(time_parse(text, pause_gc=True) for _ in range(RUNS)), size=size)


HUGE_FILE_BYTES = 16 * 2**20   # past this, the reference is the GC-paused parse only, once


# -- the cases ----------------------------------------------------------------------------------

@dataclass
class Measured:
    label: str
    expect: int
    runs: list[Run] = field(default_factory=list)
    problem: str = ""      # a wrong exit code, a rewritten state.json, a skip

    @property
    def wall(self) -> float | None:
        return median(r.wall for r in self.runs) if self.runs else None

    @property
    def cpu(self) -> float | None:
        return median(r.cpu for r in self.runs) if self.runs else None

    @property
    def maxrss_kib(self) -> int | None:
        return max((r.maxrss_kib for r in self.runs), default=None)


class Case:
    """One manifest size: the manifest, a state dir factory and the time budget."""

    def __init__(self, work: Path, n: int, deadline: float, timeout: float | None = None) -> None:
        self.work, self.deadline, self.timeout = work, deadline, timeout
        self.manifest = gen_manifest.write_manifest(work / "schedules.yaml", n)
        self._dirs = 0

    def fresh_state(self) -> Path:
        self._dirs += 1
        return self.work / f"state-{self._dirs}"

    def sbsched(self, state: Path, *args: str) -> Run:
        return run_process([SBSCHED, *args], env=sbsched_env(state), stdout_path=self.work / "stdout",
                           **({"timeout": self.timeout} if self.timeout else {}))

    def repeat(self, label: str, expect: int, once: Callable[[], Run],
               check: Callable[[], str] = lambda: "") -> Measured:
        """Up to RUNS runs of `once` (one when the first is slow or the budget is spent); `check`
        runs after each and returns a problem, if any."""
        result = Measured(label, expect)
        if time.monotonic() > self.deadline:
            result.problem = "SKIP (time budget)"
            return result
        for _ in range(RUNS):
            run = once()
            result.runs.append(run)
            if run.code != expect:
                last = run.stderr_tail.strip().splitlines()[-1:] or [""]
                result.problem = f"FAIL (exit {run.code}, expected {expect}) {last[0]}".rstrip()
                break
            result.problem = result.problem or check()
            if result.runs[0].wall > SLOW_RUN_S or time.monotonic() > self.deadline:
                break
        return result

    def measure_all(self) -> list[Measured]:
        m = str(self.manifest)
        self.sbsched(self.fresh_state(), "validate", "-f", m)  # warm-up, not counted: page cache, zoneinfo
        applied = self.fresh_state()
        rows = [
            self.repeat("validate", 0, lambda: self.sbsched(self.fresh_state(), "validate", "-f", m)),
            self.repeat("diff, empty state", 1, lambda: self.sbsched(self.fresh_state(), "diff", "-f", m)),
            self.repeat("apply, first", 0, lambda: self.sbsched(self.fresh_state(), "apply", "-f", m)),
        ]
        setup = self.sbsched(applied, "apply", "-f", m)  # the state the no-op cases run against
        if setup.code != 0:
            return rows + [Measured(label, 0, problem=f"SKIP (apply for setup exited {setup.code})")
                           for label in ("diff, no changes", "apply, no-op")]
        rows.append(self.repeat("diff, no changes", 0, lambda: self.sbsched(applied, "diff", "-f", m)))
        before = fingerprint(applied / "state.json")
        rows.append(self.repeat("apply, no-op", 0, lambda: self.sbsched(applied, "apply", "-f", m),
                                check=lambda: unchanged(applied / "state.json", before)))
        return rows


def fingerprint(path: Path) -> tuple[int, str]:
    """(mtime in ns, sha256): a no-op apply must not rewrite state.json, not even with equal bytes."""
    return path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


def unchanged(path: Path, before: tuple[int, str]) -> str:
    mtime, digest = fingerprint(path)
    if digest != before[1]:
        return "FAIL (state.json bytes changed)"
    return "FAIL (state.json rewritten: mtime changed)" if mtime != before[0] else ""


# -- targets ------------------------------------------------------------------------------------

def targets(n: int, label: str) -> list[tuple[str, Callable[[Measured, Reference], bool]]]:
    """(shown, test) pairs for one row; empty where the brief sets no target."""
    if n == SMALL_N:
        return [(f"<= {SMALL_TARGET_S:g} s", lambda row, ref: row.wall is not None and row.wall <= SMALL_TARGET_S)]
    if n not in (LARGE_N, HUGE_N) or label not in ("validate", "diff, no changes", "apply, no-op"):
        return []
    if n == HUGE_N:
        return [(f"<= {HUGE_RATIO_TARGET:g}x parse GC-paused",
                 lambda row, ref: row.wall is not None and row.wall <= HUGE_RATIO_TARGET * ref.parse_gc_paused),
                (f"RSS <= {HUGE_RSS_TARGET_X:g}x file",
                 lambda row, ref: row.maxrss_kib is not None and row.maxrss_kib * 1024 <= HUGE_RSS_TARGET_X * ref.size)]
    ratio = (f"<= {RATIO_TARGET:g}x parse",
             lambda row, ref: row.wall is not None and ref.parse is not None and row.wall <= RATIO_TARGET * ref.parse)
    if label == "validate":
        return [ratio]
    return [ratio, (f"<= {NOOP_TARGET_S:g} s", lambda row, ref: row.wall is not None and row.wall <= NOOP_TARGET_S)]


def verdict(n: int, row: Measured, ref: Reference) -> tuple[str, str]:
    """(target text, verdict): PASS, MISS naming the targets missed, FAIL or SKIP; "-" without a target."""
    checks = targets(n, row.label)
    shown = ", ".join(text for text, _ in checks) or "-"
    if row.problem:
        return shown, row.problem
    if row.wall is None or not checks:
        return shown, "-"
    missed = [text for text, test in checks if not test(row, ref)]
    return shown, ("MISS (" + "; ".join(missed) + ")" if missed else "PASS")


def ratio(value: float | None, base: float | None) -> str:
    return "-" if value is None or base is None else f"{value / base:.2f}"


def report(n: int, rows: list[Measured], ref: Reference, lines: int) -> Counter[str]:
    """Print one size's table; returns the count of each verdict (rows without a target not counted)."""
    out = [
        ["bare C parse (reference)", "-", str(RUNS) if ref.parse else "0", seconds(ref.parse), "-", "-",
         "1.00" if ref.parse else "-", ratio(ref.parse, ref.parse_gc_paused), "-", "-"],
        ["bare C parse, GC paused", "-", str(RUNS) if ref.parse else "1", seconds(ref.parse_gc_paused), "-", "-",
         ratio(ref.parse_gc_paused, ref.parse), "1.00", "-", "-"],
    ]
    tally: Counter[str] = Counter()
    for row in rows:
        shown, result = verdict(n, row, ref)
        if result != "-":
            tally[result.split()[0]] += 1
        out.append([f"sbsched {row.label}", str(row.runs[-1].code) if row.runs else "-", str(len(row.runs)),
                    seconds(row.wall), seconds(row.cpu), mib(row.maxrss_kib), ratio(row.wall, ref.parse),
                    ratio(row.wall, ref.parse_gc_paused), shown, result])
    print(f"-- {n:,} schedules ({lines:,} lines, {ref.size / 2**20:.1f} MiB)")
    headers = ["what", "exit", "runs", "wall s", "cpu s", "RSS MiB", "x parse", "x parse GC-paused", "target",
               "verdict"]
    print(table(headers, out, right=(1, 2, 3, 4, 5, 6, 7)))
    return tally


def main(sizes: tuple[int, ...] = SIZES) -> Counter[str]:
    """Run every size and print a table each; returns the count of each verdict."""
    print(f"== Manifest scale: sbsched processes vs a bare in-process C YAML parse (median of {RUNS}; "
          f"1 run when the first takes > {SLOW_RUN_S:g} s)")
    deadline = time.monotonic() + BUDGET_S
    tally: Counter[str] = Counter()
    for n in sizes:
        work = Path(tempfile.mkdtemp(prefix=f"sbsched-bench-{n}-"))
        try:
            huge = n >= HUGE_N
            case = Case(work, n, time.monotonic() + HUGE_BUDGET_S if huge else deadline,
                        HUGE_RUN_TIMEOUT_S if huge else None)
            text = case.manifest.read_text(encoding="utf-8")
            ref = reference(text, case.manifest.stat().st_size)
            tally += report(n, case.measure_all(), ref, text.count("\n"))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print()
    print("x parse: wall time over the reference, a parse with the GC on as PyYAML runs by default (at\n"
          "10,000 schedules most of it is GC passes over the growing tree); x parse GC-paused: the stricter\n"
          "reading, against the parse work alone.\n")
    return tally


if __name__ == "__main__":
    from bench_cli import environment_note

    print(environment_note())
    sys.exit(1 if main(tuple(int(a) for a in sys.argv[1:]) or SIZES)["FAIL"] else 0)
