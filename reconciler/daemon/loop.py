"""The reconcile loop: sleep until the earliest next fire time, start what is due, repeat.

It keeps a heap of (wake time, schedule) built from the state and rebuilt when another process
changed the state's serial (apply signals a running daemon with SIGUSR1; the loop also reads the
serial whenever it wakes, at least every `max_sleep` seconds (`--check-interval`, default a minute), so
a missed signal, or a jump of the wall clock, costs at most that). Decisions come from the
pure `timing.decisions`; runs go to a bounded thread pool; status changes are batched into few state writes.
Only one daemon may serve a state dir: it holds a lock on daemon.pid for its whole life.
"""
from __future__ import annotations

import functools
import heapq
import json
import logging
import os
import random
import socket
import sys
import threading
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..base.backoff import RetryPolicy
from ..base.clock import Clock
from ..base.errors import PERMANENT, TRANSIENT, StateError, UnsafePath
from ..base.gcpause import paused_gc
from ..collect.groups import kill_recorded
from ..collect.runner import Registry
from ..manifest.model import Policy
from .logs import FIELDS, run_context, run_fields
from ..plan.transitions import mark_finished
from ..run.bundle import bundle_name
from ..run.executor import RunOptions, execute, write_now
from .status_writer import StatusBatcher
from ..store import executions
from ..store.nofollow import rmtree_below, unlink_below
from ..store.records import ExecutionRecord
from ..store.pidfile import process_alive
from ..store.state import StateStore
from ..timing import decisions, dependencies

if TYPE_CHECKING:
    from .metrics import Metrics

log = logging.getLogger("sbsched.daemon")
ended = logging.getLogger("sbsched.executor")   # how runs end: `level=error component=executor` when failed

MAX_SLEEP = 60.0         # wake at least this often to stat state.json
MAX_RETRY_DELAY = 86_400.0  # a run's retry waits at most a day: 30 s doubled 42 times is past year 9999


# -- the loop -----------------------------------------------------------------------------------------
@dataclass
class Active:
    run_id: str
    schedule: str
    options: RunOptions
    future: Future[ExecutionRecord] | None = None
    done: threading.Event = field(default_factory=threading.Event)  # set once _finished is through


@dataclass
class Daemon:
    store: StateStore
    clock: Clock
    max_concurrent: int = 4
    lock_timeout: float = 30.0
    once: bool = False                                     # reconcile --once: one pass, then drain
    wakeup: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    on_dispatch: Callable[[decisions.Due, datetime], None] | None = None  # observability hook (bench, tests)
    registry: Registry | None = None                      # collectors by kind; None: the built-in ones
    metrics: Metrics | None = None                         # fed with run events when the daemon serves /metrics
    random: Callable[[], float] = random.random            # the retries' jitter; tests pass a seeded one
    max_sleep: float = MAX_SLEEP                           # --check-interval: the longest sleep between looks
    recover_runs: bool = False                             # --recover: run again what a stop or crash cut short

    def __post_init__(self) -> None:
        self.heap: list[tuple[datetime, str, datetime | None]] = []  # (wake, schedule, the slot it starts)
        # What the loop keeps of each schedule: the few fields the decisions read (`index`), and the whole
        # record compressed (`packed`), unpacked by the run that needs it. With 10,000 schedules this is
        # ~15 MB instead of ~45 MB of parsed state.
        self.index: dict[str, dict[str, Any]] = {}
        self.packed: dict[str, bytes] = {}
        self._shared: dict[Any, Any] = {}  # identical small values (policies, zones) stored once
        self.retries: list[tuple[datetime, str, datetime, str, int]] = []  # (when, schedule, slot, trigger, attempt)
        self.retrying: dict[str, dict[str, Any]] = {}          # the failed record of each run waiting to retry
        self.broken: dict[str, str] = {}                       # schedules that cannot be timed here, and why
        self.planned_serial: int | None = None                 # the state serial the heap was built from
        self.reload_requested = False                          # daemon reload / apply's signal: re-plan
        self.active: dict[str, Active] = {}                    # by execution id
        self.started_ids: set[str] = set()                     # every slot id this daemon started
        self.opened_at = self.clock.now()
        self.last_tick = self.opened_at                        # the latest loop iteration: /healthz, /readyz
        self.by_schedule: dict[str, dict[str, Active]] = {}   # schedule -> its active runs
        self.results: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.closing = False
        self.following: dict[str, list[tuple[str, str]]] = {}   # upstream -> [(dependent, on)], from `index`

    # The loop ---------------------------------------------------------------------------------------
    def run(self) -> list[dict[str, Any]]:
        """Serve until stopped (or one pass with `once`); returns the records of runs it finished."""
        self.open()
        try:
            while not self.stopping.is_set():
                self.tick()
                if self.once:
                    self.wait_idle()   # the runs `after:` those it started are part of the pass
                    break
                self._sleep_until_next(self.clock.now())
        finally:
            self.close()
        return self.results

    def open(self) -> None:
        self.opened_at = self.clock.now()
        self.pool = ThreadPoolExecutor(max_workers=self.max_concurrent, thread_name_prefix="sbsched-run")
        self.batcher = StatusBatcher(self.store, self.clock, lock_timeout=self.lock_timeout)
        self.recover()
        self._reload(force=True)
        if self.recover_runs:
            self._rerun_cut_short()

    def tick(self) -> datetime | None:
        """One look: pick up a changed state, start what is due; the next wake time, if any."""
        now = self.last_tick = self.clock.now()
        self._reload()
        with paused_gc(freeze=False):   # a burst of slots makes ~10 objects each: no collection midway
            self._fire_due(now)
        self._fire_retries(now)
        wakes = [w for w in (self.heap[0][0] if self.heap else None, self._next_retry()) if w is not None]
        return min(wakes) if wakes else None

    def wait_idle(self) -> None:
        """Block until no run is active and every finished run is accounted for (tests, --once)."""
        while True:
            with self.lock:
                pending = list(self.active.values())
            if not pending:
                return
            for active in pending:
                active.done.wait()

    def close(self) -> None:
        """No new runs; wait for the active ones (cancel_all, from a signal, shortens this). A run waiting
        for its retry ends failed: nobody is left to retry it."""
        self.closing = True   # a run ending from here on starts no dependent: the pool takes no more
        self.pool.shutdown(wait=True, cancel_futures=True)  # queued runs never start: their slots stay free
        with self.lock:
            waiting, self.retrying = list(self.retrying.values()), {}
        for record in waiting:
            _retry_abandoned(self.store.root, record, "the daemon stopped")
        self.batcher.close()

    def _sleep_until_next(self, now: datetime) -> None:
        wait = self.max_sleep
        for wake in (self.heap[0][0] if self.heap else None, self._next_retry()):
            if wake is not None:
                wait = min(wait, max(0.0, (wake - now).total_seconds()))
        self.wakeup.wait(timeout=wait)
        self.wakeup.clear()

    def request_reload(self) -> None:
        self.reload_requested = True
        self.wakeup.set()

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.set()

    # State ------------------------------------------------------------------------------------------
    def _reload(self, *, force: bool = False) -> None:
        """Re-plan from the state when another process wrote it since the heap was built, or when asked."""
        try:
            serial = self.store.serial()
            if not (force or self.reload_requested) and self.planned_serial is not None:
                self.planned_serial = self.batcher.follow(self.planned_serial)
                if self.planned_serial == serial:
                    return  # unchanged, or changed by our own status writes only: nothing to re-plan
            self.reload_requested = False
            index, packed, successes, broken = self._load()
        except (StateError, OSError, ValueError) as exc:
            if force:
                raise   # at start: refuse, rather than run without knowing the schedules
            log.error("cannot re-read the state (%s); keeping the schedules read before, retrying", exc)
            self.reload_requested = True   # the next iteration tries again
            return
        self.index, self.packed, self.broken = index, packed, {}
        self.following = dependencies.followers({name: entry["spec"] for name, entry in index.items()})
        self.planned_serial = serial   # read before the records: a write in between re-plans once more
        if self.metrics is not None:
            self.metrics.loaded(successes)
        for name, problem in sorted(broken.items()):
            self._unschedule(name, problem)
        now = self.clock.now()
        self.heap = [(now, name, None) for name in self.index]  # each is decided once, then placed
        heapq.heapify(self.heap)

    def _load(self) -> tuple[dict[str, dict[str, Any]], dict[str, bytes], dict[str, str | None], dict[str, str]]:
        """The slim index and packed records of the schedules that can be timed, each one's last success
        (for metrics), and why each of the others cannot: one bad record never stops the rest."""
        index: dict[str, dict[str, Any]] = {}
        packed: dict[str, bytes] = {}
        successes: dict[str, str | None] = {}
        broken: dict[str, str] = {}
        with paused_gc():
            for name, raw in self.store.iter_records():
                record = json.loads(raw)
                successes[name] = (record.get("status") or {}).get("lastSuccessfulTime")
                problem = decisions.record_problem(record)
                if problem is not None:
                    broken[name] = problem
                    continue
                index[name] = _slim(record, self._shared)
                packed[name] = zlib.compress(raw, 1)
        return index, packed, successes, broken

    # Firing -----------------------------------------------------------------------------------------
    def _fire_due(self, now: datetime) -> None:
        """Start every schedule whose wake time has come. The common case, a slot reached on time with
        the state unchanged since it was planned, skips the decisions; and the runs of one tick are held
        at a gate until all are handed over, so they do not take the GIL from the dispatching loop:
        at 1,000 slots in one second, the cost per slot decides how late the last one is handed over."""
        gate, started = threading.Event(), []
        later: list[tuple[str, dict[str, Any], datetime]] = []  # (name, spec, slot): next wake, after the gate
        try:
            while self.heap and self.heap[0][0] <= now:
                wake, name, slot = heapq.heappop(self.heap)
                record = self.index.get(name)
                if record is None:
                    continue
                spec = record["spec"]
                if slot is not None and now - wake <= decisions.ON_TIME and not decisions.suspended(record) \
                        and wake == decisions.run_time(name, spec, slot):
                    on_time = decisions.Due(name, slot, wake, "schedule")
                    due: decisions.Due | None = None if self._recorded(on_time) else on_time
                    later.append((name, spec, slot))
                    next_entry: tuple[datetime, str, datetime | None] | None = None
                else:
                    try:
                        decision = decisions.decide(name, record, now, recorded=self._recorded)
                    except (ValueError, OverflowError, KeyError, TypeError) as exc:  # what record_problem
                        self._unschedule(name, f"cannot be timed: {exc}")             # cannot foresee
                        continue
                    if decision.warning:
                        log.warning(decision.warning)
                    for missed, why in decision.missed:   # recorded, so no later pass decides on it again
                        self._record_skipped(decisions.Due(name, missed, missed, "catch-up"), record, now, why,
                                             reason="deadline", level=logging.WARNING)
                    due = decision.due
                    next_entry = (decision.wake, name, decision.next_slot) if decision.wake else None
                    if self.metrics is not None:
                        self.metrics.scheduled(name, decision.wake, spec=record["spec"], slot=decision.next_slot)
                if due is not None and self._start(due, record, gate):
                    started.append(due)
                if next_entry is not None:
                    heapq.heappush(self.heap, next_entry)
        finally:
            gate.set()
        for name, spec, slot in later:
            following = decisions.next_slot_after(spec, slot)
            wake = decisions.run_time(name, spec, following)
            heapq.heappush(self.heap, (wake, name, following))
            if self.metrics is not None:
                self.metrics.scheduled(name, wake, spec=spec, slot=following)
        for due in started:
            log.info("%s: started %s (%s, slot %s)", due.schedule, due.id, due.trigger, due.slot.isoformat(),
                     extra=run_fields(due.schedule, due.id, trigger=due.trigger))

    def _unschedule(self, name: str, problem: str) -> None:
        """Stop timing one schedule until the state changes; the others go on."""
        self.index.pop(name, None)
        self.broken[name] = problem
        log.error("%s: not scheduled: %s; fix it in the manifest and apply it again", name, problem,
                  extra={FIELDS: {"schedule": name}})
        if self.metrics is not None:
            self.metrics.unscheduled(name)

    def _next_retry(self) -> datetime | None:
        with self.lock:
            return self.retries[0][0] if self.retries else None

    def _fire_retries(self, now: datetime) -> None:
        """Failed runs whose error is transient run again, same slot and id, after their backoff."""
        gate = threading.Event()
        while True:
            with self.lock:
                if not self.retries or self.retries[0][0] > now:
                    break
                _, name, slot, trigger, attempt = heapq.heappop(self.retries)
                failed = self.retrying.pop(decisions.slot_id(name, slot), None)
            record = self.index.get(name)
            if record is not None and not decisions.suspended(record):
                self._start(decisions.Due(name, slot, slot, trigger), record, gate, attempt=attempt)
            elif failed is not None:
                _retry_abandoned(self.store.root, failed, "its schedule was deleted or suspended meanwhile")
        gate.set()

    def _recorded(self, due: decisions.Due) -> bool:
        """True when this slot ran or runs already: a slot never starts twice, even across restarts.
        Slots after this daemon opened can only have been started by it (it holds the state dir), so
        memory answers for them; older ones are looked up on disk (their record was written first)."""
        if due.id in self.started_ids:
            return True
        if due.slot >= self.opened_at:
            return False
        return executions.record_path(self.store.root, {"id": due.id, "scheduledTime": due.slot.isoformat()}).exists()

    def _start(self, due: decisions.Due, record: dict[str, Any], gate: threading.Event, *, attempt: int = 1) -> bool:
        """Hand one slot to the pool (held at `gate`); False when the concurrency policy skips it."""
        now = self.clock.now()
        self.started_ids.add(due.id)
        record.setdefault("status", {})["lastScheduleTime"] = due.slot.isoformat()
        policy = record["spec"]["policy"]["concurrency"]
        with self.lock:
            running = list(self.by_schedule.get(due.schedule, {}).values())
        if running and policy == "Forbid":
            self._record_skipped(due, record, now, f"concurrency Forbid: {running[0].run_id} is still running")
            return False
        if running and policy == "Replace":
            for active in running:
                active.options.cancel_reason = f"replaced by {due.id}"
                active.options.cancel.set()
        options = RunOptions(trigger=due.trigger, scheduled_time=due.slot, dispatch_time=now, attempt=attempt,
                             lock_timeout=self.lock_timeout, status_sink=self.batcher.submit, registry=self.registry,
                             load_entry=functools.partial(_unpack, self.packed[due.schedule]))
        if self.on_dispatch is not None:
            self.on_dispatch(due, now)
        self._submit(Active(due.id, due.schedule, options), gate)
        return True

    def _submit(self, active: Active, gate: threading.Event) -> None:
        with self.lock:  # registered before it can finish, so _finished always finds it
            self.active[active.run_id] = active
            self.by_schedule.setdefault(active.schedule, {})[active.run_id] = active
            if self.metrics is not None:
                self.metrics.active(len(self.active))
        active.future = self.pool.submit(_after, gate, active.schedule, active.run_id, execute, self.store,
                                         active.schedule, self.clock, active.options)
        active.future.add_done_callback(functools.partial(self._finished, active))

    def _rerun_cut_short(self) -> None:
        """`--recover`: each schedule whose latest run was interrupted (a crash) or cancelled by a shutdown
        runs again now, as a manual run recorded `recoveredFrom` the old one."""
        latest: dict[str, dict[str, Any]] = {}
        for record in executions.history(self.store.root):   # newest first
            latest.setdefault(record["schedule"], record)
        gate = threading.Event()
        for name, record in sorted(latest.items()):
            if name not in self.index or not executions.cut_short(record):
                continue
            options = RunOptions(trigger="manual", dispatch_time=self.clock.now(), lock_timeout=self.lock_timeout,
                                 status_sink=self.batcher.submit, registry=self.registry, recovered_from=record["id"],
                                 load_entry=functools.partial(_unpack, self.packed[name]))
            log.info("%s: run again now (--recover): %s was %s", name, record["id"], record.get("reason"),
                     extra=run_fields(name, record["id"]))
            self._submit(Active(f"{record['id']}-recovery", name, options), gate)
        gate.set()

    def _finished(self, active: Active, future: Future[ExecutionRecord]) -> None:
        try:
            record = future.result()
        except BaseException as exc:  # execute() recorded it already; keep the daemon alive
            log.error("%s: run raised %s: %s", active.run_id, type(exc).__name__, exc,
                      extra=run_fields(active.schedule, active.run_id))
        else:
            self.results.append(record.to_json())
            level = logging.ERROR if record.status == "failed" else logging.INFO
            ended.log(level, "%s: %s%s", record.id, record.status, f" ({record.reason})" if record.reason else "",
                      extra=run_fields(active.schedule, record.id, status=record.status, reason=record.reason))
            if self.metrics is not None:
                self.metrics.finished(record)
            if not self._maybe_retry(record):
                self._start_dependents(record)
        finally:
            with self.lock:
                self.active.pop(active.run_id, None)
                self.by_schedule.get(active.schedule, {}).pop(active.run_id, None)
                if self.metrics is not None:
                    self.metrics.active(len(self.active))
            active.done.set()

    def _maybe_retry(self, record: ExecutionRecord) -> bool:
        """Exponential backoff with jitter, transient errors only, at most policy.retries times. A failed
        upload is not run again: delivery retried it per the same policy, and re-collecting won't help.
        True when the run will be tried again (so it has not ended for its dependents yet)."""
        entry = self.index.get(record.schedule)
        if entry is None or record.status != "failed" or record.error_class != TRANSIENT or self.stopping.is_set() \
                or record.reason == "upload" or record.trigger in ("manual", "dependency") or record.attempt is None:
            return False
        policy = self.retry_policy(record.schedule)
        if record.attempt > policy.retries:
            log.warning("%s: failed after %d attempt(s); no retries left", record.id, record.attempt,
                        extra=run_fields(record.schedule, record.id))
            return False
        delay = policy.delay(record.attempt)
        when = self.clock.now() + timedelta(seconds=delay)
        slot = datetime.fromisoformat(record.scheduled_time)
        waiting = replace(record, status="retrying", next_attempt_time=when.isoformat())
        try:   # `history` shows it waiting, with its next attempt; the retry rewrites the record
            executions.write(self.store.root, waiting)
        except OSError as exc:
            log.warning("%s: cannot record the wait for its retry: %s", record.id, exc.strerror or exc)
        with self.lock:
            self.retrying[record.id] = record.to_json()   # what _retry_abandoned rewrites, as recovery does
            heapq.heappush(self.retries, (when, record.schedule, slot, str(record.trigger), record.attempt + 1))
        log.info("%s: transient failure, attempt %d of %d in %.1fs", record.id, record.attempt + 1,
                 policy.retries + 1, delay, extra=run_fields(record.schedule, record.id))
        self.wakeup.set()
        return True

    def _start_dependents(self, record: ExecutionRecord) -> None:
        """The schedules that run `after:` this one, when its run ended the way they ask for, start now, each
        as a `dependency` run recording the run it follows. Once per upstream run (the id names it); not
        while the daemon stops, nor for a suspended schedule; a dependent still running under Forbid is
        skipped (logged), under Replace cancelled, as for its cron slots."""
        if self.stopping.is_set() or self.closing:
            return
        # read once: a reload in the loop's thread may replace them meanwhile (one deleted is passed over)
        index, packed, following = self.index, self.packed, self.following
        now, gate = self.clock.now(), threading.Event()
        followed = {"schedule": record.schedule, "executionId": record.id, "status": record.status}
        for name in dependencies.dependents(following, record.schedule, record.status):
            run_id = dependencies.run_id(name, record.id)
            if name not in index or name not in packed or decisions.suspended(index[name]) \
                    or run_id in self.started_ids:
                continue
            self.started_ids.add(run_id)
            with self.lock:
                running = list(self.by_schedule.get(name, {}).values())
            policy = index[name]["spec"]["policy"]["concurrency"]
            if running and policy == "Forbid":
                log.warning("%s: not started after %s: concurrency Forbid: %s is still running", name, record.id,
                            running[0].run_id, extra=run_fields(name, run_id))
                continue
            for active in running if policy == "Replace" else []:
                active.options.cancel_reason = f"replaced by {run_id}"
                active.options.cancel.set()
            options = RunOptions(trigger="dependency", scheduled_time=now, dispatch_time=now, after=followed,
                                 lock_timeout=self.lock_timeout, status_sink=self.batcher.submit, registry=self.registry,
                                 load_entry=functools.partial(_unpack, packed[name]))
            log.info("%s: started %s (dependency, after %s %s)", name, run_id, record.id, record.status,
                     extra=run_fields(name, run_id, trigger="dependency"))
            try:
                self._submit(Active(run_id, name, options), gate)
            except RuntimeError:   # close() shut the pool down after the check above: the daemon is going
                with self.lock:
                    self.active.pop(run_id, None)
                    self.by_schedule.get(name, {}).pop(run_id, None)
                break
        gate.set()

    def retry_policy(self, name: str) -> RetryPolicy:
        """retries / backoffSeconds of a schedule (not in the slim index: read from its packed record)."""
        policy = Policy.from_json(_unpack(self.packed[name])["spec"]["policy"])
        return RetryPolicy(retries=policy.retries, backoff_seconds=policy.backoff_seconds,
                           max_delay=MAX_RETRY_DELAY, random=self.random)

    def _record_skipped(self, due: decisions.Due, record: dict[str, Any], now: datetime, why: str, *,
                        reason: str = "concurrency", level: int = logging.INFO) -> None:
        self.started_ids.add(due.id)
        entry = executions.new_record(due.id, due.schedule, record["set"], trigger=due.trigger, slot=due.slot,
                                      dispatched=now, status="skipped")
        entry.update(endTime=now.isoformat(), durationSeconds=0, reason=reason,
                     error={"class": PERMANENT, "message": why})
        executions.write(self.store.root, entry)
        self.results.append(entry)
        log.log(level, "%s: skipped %s: %s", due.schedule, due.id, why,
                extra=run_fields(due.schedule, due.id, status="skipped", reason=reason))
        if self.metrics is not None:
            self.metrics.finished(ExecutionRecord.from_json(entry))
        self.batcher.submit(functools.partial(_finish, record=entry, now=now))

    # Recovery and shutdown ---------------------------------------------------------------------------
    def recover(self, *, daemon_alive: bool = False) -> list[dict[str, str]]:
        """Runs left `running` by a process that is gone become failed/interrupted; nothing stays active:
        an id still in a schedule's `active` whose run ended (its record final on disk, its batched status
        change lost with the process that died before writing it) is settled from its record. Returns what
        it fixed. `daemon_alive` (`cleanup --repair` beside a running daemon): only the runs of dead
        processes are settled; `active` lists and waiting retries are the live daemon's to keep."""
        fixed: list[dict[str, str]] = []
        host = socket.gethostname()
        dead: list[dict[str, Any]] = []
        live: set[str] = set()
        ended: dict[str, dict[str, Any]] = {}
        every = executions.history(self.store.root)
        live_names = {(r.get("schedule"), _bundle_base(r)) for r in every if r.get("status") == "running"
                      and (r.get("runner") or {}).get("host") == host and process_alive((r.get("runner") or {}).get("pid"))}
        for record in every:
            if record.get("status") == "retrying" and not daemon_alive:   # its daemon died waiting to retry it
                _retry_abandoned(self.store.root, record, "the daemon that was to retry it is gone")
                fixed.append({"kind": "abandoned-retry", "id": str(record["id"])})
            if record.get("status") != "running":
                ended.setdefault(str(record.get("id")), record)
                continue
            runner = record.get("runner") or {}
            if runner.get("host") == host and process_alive(runner.get("pid")) and runner.get("pid") != os.getpid():
                live.add(record["id"])
                continue  # a manual `sbsched run` in progress
            now = self.clock.now()
            fixed += [{"kind": "debris", "id": str(record["id"]), "path": removed}
                      for removed in _remove_debris(self.store.root, record, live=live_names)]
            record.update(status="failed", reason="interrupted", endTime=now.isoformat(),
                          error={"class": TRANSIENT, "message": "the process running it died"})
            executions.write(self.store.root, record)
            dead.append(record)
            fixed.append({"kind": "interrupted", "id": str(record["id"])})
            log.warning("%s: marked failed (interrupted): its process is gone", record["id"],
                        extra=run_fields(record["schedule"], record["id"], status="failed", reason="interrupted"))
            if self.metrics is not None:
                self.metrics.finished(ExecutionRecord.from_json(record))
        now = self.clock.now()
        changes = [functools.partial(_finish, record=r, now=now) for r in dead]
        settled = live | {r["id"] for r in dead}
        for name, raw in [] if daemon_alive else self.store.iter_records():   # one record at a time
            if b'"active":[]' in raw:
                continue
            for run_id in (json.loads(raw).get("status") or {}).get("active") or []:
                if run_id not in settled:
                    final = ended.get(run_id)
                    changes.append(functools.partial(_finish, record=final, now=now) if final is not None
                                   else functools.partial(_drop_active, name=name, run_id=run_id))
                    log.warning("%s: listed as active, but its run has ended; status settled from %s", run_id,
                                "its record" if final is not None else "nothing (no record)",
                                extra=run_fields(name, run_id))
                    fixed.append({"kind": "stale-active", "id": run_id})
        if changes:
            write_now(self.store, *changes, now=now, lock_timeout=self.lock_timeout,
                      command="sbsched daemon (recovery)")
        return fixed

    def cancel_all(self, reason: str) -> None:
        """Stop every active run now (daemon stop past its grace): each ends failed with `reason`."""
        with self.lock:
            for active in self.active.values():
                active.options.cancel_reason = reason
                active.options.cancel.set()


def _slim(record: dict[str, Any], shared: dict[Any, Any]) -> dict[str, Any]:
    """The fields of a state record that the decisions and the loop read, small values shared."""
    spec, status, meta = record["spec"], record.get("status") or {}, record.get("metadata") or {}
    policy = Policy.from_json(spec.get("policy") or {})
    key = (policy.jitter_seconds, policy.starting_deadline_seconds, policy.concurrency)
    slim_policy = shared.setdefault(key, {"jitterSeconds": key[0], "startingDeadlineSeconds": key[1],
                                          "concurrency": key[2]})
    return {"set": sys.intern(record["set"]),
            "spec": {**({"cron": sys.intern(spec["cron"])} if "cron" in spec else {}),
                     "timezone": sys.intern(spec.get("timezone", "UTC")),
                     "suspend": bool(spec.get("suspend")), "policy": slim_policy,
                     **({"after": spec["after"]} if spec.get("after") else {})},
            "status": {"suspended": bool(status.get("suspended")), "resumedTime": status.get("resumedTime"),
                       "lastScheduleTime": status.get("lastScheduleTime")},
            "metadata": {"createdTime": meta.get("createdTime"), "cronChangedTime": meta.get("cronChangedTime")}}


def _unpack(packed: bytes) -> dict[str, Any]:
    return json.loads(zlib.decompress(packed))  # type: ignore[no-any-return]


def _after(gate: threading.Event, schedule: str, run_id: str, work: Callable[..., ExecutionRecord],
           *args: Any) -> ExecutionRecord:
    gate.wait()
    with run_context(schedule, run_id):  # lines the run logs (upload, webhooks) name it
        return work(*args)


def _retry_abandoned(root: Path, record: dict[str, Any], why: str) -> None:
    """A run that was waiting for its retry ends failed, as its last attempt did, saying why."""
    record.pop("nextAttemptTime", None)
    error = dict(record.get("error") or {"class": TRANSIENT, "message": "failed"})
    error["message"] = f"{error.get('message')} (not retried: {why})"
    record.update(status="failed", error=error)
    try:
        executions.write(root, record)
    except OSError as exc:
        log.warning("%s: cannot record that its retry was dropped: %s", record.get("id"), exc.strerror or exc)


def _finish(state: dict[str, Any], *, record: dict[str, Any], now: datetime) -> dict[str, Any]:
    return mark_finished(state, record["schedule"], ExecutionRecord.from_json(record), now)


def _bundle_base(record: Mapping[str, Any]) -> str | None:
    """The bundle name (without a -N suffix) a run's start time gave its staging dir and archive."""
    try:
        return bundle_name(datetime.fromisoformat(str(record["startTime"])), set())
    except (KeyError, TypeError, ValueError):
        return None


def _remove_debris(root: Path, record: dict[str, Any], *, live: set[tuple[Any, str | None]]) -> list[str]:
    """A killed run's collector processes still alive on this host (their record entry is taken out of
    the record), then its staging dir (their output before redaction) and partial archive: nothing else
    removes them. The files are found by the bundle name its start time gave them; a live run's are left
    alone."""
    processes = record.pop("collectorProcesses", None)
    if (record.get("runner") or {}).get("host") == socket.gethostname():
        killed = kill_recorded(processes)
        if killed:
            log.warning("%s: killed %d process group(s) its collectors left running (%s)", record.get("id"),
                        len(killed), ", ".join(map(str, killed)))
    schedule, base = str(record.get("schedule") or ""), _bundle_base(record)
    if base is None or not schedule or "/" in schedule or schedule.startswith(".") or (schedule, base) in live:
        return []
    directory = root / "bundles" / schedule
    removed: list[str] = []
    for pattern in (f".staging-{base}", f".staging-{base}-*", f".{base}.tar.gz.*.tmp", f".{base}-*.tar.gz.*.tmp"):
        for path in directory.glob(pattern):
            try:   # never through a link at bundles/ or bundles/<schedule>/
                if path.is_dir() and not path.is_symlink():
                    rmtree_below(root, path)
                else:
                    unlink_below(root, path)
            except UnsafePath as exc:
                log.warning("%s: %s left: %s", record.get("id"), path.name, exc.message)
                continue
            log.warning("%s: removed %s, left by its killed run", record.get("id"), path.name)
            removed.append(str(path))
    return removed


def _drop_active(state: dict[str, Any], *, name: str, run_id: str) -> dict[str, Any]:
    """The state without `run_id` in schedule `name`'s active list (a run with no record at all)."""
    schedules = dict(state["schedules"])
    entry = dict(schedules[name])
    entry["status"] = dict(entry.get("status") or {})
    entry["status"]["active"] = [a for a in entry["status"].get("active") or [] if a != run_id]
    schedules[name] = entry
    return {**state, "schedules": schedules}
