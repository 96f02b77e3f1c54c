"""Next-fire throughput: reconciler.timing.cron against croniter and APScheduler 3.

Run ``python bench/bench_cron.py [--seconds 1.0]``.  Every contender walks the same cycle of
(expression, zone, start) cases for about ``--seconds`` each and we report next-fire
computations per second.  The target is ours >= raw croniter on the same cases.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from croniter import croniter  # noqa: E402

from reconciler.timing.cron import parse  # noqa: E402

try:
    from apscheduler.triggers.cron import CronTrigger
except ImportError:  # the bench extra is not installed
    CronTrigger = None

# Plain 5-field syntax every contender accepts (APScheduler has no macros and no weekday 7).
EXPRESSIONS = [
    "* * * * *",
    "*/5 * * * *",
    "*/15 * * * *",
    "0 * * * *",
    "30 * * * *",
    "0 */2 * * *",
    "0 0 * * *",
    "30 2 * * *",
    "15 1 * * *",
    "0 9-17 * * mon-fri",
    "*/10 9-17 * * 1-5",
    "0 9 * * 1",
    "0 0 1 * *",
    "0 0 1,15 * *",
    "0 12 1 jan,jul *",
    "5,35 8,20 * * *",
    "0 0 1 1 *",
    "0 22 * * 0",
    "45 23 28-31 * *",
    "0 6 10-20/5 * *",
]
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]
STARTS = ["2024-01-15T08:07:00", "2024-03-09T23:59:30", "2024-06-30T12:00:00", "2024-11-02T22:10:00"]


def _cases() -> list[tuple[str, ZoneInfo, datetime]]:
    return [
        (expr, ZoneInfo(zone), datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(zone)))
        for expr, zone, start in itertools.product(EXPRESSIONS, ZONES, STARTS)
    ]


def _measure(step: Callable[[int], object], seconds: float) -> float:
    """Calls per second of ``step(i)``, timed in batches so the clock is not the bottleneck."""
    calls, begin = 0, time.perf_counter()
    while True:
        for _ in range(50):
            step(calls)
            calls += 1
        elapsed = time.perf_counter() - begin
        if elapsed >= seconds:
            return calls / elapsed


def main(argv: list[str] | None = None) -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--seconds", type=float, default=1.0, help="time budget per contender")
    seconds = options.parse_args(argv).seconds
    cases = _cases()
    count = len(cases)

    def ours(i: int) -> object:
        expr, tz, start = cases[i % count]
        return parse(expr).next_after(start, tz)

    iterators = [parse(expr).iter_after(start, tz) for expr, tz, start in cases]

    def ours_iter(i: int) -> object:
        return next(iterators[i % count])

    def croniter_per_call(i: int) -> object:
        expr, _, start = cases[i % count]
        return croniter(expr, start).get_next(datetime)

    reused = [croniter(expr, start) for expr, _, start in cases]

    def croniter_reused(i: int) -> object:
        return reused[i % count].get_next(datetime)

    def apscheduler(i: int) -> object:
        expr, tz, start = cases[i % count]
        return CronTrigger.from_crontab(expr, timezone=tz).get_next_fire_time(None, start)

    rows = [
        ("ours: parse(expr).next_after()", ours),
        ("ours: one iter_after() per case, reused", ours_iter),
        ("croniter(expr, start).get_next() per call", croniter_per_call),
        ("croniter: one iterator per case, reused", croniter_reused),
    ]
    if CronTrigger is not None:
        rows.append(("APScheduler 3 CronTrigger.from_crontab() per call", apscheduler))
    results = {name: _measure(step, seconds) for name, step in rows}

    print(f"{len(EXPRESSIONS)} expressions x {len(ZONES)} zones x {len(STARTS)} starts, ~{seconds:g} s each")
    print(f"{'contender':<52} {'next fires/s':>14}")
    for name, rate in results.items():
        print(f"{name:<52} {rate:>14,.0f}")
    ours_rate = results["ours: parse(expr).next_after()"]
    per_call = results["croniter(expr, start).get_next() per call"]
    reused_rate = results["croniter: one iterator per case, reused"]
    print(f"ratio ours / croniter per call: {ours_rate / per_call:.1f}x")
    print(f"ratio ours / croniter reused:   {ours_rate / reused_rate:.1f}x")


if __name__ == "__main__":
    main()
