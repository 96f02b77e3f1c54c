"""sbsched import troubleshoot: job files in troubleshoot's format (pkg/schedule/job.go's Job, as its
saveJob writes them) become a manifest that validates, whose `next` times are the times those jobs ran."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.reconciler.troubleshoot.test_scheduled_jobs import troubleshoot_matches


def job(job_id: str, name: str, schedule: str, *, namespace: str = "", auto: bool = False, upload: str = "",
        enabled: bool = True, created: str = "2026-02-01T10:00:00.123456789+01:00") -> dict[str, object]:
    """json.MarshalIndent of troubleshoot's Job: `upload` omitted when empty, zero lastRun as Go writes it."""
    data: dict[str, object] = {"id": job_id, "name": name, "schedule": schedule, "namespace": namespace,
                               "auto": auto}
    if upload:
        data["upload"] = upload
    data.update({"enabled": enabled, "runCount": 0, "lastRun": "0001-01-01T00:00:00Z", "created": created})
    return data


JOBS = [
    job("job-1761000000000000001", "daily-check", "0 2 * * *", namespace="production"),
    job("job-1761000000000000002", "Frequent Checks", "0 */6 * * *", namespace="app", auto=True, upload="enabled",
        created="2026-02-02T10:00:00Z"),
    job("job-1761000000000000003", "even_days", "30 1 */2 * *", enabled=False, created="2026-02-03T10:00:00Z"),
    job("job-1761000000000000004", "quarter-hours", "*/15 9,17 * * 1,2,3,4,5", created="2026-02-04T10:00:00Z"),
    job("job-1761000000000000005", "to-s3", "5 4 * */3 *", upload="s3://bundles/ts/", created="2026-02-05T10:00:00Z"),
]


@pytest.fixture
def jobs_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "home" / ".troubleshoot" / "scheduled-jobs"
    directory.mkdir(parents=True)
    for data in JOBS:
        (directory / f"{data['id']}.json").write_text(json.dumps(data, indent=2))
    return directory


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "migrated"
    directory.mkdir()
    monkeypatch.chdir(directory)
    monkeypatch.setenv("TZ", "America/New_York")
    return directory


def test_the_imported_manifest_validates_and_is_what_the_snapshot_shows(cli, jobs_dir, work, snapshot):
    result = cli("import", "troubleshoot")   # ~/.troubleshoot/scheduled-jobs by default
    assert result.code == 0, result.err
    assert "imported 5 of 5 troubleshoot job(s)" in result.out
    assert "note: cron day-of-month '*/2' is written '2-30/2'" in result.out
    text = (work / "schedules.yaml").read_text()
    assert text == snapshot
    assert cli("validate", "-f", "schedules.yaml").code == 0


def test_next_times_are_the_times_troubleshoot_ran_the_jobs_in_the_hosts_zone(cli, jobs_dir, work):
    assert cli("import", "troubleshoot", "--apply").code == 0
    names = {"daily-check": "0 2 * * *", "frequent-checks": "0 */6 * * *",
             "quarter-hours": "*/15 9,17 * * 1,2,3,4,5", "to-s3": "5 4 * */3 *"}
    after = datetime(2026, 5, 1, tzinfo=ZoneInfo("America/New_York"))   # between the DST changes
    for name, expression in names.items():
        result = cli("next", name, "--after", after.isoformat(), "-n", "12")
        assert result.code == 0, result.err
        assert result.out.split() == [t.isoformat() for t in _troubleshoot(expression, after, 12)], name
    listed = json.loads(cli("list", "-o", "json", "--show-disabled").out)["items"]
    assert {i["name"]: i["spec"]["suspend"] for i in listed}["even-days"] is True   # the job was disabled


def _troubleshoot(expression: str, after: datetime, count: int) -> list[datetime]:
    """Wall times at which troubleshoot's daemon, checking each minute in local time, ran the job."""
    parts, out, moment = expression.split(), [], after
    while len(out) < count:
        moment += timedelta(minutes=1)
        values = (moment.minute, moment.hour, moment.day, moment.month, (moment.weekday() + 1) % 7)
        if all(troubleshoot_matches(f, v) for f, v in zip(parts, values)):
            out.append(moment)
        if moment - after > timedelta(days=200):
            break
    return out


def test_importing_again_adds_nothing_and_extends_an_existing_manifest(cli, jobs_dir, work):
    (work / "schedules.yaml").write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata:\n  name: ops\n"
                                         "schedules:\n  # ours\n  - name: daily-check\n    cron: '@daily'\n")
    first = cli("import", "troubleshoot", "--from", str(jobs_dir))
    assert first.code == 0, first.err
    assert "name 'daily-check' is 'daily-check-2'" in first.out
    text = (work / "schedules.yaml").read_text()
    assert text.startswith("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata:\n  name: ops\nschedules:\n"
                           "  # ours\n  - name: daily-check\n    cron: '@daily'\n  - name: daily-check-2\n")
    again = cli("import", "troubleshoot", "--from", str(jobs_dir))
    assert again.code == 0 and "was imported before as 'daily-check-2'" in again.out
    assert (work / "schedules.yaml").read_text() == text


def test_jobs_cron_cannot_express_are_listed_and_exit_1_the_rest_imported(cli, jobs_dir, work):
    (jobs_dir / "job-9.json").write_text(json.dumps(job("job-9", "friday-13th", "0 2 13 * 5")))
    (jobs_dir / "junk.json").write_text("not json")
    result = cli("import", "troubleshoot", "--from", str(jobs_dir))
    assert result.code == 1
    assert "not imported: job 'friday-13th'" in result.out and "skipped" in result.out and "junk.json" in result.out
    assert "imported 5 of 6" in result.out
    assert cli("validate", "-f", "schedules.yaml").code == 0


def test_timezone_flag_overrides_the_host_zone_and_a_missing_zone_is_an_error(cli, jobs_dir, work, monkeypatch):
    given = cli("import", "troubleshoot", "--from", str(jobs_dir), "--timezone", "Asia/Tokyo", "--dry-run")
    assert given.code == 0
    assert "(timezone Asia/Tokyo, as --timezone says)" in given.out and "the host's" not in given.out
    monkeypatch.delenv("TZ")
    monkeypatch.setattr("reconciler.timing.hostzone.host_zone", lambda *a, **k: None)
    result = cli("import", "troubleshoot", "--from", str(jobs_dir))
    assert result.code == 2 and "--timezone" in result.err
    assert not (work / "schedules.yaml").exists()


def test_a_missing_directory_is_an_error_and_an_empty_one_writes_nothing(cli, work, tmp_path):
    assert cli("import", "troubleshoot", "--from", str(tmp_path / "nope")).code == 2
    (tmp_path / "empty").mkdir()
    result = cli("import", "troubleshoot", "--from", str(tmp_path / "empty"))
    assert result.code == 0 and "no troubleshoot jobs" in result.out
    assert not (work / "schedules.yaml").exists()
