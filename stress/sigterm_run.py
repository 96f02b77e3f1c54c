"""sigterm-run: `sbsched run` stopped by SIGTERM, SIGINT or SIGHUP at a random moment, then what is left.

Two schedules, one state dir. `hang`'s `run` collector sleeps until killed (a shell with a background
sleep: a group of three), so its run is signalled mid-collection, at a random time up to 1 s after its
record says `running`. `quick` finishes on its own in about a second (calibrated first); its signal comes
at a random time from spawn to a little past that, so it lands anywhere: before the handlers are
installed, in collection, redaction, the archive, delivery, or after the run ended. Each trial's signal is
drawn from the three.

After each trial: the exit status must be 128+signal (or death by the signal itself, only when the run
had not begun or had ended: the handlers are installed around the run alone), no traceback on stderr,
no record may stay `running`, no id in `active`, no `.staging-*` dir, and no process of the trial alive
5 s after its exit (found by a marker in their environment, not by what sbsched recorded). A SIGINT in
the first ~50 ms meets the Python interpreter itself still starting, before any sbsched code runs:
CPython prints its own traceback ("Fatal Python error: init_import_site", "failed to set
__main__.__loader__", ...) and exits 1, 0 or -2; such trials (no record, no frame of sbsched's in the
traceback) are counted apart, not as failures. Figures: signal-to-exit seconds, and how each process
ended with the record it left.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import statistics
import subprocess
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .common import SBSCHED, Result, environment, records, sbsched, wait_until, workdir
from .processes import MARKER, debris, secret_files, survivors

SECRET = b"hunter2-42-stress"   # what the collectors print; the spec holds $((6*7)), never this
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
HANG_WINDOW_S = 1.0
_OUR_FRAMES = re.compile(r'File "[^"]*/(cli|reconciler)/')   # a traceback through sbsched's own code

MANIFEST = textwrap.dedent("""\
    apiVersion: sbsched/v1
    kind: ScheduleSet
    metadata: {name: sig}
    defaults:
      collect:
        cluster: false
        hostCollectors:
          - cpu: {}
          - memory: {}
          - run: {collectorName: noise, command: sh, args: ["-c", "head -c 400000 /dev/urandom | base64"]}
      policy: {concurrency: Allow, retries: 0, timeoutSeconds: 600}
      retention: {keepLast: 1000, keepFailed: 1000}
    schedules:
      - name: hang
        cron: "@yearly"
        collect:
          hostCollectors:
            - run: {collectorName: nap, command: sh, timeout: 10m,
                    args: ["-c", 'echo "password=hunter2-$((6*7))-stress"; sleep 291.5 & sleep 291.5']}
      - name: quick
        cron: "@yearly"
        collect:
          hostCollectors:
            - run: {collectorName: nap, command: sh,
                    args: ["-c", 'echo "password=hunter2-$((6*7))-stress"; sleep 0.2 & sleep 0.3']}
    """)


def _record_of(state_dir: Path, pid: int) -> dict[str, Any] | None:
    """The record of the run whose process is `pid`."""
    return next((r for r in records(state_dir) if (r.get("runner") or {}).get("pid") == pid), None)


def _calibrate(state_dir: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    done = sbsched("run", "quick", env=env)
    if done.returncode != 0:
        raise RuntimeError(f"calibration run of quick: exit {done.returncode}: {done.stderr.strip()[:300]}")
    return time.monotonic() - started


def run(rng: random.Random, *, trials: int = 48) -> Result:
    result = Result("sigterm-run")
    work = workdir("sigterm-run")
    state_dir = work / "state"
    base_env = environment(state_dir)
    (work / "schedules.yaml").write_text(MANIFEST)
    applied = sbsched("apply", "-f", str(work / "schedules.yaml"), env=base_env)
    if applied.returncode != 0:
        result.fail(f"apply: exit {applied.returncode}: {applied.stderr.strip()[:300]}")
        return result
    quick_s = _calibrate(state_dir, base_env)
    wrong_exits = 0
    left_behind: dict[str, set[object]] = {"records running": set(), "active ids": set(), "staging dirs": set(),
                                           "surviving processes": set()}
    landed: dict[str, dict[str, int]] = {}   # how the process ended -> its record's status/reason -> trials
    to_exit: list[float] = []
    for trial in range(trials):
        name = "hang" if trial % 2 == 0 else "quick"
        sig = rng.choice(SIGNALS)
        marker = f"sigterm-run-{trial}"
        proc = subprocess.Popen([SBSCHED, "run", name, "-o", "json"], env={**base_env, MARKER: marker},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=_as_from_a_terminal)
        start = time.monotonic()   # quick: from spawn; hang: from its record saying `running`
        if name == "hang":
            wait_until(lambda: proc.poll() is not None or (_record_of(state_dir, proc.pid) or {}).get("status")
                       == "running", timeout=60, interval=0.005)
            start = time.monotonic()
        delay = rng.uniform(0, HANG_WINDOW_S if name == "hang" else quick_s * 1.3)
        wait_until(lambda: proc.poll() is not None, timeout=max(0.0, start + delay - time.monotonic()), interval=0.002)
        if proc.poll() is None:
            proc.send_signal(sig)
            sent, sent_at = time.monotonic(), datetime.now(timezone.utc)
        else:
            sent, sent_at = None, None
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            result.fail(f"trial {trial} ({name}, {sig.name}): no exit within 120 s of the signal")
        result.trials += 1
        code = proc.returncode
        record = _record_of(state_dir, proc.pid)
        starting = record is None and "Traceback" in err and not _OUR_FRAMES.search(err)
        if sent is None or sent_at is None:
            ending = "exited before the signal"
        elif starting:   # CPython's own start-up (its messages, its exit code): no sbsched code had run
            ending = "signal while the interpreter started"
        elif code == 128 + sig:
            ending = "exit 128+signal"
            to_exit.append(time.monotonic() - sent)
        elif code == -sig and (record is None or record.get("status") != "running"):
            ending = "killed by the signal (run not begun, or over)"
        elif record is not None and record.get("endTime") and datetime.fromisoformat(record["endTime"]) <= sent_at:
            ending = "exited before the signal"   # the signal met a process on its way out
        else:
            ending = f"wrong exit {code}"
            wrong_exits += 1
            result.fail(f"trial {trial} ({name}, {sig.name}): exit {code}, record "
                        f"{(record or {}).get('status')}/{(record or {}).get('reason')}: {err.strip()[-300:]}")
        outcome = f"{record.get('status')}/{record.get('reason')}" if record is not None else "no record"
        landed.setdefault(ending, {}).setdefault(outcome, 0)
        landed[ending][outcome] += 1
        if "Traceback" in err and not starting:
            result.fail(f"trial {trial} ({name}, {sig.name}): a traceback on stderr: {err.strip()[-600:]}")
        if record is not None and "collectorProcesses" in record and record.get("status") != "running":
            result.fail(f"trial {trial}: a final record still lists collectorProcesses")
        left = debris(state_dir)
        alive = survivors(marker)
        for key, found in (("records running", left["running"]), ("active ids", left["active"]),
                           ("staging dirs", left["staging"]), ("surviving processes", alive)):
            if found:
                left_behind[key].update(found)
                result.fail(f"trial {trial} ({name}, {sig.name}, exit {code}): {key}: {found[:3]}")
        if out.strip() and code == 128 + sig:
            try:
                json.loads(out)
            except ValueError:
                result.fail(f"trial {trial}: stdout is not the record's JSON")
    leaked = secret_files(state_dir, SECRET)
    if leaked:
        result.fail(f"the collectors' unredacted output is in {len(leaked)} file(s): {leaked[:3]}")
    result.details.update({"wrong exits": wrong_exits, **{k: len(v) for k, v in left_behind.items()}},
                          **{"unredacted files": len(leaked), "quick run seconds": round(quick_s, 2),
                                     "endings (and the records they left)": landed})
    if to_exit:
        result.details["signal to exit seconds"] = {"p50": round(statistics.median(to_exit), 2),
                                                    "max": round(max(to_exit), 2)}
        result.notes.append(f"signal to exit p50 {statistics.median(to_exit):.2f} s, max {max(to_exit):.2f} s")
    return result


def _as_from_a_terminal() -> None:
    """In the child before exec: the three signals at their default, however `make stress` was started.
    Under `nohup make stress` SIGHUP came ignored, and `sbsched run` rightly keeps ignoring a signal it was
    started ignoring: a SIGHUP trial then ran to the end and exited 0."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_DFL)


if __name__ == "__main__":
    import sys

    outcome = run(random.Random(int(os.environ.get("STRESS_SEED", "1"))),
                  trials=int(sys.argv[1]) if len(sys.argv) > 1 else 48)
    print(json.dumps(outcome.to_json(), indent=2))
