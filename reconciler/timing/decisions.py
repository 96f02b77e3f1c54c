"""Pure scheduling decisions: given a schedule's stored record and `now`, which slot (if any) is due,
which was missed for good, and when to look again. No clock, no disk: the daemon and
`reconcile --once` feed it, tests drive it with any `now` they like.

Semantics (Kubernetes CronJob's, on cronie's calendar):
- A schedule never fires for slots at or before the moment it started counting: its creation, the
  last change of its cron or zone, its last resume, or its last scheduled run, whichever is latest.
- After downtime only the latest missed slot runs ("catch-up"), and with startingDeadlineSeconds only
  if it can still start within that many seconds of its slot; more than 100 missed slots are reported.
- jitterSeconds delays each slot by a stable, per-schedule amount (a hash of the name), never up to
  the next slot, so load spreads without runs drifting or overlapping their own next slot.
- A slot whose execution id is already recorded is never started again.

All instants are handled in UTC here: Python compares and adds aware datetimes that share a zone by
wall time, ignoring `fold`, which would merge the two 01:30s of a fall-back night.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from . import cron
from .zones import timezone_error

ON_TIME = timedelta(seconds=60)   # a slot started within this of its run time is "schedule", not "catch-up"
MISSED_WARNING = 100              # Kubernetes warns past 100 missed start times; so do we
UTC = timezone.utc
INTERVAL_HORIZON = timedelta(days=3653)  # ten years: two 29 Februaries and then some


def slot_id(schedule: str, slot: datetime) -> str:
    """A scheduled run's execution id names its slot, so a slot can only ever run once."""
    return f"{schedule}-{_slot_stamp(slot)}"


@functools.lru_cache(maxsize=256)
def _slot_stamp(slot: datetime) -> str:
    """Cached: the schedules due at once share a slot, and `strftime` was a tenth of each one's dispatch."""
    return slot.astimezone(timezone.utc).strftime('%Y%m%dT%H%MZ')


@dataclass(frozen=True)
class Due:
    """A slot to start now."""

    schedule: str
    slot: datetime
    run_at: datetime      # slot + jitter: when it was meant to start
    trigger: str          # "schedule" or "catch-up"
    # made with the Due: the daemon makes the next slot's Due ahead, so a burst of due slots reads it for
    # free (a cached_property's lock, in Python 3.11, cost more than the id)
    id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", slot_id(self.schedule, self.slot))


@dataclass(frozen=True)
class Decision:
    due: Due | None = None
    missed: tuple[tuple[datetime, str], ...] = ()   # (slot, why it will not run)
    warning: str | None = None
    wake: datetime | None = None                    # when to look at this schedule again; None: never
    next_slot: datetime | None = None               # the slot that `wake` starts, when it is one


def jitter(name: str, maximum: int) -> timedelta:
    """Stable per schedule: the same name always waits the same time, across hosts and restarts."""
    if maximum <= 0:
        return timedelta(0)
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    return timedelta(seconds=digest % (maximum + 1))


def run_time(name: str, spec: Mapping[str, Any], slot: datetime) -> datetime:
    """slot + jitter, capped to one second before the following slot."""
    slot = slot.astimezone(UTC)
    if not spec["policy"]["jitterSeconds"]:   # most schedules: no hash, no timedelta arithmetic
        return slot
    delay = jitter(name, spec["policy"]["jitterSeconds"])
    if delay:
        following = cron.parse(spec["cron"]).next_after(slot, ZoneInfo(spec["timezone"])).astimezone(UTC)
        delay = min(delay, following - slot - timedelta(seconds=1))
    return slot + max(delay, timedelta(0))


def next_slot_after(spec: Mapping[str, Any], slot: datetime) -> datetime:
    return cron.parse(spec["cron"]).next_after(slot, ZoneInfo(spec["timezone"])).astimezone(UTC)


def counting_from(record: Mapping[str, Any]) -> datetime:
    """The latest of: created, cron/zone last changed, last resumed, last scheduled slot."""
    meta, status = record.get("metadata") or {}, record.get("status") or {}
    stamps = [meta.get("createdTime"), meta.get("cronChangedTime"), status.get("resumedTime"),
              status.get("lastScheduleTime")]
    return max(datetime.fromisoformat(s).astimezone(UTC) for s in stamps if s)


def timing_problem(spec: Mapping[str, Any]) -> str | None:
    """Why a stored schedule cannot be timed on this host, or None. The state was valid when applied, but
    this host's tzdata may lack its zone, or a hand edit or another sbsched version may have written a cron
    this one does not read: such a schedule is skipped and named, while the others keep running."""
    expr, zone = spec.get("cron"), spec.get("timezone", "UTC")
    if expr is None and spec.get("after"):
        return None   # it runs only after other schedules' runs
    if not isinstance(expr, str):
        return "its cron is missing"
    try:
        cron.parse(expr)
    except cron.CronError as exc:
        return f"invalid cron {expr!r}: {exc}"
    if not isinstance(zone, str):
        return "its timezone is not a string"
    return timezone_error(zone)


def record_problem(record: Mapping[str, Any]) -> str | None:
    """`timing_problem`, and time stamps in the record that `decide` cannot read."""
    problem = timing_problem(record["spec"])
    if problem is None:
        try:
            counting_from(record)
        except (TypeError, ValueError) as exc:
            problem = f"a time stamp in its status or metadata is invalid ({exc})"
    return problem


def suspended(record: Mapping[str, Any]) -> bool:
    return bool(record["spec"].get("suspend") or (record.get("status") or {}).get("suspended"))


def decide(name: str, record: Mapping[str, Any], now: datetime, *,
           recorded: Callable[[Due], bool] = lambda due: False) -> Decision:
    """What schedule `name` should do at `now`. `record` is its state entry (spec normalized);
    `recorded(due)` says whether that slot already ran (its execution record exists)."""
    if suspended(record) or "cron" not in record["spec"]:   # no cron: it runs only `after:` others
        return Decision()
    spec, now = record["spec"], now.astimezone(UTC)
    expr, zone = cron.parse(spec["cron"]), ZoneInfo(spec["timezone"])
    since = counting_from(record)
    missed_slots = _slots_between(expr, zone, since, now, limit=MISSED_WARNING + 1)
    if not missed_slots:
        upcoming = expr.next_after(max(since, now), zone).astimezone(UTC)
        return Decision(wake=run_time(name, spec, upcoming), next_slot=upcoming)
    latest = missed_slots[-1] if len(missed_slots) <= MISSED_WARNING else _latest_at_or_before(expr, zone, since, now)
    warning = (f"{name}: more than {MISSED_WARNING} start times were missed since {since.isoformat()}; "
               f"only the latest, {latest.isoformat()}, is considered") if len(missed_slots) > MISSED_WARNING else None
    following = expr.next_after(latest, zone).astimezone(UTC)
    after_latest = run_time(name, spec, following)
    start_at = run_time(name, spec, latest)
    if recorded(Due(name, latest, start_at, "schedule")):
        return Decision(warning=warning, wake=after_latest, next_slot=following)
    if now < start_at:
        return Decision(warning=warning, wake=start_at, next_slot=latest)
    deadline = spec["policy"]["startingDeadlineSeconds"]
    if deadline is not None and now - start_at > timedelta(seconds=deadline):
        why = f"missed its starting deadline ({deadline}s): the daemon was not running at {start_at.isoformat()}"
        return Decision(missed=((latest, why),), warning=warning, wake=after_latest, next_slot=following)
    on_time = len(missed_slots) == 1 and now - start_at <= ON_TIME
    return Decision(due=Due(name, latest, start_at, "schedule" if on_time else "catch-up"), warning=warning,
                    wake=after_latest, next_slot=following)


def _slots_between(expr: cron.CronExpr, zone: ZoneInfo, since: datetime, now: datetime, *,
                   limit: int) -> list[datetime]:
    """Slots in (since, now], at most `limit` of them (the earliest), in UTC."""
    found: list[datetime] = []
    for fire in expr.iter_after(since, zone):
        fire = fire.astimezone(UTC)
        if fire > now or len(found) >= limit:
            break
        found.append(fire)
    return found


def _latest_at_or_before(expr: cron.CronExpr, zone: ZoneInfo, since: datetime, now: datetime) -> datetime:
    """The latest slot in (since, now], searching back from `now` in doubling windows, so that a long
    downtime of a frequent schedule costs a few hundred steps, not one per missed slot."""
    window = timedelta(hours=1)
    while True:
        start = max(since, now - window)
        slots = _slots_between(expr, zone, start, now, limit=10**6)
        if slots or start == since:
            return slots[-1]  # callers ask only when (since, now] holds a slot
        window *= 2


def interval_before(expr_text: str, zone_name: str, slot: datetime) -> timedelta | None:
    """The longer of the two gaps between `slot` and the two slots before it. For a regular cron that
    is its period; right after a break (the weekend of a weekdays-only cron) it is the break, so an
    alert on "no success for twice the interval" waits for two missed slots, not one after a break.
    None when those slots lie more than INTERVAL_HORIZON back (or there are none)."""
    expr, zone = cron.parse(expr_text), ZoneInfo(zone_name)
    slots = [slot.astimezone(UTC)]
    horizon = slots[0] - INTERVAL_HORIZON
    for _ in range(2):
        before = slots[-1] - timedelta(microseconds=1)
        if not _slots_between(expr, zone, horizon, before, limit=1):
            return None
        slots.append(_latest_at_or_before(expr, zone, horizon, before))
    return max(slots[0] - slots[1], slots[1] - slots[2])


def next_due(state: dict[str, Any], now: datetime) -> tuple[str, datetime] | None:
    """The schedule that fires next and when, for `daemon status`."""
    best: tuple[str, datetime] | None = None
    for name, record in state["schedules"].items():
        if record_problem(record) is not None:
            continue
        wake = decide(name, record, now).wake
        if wake is not None and (best is None or wake < best[1]):
            best = (name, wake)
    return best
