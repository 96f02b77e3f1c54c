"""The PRD's recovery procedures: `recover --execution-id ID` runs a failed or cut-short execution again as a
new one linked to it; `cleanup --repair` settles what crashes left and says what it fixed; `cleanup
--older-than 30d` removes runs older than that whatever each schedule keeps."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from reconciler.store import executions
from tests.reconciler.run.test_retention import on_disk, write_history

SLOT = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)


def applied(cli, write_manifest, retention: str = "{keepLast: 10, keepFailed: 3, maxAgeDays: 0}") -> None:
    assert cli("apply", "-f", str(write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: prod}}
        schedules:
          - name: nightly
            cron: "0 2 * * *"
            collect: {{cluster: false, hostCollectors: [{{hostOS: {{}}}}]}}
            retention: {retention}
    """))).code == 0


def old_record(state_dir: Path, status: str, reason: str | None, **more) -> dict:
    record = executions.new_record("nightly-20260601T0200Z", "nightly", "prod", trigger="schedule", slot=SLOT,
                                   dispatched=SLOT, status=status)
    record.update(reason=reason, startTime=SLOT.isoformat(), **more)
    executions.write(state_dir, record)
    return record


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_recover_runs_a_cut_short_execution_again_as_a_new_one_linked_to_it(cli, write_manifest, state_dir):
    applied(cli, write_manifest)
    old_record(state_dir, "failed", "interrupted")
    result = cli("recover", "--execution-id", "nightly-20260601T0200Z", "-o", "json")
    assert result.code == 0, result.err
    new = json.loads(result.out)
    assert (new["status"], new["trigger"], new["recoveredFrom"]) == ("completed", "manual", "nightly-20260601T0200Z")
    assert "-manual-" in new["id"] and "running nightly again for nightly-20260601T0200Z" in result.err
    assert "Recovers:   nightly-20260601T0200Z" in cli("history", new["id"]).out


def test_recover_refuses_what_there_is_nothing_to_recover_in(cli, write_manifest, state_dir):
    applied(cli, write_manifest)
    missing = cli("recover", "--execution-id", "nightly-20260602T0200Z")
    assert missing.code == 2 and "no execution 'nightly-20260602T0200Z'" in missing.err
    old_record(state_dir, "completed", None)
    done = cli("recover", "--execution-id", "nightly-20260601T0200Z")
    assert done.code == 2 and "is completed" in done.err
    assert cli("recover").code == 2


def test_cleanup_repair_settles_dead_runs_and_removes_only_old_debris_nobody_owns(cli, write_manifest, state_dir):
    applied(cli, write_manifest)
    old_record(state_dir, "running", None, runner={"pid": dead_pid(), "host": socket.gethostname()})
    state = json.loads((state_dir / "state.json").read_text())
    state["schedules"]["nightly"]["status"]["active"] = ["nightly-20260601T0200Z"]
    (state_dir / "state.json").write_text(json.dumps(state))
    bundles = state_dir / "bundles" / "nightly"
    stale = bundles / ".staging-support-bundle-2026-05-01T02_00_00"
    (stale / "host-collectors").mkdir(parents=True)
    (stale / "host-collectors" / "secret.txt").write_text("unredacted")
    old_temp = state_dir / "executions" / "2026-06" / ".nightly-x.json.abc123.tmp"
    young_temp = state_dir / "executions" / "2026-06" / ".nightly-y.json.def456.tmp"
    for path in (old_temp, young_temp):
        path.write_text("{")
    long_ago = time.time() - 3600
    for path in (stale, old_temp):
        os.utime(path, (long_ago, long_ago))

    result = cli("cleanup", "--repair")

    assert result.code == 0, result.err
    assert "interrupted: nightly-20260601T0200Z" in result.out and f"staging-dir: {stale}" in result.out
    assert f"temp-file: {old_temp}" in result.out and "stale-active" not in result.out
    (record,) = executions.history(state_dir, "nightly")
    assert (record["status"], record["reason"]) == ("failed", "interrupted")
    assert json.loads((state_dir / "state.json").read_text())["schedules"]["nightly"]["status"]["active"] == []
    assert not stale.exists() and not old_temp.exists() and young_temp.exists()
    assert '"event": "cleanup"' in (state_dir / "logs" / "audit.log").read_text()
    assert "Repaired 0 thing(s): nothing to repair." in cli("cleanup", "--repair").out
    assert cli("cleanup", "--repair", "--dry-run").code == 2


def test_cleanup_older_than_removes_runs_past_the_age_whatever_retention_keeps(cli, write_manifest, state_dir):
    applied(cli, write_manifest, "{keepLast: 100, keepFailed: 100, maxAgeDays: 0}")
    write_history(state_dir, "nightly", 20, now=datetime.now(timezone.utc), every=timedelta(days=3))
    assert "Nothing to remove." in cli("cleanup").out
    result = cli("cleanup", "--older-than", "30d")
    assert result.code == 0 and "Removed 10 run(s)" in result.out, result.out
    assert "older than maxAgeDays (30)" in result.out
    assert len(on_disk(state_dir, "nightly")[1]) == 10   # days 0, 3, ... 27
    for bad in ("soon", "0d", "-3d"):
        assert cli("cleanup", "--older-than", bad).code == 2
