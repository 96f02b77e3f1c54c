"""Runs a schedule's collectors concurrently, each bounded by its own timeout and all by the run's
deadline, and records what became of each. Collectors run on daemon threads so that one that ignores
its timeout can be abandoned (marked failed, told to stop) without holding the process open."""
from __future__ import annotations

import os
import queue
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from . import Budget, CollectContext, Collector, CollectorSpec, GuardedOutput, Output, Skipped
from .groups import ProcessGroups
from ..base.progress import COLLECTION_STARTED, COLLECTOR_FINISHED, COLLECTOR_STARTED, Progress, ProgressEvent, safe

if TYPE_CHECKING:
    from .kube.client import Kube

DEFAULT_TIMEOUT = 120.0  # seconds for a collector whose spec sets no `timeout`
_CANCEL_CHECK = 0.5      # how often a waiting run looks at its cancel event
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|s|m|h)")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass
class Outcome:
    """What became of one collector: succeeded, failed or skipped, with why and how long it took."""

    spec: CollectorSpec
    status: str
    reason: str | None = None
    duration_ms: int = 0
    warnings: tuple[str, ...] = ()   # what a succeeded collector could not read (RBAC), in collector-errors/

    def to_json(self) -> dict[str, object]:
        return {"name": self.spec.name, "kind": self.spec.kind, "host": self.spec.host, "status": self.status,
                "reason": self.reason, "durationMs": self.duration_ms, "warnings": list(self.warnings)}


def go_duration(text: object) -> float | None:
    """Seconds in a Go duration ("5s", "1m30s", "500ms"), as troubleshoot specs write timeouts."""
    if isinstance(text, (int, float)):
        return float(text)
    if not isinstance(text, str) or not text.strip():
        return None
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    return sum(float(n) * _UNIT[u] for n, u in parts)


@dataclass(frozen=True)
class Registry:
    """The collectors sbsched has, by the key a spec names them with, per side: host and in-cluster
    collectors share names (http, data...) but not code."""

    host: Mapping[str, Collector]
    cluster: Mapping[str, Collector]

    def find(self, spec: CollectorSpec) -> Collector | None:
        return (self.host if spec.host else self.cluster).get(spec.kind)


def run_collectors(specs: Sequence[CollectorSpec], registry: Registry, output: Output, *,
                   deadline: float, cluster: bool, started: datetime, max_workers: int = 4,
                   monotonic: Callable[[], float] = time.monotonic,
                   cancel: threading.Event | None = None, kube: Kube | None = None,
                   budget: Budget | None = None, env: Mapping[str, str] | None = None,
                   groups: ProcessGroups | None = None, progress: Progress | None = None,
                   refused: Sequence[tuple[CollectorSpec, str]] = ()) -> tuple[list[Outcome], bool]:
    """(outcomes in spec order, timed_out). `deadline` is on `monotonic`'s clock; `started` stamps the
    collector-errors/ records; `kube` is the run's API connection, for in-cluster collectors; `budget`
    (limits.maxBundleSizeBytes) stops the collection once the staged bytes reach it; `env` is what
    collectors and their child processes get as the environment (None: this process's); `groups`
    registers the collectors' child processes (the caller closes it); `progress` hears of each collector
    as it starts and ends (base/progress.py), from the collectors' threads; `refused` are (spec, why) the
    run decided not to start (auto-discovery's RBAC-denied collectors): recorded as skipped, after the others."""
    report = safe(progress)
    outcomes: list[Outcome | None] = [None] * len(specs)
    runnable: list[int] = []
    for index, spec in enumerate(specs):
        reason = _skip_reason(spec, registry, cluster)
        if reason:
            outcomes[index] = Outcome(spec, "skipped", reason)
        else:
            runnable.append(index)
    report(ProgressEvent(COLLECTION_STARTED, total=len(runnable)))
    for outcome in outcomes:
        if outcome is not None:
            report(_finished(outcome, 0))
    pool = _Pool(specs, registry, output, outcomes, deadline, max_workers, monotonic, cancel or threading.Event(),
                 kube, budget, env, groups or ProcessGroups(), report)
    timed_out = pool.run(runnable)
    done = [o for o in outcomes if o is not None] + [Outcome(spec, "skipped", why) for spec, why in refused]
    for outcome in done:
        if outcome.status != "succeeded" or outcome.warnings:
            _write_error(output, outcome, started)
    return done, timed_out


def runnable_specs(specs: Sequence[CollectorSpec], registry: Registry, cluster: bool) -> list[CollectorSpec]:
    """The specs that will run: not excluded, supported, allowed by collect.cluster."""
    return [spec for spec in specs if _skip_reason(spec, registry, cluster) is None]


def _skip_reason(spec: CollectorSpec, registry: Registry, cluster: bool) -> str | None:
    if spec.params.get("exclude") in (True, "true", "True"):
        return "excluded by the spec (exclude: true)"
    if not spec.host and not cluster:
        return "in-cluster collector, and the schedule has collect.cluster: false"
    if registry.find(spec) is None:
        where = "host collector" if spec.host else "in-cluster collector"
        return f"{where} type {spec.kind!r} is not supported by sbsched"
    return None


class _Pool:
    def __init__(self, specs: Sequence[CollectorSpec], registry: Registry, output: Output,
                 outcomes: list[Outcome | None], deadline: float, workers: int,
                 monotonic: Callable[[], float], cancel: threading.Event, kube: Kube | None,
                 budget: Budget | None, env: Mapping[str, str] | None, groups: ProcessGroups,
                 report: Progress) -> None:
        self.specs, self.registry, self.output, self.outcomes = specs, registry, output, outcomes
        self.report = report
        self.cancel, self.kube, self.budget, self.env, self.groups = cancel, kube, budget, env, groups
        self.deadline, self.workers, self.monotonic = deadline, workers, monotonic
        self.todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.changed = threading.Condition()
        self.running: dict[int, tuple[float, CollectContext]] = {}  # index -> (its deadline, ctx)

    def run(self, indices: list[int]) -> bool:
        for index in indices:
            self.todo.put(index)
        for _ in range(min(self.workers, len(indices))):
            self._spawn()
        with self.changed:
            while any(self.outcomes[i] is None for i in indices):
                now = self.monotonic()
                if self.cancel.is_set():
                    self._give_up(indices, "the run was stopped")
                    return False
                if self.budget is not None and self.budget.exceeded.is_set():
                    self._give_up(indices, "the bundle reached limits.maxBundleSizeBytes")
                    return False
                if now >= self.deadline:
                    self._give_up(indices, "the run's timeoutSeconds was reached")
                    return True
                for index, (until, ctx) in list(self.running.items()):
                    if now >= until and self.outcomes[index] is None:
                        self._abandon(index, ctx, f"timed out after {ctx.timeout:g}s")
                        self._spawn()  # keep the pool at size: the stuck thread is lost
                wake = min([self.deadline, now + _CANCEL_CHECK] + [until for until, _ in self.running.values()])
                self.changed.wait(timeout=max(0.0, wake - now))
        return False

    def _spawn(self) -> None:
        threading.Thread(target=self._work, daemon=True, name="sbsched-collector").start()

    def _work(self) -> None:
        while True:
            try:
                index = self.todo.get_nowait()
            except queue.Empty:
                return
            spec = self.specs[index]
            with self.changed:
                if self.outcomes[index] is not None:  # given up on before it started
                    continue
                start = self.monotonic()
                own = go_duration(spec.params.get("timeout")) or DEFAULT_TIMEOUT
                cancelled = threading.Event()
                ctx = CollectContext(output=GuardedOutput(self.output.root, cancelled, self.budget), cancelled=cancelled,
                                     timeout=max(0.001, min(own, self.deadline - start)),
                                     kube=None if spec.host else self.kube,
                                     env=dict(os.environ if self.env is None else self.env), groups=self.groups)
                self.running[index] = (start + ctx.timeout, ctx)
            self.report(ProgressEvent(COLLECTOR_STARTED, name=spec.name, kind=spec.kind))
            status, reason = "succeeded", None
            collector = self.registry.find(spec)
            assert collector is not None   # unsupported kinds were skipped before the pool started
            try:
                collector(spec, ctx)
            except Skipped as exc:
                status, reason = "skipped", str(exc) or "not applicable here"
            except Exception as exc:  # a collector's failure is recorded; the run goes on
                status, reason = "failed", f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)
            if self.budget is not None and not self.budget.exceeded.is_set():
                self.budget.measure(self.output.root)   # what a child process wrote past the counted writes
            with self.changed:
                self.running.pop(index, None)
                if self.outcomes[index] is None:
                    elapsed = int((self.monotonic() - start) * 1000)
                    outcome = Outcome(spec, status, reason, elapsed, tuple(ctx.warnings))
                    self.outcomes[index] = outcome
                    self.changed.notify_all()
                    self.report(_finished(outcome, ctx.output.written if isinstance(ctx.output, GuardedOutput) else 0))
                else:
                    return  # abandoned: a replacement worker already took this thread's place

    def _abandon(self, index: int, ctx: CollectContext, reason: str) -> None:
        ctx.cancelled.set()
        started = self.running.pop(index)[0] - ctx.timeout
        outcome = Outcome(self.specs[index], "failed", reason, int((self.monotonic() - started) * 1000))
        self.outcomes[index] = outcome
        self.report(_finished(outcome, ctx.output.written if isinstance(ctx.output, GuardedOutput) else 0))

    def _give_up(self, indices: list[int], reason: str) -> None:
        for index, (_, ctx) in list(self.running.items()):
            self._abandon(index, ctx, reason)
        for index in indices:
            if self.outcomes[index] is None:
                outcome = Outcome(self.specs[index], "skipped", f"not started: {reason}")
                self.outcomes[index] = outcome
                self.report(_finished(outcome, 0))


def _finished(outcome: Outcome, written: int) -> ProgressEvent:
    return ProgressEvent(COLLECTOR_FINISHED, name=outcome.spec.name, kind=outcome.spec.kind, status=outcome.status,
                         detail=outcome.reason, bytes=written, duration_ms=outcome.duration_ms)


def _write_error(output: Output, outcome: Outcome, started: datetime) -> None:
    """collector-errors/<name>-error.json, troubleshoot's shape, plus our status."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", outcome.spec.name).strip("-") or outcome.spec.kind
    relative = f"collector-errors/{safe}-error.json"
    suffix = 1
    while output.path(relative).exists():
        suffix += 1
        relative = f"collector-errors/{safe}-{suffix}-error.json"
    record: dict[str, object] = {"collector": outcome.spec.name, "error": outcome.reason, "status": outcome.status,
              "timestamp": started.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if outcome.warnings:
        record.update(error=outcome.reason or "; ".join(outcome.warnings), warnings=list(outcome.warnings))
    output.write_json(relative, record)
