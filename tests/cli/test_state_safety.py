"""The state under contention and damage: lock waits and timeouts name the holder; a corrupt
state.json is reported (exit 2, pointing at the backup) and never overwritten. Real processes."""
from __future__ import annotations

import json
import os
import socket
import subprocess
from datetime import datetime, timezone

from reconciler.store.state import StateStore

from ..conftest import SBSCHED, run_sbsched

MANIFEST = """
    apiVersion: sbsched/v1
    kind: ScheduleSet
    metadata: {name: production}
    schedules:
      - {name: nightly, cron: "0 2 * * *"}
"""


def test_a_second_apply_waits_for_the_lock_then_applies(write_manifest, state_dir):
    path = write_manifest(MANIFEST)
    store = StateStore(state_dir)
    with store.locked(timeout=5, command="test holder", now=datetime.now(timezone.utc)):
        proc = subprocess.Popen([SBSCHED, "apply", "-f", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        assert proc.stderr is not None
        waiting = proc.stderr.readline()  # blocks until apply reports that it waits for us
        assert waiting.startswith("sbsched: waiting up to 30s for the state lock held by pid ")
        assert "(test holder)" in waiting
        assert proc.poll() is None
        assert not (state_dir / "state.json").exists()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "1 created" in out
    assert json.loads((state_dir / "state.json").read_text())["serial"] == 1


def test_lock_timeout_exits_2_naming_the_holder(write_manifest, state_dir):
    path = write_manifest(MANIFEST)
    store = StateStore(state_dir)
    with store.locked(timeout=5, command="sbsched apply -f other.yaml", now=datetime.now(timezone.utc)):
        result = run_sbsched("apply", "-f", str(path), "--lock-timeout", "1")
    assert result.code == 2
    waiting, first = result.err.splitlines()[:2]
    assert waiting.startswith("sbsched: waiting up to 1s for the state lock held by ")
    assert first.startswith("sbsched: error: state is locked by ")
    assert f"pid {os.getpid()} on {socket.gethostname()} (sbsched apply -f other.yaml)" in first
    assert "gave up after 1s" in first
    assert not (state_dir / "state.json").exists()


def test_a_corrupt_state_is_exit_2_points_at_the_backup_and_is_never_overwritten(write_manifest, state_dir):
    path = write_manifest(MANIFEST)
    assert run_sbsched("apply", "-f", str(path)).code == 0
    assert run_sbsched("apply", "-f", str(write_manifest(MANIFEST.replace("0 2", "0 3")))).code == 0
    torn = b'{"serial": 2, "schedules": {"nigh'
    (state_dir / "state.json").write_bytes(torn)
    for args in (["apply", "-f", str(path)], ["diff", "-f", str(path)], ["list"], ["status", "nightly"]):
        result = run_sbsched(*args)
        assert result.code == 2, (args, result)
        assert "state.json is corrupt" in result.err and "state.json.backup" in result.err
        assert "Traceback" not in result.err
    assert (state_dir / "state.json").read_bytes() == torn
    backup = json.loads((state_dir / "state.json.backup").read_text())
    assert backup["serial"] == 1


def test_a_state_of_the_wrong_shape_is_corrupt_too(write_manifest, state_dir):
    state_dir.mkdir(mode=0o700)
    (state_dir / "state.json").write_text('{"serial": 1, "schedules": {"x": {"set": 3}}}')
    result = run_sbsched("list")
    assert result.code == 2 and "schedule 'x' has no set or spec" in result.err
