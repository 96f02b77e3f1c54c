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
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

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
START_MEMORY = timedelta(days=1)  # the ids of slots started longer ago are forgotten (looked up on disk)


# -- the loop -----------------------------------------------------------------------------------------
_done_lock = threading.Lock()   # makes each run's `done` event once, whichever thread asks first


@dataclass(slots=True, eq=False)
class Active:
    """A run handed to the pool: queued until a worker takes it, then running. A slot's run is made
    ahead, with the heap entry of its slot, and its `RunOptions` and `done` event when it starts (or is
    first waited on): with 10,000 slots in one tick, making them there was most of the cost per slot
    (issue 23), and the tick now only registers them."""

    run_id: str
    schedule: str
    trigger: str
    dispatched: datetime                # set when its burst is handed to the workers (_hand_over)
    packed: bytes                       # its schedule's record: a reload may drop it meanwhile
    slot: datetime | None = None
    attempt: int = 1
    recovered_from: str | None = None
    after: Mapping[str, str] | None = None   # a dependency run: {schedule, executionId, status} it follows
    run_at: datetime | None = None      # a slot's run: when it was meant to start (slot + jitter)
    options: RunOptions | None = None   # set (under the daemon's lock) when a worker starts it
    cancel_reason: str | None = None    # cancelled while queued: it starts cancelled, and ends at once
    _done: threading.Event | None = None

    @property
    def done(self) -> threading.Event:
        """Set once the run is accounted for (finished, or dropped from the queue)."""
        with _done_lock:
            if self._done is None:
                self._done = threading.Event()
            return self._done

    def cancel(self, reason: str) -> None:
        """Stop it, running or still queued (the caller holds the daemon's lock)."""
        self.cancel_reason = reason
        if self.options is not None:
            self.options.cancel_reason = reason
            self.options.cancel.set()


Entry = tuple[datetime, str, datetime | None, Active | None]  # wake, schedule, the slot it starts, its run


class Wakes:
    """When to look at which schedule: a heap of distinct wake times, and the entries of each. Schedules
    due at once (10,000 on one slot) come off together, where a heap of entries compared equal times
    some 25 times per entry on its way out. An entry that starts a slot carries that slot's run, made
    when the entry was, off the path of a burst."""

    def __init__(self) -> None:
        self.times: list[datetime] = []
        self.entries: dict[datetime, list[Entry]] = {}

    def push(self, entry: Entry) -> None:
        same = self.entries.get(entry[0])
        if same is None:
            self.entries[entry[0]] = [entry]
            heapq.heappush(self.times, entry[0])
        else:
            same.append(entry)

    def first(self) -> datetime | None:
        return self.times[0] if self.times else None

    def pop_due(self, now: datetime) -> Iterator[tuple[datetime, list[Entry]]]:
        """Each wake time that is `now` or earlier, earliest first, with its entries (those pushed meanwhile
        too)."""
        while self.times and self.times[0] <= now:
            wake = heapq.heappop(self.times)
            yield wake, self.entries.pop(wake)


@dataclass
class Daemon:
    store: StateStore
    clock: Clock
    max_concurrent: int = 4
    lock_timeout: float = 30.0
    once: bool = False                                     # reconcile --once: one pass, then drain
    wakeup: threading.Event = field(default_factory=threading.Event)
    stopping: threading.Event = field(default_factory=threading.Event)
    on_dispatch: Callable[[Active, datetime], None] | None = None  # each run at its hand-over (bench, tests)
    registry: Registry | None = None                      # collectors by kind; None: the built-in ones
    metrics: Metrics | None = None                         # fed with run events when the daemon serves /metrics
    random: Callable[[], float] = random.random            # the retries' jitter; tests pass a seeded one
    max_sleep: float = MAX_SLEEP                           # --check-interval: the longest sleep between looks
    recover_runs: bool = False                             # --recover: run again what a stop or crash cut short

    def __post_init__(self) -> None:
        self.heap = Wakes()
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
        # The ids this daemon started, each with its slot (a dependency run: its start), those of the last
        # START_MEMORY or more: for slots since `remembered_since`, memory says whether one started.
        self.started: dict[str, datetime] = {}
        self.remembered_since = self.last_tick = self.clock.now()   # last_tick: the latest look (/healthz, /readyz)
        self.by_schedule: dict[str, dict[str, Active]] = {}   # schedule -> its active runs
        self.results: list[dict[str, Any]] = []                # what a pass (`once`) finished: it returns them
        self.lock = threading.Lock()
        self.closing = False
        self.following: dict[str, list[tuple[str, str]]] = {}   # upstream -> [(dependent, on)], from `index`
        # Runs handed over but not started: the pool gets one work item per free worker (`_work`), which
        # takes runs from here until none is left, instead of one work item per run.
        self.queue: deque[Active] = deque()
        self.workers = 0                                       # work items in the pool

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
        self.remembered_since = self.clock.now()
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
        with paused_gc(freeze=False):   # a burst of slots makes short-lived objects: no collection midway
            self._fire_due(now)
        self._fire_retries(now)
        self._forget_old_starts(now)
        wakes = [w for w in (self.heap.first(), self._next_retry()) if w is not None]
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
        dropped = self._drop_queued()   # queued runs never start: their slots stay free
        if dropped:
            log.info("%d queued run(s) not started: the daemon stopped", dropped)
        self.pool.shutdown(wait=True)
        with self.lock:
            waiting, self.retrying = list(self.retrying.values()), {}
        for record in waiting:
            _retry_abandoned(self.store.root, record, "the daemon stopped")
        self.batcher.close()

    def _sleep_until_next(self, now: datetime) -> None:
        wait = self.max_sleep
        for wake in (self.heap.first(), self._next_retry()):
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
        self.heap = Wakes()
        for name in self.index:   # each is decided once, then placed
            self.heap.push((now, name, None, None))

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
        """Start every schedule whose wake time has come. The common case, slots reached on time, is
        `_start_on_time`'s; the rest go through the decisions. The runs of one tick reach the workers
        together once all are handed over, so they do not take the GIL from the dispatching loop: at
        10,000 slots in one second, the cost per slot decides how late the last one is handed over."""
        burst: list[Active] = []
        later: list[Entry] = []  # the slots reached on time: placed at their next slot after the hand-over
        try:
            for wake, entries in self.heap.pop_due(now):
                if now - wake <= decisions.ON_TIME:
                    entries = self._start_on_time(entries, burst, later, now)
                for entry in entries:
                    self._decide(entry, burst, now)
        finally:
            self._hand_over(burst)
        for _, name, slot, _ in later:
            record = self.index.get(name)
            if record is None or slot is None:
                continue
            spec = record["spec"]
            following = decisions.next_slot_after(spec, slot)
            wake = decisions.run_time(name, spec, following)
            self.heap.push(self._entry(wake, name, following))
            if self.metrics is not None:
                self.metrics.scheduled(name, wake, spec=spec, slot=following)
        for active in burst:
            log.info("%s: started %s (%s, slot %s)", active.schedule, active.run_id, active.trigger,
                     active.slot.isoformat() if active.slot else "-",
                     extra=run_fields(active.schedule, active.run_id, trigger=active.trigger))

    def _start_on_time(self, entries: list[Entry], burst: list[Active], later: list[Entry],
                       now: datetime) -> list[Entry]:
        """Start the runs of one wake time reached on time, under one hold of the lock; return the
        entries without a run (placed by a reload: the decisions place them). No decision is needed: the
        heap is rebuilt with the index at every reload, so an entry's run is its schedule's current next
        slot, not suspended, at its run time; a slot from before this daemon opened was looked up on disk
        by the decision that placed it, and a later one can only have been started by this daemon (it
        holds the state dir), so `started` answers. A slot whose schedule has a run still active
        goes through `_start` (the concurrency policy), after the lock. 10,000 slots of one minute pass
        here: each is a few dict operations."""
        undecided: list[Entry] = []
        crowded: list[tuple[decisions.Due, dict[str, Any]]] = []
        index, started, by_id, by_schedule = self.index, self.started, self.active, self.by_schedule
        with self.lock:   # registered before it can finish, so _finished finds it
            for entry in entries:
                _, name, slot, active = entry
                record = index.get(name)
                if record is None:
                    continue
                if active is None or slot is None:
                    undecided.append(entry)
                    continue
                later.append(entry)
                run_id = active.run_id
                if run_id in started:
                    continue
                running = by_schedule.get(name)
                if running:
                    crowded.append((decisions.Due(name, slot, entry[0], active.trigger), record))
                    continue
                started[run_id] = slot
                record["status"]["lastScheduleTime"] = _iso(slot)
                by_id[run_id] = active
                if running is None:
                    by_schedule[name] = {run_id: active}
                else:
                    running[run_id] = active
                burst.append(active)
        for due, record in crowded:
            self._start(due, record, burst, now)
        return undecided

    def _entry(self, wake: datetime, name: str, slot: datetime | None) -> Entry:
        """A heap entry; when `wake` starts a slot, with the slot's run, made now rather than when it is due."""
        if slot is None:
            return wake, name, None, None
        run = Active(decisions.slot_id(name, slot), name, "schedule", wake, self.packed[name], slot, run_at=wake)
        return wake, name, slot, run

    def _decide(self, entry: Entry, burst: list[Active], now: datetime) -> None:
        """One schedule at its wake time, through the decisions: placed by a reload, or woken late (the
        daemon asleep, the wall clock moved): start what is due, record what was missed, place it again."""
        _, name, _, _ = entry
        record = self.index.get(name)
        if record is None:
            return
        try:
            decision = decisions.decide(name, record, now, recorded=self._recorded)
        except (ValueError, OverflowError, KeyError, TypeError) as exc:  # what record_problem cannot foresee
            self._unschedule(name, f"cannot be timed: {exc}")
            return
        if decision.warning:
            log.warning(decision.warning)
        for missed, why in decision.missed:   # recorded, so no later pass decides on it again
            self._record_skipped(decisions.Due(name, missed, missed, "catch-up"), record, now, why,
                                 reason="deadline", level=logging.WARNING)
        if self.metrics is not None:
            self.metrics.scheduled(name, decision.wake, spec=record["spec"], slot=decision.next_slot)
        if decision.due is not None:
            self._start(decision.due, record, burst, now)
        if decision.wake is not None:
            self.heap.push(self._entry(decision.wake, name, decision.next_slot))

    def _forget_old_starts(self, now: datetime) -> None:
        """Once a day, forget the ids of slots over START_MEMORY old: a daemon left for months would
        otherwise hold every id it ever started. The decisions never ask about a slot before a schedule's
        last start (`lastScheduleTime`) but when that status write was lost, and then the disk answers.
        In place: a worker starting a dependency run may be adding an id meanwhile."""
        if now - self.remembered_since < 2 * START_MEMORY:
            return
        cutoff = now - START_MEMORY
        for run_id, slot in list(self.started.items()):
            if slot < cutoff:
                self.started.pop(run_id, None)
        self.remembered_since = cutoff

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
        burst: list[Active] = []
        while True:
            with self.lock:
                if not self.retries or self.retries[0][0] > now:
                    break
                _, name, slot, trigger, attempt = heapq.heappop(self.retries)
                failed = self.retrying.pop(decisions.slot_id(name, slot), None)
            record = self.index.get(name)
            if record is not None and not decisions.suspended(record):
                self._start(decisions.Due(name, slot, slot, trigger), record, burst, now, attempt=attempt)
            elif failed is not None:
                _retry_abandoned(self.store.root, failed, "its schedule was deleted or suspended meanwhile")
        self._hand_over(burst)

    def _recorded(self, due: decisions.Due) -> bool:
        """True when this slot ran or runs already: a slot never starts twice, even across restarts.
        Slots after this daemon opened can only have been started by it (it holds the state dir), so
        memory answers for the recent ones; older ones are looked up on disk (their record was written
        first)."""
        if due.id in self.started:
            return True
        if due.slot >= self.remembered_since:
            return False
        return executions.record_path(self.store.root, {"id": due.id, "scheduledTime": due.slot.isoformat()}).exists()

    def _start(self, due: decisions.Due, record: dict[str, Any], burst: list[Active], now: datetime, *,
               attempt: int = 1) -> None:
        """Add one slot to `burst` (handed to the workers at the end of the tick, `now`), or record it
        skipped when the concurrency policy says so. This runs once per slot of a burst: kept lean."""
        run_id = due.id
        self.started[run_id] = due.slot
        record.setdefault("status", {})["lastScheduleTime"] = _iso(due.slot)
        policy = record["spec"]["policy"]["concurrency"]
        with self.lock:   # one look and, when it runs, its registration: before it can finish, so _finished finds it
            running = self.by_schedule.setdefault(due.schedule, {})
            earlier = list(running.values()) if running else []
            forbidden = bool(earlier) and policy == "Forbid"
            if not forbidden:
                for active in earlier if policy == "Replace" else []:
                    active.cancel(f"replaced by {run_id}")
                active = running[run_id] = self.active[run_id] = Active(
                    run_id, due.schedule, due.trigger, now, self.packed[due.schedule], due.slot, attempt,
                    run_at=due.run_at)
        if forbidden:
            self._record_skipped(due, record, now, f"concurrency Forbid: {earlier[0].run_id} is still running")
            return
        burst.append(active)

    def _register(self, active: Active, burst: list[Active]) -> None:
        with self.lock:  # registered before it can finish, so _finished always finds it
            self.active[active.run_id] = active
            self.by_schedule.setdefault(active.schedule, {})[active.run_id] = active
        burst.append(active)

    def _hand_over(self, burst: list[Active]) -> None:
        """Queue a tick's runs and give the pool one work item per idle worker (not one per run)."""
        if not burst:
            return
        now = self.clock.now()
        for active in burst:   # the moment the workers can take them: each run records it as its dispatchTime
            active.dispatched = now
        with self.lock:
            self.queue.extend(burst)
            more = min(self.max_concurrent - self.workers, len(self.queue))
            self.workers += more
            if self.metrics is not None:
                self.metrics.active(len(self.active))
        if self.on_dispatch is not None:
            for active in burst:
                self.on_dispatch(active, now)
        for submitted in range(more):
            try:
                self.pool.submit(self._work)
            except RuntimeError:   # close() shut the pool down meanwhile (a dependency run, from a worker)
                with self.lock:
                    self.workers -= more - submitted
                self._drop_queued()
                return

    def _drop_queued(self) -> int:
        """Forget the runs no worker took (each accounted for, so waits end); how many there were."""
        with self.lock:
            dropped, self.queue = list(self.queue), deque()
            for active in dropped:
                self._forget(active)
        for active in dropped:
            active.done.set()
        return len(dropped)

    def _work(self) -> None:
        """A worker's one work item: run queued runs one after another until the queue is empty."""
        while True:
            with self.lock:
                if not self.queue:
                    self.workers -= 1
                    return
                active = self.queue.popleft()
                active.options = options = self._options(active)
            try:
                with run_context(active.schedule, active.run_id):  # lines the run logs (upload, webhooks) name it
                    record = execute(self.store, active.schedule, self.clock, options)
            except BaseException as exc:  # execute() recorded it already; keep the daemon alive
                log.error("%s: run raised %s: %s", active.run_id, type(exc).__name__, exc,
                          extra=run_fields(active.schedule, active.run_id))
                self._finished(active, None)
            else:
                self._finished(active, record)

    def _options(self, active: Active) -> RunOptions:
        options = RunOptions(trigger=active.trigger, scheduled_time=active.slot, dispatch_time=active.dispatched,
                             attempt=active.attempt, lock_timeout=self.lock_timeout, status_sink=self.batcher.submit,
                             registry=self.registry, recovered_from=active.recovered_from, after=active.after,
                             load_entry=functools.partial(_unpack, active.packed))
        if active.cancel_reason is not None:
            options.cancel_reason = active.cancel_reason
            options.cancel.set()
        return options

    def _rerun_cut_short(self) -> None:
        """`--recover`: each schedule whose latest run was interrupted (a crash) or cancelled by a shutdown
        runs again now, as a manual run recorded `recoveredFrom` the old one."""
        latest: dict[str, dict[str, Any]] = {}
        for record in executions.history(self.store.root):   # newest first
            latest.setdefault(record["schedule"], record)
        burst: list[Active] = []
        for name, record in sorted(latest.items()):
            if name not in self.index or not executions.cut_short(record):
                continue
            log.info("%s: run again now (--recover): %s was %s", name, record["id"], record.get("reason"),
                     extra=run_fields(name, record["id"]))
            self._register(Active(f"{record['id']}-recovery", name, "manual", self.clock.now(), self.packed[name],
                                  recovered_from=record["id"]), burst)
        self._hand_over(burst)

    def _finished(self, active: Active, record: ExecutionRecord | None) -> None:
        """Account for a run that ended (`record` None: it raised, and was logged)."""
        try:
            if record is None:
                return
            if self.once:
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
                self._forget(active)
                if self.metrics is not None:
                    self.metrics.active(len(self.active))
            active.done.set()

    def _forget(self, active: Active) -> None:
        """No longer active (the caller holds the lock)."""
        self.active.pop(active.run_id, None)
        self.by_schedule.get(active.schedule, {}).pop(active.run_id, None)

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
        skipped (a `skipped` record), under Replace cancelled, as for its cron slots."""
        if self.stopping.is_set() or self.closing:
            return
        # read once: a reload in the loop's thread may replace them meanwhile (one deleted is passed over)
        index, packed, following = self.index, self.packed, self.following
        now, burst = self.clock.now(), []
        followed = {"schedule": record.schedule, "executionId": record.id, "status": record.status}
        for name in dependencies.dependents(following, record.schedule, record.status):
            run_id = dependencies.run_id(name, record.id)
            if name not in index or name not in packed or decisions.suspended(index[name]) \
                    or run_id in self.started:
                continue
            self.started[run_id] = now
            policy = index[name]["spec"]["policy"]["concurrency"]
            with self.lock:   # one look and, when it runs, its registration, as _start does for a slot
                running = self.by_schedule.setdefault(name, {})
                earlier = list(running.values())
                forbidden = bool(earlier) and policy == "Forbid"
                if not forbidden:
                    for active in earlier if policy == "Replace" else []:
                        active.cancel(f"replaced by {run_id}")
                    active = running[run_id] = self.active[run_id] = Active(
                        run_id, name, "dependency", now, packed[name], now, after=followed)
                    burst.append(active)
            if forbidden:   # recorded as a cron slot skipped for the same reason is
                self._record_skipped(decisions.Due(name, now, now, "dependency"), index[name], now,
                                     f"concurrency Forbid: {earlier[0].run_id} is still running",
                                     level=logging.WARNING, run_id=run_id, after=followed)
                continue
            log.info("%s: started %s (dependency, after %s %s)", name, run_id, record.id, record.status,
                     extra=run_fields(name, run_id, trigger="dependency"))
        self._hand_over(burst)

    def retry_policy(self, name: str) -> RetryPolicy:
        """retries / backoffSeconds of a schedule (not in the slim index: read from its packed record)."""
        policy = Policy.from_json(_unpack(self.packed[name])["spec"]["policy"])
        return RetryPolicy(retries=policy.retries, backoff_seconds=policy.backoff_seconds,
                           max_delay=MAX_RETRY_DELAY, random=self.random)

    def _record_skipped(self, due: decisions.Due, record: dict[str, Any], now: datetime, why: str, *,
                        reason: str = "concurrency", level: int = logging.INFO, run_id: str | None = None,
                        after: Mapping[str, str] | None = None) -> None:
        """A run that does not start, in a record of its own (`skipped`, and why) and in the status. A
        dependency run has its own `run_id` (not its slot's id) and the run it would have followed."""
        run_id = run_id or due.id
        self.started[run_id] = due.slot
        entry = executions.new_record(run_id, due.schedule, record["set"], trigger=due.trigger, slot=due.slot,
                                      dispatched=now, status="skipped")
        entry.update(endTime=now.isoformat(), durationSeconds=0, reason=reason,
                     error={"class": PERMANENT, "message": why}, **({"after": dict(after)} if after else {}))
        executions.write(self.store.root, entry)
        if self.once:
            self.results.append(entry)
        log.log(level, "%s: skipped %s: %s", due.schedule, run_id, why,
                extra=run_fields(due.schedule, run_id, status="skipped", reason=reason))
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
                active.cancel(reason)


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


@functools.lru_cache(maxsize=256)
def _iso(slot: datetime) -> str:
    """The slots of a burst are few and shared: formatted once each."""
    return slot.isoformat()


def _unpack(packed: bytes) -> dict[str, Any]:
    return json.loads(zlib.decompress(packed))  # type: ignore[no-any-return]


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
