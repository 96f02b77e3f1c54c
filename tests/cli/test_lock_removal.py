"""A stray `rm` of a lock's file never lets a second writer or a second daemon in. Real processes.

Found by a red-team pass: deleting state.lock while an apply held it let a second apply run and lose
the first one's change (3 of 3 trials); deleting daemon.pid let a second daemon start, and one slot ran
twice. The locks are now flocks on directories (see docs/operations.md, "Locking")."""
from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import datetime, timezone

from reconciler.store.state import StateStore

from ..conftest import SBSCHED, run_sbsched, wait_until


def manifest(write_manifest, set_name: str, schedule: str):
    return write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: {set_name}}}
        schedules:
          - {{name: {schedule}, cron: "0 2 * * *"}}
    """, name=f"{set_name}.yaml")


def test_an_apply_waits_for_a_holder_whose_state_lock_file_was_deleted(write_manifest, state_dir, tmp_path):
    assert run_sbsched("apply", "-f", str(manifest(write_manifest, "first", "one"))).code == 0
    store = StateStore(state_dir)
    err_path = tmp_path / "second.err"
    with store.locked(timeout=5, command="test holder", now=datetime.now(timezone.utc)):
        (state_dir / "state.lock").unlink()
        with open(err_path, "w") as err:
            second = subprocess.Popen([SBSCHED, "apply", "-f", str(manifest(write_manifest, "second", "two"))],
                                      stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_until(lambda: "waiting up to" in err_path.read_text() or second.poll() is not None,
                       timeout=30, what="the second apply to wait or to finish")
            assert second.poll() is None, f"the second apply ran while the lock was held: {err_path.read_text()}"
            state = store.read()   # the holder's own read-modify-write, which the second apply must not lose
            state["schedules"]["one"]["spec"]["labels"] = {"changed": "by the holder"}
            state["serial"] += 1
            store.write(state)
        except BaseException:
            second.kill()
            raise
    assert second.wait(timeout=30) == 0, err_path.read_text()
    final = store.read()
    assert final["schedules"]["one"]["spec"]["labels"] == {"changed": "by the holder"}
    assert set(final["schedules"]) == {"one", "two"}


def test_a_second_daemon_refuses_to_start_after_daemon_pid_was_deleted(state_dir, tmp_path):
    env = {**os.environ, "TROUBLESHOOT_SCHEDULER_DIR": str(state_dir)}
    pid_path = state_dir / "daemon.pid"
    with open(tmp_path / "first.log", "w") as log:
        first = subprocess.Popen([SBSCHED, "daemon", "start", "--foreground"], env=env, stdout=log, stderr=log)
    second = None
    try:
        wait_until(lambda: _pid_in(pid_path) == first.pid, timeout=30, what="the first daemon to hold daemon.pid")
        pid_path.unlink()
        second = subprocess.Popen([SBSCHED, "daemon", "start", "--foreground"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        wait_until(lambda: second.poll() is not None or _pid_in(pid_path) == second.pid, timeout=30,
                   what="the second daemon to exit or to take over")
        assert second.poll() is not None, "a second daemon started"
        _, err = second.communicate(timeout=30)
        assert second.returncode == 2 and "a daemon already serves this state dir" in err, err
        assert first.poll() is None
        wait_until(lambda: _pid_in(pid_path) == first.pid, timeout=10, what="the first daemon to restore daemon.pid")
        status = run_sbsched("daemon", "status", "-o", "json", env=env)
        assert status.code == 0 and json.loads(status.out)["pid"] == first.pid
        stopped = run_sbsched("daemon", "stop", "--grace", "5", env=env)
        assert stopped.code == 0 and f"was pid {first.pid}" in stopped.out
        assert first.wait(timeout=30) == 0
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait()


def _pid_in(path) -> int | None:
    try:
        return json.loads(path.read_text())["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
