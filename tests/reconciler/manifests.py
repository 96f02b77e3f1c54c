"""A manifest written, loaded and (for the state's tests) applied: what the library's use-case tests start from."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from reconciler.manifest.load import load_manifest
from reconciler.manifest.normalize import ScheduleSet
from reconciler.plan.apply import apply
from reconciler.store.state import StateStore


def loaded(tmp_path: Path, text: str) -> ScheduleSet:
    path = tmp_path / "schedules.yaml"
    path.write_text(text)
    desired = load_manifest(str(path)).manifest
    assert desired is not None
    return desired


def applied(tmp_path: Path, text: str, now: datetime) -> StateStore:
    """The state of tmp_path/state with the manifest `text` applied."""
    state_store = StateStore(tmp_path / "state")
    apply(state_store, loaded(tmp_path, text), now=now)
    return state_store
