"""orphans: kill -9 of `sbsched run` or of the daemon mid-collection, then recovery; what outlives it.

One schedule, `hang`, whose `run` collector is a shell with a background sleep (a group of three) that
sleeps until killed; its cron matches only tomorrow, in this hour, so nothing on the real clock fires it.
Trials alternate two victims:
- `sbsched run hang`, killed -9 at a random time up to 1 s after its record says `running` (before,
  while, or after its collector's child starts and is recorded);
- `sbsched daemon start --foreground` on a clock brought to its own minute of tomorrow's hour (the stress
  clock hook), killed -9 the same way once its run's record says `running`.
and two recoveries, on the real clock: `sbsched reconcile --once`, or a daemon start (SIGTERM once the
trial's record is settled). Counted: the trial's processes alive just after the kill (the orphans
recovery has to deal with), then 5 s after recovery (found by a marker in their environment, not by what
sbsched recorded), staging dirs, records left `running`, ids left in `active`: all but the first must be 0.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .common import SBSCHED, Result, environment, kill9, records, sbsched, wait_until, workdir
from .processes import MARKER, debris, marked, secret_files, survivors

LEAD_S = 1.5          # a daemon's clock starts this long before its slot
KILL_WINDOW_S = 1.0
SECRET = b"hunter2-42-orphan"


def _manifest(hour: datetime) -> str:
    return textwrap.dedent(f"""\
        apiVersion: sbsched/v1
        kind: ScheduleSet
        metadata: {{name: orphans}}
        defaults:
          collect: {{cluster: false}}
          policy: {{concurrency: Allow, retries: 0, timeoutSeconds: 600}}
          retention: {{keepLast: 1000, keepFailed: 1000}}
        schedules:
          - name: hang
            cron: "* {hour:%H %d %m} *"
            collect:
              hostCollectors:
                - cpu: {{}}
                - run: {{collectorName: nap, command: sh, timeout: 10m,
                        args: ["-c", 'echo "password=hunter2-$((6*7))-orphan"; sleep 290.5 & sleep 290.5']}}
        """)


def _running(state_dir: Path, pid: int) -> bool:
    return any(r.get("status") == "running" and (r.get("runner") or {}).get("pid") == pid
               for r in records(state_dir))


def _victim(kind: str, slot: datetime, env: dict[str, str]) -> subprocess.Popen[bytes]:
    if kind == "run":
        return subprocess.Popen([SBSCHED, "run", "hang"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    offset = (slot - timedelta(seconds=LEAD_S)).timestamp() - time.time()
    return subprocess.Popen([SBSCHED, "daemon", "start", "--foreground"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**env, "SBSCHED_CLOCK_OFFSET_SECONDS": f"{offset:.6f}"})


def _recover(how: str, state_dir: Path, env: dict[str, str]) -> str | None:
    """Recovery on the real clock; why it went wrong, or None."""
    if how == "reconcile --once":
        done = sbsched("reconcile", "--once", env=env, timeout=120)
        return None if done.returncode == 0 else f"reconcile --once: exit {done.returncode}: {done.stderr[-200:]}"
    daemon = subprocess.Popen([SBSCHED, "daemon", "start", "--foreground"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    settled = wait_until(lambda: not any(r.get("status") == "running" for r in records(state_dir))
                         or daemon.poll() is not None, timeout=60)
    daemon.send_signal(signal.SIGTERM)
    try:
        _, err = daemon.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        kill9(daemon)
        return "the recovering daemon did not exit within 60 s of SIGTERM"
    if not settled or daemon.returncode != 0:
        return f"daemon start: exit {daemon.returncode}: {err.decode(errors='replace')[-200:]}"
    return None


def run(rng: random.Random, *, trials: int = 24) -> Result:
    result = Result("orphans")
    work = workdir("orphans")
    state_dir = work / "state"
    env = environment(state_dir)
    hour = (datetime.now(timezone.utc) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    (work / "schedules.yaml").write_text(_manifest(hour))
    applied = sbsched("apply", "-f", str(work / "schedules.yaml"), env=env)
    if applied.returncode != 0:
        result.fail(f"apply: exit {applied.returncode}: {applied.stderr.strip()[:300]}")
        return result
    orphaned_total = 0
    left_behind: dict[str, set[object]] = {"surviving processes": set(), "staging dirs": set(),
                                           "records running": set(), "active ids": set()}
    by: dict[str, dict[str, int]] = {}
    for trial in range(min(trials, 120)):   # daemon trials (every other one) take a minute of tomorrow's hour each
        kind = ("run", "daemon")[trial % 2]
        how = ("reconcile --once", "daemon start")[(trial // 2) % 2]
        marker = f"orphans-{trial}"
        proc = _victim(kind, hour + timedelta(minutes=trial // 2), {**env, MARKER: marker})
        if not wait_until(lambda: _running(state_dir, proc.pid) or proc.poll() is not None, timeout=60,
                          interval=0.005) or proc.poll() is not None:
            kill9(proc)
            result.fail(f"trial {trial} ({kind}): its run never showed `running` (exit {proc.returncode})")
            continue
        wait_until(lambda: proc.poll() is not None, timeout=rng.uniform(0, KILL_WINDOW_S), interval=0.002)
        kill9(proc)
        result.trials += 1
        orphaned = len(marked(marker))
        orphaned_total += orphaned
        problem = _recover(how, state_dir, env)
        if problem:
            result.fail(f"trial {trial} ({kind}, {how}): {problem}")
        left = debris(state_dir)
        alive = survivors(marker)
        tally = by.setdefault(f"{kind} / {how}", {"trials": 0, "orphaned": 0, "survived": 0})
        tally["trials"] += 1
        tally["orphaned"] += orphaned
        tally["survived"] += len(alive)
        for key, found in (("surviving processes", alive), ("staging dirs", left["staging"]),
                           ("records running", left["running"]), ("active ids", left["active"])):
            if found:
                left_behind[key].update(found)
                result.fail(f"trial {trial} ({kind}, {how}): {key} after recovery: {found[:3]}")
    statuses: dict[str, int] = {}
    for record in records(state_dir):
        key = f"{record.get('status')}/{record.get('reason')}"
        statuses[key] = statuses.get(key, 0) + 1
    leaked = secret_files(state_dir, SECRET)
    if leaked:
        result.fail(f"the collectors' unredacted output is in {len(leaked)} file(s): {leaked[:3]}")
    result.details.update({"orphaned after the kill": orphaned_total, **{k: len(v) for k, v in left_behind.items()}},
                          **{"by victim and recovery": by, "records": statuses, "unredacted files": len(leaked)})
    result.notes.append(f"{orphaned_total} process(es) orphaned by the kills, "
                        f"{len(left_behind['surviving processes'])} alive after recovery")
    return result


if __name__ == "__main__":
    import sys

    outcome = run(random.Random(int(os.environ.get("STRESS_SEED", "1"))),
                  trials=int(sys.argv[1]) if len(sys.argv) > 1 else 24)
    print(json.dumps(outcome.to_json(), indent=2))
