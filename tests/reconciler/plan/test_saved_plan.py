"""`apply PLAN`'s use case without the command line: the saved plan's set, or why it is stale."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from reconciler.manifest.load import valid_manifest
from reconciler.plan.apply import apply, plan_for
from reconciler.plan.saved_plan import PlanFileError, StalePlan, desired_of, save
from reconciler.plan.spec_snapshots import snapshot
from reconciler.store.state import StateStore

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
MANIFEST = ("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: prod}\nschedules:\n"
            "  - {name: nightly, cron: '0 2 * * *', collect: {cluster: false}}\n")


def test_a_saved_plan_gives_its_set_and_refuses_a_moved_manifest(tmp_path: Path) -> None:
    manifest, saved = tmp_path / "schedules.yaml", str(tmp_path / "plan.json")
    manifest.write_text(MANIFEST)
    state = StateStore(tmp_path / "state")
    save(saved, plan_for(state, state.read(), snapshot(valid_manifest(str(manifest))), allow_empty=False)[0])
    desired, expect = desired_of(saved, None)
    assert list(desired.schedules) == ["nightly"]
    plan = apply(state, desired, now=NOW, expect=expect)
    assert plan.summary["create"] == 1
    manifest.write_text(MANIFEST.replace("0 2", "0 3"))
    with pytest.raises(StalePlan):
        desired_of(saved, str(manifest))
    with pytest.raises(PlanFileError):
        desired_of(str(manifest), None)
