"""history NAME --logs: each execution keeps its own log lines (collectors, redaction, analysis, upload),
bounded; a run waiting in backoff shows `retrying` and when it tries again."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from reconciler.run.run_log import MAX_LINES, RunLog
from reconciler.store import executions


def test_an_execution_keeps_its_own_log_and_history_logs_shows_it(cli, write_manifest, tmp_path: Path):
    manifest = write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: prd}}
        schedules:
          - name: daily-check
            cron: "0 2 * * *"
            collect: {{cluster: false, hostCollectors: [{{hostOS: {{}}}}, {{noSuchCollector: {{}}}}]}}
            upload: {{url: "file://{tmp_path / 'uploads'}/"}}
    """)
    assert cli("apply", "-f", str(manifest)).code == 0
    assert cli("run", "daily-check").code == 0
    (record,) = json.loads(cli("history", "daily-check", "-o", "json").out)["items"]
    logged = [(e["level"], e["component"], e["message"]) for e in record["logs"]]
    assert ("warn", "collector") == logged[0][:2] and "noSuchCollector" in logged[0][2] and "skipped" in logged[0][2]
    components = [c for _, c, _ in logged]
    assert components[1:] == ["collector", "redactor", "analyzer", "bundle", "uploader", "executor"], logged
    assert "uploaded" in logged[-2][2] and logged[-1][2].startswith("completed in ")
    shown = cli("history", "daily-check", "--logs")
    assert shown.code == 0 and f"--- {record['id']} (completed)" in shown.out
    assert "warn   collector  noSuchCollector" in shown.out and "info   uploader   " in shown.out
    one = cli("history", record["id"], "--logs").out
    assert one.startswith(f"Execution {record['id']}: completed") and "info   executor   completed in" in one


def test_a_run_log_keeps_at_most_max_lines_and_says_how_many_it_left_out():
    log = RunLog()
    for n in range(MAX_LINES + 50):
        log.add("info", "collector", f"line {n} " + "x" * 1000)
    kept = log.to_json()
    assert len(kept) == MAX_LINES and kept[-1]["message"] == f"51 more line(s) not kept (at most {MAX_LINES} per run)"
    assert all(len(e["message"]) <= 500 for e in kept)


def test_a_run_waiting_in_backoff_shows_retrying_and_its_next_attempt(cli, write_manifest, state_dir: Path):
    assert cli("apply", "-f", str(write_manifest("""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: prd}
        schedules: [{name: daily-check, cron: "0 2 * * *"}]
    """))).code == 0
    slot = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
    record = executions.new_record("daily-check-20260601T0200Z", "daily-check", "prd", trigger="schedule",
                                   slot=slot, dispatched=slot, status="retrying")
    record.update(reason="cluster-unreachable", nextAttemptTime="2026-06-01T02:00:41+00:00",
                  error={"class": "transient", "message": "the API server did not answer"})
    executions.write(state_dir, record)
    table = cli("history", "daily-check", "--status", "retrying")
    assert table.code == 0 and "retrying" in table.out
    assert "cluster-unreachable, next attempt 2026-06-01T02:00:41+00:00" in table.out
    assert "Retry:      attempt 2 at 2026-06-01T02:00:41+00:00" in cli("history", record["id"]).out
