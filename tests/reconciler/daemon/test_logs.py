"""Log lines: every run event names its schedule and execution id (JSON keys, or key=value in text),
also the lines logged inside a run; the background daemon's file rotates and stays 0600."""
from __future__ import annotations

import io
import json
import logging
import stat
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from reconciler.daemon.logs import JsonFormatter, RotatingLog, TextFormatter, run_context, run_fields
from reconciler.daemon.loop import Daemon

from ...fakes.clock import FakeClock
from .test_loop import REGISTRY, T0, closed_gate, gate, make, settle, wait_done  # noqa: F401 (closed_gate: fixture)


@pytest.fixture
def captured():
    """JSON lines of every sbsched.* logger, as the daemon's handler would write them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("sbsched")
    saved = root.handlers[:], root.level
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.handlers[:], root.level = saved


def record(message: str, **extra) -> logging.LogRecord:
    return logging.LogRecord("sbsched.daemon", logging.INFO, __file__, 1, message, (), None) if not extra else \
        logging.makeLogRecord({"name": "sbsched.daemon", "levelno": logging.INFO, "levelname": "INFO",
                               "msg": message, **extra})


def test_json_lines_carry_the_run_fields_as_keys_and_text_lines_as_key_value_pairs():
    event = record("nightly-20260601T1300Z: failed (upload)",
                   **run_fields("nightly", "nightly-20260601T1300Z", status="failed", reason="upload"))
    entry = json.loads(JsonFormatter().format(event))
    assert entry["schedule"] == "nightly" and entry["execution_id"] == "nightly-20260601T1300Z"
    assert (entry["status"], entry["reason"], entry["message"]) == ("failed", "upload", event.getMessage())
    text = TextFormatter().format(record("x", **run_fields("a", "a-1", reason="replaced by a-2", status="failed")))
    assert text.endswith(' x schedule=a execution_id=a-1 reason="replaced by a-2" status=failed')
    assert "schedule=" not in TextFormatter().format(record("serving"))


def test_lines_logged_inside_a_run_context_name_the_run():
    log = logging.getLogger("sbsched.delivery")
    with run_context("nightly", "nightly-20260601T1300Z"):
        inside = log.makeRecord(log.name, logging.WARNING, __file__, 1, "upload attempt failed", (), None)
    outside = log.makeRecord(log.name, logging.WARNING, __file__, 1, "upload attempt failed", (), None)
    with run_context("nightly", "nightly-20260601T1300Z"):
        assert json.loads(JsonFormatter().format(inside))["execution_id"] == "nightly-20260601T1300Z"
    assert "execution_id" not in json.loads(JsonFormatter().format(outside))


def test_every_run_event_of_the_daemon_is_one_line_naming_schedule_and_execution_id(tmp_path, captured):
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    clock = FakeClock(T0)
    store, _ = make(tmp_path, f"""
        - {{name: ok, cron: "0 * * * *", collect: {{hostCollectors: [{{ok: {{}}}}]}}}}
        - name: bad
          cron: "0 * * * *"
          policy: {{retries: 0}}
          upload: {{url: "file://{not_a_dir}/up/"}}
          collect: {{hostCollectors: [{{ok: {{}}}}]}}
        - {{name: held, cron: "0 * * * *", collect: {{hostCollectors: [{{blocked: {{}}}}]}}}}
    """, clock)
    d = Daemon(store, clock, registry=REGISTRY)
    d.open()
    clock.set(datetime(2026, 6, 1, 13, 0, 1, tzinfo=timezone.utc))
    d.tick()
    wait_done(d, "ok-20260601T1300Z", "bad-20260601T1300Z")
    assert set(d.active) == {"held-20260601T1300Z"}
    clock.set(datetime(2026, 6, 1, 14, 0, 1, tzinfo=timezone.utc))
    d.tick()
    gate.set()
    settle(d)
    d.close()
    lines = captured()
    run_lines = [line for line in lines if line["logger"] in ("sbsched.daemon", "sbsched.executor", "sbsched.delivery")
                 and "execution_id" in line]
    assert len(run_lines) == 13  # 5 started, 5 ended, 1 skipped, 2 upload failures
    assert all(line["execution_id"].startswith(line["schedule"] + "-") for line in run_lines)
    events = {(line["execution_id"], line.get("status")) for line in run_lines}
    assert ("held-20260601T1400Z", "skipped") in events and ("bad-20260601T1300Z", "failed") in events
    assert any(line["logger"] == "sbsched.delivery" and line["execution_id"] == "bad-20260601T1300Z"
               for line in run_lines), "the upload failure, logged inside the run, names it"
    others = [line["message"] for line in lines if "execution_id" not in line]
    assert not [m for m in others if "-2026" in m], f"run events without fields: {others}"


def test_the_daemon_log_rotates_by_size_keeping_five_old_files_all_0600(tmp_path):
    path = tmp_path / "logs" / "daemon.log"
    handler = RotatingLog(path, max_bytes=1000)
    handler.setFormatter(TextFormatter())
    log = logging.getLogger("sbsched.test-rotation")
    log.addHandler(handler)
    log.propagate = False
    try:
        for n in range(200):
            log.warning("line %03d %s", n, "x" * 40)
    finally:
        log.removeHandler(handler)
        handler.close()
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["daemon.log"] + [f"daemon.log.{n}" for n in range(1, 6)]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in path.parent.iterdir())
    assert all(p.stat().st_size <= 1000 for p in path.parent.iterdir())
    assert "line 199" in path.read_text()


def test_a_background_daemons_stdout_and_stderr_follow_the_log_file_across_rotations(tmp_path):
    """In a child process (it redirects its own fds 1 and 2): what it prints after a rotation lands in
    the current daemon.log, not in the rotated file its stderr pointed at before."""
    path = tmp_path / "logs" / "daemon.log"
    code = f"""
import logging, sys
from pathlib import Path
from reconciler.daemon.logs import RotatingLog
handler = RotatingLog(Path({str(path)!r}), capture_std=True, max_bytes=400, backups=2)
log = logging.getLogger("sbsched.test-capture")
log.addHandler(handler)
log.propagate = False
for n in range(40):
    log.warning("line %02d %s", n, "y" * 30)
print("stdout after the rotations", flush=True)
sys.stderr.write("stderr after the rotations\\n")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == done.stderr == ""
    current = path.read_text()
    assert "stdout after the rotations" in current and "stderr after the rotations" in current
    assert "line 39" in current
    assert sorted(p.name for p in path.parent.iterdir()) == ["daemon.log", "daemon.log.1", "daemon.log.2"]
