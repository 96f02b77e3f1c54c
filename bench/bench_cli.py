"""CLI responsiveness: how long a person waits for `sbsched <command>` on a small manifest.

Why measure the real process: for a CLI run by hand or in CI, interpreter start-up and imports are
most of the time, and they are exactly what an in-process timer would leave out. So each command is
a fresh `sbsched` process, timed from spawn to reap (median of 5, after one unmeasured warm-up run),
with its peak RSS from `os.wait4`. A `python -X importtime` breakdown of `sbsched validate` follows,
so that a slow new import shows up by name.

This module also holds the process-measurement and table helpers that bench_manifest.py uses.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_manifest  # noqa: E402  (a sibling module, found through the line above)

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
SBSCHED = str(BIN / "sbsched")
PYTHON = str(BIN / "python")

RUN_TIMEOUT_S = 60.0        # one process; far above any healthy figure, so a hang cannot stall `make bench`
CLI_TARGET_S = 0.4
CLI_RUNS = 5
CLI_SCHEDULES = 10
IMPORT_TOP = 5


# -- measuring one process ----------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One finished process: wall seconds, CPU seconds (user + sys: the figure least disturbed by other
    load on the machine), exit code, peak RSS (KiB) and the tail of its stderr."""

    wall: float
    cpu: float
    code: int
    maxrss_kib: int
    stderr_tail: str = ""


def run_process(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                timeout: float = RUN_TIMEOUT_S, stdout_path: Path | None = None) -> Run:
    """Spawn, wait with os.wait4 (this child's own CPU time, unlike RUSAGE_CHILDREN), time it; an sbsched
    command's peak RSS comes from bench/peak.py (wait4's maxrss starts at our own size).

    stdout goes to a file rather than a pipe: a 10,000-line plan would fill a pipe nobody reads while
    we sit in wait4, and a file is what `sbsched diff > plan.txt` really writes to."""
    peak = _peak_wrapped(argv, env)
    if peak is not None:
        argv, env = peak[0], peak[1]
    with tempfile.TemporaryFile() as err, (open(stdout_path, "wb") if stdout_path else
                                           open(os.devnull, "wb")) as out:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                cwd=cwd)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", "replace")
    if proc.returncode < 0:
        tail = f"killed after {timeout:g} s\n" + tail
    maxrss = usage.ru_maxrss
    if peak is not None:
        maxrss = _read_peak(peak[2], maxrss)
    return Run(wall=wall, cpu=usage.ru_utime + usage.ru_stime, code=proc.returncode,
               maxrss_kib=maxrss, stderr_tail=tail)


def _peak_wrapped(argv: Sequence[str], env: dict[str, str] | None
                  ) -> tuple[list[str], dict[str, str], Path] | None:
    """An sbsched command goes through bench/peak.py, which reports the child's own peak RSS (see there)."""
    if not argv or argv[0] != SBSCHED or list(argv[1:3]) == ["daemon", "start"]:
        return None
    handle, name = tempfile.mkstemp(prefix="bench-peak-")
    os.close(handle)
    wrapped_env = dict(env if env is not None else os.environ, BENCH_PEAK_FILE=name)
    wrapped_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), wrapped_env.get("PYTHONPATH", "")) if p)
    return [PYTHON, str(ROOT / "bench" / "peak.py"), *argv[1:]], wrapped_env, Path(name)


def _read_peak(path: Path, fallback: int) -> int:
    try:
        return int(path.read_text(encoding="ascii") or fallback)
    except (OSError, ValueError):
        return fallback
    finally:
        path.unlink(missing_ok=True)


def sbsched_env(state_dir: Path) -> dict[str, str]:
    """The caller's environment with a private state dir: nothing can touch a real scheduler."""
    env = dict(os.environ)
    env["TROUBLESHOOT_SCHEDULER_DIR"] = str(state_dir)
    env["NO_COLOR"] = "1"
    return env


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


# -- reporting ----------------------------------------------------------------------------------

def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Iterable[int] = ()) -> str:
    """A compact aligned table; columns listed in `right` (numbers) are right-aligned."""
    right = set(right)
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.0f}"


def environment_note() -> str:
    """What makes figures from two machines or two runs not comparable, in one line."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    bytecode = ("off (PYTHONDONTWRITEBYTECODE: project modules are compiled on every run)"
                if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on")
    return f"cpus {os.cpu_count()}, load avg {load}, bytecode cache {bytecode}"


# -- the benchmark ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    label: str
    args: tuple[str, ...]
    expect: int = 0


def commands(manifest: Path) -> list[Command]:
    """What a person types; diff runs against the applied state (the CI check on an unchanged repo)."""
    m = str(manifest)
    return [
        Command("--help", ("--help",)),
        Command("validate", ("validate", "-f", m)),
        Command("diff (no changes)", ("diff", "-f", m)),
        Command("list", ("list",)),
        Command("next NAME -n 5", ("next", "sched-00001", "-n", "5")),
        Command("next --cron --timezone", ("next", "--cron", "0 2 * * *", "--timezone", "Europe/Berlin")),
    ]


def measure(command: Command, env: dict[str, str], out: Path) -> tuple[list[Run], Run]:
    """A warm-up run (page cache, zoneinfo files) not counted, then CLI_RUNS measured runs."""
    warm = run_process([SBSCHED, *command.args], env=env, stdout_path=out)
    if warm.code != command.expect:
        return [], warm
    return [run_process([SBSCHED, *command.args], env=env, stdout_path=out) for _ in range(CLI_RUNS)], warm


def verdict(runs: list[Run], warm: Run, command: Command) -> tuple[str, bool]:
    """PASS/MISS against the target; a wrong exit code is a FAIL, whatever the time."""
    bad = [r for r in [warm, *runs] if r.code != command.expect]
    if bad:
        return f"FAIL (exit {bad[0].code}, expected {command.expect})", False
    ok = median(r.wall for r in runs) <= CLI_TARGET_S
    return ("PASS" if ok else "MISS"), ok


def figures(runs: list[Run]) -> list[str]:
    """wall median / min / max, CPU median, peak RSS; dashes when nothing ran."""
    if not runs:
        return ["-"] * 5
    walls = [r.wall for r in runs]
    return [seconds(median(walls)), seconds(min(walls)), seconds(max(walls)),
            seconds(median(r.cpu for r in runs)), mib(max(r.maxrss_kib for r in runs))]


def responsiveness(work: Path) -> Counter[str]:
    """The table; returns the count of each verdict (PASS, MISS, FAIL)."""
    manifest = gen_manifest.write_manifest(work / "schedules.yaml", CLI_SCHEDULES)
    env = sbsched_env(work / "state")
    applied = run_process([SBSCHED, "apply", "-f", str(manifest)], env=env)
    if applied.code != 0:
        print(f"setup failed: sbsched apply exited {applied.code}\n{applied.stderr_tail}")
        return Counter(FAIL=1)
    rows: list[list[str]] = []
    tally: Counter[str] = Counter()
    for command in commands(manifest):
        runs, warm = measure(command, env, work / "stdout")
        result, ok = verdict(runs, warm, command)
        tally[result.split()[0]] += 1
        rows.append([command.label, str(warm.code), *figures(runs), f"<= {CLI_TARGET_S:g} s", result])
        if not ok and warm.stderr_tail:
            print(f"  {command.label}: {warm.stderr_tail.strip().splitlines()[-1]}")
    headers = ["command", "exit", "wall s", "min s", "max s", "cpu s", "RSS MiB", "target", "verdict"]
    print(table(headers, rows, right=(1, 2, 3, 4, 5, 6)))
    return tally


# -- import time --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImportTime:
    module: str
    depth: int
    self_us: int
    cumulative_us: int


def parse_importtime(stderr: str) -> list[ImportTime]:
    """Lines of `-X importtime`: 'import time: <self us> | <cumulative us> | <indent><module>'."""
    found = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:"):].split("|", 2)
        module = name.strip()
        depth = (len(name) - len(name.lstrip()) - 1) // 2  # two spaces of indent per nesting level
        found.append(ImportTime(module, depth, int(self_us), int(cumulative_us)))
    return found


def importtime_command(manifest: Path,
                       env: dict[str, str]) -> tuple[list[str], subprocess.CompletedProcess[str]]:
    """`python -m cli.main validate` when the module runs as a script, else the same call through -c."""
    args = ["validate", "-f", str(manifest)]
    as_module = [PYTHON, "-X", "importtime", "-m", "cli.main", *args]
    done = subprocess.run(as_module, capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT_S)
    if done.returncode == 0 and "valid" in done.stdout:
        return as_module, done
    code = f"import sys; from cli.main import run; sys.exit(run({args!r}))"
    as_call = [PYTHON, "-X", "importtime", "-c", code]
    done = subprocess.run(as_call, capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT_S)
    return as_call, done


def import_report(work: Path) -> None:
    manifest = work / "schedules.yaml"
    env = sbsched_env(work / "state")
    argv, done = importtime_command(manifest, env)
    shown = " ".join(a if " " not in a else repr(a) for a in argv[1:]).replace(str(work), "$WORK")
    print(f"python {shown}  (exit {done.returncode})")
    imports = parse_importtime(done.stderr)
    if not imports:
        print("  no -X importtime output")
        return
    total_ms = sum(i.self_us for i in imports) / 1000
    top = sorted(imports, key=lambda i: i.cumulative_us, reverse=True)[:IMPORT_TOP]
    rows = [[f"{i.cumulative_us / 1000:.1f}", f"{i.self_us / 1000:.1f}", str(i.depth), i.module] for i in top]
    print(table(["cumul ms", "self ms", "depth", "module"], rows, right=(0, 1, 2)))
    print(f"{len(imports)} modules imported, {total_ms:.0f} ms of import time in total")


def main() -> Counter[str]:
    """Run the benchmark and print its tables; returns the count of each verdict."""
    print(f"== CLI responsiveness: {CLI_SCHEDULES}-schedule manifest, median of {CLI_RUNS} "
          f"(target <= {CLI_TARGET_S:g} s each)")
    work = Path(tempfile.mkdtemp(prefix="sbsched-bench-cli-"))
    try:
        tally = responsiveness(work)
        print()
        print(f"-- top {IMPORT_TOP} imports by cumulative time, `sbsched validate`")
        import_report(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return tally


if __name__ == "__main__":
    print(environment_note())
    sys.exit(1 if main()["FAIL"] else 0)
