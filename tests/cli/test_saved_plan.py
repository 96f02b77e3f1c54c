"""Saved plans: `diff --out` writes what the state and the inputs were, `apply PLAN` applies exactly that plan
and refuses (exit 1, naming what moved) when the state's schedules, its lineage or an input changed."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from .test_gitops import APP_SPEC, MANIFEST, checkout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout applied once, the working directory (as in CI and on the host)."""
    manifest = checkout(tmp_path / "repo")
    monkeypatch.chdir(manifest.parent)
    return manifest.parent


def state(state_dir: Path) -> dict:
    return json.loads((state_dir / "state.json").read_text())


def edit_spec(repo: Path, version: str = "2") -> None:
    (repo / "specs" / "app.yaml").write_text(APP_SPEC.replace("applied-version-1", f"applied-version-{version}"))


def test_diff_out_saves_the_plan_with_the_state_and_the_inputs_it_was_made_from(cli, repo, state_dir):
    assert cli("apply", "-f", "schedules.yaml").code == 0
    edit_spec(repo)
    result = cli("diff", "-f", "schedules.yaml", "--out", "plan.json")
    assert result.code == 1 and "~ nightly: update" in result.out
    saved = json.loads((repo / "plan.json").read_text())
    assert (repo / "plan.json").stat().st_mode & 0o777 == 0o600
    current = state(state_dir)
    assert saved["format_version"] == "1.1" and saved["set"] == "production"
    assert (saved["lineage"], saved["serial"]) == (current["lineage"], current["serial"])
    assert len(saved["basis"]) == 64
    assert saved["inputs"] == {
        "manifest": {"path": "schedules.yaml", "sha256": hashlib.sha256(MANIFEST.encode()).hexdigest()},
        "specFiles": {"specs/app.yaml": hashlib.sha256((repo / "specs" / "app.yaml").read_bytes()).hexdigest(),
                      "specs/redactor.yaml": hashlib.sha256((repo / "specs" / "redactor.yaml").read_bytes())
                      .hexdigest()}}
    assert saved["changes"] == json.loads(cli("diff", "-f", "schedules.yaml", "-o", "json").out)["changes"]


def test_apply_of_a_saved_plan_applies_exactly_it(cli, repo, state_dir):
    assert cli("apply", "-f", "schedules.yaml").code == 0
    edit_spec(repo)
    cli("diff", "-f", "schedules.yaml", "--out", "plan.json")
    applied = cli("apply", "plan.json")
    assert applied.code == 0, applied.err
    assert "Applied set 'production': 0 created, 1 updated, 0 deleted, 0 unchanged." in applied.out
    assert state(state_dir)["schedules"]["nightly"]["spec"]["specFiles"]["specs/app.yaml"] == \
        hashlib.sha256((repo / "specs" / "app.yaml").read_bytes()).hexdigest()
    assert cli("diff", "-f", "schedules.yaml").code == 0
    again = cli("apply", "plan.json")   # made against the serial before: its basis moved
    assert again.code == 1 and "the state's schedules changed since the plan was made" in again.err


def test_a_run_since_the_plan_moves_the_serial_but_does_not_make_it_stale(cli, repo, state_dir):
    assert cli("apply", "-f", "schedules.yaml").code == 0
    edit_spec(repo)
    cli("diff", "-f", "schedules.yaml", "--out", "plan.json")
    serial = state(state_dir)["serial"]
    assert cli("run", "nightly").code == 0
    assert state(state_dir)["serial"] > serial   # its status writes
    assert cli("apply", "plan.json").code == 0


@pytest.mark.parametrize("move, named", [
    (lambda repo: edit_spec(repo, "3"), "specs/app.yaml changed (sha256 "),
    (lambda repo: (repo / "specs" / "redactor.yaml").unlink(), "specs/redactor.yaml: No such file or directory"),
    (lambda repo: (repo / "schedules.yaml").write_text(MANIFEST.replace("0 2 * * *", "0 4 * * *")),
     "schedules.yaml changed (sha256 "),
    (lambda repo: (repo / "schedules.yaml").unlink(), "schedules.yaml: no such file"),
])
def test_a_saved_plan_whose_inputs_moved_is_refused_naming_them(cli, repo, state_dir, move, named):
    assert cli("apply", "-f", "schedules.yaml").code == 0
    edit_spec(repo)
    cli("diff", "-f", "schedules.yaml", "--out", "plan.json")
    before = (state_dir / "state.json").read_bytes()
    move(repo)
    result = cli("apply", "plan.json")
    assert result.code == 1, result.err
    assert result.err.startswith("sbsched: error: the saved plan plan.json is stale: ") and named in result.err
    assert "hint: make the plan again" in result.err and "Traceback" not in result.err
    assert (state_dir / "state.json").read_bytes() == before


def test_a_saved_plan_is_refused_after_another_apply_or_against_another_state(cli, repo, state_dir, tmp_path):
    assert cli("apply", "-f", "schedules.yaml").code == 0
    edit_spec(repo)
    cli("diff", "-f", "schedules.yaml", "--out", "plan.json")
    other = checkout(tmp_path / "other", manifest=MANIFEST.replace("production", "staging")
                     .replace("name: nightly", "name: weekly"))
    assert cli("apply", "-f", str(other)).code == 0   # another set: the state's schedules moved all the same
    moved = cli("apply", "plan.json")
    assert moved.code == 1
    assert f"the state's schedules changed since the plan was made (serial 1 then, 2 now)" in moved.err
    shutil.rmtree(state_dir)
    assert cli("apply", "-f", str(other)).code == 0
    elsewhere = cli("apply", "plan.json")
    assert elsewhere.code == 1 and "the state's lineage is " in elsewhere.err
    assert "nightly (update in the plan, create now)" in elsewhere.err


def test_apply_plan_dry_run_checks_it_and_writes_nothing(cli, repo, state_dir):
    assert cli("apply", "-f", "schedules.yaml").code == 0
    edit_spec(repo)
    cli("diff", "-f", "schedules.yaml", "--out", "plan.json")
    before = (state_dir / "state.json").read_bytes()
    result = cli("apply", "plan.json", "--dry-run")
    assert result.code == 0 and "(dry run: nothing written)" in result.out
    assert (state_dir / "state.json").read_bytes() == before


def test_the_host_applies_a_plan_made_in_another_checkout(cli, repo, state_dir, tmp_path, monkeypatch):
    assert cli("apply", "-f", "schedules.yaml").code == 0
    ci = checkout(tmp_path / "ci" / "work")
    edit_spec(ci.parent)
    monkeypatch.chdir(ci.parent)
    assert cli("diff", "-f", "schedules.yaml", "--out", str(tmp_path / "plan.json")).code == 1
    monkeypatch.chdir(repo)
    stale = cli("apply", str(tmp_path / "plan.json"))   # the host's checkout has not been updated yet
    assert stale.code == 1 and "specs/app.yaml changed" in stale.err
    edit_spec(repo)   # it pulls the reviewed commit
    assert cli("apply", str(tmp_path / "plan.json")).code == 0
    assert cli("diff", "-f", str(ci)).code == 0


@pytest.mark.parametrize("content, message", [
    (None, "plan.json: no such file"),
    ("{not json", "plan.json: not JSON, so not a saved plan"),
    ('{"format_version": "1.0", "set": "production", "changes": [], "summary": {}}',
     "plan.json: not a saved plan (format_version 1.0: this sbsched reads 1.1 and later 1.x plans)"),
    ('{"format_version": "1.1", "set": "production", "changes": [], "inputs": null}',
     "plan.json: not a saved plan (no inputs: made by an older sbsched, or against a cluster)"),
])
def test_a_file_that_is_not_a_saved_plan_is_exit_2_in_one_line(cli, repo, content, message):
    if content is not None:
        (repo / "plan.json").write_text(content)
    result = cli("apply", "plan.json")
    assert result.code == 2
    assert result.err.splitlines()[0] == f"sbsched: error: {message}"


def test_apply_needs_a_manifest_or_a_plan(cli, repo):
    result = cli("apply")
    assert result.code == 2 and "apply needs a manifest (-f FILE) or a saved plan" in result.err
    assert cli("apply", "plan.json", "--allow-empty").code == 2
