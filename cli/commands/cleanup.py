"""sbsched cleanup [NAME] [--dry-run] [--force] [--older-than DURATION] [--repair]: apply retention now, to one
schedule or to all; with --repair, first put right what crashes left (reconciler/daemon/repair.py)."""
from __future__ import annotations

import os
from typing import Any

from .. import render
from ._common import store

AUDIT_ITEMS = 200   # runs named in one audit line; past that, how many more


def cleanup(name: str | None, *, state_dir: str | None, dry_run: bool, force: bool, output: str,
            command: str = "sbsched cleanup", older_than: str | None = None, repair: bool = False) -> int:
    """`older_than`: also remove runs older than this (30d, 12h), whatever each schedule's maxAgeDays."""
    from dataclasses import replace

    from reconciler.base.clock import SystemClock
    from reconciler.base.errors import UsageError
    from reconciler.base.units import parse_duration
    from reconciler.manifest.model import ScheduleSpec
    from reconciler.plan.inventory import find
    from reconciler.plan.spec_snapshots import collect_garbage
    from reconciler.run.retention import collect_runs, held_back, plan_retention, remove
    from reconciler.store.audit import audit

    try:
        age_days = parse_duration(older_than) / 86400 if older_than is not None else None
    except ValueError as exc:
        raise UsageError(f"--older-than: {exc}") from None
    if age_days is not None and age_days <= 0:
        raise UsageError("--older-than: give a positive age, e.g. 30d")
    if repair and dry_run:
        raise UsageError("--repair changes what crashes left; it has no dry run", hint="run it without --dry-run")
    state_store = store(state_dir, writes=not dry_run)
    repaired: list[dict[str, str]] = []
    if repair:
        from reconciler.daemon.repair import repair as put_right

        repaired = put_right(state_store.root)
    state = state_store.read()
    entries = {name: find(state, name)} if name is not None else state["schedules"]
    now = SystemClock().now()
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
    summary = {"runs": len(removed), "bundles": sum(1 for r in removed if r["bundle"]),
               "records": sum(1 for r in removed if r["record"]), "bytes": sum(r["bytes"] for r in removed),
               "heldBack": len(kept), "specSnapshots": len(snapshots)}
    if (removed or snapshots or repaired) and not dry_run:
        audit(state_store.root / "logs" / "audit.log", now=now, command=command, event="cleanup",
              details={"schedule": name, "force": force, "summary": summary, "repaired": repaired[:AUDIT_ITEMS],
                       "removed": [{"schedule": r["schedule"], "id": r["id"], "status": r["status"],
                                    "bundle": r["bundle"], "record": r["record"], "reason": r["reason"]}
                                   for r in removed[:AUDIT_ITEMS]]
                       + ([{"more": len(removed) - AUDIT_ITEMS}] if len(removed) > AUDIT_ITEMS else [])})
    if output != "text":
        render.out(render.document({"dryRun": dry_run, "force": force, "items": removed, "heldBack": kept,
                                    "summary": summary, **({"repaired": repaired} if repair else {})}, output))
        return 0
    if repair:
        render.out("\n".join([f"Repaired {len(repaired)} thing(s)" + (":" if repaired else ": nothing to repair."),
                               *(f"  {r['kind']}: {r.get('id') or r.get('path')}" for r in repaired)]))
    verb = "Would remove" if dry_run else "Removed"
    if removed:
        render.out(render.table(["SCHEDULE", "RUN", "STATUS", "TIME", "REASON"],
                                [(r["schedule"], r["id"], r["status"], r["time"], r["reason"]) for r in removed]))
    if kept:
        render.out(f"Kept {len(kept)} run(s) whose upload failed (--force removes them too): "
                   + ", ".join(r["id"] for r in kept))
    render.out(f"{verb} {summary['runs']} run(s): {summary['bundles']} bundle(s), {summary['records']} record(s), "
               f"{summary['bytes'] / 1024 / 1024:.1f} MiB." if removed else "Nothing to remove.")
    if snapshots:
        render.out(f"{verb} {len(snapshots)} spec snapshot(s) no schedule references.")
    return 0


def _size(path: str | None) -> int:
    try:
        return os.stat(path).st_size if path else 0
    except OSError:
        return 0
