"""The edit verbs' use case without the command line: load or start, edit, check, plan, write, apply."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from reconciler.base.errors import ManifestError, UsageError
from reconciler.manifest import edit as manifest_edit
from reconciler.manifest.normalize import ScheduleDefaults
from reconciler.manifest.edit_flags import spec_paths
from reconciler.plan.manifest_edits import EditRequest, edit_manifest, set_from_directory
from reconciler.store.state import StateStore

NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def _create(name: str, cron: str = "0 2 * * *"):
    def change(doc: manifest_edit.Document, path: str) -> str:
        manifest_edit.create(doc, name, manifest_edit.Changes(cron=cron, timezone="UTC"), source=path)
        return f"created {name}"
    return change


def _edit(tmp_path: Path, request: EditRequest, change, opened: list[bool] | None = None):
    state = StateStore(tmp_path / "state")

    def store(writes: bool) -> StateStore:
        if opened is not None:
            opened.append(writes)
        return state

    return edit_manifest(request, change, defaults=ScheduleDefaults(), store=store, now=NOW), state


def test_create_starts_the_file_writes_it_and_applies_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "team-a" / "schedules.yaml"
    path.parent.mkdir()
    request = EditRequest(str(path), apply=True, create_missing=True, show_next="nightly")
    edited, state = _edit(tmp_path, request, _create("nightly"))
    assert edited.plan is not None and edited.applied and edited.what == "created nightly"
    assert "name: team-a" in path.read_text() and "nightly" in state.read()["schedules"]
    assert edited.next_run == ("2026-03-02T02:00:00+00:00", "UTC")


def test_a_dry_run_diffs_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    request = EditRequest(str(path), dry_run=True, apply=True, create_missing=True)
    opened: list[bool] = []
    edited, state = _edit(tmp_path, request, _create("nightly"), opened)
    assert not path.exists() and not edited.applied and opened == [False]
    assert edited.diff.startswith("--- a/schedules.yaml\n+++ b/schedules.yaml") and '+    cron: "0 2 * * *"' in edited.diff
    assert edited.plan is not None and edited.plan.has_changes and not (state.root / "state.json").exists()


def test_an_edit_that_would_make_the_file_invalid_is_refused_before_the_state_is_opened(tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    _edit(tmp_path, EditRequest(str(path), create_missing=True), _create("nightly"))
    before = path.read_text()
    opened: list[bool] = []
    edited, _ = _edit(tmp_path, EditRequest(str(path)), _create("hourly", cron="61 * * * *"), opened)
    assert edited.plan is None and edited.diagnostics and not edited.invalid_before and opened == []
    assert path.read_text() == before


def test_a_missing_file_or_another_set_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    with pytest.raises(ManifestError, match="no such file"):
        _edit(tmp_path, EditRequest(str(path)), _create("nightly"))
    _edit(tmp_path, EditRequest(str(path), create_missing=True, set_name="prod"), _create("nightly"))
    with pytest.raises(UsageError, match="is set 'prod', not 'dev'"):
        _edit(tmp_path, EditRequest(str(path), set_name="dev"), _create("other"))


def test_paths_and_set_names_as_the_manifest_holds_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    manifest = str(tmp_path / "repo" / "schedules.yaml")
    assert spec_paths(manifest, ["repo/specs/a.yaml", "/abs.yaml", ""]) == ["specs/a.yaml", "/abs.yaml", ""]
    assert spec_paths(manifest, None) is None
    assert set_from_directory("/x/Team_A/schedules.yaml") == "team-a" and set_from_directory("/s.yaml") == "default"
