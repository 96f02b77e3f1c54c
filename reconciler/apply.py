"""Apply: plan under the lock, refuse what must be refused, write the new state, audit it.

`next_state` is pure (state + plan + now → new state); `apply` is the shell around it. The plan is
made under the lock from the state it will replace, so a concurrent apply can never be overwritten
by a plan computed against an older serial.
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from . import cron
from .errors import UsageError
from .manifest import ScheduleSet
from .plan import Action, Plan, StoredSchedule, make_plan
from .audit import audit
from .state_store import StateStore


def stored_schedules(state: Mapping[str, Any]) -> dict[str, StoredSchedule]:
    return {name: StoredSchedule(set=rec["set"], spec=rec["spec"]) for name, rec in state["schedules"].items()}


def plan_against(state: Mapping[str, Any], desired: ScheduleSet, *, allow_empty: bool) -> Plan:
    """The plan, with the empty-manifest guard: deleting a whole set needs --allow-empty (like flux's
    prune safety), because an empty `schedules:` is more often a templating accident than an intent."""
    plan = make_plan(stored_schedules(state), desired, serial=state["serial"], lineage=state.get("lineage"))
    deletes = plan.summary[Action.DELETE.value]
    if plan.empty_manifest and deletes and not allow_empty:
        raise UsageError(f"the manifest lists no schedules: this would delete all {deletes} schedules of set "
                         f"{desired.name!r}", hint="pass --allow-empty if that is what you want")
    return plan


def next_run_time(spec: Mapping[str, Any], status: Mapping[str, Any], now: datetime) -> str | None:
    """The next slot strictly after `now`, or None while suspended (by the manifest or at run time)."""
    if spec.get("suspend") or status.get("suspended"):
        return None
    fire = cron.parse(spec["cron"]).next_after(now, ZoneInfo(spec["timezone"]))
    return fire.isoformat()


def new_status(spec: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    status: dict[str, Any] = {"lastScheduleTime": None, "lastSuccessfulTime": None, "nextRunTime": None,
                              "active": [], "lastResult": None, "consecutiveFailures": 0, "suspended": False}
    status["nextRunTime"] = next_run_time(spec, status, now)
    return status


def next_state(state: Mapping[str, Any], plan: Plan, now: datetime) -> dict[str, Any]:
    """Pure: the state after `plan`. Status survives updates (history belongs to the name, as with a
    CronJob whose spec is edited); only nextRunTime is recomputed."""
    out = copy.deepcopy(dict(state))
    stamp = now.isoformat(timespec="seconds")
    schedules = out["schedules"]
    for change in plan.changes:
        if change.action is Action.CREATE:
            assert change.after is not None
            schedules[change.name] = {
                "set": plan.set_name, "spec": dict(change.after),
                "metadata": {"createdTime": stamp, "updatedTime": stamp, "generation": 1},
                "status": new_status(change.after, now)}
        elif change.action is Action.UPDATE:
            assert change.after is not None
            record = schedules[change.name]
            record["spec"] = dict(change.after)
            meta = record.setdefault("metadata", {"createdTime": stamp, "generation": 0})
            meta["updatedTime"] = stamp
            meta["generation"] = meta.get("generation", 0) + 1
            status = record.setdefault("status", new_status(change.after, now))
            status["nextRunTime"] = next_run_time(change.after, status, now)
        elif change.action is Action.DELETE:
            del schedules[change.name]
    out["serial"] = state["serial"] + 1
    return out


def apply(store: StateStore, desired: ScheduleSet, *, now: datetime, dry_run: bool = False,
          allow_empty: bool = False, lock_timeout: float = 30.0, command: str = "sbsched apply",
          on_wait: Callable[[str], None] | None = None) -> Plan:
    """Plan and, unless dry-run or no-op, write. A no-op apply does not touch state.json at all."""
    if dry_run:
        return plan_against(store.read(), desired, allow_empty=allow_empty)
    with store.locked(timeout=lock_timeout, command=command, now=now, on_wait=on_wait):
        state = store.read()
        plan = plan_against(state, desired, allow_empty=allow_empty)
        if not plan.has_changes:
            return plan
        new = next_state(state, plan, now)
        store.write(new)
        audit(store.root / "logs" / "audit.log", now=now, command=command, event="apply",
              details={"set": plan.set_name, "summary": plan.summary, "serialBefore": state["serial"],
                       "serialAfter": new["serial"], "manifest": desired.source})
    return plan
