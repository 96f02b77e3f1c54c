"""kill -9 at random points of an `sbsched apply` that writes and prunes spec snapshots.

Two plans of one set, 200 schedules each, spread over 24 spec files per plan (a HostCollector each, its
`run` collector echoing the file's name and the trial that last wrote it): plan 0 references files
a-00..a-23, plan 1 files b-00..b-23, both a shared Redactor. Before each trial the other plan's 24 files
are rewritten with the trial's number, so every apply writes 24 new snapshots before the state and
prunes those that neither the new state nor its backup references after it. A child applies that plan
and is killed either at a uniformly random time after spawn or at a random time after it was seen
holding state.lock (the snapshot-write, state-write, prune window).

After each kill, the state and the snapshot store must agree: state.json (and state.json.backup) parse,
state.json's specs are exactly the previous ones or the new plan's (digests included), and every digest
state.json or state.json.backup references is a file in spec-snapshots/ whose sha256 is its name.
Unreferenced snapshots (written by a killed apply before its state) and temp files of interrupted writes
are counted; after the last apply and a `cleanup`, none may remain. Every 10th trial, `sbsched run` of a
schedule must use the snapshot the state holds (its bundle says which file, and which trial's content).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

from .common import (SBSCHED, Result, environment, kill9, leftovers, read_json, sbsched, specs_of, wait_until,
                     workdir)

SCHEDULES = 200
FILES = 24
REDACTOR = """\
apiVersion: troubleshoot.sh/v1beta2
kind: Redactor
metadata: {name: shared}
spec:
  redactors:
    - name: static
      removals: {values: [flamingo]}
"""


def _plan(work: Path, variant: int) -> Path:
    """The checkout of plan `variant`: its spec files and its manifest."""
    letter = "ab"[variant]
    specs = work / f"plan-{letter}" / "specs"
    specs.mkdir(parents=True)
    _write_specs(specs.parent / "schedules.yaml", variant, -1)
    (specs / "redactor.yaml").write_text(REDACTOR)
    rows = [f"  - {{name: s-{n:03d}, cron: \"{n % 60} {n % 24} * * *\", collect: {{specs: "
            f"[specs/{letter}-{n % FILES:02d}.yaml]}}, redact: {{redactors: [specs/redactor.yaml]}}}}\n"
            for n in range(SCHEDULES)]
    manifest = specs.parent / "schedules.yaml"
    manifest.write_text("apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata: {name: fleet}\n"
                        "defaults: {collect: {cluster: false}}\nschedules:\n" + "".join(rows))
    return manifest


def _write_specs(manifest: Path, variant: int, trial: int) -> None:
    letter = "ab"[variant]
    for i in range(FILES):
        (manifest.parent / "specs" / f"{letter}-{i:02d}.yaml").write_text(
            f"apiVersion: troubleshoot.sh/v1beta2\nkind: HostCollector\nmetadata: {{name: {letter}-{i:02d}}}\n"
            f"spec:\n  collectors:\n    - run: {{collectorName: which, command: echo, "
            f"args: [ran-{letter}-{i:02d}-t{trial}]}}\n")


def _expected(template: dict[str, Any], manifest: Path) -> dict[str, Any]:
    """The specs applying `manifest` yields: `template` (a calibration apply's) with the digests of the
    spec files as they are on disk now."""
    out = {}
    for name, (set_name, spec) in template.items():
        files = {path: hashlib.sha256((manifest.parent / path).read_bytes()).hexdigest() for path in spec["specFiles"]}
        out[name] = (set_name, dict(spec, specFiles=files))
    return out


def _lock_held(state_dir: Path) -> bool:
    try:
        return (state_dir / "state.lock").stat().st_size > 0
    except FileNotFoundError:
        return False


def _digests(state: dict[str, Any]) -> set[str]:
    return {d for record in state["schedules"].values() for d in (record["spec"].get("specFiles") or {}).values()}


def _store_problems(state_dir: Path) -> tuple[list[str], int]:
    """What disagrees between the state (and its backup) and the snapshot store; the unreferenced count."""
    problems: list[str] = []
    referenced: set[str] = set()
    for name in ("state.json", "state.json.backup"):
        path = state_dir / name
        if not path.exists():
            continue
        try:
            referenced |= _digests(read_json(path))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{name} does not parse: {type(exc).__name__}: {exc}")
    store = state_dir / "spec-snapshots"
    present = {p.name: p for p in store.iterdir() if not p.name.startswith(".")} if store.is_dir() else {}
    for digest in sorted(referenced):
        if digest not in present:
            problems.append(f"snapshot {digest[:12]} referenced but missing")
        elif hashlib.sha256(present[digest].read_bytes()).hexdigest() != digest:
            problems.append(f"snapshot {digest[:12]} does not match its digest")
    return problems, len(set(present) - referenced)


def _ran(env: dict[str, str], schedule: str) -> str | None:
    """Which spec file `schedule`'s run used, from its bundle (None: the run failed)."""
    proc = sbsched("run", schedule, "-o", "json", env=env)
    if proc.returncode != 0:
        return None
    with tarfile.open(json.loads(proc.stdout)["bundle"]["path"]) as tar:
        for member in tar.getmembers():
            if member.name.endswith("which.txt"):
                data = tar.extractfile(member)
                return data.read().decode().strip() if data else None
    return None


def run(rng: random.Random, *, trials: int = 40) -> Result:
    result = Result("kill -9 (apply with spec snapshots)")
    started = time.monotonic()
    work = workdir("kill-snapshots")
    state_dir = work / "state"
    env = environment(state_dir)
    plans = [_plan(work, 0), _plan(work, 1)]
    expected: list[dict[str, Any]] = []
    durations, locked = [], []
    for calibration in range(4):   # the specs each plan yields, and how long an apply (writing and pruning) takes
        plan = plans[calibration % 2]
        _write_specs(plan, calibration % 2, -1 - calibration // 2)
        begun = time.monotonic()
        proc = subprocess.Popen([SBSCHED, "apply", "-f", str(plan)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        wait_until(lambda: _lock_held(state_dir) or proc.poll() is not None, timeout=60, interval=0.001)
        held_at = time.monotonic()
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            result.fail(f"calibration apply of {plan.parent.name}: exit {proc.returncode}: {err.strip()[:200]}")
            return result
        if calibration >= 2:   # the first two only start the store: nothing to prune yet
            durations.append(time.monotonic() - begun)
            locked.append(time.monotonic() - held_at)
        else:
            expected.append(specs_of(read_json(state_dir / "state.json")))
    full, window = max(durations) * 1.2, max(locked) * 1.6   # past the end too: the prune is last
    current, landed, killed_in_lock, finished, most_orphans, runs_checked = 1, 0, 0, 0, 0, 0
    held = specs_of(read_json(state_dir / "state.json"))   # the specs state.json holds
    content = {0: -2, 1: -2}      # the trial whose content each plan's applied snapshots hold (calibration: -2)
    for trial in range(trials):
        target = 1 - current
        _write_specs(plans[target], target, trial)
        new = _expected(expected[target], plans[target])
        in_lock = trial % 2 == 1
        proc = subprocess.Popen([SBSCHED, "apply", "-f", str(plans[target])], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        if in_lock:
            wait_until(lambda: _lock_held(state_dir) or proc.poll() is not None, timeout=60, interval=0.0005)
        delay = rng.uniform(0, window if in_lock else full)
        wait_until(lambda: proc.poll() is not None, timeout=delay, interval=0.0005)
        finished += proc.poll() is not None
        killed_in_lock += proc.poll() is None and in_lock and _lock_held(state_dir)
        kill9(proc)
        result.trials += 1
        try:
            specs = specs_of(read_json(state_dir / "state.json"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            result.fail(f"trial {trial}: state.json does not parse after kill -9: {exc}")
            break
        if specs == new:
            current, landed, held, content[target] = target, landed + 1, new, trial
        elif specs != held:
            result.fail(f"trial {trial}: state.json is neither the old nor the new plan")
            break
        problems, orphans = _store_problems(state_dir)
        most_orphans = max(most_orphans, orphans)
        for problem in problems:
            result.fail(f"trial {trial}: {problem}")
        if problems:
            break
        if trial % 10 == 9:
            schedule = f"s-{rng.randrange(SCHEDULES):03d}"
            wanted = f"ran-{'ab'[current]}-{int(schedule[2:]) % FILES:02d}-t{content[current]}"
            used = _ran(env, schedule)
            runs_checked += 1
            if used != wanted:
                result.fail(f"trial {trial}: {schedule} ran {used!r}, the state holds {wanted!r}")
    final = sbsched("apply", "-f", str(plans[0]), "--lock-timeout", "5", env=env)
    if final.returncode != 0:
        result.fail(f"apply after the kills: exit {final.returncode}: {final.stderr.strip()[:200]}")
    debris_before = leftovers(state_dir)["temp files"]
    cleaned = sbsched("cleanup", env=env)
    if cleaned.returncode != 0:
        result.fail(f"cleanup after the kills: exit {cleaned.returncode}: {cleaned.stderr.strip()[:200]}")
    problems, orphans = _store_problems(state_dir)
    snapshot_debris = [p for p in leftovers(state_dir)["temp files"] if p.startswith("spec-snapshots/")]
    for problem in problems:
        result.fail(f"after cleanup: {problem}")
    if orphans or snapshot_debris:
        result.fail(f"after the last apply and cleanup: {orphans} unreferenced snapshot(s), "
                    f"{len(snapshot_debris)} temp file(s) in spec-snapshots/")
    result.details = {"schedules": SCHEDULES, "spec files per plan": FILES + 1,
                      "apply seconds": round(max(durations), 3), "locked seconds": round(max(locked), 3),
                      "new plan after kill": landed, "old plan after kill": result.trials - landed,
                      "killed holding the lock": int(killed_in_lock), "finished before the kill": finished,
                      "most unreferenced snapshots after a kill": most_orphans,
                      "temp files before cleanup": len(debris_before), "runs checked": runs_checked,
                      "snapshots after cleanup": len(list((state_dir / "spec-snapshots").iterdir()))}
    if most_orphans:
        result.notes.append(f"up to {most_orphans} unreferenced snapshot(s) after a kill, none after cleanup")
    result.seconds = time.monotonic() - started
    return result


if __name__ == "__main__":
    import sys

    outcome = run(random.Random(int(os.environ.get("STRESS_SEED", "1"))),
                  trials=int(sys.argv[1]) if len(sys.argv) > 1 else 40)
    print(json.dumps(outcome.to_json(), indent=2))
