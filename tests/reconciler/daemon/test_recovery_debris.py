"""Found by `make stress` (stress/kill9.py): a run killed with kill -9 leaves its staging directory, which
holds the collectors' output *before redaction*, and any partial archive under bundles/<schedule>/, for
good (29 staging dirs after 50 kills). Recovery now removes a dead run's staging dir and partial archive,
found by the bundle name its start time gave them; those of a run still alive are left alone."""
from __future__ import annotations

import os
from datetime import datetime

from reconciler.run.bundle import bundle_name
from reconciler.store import executions

from .test_loop import FakeClock, T0, daemon, make


def _running(run_id: str, start: str, pid: int) -> dict:
    return {"id": run_id, "schedule": "h", "set": "d", "trigger": "schedule", "scheduledTime": start,
            "startTime": start, "status": "running", "reason": None, "attempt": 1,
            "runner": {"pid": pid, "host": os.uname().nodename}}


def test_a_killed_runs_staging_dir_and_partial_archive_are_removed_at_recovery(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    dead = _running("h-20260601T1100Z", "2026-06-01T11:00:00.250000+00:00", 2**22 + 7)
    live = _running("h-20260601T1130Z-manual-1", "2026-06-01T11:30:05.500000+00:00", os.getppid())
    bundles = store.root / "bundles" / "h"
    leftovers = []
    for record in (dead, live):
        executions.write(store.root, record)
        name = bundle_name(datetime.fromisoformat(record["startTime"]), set())
        staging = bundles / f".staging-{name}" / name
        staging.mkdir(parents=True)
        (staging / "secret.txt").write_text("password=hunter2\n")
        partial = bundles / f".{name}.tar.gz.x1y2.tmp"
        partial.write_bytes(b"\x1f\x8b")
        leftovers.append((staging.parent, partial))
    done = bundles / "support-bundle-2026-06-01T10_00_00.tar.gz"
    done.write_bytes(b"\x1f\x8b")
    d = daemon(store, clock)
    d.close()
    (dead_staging, dead_partial), (live_staging, live_partial) = leftovers
    assert not dead_staging.exists() and not dead_partial.exists()
    assert live_staging.exists() and live_partial.exists() and done.exists()


def test_recovery_never_removes_debris_through_a_symbolic_link(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    dead = _running("h-20260601T1100Z", "2026-06-01T11:00:00.250000+00:00", 2**22 + 7)
    executions.write(store.root, dead)
    name = bundle_name(datetime.fromisoformat(dead["startTime"]), set())
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / f".staging-{name}" / name).mkdir(parents=True)
    (elsewhere / f".{name}.tar.gz.x1y2.tmp").write_bytes(b"someone else's")
    (store.root / "bundles").mkdir(exist_ok=True)
    (store.root / "bundles" / "h").symlink_to(elsewhere)
    there = sorted(elsewhere.rglob("*"))
    d = daemon(store, clock)
    d.close()
    assert sorted(elsewhere.rglob("*")) == there
