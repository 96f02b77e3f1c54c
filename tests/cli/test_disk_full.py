"""Found by `make stress` (stress/disk_full.py), on a small tmpfs: when the disk filled up at the run's
first status write (state.json), `sbsched run` died with "internal error: OSError" and left its execution
record `running`, because that write sat outside the run's error handling. Now the run fails (reason
`error`, transient, the OS's message) and the record says so; and an OSError reaching the CLI is the
host's fault, reported as `sbsched: error: <strerror>` (exit 2), not as an internal error.

Here the full disk is RLIMIT_FSIZE in the child (writes past the limit fail with EFBIG), which needs no
mount: state.json (300 schedules, ~150 KB) is over the limit, the records and the bundle are under it."""
from __future__ import annotations

import errno
import json
import resource
import signal
import subprocess
from pathlib import Path

from reconciler.base.clock import SystemClock
from reconciler.run.executor import RunOptions, execute
from reconciler.store.state import StateStore

from ..conftest import SBSCHED, run_sbsched

LIMIT = 64 * 1024


def _manifest(path: Path, schedules: int) -> Path:
    rows = "".join(f"  - {{name: s{i:03d}, cron: \"{i % 60} 3 * * *\", labels: {{team: payments, n: n{i}}}}}\n"
                   for i in range(schedules))
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: full}\n"
                    "defaults: {collect: {cluster: false, hostCollectors: [{cpu: {}}]}, redact: {enabled: false}}\n"
                    "schedules:\n" + rows)
    return path


def _limited() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _sbsched_limited(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SBSCHED, *args], capture_output=True, text=True, timeout=60, preexec_fn=_limited)


def _records(state_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(state_dir.glob("executions/*/*.json"))]


def test_a_run_whose_status_write_hits_a_full_disk_fails_and_says_so(tmp_path, state_dir):
    assert run_sbsched("apply", "-f", str(_manifest(tmp_path / "m.yaml", 300))).code == 0
    before = (state_dir / "state.json").read_bytes()
    assert len(before) > LIMIT
    proc = _sbsched_limited("run", "s007", "-o", "json")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "sbsched: error: File too large"
    (record,) = _records(state_dir)
    assert record["status"] == "failed" and record["reason"] == "error"
    assert record["error"]["class"] == "transient" and "File too large" in record["error"]["message"]
    assert (state_dir / "state.json").read_bytes() == before
    assert not list(state_dir.rglob(".*.tmp"))


def test_apply_on_a_full_disk_is_an_error_not_an_internal_error(tmp_path, state_dir):
    assert run_sbsched("apply", "-f", str(_manifest(tmp_path / "small.yaml", 3))).code == 0
    before = (state_dir / "state.json").read_bytes()
    proc = _sbsched_limited("apply", "-f", str(_manifest(tmp_path / "big.yaml", 300)))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == "sbsched: error: File too large"
    assert "internal error" not in proc.stderr
    assert (state_dir / "state.json").read_bytes() == before
    assert not list(state_dir.rglob(".*.tmp"))


def test_execute_records_a_failed_first_status_write_as_a_failed_run(tmp_path, state_dir):
    assert run_sbsched("apply", "-f", str(_manifest(tmp_path / "m.yaml", 2))).code == 0
    calls = []

    def sink(change):
        calls.append(change)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device")

    record = execute(StateStore(state_dir), "s001", SystemClock(), RunOptions(status_sink=sink)).to_json()
    assert (record["status"], record["reason"]) == ("failed", "error")
    assert record["error"] == {"class": "transient", "message": "OSError: [Errno 28] No space left on device"}
    assert len(calls) == 2                       # the failure is still reported to the state
    assert [r["status"] for r in _records(state_dir)] == ["failed"]


def test_the_final_status_change_is_sent_even_when_the_record_cannot_be_rewritten(tmp_path, state_dir,
                                                                                  monkeypatch):
    """The daemon's status writes are retried once the disk has room; a record that could not be rewritten
    must still clear its run from `active` there (the record itself is settled at the next start)."""
    import pytest

    from reconciler.store import executions

    assert run_sbsched("apply", "-f", str(_manifest(tmp_path / "m.yaml", 2))).code == 0
    real_write, writes, calls = executions.write, [], []

    def full_at_the_end(root, record):
        writes.append(record.status)
        if record.status != "running":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(root, record)

    monkeypatch.setattr(executions, "write", full_at_the_end)
    with pytest.raises(OSError):
        execute(StateStore(state_dir), "s001", SystemClock(), RunOptions(status_sink=calls.append))
    assert writes == ["completed"]   # the rewrite; the first write claimed the manual id (create_manual)
    assert len(calls) == 2           # mark_started, then mark_finished
