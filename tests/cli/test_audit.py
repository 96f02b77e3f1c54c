"""logs/audit.log: one well-formed JSON line per mutating command (apply, suspend, resume, cleanup,
daemon start and stop) saying who, what and when, and never a secret value."""
from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

from reconciler.store.audit import MASK, command_line
from tests.reconciler.run.test_retention import write_history

from ..conftest import run_sbsched, wait_until

UPLOAD_TOKEN = "aud1t-upl0ad-9d8c7b"
HOOK_TOKEN = "aud1t-h00k-6a5f4e"
WHO = {"time", "event", "user", "host", "pid", "command"}


def manifest(write_manifest, cron: str = "@daily"):
    return write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: audited}}
        schedules:
          - name: nightly
            cron: "{cron}"
            collect: {{cluster: false, hostCollectors: [{{hostOS: {{}}}}]}}
            retention: {{keepLast: 2, keepFailed: 0, maxAgeDays: 0}}
            upload:
              url: http://127.0.0.1:9/upload/
              options: {{headers: {{Authorization: {{env: UPLOAD_TOKEN}}}}}}
            notify:
              - webhook: http://127.0.0.1:9/hook
                headers: {{X-Token: {{env: HOOK_TOKEN}}}}
    """)


def audit_lines(state_dir: Path) -> list[dict]:
    path = state_dir / "logs" / "audit.log"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    assert UPLOAD_TOKEN not in text and HOOK_TOKEN not in text
    lines = text.splitlines()
    assert text == "" or text.endswith("\n")
    entries = [json.loads(line) for line in lines]   # each line is one whole JSON object
    for entry in entries:
        assert WHO <= set(entry), entry
        assert entry["host"] == socket.gethostname() and isinstance(entry["pid"], int) and entry["user"]
        assert datetime.fromisoformat(entry["time"]).utcoffset() is not None
        assert entry["command"].startswith("sbsched ")
    return entries


def test_each_mutating_command_writes_one_line(cli, write_manifest, state_dir, monkeypatch):
    monkeypatch.setenv("UPLOAD_TOKEN", UPLOAD_TOKEN)
    monkeypatch.setenv("HOOK_TOKEN", HOOK_TOKEN)
    path = manifest(write_manifest)

    assert cli("apply", "-f", str(path)).code == 0
    [created] = audit_lines(state_dir)
    assert created["event"] == "apply" and created["set"] == "audited"
    assert created["summary"] == {"create": 1, "update": 0, "delete": 0, "no-op": 0}
    assert (created["serialBefore"], created["serialAfter"]) == (0, 1)
    assert created["command"] == f"sbsched apply -f {path}" and created["pid"] == os.getpid()

    assert cli("apply", "-f", str(path)).code == 0                  # no-op: nothing written, nothing audited
    assert cli("apply", "-f", str(manifest(write_manifest, "@hourly")), "--dry-run").code == 0
    assert len(audit_lines(state_dir)) == 1
    assert cli("apply", "-f", str(path := manifest(write_manifest, "@hourly"))).code == 0
    updated = audit_lines(state_dir)[-1]
    assert updated["summary"]["update"] == 1 and (updated["serialBefore"], updated["serialAfter"]) == (1, 2)

    assert cli("suspend", "nightly").code == 0
    assert cli("suspend", "nightly").code == 0                      # already: no change, no line
    assert cli("resume", "nightly").code == 0
    suspended, resumed = audit_lines(state_dir)[-2:]
    assert (suspended["event"], suspended["schedule"], suspended["serialAfter"]) == ("suspend", "nightly", 3)
    assert (resumed["event"], resumed["command"]) == ("resume", "sbsched resume nightly")
    assert len(audit_lines(state_dir)) == 4

    write_history(state_dir, "nightly", 5, now=datetime.now(timezone.utc) - timedelta(hours=1), failed_every=100)
    assert cli("cleanup", "--dry-run").code == 0                    # removes nothing: no line
    assert len(audit_lines(state_dir)) == 4
    assert cli("cleanup", "nightly").code == 0
    cleaned = audit_lines(state_dir)[-1]
    assert cleaned["event"] == "cleanup" and cleaned["command"] == "sbsched cleanup nightly"
    assert cleaned["summary"]["runs"] == 3 and len(cleaned["removed"]) == 3
    assert {"schedule", "id", "status", "bundle", "record", "reason"} <= set(cleaned["removed"][0])
    assert not Path(cleaned["removed"][0]["bundle"]).exists()
    assert cli("cleanup").code == 0                                 # nothing left to remove
    assert [e["event"] for e in audit_lines(state_dir)] == ["apply", "apply", "suspend", "resume", "cleanup"]


def test_the_command_line_is_recorded_without_secret_values():
    assert command_line(["apply", "-f", "my dir/s.yaml", "--lock-timeout", "5"]) == \
        "sbsched apply -f 'my dir/s.yaml' --lock-timeout 5"
    scrubbed = command_line(["x", "--token", "t0k", "--api-key=k3y", "DB_PASSWORD=pw", "https://u:pa55@127.0.0.1:9/p"])
    for value in ("t0k", "k3y", "pw", "pa55"):
        assert value not in scrubbed
    assert scrubbed.count(MASK) == 4 and "https://u:" in scrubbed


def test_daemon_start_and_stop_write_one_line_each(write_manifest, state_dir, monkeypatch):
    monkeypatch.setenv("UPLOAD_TOKEN", UPLOAD_TOKEN)
    monkeypatch.setenv("HOOK_TOKEN", HOOK_TOKEN)
    env = {**os.environ, "TROUBLESHOOT_SCHEDULER_DIR": str(state_dir)}
    assert run_sbsched("apply", "-f", str(manifest(write_manifest)), env=env).code == 0
    started = run_sbsched("daemon", "start", env=env)
    assert started.code == 0, started.err
    pid = json.loads((state_dir / "daemon.pid").read_text())["pid"]
    wait_until(lambda: len(audit_lines(state_dir)) == 2, what="the daemon's start line")
    again = run_sbsched("daemon", "start", env=env)                  # refused: not a start, no line
    assert again.code == 2
    stopped = run_sbsched("daemon", "stop", env=env)
    assert stopped.code == 0, stopped.err
    applied, start, stop = audit_lines(state_dir)
    assert applied["event"] == "apply"
    assert (start["event"], start["pid"], start["stateDir"], start["maxConcurrent"]) == \
        ("daemon-start", pid, str(state_dir), 4)
    assert "daemon start --foreground" in start["command"] and start["pid"] != os.getpid()
    assert (stop["event"], stop["pid"]) == ("daemon-stop", pid) and stop["uptimeSeconds"] >= 0
    assert run_sbsched("reconcile", "--once", env=env).code == 0    # one pass is no daemon start or stop
    assert len(audit_lines(state_dir)) == 3
