"""kill -9 at random points of `sbsched apply` and of the daemon's runs, then check what is left.

apply: the state holds plan X (two sets, ~400 schedules), a child applies plan Y and is killed either at a
uniformly random time after spawn (import, parse, plan, write, audit) or at a random time after it was
seen holding state.lock (the read-plan-write window). Afterwards state.json must parse and its schedules'
specs must equal X's or Y's exactly (the untouched set included); state.json.backup, when present, must
parse; the lock must not outlive the process (the next trial's apply takes it).

daemon: `sbsched daemon start --foreground` on three schedules firing every minute, brought to a slot by
the clock hook (SBSCHED_CLOCK_OFFSET_SECONDS: each daemon's clock reads 1.5 s before its own minute, one
minute later than the previous daemon's), killed at a random time between its "serving" line and a
little after its runs end. The next daemon of the chain is the restart: it must mark whatever the dead
one left `running` as failed/interrupted at open (and remove its staging dir and partial archive), never
start a slot that has a record (each "started"
id appears once across every daemon's log, and a finished record is never rewritten: same startTime
and runner pid), and the state must keep parsing with the applied specs. The last daemon is drained
with SIGTERM and nothing may be left `running` or `active`, nor anything in the daemons' own system temp
dir (TMPDIR), where no recovery would find it.
"""
from __future__ import annotations

import json
import os
import random
import re
import subprocess
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .common import (SBSCHED, Result, environment, iter_json_lines, kill9, leftovers, read_json, records,
                     sbsched, specs_of, wait_until, workdir)

APPLY_SCHEDULES = 400
LEAD_S = 1.5                     # each daemon's clock starts this long before its slot
UTC = timezone.utc


# -- apply -------------------------------------------------------------------------------------------
def _plan_manifest(path: Path, variant: int) -> Path:
    """Two plans of one set that differ in every schedule's spec and in 40 names (create/delete)."""
    names = [f"app-{i:03d}" for i in range(APPLY_SCHEDULES)]
    if variant:
        names = names[40:] + [f"new-{i:03d}" for i in range(40)]
    rows = []
    for i, name in enumerate(names):
        cron = f"{(i * 7 + variant * 13) % 60} {(i + variant * 5) % 24} * * *"
        rows.append(f"  - name: {name}\n    cron: \"{cron}\"\n    timezone: {'Europe/Berlin' if (i + variant) % 3 else 'UTC'}\n"
                    f"    labels: {{team: t{i % 7}, variant: v{variant}}}\n"
                    f"    policy: {{timeoutSeconds: {600 + variant * 60 + i}, retries: {variant + 1}}}\n")
    path.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: fleet}\n"
                    "defaults:\n  collect: {cluster: false, hostCollectors: [{cpu: {}}]}\nschedules:\n" + "".join(rows))
    return path


def _other_set(path: Path) -> Path:
    path.write_text(textwrap.dedent("""\
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {name: bystander}
        defaults: {collect: {cluster: false, hostCollectors: [{cpu: {}}]}}
        schedules:
          - {name: keep-1, cron: "0 1 * * *"}
          - {name: keep-2, cron: "30 4 * * 1-5", timezone: Asia/Tokyo}
        """))
    return path


def _state_specs(state_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        state = read_json(state_dir / "state.json")
        return specs_of(state), None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _lock_held(state_dir: Path) -> bool:
    try:
        return (state_dir / "state.lock").stat().st_size > 0   # the holder writes who it is once it holds it
    except FileNotFoundError:
        return False


def apply_trials(result: Result, trials: int, rng: random.Random) -> None:
    work = workdir("kill-apply")
    state_dir = work / "state"
    env = environment(state_dir)
    plans = [_plan_manifest(work / "plan-0.yaml", 0), _plan_manifest(work / "plan-1.yaml", 1)]
    setup = sbsched("apply", "-f", str(_other_set(work / "other.yaml")), env=env)
    if setup.returncode != 0:
        result.fail(f"apply setup: exit {setup.returncode}: {setup.stderr.strip()[:200]}")
        return
    expected: list[dict[str, Any]] = []
    durations, locked = [], []
    for plan in plans:        # calibration: the specs each plan yields, and how long an apply takes
        started = time.monotonic()
        proc = subprocess.Popen([SBSCHED, "apply", "-f", str(plan)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        wait_until(lambda: _lock_held(state_dir) or proc.poll() is not None, timeout=60, interval=0.001)
        held_at = time.monotonic()
        _, err = proc.communicate(timeout=60)
        if proc.returncode != 0:
            result.fail(f"calibration apply of {plan.name}: exit {proc.returncode}: {err.strip()[:200]}")
            return
        durations.append(time.monotonic() - started)
        locked.append(time.monotonic() - held_at)
        specs, _ = _state_specs(state_dir)
        assert specs is not None
        expected.append(specs)
    full, window = max(durations) * 1.1, max(locked) * 1.2
    result.details["apply"] = {"schedules": APPLY_SCHEDULES, "apply seconds": round(max(durations), 3),
                               "locked seconds": round(max(locked), 3)}
    current = 1
    finished_first = killed_in_lock = landed = 0
    kill_points: list[float] = []
    audit_before = len(list(iter_json_lines(state_dir / "logs" / "audit.log")))
    serial_before = read_json(state_dir / "state.json")["serial"]
    for trial in range(trials):
        target = 1 - current
        in_lock = trial % 2 == 1
        proc = subprocess.Popen([SBSCHED, "apply", "-f", str(plans[target])], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        started = time.monotonic()
        if in_lock:
            wait_until(lambda: _lock_held(state_dir) or proc.poll() is not None, timeout=60, interval=0.0005)
            delay = rng.uniform(0, window)
        else:
            delay = rng.uniform(0, full)
        wait_until(lambda: proc.poll() is not None, timeout=delay, interval=0.0005)
        if proc.poll() is not None:
            finished_first += 1
        else:
            killed_in_lock += in_lock and _lock_held(state_dir)
        kill9(proc)
        kill_points.append(round(time.monotonic() - started, 3))
        result.trials += 1
        specs, problem = _state_specs(state_dir)
        if specs is None:
            result.fail(f"apply trial {trial}: state.json does not parse after kill -9: {problem}")
            return
        if specs == expected[target]:
            current = target
            landed += 1
        elif specs != expected[current]:
            result.fail(f"apply trial {trial}: state.json is neither the old nor the new plan "
                        f"({len(specs)} schedules)")
            return
        backup = state_dir / "state.json.backup"
        if backup.exists():
            try:
                specs_of(read_json(backup))
            except (ValueError, KeyError, TypeError) as exc:
                result.fail(f"apply trial {trial}: state.json.backup does not parse: {exc}")
        if trial % 10 == 9:
            listed = sbsched("list", "-o", "json", env=env)
            if listed.returncode != 0 or len(json.loads(listed.stdout)["items"]) != len(specs):
                result.fail(f"apply trial {trial}: `sbsched list` after the kill: exit {listed.returncode}")
    # The lock was never left held: a normal apply (back to plan 0) goes through at once.
    final = sbsched("apply", "-f", str(plans[0]), "--lock-timeout", "5", env=env)
    if final.returncode != 0:
        result.fail(f"apply after the kills: exit {final.returncode}: {final.stderr.strip()[:200]}")
    debris = leftovers(state_dir)
    serial_after = read_json(state_dir / "state.json")["serial"]
    audit_after = len(list(iter_json_lines(state_dir / "logs" / "audit.log")))
    writes = serial_after - serial_before
    result.details["apply"].update(new_plan_after_kill=landed, old_plan_after_kill=trials - landed,
                                   finished_before_kill=finished_first, killed_holding_lock=int(killed_in_lock),
                                   state_writes=writes, audit_lines=audit_after - audit_before,
                                   leftover_temp_files=len(debris["temp files"]))
    if debris["temp files"]:
        result.notes.append(f"apply: {len(debris['temp files'])} temp file(s) of interrupted writes left in the "
                            f"state dir (e.g. {debris['temp files'][0]})")
    if audit_after - audit_before < writes:
        result.notes.append(f"apply: {writes - (audit_after - audit_before)} state write(s) without an audit line "
                            "(killed between the state write and the audit append)")


# -- daemon ------------------------------------------------------------------------------------------
DAEMON_MANIFEST = """\
apiVersion: sbsched/v1
kind: ScheduleSet
metadata: {name: k9}
defaults:
  collect:
    cluster: false
    hostCollectors:
      - cpu: {}
      - memory: {}
      - run: {collectorName: noise, command: sh, args: ["-c", "head -c 1500000 /dev/urandom | base64; sleep 0.5"], timeout: 30s}
  policy: {concurrency: Forbid, retries: 0, timeoutSeconds: 120}
  retention: {keepLast: 1000, keepFailed: 1000}   # every record stays: the slot checks read them all
schedules:
  - {name: alpha, cron: "* * * * *"}
  - {name: bravo, cron: "* * * * *"}
  - {name: charlie, cron: "* * * * *"}
"""
SCHEDULES = ("alpha", "bravo", "charlie")
_STARTED = re.compile(r"started (\S+) \(")


class Chain:
    """Daemons one after another on one state dir, each on its own minute."""

    def __init__(self, result: Result, work: Path, first_slot: datetime) -> None:
        self.result, self.work, self.first_slot = result, work, first_slot
        self.state_dir = work / "state"
        self.logs: list[Path] = []
        self.index = 0

    def slot(self, i: int) -> datetime:
        return self.first_slot + timedelta(minutes=i)

    def spawn(self) -> tuple[subprocess.Popen[bytes], datetime, float]:
        slot = self.slot(self.index)
        spawned = time.time()
        offset = (slot - timedelta(seconds=LEAD_S)).timestamp() - spawned
        log = self.work / f"daemon-{self.index:03d}.log"
        self.logs.append(log)
        handle = open(log, "wb")
        proc = subprocess.Popen([SBSCHED, "daemon", "start", "--foreground", "--log-format", "json"],
                                env=environment(self.state_dir, SBSCHED_CLOCK_OFFSET_SECONDS=f"{offset:.6f}"),
                                stdout=handle, stderr=handle)
        handle.close()
        self.index += 1
        return proc, slot, time.monotonic()

    def serving(self, proc: subprocess.Popen[bytes]) -> bool:
        log = self.logs[-1]
        return wait_until(lambda: proc.poll() is not None or any(
            "serving" in e.get("message", "") for e in iter_json_lines(log)), timeout=30) and proc.poll() is None

    def slot_done(self, slot: datetime) -> bool:
        ids = {f"{name}-{slot.astimezone(UTC):%Y%m%dT%H%MZ}" for name in SCHEDULES}
        done = {r.get("id") for r in records(self.state_dir) if r.get("status") not in ("running", "pending")}
        return ids <= done

    def started_ids(self) -> list[str]:
        found = []
        for log in self.logs:
            for entry in iter_json_lines(log):
                match = _STARTED.search(entry.get("message", ""))
                if match:
                    found.append(match.group(1))
        return found


def _finished_snapshot(state_dir: Path) -> dict[str, tuple[Any, Any]]:
    return {r["id"]: (r.get("startTime"), (r.get("runner") or {}).get("pid")) for r in records(state_dir)
            if "id" in r and r.get("status") in ("completed", "failed", "skipped")}


def _check_state(result: Result, state_dir: Path, applied: dict[str, Any], where: str) -> bool:
    specs, problem = _state_specs(state_dir)
    if specs is None:
        result.fail(f"{where}: state.json does not parse: {problem}")
        return False
    if specs != applied:
        result.fail(f"{where}: state.json's specs differ from the applied plan")
        return False
    return True


def daemon_trials(result: Result, trials: int, rng: random.Random) -> None:
    work = workdir("kill-daemon")
    state_dir = work / "state"
    env = environment(state_dir)
    manifest = work / "schedules.yaml"
    manifest.write_text(DAEMON_MANIFEST)
    applied_at = datetime.now(UTC)
    proc_apply = sbsched("apply", "-f", str(manifest), env=env)
    if proc_apply.returncode != 0:
        result.fail(f"daemon setup apply: exit {proc_apply.returncode}: {proc_apply.stderr.strip()[:200]}")
        return
    applied, _ = _state_specs(state_dir)
    assert applied is not None
    first = (applied_at + timedelta(seconds=LEAD_S + 1)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    chain = Chain(result, work, first)
    # Trial 0 calibrates: its runs end, then it is killed idle.
    proc, slot, spawned = chain.spawn()
    if not chain.serving(proc):
        kill9(proc)
        result.fail(f"the first daemon did not start: {chain.logs[-1].read_text()[-300:]}")
        return
    if not wait_until(lambda: chain.slot_done(slot), timeout=60):
        kill9(proc)
        result.fail("calibration: the first slot's runs did not finish within 60 s")
        return
    run_window = time.monotonic() - spawned + 0.6
    kill9(proc)
    result.trials += 1
    result.details["daemon"] = {"kill window seconds": round(run_window, 2)}
    interrupted = rewritten = 0
    kill_after: list[float] = []
    for trial in range(1, trials):
        before = _finished_snapshot(state_dir)
        proc, slot, spawned = chain.spawn()
        if not chain.serving(proc):
            kill9(proc)
            result.fail(f"daemon trial {trial}: the restarted daemon did not start: "
                        f"{chain.logs[-1].read_text()[-300:]}")
            return
        served = time.monotonic() - spawned

        def stale() -> list[str]:   # recovery runs right after "serving": only this daemon's runs may run
            return [r["id"] for r in records(state_dir) if r.get("status") == "running"
                    and (r.get("runner") or {}).get("pid") != proc.pid]
        if not wait_until(lambda: not stale() or proc.poll() is not None, timeout=15):
            result.fail(f"daemon trial {trial}: still running 15 s after the restart: {stale()[:3]}")
        delay = rng.uniform(served, run_window)
        wait_until(lambda: proc.poll() is not None, timeout=max(0.0, delay - (time.monotonic() - spawned)),
                   interval=0.002)
        kill9(proc)
        kill_after.append(round(time.monotonic() - spawned, 3))
        result.trials += 1
        if not _check_state(result, state_dir, applied, f"daemon trial {trial}"):
            return
        after = _finished_snapshot(state_dir)
        changed = [rid for rid, seen in before.items() if after.get(rid, seen) != seen]   # gone: retention
        if changed:
            rewritten += 1
            result.fail(f"daemon trial {trial}: finished record(s) rewritten by a later daemon (slot ran twice?): "
                        f"{changed[:3]}")
    # The last restart: recovery, then drain with SIGTERM.
    proc, slot, spawned = chain.spawn()
    if not chain.serving(proc):
        kill9(proc)
        result.fail(f"final daemon did not start: {chain.logs[-1].read_text()[-300:]}")
        return
    wait_until(lambda: chain.slot_done(slot), timeout=60)
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        kill9(proc)
        result.fail("final daemon: did not exit within 60 s of SIGTERM")
    _check_state(result, state_dir, applied, "after the final drain")
    every = records(state_dir)
    running = [r["id"] for r in every if r.get("status") == "running"]
    if running:
        result.fail(f"after the final drain: {len(running)} record(s) still running: {running[:3]}")
    broken = [r["unparseable"] for r in every if "unparseable" in r]
    if broken:
        result.fail(f"{len(broken)} execution record(s) do not parse: {broken[:2]}")
    state = read_json(state_dir / "state.json")
    active = {n: rec["status"].get("active") for n, rec in state["schedules"].items() if rec["status"].get("active")}
    if active:
        result.fail(f"after the final drain: schedules still list active runs: {active}")
    started = chain.started_ids()
    twice = sorted({i for i in started if started.count(i) > 1})
    if twice:
        result.fail(f"slots started twice: {twice[:5]}")
    per_slot = {}
    for r in every:
        if "id" in r:
            per_slot.setdefault((r["schedule"], r["scheduledTime"]), []).append(r["id"])
    doubled = {k: v for k, v in per_slot.items() if len(v) > 1}
    if doubled:
        result.fail(f"more than one record for a slot: {list(doubled.items())[:3]}")
    interrupted = sum(1 for r in every if r.get("reason") == "interrupted")
    statuses: dict[str, int] = {}
    for r in every:
        key = r.get("status", "?") + (f"/{r['reason']}" if r.get("reason") else "")
        statuses[key] = statuses.get(key, 0) + 1
    debris = leftovers(state_dir)
    result.details["daemon"].update(daemons=chain.index, records=len(every), statuses=statuses,
                                    started_lines=len(started), interrupted=interrupted,
                                    leftover_staging_dirs=len(debris["staging dirs"]),
                                    leftover_temp_files=len(debris["temp files"]),
                                    leftover_system_temp=len(debris["system temp"]))
    if debris["system temp"]:
        result.fail(f"daemon: {len(debris['system temp'])} entries of killed runs left in the system temp dir, "
                    f"where no recovery finds them: {debris['system temp'][:3]}")
    if debris["staging dirs"]:
        result.notes.append(f"daemon: {len(debris['staging dirs'])} staging dir(s) of killed runs left under "
                            "bundles/ (unredacted collector output, 0700)")
    if debris["temp files"]:
        result.notes.append(f"daemon: {len(debris['temp files'])} temp file(s) of interrupted writes left")


def run(rng: random.Random, *, trials: int = 100) -> Result:
    result = Result("kill -9 (apply, daemon)")
    started = time.monotonic()
    apply_trials(result, trials // 2, rng)
    daemon_trials(result, trials - trials // 2, rng)
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    import sys

    outcome = run(random.Random(int(os.environ.get("STRESS_SEED", "1"))),
                  trials=int(sys.argv[1]) if len(sys.argv) > 1 else 100)
    print(json.dumps(outcome.to_json(), indent=2))
