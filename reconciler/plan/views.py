"""What the read-only commands show, gathered from the state and the execution records: one schedule
(`status`), the executions (`history`), and the execution `recover` may run again. Plain documents; the
CLI renders them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from ..base.errors import NotFound, UsageError
from ..store import executions
from ..timing import dependencies
from ..timing.decisions import suspended
from ..timing.dependencies import scheduled_upstreams
from ..timing.nexttimes import fire_times
from ..store.state import StateStore
from .inventory import find, item
from .spec_snapshots import drift

RECENT_RUNS = 5


def schedule_status(state_store: StateStore, name: str, now: datetime) -> dict[str, Any]:
    """`list`'s item of schedule `name`, with its spec files' drift and its recent runs. Raises NotFound."""
    record = find(state_store.read(), name)
    view = item(name, record, now)
    view["specFiles"] = drift(record)
    view["recentRuns"] = executions.recent(state_store.root, name, limit=RECENT_RUNS)
    return view


@dataclass(frozen=True)
class History:
    """`one`: the execution a `history ID` named, in full; else `records`, newest first."""

    records: list[dict[str, Any]]
    one: dict[str, Any] | None = None


def since_time(text: str | None, now: datetime) -> datetime | None:
    """`--since` (30m, 2h, 7d, 2w, or an ISO 8601 date or time) as a time; raises UsageError."""
    try:
        return executions.parse_since(text, now) if text else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def history(state_store: StateStore, name: str | None, *, limit: int, status: str | None = None,
            since: datetime | None = None) -> History:
    """Executions of schedule `name` (None: all), or the one execution whose id `name` is. Raises
    NotFound (with a suggestion) for a name that is neither."""
    if name is not None and name not in state_store.read()["schedules"]:
        one = executions.find(state_store.root, name)
        if one is not None:
            return History([one], one)
        if not executions.history(state_store.root, name, limit=1):
            find(state_store.read(), name)   # raises NotFound with a suggestion
    return History(executions.history(state_store.root, name, limit=limit, status=status, since=since))


def recoverable(state_store: StateStore, execution_id: str) -> dict[str, Any]:
    """The record of a failed (or interrupted) or skipped execution whose schedule is still in the state.
    Raises NotFound or UsageError saying why it cannot be recovered."""
    record = executions.find(state_store.root, execution_id)
    if record is None:
        raise NotFound(f"no execution {execution_id!r}", hint="`sbsched history` lists them, newest first")
    if record["status"] not in ("failed", "skipped"):
        raise UsageError(f"execution {execution_id} is {record['status']}: only a failed (or interrupted) or "
                         "skipped execution is recovered")
    if record["schedule"] not in state_store.read()["schedules"]:
        raise NotFound(f"execution {execution_id}'s schedule {record['schedule']!r} is no longer in the state",
                       hint="apply a manifest that lists it, then recover")
    return record


def next_times(state: Callable[[], Mapping[str, Any]], name: str | None, *, cron: str | None,
               timezone: str | None, after: str | None, now: datetime, count: int) -> list[datetime]:
    """`next`: the fire times of schedule `name` (in `state()`, read only then; one without a cron, which
    runs `after:` others, gets the fire times of the schedules with a cron up its chain), or of `cron` in `timezone`
    (default UTC), strictly after `after` (ISO 8601; default `now`). Raises UsageError for what does not go
    together, NotFound for an unknown name."""
    if (name is None) == (cron is None):
        raise UsageError("give either a schedule NAME or --cron EXPR", hint="sbsched next nightly, or "
                         "sbsched next --cron '0 2 * * *' --timezone Europe/Berlin")
    if name is not None:
        if timezone:
            raise UsageError("--timezone goes with --cron; a schedule has its own timezone")
        doc = state()
        spec = find(doc, name)["spec"]
        if "cron" not in spec:   # it runs after others only: when those with a cron up its chain fire
            specs = {n: record["spec"] for n, record in doc["schedules"].items()}
            times = {fire for root in scheduled_upstreams(specs, name)
                     for fire in fire_times(specs[root]["cron"], specs[root].get("timezone", "UTC"), after=after,
                                            now=now, count=count)}
            return sorted(times)[:count]
        cron, timezone = spec["cron"], spec.get("timezone", "UTC")
    assert cron is not None
    return fire_times(cron, timezone or "UTC", after=after, now=now, count=count)


def dependents_to_run(state: Mapping[str, Any], schedule: str, status: str) -> list[str]:
    """`run --with-dependents`: the schedules to run after a run of `schedule` ended with `status`, as the
    daemon picks them (each once, sorted; a suspended one is left out, at run time too)."""
    following = dependencies.followers({name: entry["spec"] for name, entry in state["schedules"].items()})
    return [name for name in dependencies.dependents(following, schedule, status)
            if not suspended(state["schedules"][name])]
