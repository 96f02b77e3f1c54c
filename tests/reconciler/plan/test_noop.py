"""A no-op diff or apply plans one stored record at a time (issue 23: 100,000 schedules in flat memory),
and its plan is exactly the one made from the whole state; anything else is planned from the whole state."""
from __future__ import annotations

import json
import sys
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import pytest

from reconciler.base.errors import ConflictError
from reconciler.manifest.load import valid_manifest
from reconciler.manifest.normalize import ScheduleSet
from reconciler.plan.apply import apply, plan_for, planned
from reconciler.plan.spec_snapshots import snapshot
from reconciler.store.state import StateStore

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import gen_manifest  # noqa: E402  (the benchmark's generator: varied schedules, as in a real manifest)

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def _applied(tmp_path: Path, n: int) -> tuple[StateStore, ScheduleSet, Path]:
    manifest = tmp_path / "m" / "schedules.yaml"
    gen_manifest.write_manifest(manifest, n)
    store = StateStore(tmp_path / "state")
    desired = snapshot(valid_manifest(str(manifest)))
    assert apply(store, desired, now=NOW).summary["create"] == n
    return store, snapshot(valid_manifest(str(manifest))), manifest


def _whole(store: StateStore, desired: ScheduleSet) -> dict[str, object]:
    return plan_for(store, store.read(), desired, allow_empty=False)[0].to_json()


def test_a_no_op_plan_never_holds_the_parsed_state(tmp_path: Path) -> None:
    store, desired, _ = _applied(tmp_path, 2_000)
    size = store.path.stat().st_size
    tracemalloc.start()
    try:
        plan = planned(store, desired, allow_empty=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not plan.has_changes and len(plan.changes) == 2_000
    assert peak < size // 2, f"planning peaked at {peak} bytes for a {size}-byte state.json"


def test_the_streamed_no_op_plan_is_the_whole_states_plan(tmp_path: Path) -> None:
    store, desired, _ = _applied(tmp_path, 200)
    streamed = planned(store, desired, allow_empty=False)
    assert streamed.to_json() == _whole(store, desired)
    assert streamed.basis is not None
    assert planned(store, desired, allow_empty=False, with_basis=False).basis is None
    before = store.path.read_bytes()
    assert apply(store, desired, now=NOW, with_basis=True).to_json() == streamed.to_json()
    assert store.path.read_bytes() == before


@pytest.mark.parametrize("edit", ["update", "create", "delete"])
def test_changes_are_planned_from_the_whole_state(tmp_path: Path, edit: str) -> None:
    store, _, manifest = _applied(tmp_path, 50)
    text = {"update": manifest.read_text().replace("team: data", "team: data2", 1),
            "create": gen_manifest.generate(51), "delete": gen_manifest.generate(49)}[edit]
    manifest.write_text(text)
    changed = snapshot(valid_manifest(str(manifest)))
    plan = planned(store, changed, allow_empty=False)
    assert plan.summary[edit] == 1 and plan.to_json() == _whole(store, changed)


def test_a_conflict_and_a_hand_written_state_take_the_whole_path(tmp_path: Path) -> None:
    store, desired, _ = _applied(tmp_path, 20)
    state = store.read()
    state["schedules"][sorted(state["schedules"])[3]]["set"] = "other"
    store.path.write_text(json.dumps(state, indent=2))        # another layout: read whole
    assert store.head() is None
    with pytest.raises(ConflictError):
        planned(store, desired, allow_empty=False)
