"""`sbsched cleanup`: retention applied now, to one schedule or to all, with what it removed recorded in
the audit log; the state's unreferenced spec snapshots go too when no schedule is named. What crashes left
(daemon/repair.py) is put right by the caller first, which hands over the list for the audit line."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Sequence

from ..base.errors import UsageError
from ..base.units import parse_duration
from ..manifest.model import ScheduleSpec
from ..plan.inventory import find
from ..plan.spec_snapshots import collect_garbage
from ..store.audit import audit
from ..store.state import StateStore
from .retention import collect_runs, held_back, plan_retention, remove

AUDIT_ITEMS = 200   # runs named in one audit line; past that, how many more


@dataclass(frozen=True)
class Cleanup:
    """What one cleanup removed (or, dry, would), what it held back, and what repair fixed before it."""

    removed: list[dict[str, Any]]       # Deletion.to_json() with schedule and bytes
    held_back: list[dict[str, Any]]     # runs whose upload failed, kept without --force
    snapshots: list[str]
    repaired: list[dict[str, str]]

    @property
    def summary(self) -> dict[str, int]:
        return {"runs": len(self.removed), "bundles": sum(1 for r in self.removed if r["bundle"]),
                "records": sum(1 for r in self.removed if r["record"]),
                "bytes": sum(r["bytes"] for r in self.removed), "heldBack": len(self.held_back),
                "specSnapshots": len(self.snapshots)}


def older_than_days(text: str | None) -> float | None:
    """--older-than as days (None: not given). Raises UsageError for what is no positive duration."""
    if text is None:
        return None
    try:
        days = parse_duration(text) / 86400
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    if days <= 0:
        raise UsageError("--older-than: give a positive age, e.g. 30d")
    return days


def cleanup(state_store: StateStore, name: str | None, *, now: datetime, dry_run: bool, force: bool,
            command: str, age_days: float | None = None, repaired: Sequence[dict[str, str]] = ()) -> Cleanup:
    """Each schedule's retention (tightened to `age_days` when given), applied unless `dry_run`; one audit
    line when anything changed. Raises NotFound for an unknown `name`."""
    state = state_store.read()
    entries = {name: find(state, name)} if name is not None else state["schedules"]
    removed: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for schedule, entry in sorted(entries.items()):
        policy = ScheduleSpec.from_json(entry["spec"]).retention
        if age_days is not None:
            policy = replace(policy, max_age_days=min(age_days, policy.max_age_days or age_days))
        runs = collect_runs(state_store.root, schedule)
        deletions = plan_retention(runs, policy, now, force=force)
        removed += [dict(d.to_json(), schedule=schedule, bytes=_size(d.run.bundle)) for d in deletions]
        kept += [] if force else [dict(d.to_json(), schedule=schedule) for d in held_back(runs, policy, now)]
        if not dry_run:
            remove(state_store.root, deletions)
    snapshots = [] if name is not None else collect_garbage(state_store, now=now, command=command, dry_run=dry_run)
    result = Cleanup(removed, kept, snapshots, list(repaired))
    if (removed or snapshots or repaired) and not dry_run:
        audit(state_store.root / "logs" / "audit.log", now=now, command=command, event="cleanup",
              details=_audit_details(result, name=name, force=force))
    return result


def _audit_details(result: Cleanup, *, name: str | None, force: bool) -> dict[str, Any]:
    """At most AUDIT_ITEMS runs and repairs named: a cleanup of years of runs stays one readable line."""
    removed = result.removed
    return {"schedule": name, "force": force, "summary": result.summary, "repaired": result.repaired[:AUDIT_ITEMS],
            "removed": [{"schedule": r["schedule"], "id": r["id"], "status": r["status"], "bundle": r["bundle"],
                         "record": r["record"], "reason": r["reason"]} for r in removed[:AUDIT_ITEMS]]
            + ([{"more": len(removed) - AUDIT_ITEMS}] if len(removed) > AUDIT_ITEMS else [])}


def _size(path: str | None) -> int:
    try:
        return os.stat(path).st_size if path else 0
    except OSError:
        return 0
