"""`sbsched cleanup`: retention on demand, over a synthetic history of 100 runs."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.reconciler.run.test_retention import on_disk, write_history


def applied(cli, write_manifest, retention: str = "{keepLast: 10, keepFailed: 3, maxAgeDays: 20}") -> None:
    path = write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: prod}}
        schedules:
          - name: nightly
            cron: "0 2 * * *"
            collect: {{cluster: false}}
            retention: {retention}
          - name: weekly
            cron: "0 3 * * 0"
            collect: {{cluster: false}}
            retention: {{keepLast: 1, keepFailed: 0, maxAgeDays: 0}}
    """)
    assert cli("apply", "-f", str(path)).code == 0


def test_dry_run_lists_what_would_go_and_deletes_nothing(cli, write_manifest, state_dir):
    applied(cli, write_manifest)
    now = datetime.now(timezone.utc)
    write_history(state_dir, "nightly", 100, now=now)

    result = cli("cleanup", "--dry-run", "-o", "json")

    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["dryRun"] is True and report["summary"]["runs"] == 88   # 100 - 10 newest - 2 more failed
    assert report["summary"] == {"runs": 88, "bundles": 88, "records": 88, "bytes": 8800, "heldBack": 0,
                                 "specSnapshots": 0}
    assert {item["schedule"] for item in report["items"]} == {"nightly"}
    assert len(on_disk(state_dir, "nightly")[0]) == 100

    text = cli("cleanup", "--dry-run")
    assert text.code == 0 and "Would remove 88 run(s): 88 bundle(s), 88 record(s)" in text.out
    assert "SCHEDULE" in text.out and "beyond keepLast (10)" in text.out


def test_cleanup_deletes_per_each_schedules_policy_and_a_second_run_finds_nothing(cli, write_manifest, state_dir):
    applied(cli, write_manifest)
    now = datetime.now(timezone.utc)
    write_history(state_dir, "nightly", 100, now=now)
    write_history(state_dir, "weekly", 5, now=now, every=timedelta(days=7))

    result = cli("cleanup")

    assert result.code == 0 and "Removed 92 run(s)" in result.out
    assert len(on_disk(state_dir, "nightly")[1]) == 12 and len(on_disk(state_dir, "weekly")[1]) == 1
    assert "Nothing to remove." in cli("cleanup").out


def test_bundles_whose_upload_failed_stay_unless_forced(cli, write_manifest, state_dir):
    applied(cli, write_manifest)
    now = datetime.now(timezone.utc)
    records = write_history(state_dir, "nightly", 30, now=now, upload_failed={25, 29})
    kept = [Path(records[i]["bundle"]["path"]) for i in (25, 29)]

    result = cli("cleanup", "nightly")
    assert result.code == 0 and "Kept 2 run(s) whose upload failed (--force removes them too)" in result.out
    assert all(p.exists() for p in kept)

    forced = cli("cleanup", "nightly", "--force", "-o", "json")
    assert [item["id"] for item in json.loads(forced.out)["items"]] == [records[25]["id"], records[29]["id"]]
    assert not any(p.exists() for p in kept)


def test_one_schedule_only_and_an_unknown_one_is_exit_2(cli, write_manifest, state_dir):
    applied(cli, write_manifest)
    now = datetime.now(timezone.utc)
    write_history(state_dir, "nightly", 20, now=now)
    write_history(state_dir, "weekly", 3, now=now)

    report = json.loads(cli("cleanup", "weekly", "-o", "json").out)
    assert {item["schedule"] for item in report["items"]} == {"weekly"} and report["summary"]["runs"] == 2
    assert len(on_disk(state_dir, "nightly")[1]) == 20

    missing = cli("cleanup", "nightlly")
    assert missing.code == 2 and "nightlly" in missing.err
