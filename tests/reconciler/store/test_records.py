"""ExecutionRecord: read once from the JSON on disk, and given back byte for byte (design §5): records
real runs wrote, older and hand-edited ones, and a record a reader changes (recovery, a retry)."""
from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from reconciler.base.clock import SystemClock
from reconciler.daemon.metrics import lateness
from reconciler.plan.transitions import mark_finished
from reconciler.run.executor import RunOptions, execute
from reconciler.store import executions
from reconciler.store.records import CONTRACT, Error, ExecutionRecord
from reconciler.store.state import StateStore

SLOT = "2026-03-01T02:00:00+00:00"
NOW = datetime.fromisoformat(SLOT)


def apply(cli, write_manifest, tmp_path: Path) -> None:
    """A run that uploads (file://), one skipped for want of disk, one that follows another."""
    (tmp_path / "data.txt").write_text("x" * 100)
    path = write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: recorded}}
        defaults:
          collect: {{cluster: false}}
        schedules:
          - name: up
            cron: "@daily"
            upload: {{url: "file://{tmp_path / 'uploads'}/"}}
            collect:
              hostCollectors:
                - copy: {{collectorName: data, path: {tmp_path / 'data.txt'}}}
                - run: {{collectorName: fails, command: "false"}}
          - name: tight
            cron: "@daily"
            limits: {{minFreeDiskBytes: 1000000000000000}}
          - name: next
            after: [{{schedule: up, on: success}}]
            collect:
              hostCollectors:
                - hostOS: {{}}
    """)
    result = cli("apply", "-f", str(path))
    assert result.code == 0, result.err


def real_records(cli, write_manifest, state_dir: Path, tmp_path: Path) -> list[Path]:
    apply(cli, write_manifest, tmp_path)
    store, clock = StateStore(state_dir), SystemClock()
    up = execute(store, "up", clock, RunOptions())
    execute(store, "tight", clock, RunOptions())
    execute(store, "next", clock, RunOptions(trigger="dependency", after={
        "schedule": "up", "executionId": up.id, "status": up.status}))
    execute(store, "up", clock, RunOptions(recovered_from=up.id))
    stopped = threading.Event()
    stopped.set()   # cancelled before it collects: failed, reason `shutdown`
    execute(store, "up", clock, RunOptions(cancel=stopped, cancel_reason="shutdown"))
    return sorted((state_dir / "executions").glob("*/*.json"))


def test_records_real_runs_wrote_round_trip_byte_for_byte(cli, write_manifest, state_dir, tmp_path):
    paths = real_records(cli, write_manifest, state_dir, tmp_path)
    statuses = set()
    for path in paths:
        written = path.read_bytes()
        record = ExecutionRecord.from_json(json.loads(written))
        statuses.add((record.status, record.trigger))
        copy = executions.write(tmp_path / "copy", record)
        assert copy.read_bytes() == written, path.name
    assert statuses == {("completed", "manual"), ("skipped", "manual"), ("completed", "dependency"),
                        ("failed", "manual")}


def test_a_run_s_record_keeps_the_contract_s_keys_in_their_order_then_what_the_run_added(
        cli, write_manifest, state_dir, tmp_path):
    real_records(cli, write_manifest, state_dir, tmp_path)
    by_kind = {}
    for record in executions.history(state_dir):
        by_kind[(record["schedule"], bool(record.get("recoveredFrom")), record["status"])] = list(record)
    assert by_kind[("up", False, "completed")] == [*CONTRACT, "runner", "logs"]
    assert by_kind[("up", True, "completed")] == [*CONTRACT, "recoveredFrom", "runner", "logs"]
    assert by_kind[("next", False, "completed")] == [*CONTRACT, "after", "runner", "logs"]
    assert by_kind[("tight", False, "skipped")] == [*CONTRACT, "logs"]   # no runner: it never started


OLDER = {   # as an older sbsched wrote it: no set, attempt, warnings or analysis; a key this one does not know
    "id": "up-20260301T0200Z", "schedule": "up", "trigger": "schedule", "scheduledTime": SLOT,
    "startTime": "2026-03-01T02:00:03+00:00", "endTime": "2026-03-01T02:00:09+00:00", "status": "completed",
    "legacyNote": {"kept": True}, "reason": None, "bundle": {"path": "/b/x.tar.gz", "hand": "edited"},
    "error": None}


@pytest.mark.parametrize("record", [
    OLDER,
    {**OLDER, "attempt": None, "warnings": "three", "upload": {"status": "failed", "extra": [1]}},
    {"status": "running", "id": "up-20260301T0200Z", "scheduledTime": SLOT, "schedule": "up",
     "collectorProcesses": {"cookie": "c"}, "runner": {"pid": 1, "host": "h", "note": "x"}},
], ids=["older", "hand-edited", "keys-reordered"])
def test_an_older_or_hand_edited_record_round_trips_key_for_key_in_its_order(record):
    assert executions.shape_problem(record) is None
    assert json.dumps(ExecutionRecord.from_json(record).to_json()) == json.dumps(record)


def test_a_key_set_on_an_older_record_is_added_at_the_end_and_an_optional_one_cleared_is_dropped():
    """As a dict's update() and pop() did: recovery marks a record failed, a retry drops its wait."""
    record = ExecutionRecord.from_json({**OLDER, "status": "retrying", "nextAttemptTime": SLOT})
    failed = replace(record, status="failed", next_attempt_time=None, duration_seconds=6.0,
                     error=Error.of("transient", "the process running it died"))
    assert list(failed.to_json()) == [k for k in OLDER] + ["durationSeconds"]
    assert failed.to_json()["error"] == {"class": "transient", "message": "the process running it died"}


def test_a_record_without_attempt_is_a_first_attempt_and_one_with_a_null_attempt_is_not():
    """As `record.get("attempt", 1) == 1` read it: state and metrics count the same runs as before."""
    older = ExecutionRecord.from_json({**OLDER, "endTime": SLOT})
    nulled = ExecutionRecord.from_json({**OLDER, "attempt": None})
    assert older.first_attempt and not nulled.first_attempt
    assert lateness(older) == 3.0 and lateness(nulled) is None
    state = {"schedules": {"up": {"set": "s", "spec": {"cron": "@daily"}, "status": {"active": [OLDER["id"]]}}}}
    assert mark_finished(state, "up", older, NOW)["schedules"]["up"]["status"]["runCount"] == 1
    assert "runCount" not in mark_finished(state, "up", nulled, NOW)["schedules"]["up"]["status"]
