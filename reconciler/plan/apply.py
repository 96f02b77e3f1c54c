"""Apply: plan under the lock, refuse what must be refused, write the new state, audit it.

The plan is made under the lock from the state it will replace, so a concurrent apply can never be
overwritten by a plan computed against an older serial. The transitions themselves are pure
(`plan/transitions.py`); this module is the shell around them. Spec files are snapshotted
(plan/spec_snapshots.py): the snapshots a new state references are written before it, and those no state
references any more are removed after it, under the same lock.
"""
from __future__ import annotations

import logging
import os
import signal
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from ..manifest.normalize import ScheduleSet
from ..store.audit import audit
from ..store.state import StateStore
from .noop import noop_plan
from .plan import FILES, Action, Plan
from .spec_snapshots import (SnapshotError, SnapshotStore, Upgrade, backup_references, referenced, snapshot,
                             upgrade)
from .transitions import next_state, plan_against, state_basis

log = logging.getLogger("sbsched.apply")

Check = Callable[[Plan], None]   # raises when the plan is not the one expected (a saved plan's check)


def apply(store: StateStore, desired: ScheduleSet, *, now: datetime, dry_run: bool = False,
          allow_empty: bool = False, lock_timeout: float = 30.0, command: str = "sbsched apply",
          on_wait: Callable[[str], None] | None = None, expect: Check | None = None,
          with_basis: bool = True, after_write: Callable[[Path], None] | None = None) -> Plan:
    """Plan and, unless dry-run or no-op, write. A no-op apply does not touch state.json at all, unless
    it upgrades schedules written before spec snapshots. `expect` vets the plan made under the lock;
    `with_basis`: the plan carries the state's basis (JSON output; `expect` gets it whatever this says);
    `after_write(state dir)` runs once a write is done and the lock released (the CLI publishes the state
    mirror there: daemon/state_mirror.py sits above this layer)."""
    desired = snapshot(desired)
    with_basis = with_basis or expect is not None
    if dry_run:
        plan = planned(store, desired, allow_empty=allow_empty, with_basis=with_basis)
        if expect is not None:
            expect(plan)
        return plan
    with store.locked(timeout=lock_timeout, command=command, now=now, on_wait=on_wait):
        noop = streamed_noop(store, desired, with_basis=with_basis)
        if noop is not None:
            if expect is not None:
                expect(noop)
            return noop
        state = store.read()
        plan, upgraded = plan_for(store, state, desired, allow_empty=allow_empty, with_basis=with_basis)
        if expect is not None:
            expect(plan)
        if not plan.has_changes and not plan.upgraded:
            return plan
        _write(store, state, desired, plan, upgraded, now=now, command=command)
    from ..store.pidfile import signal_daemon

    signal_daemon(store.root, signal.SIGUSR1)  # a running daemon looks at the new state now
    if after_write is not None:
        after_write(store.root)                # after the lock (the state mirror): slow work never holds it
    return plan


def _write(store: StateStore, state: Mapping[str, Any], desired: ScheduleSet, plan: Plan, upgraded: Upgrade, *,
           now: datetime, command: str) -> None:
    """Under the lock: the snapshots, then the state that references them, then the pruning and the audit."""
    new = next_state(upgraded.state, plan, now, manifest=os.path.abspath(desired.source) if desired.source else "")
    snapshots = SnapshotStore(store.root)
    written = snapshots.write({**upgraded.contents, **(desired.contents or {})}, _written_digests(plan))
    store.write(new)   # only now: a state never references a snapshot that is not there yet
    pruned = snapshots.prune(referenced(new) | backup_references(store))
    audit(store.root / "logs" / "audit.log", now=now, command=command, event="apply",
          details={"set": plan.set_name, "summary": plan.summary, "serialBefore": state["serial"],
                   "serialAfter": new["serial"], "manifest": desired.source,
                   "snapshots": {"written": len(written), "removed": len(pruned)},
                   **({"upgraded": list(plan.upgraded)} if plan.upgraded else {})})


def planned(store: StateStore, desired: ScheduleSet, *, allow_empty: bool, with_basis: bool = True) -> Plan:
    """`plan_for` the current state, without reading all of it when nothing changed (`streamed_noop`)."""
    noop = streamed_noop(store, desired, with_basis=with_basis)
    if noop is not None:
        return noop
    return plan_for(store, store.read(), desired, allow_empty=allow_empty, with_basis=with_basis)[0]


def streamed_noop(store: StateStore, desired: ScheduleSet, *, with_basis: bool) -> Plan | None:
    """The no-op plan of snapshotted `desired`, made one stored record at a time (plan/noop.py); None
    when something changes or the state is not in `serialize`'s layout: `plan_for` then reads it whole."""
    head = store.head()
    if head is None:
        return None
    return noop_plan(head, store.iter_records(), desired, with_basis=with_basis)


def plan_for(store: StateStore, state: Mapping[str, Any], desired: ScheduleSet, *, allow_empty: bool,
             with_basis: bool = True) -> tuple[Plan, Upgrade]:
    """The plan of snapshotted `desired` against `state` as apply would make it: the set's schedules written
    before snapshots read into snapshot form first (a file that cannot be read is logged), and the applied
    snapshots of every spec file that changed at hand, so that the plan names what changed inside it.
    `with_basis`: it carries `state`'s basis (what a saved plan is checked against)."""
    base = os.path.dirname(os.path.abspath(desired.source)) if desired.source else os.getcwd()
    upgraded = upgrade(state, desired.name, base)
    for note in upgraded.notes:
        log.warning("%s", note)
    stored = upgraded.state["schedules"]
    contents = dict(upgraded.contents)
    snapshots = SnapshotStore(store.root)
    for name, spec in desired.schedules.items():
        before = (stored.get(name) or {}).get("spec") or {}
        for path, digest in (before.get(FILES) or {}).items():
            if digest and digest not in contents and (spec.get(FILES) or {}).get(path) != digest:
                try:
                    contents[digest] = snapshots.read(digest, shown=path)
                except SnapshotError as exc:   # the plan still shows the digest's change
                    log.warning("%s: %s", name, exc.message)
    plan = plan_against(upgraded.state, desired, allow_empty=allow_empty, contents=contents,
                        basis=state_basis(state) if with_basis else None)
    noop = {c.name for c in plan.changes if c.action is Action.NOOP}
    return replace(plan, upgraded=tuple(n for n in upgraded.names if n in noop)), upgraded


def _written_digests(plan: Plan) -> set[str]:
    """The snapshots the new state needs that this apply may have to write: those of the schedules it writes."""
    return {digest for change in plan.changes
            if change.after is not None and (change.action is not Action.NOOP or change.name in plan.upgraded)
            for digest in (change.after.get(FILES) or {}).values() if digest}
