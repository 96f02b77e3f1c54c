"""create / modify / delete / enable / disable from the CLI: exit codes, nothing written on an invalid edit,
the plan shown, --apply, --dry-run, a new file, and the file's mode and symlinks kept."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    work = tmp_path / "payments-cluster"
    (work / "specs").mkdir(parents=True)
    for spec in (FIXTURES / "specs").glob("*.yaml"):
        shutil.copy(spec, work / "specs" / spec.name)
    shutil.copy(FIXTURES / "edit" / "hand-formatted.yaml", work / "schedules.yaml")
    return work


@pytest.fixture
def chdir(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(repo)
    return repo


@pytest.mark.parametrize("args, code, message", [
    (["modify", "nightly", "--cron", "0 25 * * *"], 1, "hour value 25 out of range"),
    (["modify", "nightly", "--timezone", "Europe/Atlantis"], 1, "unknown time zone 'Europe/Atlantis'"),
    (["create", "Bad_Name", "--cron", "@daily"], 1, "DNS-1123"),
    (["create", "weekly", "--cron", "@daily", "--spec", "specs/missing.yaml"], 1, "specs/missing.yaml"),
    (["create", "nightly", "--cron", "@daily"], 2, "schedule 'nightly' already exists"),
    (["modify", "nightli", "--cron", "@daily"], 2, "did you mean 'nightly'?"),
    (["delete", "nope"], 2, "no schedule 'nope'"),
    (["disable", "nope"], 2, "no schedule 'nope'"),
    (["modify", "nightly"], 2, "nothing to change"),
    (["create", "weekly", "--cron", "@daily", "--set", "other"], 2, "is set 'payments', not 'other'"),
])
def test_an_invalid_edit_exits_1_or_2_and_leaves_the_file_byte_identical(cli, chdir, args, code, message):
    before = (chdir / "schedules.yaml").read_bytes()
    result = cli(*args)
    assert result.code == code, result.err
    assert message in result.err
    assert (chdir / "schedules.yaml").read_bytes() == before


def test_an_invalid_edit_names_the_place_in_the_would_be_file(cli, chdir):
    result = cli("modify", "hourly", "--cron", "61 * * * *")
    assert result.err.splitlines() == [
        "schedules.yaml:32:15: schedules[2].cron: invalid cron '61 * * * *': minute value 61 out of range 0-59",
        "schedules.yaml: not changed: the edit would leave it invalid, 1 error(s)"]


def test_a_schedule_another_set_owns_is_refused_before_anything_is_written(cli, chdir, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: other}\n"
                     "schedules: [{name: weekly, cron: '@weekly'}]\n")
    assert cli("apply", "-f", str(other)).code == 0
    before = (chdir / "schedules.yaml").read_bytes()
    result = cli("create", "weekly", "--cron", "@daily")
    assert result.code == 2 and "owned by set 'other'" in result.err
    assert (chdir / "schedules.yaml").read_bytes() == before


def test_each_verb_leaves_a_manifest_that_validates_and_shows_its_plan(cli, chdir):
    steps = [
        (["create", "weekly", "--cron", "0 6 * * 1", "--namespace", "payments", "--upload", "s3://b/weekly/"],
         "+ weekly: create (cron '0 6 * * 1', Europe/Berlin)"),
        (["modify", "weekly", "--cron", "0 7 * * 1", "--timezone", "UTC"], "+ weekly: create (cron '0 7 * * 1', UTC)"),
        (["disable", "nightly"], "schedules.yaml: disabled schedule 'nightly' (suspend: true)"),
        (["enable", "nightly"], "schedules.yaml: enabled schedule 'nightly' (suspend: false)"),
        (["delete", "hourly"], "Plan for set 'payments': 3 to create, 0 to update, 0 to delete, 0 unchanged."),
    ]
    for args, expected in steps:
        result = cli(*args)
        assert result.code == 0, result.err
        assert expected in result.out, result.out
        check = cli("validate", "-f", "schedules.yaml")
        assert check.code == 0, check.err
    text = (chdir / "schedules.yaml").read_text()
    assert "name: hourly" not in text and "suspend: false\n" in text and "# 02:00 Berlin" in text


def test_apply_puts_the_edit_into_the_state_and_diff_is_then_clean(cli, chdir, state_dir):
    result = cli("create", "weekly", "--cron", "@weekly", "--apply")
    assert result.code == 0, result.err
    assert "Applied set 'payments': 4 created, 0 updated, 0 deleted, 0 unchanged." in result.out
    assert cli("diff", "-f", "schedules.yaml").code == 0
    result = cli("disable", "weekly", "--apply")
    assert "~ weekly: update\n    suspend: false -> true" in result.out
    state = json.loads((state_dir / "state.json").read_text())
    assert state["schedules"]["weekly"]["spec"]["suspend"] is True


def test_deleting_the_last_schedule_empties_the_set_without_allow_empty(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli("create", "only", "--cron", "@daily", "--apply").code == 0
    result = cli("delete", "only", "--apply")
    assert result.code == 0, result.err
    assert "Applied set" in result.out and "1 deleted" in result.out
    assert (tmp_path / "schedules.yaml").read_text().endswith("schedules: []\n")
    assert cli("validate", "-f", "schedules.yaml").code == 0


def test_create_starts_a_missing_file_as_a_set_named_after_its_directory(cli, tmp_path, monkeypatch, snapshot):
    work = tmp_path / "Prod_EU.cluster"
    work.mkdir()
    monkeypatch.chdir(work)
    result = cli("create", "nightly", "--cron", "0 2 * * *", "--timezone", "Europe/Paris", "--namespace", "a",
                 "--namespace", "b")
    assert result.code == 0, result.err
    text = (work / "schedules.yaml").read_text()
    assert text == snapshot
    assert "name: prod-eu-cluster" in text
    assert oct(os.stat(work / "schedules.yaml").st_mode & 0o777) == oct(0o666 & ~_umask())
    other = tmp_path / "elsewhere" / "x.yaml"
    other.parent.mkdir()
    assert cli("create", "a", "--cron", "@daily", "-f", str(other), "--set", "staging").code == 0
    assert "metadata:\n  name: staging\n" in other.read_text()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_delete_and_enable_of_a_missing_file_are_errors(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("delete", "x")
    assert result.code == 2 and "schedules.yaml: no such file" in result.err
    assert not (tmp_path / "schedules.yaml").exists()


def test_dry_run_shows_the_file_diff_and_the_plan_and_writes_nothing(cli, chdir):
    before = (chdir / "schedules.yaml").read_bytes()
    result = cli("disable", "hourly", "--dry-run")
    assert result.code == 0
    assert "+        suspend: true\n" in result.out and "(dry run: nothing written)" in result.out
    assert "Plan for set 'payments': 3 to create" in result.out
    assert (chdir / "schedules.yaml").read_bytes() == before


def test_json_output_is_the_plan_document(cli, chdir):
    result = cli("modify", "hourly", "--cron", "@daily", "-o", "json")
    plan = json.loads(result.out)
    assert plan["format_version"] == "1.1" and plan["summary"]["create"] == 3
    assert "modified schedule 'hourly'" in result.err


def test_enable_of_an_enabled_schedule_writes_nothing_and_says_so(cli, chdir):
    path = chdir / "schedules.yaml"
    stamp = path.stat().st_mtime_ns, path.stat().st_ino
    result = cli("enable", "weekday-morning")
    assert result.code == 0 and "already so: the file is unchanged" in result.out
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == stamp


def test_the_files_mode_is_kept_and_a_symlink_is_followed(cli, chdir):
    real = chdir / "schedules.yaml"
    real.chmod(0o640)
    link = chdir / "link.yaml"
    link.symlink_to(real)
    assert cli("disable", "hourly", "-f", str(link)).code == 0
    assert link.is_symlink() and "suspend: true" in real.read_text()
    assert real.stat().st_mode & 0o777 == 0o640


def test_spec_paths_are_written_relative_to_the_manifest(cli, chdir, tmp_path, monkeypatch):
    monkeypatch.chdir(chdir / "specs")
    result = cli("create", "host", "--cron", "@hourly", "--spec", "host-cpu.yaml", "-f", "../schedules.yaml")
    assert result.code == 0, result.err
    assert "specs: [specs/host-cpu.yaml]" in (chdir / "schedules.yaml").read_text()


def test_a_file_changed_while_it_was_edited_is_not_overwritten(chdir, monkeypatch):
    from reconciler.base.errors import ManifestError
    from reconciler.manifest.load import write_manifest

    path = str(chdir / "schedules.yaml")
    with pytest.raises(ManifestError, match="changed while it was being edited"):
        write_manifest(path, "new", expected=b"what it was before someone else wrote it")
    assert (chdir / "schedules.yaml").read_text() != "new"
