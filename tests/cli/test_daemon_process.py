"""The daemon as users run it: real processes, a real minute boundary, kill -9, restart, stop.

One scenario waits for one real slot (at most a minute) and checks everything that needs it:
20 schedules are killed mid-run together, which gives 20 interrupted runs to check per test run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import datetime
from pathlib import Path

from ..conftest import SBSCHED, run_sbsched, wait_until

HANGERS = 20
# This test's sleepers alone: `sleep 300.<pid>` (GNU sleep takes a fraction), so that the cleanup's pkill
# never kills the sleepers of another test run on the machine (which made this test fail elsewhere).
NAP = f"300.{os.getpid()}"


def history(env) -> list[dict]:
    return json.loads(run_sbsched("history", "-n", "1000", "-o", "json", env=env).out)["items"]


def test_daemon_start_fires_once_survives_kill_9_and_stops_draining(write_manifest, state_dir, tmp_path):
    temp = tmp_path / "tmp"   # the system temp dir of the daemon and its runs: the kill must leave nothing there
    temp.mkdir()
    env = {**os.environ, "TROUBLESHOOT_SCHEDULER_DIR": str(state_dir), "TMPDIR": str(temp)}
    hangers = "".join(f"""
          - name: hang-{i:02d}
            cron: "* * * * *"
            collect: {{hostCollectors: [{{run: {{collectorName: nap, command: sleep, args: ["{NAP}"], timeout: 10m}}}}]}}"""
                      for i in range(HANGERS))
    manifest = write_manifest(f"""
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: live}}
        defaults:
          collect: {{cluster: false}}
          policy: {{concurrency: Forbid, timeoutSeconds: 900}}
        schedules:
          - name: quick
            cron: "* * * * *"
            collect: {{hostCollectors: [{{cpu: {{}}}}]}}{hangers}
    """)
    started = run_sbsched("daemon", "start", "--max-concurrent", str(HANGERS + 2), env=env)
    assert started.code == 0, started.err
    pid = json.loads((state_dir / "daemon.pid").read_text())["pid"]
    try:
        second = run_sbsched("daemon", "start", env=env)
        assert second.code == 2 and f"pid {pid}" in second.err
        assert run_sbsched("apply", "-f", str(manifest), env=env).code == 0

        def slot_taken() -> bool:
            runs = history(env)
            return (any(r["schedule"] == "quick" and r["status"] == "completed" for r in runs)
                    and sum(r["status"] == "running" for r in runs) == HANGERS)

        wait_until(slot_taken, timeout=90, what="the first slot to run")
        status = run_sbsched("daemon", "status", "-o", "json", env=env)
        assert status.code == 0 and json.loads(status.out)["pid"] == pid
        assert len(json.loads(status.out)["active"]) == HANGERS
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), what="the daemon to die")
        assert run_sbsched("daemon", "status", env=env).code == 3
    finally:
        _kill(pid)   # dead already, unless an assertion above failed: then no daemon is left behind
        _kill_sleepers()
    first = _first_slot(env)
    restarted = run_sbsched("daemon", "start", "--max-concurrent", str(HANGERS + 2), env=env)
    assert restarted.code == 0, restarted.err
    try:
        wait_until(lambda: all(r["status"] != "running" or r["scheduledTime"] != first for r in history(env)),
                   timeout=30, what="recovery")
        runs = history(env)
        killed = [r for r in runs if r["scheduledTime"] == first and r["schedule"].startswith("hang-")]
        assert len(killed) == HANGERS
        assert all((r["status"], r["reason"]) == ("failed", "interrupted") for r in killed)
        slots = [(r["schedule"], r["scheduledTime"]) for r in runs]
        assert len(slots) == len(set(slots)), "a slot ran twice"
        state = json.loads((state_dir / "state.json").read_text())
        assert all(r["id"] not in (s["status"]["active"] or []) for r in killed for s in state["schedules"].values())
        assert list(temp.iterdir()) == [], "the killed runs left their commands' working dirs"
        assert not any((state_dir / "bundles" / r["schedule"] / f".staging-{_bundle_of(r)}").exists() for r in killed)
    finally:
        stopped = run_sbsched("daemon", "stop", "--grace", "2", env=env)
        _kill_sleepers()
    assert stopped.code == 0 and "stopped" in stopped.out
    assert run_sbsched("daemon", "status", env=env).code == 3
    assert not any(r["status"] == "running" for r in history(env))
    shutdown = [r for r in history(env) if r["reason"] == "shutdown"]
    assert all(r["status"] == "failed" for r in shutdown)


def _bundle_of(record: dict) -> str:
    from reconciler.run.bundle import bundle_name
    return bundle_name(datetime.fromisoformat(record["startTime"]), set())


def _first_slot(env) -> str:
    return min(r["scheduledTime"] for r in history(env))


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def _kill(pid: int) -> None:
    """Kill the test's daemon if it still runs (only a process whose command line is sbsched's)."""
    try:
        if b"daemon" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass


def _kill_sleepers() -> None:
    """The run collector's sleeps outlive a kill -9 of the daemon; do not leave them behind."""
    subprocess.run(["pkill", "-f", f"(^|/)sleep {NAP.replace('.', '[.]')}$"], check=False)
