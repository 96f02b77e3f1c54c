"""The reconcile daemon beside APScheduler 3: dispatch lateness when 1,000, then 10,000, schedules share
one minute, and the idle daemon's memory and CPU with 10,000 schedules applied.

Why these two: a support-bundle scheduler's worst moment is the top of a popular minute ("0 2 * * *"
across a fleet), when every schedule becomes due at once; the daemon must hand them all to the run
pool promptly even though the pool can only run 4 at a time. The rest of the time it sits idle with
every schedule in memory, and there it must cost little RAM and no CPU. APScheduler 3 is the library
people would otherwise reach for, so each figure is printed beside its figure for the same work.

1. Lateness. sbsched's `Daemon` runs in a Python process of its own (so that the status writes it may
   still be flushing cannot steal CPU from the APScheduler measurement that follows), driven like the
   real loop: tick, sleep until the wake time, on an offset clock (real time plus a fixed offset)
   aimed so that the common slot falls ~3 s after the daemon opens: clock injection lets the benchmark
   pick its slot instead of waiting for a real minute. Dispatch lateness is taken by the daemon's
   `on_dispatch` hook, called for each run as the tick hands its runs to the pool's workers (the
   hand-over's clock - the run's due time: the dispatchTime its record keeps - run_at); start
   lateness is the execution record's startTime - slot, i.e. queueing behind max-concurrent 4, large
   by design. The daemon logs to a file at INFO, as `sbsched daemon` does, so its per-run log lines
   are paid for. APScheduler uses real time: its 1,000 cron jobs fire at the next real minute at least
   5 s away, and it only exposes job start, so its figure is a start lateness.
2. Idle. `sbsched daemon start --foreground` on 10,000 applied schedules, all on one slot months away
   (so nothing fires while measured), beside a Python process holding the same 10,000 cron jobs in a
   started BackgroundScheduler: VmRSS once both have settled, then their CPU over one 10 s window.

    .venv/bin/python bench/bench_daemon.py [--profile]   # --profile: cProfile of the dispatching ticks
"""
from __future__ import annotations

import cProfile
import dataclasses
import io
import json
import logging
import math
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_manifest  # noqa: E402  (a sibling module, found through the line above)
from bench_cli import PYTHON, SBSCHED, run_process, sbsched_env, table  # noqa: E402

if TYPE_CHECKING:
    from reconciler.daemon.loop import Active, Daemon

UTC = timezone.utc
DUE_COUNTS = (1_000, 10_000)    # schedules sharing one slot: today's figure, and the same target at 10x
MAX_CONCURRENT = 4              # sbsched's default run pool; APScheduler gets as many workers
LEAD_S = 3.0                    # the slot falls this long after the daemon opens
DISPATCH_TARGET_MS = 50.0       # sbsched p99 dispatch lateness
APS_EARLIER_MS = {1_000: (46, 84)}  # APScheduler 3, n no-op jobs, 4 workers, p50/p99, measured here before
DISPATCH_BUDGET_S = 20.0        # from the first tick to the last dispatch
DRAIN_BUDGET_S = 60.0           # per 1,000 runs, for the runs to finish
FLUSH_BUDGET_S = 10.0           # for the daemon's batched status writes to land once the runs are done
CHILD_BUDGET_S = 120.0          # per 1,000 schedules, the whole sbsched lateness process
APS_MIN_LEAD_S = 5.0            # APScheduler's real minute is at least this far away
APS_BUDGET_S = 30.0             # per 1,000 jobs, after that minute, for them to start
N_IDLE = 10_000
IDLE_COUNTS = (N_IDLE, 100_000)  # issue 23: also 100,000, beside APScheduler with as many jobs (no 100 MB cap)
SETTLE_MIN_S = 5.0              # measure idle no sooner than this after start...
SETTLE_BUDGET_S = 40.0          # ...and once the CPU is quiet, within this
IDLE_WINDOW_S = 10.0
RSS_CEILING_MIB = 100e6 / 2**20  # 100 MB
APS_EARLIER_RSS_MB = 57
IDLE_CPU_TARGET_PCT = 1.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
CHILD_FLAG = "--child-lateness"


# -- figures ----------------------------------------------------------------------------------------
def percentile(samples: Sequence[float], q: float) -> float | None:
    """Nearest rank: with 1,000 samples p99 is the 990th, a value really observed."""
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def lateness_row(label: str, samples: Sequence[float], target: str, verdict: str) -> list[str]:
    cells = [percentile(samples, q) for q in (50, 99, 100)]
    return [label, str(len(samples)), *("-" if c is None else f"{c:.1f}" for c in cells), target, verdict]


def bounded(call: Callable[[], object], timeout: float) -> bool:
    """Run a blocking call in a helper thread; False when it did not return within `timeout`."""
    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(timeout)
    return not worker.is_alive()


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    pause, deadline = threading.Event(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        pause.wait(step)
    return predicate()


# -- 1a. sbsched: n schedules in one minute (runs in a child process) ---------------------------
class OffsetClock:
    """Real time plus a fixed offset, read from perf_counter for sub-ms precision. `aim()` sets the
    offset so that now() is a given instant; between aims the clock runs at real speed."""

    def __init__(self) -> None:
        self._wall0, self._perf0, self._offset = time.time(), time.perf_counter(), 0.0

    def aim(self, instant: datetime) -> None:
        self._offset = 0.0
        self._offset = instant.timestamp() - self.timestamp()

    def timestamp(self) -> float:
        return self._wall0 + (time.perf_counter() - self._perf0) + self._offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class DueRun:
    """What the sbsched side measured; crosses the process boundary as JSON."""

    n: int = 0                   # schedules due at once
    dispatch_ms: list[float] = field(default_factory=list)
    start_ms: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    twice: int = 0               # dispatches of a slot id dispatched before: must stay 0
    open_s: float = 0.0          # open() + the first tick (every schedule placed)
    ticks: int = 0
    span_ms: float = 0.0         # first to last dispatch
    tick_ms: float = 0.0         # the longest tick, wall...
    tick_cpu_ms: float = 0.0     # ...and CPU of the ticking thread in it: the rest is waiting (GIL, other load)
    drain_s: float = 0.0         # slot to the last run's end
    flush_s: float | None = None  # last run's end to the last status write; None: past FLUSH_BUDGET_S
    writes: int = 0              # state writes by the status batcher
    notes: list[str] = field(default_factory=list)
    profile: str = ""


def due_manifest(path: Path, slot: datetime, n: int) -> Path:
    """n schedules on the same daily slot, host cpu only, no redaction: the run itself is cheap, so
    what is measured is the scheduler."""
    block = (f'  - name: due-{{i:05d}}\n    cron: "{slot.minute} {slot.hour} * * *"\n'
             "    collect: {{cluster: false, hostCollectors: [{{cpu: {{}}}}]}}\n"
             "    redact: {{enabled: false}}\n")
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: due}\nschedules:\n"
                    + "".join(block.format(i=i) for i in range(n)), encoding="utf-8")
    return path


def apply_in_process(root: Path, manifest: Path, now: datetime) -> None:
    from reconciler.manifest.load import load_manifest
    from reconciler.plan.apply import apply
    from reconciler.store.state import StateStore

    loaded = load_manifest(str(manifest))
    if loaded.manifest is None:
        raise RuntimeError(f"the generated manifest does not load: {loaded}")
    apply(StateStore(root), loaded.manifest, now=now)


def log_to_file(path: Path) -> None:
    """The "sbsched" logger to a file at INFO, as `sbsched daemon` logs (one line per start and end).
    Only ever called in the child process, which exits afterwards."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("sbsched")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


def serve_until_dispatched(daemon: Daemon, clock: OffsetClock, run: DueRun, profiler: cProfile.Profile | None) -> None:
    """The daemon's own loop (tick, sleep until the next wake), stopped once every schedule was
    dispatched or the budget is spent. The profiler, if any, covers the ticks only."""
    pause = threading.Event()  # never set: a plain, precise pause
    deadline = time.monotonic() + DISPATCH_BUDGET_S
    while time.monotonic() < deadline:
        if profiler is not None:
            profiler.enable()
        wall, cpu = time.perf_counter(), time.thread_time()
        wake = daemon.tick()
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        if profiler is not None:
            profiler.disable()
        if wall * 1000 > run.tick_ms:
            run.tick_ms, run.tick_cpu_ms = wall * 1000, cpu * 1000
        run.ticks += 1
        if len(run.dispatch_ms) >= run.n:
            return
        wait = 60.0 if wake is None else (wake - clock.now()).total_seconds()
        pause.wait(max(0.0, min(wait, deadline - time.monotonic())))
    run.notes.append(f"only {len(run.dispatch_ms)} of {run.n} dispatched within {DISPATCH_BUDGET_S:g} s")


def drain(daemon: Daemon, run: DueRun) -> None:
    """Wait for the runs, then for the status batcher, each bounded (cancel runs that overrun)."""
    budget = DRAIN_BUDGET_S * run.n / 1000
    if not bounded(daemon.wait_idle, budget):
        run.notes.append(f"runs still active {budget:g} s after the last dispatch: cancelled")
        daemon.cancel_all("benchmark budget spent")
        bounded(daemon.wait_idle, 10)
    ended = time.monotonic()
    if bounded(daemon.close, FLUSH_BUDGET_S):
        run.flush_s = time.monotonic() - ended
    run.writes = daemon.batcher.writes


def profile_text(profiler: cProfile.Profile) -> str:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(20)
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    return out.getvalue()


def read_records(root: Path, run: DueRun, slot: datetime) -> None:
    """Start lateness and final status of every scheduled run, from the execution records."""
    from reconciler.store import executions

    records = [r for r in executions.history(root) if r.get("trigger") in ("schedule", "catch-up")]
    run.start_ms = [(datetime.fromisoformat(r["startTime"]) - datetime.fromisoformat(r["scheduledTime"]))
                    .total_seconds() * 1000 for r in records if r.get("startTime")]
    run.statuses = dict(Counter(str(r.get("status")) for r in records))
    ends = [datetime.fromisoformat(r["endTime"]) for r in records if r.get("endTime")]
    run.drain_s = (max(ends) - slot).total_seconds() if ends else 0.0


def sbsched_lateness(work: Path, n: int, *, profile: bool) -> DueRun:
    """Apply n same-slot schedules and serve them with the real Daemon (in this process)."""
    from reconciler.daemon.loop import Daemon
    from reconciler.store.state import StateStore

    root, clock, run = work / "state-due", OffsetClock(), DueRun(n=n)
    slot = (datetime.now(UTC) + timedelta(days=1)).replace(second=0, microsecond=0)
    clock.aim(slot - timedelta(minutes=2))  # the schedules are created before their slot
    apply_in_process(root, due_manifest(work / "due.yaml", slot, n), clock.now())
    stamps: list[float] = []
    seen: set[str] = set()

    def on_dispatch(active: Active, now: datetime) -> None:
        assert active.run_at is not None   # a slot's run
        stamps.append(now.timestamp())
        run.twice += active.run_id in seen
        seen.add(active.run_id)
        run.dispatch_ms.append((stamps[-1] - active.run_at.timestamp()) * 1000)

    log_to_file(work / "daemon-due.log")
    profiler = cProfile.Profile() if profile else None
    daemon = Daemon(StateStore(root), clock, max_concurrent=MAX_CONCURRENT, on_dispatch=on_dispatch)
    clock.aim(slot - timedelta(seconds=LEAD_S))
    began = time.perf_counter()
    daemon.open()
    daemon.tick()  # the first look places every schedule at its slot, as the daemon's loop does
    run.open_s, run.ticks = time.perf_counter() - began, 1
    serve_until_dispatched(daemon, clock, run, profiler)
    drain(daemon, run)
    run.span_ms = (stamps[-1] - stamps[0]) * 1000 if stamps else 0.0
    if run.open_s > LEAD_S:
        run.notes.append(f"open + first tick took {run.open_s:.1f} s, past the {LEAD_S:g} s lead")
    run.profile = profile_text(profiler) if profiler is not None else ""
    read_records(root, run, slot)
    return run


def child_main(argv: Sequence[str]) -> None:
    """`bench_daemon.py --child-lateness WORK N [--profile]`: measure, write WORK/due.json, and exit
    at once, without waiting for a status flush that overran its budget."""
    at = argv.index(CHILD_FLAG)
    work, n = Path(argv[at + 1]), int(argv[at + 2])
    run = sbsched_lateness(work, n, profile="--profile" in argv)
    (work / "due.json").write_text(json.dumps(dataclasses.asdict(run)), encoding="utf-8")
    sys.stdout.flush()
    os._exit(0)


def sbsched_lateness_in_child(work: Path, n: int, *, profile: bool) -> DueRun:
    """Run the sbsched side in a child process (bounded) and read back what it measured."""
    work.mkdir()
    log = work / "child.log"
    argv = [PYTHON, str(Path(__file__).resolve()), CHILD_FLAG, str(work), str(n), *(["--profile"] if profile else [])]
    with open(log, "wb") as out:
        try:
            code = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=CHILD_BUDGET_S * n / 1000).returncode
        except subprocess.TimeoutExpired:  # subprocess.run has killed it
            code = None
    result = work / "due.json"
    if code != 0 or not result.exists():
        tail = log.read_text(encoding="utf-8", errors="replace").strip()[-1500:]
        return DueRun(n=n, notes=[f"the sbsched lateness process {'timed out' if code is None else f'exited {code}'}:"
                             f"\n{tail}"])
    return DueRun(**json.loads(result.read_text(encoding="utf-8")))


# -- 1b. APScheduler: n cron jobs in the next real minute ----------------------------------------
def next_real_minute(lead: float) -> float:
    """The timestamp of the next minute boundary at least `lead` seconds away."""
    boundary = (math.floor(time.time() / 60) + 1) * 60
    return boundary + 60 if boundary - time.time() < lead else boundary


def aps_lateness(notes: list[str], n: int) -> list[float]:
    """n CronTrigger jobs on one real minute; each records its start lateness (ms), then reads
    /proc/cpuinfo (a trivial, real bit of work)."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    samples: list[float] = []
    slot_ts = next_real_minute(APS_MIN_LEAD_S)
    slot = datetime.fromtimestamp(slot_ts, UTC)
    all_started = threading.Event()

    def job() -> None:
        samples.append((time.time() - slot_ts) * 1000)
        with open("/proc/cpuinfo", "rb") as handle:
            handle.read()
        if len(samples) >= n:
            all_started.set()

    scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(MAX_CONCURRENT)},
                                    job_defaults={"coalesce": True, "misfire_grace_time": 600}, timezone=UTC)
    for i in range(n):
        scheduler.add_job(job, CronTrigger(minute=slot.minute, hour=slot.hour, timezone=UTC), id=f"due-{i:05d}")
    scheduler.start()
    try:
        budget = APS_BUDGET_S * n / 1000
        if not all_started.wait(max(0.0, slot_ts - time.time()) + budget):
            notes.append(f"APScheduler: only {len(samples)} of {n} jobs started within {budget:g} s")
    finally:
        scheduler.shutdown(wait=False)
    return samples


# -- 2. idle: RSS and CPU with 10,000 schedules -------------------------------------------------------
def far_slot(now: datetime) -> tuple[int, str]:
    """(month, cron): 03:00 on the 1st of a month ~6 months away, so nothing fires while measured."""
    month = (now.month + 5) % 12 + 1
    return month, f"0 3 1 {month} *"


def idle_manifest(path: Path, cron: str, n: int) -> Path:
    """gen_manifest's n varied schedules (zones, labels, optional sections), each cron replaced
    by the far-away one."""
    gen_manifest.write_manifest(path, n)
    text, count = re.subn(r'^(    cron: )".*"$', lambda m: f'{m.group(1)}"{cron}"', path.read_text(encoding="utf-8"),
                          flags=re.M)
    if count != n:
        raise RuntimeError(f"expected {n} cron lines in the generated manifest, found {count}")
    path.write_text(text, encoding="utf-8")
    return path


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


@dataclass
class Idle:
    """One idle process: what was measured, and what went wrong."""

    label: str
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    log: Path | None = None
    ready_word: bytes = b""
    rss_kib: int | None = None
    hwm_kib: int | None = None
    cpu_pct: float | None = None
    notes: list[str] = field(default_factory=list)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def spawn(idle: Idle, argv: Sequence[str], env: dict[str, str] | None, log: Path, ready_word: bytes) -> None:
    with open(log, "wb") as out:
        idle.started, idle.log, idle.ready_word = time.monotonic(), log, ready_word
        idle.proc = subprocess.Popen(list(argv), env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)


def settle(idle: Idle, budget: float) -> bool:
    """Ready (its word in its log), SETTLE_MIN_S after start, and no CPU tick over 0.5 s; within `budget`."""
    assert idle.proc is not None and idle.log is not None
    log = idle.log
    if not wait_for(lambda: idle.ready_word in log.read_bytes() or not idle.alive(), budget):
        idle.notes.append(f"{idle.label}: not ready within {budget:g} s")
        return False
    pause, deadline = threading.Event(), idle.started + budget
    pause.wait(max(0.0, idle.started + SETTLE_MIN_S - time.monotonic()))
    while idle.alive() and time.monotonic() < deadline:
        before = cpu_ticks(idle.proc.pid)
        pause.wait(0.5)
        if cpu_ticks(idle.proc.pid) == before:
            return True
    idle.notes.append(f"{idle.label}: " + ("exited: " + log.read_text(errors="replace").strip()[-300:]
                                            if not idle.alive() else f"not quiet within {budget:g} s"))
    return idle.alive()


def measure_window(idles: Sequence[Idle]) -> None:
    """VmRSS and VmHWM now, then CPU % over one IDLE_WINDOW_S window, for every live process at once."""
    live = [i for i in idles if i.alive()]
    ticks = {}
    for idle in live:
        assert idle.proc is not None
        idle.rss_kib, idle.hwm_kib = status_kib(idle.proc.pid, "VmRSS"), status_kib(idle.proc.pid, "VmHWM")
        ticks[idle.proc.pid] = cpu_ticks(idle.proc.pid)
    began = time.monotonic()
    threading.Event().wait(IDLE_WINDOW_S)
    for idle in live:
        assert idle.proc is not None
        if idle.alive():
            spent = (cpu_ticks(idle.proc.pid) - ticks[idle.proc.pid]) / CLK_TCK
            idle.cpu_pct = spent / (time.monotonic() - began) * 100


def reap(idle: Idle) -> None:
    """A child we started: give it 10 s to be gone, then kill it."""
    if idle.proc is None:
        return
    try:
        idle.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        idle.proc.kill()
        idle.proc.wait(timeout=10)


APS_IDLE_SCRIPT = """
import sys, threading
from datetime import timezone
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

def job():
    pass

n, month, life = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
scheduler = BackgroundScheduler(timezone=timezone.utc)
for i in range(n):
    scheduler.add_job(job, CronTrigger(month=month, day=1, hour=3, minute=0, timezone=timezone.utc), id=f"job-{i}")
scheduler.start()
print("ready", flush=True)
threading.Event().wait(life)
"""


def idle_pair(work: Path, n: int) -> tuple[Idle, Idle]:
    """`sbsched apply` n schedules and start the daemon on them; start the APScheduler process
    with the same jobs; settle both, measure both over the same window, stop both. Budgets scale
    with n per 10,000."""
    ours, theirs = Idle("sbsched daemon"), Idle("APScheduler 3 process")
    month, cron = far_slot(datetime.now(UTC))
    env = sbsched_env(work / f"state-idle-{n}")
    scale = max(1.0, n / N_IDLE)
    manifest = idle_manifest(work / f"idle-{n}" / "schedules.yaml", cron, n)
    applied = run_process([SBSCHED, "apply", "-f", str(manifest)], env=env, timeout=120 * scale)
    if applied.code != 0:
        ours.notes.append(f"apply exited {applied.code}: {applied.stderr_tail.strip()[-300:]}")
    life = 2 * SETTLE_BUDGET_S * scale + IDLE_WINDOW_S + 30  # it exits by itself even if we were killed
    try:
        if applied.code == 0:
            spawn(ours, [SBSCHED, "daemon", "start", "--foreground"], env, work / f"daemon-idle-{n}.log", b"serving")
        spawn(theirs, [PYTHON, "-c", APS_IDLE_SCRIPT, str(n), str(month), str(life)], None,
              work / f"aps-idle-{n}.log", b"ready")
        settled = [i for i in (ours, theirs) if i.proc is not None and settle(i, SETTLE_BUDGET_S * scale)]
        measure_window(settled)
    finally:
        stop_pair(ours, theirs, env)
    return ours, theirs


def stop_pair(ours: Idle, theirs: Idle, env: dict[str, str]) -> None:
    if ours.proc is not None:
        stopped = run_process([SBSCHED, "daemon", "stop"], env=env, timeout=60)
        if stopped.code != 0:
            ours.notes.append(f"sbsched daemon stop exited {stopped.code}")
        reap(ours)
        text = ours.log.read_text(encoding="utf-8", errors="replace") if ours.log else ""
        if "started" in text or "starting" in text:
            ours.notes.append("runs started while measuring: the figures include them")
    if theirs.proc is not None:
        theirs.proc.terminate()
        reap(theirs)


# -- reporting ----------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report_lateness(run: DueRun, aps: list[float], aps_notes: list[str], verdicts: Counter[str]) -> None:
    n, p99 = run.n, percentile(run.dispatch_ms, 99)
    dispatch_ok = p99 is not None and p99 <= DISPATCH_TARGET_MS and len(run.dispatch_ms) == n
    runs_ok = run.statuses.get("completed", 0) == n and sum(run.statuses.values()) == n and run.twice == 0
    verdicts[verdict(dispatch_ok)] += 1
    verdicts["PASS" if runs_ok else "FAIL"] += 1
    rows = [lateness_row("sbsched dispatch (on_dispatch hook)", run.dispatch_ms, f"p99 <= {DISPATCH_TARGET_MS:g}",
                         verdict(dispatch_ok)),
            lateness_row("sbsched start (record startTime)", run.start_ms, "- (queued, 4 at a time)", ""),
            lateness_row("APScheduler 3 start (job start)", aps,
                         "earlier p50 {}, p99 {}".format(*APS_EARLIER_MS[n]) if n in APS_EARLIER_MS else "-", "")]
    flush = f"{run.flush_s:.1f} s" if run.flush_s is not None else f"> {FLUSH_BUDGET_S:g} s (abandoned)"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"== Lateness: {n:,} schedules due in the same minute, {MAX_CONCURRENT} concurrent runs (ms; "
          f"load avg {load} on {os.cpu_count()} cpus)")
    print(table(["measured", "n", "p50", "p99", "max", "target", "verdict"], rows, right=(1, 2, 3, 4)))
    print(f"sbsched: Daemon in a process of its own on an offset clock (real time + a fixed offset, aimed so "
          f"that the slot fell {LEAD_S:g} s after open: clock injection instead of waiting for a real minute).\n"
          f"  open + first tick {run.open_s:.2f} s; {run.ticks} ticks; first to last dispatch {run.span_ms:.0f} ms; longest tick "
          f"{run.tick_ms:.0f} ms wall, {run.tick_cpu_ms:.0f} ms CPU of its thread (the rest: waiting for the GIL "
          f"or a CPU);\n  last run ended {run.drain_s:.1f} s after the slot; status flush after it {flush} "
          f"({run.writes} state writes).\n"
          f"  runs: {dict(sorted(run.statuses.items()))} -> {'PASS' if runs_ok else 'FAIL'} (all {n:,} completed, "
          f"{run.twice} started twice)")
    print(f"APScheduler 3: real time, the next minute >= {APS_MIN_LEAD_S:g} s away, ThreadPoolExecutor(4), "
          "coalesce; each job reads /proc/cpuinfo. It exposes only job start: compare it with sbsched's start row.")
    for note in run.notes + aps_notes:
        print(f"note: {note}")
    if run.profile:
        print("cProfile of the daemon's ticks (the dispatching one included):\n" + run.profile)
    print()


def report_idle(ours: Idle, theirs: Idle, verdicts: Counter[str], n: int) -> None:
    def mib(kib: int | None) -> str:
        return "-" if kib is None else f"{kib / 1024:.1f}"

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    ceiling = RSS_CEILING_MIB if n == N_IDLE else None
    rss_ok = (ours.rss_kib is not None and (ceiling is None or ours.rss_kib / 1024 <= ceiling)
              and (theirs.rss_kib is None or ours.rss_kib <= theirs.rss_kib))
    cpu_ok = ours.cpu_pct is not None and ours.cpu_pct <= IDLE_CPU_TARGET_PCT
    verdicts[verdict(rss_ok)] += 1
    verdicts[verdict(cpu_ok)] += 1
    rows = [[ours.label, mib(ours.rss_kib), mib(ours.hwm_kib), pct(ours.cpu_pct),
             "RSS <= APScheduler's" + (f" and <= {ceiling:.1f} MiB (100 MB)" if ceiling else "") + f": {verdict(rss_ok)}; "
             f"CPU <= {IDLE_CPU_TARGET_PCT:g} %: {verdict(cpu_ok)}"],
            [theirs.label, mib(theirs.rss_kib), mib(theirs.hwm_kib), pct(theirs.cpu_pct),
             f"earlier ~{APS_EARLIER_RSS_MB} MB RSS" if n == N_IDLE else "-"]]
    print(f"== Idle: {n:,} schedules on one slot months away; settled, then {IDLE_WINDOW_S:g} s of CPU")
    print(table(["process", "VmRSS MiB", "VmHWM MiB", "idle CPU %", "target"], rows, right=(1, 2, 3)))
    for note in ours.notes + theirs.notes:
        print(f"note: {note}")
    print()


def main(argv: Sequence[str] = ()) -> Counter[str]:
    verdicts: Counter[str] = Counter()
    work = Path(tempfile.mkdtemp(prefix="sbsched-bench-daemon-"))
    try:
        for n in () if "--idle-only" in argv else DUE_COUNTS:
            run = sbsched_lateness_in_child(work / f"due-{n}", n, profile="--profile" in argv)
            aps_notes: list[str] = []
            aps = aps_lateness(aps_notes, n)
            report_lateness(run, aps, aps_notes, verdicts)
        for n in IDLE_COUNTS:
            ours, theirs = idle_pair(work, n)
            report_idle(ours, theirs, verdicts, n)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return verdicts


if __name__ == "__main__":
    if CHILD_FLAG in sys.argv:
        child_main(sys.argv)
    sys.exit(1 if main(sys.argv[1:]).get("FAIL") else 0)
