"""An execution record that is valid JSON with a wrong field type (a hand edit, a bad restore, another
tool) is skipped by every reader and named once on stderr, like an unreadable one; the runs after it
are listed, shown and cleaned up as usual."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from reconciler.store import executions

from ..conftest import run_sbsched
from ..reconciler.run.test_retention import on_disk, write_history

BAD = [("startTime", 5), ("bundle", "x"), ("status", 3), ("durationSeconds", "fast")]


def applied(cli, write_manifest) -> None:
    path = write_manifest("""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: prod}
        schedules:
          - name: nightly
            cron: "0 2 * * *"
            collect: {cluster: false, hostCollectors: [{hostOS: {}}]}
            retention: {keepLast: 2, keepFailed: 0, maxAgeDays: 0}
          - name: nightly-eu
            cron: "0 3 * * *"
            collect: {cluster: false}
            retention: {keepLast: 2, keepFailed: 0, maxAgeDays: 0}
    """)
    assert cli("apply", "-f", str(path)).code == 0


def spoil(state_dir, record: dict, field: str, value: object):
    """Rewrite `record` on disk with `field` set to `value`; returns its path."""
    path = executions.record_path(state_dir, record)
    path.write_text(json.dumps({**record, field: value}))
    return path


def named(err: str, path) -> int:
    return sum(1 for line in err.splitlines() if str(path) in line)


@pytest.mark.parametrize("field, value", BAD)
@pytest.mark.parametrize("args", [["history", "-o", "json"], ["history", "nightly", "-o", "json"], ["history"]])
def test_history_skips_a_record_of_the_wrong_shape_and_names_it_once(cli, state_dir, field, value, args):
    good = write_history(state_dir, "nightly", 3, now=datetime.now(timezone.utc))
    bad = spoil(state_dir, good[1], field, value)

    result = cli(*args)

    assert result.code == 0, result.err
    assert named(result.err, bad) == 1 and "Traceback" not in result.err
    assert f"sbsched: warning: skipped execution record {bad}: {field} is " in result.err
    if "json" in args:
        assert [r["id"] for r in json.loads(result.out)["items"]] == [good[0]["id"], good[2]["id"]]
    else:
        assert good[0]["id"] in result.out and good[1]["id"] not in result.out


@pytest.mark.parametrize("field, value", BAD)
@pytest.mark.parametrize("output", ["json", "table"])
def test_status_shows_the_recent_runs_around_a_record_of_the_wrong_shape(cli, write_manifest, state_dir, field,
                                                                         value, output):
    applied(cli, write_manifest)
    good = write_history(state_dir, "nightly", 3, now=datetime.now(timezone.utc))
    bad = spoil(state_dir, good[0], field, value)

    result = cli("status", "nightly", "-o", output)

    assert result.code == 0, result.err
    assert named(result.err, bad) == 1
    if output == "json":
        assert [r["id"] for r in json.loads(result.out)["recentRuns"]] == [good[1]["id"], good[2]["id"]]
    else:
        assert good[1]["id"] in result.out and good[0]["id"] not in result.out


@pytest.mark.parametrize("field, value", BAD)
def test_cleanup_applies_retention_past_a_record_of_the_wrong_shape_and_leaves_it(cli, write_manifest, state_dir,
                                                                                  field, value):
    applied(cli, write_manifest)
    good = write_history(state_dir, "nightly-eu", 5, now=datetime.now(timezone.utc))
    bad = spoil(state_dir, good[3], field, value)

    result = cli("cleanup")

    assert result.code == 0, result.err
    assert named(result.err, bad) == 1   # named once, though both schedules' runs were read
    records, _ = on_disk(state_dir, "nightly-eu")
    assert records == {good[0]["id"], good[1]["id"], good[3]["id"]}   # keepLast 2, and the bad one left alone


def test_a_run_applies_its_retention_past_a_record_of_the_wrong_shape(cli, write_manifest, state_dir):
    applied(cli, write_manifest)
    earlier = datetime.now(timezone.utc) - timedelta(days=1)
    good = write_history(state_dir, "nightly", 3, now=earlier)
    bad = spoil(state_dir, good[1], "startTime", 5)

    result = cli("run", "nightly", "-o", "json")

    assert result.code == 0, result.err
    latest = json.loads(result.out)["id"]
    records, _ = on_disk(state_dir, "nightly")
    assert records == {latest, good[0]["id"], good[1]["id"]}   # keepLast 2: good[2] went; the bad one stays
    assert named(result.err, bad) == 1


def test_the_installed_cli_prints_one_warning_line_for_an_unreadable_and_a_misshapen_record(state_dir):
    good = write_history(state_dir, "nightly", 3, now=datetime.now(timezone.utc))
    misshapen = spoil(state_dir, good[0], "bundle", "x")
    unreadable = executions.record_path(state_dir, good[1])
    unreadable.write_text("{not json")

    result = run_sbsched("history", "-o", "json")

    assert result.code == 0, result.err
    assert [r["id"] for r in json.loads(result.out)["items"]] == [good[2]["id"]]
    assert sorted(line for line in result.err.splitlines() if "execution record" in line) == sorted([
        f"sbsched: warning: skipped execution record {misshapen}: bundle is 'x', not an object or null",
        f"sbsched: warning: skipped execution record {unreadable}: not valid JSON "
        "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"])
