"""Issue 16, signals and orphans: a run stopped by a signal, or whose process (`sbsched run`, the daemon) is
killed -9, leaves nothing behind. Before: SIGTERM/SIGHUP killed `sbsched run` mid-write (exit 143, the
record `running` for good, `active` kept its id, the staging dir kept the collectors' unredacted output)
and, with SIGINT or kill -9 too, the collector's process group kept running with PPID 1. Now a signal
cancels the run as `daemon stop` cancels the daemon's, and recovery kills the groups a killed run left.

Real processes throughout: the `run` collector's command (a shell with two long sleeps, one in the
background) is the code under test's child, found by its parent pid; the tests wait on the record and on
/proc, never on a sleep. The sleep lengths are unique to this file, so no other test's clean-up touches them."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from ..conftest import SBSCHED, run_sbsched, wait_until
from .test_run import manifest

SECRET = "hunter2-42-signals"   # what the collector prints; the spec (in state.json) holds $((6*7)) instead
COMMAND = 'echo "password=hunter2-$((6*7))-signals"; sleep 296.5 & sleep 296.5'


def _manifest(write_manifest, cron: str = "@daily") -> Path:
    return manifest(write_manifest, f"""          - name: hang
            cron: "{cron}"
            collect:
              hostCollectors:
                - cpu: {{}}
                - run: {{collectorName: nap, command: sh, args: ["-c", '{COMMAND}'], timeout: 10m}}""", timeout=900)


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(ppid, pgrp, state) of a process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[2]), fields[0]


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _collector_group(parent: int) -> int | None:
    """The pgid of the `run` collector's shell: a child of `parent` leading its own group."""
    for pid in _pids():
        stat = _stat(pid)
        if stat and stat[0] == parent and stat[1] == pid and stat[2] != "Z":
            try:
                if b"sleep 296.5" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return pid
            except OSError:
                continue
    return None


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies are dead: init here does not reap)."""
    return any((stat := _stat(pid)) is not None and stat[1] == pgid and stat[2] != "Z" for pid in _pids())


def _records(state_dir: Path) -> list[dict]:
    found = []
    for path in (state_dir / "executions").glob("*/*.json"):
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue   # being replaced
    return found


def _running_with_child(state_dir: Path, parent: int) -> int | None:
    """The collector's pgid once the record says running and the child is there; None before."""
    if not any(r.get("status") == "running" for r in _records(state_dir)):
        return None
    return _collector_group(parent)


def _active(state_dir: Path) -> list[str]:
    return json.loads((state_dir / "state.json").read_text())["schedules"]["hang"]["status"]["active"]


def _assert_nothing_left(state_dir: Path, pgid: int) -> dict:
    """The one record is failed/interrupted, `active` is empty, no staging dir, the group is gone, and the
    collector's unredacted output is nowhere in the state dir."""
    wait_until(lambda: not _group_alive(pgid), timeout=10, what=f"the collector's process group {pgid} to die")
    [record] = _records(state_dir)
    assert (record["status"], record["reason"]) == ("failed", "interrupted")
    assert "collectorProcesses" not in record
    assert _active(state_dir) == []
    assert list(state_dir.glob("bundles/*/.staging-*")) == []
    leaked = [p for p in state_dir.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaked == []
    return record


def _clean_up(proc: subprocess.Popen, pgid: int | None) -> None:
    """After a failure: the process this test started and its collector's group (both by id), so no
    sleeper outlives the test."""
    pgid = pgid or _collector_group(proc.pid)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    if pgid is not None and _group_alive(pgid):
        os.killpg(pgid, signal.SIGKILL)


def _recorded_group(state_dir: Path) -> int | None:
    """The pgid the running record lists for its collector."""
    for record in _records(state_dir):
        groups = (record.get("collectorProcesses") or {}).get("groups") if record.get("status") == "running" else None
        if groups:
            return int(groups[0]["pgid"])
    return None


def _kill_9_once_recorded(proc: subprocess.Popen, state_dir: Path) -> int:
    """kill -9 `proc` (`sbsched run` or the daemon) once its run's record lists its collector's group; the
    group, alive after the kill: the orphan the issue is about."""
    wait_until(lambda: _recorded_group(state_dir) is not None or proc.poll() is not None, timeout=60,
               what="the run to record its collector's process group")
    pgid = _collector_group(proc.pid)
    assert pgid is not None and _recorded_group(state_dir) == pgid
    proc.kill()
    proc.wait()
    assert _group_alive(pgid)
    return pgid


@contextlib.contextmanager
def _hanging_run(write_manifest, state_dir: Path, disposition: object, sig: int) -> Iterator[tuple[subprocess.Popen, int]]:
    """`sbsched run hang` started with `sig` at `disposition` (as the shell that started it would leave it),
    once its collector runs: the process and the collector's group, cleaned up after."""
    env = {**os.environ, "TROUBLESHOOT_SCHEDULER_DIR": str(state_dir)}
    assert run_sbsched("apply", "-f", str(_manifest(write_manifest)), env=env).code == 0
    proc = subprocess.Popen([SBSCHED, "run", "hang", "-o", "json"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=lambda: _dispositions(disposition, sig))
    pgid = None
    try:
        wait_until(lambda: _running_with_child(state_dir, proc.pid) is not None or proc.poll() is not None,
                   timeout=60, what="the run to start its collector")
        pgid = _running_with_child(state_dir, proc.pid)
        assert pgid is not None, proc.communicate()
        yield proc, pgid
    finally:
        _clean_up(proc, pgid)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_cancels_sbsched_run_kills_its_collectors_and_exits_128_plus_the_signal(write_manifest, state_dir,
                                                                                         sig):
    with _hanging_run(write_manifest, state_dir, signal.SIG_DFL, sig) as (proc, pgid):   # however pytest started
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + sig, (proc.returncode, err)
        assert "Traceback" not in err
        assert json.loads(out)["reason"] == "interrupted"
        _assert_nothing_left(state_dir, pgid)


@pytest.mark.parametrize("ignored", [signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_ignored_when_sbsched_run_started_stays_ignored(write_manifest, state_dir, ignored):
    """`nohup sbsched run X` ignores SIGHUP, and `sbsched run X &` in a script SIGINT, for the run to outlive
    a hang-up or a Ctrl-C: the run's own handlers cancelled it anyway (found by `make stress` started under
    nohup: the sigterm-run scenario's SIGHUPs were ignored before the handlers came, then not). The run
    goes on; the SIGTERM that follows is the one that stops it."""
    with _hanging_run(write_manifest, state_dir, signal.SIG_IGN, ignored) as (proc, pgid):
        proc.send_signal(ignored)
        proc.send_signal(signal.SIGTERM)   # handled after the other, were both caught (by signal number)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signal.SIGTERM and "interrupted by SIGTERM" in err, (proc.returncode, err)
        _assert_nothing_left(state_dir, pgid)


def _dispositions(disposition: object, *signals: int) -> None:
    """In the child before exec: what the shell that started sbsched would have left it."""
    for sig in signals:
        signal.signal(sig, disposition)


def test_kill_9_of_sbsched_run_leaves_a_group_that_reconcile_once_kills(write_manifest, state_dir):
    env = {**os.environ, "TROUBLESHOOT_SCHEDULER_DIR": str(state_dir)}
    assert run_sbsched("apply", "-f", str(_manifest(write_manifest)), env=env).code == 0
    proc = subprocess.Popen([SBSCHED, "run", "hang"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pgid = None
    try:
        pgid = _kill_9_once_recorded(proc, state_dir)
        settled = run_sbsched("reconcile", "--once", env=env)
        assert settled.code == 0, settled.err
        _assert_nothing_left(state_dir, pgid)
    finally:
        _clean_up(proc, pgid)


def test_kill_9_of_the_daemon_mid_collection_leaves_a_group_that_the_next_daemon_kills(write_manifest, state_dir):
    """The daemon's clock is brought to a slot a day ahead (the stress harness's hook), so the slot is due at
    once and no real-time daemon reaches it again; the restarted daemon, on the real clock, only recovers."""
    env = {**os.environ, "TROUBLESHOOT_SCHEDULER_DIR": str(state_dir)}
    slot = (datetime.now(timezone.utc) + timedelta(days=1)).replace(second=0, microsecond=0)
    assert run_sbsched("apply", "-f", str(_manifest(write_manifest, f"{slot:%M %H %d %m} *")), env=env).code == 0
    offset = slot.timestamp() - 1.0 - time.time()
    daemon = subprocess.Popen([SBSCHED, "daemon", "start", "--foreground"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env={**env, "SBSCHED_CLOCK_OFFSET_SECONDS": f"{offset:.3f}"})
    pgid = None
    try:
        pgid = _kill_9_once_recorded(daemon, state_dir)
        started = run_sbsched("daemon", "start", env=env)
        assert started.code == 0, started.err
        try:
            # Recovery rewrites the record first, then clears `active` in the state: wait for both.
            wait_until(lambda: all(r["status"] != "running" for r in _records(state_dir)) and not _active(state_dir),
                       timeout=30, what="recovery")
            _assert_nothing_left(state_dir, pgid)
        finally:
            assert run_sbsched("daemon", "stop", "--grace", "5", env=env).code == 0
    finally:
        _clean_up(daemon, pgid)


def test_ctrl_c_while_the_cli_is_still_importing_ends_it_quietly(tmp_path):
    """Found by `make stress` (sigterm-run): a SIGINT in the first ~0.2 s of any command, while typer and
    click import, printed a KeyboardInterrupt traceback. The signal is sent by the process itself right
    after the `cli` package is imported, as a Ctrl-C arriving during the imports would be."""
    code = ("import os, signal, sys; sys.argv = ['sbsched', '--help']; import cli; "
            "os.kill(os.getpid(), signal.SIGINT); from cli.main import main; main()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == -signal.SIGINT   # the shell shows 130
    assert proc.stderr == ""
