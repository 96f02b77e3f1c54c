"""Prometheus metrics of the reconcile loop, fed by the daemon's events.

The daemon calls these methods where things happen (state loaded, a schedule's next wake time
decided, a run handed over or finished, a slot skipped); nothing here reads a clock, the disk or the
daemon itself, so a test drives it with records and datetimes. Everything lives on this object's own
`CollectorRegistry`, never prometheus_client's global one: two daemons in one test process, or a
library that registers on the global registry, cannot collide.

What is counted (docs/operations.md has the table):
- executions: each attempt that ends (completed, failed) or is skipped (concurrency Forbid), by
  schedule and status. Runs found interrupted at start (their process died) count as failed.
- duration, bundle size, upload failures: from the finished execution record.
- lateness: the record's `startTime - scheduledTime` for the first attempt of a scheduled or
  catch-up run (a retry's start is its backoff, not lateness; a manual run has no slot). It is
  observed when the run ends, from the record, so it is exactly what `history` shows.
"""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric, UnknownMetricFamily

from ..store.records import ExecutionRecord
from ..timing import decisions

PREFIX = "troubleshoot_scheduler"
DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200)
SIZE_BUCKETS = tuple(float(1024 * 4 ** n) for n in range(12))       # 1 KiB .. 4 GiB, x4
LIMIT_REASONS = ("bundle-too-large", "low-disk")
# Started at 0 for every schedule: what the alerts and the runs panel count. Not "skipped", which is
# rare and alerted on by nobody: 10,000 schedules would serve 20,000 more lines per scrape for it.
COUNTED_FROM_ZERO = ("completed", "failed")
LATENESS_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 3600)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.schedules = _Schedules()
        r.register(self.schedules)
        self.jobs_active = Gauge(f"{PREFIX}_jobs_active",
                                 "Runs in flight: handed to the worker pool and not finished.", registry=r)
        self.executions = Counter(f"{PREFIX}_executions", "Executions that ended, by schedule and status "
                                  "(completed, failed, skipped).", ["schedule", "status"], registry=r)
        self.duration = Histogram(f"{PREFIX}_execution_duration_seconds", "Run duration (completed and failed "
                                  "runs).", buckets=DURATION_BUCKETS, registry=r)
        self.bundle_size = Histogram(f"{PREFIX}_bundle_size_bytes", "Size of the bundle archives written.",
                                     buckets=SIZE_BUCKETS, registry=r)
        self.lateness = Histogram(f"{PREFIX}_schedule_lateness_seconds", "Actual start minus slot, first "
                                  "attempt of scheduled and catch-up runs.", buckets=LATENESS_BUCKETS, registry=r)
        self.next_run = Gauge(f"{PREFIX}_next_run_timestamp_seconds", "When the schedule runs next (Unix time; "
                              "absent while suspended).", ["schedule"], registry=r)
        self.last_success = Gauge(f"{PREFIX}_last_success_timestamp_seconds", "End of the schedule's latest "
                                  "completed run (Unix time).", ["schedule"], registry=r)
        self.upload_failures = Counter(f"{PREFIX}_upload_failures", "Runs whose upload failed after its retries.",
                                       registry=r)
        self.limit_hits = Counter(f"{PREFIX}_resource_limit_hits", "Runs stopped by a resource limit, by schedule "
                                  "and reason (bundle-too-large: failed; low-disk: skipped).", ["schedule", "reason"],
                                  registry=r)
        self.invalid = Gauge(f"{PREFIX}_schedule_invalid", "1 for each schedule in the state that the daemon "
                             "cannot time on this host (unknown zone, unreadable cron): it is skipped, the others run.",
                             ["schedule"], registry=r)
        self._names: set[str] = set()   # schedules that have per-schedule gauge series

    # -- events ---------------------------------------------------------------------------------------
    def loaded(self, last_success: Mapping[str, str | None]) -> None:
        """The daemon (re)read the state: schedule name -> its status.lastSuccessfulTime. Gauges of
        schedules no longer in the state are dropped, and every schedule counts as valid until
        `unscheduled` says otherwise; counters stay (counters never go back). A new schedule's
        counters start at 0: Prometheus' increase() ignores a series that is born at 1, so its first
        failure would otherwise fire no alert."""
        self.schedules.count = len(last_success)
        for gone in self._names - last_success.keys():
            for gauge in (self.next_run, self.last_success):
                _remove(gauge, gone)
            self.schedules.timing.pop(gone, None)
        self.invalid.clear()
        new = last_success.keys() - self._names
        self._names = set(last_success)
        for name in new:
            for status in COUNTED_FROM_ZERO:
                self.executions.labels(name, status)
            for reason in LIMIT_REASONS:
                self.limit_hits.labels(name, reason)
        for name, stamp in last_success.items():
            if stamp:
                self.last_success.labels(name).set(datetime.fromisoformat(stamp).timestamp())

    def scheduled(self, schedule: str, wake: datetime | None, *, spec: Mapping[str, Any] | None = None,
                  slot: datetime | None = None) -> None:
        """The schedule's next wake time was decided; None while it is suspended (the series go). `slot`
        (the cron time that wake runs, before jitter) and the spec's cron and zone give its interval."""
        if wake is not None:
            self.next_run.labels(schedule).set(wake.timestamp())
        else:
            _remove(self.next_run, schedule)
        if wake is not None and spec is not None and slot is not None:
            self.schedules.timing[schedule] = (spec["cron"], spec["timezone"], slot)
        else:
            self.schedules.timing.pop(schedule, None)

    def unscheduled(self, schedule: str) -> None:
        """The daemon cannot time this schedule (its zone or cron): skipped until the state changes."""
        self.invalid.labels(schedule).set(1)
        _remove(self.next_run, schedule)
        self.schedules.timing.pop(schedule, None)

    def active(self, count: int) -> None:
        self.jobs_active.set(count)

    def finished(self, record: ExecutionRecord) -> None:
        """A run ended, or a slot was skipped: its execution record, as written."""
        schedule, status = record.schedule, record.status
        self.executions.labels(schedule, status).inc()
        if record.reason in LIMIT_REASONS:
            self.limit_hits.labels(schedule, record.reason).inc()
        if status == "skipped":
            return
        if record.duration_seconds is not None:
            self.duration.observe(record.duration_seconds)
        size = record.bundle.size_bytes if record.bundle is not None else None
        if size is not None:
            self.bundle_size.observe(size)
        if record.upload is not None and record.upload.status == "failed":
            self.upload_failures.inc()
        if status == "completed" and record.end_time:
            self.last_success.labels(schedule).set(datetime.fromisoformat(record.end_time).timestamp())
        late = lateness(record)
        if late is not None:
            self.lateness.observe(late)


class _Schedules:
    """Series computed when scraped, from what the daemon told us.

    How many schedules the state holds, under two names. The PRD names it
    `troubleshoot_scheduler_jobs_total`, a gauge, and a `_total` gauge is what promtool's lint
    refuses (Prometheus reserves the suffix for counters). Dashboards and alerts written against the
    PRD keep working: that name stays, untyped (which Prometheus stores like a gauge and the lint
    accepts), beside the lint-clean gauge `troubleshoot_scheduler_jobs` (docs/decisions.md).

    Each timed schedule's interval (decisions.interval_before its next slot), which the "no success for
    twice its interval" alert needs: worked out here, at scrape time and cached, because the loop that
    hands 1,000 slots over in one second must not search cron calendars backwards."""

    def __init__(self) -> None:
        self.count = 0
        self.timing: dict[str, tuple[str, str, datetime]] = {}   # schedule -> (cron, zone, next slot)
        self._memo: dict[str, tuple[tuple[str, str, datetime], float | None]] = {}   # schedule -> (timing, interval)

    def collect(self) -> list[Metric]:
        """A schedule's interval is worked out again only when its timing changed since the last scrape:
        a scrape every few seconds of 10,000 schedules must cost dict lookups, not calendar searches."""
        interval = GaugeMetricFamily(f"{PREFIX}_schedule_interval_seconds", "The longer of the two gaps between "
                                     "the schedule's next slot and the two before it (a regular cron's period).",
                                     labels=["schedule"])
        timing = self.timing.copy()   # the loop thread updates it
        for gone in self._memo.keys() - timing.keys():
            self._memo.pop(gone, None)
        for name, key in sorted(timing.items()):
            memo = self._memo.get(name)
            if memo is None or memo[0] != key:
                memo = self._memo[name] = (key, _interval(*key))
            if memo[1] is not None:
                interval.add_metric([name], memo[1])
        return [GaugeMetricFamily(f"{PREFIX}_jobs", "Schedules in the state.", value=self.count),
                UnknownMetricFamily(f"{PREFIX}_jobs_total", "Schedules in the state (the PRD's name; "
                                    f"untyped, as a _total gauge fails lint: use {PREFIX}_jobs).", value=self.count),
                interval]


@functools.lru_cache(maxsize=4096)
def _interval(expr: str, zone: str, slot: datetime) -> float | None:
    """Shared by the schedules with the same cron, zone and next slot: a large set has few distinct ones."""
    gap = decisions.interval_before(expr, zone, slot)
    return None if gap is None else gap.total_seconds()


def _remove(gauge: Gauge, schedule: str) -> None:
    try:
        gauge.remove(schedule)
    except KeyError:
        pass


def lateness(record: ExecutionRecord) -> float | None:
    """startTime - scheduledTime in seconds, for a first attempt of a scheduled or catch-up run."""
    if record.trigger not in ("schedule", "catch-up") or not record.first_attempt or not record.start_time:
        return None
    start = datetime.fromisoformat(record.start_time)
    return (start - datetime.fromisoformat(record.scheduled_time)).total_seconds()
