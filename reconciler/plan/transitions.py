"""Pure state transitions: what the state becomes after a plan, and the status fields derived from
a spec. No disk, no clock: `now` is an argument."""
from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import replace
from datetime import datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from ..base.errors import UsageError
from ..manifest.model import ScheduleSpec
from ..manifest.normalize import ScheduleSet
from ..store.records import ExecutionRecord
from .plan import Action, Plan, StoredSchedule, make_plan
from ..timing import cron
from ..timing.decisions import timing_problem


def stored_schedules(state: Mapping[str, Any]) -> dict[str, StoredSchedule]:
    return {name: StoredSchedule(set=rec["set"], spec=rec["spec"]) for name, rec in state["schedules"].items()}


def plan_against(state: Mapping[str, Any], desired: ScheduleSet, *, allow_empty: bool,
                 contents: Mapping[str, bytes] | None = None, basis: str | None = None) -> Plan:
    """The plan, with the empty-manifest guard: deleting a whole set needs --allow-empty (like flux's
    prune safety), because an empty `schedules:` is more often a templating accident than an intent.
    `contents`: the stored side's spec snapshots by digest, for the fields inside changed spec files;
    `basis`: the state's `state_basis` (a published mirror says what its host's was), for the plan to
    carry; None where nothing shows or checks it (0.15 s of 10,000 schedules a text diff need not pay)."""
    plan = make_plan(stored_schedules(state), desired, serial=state["serial"], lineage=state.get("lineage"),
                     contents=contents)
    plan = replace(plan, basis=basis)
    deletes = plan.summary[Action.DELETE.value]
    if plan.empty_manifest and deletes and not allow_empty:
        raise UsageError(f"the manifest lists no schedules: this would delete all {deletes} schedules of set "
                         f"{desired.name!r}", hint="pass --allow-empty if that is what you want")
    total = len(state["schedules"]) + plan.summary[Action.CREATE.value] - deletes
    if desired.max_schedules is not None and total > desired.max_schedules and plan.summary[Action.CREATE.value]:
        raise UsageError(f"this would make {total} schedules in the state dir, more than maxJobsPerUser "
                         f"({desired.max_schedules}) allows", hint="raise maxJobsPerUser in the config file, or "
                         "delete schedules first")
    return plan


def state_basis(state: Mapping[str, Any]) -> str:
    """sha256 of every schedule's set and spec: what a plan depends on in a state. Runs change only status
    (and the serial), so a saved plan made before a run still applies exactly; an apply or edit does not."""
    body = json.dumps({name: [record["set"], record["spec"]] for name, record in state["schedules"].items()},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def next_run_time(spec: Mapping[str, Any], status: Mapping[str, Any], now: datetime) -> str | None:
    """The next slot strictly after `now`, or None while suspended (by the manifest or at run time) or
    when it has no cron (it runs only `after:` others)."""
    if spec.get("suspend") or status.get("suspended") or timing_problem(spec) is not None or "cron" not in spec:
        return None
    fire = cron.parse(spec["cron"]).next_after(now, ZoneInfo(spec["timezone"]))
    return fire.isoformat()


def new_status(spec: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    status: dict[str, Any] = {"lastScheduleTime": None, "lastSuccessfulTime": None, "nextRunTime": None,
                              "active": [], "lastResult": None, "consecutiveFailures": 0, "suspended": False,
                              "runCount": 0}
    status["nextRunTime"] = next_run_time(spec, status, now)
    return status


def next_state(state: Mapping[str, Any], plan: Plan, now: datetime, *, manifest: str = "") -> dict[str, Any]:
    """Pure: the state after `plan`. Status survives updates (history belongs to the name, as with a
    CronJob whose spec is edited); only nextRunTime is recomputed. `manifest`: the absolute path of the
    manifest applied, kept in each written schedule's metadata (where `status` looks for drift)."""
    out = copy.deepcopy(dict(state))
    stamp = now.isoformat(timespec="seconds")
    schedules = out["schedules"]
    source = {"manifest": manifest} if manifest else {}
    for change in plan.changes:
        if change.action is Action.CREATE:
            assert change.after is not None
            schedules[change.name] = {
                "set": plan.set_name, "spec": dict(change.after),
                "metadata": {"createdTime": stamp, "updatedTime": stamp, "generation": 1, **source},
                "status": new_status(change.after, now)}
        elif change.action is Action.NOOP and change.name in plan.upgraded:
            schedules[change.name].setdefault("metadata", {}).update(source)
        elif change.action is Action.UPDATE:
            assert change.after is not None
            record = schedules[change.name]
            record["spec"] = dict(change.after)
            meta = record.setdefault("metadata", {"createdTime": stamp, "generation": 0})
            meta["updatedTime"] = stamp
            meta.update(source)
            if any(f.path in ("cron", "timezone") for f in change.fields):
                meta["cronChangedTime"] = stamp  # the new calendar counts from now: no back-filled slots
            meta["generation"] = meta.get("generation", 0) + 1
            status = record.setdefault("status", new_status(change.after, now))
            status["nextRunTime"] = next_run_time(change.after, status, now)
        elif change.action is Action.DELETE:
            del schedules[change.name]
    out["serial"] = state["serial"] + 1
    return out


def _with_status(state: Mapping[str, Any], name: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A copy of `state` in which only schedule `name`'s record and status are new objects: a run's
    status change must not cost a deep copy of 10,000 schedules (batches carry hundreds of them)."""
    out = dict(state)
    out["schedules"] = dict(state["schedules"])
    entry = out["schedules"].get(name)
    if entry is None:
        return out, None
    entry = dict(entry)
    entry["status"] = dict(entry.get("status") or {})
    out["schedules"][name] = entry
    return out, entry["status"]


def mark_started(state: Mapping[str, Any], name: str, execution_id: str) -> dict[str, Any]:
    """The state with `execution_id` in the schedule's status.active. Like mark_finished it leaves the
    serial alone: the writer bumps it once per write, however many changes the write carries."""
    out, status = _with_status(state, name)
    if status is not None:
        status["active"] = sorted(set(status.get("active") or []) | {execution_id})
    return out


def mark_finished(state: Mapping[str, Any], name: str, record: ExecutionRecord, now: datetime) -> dict[str, Any]:
    """The state after a run ended: not active, lastResult, failure streak, last success; scheduled
    (not manual, nor dependency) runs also move lastScheduleTime. A schedule deleted meanwhile is left deleted."""
    out, status = _with_status(state, name)
    if status is None:
        return out
    status["active"] = [a for a in status.get("active") or [] if a != record.id]
    status["lastResult"] = record.status
    if record.status in ("completed", "failed") and record.first_attempt:
        status["runCount"] = status.get("runCount", 0) + 1
    if record.status == "completed":
        status["consecutiveFailures"] = 0
        status["lastSuccessfulTime"] = record.end_time
    elif record.status == "failed":
        status["consecutiveFailures"] = status.get("consecutiveFailures", 0) + 1
    if record.trigger not in ("manual", "dependency"):   # a run `after:` another is no slot of its cron
        status["lastScheduleTime"] = record.scheduled_time
    spec = ScheduleSpec.from_json(out["schedules"][name]["spec"]).to_json()
    status["nextRunTime"] = next_run_time(spec, status, now)
    return out
